/*
 * dev.c - the streaming device tier (dev.h): scheduling, in C, of the
 * streaming prover's column groups and row chunks on the GPU. Kernels and
 * their launchers live in cuda/ (rounds_api.h, cuda_api.h); this file
 * only moves buffers, orders streams and checks statuses.
 */
#include "dev.h"
#include "../internal.h"
#include "../plan.h"

#include <stdlib.h>
#include <string.h>

/* ---- sizing (both builds) ---- */

uint64_t spw_sdev_cols_bytes(size_t G, unsigned log_n, unsigned log_e)
{
    return 2 * (uint64_t)G * (((uint64_t)1 << log_n) + ((uint64_t)1 << (log_n + log_e))) * 8;
}

uint64_t spw_sdev_min_bytes(const spw_plan *p, const spw_air_def *def, uint32_t *which)
{
    uint64_t best = 0;
    for (uint32_t i = 0; i < p->n_tables && i < def->n_tables; i++) {
        const spw_plan_table *t = &p->tables[i];
        const spw_air_table *at = &def->tables[i];
        uint64_t n = (uint64_t)1 << t->log_n, R = t->R ? t->R : (uint64_t)1 << t->log_N;
        unsigned lb = t->log_N - t->log_n, le = t->log_e > lb ? t->log_e : lb;
        uint64_t E = (uint64_t)1 << t->log_e, nm = t->nm, na = t->na, nc = t->nc;
        uint64_t cols = spw_sdev_cols_bytes(1, t->log_n, le) + n * 8 + ((uint64_t)1 << 20);
        uint64_t ncol = nm > na ? nm : na;
        if (nc > ncol) ncol = nc;
        uint64_t tree = ncol * R * 8 + 64 * R;
        uint64_t slots = at->eval_slot ? at->n_eval_slots : at->prog_len;
        uint64_t comp = (nm + na) * (R + E) * 8 + 24 * R + (slots ? slots : 1) * 24 * 128 +
                        ((uint64_t)1 << 20);
        uint64_t deep = (nm + na + nc) * R * 8 + 24 * R + (2 * (nm + na) + nc) * 24;
        uint64_t C = R < n ? R : n;
        uint64_t logup = (nm + na) * C * 8 +
                         C * ((uint64_t)at->prog_len * 8 + 2 * (uint64_t)at->n_interactions * 24) +
                         ((uint64_t)1 << 20);
        uint64_t interp = 16 * (n << t->log_e);
        uint64_t m = cols;
        if (tree > m) m = tree;
        if (comp > m) m = comp;
        if (deep > m) m = deep;
        if (logup > m) m = logup;
        if (interp > m) m = interp;
        if (m > best) {
            best = m;
            if (which) *which = i;
        }
    }
    /* NTT twiddle tables and the quotient interpolation's column + powers */
    return best + ((uint64_t)16 << 20);
}

/* FRI (both builds): the arena block of spw_sdev_fri_begin, 256-byte
 * aligned parts: layers 0 (3 N_0 u64) and 1 (3 N_0 / 2), a roll-in, two
 * staging chunks, a heap of 2C digests. */
/* Scratch of the recompute tier's LogUp pass (its row chunks). */
#define COSET_LOGUP_SCR ((uint64_t)128 << 20)
#define FRI_AL(x) (((uint64_t)(x) + 255) / 256 * 256)
uint64_t spw_sdev_coset_bytes(size_t nm, size_t na, size_t nc, unsigned log_n, unsigned log_b,
                              unsigned log_e)
{
    uint64_t n = (uint64_t)1 << log_n, N = n << log_b, NE = n << log_e;
    size_t mx = nm > na ? nm : na;
    mx = mx > nc ? mx : nc;
    /* the aux and composition trees evaluate coefficients they hold */
    uint64_t tree = 2 * (uint64_t)mx * n * 8 + N * 32 + n * 32 + 2 * ((uint64_t)1 << 20) * 32;
    uint64_t comp = (uint64_t)(nm + na) * n * 8 + 3 * NE * 8 + 3 * n * 8 + ((uint64_t)256 << 20);
    uint64_t interp = 3 * NE * 8 + NE * 8 + (uint64_t)nc * n * 8;
    comp = comp > interp ? comp : interp;
    uint64_t deep = (uint64_t)(nm + na + nc) * n * 8 + N * 24;
    uint64_t logup = (uint64_t)(nm + na) * n * 8 + COSET_LOGUP_SCR;
    uint64_t b = tree > comp ? tree : comp;
    b = b > deep ? b : deep;
    b = b > logup ? b : logup;
    return b + n * 8 + ((uint64_t)64 << 20); /* powers, NTT twiddles and small tables */
}

uint64_t spw_sdev_fri_bytes(unsigned log_n0, size_t rin_max, size_t C)
{
    uint64_t n0 = (uint64_t)1 << log_n0;
    return FRI_AL(24 * n0) + FRI_AL(12 * n0) + FRI_AL(24 * (uint64_t)rin_max) +
           2 * FRI_AL(24 * (uint64_t)C) + FRI_AL(64 * (uint64_t)C);
}

static uint64_t g_fri_layers, g_fri_fallbacks; /* process totals */
static uint64_t g_cosets;

uint64_t spw_sdev_cosets_total(void) { return __atomic_load_n(&g_cosets, __ATOMIC_RELAXED); }

void spw_sdev_fri_totals(uint64_t *layers, uint64_t *fallbacks)
{
    *layers = __atomic_load_n(&g_fri_layers, __ATOMIC_RELAXED);
    *fallbacks = __atomic_load_n(&g_fri_fallbacks, __ATOMIC_RELAXED);
}

#ifndef SPW_HAVE_CUDA

spw_status spw_sdev_open(spw_ctx *ctx, spw_sdev **out, uint64_t vram_budget)
{
    (void)vram_budget;
    *out = NULL;
    return spw_fail(ctx, SPW_ERR_NO_CUDA, "streaming device tier: CUDA is not compiled in");
}
void spw_sdev_close(spw_sdev *d) { (void)d; }
void spw_sdev_get_stats(const spw_sdev *d, spw_sdev_stats *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
}
void spw_sdev_where(spw_sdev *d, const char *round, const char *table)
{
    (void)d, (void)round, (void)table;
}
#define NO_CUDA return SPW_ERR_NO_CUDA
spw_status spw_sdev_cols(spw_sdev *d, const spw_sdev_cols_job *j) { (void)d, (void)j; NO_CUDA; }
spw_status spw_sdev_interpolate(spw_sdev *d, uint64_t *h, unsigned l) { (void)d, (void)h, (void)l; NO_CUDA; }
void spw_sdev_uncache(spw_sdev *d, const void *key) { (void)d, (void)key; }
spw_status spw_sdev_tree_rows(spw_sdev *d, spw_digest *h, size_t keep, spw_mat *m, size_t r0,
                              size_t R)
{
    (void)d, (void)h, (void)keep, (void)m, (void)r0, (void)R;
    NO_CUDA;
}
uint64_t spw_sdev_budget(const spw_sdev *d)
{
    (void)d;
    return 0;
}
spw_status spw_sdev_logup_begin(spw_sdev *d, const spw_air_table *t, const fe3 *ch, size_t C,
                                spw_mat *trace, spw_mat *aux)
{
    (void)d, (void)t, (void)ch, (void)C, (void)trace, (void)aux;
    NO_CUDA;
}
spw_status spw_sdev_logup_chunk(spw_sdev *d, size_t r0, size_t m) { (void)d, (void)r0, (void)m; NO_CUDA; }
spw_status spw_sdev_logup_end(spw_sdev *d, fe3 *sum, uint64_t *bad)
{
    (void)d, (void)sum, (void)bad;
    NO_CUDA;
}
spw_status spw_sdev_comp_begin(spw_sdev *d, const spw_air_table *t, unsigned log_n, unsigned log_e,
                               const fe3 *ch, uint32_t n_ch, const uint64_t *publics,
                               uint32_t n_publics, fe3 logup_sum, fe3 lambda, size_t R,
                               spw_mat *main, spw_mat *aux, spw_mat *q)
{
    (void)d, (void)t, (void)log_n, (void)log_e, (void)ch, (void)n_ch, (void)publics;
    (void)n_publics, (void)logup_sum, (void)lambda, (void)R, (void)main, (void)aux, (void)q;
    NO_CUDA;
}
spw_status spw_sdev_comp_chunk(spw_sdev *d, size_t r0) { (void)d, (void)r0; NO_CUDA; }
void spw_sdev_comp_end(spw_sdev *d) { (void)d; }
spw_status spw_sdev_deep_begin(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               size_t R, spw_mat *main, spw_mat *aux, spw_mat *comp)
{
    (void)d, (void)g1, (void)n1, (void)g2, (void)n2, (void)R, (void)main, (void)aux, (void)comp;
    NO_CUDA;
}
spw_status spw_sdev_deep_chunk(spw_sdev *d, fe3 *o, size_t r0, unsigned log_N, fe3 v1, fe3 v2,
                               fe3 zeta, fe3 zw)
{
    (void)d, (void)o, (void)r0, (void)log_N, (void)v1, (void)v2, (void)zeta, (void)zw;
    NO_CUDA;
}
void spw_sdev_deep_end(spw_sdev *d) { (void)d; }
spw_status spw_sdev_dot(spw_sdev *d, fe3 *o1, fe3 *o2, spw_mat *m, size_t r0, size_t n,
                        const fe3 *p1, const fe3 *p2)
{
    (void)d, (void)o1, (void)o2, (void)m, (void)r0, (void)n, (void)p1, (void)p2;
    NO_CUDA;
}
spw_status spw_sdev_fri_begin(spw_sdev *d, int *fits, spw_mat *L0, unsigned log_n0,
                              unsigned n_layers, size_t rin_max, size_t C)
{
    (void)d, (void)L0, (void)log_n0, (void)n_layers, (void)rin_max, (void)C;
    *fits = 0;
    NO_CUDA;
}
spw_status spw_sdev_fri_tree(spw_sdev *d, spw_digest *h, size_t keep, size_t k0, size_t R)
{
    (void)d, (void)h, (void)keep, (void)k0, (void)R;
    NO_CUDA;
}
spw_status spw_sdev_fri_fold(spw_sdev *d, spw_mat *out, spw_mat *rollin, fe3 beta, uint64_t s_inv)
{
    (void)d, (void)out, (void)rollin, (void)beta, (void)s_inv;
    NO_CUDA;
}
void spw_sdev_fri_end(spw_sdev *d) { (void)d; }
void spw_sdev_set_pin_cap(spw_sdev *d, uint64_t cap) { (void)d, (void)cap; }
void spw_sdev_set_coef_room(spw_sdev *d, uint64_t bytes) { (void)d, (void)bytes; }
spw_status spw_sdev_coset_tree(spw_sdev *d, spw_stree *tree, spw_mat *coef, unsigned log_n,
                               unsigned log_b)
{
    (void)d, (void)tree, (void)coef, (void)log_n, (void)log_b;
    NO_CUDA;
}
spw_status spw_sdev_coset_logup(spw_sdev *d, const spw_air_table *t, const fe3 *ch, spw_mat *mcoef,
                                spw_mat *acoef, spw_stree *tree, unsigned log_n, unsigned log_b,
                                fe3 *sum, uint64_t *bad_row)
{
    (void)d, (void)t, (void)ch, (void)mcoef, (void)acoef, (void)tree, (void)log_n, (void)log_b;
    (void)sum, (void)bad_row;
    NO_CUDA;
}
spw_status spw_sdev_coset_comp(spw_sdev *d, const spw_sdev_comp_job *j)
{
    (void)d, (void)j;
    NO_CUDA;
}
spw_status spw_sdev_coset_ood(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, fe3 zeta,
                              fe3 zw, fe3 *ood)
{
    (void)d, (void)mats, (void)log_n, (void)zeta, (void)zw, (void)ood;
    NO_CUDA;
}
spw_status spw_sdev_coset_deep(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               spw_mat *const mats[3], unsigned log_n, unsigned log_b, fe3 v1,
                               fe3 v2, fe3 zeta, fe3 zw, spw_mat *ri, int first)
{
    (void)d, (void)g1, (void)n1, (void)g2, (void)n2, (void)mats, (void)log_n, (void)log_b;
    (void)v1, (void)v2, (void)zeta, (void)zw, (void)ri, (void)first;
    NO_CUDA;
}
spw_status spw_sdev_coset_rows(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, unsigned log_b,
                               const uint64_t *idx, size_t nq, uint64_t *h_rows)
{
    (void)d, (void)mats, (void)log_n, (void)log_b, (void)idx, (void)nq, (void)h_rows;
    NO_CUDA;
}
void *spw_sdev_host_alloc(spw_sdev *d, size_t bytes)
{
    (void)d;
    return malloc(bytes ? bytes : 1);
}
void spw_sdev_host_free(spw_sdev *d, void *p)
{
    (void)d;
    free(p);
}

#else /* SPW_HAVE_CUDA */

#include "../gpu_prover.h"
#include "cuda_api.h"
#include "rounds_api.h"
#include "rounds_fri.h"

#define HB_MAX 64 /* page-locked host buffers at once */
#define HB_KEEP 6 /* unused ones kept for reuse, at most HB_KEEP_BYTES together */
#define HB_KEEP_BYTES ((uint64_t)1 << 30)

/* A named device buffer kept across calls of one pass, grown on demand. */
typedef struct dbuf {
    void *p;
    uint64_t cap;
} dbuf;

struct spw_sdev {
    spw_ctx *ctx;
    spw_cuda_arena *A;
    spw_cuda_stream cs;          /* kernels (and the row passes' copies) */
    spw_cuda_stream up, down;    /* column pipeline: host->device, device->host */
    const char *round, *table;
    uint64_t budget, k0, h2d0, d2h0;
    double busy;
    char device[128];
    /* row passes */
    dbuf in, out, scr;
    /* LogUp */
    spw_gpu_logup_args la;
    void *lu_prog, *lu_inter, *lu_vs, *lu_apow;
    fe3 *lu_run;
    uint64_t *lu_bad;
    size_t lu_C;
    struct msrc *lu_trace, *lu_aux;
    /* composition */
    spw_gpu_comp_args ca;
    void *c_prog, *c_cons, *c_lpow, *c_izn, *c_ch, *c_pub;
    size_t c_threads, c_E, c_R;
    uint32_t c_slots;
    /* DEEP */
    fe3 *g_dev;
    size_t g_n1, dp_R;
    /* the passes' matrices: main, aux, third (quotient / composition) */
    struct msrc {
        spw_mat *m;
        const uint64_t *dev; /* its device cache copy (stride m->nrows), or NULL */
        spw_pinset ps;       /* else its tiles of the current chunk */
    } src[3];
    /* device cache (dev.h) */
    struct centry {
        const void *key;
        uint64_t *p;
        uint64_t bytes, seq;
        int pins;
    } cache[64];
    int n_cache;
    uint64_t cache_seq, cache_bytes;
    spw_sdev_stats cnt; /* the counters of spw_sdev_stats (cache_*, pin_s, fri_*) */
    /* coefficients a column phase left on the device for the next coset
     * pass over the same matrix (spw_sdev_cols_job.keep); dropped by any
     * other pass and whenever an allocation needs the room */
    struct {
        const spw_mat *m;
        uint64_t *p;
    } kept;
    struct sdev_fri *fri; /* FRI commit (spw_sdev_fri_begin .. end) */
    uint64_t pin_cap;     /* pool bytes the coset passes' uploads may pin at once (0: any) */
    uint64_t coef_room;   /* device cache bytes the coset passes' coefficients may hold */
    /* page-locked host buffers, kept for reuse (spw_sdev_host_alloc) */
    struct hbuf {
        void *p;
        size_t cap;
        int used;
    } hb[HB_MAX];
    int n_hb;
};

/* The entry of key, or -1. */
static int cache_find(const spw_sdev *d, const void *key)
{
    for (int i = 0; d && i < d->n_cache; i++)
        if (d->cache[i].key == key) return i;
    return -1;
}

/* Frees entry i (its device memory and its slot). */
static void cache_remove(spw_sdev *d, int i)
{
    (void)spw_cuda_arena_free(d->A, d->cache[i].p);
    d->cache_bytes -= d->cache[i].bytes;
    d->cache[i] = d->cache[--d->n_cache];
}

/* Drops the newest unpinned cache entry; 0 when there is none. */
static int cache_drop_newest(spw_sdev *d)
{
    int k = -1;
    for (int i = 0; i < d->n_cache; i++)
        if (!d->cache[i].pins && (k < 0 || d->cache[i].seq > d->cache[k].seq)) k = i;
    if (k < 0) return 0;
    cache_remove(d, k);
    d->cnt.cache_dropped++;
    return 1;
}

#define NOMEM_D(d, what) spw_fail((d)->ctx, SPW_ERR_NOMEM, "GPU streaming tier: out of memory (%s)", what)

static spw_status dfail(spw_sdev *d, spw_status s)
{
    return spw_fail(d->ctx, s, "GPU streaming tier, %s, table '%s': %s", d->round ? d->round : "-",
                    d->table ? d->table : "-", spw_cuda_last_error());
}

#define D(call)                                       \
    do {                                              \
        spw_status d_s_ = (call);                     \
        if (d_s_ != SPW_OK) return dfail(d, d_s_);    \
    } while (0)

/* The kept coefficients (d->kept) freed. */
static void kept_drop(spw_sdev *d)
{
    if (d->kept.p) {
        (void)spw_cuda_stream_sync(d->cs); /* the column phase's copies into it */
        (void)spw_cuda_arena_free(d->A, d->kept.p);
    }
    d->kept.p = NULL;
    d->kept.m = NULL;
}

/* The kept coefficients of m (the caller owns them), or NULL (any others
 * are dropped). */
static uint64_t *kept_take(spw_sdev *d, const spw_mat *m)
{
    uint64_t *p = d->kept.m == m ? d->kept.p : NULL;
    if (p) d->kept.p = NULL;
    kept_drop(d);
    return p;
}

/* Every buffer of the tier: the kept coefficients and then the device
 * cache give way when the arena has no room (clean copies, all). */
static spw_status dalloc(spw_sdev *d, void *pp, uint64_t bytes)
{
    for (;;) {
        spw_status s = spw_cuda_arena_alloc(d->A, (void **)pp, bytes ? bytes : 8);
        if (s == SPW_OK) return SPW_OK;
        if (d->kept.p) {
            kept_drop(d);
            continue;
        }
        if (!cache_drop_newest(d)) return dfail(d, s);
    }
}

/* The room the cache leaves to the passes' own buffers (row chunks, the
 * composition's scratch of up to 256 MiB, the column pipeline). */
static uint64_t cache_reserve(const spw_sdev *d)
{
    uint64_t r = d->budget / 8;
    if (r < ((uint64_t)768 << 20)) r = (uint64_t)768 << 20;
    return r < d->budget / 2 ? r : d->budget / 2;
}

/* A new entry of `bytes` for key from free room only (never drops other
 * entries), or NULL. */
static uint64_t *cache_make(spw_sdev *d, const void *key, uint64_t bytes)
{
    spw_sdev_uncache(d, key);
    if (d->n_cache == (int)(sizeof d->cache / sizeof d->cache[0])) return NULL;
    if (spw_cuda_arena_largest_free(d->A) < bytes + cache_reserve(d)) return NULL;
    void *p = NULL;
    if (spw_cuda_arena_alloc(d->A, &p, bytes) != SPW_OK) return NULL;
    d->cache[d->n_cache++] = (struct centry){key, p, bytes, ++d->cache_seq, 1}; /* made pinned */
    d->cache_bytes += bytes;
    if (d->cache_bytes > d->cnt.cache_peak) d->cnt.cache_peak = d->cache_bytes;
    d->cnt.cache_made++;
    return p;
}

static const uint64_t *cache_acquire(spw_sdev *d, const void *key)
{
    int i = cache_find(d, key);
    if (i < 0) return NULL;
    d->cache[i].pins++;
    return d->cache[i].p;
}

static void cache_release(spw_sdev *d, const void *key)
{
    int i = cache_find(d, key);
    if (i >= 0 && d->cache[i].pins > 0) d->cache[i].pins--;
}

void spw_sdev_uncache(spw_sdev *d, const void *key)
{
    int i = cache_find(d, key);
    if (i >= 0) cache_remove(d, i);
}


static void dfree(spw_sdev *d, void *pp)
{
    void **p = pp;
    if (*p) (void)spw_cuda_arena_free(d->A, *p);
    *p = NULL;
}

/* The buffer holds at least `bytes` (contents not kept). Callers sync the
 * compute stream before a buffer is regrown, so no kernel still uses it. */
static spw_status grow(spw_sdev *d, dbuf *b, uint64_t bytes)
{
    if (b->cap >= bytes && b->p) return SPW_OK;
    dfree(d, &b->p);
    b->cap = 0;
    SPW_TRY(dalloc(d, &b->p, bytes));
    b->cap = bytes;
    return SPW_OK;
}

/* Small per-pass tables (programs, constants): each allocated and queued
 * for upload on the compute stream; the caller syncs before freeing the
 * host copies. */
typedef struct upload {
    void *dst; /* void ** */
    const void *src;
    uint64_t bytes;
} upload;

static spw_status upload_all(spw_sdev *d, const upload *up, int n)
{
    for (int i = 0; i < n; i++) {
        void **dp = up[i].dst;
        SPW_TRY(dalloc(d, dp, up[i].bytes));
        if (up[i].bytes) D(spw_cuda_memcpy_async(*dp, up[i].src, up[i].bytes, d->cs));
    }
    return SPW_OK;
}

/* The LogUp pass's device tables and running sum. */
static void logup_free(spw_sdev *d)
{
    dfree(d, &d->lu_prog);
    dfree(d, &d->lu_inter);
    dfree(d, &d->lu_vs);
    dfree(d, &d->lu_apow);
    dfree(d, &d->lu_run);
    dfree(d, &d->lu_bad);
}

/* The row passes' buffers, freed for a phase that needs the room (every
 * row call synced before, so no kernel still uses them). */
static void free_row_bufs(spw_sdev *d)
{
    dfree(d, &d->in.p);
    dfree(d, &d->out.p);
    dfree(d, &d->scr.p);
    d->in.cap = d->out.cap = d->scr.cap = 0;
}

/* Pool bytes a copy of `need` bytes may pin at once: all (0) when under
 * the cap, else a quarter of the cap (banded copies). */
static uint64_t band_cap(uint64_t pin_cap, uint64_t need)
{
    return pin_cap && need > pin_cap ? (pin_cap / 4 ? pin_cap / 4 : 1) : 0;
}

static spw_status sync_cs(spw_sdev *d)
{
    double t0 = spw_now();
    D(spw_cuda_stream_sync(d->cs));
    d->busy += spw_now() - t0;
    return SPW_OK;
}

spw_status spw_sdev_open(spw_ctx *ctx, spw_sdev **out, uint64_t vram_budget)
{
    *out = NULL;
    if (spw_cuda_device_count() <= 0)
        return spw_fail(ctx, SPW_ERR_NO_CUDA, "streaming device tier: no CUDA device");
    spw_sdev *d = calloc(1, sizeof *d);
    if (!d) return spw_fail(ctx, SPW_ERR_NOMEM, "streaming device tier: out of memory");
    d->ctx = ctx;
    uint64_t total = 0, freemem = 0;
    (void)spw_cuda_device_info(d->device, sizeof d->device, &total, &freemem);
    d->budget = vram_budget ? vram_budget : freemem / 10 * 9;
    spw_status st = spw_cuda_arena_create(&d->A, d->budget);
    if (st == SPW_OK) st = spw_cuda_stream_create(&d->cs);
    if (st == SPW_OK) st = spw_cuda_stream_create(&d->up);
    if (st == SPW_OK) st = spw_cuda_stream_create(&d->down);
    if (st != SPW_OK) {
        st = spw_fail(ctx, st, "streaming device tier: cannot reserve %llu MiB of device memory: %s",
                      (unsigned long long)(d->budget >> 20), spw_cuda_last_error());
        spw_sdev_close(d);
        return st;
    }
    d->k0 = spw_cuda_kernel_launches();
    d->h2d0 = spw_cuda_bytes_h2d();
    d->d2h0 = spw_cuda_bytes_d2h();
    *out = d;
    return SPW_OK;
}

void spw_sdev_close(spw_sdev *d)
{
    if (d) kept_drop(d);
    if (!d) return;
    if (d->cs) (void)spw_cuda_stream_sync(d->cs);
    if (d->up) (void)spw_cuda_stream_sync(d->up);
    if (d->down) (void)spw_cuda_stream_sync(d->down);
    spw_sdev_comp_end(d);
    spw_sdev_deep_end(d);
    spw_sdev_fri_end(d);
    logup_free(d);
    for (int i = 0; i < 3; i++) spw_pinset_free(&d->src[i].ps);
    while (d->n_cache) spw_sdev_uncache(d, d->cache[0].key);
    for (int i = 0; i < d->n_hb; i++) spw_cuda_host_free(d->hb[i].p);
    free_row_bufs(d);
    spw_cuda_stream_destroy(d->cs);
    spw_cuda_stream_destroy(d->up);
    spw_cuda_stream_destroy(d->down);
    spw_cuda_arena_destroy(d->A);
    free(d);
}

void spw_sdev_get_stats(const spw_sdev *d, spw_sdev_stats *o)
{
    memset(o, 0, sizeof *o);
    if (!d) return;
    *o = d->cnt;
    o->budget = d->budget;
    o->peak = spw_cuda_arena_peak(d->A);
    o->h2d = spw_cuda_bytes_h2d() - d->h2d0;
    o->d2h = spw_cuda_bytes_d2h() - d->d2h0;
    o->kernels = spw_cuda_kernel_launches() - d->k0;
    o->busy_s = d->busy;
    memcpy(o->device, d->device, sizeof o->device);
}

void spw_sdev_where(spw_sdev *d, const char *round, const char *table)
{
    d->round = round;
    d->table = table;
}


/* Page-locked buffers are kept for reuse: cudaHostAlloc pins and zeroes
 * its pages, and every pass and column phase of every table asks for
 * buffers of the same few sizes. At most HB_KEEP unused buffers are kept;
 * the smallest go first. */
static spw_status hb_new(spw_sdev *d, void **p, size_t bytes)
{
    int best = -1;
    for (int i = 0; i < d->n_hb; i++)
        if (!d->hb[i].used && d->hb[i].cap >= bytes && (best < 0 || d->hb[i].cap < d->hb[best].cap))
            best = i;
    if (best >= 0) {
        d->hb[best].used = 1;
        *p = d->hb[best].p;
        return SPW_OK;
    }
    if (d->n_hb == HB_MAX) return SPW_ERR_NOMEM;
    SPW_TRY(spw_cuda_host_alloc(p, bytes));
    d->hb[d->n_hb++] = (struct hbuf){*p, bytes, 1};
    return SPW_OK;
}

void *spw_sdev_host_alloc(spw_sdev *d, size_t bytes)
{
    void *p = NULL;
    if (hb_new(d, &p, bytes ? bytes : 8) != SPW_OK) return NULL;
    return p;
}

void spw_sdev_host_free(spw_sdev *d, void *p)
{
    if (!p) return;
    int k = -1, unused = 0;
    for (int i = 0; i < d->n_hb; i++) {
        if (d->hb[i].p == p) k = i;
        else if (!d->hb[i].used) unused++;
    }
    if (k < 0) return;
    d->hb[k].used = 0;
    for (;;) { /* over the count: the smallest unused goes; over the bytes: the largest */
        int small = -1, large = -1;
        uint64_t kept = 0;
        unused = 0;
        for (int i = 0; i < d->n_hb; i++)
            if (!d->hb[i].used) {
                unused++;
                kept += d->hb[i].cap;
                if (small < 0 || d->hb[i].cap < d->hb[small].cap) small = i;
                if (large < 0 || d->hb[i].cap > d->hb[large].cap) large = i;
            }
        int m = unused > HB_KEEP ? small : kept > HB_KEEP_BYTES ? large : -1;
        if (m < 0) return;
        spw_cuda_host_free(d->hb[m].p);
        d->hb[m] = d->hb[--d->n_hb];
    }
}

/* ---- straight copies between pool tiles and the device ---------------- */

/* The pieces of ps to (to_dev) or from the device buffer dev (column
 * stride dstride elements of the matrix's size, the block's origin at
 * dev), on stream s. */
static spw_status ps_copy(spw_sdev *d, const spw_pinset *ps, void *dev, size_t dstride,
                          int to_dev, spw_cuda_stream s)
{
    size_t e = ps->n ? ps->m->esz : 8;
    for (size_t i = 0; i < ps->n; i++) {
        const spw_piece *q = &ps->pc[i];
        uint8_t *x = (uint8_t *)dev + (q->dc * dstride + q->dr) * e;
        if (to_dev)
            D(spw_cuda_memcpy2d_async(x, dstride * e, q->host, q->pitch * e, q->nr * e, q->nc, s));
        else
            D(spw_cuda_memcpy2d_async(q->host, q->pitch * e, x, dstride * e, q->nr * e, q->nc, s));
    }
    return SPW_OK;
}

static spw_status pin(spw_sdev *d, spw_mat *m, spw_pinset *ps, int write, size_t c0, size_t nc,
                      size_t r0, size_t nr)
{
    double t0 = spw_now();
    spw_status st = spw_mat_pin_block(m, ps, write, c0, nc, r0, nr);
    d->cnt.pin_s += spw_now() - t0;
    if (st == SPW_ERR_NOMEM)
        return spw_fail(d->ctx, st, "GPU streaming tier: out of memory (tile list)");
    return st; /* the store named the chunk */
}

static spw_status release(spw_pinset *ps, spw_status st)
{
    spw_status r = spw_pinset_release(ps);
    return st != SPW_OK ? st : r;
}

/* Pool bytes of the whole tiles holding columns [0, G) of m (at most). */
static uint64_t group_pin_bytes(const spw_mat *m, size_t G)
{
    if (!m || !m->tiles) return 0;
    size_t cols = (G + m->tcols - 1) / m->tcols * m->tcols + m->tcols;
    return (uint64_t)cols * m->nrows * m->esz;
}

/* Columns [c0, c0+nc) x rows [0, nr) of m to (to_dev) or from the device
 * buffer dev (column stride nr) on stream st. cap == 0: every tile pinned
 * at once and left pinned in ps (the caller releases them once the copies
 * are done); else a band of row tiles at a time, so that at most cap bytes
 * of tiles are pinned, each band waited for before its tiles are unpinned
 * (a pool too full to pin a whole column group). */
static spw_status group_copy(spw_sdev *d, spw_mat *m, int to_dev, uint64_t *dev, size_t c0,
                             size_t nc, size_t nr, spw_cuda_stream st, spw_pinset *ps, uint64_t cap)
{
    if (!cap) {
        SPW_TRY(pin(d, m, ps, !to_dev, c0, nc, 0, nr));
        return ps_copy(d, ps, dev, nr, to_dev, st);
    }
    size_t g0 = c0 / m->tcols, g1 = (c0 + nc - 1) / m->tcols;
    uint64_t row_tile = (uint64_t)(g1 - g0 + 1) * m->tcols * m->trows * m->esz;
    size_t band = (size_t)(cap / row_tile) * m->trows;
    if (band < m->trows) band = m->trows;
    for (size_t r0 = 0; r0 < nr; r0 += band) {
        size_t take = nr - r0 < band ? nr - r0 : band;
        SPW_TRY(pin(d, m, ps, !to_dev, c0, nc, r0, take));
        spw_status s = ps_copy(d, ps, (uint8_t *)dev + r0 * m->esz, nr, to_dev, st);
        if (s == SPW_OK && (s = spw_cuda_stream_sync(st)) != SPW_OK) s = dfail(d, s);
        SPW_TRY(release(ps, s));
    }
    return SPW_OK;
}

/* ---- column phases ---------------------------------------------------- */

/* One slot of the pipeline: its device buffers, the producer's staging
 * and the tiles its copies use until its device->host copies are done. */
typedef struct cslot {
    uint64_t *h_in;          /* G x n (producer input only, pinned) */
    uint64_t *d_in, *d_lde;  /* G x n, G x N (no d_lde: the LDE goes into the cache entry) */
    spw_pinset ps_in, ps_keep, ps_coef, ps_lde;
    spw_cuda_event ev_up, ev_comp, ev_down;
    size_t c0, gc;
    int busy;                /* a group is in flight in this slot */
} cslot;

/* Group of slot s is done once its device->host copies are: unpin its tiles. */
static spw_status cols_done(spw_sdev *d, cslot *s)
{
    double t0 = spw_now();
    spw_status st = spw_cuda_event_sync(s->ev_down);
    d->busy += spw_now() - t0;
    if (st != SPW_OK) st = dfail(d, st);
    s->busy = 0;
    st = release(&s->ps_in, st);
    st = release(&s->ps_keep, st);
    st = release(&s->ps_coef, st);
    return release(&s->ps_lde, st);
}

spw_status spw_sdev_cols(spw_sdev *d, const spw_sdev_cols_job *j)
{
    size_t n = (size_t)1 << j->log_n, N = j->lde ? n << j->log_e : n;
    size_t G = j->G && j->G < j->ncols ? j->G : j->ncols;
    if (!j->ncols) return SPW_OK;
    /* the row passes' buffers are not needed now: give their room to the
     * pipeline (the compute stream is idle: every row call synced) */
    free_row_bufs(d);
    kept_drop(d);
    /* the device holds nslots slots of G x (n + N) plus the coset powers:
     * two when they fit (the copies of one group overlap the kernels of
     * the other), else one group of the plan's G, for which the cache gives
     * way (a group that ends inside a tile has the tile written twice),
     * else smaller groups */
    uint64_t room = spw_cuda_arena_largest_free(d->A);
    uint64_t per = (uint64_t)(n + (j->lde ? N : 0)) * 8;
    uint64_t fixed = (uint64_t)n * 8 + ((uint64_t)1 << 20);
    while (room < fixed + per && cache_drop_newest(d)) room = spw_cuda_arena_largest_free(d->A);
    if (room < fixed + per)
        return spw_fail(d->ctx, SPW_ERR_BUDGET,
                        "GPU streaming tier, %s, table '%s': one column of 2^%u rows needs %llu MiB "
                        "of device memory, %llu MiB free in the VRAM budget; raise --vram-budget",
                        d->round ? d->round : "-", d->table ? d->table : "-", j->log_n,
                        (unsigned long long)((fixed + per) >> 20), (unsigned long long)(room >> 20));
    int nslots = 2;
    if (fixed + 2 * per * G > room) {
        nslots = 1;
        while (fixed + per * G > room && cache_drop_newest(d)) room = spw_cuda_arena_largest_free(d->A);
        while (G > 1 && fixed + per * G > room) G = (G + 1) / 2;
    }
    cslot S[2];
    memset(S, 0, sizeof S);
    uint64_t *pw = NULL;
    spw_status st = SPW_OK;
    double t_start = spw_now(), t_get = 0, t_out = 0, busy0 = d->busy, pin0 = d->cnt.pin_s;
    for (int k = 0; k < nslots && st == SPW_OK; k++) {
        cslot *s = &S[k];
        if (!j->src && !(s->h_in = spw_sdev_host_alloc(d, G * n * 8)))
            st = spw_fail(d->ctx, SPW_ERR_NOMEM, "GPU streaming tier: out of pinned host memory "
                          "(%zu columns of 2^%u rows)", G, j->log_n);
        if (st == SPW_OK) st = dalloc(d, &s->d_in, G * n * 8);
        if (st == SPW_OK && j->lde) st = dalloc(d, &s->d_lde, G * N * 8);
        if (st == SPW_OK && (spw_cuda_event_create(&s->ev_up) != SPW_OK ||
                             spw_cuda_event_create(&s->ev_comp) != SPW_OK ||
                             spw_cuda_event_create(&s->ev_down) != SPW_OK))
            st = dfail(d, SPW_ERR_CUDA);
    }
    if (st == SPW_OK && j->lde && (st = dalloc(d, &pw, n * 8)) == SPW_OK &&
        spw_gpu_powers(d->cs, pw, n, GL_GENERATOR) != SPW_OK)
        st = dfail(d, SPW_ERR_CUDA);
    /* the coefficients kept on the device for the next pass, from free
     * room only (64 MiB left over) */
    uint64_t *kc = NULL, kb = (uint64_t)j->ncols * n * 8;
    if (st == SPW_OK && j->keep_dev && j->coef && !j->lde &&
        spw_cuda_arena_largest_free(d->A) >= kb + ((uint64_t)64 << 20) &&
        spw_cuda_arena_alloc(d->A, (void **)&kc, kb) != SPW_OK)
        kc = NULL;
    /* the tiles of two groups in flight pinned at once when the pool can
     * hold them, else band by band (group_copy with a cap) */
    uint64_t need = nslots * (group_pin_bytes(j->src ? j->src : j->keep, G) +
                              group_pin_bytes(j->coef, G) + group_pin_bytes(j->lde, G));
    uint64_t cap = band_cap(j->pin_cap, need);
    /* the LDE straight into a device cache entry when one fits: the slots
     * then need no LDE buffers of their own */
    uint64_t *cl = st == SPW_OK && j->lde ? cache_make(d, j->lde, (uint64_t)j->ncols * N * 8) : NULL;
    if (cl)
        for (int k = 0; k < nslots; k++) dfree(d, &S[k].d_lde);
    size_t ng = (j->ncols + G - 1) / G;
    for (size_t g = 0; g < ng && st == SPW_OK; g++) {
        cslot *s = &S[g % nslots];
        /* the slot's previous group must be done: its buffers and tiles
         * are reused */
        if (s->busy && (st = cols_done(d, s)) != SPW_OK) break;
        s->c0 = g * G;
        s->gc = j->ncols - s->c0 < G ? j->ncols - s->c0 : G;
        size_t c0 = s->c0, gc = s->gc;
        uint64_t *ld = cl ? cl + c0 * N : s->d_lde;
#define DS(call)                              \
    if ((st = (call)) != SPW_OK) {            \
        st = dfail(d, st);                    \
        break;                                \
    }
#define TS(call)                              \
    if ((st = (call)) != SPW_OK) break;
        if (j->src) {
            TS(group_copy(d, j->src, 1, s->d_in, c0, gc, n, d->up, &s->ps_in, cap));
        } else {
            double tg = spw_now();
            TS(j->get(j->arg, s->h_in, c0, gc));
            t_get += spw_now() - tg;
            DS(spw_cuda_memcpy_async(s->d_in, s->h_in, gc * n * 8, d->up));
            if (j->keep) TS(group_copy(d, j->keep, 0, s->d_in, c0, gc, n, d->up, &s->ps_keep, cap));
        }
        DS(spw_cuda_event_record(s->ev_up, d->up));
        DS(spw_cuda_stream_wait_event(d->cs, s->ev_up));
        if (j->inverse) DS(spw_cuda_ntt_inverse_batch(d->A, d->cs, s->d_in, gc, n, j->log_n));
        if (kc) DS(spw_cuda_memcpy_async(kc + c0 * n, s->d_in, gc * n * 8, d->cs));
        if (j->lde) {
            DS(spw_gpu_scale_pad(d->cs, ld, N, s->d_in, n, gc, n, pw));
            DS(spw_cuda_ntt_forward_batch(d->A, d->cs, ld, gc, N, j->log_n + j->log_e));
        }
        DS(spw_cuda_event_record(s->ev_comp, d->cs));
        DS(spw_cuda_stream_wait_event(d->down, s->ev_comp));
        double tc = spw_now();
        if (j->coef) TS(group_copy(d, j->coef, 0, s->d_in, c0, gc, n, d->down, &s->ps_coef, cap));
        t_out += spw_now() - tc;
        if (j->lde) TS(group_copy(d, j->lde, 0, ld, c0, gc, N, d->down, &s->ps_lde, cap));
        DS(spw_cuda_event_record(s->ev_down, d->down));
        s->busy = 1;
#undef DS
#undef TS
    }
    (void)spw_cuda_stream_sync(d->cs);
    (void)spw_cuda_stream_sync(d->up);
    (void)spw_cuda_stream_sync(d->down);
    for (int k = 0; k < 2; k++) {
        cslot *s = &S[k];
        spw_status ps = SPW_OK;
        if (s->busy) {
            ps = cols_done(d, s);
        } else { /* a group that failed before its copies were queued */
            ps = release(&s->ps_in, ps);
            ps = release(&s->ps_keep, ps);
            ps = release(&s->ps_coef, ps);
            ps = release(&s->ps_lde, ps);
        }
        if (st == SPW_OK) st = ps;
        spw_pinset_free(&s->ps_in);
        spw_pinset_free(&s->ps_keep);
        spw_pinset_free(&s->ps_coef);
        spw_pinset_free(&s->ps_lde);
        spw_sdev_host_free(d, s->h_in);
        dfree(d, &s->d_in);
        dfree(d, &s->d_lde);
        spw_cuda_event_destroy(s->ev_up);
        spw_cuda_event_destroy(s->ev_comp);
        spw_cuda_event_destroy(s->ev_down);
    }
    if (cl) {
        if (st != SPW_OK) spw_sdev_uncache(d, j->lde);
        else cache_release(d, j->lde);
    }
    dfree(d, &pw);
    if (kc && st == SPW_OK) {
        d->kept.m = j->coef;
        d->kept.p = kc;
    } else if (kc) {
        (void)spw_cuda_arena_free(d->A, kc);
    }
    spw_log(d->ctx, SPW_LOG_DEBUG, "GPU streaming tier, %s, table '%s': column phase of %zu columns "
            "(groups of %zu, %d slots): %.3f s, producer %.3f s, waiting %.3f s, pinning %.3f s, "
            "queueing the coefficients' copies %.3f s", d->round ? d->round : "-",
            d->table ? d->table : "-", j->ncols, G, nslots, spw_now() - t_start, t_get,
            d->busy - busy0, d->cnt.pin_s - pin0, t_out);
    return st;
}

spw_status spw_sdev_interpolate(spw_sdev *d, uint64_t *h_col, unsigned log_n)
{
    size_t n = (size_t)1 << log_n;
    uint64_t *col = NULL, *pw = NULL;
    SPW_TRY(dalloc(d, &col, n * 8));
    spw_status st = dalloc(d, &pw, n * 8);
    if (st == SPW_OK &&
        ((st = spw_cuda_memcpy_async(col, h_col, n * 8, d->cs)) != SPW_OK ||
         (st = spw_cuda_ntt_inverse_batch(d->A, d->cs, col, 1, n, log_n)) != SPW_OK ||
         (st = spw_gpu_powers(d->cs, pw, n, gl_inv(GL_GENERATOR))) != SPW_OK ||
         (st = spw_gpu_scale_pad(d->cs, col, n, col, n, 1, n, pw)) != SPW_OK ||
         (st = spw_cuda_memcpy_async(h_col, col, n * 8, d->cs)) != SPW_OK))
        st = dfail(d, st);
    if (st == SPW_OK) st = sync_cs(d);
    dfree(d, &col);
    dfree(d, &pw);
    return st;
}

/* ---- row passes --------------------------------------------------------- */

/* A pass's matrix: pinned in the cache if it has a copy (call after the
 * pass's allocations, which may drop entries). */
static void src_open(spw_sdev *d, struct msrc *x, spw_mat *m)
{
    x->m = m && m->tiles ? m : NULL;
    x->dev = x->m ? cache_acquire(d, m) : NULL;
}

static void src_close(spw_sdev *d, struct msrc *x)
{
    (void)spw_pinset_release(&x->ps);
    if (x->dev) cache_release(d, x->m);
    x->dev = NULL;
    x->m = NULL;
}

static void srcs_close(spw_sdev *d)
{
    for (int i = 0; i < 3; i++) src_close(d, &d->src[i]);
}

/* Rows [r0, r0+W) (modulo the matrix's rows) of every column of x into
 * dst (column stride W), queued on the compute stream. */
static spw_status src_in(spw_sdev *d, struct msrc *x, uint64_t *dst, size_t r0, size_t W)
{
    spw_mat *m = x->m;
    if (x->dev) {
        size_t a = m->nrows - r0 < W ? m->nrows - r0 : W;
        D(spw_cuda_memcpy2d_async(dst, W * 8, x->dev + r0, m->nrows * 8, a * 8, m->ncols, d->cs));
        if (a < W)
            D(spw_cuda_memcpy2d_async(dst + a, W * 8, x->dev, m->nrows * 8, (W - a) * 8, m->ncols, d->cs));
        d->cnt.cache_served += (uint64_t)m->ncols * W * 8;
        return SPW_OK;
    }
    SPW_TRY(pin(d, m, &x->ps, 0, 0, m->ncols, r0, W));
    return ps_copy(d, &x->ps, dst, W, 1, d->cs);
}

/* Rows [r0, r0+nr) of every column of x from src (column stride stride). */
static spw_status src_out(spw_sdev *d, struct msrc *x, const uint64_t *src, size_t stride, size_t r0,
                          size_t nr)
{
    SPW_TRY(pin(d, x->m, &x->ps, 1, 0, x->m->ncols, r0, nr));
    return ps_copy(d, &x->ps, (uint64_t *)src, stride, 0, d->cs);
}

/* Waits for a chunk's copies and kernels, then unpins its tiles. */
static spw_status chunk_done(spw_sdev *d, spw_status st)
{
    if (st == SPW_OK) st = sync_cs(d);
    else (void)spw_cuda_stream_sync(d->cs);
    for (int i = 0; i < 3; i++) st = release(&d->src[i].ps, st);
    return st;
}

uint64_t spw_sdev_budget(const spw_sdev *d) { return d ? d->budget : 0; }

spw_status spw_sdev_tree_rows(spw_sdev *d, spw_digest *h_heap, size_t keep, spw_mat *m, size_t r0,
                              size_t R)
{
    if (keep > 2 * R) keep = 2 * R;
    /* allocations first (they may drop cache entries), then the source */
    SPW_TRY(grow(d, &d->out, 2 * (uint64_t)R * 32));
    if (cache_find(d, m) < 0) SPW_TRY(grow(d, &d->in, (uint64_t)m->ncols * R * 8));
    src_open(d, &d->src[0], m);
    spw_status st = SPW_OK;
    const uint64_t *cols = d->src[0].dev ? d->src[0].dev + r0 : d->in.p;
    size_t stride = d->src[0].dev ? m->nrows : R;
    if (d->src[0].dev) d->cnt.cache_served += (uint64_t)m->ncols * R * 8;
    else st = src_in(d, &d->src[0], d->in.p, r0, R);
    uint8_t *nodes = d->out.p;
    if (st == SPW_OK && ((st = spw_cuda_memset_async(nodes, 0, 32, d->cs)) != SPW_OK ||
                         (st = spw_cuda_merkle_build(d->cs, nodes, cols, m->ncols, stride, R)) != SPW_OK ||
                         (st = spw_cuda_memcpy_async(h_heap, nodes, keep * 32, d->cs)) != SPW_OK))
        st = dfail(d, st);
    st = chunk_done(d, st);
    src_close(d, &d->src[0]);
    return st;
}

/* The LogUp pass's device program, constants, running sum and the scratch
 * of C rows (d->la without inputs). */
static spw_status logup_setup(spw_sdev *d, const spw_air_table *t, const fe3 *ch, size_t C)
{
    spw_gpu_insn *prog = NULL;
    spw_gpu_inter *inter = NULL;
    uint32_t *vslots = NULL, plen = 0, nvs = 0, maxv = 0;
    fe3 *apow = NULL;
    spw_status st = spw_gpu_bus_program(d->ctx, t, &prog, &plen, &vslots, &nvs, &inter, &maxv);
    if (st == SPW_OK && !(apow = spw_malloc_array(maxv + 2, sizeof(fe3))))
        st = spw_fail(d->ctx, SPW_ERR_NOMEM, "prove: out of memory (LogUp)");
    if (st == SPW_OK) {
        apow[0] = fe3_one();
        for (uint32_t i = 1; i <= maxv + 1; i++) apow[i] = fe3_mul(apow[i - 1], ch[SPW_CHALLENGE_ALPHA]);
        upload up[4] = {{&d->lu_prog, prog, (uint64_t)plen * sizeof *prog},
                        {&d->lu_inter, inter, (uint64_t)t->n_interactions * sizeof *inter},
                        {&d->lu_vs, vslots, (uint64_t)nvs * 4},
                        {&d->lu_apow, apow, (uint64_t)(maxv + 2) * sizeof(fe3)}};
        st = upload_all(d, up, 4);
    }
    if (st == SPW_OK) st = dalloc(d, &d->lu_run, sizeof(fe3));
    if (st == SPW_OK) st = dalloc(d, &d->lu_bad, 8);
    if (st == SPW_OK && (spw_cuda_memset_async(d->lu_run, 0, sizeof(fe3), d->cs) != SPW_OK ||
                         spw_cuda_memset_async(d->lu_bad, 0xff, 8, d->cs) != SPW_OK))
        st = dfail(d, SPW_ERR_CUDA);
    if (st == SPW_OK) st = sync_cs(d); /* the host arrays are freed next */
    free(prog);
    free(inter);
    free(vslots);
    free(apow);
    SPW_TRY(st);
    spw_gpu_logup_args la = {d->lu_prog, plen, plen, d->lu_inter, t->n_interactions, d->lu_vs,
                             d->lu_apow, ch[SPW_CHALLENGE_Z], NULL, NULL,
                             (size_t)1 << t->log_height, t->n_aux, C, 0};
    d->la = la;
    d->lu_C = C;
    return grow(d, &d->scr, spw_gpu_logup_scratch_bytes(&d->la, C));
}

/* The running sum and the first bad row (UINT64_MAX: none) to the host;
 * frees the pass's tables. */
static spw_status logup_result(spw_sdev *d, fe3 *sum, uint64_t *bad_row)
{
    spw_status st = SPW_OK;
    if (spw_cuda_memcpy_async(sum, d->lu_run, sizeof(fe3), d->cs) != SPW_OK ||
        spw_cuda_memcpy_async(bad_row, d->lu_bad, 8, d->cs) != SPW_OK)
        st = dfail(d, SPW_ERR_CUDA);
    if (st == SPW_OK) st = sync_cs(d);
    else (void)spw_cuda_stream_sync(d->cs);
    logup_free(d);
    return st;
}

spw_status spw_sdev_logup_begin(spw_sdev *d, const spw_air_table *t, const fe3 *ch, size_t C,
                                spw_mat *trace, spw_mat *aux)
{
    SPW_TRY(logup_setup(d, t, ch, C));
    SPW_TRY(grow(d, &d->in, (uint64_t)t->n_main * C * 8));
    SPW_TRY(grow(d, &d->out, 3 * (uint64_t)t->n_aux * C * 8));
    src_open(d, &d->src[0], trace);
    src_open(d, &d->src[1], aux);
    return SPW_OK;
}

spw_status spw_sdev_logup_chunk(spw_sdev *d, size_t r0, size_t m)
{
    spw_gpu_logup_args a = d->la;
    size_t C = d->lu_C;
    a.main = d->in.p;
    a.aux = d->out.p;
    a.stride = C;
    a.row_base = r0;
    spw_status st = src_in(d, &d->src[0], d->in.p, r0, m);
    if (st == SPW_OK && (st = spw_gpu_logup_chunk(d->cs, &a, r0, m, d->scr.p, d->lu_run, d->lu_bad)) != SPW_OK)
        st = dfail(d, st);
    if (st == SPW_OK) st = src_out(d, &d->src[1], d->out.p, C, r0, m);
    return chunk_done(d, st);
}

spw_status spw_sdev_logup_end(spw_sdev *d, fe3 *sum, uint64_t *bad_row)
{
    srcs_close(d);
    return logup_result(d, sum, bad_row);
}

/* The composition's device program and constants (d->ca without inputs),
 * and the scratch of its threads for R points at a time. */
static spw_status comp_setup(spw_sdev *d, const spw_air_table *t, unsigned log_n, unsigned log_e,
                             const fe3 *ch, uint32_t n_ch, const uint64_t *publics,
                             uint32_t n_publics, fe3 logup_sum, fe3 lambda, size_t R)
{
    size_t n = (size_t)1 << log_n, E = (size_t)1 << log_e, NE = n << log_e;
    spw_gpu_insn *prog = NULL;
    spw_gpu_cons *cons = NULL;
    uint32_t plen = 0, nslots = 0;
    SPW_TRY(spw_gpu_comp_program(d->ctx, t, &prog, &plen, &nslots, &cons));
    fe3 *lpow = NULL;
    uint64_t *inv_zn = NULL;
    spw_status st = spw_gpu_comp_consts(d->ctx, t, log_n, log_e, lambda, &lpow, &inv_zn);
    if (st == SPW_OK) {
        upload up[6] = {{&d->c_prog, prog, (uint64_t)plen * sizeof *prog},
                        {&d->c_cons, cons, (uint64_t)t->n_constraints * sizeof *cons},
                        {&d->c_lpow, lpow, (uint64_t)t->n_constraints * sizeof(fe3)},
                        {&d->c_izn, inv_zn, E * 8},
                        {&d->c_ch, ch, (uint64_t)n_ch * sizeof(fe3)},
                        {&d->c_pub, publics, (uint64_t)n_publics * 8}};
        st = upload_all(d, up, 6);
        if (st == SPW_OK) st = sync_cs(d);
    }
    free(prog);
    free(cons);
    free(lpow);
    free(inv_zn);
    SPW_TRY(st);
    uint64_t room = spw_cuda_arena_largest_free(d->A);
    uint64_t cap = room / 2 < ((uint64_t)256 << 20) ? room / 2 : ((uint64_t)256 << 20);
    d->c_slots = nslots;
    d->c_E = E;
    d->c_R = R;
    d->c_threads = spw_gpu_comp_threads(R, nslots, cap);
    SPW_TRY(grow(d, &d->scr, (uint64_t)(nslots ? nslots : 1) * 3 * 8 * d->c_threads));
    spw_gpu_comp_args ca = {d->c_prog, plen, nslots, d->c_cons, t->n_constraints, d->c_lpow,
                            d->c_ch, n_publics ? d->c_pub : NULL, logup_sum, NULL, NULL, NE, E,
                            d->c_izn, gl_root_of_unity(log_n + log_e),
                            gl_inv(gl_root_of_unity(log_n)), NULL, 0, 0, 0, 0, 0};
    d->ca = ca;
    return SPW_OK;
}

spw_status spw_sdev_comp_begin(spw_sdev *d, const spw_air_table *t, unsigned log_n, unsigned log_e,
                               const fe3 *ch, uint32_t n_ch, const uint64_t *publics,
                               uint32_t n_publics, fe3 logup_sum, fe3 lambda, size_t R,
                               spw_mat *main, spw_mat *aux, spw_mat *q)
{
    size_t E = (size_t)1 << log_e, NE = ((size_t)1 << log_n) << log_e;
    size_t W = R + E, na = 3 * (size_t)t->n_aux;
    SPW_TRY(grow(d, &d->in, ((uint64_t)t->n_main + na) * W * 8));
    SPW_TRY(grow(d, &d->out, 3 * (uint64_t)R * 8));
    SPW_TRY(comp_setup(d, t, log_n, log_e, ch, n_ch, publics, n_publics, logup_sum, lambda, R));
    if (main->ncols != t->n_main || main->nrows != NE || (na && (!aux || aux->ncols != na)))
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: composition inputs of table "
                        "'%s' do not match its shape", t->name);
    src_open(d, &d->src[0], main);
    src_open(d, &d->src[1], na ? aux : NULL);
    src_open(d, &d->src[2], q);
    return SPW_OK;
}

spw_status spw_sdev_comp_chunk(spw_sdev *d, size_t r0)
{
    spw_gpu_comp_args a = d->ca;
    size_t R = d->c_R, W = R + d->c_E, nm = d->src[0].m->ncols;
    uint64_t *dm = d->in.p, *da = dm + nm * W;
    spw_status st = src_in(d, &d->src[0], dm, r0, W);
    if (st == SPW_OK && d->src[1].m) st = src_in(d, &d->src[1], da, r0, W);
    a.main = dm;
    a.aux = d->src[1].m ? da : NULL;
    a.row0 = r0;
    a.rows = R;
    a.stride = W;
    a.out_stride = R;
    a.out = d->out.p;
    size_t threads = d->c_threads < R ? d->c_threads : (R + 127) / 128 * 128;
    if (st == SPW_OK && (st = spw_gpu_comp_eval(d->cs, &a, d->scr.p, threads)) != SPW_OK)
        st = dfail(d, st);
    if (st == SPW_OK) st = src_out(d, &d->src[2], d->out.p, R, r0, R);
    return chunk_done(d, st);
}

void spw_sdev_comp_end(spw_sdev *d)
{
    srcs_close(d);
    dfree(d, &d->c_prog);
    dfree(d, &d->c_cons);
    dfree(d, &d->c_lpow);
    dfree(d, &d->c_izn);
    dfree(d, &d->c_ch);
    dfree(d, &d->c_pub);
}

spw_status spw_sdev_deep_begin(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               size_t R, spw_mat *main, spw_mat *aux, spw_mat *comp)
{
    spw_sdev_deep_end(d);
    SPW_TRY(dalloc(d, &d->g_dev, (n1 + n2) * sizeof(fe3)));
    d->g_n1 = n1;
    d->dp_R = R;
    D(spw_cuda_memcpy_async(d->g_dev, g1, n1 * sizeof(fe3), d->cs));
    if (n2) D(spw_cuda_memcpy_async(d->g_dev + n1, g2, n2 * sizeof(fe3), d->cs));
    SPW_TRY(grow(d, &d->in, (uint64_t)n1 * R * 8));
    SPW_TRY(grow(d, &d->out, (uint64_t)R * sizeof(fe3)));
    src_open(d, &d->src[0], main);
    src_open(d, &d->src[1], aux);
    src_open(d, &d->src[2], comp);
    size_t nc = 0;
    for (int i = 0; i < 3; i++) nc += d->src[i].m ? d->src[i].m->ncols : 0;
    if (nc != n1) {
        srcs_close(d);
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: DEEP inputs of %zu columns "
                        "against %zu coefficients", nc, n1);
    }
    return sync_cs(d);
}

spw_status spw_sdev_deep_chunk(spw_sdev *d, fe3 *h_out, size_t r0, unsigned log_N, fe3 v1, fe3 v2,
                               fe3 zeta, fe3 zw)
{
    size_t R = d->dp_R, nc3[3];
    uint64_t *p[3], *x = d->in.p;
    spw_status st = SPW_OK;
    for (int i = 0; i < 3; i++) {
        nc3[i] = d->src[i].m ? d->src[i].m->ncols : 0;
        p[i] = x;
        x += nc3[i] * R;
        if (st == SPW_OK && nc3[i]) st = src_in(d, &d->src[i], p[i], r0, R);
    }
    spw_gpu_deep_args a;
    memset(&a, 0, sizeof a);
    a.main = p[0];
    a.aux = nc3[1] ? p[1] : NULL;
    a.comp = p[2];
    a.nm = (uint32_t)nc3[0];
    a.na = (uint32_t)nc3[1];
    a.nc = (uint32_t)nc3[2];
    a.g1 = d->g_dev;
    a.g2 = d->g_dev + d->g_n1;
    a.v1 = v1;
    a.v2 = v2;
    a.zeta = zeta;
    a.zw = zw;
    a.log_N = log_N;
    a.accumulate = 0;
    a.row0 = r0;
    a.rows = R;
    a.stride = R;
    a.out_fe3 = d->out.p;
    if (st == SPW_OK && ((st = spw_gpu_deep(d->cs, &a)) != SPW_OK ||
                         (st = spw_cuda_memcpy_async(h_out, d->out.p, R * sizeof(fe3), d->cs)) != SPW_OK))
        st = dfail(d, st);
    return chunk_done(d, st);
}

void spw_sdev_deep_end(spw_sdev *d)
{
    srcs_close(d);
    dfree(d, &d->g_dev);
}

spw_status spw_sdev_dot(spw_sdev *d, fe3 *out1, fe3 *out2, spw_mat *m, size_t r0, size_t n,
                        const fe3 *pw1, const fe3 *pw2)
{
    size_t ncols = m->ncols;
    if (!ncols || !n) return SPW_OK;
    size_t nseg = spw_gpu_dot_segments(n);
    uint64_t cols_b = (uint64_t)ncols * n * 8, pw_b = (uint64_t)n * sizeof(fe3);
    SPW_TRY(grow(d, &d->in, cols_b + 2 * pw_b + 512));
    SPW_TRY(grow(d, &d->scr, (uint64_t)ncols * nseg * sizeof(fe3)));
    fe3 *hp = spw_malloc_array(ncols * nseg, sizeof(fe3));
    if (!hp) return spw_fail(d->ctx, SPW_ERR_NOMEM, "GPU streaming tier: out of memory (OOD)");
    uint64_t *dc = d->in.p;
    fe3 *dp1 = (fe3 *)((uint8_t *)d->in.p + (cols_b + 255) / 256 * 256);
    fe3 *dp2 = (fe3 *)((uint8_t *)dp1 + (pw_b + 255) / 256 * 256);
    src_open(d, &d->src[0], m);
    spw_status st = src_in(d, &d->src[0], dc, r0, n);
    if (st == SPW_OK &&
        ((st = spw_cuda_memcpy_async(dp1, pw1, pw_b, d->cs)) != SPW_OK ||
         (pw2 && (st = spw_cuda_memcpy_async(dp2, pw2, pw_b, d->cs)) != SPW_OK) ||
         (st = spw_gpu_dot_host(d->cs, out1, dc, ncols, n, n, dp1, d->scr.p, hp)) != SPW_OK ||
         (pw2 && (st = spw_gpu_dot_host(d->cs, out2, dc, ncols, n, n, dp2, d->scr.p, hp)) != SPW_OK)))
        st = dfail(d, st);
    st = chunk_done(d, st);
    src_close(d, &d->src[0]);
    free(hp);
    return st;
}

/* ---- coset passes: the recompute tier (dev.h) --------------------------- */

void spw_sdev_set_pin_cap(spw_sdev *d, uint64_t cap)
{
    if (d) d->pin_cap = cap;
}

void spw_sdev_set_coef_room(spw_sdev *d, uint64_t bytes)
{
    if (d) d->coef_room = bytes;
}

/* The columns of mats[0..nmat) (n rows each; NULL or empty ones skipped),
 * one after the other with column stride n, into the device buffer dst
 * (to_dev 0: from dst into the matrices): straight between the tiles and
 * the device, the tiles pinned whole when the pool can pin them, else a
 * band of rows at a time. Returns when the copies are done.
 * keep (matrices written once, the coefficients): a matrix the device
 * cache holds is copied from there instead of the host; one that crossed
 * the link is also left in the cache when there is free room beyond its
 * reserve (dev.h, "device cache"), for the next round's pass over it. */
static spw_status mats_xfer(spw_sdev *d, spw_mat *const *mats, int nmat, void *dst_, size_t n,
                            int to_dev, int keep)
{
    uint8_t *dst = dst_;
    spw_pinset ps;
    memset(&ps, 0, sizeof ps);
    spw_status st = SPW_OK;
    for (int i = 0; i < nmat && st == SPW_OK; i++) {
        spw_mat *m = mats[i];
        if (!m || !m->ncols) continue;
        uint64_t bytes = (uint64_t)m->ncols * n * m->esz;
        int ci = keep && to_dev ? cache_find(d, m) : -1;
        if (ci >= 0 && d->cache[ci].bytes == bytes) {
            if ((st = spw_cuda_memcpy_async(dst, d->cache[ci].p, bytes, d->cs)) != SPW_OK) st = dfail(d, st);
            d->cnt.cache_served += bytes;
            dst += bytes;
            continue;
        }
        if (!to_dev) spw_sdev_uncache(d, m); /* rewritten: a cached copy would be stale */
        uint64_t need = bytes + group_pin_bytes(m, 1);
        uint64_t cap = band_cap(d->pin_cap, need);
        st = group_copy(d, m, to_dev, (uint64_t *)dst, 0, m->ncols, n, d->cs, &ps, cap);
        uint64_t *e = st == SPW_OK && keep && m->nrows == n && d->cache_bytes + bytes <= d->coef_room
                          ? cache_make(d, m, bytes) : NULL;
        if (e) {
            if ((st = spw_cuda_memcpy_async(e, dst, bytes, d->cs)) != SPW_OK) st = dfail(d, st);
            cache_release(d, m);
            if (st != SPW_OK) spw_sdev_uncache(d, m);
        }
        if (st == SPW_OK && !cap) st = sync_cs(d);
        st = release(&ps, st);
        dst += bytes;
    }
    spw_pinset_free(&ps);
    if (st == SPW_OK) st = sync_cs(d); /* the copies from the cache */
    return st;
}

static size_t mats_cols(spw_mat *const *mats, int nmat)
{
    size_t c = 0;
    for (int i = 0; i < nmat; i++) c += mats[i] ? mats[i]->ncols : 0;
    return c;
}

/* One coset pass's buffers: the evaluations (nc columns of n), the shift's
 * powers and, when the arena has room for it, a device copy of the
 * coefficients (uploaded once instead of once per coset). */
typedef struct coset {
    spw_mat *const *mats;
    int nmat;
    size_t n, nc;
    unsigned log_n;
    uint64_t *ev, *pw, *coef;
    int have_coef;
    size_t cosets;
    double t0, t_in; /* opened at, seconds in the coefficient uploads */
    /* $SPW_SDEV_PROFILE: the device synced around each evaluation, whose
     * seconds go to t_eval, the rest of the device work to t_kern */
    double t_eval, t_kern, t_mark;
} coset;

static int coset_prof(void)
{
    static int p = -1;
    if (p < 0) p = getenv("SPW_SDEV_PROFILE") != NULL;
    return p;
}

static spw_status coset_open(spw_sdev *d, coset *c, spw_mat *const *mats, int nmat, unsigned log_n)
{
    memset(c, 0, sizeof *c);
    free_row_bufs(d);
    kept_drop(d);
    c->mats = mats;
    c->nmat = nmat;
    c->log_n = log_n;
    c->n = (size_t)1 << log_n;
    c->nc = mats_cols(mats, nmat);
    c->t0 = spw_now();
    uint64_t b = (uint64_t)c->nc * c->n * 8;
    SPW_TRY(dalloc(d, &c->ev, b));
    SPW_TRY(dalloc(d, &c->pw, (uint64_t)c->n * 8));
    return SPW_OK;
}

/* After the pass's other buffers (everything it allocates is then in
 * place; the NTT works in place): the coefficient copy if it fits. */
static void coset_want_coef(spw_sdev *d, coset *c)
{
    uint64_t b = (uint64_t)c->nc * c->n * 8;
    while (spw_cuda_arena_largest_free(d->A) < b + ((uint64_t)64 << 20) && cache_drop_newest(d)) {}
    if (spw_cuda_arena_largest_free(d->A) < b + ((uint64_t)64 << 20) ||
        spw_cuda_arena_alloc(d->A, (void **)&c->coef, b) != SPW_OK) {
        c->coef = NULL;
        spw_log(d->ctx, SPW_LOG_INFO, "GPU streaming tier, %s, table '%s': no room for the "
                "coefficients (%llu MiB; arena %llu of %llu MiB in use, largest free %llu MiB, "
                "cache %llu MiB): uploaded once per coset", d->round ? d->round : "-",
                d->table ? d->table : "-", (unsigned long long)(b >> 20),
                (unsigned long long)(spw_cuda_arena_in_use(d->A) >> 20),
                (unsigned long long)(spw_cuda_arena_budget(d->A) >> 20),
                (unsigned long long)(spw_cuda_arena_largest_free(d->A) >> 20),
                (unsigned long long)(d->cache_bytes >> 20));
    }
}

static void coset_close(spw_sdev *d, coset *c)
{
    (void)spw_cuda_stream_sync(d->cs);
    if (c->t_mark > 0) c->t_kern += spw_now() - c->t_mark;
    spw_log(d->ctx, SPW_LOG_INFO, "GPU streaming tier, %s, table '%s': %zu cosets of %zu columns, "
            "%.3f s uploading coefficients, %.3f s in all (profile: %.3f s evaluating, %.3f s in "
            "the pass's kernels)", d->round ? d->round : "-", d->table ? d->table : "-", c->cosets,
            c->nc, c->t_in, spw_now() - c->t0, c->t_eval, c->t_kern);
    dfree(d, &c->ev);
    dfree(d, &c->pw);
    dfree(d, &c->coef);
}

/* c->ev := the columns evaluated on shift * <w_n> (queued on cs). */
static spw_status coset_eval(spw_sdev *d, coset *c, uint64_t shift)
{
    const uint64_t *src = c->ev;
    double t0 = spw_now();
    if (c->coef) {
        if (!c->have_coef) SPW_TRY(mats_xfer(d, c->mats, c->nmat, c->coef, c->n, 1, 1));
        c->have_coef = 1;
        src = c->coef;
    } else {
        SPW_TRY(mats_xfer(d, c->mats, c->nmat, c->ev, c->n, 1, 1));
    }
    c->t_in += spw_now() - t0;
    c->cosets++;
    if (coset_prof()) {
        SPW_TRY(sync_cs(d));
        double t1 = spw_now();
        if (c->t_mark > 0) c->t_kern += t1 - c->t_mark;
        c->t_mark = t1;
    }
    D(spw_gpu_powers(d->cs, c->pw, c->n, shift));
    D(spw_gpu_scale_pad(d->cs, c->ev, c->n, src, c->n, c->nc, c->n, c->pw));
    D(spw_cuda_ntt_forward_batch(d->A, d->cs, c->ev, c->nc, c->n, c->log_n));
    if (coset_prof()) {
        SPW_TRY(sync_cs(d));
        double t2 = spw_now();
        c->t_eval += t2 - c->t_mark;
        c->t_mark = t2;
    }
    d->cnt.cosets++;
    __atomic_add_fetch(&g_cosets, 1, __ATOMIC_RELAXED);
    return SPW_OK;
}

/* shift of coset j of the K = 2^log_k cosets of GL_GENERATOR * <w_{n K}> */
static uint64_t coset_shift(unsigned log_n, unsigned log_k, size_t j)
{
    return gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(log_n + log_k), j));
}

/* The tree pass of an opened coset pass c (its coefficients already on the
 * device when c->have_coef, else uploaded as coset_eval does); closes c. */
static spw_status tree_pass(spw_sdev *d, spw_stree *tree, coset *c_, unsigned log_b)
{
    coset c = *c_;
    unsigned log_n = c.log_n;
    size_t n = (size_t)1 << log_n, K = (size_t)1 << log_b, N = n << log_b;
    size_t RD = (size_t)1 << 20;
    if (RD > N) RD = N;
    if (RD < tree->R) RD = tree->R;
    uint8_t *leaves = NULL, *tmp = NULL, *heap = NULL;
    spw_digest *hv = NULL;
    size_t keep = 2 * (RD >> tree->skip); /* the heap levels the subtrees store */
    spw_status st = dalloc(d, &leaves, (uint64_t)N * 32);
    if (st == SPW_OK) st = dalloc(d, &tmp, (uint64_t)n * 32);
    if (st == SPW_OK) st = dalloc(d, &heap, 2 * (uint64_t)RD * 32);
    if (st == SPW_OK && !(hv = spw_sdev_host_alloc(d, keep * 32))) st = NOMEM_D(d, "tree heap");
    if (st == SPW_OK && !c.have_coef) coset_want_coef(d, &c);
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        st = coset_eval(d, &c, coset_shift(log_n, log_b, j));
        if (st == SPW_OK &&
            ((st = spw_cuda_merkle_leaves(d->cs, tmp, c.ev, c.nc, n, n)) != SPW_OK ||
             (st = spw_gpu_scatter(d->cs, (uint64_t *)leaves + 4 * j, (const uint64_t *)tmp, n, 4, K)) != SPW_OK))
            st = dfail(d, st);
    }
    for (size_t k = 0; k < N / RD && st == SPW_OK; k++) {
        if ((st = spw_cuda_memcpy_async(heap + RD * 32, leaves + k * RD * 32, RD * 32, d->cs)) != SPW_OK ||
            (st = spw_cuda_memset_async(heap, 0, 32, d->cs)) != SPW_OK ||
            (st = spw_cuda_merkle_build_from_leaves(d->cs, heap, RD)) != SPW_OK ||
            (st = spw_cuda_memcpy_async(hv, heap, keep * 32, d->cs)) != SPW_OK)
            st = dfail(d, st);
        if (st == SPW_OK) st = sync_cs(d);
        if (st == SPW_OK) st = spw_stree_put_heap(d->ctx, tree, k * (RD / tree->R), hv, RD);
    }
    coset_close(d, &c);
    dfree(d, &leaves);
    dfree(d, &tmp);
    dfree(d, &heap);
    spw_sdev_host_free(d, hv);
    return st;
}

/* The tree of coef's LDE through a coset pass whose coefficients are the
 * device copy cf (the columns of coef) or, cf NULL, uploaded as
 * coset_eval does; cf is freed whatever happens. */
static spw_status tree_of(spw_sdev *d, spw_stree *tree, spw_mat *coef, uint64_t *cf, unsigned log_n,
                          unsigned log_b)
{
    spw_mat *mats[1] = {coef};
    coset c;
    spw_status st = coset_open(d, &c, mats, 1, log_n);
    if (st != SPW_OK) {
        dfree(d, &cf);
        coset_close(d, &c);
        return st;
    }
    c.coef = cf; /* tree_pass frees it */
    c.have_coef = cf != NULL;
    return tree_pass(d, tree, &c, log_b);
}

/* st == SPW_OK: the coefficients cf (device, the columns of coef) into
 * coef, then the tree of their LDE from the same device copy. cf is freed
 * whatever st. */
static spw_status coef_out_tree(spw_sdev *d, spw_status st, spw_mat *coef, uint64_t *cf,
                                unsigned log_n, unsigned log_b, spw_stree *tree)
{
    spw_mat *mats[1] = {coef};
    if (st == SPW_OK) st = mats_xfer(d, mats, 1, cf, (size_t)1 << log_n, 0, 1);
    if (st != SPW_OK) {
        dfree(d, &cf);
        return st;
    }
    return tree_of(d, tree, coef, cf, log_n, log_b);
}

spw_status spw_sdev_coset_tree(spw_sdev *d, spw_stree *tree, spw_mat *coef, unsigned log_n,
                               unsigned log_b)
{
    /* the column phase's device copy, when it kept one */
    return tree_of(d, tree, coef, kept_take(d, coef), log_n, log_b);
}

spw_status spw_sdev_coset_logup(spw_sdev *d, const spw_air_table *t, const fe3 *ch, spw_mat *mcoef,
                                spw_mat *acoef, spw_stree *tree, unsigned log_n, unsigned log_b,
                                fe3 *sum, uint64_t *bad_row)
{
    size_t n = (size_t)1 << log_n, na = acoef->ncols, C = n < 4096 ? n : 4096;
    spw_mat *mats[1] = {mcoef};
    coset c;
    uint64_t *aux = NULL;
    *bad_row = UINT64_MAX;
    if (na != 3 * (size_t)t->n_aux)
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: LogUp of table '%s' into "
                        "%zu columns (%u ext3 expected)", t->name, na, t->n_aux);
    /* the trace from its coefficients (the coset of shift 1), the aux
     * columns and their coefficients stay on the device for the tree */
    spw_status st = coset_open(d, &c, mats, 1, log_n);
    if (st == SPW_OK) st = dalloc(d, &aux, (uint64_t)na * n * 8);
    if (st == SPW_OK) st = logup_setup(d, t, ch, C);
    /* row chunks of up to COSET_LOGUP_SCR bytes of scratch */
    while (st == SPW_OK && C < n && spw_gpu_logup_scratch_bytes(&d->la, 2 * C) <= COSET_LOGUP_SCR) C *= 2;
    if (st == SPW_OK) st = grow(d, &d->scr, spw_gpu_logup_scratch_bytes(&d->la, C));
    if (st == SPW_OK) coset_want_coef(d, &c);
    if (st == SPW_OK) st = coset_eval(d, &c, 1);
    spw_gpu_logup_args a = d->la;
    a.main = c.ev;
    a.aux = aux;
    a.stride = a.row_base = 0;
    for (size_t r0 = 0; r0 < n && st == SPW_OK; r0 += C)
        if ((st = spw_gpu_logup_chunk(d->cs, &a, r0, n - r0 < C ? n - r0 : C, d->scr.p, d->lu_run,
                                      d->lu_bad)) != SPW_OK)
            st = dfail(d, st);
    if (st == SPW_OK) st = logup_result(d, sum, bad_row);
    else logup_free(d);
    if (st == SPW_OK && (st = spw_cuda_ntt_inverse_batch(d->A, d->cs, aux, na, n, log_n)) != SPW_OK)
        st = dfail(d, st);
    coset_close(d, &c);
    return coef_out_tree(d, st, acoef, aux, log_n, log_b, tree);
}

spw_status spw_sdev_coset_comp(spw_sdev *d, const spw_sdev_comp_job *j)
{
    const spw_air_table *t = j->t;
    unsigned log_n = j->log_n, log_e = j->log_e;
    size_t n = (size_t)1 << log_n, E = (size_t)1 << log_e, NE = n << log_e, nc = j->ccoef->ncols;
    size_t deg = nc / 3 * n;
    spw_mat *mats[2] = {j->mcoef, t->n_aux ? j->acoef : NULL};
    coset c;
    uint64_t *q = NULL, *o = NULL, *pw = NULL, *cf = NULL;
    uint32_t *flag = NULL, hflag = 0;
    if (nc % 3 || deg > NE)
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: %zu composition columns "
                        "for a domain of %zu", nc, NE);
    spw_status st = coset_open(d, &c, mats, 2, log_n);
    if (st == SPW_OK) st = dalloc(d, &q, 3 * (uint64_t)NE * 8);
    if (st == SPW_OK) st = dalloc(d, &o, 3 * (uint64_t)n * 8);
    if (st == SPW_OK)
        st = comp_setup(d, t, log_n, log_e, j->ch, j->n_ch, j->publics, j->n_publics, j->logup_sum,
                        j->lambda, n);
    if (st == SPW_OK) coset_want_coef(d, &c);
    for (size_t k = 0; k < E && st == SPW_OK; k++) {
        st = coset_eval(d, &c, coset_shift(log_n, log_e, k));
        spw_gpu_comp_args a = d->ca;
        a.main = c.ev;
        a.aux = t->n_aux ? c.ev + (size_t)t->n_main * n : NULL;
        a.row0 = k;
        a.rows = n;
        a.step = E;
        a.stride = n;
        a.out_stride = n;
        a.out = o;
        size_t threads = d->c_threads < n ? d->c_threads : (n + 127) / 128 * 128;
        if (st == SPW_OK && (st = spw_gpu_comp_eval(d->cs, &a, d->scr.p, threads)) != SPW_OK) st = dfail(d, st);
        for (size_t i = 0; i < 3 && st == SPW_OK; i++)
            if ((st = spw_gpu_scatter(d->cs, q + i * NE + k, o + i * n, n, 1, E)) != SPW_OK) st = dfail(d, st);
    }
    if (st == SPW_OK) st = sync_cs(d);
    coset_close(d, &c);
    dfree(d, &o);
    spw_sdev_comp_end(d);
    /* the quotient's coefficients (interpolation from the coset), its
     * degree check, the parts as composition columns 3i + c */
    if (st == SPW_OK) st = dalloc(d, &pw, (uint64_t)NE * 8);
    if (st == SPW_OK && ((st = spw_cuda_ntt_inverse_batch(d->A, d->cs, q, 3, NE, log_n + log_e)) != SPW_OK ||
                         (st = spw_gpu_powers(d->cs, pw, NE, gl_inv(GL_GENERATOR))) != SPW_OK ||
                         (st = spw_gpu_scale_pad(d->cs, q, NE, q, NE, 3, NE, pw)) != SPW_OK))
        st = dfail(d, st);
    dfree(d, &pw);
    if (st == SPW_OK && j->check && deg < NE) {
        if ((st = dalloc(d, &flag, 4)) == SPW_OK &&
            ((st = spw_cuda_memset_async(flag, 0, 4, d->cs)) != SPW_OK ||
             (st = spw_gpu_any_nonzero(d->cs, flag, q, 3, NE, deg, NE)) != SPW_OK ||
             (st = spw_cuda_memcpy_async(&hflag, flag, 4, d->cs)) != SPW_OK))
            st = dfail(d, st);
        if (st == SPW_OK) st = sync_cs(d);
        dfree(d, &flag);
        if (st == SPW_OK && hflag)
            st = spw_fail(d->ctx, SPW_ERR_INTERNAL, "prove: table '%s': composition quotient has "
                          "degree >= %zu (constraints not satisfied or degree miscomputed)", t->name, deg);
    }
    if (st == SPW_OK) st = dalloc(d, &cf, (uint64_t)nc * n * 8);
    for (size_t i = 0; i < nc / 3 && st == SPW_OK; i++)
        for (size_t k = 0; k < 3 && st == SPW_OK; k++)
            if ((st = spw_cuda_memcpy_async(cf + (3 * i + k) * n, q + k * NE + i * n, n * 8, d->cs)) != SPW_OK)
                st = dfail(d, st);
    dfree(d, &q);
    return coef_out_tree(d, st, j->ccoef, cf, log_n, j->log_b, j->ctree);
}

spw_status spw_sdev_coset_ood(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, fe3 zeta,
                              fe3 zw, fe3 *ood)
{
    size_t n = (size_t)1 << log_n, nseg = spw_gpu_dot_segments(n);
    coset c;
    fe3 *pz = NULL, *pzw = NULL, *dp = NULL, *hp = NULL;
    spw_status st = coset_open(d, &c, mats, 3, log_n); /* c.ev holds the coefficients */
    size_t mx = 0;
    for (int i = 0; i < 3; i++)
        if (mats[i] && mats[i]->ncols > mx) mx = mats[i]->ncols;
    if (st == SPW_OK) st = dalloc(d, &pz, (uint64_t)n * sizeof(fe3));
    if (st == SPW_OK) st = dalloc(d, &pzw, (uint64_t)n * sizeof(fe3));
    if (st == SPW_OK) st = dalloc(d, &dp, (uint64_t)mx * nseg * sizeof(fe3) + 8);
    if (st == SPW_OK && !(hp = spw_malloc_array(mx * nseg + 1, sizeof(fe3)))) st = NOMEM_D(d, "OOD");
    if (st == SPW_OK && ((st = spw_gpu_powers_ext(d->cs, pz, n, zeta)) != SPW_OK ||
                         (st = spw_gpu_powers_ext(d->cs, pzw, n, zw)) != SPW_OK))
        st = dfail(d, st);
    if (st == SPW_OK) st = mats_xfer(d, mats, 3, c.ev, n, 1, 1);
    /* main at zeta and zeta w, aux at both, composition at zeta */
    const uint64_t *col = c.ev;
    fe3 *o = ood;
    for (int i = 0; i < 3 && st == SPW_OK; i++) {
        size_t k = mats[i] ? mats[i]->ncols : 0;
        if (!k) continue;
        if ((st = spw_gpu_dot_host(d->cs, o, col, k, n, n, pz, dp, hp)) != SPW_OK ||
            (i < 2 && (st = spw_gpu_dot_host(d->cs, o + k, col, k, n, n, pzw, dp, hp)) != SPW_OK))
            st = dfail(d, st);
        o += i < 2 ? 2 * k : k;
        col += k * n;
    }
    c.cosets = 1;
    coset_close(d, &c);
    dfree(d, &pz);
    dfree(d, &pzw);
    dfree(d, &dp);
    free(hp);
    return st;
}

spw_status spw_sdev_coset_deep(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               spw_mat *const mats[3], unsigned log_n, unsigned log_b, fe3 v1,
                               fe3 v2, fe3 zeta, fe3 zw, spw_mat *ri, int first)
{
    size_t n = (size_t)1 << log_n, K = (size_t)1 << log_b, N = n << log_b;
    spw_mat *rim[1] = {ri};
    if (ri->nrows != N || ri->ncols != 1 || ri->esz != sizeof(fe3))
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: DEEP roll-in of %zu x %zu "
                        "for %zu points", ri->ncols, ri->nrows, N);
    if (mats_cols(mats, 3) != n1 || n2 > n1)
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: DEEP inputs of %zu columns "
                        "against %zu and %zu coefficients", mats_cols(mats, 3), n1, n2);
    /* Evaluation is linear: the DEEP numerators' sums F1 = sum g1[c] f_c
     * (every column) and F2 = sum g2[c] f_c (main and aux) are ext3
     * polynomials whose coefficients are the same sums of the columns'
     * coefficients. So the coefficients are combined once (6 base columns:
     * F1's and F2's components) and only those are evaluated on the
     * cosets; the kernel then reads them as 3 "main" and 3 "aux" columns
     * with the basis vectors as weights (the same values, exactly). */
    static const fe3 basis[12] = {{{1, 0, 0}}, {{0, 1, 0}}, {{0, 0, 1}}, {{0}}, {{0}}, {{0}},
                                  {{0}}, {{0}}, {{0}}, {{1, 0, 0}}, {{0, 1, 0}}, {{0, 0, 1}}};
    coset c;
    memset(&c, 0, sizeof c);
    free_row_bufs(d);
    kept_drop(d);
    c.t0 = spw_now();
    c.n = n;
    c.log_n = log_n;
    c.nc = 6;
    uint64_t *cf = NULL;
    fe3 *out = NULL, *g = NULL;
    spw_status st = dalloc(d, &cf, (uint64_t)n1 * n * 8);
    if (st == SPW_OK) st = dalloc(d, &c.coef, 6 * (uint64_t)n * 8);
    if (st == SPW_OK) st = dalloc(d, &g, (n1 + n2 + 12) * sizeof(fe3));
    if (st == SPW_OK && ((st = spw_cuda_memcpy_async(g, g1, n1 * sizeof(fe3), d->cs)) != SPW_OK ||
                         (n2 && (st = spw_cuda_memcpy_async(g + n1, g2, n2 * sizeof(fe3), d->cs)) != SPW_OK) ||
                         (st = spw_cuda_memcpy_async(g + n1 + n2, basis, sizeof basis, d->cs)) != SPW_OK))
        st = dfail(d, st);
    double t_in = spw_now();
    if (st == SPW_OK) st = mats_xfer(d, mats, 3, cf, n, 1, 1);
    c.t_in = spw_now() - t_in;
    if (st == SPW_OK &&
        ((st = spw_gpu_lincomb_ext(d->cs, c.coef, cf, n, (uint32_t)n1, g, n)) != SPW_OK ||
         (st = spw_gpu_lincomb_ext(d->cs, c.coef + 3 * n, cf, n, (uint32_t)n2, g + n1, n)) != SPW_OK))
        st = dfail(d, st);
    if (st == SPW_OK) st = sync_cs(d); /* cf's room goes to the evaluations */
    dfree(d, &cf);
    c.have_coef = 1;
    if (st == SPW_OK) st = dalloc(d, &c.ev, 6 * (uint64_t)n * 8);
    if (st == SPW_OK) st = dalloc(d, &c.pw, (uint64_t)n * 8);
    if (st == SPW_OK) st = dalloc(d, &out, (uint64_t)N * sizeof(fe3));
    if (st == SPW_OK && !first) st = mats_xfer(d, rim, 1, out, N, 1, 0); /* the sum so far */
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        st = coset_eval(d, &c, coset_shift(log_n, log_b, j));
        spw_gpu_deep_args a;
        memset(&a, 0, sizeof a);
        a.main = c.ev;
        a.aux = c.ev + 3 * n;
        a.comp = c.ev;
        a.nm = 3;
        a.na = 3;
        a.nc = 0;
        a.g1 = g + n1 + n2;
        a.g2 = g + n1 + n2 + 6;
        a.v1 = v1;
        a.v2 = v2;
        a.zeta = zeta;
        a.zw = zw;
        a.log_N = log_n + log_b;
        a.row0 = j;
        a.rows = n;
        a.stride = n;
        a.step = K;
        a.out_fe3 = out + j;
        a.accumulate = !first;
        if (st == SPW_OK && (st = spw_gpu_deep(d->cs, &a)) != SPW_OK) st = dfail(d, st);
    }
    if (st == SPW_OK) st = mats_xfer(d, rim, 1, out, N, 0, 0);
    coset_close(d, &c);
    dfree(d, &out);
    dfree(d, &g);
    return st;
}

spw_status spw_sdev_coset_rows(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, unsigned log_b,
                               const uint64_t *idx, size_t nq, uint64_t *h_rows)
{
    size_t K = (size_t)1 << log_b;
    coset c;
    uint64_t *di = NULL, *dr = NULL, *hi = NULL, *hr = NULL;
    size_t *pos = NULL;
    spw_status st = coset_open(d, &c, mats, 3, log_n);
    size_t nc = c.nc;
    if (st == SPW_OK) st = dalloc(d, &di, nq * 8 + 8);
    if (st == SPW_OK) st = dalloc(d, &dr, nq * nc * 8 + 8);
    if (st == SPW_OK && (!(hi = spw_sdev_host_alloc(d, nq * 8 + 8)) ||
                         !(hr = spw_sdev_host_alloc(d, nq * nc * 8 + 8)) ||
                         !(pos = spw_malloc_array(nq + 1, sizeof *pos))))
        st = NOMEM_D(d, "query rows");
    if (st == SPW_OK) coset_want_coef(d, &c);
    for (size_t j = 0; j < K && st == SPW_OK; j++) {
        size_t m = 0;
        for (size_t q = 0; q < nq; q++)
            if ((idx[q] & (K - 1)) == j) {
                pos[m] = q;
                hi[m++] = idx[q] >> log_b;
            }
        if (!m) continue;
        st = coset_eval(d, &c, coset_shift(log_n, log_b, j));
        if (st == SPW_OK && ((st = spw_cuda_memcpy_async(di, hi, m * 8, d->cs)) != SPW_OK ||
                             (st = spw_gpu_gather_rows(d->cs, dr, c.ev, nc, c.n, di, m)) != SPW_OK ||
                             (st = spw_cuda_memcpy_async(hr, dr, m * nc * 8, d->cs)) != SPW_OK))
            st = dfail(d, st);
        if (st == SPW_OK) st = sync_cs(d);
        for (size_t k = 0; k < m && st == SPW_OK; k++)
            memcpy(h_rows + pos[k] * nc, hr + k * nc, nc * 8);
    }
    coset_close(d, &c);
    dfree(d, &di);
    dfree(d, &dr);
    spw_sdev_host_free(d, hi);
    spw_sdev_host_free(d, hr);
    free(pos);
    return st;
}

/* ---- FRI commit (dev.h) -------------------------------------------------- */

struct sdev_fri {
    uint8_t *blk;           /* the one arena block (spw_sdev_fri_bytes) */
    uint64_t *lay[2];       /* layer i in lay[i & 1], leaf layout */
    uint64_t *rin;          /* a roll-in, leaf layout */
    uint64_t *stage[2];     /* C values each, natural order */
    uint8_t *heap;          /* 2C digests */
    spw_pinset ps[2];       /* the tiles of each staging chunk in flight */
    spw_cuda_event ev[2];   /* its copies done */
    unsigned log_n0, i;     /* layer i is the current one */
    size_t C, rin_max;
};

void spw_sdev_fri_end(spw_sdev *d)
{
    struct sdev_fri *f = d ? d->fri : NULL;
    if (!f) return;
    (void)spw_cuda_stream_sync(d->cs);
    for (int x = 0; x < 2; x++) {
        spw_pinset_free(&f->ps[x]);
        spw_cuda_event_destroy(f->ev[x]);
    }
    dfree(d, &f->blk);
    free(f);
    d->fri = NULL;
}

/* Staging slot x's copies are done: unpin its tiles. */
static spw_status fri_slot_done(spw_sdev *d, int x, spw_status st)
{
    double t0 = spw_now();
    spw_status e = spw_cuda_event_sync(d->fri->ev[x]);
    d->busy += spw_now() - t0;
    if (e != SPW_OK && st == SPW_OK) st = dfail(d, e);
    return release(&d->fri->ps[x], st);
}

/* Values [0, nv) of m (1 column of fe3) to (to_dev) or from the leaf
 * layout `leaf` of nv values, by chunks of C through the two staging
 * buffers on the compute stream: the host pins chunk k+1's tiles while
 * the device copies chunk k. */
static spw_status fri_xfer(spw_sdev *d, spw_mat *m, uint64_t *leaf, size_t nv, int to_dev)
{
    struct sdev_fri *f = d->fri;
    if (!m->tiles || m->ncols != 1 || m->esz != sizeof(fe3) || m->nrows != nv || nv < 2)
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: FRI layer of %zu values "
                        "against a matrix of %zu x %zu", nv, m->ncols, m->nrows);
    size_t h = nv / 2, C = f->C < nv ? f->C : nv;
    int busy[2] = {0, 0};
    spw_status st = SPW_OK;
    for (size_t k0 = 0, k = 0; k0 < nv && st == SPW_OK; k0 += C, k++) {
        int x = (int)(k & 1);
        size_t n = nv - k0 < C ? nv - k0 : C;
        if (busy[x]) {
            busy[x] = 0;
            if ((st = fri_slot_done(d, x, SPW_OK)) != SPW_OK) break;
        }
        if (!to_dev && (st = spw_gpu_leaf_to_fe3(d->cs, f->stage[x], leaf, h, k0, n)) != SPW_OK) {
            st = dfail(d, st);
            break;
        }
        if ((st = pin(d, m, &f->ps[x], !to_dev, 0, 1, k0, n)) != SPW_OK) break;
        busy[x] = 1;
        if ((st = ps_copy(d, &f->ps[x], f->stage[x], n, to_dev, d->cs)) != SPW_OK) break;
        if ((to_dev && (st = spw_gpu_fe3_to_leaf(d->cs, leaf, h, f->stage[x], k0, n)) != SPW_OK) ||
            (st = spw_cuda_event_record(f->ev[x], d->cs)) != SPW_OK)
            st = dfail(d, st);
    }
    if (st != SPW_OK) (void)spw_cuda_stream_sync(d->cs); /* no event may be left pending */
    for (int x = 0; x < 2; x++)
        if (busy[x]) st = fri_slot_done(d, x, st);
    return st;
}

spw_status spw_sdev_fri_begin(spw_sdev *d, int *fits, spw_mat *L0, unsigned log_n0,
                              unsigned n_layers, size_t rin_max, size_t C)
{
    *fits = 0;
    spw_sdev_fri_end(d);
    size_t n0 = (size_t)1 << log_n0;
    if (!n_layers || log_n0 < n_layers + 1 || !C || (C & (C - 1)))
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: FRI of %u layers from 2^%u "
                        "values in chunks of %zu", n_layers, log_n0, C);
    if (C > n0) C = n0;
    free_row_bufs(d);
    uint64_t need = spw_sdev_fri_bytes(log_n0, rin_max, C), cap = UINT64_MAX;
    const char *env = getenv("SPW_SDEV_FRI_ROOM");
    if (env && *env) cap = strtoull(env, NULL, 10);
    uint64_t room = spw_cuda_arena_largest_free(d->A);
    while (room < need && need <= cap && cache_drop_newest(d)) room = spw_cuda_arena_largest_free(d->A);
    if (room < need || need > cap) {
        d->cnt.fri_fallbacks++;
        __atomic_fetch_add(&g_fri_fallbacks, 1, __ATOMIC_RELAXED);
        return SPW_OK;
    }
    struct sdev_fri *f = calloc(1, sizeof *f);
    if (!f) return spw_fail(d->ctx, SPW_ERR_NOMEM, "GPU streaming tier: out of memory (FRI)");
    d->fri = f;
    f->log_n0 = log_n0;
    f->C = C;
    f->rin_max = rin_max;
    spw_status st = dalloc(d, &f->blk, need);
    if (st == SPW_OK && (spw_cuda_event_create(&f->ev[0]) != SPW_OK ||
                         spw_cuda_event_create(&f->ev[1]) != SPW_OK))
        st = dfail(d, SPW_ERR_CUDA);
    if (st != SPW_OK) {
        spw_sdev_fri_end(d);
        return st;
    }
    uint8_t *p = f->blk;
    f->lay[0] = (uint64_t *)p;
    p += FRI_AL(24 * (uint64_t)n0);
    f->lay[1] = (uint64_t *)p;
    p += FRI_AL(12 * (uint64_t)n0);
    f->rin = (uint64_t *)p;
    p += FRI_AL(24 * (uint64_t)rin_max);
    for (int x = 0; x < 2; x++, p += FRI_AL(24 * (uint64_t)C)) f->stage[x] = (uint64_t *)p;
    f->heap = p;
    if ((st = fri_xfer(d, L0, f->lay[0], n0, 1)) != SPW_OK) {
        spw_sdev_fri_end(d);
        return st;
    }
    *fits = 1;
    return SPW_OK;
}

spw_status spw_sdev_fri_tree(spw_sdev *d, spw_digest *h_heap, size_t keep, size_t k0, size_t R)
{
    struct sdev_fri *f = d->fri;
    size_t h = f ? ((size_t)1 << (f->log_n0 - f->i)) / 2 : 0;
    if (!f || !R || R > f->C || k0 + R > h)
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: FRI leaves [%zu, %zu) of "
                        "%zu", k0, k0 + R, h);
    if (keep > 2 * R) keep = 2 * R;
    const uint64_t *cur = f->lay[f->i & 1];
    spw_status st;
    if ((st = spw_cuda_memset_async(f->heap, 0, 32, d->cs)) != SPW_OK ||
        (st = spw_cuda_merkle_build(d->cs, f->heap, cur + k0, 6, h, R)) != SPW_OK ||
        (st = spw_cuda_memcpy_async(h_heap, f->heap, keep * 32, d->cs)) != SPW_OK) {
        (void)spw_cuda_stream_sync(d->cs);
        return dfail(d, st);
    }
    return sync_cs(d);
}

spw_status spw_sdev_fri_fold(spw_sdev *d, spw_mat *out, spw_mat *rollin, fe3 beta, uint64_t s_inv)
{
    struct sdev_fri *f = d->fri;
    unsigned log_n = f ? f->log_n0 - f->i : 0;
    if (!f || log_n < 2 || (rollin && rollin->nrows > f->rin_max))
        return spw_fail(d->ctx, SPW_ERR_INTERNAL, "GPU streaming tier: FRI fold of 2^%u values", log_n);
    size_t half = (size_t)1 << (log_n - 1);
    uint64_t *cur = f->lay[f->i & 1], *next = f->lay[(f->i + 1) & 1];
    if (rollin) SPW_TRY(fri_xfer(d, rollin, f->rin, half, 1));
    spw_status st = spw_gpu_fri_fold(d->cs, next, cur, log_n, beta, rollin ? f->rin : NULL, s_inv);
    if (st != SPW_OK) {
        (void)spw_cuda_stream_sync(d->cs);
        return dfail(d, st);
    }
    SPW_TRY(fri_xfer(d, out, next, half, 0));
    f->i++;
    d->cnt.fri_layers++;
    __atomic_fetch_add(&g_fri_layers, 1, __ATOMIC_RELAXED);
    return SPW_OK;
}

#endif /* SPW_HAVE_CUDA */
