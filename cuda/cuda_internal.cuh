// cuda_internal.cuh - helpers shared by the backend's .cu files: error
// recording for spw_cuda_last_error(), the launch counter, and the arena's
// hook for lazily built per-arena tables. Not part of the C surface.
#ifndef SPW_CUDA_INTERNAL_CUH
#define SPW_CUDA_INTERNAL_CUH

#include "cuda_api.h"
#include <cuda_runtime.h>

// Records a printf-style message as this thread's last error; returns s.
spw_status spw_cuda_set_error(spw_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// Counts `n` kernel launches (see spw_cuda_kernel_launches).
void spw_cuda_count_launch(uint64_t n);
// cudaMemcpyAsync that counts host->device and device->host bytes and
// times the copy (spw_cuda_copy_totals); kind cudaMemcpyDefault looks the
// direction up from the pointers. Device-to-device copies are not counted.
cudaError_t spw_cuda_copy_counted(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                  cudaStream_t s);
// Maps a CUDA error (after a launch or API call) to SPW_ERR_CUDA + message.
spw_status spw_cuda_check(cudaError_t e, const char *what);
// After a kernel launch: checks the launch error and counts it.
#define SPW_CUDA_LAUNCHED(what)                                         \
    do {                                                                \
        cudaError_t spw_e_ = cudaGetLastError();                        \
        if (spw_e_ != cudaSuccess) return spw_cuda_check(spw_e_, what); \
        spw_cuda_count_launch(1);                                       \
    } while (0)
#define SPW_CUDA_TRY(call, what)                                        \
    do {                                                                \
        cudaError_t spw_e_ = (call);                                    \
        if (spw_e_ != cudaSuccess) return spw_cuda_check(spw_e_, what); \
    } while (0)

// NTT twiddle tables owned by an arena (built on first use, see ntt.cu).
struct spw_cuda_twiddles {
    uint64_t *fwd_lo, *fwd_hi, *inv_lo, *inv_hi;
};
// Returns the arena's tables, building them (in the arena) on first call.
spw_status spw_cuda_arena_twiddles(spw_cuda_arena *a, const spw_cuda_twiddles **out);
spw_status spw_cuda_build_twiddles(spw_cuda_arena *a, spw_cuda_twiddles *tw);

#endif
