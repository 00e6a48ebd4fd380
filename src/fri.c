/*
 * fri.c - FRI commit and query phases of the CPU reference prover, the
 * fold formula shared with the verifier, and the coset interpolation and
 * evaluation helpers built on the batched NTT.
 */
#include "fri.h"
#include "ntt.h"

#include <stdlib.h>
#include <string.h>

fe3 spw_fri_fold(fe3 a, fe3 b, fe3 beta, uint64_t x_inv)
{
    static const uint64_t inv2 = 0x7FFFFFFF80000001ULL; /* (p + 1) / 2 */
    fe3 even = fe3_add(a, b);
    fe3 odd = fe3_mul_base(fe3_sub(a, b), x_inv);
    return fe3_mul_base(fe3_add(even, fe3_mul(beta, odd)), inv2);
}

void spw_fri_leaf(spw_digest *out, fe3 a, fe3 b)
{
    uint64_t row[6] = {a.c[0], a.c[1], a.c[2], b.c[0], b.c[1], b.c[2]};
    spw_merkle_leaf_row(out, row, 6);
}

fe3 spw_fri_eval_poly(const fe3 *coef, size_t n, fe3 x)
{
    fe3 acc = fe3_zero();
    for (size_t j = n; j-- > 0;) acc = fe3_add(fe3_mul(acc, x), coef[j]);
    return acc;
}

/* ---- coset helpers ---- */

typedef struct scale_job {
    uint64_t *cols;
    const uint64_t *src;
    size_t n, stride;
    const uint64_t *pw; /* n powers */
} scale_job;

static void scale_range(void *arg, size_t b, size_t e)
{
    scale_job *j = arg;
    for (size_t c = b; c < e; c++) {
        uint64_t *dst = j->cols + c * j->stride;
        const uint64_t *src = j->src ? j->src + c * j->n : dst;
        for (size_t i = 0; i < j->n; i++) dst[i] = gl_mul(src[i], j->pw[i]);
        if (j->stride > j->n) memset(dst + j->n, 0, (j->stride - j->n) * 8);
    }
}

static uint64_t *powers(uint64_t base, size_t n)
{
    uint64_t *pw = spw_malloc_array(n, 8);
    if (!pw) return NULL;
    uint64_t x = 1;
    for (size_t i = 0; i < n; i++) {
        pw[i] = x;
        x = gl_mul(x, base);
    }
    return pw;
}

spw_status spw_coset_interpolate(const spw_ctx *ctx, uint64_t *cols, size_t ncols, unsigned log_n,
                                 uint64_t shift)
{
    size_t n = (size_t)1 << log_n;
    SPW_TRY(spw_ntt_inverse_batch(ctx, cols, ncols, n, log_n));
    if (shift == 1) return SPW_OK;
    uint64_t *pw = powers(gl_inv(shift), n);
    if (!pw) return spw_fail(ctx, SPW_ERR_NOMEM, "coset interpolation: out of memory");
    scale_job j = {cols, NULL, n, n, pw};
    spw_parallel_for(ctx, ncols, 1, scale_range, &j);
    free(pw);
    return SPW_OK;
}

spw_status spw_coset_evaluate(const spw_ctx *ctx, uint64_t *out, const uint64_t *coef, size_t ncols,
                              unsigned log_n, unsigned log_e, uint64_t shift)
{
    size_t n = (size_t)1 << log_n, big = n << log_e;
    uint64_t *pw = powers(shift, n);
    if (!pw) return spw_fail(ctx, SPW_ERR_NOMEM, "coset evaluation: out of memory");
    scale_job j = {out, coef, n, big, pw};
    spw_parallel_for(ctx, ncols, 1, scale_range, &j);
    free(pw);
    return spw_ntt_forward_batch(ctx, out, ncols, big, log_n + log_e);
}

/* ---- commit phase ---- */

typedef struct fold_job {
    const fe3 *in;
    fe3 *out;
    size_t half;
    fe3 beta, beta2;
    const fe3 *rollin;
    uint64_t s_inv, w_inv; /* 1/s_i, 1/w_{N_i} */
} fold_job;

static void fold_range(void *arg, size_t b, size_t e)
{
    fold_job *j = arg;
    uint64_t xinv = gl_mul(j->s_inv, gl_pow(j->w_inv, b));
    for (size_t k = b; k < e; k++) {
        fe3 v = spw_fri_fold(j->in[k], j->in[k + j->half], j->beta, xinv);
        if (j->rollin) v = fe3_add(v, fe3_mul(j->beta2, j->rollin[k]));
        j->out[k] = v;
        xinv = gl_mul(xinv, j->w_inv);
    }
}

typedef struct leaf_job {
    const fe3 *v;
    size_t half;
    spw_digest *leaves;
} leaf_job;

static void leaf_range(void *arg, size_t b, size_t e)
{
    leaf_job *j = arg;
    for (size_t k = b; k < e; k++) spw_fri_leaf(&j->leaves[k], j->v[k], j->v[k + j->half]);
}

spw_status spw_fri_commit(const spw_ctx *ctx, spw_fri_prover *f, spw_transcript *tr,
                          spw_proof *proof, fe3 *const *rollin, unsigned log_n0)
{
    memset(f, 0, sizeof *f);
    unsigned R = proof->n_layers;
    f->log_n0 = log_n0;
    f->n_layers = R;
    f->vals = spw_calloc_array(R + 1, sizeof(fe3 *));
    f->trees = spw_calloc_array(R + 1, sizeof(spw_merkle));
    if (!f->vals || !f->trees) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
    size_t n0 = (size_t)1 << log_n0;
    f->vals[0] = spw_malloc_array(n0, sizeof(fe3));
    if (!f->vals[0]) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
    memcpy(f->vals[0], rollin[0], n0 * sizeof(fe3));
    uint64_t s = GL_GENERATOR;
    for (unsigned i = 0; i < R; i++) {
        size_t ni = n0 >> i, half = ni / 2;
        spw_digest *leaves = spw_malloc_array(half, sizeof(spw_digest));
        if (!leaves) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
        leaf_job lj = {f->vals[i], half, leaves};
        spw_parallel_for(ctx, half, 1024, leaf_range, &lj);
        spw_status st = spw_merkle_build_from_leaves(ctx, &f->trees[i], leaves, half);
        free(leaves);
        SPW_TRY(st);
        proof->layers[i].root = *spw_merkle_root(&f->trees[i]);
        spw_transcript_absorb(tr, proof->layers[i].root.b, 32);
        fe3 beta = spw_transcript_ext3(tr);
        f->vals[i + 1] = spw_malloc_array(half, sizeof(fe3));
        if (!f->vals[i + 1]) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
        fold_job fj = {f->vals[i], f->vals[i + 1], half, beta, fe3_sqr(beta), rollin[i + 1],
                       gl_inv(s), gl_inv(gl_root_of_unity(log_n0 - i))};
        spw_parallel_for(ctx, half, 4096, fold_range, &fj);
        s = gl_mul(s, s);
    }
    /* final layer: N_R = 2^(log_n0 - R) values on s_R * <w_{N_R}> */
    unsigned log_nr = log_n0 - R;
    size_t nr = (size_t)1 << log_nr;
    uint64_t *cols = spw_malloc_array(3 * nr, 8);
    if (!cols) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
    for (size_t k = 0; k < nr; k++)
        for (int c = 0; c < 3; c++) cols[c * nr + k] = f->vals[R][k].c[c];
    spw_status st = spw_fri_final_poly(ctx, tr, proof, cols, log_nr, s);
    free(cols);
    if (st != SPW_OK) return st;
    return SPW_OK;
}

spw_status spw_fri_open(const spw_fri_prover *f, spw_proof *proof, uint32_t j, uint64_t q0)
{
    for (unsigned i = 0; i < f->n_layers; i++) {
        size_t ni = (size_t)1 << (f->log_n0 - i), half = ni / 2;
        size_t k = (size_t)(q0 & (ni - 1)) & (half - 1);
        fe3 a = f->vals[i][k], b = f->vals[i][k + half];
        uint64_t *v = proof->layers[i].q_vals + 6 * (size_t)j;
        for (int c = 0; c < 3; c++) {
            v[c] = a.c[c];
            v[3 + c] = b.c[c];
        }
        unsigned d = f->log_n0 - i - 1;
        SPW_TRY(spw_merkle_path(&f->trees[i], proof->layers[i].q_path + (size_t)j * d, k));
    }
    return SPW_OK;
}

void spw_fri_free(spw_fri_prover *f)
{
    if (!f) return;
    if (f->vals)
        for (unsigned i = 0; i <= f->n_layers; i++) free(f->vals[i]);
    if (f->trees)
        for (unsigned i = 0; i < f->n_layers; i++) spw_merkle_free(&f->trees[i]);
    free(f->vals);
    free(f->trees);
    memset(f, 0, sizeof *f);
}

void spw_deep_ood_sums(fe3 *g, fe3 *v1, fe3 *v2, fe3 *gpow, fe3 gamma, const fe3 *o, size_t nm,
                       size_t na, size_t nc)
{
    size_t n1 = nm + na + nc, n2 = nm + na;
    for (size_t k = 0; k < n1 + n2; k++) {
        g[k] = *gpow;
        *gpow = fe3_mul(*gpow, gamma);
    }
    fe3 a = fe3_zero(), b = fe3_zero();
    for (size_t c = 0; c < nm; c++) {
        a = fe3_add(a, fe3_mul(g[c], o[c]));
        b = fe3_add(b, fe3_mul(g[n1 + c], o[nm + c]));
    }
    for (size_t c = 0; c < na; c++) {
        a = fe3_add(a, fe3_mul(g[nm + c], o[2 * nm + c]));
        b = fe3_add(b, fe3_mul(g[n1 + nm + c], o[2 * nm + na + c]));
    }
    for (size_t c = 0; c < nc; c++) a = fe3_add(a, fe3_mul(g[nm + na + c], o[2 * nm + 2 * na + c]));
    *v1 = a;
    *v2 = b;
}

spw_status spw_fri_final_poly(const spw_ctx *ctx, spw_transcript *tr, spw_proof *proof,
                              uint64_t *cols, unsigned log_nr, uint64_t shift)
{
    size_t nr = (size_t)1 << log_nr, nf = (size_t)1 << proof->params.log_final;
    SPW_TRY(spw_coset_interpolate(NULL, cols, 3, log_nr, shift));
    for (size_t k = 0; k < nf; k++)
        proof->final_poly[k] = fe3_make(cols[k], cols[nr + k], cols[2 * nr + k]);
    int high = 0;
    for (size_t k = nf; k < nr; k++)
        if (cols[k] | cols[nr + k] | cols[2 * nr + k]) high = 1;
    if (high)
        spw_log(ctx, SPW_LOG_WARN,
                "FRI: the final layer has degree >= %zu (the proof will not verify)", nf);
    uint8_t *fb = spw_malloc_array(nf, 24);
    if (!fb) return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
    for (size_t k = 0; k < nf; k++)
        for (int c = 0; c < 3; c++) spw_put_u64le(fb + 24 * k + 8 * c, proof->final_poly[k].c[c]);
    spw_transcript_absorb(tr, fb, 24 * nf);
    free(fb);
    return SPW_OK;
}
