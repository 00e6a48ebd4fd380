/*
 * test_spill_vram.c - the spill store's VRAM tier on a GPU (skips, exit 77,
 * without one; compiles everywhere): random data round-trips device <->
 * pool <-> NVMe at odd sizes and offsets against an in-memory model (device
 * contents checked by copying them back independently of the store),
 * eviction under a small VRAM budget with the arena's measured peak <= the
 * budget, hints respected, the host<->device byte counters equal to the
 * moves the test caused, and concurrent users (threads) evicting each
 * other's chunks. Failures print the chunk, size, offset and the
 * store's statistics.
 *
 * Built twice: tests/test_spill_vram (the real device through the CUDA
 * arena; exit 77 without a GPU) and, with -DSPW_TEST_VRAM_EMULATE,
 * tests/test_spill_vram_emu, which runs the same scenarios on the store's
 * emulated VRAM tier (opts.vram_emulate: host memory, memcpy) everywhere,
 * so the tier's residency, eviction and accounting logic is tested on
 * machines without a GPU too.
 */
#include "check_util.h"
#include "internal.h"
#include "spill.h"
#include "test_spill_util.h"

#if defined(SPW_TEST_VRAM_EMULATE) || defined(SPW_HAVE_CUDA)
#include <string.h>
#ifdef SPW_TEST_VRAM_EMULATE
#define EMU 1
#else
#define EMU 0
#include "cuda_api.h"
#endif

#define MIB (1024u * 1024u)

static spw_ctx *mkctx(void)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_WARN;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

#define OK(ctx, e)                                                                        \
    do {                                                                                  \
        spw_status ok_s_ = (e);                                                           \
        ck_assert_msg(ok_s_ == SPW_OK, "%s: %s (%s)", #e, spw_strerror(ok_s_),            \
                      spw_ctx_last_error(ctx));                                           \
    } while (0)

static void dump_stats(const char *where, spw_spill *s)
{
    spw_spill_stats t;
    spw_spill_get_stats(s, &t);
    fprintf(stderr,
            "[%s] vram budget %llu in_use %llu peak %llu pinned %llu arena_peak %llu | host budget "
            "%llu in_use %llu peak %llu | h2d %llu d2h %llu dev_loads %llu zero_fills %llu "
            "dev_evictions %llu | nvme in_use %llu, to_nvme %llu from_nvme %llu evictions %llu\n",
            where, (unsigned long long)t.vram_budget, (unsigned long long)t.vram_in_use,
            (unsigned long long)t.vram_peak, (unsigned long long)t.vram_pinned,
            (unsigned long long)t.arena_peak, (unsigned long long)t.host_budget,
            (unsigned long long)t.host_in_use, (unsigned long long)t.host_peak,
            (unsigned long long)t.bytes_host_to_dev, (unsigned long long)t.bytes_dev_to_host,
            (unsigned long long)t.dev_loads, (unsigned long long)t.dev_zero_fills,
            (unsigned long long)t.dev_evictions, (unsigned long long)t.nvme_in_use,
            (unsigned long long)t.logical_to_nvme, (unsigned long long)t.logical_from_nvme,
            (unsigned long long)t.evictions);
}

static const char *tier_name(spw_tier t)
{
    return t == SPW_TIER_VRAM ? "VRAM" : t == SPW_TIER_HOST ? "HOST" : t == SPW_TIER_NVME ? "NVME" : "NONE";
}

/* Compares len bytes, reporting the first difference. */
static void expect_same(const uint8_t *got, const uint8_t *want, uint64_t len, const char *what,
                        int chunk, uint64_t size, uint64_t off)
{
    if (!memcmp(got, want, len)) return;
    uint64_t i = 0;
    while (got[i] == want[i]) i++;
    ck_abort_msg("%s: chunk %d (size %llu) differs at byte %llu of [%llu, +%llu): got %02x want %02x",
                 what, chunk, (unsigned long long)size, (unsigned long long)(off + i),
                 (unsigned long long)off, (unsigned long long)len, got[i], want[i]);
}

/* Pinned staging buffer of the test itself (the store's pool is not used
 * for checking the store). */
static uint8_t *staging(uint64_t bytes)
{
#if EMU
    uint8_t *m = malloc(bytes);
    ck_assert_ptr_nonnull(m);
    return m;
#else
    void *p = NULL;
    spw_status st = spw_cuda_host_alloc(&p, bytes);
    ck_assert_msg(st == SPW_OK, "cudaHostAlloc(%llu): %s", (unsigned long long)bytes, spw_cuda_last_error());
    return p;
#endif
}

static void staging_free(uint8_t *p)
{
#if EMU
    free(p);
#else
    spw_cuda_host_free(p);
#endif
}

static void d2h(void *h, const void *d, uint64_t n)
{
#if EMU
    memcpy(h, d, n);
#else
    spw_status st = spw_cuda_memcpy_async(h, d, n, NULL);
    if (!st) st = spw_cuda_stream_sync(NULL);
    ck_assert_msg(st == SPW_OK, "test d2h copy of %llu bytes: %s", (unsigned long long)n, spw_cuda_last_error());
#endif
}

static void h2d(void *d, const void *h, uint64_t n)
{
#if EMU
    memcpy(d, h, n);
#else
    spw_status st = spw_cuda_memcpy_async(d, h, n, NULL);
    if (!st) st = spw_cuda_stream_sync(NULL);
    ck_assert_msg(st == SPW_OK, "test h2d copy of %llu bytes: %s", (unsigned long long)n, spw_cuda_last_error());
#endif
}

/* ---- random round trips: device <-> pool <-> NVMe ------------------------ */

enum { NCH = 8 };
static const uint64_t rt_sizes[NCH] = {1, 4095, 300001, 65539, 12345, 777777, 8, 1000003};

START_TEST(round_trips)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    ck_assert_ptr_nonnull(dir);
    /* Shared arena larger than the store's VRAM budget: the arena's own
     * peak then shows the store never used more than its budget. */
    const uint64_t vram = 2 * MIB;
#if !EMU
    const uint64_t arena_bytes = 4 * MIB;
    spw_cuda_arena *arena = NULL;
    ck_assert_msg(spw_cuda_arena_create(&arena, arena_bytes) == SPW_OK, "%s", spw_cuda_last_error());
#endif
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.dir = dir;
    o.host_budget = 3 * MIB; /* smaller than the data: the pool spills to NVMe */
    o.nvme_budget = 64 * MIB;
    o.queue_depth = 4;
    o.request_size = 256 * 1024;
    o.compress = 2;
#if EMU
    o.vram_emulate = 1;
#else
    o.vram_arena = arena;
#endif
    o.vram_budget = vram;
    spw_spill *s = NULL;
    OK(ctx, spw_spill_create(ctx, &s, &o));
#if !EMU
    ck_assert_ptr_eq(spw_spill_vram_arena(s), arena);
#endif

    spw_chunk c[NCH];
    uint8_t *model[NCH];
    int dev_dirtied[NCH] = {0}; /* written on the device since it last arrived there */
    for (int i = 0; i < NCH; i++) {
        char name[32];
        snprintf(name, sizeof name, "rt/col%d", i);
        OK(ctx, spw_spill_chunk_new(s, &c[i], rt_sizes[i], i % 2 ? SPW_CHUNK_TRACE : SPW_CHUNK_LDE,
                                    SPW_TIER_VRAM, name));
        model[i] = calloc(1, rt_sizes[i]);
    }
    uint8_t *stage = staging(1000003), *buf = malloc(1000003);
    uint64_t rng = 0x5eed0001, want_h2d = 0, d2h_lo = 0, d2h_hi = 0;
    uint64_t device_pins = 0, host_ops = 0, tokens = 0;
    for (int step = 0; step < 240; step++) {
        int i = (int)(spw_test_rand(&rng) % NCH);
        uint64_t size = rt_sizes[i];
        uint64_t off = spw_test_rand(&rng) % size, len = 1 + spw_test_rand(&rng) % (size - off);
        if (spw_test_rand(&rng) % 6 == 0) off = 0, len = size;
        spw_tier before[NCH];
        for (int k = 0; k < NCH; k++) before[k] = spw_spill_where(s, c[k]);
        int kind = (int)(spw_test_rand(&rng) % 10);
        if (kind < 5) { /* on the device: verify all of it, maybe write a range */
            if (before[i] == SPW_TIER_HOST || before[i] == SPW_TIER_NVME) want_h2d += size;
            void *d = NULL;
            OK(ctx, spw_spill_pin_device(s, &d, c[i]));
            ck_assert_msg(d != NULL && ((uintptr_t)d & 255) == 0, "device pointer %p", d);
            ck_assert_int_eq(spw_spill_where(s, c[i]), SPW_TIER_VRAM);
            device_pins++;
            d2h(stage, d, size);
            expect_same(stage, model[i], size, "device contents after pin_device", i, size, 0);
            int write = kind < 3;
            if (write) {
                for (uint64_t k = 0; k < len; k++) stage[k] = (uint8_t)spw_test_rand(&rng);
                h2d((uint8_t *)d + off, stage, len);
                memcpy(model[i] + off, stage, len);
                dev_dirtied[i] = 1;
            }
            OK(ctx, spw_spill_unpin_device(s, c[i], write));
        } else if (kind < 7) { /* on the host: read or write a range (moves it down) */
            if (kind == 5) {
                OK(ctx, spw_spill_read(s, NULL, buf, c[i], off, len));
                expect_same(buf, model[i] + off, len, "spw_spill_read", i, size, off);
            } else {
                for (uint64_t k = 0; k < len; k++) buf[k] = (uint8_t)spw_test_rand(&rng);
                OK(ctx, spw_spill_write(s, NULL, c[i], off, buf, len));
                memcpy(model[i] + off, buf, len);
            }
            host_ops++;
            ck_assert_int_ne(spw_spill_where(s, c[i]), SPW_TIER_VRAM);
        } else { /* asynchronous moves with tokens */
            spw_token t;
            if (kind == 7) {
                if (before[i] == SPW_TIER_HOST || before[i] == SPW_TIER_NVME) want_h2d += size;
                OK(ctx, spw_spill_prefetch(s, &t, c[i]));
                OK(ctx, spw_spill_wait(s, t));
                ck_assert_int_eq(spw_spill_where(s, c[i]), SPW_TIER_VRAM);
            } else if (kind == 8) {
                OK(ctx, spw_spill_evict_device(s, &t, c[i]));
                OK(ctx, spw_spill_wait(s, t));
                ck_assert_int_ne(spw_spill_where(s, c[i]), SPW_TIER_VRAM);
            } else {
                int drop = (int)(spw_test_rand(&rng) & 1);
                OK(ctx, spw_spill_writeback(s, &t, c[i], drop));
                OK(ctx, spw_spill_wait(s, t));
                if (drop && before[i] == SPW_TIER_VRAM)
                    ck_assert_int_eq(spw_spill_where(s, c[i]), SPW_TIER_NVME);
                if (before[i] == SPW_TIER_VRAM) {
                    /* a dirty device copy was written back (copied down):
                     * certainly when the test wrote it on the device */
                    if (dev_dirtied[i]) d2h_lo += rt_sizes[i];
                    d2h_hi += rt_sizes[i];
                    dev_dirtied[i] = 0;
                }
            }
            tokens++;
        }
        /* Device copies that left the device during this step: a copy
         * back happened for those written on the device (and at most for
         * all of them). */
        for (int k = 0; k < NCH; k++) {
            spw_tier now = spw_spill_where(s, c[k]);
            if (before[k] == SPW_TIER_VRAM && now != SPW_TIER_VRAM) {
                d2h_hi += rt_sizes[k];
                if (dev_dirtied[k]) d2h_lo += rt_sizes[k];
                dev_dirtied[k] = 0;
            }
        }
        spw_spill_stats t;
        spw_spill_get_stats(s, &t);
        if (t.bytes_host_to_dev != want_h2d || t.bytes_dev_to_host < d2h_lo || t.bytes_dev_to_host > d2h_hi ||
            t.vram_in_use > vram || t.vram_peak > vram || t.host_peak > t.host_budget) {
            dump_stats("round_trips", s);
            ck_abort_msg("step %d (chunk %d, op %d, was %s): h2d %llu want %llu, d2h %llu want [%llu, %llu], "
                         "vram in use %llu peak %llu budget %llu, host peak %llu budget %llu",
                         step, i, kind, tier_name(before[i]), (unsigned long long)t.bytes_host_to_dev,
                         (unsigned long long)want_h2d, (unsigned long long)t.bytes_dev_to_host,
                         (unsigned long long)d2h_lo, (unsigned long long)d2h_hi,
                         (unsigned long long)t.vram_in_use, (unsigned long long)t.vram_peak,
                         (unsigned long long)vram, (unsigned long long)t.host_peak,
                         (unsigned long long)t.host_budget);
        }
    }
    /* Everything reads back on the host, and again on the device. */
    for (int i = 0; i < NCH; i++) {
        OK(ctx, spw_spill_read(s, NULL, buf, c[i], 0, rt_sizes[i]));
        expect_same(buf, model[i], rt_sizes[i], "final spw_spill_read", i, rt_sizes[i], 0);
    }
    for (int i = 0; i < NCH; i++) {
        void *d = NULL;
        OK(ctx, spw_spill_pin_device(s, &d, c[i]));
        d2h(stage, d, rt_sizes[i]);
        expect_same(stage, model[i], rt_sizes[i], "final device contents", i, rt_sizes[i], 0);
        OK(ctx, spw_spill_unpin_device(s, c[i], 0));
    }
    spw_spill_stats t;
    spw_spill_get_stats(s, &t);
    dump_stats("round_trips end", s);
    fprintf(stderr, "round_trips: %llu device pins, %llu host ops, %llu token ops\n",
            (unsigned long long)device_pins, (unsigned long long)host_ops, (unsigned long long)tokens);
    /* The device path really ran and spilling really happened on every link. */
    ck_assert_uint_gt(t.dev_loads, 0);
    ck_assert_uint_gt(t.bytes_dev_to_host, 0);
    ck_assert_uint_gt(t.logical_to_nvme, 0);
    ck_assert_uint_gt(t.logical_from_nvme, 0);
    ck_assert_uint_le(t.vram_peak, vram);
    ck_assert_uint_le(t.arena_peak, vram);
#if !EMU
    ck_assert_uint_le(spw_cuda_arena_peak(arena), vram);
    ck_assert_uint_eq(t.arena_peak, spw_cuda_arena_peak(arena));
#endif
    for (int i = 0; i < NCH; i++) {
        OK(ctx, spw_spill_chunk_free(s, c[i]));
        free(model[i]);
    }
    spw_spill_get_stats(s, &t);
    ck_assert_uint_eq(t.vram_in_use, 0);
#if !EMU
    ck_assert_uint_eq(spw_cuda_arena_in_use(arena), 0);
#endif
    spw_spill_free(s);
#if !EMU
    spw_cuda_arena_destroy(arena);
#endif
    staging_free(stage);
    free(buf);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

/* ---- eviction under an 8 MiB budget, LRU and hints, exact byte counts ---- */

START_TEST(eviction_and_hints)
{
    spw_ctx *ctx = mkctx();
    const uint64_t vram = 8 * MIB;
    const uint64_t S = 3 * MIB / 2 + 13; /* odd size */
    const uint64_t slot = (S + 255) / 256 * 256;
    const int fit = (int)(vram / slot); /* chunks that fit at once (5) */
    enum { N = 8 };
    ck_assert_int_lt(fit, N - 2);
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.host_budget = 32 * MIB; /* no NVMe tier: every device eviction copies back */
    o.vram_budget = vram;     /* the store creates its own arena */
    o.vram_emulate = EMU;
    spw_spill *s = NULL;
    OK(ctx, spw_spill_create(ctx, &s, &o));
#if !EMU
    spw_cuda_arena *arena = spw_spill_vram_arena(s);
    ck_assert_ptr_nonnull(arena);
    ck_assert_uint_eq(spw_cuda_arena_budget(arena), vram);
#endif

    spw_chunk c[N];
    uint8_t *model[N];
    uint8_t *stage = staging(S);
    uint64_t rng = 0x5eed0002, want_h2d = 0, want_d2h = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "ev/col%d", i);
        OK(ctx, spw_spill_chunk_new(s, &c[i], S, SPW_CHUNK_LDE, SPW_TIER_VRAM, name));
        model[i] = malloc(S);
    }
    /* A step: pin chunk i on the device, check it, (re)write it, unpin;
     * counts the moves the test expects from the tiers it sees. */
#define STEP(i)                                                                              \
    do {                                                                                     \
        spw_tier b_[N];                                                                      \
        for (int k_ = 0; k_ < N; k_++) b_[k_] = spw_spill_where(s, c[k_]);                   \
        if (b_[i] == SPW_TIER_HOST) want_h2d += S;                                           \
        void *d_ = NULL;                                                                     \
        OK(ctx, spw_spill_pin_device(s, &d_, c[i]));                                         \
        if (b_[i] != SPW_TIER_NONE) {                                                        \
            d2h(stage, d_, S);                                                               \
            expect_same(stage, model[i], S, "device contents", i, S, 0);                     \
        }                                                                                    \
        for (uint64_t k_ = 0; k_ < S; k_++) stage[k_] = (uint8_t)spw_test_rand(&rng);       \
        h2d(d_, stage, S);                                                                   \
        memcpy(model[i], stage, S);                                                          \
        OK(ctx, spw_spill_unpin_device(s, c[i], 1));                                         \
        for (int k_ = 0; k_ < N; k_++)                                                       \
            if (b_[k_] == SPW_TIER_VRAM && spw_spill_where(s, c[k_]) != SPW_TIER_VRAM)       \
                want_d2h += S; /* every device copy is dirty here */                         \
    } while (0)

    /* 1. Fill: the first N - fit chunks are evicted in LRU order. */
    for (int i = 0; i < N; i++) STEP(i);
    for (int i = 0; i < N; i++)
        ck_assert_msg(spw_spill_where(s, c[i]) == (i < N - fit ? SPW_TIER_HOST : SPW_TIER_VRAM),
                      "after filling: chunk %d is in %s", i, tier_name(spw_spill_where(s, c[i])));
    spw_spill_stats t;
    spw_spill_get_stats(s, &t);
    ck_assert_uint_eq(want_d2h, (uint64_t)(N - fit) * S);
    ck_assert_uint_eq(t.bytes_dev_to_host, want_d2h);
    ck_assert_uint_eq(t.bytes_host_to_dev, 0);
    ck_assert_uint_eq(t.dev_zero_fills, N);

    /* 2. Hints: the oldest device chunks (N-fit, N-fit+1) are needed next;
     * bringing back the evicted chunks takes the unhinted ones first. */
    const int h0 = N - fit, h1 = N - fit + 1;
    spw_chunk hint[2] = {c[h0], c[h1]};
    OK(ctx, spw_spill_hint(s, hint, 2));
    for (int i = 0; i < N - fit; i++) {
        STEP(i);
        ck_assert_msg(spw_spill_where(s, c[h0]) == SPW_TIER_VRAM &&
                          spw_spill_where(s, c[h1]) == SPW_TIER_VRAM,
                      "hinted chunks %d, %d were evicted while bringing back chunk %d (%s, %s)", h0,
                      h1, i, tier_name(spw_spill_where(s, c[h0])), tier_name(spw_spill_where(s, c[h1])));
        /* the victim was the least recently used unhinted chunk */
        ck_assert_msg(spw_spill_where(s, c[h1 + 1 + i]) == SPW_TIER_HOST,
                      "chunk %d (LRU, unhinted) should have been evicted for chunk %d", h1 + 1 + i, i);
    }
    /* 3. With every unhinted device chunk pinned, the hinted one needed
     * last (h1) goes before the one needed first (h0). */
    void *dp[N];
    int npinned = 0;
    for (int i = 0; i < N; i++)
        if (i != h0 && i != h1 && spw_spill_where(s, c[i]) == SPW_TIER_VRAM) {
            OK(ctx, spw_spill_pin_device(s, &dp[i], c[i]));
            npinned++;
        }
    ck_assert_int_eq(npinned, fit - 2);
    int newcomer = -1;
    for (int i = 0; i < N; i++)
        if (spw_spill_where(s, c[i]) == SPW_TIER_HOST) newcomer = i;
    ck_assert_int_ge(newcomer, 0);
    STEP(newcomer);
    ck_assert_msg(spw_spill_where(s, c[h1]) == SPW_TIER_HOST && spw_spill_where(s, c[h0]) == SPW_TIER_VRAM,
                  "among hinted chunks the one needed last must go first: %d in %s, %d in %s", h0,
                  tier_name(spw_spill_where(s, c[h0])), h1, tier_name(spw_spill_where(s, c[h1])));
    /* 4. All device memory pinned: a further chunk gets a clear budget error. */
    void *dn = NULL, *dh0 = NULL;
    OK(ctx, spw_spill_pin_device(s, &dh0, c[h0]));
    OK(ctx, spw_spill_pin_device(s, &dn, c[newcomer]));
    spw_status st = spw_spill_pin_device(s, &dn, c[h1]);
    ck_assert_msg(st == SPW_ERR_BUDGET && strstr(spw_ctx_last_error(ctx), "VRAM budget"),
                  "pinning beyond the budget: %s (%s)", spw_strerror(st), spw_ctx_last_error(ctx));
    /* A chunk pinned on the device cannot be used on the host meanwhile. */
    st = spw_spill_read(s, NULL, stage, c[h0], 0, 16);
    ck_assert_int_eq(st, SPW_ERR_INVALID_ARG);
    OK(ctx, spw_spill_unpin_device(s, c[h0], 0));
    OK(ctx, spw_spill_unpin_device(s, c[newcomer], 0));
    for (int i = 0; i < N; i++)
        if (i != h0 && i != h1 && i != newcomer && spw_spill_where(s, c[i]) == SPW_TIER_VRAM)
            OK(ctx, spw_spill_unpin_device(s, c[i], 0));
    spw_spill_get_stats(s, &t);
    if (t.bytes_host_to_dev != want_h2d || t.bytes_dev_to_host != want_d2h) dump_stats("eviction", s);
    ck_assert_uint_eq(t.bytes_host_to_dev, want_h2d);
    ck_assert_uint_eq(t.bytes_dev_to_host, want_d2h);
    ck_assert_uint_eq(t.vram_pinned, 0);
    /* 5. Everything reads back through the host (each device copy is
     * dirty: one device -> host copy per chunk on the device). */
    for (int i = 0; i < N; i++) {
        if (spw_spill_where(s, c[i]) == SPW_TIER_VRAM) want_d2h += S;
        uint8_t *b = malloc(S);
        OK(ctx, spw_spill_read(s, NULL, b, c[i], 0, S));
        expect_same(b, model[i], S, "read back", i, S, 0);
        free(b);
    }
    spw_spill_get_stats(s, &t);
    dump_stats("eviction end", s);
    ck_assert_uint_eq(t.bytes_dev_to_host, want_d2h);
    ck_assert_uint_eq(t.bytes_host_to_dev, want_h2d);
    ck_assert_uint_eq(t.vram_in_use, 0);
    ck_assert_uint_le(t.vram_peak, vram);
    ck_assert_uint_eq(t.vram_peak, (uint64_t)fit * slot);
#if !EMU
    ck_assert_uint_le(spw_cuda_arena_peak(arena), vram);
    ck_assert_uint_eq(t.arena_peak, spw_cuda_arena_peak(arena));
#endif
    ck_assert_uint_le(t.arena_peak, vram);
    ck_assert_uint_le(t.host_peak, t.host_budget);
    for (int i = 0; i < N; i++) {
        OK(ctx, spw_spill_chunk_free(s, c[i]));
        free(model[i]);
    }
    spw_spill_free(s);
    staging_free(stage);
    spw_ctx_free(ctx);
#undef STEP
}
END_TEST

/* ---- write-back of device data to NVMe and back --------------------------- */

START_TEST(writeback_device_to_nvme)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    ck_assert_ptr_nonnull(dir);
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.dir = dir;
    o.host_budget = 2 * MIB;
    o.nvme_budget = 16 * MIB;
    o.request_size = 256 * 1024;
    o.vram_budget = 4 * MIB;
    o.vram_emulate = EMU;
    spw_spill *s = NULL;
    OK(ctx, spw_spill_create(ctx, &s, &o));
    const uint64_t S = 1000001;
    spw_chunk c;
    OK(ctx, spw_spill_chunk_new(s, &c, S, SPW_CHUNK_TRACE, SPW_TIER_VRAM, "wb/col"));
    uint8_t *stage = staging(S), *model = malloc(S);
    uint64_t rng = 0x5eed0003;
    for (uint64_t k = 0; k < S; k++) model[k] = (uint8_t)(spw_test_rand(&rng) & 0x0f);
    void *d = NULL;
    OK(ctx, spw_spill_pin_device(s, &d, c));
    memcpy(stage, model, S);
    h2d(d, stage, S);
    OK(ctx, spw_spill_unpin_device(s, c, 1));
    spw_token t;
    OK(ctx, spw_spill_writeback(s, &t, c, 0)); /* device -> pool -> NVMe, stays on the device */
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, c), SPW_TIER_VRAM);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.bytes_dev_to_host, S);
    ck_assert_uint_eq(st.logical_to_nvme, S);
    ck_assert_uint_eq(st.host_in_use, 0); /* the staging copy was released */
    OK(ctx, spw_spill_writeback(s, &t, c, 1)); /* clean now: only drops the device copy */
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, c), SPW_TIER_NVME);
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.bytes_dev_to_host, S);
    ck_assert_uint_eq(st.vram_in_use, 0);
    OK(ctx, spw_spill_prefetch(s, &t, c)); /* NVMe -> pool -> device */
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, c), SPW_TIER_VRAM);
    OK(ctx, spw_spill_pin_device(s, &d, c));
    memset(stage, 0xee, S);
    d2h(stage, d, S);
    expect_same(stage, model, S, "device contents after NVMe round trip", 0, S, 0);
    OK(ctx, spw_spill_unpin_device(s, c, 0));
    spw_spill_get_stats(s, &st);
    dump_stats("writeback end", s);
    ck_assert_uint_eq(st.bytes_host_to_dev, S);
    ck_assert_uint_eq(st.logical_from_nvme, S);
    ck_assert_uint_eq(st.host_in_use, 0);
    OK(ctx, spw_spill_evict_device(s, &t, c)); /* clean: no copy back */
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, c), SPW_TIER_NVME);
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.bytes_dev_to_host, S);
    OK(ctx, spw_spill_chunk_free(s, c));
    spw_spill_free(s);
    staging_free(stage);
    free(model);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

/* ---- concurrent users: threads pinning, writing and reading their own
 * chunks while evicting each other's under a small VRAM budget ------------ */

#include <pthread.h>

enum { CT = 4, CPER = 2, CSTEPS = 60 };
static const uint64_t CSIZE = 196613; /* equal sizes: the budget never fragments */

typedef struct conc_arg {
    spw_ctx *ctx;
    spw_spill *s;
    spw_chunk c[CPER];
    uint8_t *model[CPER];
    uint8_t *stage, *buf;
    uint64_t seed;
    char err[512]; /* first failure ("" = none) */
} conc_arg;

static void *conc_main(void *p)
{
    conc_arg *a = p;
    uint64_t rng = a->seed;
    spw_status st = SPW_OK;
    int step = 0;
    for (; step < CSTEPS && !a->err[0]; step++) {
        int i = (int)(spw_test_rand(&rng) % CPER);
        int kind = (int)(spw_test_rand(&rng) % 4);
        if (kind < 2) {
            void *d = NULL;
            if ((st = spw_spill_pin_device(a->s, &d, a->c[i]))) break;
#if EMU
            memcpy(a->stage, d, CSIZE);
#else
            if (spw_cuda_memcpy_async(a->stage, d, CSIZE, NULL) || spw_cuda_stream_sync(NULL)) {
                snprintf(a->err, sizeof a->err, "d2h copy failed: %s", spw_cuda_last_error());
                break;
            }
#endif
            if (memcmp(a->stage, a->model[i], CSIZE)) {
                snprintf(a->err, sizeof a->err, "seed %llx step %d: device contents of chunk %d differ",
                         (unsigned long long)a->seed, step, i);
                break;
            }
            if (kind == 0) {
                uint64_t off = spw_test_rand(&rng) % CSIZE, len = 1 + spw_test_rand(&rng) % (CSIZE - off);
                for (uint64_t k = 0; k < len; k++) a->stage[k] = (uint8_t)spw_test_rand(&rng);
#if EMU
                memcpy((uint8_t *)d + off, a->stage, len);
#else
                if (spw_cuda_memcpy_async((uint8_t *)d + off, a->stage, len, NULL) ||
                    spw_cuda_stream_sync(NULL)) {
                    snprintf(a->err, sizeof a->err, "h2d copy failed: %s", spw_cuda_last_error());
                    break;
                }
#endif
                memcpy(a->model[i] + off, a->stage, len);
            }
            if ((st = spw_spill_unpin_device(a->s, a->c[i], kind == 0))) break;
        } else if (kind == 2) {
            if ((st = spw_spill_read(a->s, NULL, a->buf, a->c[i], 0, CSIZE))) break;
            if (memcmp(a->buf, a->model[i], CSIZE)) {
                snprintf(a->err, sizeof a->err, "seed %llx step %d: spw_spill_read of chunk %d differs",
                         (unsigned long long)a->seed, step, i);
                break;
            }
        } else {
            spw_token t;
            if ((st = spw_spill_prefetch(a->s, &t, a->c[i]))) break;
            if ((st = spw_spill_wait(a->s, t))) break;
        }
    }
    if (st && !a->err[0])
        snprintf(a->err, sizeof a->err, "seed %llx step %d: %s", (unsigned long long)a->seed, step,
                 spw_strerror(st));
    return NULL;
}

START_TEST(concurrent_users)
{
    spw_ctx *ctx = mkctx();
    const uint64_t vram = 1 * MIB; /* 5 chunks; at most CT pinned at once */
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.host_budget = 4 * MIB;
    o.vram_budget = vram;
    o.vram_emulate = EMU;
    spw_spill *s = NULL;
    OK(ctx, spw_spill_create(ctx, &s, &o));
    conc_arg args[CT];
    pthread_t th[CT];
    memset(args, 0, sizeof args);
    for (int k = 0; k < CT; k++) {
        args[k].ctx = ctx;
        args[k].s = s;
        args[k].seed = 0xc0c0 + (uint64_t)k;
        args[k].stage = staging(CSIZE);
        args[k].buf = malloc(CSIZE);
        for (int i = 0; i < CPER; i++) {
            char name[32];
            snprintf(name, sizeof name, "cc/t%d/col%d", k, i);
            OK(ctx, spw_spill_chunk_new(s, &args[k].c[i], CSIZE, SPW_CHUNK_OTHER, SPW_TIER_VRAM, name));
            args[k].model[i] = calloc(1, CSIZE);
        }
    }
    for (int k = 0; k < CT; k++) ck_assert_int_eq(pthread_create(&th[k], NULL, conc_main, &args[k]), 0);
    for (int k = 0; k < CT; k++) pthread_join(th[k], NULL);
    spw_spill_stats t;
    spw_spill_get_stats(s, &t);
    dump_stats("concurrent end", s);
    for (int k = 0; k < CT; k++) {
        ck_assert_msg(!args[k].err[0], "thread %d: %s (last store error: %s)", k, args[k].err,
                      spw_ctx_last_error(ctx));
        for (int i = 0; i < CPER; i++) {
            OK(ctx, spw_spill_read(s, NULL, args[k].buf, args[k].c[i], 0, CSIZE));
            expect_same(args[k].buf, args[k].model[i], CSIZE, "after the threads", k * CPER + i, CSIZE, 0);
        }
    }
    ck_assert_uint_le(t.vram_peak, vram);
    ck_assert_uint_gt(t.dev_evictions, 0);
    ck_assert_uint_eq(t.vram_pinned, 0);
    for (int k = 0; k < CT; k++) {
        for (int i = 0; i < CPER; i++) {
            OK(ctx, spw_spill_chunk_free(s, args[k].c[i]));
            free(args[k].model[i]);
        }
        staging_free(args[k].stage);
        free(args[k].buf);
    }
    spw_spill_free(s);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create(EMU ? "spill_vram_emulated" : "spill_vram");
    TCase *tc = tcase_create(EMU ? "emulated" : "gpu");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eviction_and_hints);
    tcase_add_test(tc, writeback_device_to_nvme);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, concurrent_users);
    suite_add_tcase(s, tc);
    return EMU ? spw_run_suite(s) : spw_run_gpu_suite(s);
}

#else /* neither the device nor the emulation */

int main(void)
{
    fprintf(stderr, "CUDA backend not compiled in: skipping\n");
    return SPW_EXIT_SKIP;
}
#endif
