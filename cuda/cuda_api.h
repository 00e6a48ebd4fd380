/*
 * cuda_api.h - the C-callable surface of the CUDA backend: thin extern "C"
 * launchers, each returning an spw_status. Included by C code only under
 * #ifdef SPW_HAVE_CUDA; scheduling stays in C, kernels stay in cuda/.
 *
 * Conventions of every launcher below:
 *   - Pointers named d_* are device pointers (from spw_cuda_arena_alloc);
 *     h_* are host pointers.
 *   - Work is queued on `stream` (NULL = the legacy default stream) and is
 *     NOT waited for unless the name ends in _host; call
 *     spw_cuda_stream_sync() before reading results on the host.
 *   - Every device allocation (twiddle tables, scratch) is taken from the
 *     arena passed in, so the arena's peak is the backend's true peak.
 *   - On failure a launcher returns a status and leaves a one-line message
 *     in spw_cuda_last_error() (thread-local), for spw_fail(ctx, s, "%s", ..).
 */
#ifndef SPW_CUDA_API_H
#define SPW_CUDA_API_H

#include "spillway.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when the driver or a GPU is missing). */
int spw_cuda_device_count(void);

/* Name and memory of device 0, for logs and `spillway --version`. */
spw_status spw_cuda_device_info(char *name, size_t name_len, uint64_t *total_mem,
                                uint64_t *free_mem);

/* Message of the last failing launcher on this thread ("" if none). */
const char *spw_cuda_last_error(void);

/* Number of kernels the backend has launched since the process started
 * (all threads). Tests and run statistics use it to prove that the device
 * path actually ran. */
uint64_t spw_cuda_kernel_launches(void);

/* ---- streams and copies ------------------------------------------------ */

/* ABI-compatible with cudaStream_t; NULL is the default stream. */
typedef struct CUstream_st *spw_cuda_stream;

spw_status spw_cuda_stream_create(spw_cuda_stream *out);
void spw_cuda_stream_destroy(spw_cuda_stream s); /* NULL ok */
spw_status spw_cuda_stream_sync(spw_cuda_stream s);
/* Asynchronous copy in any direction (cudaMemcpyDefault: the pointers say
 * which); asynchronous with respect to the host only for pinned host memory. */
spw_status spw_cuda_memcpy_async(void *dst, const void *src, size_t bytes, spw_cuda_stream s);
/* 2D copy in any direction (cudaMemcpy2DAsync): height rows of width
 * bytes, row pitches dpitch and spitch (bytes). Host<->device copies are
 * counted by bytes like spw_cuda_memcpy_async (not timed). */
spw_status spw_cuda_memcpy2d_async(void *dst, size_t dpitch, const void *src, size_t spitch,
                                   size_t width, size_t height, spw_cuda_stream s);
spw_status spw_cuda_memset_async(void *d_dst, int value, size_t bytes, spw_cuda_stream s);
/* Events order work across streams (copy streams beside a compute
 * stream): record on one stream, make another wait for it, or wait on the
 * host. Timing is disabled (cheaper). */
typedef struct CUevent_st *spw_cuda_event;
spw_status spw_cuda_event_create(spw_cuda_event *out);
void spw_cuda_event_destroy(spw_cuda_event e); /* NULL ok */
spw_status spw_cuda_event_record(spw_cuda_event e, spw_cuda_stream s);
spw_status spw_cuda_stream_wait_event(spw_cuda_stream s, spw_cuda_event e);
spw_status spw_cuda_event_sync(spw_cuda_event e);
/* Host <-> device traffic of this process so far (all threads): bytes of
 * every copy queued through spw_cuda_memcpy_async, the rounds' own
 * read-backs and the spill stager, by direction; seconds = summed duration
 * of those copies on the device (timing events around each copy; copies
 * that overlap each other are counted each). spw_cuda_copy_totals waits for
 * the copies still in flight, so call it after syncing the streams; the
 * byte counters below do not wait. Run statistics take the difference of
 * two snapshots (links "host->device" and "device->host"). */
typedef struct spw_cuda_copy_stats {
    uint64_t h2d_bytes, d2h_bytes;
    double h2d_seconds, d2h_seconds;
} spw_cuda_copy_stats;
void spw_cuda_copy_totals(spw_cuda_copy_stats *out);
uint64_t spw_cuda_bytes_h2d(void);
uint64_t spw_cuda_bytes_d2h(void);
/* Page-locked host memory for streaming (counted by the caller's host
 * budget, not by the device arena). */
spw_status spw_cuda_host_alloc(void **out, size_t bytes);
void spw_cuda_host_free(void *p); /* NULL ok */

/* ---- device memory arena ---------------------------------------------- */

/* One arena per device context. spw_cuda_arena_create reserves `budget`
 * bytes (rounded down to 256) with ONE cudaMalloc up front, so the driver
 * can never run out underneath the prover; allocations are first-fit
 * sub-allocations of that block, 256-byte aligned, with neighbouring free
 * blocks coalesced on free. Thread-safe (one mutex).
 * Errors: SPW_ERR_INVALID_ARG (budget < 256), SPW_ERR_DEVICE_OOM (the
 * device cannot reserve the budget; message says how much is free),
 * SPW_ERR_NO_CUDA (no device). */
typedef struct spw_cuda_arena spw_cuda_arena;

spw_status spw_cuda_arena_create(spw_cuda_arena **out, uint64_t budget);
void spw_cuda_arena_destroy(spw_cuda_arena *a); /* NULL ok; frees everything */
/* *d_out receives a 256-byte-aligned device pointer of at least `bytes`
 * bytes (bytes == 0 gives NULL and SPW_OK). SPW_ERR_DEVICE_OOM with a
 * message (request, in use, budget, largest free block) when it does not
 * fit; the arena is unchanged then. */
spw_status spw_cuda_arena_alloc(spw_cuda_arena *a, void **d_out, uint64_t bytes);
/* Returns a block; NULL ok. SPW_ERR_INVALID_ARG for a pointer the arena
 * did not hand out (or handed out and already took back). */
spw_status spw_cuda_arena_free(spw_cuda_arena *a, void *d_ptr);
uint64_t spw_cuda_arena_budget(const spw_cuda_arena *a);
uint64_t spw_cuda_arena_in_use(const spw_cuda_arena *a);  /* bytes, rounded to 256 */
uint64_t spw_cuda_arena_peak(const spw_cuda_arena *a);    /* max of in_use */
uint64_t spw_cuda_arena_largest_free(const spw_cuda_arena *a);
void spw_cuda_arena_reset_peak(spw_cuda_arena *a);        /* peak := in_use */

/* ---- NTT / LDE (conventions of src/ntt.h: natural order in and out) ---- */

/* Forward / inverse NTT of ncols columns of n = 2^log_n values, column c at
 * d_cols + c*stride (stride >= n), in place. log_n in [0, 32].
 * The first call on an arena builds the twiddle tables in it (~1.5 MiB,
 * kept until the arena is destroyed). */
spw_status spw_cuda_ntt_forward_batch(spw_cuda_arena *a, spw_cuda_stream s, uint64_t *d_cols,
                                      size_t ncols, size_t stride, unsigned log_n);
spw_status spw_cuda_ntt_inverse_batch(spw_cuda_arena *a, spw_cuda_stream s, uint64_t *d_cols,
                                      size_t ncols, size_t stride, unsigned log_n);
/* Coset LDE as spw_lde_batch: d_in holds ncols columns of n trace values
 * (column c at d_in + c*n), d_out receives ncols columns of n*blowup values
 * on GL_GENERATOR * <w_{n*blowup}> (column c at d_out + c*n*blowup).
 * d_in is not modified. Scratch: up to ncols*n*8 bytes from the arena
 * (fewer columns at a time when that does not fit). blowup in {2,4,8}. */
spw_status spw_cuda_lde_batch(spw_cuda_arena *a, spw_cuda_stream s, uint64_t *d_out,
                              const uint64_t *d_in, size_t ncols, unsigned log_n,
                              unsigned blowup);
/* The same onto the coset shift * <w_{n*blowup}> (shift != 0, canonical). */
spw_status spw_cuda_lde_shift_batch(spw_cuda_arena *a, spw_cuda_stream s, uint64_t *d_out,
                                    const uint64_t *d_in, size_t ncols, unsigned log_n,
                                    unsigned blowup, uint64_t shift);
/* Number of global-memory passes (kernel sweeps over the data) the calls
 * above make, for reports. */
unsigned spw_cuda_ntt_passes(unsigned log_n);
unsigned spw_cuda_lde_passes(unsigned log_n, unsigned blowup);

/* Host-memory conveniences for tests and tools: copy in, run, copy out,
 * wait. Device memory comes from the arena and is returned. */
spw_status spw_cuda_ntt_forward_batch_host(spw_cuda_arena *a, uint64_t *h_cols, size_t ncols,
                                           size_t stride, unsigned log_n);
spw_status spw_cuda_ntt_inverse_batch_host(spw_cuda_arena *a, uint64_t *h_cols, size_t ncols,
                                           size_t stride, unsigned log_n);
spw_status spw_cuda_lde_batch_host(spw_cuda_arena *a, uint64_t *h_out, const uint64_t *h_in,
                                   size_t ncols, unsigned log_n, unsigned blowup, uint64_t shift);

/* ---- BLAKE3 / Merkle (conventions of src/blake3.h, src/merkle.h) ------ */

/* Digests are 32 bytes each (spw_digest layout). */

/* leaf i = BLAKE3 of row i: the little-endian u64 of columns 0..ncols-1
 * (column c at d_cols + c*stride), any width (multi-chunk beyond 128
 * columns), standard BLAKE3. d_leaves receives nrows digests. */
spw_status spw_cuda_merkle_leaves(spw_cuda_stream s, uint8_t *d_leaves, const uint64_t *d_cols,
                                  size_t ncols, size_t stride, size_t nrows);
/* d_out[i] = BLAKE3(d_in[2i] || d_in[2i+1]) for i < npairs (one tree level). */
spw_status spw_cuda_merkle_nodes(spw_cuda_stream s, uint8_t *d_out, const uint8_t *d_in,
                                 size_t npairs);
/* Full tree in heap layout: d_nodes holds 2*nrows digests; nodes[nrows+i]
 * = leaf i, nodes[1] = root, nodes[0] untouched. nrows a power of two. */
spw_status spw_cuda_merkle_build(spw_cuda_stream s, uint8_t *d_nodes, const uint64_t *d_cols,
                                 size_t ncols, size_t stride, size_t nrows);
/* Upper levels only, from leaves already at d_nodes[n..2n). */
spw_status spw_cuda_merkle_build_from_leaves(spw_cuda_stream s, uint8_t *d_nodes, size_t n);
/* Authentication paths: for query q (d_idx[q] < n = 2^log_leaves),
 * d_paths[q*log_leaves + l] = sibling at height l (bottom up), as
 * spw_merkle_path. */
spw_status spw_cuda_merkle_paths(spw_cuda_stream s, uint8_t *d_paths, const uint8_t *d_nodes,
                                 unsigned log_leaves, const uint64_t *d_idx, size_t nq);

/* Host conveniences (tests): copy in, run, copy out, wait. */
spw_status spw_cuda_merkle_leaves_host(spw_cuda_arena *a, uint8_t *h_leaves,
                                       const uint64_t *h_cols, size_t ncols, size_t stride,
                                       size_t nrows);
/* h_nodes: 2*nrows digests as spw_merkle.nodes. */
spw_status spw_cuda_merkle_build_host(spw_cuda_arena *a, uint8_t *h_nodes, const uint64_t *h_cols,
                                      size_t ncols, size_t stride, size_t nrows);
spw_status spw_cuda_merkle_paths_host(spw_cuda_arena *a, uint8_t *h_paths, const uint8_t *h_nodes,
                                      unsigned log_leaves, const uint64_t *h_idx, size_t nq);

#ifdef __cplusplus
}
#endif
#endif /* SPW_CUDA_API_H */
