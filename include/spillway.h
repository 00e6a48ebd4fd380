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

/* ---- AIR builder (owner: air) ------------------------------------------ */

/* An AIR: tables of base-field main columns, polynomial constraints over the
 * current and next row, and LogUp bus interactions between tables. */
typedef struct spw_air spw_air;

/* An expression node inside one table of an AIR; negative = invalid (the
 * builder call failed and recorded why in the context). Builder functions
 * taking an invalid operand return SPW_EXPR_INVALID, so errors propagate and
 * are reported once, by spw_air_constrain / spw_air_bus / spw_air_finalize. */
typedef int32_t spw_expr;
#define SPW_EXPR_INVALID ((spw_expr)-1)

/* Where a constraint must vanish. */
typedef enum spw_row_kind {
    SPW_ROWS_TRANSITION = 0, /* rows 0 .. n-2; may use the next row */
    SPW_ROWS_FIRST = 1,      /* row 0 */
    SPW_ROWS_LAST = 2,       /* row n-1 */
    SPW_ROWS_EVERY = 3       /* every row; may not use the next row */
} spw_row_kind;

/* Challenges 0 and 1 are the LogUp challenges z and alpha; constraints may
 * use them (and they are what buses use internally). */
#define SPW_CHALLENGE_Z 0
#define SPW_CHALLENGE_ALPHA 1

SPW_API SPW_WARN_UNUSED spw_status spw_air_create(spw_ctx *ctx, spw_air **out);
SPW_API void spw_air_free(spw_air *air);
/* Adds a table of 2^log_height rows and n_main columns; *table_out = its
 * index. Names are unique, [A-Za-z_][A-Za-z0-9_]*. log_height 0 leaves the
 * height unset (set it later with spw_air_set_table_height, or let
 * spw_trace_set_table / spw_trace_open_dir take it from the data). */
SPW_API SPW_WARN_UNUSED spw_status spw_air_add_table(spw_air *air, uint32_t *table_out,
                                                     const char *name, unsigned log_height,
                                                     uint32_t n_main);
/* Number of public inputs (base field) the constraints may read. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_set_publics(spw_air *air, uint32_t n_publics);

SPW_API spw_expr spw_air_col(spw_air *air, uint32_t table, uint32_t col);
SPW_API spw_expr spw_air_col_next(spw_air *air, uint32_t table, uint32_t col);
SPW_API spw_expr spw_air_const(spw_air *air, uint32_t table, uint64_t value);
SPW_API spw_expr spw_air_public(spw_air *air, uint32_t table, uint32_t index);
SPW_API spw_expr spw_air_challenge(spw_air *air, uint32_t table, uint32_t index);
SPW_API spw_expr spw_air_add(spw_air *air, uint32_t table, spw_expr a, spw_expr b);
SPW_API spw_expr spw_air_sub(spw_air *air, uint32_t table, spw_expr a, spw_expr b);
SPW_API spw_expr spw_air_mul(spw_air *air, uint32_t table, spw_expr a, spw_expr b);
SPW_API spw_expr spw_air_neg(spw_air *air, uint32_t table, spw_expr a);

/* The expression e must be 0 on the rows `rows` selects. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_constrain(spw_air *air, uint32_t table,
                                                     spw_row_kind rows, spw_expr e);
/* A LogUp interaction on every row: sends (is_sender = 1) or receives the
 * tuple values[0..n_values) on bus bus_id with the given multiplicity. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_bus(spw_air *air, uint32_t table, uint32_t bus_id,
                                               int is_sender, spw_expr multiplicity,
                                               const spw_expr *values, size_t n_values);
/* Compiles the LogUp columns and constraints and computes degrees. No
 * builder call is accepted afterwards. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_finalize(spw_air *air);
/* Parses a text AIR (.air, grammar in docs/AIR.md) and finalizes it; errors
 * are SPW_ERR_PARSE naming file:line:col and what was expected. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_parse_file(spw_ctx *ctx, spw_air **out,
                                                      const char *path);
SPW_API uint32_t spw_air_num_tables(const spw_air *air);
/* Sets (or changes) a table's height; allowed after finalize, since heights
 * do not change the compiled constraints. A .air file may leave heights to
 * the trace files or to the proof. log_height 1 .. 32. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_set_table_height(spw_air *air, uint32_t table,
                                                            unsigned log_height);
/* Index of the table with this name, or SPW_ERR_INVALID_ARG. */
SPW_API SPW_WARN_UNUSED spw_status spw_air_find_table(const spw_air *air, uint32_t *table_out,
                                                      const char *name);

/* ---- traces (owner: air) ----------------------------------------------- */

/* The trace of every table of an AIR. Table data comes from a producer
 * that fills column chunks on demand, so no table needs to be whole in
 * memory (the in-memory prover simply asks for whole columns). */
typedef struct spw_trace spw_trace;

/* Fills out[0..nrows) with rows [row0, row0 + nrows) of column `col` of
 * table `table`. Values must be canonical. Return SPW_OK or an error. The
 * provers call it from several threads at once, for different columns and
 * for different row ranges of one column. */
typedef spw_status (*spw_trace_fill_fn)(void *user, uint64_t *out, uint32_t table,
                                        uint32_t col, uint64_t row0, uint64_t nrows);

SPW_API SPW_WARN_UNUSED spw_status spw_trace_create(spw_ctx *ctx, spw_trace **out,
                                                    const spw_air *air);
SPW_API void spw_trace_free(spw_trace *trace);
/* Borrows column-major data: column c of the table at cols + c * height.
 * The memory must outlive the trace. */
SPW_API SPW_WARN_UNUSED spw_status spw_trace_set_table(spw_trace *trace, uint32_t table,
                                                       const uint64_t *cols, size_t n_values);
/* Registers a producer for a table. */
SPW_API SPW_WARN_UNUSED spw_status spw_trace_set_producer(spw_trace *trace, uint32_t table,
                                                          spw_trace_fill_fn fn, void *user);
/* Reads rows [row0, row0+nrows) of one column (from borrowed data or the
 * producer), checking canonical form; errors name table, column and row. */
SPW_API SPW_WARN_UNUSED spw_status spw_trace_read(const spw_trace *trace, uint64_t *out,
                                                  uint32_t table, uint32_t col, uint64_t row0,
                                                  uint64_t nrows);
/* Trace files: one file per table, DIR/<table>.trace (format in
 * docs/AIR.md). Reading validates the header and checksum and streams
 * columns on demand; a table whose height the AIR leaves unset takes the
 * file's (the AIR's heights are updated), otherwise they must match. */
SPW_API SPW_WARN_UNUSED spw_status spw_trace_open_dir(spw_ctx *ctx, spw_trace **out,
                                                      const spw_air *air, const char *dir);
SPW_API SPW_WARN_UNUSED spw_status spw_trace_write_dir(spw_ctx *ctx, const spw_trace *trace,
                                                       const char *dir);

/* ---- proving and verifying (owner: prover) ----------------------------- */

/* What a proof is about besides the AIR: public inputs and an application
 * tag (e.g. "vm log_rows=16"), both bound into the transcript and stored in
 * the proof. */
typedef struct spw_statement {
    const uint64_t *publics;
    size_t n_publics;
    const uint8_t *tag;
    size_t tag_len;
} spw_statement;

/* Proves that `trace` satisfies `air` (finalized). On success *proof_out is
 * a malloc'd buffer of *proof_len bytes, released with spw_free().
 * Before any work the trace is checked: a violated constraint gives
 * SPW_ERR_CONSTRAINT (naming table, constraint and row), an unbalanced bus
 * SPW_ERR_BUS_UNBALANCED (naming the bus and each table's net count). The
 * blowup is the context's SPW_PARAM_BLOWUP (default 4); query count and
 * grinding follow from it (docs/PROTOCOL.md). The same inputs and blowup
 * give the same proof bytes for any thread count. */
SPW_API SPW_WARN_UNUSED spw_status spw_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                                             const spw_air *air, const spw_trace *trace,
                                             const spw_statement *stmt);
/* SPW_OK when the proof is valid for air and stmt; SPW_ERR_PROOF_MALFORMED
 * or SPW_ERR_PROOF_INVALID (with a message saying which check failed). */
SPW_API SPW_WARN_UNUSED spw_status spw_verify(spw_ctx *ctx, const spw_air *air,
                                              const spw_statement *stmt, const uint8_t *proof,
                                              size_t proof_len);
SPW_API void spw_free(void *p);

/* ---- proof inspection and security (owner: prover) ---------------------- */

/* What a proof says about itself, decoded (with every bound checked) without
 * an AIR: enough to rebuild the AIR and the statement for spw_verify. */
typedef struct spw_proof_info {
    uint32_t version;
    uint32_t blowup, n_queries, grinding_bits;
    double security_bits;     /* conjectured (ethSTARK-style), docs/PROTOCOL.md */
    double provable_bits;     /* proven (Johnson-bound) estimate */
    uint32_t n_tables;
    unsigned *log_heights;    /* n_tables, in the AIR's table order */
    uint64_t *publics;
    size_t n_publics;
    uint8_t *tag;             /* tag_len bytes, followed by a NUL */
    size_t tag_len;
} spw_proof_info;

/* SPW_ERR_PROOF_MALFORMED when the bytes do not decode. *out is released
 * with spw_proof_info_free. */
SPW_API SPW_WARN_UNUSED spw_status spw_proof_inspect(spw_ctx *ctx, spw_proof_info **out,
                                                     const uint8_t *proof, size_t proof_len);
SPW_API void spw_proof_info_free(spw_proof_info *info);
/* Security of the default parameters at a blowup (2, 4 or 8). */
SPW_API SPW_WARN_UNUSED spw_status spw_security_bits(spw_ctx *ctx, double *conjectured,
                                                     double *provable, unsigned blowup);

/* ---- budgets and planning (owner: ooc) -------------------------------- */

/* The directory for spill files of the out-of-core prover (NULL or "" =
 * default: $TMPDIR, else /tmp). Spill files are unlinked as soon as they are
 * created, so nothing of a run stays behind, whatever way it ends.
 * SPW_ERR_INVALID_ARG when the path is too long. The budgets, the mode and
 * the chunk rows are set with spw_ctx_set_param (SPW_PARAM_HOST_BUDGET,
 * SPW_PARAM_VRAM_BUDGET, SPW_PARAM_MODE, SPW_PARAM_CHUNK_ROWS). */
SPW_API SPW_WARN_UNUSED spw_status spw_ctx_set_spill_dir(spw_ctx *ctx, const char *dir);

/* ---- progress and statistics (owner: bench) ---------------------------- */

/* One progress report of a running spw_prove. Work units are bytes of the
 * round's data (e.g. the LDE bytes a commitment round produces). */
typedef struct spw_progress {
    const char *round;      /* round name: "main commit", "composition", ... */
    int table;              /* table index, -1 when the step is not per table */
    const char *table_name; /* NULL when table < 0 */
    uint64_t done, total;   /* units of this round done, of total */
    double rate;            /* units per second in this round so far (0 = unknown) */
    double elapsed;         /* seconds since the prove call started */
    double fraction;        /* estimated share of the whole prove done, 0..1 */
    double eta;             /* estimated seconds left for the whole prove, < 0 unknown */
    double round_eta;       /* estimated seconds left in this round, < 0 unknown */
} spw_progress;

/* Called from the thread that runs spw_prove, at most every min_interval
 * seconds of the step, plus the first and last report of each step. The
 * pointers inside *p are valid during the call only. */
typedef void (*spw_progress_fn)(void *user, const spw_progress *p);

/* Sets (fn != NULL) or clears the progress callback of ctx. min_interval in
 * seconds, 0 .. 3600 (0 = every report). */
SPW_API SPW_WARN_UNUSED spw_status spw_ctx_set_progress(spw_ctx *ctx, spw_progress_fn fn,
                                                        void *user, double min_interval);

/* Statistics of the last spw_prove on ctx, when it succeeded, as a JSON document
 * (schema "spillway-stats" version 1, docs/STATS_SCHEMA.md): per-round and
 * per-table times, bytes per link and achieved bandwidth, peak memory per
 * tier against its budget, predicted against measured times. *json_out is
 * NUL-terminated, *json_len bytes, released with spw_free(). SPW_ERR_INVALID_ARG
 * when the last prove on ctx failed or there was none. */
SPW_API SPW_WARN_UNUSED spw_status spw_prove_stats_json(spw_ctx *ctx, char **json_out,
                                                        size_t *json_len);

#ifdef __cplusplus
}
#endif
#endif /* SPILLWAY_H */
