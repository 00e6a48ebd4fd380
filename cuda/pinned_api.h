/*
 * pinned_api.h - CUDA launchers of the spill layer (cuda/pinned.cu):
 * page-locking the pinned host pool and measuring pinned host<->device
 * bandwidth for `spillway probe`. Included by C code only under
 * #ifdef SPW_HAVE_CUDA.
 */
#ifndef SPW_PINNED_API_H
#define SPW_PINNED_API_H

#include "spillway.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cudaHostRegister(base, len, portable) / cudaHostUnregister. */
spw_status spw_cuda_host_register(void *base, size_t len);
void spw_cuda_host_unregister(void *base);

/* Copies `bytes` from pinned host memory `host` to a device buffer and back
 * `iters` times (async copies on one stream, timed with events); returns
 * the GB/s (1e9 bytes/s) of each direction. */
spw_status spw_cuda_pinned_bandwidth(double *h2d_gbs, double *d2h_gbs, void *host, size_t bytes,
                                     unsigned iters);

#ifdef __cplusplus
}
#endif
#endif /* SPW_PINNED_API_H */
