/*
 * workloads.c - the workload dispatcher: defaults, statement tags and their
 * parser, and the registry that ties each workload trace to the state its
 * producers read (released by spw_workload_free). The generators themselves
 * are in fib.c, vm.c and synth.c.
 */
#include "wl_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- registry: trace -> producer state --------------------------------- */

typedef struct wl_reg {
    struct wl_reg *next;
    spw_trace *trace;
    void *state;
    void (*free_fn)(void *);
} wl_reg;

static pthread_mutex_t wl_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static wl_reg *wl_reg_head;

spw_status spw_wl_register(spw_ctx *ctx, spw_trace *trace, void *state, void (*free_fn)(void *))
{
    wl_reg *r = malloc(sizeof *r);
    if (!r) return spw_fail(ctx, SPW_ERR_NOMEM, "workload: out of memory");
    r->trace = trace;
    r->state = state;
    r->free_fn = free_fn;
    pthread_mutex_lock(&wl_reg_lock);
    r->next = wl_reg_head;
    wl_reg_head = r;
    pthread_mutex_unlock(&wl_reg_lock);
    return SPW_OK;
}

void spw_workload_free(spw_air *air, spw_trace *trace, uint64_t *publics)
{
    /* The trace first: it may still refer to the AIR and the state. */
    spw_trace_free(trace);
    if (trace) {
        pthread_mutex_lock(&wl_reg_lock);
        wl_reg **pp = &wl_reg_head;
        while (*pp) {
            wl_reg *r = *pp;
            if (r->trace == trace) {
                *pp = r->next;
                if (r->free_fn) r->free_fn(r->state);
                free(r);
            } else {
                pp = &r->next;
            }
        }
        pthread_mutex_unlock(&wl_reg_lock);
    }
    spw_air_free(air);
    free(publics);
}

/* ---- names, defaults, tags --------------------------------------------- */

static const char *const wl_names[] = {"fib", "vm", "synth"};
static const char *const wl_presets[] = {"tiny", "small", "medium", "large", "xl"};

static const char *wl_static_name(const char *name)
{
    for (size_t i = 0; i < sizeof wl_names / sizeof wl_names[0]; i++)
        if (name && strcmp(name, wl_names[i]) == 0) return wl_names[i];
    return NULL;
}

static const char *wl_static_preset(const char *preset)
{
    for (size_t i = 0; i < sizeof wl_presets / sizeof wl_presets[0]; i++)
        if (preset && strcmp(preset, wl_presets[i]) == 0) return wl_presets[i];
    return NULL;
}

static unsigned wl_default_log_rows(const char *name)
{
    if (strcmp(name, "fib") == 0) return 10;
    if (strcmp(name, "vm") == 0) return 16;
    return 0;
}

spw_status spw_workload_defaults(spw_ctx *ctx, spw_workload_params *p, const char *name)
{
    SPW_CHECK_NULL(ctx, p);
    const char *n = wl_static_name(name);
    if (!n)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "unknown workload '%s' (expected fib, vm or synth)",
                        name ? name : "(null)");
    p->name = n;
    p->log_rows = wl_default_log_rows(n);
    p->preset = strcmp(n, "synth") == 0 ? "tiny" : NULL;
    p->seed = 0;
    return SPW_OK;
}

/* Validates p and resolves defaults into *q (static strings). */
static spw_status wl_resolve(spw_ctx *ctx, spw_workload_params *q, const spw_workload_params *p)
{
    SPW_CHECK_NULL(ctx, p);
    const char *n = wl_static_name(p->name);
    if (!n)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "unknown workload '%s' (expected fib, vm or synth)",
                        p->name ? p->name : "(null)");
    *q = *p;
    q->name = n;
    if (strcmp(n, "synth") == 0) {
        q->log_rows = 0;
        q->preset = wl_static_preset(p->preset ? p->preset : "tiny");
        if (!q->preset)
            return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                            "synth: unknown preset '%s' (expected tiny, small, medium, large or xl)",
                            p->preset);
        return SPW_OK;
    }
    q->preset = NULL;
    if (q->log_rows == 0) q->log_rows = wl_default_log_rows(n);
    if (strcmp(n, "fib") == 0) {
        q->seed = 0;
        if (q->log_rows < 1 || q->log_rows > 32)
            return spw_fail(ctx, SPW_ERR_INVALID_ARG, "fib: log_rows %u out of range 1..32", q->log_rows);
    } else {
        if (q->log_rows < 10 || q->log_rows > 30)
            return spw_fail(ctx, SPW_ERR_INVALID_ARG, "vm: log_rows %u out of range 10..30", q->log_rows);
    }
    return SPW_OK;
}

static int wl_format_tag(char *tag, size_t tag_len, const spw_workload_params *q)
{
    if (strcmp(q->name, "fib") == 0) return snprintf(tag, tag_len, "fib log_rows=%u", q->log_rows);
    if (strcmp(q->name, "vm") == 0)
        return snprintf(tag, tag_len, "vm log_rows=%u seed=%llu", q->log_rows,
                        (unsigned long long)q->seed);
    return snprintf(tag, tag_len, "synth preset=%s seed=%llu", q->preset,
                    (unsigned long long)q->seed);
}

static int wl_parse_u64(uint64_t *out, const char *s, size_t len)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] < '0' || buf[i] > '9') return 0;
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno) return 0;
    *out = v;
    return 1;
}

spw_status spw_workload_parse_tag(spw_ctx *ctx, spw_workload_params *p, const char *tag)
{
    if (!p || !tag) return spw_fail(ctx, SPW_ERR_NULL, "workload tag: NULL argument");
    memset(p, 0, sizeof *p);
    const char *s = tag;
    size_t n = strcspn(s, " ");
    char name[16];
    if (n == 0 || n >= sizeof name) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': no workload name", tag);
    memcpy(name, s, n);
    name[n] = 0;
    p->name = wl_static_name(name);
    if (!p->name) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': unknown workload '%s'", tag, name);
    int is_synth = strcmp(p->name, "synth") == 0;
    s += n;
    while (*s == ' ') {
        s++;
        size_t len = strcspn(s, " ");
        const char *eq = memchr(s, '=', len);
        if (!eq) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': expected key=value at offset %zu", tag, (size_t)(s - tag));
        size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
        const char *v = eq + 1;
        uint64_t x;
        if (!is_synth && klen == 8 && memcmp(s, "log_rows", 8) == 0) {
            if (!wl_parse_u64(&x, v, vlen) || x == 0 || x > 64)
                return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': bad log_rows", tag);
            p->log_rows = (unsigned)x;
        } else if (klen == 4 && memcmp(s, "seed", 4) == 0 && strcmp(p->name, "fib") != 0) {
            if (!wl_parse_u64(&x, v, vlen)) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': bad seed", tag);
            p->seed = x;
        } else if (is_synth && klen == 6 && memcmp(s, "preset", 6) == 0) {
            char pr[16];
            if (vlen == 0 || vlen >= sizeof pr) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': bad preset", tag);
            memcpy(pr, v, vlen);
            pr[vlen] = 0;
            p->preset = wl_static_preset(pr);
            if (!p->preset) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': unknown preset '%s'", tag, pr);
        } else {
            return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': unexpected key '%.*s'", tag, (int)klen, s);
        }
        s += len;
    }
    if (*s) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': trailing text", tag);
    if (is_synth && !p->preset) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': missing preset", tag);
    if (!is_synth && !p->log_rows) return spw_fail(ctx, SPW_ERR_PARSE, "workload tag '%s': missing log_rows", tag);
    return SPW_OK;
}

spw_status spw_workload_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                              uint64_t **publics_out, size_t *n_publics, char *tag,
                              size_t tag_len, const spw_workload_params *p)
{
    spw_workload_params q;
    if (air_out) *air_out = NULL;
    if (trace_out) *trace_out = NULL;
    if (publics_out) *publics_out = NULL;
    if (n_publics) *n_publics = 0;
    SPW_TRY(wl_resolve(ctx, &q, p));
    if (trace_out && !air_out)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "workload %s: a trace needs the AIR (air_out NULL)", q.name);
    if (publics_out && !n_publics) return spw_fail(ctx, SPW_ERR_NULL, "workload %s: n_publics is NULL", q.name);
    if (tag) {
        int len = wl_format_tag(tag, tag_len, &q);
        if (len < 0 || (size_t)len >= tag_len)
            return spw_fail(ctx, SPW_ERR_INVALID_ARG, "workload %s: tag buffer of %zu bytes too small", q.name, tag_len);
    }
    spw_wl_build_fn fn = strcmp(q.name, "fib") == 0 ? spw_wl_fib_build
                         : strcmp(q.name, "vm") == 0 ? spw_wl_vm_build
                                                      : spw_wl_synth_build;
    return fn(ctx, air_out, trace_out, publics_out, n_publics, &q);
}

uint64_t spw_workload_state_bytes(const spw_workload_params *p)
{
    if (!p || !p->name) return 0;
    if (strcmp(p->name, "vm") == 0) return spw_wl_vm_state_bytes(p->log_rows ? p->log_rows : 16);
    if (strcmp(p->name, "synth") == 0) return spw_wl_synth_state_bytes(p->preset ? p->preset : "tiny");
    return 0;
}
