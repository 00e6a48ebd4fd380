/*
 * stream.c - the streaming (out-of-core) CPU prover. It runs the rounds of
 * the in-memory reference (src/prover.c, docs/PROTOCOL.md) over tile
 * matrices in the spill store (sched.h), so that only one column group
 * (column-wise work: NTT/LDE) or one row chunk of every column (row-wise
 * work: leaf hashing, LogUp, constraints, DEEP, FRI) is in ordinary memory
 * at a time; the rest lives in the pinned pool, and on NVMe when the pool
 * is smaller than the data. Every value is computed exactly as the
 * reference computes it, so the proof bytes are identical. With the
 * streaming device tier (u->dev, dev.h) the same rounds run their column
 * phases and row passes on the GPU, copying straight between the pool's
 * tiles and the device.
 *
 * Rounds per table (R = LDE rows per chunk, G = columns per group):
 *   main   trace read once from the producer per column group, stored;
 *          iNTT -> coefficients (stored) -> coset LDE (stored); leaves
 *          hashed by row chunks into a chunked Merkle tree
 *   aux    LogUp aux by row chunks of the stored trace, running sum carried
 *          (spw_logup_build_aux_chunk); then iNTT/LDE by column groups
 *   comp   constraints by row chunks of R rows plus the next-row halo on
 *          the composition domain (recomputed from the coefficients when it
 *          is larger than the LDE); quotient columns interpolated one at a
 *          time, split into parts, LDE, tree
 *   ood    chunked dot products of the coefficients with powers of zeta
 *   deep   by row chunks, summed per LDE size into the FRI roll-in matrices
 *   fri    layer i -> layer i+1 chunk by chunk (leaves pass, then fold)
 *   query  random reads of single rows and of the subtree chunks
 */
#include "sched.h"
#include "dev.h"
#include "coset.h"
#include "rowk.h"
#include "../fe3_lazy.h"

#include "../fri.h"
#include "../gpu_prover.h"
#include "../logup.h"
#include "../ntt.h"
#include "../proof.h"
#include "../progress.h"
#include "../stats.h"
#include "../trace.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#define BLK SPW_ROWK_BLK
#define SPW_TILE_BYTES SPW_PLAN_TILE_BYTES
#define SPW_TREE_ROWS SPW_PLAN_TREE_ROWS
#define NOMEM(what) spw_fail(ctx, SPW_ERR_NOMEM, "stream prover: out of memory (%s)", what)

/* Where the streaming prover's wall time goes (logged at INFO): waiting for
 * the reader threads, device calls, writes into the store, column reads,
 * leaf/subtree stores. Main thread only. */
enum { PF_READ_WAIT, PF_DEVICE, PF_PUT, PF_GET, PF_COLS, PF_SETUP, PF_COUNT };
static _Thread_local double g_pf[PF_COUNT]; /* per proof: one main thread each */
#define PF(k, expr)                              \
    ({                                           \
        double pf_t0_ = spw_now();               \
        spw_status pf_s_ = (expr);               \
        g_pf[k] += spw_now() - pf_t0_;           \
        pf_s_;                                   \
    })

typedef struct stab {
    const spw_air_table *t;
    const spw_plan_table *pt;
    unsigned log_n, log_N, log_e;
    size_t n, N, E, NE, R, Rt, G, nm, na, nc;
    uint32_t parts;
    spw_mat trace, mcoef, mlde, acoef, alde, ccoef, clde;
    spw_stree mtree, atree, ctree;
    int coset;          /* recompute tier: no LDE stored; passes evaluate cosets from the
                           coefficients on the device (dev.h, "coset passes") */
    uint64_t *qrows;    /* coset tables: each query's bottom group of 2^skip opened rows,
                           nq x 2^skip x (nm + na + nc) */
} stab;

typedef struct run {
    spw_ctx *ctx;
    spw_spill *sp;
    const spw_plan *plan;
    spw_tier home;
    int wb;
    unsigned log_b;
    size_t tile_bytes;  /* target payload of a tile */
    size_t tree_rows;   /* leaves per stored subtree */
    spw_sdev *dev;      /* the streaming device tier (dev.h), or NULL: CPU */
    uint32_t n_ch, n_pub; /* challenges and publics (the composition kernel's copies) */
} run;

/* Progress (src/progress.h): before table t of a per-table round (t ==
 * n_tables: the round is done); units are bytes of the data the round
 * produces or reads, as in the in-memory prover. */
static uint64_t prog_units(const stab *s, int round)
{
    switch (round) {
    case SPW_ROUND_MAIN: return 8 * (uint64_t)s->N * s->nm;
    case SPW_ROUND_AUX: return 8 * (uint64_t)s->N * s->na;
    case SPW_ROUND_COMP: return 8 * (uint64_t)s->N * s->nc;
    case SPW_ROUND_OOD: return 8 * (uint64_t)s->n * (s->nm + s->na + s->nc);
    default: return 8 * (uint64_t)s->N * (s->nm + s->na + s->nc);
    }
}

static void prog(const spw_ctx *ctx, const stab *S, uint32_t nt, int round, uint32_t t)
{
    /* (debug log) each table's seconds in each round: from this report to the next */
    static _Thread_local double t_last;
    static _Thread_local int r_last = -1;
    static _Thread_local uint32_t i_last;
    double now = spw_now();
    if (r_last >= 0 && i_last < nt && (r_last != round || i_last != t))
        spw_log(ctx, SPW_LOG_DEBUG, "stream prover: %s, table %s: %.3f s", spw_round_names[r_last],
                S[i_last].t->name, now - t_last);
    t_last = now;
    r_last = t < nt ? round : -1;
    i_last = t;
    uint64_t done = 0, total = 0;
    for (uint32_t i = 0; i < nt; i++) {
        uint64_t x = prog_units(&S[i], round);
        total += x;
        if (i < t) done += x;
    }
    spw_progress_report(ctx, spw_round_names[round], t < nt ? (int)t : -1, done, total);
}

/* user + system seconds of the process so far */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void stab_free(stab *s)
{
    spw_mat_free(&s->trace);
    spw_mat_free(&s->mcoef);
    spw_mat_free(&s->mlde);
    spw_mat_free(&s->acoef);
    spw_mat_free(&s->alde);
    spw_mat_free(&s->ccoef);
    spw_mat_free(&s->clde);
    spw_stree_free(&s->mtree);
    spw_stree_free(&s->atree);
    spw_stree_free(&s->ctree);
    free(s->qrows);
    s->qrows = NULL;
}

/* LDE matrices are written by column groups and read only after the
 * whole column phase: their tiles are written back (and dropped from the
 * pool) as soon as they are complete, overlapping the disk with the NTTs;
 * drain() ends such a phase. Other matrices are evicted on demand. */
static spw_status mat_new(run *u, spw_mat *m, const char *name, size_t ncols, size_t nrows,
                          size_t esz, size_t G, size_t R, spw_chunk_kind kind)
{
    /* tiles of about SPW_TILE_BYTES: large enough for efficient disk
     * requests, small enough that a query opening (one row of every column)
     * reads little */
    size_t gc = G && G < ncols ? G : ncols, tr = 64;
    while (tr < R && tr * 2 * esz * gc <= u->tile_bytes) tr *= 2;
    if (tr > R) tr = R;
    return spw_mat_init(u->ctx, m, u->sp, name, ncols, nrows, esz, G, tr, kind, u->home,
                        u->wb && u->home == SPW_TIER_NVME && kind == SPW_CHUNK_LDE);
}

/* The home tier of the matrices round `round` creates for table t (t =
 * n_tables: the shared DEEP/FRI data): the planner's per-table-and-round
 * choice, pool-resident or streamed. */
static void table_home(run *u, uint32_t t, int round)
{
    const spw_plan *p = u->plan;
    int nvme = p->nvme_bytes &&
               (t >= p->n_tables || p->tables[t].rounds[round].tier == SPW_TIER_NVME);
    u->home = nvme ? SPW_TIER_NVME : SPW_TIER_HOST;
}

static void drain(run *u);

/* Row-pass buffers: page-locked when the device tier copies them. */
static void *hb_alloc(run *u, size_t n, size_t sz)
{
    if (!u->dev) return spw_malloc_array(n, sz);
    return n > SIZE_MAX / sz ? NULL : spw_sdev_host_alloc(u->dev, n * sz);
}

static void hb_free(run *u, void *p)
{
    if (!u->dev) free(p);
    else if (p) spw_sdev_host_free(u->dev, p);
}

/* Rows per row chunk of a device pass over nrows rows: the plan's R (the
 * tile rows) doubled while the chunk's device buffers (dev_row bytes per
 * row) stay within an eighth of the VRAM budget, its page-locked host
 * buffers (host_row bytes per row) within a 64th of the pool, and the
 * tiles it pins (8 bytes per row and column of its matrices, ncols) within
 * a quarter of what the pool can still pin: fewer, larger chunks cost
 * fewer launches, synchronizations and pins. */
static size_t dev_rows(const run *u, size_t R, size_t nrows, uint64_t dev_row, uint64_t host_row,
                       size_t ncols)
{
    uint64_t dv = spw_sdev_budget(u->dev) / 8, hv = u->plan->pool_bytes / 64;
    uint64_t pv = spw_spill_pinnable(u->sp) / 4;
    if (R > nrows) R = nrows;
    while (2 * R <= nrows && 2 * R * dev_row <= dv && 2 * R * host_row <= hv &&
           2 * R * 8 * (uint64_t)ncols <= pv)
        R *= 2;
    return R;
}

/* ---- device column phases (dev.h) ---- */

/* The producer's columns of the main round (the device stores them). */
typedef struct colctx {
    run *u;
    stab *s;
    const spw_trace *trace;
    uint32_t ti;
} colctx;

static spw_status col_get(void *arg, uint64_t *buf, size_t c0, size_t gc)
{
    colctx *c = arg;
    return PF(PF_GET, spw_trace_read_cols(c->u->ctx, c->trace, buf, c->ti, c0, gc, c->s->n, c->s->Rt));
}

/* Columns per group of a recompute-tier table's main column phase (and its
 * coefficients' tiles, so that a group completes its tiles): the
 * producer's page-locked staging of a group stays within COSET_STAGE_BYTES,
 * so that the two slots' buffers are kept for the next table instead of
 * page-locked again (cudaHostAlloc runs at about 2 GB/s). */
#define COSET_STAGE_BYTES ((uint64_t)256 << 20)
static size_t coset_stage_cols(const stab *s, size_t ncols)
{
    size_t G = s->G < ncols ? s->G : ncols, fit = (size_t)(COSET_STAGE_BYTES / ((uint64_t)s->n * 8));
    return fit < 1 ? 1 : fit < G ? fit : G;
}

/* A column phase on the device: the columns of src (or, src NULL, the
 * producer's, kept in s->trace) -> inverse NTT (inverse = 1) into coef
 * (may be NULL) -> coset LDE with blowup 2^log_e into lde (may be NULL).
 * The copies run straight between the pool's tiles and the device: two
 * groups' tiles pinned at once when the pool can hold them, else band by
 * band (spw_sdev_cols, which also fits the groups to the VRAM budget). */
static spw_status dev_cols(run *u, stab *s, colctx *c, spw_mat *src, size_t ncols, int inverse,
                           spw_mat *coef, spw_mat *lde, unsigned log_e)
{
    /* groups of the plan's G (= the tiles' columns, so a group completes
     * its tiles and none is written twice); the copies pin at most half
     * of what the pool can still pin */
    size_t G = s->G < ncols ? s->G : ncols;
    if (!src && s->coset) G = coset_stage_cols(s, ncols);
    spw_sdev_cols_job j = {ncols, G, s->log_n, inverse, log_e, src,
                           src ? NULL : col_get, c, src || s->coset ? NULL : &s->trace, coef, lde,
                           spw_spill_pinnable(u->sp) / 2, s->coset && !lde};
    spw_status st = PF(PF_COLS, spw_sdev_cols(u->dev, &j));
    drain(u);
    return st;
}

static void drain(run *u)
{
    if (u->wb) spw_spill_drain(u->sp);
}

/* dst (ncols x n<<log_e) = coset LDE of the coefficient columns of src. */
static spw_status lde_cols(run *u, stab *s, spw_mat *dst, spw_mat *src, size_t ncols, unsigned log_e)
{
    const spw_ctx *ctx = u->ctx;
    if (u->dev) return dev_cols(u, s, NULL, src, ncols, 0, NULL, dst, log_e);
    size_t G = s->G < ncols ? s->G : ncols, Nx = s->n << log_e;
    uint64_t *cf = spw_malloc_array(G * s->n, 8), *out = spw_malloc_array(G * Nx, 8);
    spw_status st = SPW_OK;
    if (!cf || !out) st = NOMEM("LDE column group");
    for (size_t c0 = 0; c0 < ncols && st == SPW_OK; c0 += G) {
        size_t gc = ncols - c0 < G ? ncols - c0 : G;
        st = spw_mat_get_cols(src, cf, s->n, c0, gc);
        if (st == SPW_OK)
            st = spw_coset_evaluate(ctx, out, cf, gc, s->log_n, log_e, GL_GENERATOR);
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_cols(dst, c0, gc, out, Nx));
    }
    free(cf);
    free(out);
    drain(u);
    return st;
}

/* Double buffering of the CPU's row-wise passes (the device tier copies
 * straight from the tiles instead): a reader thread fetches the next
 * chunk's rows (its tile loads wait on the disk) while the workers compute
 * the current one. */
typedef struct rd_req {
    spw_mat *m;
    void *buf;
    size_t stride, r0, nr;
} rd_req;

#define READ_THREADS 4

typedef struct reader {
    rd_req req[4];
    int n, running;
    spw_status st;
    pthread_t th;
} reader;

typedef struct rd_part {
    reader *j;
    int part;
    spw_status st;
} rd_part;

/* Part p of READ_THREADS: the column groups g with g % READ_THREADS == p of
 * every request, so the tile loads of one chunk run in parallel. */
static void *rd_part_main(void *a)
{
    rd_part *q = a;
    q->st = SPW_OK;
    for (int i = 0; i < q->j->n && q->st == SPW_OK; i++) {
        rd_req *r = &q->j->req[i];
        if (!r->m || !r->m->tiles) continue;
        for (size_t g = (size_t)q->part; g < r->m->ntc && q->st == SPW_OK; g += READ_THREADS) {
            size_t c0 = g * r->m->tcols, nc = r->m->ncols - c0 < r->m->tcols ? r->m->ncols - c0
                                                                             : r->m->tcols;
            q->st = spw_mat_get_block(r->m, r->buf, r->stride, c0, nc, r->r0, r->nr);
        }
    }
    return NULL;
}

static void *rd_main(void *a)
{
    reader *j = a;
    rd_part parts[READ_THREADS];
    pthread_t th[READ_THREADS];
    int started[READ_THREADS] = {0};
    for (int p = 0; p < READ_THREADS; p++) {
        parts[p] = (rd_part){j, p, SPW_OK};
        if (p > 0) started[p] = !pthread_create(&th[p], NULL, rd_part_main, &parts[p]);
        if (p > 0 && !started[p]) rd_part_main(&parts[p]);
    }
    rd_part_main(&parts[0]);
    j->st = parts[0].st;
    for (int p = 1; p < READ_THREADS; p++) {
        if (started[p]) pthread_join(th[p], NULL);
        if (j->st == SPW_OK) j->st = parts[p].st;
    }
    return NULL;
}

static void rd_start(reader *j)
{
    j->running = !pthread_create(&j->th, NULL, rd_main, j);
    if (!j->running) rd_main(j);
}

static spw_status rd_wait(reader *j)
{
    double t0 = spw_now();
    if (j->running) pthread_join(j->th, NULL);
    g_pf[PF_READ_WAIT] += spw_now() - t0;
    j->running = 0;
    return j->st;
}

/* Synchronous row read with the column groups loaded in parallel. */
static spw_status read_rows(spw_mat *m, void *buf, size_t stride, size_t r0, size_t nr)
{
    if (m->ntc < 2) return spw_mat_get_rows(m, buf, stride, r0, nr);
    reader j = {{{m, buf, stride, r0, nr}}, 1, 0, SPW_OK, 0};
    rd_main(&j);
    return j.st;
}

/* Leaf hashing by row chunks of R rows into a chunked tree whose stored
 * subtrees hold tree_rows leaves (a query path reads one of them). */
static spw_status commit(run *u, stab *s, spw_stree *tree, spw_mat *m, const char *name)
{
    const spw_ctx *ctx = u->ctx;
    size_t R = s->R, Rt = u->tree_rows < R ? u->tree_rows : R;
    SPW_TRY(spw_stree_init(ctx, tree, u->sp, name, s->N, Rt, u->home));
    if (u->dev) { /* leaves and subtrees on the device, rows straight from m */
        size_t RD = dev_rows(u, R, s->N, 8 * m->ncols + 64, 32, m->ncols);
        size_t keep = 2 * (RD >> tree->skip); /* the heap levels the subtrees store */
        spw_digest *hv = hb_alloc(u, keep, sizeof(spw_digest));
        spw_status st = hv ? SPW_OK : NOMEM("leaf hashing");
        for (size_t k = 0; k < s->N / RD && st == SPW_OK; k++) {
            if ((k + 1) * RD < s->N) spw_mat_prefetch_rows(m, (k + 1) * RD, RD);
            st = PF(PF_DEVICE, spw_sdev_tree_rows(u->dev, hv, keep, m, k * RD, RD));
            if (st == SPW_OK) st = PF(PF_PUT, spw_stree_put_heap(ctx, tree, k * (RD / Rt), hv, RD));
        }
        hb_free(u, hv);
        return st == SPW_OK ? spw_stree_finish(ctx, tree) : st;
    }
    uint64_t *buf = spw_malloc_array(2 * m->ncols * R, 8);
    spw_digest *lv = spw_malloc_array(R, sizeof(spw_digest));
    spw_status st = SPW_OK;
    if (!buf || !lv) st = NOMEM("leaf hashing");
    reader rd = {{{m, buf, R, 0, R}}, 1, 0, SPW_OK, 0};
    if (st == SPW_OK) st = spw_mat_get_rows(m, buf, R, 0, R);
    for (size_t k = 0; k < s->N / R && st == SPW_OK; k++) {
        uint64_t *cur = buf + (k & 1) * m->ncols * R;
        if ((k + 1) * R < s->N) {
            rd.req[0] = (rd_req){m, buf + ((k + 1) & 1) * m->ncols * R, R, (k + 1) * R, R};
            rd_start(&rd);
        }
        st = spw_merkle_leaves(ctx, lv, cur, m->ncols, R, R);
        for (size_t j = 0; j < R / Rt && st == SPW_OK; j++)
            st = spw_stree_put_chunk(ctx, tree, k * (R / Rt) + j, lv + j * Rt);
        spw_status rs = (k + 1) * R < s->N ? rd_wait(&rd) : SPW_OK;
        if (st == SPW_OK) st = rs;
    }
    free(buf);
    free(lv);
    if (st == SPW_OK) st = spw_stree_finish(ctx, tree);
    return st;
}

/* A recompute-tier table's tree, ready for its device pass: the levels any
 * tree stores, the pass's pin cap. */
static spw_status coset_tree_begin(run *u, stab *s, spw_stree *tree, const char *name)
{
    size_t R = s->R, Rt = u->tree_rows < R ? u->tree_rows : R;
    SPW_TRY(spw_stree_init(u->ctx, tree, u->sp, name, s->N, Rt, u->home));
    if (u->dev) spw_sdev_set_pin_cap(u->dev, spw_spill_pinnable(u->sp) / 2);
    return SPW_OK;
}

/* The tree of a recompute-tier table: leaves from the cosets of its LDE,
 * computed on the device from the coefficients; the levels above the
 * bottom groups stored as for any tree (the openings evaluate each
 * query's group of rows from the coefficients, open_queries). With ch
 * (the aux round): coef is the aux coefficients' matrix, filled by the
 * same device pass from the LogUp over the trace, which it evaluates from
 * the main coefficients (spw_sdev_coset_logup); *sum its running sum. */
static spw_status commit_coset(run *u, stab *s, spw_stree *tree, spw_mat *coef, const char *name,
                               const fe3 *ch, fe3 *sum)
{
    SPW_TRY(coset_tree_begin(u, s, tree, name));
    uint64_t bad = UINT64_MAX;
    if (!u->dev && !ch) SPW_TRY(spw_hcoset_tree(u->ctx, tree, coef, s->log_n, u->log_b));
    else if (!u->dev) SPW_TRY(spw_hcoset_logup(u->ctx, s->t, ch, &s->mcoef, coef, tree, s->log_n, u->log_b, sum));
    else if (!ch) SPW_TRY(PF(PF_DEVICE, spw_sdev_coset_tree(u->dev, tree, coef, s->log_n, u->log_b)));
    else SPW_TRY(PF(PF_DEVICE, spw_sdev_coset_logup(u->dev, s->t, ch, &s->mcoef, coef, tree, s->log_n,
                                                    u->log_b, sum, &bad)));
    if (bad != UINT64_MAX)
        return spw_fail(u->ctx, SPW_ERR_INTERNAL, "LogUp: table %s row %llu: zero fingerprint",
                        s->t->name, (unsigned long long)bad);
    return spw_stree_finish(u->ctx, tree);
}

/* ---- round 1 ---- */

static spw_status round_main(run *u, stab *s, const spw_trace *trace, uint32_t ti)
{
    const spw_ctx *ctx = u->ctx;
    if (u->dev) spw_sdev_where(u->dev, "main commit", s->t->name);
    size_t nm = s->nm, G = s->G < nm ? s->G : nm;
    SPW_TRY(mat_new(u, &s->mcoef, "main-coef", nm, s->n, 8,
                    s->coset && u->dev ? coset_stage_cols(s, nm) : G, s->Rt, SPW_CHUNK_OTHER));
    if (s->coset && u->dev) { /* no trace kept: LogUp evaluates it from the coefficients */
        colctx c = {u, s, trace, ti};
        SPW_TRY(dev_cols(u, s, &c, NULL, nm, 1, &s->mcoef, NULL, u->log_b));
        return commit_coset(u, s, &s->mtree, &s->mcoef, "main-tree", NULL, NULL);
    }
    if (!s->coset) {
        SPW_TRY(mat_new(u, &s->trace, "trace", nm, s->n, 8, G, s->Rt, SPW_CHUNK_TRACE));
        SPW_TRY(mat_new(u, &s->mlde, "main-lde", nm, s->N, 8, G, s->R, SPW_CHUNK_LDE));
    }
    if (u->dev) {
        colctx c = {u, s, trace, ti};
        SPW_TRY(dev_cols(u, s, &c, NULL, nm, 1, &s->mcoef, &s->mlde, u->log_b));
        return commit(u, s, &s->mtree, &s->mlde, "main-tree");
    }
    /* the recompute tier (s->coset) keeps the coefficients only */
    uint64_t *cf = spw_malloc_array(G * s->n, 8), *out = s->coset ? NULL : spw_malloc_array(G * s->N, 8);
    spw_status st = SPW_OK;
    if (!cf || (!out && !s->coset)) st = NOMEM("main column group");
    for (size_t c0 = 0; c0 < nm && st == SPW_OK; c0 += G) {
        size_t gc = nm - c0 < G ? nm - c0 : G;
        st = PF(PF_GET, spw_trace_read_cols(ctx, trace, cf, ti, c0, gc, s->n, s->Rt));
        if (st == SPW_OK && !s->coset) st = PF(PF_PUT, spw_mat_put_cols(&s->trace, c0, gc, cf, s->n));
        if (st == SPW_OK) st = spw_ntt_inverse_batch(ctx, cf, gc, s->n, s->log_n);
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_cols(&s->mcoef, c0, gc, cf, s->n));
        if (s->coset) continue;
        if (st == SPW_OK) st = spw_coset_evaluate(ctx, out, cf, gc, s->log_n, u->log_b, GL_GENERATOR);
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_cols(&s->mlde, c0, gc, out, s->N));
    }
    free(cf);
    free(out);
    drain(u);
    SPW_TRY(st);
    if (s->coset) return commit_coset(u, s, &s->mtree, &s->mcoef, "main-tree", NULL, NULL);
    return commit(u, s, &s->mtree, &s->mlde, "main-tree");
}

/* ---- round 2 ---- */

spw_status spw_sched_logup_aux(const spw_ctx *ctx, spw_mat *aux, fe3 *sum,
                               const spw_air_table *t, spw_mat *trace, const fe3 *ch,
                               size_t chunk_rows)
{
    size_t n = trace->nrows, nm = trace->ncols, na = aux->ncols, C = chunk_rows;
    if (!C || C > n) C = n;
    uint64_t *mb = spw_malloc_array(nm * C, 8), *ab = spw_malloc_array(na * C, 8);
    fe3 running = fe3_zero();
    spw_status st = SPW_OK;
    if (!mb || !ab) st = NOMEM("aux row chunk");
    for (size_t r0 = 0; r0 < n && st == SPW_OK; r0 += C) {
        size_t m = n - r0 < C ? n - r0 : C;
        if (r0 + m < n) spw_mat_prefetch_rows(trace, r0 + m, C);
        st = read_rows(trace, mb, C, r0, m);
        if (st == SPW_OK) st = spw_logup_build_aux_chunk(ctx, ab, C, &running, t, mb, C, r0, m, ch);
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_rows(aux, r0, m, ab, C));
    }
    free(mb);
    free(ab);
    *sum = running;
    return st;
}

/* The LogUp aux trace on the device, row chunks of Rt rows in order, the
 * running sum carried on the device; the tiles of the next chunk's trace
 * rows load (from NVMe) while the device works on the current one. */
static spw_status dev_logup(run *u, stab *s, const fe3 *ch, fe3 *sum)
{
    size_t n = s->n, C = s->Rt;
    SPW_TRY(spw_sdev_logup_begin(u->dev, s->t, ch, C, &s->trace, &s->acoef));
    spw_status st = SPW_OK;
    for (size_t r0 = 0; r0 < n && st == SPW_OK; r0 += C) {
        size_t m = n - r0 < C ? n - r0 : C;
        if (r0 + C < n) spw_mat_prefetch_rows(&s->trace, r0 + C, C);
        st = PF(PF_DEVICE, spw_sdev_logup_chunk(u->dev, r0, m));
    }
    uint64_t bad = UINT64_MAX;
    spw_status es = spw_sdev_logup_end(u->dev, sum, &bad);
    if (st == SPW_OK) st = es;
    if (st == SPW_OK && bad != UINT64_MAX)
        st = spw_fail(u->ctx, SPW_ERR_INTERNAL, "LogUp: table %s row %llu: zero fingerprint",
                      s->t->name, (unsigned long long)bad);
    return st;
}

static spw_status round_aux(run *u, stab *s, const fe3 *ch, fe3 *sum)
{
    if (u->dev) spw_sdev_where(u->dev, "LogUp aux commit", s->t->name);
    const spw_ctx *ctx = u->ctx;
    *sum = fe3_zero();
    spw_status st = SPW_OK;
    if (s->na) {
        size_t G = s->G < s->na ? s->G : s->na, Rt = s->Rt;
        SPW_TRY(mat_new(u, &s->acoef, "aux-coef", s->na, s->n, 8, G, Rt, SPW_CHUNK_OTHER));
        if (s->coset) /* the trace, LogUp, aux coefficients and tree in one device pass */
            return commit_coset(u, s, &s->atree, &s->acoef, "aux-tree", ch, sum);
        SPW_TRY(mat_new(u, &s->alde, "aux-lde", s->na, s->N, 8, G, s->R, SPW_CHUNK_LDE));
        if (u->dev) {
            st = dev_logup(u, s, ch, sum);
            if (st == SPW_OK) st = dev_cols(u, s, NULL, &s->acoef, s->na, 1, &s->acoef, &s->alde, u->log_b);
            if (st == SPW_OK) st = commit(u, s, &s->atree, &s->alde, "aux-tree");
            spw_mat_free(&s->trace);
            return st;
        }
        st = spw_sched_logup_aux(ctx, &s->acoef, sum, s->t, &s->trace, ch, Rt);
        /* aux trace -> coefficients in place, then the LDE */
        uint64_t *cf = spw_malloc_array(G * s->n, 8);
        if (st == SPW_OK && !cf) st = NOMEM("aux column group");
        for (size_t c0 = 0; c0 < s->na && st == SPW_OK; c0 += G) {
            size_t gc = s->na - c0 < G ? s->na - c0 : G;
            st = spw_mat_get_cols(&s->acoef, cf, s->n, c0, gc);
            if (st == SPW_OK) st = spw_ntt_inverse_batch(ctx, cf, gc, s->n, s->log_n);
            if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_cols(&s->acoef, c0, gc, cf, s->n));
        }
        free(cf);
        if (st == SPW_OK) st = lde_cols(u, s, &s->alde, &s->acoef, s->na, u->log_b);
        if (st == SPW_OK) st = commit(u, s, &s->atree, &s->alde, "aux-tree");
    }
    spw_mat_free(&s->trace); /* the trace is not needed any more */
    return st;
}

/* ---- round 3 ---- */

/* The composition values on the device, by row chunks of R rows (with
 * the next-row halo) of main and aux into q. */
static spw_status dev_comp(run *u, stab *s, spw_mat *main, spw_mat *aux, spw_mat *q, const fe3 *ch,
                           const uint64_t *publics, fe3 sum, fe3 lambda, size_t R)
{
    size_t NE = s->NE;
    R = dev_rows(u, R, NE, 8 * (s->nm + s->na) + 24, 0, s->nm + s->na + 3);
    SPW_TRY(spw_sdev_comp_begin(u->dev, s->t, s->log_n, s->log_e, ch, u->n_ch, publics, u->n_pub,
                                sum, lambda, R, main, s->na ? aux : NULL, q));
    spw_status st = SPW_OK;
    for (size_t r0 = 0; r0 < NE && st == SPW_OK; r0 += R) {
        if (r0 + R < NE) {
            spw_mat_prefetch_rows(main, r0 + R, R + s->E);
            if (s->na) spw_mat_prefetch_rows(aux, r0 + R, R + s->E);
        }
        st = PF(PF_DEVICE, spw_sdev_comp_chunk(u->dev, r0));
    }
    spw_sdev_comp_end(u->dev);
    /* the extended-domain matrices are freed next: their device copies go */
    if (main != &s->mlde) spw_sdev_uncache(u->dev, main);
    if (aux != &s->alde) spw_sdev_uncache(u->dev, aux);
    return st;
}

static spw_status round_comp(run *u, stab *s, const fe3 *ch, const uint64_t *publics, fe3 sum,
                             fe3 lambda, int forced)
{
    if (u->dev) spw_sdev_where(u->dev, "composition", s->t->name);
    const spw_ctx *ctx = u->ctx;
    const spw_air_table *t = s->t;
    size_t E = s->E, NE = s->NE, R = s->R < NE ? s->R : NE, W = R + E, nm = s->nm, na = s->na;
    spw_mat emain, eaux, q;
    memset(&emain, 0, sizeof emain);
    memset(&eaux, 0, sizeof eaux);
    memset(&q, 0, sizeof q);
    spw_mat *main = &s->mlde, *aux = &s->alde;
    uint64_t *mb = NULL, *abase = NULL, *qb = NULL, *col = NULL;
    fe3 *ab = NULL;
    spw_rowk_comp cj; /* its lpow and inv_zn are freed at out */
    memset(&cj, 0, sizeof cj);
    spw_status st = SPW_OK;
    if (s->coset) { /* the whole round from the coefficients (the device's or coset.c's passes) */
        spw_sdev_comp_job j = {t, s->log_n, s->log_e, u->log_b, ch, u->n_ch, publics, u->n_pub, sum,
                               lambda, &s->mcoef, &s->acoef, !forced, &s->ccoef, &s->ctree};
        if ((st = mat_new(u, &s->ccoef, "comp-coef", s->nc, s->n, 8, s->G < s->nc ? s->G : s->nc,
                          s->Rt, SPW_CHUNK_OTHER)) == SPW_OK &&
            (st = coset_tree_begin(u, s, &s->ctree, "comp-tree")) == SPW_OK &&
            (st = u->dev ? PF(PF_DEVICE, spw_sdev_coset_comp(u->dev, &j)) : spw_hcoset_comp(ctx, &j)) ==
                SPW_OK)
            st = spw_stree_finish(ctx, &s->ctree);
        goto out;
    }
    if (s->log_e != u->log_b) { /* recompute main and aux on the larger domain */
        size_t G = s->G < nm ? s->G : nm;
        if ((st = mat_new(u, &emain, "main-ext", nm, NE, 8, G, R, SPW_CHUNK_LDE)) != SPW_OK) goto out;
        if ((st = lde_cols(u, s, &emain, &s->mcoef, nm, s->log_e)) != SPW_OK) goto out;
        main = &emain;
        if (na) {
            size_t Ga = s->G < na ? s->G : na;
            if ((st = mat_new(u, &eaux, "aux-ext", na, NE, 8, Ga, R, SPW_CHUNK_LDE)) != SPW_OK) goto out;
            if ((st = lde_cols(u, s, &eaux, &s->acoef, na, s->log_e)) != SPW_OK) goto out;
            aux = &eaux;
        }
    }
    if ((st = mat_new(u, &q, "quotient", 3, NE, 8, 3, R, SPW_CHUNK_OTHER)) != SPW_OK) goto out;
    if (u->dev) {
        st = dev_comp(u, s, main, aux, &q, ch, publics, sum, lambda, R);
        spw_mat_free(&emain);
        spw_mat_free(&eaux);
        if (st != SPW_OK) goto out;
        goto quotient;
    }
    mb = spw_malloc_array(2 * nm * W, 8);
    abase = spw_malloc_array(2 * na * W + 1, 8);
    ab = spw_malloc_array(na / 3 * W + 1, sizeof(fe3));
    qb = spw_malloc_array(3 * R, 8);
    if (!mb || !abase || !ab || !qb ||
        spw_rowk_comp_init(&cj, t, s->log_n, s->log_e, ch, publics, sum, lambda) != SPW_OK) {
        st = NOMEM("composition chunk");
        goto out;
    }
    cj.R = R;
    cj.W = W;
    cj.ab = ab;
    cj.out = qb;
    reader rd = {{{main, mb, W, 0, W}, {na ? aux : NULL, abase, W, 0, W}}, 2, 0, SPW_OK, 0};
    rd_main(&rd);
    st = rd.st;
    for (size_t r0 = 0, k = 0; r0 < NE && st == SPW_OK; r0 += R, k++) {
        uint64_t *mcur = mb + (k & 1) * nm * W, *acur = abase + (k & 1) * na * W;
        if (r0 + R < NE) {
            rd.req[0] = (rd_req){main, mb + ((k + 1) & 1) * nm * W, W, r0 + R, W};
            rd.req[1] = (rd_req){na ? aux : NULL, abase + ((k + 1) & 1) * na * W, W, r0 + R, W};
            rd_start(&rd);
        }
        for (size_t c = 0; c < na / 3; c++)
            for (size_t i = 0; i < W; i++)
                ab[c * W + i] = fe3_make(acur[3 * c * W + i], acur[(3 * c + 1) * W + i],
                                         acur[(3 * c + 2) * W + i]);
        cj.r0 = r0;
        cj.mb = mcur;
        spw_parallel_for(ctx, (R + BLK - 1) / BLK, 1, spw_rowk_comp_blocks, &cj);
        if (cj.failed) st = NOMEM("composition workers");
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_rows(&q, r0, R, qb, R));
        spw_status rs = r0 + R < NE ? rd_wait(&rd) : SPW_OK;
        if (st == SPW_OK) st = rs;
    }
    free(mb);
    free(abase);
    free(ab);
    mb = abase = NULL;
    ab = NULL;
    spw_mat_free(&emain);
    spw_mat_free(&eaux);
    if (st != SPW_OK) goto out;
quotient:
    /* quotient columns -> coefficients, split into parts */
    if ((st = mat_new(u, &s->ccoef, "comp-coef", s->nc, s->n, 8, s->G < s->nc ? s->G : s->nc,
                      s->Rt, SPW_CHUNK_OTHER)) != SPW_OK)
        goto out;
    col = spw_malloc_array(NE, 8);
    if (!col) {
        st = NOMEM("quotient column");
        goto out;
    }
    size_t deg = (size_t)s->parts * s->n;
    for (int c = 0; c < 3 && st == SPW_OK; c++) {
        if ((st = spw_mat_get_cols(&q, col, NE, (size_t)c, 1)) != SPW_OK) break;
        if ((st = u->dev ? spw_sdev_interpolate(u->dev, col, s->log_n + s->log_e)
                         : spw_coset_interpolate(ctx, col, 1, s->log_n + s->log_e, GL_GENERATOR)) !=
            SPW_OK)
            break;
        for (size_t k = deg; k < NE && !forced; k++)
            if (col[k]) {
                st = spw_fail(ctx, SPW_ERR_INTERNAL,
                              "prove: table '%s': composition quotient has degree >= %zu "
                              "(constraints not satisfied or degree miscomputed)", t->name, deg);
                break;
            }
        for (uint32_t i = 0; i < s->parts && st == SPW_OK; i++)
            st = PF(PF_PUT, spw_mat_put_cols(&s->ccoef, 3 * (size_t)i + c, 1, col + (size_t)i * s->n, s->n));
    }
    free(col);
    col = NULL;
    spw_mat_free(&q);
    if (st != SPW_OK) goto out;
    if ((st = mat_new(u, &s->clde, "comp-lde", s->nc, s->N, 8, s->G < s->nc ? s->G : s->nc, s->R,
                      SPW_CHUNK_LDE)) != SPW_OK)
        goto out;
    if ((st = lde_cols(u, s, &s->clde, &s->ccoef, s->nc, u->log_b)) != SPW_OK) goto out;
    st = commit(u, s, &s->ctree, &s->clde, "comp-tree");
out:
    if (u->dev) {
        spw_sdev_uncache(u->dev, &emain);
        spw_sdev_uncache(u->dev, &eaux);
    }
    spw_mat_free(&emain);
    spw_mat_free(&eaux);
    spw_mat_free(&q);
    free(mb);
    free(abase);
    free(ab);
    free(qb);
    spw_rowk_comp_free(&cj);
    free(col);
    return st;
}

/* ---- round 4 ---- */

typedef struct ood_job {
    const uint64_t *buf;   /* columns of Rt values */
    size_t Rt;
    const fe3 *pw;
    fe3 *acc;
} ood_job;

static void ood_cols(void *arg, size_t b, size_t e)
{
    ood_job *j = arg;
    for (size_t c = b; c < e; c++) {
        const uint64_t *cf = j->buf + c * j->Rt;
        fe3 a = j->acc[c];
        for (size_t k = 0; k < j->Rt; k++) a = fe3_add(a, fe3_mul_base(j->pw[k], cf[k]));
        j->acc[c] = a;
    }
}

static spw_status round_ood(run *u, stab *s, spw_proof_table *pt, fe3 zeta)
{
    const spw_ctx *ctx = u->ctx;
    size_t Rt = s->Rt, nm = s->nm, na = s->na, nc = s->nc;
    size_t mx = nm > na ? nm : na;
    if (nc > mx) mx = nc;
    if (s->coset && u->dev) { /* each matrix uploaded whole, the powers made on the device */
        spw_mat *mats[3] = {&s->mcoef, na ? &s->acoef : NULL, &s->ccoef};
        spw_sdev_where(u->dev, "out-of-domain", s->t->name);
        spw_sdev_set_pin_cap(u->dev, spw_spill_pinnable(u->sp) / 2);
        return PF(PF_DEVICE, spw_sdev_coset_ood(u->dev, mats, s->log_n, zeta,
                                                fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), pt->ood));
    }
    if (u->dev) Rt = dev_rows(u, Rt, s->n, 8 * mx + 48, 48, mx);
    fe3 *pz = hb_alloc(u, Rt, sizeof(fe3)), *pzw = hb_alloc(u, Rt, sizeof(fe3));
    uint64_t *buf = u->dev ? NULL : spw_malloc_array(mx * Rt, 8);
    fe3 *dz = spw_malloc_array(2 * mx + 1, sizeof(fe3)), *dw = dz ? dz + mx : NULL;
    spw_status st = SPW_OK;
    if (!pz || !pzw || (!buf && !u->dev) || !dz) st = NOMEM("OOD chunk");
    if (u->dev) spw_sdev_where(u->dev, "out-of-domain", s->t->name);
    fe3 *o = pt->ood;
    for (size_t i = 0; i < spw_proof_n_ood(pt); i++) o[i] = fe3_zero();
    fe3 zw = fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), a = fe3_one(), b = fe3_one();
    for (size_t r0 = 0; r0 < s->n && st == SPW_OK; r0 += Rt) {
        for (size_t k = 0; k < Rt; k++) {
            pz[k] = a;
            pzw[k] = b;
            a = fe3_mul(a, zeta);
            b = fe3_mul(b, zw);
        }
        struct { spw_mat *m; size_t nco; fe3 *z, *w; } g[3] = {
            {&s->mcoef, nm, o, o + nm},
            {&s->acoef, na, o + 2 * nm, o + 2 * nm + na},
            {&s->ccoef, nc, o + 2 * nm + 2 * na, NULL},
        };
        for (int i = 0; i < 3 && st == SPW_OK; i++) {
            if (!g[i].nco) continue;
            if (u->dev) { /* dot products on the device, rows straight from the tiles */
                fe3 *o1 = dz, *o2 = g[i].w ? dw : NULL;
                st = PF(PF_DEVICE, spw_sdev_dot(u->dev, o1, o2, g[i].m, r0, Rt, pz,
                                                g[i].w ? pzw : NULL));
                for (size_t c = 0; c < g[i].nco && st == SPW_OK; c++) {
                    g[i].z[c] = fe3_add(g[i].z[c], o1[c]);
                    if (o2) g[i].w[c] = fe3_add(g[i].w[c], o2[c]);
                }
                continue;
            }
            if ((st = read_rows(g[i].m, buf, Rt, r0, Rt)) != SPW_OK) break;
            ood_job j1 = {buf, Rt, pz, g[i].z};
            spw_parallel_for(ctx, g[i].nco, 1, ood_cols, &j1);
            if (g[i].w) {
                ood_job j2 = {buf, Rt, pzw, g[i].w};
                spw_parallel_for(ctx, g[i].nco, 1, ood_cols, &j2);
            }
        }
    }
    hb_free(u, pz);
    hb_free(u, pzw);
    free(buf);
    free(dz);
    return st;
}

/* ---- round 5 ---- */

/* DEEP of a recompute-tier table: every point's value from the cosets,
 * added to the roll-in (spw_sdev_coset_deep on the device, else
 * spw_hcoset_deep). */
static spw_status deep_coset(run *u, stab *s, const spw_proof_table *pt, fe3 zeta, fe3 gamma,
                             fe3 *gpow, spw_mat *ri, int first)
{
    size_t nm = s->nm, na = s->na, nc = s->nc, n1 = nm + na + nc, n2 = nm + na;
    fe3 *g = spw_malloc_array(n1 + n2, sizeof(fe3));
    const spw_ctx *ctx = u->ctx;
    if (!g) return NOMEM("DEEP values");
    fe3 v1, v2;
    spw_deep_ood_sums(g, &v1, &v2, gpow, gamma, pt->ood, nm, na, nc);
    spw_mat *mats[3] = {&s->mcoef, na ? &s->acoef : NULL, &s->ccoef};
    fe3 zw = fe3_mul_base(zeta, gl_root_of_unity(s->log_n));
    spw_status st;
    if (u->dev) {
        spw_sdev_set_pin_cap(u->dev, spw_spill_pinnable(u->sp) / 2);
        st = PF(PF_DEVICE, spw_sdev_coset_deep(u->dev, g, n1, g + n1, n2, mats, s->log_n, u->log_b, v1,
                                               v2, zeta, zw, ri, first));
    } else {
        st = spw_hcoset_deep(ctx, g, n1, g + n1, n2, mats, s->log_n, u->log_b, v1, v2, zeta, zw, ri,
                             first);
    }
    free(g);
    return st;
}

/* Adds table s's DEEP quotient into roll-in matrix `ri` (first: overwrite). */
static spw_status round_deep(run *u, stab *s, const spw_proof_table *pt, fe3 zeta, fe3 gamma,
                             fe3 *gpow, spw_mat *ri, int first)
{
    if (u->dev) spw_sdev_where(u->dev, "DEEP", s->t->name);
    const spw_ctx *ctx = u->ctx;
    size_t nm = s->nm, na = s->na, nc = s->nc, n1 = nm + na + nc, n2 = nm + na, R = s->R;
    if (s->coset) return deep_coset(u, s, pt, zeta, gamma, gpow, ri, first);
    if (u->dev) R = dev_rows(u, R, s->N, 8 * n1 + 24, 48, n1);
    fe3 *g = spw_malloc_array(n1 + n2, sizeof(fe3)), *out = hb_alloc(u, R, sizeof(fe3));
    fe3 *prev = first ? NULL : spw_malloc_array(R, sizeof(fe3));
    int hrows = !u->dev; /* the device reads the rows straight from the tiles */
    uint64_t *mb = hrows ? spw_malloc_array(2 * nm * R, 8) : NULL;
    uint64_t *ab = hrows ? spw_malloc_array(2 * na * R + 1, 8) : NULL;
    uint64_t *cb = hrows ? spw_malloc_array(2 * nc * R, 8) : NULL;
    spw_status st = SPW_OK;
    if (!g || !out || (!first && !prev) || (hrows && (!mb || !ab || !cb))) {
        st = NOMEM("DEEP chunk");
        goto out;
    }
    fe3 v1, v2;
    spw_deep_ood_sums(g, &v1, &v2, gpow, gamma, pt->ood, nm, na, nc);
    spw_rowk_deep dj = {R, 0, 1, nm, na, nc, mb, ab, cb, g, g + n1, v1, v2, zeta,
                   fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), gl_root_of_unity(s->log_N), out, 0};
    if (u->dev && (st = spw_sdev_deep_begin(u->dev, g, n1, g + n1, n2, R, &s->mlde, &s->alde,
                                            &s->clde)) != SPW_OK)
        goto out;
    reader rd = {{{&s->mlde, mb, R, 0, R}, {&s->alde, ab, R, 0, R}, {&s->clde, cb, R, 0, R}},
                 3, 0, SPW_OK, 0};
    if (hrows) {
        rd_main(&rd);
        st = rd.st;
    }
    for (size_t r0 = 0, k = 0; r0 < s->N && st == SPW_OK; r0 += R, k++) {
        size_t c = k & 1, x = c ^ 1;
        if (r0 + R < s->N && !hrows) {
            spw_mat_prefetch_rows(&s->mlde, r0 + R, R);
            spw_mat_prefetch_rows(&s->alde, r0 + R, R);
            spw_mat_prefetch_rows(&s->clde, r0 + R, R);
        } else if (r0 + R < s->N) {
            rd.req[0] = (rd_req){&s->mlde, mb + x * nm * R, R, r0 + R, R};
            rd.req[1] = (rd_req){&s->alde, ab + x * na * R, R, r0 + R, R};
            rd.req[2] = (rd_req){&s->clde, cb + x * nc * R, R, r0 + R, R};
            rd_start(&rd);
        }
        dj.r0 = r0;
        if (u->dev) {
            st = PF(PF_DEVICE, spw_sdev_deep_chunk(u->dev, out, r0, s->log_N, v1, v2, zeta, dj.zw));
        } else {
            dj.mb = mb + c * nm * R;
            dj.ab = ab + c * na * R;
            dj.cb = cb + c * nc * R;
            spw_parallel_for(ctx, (R + BLK - 1) / BLK, 1, spw_rowk_deep_blocks, &dj);
            if (dj.failed) st = NOMEM("DEEP workers");
        }
        if (st == SPW_OK && !first) {
            st = spw_mat_get_rows(ri, prev, R, r0, R);
            for (size_t i = 0; i < R && st == SPW_OK; i++) out[i] = fe3_add(prev[i], out[i]);
        }
        if (st == SPW_OK) st = PF(PF_PUT, spw_mat_put_rows(ri, r0, R, out, R));
        spw_status rs = r0 + R < s->N && hrows ? rd_wait(&rd) : SPW_OK;
        if (st == SPW_OK) st = rs;
    }
out:
    if (u->dev) spw_sdev_deep_end(u->dev);
    free(g);
    hb_free(u, out);
    free(prev);
    free(mb);
    free(ab);
    free(cb);
    return st;
}

/* ---- round 6: FRI, layer by layer through the store ---- */

typedef struct fri_state {
    unsigned log_n0, n_layers;
    spw_mat *L;          /* n_layers + 1 layers (L[0] is roll-in 0) */
    spw_stree *trees;
} fri_state;

static void fri_free(fri_state *f, spw_mat *rollin)
{
    if (f->L)
        for (unsigned i = 0; i <= f->n_layers; i++) spw_mat_free(&f->L[i]);
    if (f->trees)
        for (unsigned i = 0; i < f->n_layers; i++) spw_stree_free(&f->trees[i]);
    if (rollin)
        for (unsigned i = 0; i <= f->n_layers; i++) spw_mat_free(&rollin[i]);
    free(f->L);
    free(f->trees);
}

typedef struct fri_job {
    const fe3 *a, *b, *c;
    fe3 *out;
    spw_digest *leaves;
    fe3 beta, beta2;
    uint64_t s_inv, w_inv;
    size_t k0;
} fri_job;

static void fri_leaves(void *arg, size_t b, size_t e)
{
    fri_job *j = arg;
    for (size_t k = b; k < e; k++) spw_fri_leaf(&j->leaves[k], j->a[k], j->b[k]);
}

static void fri_fold(void *arg, size_t b, size_t e)
{
    fri_job *j = arg;
    uint64_t xinv = gl_mul(j->s_inv, gl_pow(j->w_inv, j->k0 + b));
    for (size_t k = b; k < e; k++) {
        fe3 v = spw_fri_fold(j->a[k], j->b[k], j->beta, xinv);
        if (j->c) v = fe3_add(v, fe3_mul(j->beta2, j->c[k]));
        j->out[k] = v;
        xinv = gl_mul(xinv, j->w_inv);
    }
}

/* Layer i's tree is complete: its root into the proof and the
 * transcript, beta out of it, the store matrix of layer i+1 (R rows per
 * tile). */
static spw_status fri_next(run *u, fri_state *f, spw_transcript *tr, spw_proof *P, unsigned i,
                           size_t Rf, fe3 *beta)
{
    SPW_TRY(spw_stree_finish(u->ctx, &f->trees[i]));
    P->layers[i].root = *spw_stree_root(&f->trees[i]);
    spw_transcript_absorb(tr, P->layers[i].root.b, 32);
    *beta = spw_transcript_ext3(tr);
    size_t half = ((size_t)1 << (f->log_n0 - i)) / 2;
    return mat_new(u, &f->L[i + 1], "fri-layer", 1, half, sizeof(fe3), 1, Rf, SPW_CHUNK_OTHER);
}

/* The layers on the device (dev.h) when they fit its budget (*done = 1):
 * the same trees (subtree size, stored levels), roots, transcript and
 * layers in the store as the host loop of fri_commit. */
static spw_status fri_dev(run *u, fri_state *f, spw_transcript *tr, spw_proof *P, spw_mat *rollin,
                          int *done)
{
    const spw_ctx *ctx = u->ctx;
    unsigned R = f->n_layers, log_n0 = f->log_n0;
    size_t n0 = (size_t)1 << log_n0, Rf0 = u->plan->fri_R, rin_max = 0;
    for (unsigned i = 1; i <= R; i++)
        if (rollin[i].tiles && rollin[i].nrows > rin_max) rin_max = rollin[i].nrows;
    /* chunk: the heap (64 B per leaf) and two staging chunks (48 B) on the
     * device, the heap's stored levels (64 B) page-locked on the host, a
     * layer's and a roll-in's tiles pinned (48 B = 6 words) */
    size_t C = dev_rows(u, Rf0 < n0 / 2 ? Rf0 : n0 / 2, n0 / 2, 64 + 48, 64, 6);
    int fits = 0;
    spw_sdev_where(u->dev, "FRI", "-");
    SPW_TRY(PF(PF_DEVICE, spw_sdev_fri_begin(u->dev, &fits, &f->L[0], log_n0, R, rin_max, C)));
    if (!fits) {
        spw_log(ctx, SPW_LOG_INFO, "streaming device tier: the FRI layers need %llu MiB of device "
                "memory, more than the VRAM budget leaves; FRI is committed on the host",
                (unsigned long long)(spw_sdev_fri_bytes(log_n0, rin_max, C) >> 20));
        spw_stats_fallback(ctx, "streaming device tier: FRI committed on the host (VRAM budget)");
        return SPW_OK;
    }
    spw_digest *hv = NULL; /* the stored levels of a chunk's heap (page-locked) */
    size_t hv_cap = 0;
    spw_status st = SPW_OK;
    uint64_t s = GL_GENERATOR;
    for (unsigned i = 0; i < R && st == SPW_OK; i++) {
        size_t half = (n0 >> i) / 2, Rf = Rf0 < half ? Rf0 : half, RD = C < half ? C : half;
        size_t Rtr = u->tree_rows < Rf ? u->tree_rows : Rf;
        if ((st = spw_stree_init(ctx, &f->trees[i], u->sp, "fri-tree", half, Rtr, u->home)) != SPW_OK)
            break;
        size_t keep = 2 * (RD >> f->trees[i].skip); /* the heap levels the subtrees store */
        if (keep > hv_cap) {
            hb_free(u, hv);
            if (!(hv = hb_alloc(u, keep, sizeof(spw_digest)))) {
                st = NOMEM("FRI heap");
                break;
            }
            hv_cap = keep;
        }
        for (size_t k0 = 0; k0 < half && st == SPW_OK; k0 += RD) {
            st = PF(PF_DEVICE, spw_sdev_fri_tree(u->dev, hv, keep, k0, RD));
            if (st == SPW_OK) st = PF(PF_PUT, spw_stree_put_heap(ctx, &f->trees[i], k0 / Rtr, hv, RD));
        }
        fe3 beta;
        if (st != SPW_OK || (st = fri_next(u, f, tr, P, i, Rf, &beta)) != SPW_OK) break;
        spw_mat *rin = rollin[i + 1].tiles ? &rollin[i + 1] : NULL;
        st = PF(PF_DEVICE, spw_sdev_fri_fold(u->dev, &f->L[i + 1], rin, beta, gl_inv(s)));
        spw_mat_free(&rollin[i + 1]);
        s = gl_mul(s, s);
    }
    hb_free(u, hv);
    spw_sdev_fri_end(u->dev);
    *done = st == SPW_OK;
    if (*done)
        spw_log(ctx, SPW_LOG_INFO, "streaming device tier: %u FRI layers committed on the device "
                "(%llu MiB of device memory, chunks of %zu values)", R,
                (unsigned long long)(spw_sdev_fri_bytes(log_n0, rin_max, C) >> 20), C);
    return st;
}

static spw_status fri_commit(run *u, fri_state *f, spw_transcript *tr, spw_proof *P,
                             spw_mat *rollin, unsigned log_n0)
{
    const spw_ctx *ctx = u->ctx;
    unsigned R = P->n_layers;
    f->log_n0 = log_n0;
    f->n_layers = R;
    f->L = spw_calloc_array(R + 1, sizeof(spw_mat));
    f->trees = spw_calloc_array(R + 1, sizeof(spw_stree));
    if (!f->L || !f->trees) return NOMEM("FRI");
    f->L[0] = rollin[0];
    memset(&rollin[0], 0, sizeof rollin[0]);
    int on_dev = 0; /* the device committed every layer */
    if (u->dev && R) SPW_TRY(fri_dev(u, f, tr, P, rollin, &on_dev));
    size_t n0 = (size_t)1 << log_n0, Rf0 = on_dev ? 0 : u->plan->fri_R;
    fe3 *a = spw_malloc_array(Rf0, sizeof(fe3)), *b = spw_malloc_array(Rf0, sizeof(fe3));
    fe3 *c = spw_malloc_array(Rf0, sizeof(fe3)), *o = spw_malloc_array(Rf0, sizeof(fe3));
    spw_digest *lv = spw_malloc_array(Rf0, sizeof(spw_digest));
    spw_status st = SPW_OK;
    if (!on_dev && (!a || !b || !c || !o || !lv)) st = NOMEM("FRI chunk");
    uint64_t s = GL_GENERATOR;
    for (unsigned i = 0; i < R && on_dev; i++) s = gl_mul(s, s);
    for (unsigned i = 0; i < R && st == SPW_OK && !on_dev; i++) {
        size_t ni = n0 >> i, half = ni / 2, Rf = Rf0 < half ? Rf0 : half;
        size_t Rtr = u->tree_rows < Rf ? u->tree_rows : Rf;
        if ((st = spw_stree_init(ctx, &f->trees[i], u->sp, "fri-tree", half, Rtr, u->home)) != SPW_OK)
            break;
        for (size_t k0 = 0; k0 < half && st == SPW_OK; k0 += Rf) {
            if ((st = spw_mat_get_rows(&f->L[i], a, Rf, k0, Rf)) != SPW_OK) break;
            if ((st = spw_mat_get_rows(&f->L[i], b, Rf, k0 + half, Rf)) != SPW_OK) break;
            fri_job lj = {a, b, NULL, NULL, lv, fe3_zero(), fe3_zero(), 0, 0, 0};
            spw_parallel_for(ctx, Rf, 1024, fri_leaves, &lj);
            for (size_t j = 0; j < Rf / Rtr && st == SPW_OK; j++)
                st = spw_stree_put_chunk(ctx, &f->trees[i], k0 / Rtr + j, lv + j * Rtr);
        }
        fe3 beta;
        if (st != SPW_OK || (st = fri_next(u, f, tr, P, i, Rf, &beta)) != SPW_OK) break;
        spw_mat *rin = rollin[i + 1].tiles ? &rollin[i + 1] : NULL;
        for (size_t k0 = 0; k0 < half && st == SPW_OK; k0 += Rf) {
            if ((st = spw_mat_get_rows(&f->L[i], a, Rf, k0, Rf)) != SPW_OK) break;
            if ((st = spw_mat_get_rows(&f->L[i], b, Rf, k0 + half, Rf)) != SPW_OK) break;
            if (rin && (st = spw_mat_get_rows(rin, c, Rf, k0, Rf)) != SPW_OK) break;
            fri_job fj = {a, b, rin ? c : NULL, o, NULL, beta, fe3_sqr(beta), gl_inv(s),
                          gl_inv(gl_root_of_unity(log_n0 - i)), k0};
            spw_parallel_for(ctx, Rf, 4096, fri_fold, &fj);
            st = PF(PF_PUT, spw_mat_put_rows(&f->L[i + 1], k0, Rf, o, Rf));
        }
        spw_mat_free(&rollin[i + 1]);
        s = gl_mul(s, s);
    }
    free(a);
    free(b);
    free(c);
    free(o);
    free(lv);
    SPW_TRY(st);
    /* final layer */
    unsigned log_nr = log_n0 - R;
    size_t nr = (size_t)1 << log_nr;
    fe3 *v = spw_malloc_array(nr, sizeof(fe3));
    uint64_t *cols = spw_malloc_array(3 * nr, 8);
    if (!v || !cols) {
        free(v);
        free(cols);
        return NOMEM("FRI final layer");
    }
    st = spw_mat_get_rows(&f->L[R], v, nr, 0, nr);
    for (size_t k = 0; k < nr; k++)
        for (int q = 0; q < 3; q++) cols[q * nr + k] = v[k].c[q];
    free(v);
    if (st == SPW_OK) st = spw_fri_final_poly(ctx, tr, P, cols, log_nr, s);
    free(cols);
    return st;
}

static spw_status fri_open(run *u, fri_state *f, spw_proof *P, uint32_t j, uint64_t q0)
{
    for (unsigned i = 0; i < f->n_layers; i++) {
        size_t ni = (size_t)1 << (f->log_n0 - i), half = ni / 2;
        size_t k = (size_t)(q0 & (ni - 1)) & (half - 1);
        fe3 a, b;
        unsigned d = f->log_n0 - i - 1;
        SPW_TRY(spw_stree_open_fri(u->ctx, &f->trees[i], &f->L[i], &a, &b,
                                   P->layers[i].q_path + (size_t)j * d, k));
        uint64_t *v = P->layers[i].q_vals + 6 * (size_t)j;
        for (int c = 0; c < 3; c++) {
            v[c] = a.c[c];
            v[3 + c] = b.c[c];
        }
    }
    return SPW_OK;
}

/* Leaves of a recompute-tier table's bottom group from its evaluated rows:
 * the columns [c0, c0 + k) of the G rows of width w at rows (spw_stree_leaf_fn). */
typedef struct qleaves {
    const uint64_t *rows;
    size_t w, c0, k;
} qleaves;

static spw_status qrow_leaves(const spw_ctx *ctx, void *arg, spw_digest *out, size_t i0, size_t n)
{
    (void)i0; /* rows holds exactly the group of the opened leaf */
    qleaves *q = arg;
    uint64_t *cols = spw_malloc_array(q->k * n + 1, 8);
    if (!cols) return spw_fail(ctx, SPW_ERR_NOMEM, "stream prover: out of memory (Merkle leaves)");
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < q->k; c++) cols[c * n + i] = q->rows[i * q->w + q->c0 + c];
    spw_status st = spw_merkle_leaves(ctx, out, cols, q->k, n, n);
    free(cols);
    return st;
}

/* Row r of each LDE matrix and its paths (spw_stree_open_row: one read of
 * the rows of the path's bottom group gives both). */
static spw_status open_table(run *u, stab *s, spw_proof_table *pt, uint32_t j, uint64_t q0)
{
    size_t r = (size_t)(q0 & (s->N - 1)), d = s->log_N;
    size_t nm = s->nm, na = s->na, nc = s->nc;
    if (s->coset) { /* rows evaluated before (open_queries): the bottom group's, whose leaves
                       give the lowest levels of the paths */
        size_t G = (size_t)1 << s->mtree.skip, w = nm + na + nc;
        const uint64_t *grp = s->qrows + (size_t)j * G * w, *row = grp + (r & (G - 1)) * w;
        qleaves ql[3] = {{grp, w, 0, nm}, {grp, w, nm, na}, {grp, w, nm + na, nc}};
        memcpy(pt->q_main + j * nm, row, nm * 8);
        SPW_TRY(spw_stree_path(u->ctx, &s->mtree, pt->q_main_path + j * d, r, qrow_leaves, &ql[0]));
        if (na) {
            memcpy(pt->q_aux + j * na, row + nm, na * 8);
            SPW_TRY(spw_stree_path(u->ctx, &s->atree, pt->q_aux_path + j * d, r, qrow_leaves, &ql[1]));
        }
        memcpy(pt->q_comp + j * nc, row + nm + na, nc * 8);
        return spw_stree_path(u->ctx, &s->ctree, pt->q_comp_path + j * d, r, qrow_leaves, &ql[2]);
    }
    SPW_TRY(spw_stree_open_row(u->ctx, &s->mtree, &s->mlde, pt->q_main + j * nm,
                               pt->q_main_path + j * d, r));
    if (na)
        SPW_TRY(spw_stree_open_row(u->ctx, &s->atree, &s->alde, pt->q_aux + j * na,
                                   pt->q_aux_path + j * d, r));
    return spw_stree_open_row(u->ctx, &s->ctree, &s->clde, pt->q_comp + j * nc,
                              pt->q_comp_path + j * d, r);
}

/* Query openings: the indices come from the transcript in order, then the
 * openings (random reads that load whole tiles) run on several threads so
 * that the loads overlap; each query writes its own slots of the proof.
 * Up to QUERY_THREADS, as many as the pool can pin 2 tiles each for (a
 * thread pins one tile at a time):
 * the loads are latency-bound (synth small at 24M: 0.27 s with 8 threads,
 * 0.15-0.18 s with 32). */
#define QUERY_THREADS 32

typedef struct query_job {
    run *u;
    stab *S;
    uint32_t nt;
    fri_state *fri;
    spw_proof *P;
    const uint64_t *q0;
} query_job;

static spw_status open_query(void *arg, size_t j)
{
    query_job *q = arg;
    for (uint32_t t = 0; t < q->nt; t++)
        SPW_TRY(open_table(q->u, &q->S[t], &q->P->tables[t], (uint32_t)j, q->q0[j]));
    return fri_open(q->u, q->fri, q->P, (uint32_t)j, q->q0[j]);
}

static spw_status open_queries(run *u, stab *S, uint32_t nt, fri_state *fri, spw_proof *P,
                               spw_transcript *tr, unsigned log_n0)
{
    uint32_t nq = P->params.n_queries;
    uint64_t *q0 = spw_malloc_array(nq + 1, 8);
    if (!q0) return spw_fail(u->ctx, SPW_ERR_NOMEM, "stream prover: out of memory (queries)");
    for (uint32_t j = 0; j < nq; j++) q0[j] = spw_transcript_index(tr, log_n0);
    spw_status st = SPW_OK;
    const spw_ctx *ctx = u->ctx;
    for (uint32_t t = 0; t < nt && st == SPW_OK; t++) { /* recompute tier: the rows from the cosets */
        stab *s = &S[t];
        if (!s->coset) continue;
        size_t G = (size_t)1 << s->mtree.skip; /* each query's bottom group of rows */
        uint64_t *idx = spw_malloc_array((size_t)nq * G + 1, 8);
        s->qrows = spw_malloc_array((size_t)nq * G * (s->nm + s->na + s->nc) + 1, 8);
        if (!idx || !s->qrows) st = NOMEM("query rows");
        for (uint32_t j = 0; j < nq && st == SPW_OK; j++)
            for (size_t g = 0; g < G; g++) idx[(size_t)j * G + g] = (q0[j] & (s->N - 1) & ~(uint64_t)(G - 1)) + g;
        spw_mat *mats[3] = {&s->mcoef, s->na ? &s->acoef : NULL, &s->ccoef};
        if (st == SPW_OK && !u->dev) {
            st = spw_hcoset_rows(ctx, mats, s->log_n, u->log_b, idx, nq * G, s->qrows);
        } else if (st == SPW_OK) {
            spw_sdev_where(u->dev, "queries", s->t->name);
            spw_sdev_set_pin_cap(u->dev, spw_spill_pinnable(u->sp) / 2);
            st = PF(PF_DEVICE, spw_sdev_coset_rows(u->dev, mats, s->log_n, u->log_b, idx, nq * G, s->qrows));
        }
        free(idx);
    }
    if (st != SPW_OK) {
        free(q0);
        return st;
    }
    query_job q = {u, S, nt, fri, P, q0};
    uint64_t fit = spw_spill_pinnable(u->sp) / (2 * ((uint64_t)u->tile_bytes + 4096));
    unsigned threads = fit < 2 ? 2 : fit > QUERY_THREADS ? QUERY_THREADS : (unsigned)fit;
    const char *qt = getenv("SPW_QUERY_THREADS"); /* experiments: a fixed count */
    if (qt && atoi(qt) > 0) threads = (unsigned)atoi(qt);
    spw_log(ctx, SPW_LOG_DEBUG, "stream prover: %u queries on %u threads", nq, threads);
    st = spw_sched_each(threads, nq, open_query, &q);
    free(q0);
    return st;
}

/* ---- driver ---- */

/* The recompute tier ("coset passes": dev.h on the device, coset.h on
 * the CPU): the tables the planner chose (plan.h, `recompute`: they fit
 * and the cost model, or $SPW_RECOMPUTE, says so; docs/OUT_OF_CORE.md)
 * never store their LDE; every pass evaluates cosets from the
 * coefficients. The prover executes exactly the plan's choice. */
static void choose_cosets(run *u, stab *S, uint32_t nt)
{
    uint64_t saved = 0, need = 0;
    uint32_t k = 0;
    for (uint32_t t = 0; t < nt; t++) {
        stab *s = &S[t];
        s->coset = u->plan->tables[t].recompute;
        if (!s->coset) continue;
        k++;
        saved += 8 * (uint64_t)s->N * (s->nm + s->na + s->nc);
        if (u->plan->tables[t].dev_need > need) need = u->plan->tables[t].dev_need;
    }
    /* the coefficients stay in the device cache between rounds within what
     * the budget leaves beside the largest pass (its need, with the 3/4
     * margin of the fit rule) */
    if (!u->dev) {
        if (k)
            spw_log(u->ctx, SPW_LOG_INFO, "stream prover: recompute tier for %u of %u tables (LDE of "
                    "%llu MiB not stored; cosets evaluated on the CPU from the coefficients)", k, nt,
                    (unsigned long long)(saved >> 20));
        return;
    }
    uint64_t budget = spw_sdev_budget(u->dev), big = need / 3 * 4;
    uint64_t room = k && budget > big ? budget - big : 0;
    spw_sdev_set_coef_room(u->dev, room);
    spw_log(u->ctx, SPW_LOG_INFO, "stream prover: recompute tier for %u of %u tables (LDE of "
            "%llu MiB not stored; cosets evaluated on the device from the coefficients; %llu MiB "
            "of device cache for coefficients between rounds)", k, nt,
            (unsigned long long)(saved >> 20), (unsigned long long)(room >> 20));
}

spw_status spw_sched_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                           const spw_air *air, const spw_trace *trace, const spw_statement *stmt,
                           const spw_prove_opts *opts, spw_prove_stats *stats,
                           const spw_plan *plan)
{
    const spw_air_def *def = spw_air_get_def(air);
    int forced = opts && opts->skip_checks;
    unsigned blowup = plan->blowup, log_b = spw_log2(blowup), min_lh = 64, max_lh = 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        if (def->tables[t].log_height < min_lh) min_lh = def->tables[t].log_height;
        if (def->tables[t].log_height > max_lh) max_lh = def->tables[t].log_height;
    }
    double tu0 = cpu_seconds(), tr0 = spw_now();
    /* (debug log, at the end) each round's wall and process CPU seconds:
     * how many cores it kept busy. Nothing but arithmetic runs between a
     * round's end and the next progress report (the stats' segments). */
    double lap_wall[SPW_ROUND_COUNT] = {0}, lap_cpu[SPW_ROUND_COUNT] = {0};
#define LAP(round)                                  \
    do {                                            \
        double cpu_ = cpu_seconds(), now_ = spw_now(); \
        stats->seconds[round] += now_ - tr0;        \
        lap_wall[round] += now_ - tr0;              \
        lap_cpu[round] += cpu_ - tu0;               \
        tr0 = now_;                                 \
        tu0 = cpu_;                                 \
    } while (0)

    memset(g_pf, 0, sizeof g_pf);
    run u = {ctx, NULL, plan, plan->nvme_bytes ? SPW_TIER_NVME : SPW_TIER_HOST,
             plan->nvme_bytes ? 1 : 0, log_b, SPW_TILE_BYTES, SPW_TREE_ROWS, NULL, 0, 0};
    if (plan->tile_bytes) u.tile_bytes = (size_t)plan->tile_bytes; /* env knob included */
    if (getenv("SPW_TREE_ROWS")) u.tree_rows = (size_t)atoll(getenv("SPW_TREE_ROWS"));
    spw_spill_opts so;
    spw_spill_opts_default(&so);
    so.dir = plan->nvme_bytes ? plan->spill_dir : NULL;
    so.host_budget = plan->pool_bytes;
    so.nvme_budget = plan->nvme_bytes;
    so.compress = 0;
    /* the device tier copies straight between the pool's tiles and the
     * device: page-locked, those copies run at the link's speed */
    so.register_cuda = plan->device;
    if (getenv("SPW_POOL_REGISTER")) so.register_cuda = atoi(getenv("SPW_POOL_REGISTER"));
    double t_setup = spw_now();
    SPW_TRY(spw_spill_create(ctx, &u.sp, &so));
    g_pf[PF_SETUP] = spw_now() - t_setup;
    if (plan->device) {
        spw_status ds = spw_sdev_open(ctx, &u.dev, plan->dev_budget);
        if (ds != SPW_OK) {
            spw_spill_free(u.sp);
            return ds;
        }
    }
    u.n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    u.n_pub = def->n_publics;
    /* dirty tiles are written back ahead of eviction by two cleaner threads
     * (at most two writes in flight), keeping a quarter of the pool clean */
    if (plan->nvme_bytes) (void)spw_spill_write_behind(u.sp, 2, plan->pool_bytes / 4);
    spw_log(ctx, SPW_LOG_INFO, "stream prover: pool %llu MiB, NVMe %llu MiB in %s",
            (unsigned long long)(plan->pool_bytes >> 20), (unsigned long long)(plan->nvme_bytes >> 20),
            plan->nvme_bytes ? plan->spill_dir : "(none)");

    spw_status st = SPW_OK;
    spw_proof P;
    memset(&P, 0, sizeof P);
    stab *S = spw_calloc_array(def->n_tables, sizeof(stab));
    spw_mat *rollin = NULL;
    fri_state fri;
    memset(&fri, 0, sizeof fri);
    uint8_t *pre = NULL;
    fe3 *ch = NULL;
    P.tables = spw_calloc_array(def->n_tables, sizeof(spw_proof_table));
    if (!S || !P.tables) {
        st = NOMEM("tables");
        goto out;
    }
    spw_stark_default_params(&P.params, blowup, min_lh);
    P.n_tables = def->n_tables;
    P.n_publics = def->n_publics;
    P.tag_len = stmt ? (uint32_t)stmt->tag_len : 0;
    P.n_layers = max_lh - P.params.log_final;
    P.publics = spw_calloc_array(P.n_publics + 1, 8);
    P.tag = calloc(P.tag_len + 1, 1);
    if (!P.publics || !P.tag) {
        st = NOMEM("statement");
        goto out;
    }
    if (P.n_publics) memcpy(P.publics, stmt->publics, 8 * (size_t)P.n_publics);
    if (P.tag_len) memcpy(P.tag, stmt->tag, P.tag_len);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        stab *s = &S[t];
        s->t = tb;
        s->pt = &plan->tables[t];
        s->log_n = tb->log_height;
        s->log_N = tb->log_height + log_b;
        s->log_e = s->pt->log_e;
        s->n = (size_t)1 << s->log_n;
        s->N = (size_t)1 << s->log_N;
        s->E = (size_t)1 << s->log_e;
        s->NE = s->n << s->log_e;
        s->R = s->pt->R ? s->pt->R : s->N;
        if (s->R > s->N) s->R = s->N;
        s->Rt = s->R < s->n ? s->R : s->n;
        s->G = s->pt->G ? s->pt->G : 1;
        s->parts = spw_stark_num_parts(tb);
        s->nm = tb->n_main;
        s->na = 3 * (size_t)tb->n_aux;
        s->nc = 3 * (size_t)s->parts;
        P.tables[t].log_height = tb->log_height;
        P.tables[t].n_main = tb->n_main;
        P.tables[t].n_aux = tb->n_aux;
        P.tables[t].n_parts = s->parts;
    }
    choose_cosets(&u, S, def->n_tables);
    if ((st = spw_proof_alloc(ctx, &P)) != SPW_OK) goto out;
    spw_transcript tr;
    spw_transcript_init(&tr);
    size_t pre_len;
    if ((st = spw_proof_preamble(ctx, &pre, &pre_len, &P)) != SPW_OK) goto out;
    spw_transcript_absorb(&tr, pre, pre_len);
    uint8_t dig[32];
    spw_air_digest(dig, def);
    spw_transcript_absorb(&tr, dig, 32);

    /* the set-up (store, device arena, proof) counts in the first round,
     * outside its tables */
    spw_stats_add_time(ctx, spw_round_names[SPW_ROUND_MAIN], -1, spw_now() - tr0);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        prog(ctx, S, def->n_tables, SPW_ROUND_MAIN, t);
        table_home(&u, t, SPW_ROUND_MAIN);
        if ((st = round_main(&u, &S[t], trace, t)) != SPW_OK) goto out;
        P.tables[t].main_root = *spw_stree_root(&S[t].mtree);
        spw_transcript_absorb(&tr, P.tables[t].main_root.b, 32);
    }
    prog(ctx, S, def->n_tables, SPW_ROUND_MAIN, def->n_tables);
    LAP(SPW_ROUND_MAIN);

    uint32_t n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    ch = spw_calloc_array(n_ch, sizeof(fe3));
    if (!ch) {
        st = NOMEM("challenges");
        goto out;
    }
    for (uint32_t i = 0; i < n_ch; i++) ch[i] = spw_transcript_ext3(&tr);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        prog(ctx, S, def->n_tables, SPW_ROUND_AUX, t);
        table_home(&u, t, SPW_ROUND_AUX);
        if ((st = round_aux(&u, &S[t], ch, &P.tables[t].logup_sum)) != SPW_OK) goto out;
        if (S[t].na) {
            uint8_t b[56];
            P.tables[t].aux_root = *spw_stree_root(&S[t].atree);
            memcpy(b, P.tables[t].aux_root.b, 32);
            for (int c = 0; c < 3; c++) spw_put_u64le(b + 32 + 8 * c, P.tables[t].logup_sum.c[c]);
            spw_transcript_absorb(&tr, b, 56);
        }
    }
    prog(ctx, S, def->n_tables, SPW_ROUND_AUX, def->n_tables);
    if (plan->checks_deferred && !forced) { /* the bus balance was not checked first */
        fe3 tot = fe3_zero();
        for (uint32_t t = 0; t < def->n_tables; t++) tot = fe3_add(tot, P.tables[t].logup_sum);
        if (!fe3_is_zero(tot)) {
            st = spw_fail(ctx, SPW_ERR_INTERNAL, "prove: the LogUp sums of the tables do not "
                          "cancel (unbalanced bus)");
            goto out;
        }
    }
    LAP(SPW_ROUND_AUX);

    for (uint32_t t = 0; t < def->n_tables; t++) {
        prog(ctx, S, def->n_tables, SPW_ROUND_COMP, t);
        fe3 lambda = spw_transcript_ext3(&tr);
        table_home(&u, t, SPW_ROUND_COMP);
        if ((st = round_comp(&u, &S[t], ch, P.publics, P.tables[t].logup_sum, lambda, forced)) != SPW_OK)
            goto out;
    }
    for (uint32_t t = 0; t < def->n_tables; t++) {
        P.tables[t].comp_root = *spw_stree_root(&S[t].ctree);
        spw_transcript_absorb(&tr, P.tables[t].comp_root.b, 32);
    }
    prog(ctx, S, def->n_tables, SPW_ROUND_COMP, def->n_tables);
    LAP(SPW_ROUND_COMP);

    fe3 zeta;
    do zeta = spw_transcript_ext3(&tr);
    while (zeta.c[1] == 0 && zeta.c[2] == 0);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        prog(ctx, S, def->n_tables, SPW_ROUND_OOD, t);
        if ((st = round_ood(&u, &S[t], &P.tables[t], zeta)) != SPW_OK) goto out;
        size_t nb = 24 * (size_t)spw_proof_n_ood(&P.tables[t]);
        uint8_t *b = malloc(nb);
        if (!b) {
            st = NOMEM("OOD bytes");
            goto out;
        }
        spw_proof_ood_bytes(b, &P.tables[t]);
        spw_transcript_absorb(&tr, b, nb);
        free(b);
    }
    /* the coefficients are not needed any more */
    for (uint32_t t = 0; t < def->n_tables; t++) {
        if (S[t].coset) continue; /* the recompute tier evaluates DEEP and the openings from them */
        spw_mat_free(&S[t].mcoef);
        spw_mat_free(&S[t].acoef);
        spw_mat_free(&S[t].ccoef);
    }
    prog(ctx, S, def->n_tables, SPW_ROUND_OOD, def->n_tables);
    LAP(SPW_ROUND_OOD);

    unsigned log_n0 = max_lh + log_b;
    rollin = spw_calloc_array(P.n_layers + 1, sizeof(spw_mat));
    if (!rollin) {
        st = NOMEM("FRI roll-in");
        goto out;
    }
    fri.n_layers = P.n_layers;
    table_home(&u, def->n_tables, SPW_ROUND_DEEP);
    fe3 gamma = spw_transcript_ext3(&tr), gpow = fe3_one();
    for (uint32_t t = 0; t < def->n_tables; t++) {
        unsigned i = log_n0 - S[t].log_N;
        prog(ctx, S, def->n_tables, SPW_ROUND_DEEP, t);
        int first = rollin[i].tiles == NULL;
        if (first && (st = mat_new(&u, &rollin[i], "deep", 1, S[t].N, sizeof(fe3), 1,
                                   plan->fri_R < S[t].N / 2 ? plan->fri_R : S[t].N / 2,
                                   SPW_CHUNK_OTHER)) != SPW_OK)
            goto out;
        if ((st = round_deep(&u, &S[t], &P.tables[t], zeta, gamma, &gpow, &rollin[i], first)) != SPW_OK)
            goto out;
    }
    prog(ctx, S, def->n_tables, SPW_ROUND_DEEP, def->n_tables);
    LAP(SPW_ROUND_DEEP);

    spw_progress_report(ctx, spw_round_names[SPW_ROUND_FRI], -1, 0, 48ull << log_n0);
    if ((st = fri_commit(&u, &fri, &tr, &P, rollin, log_n0)) != SPW_OK) goto out;
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_FRI], -1, 48ull << log_n0, 48ull << log_n0);
    LAP(SPW_ROUND_FRI);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_GRIND], -1, 0, 0);

    P.nonce = spw_transcript_grind(&tr, P.params.grinding_bits);
    {
        uint8_t nb[8];
        spw_put_u64le(nb, P.nonce);
        spw_transcript_absorb(&tr, nb, 8);
    }
    LAP(SPW_ROUND_GRIND);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_QUERY], -1, 0, 0);

    if ((st = open_queries(&u, S, def->n_tables, &fri, &P, &tr, log_n0)) != SPW_OK) goto out;
    LAP(SPW_ROUND_QUERY);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_ENCODE], -1, 0, 0);

    st = spw_proof_encode(ctx, proof_out, proof_len, &P);
    LAP(SPW_ROUND_ENCODE);
    spw_stats_pause(ctx); /* the clean-up below belongs to no round */
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        if (lap_wall[r] > 0)
            spw_log(ctx, SPW_LOG_DEBUG, "stream prover: %s: %.3f s, %.3f s of CPU (%.2f cores)",
                    spw_round_names[r], lap_wall[r], lap_cpu[r], lap_cpu[r] / lap_wall[r]);
out:
    if (u.sp) {
        spw_spill_stats ss;
        spw_spill_get_stats(u.sp, &ss);
        spw_log(ctx, SPW_LOG_INFO,
                "stream prover: pool peak %llu MiB (%.3f s page-locking it), NVMe peak %llu MiB, "
                "%llu MiB written, %llu MiB read, %llu evictions", (unsigned long long)(ss.host_peak >> 20),
                ss.pool_register_s,
                (unsigned long long)(ss.nvme_peak >> 20),
                (unsigned long long)(ss.bytes_host_to_nvme >> 20),
                (unsigned long long)(ss.bytes_nvme_to_host >> 20), (unsigned long long)ss.evictions);
        spw_stats_tier_peak(ctx, "host pool", ss.host_peak, plan->pool_bytes, "spill store");
        if (plan->nvme_bytes)
            spw_stats_tier_peak(ctx, "nvme", ss.nvme_peak, plan->nvme_bytes, "spill store");
        if (ss.async_errors) spw_stats_fallback(ctx, "spill store: failed background write-back");
    }
    spw_log(ctx, SPW_LOG_INFO,
            "stream prover (main thread): %.3f s creating the store, %.3f s waiting for row reads, "
            "%.3f s in device calls, %.3f s in device column phases (reading the producer's columns "
            "included), %.3f s storing, %.3f s reading columns", g_pf[PF_SETUP], g_pf[PF_READ_WAIT], g_pf[PF_DEVICE], g_pf[PF_COLS],
            g_pf[PF_PUT], g_pf[PF_GET]);
    if (u.dev) {
        spw_sdev_stats ds;
        spw_sdev_get_stats(u.dev, &ds);
        spw_log(ctx, SPW_LOG_INFO,
                "stream prover: device cache peak %llu MiB, %llu entries made, %llu dropped for "
                "room, %llu MiB read from it instead of the host; %.3f s pinning tiles",
                (unsigned long long)(ds.cache_peak >> 20), (unsigned long long)ds.cache_made,
                (unsigned long long)ds.cache_dropped, (unsigned long long)(ds.cache_served >> 20),
                ds.pin_s);
        spw_gpu_run_stats gs; /* the resident attempt left budget and estimate */
        spw_gpu_last_run(&gs);
        gs.used_device = st == SPW_OK;
        gs.streamed = 1;
        gs.budget = gs.reserved = ds.budget;
        gs.peak = ds.peak;
        gs.kernels = ds.kernels;
        gs.h2d_bytes = ds.h2d;
        gs.d2h_bytes = ds.d2h;
        for (int r = 0; r < SPW_ROUND_COUNT; r++) gs.seconds[r] = stats->seconds[r];
        memcpy(gs.device, ds.device, sizeof gs.device);
        spw_gpu_set_last(&gs);
        spw_stats_tier_peak(ctx, "vram", ds.peak, ds.budget, "device arena (streaming tier)");
        spw_log(ctx, SPW_LOG_INFO,
                "streaming device tier: arena peak %llu MiB of %llu MiB, %llu MiB host->device, "
                "%llu MiB device->host, %llu kernels, %.3f s waiting for the device",
                (unsigned long long)(ds.peak >> 20), (unsigned long long)(ds.budget >> 20),
                (unsigned long long)(ds.h2d >> 20), (unsigned long long)(ds.d2h >> 20),
                (unsigned long long)ds.kernels, ds.busy_s);
    }
    double tc0 = spw_now(), tc1, tc2;
    if (u.dev) spw_sdev_close(u.dev);
    tc1 = spw_now();
    fri_free(&fri, rollin);
    free(rollin);
    if (S)
        for (uint32_t t = 0; t < def->n_tables; t++) stab_free(&S[t]);
    free(S);
    free(ch);
    free(pre);
    spw_proof_clear(&P);
    tc2 = spw_now();
    spw_spill_free(u.sp);
    spw_log(ctx, SPW_LOG_DEBUG, "stream prover: clean-up %.3f s (device tier %.3f s, matrices %.3f s, "
            "store %.3f s)", spw_now() - tc0, tc1 - tc0, tc2 - tc1, spw_now() - tc2);
    stats->total = 0;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) stats->total += stats->seconds[r];
    return st;
#undef LAP
}

/* The dispatch spw_prove_ex calls after its checks: 1 when the streaming
 * prover handled the call (*status set), 0 for the in-memory prover. */
/* The streamed schedule for the device tier (plan.h): made in mode
 * spilled, so it has the pool and the row chunks whatever the host budget,
 * with the recompute tier's tables chosen by the planner. */
static spw_status dev_plan(spw_ctx *ctx, spw_plan *plan, const spw_air *air)
{
    return spw_plan_make_device(ctx, plan, spw_air_get_def(air), NULL);
}

spw_status spw_sched_device_check(spw_ctx *ctx, const spw_air *air, int *ok)
{
    *ok = 0;
    spw_plan plan;
    spw_status st = dev_plan(ctx, &plan, air);
    if (st != SPW_OK) {
        spw_plan_clear(&plan);
        return st;
    }
    uint32_t big = 0;
    uint64_t need = spw_sdev_min_bytes(&plan, spw_air_get_def(air), &big);
    uint64_t budget = ctx->vram_budget ? ctx->vram_budget : spw_plan_default_vram_budget();
    if (need <= budget) {
        *ok = 1;
        spw_plan_clear(&plan);
        return SPW_OK;
    }
    char why[320];
    const spw_plan_table *t = &plan.tables[big];
    snprintf(why, sizeof why,
             "VRAM budget %llu MiB is below the minimum %llu MiB of the streaming device tier for "
             "table %s (2^%u rows x %u columns); raise --vram-budget",
             (unsigned long long)(budget >> 20), (unsigned long long)((need + (1 << 20) - 1) >> 20),
             t->name, t->log_n, t->nm);
    spw_plan_clear(&plan);
    if (ctx->backend == SPW_BACKEND_CUDA)
        return spw_fail(ctx, SPW_ERR_BUDGET, "prove: --backend cuda: %s", why);
    spw_gpu_note_fallback(ctx, why);
    return SPW_OK;
}

int spw_sched_dispatch(spw_ctx *ctx, spw_status *status, uint8_t **proof_out, size_t *proof_len,
                       const spw_air *air, const spw_trace *trace, const spw_statement *stmt,
                       const spw_prove_opts *opts, spw_prove_stats *stats, int device,
                       int deferred)
{
    if (ctx->mode == SPW_MODE_RESIDENT && !device) return 0;
    spw_plan plan; /* the device tier: the streamed schedule whatever the budget */
    spw_status st = device ? dev_plan(ctx, &plan, air)
                           : spw_plan_make(ctx, &plan, spw_air_get_def(air), NULL);
    if (st != SPW_OK) {
        spw_plan_clear(&plan);
        *status = st;
        return 1;
    }
    if (device) plan.checks_deferred = deferred; /* spilled, device, dev_budget: the planner's */
    if (!plan.spilled) {
        spw_plan_clear(&plan);
        return 0;
    }
    *status = spw_sched_prove(ctx, proof_out, proof_len, air, trace, stmt, opts, stats, &plan);
    spw_plan_clear(&plan);
    return 1;
}
