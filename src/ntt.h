/*
 * ntt.h - number-theoretic transforms over Goldilocks, CPU reference and
 * multi-threaded fast path.
 *
 * Conventions (fixed; docs/PROTOCOL.md relies on them):
 *   - A column of n = 2^k values is stored in natural order.
 *   - Evaluations: value i is the polynomial at x = shift * w_n^i, w_n =
 *     gl_root_of_unity(k). Coefficients: value j multiplies x^j.
 *   - Coset LDE with blowup B: from evaluations on the trace domain
 *     {w_n^i} to evaluations on the coset {GL_GENERATOR * w_{nB}^i},
 *     i = 0 .. nB-1, natural order. So trace row r sits at LDE index r*B,
 *     shifted by the coset, and "next row" is index + B (mod nB).
 */
#ifndef SPW_NTT_H
#define SPW_NTT_H

#include "internal.h"

/* Naive O(n^2) DFT: evaluations of coefficients `coeffs` at shift * w_n^i.
 * The independent reference the tests compare against. */
void spw_dft_naive(uint64_t *out, const uint64_t *coeffs, unsigned log_n, uint64_t shift);

/* In place, one column: coefficients -> evaluations at w_n^i (natural order
 * in and out). */
void spw_ntt_forward(uint64_t *a, unsigned log_n);
/* In place, one column: evaluations at w_n^i -> coefficients. */
void spw_ntt_inverse(uint64_t *a, unsigned log_n);
/* In place bit-reversal permutation of n = 2^log_n values. */
void spw_bit_reverse(uint64_t *a, unsigned log_n);

/* Batched over `ncols` columns, column c at cols + c*stride (stride >= n),
 * multi-threaded on ctx. Errors: SPW_ERR_NULL, SPW_ERR_INVALID_ARG
 * (log_n > 32, stride < n). */
spw_status spw_ntt_forward_batch(const spw_ctx *ctx, uint64_t *cols, size_t ncols, size_t stride,
                                 unsigned log_n);
spw_status spw_ntt_inverse_batch(const spw_ctx *ctx, uint64_t *cols, size_t ncols, size_t stride,
                                 unsigned log_n);

/* Coset LDE of a batch of columns: `in` holds ncols columns of n = 2^log_n
 * trace evaluations (column c at in + c*n); `out` receives ncols columns of
 * n*blowup evaluations on the coset GL_GENERATOR * <w_{n*blowup}> (column c
 * at out + c*n*blowup). blowup in {2,4,8} else SPW_ERR_BLOWUP. */
spw_status spw_lde_batch(const spw_ctx *ctx, uint64_t *out, const uint64_t *in, size_t ncols,
                         unsigned log_n, unsigned blowup);

/* The coset LDE of columns already in coefficient form (for the prover's
 * composition and DEEP steps): evaluates each of ncols polynomials of
 * n = 2^log_n coefficients on shift * <w_{n*blowup}>. */
spw_status spw_coeffs_to_coset_batch(const spw_ctx *ctx, uint64_t *out, const uint64_t *coeffs,
                                     size_t ncols, unsigned log_n, unsigned blowup, uint64_t shift);

/* The branch-free Goldilocks product the fast paths use (canonical in and
 * out, same value as gl_mul); exported for the tests. */
uint64_t spw_ntt_fmul(uint64_t a, uint64_t b);
/* Four lane-wise products through the vector path when it is active (else
 * fmul); exported for the tests. */
void spw_ntt_mul4(uint64_t out[4], const uint64_t a[4], const uint64_t b[4]);
/* Vector (AVX2) butterflies: mode 0 = off, 1 = on when the CPU has AVX2,
 * -1 = query (first use: on when available). Returns whether they are on.
 * Process-wide; for the tests and benchmarks (set before transforms run). */
int spw_ntt_simd(int mode);

#endif
