/*
 * coset.c - the recompute tier's coset passes on the CPU (coset.h): the
 * host reference of dev.c's spw_sdev_coset_*. A pass holds one coset of
 * its columns (n rows each) in ordinary memory, evaluated from the
 * coefficients by a scaling with the shift's powers and a forward NTT.
 */
#include "coset.h"
#include "rowk.h"

#include "../fri.h"
#include "../logup.h"
#include "../ntt.h"

#include <stdlib.h>
#include <string.h>

#define NOMEM(ctx, what) spw_fail(ctx, SPW_ERR_NOMEM, "recompute tier: out of memory (%s)", what)
#define PBLK 4096 /* points per work item of the element-wise loops */

static uint64_t g_cosets; /* process total */

uint64_t spw_hcoset_cosets_total(void) { return __atomic_load_n(&g_cosets, __ATOMIC_RELAXED); }

/* shift of coset j of the 2^log_k cosets of GL_GENERATOR * <w_{n 2^log_k}> */
static uint64_t coset_shift(unsigned log_n, unsigned log_k, size_t j)
{
    return gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(log_n + log_k), j));
}

static size_t mats_cols(spw_mat *const *mats, int nmat)
{
    size_t c = 0;
    for (int i = 0; i < nmat; i++) c += mats[i] ? mats[i]->ncols : 0;
    return c;
}

uint64_t spw_hcoset_bytes(size_t nm, size_t na, size_t nc, unsigned log_n, unsigned log_b,
                          unsigned log_e)
{
    uint64_t n = UINT64_C(1) << log_n, N = n << log_b, NE = n << log_e, ma = nm + na;
    uint64_t all = ma + nc, grp = all < 128 ? all : 128;
#define TREE(c) (8 * (uint64_t)(c) * n + 8 * n + 32 * N + 32 * n)
#define MAX(a, b) ((a) > (b) ? (a) : (b))
    uint64_t b = TREE(nm);
    b = MAX(b, 8 * (nm + na) * n + 8 * n);                       /* LogUp: trace, aux */
    b = MAX(b, 8 * na * n + TREE(na));                           /* aux tree */
    b = MAX(b, 8 * (ma + na) * (n + 1) + 8 * n + 24 * NE + 24 * n); /* quotient values */
    b = MAX(b, 24 * NE + 8 * nc * n);                            /* parts */
    b = MAX(b, 8 * nc * n + TREE(nc));                           /* composition tree */
    b = MAX(b, 48 * n + 8 * grp * n);                            /* DEEP's combination */
    b = MAX(b, 48 * n + 24 * N + 56 * n + 24 * n);               /* DEEP values */
    b = MAX(b, 8 * all * n + 8 * n);                             /* query rows */
#undef TREE
#undef MAX
    return b;
}

/* ---- one coset at a time ---- */

typedef struct hcoset {
    const spw_ctx *ctx;
    spw_mat *const *mats;
    int nmat;
    const uint64_t *coef; /* the coefficients in memory (column c at coef + c n), or NULL:
                             read from mats for each coset */
    size_t n, nc, ld;     /* ld: column stride of ev (n + 1 with the halo row) */
    unsigned log_n;
    uint64_t *ev, *pw;
} hcoset;

static void hc_close(hcoset *c)
{
    free(c->ev);
    free(c->pw);
    c->ev = c->pw = NULL;
}

/* mats (nmat matrices, NULL entries skipped) or, mats NULL, nc columns at
 * coef; halo: a copy of row 0 after row n - 1 (the next row of the last
 * point). */
static spw_status hc_open(const spw_ctx *ctx, hcoset *c, spw_mat *const *mats, int nmat,
                          const uint64_t *coef, size_t nc, unsigned log_n, int halo)
{
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->mats = mats;
    c->nmat = nmat;
    c->coef = coef;
    c->log_n = log_n;
    c->n = (size_t)1 << log_n;
    c->nc = mats ? mats_cols(mats, nmat) : nc;
    c->ld = c->n + (halo ? 1 : 0);
    c->ev = spw_malloc_array(c->nc * c->ld + 1, 8);
    c->pw = spw_malloc_array(c->n, 8);
    if (!c->ev || !c->pw) {
        hc_close(c);
        return NOMEM(ctx, "coset evaluations");
    }
    return SPW_OK;
}

typedef struct scale_job {
    uint64_t *ev, *pw;
    const uint64_t *src; /* column c at src + c * sld */
    size_t n, ld, sld, nc;
    uint64_t shift;
} scale_job;

/* pw[k] = shift^k, by blocks of PBLK */
static void pow_blocks(void *arg, size_t b, size_t e)
{
    scale_job *j = arg;
    for (size_t blk = b; blk < e; blk++) {
        size_t k0 = blk * PBLK, m = j->n - k0 < PBLK ? j->n - k0 : PBLK;
        uint64_t x = gl_pow(j->shift, k0);
        for (size_t k = 0; k < m; k++) {
            j->pw[k0 + k] = x;
            x = gl_mul(x, j->shift);
        }
    }
}

/* ev[c][k] = src[c][k] * pw[k] for the items (column, block of PBLK) */
static void scale_blocks(void *arg, size_t b, size_t e)
{
    scale_job *j = arg;
    size_t nb = (j->n + PBLK - 1) / PBLK;
    for (size_t it = b; it < e; it++) {
        size_t c = it / nb, k0 = it % nb * PBLK, m = j->n - k0 < PBLK ? j->n - k0 : PBLK;
        const uint64_t *s = j->src + c * j->sld + k0;
        uint64_t *d = j->ev + c * j->ld + k0;
        const uint64_t *p = j->pw + k0;
        for (size_t k = 0; k < m; k++) d[k] = gl_mul(s[k], p[k]);
    }
}

/* c->ev := the columns evaluated on shift * <w_n> */
static spw_status hc_eval(hcoset *c, uint64_t shift)
{
    const uint64_t *src = c->ev;
    size_t sld = c->ld;
    if (c->coef) {
        src = c->coef;
        sld = c->n;
    } else {
        size_t off = 0;
        for (int i = 0; i < c->nmat; i++) {
            if (!c->mats[i]) continue;
            SPW_TRY(spw_mat_get_cols(c->mats[i], c->ev + off * c->ld, c->ld, 0, c->mats[i]->ncols));
            off += c->mats[i]->ncols;
        }
    }
    if (shift != 1) {
        scale_job j = {c->ev, c->pw, src, c->n, c->ld, sld, c->nc, shift};
        size_t nb = (c->n + PBLK - 1) / PBLK;
        spw_parallel_for(c->ctx, nb, 1, pow_blocks, &j);
        spw_parallel_for(c->ctx, nb * c->nc, 1, scale_blocks, &j);
    } else if (src != c->ev) { /* shift 1 (the trace): the coefficients as they are */
        for (size_t k = 0; k < c->nc; k++) memcpy(c->ev + k * c->ld, src + k * sld, c->n * 8);
    }
    SPW_TRY(spw_ntt_forward_batch(c->ctx, c->ev, c->nc, c->ld, c->log_n));
    if (c->ld > c->n)
        for (size_t k = 0; k < c->nc; k++) c->ev[k * c->ld + c->n] = c->ev[k * c->ld];
    __atomic_add_fetch(&g_cosets, 1, __ATOMIC_RELAXED);
    return SPW_OK;
}

/* The tree over the LDE (blowup 2^log_b) of c's columns: the leaves of
 * coset j are leaves j, j + K, ... */
static spw_status hc_tree(hcoset *c, spw_stree *tree, unsigned log_b)
{
    const spw_ctx *ctx = c->ctx;
    size_t n = c->n, K = (size_t)1 << log_b, N = n << log_b;
    if (tree->R * tree->nchunks != N)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "recompute tier: a tree of %zu x %zu leaves for %zu "
                        "points", tree->nchunks, tree->R, N);
    spw_digest *leaves = spw_malloc_array(N, sizeof(spw_digest));
    spw_digest *tmp = spw_malloc_array(n, sizeof(spw_digest));
    spw_status st = leaves && tmp ? SPW_OK : NOMEM(ctx, "leaf digests");
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        if ((st = hc_eval(c, coset_shift(c->log_n, log_b, j))) != SPW_OK) break;
        if ((st = spw_merkle_leaves(ctx, tmp, c->ev, c->nc, c->ld, n)) != SPW_OK) break;
        for (size_t i = 0; i < n; i++) leaves[j + K * i] = tmp[i];
    }
    for (size_t k = 0; k < tree->nchunks && st == SPW_OK; k++)
        st = spw_stree_put_chunk(ctx, tree, k, leaves + k * tree->R);
    free(leaves);
    free(tmp);
    return st;
}

/* The tree of nc in-memory coefficient columns (column c at cf + c n). */
static spw_status tree_of(const spw_ctx *ctx, spw_stree *tree, const uint64_t *cf, size_t nc,
                          unsigned log_n, unsigned log_b)
{
    hcoset c;
    SPW_TRY(hc_open(ctx, &c, NULL, 0, cf, nc, log_n, 0));
    spw_status st = hc_tree(&c, tree, log_b);
    hc_close(&c);
    return st;
}

spw_status spw_hcoset_tree(const spw_ctx *ctx, spw_stree *tree, spw_mat *coef, unsigned log_n,
                           unsigned log_b)
{
    spw_mat *mats[1] = {coef};
    hcoset c;
    SPW_TRY(hc_open(ctx, &c, mats, 1, NULL, 0, log_n, 0));
    spw_status st = hc_tree(&c, tree, log_b);
    hc_close(&c);
    return st;
}

spw_status spw_hcoset_logup(const spw_ctx *ctx, const spw_air_table *t, const fe3 *ch,
                            spw_mat *mcoef, spw_mat *acoef, spw_stree *tree, unsigned log_n,
                            unsigned log_b, fe3 *sum)
{
    size_t n = (size_t)1 << log_n, na = acoef->ncols;
    if (na != 3 * (size_t)t->n_aux || mcoef->ncols != t->n_main)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "recompute tier: LogUp of table '%s' from %zu main "
                        "into %zu aux columns", t->name, mcoef->ncols, na);
    spw_mat *mats[1] = {mcoef};
    hcoset c;
    fe3 running = fe3_zero();
    uint64_t *aux = spw_malloc_array(na * n, 8);
    if (!aux) return NOMEM(ctx, "aux columns");
    /* the trace: the main coefficients' coset of shift 1 */
    spw_status st = hc_open(ctx, &c, mats, 1, NULL, 0, log_n, 0);
    if (st == SPW_OK) st = hc_eval(&c, 1);
    if (st == SPW_OK)
        st = spw_logup_build_aux_chunk(ctx, aux, n, &running, t, c.ev, c.ld, 0, n, ch);
    hc_close(&c);
    *sum = running;
    if (st == SPW_OK) st = spw_ntt_inverse_batch(ctx, aux, na, n, log_n);
    if (st == SPW_OK) st = spw_mat_put_cols(acoef, 0, na, aux, n);
    if (st == SPW_OK) st = tree_of(ctx, tree, aux, na, log_n, log_b);
    free(aux);
    return st;
}

spw_status spw_hcoset_comp(const spw_ctx *ctx, const spw_coset_comp_job *j)
{
    const spw_air_table *t = j->t;
    unsigned log_n = j->log_n, log_e = j->log_e;
    size_t n = (size_t)1 << log_n, E = (size_t)1 << log_e, NE = n << log_e, nc = j->ccoef->ncols;
    size_t nm = t->n_main, nx = t->n_aux, deg = nc / 3 * n;
    if (nc % 3 || deg > NE)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "recompute tier: %zu composition columns for a "
                        "domain of %zu", nc, NE);
    spw_mat *mats[2] = {j->mcoef, nx ? j->acoef : NULL};
    hcoset c;
    spw_rowk_comp cj;
    memset(&cj, 0, sizeof cj);
    uint64_t *q = NULL, *out = NULL, *cf = NULL;
    fe3 *ab = NULL;
    spw_status st = hc_open(ctx, &c, mats, 2, NULL, 0, log_n, 1);
    if (st != SPW_OK) return st;
    size_t ld = c.ld;
    q = spw_malloc_array(3 * NE, 8);
    out = spw_malloc_array(3 * n, 8);
    ab = spw_malloc_array(nx * ld + 1, sizeof(fe3));
    if (!q || !out || !ab ||
        spw_rowk_comp_init(&cj, t, log_n, log_e, j->ch, j->publics, j->logup_sum, j->lambda) != SPW_OK)
        st = NOMEM(ctx, "composition coset");
    cj.R = n;
    cj.W = ld;
    cj.step = E; /* coset k: points k, k + E, ...; the next row is the next entry */
    cj.nxt = 1;
    cj.mb = c.ev;
    cj.ab = ab;
    cj.out = out;
    for (size_t k = 0; k < E && st == SPW_OK; k++) {
        if ((st = hc_eval(&c, coset_shift(log_n, log_e, k))) != SPW_OK) break;
        for (size_t a = 0; a < nx; a++) {
            const uint64_t *x = c.ev + (nm + 3 * a) * ld;
            for (size_t i = 0; i < ld; i++) ab[a * ld + i] = fe3_make(x[i], x[ld + i], x[2 * ld + i]);
        }
        cj.r0 = k;
        spw_parallel_for(ctx, (n + SPW_ROWK_BLK - 1) / SPW_ROWK_BLK, 1, spw_rowk_comp_blocks, &cj);
        if (cj.failed) {
            st = NOMEM(ctx, "composition workers");
            break;
        }
        for (size_t x = 0; x < 3; x++)
            for (size_t i = 0; i < n; i++) q[x * NE + k + E * i] = out[x * n + i];
    }
    hc_close(&c);
    spw_rowk_comp_free(&cj);
    free(out);
    free(ab);
    /* the quotient's coefficients, its degree check, the parts as
     * composition columns 3i + c */
    if (st == SPW_OK) st = spw_coset_interpolate(ctx, q, 3, log_n + log_e, GL_GENERATOR);
    for (size_t x = 0; x < 3 && st == SPW_OK && j->check; x++)
        for (size_t k = deg; k < NE; k++)
            if (q[x * NE + k]) {
                st = spw_fail(ctx, SPW_ERR_INTERNAL, "prove: table '%s': composition quotient has "
                              "degree >= %zu (constraints not satisfied or degree miscomputed)",
                              t->name, deg);
                break;
            }
    if (st == SPW_OK && !(cf = spw_malloc_array(nc * n + 1, 8))) st = NOMEM(ctx, "composition parts");
    for (size_t i = 0; i < nc / 3 && st == SPW_OK; i++)
        for (size_t x = 0; x < 3; x++) memcpy(cf + (3 * i + x) * n, q + x * NE + i * n, n * 8);
    free(q);
    if (st == SPW_OK) st = spw_mat_put_cols(j->ccoef, 0, nc, cf, n);
    if (st == SPW_OK) st = tree_of(ctx, j->ctree, cf, nc, log_n, j->log_b);
    free(cf);
    return st;
}

/* acc1[i] += sum g1[c] col_c[i], acc2[i] += sum g2[c] col_c[i] (c < n2)
 * over the columns of a group, by blocks of PBLK points */
typedef struct comb_job {
    fe3 *acc1, *acc2;
    const uint64_t *cols;
    size_t n, nc, c0, n2;
    const fe3 *g1, *g2;
} comb_job;

static void comb_blocks(void *arg, size_t b, size_t e)
{
    comb_job *j = arg;
    for (size_t blk = b; blk < e; blk++) {
        size_t k0 = blk * PBLK, m = j->n - k0 < PBLK ? j->n - k0 : PBLK;
        for (size_t c = 0; c < j->nc; c++) {
            const uint64_t *v = j->cols + c * j->n + k0;
            size_t gc = j->c0 + c;
            fe3 g1 = j->g1[gc];
            for (size_t k = 0; k < m; k++) j->acc1[k0 + k] = fe3_add(j->acc1[k0 + k], fe3_mul_base(g1, v[k]));
            if (gc < j->n2) {
                fe3 g2 = j->g2[gc];
                for (size_t k = 0; k < m; k++)
                    j->acc2[k0 + k] = fe3_add(j->acc2[k0 + k], fe3_mul_base(g2, v[k]));
            }
        }
    }
}

spw_status spw_hcoset_deep(const spw_ctx *ctx, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                           spw_mat *const mats[3], unsigned log_n, unsigned log_b, fe3 v1, fe3 v2,
                           fe3 zeta, fe3 zw, spw_mat *ri, int first)
{
    size_t n = (size_t)1 << log_n, K = (size_t)1 << log_b, N = n << log_b;
    if (ri->nrows != N || ri->ncols != 1 || ri->esz != sizeof(fe3))
        return spw_fail(ctx, SPW_ERR_INTERNAL, "recompute tier: DEEP roll-in of %zu x %zu for %zu "
                        "points", ri->ncols, ri->nrows, N);
    if (mats_cols(mats, 3) != n1 || n2 > n1)
        return spw_fail(ctx, SPW_ERR_INTERNAL, "recompute tier: DEEP inputs of %zu columns against "
                        "%zu and %zu weights", mats_cols(mats, 3), n1, n2);
    /* Evaluation is linear: the numerators' sums F1 = sum g1[c] f_c and
     * F2 = sum g2[c] f_c are ext3 polynomials whose coefficients are the
     * same sums of the columns' coefficients, so only their 6 base
     * components are evaluated on the cosets (as dev.c does); the row
     * kernel reads them as 3 "main" and 3 "aux" columns weighted by the
     * basis vectors, which gives the same values exactly. */
    static const fe3 basis[12] = {{{1, 0, 0}}, {{0, 1, 0}}, {{0, 0, 1}}, {{0}}, {{0}}, {{0}},
                                  {{0}}, {{0}}, {{0}}, {{1, 0, 0}}, {{0, 1, 0}}, {{0, 0, 1}}};
    fe3 *acc = spw_calloc_array(2 * n, sizeof(fe3)), *rb = NULL, *o = NULL;
    uint64_t *F = NULL, *buf = NULL;
    spw_status st = acc ? SPW_OK : NOMEM(ctx, "DEEP sums");
    size_t c0 = 0;
    for (int i = 0; i < 3 && st == SPW_OK; i++) {
        spw_mat *m = mats[i];
        if (!m) continue;
        size_t G = m->tcols && m->tcols < m->ncols ? m->tcols : m->ncols;
        free(buf);
        if (!(buf = spw_malloc_array(G * n, 8))) {
            st = NOMEM(ctx, "DEEP column group");
            break;
        }
        for (size_t g = 0; g < m->ncols && st == SPW_OK; g += G) {
            size_t gc = m->ncols - g < G ? m->ncols - g : G;
            if ((st = spw_mat_get_cols(m, buf, n, g, gc)) != SPW_OK) break;
            comb_job cj = {acc, acc + n, buf, n, gc, c0 + g, n2, g1, g2};
            spw_parallel_for(ctx, (n + PBLK - 1) / PBLK, 1, comb_blocks, &cj);
        }
        c0 += m->ncols;
    }
    free(buf);
    if (st == SPW_OK && !(F = spw_malloc_array(6 * n, 8))) st = NOMEM(ctx, "DEEP sums");
    for (size_t k = 0; k < n && st == SPW_OK; k++)
        for (int x = 0; x < 3; x++) {
            F[x * n + k] = acc[k].c[x];
            F[(3 + x) * n + k] = acc[n + k].c[x];
        }
    free(acc);
    /* the roll-in so far, the values of each coset added */
    if (st == SPW_OK && (!(rb = first ? spw_calloc_array(N, sizeof(fe3)) : spw_malloc_array(N, sizeof(fe3))) ||
                         !(o = spw_malloc_array(n, sizeof(fe3)))))
        st = NOMEM(ctx, "DEEP values");
    if (st == SPW_OK && !first) st = spw_mat_get_rows(ri, rb, N, 0, N);
    hcoset c;
    memset(&c, 0, sizeof c);
    if (st == SPW_OK) st = hc_open(ctx, &c, NULL, 0, F, 6, log_n, 0);
    spw_rowk_deep dj = {n, 0, K, 3, 3, 0, c.ev, c.ev ? c.ev + 3 * c.ld : NULL, NULL, basis, basis + 6,
                        v1, v2, zeta, zw, gl_root_of_unity(log_n + log_b), o, 0};
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        if ((st = hc_eval(&c, coset_shift(log_n, log_b, j))) != SPW_OK) break;
        dj.r0 = j;
        spw_parallel_for(ctx, (n + SPW_ROWK_BLK - 1) / SPW_ROWK_BLK, 1, spw_rowk_deep_blocks, &dj);
        if (dj.failed) {
            st = NOMEM(ctx, "DEEP workers");
            break;
        }
        for (size_t i = 0; i < n; i++) rb[j + K * i] = fe3_add(rb[j + K * i], o[i]);
    }
    hc_close(&c);
    free(F);
    free(o);
    if (st == SPW_OK) st = spw_mat_put_rows(ri, 0, N, rb, N);
    free(rb);
    return st;
}

spw_status spw_hcoset_rows(const spw_ctx *ctx, spw_mat *const mats[3], unsigned log_n,
                           unsigned log_b, const uint64_t *idx, size_t nq, uint64_t *rows)
{
    size_t K = (size_t)1 << log_b;
    hcoset c;
    SPW_TRY(hc_open(ctx, &c, mats, 3, NULL, 0, log_n, 0));
    size_t *pos = spw_malloc_array(nq + 1, sizeof *pos);
    spw_status st = pos ? SPW_OK : NOMEM(ctx, "query rows");
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        size_t m = 0;
        for (size_t q = 0; q < nq; q++)
            if ((idx[q] & (K - 1)) == j) pos[m++] = q;
        if (!m) continue;
        if ((st = hc_eval(&c, coset_shift(log_n, log_b, j))) != SPW_OK) break;
        for (size_t k = 0; k < m; k++) {
            size_t r = (size_t)(idx[pos[k]] >> log_b);
            for (size_t x = 0; x < c.nc; x++) rows[pos[k] * c.nc + x] = c.ev[x * c.ld + r];
        }
    }
    hc_close(&c);
    free(pos);
    return st;
}
