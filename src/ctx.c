/* ctx.c - context lifetime, tunables, errors, logging, version. */
#include "internal.h"
#include "field.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const status_text[SPW_STATUS_COUNT_] = {
    [SPW_OK] = "success",
    [SPW_ERR_NULL] = "NULL argument",
    [SPW_ERR_INVALID_ARG] = "invalid argument",
    [SPW_ERR_NOT_POW2] = "size is not a power of two",
    [SPW_ERR_BLOWUP] = "blowup factor must be 2, 4 or 8",
    [SPW_ERR_NONCANONICAL] = "non-canonical field element (>= p)",
    [SPW_ERR_NOMEM] = "out of host memory",
    [SPW_ERR_IO] = "I/O error",
    [SPW_ERR_CUDA] = "CUDA error",
    [SPW_ERR_NO_CUDA] = "CUDA backend or GPU not available",
    [SPW_ERR_PARSE] = "parse error",
    [SPW_ERR_TRACE] = "invalid trace",
    [SPW_ERR_CONSTRAINT] = "constraint not satisfied by the trace",
    [SPW_ERR_BUS_UNBALANCED] = "LogUp bus does not balance",
    [SPW_ERR_PROOF_MALFORMED] = "malformed proof",
    [SPW_ERR_PROOF_INVALID] = "proof does not verify",
    [SPW_ERR_BUDGET] = "memory budget below the minimum",
    [SPW_ERR_NOSPACE] = "not enough space in the spill directory",
    [SPW_ERR_CHECKSUM] = "checksum mismatch",
    [SPW_ERR_UNSUPPORTED] = "unsupported on this system",
    [SPW_ERR_INTERNAL] = "internal error",
    [SPW_ERR_TOO_LARGE] = "size exceeds a hard limit",
    [SPW_ERR_DEVICE_OOM] = "device memory budget exhausted",
    [SPW_ERR_CANCELLED] = "cancelled",
};

const char *spw_strerror(spw_status s)
{
    if ((unsigned)s >= SPW_STATUS_COUNT_ || !status_text[s]) return "unknown status";
    return status_text[s];
}

const char *spw_version_string(void) { return PACKAGE_VERSION; }
unsigned spw_version_number(void)
{
    return SPW_VERSION_MAJOR * 10000u + SPW_VERSION_MINOR * 100u + SPW_VERSION_PATCH;
}

static spw_log_level env_log_level(spw_log_level dflt)
{
    const char *e = getenv("SPW_LOG");
    if (!e) return dflt;
    if (!strcmp(e, "error")) return SPW_LOG_ERROR;
    if (!strcmp(e, "warn")) return SPW_LOG_WARN;
    if (!strcmp(e, "info")) return SPW_LOG_INFO;
    if (!strcmp(e, "debug")) return SPW_LOG_DEBUG;
    return dflt;
}

void spw_ctx_options_default(spw_ctx_options *opts)
{
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->log_level = env_log_level(SPW_LOG_WARN);
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

spw_status spw_ctx_create(spw_ctx **out, const spw_ctx_options *opts)
{
    if (!out) return SPW_ERR_NULL;
    *out = NULL;
    spw_ctx_options d;
    if (!opts) {
        spw_ctx_options_default(&d);
        opts = &d;
    }
    if (opts->threads > 1024 || (unsigned)opts->log_level > SPW_LOG_DEBUG) return SPW_ERR_INVALID_ARG;
    spw_ctx *c = calloc(1, sizeof *c);
    if (!c) return SPW_ERR_NOMEM;
    c->threads = opts->threads ? opts->threads : online_cpus();
    c->log_fn = opts->log_fn;
    c->log_user = opts->log_user;
    c->log_level = opts->log_level;
    c->blowup = 4;
    c->mode = SPW_MODE_AUTO;
    c->backend = SPW_BACKEND_AUTO;
    *out = c;
    return SPW_OK;
}

void spw_ctx_free(spw_ctx *ctx) { free(ctx); }

const char *spw_ctx_last_error(const spw_ctx *ctx) { return ctx ? ctx->last_error : ""; }

spw_status spw_ctx_set_param(spw_ctx *ctx, spw_param key, int64_t v)
{
    if (!ctx) return SPW_ERR_NULL;
    switch (key) {
    case SPW_PARAM_THREADS:
        if (v < 0 || v > 1024) break;
        ctx->threads = v ? (unsigned)v : online_cpus();
        return SPW_OK;
    case SPW_PARAM_LOG_LEVEL:
        if (v < SPW_LOG_ERROR || v > SPW_LOG_DEBUG) break;
        ctx->log_level = (spw_log_level)v;
        return SPW_OK;
    case SPW_PARAM_HOST_BUDGET:
        if (v < 0) break;
        ctx->host_budget = (uint64_t)v;
        return SPW_OK;
    case SPW_PARAM_VRAM_BUDGET:
        if (v < 0) break;
        ctx->vram_budget = (uint64_t)v;
        return SPW_OK;
    case SPW_PARAM_BLOWUP:
        if (v != 2 && v != 4 && v != 8)
            return spw_fail(ctx, SPW_ERR_BLOWUP, "blowup %lld is not 2, 4 or 8", (long long)v);
        ctx->blowup = (unsigned)v;
        return SPW_OK;
    case SPW_PARAM_MODE:
        if (v < SPW_MODE_AUTO || v > SPW_MODE_SPILLED) break;
        ctx->mode = (spw_mode)v;
        return SPW_OK;
    case SPW_PARAM_BACKEND:
        if (v < SPW_BACKEND_AUTO || v > SPW_BACKEND_CUDA) break;
        ctx->backend = (spw_backend)v;
        return SPW_OK;
    case SPW_PARAM_CHUNK_ROWS:
        if (v < 0 || (v && !spw_is_pow2((uint64_t)v))) break;
        ctx->chunk_rows = (uint64_t)v;
        return SPW_OK;
    default:
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "unknown parameter key %d", (int)key);
    }
    return spw_fail(ctx, SPW_ERR_INVALID_ARG, "value %lld out of bounds for parameter %d",
                    (long long)v, (int)key);
}

spw_status spw_ctx_get_param(const spw_ctx *ctx, int64_t *out, spw_param key)
{
    if (!ctx || !out) return SPW_ERR_NULL;
    switch (key) {
    case SPW_PARAM_THREADS: *out = ctx->threads; return SPW_OK;
    case SPW_PARAM_LOG_LEVEL: *out = ctx->log_level; return SPW_OK;
    case SPW_PARAM_HOST_BUDGET: *out = (int64_t)ctx->host_budget; return SPW_OK;
    case SPW_PARAM_VRAM_BUDGET: *out = (int64_t)ctx->vram_budget; return SPW_OK;
    case SPW_PARAM_BLOWUP: *out = ctx->blowup; return SPW_OK;
    case SPW_PARAM_MODE: *out = ctx->mode; return SPW_OK;
    case SPW_PARAM_BACKEND: *out = ctx->backend; return SPW_OK;
    case SPW_PARAM_CHUNK_ROWS: *out = (int64_t)ctx->chunk_rows; return SPW_OK;
    }
    return SPW_ERR_INVALID_ARG;
}

static void vlog(const spw_ctx *ctx, spw_log_level lvl, const char *fmt, va_list ap)
{
    spw_log_level max = ctx ? ctx->log_level : env_log_level(SPW_LOG_WARN);
    if (lvl > max) return;
    char buf[SPW_ERRMSG_MAX];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (ctx && ctx->log_fn) {
        ctx->log_fn(ctx->log_user, lvl, buf);
        return;
    }
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "spillway: %s: %s\n", names[lvl], buf);
}

void spw_log(const spw_ctx *ctx, spw_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(ctx, lvl, fmt, ap);
    va_end(ap);
}

spw_status spw_fail(const spw_ctx *ctx, spw_status s, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        /* last_error is the one mutable field of a const ctx: error reporting
         * must work from functions that otherwise only read the context. */
        vsnprintf(((spw_ctx *)ctx)->last_error, SPW_ERRMSG_MAX, fmt, ap);
        va_end(ap);
        spw_log(ctx, SPW_LOG_DEBUG, "%s (%s)", ctx->last_error, spw_strerror(s));
    }
    return s;
}

void spw_clear_error(const spw_ctx *ctx)
{
    if (ctx) ((spw_ctx *)ctx)->last_error[0] = 0;
}

double spw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *spw_malloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return malloc(n && size ? n * size : 1);
}

void *spw_calloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

/* ---- thread fan-out ---- */

struct range_job {
    spw_range_fn fn;
    void *arg;
    size_t begin, end;
};

static void *range_thread(void *p)
{
    struct range_job *j = p;
    j->fn(j->arg, j->begin, j->end);
    return NULL;
}

void spw_parallel_for(const spw_ctx *ctx, size_t n, size_t grain, spw_range_fn fn, void *arg)
{
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t t = ctx ? ctx->threads : 1;
    if (t > (n + grain - 1) / grain) t = (n + grain - 1) / grain;
    if (t <= 1) {
        fn(arg, 0, n);
        return;
    }
    struct range_job jobs[64];
    pthread_t tids[64];
    if (t > 64) t = 64;
    size_t per = n / t, rem = n % t, at = 0;
    for (size_t i = 0; i < t; i++) {
        size_t len = per + (i < rem);
        jobs[i] = (struct range_job){fn, arg, at, at + len};
        at += len;
    }
    size_t started = 1;
    for (size_t i = 1; i < t; i++) {
        if (pthread_create(&tids[i], NULL, range_thread, &jobs[i]) != 0) {
            /* could not start a thread: run its range here instead */
            jobs[i].fn(jobs[i].arg, jobs[i].begin, jobs[i].end);
            jobs[i].fn = NULL;
        } else {
            started++;
        }
    }
    fn(arg, jobs[0].begin, jobs[0].end);
    for (size_t i = 1; i < t; i++)
        if (jobs[i].fn) pthread_join(tids[i], NULL);
    (void)started;
}

/* ---- CUDA presence ---- */
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
int spw_cuda_compiled(void) { return 1; }
int spw_cuda_available(void) { return spw_cuda_device_count() > 0; }
#else
int spw_cuda_compiled(void) { return 0; }
int spw_cuda_available(void) { return 0; }
#endif
