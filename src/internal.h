/*
 * internal.h - what every translation unit of libspillway shares: the
 * context's layout, error and logging helpers, the thread fan-out.
 * Not installed.
 */
#ifndef SPW_INTERNAL_H
#define SPW_INTERNAL_H

#include "config.h"
#include "spillway.h"
#include "stats.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPW_ERRMSG_MAX 512

struct spw_ctx {
    unsigned threads;          /* resolved: >= 1 */
    spw_log_fn log_fn;
    void *log_user;
    spw_log_level log_level;
    /* tunables (spw_ctx_set_param) */
    uint64_t host_budget;      /* 0 = default */
    uint64_t vram_budget;      /* 0 = default */
    unsigned blowup;           /* 2, 4, 8 */
    spw_mode mode;
    spw_backend backend;
    uint64_t chunk_rows;       /* 0 = planner */
    char spill_dir[4096];      /* (ooc) "" = default ($TMPDIR or /tmp) */
    char last_error[SPW_ERRMSG_MAX];
    /* progress and statistics (owner: bench; src/progress.c, src/stats.c) */
    spw_progress_fn progress_fn;
    void *progress_user;
    double progress_interval;  /* seconds between callbacks of one step */
    spw_run_stats run_stats;   /* of the prove call running or last finished */
};

/* Records a formatted message as ctx's last error, logs it at ERROR level
 * when log is true, and returns s. ctx may be NULL (then nothing is kept). */
spw_status spw_fail(const spw_ctx *ctx, spw_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void spw_log(const spw_ctx *ctx, spw_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void spw_clear_error(const spw_ctx *ctx);

/* One-line error paths (zstd style). */
#define SPW_TRY(expr)                                  \
    do {                                               \
        spw_status spw_try_s_ = (expr);                \
        if (spw_try_s_ != SPW_OK) return spw_try_s_;   \
    } while (0)
#define SPW_CHECK_NULL(ctx, p)                                          \
    do {                                                                \
        if ((p) == NULL) return spw_fail((ctx), SPW_ERR_NULL, "%s: argument '%s' is NULL", __func__, #p); \
    } while (0)

/* Runs fn(arg, begin, end) over [0, n) split into at most ctx->threads
 * contiguous ranges of at least `grain` items; the calling thread takes
 * the first range. Blocks until every range is done. ctx may be NULL
 * (single-threaded). */
typedef void (*spw_range_fn)(void *arg, size_t begin, size_t end);
void spw_parallel_for(const spw_ctx *ctx, size_t n, size_t grain, spw_range_fn fn, void *arg);

/* Monotonic seconds. */
double spw_now(void);

static inline int spw_is_pow2(uint64_t x) { return x && !(x & (x - 1)); }
static inline unsigned spw_log2(uint64_t x) /* floor */
{
    unsigned r = 0;
    while (x >>= 1) r++;
    return r;
}

/* Checked allocation helpers: NULL on overflow or failure. */
void *spw_malloc_array(size_t n, size_t size);
void *spw_calloc_array(size_t n, size_t size);

#endif /* SPW_INTERNAL_H */
