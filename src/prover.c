/*
 * prover.c - the CPU reference prover: in memory, multi-threaded through
 * spw_parallel_for and the batched primitives, one function per round
 * (docs/PROTOCOL.md describes the protocol these rounds implement):
 *   round_main   trace -> coefficients -> coset LDE -> Merkle tree (per table)
 *   round_aux    LogUp aux trace (after z, alpha) -> LDE -> tree, L_t
 *   round_comp   quotient of the random constraint combination on a domain
 *                large enough for its degree, split into parts < n, LDE, tree
 *   round_ood    evaluations at zeta and zeta*w
 *   round_deep   DEEP quotient of every committed column, on the table's LDE
 *   FRI          fri.c; then grinding and the query openings
 * Every value is computed exactly, so the proof bytes do not depend on the
 * thread count or on how the work is split.
 */
#include "fe3_lazy.h"
#include "fri.h"
#include "gpu_prover.h"
#include "logup.h"
#include "ntt.h"
#include "plan.h"
#include "proof.h"
#include "stark.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

const char *const spw_round_names[SPW_ROUND_COUNT] = {
    "checks", "main commit", "aux (LogUp) commit", "composition", "out-of-domain",
    "DEEP", "FRI", "grinding", "queries", "encode"};

typedef struct tstate {
    const spw_air_table *t;
    unsigned log_n, log_N;
    size_t n, N;
    uint32_t n_parts;
    uint64_t *trace;                 /* n_main columns of n evaluations */
    uint64_t *main_coef, *main_lde;  /* n_main x n, n_main x N */
    uint64_t *aux_coef, *aux_lde;    /* 3 n_aux x n, 3 n_aux x N */
    uint64_t *comp_coef, *comp_lde;  /* 3 n_parts x n, 3 n_parts x N */
    spw_merkle main_tree, aux_tree, comp_tree;
    fe3 *deep;                       /* N values */
} tstate;

static void tstate_free(tstate *s)
{
    free(s->trace);
    free(s->main_coef);
    free(s->main_lde);
    free(s->aux_coef);
    free(s->aux_lde);
    free(s->comp_coef);
    free(s->comp_lde);
    free(s->deep);
    spw_merkle_free(&s->main_tree);
    spw_merkle_free(&s->aux_tree);
    spw_merkle_free(&s->comp_tree);
}

#define NOMEM(what) spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (%s)", what)

/* ---- round 1: main trace ---- */

static spw_status round_main(const spw_ctx *ctx, tstate *s, const spw_trace *trace, uint32_t ti,
                             unsigned log_b)
{
    const spw_air_table *t = s->t;
    s->trace = spw_malloc_array((size_t)t->n_main * s->n, 8);
    s->main_coef = spw_malloc_array((size_t)t->n_main * s->n, 8);
    s->main_lde = spw_malloc_array((size_t)t->n_main * s->N, 8);
    if (!s->trace || !s->main_coef || !s->main_lde) return NOMEM("main trace");
    for (uint32_t c = 0; c < t->n_main; c++)
        SPW_TRY(spw_trace_read(trace, s->trace + (size_t)c * s->n, ti, c, 0, s->n));
    memcpy(s->main_coef, s->trace, (size_t)t->n_main * s->n * 8);
    SPW_TRY(spw_ntt_inverse_batch(ctx, s->main_coef, t->n_main, s->n, s->log_n));
    SPW_TRY(spw_coset_evaluate(ctx, s->main_lde, s->main_coef, t->n_main, s->log_n, log_b,
                               GL_GENERATOR));
    return spw_merkle_build(ctx, &s->main_tree, s->main_lde, t->n_main, s->N, s->N);
}

/* ---- round 2: LogUp aux trace ---- */

static spw_status round_aux(const spw_ctx *ctx, tstate *s, const fe3 *challenges, fe3 *sum,
                            unsigned log_b)
{
    const spw_air_table *t = s->t;
    *sum = fe3_zero();
    if (!t->n_aux) return SPW_OK;
    size_t na = 3 * (size_t)t->n_aux;
    s->aux_coef = spw_malloc_array(na * s->n, 8);
    s->aux_lde = spw_malloc_array(na * s->N, 8);
    if (!s->aux_coef || !s->aux_lde) return NOMEM("aux trace");
    SPW_TRY(spw_logup_build_aux(ctx, s->aux_coef, sum, t, s->trace, s->n, challenges));
    SPW_TRY(spw_ntt_inverse_batch(ctx, s->aux_coef, na, s->n, s->log_n));
    SPW_TRY(spw_coset_evaluate(ctx, s->aux_lde, s->aux_coef, na, s->log_n, log_b, GL_GENERATOR));
    return spw_merkle_build(ctx, &s->aux_tree, s->aux_lde, na, s->N, s->N);
}

/* ---- round 3: composition ---- */

typedef struct comp_job {
    const spw_air_table *t;
    size_t n, NE, E;
    const uint64_t *main, *aux;   /* columns of NE values */
    const fe3 *challenges;
    const uint64_t *publics;
    fe3 logup_sum;
    const fe3 *lpow;              /* lambda^j, j < n_constraints */
    const uint64_t *inv_zn;       /* E values: 1 / (x^n - 1) by i mod E */
    uint64_t w_last, w_ne;
    uint64_t *out;                /* 3 columns of NE */
    int reference;                /* use spw_air_eval row by row */
    int failed;
} comp_job;

#define BLK 256

static void comp_range(void *arg, size_t b, size_t e)
{
    comp_job *j = arg;
    const spw_air_table *t = j->t;
    size_t nm = t->n_main, na = t->n_aux;
    fe3 *scratch = spw_malloc_array(t->prog_len + 1, sizeof(fe3));
    uint64_t *mc = spw_malloc_array(2 * nm + 1, 8);
    fe3 *ac = spw_malloc_array(2 * na + 1, sizeof(fe3));
    uint64_t *buf = spw_malloc_array(5 * BLK, 8);
    if (!scratch || !mc || !ac || !buf) {
        j->failed = 1;
        goto out;
    }
    uint64_t *xs = buf, *d1 = buf + BLK, *d2 = buf + 2 * BLK, *tmp = buf + 3 * BLK;
    spw_eval_env env = {mc, mc + nm, na ? ac : NULL, na ? ac + na : NULL, j->challenges,
                        j->publics, j->logup_sum};
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(j->w_ne, b));
    for (size_t b0 = b; b0 < e; b0 += BLK) {
        size_t m = e - b0 < BLK ? e - b0 : BLK;
        for (size_t i = 0; i < m; i++) {
            xs[i] = x;
            d1[i] = gl_sub(x, 1);
            d2[i] = gl_sub(x, j->w_last);
            x = gl_mul(x, j->w_ne);
        }
        gl_batch_inv(d1, d1, m, tmp);
        gl_batch_inv(d2, d2, m, tmp);
        for (size_t i = 0; i < m; i++) {
            size_t r = b0 + i, rn = (r + j->E) & (j->NE - 1);
            for (size_t c = 0; c < nm; c++) {
                mc[c] = j->main[c * j->NE + r];
                mc[nm + c] = j->main[c * j->NE + rn];
            }
            for (size_t c = 0; c < na; c++) {
                const uint64_t *col = j->aux + 3 * c * j->NE;
                ac[c] = fe3_make(col[r], col[j->NE + r], col[2 * j->NE + r]);
                ac[na + c] = fe3_make(col[rn], col[j->NE + rn], col[2 * j->NE + rn]);
            }
            spw_air_eval(t, &env, scratch);
            fe3 sk[4] = {fe3_zero(), fe3_zero(), fe3_zero(), fe3_zero()};
            for (uint32_t q = 0; q < t->n_constraints; q++) {
                const spw_constraint *cn = &t->constraints[q];
                sk[cn->kind & 3] = fe3_add(sk[cn->kind & 3], fe3_mul(j->lpow[q], scratch[cn->root]));
            }
            uint64_t izn = j->inv_zn[r & (j->E - 1)];
            uint64_t trans = gl_mul(gl_sub(xs[i], j->w_last), izn);
            fe3 v = fe3_mul_base(sk[SPW_CONSTRAINT_TRANSITION], trans);
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_FIRST], d1[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_LAST], d2[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_EVERY], izn));
            for (int c = 0; c < 3; c++) j->out[c * j->NE + r] = v.c[c];
        }
    }
out:
    free(scratch);
    free(mc);
    free(ac);
    free(buf);
}

/* Fast path: the block interpreter over blocks of BLK points (main and aux
 * rows gathered into block buffers, next rows E positions later). */
static void comp_range_fast(void *arg, size_t b, size_t e)
{
    comp_job *j = arg;
    const spw_air_table *t = j->t;
    size_t nm = t->n_main, na = t->n_aux, nk = t->n_constraints;
    uint64_t *mb = spw_malloc_array(2 * nm * BLK + 1, 8);
    fe3 *ab = spw_malloc_array(2 * na * BLK + 1, sizeof(fe3));
    fe3 *cv = spw_malloc_array(nk * BLK + 1, sizeof(fe3));
    fe3 *scratch = spw_malloc_array(spw_air_eval_rows_scratch(t, BLK) + 1, sizeof(fe3));
    uint64_t *buf = spw_malloc_array(5 * BLK, 8);
    if (!mb || !ab || !cv || !scratch || !buf) {
        j->failed = 1;
        goto out;
    }
    uint64_t *xs = buf, *d1 = buf + BLK, *d2 = buf + 2 * BLK, *tmp = buf + 3 * BLK;
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(j->w_ne, b));
    for (size_t b0 = b; b0 < e; b0 += BLK) {
        size_t m = e - b0 < BLK ? e - b0 : BLK;
        for (size_t i = 0; i < m; i++) {
            xs[i] = x;
            d1[i] = gl_sub(x, 1);
            d2[i] = gl_sub(x, j->w_last);
            x = gl_mul(x, j->w_ne);
        }
        gl_batch_inv(d1, d1, m, tmp);
        gl_batch_inv(d2, d2, m, tmp);
        for (size_t c = 0; c < nm; c++) {
            const uint64_t *col = j->main + c * j->NE;
            for (size_t i = 0; i < m; i++) {
                size_t r = b0 + i;
                mb[c * BLK + i] = col[r];
                mb[(nm + c) * BLK + i] = col[(r + j->E) & (j->NE - 1)];
            }
        }
        for (size_t c = 0; c < na; c++) {
            const uint64_t *col = j->aux + 3 * c * j->NE;
            for (size_t i = 0; i < m; i++) {
                size_t r = b0 + i, rn = (r + j->E) & (j->NE - 1);
                ab[c * BLK + i] = fe3_make(col[r], col[j->NE + r], col[2 * j->NE + r]);
                ab[(na + c) * BLK + i] = fe3_make(col[rn], col[j->NE + rn], col[2 * j->NE + rn]);
            }
        }
        spw_air_eval_rows(t, cv, BLK, mb, mb + nm * BLK, BLK, na ? ab : NULL,
                          na ? ab + na * BLK : NULL, BLK, j->challenges, j->publics, j->logup_sum,
                          m, scratch);
        for (size_t i = 0; i < m; i++) {
            size_t r = b0 + i;
            fe3 sk[4] = {fe3_zero(), fe3_zero(), fe3_zero(), fe3_zero()};
            for (uint32_t q = 0; q < nk; q++) {
                unsigned k = t->constraints[q].kind & 3;
                fe3 c = cv[q * BLK + i];
                /* base-field values (most user constraints): 3 products, same result */
                fe3 term = (c.c[1] | c.c[2]) ? fe3_mul(j->lpow[q], c) : fe3_mul_base(j->lpow[q], c.c[0]);
                sk[k] = fe3_add(sk[k], term);
            }
            uint64_t izn = j->inv_zn[r & (j->E - 1)];
            uint64_t trans = gl_mul(gl_sub(xs[i], j->w_last), izn);
            fe3 v = fe3_mul_base(sk[SPW_CONSTRAINT_TRANSITION], trans);
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_FIRST], d1[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_LAST], d2[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_EVERY], izn));
            for (int c = 0; c < 3; c++) j->out[c * j->NE + r] = v.c[c];
        }
    }
out:
    free(mb);
    free(ab);
    free(cv);
    free(scratch);
    free(buf);
}

static spw_status round_comp(const spw_ctx *ctx, tstate *s, const fe3 *challenges,
                             const uint64_t *publics, fe3 logup_sum, fe3 lambda, unsigned log_b,
                             int forced, int reference)
{
    const spw_air_table *t = s->t;
    uint32_t sp = s->n_parts;
    unsigned log_e = spw_stark_log_e(t, log_b);
    size_t E = (size_t)1 << log_e, NE = s->n << log_e;
    size_t na = 3 * (size_t)t->n_aux;
    uint64_t *main = s->main_lde, *aux = s->aux_lde, *qcols = NULL;
    fe3 *lpow = NULL;
    uint64_t *inv_zn = NULL;
    spw_status st = SPW_OK;
    if (log_e != log_b) { /* constraint degree exceeds the blowup: a larger domain */
        main = spw_malloc_array((size_t)t->n_main * NE, 8);
        aux = na ? spw_malloc_array(na * NE, 8) : NULL;
        if (!main || (na && !aux)) {
            st = NOMEM("composition domain");
            goto out;
        }
        if ((st = spw_coset_evaluate(ctx, main, s->main_coef, t->n_main, s->log_n, log_e,
                                     GL_GENERATOR)) != SPW_OK)
            goto out;
        if (na && (st = spw_coset_evaluate(ctx, aux, s->aux_coef, na, s->log_n, log_e,
                                           GL_GENERATOR)) != SPW_OK)
            goto out;
    }
    qcols = spw_malloc_array(3 * NE, 8);
    lpow = spw_malloc_array(t->n_constraints + 1, sizeof(fe3));
    inv_zn = spw_malloc_array(E, 8);
    if (!qcols || !lpow || !inv_zn) {
        st = NOMEM("composition");
        goto out;
    }
    fe3 l = fe3_one();
    for (uint32_t q = 0; q < t->n_constraints; q++) {
        lpow[q] = l;
        l = fe3_mul(l, lambda);
    }
    {
        uint64_t gn = gl_pow(GL_GENERATOR, s->n), we = gl_root_of_unity(log_e), y = gn;
        for (size_t k = 0; k < E; k++) {
            inv_zn[k] = gl_inv(gl_sub(y, 1));
            y = gl_mul(y, we);
        }
    }
    comp_job cj = {t, s->n, NE, E, main, aux, challenges, publics, logup_sum, lpow, inv_zn,
                   gl_inv(gl_root_of_unity(s->log_n)), gl_root_of_unity(s->log_n + log_e),
                   qcols, reference, 0};
    spw_parallel_for(ctx, NE, 1024, reference ? comp_range : comp_range_fast, &cj);
    if (cj.failed) {
        st = NOMEM("composition workers");
        goto out;
    }
    if ((st = spw_coset_interpolate(ctx, qcols, 3, s->log_n + log_e, GL_GENERATOR)) != SPW_OK)
        goto out;
    size_t deg = (size_t)sp * s->n;
    for (int c = 0; c < 3 && !forced; c++)
        for (size_t k = deg; k < NE; k++)
            if (qcols[c * NE + k]) {
                st = spw_fail(ctx, SPW_ERR_INTERNAL,
                              "prove: table '%s': composition quotient has degree >= %zu "
                              "(constraints not satisfied or degree miscomputed)",
                              t->name, deg);
                goto out;
            }
    s->comp_coef = spw_malloc_array(3 * (size_t)sp * s->n, 8);
    s->comp_lde = spw_malloc_array(3 * (size_t)sp * s->N, 8);
    if (!s->comp_coef || !s->comp_lde) {
        st = NOMEM("composition parts");
        goto out;
    }
    for (uint32_t i = 0; i < sp; i++)
        for (int c = 0; c < 3; c++)
            memcpy(s->comp_coef + (3 * (size_t)i + c) * s->n, qcols + c * NE + (size_t)i * s->n,
                   s->n * 8);
    if ((st = spw_coset_evaluate(ctx, s->comp_lde, s->comp_coef, 3 * (size_t)sp, s->log_n, log_b,
                                 GL_GENERATOR)) != SPW_OK)
        goto out;
    st = spw_merkle_build(ctx, &s->comp_tree, s->comp_lde, 3 * (size_t)sp, s->N, s->N);
out:
    if (main != s->main_lde) free(main);
    if (aux != s->aux_lde) free(aux);
    free(qcols);
    free(lpow);
    free(inv_zn);
    return st;
}

/* ---- round 4: out-of-domain evaluations ---- */

typedef struct ood_job {
    const uint64_t *coef;   /* columns of n coefficients */
    size_t n;
    const fe3 *pw;          /* n powers of the point */
    fe3 *out;
} ood_job;

static void ood_range(void *arg, size_t b, size_t e)
{
    ood_job *j = arg;
    for (size_t c = b; c < e; c++) {
        const uint64_t *cf = j->coef + c * j->n;
        fe3 acc = fe3_zero();
        for (size_t k = 0; k < j->n; k++) acc = fe3_add(acc, fe3_mul_base(j->pw[k], cf[k]));
        j->out[c] = acc;
    }
}

static spw_status round_ood(const spw_ctx *ctx, tstate *s, spw_proof_table *pt, fe3 zeta)
{
    const spw_air_table *t = s->t;
    fe3 *pz = spw_malloc_array(s->n, sizeof(fe3)), *pzw = spw_malloc_array(s->n, sizeof(fe3));
    if (!pz || !pzw) {
        free(pz);
        free(pzw);
        return NOMEM("OOD powers");
    }
    fe3 zw = fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), a = fe3_one(), b = fe3_one();
    for (size_t k = 0; k < s->n; k++) {
        pz[k] = a;
        pzw[k] = b;
        a = fe3_mul(a, zeta);
        b = fe3_mul(b, zw);
    }
    size_t nm = t->n_main, na = 3 * (size_t)t->n_aux;
    fe3 *o = pt->ood;
    ood_job jobs[5] = {
        {s->main_coef, s->n, pz, o},
        {s->main_coef, s->n, pzw, o + nm},
        {s->aux_coef, s->n, pz, o + 2 * nm},
        {s->aux_coef, s->n, pzw, o + 2 * nm + na},
        {s->comp_coef, s->n, pz, o + 2 * nm + 2 * na},
    };
    size_t counts[5] = {nm, nm, na, na, 3 * (size_t)s->n_parts};
    for (int i = 0; i < 5; i++)
        if (counts[i]) spw_parallel_for(ctx, counts[i], 1, ood_range, &jobs[i]);
    free(pz);
    free(pzw);
    return SPW_OK;
}

/* ---- round 5: DEEP quotient ---- */

typedef struct deep_job {
    const tstate *s;
    const fe3 *g1, *g2;     /* gamma powers for group 1 (at zeta) and 2 (at zeta*w) */
    fe3 v1, v2;             /* sum gamma^k v_k of each group */
    fe3 zeta, zw;
    int failed;
} deep_job;

/* Column-major over blocks of BLK points: for each committed column, one
 * sequential pass over the block adds gamma^k * f_c(x) into the two sums,
 * kept unreduced (src/fe3_lazy.h). */

static void deep_range(void *arg, size_t b, size_t e)
{
    deep_job *j = arg;
    const tstate *s = j->s;
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts, N = s->N;
    fe3 *buf = spw_malloc_array(3 * BLK, sizeof(fe3));
    spw_lazy3 *s1 = spw_malloc_array(2 * BLK, sizeof(spw_lazy3)), *s2 = s1 ? s1 + BLK : NULL;
    if (!buf || !s1) {
        free(buf);
        free(s1);
        j->failed = 1;
        return;
    }
    fe3 *i1 = buf, *i2 = buf + BLK, *tmp = buf + 2 * BLK;
    uint64_t wN = gl_root_of_unity(s->log_N);
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(wN, b));
    for (size_t b0 = b; b0 < e; b0 += BLK) {
        size_t m = e - b0 < BLK ? e - b0 : BLK;
        for (size_t i = 0; i < m; i++) {
            i1[i] = fe3_sub(fe3_from_base(x), j->zeta);
            i2[i] = fe3_sub(fe3_from_base(x), j->zw);
            x = gl_mul(x, wN);
        }
        memset(s1, 0, 2 * BLK * sizeof(spw_lazy3));
        fe3_batch_inv(i1, i1, m, tmp);
        fe3_batch_inv(i2, i2, m, tmp);
        for (size_t c = 0; c < nm; c++) {
            spw_lazy3_acc_col(s1, j->g1[c], s->main_lde + c * N + b0, m);
            spw_lazy3_acc_col(s2, j->g2[c], s->main_lde + c * N + b0, m);
        }
        for (size_t c = 0; c < na; c++) {
            spw_lazy3_acc_col(s1, j->g1[nm + c], s->aux_lde + c * N + b0, m);
            spw_lazy3_acc_col(s2, j->g2[nm + c], s->aux_lde + c * N + b0, m);
        }
        for (size_t c = 0; c < nc; c++) spw_lazy3_acc_col(s1, j->g1[nm + na + c], s->comp_lde + c * N + b0, m);
        for (size_t i = 0; i < m; i++) {
            fe3 a1 = fe3_sub(spw_lazy3_reduce(&s1[i]), j->v1), a2 = fe3_sub(spw_lazy3_reduce(&s2[i]), j->v2);
            s->deep[b0 + i] = fe3_add(fe3_mul(a1, i1[i]), fe3_mul(a2, i2[i]));
        }
    }
    free(buf);
    free(s1);
}

/* Reference DEEP: point by point, every product reduced (compared with the
 * fast path in the tests through spw_prove_opts.reference_eval). */
static void deep_range_ref(void *arg, size_t b, size_t e)
{
    deep_job *j = arg;
    const tstate *s = j->s;
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts, N = s->N;
    uint64_t wN = gl_root_of_unity(s->log_N);
    for (size_t r = b; r < e; r++) {
        fe3 x = fe3_from_base(gl_mul(GL_GENERATOR, gl_pow(wN, r)));
        fe3 s1 = fe3_zero(), s2 = fe3_zero();
        for (size_t c = 0; c < nm; c++) {
            s1 = fe3_add(s1, fe3_mul_base(j->g1[c], s->main_lde[c * N + r]));
            s2 = fe3_add(s2, fe3_mul_base(j->g2[c], s->main_lde[c * N + r]));
        }
        for (size_t c = 0; c < na; c++) {
            s1 = fe3_add(s1, fe3_mul_base(j->g1[nm + c], s->aux_lde[c * N + r]));
            s2 = fe3_add(s2, fe3_mul_base(j->g2[nm + c], s->aux_lde[c * N + r]));
        }
        for (size_t c = 0; c < nc; c++)
            s1 = fe3_add(s1, fe3_mul_base(j->g1[nm + na + c], s->comp_lde[c * N + r]));
        s->deep[r] = fe3_add(fe3_mul(fe3_sub(s1, j->v1), fe3_inv(fe3_sub(x, j->zeta))),
                             fe3_mul(fe3_sub(s2, j->v2), fe3_inv(fe3_sub(x, j->zw))));
    }
}

static spw_status round_deep(const spw_ctx *ctx, tstate *s, const spw_proof_table *pt, fe3 zeta,
                             fe3 gamma, fe3 *gpow, int reference)
{
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts;
    size_t n1 = nm + na + nc, n2 = nm + na;
    fe3 *g = spw_malloc_array(n1 + n2, sizeof(fe3));
    s->deep = spw_malloc_array(s->N, sizeof(fe3));
    if (!g || !s->deep) {
        free(g);
        return NOMEM("DEEP");
    }
    fe3 v1, v2;
    spw_deep_ood_sums(g, &v1, &v2, gpow, gamma, pt->ood, nm, na, nc);
    deep_job dj = {s, g, g + n1, v1, v2, zeta,
                   fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), 0};
    spw_parallel_for(ctx, s->N, 1024, reference ? deep_range_ref : deep_range, &dj);
    free(g);
    if (dj.failed) return NOMEM("DEEP workers");
    return SPW_OK;
}

/* ---- openings ---- */

static spw_status open_table(tstate *s, spw_proof_table *pt, uint32_t j, uint64_t q0)
{
    size_t r = (size_t)(q0 & (s->N - 1)), d = s->log_N, N = s->N;
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts;
    for (size_t c = 0; c < nm; c++) pt->q_main[j * nm + c] = s->main_lde[c * N + r];
    SPW_TRY(spw_merkle_path(&s->main_tree, pt->q_main_path + j * d, r));
    if (na) {
        for (size_t c = 0; c < na; c++) pt->q_aux[j * na + c] = s->aux_lde[c * N + r];
        SPW_TRY(spw_merkle_path(&s->aux_tree, pt->q_aux_path + j * d, r));
    }
    for (size_t c = 0; c < nc; c++) pt->q_comp[j * nc + c] = s->comp_lde[c * N + r];
    return spw_merkle_path(&s->comp_tree, pt->q_comp_path + j * d, r);
}

/* ---- driver ---- */


static spw_status check_statement(spw_ctx *ctx, const spw_air_def *def, const spw_statement *stmt)
{
    size_t np = stmt ? stmt->n_publics : 0;
    if (np != def->n_publics)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "prove: the AIR has %u public inputs, got %zu",
                        def->n_publics, np);
    if (np && !stmt->publics) return spw_fail(ctx, SPW_ERR_NULL, "prove: statement publics NULL");
    for (size_t i = 0; i < np; i++)
        if (stmt->publics[i] >= GL_P)
            return spw_fail(ctx, SPW_ERR_NONCANONICAL, "prove: public input %zu is not canonical", i);
    if (stmt && stmt->tag_len > SPW_MAX_TAG)
        return spw_fail(ctx, SPW_ERR_TOO_LARGE, "prove: tag of %zu bytes exceeds %u", stmt->tag_len,
                        SPW_MAX_TAG);
    if (stmt && stmt->tag_len && !stmt->tag) return spw_fail(ctx, SPW_ERR_NULL, "prove: tag NULL");
    return SPW_OK;
}

/* The pre-proof checks: every constraint on every row, then the bus
 * balance; the first failure's status, with its message in ctx. */
static spw_status host_checks(spw_ctx *ctx, const spw_air_def *def, const spw_trace *trace,
                              const spw_statement *stmt)
{
    SPW_TRY(spw_air_check_trace(ctx, def, trace, stmt ? stmt->publics : NULL,
                                stmt ? stmt->n_publics : 0));
    return spw_logup_check_balance(ctx, def, trace);
}

spw_status spw_prove_ex(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len, const spw_air *air,
                        const spw_trace *trace, const spw_statement *stmt,
                        const spw_prove_opts *opts, spw_prove_stats *stats)
{
    if (ctx) ctx->run_stats.valid = 0; /* (bench) statistics of this call only */
    SPW_CHECK_NULL(ctx, proof_out);
    SPW_CHECK_NULL(ctx, proof_len);
    SPW_CHECK_NULL(ctx, air);
    SPW_CHECK_NULL(ctx, trace);
    *proof_out = NULL;
    *proof_len = 0;
    spw_prove_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    int forced = opts && opts->skip_checks;
    if (ctx->backend != SPW_BACKEND_CPU) spw_gpu_init_once(); /* not the proof's time */
    double t0 = spw_now(), tr0 = t0;
#define LAP(round)                                         \
    do {                                                   \
        double now_ = spw_now();                           \
        stats->seconds[round] += now_ - tr0;               \
        tr0 = now_;                                        \
    } while (0)

    const spw_air_def *def = spw_air_get_def(air);
    if (!def || !def->finalized)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "prove: the AIR is not finalized");
    if (def->n_tables == 0 || def->n_tables > SPW_MAX_TABLES)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "prove: the AIR has %u tables", def->n_tables);
    SPW_TRY(check_statement(ctx, def, stmt));
    unsigned blowup = ctx->blowup ? ctx->blowup : 4;
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return spw_fail(ctx, SPW_ERR_BLOWUP, "prove: blowup %u not in {2,4,8}", blowup);
    unsigned log_b = spw_log2(blowup), max_lh = 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        if (tb->log_height == 0)
            return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                            "prove: table '%s' has no height (set it or give a trace file)",
                            tb->name);
        if (tb->log_height > SPW_MAX_LOG_HEIGHT)
            return spw_fail(ctx, SPW_ERR_TOO_LARGE, "prove: table '%s': log height %u not in 1..%u",
                            tb->name, tb->log_height, SPW_MAX_LOG_HEIGHT);
        if (tb->n_main < 1 || tb->n_main > SPW_MAX_COLS || tb->n_aux > SPW_MAX_AUX)
            return spw_fail(ctx, SPW_ERR_TOO_LARGE, "prove: table '%s': %u main / %u aux columns",
                            tb->name, tb->n_main, tb->n_aux);
        if (spw_stark_num_parts(tb) > SPW_MAX_PARTS)
            return spw_fail(ctx, SPW_ERR_TOO_LARGE, "prove: table '%s': constraint degree too high",
                            tb->name);
        if (tb->log_height > max_lh) max_lh = tb->log_height;
    }
    spw_stats_begin(ctx);
    for (uint32_t t = 0; t < def->n_tables; t++)
        spw_stats_table_info(ctx, t, def->tables[t].name, def->tables[t].log_height,
                             def->tables[t].n_main, def->tables[t].n_aux,
                             spw_stark_num_parts(&def->tables[t]));
    /* The device backend: resident when its working set fits the VRAM
     * budget (src/gpu_prover.c), else (or with --mode spilled) the
     * streaming device tier after the host checks (src/sched/dev.h). */
    int dev_stream = 0;
    if (ctx->backend == SPW_BACKEND_CUDA || ctx->backend == SPW_BACKEND_AUTO) {
        /* the device backend (src/gpu_prover.c) */
        int handled = 0;
        double tg0 = spw_now();
        uint64_t fallbacks = spw_gpu_fallbacks();
        spw_status gst = spw_gpu_prove(ctx, proof_out, proof_len, def, trace, stmt, opts, stats,
                                       &handled);
        if (handled && gst == SPW_OK) { /* (bench) statistics of the device run */
            spw_gpu_run_stats gs;
            spw_gpu_last_run(&gs);
            spw_stats_pause(ctx);
            spw_stats_finish(ctx, def, stats, *proof_len);
            spw_stats_device(ctx, gs.peak, gs.budget);
            /* the checks overlap the device rounds: the round's wall time
             * is what they added to the call */
            spw_stats_round_time(ctx, spw_round_names[SPW_ROUND_CHECK], gs.check_wall);
            spw_stats_log(ctx);
        }
        if (handled || gst != SPW_OK) return gst;
        spw_gpu_run_stats gs;
        spw_gpu_last_run(&gs);
        dev_stream = gs.stream;
        if (dev_stream) SPW_TRY(spw_sched_device_check(ctx, air, &dev_stream));
        /* (bench) the device set-up and the tier's check are part of the
         * checks round, outside any table */
        spw_stats_add_time(ctx, spw_round_names[SPW_ROUND_CHECK], -1, spw_now() - tg0);
        if (!dev_stream && spw_gpu_fallbacks() > fallbacks && spw_gpu_wanted(ctx))
            spw_stats_fallback(ctx, "device -> cpu prover"); /* a device was there */
    } else {
        spw_gpu_clear_last();
    }
    /* The streaming device tier defers the host checks the way the resident
     * one does (src/gpu_prover.c): a bad trace fails the composition degree
     * check, leaves sum L_t != 0 or makes a zero fingerprint (probability of
     * missing it below 2^-150), and only then do the checks run, to name the
     * culprit. Tables whose quotient fills the composition domain give the
     * degree check nothing to look at: then the checks run first. */
    int defer = dev_stream && !forced && !getenv("SPW_GPU_HOST_CHECKS") &&
                !spw_stark_degree_check_blind(def, log_b);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_CHECK], -1, 0, 0);
    if (!forced && !defer) {
        SPW_TRY(host_checks(ctx, def, trace, stmt));
    }
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_CHECK], -1, 0, 0);
    LAP(SPW_ROUND_CHECK);
    { /* (ooc) the streaming prover when the plan spills (src/sched/stream.c) */
        spw_status ds;
        spw_stats_pause(ctx); /* (bench) the streaming prover gives no per-table reports */
        if (spw_sched_dispatch(ctx, &ds, proof_out, proof_len, air, trace, stmt, opts, stats,
                               dev_stream, defer)) {
            if (ds != SPW_OK && defer) { /* a bad trace? the checks name it */
                spw_status cs = host_checks(ctx, def, trace, stmt);
                if (cs != SPW_OK) return cs;
            }
            if (ds == SPW_OK) {
                spw_stats_finish(ctx, def, stats, *proof_len);
                spw_stats_log(ctx);
            }
            return ds;
        }
    }

    spw_status st = SPW_OK;
    spw_proof P;
    memset(&P, 0, sizeof P);
    tstate *S = spw_calloc_array(def->n_tables, sizeof(tstate));
    fe3 **rollin = NULL;
    uint8_t *pre = NULL;
    spw_fri_prover fri;
    memset(&fri, 0, sizeof fri);
    if (!S) return NOMEM("tables");
    if ((st = spw_proof_begin(ctx, &P, def, stmt, blowup)) != SPW_OK) goto out;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        tstate *s = &S[t];
        s->t = tb;
        s->log_n = tb->log_height;
        s->log_N = tb->log_height + log_b;
        s->n = (size_t)1 << s->log_n;
        s->N = (size_t)1 << s->log_N;
        s->n_parts = P.tables[t].n_parts;
    }

    spw_transcript tr;
    spw_transcript_init(&tr);
    size_t pre_len;
    if ((st = spw_proof_preamble(ctx, &pre, &pre_len, &P)) != SPW_OK) goto out;
    spw_transcript_absorb(&tr, pre, pre_len);
    uint8_t dig[32];
    spw_air_digest(dig, def);
    spw_transcript_absorb(&tr, dig, 32);

    /* round 1: main commitments */
    for (uint32_t t = 0; t < def->n_tables; t++) {
        spw_progress_table(ctx, def, log_b, SPW_ROUND_MAIN, t);
        if ((st = round_main(ctx, &S[t], trace, t, log_b)) != SPW_OK) goto out;
        P.tables[t].main_root = *spw_merkle_root(&S[t].main_tree);
        spw_transcript_absorb(&tr, P.tables[t].main_root.b, 32);
    }
    spw_progress_table(ctx, def, log_b, SPW_ROUND_MAIN, def->n_tables);
    LAP(SPW_ROUND_MAIN);

    /* round 2: LogUp challenges, aux commitments */
    uint32_t n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    fe3 *ch = spw_calloc_array(n_ch, sizeof(fe3));
    if (!ch) {
        st = NOMEM("challenges");
        goto out;
    }
    for (uint32_t i = 0; i < n_ch; i++) ch[i] = spw_transcript_ext3(&tr);
    for (uint32_t t = 0; t < def->n_tables && st == SPW_OK; t++) {
        spw_progress_table(ctx, def, log_b, SPW_ROUND_AUX, t);
        st = round_aux(ctx, &S[t], ch, &P.tables[t].logup_sum, log_b);
        free(S[t].trace); /* the evaluations are not needed after the aux trace */
        S[t].trace = NULL;
        if (st == SPW_OK && S[t].t->n_aux) {
            uint8_t b[56];
            P.tables[t].aux_root = *spw_merkle_root(&S[t].aux_tree);
            memcpy(b, P.tables[t].aux_root.b, 32);
            for (int c = 0; c < 3; c++) spw_put_u64le(b + 32 + 8 * c, P.tables[t].logup_sum.c[c]);
            spw_transcript_absorb(&tr, b, 56);
        }
    }
    spw_progress_table(ctx, def, log_b, SPW_ROUND_AUX, def->n_tables);
    LAP(SPW_ROUND_AUX);

    /* round 3: composition */
    for (uint32_t t = 0; t < def->n_tables && st == SPW_OK; t++) {
        spw_progress_table(ctx, def, log_b, SPW_ROUND_COMP, t);
        fe3 lambda = spw_transcript_ext3(&tr);
        st = round_comp(ctx, &S[t], ch, P.publics, P.tables[t].logup_sum, lambda, log_b, forced,
                        opts && opts->reference_eval);
    }
    if (st != SPW_OK) {
        free(ch);
        goto out;
    }
    for (uint32_t t = 0; t < def->n_tables; t++) {
        P.tables[t].comp_root = *spw_merkle_root(&S[t].comp_tree);
        spw_transcript_absorb(&tr, P.tables[t].comp_root.b, 32);
    }
    free(ch);
    spw_progress_table(ctx, def, log_b, SPW_ROUND_COMP, def->n_tables);
    LAP(SPW_ROUND_COMP);

    /* round 4: out-of-domain point and evaluations */
    fe3 zeta;
    do zeta = spw_transcript_ext3(&tr);
    while (zeta.c[1] == 0 && zeta.c[2] == 0);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        spw_progress_table(ctx, def, log_b, SPW_ROUND_OOD, t);
        if ((st = round_ood(ctx, &S[t], &P.tables[t], zeta)) != SPW_OK) goto out;
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
    spw_progress_table(ctx, def, log_b, SPW_ROUND_OOD, def->n_tables);
    LAP(SPW_ROUND_OOD);

    /* round 5: DEEP */
    fe3 gamma = spw_transcript_ext3(&tr), gpow = fe3_one();
    for (uint32_t t = 0; t < def->n_tables; t++) {
        spw_progress_table(ctx, def, log_b, SPW_ROUND_DEEP, t);
        if ((st = round_deep(ctx, &S[t], &P.tables[t], zeta, gamma, &gpow,
                             opts && opts->reference_eval)) != SPW_OK)
            goto out;
    }
    spw_progress_table(ctx, def, log_b, SPW_ROUND_DEEP, def->n_tables);
    LAP(SPW_ROUND_DEEP);

    /* round 6: FRI; the DEEP quotients of tables of LDE size N_i enter layer i */
    unsigned log_n0 = max_lh + log_b;
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_FRI], -1, 0, 48ull << log_n0);
    rollin = spw_calloc_array(P.n_layers + 1, sizeof(fe3 *));
    if (!rollin) {
        st = NOMEM("FRI");
        goto out;
    }
    for (uint32_t t = 0; t < def->n_tables; t++) {
        unsigned i = log_n0 - S[t].log_N;
        if (!rollin[i]) {
            rollin[i] = spw_calloc_array(S[t].N, sizeof(fe3));
            if (!rollin[i]) {
                st = NOMEM("FRI");
                goto out;
            }
        }
        for (size_t k = 0; k < S[t].N; k++) rollin[i][k] = fe3_add(rollin[i][k], S[t].deep[k]);
    }
    if ((st = spw_fri_commit(ctx, &fri, &tr, &P, rollin, log_n0)) != SPW_OK) goto out;
    LAP(SPW_ROUND_FRI);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_GRIND], -1, 0, 0);

    /* round 7: grinding */
    P.nonce = spw_transcript_grind(&tr, P.params.grinding_bits);
    {
        uint8_t nb[8];
        spw_put_u64le(nb, P.nonce);
        spw_transcript_absorb(&tr, nb, 8);
    }
    LAP(SPW_ROUND_GRIND);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_QUERY], -1, 0, 0);

    /* round 8: queries */
    for (uint32_t j = 0; j < P.params.n_queries; j++) {
        uint64_t q0 = spw_transcript_index(&tr, log_n0);
        for (uint32_t t = 0; t < def->n_tables; t++)
            if ((st = open_table(&S[t], &P.tables[t], j, q0)) != SPW_OK) goto out;
        if ((st = spw_fri_open(&fri, &P, j, q0)) != SPW_OK) goto out;
    }
    LAP(SPW_ROUND_QUERY);
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_ENCODE], -1, 0, 0);

    st = spw_proof_encode(ctx, proof_out, proof_len, &P);
    LAP(SPW_ROUND_ENCODE);
    stats->total = spw_now() - t0;
    if (st == SPW_OK) {
        spw_stats_finish(ctx, def, stats, *proof_len);
        spw_stats_log(ctx);
    }
out:
    if (rollin)
        for (uint32_t i = 0; i <= P.n_layers; i++) free(rollin[i]);
    free(rollin);
    spw_fri_free(&fri);
    for (uint32_t t = 0; t < def->n_tables; t++) tstate_free(&S[t]);
    free(S);
    free(pre);
    spw_proof_clear(&P);
    return st;
#undef LAP
}

spw_status spw_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len, const spw_air *air,
                     const spw_trace *trace, const spw_statement *stmt)
{
    return spw_prove_ex(ctx, proof_out, proof_len, air, trace, stmt, NULL, NULL);
}

void spw_free(void *p) { free(p); }
