/*
 * spill_io.h - internals of the spill layer below the column store: the
 * range allocator (pool and spill-file extents), the NVMe I/O engine
 * (io_uring, or a pread/pwrite thread pool), the pinned host pool and the
 * chunk codec (byte shuffle / narrowing + zstd). Not installed; the planner
 * and prover use spill/spill.h.
 */
#ifndef SPW_SPILL_IO_H
#define SPW_SPILL_IO_H

#include "internal.h"
#include <stdint.h>
#include <stddef.h>

/* ---- range allocator: first fit over a sorted free list, coalescing ---- */

typedef struct spw_range { uint64_t off, len; } spw_range;
typedef struct spw_ranges {
    spw_range *free;  /* sorted by off, no two adjacent */
    size_t n, cap;
    uint64_t total, used, peak;
    uint64_t seg;     /* nonzero: no range of len <= seg crosses a multiple of seg
                         (the pool's separately page-locked segments) */
} spw_ranges;

spw_status spw_ranges_init(spw_ranges *r, uint64_t total);
void spw_ranges_destroy(spw_ranges *r);
/* 0 and *off set on success, -1 when no free range fits (or OOM). */
int spw_ranges_alloc(spw_ranges *r, uint64_t *off, uint64_t len, uint64_t align);
void spw_ranges_free(spw_ranges *r, uint64_t off, uint64_t len);
/* Largest free range (for error messages). */
uint64_t spw_ranges_largest(const spw_ranges *r);

/* ---- I/O engine -------------------------------------------------------- */

enum { SPW_IO_AUTO = 0, SPW_IO_URING = 1, SPW_IO_THREADS = 2 };

/* Fault kinds for SPW_FAULT_INJECTION builds. */
enum {
    SPW_FAULT_NONE = 0,
    SPW_FAULT_EIO = 1,     /* the op fails with EIO */
    SPW_FAULT_ENOSPC = 2,  /* the op fails with ENOSPC */
    SPW_FAULT_SHORT = 3,   /* the op transfers only part of its bytes */
    SPW_FAULT_CORRUPT = 4, /* a byte is flipped on its way to/from disk */
    SPW_FAULT_EAGAIN = 5   /* the op returns EAGAIN once (must be retried) */
};

typedef struct spw_io_opts {
    unsigned queue_depth;  /* requests in flight; 0 = 8 */
    uint32_t request_size; /* bytes per request; 0 = 4 MiB; multiple of the alignment */
    int engine;            /* SPW_IO_*; AUTO honours SPW_SPILL_ENGINE=uring|threads */
    int require_direct;    /* refuse a file system without O_DIRECT */
    uint64_t fault_n;      /* make the fault_n-th I/O op fail (1-based; 0 = never) */
    int fault_kind;        /* SPW_FAULT_* */
} spw_io_opts;

typedef struct spw_io_seg {
    void *buf;    /* aligned to spw_io_mem_align() */
    uint64_t len; /* multiple of spw_io_align() */
    uint64_t off; /* multiple of spw_io_align() */
} spw_io_seg;

typedef struct spw_io_stats {
    uint64_t ops;             /* I/O operations issued (fallocate + requests) */
    uint64_t bytes_read, bytes_written;
    uint64_t retries;         /* EAGAIN / EINTR resubmissions */
    uint64_t short_resubmits; /* short transfers continued */
    int engine;               /* SPW_IO_URING or SPW_IO_THREADS */
    int engine_fallback;      /* 1 when io_uring was wanted but unavailable */
    int direct;               /* 1 with O_DIRECT, 0 buffered (fallback) */
    int tmpfs;                /* 1 when the directory is on tmpfs */
    int reg_files, reg_buffers;
    uint32_t align, mem_align;
} spw_io_stats;

typedef struct spw_io spw_io;

/* Checks dir (exists, is a directory, writable), creates an unlinked spill
 * file in it (O_TMPFILE, else create + unlink), opens it O_DIRECT, learns
 * the alignment (statx DIOALIGN, else 4 KiB), reserves `reserve` bytes with
 * fallocate and starts the engine. Every failure names the directory. */
spw_status spw_io_open(const spw_ctx *ctx, spw_io **out, const char *dir, uint64_t reserve,
                       const spw_io_opts *opts);
void spw_io_close(spw_io *io);
/* Registers [base, base+len) as io_uring fixed buffers when the engine and
 * the memlock limit allow; silently (logged at INFO) does nothing otherwise.
 * Call at most once, before any I/O. */
void spw_io_register(spw_io *io, void *base, size_t len);
/* Reads (write = 0) or writes all segments, request_size pieces with up to
 * queue_depth in flight. Thread-safe (transfers are serialised). */
spw_status spw_io_rw(spw_io *io, int write, const spw_io_seg *segs, size_t n);
uint32_t spw_io_align(const spw_io *io);
uint32_t spw_io_mem_align(const spw_io *io);
void spw_io_get_stats(spw_io *io, spw_io_stats *st);
const char *spw_io_engine_name(int engine);

/* ---- pinned host pool --------------------------------------------------- */

typedef struct spw_pool {
    uint8_t *base;
    uint64_t len;
    int cuda_registered; /* cudaHostRegister'ed: usable for async device copies */
    uint64_t seg;        /* registered in segments of seg bytes (0: not registered);
                            no device copy may cross a segment boundary */
    uint64_t nseg, nreg; /* segments; registered so far (a prefix) */
    const spw_ctx *ctx;  /* threads for the registration */
    double ensure_s;     /* seconds spent faulting in and registering segments */
} spw_pool;

/* One anonymous mmap of len bytes (rounded up to 2 MiB), registered with
 * CUDA when register_cuda is set, CUDA is compiled in and a GPU is present:
 * in segments of SPW_POOL_SEG bytes, each faulted in and registered by its
 * own thread (one cudaHostRegister of the whole pool after a parallel
 * pre-fault ran at 3-5 GB/s on the H100 host; segments in parallel at
 * ~24 GB/s once the machine's memory had been touched before). Segments
 * are registered on demand, as the store first allocates into them
 * (spw_pool_ensure; the allocator fills the pool from its start), so a
 * pool sized by a generous host budget costs only what the run uses. The
 * store's range allocator keeps chunks inside a segment. */
#define SPW_POOL_SEG ((uint64_t)1 << 30)
#define SPW_POOL_AHEAD 4 /* segments registered at once, in parallel */
/* Registers the segments holding [0, end) that are not yet (and up to
 * SPW_POOL_AHEAD - 1 more); no-op for an unregistered pool. */
spw_status spw_pool_ensure(spw_pool *p, uint64_t end);
spw_status spw_pool_create(const spw_ctx *ctx, spw_pool *p, uint64_t len, int register_cuda);
void spw_pool_destroy(spw_pool *p);

/* ---- chunk codec -------------------------------------------------------- */

enum {
    SPW_CODEC_RAW = 0,
    SPW_CODEC_ZSTD = 1,        /* zstd of the bytes */
    SPW_CODEC_SHUF_ZSTD = 2,   /* zstd of the 8 byte planes of u64 words */
    SPW_CODEC_NARROW_ZSTD = 3  /* zstd of u64 words narrowed to param bytes */
};

/* Byte shuffle of n u64 words: dst[b*n + i] = byte b of word i. */
void spw_shuffle8(uint8_t *dst, const uint8_t *src, size_t n);
void spw_unshuffle8(uint8_t *dst, const uint8_t *src, size_t n);
/* Smallest width in {1, 2, 4, 8} holding every word. */
unsigned spw_narrow_width(const uint64_t *v, size_t n);
void spw_narrow(uint8_t *dst, const uint64_t *src, size_t n, unsigned w);
void spw_widen(uint64_t *dst, const uint8_t *src, size_t n, unsigned w);

/* Bytes dst must hold for any encoding of len bytes. */
size_t spw_codec_bound(size_t len);
/* Encodes src (len bytes) into dst (capacity spw_codec_bound(len)), choosing
 * narrowing / shuffle for u64 data (word_data), plain zstd otherwise, and
 * falling back to SPW_CODEC_RAW (nothing written to dst) when the result
 * would not be at least 10% smaller. tmp holds len bytes. */
void spw_codec_encode(void *dst, size_t *stored, uint32_t *codec, uint32_t *param,
                      const void *src, size_t len, int word_data, void *tmp);
/* Decodes stored bytes back into dst (len bytes). tmp holds len bytes. */
spw_status spw_codec_decode(const spw_ctx *ctx, void *dst, size_t len, const void *src,
                            size_t stored, uint32_t codec, uint32_t param, void *tmp);

#endif /* SPW_SPILL_IO_H */
