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

/* A device buffer and one stream with an event per host slot, for staged
 * NVMe -> pinned -> device streaming: copy slot k asynchronously, wait for
 * slot k's previous copy before refilling its host buffer. */
typedef struct spw_cuda_stager spw_cuda_stager;
spw_status spw_cuda_stager_create(spw_cuda_stager **out, size_t dev_bytes, unsigned slots);
/* Queues host[0..bytes) -> device[dev_off..) and records slot's event. */
spw_status spw_cuda_stager_h2d(spw_cuda_stager *s, unsigned slot, const void *host, size_t bytes,
                               size_t dev_off);
/* Waits until slot's last queued copy has finished. */
spw_status spw_cuda_stager_wait(spw_cuda_stager *s, unsigned slot);
void spw_cuda_stager_free(spw_cuda_stager *s);

#ifdef __cplusplus
}
#endif
#endif /* SPW_PINNED_API_H */
