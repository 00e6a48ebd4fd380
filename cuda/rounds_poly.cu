// rounds_poly.cu - polynomial utilities of the device rounds: power tables,
// coset scaling with zero padding (coset LDE / interpolation around the NTT
// of ntt.cu), the degree check of the composition quotient, the gathering
// of query openings and the out-of-domain sums. Kernels + thin launchers.
#include "cuda_internal.cuh"
#include "rounds_api.h"

#define TPB 256

static unsigned blocks_for(size_t n, unsigned tpb = TPB, size_t cap = 1u << 20)
{
    size_t b = (n + tpb - 1) / tpb;
    if (b > cap) b = cap;
    return (unsigned)(b ? b : 1);
}

__global__ void k_powers(uint64_t *pw, size_t n, uint64_t shift)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        pw[i] = gl_pow(shift, i);
}

__global__ void k_powers_ext(fe3 *pw, size_t n, fe3 x)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        pw[i] = fe3_pow(x, i);
}

extern "C" spw_status spw_gpu_powers(spw_cuda_stream s, uint64_t *d_pw, size_t n, uint64_t shift)
{
    if (!n) return SPW_OK;
    k_powers<<<blocks_for(n, TPB, 1u << 16), TPB, 0, (cudaStream_t)s>>>(d_pw, n, shift);
    SPW_CUDA_LAUNCHED("k_powers");
    return SPW_OK;
}

extern "C" spw_status spw_gpu_powers_ext(spw_cuda_stream s, fe3 *d_pw, size_t n, fe3 x)
{
    if (!n) return SPW_OK;
    k_powers_ext<<<blocks_for(n, TPB, 1u << 16), TPB, 0, (cudaStream_t)s>>>(d_pw, n, x);
    SPW_CUDA_LAUNCHED("k_powers_ext");
    return SPW_OK;
}

// grid.y = column (chunks of 65535), x over i < out_stride
__global__ void k_scale_pad(uint64_t *out, size_t os, const uint64_t *in, size_t is, size_t n,
                            const uint64_t *pw, size_t c0)
{
    size_t c = c0 + blockIdx.y;
    uint64_t *o = out + c * os;
    const uint64_t *src = in + c * is;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < os;
         i += (size_t)gridDim.x * blockDim.x)
        o[i] = i < n ? gl_mul(src[i], __ldg(pw + i)) : 0;
}

extern "C" spw_status spw_gpu_scale_pad(spw_cuda_stream s, uint64_t *d_out, size_t out_stride,
                                        const uint64_t *d_in, size_t in_stride, size_t ncols,
                                        size_t n, const uint64_t *d_pw)
{
    if (out_stride < n || in_stride < n)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_gpu_scale_pad: stride < n");
    for (size_t c0 = 0; c0 < ncols; c0 += 65535) {
        unsigned nc = (unsigned)(ncols - c0 < 65535 ? ncols - c0 : 65535);
        dim3 g(blocks_for(out_stride, TPB, 4096), nc);
        k_scale_pad<<<g, TPB, 0, (cudaStream_t)s>>>(d_out, out_stride, d_in, in_stride, n, d_pw, c0);
        SPW_CUDA_LAUNCHED("k_scale_pad");
    }
    return SPW_OK;
}

__global__ void k_any_nonzero(uint32_t *flag, const uint64_t *cols, size_t stride, size_t from,
                              size_t to)
{
    const uint64_t *col = cols + blockIdx.y * stride;
    uint64_t acc = 0;
    for (size_t i = from + blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < to;
         i += (size_t)gridDim.x * blockDim.x)
        acc |= col[i];
    if (acc) atomicOr(flag, 1u);
}

extern "C" spw_status spw_gpu_any_nonzero(spw_cuda_stream s, uint32_t *d_flag,
                                          const uint64_t *d_cols, size_t ncols, size_t stride,
                                          size_t from, size_t to)
{
    if (to <= from || !ncols) return SPW_OK;
    if (ncols > 65535) return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_gpu_any_nonzero: ncols");
    dim3 g(blocks_for(to - from, TPB, 2048), (unsigned)ncols);
    k_any_nonzero<<<g, TPB, 0, (cudaStream_t)s>>>(d_flag, d_cols, stride, from, to);
    SPW_CUDA_LAUNCHED("k_any_nonzero");
    return SPW_OK;
}

__global__ void k_gather_rows(uint64_t *out, const uint64_t *cols, size_t ncols, size_t stride,
                              const uint64_t *idx, size_t nq)
{
    size_t total = ncols * nq;
    for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < total;
         t += (size_t)gridDim.x * blockDim.x) {
        size_t j = t / ncols, c = t % ncols;
        out[t] = cols[c * stride + idx[j]];
    }
}

extern "C" spw_status spw_gpu_gather_rows(spw_cuda_stream s, uint64_t *d_out,
                                          const uint64_t *d_cols, size_t ncols, size_t stride,
                                          const uint64_t *d_idx, size_t nq)
{
    if (!ncols || !nq) return SPW_OK;
    k_gather_rows<<<blocks_for(ncols * nq, TPB, 4096), TPB, 0, (cudaStream_t)s>>>(
        d_out, d_cols, ncols, stride, d_idx, nq);
    SPW_CUDA_LAUNCHED("k_gather_rows");
    return SPW_OK;
}

__global__ void k_scatter(uint64_t *out, const uint64_t *in, size_t n, size_t w, size_t step)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n * w;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t k = i / w, t = i - k * w;
        out[k * step * w + t] = in[i];
    }
}

extern "C" spw_status spw_gpu_scatter(spw_cuda_stream s, uint64_t *d_out, const uint64_t *d_in,
                                      size_t n, size_t w, size_t step)
{
    if (!n || !w) return SPW_OK;
    k_scatter<<<blocks_for(n * w, TPB, 65536), TPB, 0, (cudaStream_t)s>>>(d_out, d_in, n, w, step);
    SPW_CUDA_LAUNCHED("k_scatter");
    return SPW_OK;
}

// ---- out-of-domain sums ----

#define DOT_SEG 16384 /* values per block */

extern "C" size_t spw_gpu_dot_segments(size_t n) { return (n + DOT_SEG - 1) / DOT_SEG; }

// grid.x = segment, grid.y = column; block sum of pw[i] * col[i] over the
// segment, reduced in shared memory (exact field sums, any order).
__global__ void k_dot(fe3 *partial, const uint64_t *cols, size_t stride, size_t n, const fe3 *pw,
                      size_t nseg, size_t c0)
{
    __shared__ fe3 sh[TPB];
    size_t c = c0 + blockIdx.y, seg = blockIdx.x;
    const uint64_t *col = cols + c * stride;
    size_t b = seg * DOT_SEG, e = b + DOT_SEG < n ? b + DOT_SEG : n;
    fe3 acc = fe3_zero();
    for (size_t i = b + threadIdx.x; i < e; i += blockDim.x)
        acc = fe3_add(acc, fe3_mul_base(pw[i], col[i]));
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned w = blockDim.x / 2; w; w >>= 1) {
        if (threadIdx.x < w) sh[threadIdx.x] = fe3_add(sh[threadIdx.x], sh[threadIdx.x + w]);
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[c * nseg + seg] = sh[0];
}

extern "C" spw_status spw_gpu_dot_host(spw_cuda_stream s, fe3 *h_out, const uint64_t *d_cols,
                                       size_t ncols, size_t stride, size_t n, const fe3 *d_pw,
                                       fe3 *d_partial, fe3 *h_partial)
{
    if (!ncols) return SPW_OK;
    size_t nseg = spw_gpu_dot_segments(n);
    for (size_t c0 = 0; c0 < ncols; c0 += 65535) {
        unsigned nc = (unsigned)(ncols - c0 < 65535 ? ncols - c0 : 65535);
        dim3 g((unsigned)nseg, nc);
        k_dot<<<g, TPB, 0, (cudaStream_t)s>>>(d_partial, d_cols, stride, n, d_pw, nseg, c0);
        SPW_CUDA_LAUNCHED("k_dot");
    }
    SPW_CUDA_TRY(spw_cuda_copy_counted(h_partial, d_partial, ncols * nseg * sizeof(fe3),
                                       cudaMemcpyDeviceToHost, (cudaStream_t)s),
                 "spw_gpu_dot_host: copy back");
    SPW_CUDA_TRY(cudaStreamSynchronize((cudaStream_t)s), "k_dot");
    for (size_t c = 0; c < ncols; c++) {
        fe3 acc = fe3_zero();
        for (size_t g = 0; g < nseg; g++) acc = fe3_add(acc, h_partial[c * nseg + g]);
        h_out[c] = acc;
    }
    return SPW_OK;
}
