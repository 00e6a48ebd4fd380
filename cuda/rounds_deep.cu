// rounds_deep.cu - the DEEP quotient of every committed column of a table at
// every LDE point (written or added into an FRI layer in leaf layout), and
// one FRI fold per call (leaf layout in, leaf layout out, with the DEEP
// quotients of smaller tables rolled in). Row-chunk mode (the streaming
// tier) evaluates a range of LDE rows into a plain ext3 array. Formulas as src/prover.c and
// src/fri.c; every value exact, so the results equal the CPU's.
#include "cuda_internal.cuh"
#include "rounds_api.h"

#define TPB 256

// index of element k of an N-value vector in leaf layout, coefficient j
__device__ __forceinline__ size_t leaf_at(size_t k, size_t h, int j)
{
    return (k >= h ? (size_t)(3 + j) : (size_t)j) * h + (k & (h - 1));
}

// The DEEP quotient of point x from the columns' values at index i (column
// stride cs).
__device__ __forceinline__ fe3 deep_at(const spw_gpu_deep_args &a, size_t i, size_t cs, uint64_t x)
{
    fe3 s1 = fe3_zero(), s2 = fe3_zero();
    for (uint32_t c = 0; c < a.nm; c++) {
        uint64_t v = a.main[c * cs + i];
        s1 = fe3_add(s1, fe3_mul_base(a.g1[c], v));
        s2 = fe3_add(s2, fe3_mul_base(a.g2[c], v));
    }
    for (uint32_t c = 0; c < a.na; c++) {
        uint64_t v = a.aux[c * cs + i];
        s1 = fe3_add(s1, fe3_mul_base(a.g1[a.nm + c], v));
        s2 = fe3_add(s2, fe3_mul_base(a.g2[a.nm + c], v));
    }
    for (uint32_t c = 0; c < a.nc; c++)
        s1 = fe3_add(s1, fe3_mul_base(a.g1[a.nm + a.na + c], a.comp[c * cs + i]));
    fe3 i1 = fe3_inv(fe3_sub(fe3_from_base(x), a.zeta));
    fe3 i2 = fe3_inv(fe3_sub(fe3_from_base(x), a.zw));
    return fe3_add(fe3_mul(fe3_sub(s1, a.v1), i1), fe3_mul(fe3_sub(s2, a.v2), i2));
}

__global__ void k_deep(spw_gpu_deep_args a, uint64_t wN)
{
    size_t N = (size_t)1 << a.log_N, h = N / 2;
    size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (r >= N) return;
    fe3 v = deep_at(a, r, N, gl_mul(GL_GENERATOR, gl_pow(wN, r)));
    for (int j = 0; j < 3; j++) {
        size_t o = leaf_at(r, h, j);
        a.out[o] = a.accumulate ? gl_add(a.out[o], v.c[j]) : v.c[j];
    }
}

// Row-chunk mode: one thread per row of the chunk, result as an fe3 array.
__global__ void k_deep_rows(spw_gpu_deep_args a, uint64_t wN)
{
    size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (r >= a.rows) return;
    size_t st = a.step > 1 ? a.step : 1, o = r * st;
    fe3 v = deep_at(a, r, a.stride, gl_mul(GL_GENERATOR, gl_pow(wN, a.row0 + o)));
    a.out_fe3[o] = a.accumulate ? fe3_add(a.out_fe3[o], v) : v;
}

// out (3 columns of n: the components) = sum over c of g[c] * column c.
__global__ void k_lincomb(uint64_t *out, const uint64_t *cols, size_t stride, uint32_t ncols,
                          const fe3 *g, size_t n)
{
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < n;
         k += (size_t)gridDim.x * blockDim.x) {
        fe3 acc = fe3_zero();
        for (uint32_t c = 0; c < ncols; c++) acc = fe3_add(acc, fe3_mul_base(g[c], cols[c * stride + k]));
        for (int j = 0; j < 3; j++) out[j * n + k] = acc.c[j];
    }
}

extern "C" spw_status spw_gpu_lincomb_ext(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_cols,
                                          size_t stride, uint32_t ncols, const fe3 *d_g, size_t n)
{
    if (!n) return SPW_OK;
    if (stride < n) return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "k_lincomb: stride %zu < n %zu", stride, n);
    size_t blocks = (n + TPB - 1) / TPB;
    if (blocks > 65536) blocks = 65536;
    k_lincomb<<<(unsigned)blocks, TPB, 0, (cudaStream_t)s>>>(d_out, d_cols, stride, ncols, d_g, n);
    SPW_CUDA_LAUNCHED("k_lincomb");
    return SPW_OK;
}

extern "C" spw_status spw_gpu_deep(spw_cuda_stream s, const spw_gpu_deep_args *a)
{
    if (a->rows) {
        size_t N = a->log_N <= 32 ? (size_t)1 << a->log_N : 0;
        size_t st = a->step > 1 ? a->step : 1;
        if (a->log_N > 32 || a->row0 > N || (a->rows - 1) * st > N - 1 - a->row0 ||
            a->stride < a->rows || !a->out_fe3)
            return spw_cuda_set_error(SPW_ERR_INVALID_ARG,
                                      "k_deep_rows: bad chunk (log_N %u, row0 %zu, rows %zu, "
                                      "stride %zu, out %p)",
                                      a->log_N, a->row0, a->rows, a->stride, (void *)a->out_fe3);
        k_deep_rows<<<(unsigned)((a->rows + TPB - 1) / TPB), TPB, 0, (cudaStream_t)s>>>(
            *a, gl_root_of_unity(a->log_N));
        SPW_CUDA_LAUNCHED("k_deep_rows");
        return SPW_OK;
    }
    if (a->log_N < 2 || a->log_N > 32)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "k_deep: log_N %u", a->log_N);
    size_t N = (size_t)1 << a->log_N;
    k_deep<<<(unsigned)((N + TPB - 1) / TPB), TPB, 0, (cudaStream_t)s>>>(*a, gl_root_of_unity(a->log_N));
    SPW_CUDA_LAUNCHED("k_deep");
    return SPW_OK;
}

__global__ void k_fri_fold(uint64_t *out, const uint64_t *in, unsigned log_n, fe3 beta, fe3 beta2,
                           const uint64_t *rollin, uint64_t s_inv, uint64_t w_inv)
{
    const uint64_t inv2 = 0x7FFFFFFF80000001ULL;
    size_t h = (size_t)1 << (log_n - 1), h2 = h / 2;
    size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (k >= h) return;
    fe3 fa = fe3_make(in[k], in[h + k], in[2 * h + k]);
    fe3 fb = fe3_make(in[3 * h + k], in[4 * h + k], in[5 * h + k]);
    uint64_t xinv = gl_mul(s_inv, gl_pow(w_inv, k));
    fe3 even = fe3_add(fa, fb);
    fe3 odd = fe3_mul_base(fe3_sub(fa, fb), xinv);
    fe3 v = fe3_mul_base(fe3_add(even, fe3_mul(beta, odd)), inv2);
    if (rollin) {
        fe3 rv = fe3_make(rollin[leaf_at(k, h2, 0)], rollin[leaf_at(k, h2, 1)],
                          rollin[leaf_at(k, h2, 2)]);
        v = fe3_add(v, fe3_mul(beta2, rv));
    }
    for (int j = 0; j < 3; j++) out[leaf_at(k, h2, j)] = v.c[j];
}

extern "C" spw_status spw_gpu_fri_fold(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_in,
                                       unsigned log_n, fe3 beta, const uint64_t *d_rollin,
                                       uint64_t s_inv)
{
    if (log_n < 2 || log_n > 33)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "k_fri_fold: log_n %u", log_n);
    size_t h = (size_t)1 << (log_n - 1);
    uint64_t w_inv = gl_inv(gl_root_of_unity(log_n));
    k_fri_fold<<<(unsigned)((h + TPB - 1) / TPB), TPB, 0, (cudaStream_t)s>>>(
        d_out, d_in, log_n, beta, fe3_sqr(beta), d_rollin, s_inv, w_inv);
    SPW_CUDA_LAUNCHED("k_fri_fold");
    return SPW_OK;
}
