/*
 * spill.h - the column store: chunks of columns with a home tier, living in
 * the pinned host pool and/or the NVMe spill file, moved between them under
 * budgets. This is the interface the planner and the streaming prover call
 * (docs/SPILL.md). Not installed.
 *
 * Thread safety: every function here may be called from any thread at any
 * time on the same store, except spw_spill_free (no other call may be in
 * progress or follow). Two threads may pin the same chunk (pins count);
 * writing the memory of a pinned chunk from two threads at once is the
 * callers' business. Chunk data moved by spw_spill_read/write with a token
 * must stay valid (and untouched) until spw_spill_wait on that token.
 */
#ifndef SPW_SPILL_H
#define SPW_SPILL_H

#include "spill_io.h"
#include <stdio.h>

typedef struct spw_spill spw_spill;
struct spw_cuda_arena; /* cuda/cuda_api.h */
typedef uint32_t spw_chunk; /* handle; 0 is never a valid chunk */
typedef uint64_t spw_token; /* completion token of an asynchronous operation */

typedef enum spw_tier {
    SPW_TIER_NONE = -1, /* never written: reads as zeros, holds no memory */
    SPW_TIER_VRAM = 0,  /* device memory, sub-allocated from the CUDA arena */
    SPW_TIER_HOST = 1,  /* the pinned host pool */
    SPW_TIER_NVME = 2   /* the spill file */
} spw_tier;

/* What the data is; decides compression (only TRACE chunks are tried). */
typedef enum spw_chunk_kind {
    SPW_CHUNK_TRACE = 0, /* u64 trace values, often small: narrowing/shuffle + zstd */
    SPW_CHUNK_LDE = 1,   /* extended columns: never compressed */
    SPW_CHUNK_HASH = 2,  /* digests / Merkle nodes: never compressed */
    SPW_CHUNK_OTHER = 3  /* anything else: never compressed */
} spw_chunk_kind;

typedef struct spw_spill_opts {
    const char *dir;       /* spill directory; NULL = no NVMe tier */
    uint64_t host_budget;  /* bytes of pinned host pool (> 0) */
    uint64_t nvme_budget;  /* bytes reserved in dir with fallocate (0 = no NVMe tier) */
    unsigned queue_depth;  /* NVMe requests in flight (0 = 8) */
    uint32_t request_size; /* bytes per NVMe request (0 = 4 MiB) */
    int engine;            /* SPW_IO_AUTO / SPW_IO_URING / SPW_IO_THREADS */
    int require_direct;    /* 1 = refuse a file system without O_DIRECT */
    int compress;          /* TRACE chunks: 1 = adaptive zstd (default; skipped while
                            * compressing is slower than the disk), 2 = always
                            * try zstd, 0 = never */
    int register_cuda;     /* 1 = cudaHostRegister the pool when a GPU is present (default) */
    uint64_t fault_n;      /* fault injection (tests): the fault_n-th I/O op fails ... */
    int fault_kind;        /* ... with SPW_FAULT_* */
    /* The VRAM tier (docs/SPILL.md): present when vram_arena or vram_budget
     * is set; needs the CUDA backend and a GPU (else SPW_ERR_NO_CUDA at
     * create). Device memory comes only from the arena: vram_arena (the
     * caller's, shared, outlives the store) or, when NULL, one the store
     * creates with vram_budget bytes. With both, the store uses at most
     * vram_budget bytes of the caller's arena. */
    struct spw_cuda_arena *vram_arena;
    uint64_t vram_budget;
    /* Tests only: a VRAM tier of vram_budget bytes EMULATED in host memory
     * (malloc; copies are memcpy), so the tier's residency, eviction and
     * accounting logic runs without a GPU. Never chosen automatically. */
    int vram_emulate;
} spw_spill_opts;

typedef struct spw_spill_stats {
    uint64_t host_budget, host_in_use, host_peak, host_pinned; /* pool bytes */
    uint64_t nvme_budget, nvme_in_use, nvme_peak;              /* spill-file bytes */
    uint64_t bytes_host_to_nvme, bytes_nvme_to_host; /* moved on the link, headers included */
    uint64_t logical_to_nvme, logical_from_nvme;     /* chunk bytes those moves carried */
    uint64_t evictions, loads, writebacks;
    uint64_t chunks_compressed, chunks_raw, compress_skipped_slow; /* TRACE chunk writes */
    uint64_t scratch_peak;  /* largest codec scratch (outside the pool) */
    uint64_t async_errors;  /* failed fire-and-forget prefetch/write-back */
    int pool_cuda_registered;
    double pool_register_s; /* faulting in and registering pool segments */
    spw_io_stats io;        /* zero when there is no NVMe tier */
    /* VRAM tier (all zero without one). vram_* count the store's own arena
     * blocks (chunk sizes rounded up to 256 bytes, as the arena does). */
    int vram_tier, vram_emulated; /* emulated: opts.vram_emulate (tests) */
    uint64_t vram_budget, vram_in_use, vram_peak, vram_pinned;
    uint64_t arena_peak;    /* the arena's own measured peak (all its users) */
    uint64_t bytes_host_to_dev, bytes_dev_to_host; /* chunk bytes copied on the link */
    uint64_t dev_loads;     /* chunks copied host -> device */
    uint64_t dev_zero_fills; /* never-written chunks made resident by a device memset */
    uint64_t dev_evictions; /* device copies released (evicted, moved down, dropped) */
} spw_spill_stats;

void spw_spill_opts_default(spw_spill_opts *o);
/* Creates the pool, validates the directory and reserves the NVMe budget:
 * a bad directory or a full disk fails here, naming the directory. */
spw_status spw_spill_create(spw_ctx *ctx, spw_spill **out, const spw_spill_opts *opts);
/* Checks, before any work, that dir can hold a spill file of `bytes` bytes:
 * exists, is a writable directory, accepts an unlinked file and the
 * fallocate reservation (released again). Errors name the directory. */
spw_status spw_spill_check_dir(spw_ctx *ctx, const char *dir, uint64_t bytes);
/* Waits for queued operations, then releases everything. NULL is fine. */
void spw_spill_free(spw_spill *s);

/* A chunk of `bytes` bytes (reads as zeros until written). home = HOST:
 * never evicted once resident; NVME: may be evicted to the spill file;
 * VRAM: lives on the device while pinned there or room allows, evicted to
 * the pool (and on to NVMe) under the VRAM budget; SPW_ERR_UNSUPPORTED when
 * the store has no VRAM tier (the message says why: no CUDA backend, no GPU,
 * or none configured). name (may be NULL) appears in error messages, e.g.
 * "main/col3/rows0-65535". */
spw_status spw_spill_chunk_new(spw_spill *s, spw_chunk *out, uint64_t bytes, spw_chunk_kind kind,
                               spw_tier home, const char *name);
/* Releases a chunk's memory and disk extent (not while pinned). */
spw_status spw_spill_chunk_free(spw_spill *s, spw_chunk c);

/* Makes the chunk resident in the pinned pool (loading it from NVMe and
 * evicting others if needed) and returns its address; it stays resident
 * and is never evicted until the matching unpin. Blocking. For a VRAM
 * chunk this moves its data down from the device (SPW_ERR_INVALID_ARG
 * while it is pinned on the device); read and write do the same. */
spw_status spw_spill_pin(spw_spill *s, void **ptr, spw_chunk c);
/* Pool bytes that pins could still take: the pool less the chunks homed
 * there (resident or not) and the pinned ones. */
uint64_t spw_spill_pinnable(spw_spill *s);
/* Like spw_spill_pin, for a caller that overwrites the whole chunk: no
 * zero-fill and no read-back of the old contents. Unpin with dirty = 1. */
spw_status spw_spill_pin_overwrite(spw_spill *s, void **ptr, spw_chunk c);
/* Starts nthreads cleaner threads that write dirty chunks back ahead of
 * eviction, keeping clean_bytes of the pool free or clean. */
spw_status spw_spill_write_behind(spw_spill *s, unsigned nthreads, uint64_t clean_bytes);
/* dirty = 1 when the caller modified the memory. */
spw_status spw_spill_unpin(spw_spill *s, spw_chunk c, int dirty);

/* Copies len bytes at byte offset off of the chunk into dst / from src.
 * tok == NULL: synchronous. Otherwise queued; *tok is its token. */
spw_status spw_spill_read(spw_spill *s, spw_token *tok, void *dst, spw_chunk c, uint64_t off,
                          uint64_t len);
spw_status spw_spill_write(spw_spill *s, spw_token *tok, spw_chunk c, uint64_t off,
                           const void *src, uint64_t len);
/* Queues loading the chunk into the pool (tok may be NULL: fire and forget,
 * failures counted in stats.async_errors and reported again on use). For a
 * VRAM chunk: queues making it resident on the device. */
spw_status spw_spill_prefetch(spw_spill *s, spw_token *tok, spw_chunk c);
/* Queues writing a dirty resident chunk to NVMe; drop = 1 also frees its
 * pool memory afterwards (an explicit eviction). For a VRAM chunk on the
 * device: a dirty device copy goes device -> pool -> NVMe (the pool copy
 * is released), drop = 1 then also frees the device copy. */
spw_status spw_spill_writeback(spw_spill *s, spw_token *tok, spw_chunk c, int drop);
/* Waits for one queued operation and returns its status (once per token). */
spw_status spw_spill_wait(spw_spill *s, spw_token tok);
/* Waits until every queued operation has run. */
void spw_spill_drain(spw_spill *s);
/* The chunks needed next, soonest first: eviction spares them (evicting the
 * one needed last first) and takes least-recently-used chunks before. */
spw_status spw_spill_hint(spw_spill *s, const spw_chunk *next, size_t n);

/* ---- VRAM tier ------------------------------------------------------------
 * Device pointers come from the arena (256-byte aligned). pin_device makes a
 * VRAM chunk resident on the device (uploading it from the pool, loading it
 * from NVMe into the pool first when needed: never from pageable memory),
 * evicting other unpinned device chunks to the pool under the VRAM budget
 * (unhinted least-recently-used first, then the hinted one needed last).
 * It blocks until the data is on the device; a chunk never written is
 * zero-filled there. Kernels using *dptr must have finished (stream synced)
 * before unpin_device; dirty = 1 when they modified it. A chunk is never
 * pinned on the host and on the device at once (SPW_ERR_INVALID_ARG). */
spw_status spw_spill_pin_device(spw_spill *s, void **dptr, spw_chunk c);
spw_status spw_spill_unpin_device(spw_spill *s, spw_chunk c, int dirty);
/* Queues moving a VRAM chunk from the device to the pool (device -> host
 * copy only when the device copy is newer than the pool/NVMe copy). */
spw_status spw_spill_evict_device(spw_spill *s, spw_token *tok, spw_chunk c);
/* The arena the VRAM tier allocates from (NULL without a VRAM tier). */
struct spw_cuda_arena *spw_spill_vram_arena(spw_spill *s);

/* Where the chunk's current data is: VRAM when on the device, HOST when in
 * the pool, else NVME, else NONE. */
spw_tier spw_spill_where(spw_spill *s, spw_chunk c);
void spw_spill_get_stats(spw_spill *s, spw_spill_stats *out);

#endif /* SPW_SPILL_H */

/* ---- probe: measured bandwidths for the planner's cost model ------------- */

typedef struct spw_spill_probe_result {
    char dir[256];
    int engine, direct;
    uint32_t align, queue_depth, request_size;
    uint64_t size;
    double write_gbs, read_gbs; /* sequential, through the engine (1e9 B/s) */
    int have_gpu;
    double h2d_gbs, d2h_gbs;    /* pinned host <-> device, when have_gpu */
    double stream_gbs;          /* NVMe -> pinned -> device, two staged slots */
    double stream_ratio;        /* stream wall time / the slower link alone (target <= 1.1) */
    /* CPU calibration of the planner's compute model (spw_spill_probe_cpu;
     * all 0 when not measured, e.g. a file from an older probe) */
    unsigned cpu_threads;       /* threads the kernels ran on */
    double ntt_ns_per_elem_log; /* coset LDE wall ns / (cols x LDE points x (log LDE points + 2)) */
    double hash_gbs;            /* Merkle tree build, 1e9 B/s of (8 x cols + 32) B per row */
} spw_spill_probe_result;

/* Writes then reads `size` bytes sequentially in dir through the engine
 * (queue_depth, request_size, engine as in spw_spill_opts; 0 = defaults),
 * and measures pinned host<->device copies when a GPU is present. */
spw_status spw_spill_probe(spw_ctx *ctx, spw_spill_probe_result *out, const char *dir,
                           uint64_t size, unsigned queue_depth, uint32_t request_size, int engine);
/* Calibrates the CPU on ctx's threads (under 2 s): a batched coset LDE
 * (blowup 4) of ncols columns of 2^log_n rows, and a Merkle tree over
 * ncols columns of 2^(log_n + 2) rows (0 = defaults: 16 columns, 2^18
 * rows; about 260 MiB), each repeated for a fraction of a second; sets cpu_threads,
 * ntt_ns_per_elem_log and hash_gbs of out (the rest untouched). */
spw_status spw_spill_probe_cpu(spw_ctx *ctx, spw_spill_probe_result *out, unsigned log_n,
                               unsigned ncols);
/* key=value text, one per line (the format `spillway probe --save` writes). */
spw_status spw_spill_probe_save(spw_ctx *ctx, const char *path, const spw_spill_probe_result *r);
spw_status spw_spill_probe_load(spw_ctx *ctx, spw_spill_probe_result *out, const char *path);
void spw_spill_probe_print(FILE *f, const spw_spill_probe_result *r);
