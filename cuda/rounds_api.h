/*
 * rounds_api.h - C-callable launchers of the device kernels for the prover
 * rounds (cuda/rounds_*.cu): coset scaling, polynomial utilities, LogUp,
 * constraint evaluation and composition, out-of-domain sums, DEEP, FRI
 * folding and the gathering of query openings. Scheduling stays in C
 * (src/gpu_prover.c); these only queue kernels.
 *
 * Conventions are those of cuda_api.h: d_* are device pointers (from the
 * arena), work is queued on `s` and not waited for unless the name ends in
 * _host, failures return a status with a message in spw_cuda_last_error().
 * Columns are column-major u64 (column c of a batch at d + c*stride); an
 * ext3 column is 3 consecutive base columns (coefficients 0, 1, 2).
 *
 * FRI layer layout ("leaf layout"): a vector f of N ext3 values (N >= 2) is
 * stored as 6 base columns of h = N/2 values each: column j (j < 3) holds
 * coefficient j of f[k] for k < h, column 3+j holds coefficient j of
 * f[k + h]. Row k of those 6 columns is exactly the FRI Merkle leaf k
 * (f[k], f[k + h]), so spw_cuda_merkle_build(.., 6, h, h) commits a layer.
 */
#ifndef SPW_ROUNDS_API_H
#define SPW_ROUNDS_API_H

#include "cuda_api.h"
#include "field.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- device program (the AIR bytecode, slots resolved on the host) ---- */

typedef struct spw_gpu_insn {
    uint32_t op;    /* spw_opcode */
    uint32_t ext;   /* 1: the value is ext3; 0: a base value (c1 = c2 = 0) */
    uint32_t dst;   /* scratch slot written */
    uint32_t a, b;  /* scratch slots of the operands (ADD/SUB/MUL/NEG) */
    uint32_t pad;
    uint64_t k;     /* constant or leaf index */
} spw_gpu_insn;

typedef struct spw_gpu_cons {
    uint32_t slot;  /* scratch slot holding the constraint's value */
    uint32_t kind;  /* spw_constraint_kind */
} spw_gpu_cons;

/* LogUp interaction in device form: the multiplicity and the values are
 * slots of the base-field bus program. */
typedef struct spw_gpu_inter {
    uint32_t bus_id;
    uint32_t is_sender;
    uint32_t mult;      /* slot */
    uint32_t n_values;
    uint32_t values;    /* offset into the value-slot array */
    uint32_t pad;
} spw_gpu_inter;

/* ---- polynomial utilities (rounds_poly.cu) ---- */

/* d_pw[i] = shift^i, i < n. */
spw_status spw_gpu_powers(spw_cuda_stream s, uint64_t *d_pw, size_t n, uint64_t shift);
/* d_pw[i] = x^i in ext3, i < n (n fe3 values). */
spw_status spw_gpu_powers_ext(spw_cuda_stream s, fe3 *d_pw, size_t n, fe3 x);
/* For c < ncols: d_out[c*out_stride + i] = d_in[c*in_stride + i] * d_pw[i]
 * for i < n and 0 for n <= i < out_stride. d_out may equal d_in (then
 * in_stride == out_stride). */
spw_status spw_gpu_scale_pad(spw_cuda_stream s, uint64_t *d_out, size_t out_stride,
                             const uint64_t *d_in, size_t in_stride, size_t ncols, size_t n,
                             const uint64_t *d_pw);
/* *d_flag |= 1 when some d_cols[c*stride + i] != 0 with from <= i < to. */
spw_status spw_gpu_any_nonzero(spw_cuda_stream s, uint32_t *d_flag, const uint64_t *d_cols,
                               size_t ncols, size_t stride, size_t from, size_t to);
/* d_out[j*ncols + c] = d_cols[c*stride + d_idx[j]], j < nq, c < ncols. */
spw_status spw_gpu_gather_rows(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_cols,
                               size_t ncols, size_t stride, const uint64_t *d_idx, size_t nq);
/* d_out[k*step*w + t] = d_in[k*w + t] for k < n, t < w: n elements of w
 * u64 each spread with stride `step` elements (one coset's results into
 * their natural-order places). */
spw_status spw_gpu_scatter(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_in, size_t n,
                           size_t w, size_t step);
/* Out-of-domain sums: h_out[c] = sum_i d_pw[i] * d_cols[c*stride + i],
 * i < n, for c < ncols (ext3 results on the host). d_partial must hold
 * ncols * spw_gpu_dot_segments(n) fe3 values; h_partial as many (host). */
size_t spw_gpu_dot_segments(size_t n);
spw_status spw_gpu_dot_host(spw_cuda_stream s, fe3 *h_out, const uint64_t *d_cols, size_t ncols,
                            size_t stride, size_t n, const fe3 *d_pw, fe3 *d_partial,
                            fe3 *h_partial);

/* ---- LogUp (rounds_logup.cu) ---- */

typedef struct spw_gpu_logup_args {
    const spw_gpu_insn *prog;   /* base-field bus program (device) */
    uint32_t prog_len, n_slots;
    const spw_gpu_inter *inter; /* device, n_inter */
    uint32_t n_inter;
    const uint32_t *value_slots;/* device */
    const fe3 *apow;            /* device: alpha^0 .. alpha^max_values */
    fe3 z;
    const uint64_t *main;       /* trace evaluations, column stride n */
    uint64_t *aux;              /* 3*n_aux base columns, stride n */
    size_t n;                   /* table height */
    uint32_t n_aux;             /* ext3 columns: terms then the accumulator */
    /* Row-chunk buffers (0, 0 = whole columns as above): main and aux hold
     * table rows row_base .. row_base + stride - 1, column stride `stride`;
     * spw_gpu_logup_chunk's row0 stays the global row (>= row_base). */
    size_t stride, row_base;
} spw_gpu_logup_args;

/* Scratch (bytes) for a chunk of `rows` rows. */
size_t spw_gpu_logup_scratch_bytes(const spw_gpu_logup_args *a, size_t rows);
/* Rows [row0, row0 + rows): term columns and the accumulator (prefix sum of
 * the row totals starting from *d_running, which is updated). *d_bad_row
 * receives min(itself, row) of a zero fingerprint (replaced by 1). */
spw_status spw_gpu_logup_chunk(spw_cuda_stream s, const spw_gpu_logup_args *a, size_t row0,
                               size_t rows, void *d_scratch, fe3 *d_running, uint64_t *d_bad_row);

/* ---- constraint evaluation and composition (rounds_comp.cu) ---- */

typedef struct spw_gpu_comp_args {
    const spw_gpu_insn *prog;   /* device; full program (ext3), live insns */
    uint32_t prog_len, n_slots;
    const spw_gpu_cons *cons;   /* device */
    uint32_t n_cons;
    const fe3 *lpow;            /* device: lambda^q per constraint */
    const fe3 *challenges;      /* device */
    const uint64_t *publics;    /* device (may be NULL when none) */
    fe3 logup_sum;
    const uint64_t *main;       /* n_main columns of NE values */
    const uint64_t *aux;        /* 3*n_aux base columns of NE (or NULL) */
    size_t NE, E;               /* domain size, next-row offset (E = NE/n) */
    const uint64_t *inv_zn;     /* device, E values: 1/(x^n - 1) by i mod E */
    uint64_t w_ne, w_last;      /* generator of the domain; w_n^-1 */
    uint64_t *out;              /* 3 columns of NE */
    /* Row-chunk mode (all 0 = the whole domain, as before). rows > 0: evaluate the
     * domain points row0 .. row0+rows-1 only (x = g * w_NE^(row0+r)); main/aux then
     * hold rows + E rows starting at domain row row0 (the next-row halo appended by
     * the caller, no wrap-around inside the kernel: local row r's next row is local
     * r + E), column stride `stride` (>= rows + E); out receives 3 columns of
     * out_stride (>= rows) values, local index r. inv_zn is still indexed by the
     * GLOBAL row mod E. */
    size_t row0, rows, stride, out_stride;
    /* Coset mode (step > 0, with rows > 0): the points are domain rows
     * row0 + r*step for r < rows (a coset of size rows when step = E and
     * rows = n); main/aux hold exactly those points at local index r
     * (stride >= rows) and the next row of r is (r + 1) mod rows (rows a
     * power of two); no halo. */
    size_t step;
} spw_gpu_comp_args;

/* Threads the kernel uses for a domain (its scratch is n_slots * 3 * 8
 * bytes per thread). */
size_t spw_gpu_comp_threads(size_t NE, uint32_t n_slots, uint64_t max_scratch_bytes);
/* Quotient of the random combination of the constraints at every point of
 * GL_GENERATOR * <w_NE> (or at the rows row0 .. row0+rows-1 of it in row-chunk
 * mode; threads from spw_gpu_comp_threads(rows, ..) then). d_scratch:
 * n_slots * 3 * threads u64. SPW_ERR_INVALID_ARG for a domain that is not a
 * power of two or a chunk outside it / with too small strides. */
spw_status spw_gpu_comp_eval(spw_cuda_stream s, const spw_gpu_comp_args *a, uint64_t *d_scratch,
                             size_t threads);

/* ---- DEEP and FRI (rounds_deep.cu) ---- */

typedef struct spw_gpu_deep_args {
    const uint64_t *main, *aux, *comp;  /* base columns of N values */
    uint32_t nm, na, nc;                /* base column counts */
    const fe3 *g1, *g2;                 /* device: nm+na+nc and nm+na coefficients */
    fe3 v1, v2, zeta, zw;
    unsigned log_N;
    int accumulate;                     /* add into out instead of storing */
    uint64_t *out;                      /* leaf layout, N values */
    /* Row-chunk mode (rows == 0: whole LDE as before). rows > 0: points
     * row0 .. row0+rows-1 of the LDE (x = g * w_N^(row0+r)); main/aux/comp columns
     * hold those rows at local index r with column stride `stride`; the result goes to
     * out_fe3[r] (fe3 array, NOT leaf layout): stored, or added when accumulate. */
    size_t row0, rows, stride;
    fe3 *out_fe3;
    /* Coset mode (step > 1, with rows > 0): local row r is LDE point
     * row0 + r*step and its result goes to out_fe3[r*step] (the caller
     * passes out_fe3 at the coset's first point). */
    size_t step;
} spw_gpu_deep_args;

/* The DEEP quotient at every point of GL_GENERATOR * <w_N>, N = 2^log_N (or
 * at rows row0 .. row0+rows-1 in row-chunk mode, one thread per row; `out`
 * is then unused). SPW_ERR_INVALID_ARG for log_N outside 2..32 or a chunk
 * outside the LDE, a stride < rows or a NULL out_fe3. */
spw_status spw_gpu_deep(spw_cuda_stream s, const spw_gpu_deep_args *a);
/* d_out (3 columns of n: an ext3 polynomial's components) = the sum over
 * c < ncols of d_g[c] (device, fe3) times column c (d_cols + c * stride).
 * The DEEP of the recompute tier combines the coefficient columns this way
 * before evaluating: evaluation is linear, so the combination's value at x
 * is the weighted sum of the columns' values there. */
spw_status spw_gpu_lincomb_ext(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_cols,
                               size_t stride, uint32_t ncols, const fe3 *d_g, size_t n);

/* One FRI fold: d_in (leaf layout, N = 2^log_n values on s_i * <w_N>) ->
 * d_out (leaf layout, N/2 values): (a+b)/2 + beta (a-b)/(2x), plus
 * beta^2 * rollin[k] when d_rollin (leaf layout, N/2) is not NULL.
 * s_inv = 1/s_i. log_n >= 2 (the output needs a leaf layout). */
spw_status spw_gpu_fri_fold(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_in,
                            unsigned log_n, fe3 beta, const uint64_t *d_rollin, uint64_t s_inv);

#ifdef __cplusplus
}
#endif
#endif /* SPW_ROUNDS_API_H */
