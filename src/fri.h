/*
 * fri.h - FRI over the cubic extension, folding by 2 per layer, with the
 * DEEP quotients of smaller tables rolled in when the folded domain reaches
 * their LDE size (docs/PROTOCOL.md, "FRI"). Layer i lives on the coset
 * s_i * <w_{N_i}>, s_i = 7^(2^i), N_i = N_0 / 2^i, natural order; a Merkle
 * leaf of layer i holds the pair (f_i[k], f_i[k + N_i/2]), k < N_i/2.
 */
#ifndef SPW_FRI_H
#define SPW_FRI_H

#include "stark.h"

/* (a + b)/2 + beta * (a - b) / (2x), x_inv = 1/x; a = f(x), b = f(-x). */
fe3 spw_fri_fold(fe3 a, fe3 b, fe3 beta, uint64_t x_inv);
/* Leaf digest of a layer leaf: the 6 LE u64 a.c0 a.c1 a.c2 b.c0 b.c1 b.c2. */
void spw_fri_leaf(spw_digest *out, fe3 a, fe3 b);
/* Sum of coef[j] * x^j, j < n (Horner). */
fe3 spw_fri_eval_poly(const fe3 *coef, size_t n, fe3 x);

typedef struct spw_fri_prover {
    unsigned log_n0;        /* log2 N_0 */
    unsigned n_layers;
    fe3 **vals;             /* vals[i]: N_i values of layer i */
    spw_merkle *trees;      /* one per committed layer */
} spw_fri_prover;

/* Commit phase. rollin[i] (i = 0 .. n_layers) is NULL or the sum of the
 * DEEP quotients of the tables whose LDE size is N_i (rollin[0] must be
 * set: it is f_0). Absorbs layer roots, squeezes the betas, folds, adds
 * beta_{i-1}^2 * rollin[i], interpolates the final layer into
 * proof->final_poly and absorbs it. Fills proof->layers[i].root. */
spw_status spw_fri_commit(const spw_ctx *ctx, spw_fri_prover *f, spw_transcript *tr,
                          spw_proof *proof, fe3 *const *rollin, unsigned log_n0);
/* Query phase: writes query j's layer openings (index q0 in [0, N_0)). */
spw_status spw_fri_open(const spw_fri_prover *f, spw_proof *proof, uint32_t j, uint64_t q0);
void spw_fri_free(spw_fri_prover *f);

/* Coset helpers shared with the prover rounds. */
/* In place: cols (ncols columns of 2^log_n values, stride 2^log_n) hold
 * evaluations on shift * <w_n>; on return they hold coefficients. */
spw_status spw_coset_interpolate(const spw_ctx *ctx, uint64_t *cols, size_t ncols, unsigned log_n,
                                 uint64_t shift);
/* out (ncols columns of 2^(log_n+log_e)) = evaluations on
 * shift * <w_{n 2^log_e}> of the polynomials with coefficients coef (ncols
 * columns of 2^log_n). */
spw_status spw_coset_evaluate(const spw_ctx *ctx, uint64_t *out, const uint64_t *coef, size_t ncols,
                              unsigned log_n, unsigned log_e, uint64_t shift);

#endif
