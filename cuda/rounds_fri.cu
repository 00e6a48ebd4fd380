// rounds_fri.cu - the streaming device tier's FRI layer conversions
// (rounds_fri.h): natural-order fe3 arrays <-> the leaf layout of
// rounds_api.h, one thread per (value, coefficient). Kernels + thin
// launchers; the scheduling is in src/sched/dev.c.
#include "cuda_internal.cuh"
#include "rounds_fri.h"

#define TPB 256

// Element e = 3i + j of the chunk: coefficient j of value k = k0 + i, at
// row k mod h of leaf column j (k < h) or 3 + j (k >= h).
__device__ __forceinline__ size_t leaf_index(size_t e, size_t h, size_t k0)
{
    size_t i = e / 3, j = e - 3 * i, k = k0 + i;
    return (k >= h ? 3 + j : j) * h + (k & (h - 1));
}

// to_leaf: aos -> leaf, else leaf -> aos (one kernel, both directions).
__global__ void k_fri_convert(uint64_t *leaf, uint64_t *aos, size_t h, size_t k0, size_t m, int to_leaf)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < m;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t o = leaf_index(e, h, k0);
        if (to_leaf) leaf[o] = aos[e];
        else aos[e] = leaf[o];
    }
}

static spw_status convert(spw_cuda_stream s, uint64_t *leaf, uint64_t *aos, size_t h, size_t k0,
                          size_t n, int to_leaf)
{
    const char *what = to_leaf ? "k_fe3_to_leaf" : "k_leaf_to_fe3";
    if (!h || (h & (h - 1)) || k0 > 2 * h || n > 2 * h - k0)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "%s: values [%zu, %zu) of a layer of %zu",
                                  what, k0, k0 + n, 2 * h);
    if (!n) return SPW_OK;
    size_t b = (3 * n + TPB - 1) / TPB;
    k_fri_convert<<<(unsigned)(b < 65536 ? b : 65536), TPB, 0, (cudaStream_t)s>>>(leaf, aos, h, k0,
                                                                                3 * n, to_leaf);
    SPW_CUDA_LAUNCHED(what);
    return SPW_OK;
}

extern "C" spw_status spw_gpu_fe3_to_leaf(spw_cuda_stream s, uint64_t *d_leaf, size_t h,
                                          const uint64_t *d_aos, size_t k0, size_t n)
{
    return convert(s, d_leaf, (uint64_t *)d_aos, h, k0, n, 1);
}

extern "C" spw_status spw_gpu_leaf_to_fe3(spw_cuda_stream s, uint64_t *d_aos, const uint64_t *d_leaf,
                                          size_t h, size_t k0, size_t n)
{
    return convert(s, (uint64_t *)d_leaf, d_aos, h, k0, n, 0);
}
