/*
 * spillway.h - the one public header of libspillway, an out-of-core STARK
 * prover (Goldilocks field, cubic extension, BLAKE3, LogUp, FRI) that pages
 * trace data between NVMe, pinned host memory and VRAM.
 *
 * API rules (imitating libsecp256k1 and zstd):
 *   - Every public name starts with spw_ / SPW_.
 *   - Argument order: the context first, then outputs, then inputs; a
 *     length always follows its pointer directly.
 *   - Functions that can fail return spw_status; SPW_OK is 0. A detailed,
 *     human-readable message for the last failure on a context is available
 *     from spw_ctx_last_error(). spw_strerror() names a status.
 *   - Handles are opaque: created by spw_*_create(), released by
 *     spw_*_free(), and every free function accepts NULL.
 *   - Status values are pinned: they never change meaning across versions.
 *   - Field elements are canonical Goldilocks values (< p) in uint64_t;
 *     functions that take field data reject non-canonical input with
 *     SPW_ERR_NONCANONICAL.
 *   - Unless a function says otherwise, a context may be used by one thread
 *     at a time; distinct contexts are independent.
 */
#ifndef SPILLWAY_H
#define SPILLWAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(SPW_NO_VISIBILITY)
#define SPW_API __attribute__((visibility("default")))
#define SPW_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SPW_API
#define SPW_WARN_UNUSED
#endif

/* ---- status ------------------------------------------------------------ */

/* Pinned values: append only, never renumber. */
typedef enum spw_status {
    SPW_OK = 0,
    SPW_ERR_NULL = 1,              /* a required pointer or handle was NULL */
    SPW_ERR_INVALID_ARG = 2,       /* an argument is out of its range */
    SPW_ERR_NOT_POW2 = 3,          /* a size that must be a power of two is not */
    SPW_ERR_BLOWUP = 4,            /* blowup factor not in {2, 4, 8} */
    SPW_ERR_NONCANONICAL = 5,      /* a field value >= p */
    SPW_ERR_NOMEM = 6,             /* host allocation failed */
    SPW_ERR_IO = 7,                /* read/write/open failed */
    SPW_ERR_CUDA = 8,              /* CUDA runtime or kernel failure */
    SPW_ERR_NO_CUDA = 9,           /* CUDA backend not compiled in or no GPU */
    SPW_ERR_PARSE = 10,            /* malformed .air or option text */
    SPW_ERR_TRACE = 11,            /* malformed or inconsistent trace data */
    SPW_ERR_CONSTRAINT = 12,       /* the trace does not satisfy a constraint */
    SPW_ERR_BUS_UNBALANCED = 13,   /* LogUp buses do not balance */
    SPW_ERR_PROOF_MALFORMED = 14,  /* proof bytes cannot be decoded */
    SPW_ERR_PROOF_INVALID = 15,    /* proof decodes but does not verify */
    SPW_ERR_BUDGET = 16,           /* a memory budget is below the minimum */
    SPW_ERR_NOSPACE = 17,          /* not enough space in the spill directory */
    SPW_ERR_CHECKSUM = 18,         /* stored data failed its checksum */
    SPW_ERR_UNSUPPORTED = 19,      /* feature unavailable on this system */
    SPW_ERR_INTERNAL = 20,         /* a bug: please report it */
    SPW_ERR_TOO_LARGE = 21,        /* a size exceeds a hard limit */
    SPW_ERR_DEVICE_OOM = 22,       /* the device arena is out of budget */
    SPW_ERR_CANCELLED = 23,        /* a callback asked to stop */
    SPW_STATUS_COUNT_              /* not a status; keep last */
} spw_status;

/* A short static description of a status ("invalid argument", ...). */
SPW_API const char *spw_strerror(spw_status s);

/* ---- version ----------------------------------------------------------- */

#define SPW_VERSION_MAJOR 0
#define SPW_VERSION_MINOR 1
#define SPW_VERSION_PATCH 0

/* "0.1.0"; the library's own version, which may differ from this header's. */
SPW_API const char *spw_version_string(void);
/* major * 10000 + minor * 100 + patch */
SPW_API unsigned spw_version_number(void);

/* 1 when the CUDA backend is compiled in and a usable device is present,
 * 0 otherwise. Initialises the CUDA runtime when compiled in. */
SPW_API int spw_cuda_available(void);
/* 1 when the CUDA backend is compiled in (whether or not a GPU is present). */
SPW_API int spw_cuda_compiled(void);

/* ---- context ----------------------------------------------------------- */

typedef struct spw_ctx spw_ctx;

typedef enum spw_log_level {
    SPW_LOG_ERROR = 0,
    SPW_LOG_WARN = 1,
    SPW_LOG_INFO = 2,
    SPW_LOG_DEBUG = 3
} spw_log_level;

typedef void (*spw_log_fn)(void *user, spw_log_level level, const char *msg);

typedef struct spw_ctx_options {
    unsigned threads;        /* worker threads; 0 = all online CPUs */
    spw_log_fn log_fn;       /* NULL = log to stderr */
    void *log_user;          /* passed to log_fn */
    spw_log_level log_level; /* messages above this level are dropped */
} spw_ctx_options;

/* Fills *opts with defaults (threads 0, log to stderr, level WARN; SPW_LOG
 * in the environment, one of error|warn|info|debug, overrides the level). */
SPW_API void spw_ctx_options_default(spw_ctx_options *opts);

/* opts may be NULL for defaults. */
SPW_API SPW_WARN_UNUSED spw_status spw_ctx_create(spw_ctx **out,
                                                  const spw_ctx_options *opts);
SPW_API void spw_ctx_free(spw_ctx *ctx);

/* The message of the last failure on ctx ("" if none). Valid until the next
 * call that uses ctx. */
SPW_API const char *spw_ctx_last_error(const spw_ctx *ctx);

/* Tunables, set through one keyed setter with bounds (zstd style). Values
 * out of bounds give SPW_ERR_INVALID_ARG and leave the setting unchanged. */
typedef enum spw_param {
    SPW_PARAM_THREADS = 1,      /* 0 .. 1024; 0 = all online CPUs */
    SPW_PARAM_LOG_LEVEL = 2,    /* SPW_LOG_ERROR .. SPW_LOG_DEBUG */
    SPW_PARAM_HOST_BUDGET = 3,  /* bytes; 0 = default (half of available) */
    SPW_PARAM_VRAM_BUDGET = 4,  /* bytes; 0 = default (90% of free VRAM) */
    SPW_PARAM_BLOWUP = 5,       /* 2, 4 or 8 */
    SPW_PARAM_MODE = 6,         /* spw_mode */
    SPW_PARAM_BACKEND = 7,      /* spw_backend */
    SPW_PARAM_CHUNK_ROWS = 8    /* 0 = planner's choice; else a power of two */
} spw_param;

typedef enum spw_mode { SPW_MODE_AUTO = 0, SPW_MODE_RESIDENT = 1, SPW_MODE_SPILLED = 2 } spw_mode;
typedef enum spw_backend { SPW_BACKEND_AUTO = 0, SPW_BACKEND_CPU = 1, SPW_BACKEND_CUDA = 2 } spw_backend;

SPW_API SPW_WARN_UNUSED spw_status spw_ctx_set_param(spw_ctx *ctx, spw_param key,
                                                     int64_t value);
SPW_API SPW_WARN_UNUSED spw_status spw_ctx_get_param(const spw_ctx *ctx, int64_t *out,
                                                     spw_param key);

/* ---- Goldilocks field helpers for embedders ---------------------------- */

#define SPW_GOLDILOCKS_P 0xFFFFFFFF00000001ULL

/* Decodes n little-endian u64 values from bytes (8*n bytes) into out,
 * rejecting any value >= p with SPW_ERR_NONCANONICAL (and *bad_index set to
 * the first offending index when bad_index is not NULL). */
SPW_API SPW_WARN_UNUSED spw_status spw_field_decode(uint64_t *out, size_t *bad_index,
                                                    const uint8_t *bytes, size_t n);
/* Encodes n canonical values as little-endian bytes (8*n). Non-canonical
 * input gives SPW_ERR_NONCANONICAL. */
SPW_API SPW_WARN_UNUSED spw_status spw_field_encode(uint8_t *bytes, const uint64_t *in,
                                                    size_t n);

/* ---- BLAKE3 ------------------------------------------------------------ */

/* The standard BLAKE3 hash (32 bytes) of len bytes. */
SPW_API void spw_blake3(uint8_t out[32], const void *in, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* SPILLWAY_H */
