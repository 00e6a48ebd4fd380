/*
 * test_spill_store.c - the column store: random data round-trips through
 * the pool and the spill file at odd sizes and offsets (compared with a
 * plain in-memory model), eviction under the host budget (LRU and hints),
 * budget errors, pinning, asynchronous tokens, concurrent users, the two
 * engines giving the same bytes, compression only where it pays, and
 * corruption detected as SPW_ERR_CHECKSUM naming the chunk.
 */
#include "check_util.h"
#include "spill.h"
#include "test_spill_util.h"

#include <pthread.h>

static spw_ctx *mkctx(void)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

static spw_spill *mkstore(spw_ctx *ctx, const char *dir, uint64_t host, uint64_t nvme, int engine)
{
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.dir = dir;
    o.host_budget = host;
    o.nvme_budget = nvme;
    o.engine = engine;
    o.queue_depth = 4;
    o.request_size = 64 * 1024;
    o.compress = 2;      /* deterministic: no speed-based skipping */
    o.register_cuda = 0; /* CPU suite: the GPU suite covers registration */
    spw_spill *s = NULL;
    spw_status st = spw_spill_create(ctx, &s, &o);
    ck_assert_msg(st == SPW_OK, "%s", spw_ctx_last_error(ctx));
    return s;
}

#define OK(ctx, e)                                                                        \
    do {                                                                                  \
        spw_status ok_s_ = (e);                                                           \
        ck_assert_msg(ok_s_ == SPW_OK, "%s: %s (%s)", #e, spw_strerror(ok_s_),            \
                      spw_ctx_last_error(ctx));                                           \
    } while (0)

enum { NCH = 9 };
static const uint64_t sizes[NCH] = {1, 4095, 4097, 30001, 65536, 65539, 8, 12345, 100000};

/* Random workload over NCH chunks against a model; returns the digest of
 * the final contents (for comparing engines). */
static uint64_t workload(spw_ctx *ctx, spw_spill *s, uint64_t seed)
{
    spw_chunk c[NCH];
    uint8_t *model[NCH];
    uint64_t rng = seed;
    for (int i = 0; i < NCH; i++) {
        char name[32];
        snprintf(name, sizeof name, "t/col%d", i);
        OK(ctx, spw_spill_chunk_new(s, &c[i], sizes[i], i % 3 == 0 ? SPW_CHUNK_LDE : SPW_CHUNK_TRACE,
                                    SPW_TIER_NVME, name));
        model[i] = calloc(1, sizes[i]);
        ck_assert_int_eq(spw_spill_where(s, c[i]), SPW_TIER_NONE);
    }
    uint8_t *buf = malloc(100000);
    for (int step = 0; step < 300; step++) {
        int i = (int)(spw_test_rand(&rng) % NCH);
        uint64_t off = spw_test_rand(&rng) % sizes[i];
        uint64_t len = 1 + spw_test_rand(&rng) % (sizes[i] - off);
        if (spw_test_rand(&rng) % 8 == 0) off = 0, len = sizes[i];
        if (spw_test_rand(&rng) & 1) {
            int small = (int)(spw_test_rand(&rng) % 2); /* small values compress */
            for (uint64_t k = 0; k < len; k++)
                buf[k] = small ? ((k + off) % 8 < 2 ? (uint8_t)spw_test_rand(&rng) : 0)
                               : (uint8_t)spw_test_rand(&rng);
            OK(ctx, spw_spill_write(s, NULL, c[i], off, buf, len));
            memcpy(model[i] + off, buf, len);
        } else {
            OK(ctx, spw_spill_read(s, NULL, buf, c[i], off, len));
            ck_assert_msg(!memcmp(buf, model[i] + off, len),
                          "step %d: chunk %d bytes [%llu,+%llu) differ", step, i,
                          (unsigned long long)off, (unsigned long long)len);
        }
    }
    uint64_t digest = 0;
    for (int i = 0; i < NCH; i++) {
        OK(ctx, spw_spill_read(s, NULL, buf, c[i], 0, sizes[i]));
        ck_assert(!memcmp(buf, model[i], sizes[i]));
        for (uint64_t k = 0; k < sizes[i]; k++) digest = digest * 1099511628211ull + buf[k];
        OK(ctx, spw_spill_chunk_free(s, c[i]));
        free(model[i]);
    }
    free(buf);
    return digest;
}

START_TEST(roundtrip_tiers)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    /* host pool holds ~3 of the larger chunks: constant eviction */
    spw_spill *s = mkstore(ctx, dir, 256 * 1024, 4u << 20, SPW_IO_AUTO);
    workload(ctx, s, 1);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_uint_gt(st.evictions, 0);
    ck_assert_uint_gt(st.loads, 0);
    ck_assert_uint_gt(st.bytes_nvme_to_host, 0);
    ck_assert_uint_le(st.host_peak, st.host_budget);
    ck_assert_uint_le(st.host_budget, 256 * 1024);
    ck_assert_uint_le(st.nvme_peak, st.nvme_budget);
    ck_assert_uint_eq(st.host_in_use, 0);
    ck_assert_uint_eq(st.nvme_in_use, 0);
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(engines_same_bytes)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    spw_spill_stats a, b;
    spw_spill *s = mkstore(ctx, dir, 192 * 1024, 4u << 20, SPW_IO_URING);
    uint64_t d1 = workload(ctx, s, 5);
    spw_spill_get_stats(s, &a);
    spw_spill_free(s);
    s = mkstore(ctx, dir, 192 * 1024, 4u << 20, SPW_IO_THREADS);
    uint64_t d2 = workload(ctx, s, 5);
    spw_spill_get_stats(s, &b);
    spw_spill_free(s);
    ck_assert_uint_eq(d1, d2);
    ck_assert_int_eq(a.io.engine, SPW_IO_URING);
    ck_assert_int_eq(b.io.engine, SPW_IO_THREADS);
    /* the same chunks went to disk with the same encodings */
    ck_assert_uint_eq(a.bytes_host_to_nvme, b.bytes_host_to_nvme);
    ck_assert_uint_eq(a.bytes_nvme_to_host, b.bytes_nvme_to_host);
    ck_assert_uint_gt(a.bytes_host_to_nvme, 0);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(budget_errors)
{
    spw_ctx *ctx = mkctx();
    spw_spill *s = mkstore(ctx, NULL, 64 * 1024, 0, SPW_IO_AUTO);
    spw_chunk c[4], big;
    /* a chunk larger than the whole budget */
    ck_assert_int_eq(spw_spill_chunk_new(s, &big, 1 << 20, SPW_CHUNK_LDE, SPW_TIER_NVME, "huge"),
                     SPW_ERR_BUDGET);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "huge"));
    ck_assert_int_eq(spw_spill_chunk_new(s, &big, 8, SPW_CHUNK_LDE, SPW_TIER_VRAM, "v"),
                     SPW_ERR_UNSUPPORTED);
    /* host-only store: the 3rd 16 KiB chunk (+ header blocks) fits, the
     * 4th has nowhere to go */
    uint8_t buf[16384];
    memset(buf, 7, sizeof buf);
    spw_status st = SPW_OK;
    int i;
    for (i = 0; i < 4 && st == SPW_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        OK(ctx, spw_spill_chunk_new(s, &c[i], sizeof buf, SPW_CHUNK_OTHER, SPW_TIER_NVME, name));
        st = spw_spill_write(s, NULL, c[i], 0, buf, sizeof buf);
    }
    ck_assert_int_eq(st, SPW_ERR_BUDGET);
    ck_assert_int_eq(i, 4);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "c3"));
    spw_spill_stats ss;
    spw_spill_get_stats(s, &ss);
    ck_assert_uint_le(ss.host_peak, ss.host_budget);
    /* freeing one makes room */
    OK(ctx, spw_spill_chunk_free(s, c[0]));
    OK(ctx, spw_spill_write(s, NULL, c[3], 0, buf, sizeof buf));
    /* out of range */
    ck_assert_int_eq(spw_spill_read(s, NULL, buf, c[3], 10, sizeof buf), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_spill_read(s, NULL, buf, 999, 0, 1), SPW_ERR_INVALID_ARG);
    spw_spill_free(s);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(pinned_never_evicted)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    spw_spill *s = mkstore(ctx, dir, 3 * 20480, 1u << 20, SPW_IO_AUTO);
    spw_chunk p, q[3];
    uint8_t buf[16384];
    OK(ctx, spw_spill_chunk_new(s, &p, sizeof buf, SPW_CHUNK_LDE, SPW_TIER_NVME, "pinned"));
    void *ptr;
    OK(ctx, spw_spill_pin(s, &ptr, p));
    memset(ptr, 0xab, sizeof buf);
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 3; i++) {
            if (!r) OK(ctx, spw_spill_chunk_new(s, &q[i], sizeof buf, SPW_CHUNK_LDE, SPW_TIER_NVME, NULL));
            memset(buf, i + r, sizeof buf);
            spw_status st = spw_spill_write(s, NULL, q[i], 0, buf, sizeof buf);
            ck_assert_msg(st == SPW_OK, "%s", spw_ctx_last_error(ctx));
        }
    uint8_t ab[16384];
    memset(ab, 0xab, sizeof ab);
    ck_assert(!memcmp(ptr, ab, sizeof ab));
    ck_assert_int_eq(spw_spill_where(s, p), SPW_TIER_HOST);
    /* pinned: cannot be freed or dropped */
    ck_assert_int_eq(spw_spill_chunk_free(s, p), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_spill_writeback(s, NULL, p, 1), SPW_OK); /* queued */
    spw_spill_drain(s);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.async_errors, 1); /* the dropped write-back of a pinned chunk */
    OK(ctx, spw_spill_unpin(s, p, 1));
    ck_assert_int_eq(spw_spill_unpin(s, p, 0), SPW_ERR_INVALID_ARG);
    spw_token t;
    OK(ctx, spw_spill_writeback(s, &t, p, 1));
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, p), SPW_TIER_NVME);
    OK(ctx, spw_spill_read(s, NULL, buf, p, 0, sizeof buf));
    ck_assert(!memcmp(buf, ab, sizeof ab));
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(hints_and_lru)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    /* room for exactly 3 chunks of 16 KiB + 4 KiB header block */
    spw_spill *s = mkstore(ctx, dir, 3 * 20480, 1u << 20, SPW_IO_AUTO);
    spw_chunk c[5];
    uint8_t buf[16384];
    for (int i = 0; i < 5; i++)
        OK(ctx, spw_spill_chunk_new(s, &c[i], sizeof buf, SPW_CHUNK_LDE, SPW_TIER_NVME, NULL));
    for (int i = 0; i < 3; i++) OK(ctx, spw_spill_write(s, NULL, c[i], 0, buf, sizeof buf));
    /* LRU: writing c3 evicts c0 (oldest) */
    OK(ctx, spw_spill_write(s, NULL, c[3], 0, buf, sizeof buf));
    ck_assert_int_eq(spw_spill_where(s, c[0]), SPW_TIER_NVME);
    ck_assert_int_eq(spw_spill_where(s, c[1]), SPW_TIER_HOST);
    /* hint: c1 needed next, so c2 (younger, unhinted) goes instead */
    OK(ctx, spw_spill_hint(s, &c[1], 1));
    OK(ctx, spw_spill_write(s, NULL, c[4], 0, buf, sizeof buf));
    ck_assert_int_eq(spw_spill_where(s, c[1]), SPW_TIER_HOST);
    ck_assert_int_eq(spw_spill_where(s, c[2]), SPW_TIER_NVME);
    /* async prefetch brings c0 back */
    spw_token t;
    OK(ctx, spw_spill_hint(s, NULL, 0));
    OK(ctx, spw_spill_prefetch(s, &t, c[0]));
    OK(ctx, spw_spill_wait(s, t));
    ck_assert_int_eq(spw_spill_where(s, c[0]), SPW_TIER_HOST);
    ck_assert_int_eq(spw_spill_wait(s, t), SPW_ERR_INVALID_ARG); /* consumed */
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(async_tokens)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    spw_spill *s = mkstore(ctx, dir, 128 * 1024, 2u << 20, SPW_IO_AUTO);
    enum { N = 12, SZ = 20000 };
    spw_chunk c[N];
    static uint8_t src[N][SZ], dst[N][SZ];
    spw_token t[N];
    uint64_t rng = 77;
    for (int i = 0; i < N; i++) {
        OK(ctx, spw_spill_chunk_new(s, &c[i], SZ, SPW_CHUNK_TRACE, SPW_TIER_NVME, NULL));
        for (int k = 0; k < SZ; k++) src[i][k] = (uint8_t)spw_test_rand(&rng);
        OK(ctx, spw_spill_write(s, &t[i], c[i], 0, src[i], SZ));
    }
    for (int i = 0; i < N; i++) OK(ctx, spw_spill_wait(s, t[i]));
    for (int i = N - 1; i >= 0; i--) OK(ctx, spw_spill_read(s, &t[i], dst[i], c[i], 0, SZ));
    for (int i = 0; i < N; i++) {
        OK(ctx, spw_spill_wait(s, t[i]));
        ck_assert(!memcmp(src[i], dst[i], SZ));
    }
    spw_token bad;
    ck_assert_int_eq(spw_spill_read(s, &bad, dst[0], c[0], 1, SZ), SPW_ERR_INVALID_ARG);
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

/* ---- concurrent users ------------------------------------------------------ */

typedef struct user {
    spw_ctx *ctx;
    spw_spill *s;
    spw_chunk own[3], shared;
    int id, failed;
} user;

static void *user_main(void *arg)
{
    user *u = arg;
    enum { SZ = 12000 };
    uint8_t model[3][SZ], buf[SZ];
    memset(model, 0, sizeof model);
    uint64_t rng = 1000 + u->id;
    for (int step = 0; step < 200 && !u->failed; step++) {
        int i = (int)(spw_test_rand(&rng) % 4);
        uint64_t off = spw_test_rand(&rng) % SZ, len = 1 + spw_test_rand(&rng) % (SZ - off);
        if (i == 3) { /* the shared read-only chunk: byte k = k * 13 */
            void *p;
            if (spw_spill_pin(u->s, &p, u->shared)) { u->failed = 1; break; }
            for (uint64_t k = 0; k < SZ; k++)
                if (((uint8_t *)p)[k] != (uint8_t)(k * 13)) u->failed = 2;
            spw_spill_unpin(u->s, u->shared, 0);
        } else if (spw_test_rand(&rng) & 1) {
            for (uint64_t k = 0; k < len; k++) buf[k] = (uint8_t)spw_test_rand(&rng);
            if (spw_spill_write(u->s, NULL, u->own[i], off, buf, len)) u->failed = 3;
            memcpy(model[i] + off, buf, len);
        } else {
            if (spw_spill_read(u->s, NULL, buf, u->own[i], off, len)) u->failed = 4;
            if (memcmp(buf, model[i] + off, len)) u->failed = 5;
        }
    }
    return NULL;
}

START_TEST(concurrent_users)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    /* 13 chunks of ~16 KiB in the pool, room for 7 */
    spw_spill *s = mkstore(ctx, dir, 7 * 16384 + 8192, 2u << 20, SPW_IO_AUTO);
    enum { U = 4 };
    user u[U];
    pthread_t th[U];
    spw_chunk shared;
    uint8_t sh[12000];
    for (int k = 0; k < 12000; k++) sh[k] = (uint8_t)(k * 13);
    OK(ctx, spw_spill_chunk_new(s, &shared, sizeof sh, SPW_CHUNK_TRACE, SPW_TIER_NVME, "shared"));
    OK(ctx, spw_spill_write(s, NULL, shared, 0, sh, sizeof sh));
    for (int i = 0; i < U; i++) {
        u[i] = (user){.ctx = ctx, .s = s, .shared = shared, .id = i};
        for (int j = 0; j < 3; j++)
            OK(ctx, spw_spill_chunk_new(s, &u[i].own[j], 12000, SPW_CHUNK_OTHER, SPW_TIER_NVME, NULL));
    }
    for (int i = 0; i < U; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, user_main, &u[i]), 0);
    for (int i = 0; i < U; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < U; i++) ck_assert_msg(!u[i].failed, "user %d failed (%d): %s", i, u[i].failed,
                                             spw_ctx_last_error(ctx));
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_uint_gt(st.evictions, 0);
    ck_assert_uint_le(st.host_peak, st.host_budget);
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

/* ---- compression and integrity ----------------------------------------------- */

START_TEST(compression_where_it_pays)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    spw_spill *s = mkstore(ctx, dir, 64 * 1024, 2u << 20, SPW_IO_AUTO);
    enum { N = 4096 };
    static uint64_t v[N], back[N];
    for (int i = 0; i < N; i++) v[i] = (uint64_t)(i % 97); /* small trace values */
    spw_chunk tr, lde;
    OK(ctx, spw_spill_chunk_new(s, &tr, sizeof v, SPW_CHUNK_TRACE, SPW_TIER_NVME, "trace"));
    OK(ctx, spw_spill_chunk_new(s, &lde, sizeof v, SPW_CHUNK_LDE, SPW_TIER_NVME, "lde"));
    OK(ctx, spw_spill_write(s, NULL, tr, 0, v, sizeof v));
    OK(ctx, spw_spill_writeback(s, NULL, tr, 1));
    spw_spill_drain(s);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.chunks_compressed, 1);
    ck_assert_uint_lt(st.bytes_host_to_nvme, sizeof v / 2);
    uint64_t before = st.bytes_host_to_nvme;
    OK(ctx, spw_spill_write(s, NULL, lde, 0, v, sizeof v)); /* same bytes, LDE: raw */
    OK(ctx, spw_spill_writeback(s, NULL, lde, 1));
    spw_spill_drain(s);
    spw_spill_get_stats(s, &st);
    ck_assert_uint_eq(st.chunks_compressed, 1);
    ck_assert_uint_ge(st.bytes_host_to_nvme - before, sizeof v);
    OK(ctx, spw_spill_read(s, NULL, back, tr, 0, sizeof v));
    ck_assert(!memcmp(back, v, sizeof v));
    memset(back, 0, sizeof back);
    OK(ctx, spw_spill_read(s, NULL, back, lde, 0, sizeof v));
    ck_assert(!memcmp(back, v, sizeof v));
    spw_spill_free(s);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

#ifdef SPW_FAULT_INJECTION
START_TEST(corruption_detected)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    static const int kinds[2] = {SPW_CHUNK_LDE, SPW_CHUNK_TRACE};
    for (int k = 0; k < 2; k++) {
        spw_spill_opts o;
        spw_spill_opts_default(&o);
        o.dir = dir;
        o.host_budget = 64 * 1024;
        o.nvme_budget = 1u << 20;
        o.fault_n = 2; /* op 1 = fallocate, op 2 = the chunk's write */
        o.fault_kind = SPW_FAULT_CORRUPT;
        o.register_cuda = 0;
        spw_spill *s = NULL;
        OK(ctx, spw_spill_create(ctx, &s, &o));
        spw_chunk c;
        uint64_t v[2048], back[2048];
        for (int i = 0; i < 2048; i++) v[i] = (uint64_t)i * 3;
        OK(ctx, spw_spill_chunk_new(s, &c, sizeof v, (spw_chunk_kind)kinds[k], SPW_TIER_NVME, "victim"));
        OK(ctx, spw_spill_write(s, NULL, c, 0, v, sizeof v));
        spw_token t;
        OK(ctx, spw_spill_writeback(s, &t, c, 1));
        OK(ctx, spw_spill_wait(s, t));
        spw_status st = spw_spill_read(s, NULL, back, c, 0, sizeof v);
        ck_assert_int_eq(st, SPW_ERR_CHECKSUM);
        ck_assert_msg(strstr(spw_ctx_last_error(ctx), "'victim'"), "%s", spw_ctx_last_error(ctx));
        spw_spill_free(s);
    }
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("spill_store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, roundtrip_tiers);
    tcase_add_test(tc, engines_same_bytes);
    tcase_add_test(tc, budget_errors);
    tcase_add_test(tc, pinned_never_evicted);
    tcase_add_test(tc, hints_and_lru);
    tcase_add_test(tc, async_tokens);
    tcase_add_test(tc, concurrent_users);
    tcase_add_test(tc, compression_where_it_pays);
#ifdef SPW_FAULT_INJECTION
    tcase_add_test(tc, corruption_detected);
#endif
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
