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

/* The provers' shared DEEP set-up for one table (docs/PROTOCOL.md, DEEP):
 * g[0 .. n1+n2) = the next powers of gamma, continuing from *gpow (which
 * advances), n1 = nm+na+nc (group 1: main, aux, comp at zeta), n2 = nm+na
 * (group 2: main, aux at zeta*w); *v1, *v2 = the groups' out-of-domain
 * values combined with those powers. ood is in proof order (main_z,
 * main_zw, aux_z, aux_zw, comp_z). */
void spw_deep_ood_sums(fe3 *g, fe3 *v1, fe3 *v2, fe3 *gpow, fe3 gamma, const fe3 *ood, size_t nm,
                       size_t na, size_t nc);

/* The provers' shared end of FRI: cols holds the last layer as 3 base
 * columns of 2^log_nr values on shift * <w>; interpolates them in place,
 * stores the first 2^log_final coefficients as proof->final_poly (warning
 * when a higher one is not zero: the proof would not verify) and absorbs
 * them into the transcript. */
spw_status spw_fri_final_poly(const spw_ctx *ctx, spw_transcript *tr, spw_proof *proof,
                              uint64_t *cols, unsigned log_nr, uint64_t shift);
/* out (ncols columns of 2^(log_n+log_e)) = evaluations on
 * shift * <w_{n 2^log_e}> of the polynomials with coefficients coef (ncols
 * columns of 2^log_n). */
spw_status spw_coset_evaluate(const spw_ctx *ctx, uint64_t *out, const uint64_t *coef, size_t ncols,
                              unsigned log_n, unsigned log_e, uint64_t shift);

#endif
