/*
 * store.c - the column store (spill/spill.h): chunk table, pinned-pool and
 * spill-file sub-allocation, LRU + hint eviction, the on-disk chunk format
 * (64-byte header with XXH3 checksums, then the payload, padded to the
 * O_DIRECT alignment) and one worker thread that runs queued operations.
 *
 * Locking: one mutex guards all metadata. A chunk in transit (busy) is
 * owned by the thread moving it; others wait on `cv`. I/O and codec work
 * run without the mutex.
 *
 * VRAM tier: a VRAM-homed chunk's data is on the device (has_dev) or in the
 * pool (has_host), never both outside a move, with NVMe behind; dev_dirty
 * says the device copy is newer than the NVMe copy (or there is none).
 * Device memory comes from the CUDA arena only; copies run on the store's
 * stream from/to the cudaHostRegister'ed pool and are waited for before the
 * chunk stops being busy.
 */
#include "spill.h"

#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define HDR_MAGIC "SPWCHNK1"
#define HDR_VERSION 1u
enum { IDLE = 0, LOADING = 1, WRITING = 2 };

typedef struct chunk_hdr { /* little-endian on disk, 64 bytes */
    char magic[8];
    uint32_t version, chunk;
    uint64_t gen, raw_len, stored_len;
    uint32_t codec, param;
    uint64_t payload_xxh3, hdr_xxh3; /* hdr_xxh3 covers the 56 bytes before it */
} chunk_hdr;
_Static_assert(sizeof(chunk_hdr) == 64, "chunk header is 64 bytes");

typedef struct chunk {
    int live;
    uint32_t id;
    uint64_t size, host_len;
    spw_chunk_kind kind;
    spw_tier home;
    char name[48];
    int has_host, dirty, on_disk, busy;
    unsigned pins;
    uint64_t host_off;
    uint64_t disk_off, disk_len, stored_len, gen;
    uint32_t codec, param;
    uint64_t lru;
    size_t hint_pos; /* 0 = not hinted, else position + 1 */
    struct chunk *lprev, *lnext; /* the LRU list of pool-resident chunks (by lru) */
    int in_lru;
    /* VRAM tier */
    int has_dev, dev_dirty;
    unsigned dev_pins;
    void *dev_ptr;
    uint64_t dev_len; /* size rounded up to the arena's 256 bytes */
} chunk;

typedef struct op {
    spw_token tok; /* 0 = fire and forget */
    int type;      /* 0 read, 1 write, 2 prefetch, 3 writeback, 4 evict from device */
    spw_chunk c;
    void *buf;
    uint64_t off, len;
    int drop, done;
    spw_status status;
    struct op *next;
} op;

struct spw_spill {
    spw_ctx *ctx;
    spw_spill_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* chunk state changed */
    pthread_cond_t wcv; /* worker: queue changed */
    pthread_cond_t dcv; /* an op completed */
    spw_pool pool;
    spw_ranges host;
    spw_io *io;
    spw_ranges disk;
    uint64_t block; /* header block and allocation granule */
    chunk **ch;
    size_t nch, capch;
    /* free slots of ch (chunk ids of freed chunks, reused last-freed first):
     * creating a chunk takes O(1), whatever the store holds (a big proof
     * makes hundreds of thousands of tree-node tiles) */
    size_t *holes, nholes, capholes;
    uint64_t tick, n_moving;
    spw_chunk *hints;
    size_t nhints;
    chunk *lru_head, *lru_tail; /* has_host chunks, least recently used first */
    /* write-behind (spw_spill_write_behind): cleaner threads keep the next
     * wb_target bytes of eviction victims clean */
    pthread_t wb_thr[4];
    unsigned wb_n;
    int wb_stop, wb_failed;
    uint64_t wb_target;
    pthread_cond_t ccv;
    /* worker */
    pthread_t worker;
    int worker_up, stop, worker_busy;
    op *qhead, *qtail, *finished;
    spw_token next_tok;
    /* adaptive compression */
    double comp_rate, disk_rate; /* bytes per second, EWMA; 0 = unknown */
    uint64_t trace_writes;
    /* VRAM tier: arena != NULL when present */
    struct spw_cuda_arena *arena;
    int own_arena;
    void *stream; /* spw_cuda_stream */
    uint8_t *emu_base; /* opts.vram_emulate: host memory standing in for the device */
    spw_ranges emu;
    uint64_t vram_budget, vram_used, vram_peak;
    spw_spill_stats st;
};

/* ---- device copies (the only CUDA calls of the store) ------------------- */

#define DEV_ALIGN 256u

static spw_status dev_sync_copy(spw_spill *s, void *dst, const void *src, uint64_t n)
{
    if (s->emu_base) {
        memcpy(dst, src, n);
        return SPW_OK;
    }
#ifdef SPW_HAVE_CUDA
    spw_status st = spw_cuda_memcpy_async(dst, src, n, (spw_cuda_stream)s->stream);
    if (!st) st = spw_cuda_stream_sync((spw_cuda_stream)s->stream);
    return st;
#else
    return SPW_ERR_NO_CUDA;
#endif
}

static spw_status dev_sync_zero(spw_spill *s, void *dst, uint64_t n)
{
    if (s->emu_base) {
        memset(dst, 0, n);
        return SPW_OK;
    }
#ifdef SPW_HAVE_CUDA
    spw_status st = spw_cuda_memset_async(dst, 0, n, (spw_cuda_stream)s->stream);
    if (!st) st = spw_cuda_stream_sync((spw_cuda_stream)s->stream);
    return st;
#else
    return SPW_ERR_NO_CUDA;
#endif
}

static const char *dev_err(void)
{
#ifdef SPW_HAVE_CUDA
    return spw_cuda_last_error();
#else
    return "the CUDA backend is not compiled in";
#endif
}

/* Device memory from the arena (or the emulation block): SPW_ERR_DEVICE_OOM
 * when it has no room. */
static spw_status dev_raw_alloc(spw_spill *s, void **p, uint64_t bytes)
{
    *p = NULL;
    if (s->emu_base) {
        uint64_t off;
        if (spw_ranges_alloc(&s->emu, &off, (bytes + DEV_ALIGN - 1) / DEV_ALIGN * DEV_ALIGN, DEV_ALIGN))
            return SPW_ERR_DEVICE_OOM;
        *p = s->emu_base + off;
        return SPW_OK;
    }
#ifdef SPW_HAVE_CUDA
    return spw_cuda_arena_alloc(s->arena, p, bytes);
#else
    return SPW_ERR_NO_CUDA;
#endif
}

static void dev_raw_free(spw_spill *s, void *p, uint64_t dev_len)
{
    if (s->emu_base) {
        spw_ranges_free(&s->emu, (uint64_t)((uint8_t *)p - s->emu_base), dev_len);
        return;
    }
#ifdef SPW_HAVE_CUDA
    (void)dev_len;
    spw_cuda_arena_free(s->arena, p);
#else
    (void)dev_len;
#endif
}


static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

void spw_spill_opts_default(spw_spill_opts *o)
{
    memset(o, 0, sizeof *o);
    o->compress = 1;
    o->register_cuda = 1;
}

static chunk *get_chunk(spw_spill *s, spw_chunk c)
{
    if (c == 0 || c > s->nch || !s->ch[c - 1] || !s->ch[c - 1]->live) return NULL;
    return s->ch[c - 1];
}

static uint8_t *host_ptr(spw_spill *s, const chunk *c) { return s->pool.base + c->host_off; }

spw_status spw_spill_create(spw_ctx *ctx, spw_spill **out, const spw_spill_opts *opts)
{
    SPW_CHECK_NULL(ctx, out);
    SPW_CHECK_NULL(ctx, opts);
    *out = NULL;
    if (!opts->host_budget)
        return spw_fail(ctx, SPW_ERR_BUDGET, "spill store: the host budget is 0");
    if (opts->nvme_budget && !opts->dir)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill store: an NVMe budget needs a spill directory");
    spw_spill *s = calloc(1, sizeof *s);
    if (!s) return spw_fail(ctx, SPW_ERR_NOMEM, "spill store: out of memory");
    s->ctx = ctx;
    s->o = *opts;
    s->o.dir = NULL; /* not kept: the caller owns the string */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->wcv, NULL);
    pthread_cond_init(&s->dcv, NULL);
    pthread_cond_init(&s->ccv, NULL);
    s->block = 4096;
    spw_status st = SPW_OK;
    if (opts->nvme_budget) {
        spw_io_opts io = {.queue_depth = opts->queue_depth, .request_size = opts->request_size,
                          .engine = opts->engine, .require_direct = opts->require_direct,
                          .fault_n = opts->fault_n, .fault_kind = opts->fault_kind};
        /* Validate the directory and reserve the space before anything else. */
        st = spw_io_open(ctx, &s->io, opts->dir, opts->nvme_budget, &io);
        if (st) goto fail;
        uint64_t a = spw_io_align(s->io), m = spw_io_mem_align(s->io);
        if (a > s->block) s->block = a;
        if (m > s->block) s->block = m;
        if ((st = spw_ranges_init(&s->disk, opts->nvme_budget / s->block * s->block))) goto fail;
    }
    int want_vram = !opts->vram_emulate && (opts->vram_arena != NULL || opts->vram_budget > 0);
    if (opts->vram_emulate && !opts->vram_budget) {
        st = spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill store: an emulated VRAM tier needs vram_budget");
        goto fail;
    }
    if (want_vram) {
#ifdef SPW_HAVE_CUDA
        if (spw_cuda_device_count() <= 0) {
            st = spw_fail(ctx, SPW_ERR_NO_CUDA,
                          "spill store: a VRAM tier was requested (vram_budget %llu bytes) but "
                          "there is no CUDA device", (unsigned long long)opts->vram_budget);
            goto fail;
        }
#else
        st = spw_fail(ctx, SPW_ERR_NO_CUDA,
                      "spill store: a VRAM tier was requested (vram_budget %llu bytes) but the "
                      "CUDA backend is not compiled in (configure --with-cuda)",
                      (unsigned long long)opts->vram_budget);
        goto fail;
#endif
    }
    /* The VRAM tier copies from/to the pool: it must be page-locked. */
    if ((st = spw_pool_create(ctx, &s->pool, opts->host_budget, opts->register_cuda || want_vram)))
        goto fail;
    if ((st = spw_ranges_init(&s->host, opts->host_budget / s->block * s->block))) goto fail;
    s->host.seg = s->pool.seg; /* device copies must not cross a page-locked segment */
    if (s->io) spw_io_register(s->io, s->pool.base, s->pool.len);
    if (opts->vram_emulate) {
        s->vram_budget = opts->vram_budget & ~(uint64_t)(DEV_ALIGN - 1);
        if (posix_memalign((void **)&s->emu_base, DEV_ALIGN, s->vram_budget ? s->vram_budget : DEV_ALIGN)) {
            s->emu_base = NULL;
            st = spw_fail(ctx, SPW_ERR_NOMEM, "spill store: no memory for the emulated VRAM tier");
            goto fail;
        }
        if ((st = spw_ranges_init(&s->emu, s->vram_budget))) goto fail;
        s->st.vram_tier = 1;
        s->st.vram_emulated = 1;
        s->st.vram_budget = s->vram_budget;
        spw_log(ctx, SPW_LOG_WARN, "spill store: EMULATED VRAM tier of %llu bytes in host memory "
                "(tests only)", (unsigned long long)s->vram_budget);
    }
#ifdef SPW_HAVE_CUDA
    if (want_vram) {
        if (!s->pool.cuda_registered) {
            st = spw_fail(ctx, SPW_ERR_CUDA, "spill store: the VRAM tier needs the pinned pool "
                          "page-locked (cudaHostRegister) and it is not");
            goto fail;
        }
        if (opts->vram_arena) {
            s->arena = opts->vram_arena;
            uint64_t ab = spw_cuda_arena_budget(s->arena);
            s->vram_budget = opts->vram_budget && opts->vram_budget < ab ? opts->vram_budget : ab;
        } else {
            st = spw_cuda_arena_create(&s->arena, opts->vram_budget);
            if (st) {
                st = spw_fail(ctx, st, "spill store: VRAM tier: %s", spw_cuda_last_error());
                goto fail;
            }
            s->own_arena = 1;
            s->vram_budget = spw_cuda_arena_budget(s->arena);
        }
        s->vram_budget &= ~(uint64_t)(DEV_ALIGN - 1);
        spw_cuda_stream stream = NULL;
        if ((st = spw_cuda_stream_create(&stream))) {
            st = spw_fail(ctx, st, "spill store: VRAM tier: %s", spw_cuda_last_error());
            goto fail;
        }
        s->stream = stream;
        s->st.vram_tier = 1;
        s->st.vram_budget = s->vram_budget;
        spw_log(ctx, SPW_LOG_INFO, "spill store: VRAM tier of %llu bytes (%s arena)",
                (unsigned long long)s->vram_budget, s->own_arena ? "own" : "shared");
    }
#endif
    s->st.host_budget = s->host.total;
    s->st.nvme_budget = s->disk.total;
    s->st.pool_cuda_registered = s->pool.cuda_registered;
    *out = s;
    return SPW_OK;
fail:
    spw_spill_free(s);
    return st;
}

spw_status spw_spill_check_dir(spw_ctx *ctx, const char *dir, uint64_t bytes)
{
    spw_io *io = NULL;
    spw_io_opts o = {.engine = SPW_IO_THREADS, .queue_depth = 1};
    SPW_TRY(spw_io_open(ctx, &io, dir, bytes, &o));
    spw_io_close(io);
    return SPW_OK;
}

static void *worker_main(void *arg);

void spw_spill_free(spw_spill *s)
{
    if (!s) return;
    if (s->wb_n) {
        pthread_mutex_lock(&s->mu);
        s->wb_stop = 1;
        pthread_cond_broadcast(&s->ccv);
        pthread_mutex_unlock(&s->mu);
        for (unsigned i = 0; i < s->wb_n; i++) pthread_join(s->wb_thr[i], NULL);
    }
    if (s->worker_up) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->wcv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->worker, NULL);
    }
    for (op *o = s->finished; o;) {
        op *n = o->next;
        free(o);
        o = n;
    }
    for (size_t i = 0; i < s->nch; i++) {
        if (s->ch[i] && s->ch[i]->has_dev) dev_raw_free(s, s->ch[i]->dev_ptr, s->ch[i]->dev_len);
        free(s->ch[i]);
    }
    if (s->emu_base) {
        spw_ranges_destroy(&s->emu);
        free(s->emu_base);
    }
    free(s->ch);
    free(s->holes);
#ifdef SPW_HAVE_CUDA
    if (s->stream) spw_cuda_stream_destroy((spw_cuda_stream)s->stream);
    if (s->own_arena) spw_cuda_arena_destroy(s->arena);
#endif
    free(s->hints);
    spw_io_close(s->io);
    spw_ranges_destroy(&s->disk);
    spw_ranges_destroy(&s->host);
    spw_pool_destroy(&s->pool);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->wcv);
    pthread_cond_destroy(&s->dcv);
    pthread_cond_destroy(&s->ccv);
    free(s);
}

spw_status spw_spill_chunk_new(spw_spill *s, spw_chunk *out, uint64_t bytes, spw_chunk_kind kind,
                               spw_tier home, const char *name)
{
    if (!s || !out) return SPW_ERR_NULL;
    *out = 0;
    if (home == SPW_TIER_VRAM && !s->arena && !s->emu_base) {
        /* SPW_ERR_UNSUPPORTED: this store has no VRAM tier; asking for one
         * at create without CUDA is SPW_ERR_NO_CUDA. The message says why. */
#ifdef SPW_HAVE_CUDA
        const char *why = spw_cuda_device_count() > 0
                              ? "set opts.vram_budget or opts.vram_arena at create"
                              : "there is no CUDA device";
#else
        const char *why = "the CUDA backend is not compiled in (configure --with-cuda)";
#endif
        return spw_fail(s->ctx, SPW_ERR_UNSUPPORTED,
                        "spill store: chunk '%s' has home tier VRAM but the store has no VRAM tier "
                        "(%s)", name ? name : "", why);
    }
    if (home != SPW_TIER_VRAM && home != SPW_TIER_HOST && home != SPW_TIER_NVME)
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: bad home tier %d", (int)home);
    if ((unsigned)kind > SPW_CHUNK_OTHER)
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: bad chunk kind %d", (int)kind);
    if (!bytes) return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: empty chunk '%s'", name ? name : "");
    uint64_t host_len = s->block + round_up(bytes, s->block);
    if (host_len > s->host.total)
        return spw_fail(s->ctx, SPW_ERR_BUDGET,
                        "spill store: chunk '%s' (%llu bytes) exceeds the host budget (%llu bytes)",
                        name ? name : "", (unsigned long long)bytes, (unsigned long long)s->host.total);
    uint64_t dev_len = round_up(bytes, DEV_ALIGN);
    if (home == SPW_TIER_VRAM && dev_len > s->vram_budget)
        return spw_fail(s->ctx, SPW_ERR_BUDGET,
                        "spill store: chunk '%s' (%llu bytes) exceeds the VRAM budget (%llu bytes)",
                        name ? name : "", (unsigned long long)bytes, (unsigned long long)s->vram_budget);
    chunk *c = calloc(1, sizeof *c);
    if (!c) return SPW_ERR_NOMEM;
    c->live = 1;
    c->size = bytes;
    c->host_len = host_len;
    c->dev_len = dev_len;
    c->kind = kind;
    c->home = home;
    snprintf(c->name, sizeof c->name, "%s", name ? name : "");
    pthread_mutex_lock(&s->mu);
    size_t idx = s->nholes ? s->holes[--s->nholes] : s->nch;
    if (idx == s->nch) {
        if (s->nch == s->capch) {
            size_t nc = s->capch ? s->capch * 2 : 64;
            chunk **n = realloc(s->ch, nc * sizeof *n);
            if (!n) {
                pthread_mutex_unlock(&s->mu);
                free(c);
                return SPW_ERR_NOMEM;
            }
            s->ch = n;
            s->capch = nc;
        }
        s->nch++;
    }
    s->ch[idx] = c;
    c->id = (uint32_t)idx + 1;
    if (!*c->name) snprintf(c->name, sizeof c->name, "#%u", c->id);
    *out = c->id;
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

/* ---- moving one chunk (mutex not held; the chunk is busy) ------------------ */

static spw_status chunk_err(spw_spill *s, const chunk *c, const char *what, uint64_t a, uint64_t b)
{
    return spw_fail(s->ctx, SPW_ERR_CHECKSUM,
                    "spill chunk %u '%s': %s (stored %016llx, computed %016llx) at spill offset %llu",
                    c->id, c->name, what, (unsigned long long)a, (unsigned long long)b,
                    (unsigned long long)c->disk_off);
}

static void *aligned_buf(spw_spill *s, uint64_t len)
{
    void *p = NULL;
    if (posix_memalign(&p, s->block, round_up(len ? len : 1, s->block))) return NULL;
    return p;
}

static void note_scratch(spw_spill *s, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    if (n > s->st.scratch_peak) s->st.scratch_peak = n;
    pthread_mutex_unlock(&s->mu);
}

/* Writes the chunk's pool copy to a fresh extent of the spill file. */
static spw_status store_chunk(spw_spill *s, chunk *c)
{
    uint8_t *base = host_ptr(s, c), *payload = base + s->block;
    uint8_t *scratch = NULL, *tmp = NULL, *buf = base;
    size_t stored = c->size;
    uint32_t codec = SPW_CODEC_RAW, param = 0;
    spw_status st = SPW_OK;
    int try_comp = 0;
    pthread_mutex_lock(&s->mu);
    if (s->o.compress && c->kind == SPW_CHUNK_TRACE) {
        s->trace_writes++;
        try_comp = 1;
        /* Compressing slower than the disk writes does not pay; re-measure
         * every 16th trace chunk. */
        if (s->o.compress == 1 && s->comp_rate > 0 && s->disk_rate > 0 && s->comp_rate < s->disk_rate &&
            s->trace_writes % 16) {
            try_comp = 0;
            s->st.compress_skipped_slow++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (try_comp) {
        uint64_t cap = s->block + spw_codec_bound(c->size);
        scratch = aligned_buf(s, cap);
        tmp = malloc(c->size);
        if (scratch && tmp) {
            note_scratch(s, round_up(cap, s->block) + c->size);
            double t0 = spw_now();
            spw_codec_encode(scratch + s->block, &stored, &codec, &param, payload, c->size, 1, tmp);
            double dt = spw_now() - t0;
            pthread_mutex_lock(&s->mu);
            double r = dt > 0 ? c->size / dt : 1e12;
            s->comp_rate = s->comp_rate > 0 ? 0.7 * s->comp_rate + 0.3 * r : r;
            if (codec == SPW_CODEC_RAW) s->st.chunks_raw++;
            else s->st.chunks_compressed++;
            pthread_mutex_unlock(&s->mu);
        }
        free(tmp);
        tmp = NULL;
    } else if (c->kind == SPW_CHUNK_TRACE) {
        pthread_mutex_lock(&s->mu);
        s->st.chunks_raw++;
        pthread_mutex_unlock(&s->mu);
    }
    if (codec != SPW_CODEC_RAW) {
        buf = scratch;
    } else {
        free(scratch);
        scratch = NULL;
        stored = c->size;
    }
    uint64_t disk_len = s->block + round_up(stored, spw_io_align(s->io));
    memset(buf + s->block + stored, 0, disk_len - s->block - stored);

    pthread_mutex_lock(&s->mu);
    if (c->on_disk) {
        spw_ranges_free(&s->disk, c->disk_off, c->disk_len);
        c->on_disk = 0;
    }
    uint64_t off;
    if (spw_ranges_alloc(&s->disk, &off, disk_len, s->block)) {
        uint64_t largest = spw_ranges_largest(&s->disk);
        pthread_mutex_unlock(&s->mu);
        free(scratch);
        return spw_fail(s->ctx, SPW_ERR_NOSPACE,
                        "spill chunk %u '%s': the spill reservation (%llu bytes) has no room for "
                        "%llu more bytes (largest free extent %llu)", c->id, c->name,
                        (unsigned long long)s->disk.total, (unsigned long long)disk_len,
                        (unsigned long long)largest);
    }
    uint64_t gen = ++c->gen;
    pthread_mutex_unlock(&s->mu);

    chunk_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HDR_MAGIC, 8);
    h.version = HDR_VERSION;
    h.chunk = c->id;
    h.gen = gen;
    h.raw_len = c->size;
    h.stored_len = stored;
    h.codec = codec;
    h.param = param;
    h.payload_xxh3 = XXH3_64bits(buf + s->block, stored);
    h.hdr_xxh3 = XXH3_64bits(&h, offsetof(chunk_hdr, hdr_xxh3));
    memset(buf, 0, s->block);
    memcpy(buf, &h, sizeof h);

    spw_io_seg seg = {buf, disk_len, off};
    double t0 = spw_now();
    st = spw_io_rw(s->io, 1, &seg, 1);
    double dt = spw_now() - t0;
    free(scratch);
    pthread_mutex_lock(&s->mu);
    if (st) {
        spw_ranges_free(&s->disk, off, disk_len);
    } else {
        c->on_disk = 1;
        c->dirty = 0;
        c->disk_off = off;
        c->disk_len = disk_len;
        c->stored_len = stored;
        c->codec = codec;
        c->param = param;
        s->st.bytes_host_to_nvme += disk_len;
        s->st.logical_to_nvme += c->size;
        s->st.writebacks++;
        if (s->disk.peak > s->st.nvme_peak) s->st.nvme_peak = s->disk.peak;
        double r = dt > 0 ? disk_len / dt : 1e12;
        s->disk_rate = s->disk_rate > 0 ? 0.7 * s->disk_rate + 0.3 * r : r;
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Reads the chunk's extent back into its pool memory, verifying it. */
static spw_status load_chunk(spw_spill *s, chunk *c)
{
    uint8_t *base = host_ptr(s, c), *payload = base + s->block;
    uint8_t *buf = base, *scratch = NULL, *tmp = NULL;
    if (c->codec != SPW_CODEC_RAW) {
        scratch = aligned_buf(s, c->disk_len);
        tmp = malloc(c->size);
        if (!scratch || !tmp) {
            free(scratch);
            free(tmp);
            return spw_fail(s->ctx, SPW_ERR_NOMEM, "spill chunk %u '%s': no memory for decoding",
                            c->id, c->name);
        }
        note_scratch(s, c->disk_len + c->size);
        buf = scratch;
    }
    spw_io_seg seg = {buf, c->disk_len, c->disk_off};
    spw_status st = spw_io_rw(s->io, 0, &seg, 1);
    if (st) goto out;
    chunk_hdr h;
    memcpy(&h, buf, sizeof h);
    uint64_t hx = XXH3_64bits(&h, offsetof(chunk_hdr, hdr_xxh3));
    if (hx != h.hdr_xxh3 || memcmp(h.magic, HDR_MAGIC, 8)) {
        st = chunk_err(s, c, "header checksum mismatch", h.hdr_xxh3, hx);
        goto out;
    }
    if (h.version != HDR_VERSION || h.chunk != c->id || h.gen != c->gen || h.raw_len != c->size ||
        h.stored_len != c->stored_len || h.codec != c->codec || h.param != c->param) {
        st = spw_fail(s->ctx, SPW_ERR_CHECKSUM,
                      "spill chunk %u '%s': header at spill offset %llu belongs to chunk %u "
                      "generation %llu, expected generation %llu", c->id, c->name,
                      (unsigned long long)c->disk_off, h.chunk, (unsigned long long)h.gen,
                      (unsigned long long)c->gen);
        goto out;
    }
    uint64_t px = XXH3_64bits(buf + s->block, h.stored_len);
    if (px != h.payload_xxh3) {
        st = chunk_err(s, c, "payload checksum mismatch", h.payload_xxh3, px);
        goto out;
    }
    if (c->codec != SPW_CODEC_RAW) {
        st = spw_codec_decode(s->ctx, payload, c->size, buf + s->block, h.stored_len, h.codec,
                              h.param, tmp);
        if (st) st = spw_fail(s->ctx, st, "spill chunk %u '%s': %s", c->id, c->name,
                              spw_ctx_last_error(s->ctx));
    }
out:
    free(scratch);
    free(tmp);
    if (!st) {
        pthread_mutex_lock(&s->mu);
        s->st.bytes_nvme_to_host += c->disk_len;
        s->st.logical_from_nvme += c->size;
        s->st.loads++;
        pthread_mutex_unlock(&s->mu);
    }
    return st;
}

/* ---- residency (mutex held) ------------------------------------------------- */

/* The LRU list holds exactly the chunks with pool memory, ordered by lru
 * (every lru update moves its chunk to the tail), so choosing a victim
 * walks only resident chunks, and usually stops at the head. */
static void lru_remove(spw_spill *s, chunk *c)
{
    if (!c->in_lru) return;
    if (c->lprev) c->lprev->lnext = c->lnext;
    else s->lru_head = c->lnext;
    if (c->lnext) c->lnext->lprev = c->lprev;
    else s->lru_tail = c->lprev;
    c->lprev = c->lnext = NULL;
    c->in_lru = 0;
}

/* Inserts c at its place by lru (normally the tail). Chunks whose home is
 * the pool are never evicted, so they stay out of the list: a victim scan
 * would walk over every one of them (quadratic in a store that keeps whole
 * tables in the pool). */
static void lru_insert(spw_spill *s, chunk *c)
{
    if (c->home == SPW_TIER_HOST) return;
    chunk *after = s->lru_tail;
    while (after && after->lru > c->lru) after = after->lprev;
    c->lprev = after;
    c->lnext = after ? after->lnext : s->lru_head;
    if (c->lnext) c->lnext->lprev = c;
    else s->lru_tail = c;
    if (after) after->lnext = c;
    else s->lru_head = c;
    c->in_lru = 1;
}

/* Marks c as used now. */
static void touch(spw_spill *s, chunk *c)
{
    c->lru = ++s->tick;
    if (c->in_lru && c != s->lru_tail) {
        lru_remove(s, c);
        lru_insert(s, c);
    }
}

static int evictable(const spw_spill *s, const chunk *c, const chunk *self)
{
    return c->live && c != self && c->has_host && !c->busy && !c->pins &&
           c->home != SPW_TIER_HOST && !(c->dirty && !s->io);
}

/* Unhinted before hinted; among unhinted the least recently used; among
 * hinted the one needed last. pick_victim_ref is the reference scan of
 * every chunk: the list-based choice is checked against it on every
 * eviction in stores of up to REF_CHECK_CHUNKS chunks (the spill tests),
 * and in all stores when compiled with SPW_SPILL_CHECK_LRU. */
#define REF_CHECK_CHUNKS 64
static chunk *pick_victim(spw_spill *s, const chunk *self)
{
    for (chunk *c = s->lru_head; c; c = c->lnext)
        if (!c->hint_pos && evictable(s, c, self)) return c;
    for (size_t i = s->nhints; i-- > 0;) {
        chunk *c = get_chunk(s, s->hints[i]);
        if (c && c->hint_pos == i + 1 && evictable(s, c, self)) return c;
    }
    return NULL;
}

/* The eviction order: unhinted chunks before hinted ones; among unhinted
 * the least recently used, among hinted the one needed last. */
static int better_victim(const chunk *c, const chunk *best)
{
    if (!c->hint_pos != !best->hint_pos) return !c->hint_pos;
    return !c->hint_pos ? c->lru < best->lru : c->hint_pos > best->hint_pos;
}

static chunk *pick_victim_ref(spw_spill *s, const chunk *self)
{
    chunk *best = NULL;
    for (size_t i = 0; i < s->nch; i++) {
        chunk *c = s->ch[i];
        if (!c || !evictable(s, c, self)) continue;
        if (!best || better_victim(c, best)) best = c;
    }
    return best;
}

static void drop_host(spw_spill *s, chunk *c)
{
    spw_ranges_free(&s->host, c->host_off, c->host_len);
    c->has_host = 0;
    lru_remove(s, c);
}

/* Evicts v (writing it first when dirty). Drops and retakes the mutex. */
static spw_status evict(spw_spill *s, chunk *v)
{
    spw_status st = SPW_OK;
    if (v->dirty) {
        v->busy = WRITING;
        s->n_moving++;
        pthread_mutex_unlock(&s->mu);
        st = store_chunk(s, v);
        pthread_mutex_lock(&s->mu);
        s->n_moving--;
        v->busy = IDLE;
    }
    if (!st) {
        drop_host(s, v);
        s->st.evictions++;
    }
    pthread_cond_broadcast(&s->cv);
    return st;
}

static spw_status host_alloc(spw_spill *s, chunk *self)
{
    for (;;) {
        uint64_t off;
        if (!spw_ranges_alloc(&s->host, &off, self->host_len, s->block)) {
            spw_status rs = spw_pool_ensure(&s->pool, off + self->host_len);
            if (rs != SPW_OK) {
                spw_ranges_free(&s->host, off, self->host_len);
                return rs;
            }
            self->host_off = off;
            self->has_host = 1;
            self->lru = ++s->tick; /* about to be used: the tail, found at once */
            lru_insert(s, self);
            if (s->host.peak > s->st.host_peak) s->st.host_peak = s->host.peak;
            return SPW_OK;
        }
        chunk *v = pick_victim(s, self);
#ifndef SPW_SPILL_CHECK_LRU
        if (s->nch <= REF_CHECK_CHUNKS)
#endif
            if (v != pick_victim_ref(s, self))
                return spw_fail(s->ctx, SPW_ERR_INTERNAL,
                                "spill store: LRU list chose chunk %u, the reference scan %u",
                                v ? v->id : 0, pick_victim_ref(s, self) ? pick_victim_ref(s, self)->id : 0);
        if (s->wb_n) pthread_cond_signal(&s->ccv);
        if (v) {
            SPW_TRY(evict(s, v));
            continue;
        }
        if (s->n_moving) { /* an eviction or load elsewhere will change things */
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        uint64_t pinned = 0;
        for (size_t i = 0; i < s->nch; i++)
            if (s->ch[i] && s->ch[i]->has_host && (s->ch[i]->pins || s->ch[i]->home == SPW_TIER_HOST))
                pinned += s->ch[i]->host_len;
        return spw_fail(s->ctx, SPW_ERR_BUDGET,
                        "spill store: the host budget (%llu bytes, %llu pinned or host-homed) cannot "
                        "hold chunk %u '%s' (%llu bytes)%s", (unsigned long long)s->host.total,
                        (unsigned long long)pinned, self->id, self->name,
                        (unsigned long long)self->size,
                        s->io ? "" : "; there is no NVMe tier to evict to");
    }
}

/* Makes c resident; load = 0 when the caller overwrites all of it. */
static spw_status make_resident(spw_spill *s, chunk *c, int load)
{
    c->busy = LOADING;
    spw_status st = host_alloc(s, c);
    if (!st) {
        if (c->on_disk && load) {
            s->n_moving++;
            pthread_mutex_unlock(&s->mu);
            st = load_chunk(s, c);
            pthread_mutex_lock(&s->mu);
            s->n_moving--;
            if (st) drop_host(s, c);
        } else if (!c->on_disk && load) {
            memset(host_ptr(s, c) + s->block, 0, c->host_len - s->block);
            c->dirty = 1;
        } else {
            c->dirty = 1; /* to be overwritten in full */
        }
    }
    c->busy = IDLE;
    pthread_cond_broadcast(&s->cv);
    return st;
}

/* ---- the VRAM tier (mutex held) ---------------------------------------------- */

/* Releases c's device memory (its data must be safe elsewhere). */
static void dev_release(spw_spill *s, chunk *c)
{
    dev_raw_free(s, c->dev_ptr, c->dev_len);
    s->vram_used -= c->dev_len;
    c->dev_ptr = NULL;
    c->has_dev = 0;
    c->dev_dirty = 0;
    s->st.dev_evictions++;
}

/* Moves c's data from the device to the pool (a device -> host copy only
 * when the device copy is the newest), then releases the device memory.
 * c is idle and not pinned on the device. */
static spw_status dev_down(spw_spill *s, chunk *c)
{
    spw_status st = SPW_OK;
    if (c->dev_dirty) {
        c->busy = WRITING;
        st = host_alloc(s, c);
        if (!st) {
            s->n_moving++;
            pthread_mutex_unlock(&s->mu);
            st = dev_sync_copy(s, host_ptr(s, c) + s->block, c->dev_ptr, c->size);
            pthread_mutex_lock(&s->mu);
            s->n_moving--;
            if (st) {
                drop_host(s, c);
                st = spw_fail(s->ctx, st, "spill chunk %u '%s': device -> host copy failed: %s",
                              c->id, c->name, dev_err());
            } else {
                c->dirty = 1; /* the pool copy is newer than NVMe */
                s->st.bytes_dev_to_host += c->size;
            }
        }
        c->busy = IDLE;
    }
    if (!st) dev_release(s, c);
    pthread_cond_broadcast(&s->cv);
    return st;
}

static chunk *pick_dev_victim(spw_spill *s, const chunk *self)
{
    chunk *best = NULL;
    for (size_t i = 0; i < s->nch; i++) {
        chunk *c = s->ch[i];
        if (!c || !c->live || c == self || !c->has_dev || c->busy || c->dev_pins) continue;
        if (!best || better_victim(c, best)) best = c; /* the host pool's rule */
    }
    return best;
}

/* Device memory for self (busy), evicting other device chunks to the pool
 * while the store's VRAM budget (or the shared arena) has no room. */
static spw_status dev_alloc(spw_spill *s, chunk *self)
{
    for (;;) {
        if (s->vram_used + self->dev_len <= s->vram_budget) {
            void *p = NULL;
            spw_status ast = dev_raw_alloc(s, &p, self->size);
            if (!ast) {
                self->dev_ptr = p;
                self->has_dev = 1;
                s->vram_used += self->dev_len;
                if (s->vram_used > s->vram_peak) s->vram_peak = s->vram_used;
                return SPW_OK;
            }
            if (ast != SPW_ERR_DEVICE_OOM)
                return spw_fail(s->ctx, ast, "spill chunk %u '%s': device allocation failed: %s",
                                self->id, self->name, dev_err());
        }
        chunk *v = pick_dev_victim(s, self);
        if (v) {
            SPW_TRY(dev_down(s, v));
            continue;
        }
        if (s->n_moving) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        uint64_t pinned = 0;
        for (size_t i = 0; i < s->nch; i++)
            if (s->ch[i] && s->ch[i]->has_dev && s->ch[i]->dev_pins) pinned += s->ch[i]->dev_len;
        return spw_fail(s->ctx, SPW_ERR_BUDGET,
                        "spill store: the VRAM budget (%llu bytes, %llu in use by the store, %llu "
                        "pinned on the device) cannot hold chunk %u '%s' (%llu bytes)%s",
                        (unsigned long long)s->vram_budget, (unsigned long long)s->vram_used,
                        (unsigned long long)pinned, self->id, self->name,
                        (unsigned long long)self->size,
                        s->vram_used + self->dev_len <= s->vram_budget
                            ? " (the shared arena is full or fragmented)" : "");
    }
}

/* Makes VRAM chunk c resident on the device and pins it there. */
static spw_status pin_dev_locked(spw_spill *s, chunk *c)
{
    for (;;) {
        while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
        if (!c->live) return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: chunk freed while in use");
        if (c->home != SPW_TIER_VRAM)
            return spw_fail(s->ctx, SPW_ERR_INVALID_ARG,
                            "spill chunk %u '%s': only VRAM-homed chunks can be pinned on the device",
                            c->id, c->name);
        if (c->has_dev) break;
        if (c->pins)
            return spw_fail(s->ctx, SPW_ERR_INVALID_ARG,
                            "spill chunk %u '%s' is pinned on the host; it cannot move to the device",
                            c->id, c->name);
        c->busy = LOADING;
        spw_status st = dev_alloc(s, c);
        if (!st && !c->has_host && !c->on_disk) { /* never written: zeros */
            s->n_moving++;
            pthread_mutex_unlock(&s->mu);
            st = dev_sync_zero(s, c->dev_ptr, c->dev_len);
            pthread_mutex_lock(&s->mu);
            s->n_moving--;
            if (st) {
                st = spw_fail(s->ctx, st, "spill chunk %u '%s': device memset failed: %s", c->id,
                              c->name, dev_err());
                dev_release(s, c);
            } else {
                c->dev_dirty = 1;
                s->st.dev_zero_fills++;
            }
        } else if (!st) {
            int loaded = 0;
            if (!c->has_host) { /* NVMe -> pool first */
                st = host_alloc(s, c);
                if (!st) {
                    s->n_moving++;
                    pthread_mutex_unlock(&s->mu);
                    st = load_chunk(s, c);
                    pthread_mutex_lock(&s->mu);
                    s->n_moving--;
                    if (st) drop_host(s, c);
                    else loaded = 1;
                }
            }
            if (!st) {
                s->n_moving++;
                pthread_mutex_unlock(&s->mu);
                st = dev_sync_copy(s, c->dev_ptr, host_ptr(s, c) + s->block, c->size);
                pthread_mutex_lock(&s->mu);
                s->n_moving--;
                if (st) {
                    st = spw_fail(s->ctx, st, "spill chunk %u '%s': host -> device copy failed: %s",
                                  c->id, c->name, dev_err());
                    if (loaded) drop_host(s, c);
                } else {
                    c->dev_dirty = c->dirty || !c->on_disk;
                    c->dirty = 0;
                    drop_host(s, c);
                    s->st.bytes_host_to_dev += c->size;
                    s->st.dev_loads++;
                }
            }
            if (st) dev_release(s, c);
        }
        c->busy = IDLE;
        pthread_cond_broadcast(&s->cv);
        if (st) return st;
    }
    if (!c->dev_pins++) s->st.vram_pinned += c->dev_len;
    touch(s, c);
    return SPW_OK;
}

/* Pins c (mutex held). */
static spw_status pin_locked(spw_spill *s, chunk *c, int load)
{
    for (;;) {
        while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
        if (!c->live) return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: chunk freed while in use");
        if (c->has_dev) { /* a VRAM chunk used on the host: move it down */
            if (c->dev_pins)
                return spw_fail(s->ctx, SPW_ERR_INVALID_ARG,
                                "spill chunk %u '%s' is pinned on the device; it cannot be used "
                                "on the host", c->id, c->name);
            SPW_TRY(dev_down(s, c));
            continue;
        }
        if (c->has_host) break;
        SPW_TRY(make_resident(s, c, load));
    }
    if (!c->pins++) s->st.host_pinned += c->host_len;
    touch(s, c);
    return SPW_OK;
}

static void unpin_locked(spw_spill *s, chunk *c, int dirty)
{
    if (dirty) {
        c->dirty = 1;
        if (s->wb_n) pthread_cond_signal(&s->ccv);
    }
    if (!--c->pins) s->st.host_pinned -= c->host_len;
    touch(s, c);
    pthread_cond_broadcast(&s->cv);
}

#define LOOKUP(s, c, h)                                                                      \
    chunk *c = get_chunk(s, h);                                                              \
    if (!c) {                                                                                \
        pthread_mutex_unlock(&s->mu);                                                        \
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: no chunk with handle %u", \
                        (unsigned)(h));                                                      \
    }

spw_status spw_spill_pin(spw_spill *s, void **ptr, spw_chunk h)
{
    if (!s || !ptr) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = pin_locked(s, c, 1);
    if (!st) *ptr = host_ptr(s, c) + s->block;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* Pins c for a caller that overwrites all of it: a chunk on disk is not
 * read back and a new chunk is not zero-filled first. */
spw_status spw_spill_pin_overwrite(spw_spill *s, void **ptr, spw_chunk h)
{
    if (!s || !ptr) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = pin_locked(s, c, 0);
    if (!st) *ptr = host_ptr(s, c) + s->block;
    pthread_mutex_unlock(&s->mu);
    return st;
}

spw_status spw_spill_unpin(spw_spill *s, spw_chunk h, int dirty)
{
    if (!s) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    if (!c->pins) {
        pthread_mutex_unlock(&s->mu);
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill chunk %u '%s' is not pinned", c->id, c->name);
    }
    unpin_locked(s, c, dirty);
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

spw_status spw_spill_chunk_free(spw_spill *s, spw_chunk h)
{
    if (!s) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
    if (c->pins || c->dev_pins) {
        pthread_mutex_unlock(&s->mu);
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill chunk %u '%s' is pinned", c->id, c->name);
    }
    if (c->has_dev) dev_release(s, c);
    if (c->has_host) drop_host(s, c);
    if (c->on_disk) spw_ranges_free(&s->disk, c->disk_off, c->disk_len);
    s->ch[h - 1] = NULL;
    free(c);
    if (s->nholes == s->capholes) { /* on failure the slot is only not reused */
        size_t nc = s->capholes ? s->capholes * 2 : 64;
        size_t *n = realloc(s->holes, nc * sizeof *n);
        if (n) s->holes = n, s->capholes = nc;
    }
    if (s->nholes < s->capholes) s->holes[s->nholes++] = h - 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

/* ---- synchronous operations ------------------------------------------------ */

static spw_status range_check(spw_spill *s, const chunk *c, uint64_t off, uint64_t len)
{
    if (off > c->size || len > c->size - off)
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG,
                        "spill chunk %u '%s': bytes [%llu, %llu) are outside its %llu bytes", c->id,
                        c->name, (unsigned long long)off, (unsigned long long)(off + len),
                        (unsigned long long)c->size);
    return SPW_OK;
}

static spw_status do_copy(spw_spill *s, int write, spw_chunk h, void *buf, uint64_t off, uint64_t len)
{
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = range_check(s, c, off, len);
    if (!st) st = pin_locked(s, c, !(write && off == 0 && len == c->size));
    if (st) {
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    uint8_t *p = host_ptr(s, c) + s->block + off;
    pthread_mutex_unlock(&s->mu);
    if (write) memcpy(p, buf, len);
    else memcpy(buf, p, len);
    pthread_mutex_lock(&s->mu);
    unpin_locked(s, c, write);
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

static spw_status do_prefetch(spw_spill *s, spw_chunk h)
{
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = SPW_OK;
    while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
    if (c->home == SPW_TIER_VRAM) { /* to the device: pin and unpin */
        st = pin_dev_locked(s, c);
        if (!st && !--c->dev_pins) s->st.vram_pinned -= c->dev_len;
        pthread_cond_broadcast(&s->cv);
    } else if (!c->has_host && c->on_disk) {
        st = make_resident(s, c, 1);
    }
    touch(s, c);
    pthread_mutex_unlock(&s->mu);
    return st;
}

static spw_status do_writeback(spw_spill *s, spw_chunk h, int drop)
{
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = SPW_OK;
    while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
    if (!s->io) {
        st = spw_fail(s->ctx, SPW_ERR_UNSUPPORTED, "spill store: no NVMe tier for chunk '%s'", c->name);
    } else if (c->pins || c->dev_pins) {
        st = spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill chunk %u '%s' is pinned", c->id, c->name);
    } else if (c->has_dev) {
        if (c->dev_dirty) { /* device -> pool (staging) -> NVMe; the device copy stays */
            c->busy = WRITING;
            st = host_alloc(s, c);
            if (!st) {
                s->n_moving++;
                pthread_mutex_unlock(&s->mu);
                st = dev_sync_copy(s, host_ptr(s, c) + s->block, c->dev_ptr, c->size);
                int copied = !st;
                if (st) st = spw_fail(s->ctx, st, "spill chunk %u '%s': device -> host copy failed: %s",
                                      c->id, c->name, dev_err());
                else st = store_chunk(s, c);
                pthread_mutex_lock(&s->mu);
                s->n_moving--;
                if (copied) s->st.bytes_dev_to_host += c->size;
                if (!st) c->dev_dirty = 0;
                c->dirty = 0;
                drop_host(s, c);
            }
            c->busy = IDLE;
            pthread_cond_broadcast(&s->cv);
        }
        if (!st && drop) dev_release(s, c);
    } else if (c->has_host && drop) {
        st = evict(s, c);
    } else if (c->has_host && c->dirty) {
        c->busy = WRITING;
        s->n_moving++;
        pthread_mutex_unlock(&s->mu);
        st = store_chunk(s, c);
        pthread_mutex_lock(&s->mu);
        s->n_moving--;
        c->busy = IDLE;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

static spw_status do_evict_device(spw_spill *s, spw_chunk h)
{
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = SPW_OK;
    while (c->busy) pthread_cond_wait(&s->cv, &s->mu);
    if (c->dev_pins)
        st = spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill chunk %u '%s' is pinned on the device",
                      c->id, c->name);
    else if (c->has_dev)
        st = dev_down(s, c);
    pthread_mutex_unlock(&s->mu);
    return st;
}

static spw_status run_op(spw_spill *s, const op *o)
{
    switch (o->type) {
    case 0: return do_copy(s, 0, o->c, o->buf, o->off, o->len);
    case 1: return do_copy(s, 1, o->c, o->buf, o->off, o->len);
    case 2: return do_prefetch(s, o->c);
    case 4: return do_evict_device(s, o->c);
    default: return do_writeback(s, o->c, o->drop);
    }
}

/* ---- the worker and tokens -------------------------------------------------- */

static void *worker_main(void *arg)
{
    spw_spill *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->qhead && !s->stop) pthread_cond_wait(&s->wcv, &s->mu);
        if (!s->qhead) break; /* stop, queue drained */
        op *o = s->qhead;
        s->qhead = o->next;
        if (!s->qhead) s->qtail = NULL;
        s->worker_busy = 1;
        pthread_mutex_unlock(&s->mu);
        spw_status st = run_op(s, o);
        pthread_mutex_lock(&s->mu);
        s->worker_busy = 0;
        o->status = st;
        o->done = 1;
        if (!o->tok) {
            if (st) {
                s->st.async_errors++;
                spw_log(s->ctx, SPW_LOG_WARN, "spill store: background %s failed: %s",
                        o->type == 2 ? "prefetch" : o->type == 4 ? "device eviction" : "write-back",
                        spw_strerror(st));
            }
            free(o);
        } else {
            o->next = s->finished;
            s->finished = o;
        }
        pthread_cond_broadcast(&s->dcv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static spw_status enqueue(spw_spill *s, spw_token *tok, int type, spw_chunk h, void *buf,
                          uint64_t off, uint64_t len, int drop)
{
    op *o = calloc(1, sizeof *o);
    if (!o) return SPW_ERR_NOMEM;
    *o = (op){.type = type, .c = h, .buf = buf, .off = off, .len = len, .drop = drop};
    pthread_mutex_lock(&s->mu);
    chunk *c = get_chunk(s, h);
    spw_status st = c ? (type <= 1 ? range_check(s, c, off, len) : SPW_OK)
                      : spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: no chunk with handle %u", h);
    if (!st && !s->worker_up) {
        if (pthread_create(&s->worker, NULL, worker_main, s))
            st = spw_fail(s->ctx, SPW_ERR_NOMEM, "spill store: cannot start the I/O worker");
        else
            s->worker_up = 1;
    }
    if (st) {
        pthread_mutex_unlock(&s->mu);
        free(o);
        return st;
    }
    if (tok) *tok = o->tok = ++s->next_tok;
    if (s->qtail) s->qtail->next = o;
    else s->qhead = o;
    s->qtail = o;
    pthread_cond_signal(&s->wcv);
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

spw_status spw_spill_read(spw_spill *s, spw_token *tok, void *dst, spw_chunk c, uint64_t off,
                          uint64_t len)
{
    if (!s || (!dst && len)) return SPW_ERR_NULL;
    if (tok) return enqueue(s, tok, 0, c, dst, off, len, 0);
    return do_copy(s, 0, c, dst, off, len);
}

spw_status spw_spill_write(spw_spill *s, spw_token *tok, spw_chunk c, uint64_t off,
                           const void *src, uint64_t len)
{
    if (!s || (!src && len)) return SPW_ERR_NULL;
    if (tok) return enqueue(s, tok, 1, c, (void *)src, off, len, 0);
    return do_copy(s, 1, c, (void *)src, off, len);
}

spw_status spw_spill_prefetch(spw_spill *s, spw_token *tok, spw_chunk c)
{
    if (!s) return SPW_ERR_NULL;
    return enqueue(s, tok, 2, c, NULL, 0, 0, 0);
}

spw_status spw_spill_writeback(spw_spill *s, spw_token *tok, spw_chunk c, int drop)
{
    if (!s) return SPW_ERR_NULL;
    return enqueue(s, tok, 3, c, NULL, 0, 0, drop);
}

spw_status spw_spill_pin_device(spw_spill *s, void **dptr, spw_chunk h)
{
    if (!s || !dptr) return SPW_ERR_NULL;
    *dptr = NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    spw_status st = pin_dev_locked(s, c);
    if (!st) *dptr = c->dev_ptr;
    pthread_mutex_unlock(&s->mu);
    return st;
}

spw_status spw_spill_unpin_device(spw_spill *s, spw_chunk h, int dirty)
{
    if (!s) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    LOOKUP(s, c, h);
    if (!c->dev_pins) {
        pthread_mutex_unlock(&s->mu);
        return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill chunk %u '%s' is not pinned on the device",
                        c->id, c->name);
    }
    if (dirty) c->dev_dirty = 1;
    if (!--c->dev_pins) s->st.vram_pinned -= c->dev_len;
    touch(s, c);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

spw_status spw_spill_evict_device(spw_spill *s, spw_token *tok, spw_chunk c)
{
    if (!s) return SPW_ERR_NULL;
    return enqueue(s, tok, 4, c, NULL, 0, 0, 0);
}

struct spw_cuda_arena *spw_spill_vram_arena(spw_spill *s) { return s ? s->arena : NULL; }

spw_status spw_spill_wait(spw_spill *s, spw_token tok)
{
    if (!s) return SPW_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int pending = 0;
        for (op *o = s->qhead; o; o = o->next)
            if (o->tok == tok) pending = 1;
        op **pp = &s->finished;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->tok == tok) break;
        if (*pp) {
            op *o = *pp;
            *pp = o->next;
            spw_status st = o->status;
            free(o);
            pthread_mutex_unlock(&s->mu);
            return st;
        }
        if (!pending && !s->worker_busy) break;
        pthread_cond_wait(&s->dcv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return spw_fail(s->ctx, SPW_ERR_INVALID_ARG, "spill store: unknown token %llu",
                    (unsigned long long)tok);
}

void spw_spill_drain(spw_spill *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    while (s->qhead || s->worker_busy) pthread_cond_wait(&s->dcv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

spw_status spw_spill_hint(spw_spill *s, const spw_chunk *next, size_t n)
{
    if (!s || (!next && n)) return SPW_ERR_NULL;
    spw_chunk *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy) return SPW_ERR_NOMEM;
    if (n) memcpy(copy, next, n * sizeof *copy);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nch; i++)
        if (s->ch[i]) s->ch[i]->hint_pos = 0;
    for (size_t i = 0; i < n; i++) {
        chunk *c = get_chunk(s, next[i]);
        if (c && !c->hint_pos) c->hint_pos = i + 1;
    }
    free(s->hints);
    s->hints = copy;
    s->nhints = n;
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}

spw_tier spw_spill_where(spw_spill *s, spw_chunk h)
{
    if (!s) return SPW_TIER_NONE;
    pthread_mutex_lock(&s->mu);
    chunk *c = get_chunk(s, h);
    spw_tier t = !c ? SPW_TIER_NONE : c->has_dev ? SPW_TIER_VRAM : c->has_host ? SPW_TIER_HOST
                                      : c->on_disk ? SPW_TIER_NVME : SPW_TIER_NONE;
    pthread_mutex_unlock(&s->mu);
    return t;
}

uint64_t spw_spill_pinnable(spw_spill *s)
{
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t held = 0;
    for (size_t i = 0; i < s->nch; i++) {
        const chunk *c = s->ch[i];
        if (c && c->live && (c->home == SPW_TIER_HOST || (c->has_host && c->pins))) held += c->host_len;
    }
    uint64_t total = s->host.total;
    pthread_mutex_unlock(&s->mu);
    return held < total ? total - held : 0;
}

void spw_spill_get_stats(spw_spill *s, spw_spill_stats *out)
{
    if (!s || !out) return;
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->host_in_use = s->host.used;
    out->pool_register_s = s->pool.ensure_s;
    out->host_peak = s->host.peak;
    out->nvme_in_use = s->disk.used;
    out->nvme_peak = s->disk.peak;
    out->vram_in_use = s->vram_used;
    out->vram_peak = s->vram_peak;
#ifdef SPW_HAVE_CUDA
    if (s->arena) out->arena_peak = spw_cuda_arena_peak(s->arena);
#endif
    if (s->emu_base) out->arena_peak = s->emu.peak;
    pthread_mutex_unlock(&s->mu);
    if (s->io) spw_io_get_stats(s->io, &out->io);
}

/* ---- write-behind -------------------------------------------------------------- */

/* The next chunk a cleaner should write back (mutex held): walking the
 * eviction order (unhinted LRU) until the free pool plus the evictable
 * bytes seen reach wb_target, the first dirty one. NULL when none. */
static chunk *pick_dirty(spw_spill *s)
{
    uint64_t seen = s->host.total - s->host.used;
    for (chunk *c = s->lru_head; c && seen < s->wb_target; c = c->lnext) {
        if (c->hint_pos || c->busy || c->pins || c->home == SPW_TIER_HOST || c->has_dev) continue;
        if (c->dirty) return c;
        seen += c->host_len;
    }
    return NULL;
}

static void *cleaner_main(void *arg)
{
    spw_spill *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->wb_stop) {
        chunk *c = s->wb_failed ? NULL : pick_dirty(s);
        if (!c) {
            pthread_cond_wait(&s->ccv, &s->mu);
            continue;
        }
        c->busy = WRITING;
        s->n_moving++;
        pthread_mutex_unlock(&s->mu);
        spw_status st = store_chunk(s, c);
        pthread_mutex_lock(&s->mu);
        s->n_moving--;
        c->busy = IDLE;
        if (st) { /* left dirty: the eviction that needs it reports the error */
            s->wb_failed = 1;
            s->st.async_errors++;
            spw_log(s->ctx, SPW_LOG_WARN, "spill store: write-behind stopped: %s", spw_strerror(st));
        }
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Starts nthreads (<= 4) cleaner threads that write dirty chunks back ahead
 * of eviction, so that the free pool plus the clean chunks next in the
 * eviction order stay at clean_bytes: an eviction then only drops pool
 * memory instead of writing in the thread that needs the space. At most
 * nthreads writes are in flight. Call once, before use; no effect without
 * an NVMe tier. */
spw_status spw_spill_write_behind(spw_spill *s, unsigned nthreads, uint64_t clean_bytes)
{
    if (!s) return SPW_ERR_NULL;
    if (!s->io || !nthreads || s->wb_n) return SPW_OK;
    if (nthreads > 4) nthreads = 4;
    pthread_mutex_lock(&s->mu);
    s->wb_target = clean_bytes;
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&s->wb_thr[i], NULL, cleaner_main, s)) break;
        s->wb_n++;
    }
    pthread_mutex_unlock(&s->mu);
    return SPW_OK;
}
