/*
 * mat.c - tile matrices and chunked Merkle trees on the spill store
 * (sched.h): the storage layer of the streaming prover. Every access pins
 * the tiles it touches, copies, and unpins, so the pinned pool never holds
 * more than the tiles in use plus what the store chooses to cache.
 */
#include "sched.h"

#include "../fri.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

spw_status spw_mat_init(const spw_ctx *ctx, spw_mat *m, spw_spill *sp, const char *name,
                        size_t ncols, size_t nrows, size_t esz, size_t tcols, size_t trows,
                        spw_chunk_kind kind, spw_tier home, int writeback)
{
    memset(m, 0, sizeof *m);
    if (!ncols || !nrows) return SPW_OK;
    if (!tcols || tcols > ncols) tcols = ncols;
    if (!trows || trows > nrows) trows = nrows;
    if (!spw_is_pow2(trows) || !spw_is_pow2(nrows))
        return spw_fail(ctx, SPW_ERR_INTERNAL, "stream: matrix '%s': rows %zu / tile %zu", name,
                        nrows, trows);
    m->sp = sp;
    m->ncols = ncols;
    m->nrows = nrows;
    m->esz = esz;
    m->tcols = tcols;
    m->trows = trows;
    m->ntc = (ncols + tcols - 1) / tcols;
    m->ntr = nrows / trows;
    m->writeback = writeback;
    m->home = home;
    m->tiles = spw_calloc_array(m->ntc * m->ntr, sizeof(spw_chunk));
    if (!m->tiles) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (matrix '%s')", name);
    for (size_t k = 0; k < m->ntr; k++)
        for (size_t g = 0; g < m->ntc; g++) {
            size_t gc = ncols - g * tcols < tcols ? ncols - g * tcols : tcols;
            char nm[48];
            snprintf(nm, sizeof nm, "%.20s/c%zu/r%zu", name, g * tcols, k * trows);
            spw_status st = spw_spill_chunk_new(sp, &m->tiles[k * m->ntc + g],
                                                (uint64_t)gc * trows * esz, kind, home, nm);
            if (st != SPW_OK) return st;
        }
    return SPW_OK;
}

void spw_mat_free(spw_mat *m)
{
    if (!m || !m->tiles) return;
    if (m->writeback) spw_spill_drain(m->sp); /* no queued write-back may outlive a tile */
    for (size_t i = 0; i < m->ntc * m->ntr; i++)
        if (m->tiles[i]) (void)spw_spill_chunk_free(m->sp, m->tiles[i]);
    free(m->tiles);
    memset(m, 0, sizeof *m);
}

static size_t gcols(const spw_mat *m, size_t g)
{
    size_t r = m->ncols - g * m->tcols;
    return r < m->tcols ? r : m->tcols;
}

/* Copies columns [c0, c0+nc) x rows [r0, r0+nr) (inside one row tile k)
 * between the tiles and buf (column c, row r at buf + ((c-c0)*stride + r -
 * rb) * esz, rb = r0 of the call's buffer origin). */
static spw_status tile_rows_io(spw_mat *m, int write, size_t k, size_t c0, size_t nc, size_t r0,
                               size_t nr, uint8_t *buf, size_t stride, int wb)
{
    size_t e = m->esz, tr = m->trows;
    for (size_t g = c0 / m->tcols; g < m->ntc && g * m->tcols < c0 + nc; g++) {
        spw_chunk ch = m->tiles[k * m->ntc + g];
        void *p;
        size_t ga = g * m->tcols, gb = ga + gcols(m, g);
        size_t a = ga > c0 ? ga : c0, b = gb < c0 + nc ? gb : c0 + nc;
        /* a write of the whole tile needs neither its old contents nor zeros */
        if (write && a == ga && b == gb && r0 == k * tr && nr == tr)
            SPW_TRY(spw_spill_pin_overwrite(m->sp, &p, ch));
        else
            SPW_TRY(spw_spill_pin(m->sp, &p, ch));
        for (size_t c = a; c < b; c++) {
            uint8_t *t = (uint8_t *)p + ((c - ga) * tr + (r0 - k * tr)) * e;
            uint8_t *u = buf + (c - c0) * stride * e;
            if (write) memcpy(t, u, nr * e);
            else memcpy(u, t, nr * e);
        }
        spw_status st = spw_spill_unpin(m->sp, ch, write);
        if (st != SPW_OK) return st;
        if (wb && m->writeback && r0 - k * tr + nr == tr && b == gb)
            (void)spw_spill_writeback(m->sp, NULL, ch, 1);
    }
    return SPW_OK;
}

/* ---- a work queue for blocking items ----
 * Items that wait on the store (tile loads, evictions) run on their own
 * threads, taken one at a time from a shared counter, so a slow item does
 * not hold up a fixed share of the others. */
typedef struct each_job {
    spw_item_fn fn;
    void *arg;
    size_t n, next;
    spw_status st;
    pthread_mutex_t mu;
} each_job;

static void *each_worker(void *arg)
{
    each_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next++;
        int stop = i >= j->n || j->st != SPW_OK;
        pthread_mutex_unlock(&j->mu);
        if (stop) return NULL;
        spw_status st = j->fn(j->arg, i);
        if (st != SPW_OK) {
            pthread_mutex_lock(&j->mu);
            if (j->st == SPW_OK) j->st = st;
            pthread_mutex_unlock(&j->mu);
        }
    }
}

#define EACH_THREADS_MAX 64

spw_status spw_sched_each(unsigned threads, size_t n, spw_item_fn fn, void *arg)
{
    each_job j = {fn, arg, n, 0, SPW_OK, PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[EACH_THREADS_MAX];
    size_t started = 0;
    if (threads > EACH_THREADS_MAX) threads = EACH_THREADS_MAX;
    for (size_t t = 1; t < threads && t < n; t++)
        if (!pthread_create(&th[started], NULL, each_worker, &j)) started++;
    each_worker(&j);
    for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
    return j.st;
}

/* Large copies run their tiles on several threads: the copies are memory
 * bound and each pin may wait for a load or an eviction, so one thread
 * leaves most of the machine idle. Items are tile rows (column access) or
 * row segments inside one tile row (row access). */
#define IO_THREADS 8
#define IO_PAR_BYTES (4u << 20)

typedef struct io_job {
    spw_mat *m;
    int write, rows;            /* rows: row access from r0, else whole columns */
    uint8_t *buf;
    size_t stride, c0, nc, r0, nr, first, items;
} io_job;

static spw_status io_item(void *arg, size_t i)
{
    io_job *j = arg;
    spw_mat *m = j->m;
    if (!j->rows)
        return tile_rows_io(m, j->write, i, j->c0, j->nc, i * m->trows, m->trows,
                            j->buf + i * m->trows * m->esz, j->stride, j->write);
    size_t done = i ? j->first + (i - 1) * m->trows : 0;
    size_t r = (j->r0 + done) & (m->nrows - 1), k = r / m->trows;
    size_t take = i ? m->trows : j->first;
    if (take > j->nr - done) take = j->nr - done;
    return tile_rows_io(m, j->write, k, 0, m->ncols, r, take, j->buf + done * m->esz, j->stride, 0);
}

static spw_status io_run(io_job *j, uint64_t bytes)
{
    return spw_sched_each(bytes >= IO_PAR_BYTES ? IO_THREADS : 1, j->items, io_item, j);
}

static spw_status cols_io(spw_mat *m, int write, uint8_t *buf, size_t stride, size_t c0, size_t nc)
{
    io_job j;
    memset(&j, 0, sizeof j);
    j.m = m;
    j.write = write;
    j.buf = buf;
    j.stride = stride;
    j.c0 = c0;
    j.nc = nc;
    j.items = m->ntr;
    return io_run(&j, (uint64_t)nc * m->nrows * m->esz);
}

spw_status spw_mat_put_cols(spw_mat *m, size_t c0, size_t nc, const void *buf, size_t stride)
{
    return cols_io(m, 1, (uint8_t *)buf, stride, c0, nc);
}

spw_status spw_mat_get_cols(spw_mat *m, void *buf, size_t stride, size_t c0, size_t nc)
{
    return cols_io(m, 0, buf, stride, c0, nc);
}

static spw_status rows_io(spw_mat *m, int write, uint8_t *buf, size_t stride, size_t r0, size_t nr)
{
    if (!nr) return SPW_OK;
    io_job j;
    memset(&j, 0, sizeof j);
    j.m = m;
    j.write = write;
    j.rows = 1;
    j.buf = buf;
    j.stride = stride;
    j.r0 = r0;
    j.nr = nr;
    size_t r = r0 & (m->nrows - 1);
    j.first = m->trows - r % m->trows;
    if (j.first > nr) j.first = nr;
    j.items = 1 + (nr - j.first + m->trows - 1) / m->trows;
    return io_run(&j, (uint64_t)nr * m->ncols * m->esz);
}

spw_status spw_mat_get_rows(spw_mat *m, void *buf, size_t stride, size_t r0, size_t nr)
{
    return rows_io(m, 0, buf, stride, r0, nr);
}

/* ---- direct device access (sched.h) ---- */

static spw_status pin_item(void *arg, size_t i)
{
    spw_pinset *ps = arg;
    spw_piece *q = &ps->pc[i];
    void *p;
    SPW_TRY(q->whole ? spw_spill_pin_overwrite(ps->m->sp, &p, q->ch) : spw_spill_pin(ps->m->sp, &p, q->ch));
    q->host = (uint8_t *)p + q->off * ps->m->esz;
    return SPW_OK;
}

spw_status spw_mat_pin_block(spw_mat *m, spw_pinset *ps, int write, size_t c0, size_t nc, size_t r0,
                             size_t nr)
{
    SPW_TRY(spw_pinset_release(ps));
    ps->m = m;
    ps->write = write;
    if (!m->tiles || !nc || !nr) return SPW_OK;
    size_t tr = m->trows, need = ((nr + tr - 1) / tr + 1) * m->ntc;
    if (need > ps->cap) {
        spw_piece *np = realloc(ps->pc, need * sizeof *np);
        if (!np) return SPW_ERR_NOMEM;
        ps->pc = np;
        ps->cap = need;
    }
    for (size_t done = 0; done < nr;) {
        size_t r = (r0 + done) & (m->nrows - 1), k = r / tr, take = (k + 1) * tr - r;
        if (take > nr - done) take = nr - done;
        for (size_t g = c0 / m->tcols; g < m->ntc && g * m->tcols < c0 + nc; g++) {
            size_t ga = g * m->tcols, gb = ga + gcols(m, g);
            size_t a = ga > c0 ? ga : c0, b = gb < c0 + nc ? gb : c0 + nc;
            spw_piece *q = &ps->pc[ps->n++];
            *q = (spw_piece){NULL, tr, a - c0, b - a, done, take, m->tiles[k * m->ntc + g],
                             (a - ga) * tr + (r - k * tr), 0, 0};
            q->whole = write && a == ga && b == gb && take == tr;
            q->done = r - k * tr + take == tr && b == gb;
        }
        done += take;
    }
    /* tiles that may have to load from NVMe load in parallel; pool-homed
     * ones never wait, and a thread per call would cost more than the pins */
    unsigned th = m->home == SPW_TIER_NVME && ps->n >= 4 ? 4 : 1;
    spw_status st = spw_sched_each(th, ps->n, pin_item, ps);
    if (st != SPW_OK) (void)spw_pinset_release(ps);
    return st;
}

spw_status spw_pinset_release(spw_pinset *ps)
{
    spw_status st = SPW_OK;
    for (size_t i = 0; i < ps->n; i++) {
        spw_piece *q = &ps->pc[i];
        if (!q->host) continue; /* its pin failed */
        spw_status s = spw_spill_unpin(ps->m->sp, q->ch, ps->write);
        if (st == SPW_OK) st = s;
        if (ps->write && q->done && ps->m->writeback) (void)spw_spill_writeback(ps->m->sp, NULL, q->ch, 1);
    }
    ps->n = 0;
    return st;
}

void spw_pinset_free(spw_pinset *ps)
{
    if (!ps) return;
    (void)spw_pinset_release(ps);
    free(ps->pc);
    memset(ps, 0, sizeof *ps);
}

spw_status spw_mat_get_block(spw_mat *m, void *buf, size_t stride, size_t c0, size_t nc, size_t r0,
                             size_t nr)
{
    size_t done = 0;
    uint8_t *b = (uint8_t *)buf + c0 * stride * m->esz;
    while (done < nr) {
        size_t r = (r0 + done) & (m->nrows - 1), k = r / m->trows;
        size_t take = (k + 1) * m->trows - r;
        if (take > nr - done) take = nr - done;
        SPW_TRY(tile_rows_io(m, 0, k, c0, nc, r, take, b + done * m->esz, stride, 0));
        done += take;
    }
    return SPW_OK;
}

spw_status spw_mat_put_rows(spw_mat *m, size_t r0, size_t nr, const void *buf, size_t stride)
{
    return rows_io(m, 1, (uint8_t *)buf, stride, r0, nr);
}

void spw_mat_prefetch_rows(spw_mat *m, size_t r0, size_t nr)
{
    if (!m->tiles || !nr) return;
    size_t k0 = (r0 & (m->nrows - 1)) / m->trows, nk = (nr + m->trows - 1) / m->trows + 1;
    if (nk > m->ntr) nk = m->ntr;
    for (size_t i = 0; i < nk; i++) {
        size_t k = (k0 + i) % m->ntr;
        for (size_t g = 0; g < m->ntc; g++)
            if (spw_spill_where(m->sp, m->tiles[k * m->ntc + g]) == SPW_TIER_NVME)
                (void)spw_spill_prefetch(m->sp, NULL, m->tiles[k * m->ntc + g]);
    }
}

/* ---- chunked Merkle trees ----
 * Subtree k (leaves [k*R, (k+1)*R)) is stored as its heap without the
 * lowest `skip` levels: digests [0, 2*(R >> skip)) of the merkle.h heap
 * of the subtree (index 0 unused, 1 its root, R >> skip the first node
 * covering 2^skip leaves). A path recomputes the 2^skip leaves of its
 * bottom group through a leaf callback. */

/* Digests stored per subtree. */
static size_t stored(const spw_stree *t) { return 2 * (t->R >> t->skip); }

spw_status spw_stree_init_skip(const spw_ctx *ctx, spw_stree *t, spw_spill *sp, const char *name,
                               size_t nleaves, size_t R, unsigned skip, spw_tier home)
{
    memset(t, 0, sizeof *t);
    if (R > nleaves) R = nleaves;
    t->R = R;
    t->log_R = spw_log2(R);
    t->skip = skip < t->log_R ? skip : t->log_R;
    t->nchunks = nleaves / R;
    t->chunk_roots = spw_calloc_array(t->nchunks, sizeof(spw_digest));
    if (!t->chunk_roots) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (tree '%s')", name);
    size_t S = stored(t);
    return spw_mat_init(ctx, &t->nodes, sp, name, 1, t->nchunks * S, sizeof(spw_digest), 1, S,
                        SPW_CHUNK_HASH, home, home == SPW_TIER_NVME);
}

spw_status spw_stree_init(const spw_ctx *ctx, spw_stree *t, spw_spill *sp, const char *name,
                          size_t nleaves, size_t R, spw_tier home)
{
    return spw_stree_init_skip(ctx, t, sp, name, nleaves, R, spw_plan_tree_skip(), home);
}

spw_status spw_stree_put_chunk(const spw_ctx *ctx, spw_stree *t, size_t k, const spw_digest *leaves)
{
    spw_merkle sub;
    SPW_TRY(spw_merkle_build_from_leaves(ctx, &sub, leaves, t->R));
    t->chunk_roots[k] = sub.nodes[1];
    size_t S = stored(t);
    spw_status st = spw_mat_put_rows(&t->nodes, k * S, S, sub.nodes, S);
    spw_merkle_free(&sub);
    return st;
}

spw_status spw_stree_put_heap(const spw_ctx *ctx, spw_stree *t, size_t k0, const spw_digest *heap,
                              size_t R)
{
    size_t Rt = t->R, S = stored(t);
    if (R < Rt || R % Rt)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "stream: tree chunk of %zu leaves for subtrees of %zu",
                        R, Rt);
    spw_digest *sub = spw_malloc_array(S, sizeof(spw_digest));
    if (!sub) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (Merkle subtree)");
    spw_status st = SPW_OK;
    for (size_t j = 0; j < R / Rt && st == SPW_OK; j++) {
        memset(&sub[0], 0, sizeof sub[0]);
        /* the level of width w of subtree j is a slice of the heap's level
         * of width w * R / Rt (the stored levels: w <= Rt >> skip) */
        for (size_t w = S / 2, W = S / 2 * (R / Rt); w >= 1; w /= 2, W /= 2)
            memcpy(&sub[w], &heap[W + j * w], w * sizeof(spw_digest));
        t->chunk_roots[k0 + j] = sub[1];
        st = spw_mat_put_rows(&t->nodes, (k0 + j) * S, S, sub, S);
    }
    free(sub);
    return st;
}

spw_status spw_stree_finish(const spw_ctx *ctx, spw_stree *t)
{
    return spw_merkle_build_from_leaves(ctx, &t->upper, t->chunk_roots, t->nchunks);
}

const spw_digest *spw_stree_root(const spw_stree *t) { return spw_merkle_root(&t->upper); }

/* Path of leaf idx given the leaf digests of its bottom group (grp: the
 * 2^skip leaves from idx & ~(2^skip - 1); unused when skip = 0). */
static spw_status path_from_group(const spw_ctx *ctx, spw_stree *t, spw_digest *path, size_t idx,
                                  const spw_digest *grp)
{
    size_t k = idx >> t->log_R, S = stored(t), G = (size_t)1 << t->skip, i = idx & (t->R - 1);
    /* the stored levels: a tree whose leaves are the nodes of 2^skip leaves */
    spw_merkle sub = {t->log_R - t->skip, spw_malloc_array(S, sizeof(spw_digest))};
    if (!sub.nodes) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (Merkle path)");
    spw_status st = spw_mat_get_rows(&t->nodes, sub.nodes, S, k * S, S);
    if (st == SPW_OK) st = spw_merkle_path(&sub, path + t->skip, i >> t->skip);
    free(sub.nodes);
    if (st == SPW_OK && t->skip) { /* the bottom group, from its leaves */
        spw_merkle low = {0, NULL};
        st = spw_merkle_build_from_leaves(ctx, &low, grp, G);
        if (st == SPW_OK) st = spw_merkle_path(&low, path, idx & (G - 1));
        spw_merkle_free(&low);
    }
    SPW_TRY(st);
    return spw_merkle_path(&t->upper, path + t->log_R, k);
}

spw_status spw_stree_path(const spw_ctx *ctx, spw_stree *t, spw_digest *path, size_t idx,
                          spw_stree_leaf_fn leaves, void *arg)
{
    size_t G = (size_t)1 << t->skip;
    if (!t->skip) return path_from_group(ctx, t, path, idx, NULL);
    if (!leaves) return spw_fail(ctx, SPW_ERR_INTERNAL, "stream: Merkle path without a leaf source");
    spw_digest *lv = spw_malloc_array(G, sizeof(spw_digest));
    if (!lv) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (Merkle path)");
    spw_status st = leaves(ctx, arg, lv, idx & ~(G - 1), G);
    if (st == SPW_OK) st = path_from_group(ctx, t, path, idx, lv);
    free(lv);
    return st;
}

spw_status spw_stree_mat_leaves(const spw_ctx *ctx, void *mat, spw_digest *out, size_t i0, size_t n)
{
    spw_mat *m = mat;
    uint64_t *rows = spw_malloc_array(n * (m->ncols ? m->ncols : 1), sizeof(uint64_t));
    if (!rows) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (Merkle leaves)");
    spw_status st = m->esz == 8 ? spw_mat_get_rows(m, rows, n, i0, n)
                                : spw_fail(ctx, SPW_ERR_INTERNAL, "stream: leaves of %zu-byte elements",
                                           m->esz);
    if (st == SPW_OK) st = spw_merkle_leaves(ctx, out, rows, m->ncols, n, n);
    free(rows);
    return st;
}

spw_status spw_stree_fri_leaves(const spw_ctx *ctx, void *mat, spw_digest *out, size_t i0, size_t n)
{
    spw_mat *m = mat;
    fe3 *v = spw_malloc_array(2 * n, sizeof(fe3));
    if (!v) return spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (FRI leaves)");
    spw_status st = m->esz == sizeof(fe3) && m->ncols == 1
                        ? spw_mat_get_rows(m, v, n, i0, n)
                        : spw_fail(ctx, SPW_ERR_INTERNAL, "stream: FRI leaves of a %zu x %zu-byte matrix",
                                   m->ncols, m->esz);
    if (st == SPW_OK) st = spw_mat_get_rows(m, v + n, n, i0 + m->nrows / 2, n);
    for (size_t j = 0; j < n && st == SPW_OK; j++) spw_fri_leaf(&out[j], v[j], v[n + j]);
    free(v);
    return st;
}

spw_status spw_stree_open_row(const spw_ctx *ctx, spw_stree *t, spw_mat *m, uint64_t *row,
                              spw_digest *path, size_t idx)
{
    size_t G = (size_t)1 << t->skip, i0 = idx & ~(G - 1), nc = m->ncols;
    if (m->esz != 8)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "stream: opening of %zu-byte elements", m->esz);
    uint64_t *rows = spw_malloc_array(G * (nc ? nc : 1), sizeof(uint64_t));
    spw_digest *lv = spw_malloc_array(G, sizeof(spw_digest));
    spw_status st = SPW_OK;
    if (!rows || !lv) st = spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (opening)");
    /* one read of the group's rows (the tiles of the opened row) */
    if (st == SPW_OK) st = spw_mat_get_rows(m, rows, G, i0, G);
    if (st == SPW_OK) {
        for (size_t c = 0; c < nc; c++) row[c] = rows[c * G + (idx - i0)];
        if (t->skip) st = spw_merkle_leaves(ctx, lv, rows, nc, G, G);
    }
    if (st == SPW_OK) st = path_from_group(ctx, t, path, idx, lv);
    free(rows);
    free(lv);
    return st;
}

spw_status spw_stree_open_fri(const spw_ctx *ctx, spw_stree *t, spw_mat *m, fe3 *a, fe3 *b,
                              spw_digest *path, size_t k)
{
    size_t G = (size_t)1 << t->skip, i0 = k & ~(G - 1);
    if (m->esz != sizeof(fe3) || m->ncols != 1)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "stream: FRI opening of a %zu x %zu-byte matrix",
                        m->ncols, m->esz);
    fe3 *v = spw_malloc_array(2 * G, sizeof(fe3));
    spw_digest *lv = spw_malloc_array(G, sizeof(spw_digest));
    spw_status st = SPW_OK;
    if (!v || !lv) st = spw_fail(ctx, SPW_ERR_NOMEM, "stream: out of memory (FRI opening)");
    if (st == SPW_OK) st = spw_mat_get_rows(m, v, G, i0, G);
    if (st == SPW_OK) st = spw_mat_get_rows(m, v + G, G, i0 + m->nrows / 2, G);
    if (st == SPW_OK) {
        *a = v[k - i0];
        *b = v[G + k - i0];
        for (size_t j = 0; j < G && t->skip; j++) spw_fri_leaf(&lv[j], v[j], v[G + j]);
        st = path_from_group(ctx, t, path, k, lv);
    }
    free(v);
    free(lv);
    return st;
}

void spw_stree_free(spw_stree *t)
{
    if (!t) return;
    spw_mat_free(&t->nodes);
    free(t->chunk_roots);
    spw_merkle_free(&t->upper);
    memset(t, 0, sizeof *t);
}
