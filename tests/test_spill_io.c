/*
 * test_spill_io.c - the pieces under the column store: the range allocator
 * against a byte-map model, the codec against plain-loop references, the
 * I/O engines (io_uring and the thread pool) on random data at many
 * segment shapes, short transfers and EAGAIN resubmission, and the
 * bad-directory errors.
 */
#include "check_util.h"
#include "spill.h"
#include "test_spill_util.h"

#include <sys/stat.h>
#include <sys/vfs.h>

static spw_ctx *mkctx(void)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

/* ---- range allocator vs a byte map --------------------------------------- */

/* _i = 1: segments of 512 bytes (the pool's page-locked segments): no
 * range of <= 512 bytes may cross a multiple of 512. */
START_TEST(ranges_vs_model)
{
    enum { TOTAL = 4096, NA = 64 };
    static uint8_t map[TOTAL];
    memset(map, 0, sizeof map);
    const uint64_t seg = _i ? 512 : 0;
    spw_ranges r;
    ck_assert_int_eq(spw_ranges_init(&r, TOTAL), SPW_OK);
    r.seg = seg;
    uint64_t off[NA] = {0}, len[NA] = {0};
    uint64_t rng = 7 + (uint64_t)_i, used = 0;
    for (int step = 0; step < 4000; step++) {
        int i = (int)(spw_test_rand(&rng) % NA);
        if (len[i]) {
            spw_ranges_free(&r, off[i], len[i]);
            memset(map + off[i], 0, len[i]);
            used -= len[i];
            len[i] = 0;
            continue;
        }
        uint64_t want = 1 + spw_test_rand(&rng) % (seg ? 600 : 300);
        uint64_t align = 1u << (spw_test_rand(&rng) % 5);
        /* reference first fit: lowest aligned start with `want` free bytes */
        int64_t ref = -1;
        for (uint64_t s = 0; s + want <= TOTAL && ref < 0; s += align) {
            if (seg && want <= seg && s / seg != (s + want - 1) / seg) continue;
            uint64_t k = 0;
            while (k < want && !map[s + k]) k++;
            if (k == want) ref = (int64_t)s;
        }
        uint64_t o;
        int rc = spw_ranges_alloc(&r, &o, want, align);
        if (ref < 0) {
            ck_assert_msg(rc != 0, "step %d: allocator found room the model lacks", step);
            continue;
        }
        ck_assert_msg(rc == 0, "step %d: %llu bytes align %llu not found (model: %lld)", step,
                      (unsigned long long)want, (unsigned long long)align, (long long)ref);
        ck_assert_msg(o == (uint64_t)ref, "step %d: got %llu, first fit is %lld", step,
                      (unsigned long long)o, (long long)ref);
        for (uint64_t k = 0; k < want; k++)
            if (map[o + k]) ck_abort_msg("step %d: [%llu] already allocated", step, (unsigned long long)(o + k));
        memset(map + o, 1, want);
        off[i] = o;
        len[i] = want;
        used += want;
        ck_assert_uint_eq(r.used, used);
    }
    ck_assert_uint_le(r.peak, TOTAL);
    spw_ranges_destroy(&r);
}
END_TEST

/* ---- codec ------------------------------------------------------------------ */

START_TEST(shuffle_narrow_reference)
{
    enum { N = 1001 };
    uint64_t v[N], back[N];
    uint8_t sh[8 * N], nw[8 * N];
    uint64_t rng = 3;
    for (int i = 0; i < N; i++) v[i] = spw_test_rand(&rng) >> (spw_test_rand(&rng) % 64);
    spw_shuffle8(sh, (const uint8_t *)v, N);
    for (int i = 0; i < N; i++) /* reference: byte b of word i via a division */
        for (int b = 0; b < 8; b++)
            if (sh[b * N + i] != (v[i] / (1ull << (8 * b))) % 256) ck_abort_msg("shuffle %d/%d", i, b);
    spw_unshuffle8((uint8_t *)back, sh, N);
    ck_assert_int_eq(memcmp(back, v, sizeof v), 0);
    for (unsigned w = 1; w <= 4; w *= 2) {
        uint64_t lim = 1ull << (8 * w);
        for (int i = 0; i < N; i++) v[i] = spw_test_rand(&rng) % lim;
        v[N / 2] = lim - 1;
        ck_assert_uint_eq(spw_narrow_width(v, N), w);
        spw_narrow(nw, v, N, w);
        for (int i = 0; i < N; i++) {
            uint64_t x = 0;
            for (unsigned b = 0; b < w; b++) x += (uint64_t)nw[i * w + b] << (8 * b);
            if (x != v[i]) ck_abort_msg("narrow w=%u word %d", w, i);
        }
        spw_widen(back, nw, N, w);
        ck_assert_int_eq(memcmp(back, v, sizeof v), 0);
    }
    v[3] = 1ull << 40;
    ck_assert_uint_eq(spw_narrow_width(v, N), 8);
}
END_TEST

static void codec_roundtrip(spw_ctx *ctx, const void *src, size_t len, int word, uint32_t *codec_out,
                            size_t *stored_out)
{
    uint8_t *dst = malloc(spw_codec_bound(len)), *tmp = malloc(len + 1), *back = malloc(len + 1);
    size_t stored;
    uint32_t codec, param;
    spw_codec_encode(dst, &stored, &codec, &param, src, len, word, tmp);
    const void *from = codec == SPW_CODEC_RAW ? src : dst;
    ck_assert_int_eq(spw_codec_decode(ctx, back, len, from, stored, codec, param, tmp), SPW_OK);
    ck_assert_int_eq(memcmp(back, src, len), 0);
    if (codec != SPW_CODEC_RAW) ck_assert_uint_le(stored, len - len / 10);
    *codec_out = codec;
    *stored_out = stored;
    free(dst);
    free(tmp);
    free(back);
}

START_TEST(codec_choices)
{
    spw_ctx *ctx = mkctx();
    enum { N = 8192 };
    uint64_t *v = malloc(N * 8);
    uint64_t rng = 11;
    uint32_t codec;
    size_t stored;
    for (int i = 0; i < N; i++) v[i] = spw_test_rand(&rng) % 200; /* bytes */
    codec_roundtrip(ctx, v, N * 8, 1, &codec, &stored);
    ck_assert_uint_eq(codec, SPW_CODEC_NARROW_ZSTD);
    for (int i = 0; i < N; i++) v[i] = (spw_test_rand(&rng) % 1000) << 40 | 0xffff; /* shuffle */
    codec_roundtrip(ctx, v, N * 8, 1, &codec, &stored);
    ck_assert_uint_eq(codec, SPW_CODEC_SHUF_ZSTD);
    for (int i = 0; i < N; i++) v[i] = spw_test_rand(&rng) % SPW_GOLDILOCKS_P; /* random: raw */
    codec_roundtrip(ctx, v, N * 8, 1, &codec, &stored);
    ck_assert_uint_eq(codec, SPW_CODEC_RAW);
    memset(v, 'a', N * 8); /* byte data */
    codec_roundtrip(ctx, (uint8_t *)v + 1, N * 8 - 5, 0, &codec, &stored);
    ck_assert_uint_eq(codec, SPW_CODEC_ZSTD);
    codec_roundtrip(ctx, v, 7, 1, &codec, &stored); /* tiny: raw */
    ck_assert_uint_eq(codec, SPW_CODEC_RAW);
    /* garbage in a compressed payload is an error, not a wrong value */
    uint8_t junk[64] = {1, 2, 3};
    ck_assert_int_eq(spw_codec_decode(ctx, v, 800, junk, sizeof junk, SPW_CODEC_ZSTD, 0, v + 200),
                     SPW_ERR_CHECKSUM);
    free(v);
    spw_ctx_free(ctx);
}
END_TEST

/* ---- engines ------------------------------------------------------------------ */

static void *amalloc(size_t n)
{
    void *p = NULL;
    ck_assert_int_eq(posix_memalign(&p, 4096, n), 0);
    return p;
}

/* Writes random data through `engine` in segments of odd block counts,
 * reads it back in a different segmentation, compares. */
static void engine_roundtrip(int engine, uint64_t fault_n, int fault_kind, spw_io_stats *st_out)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    ck_assert_ptr_nonnull(dir);
    const uint64_t total = 3u << 20;
    spw_io_opts o = {.queue_depth = 4, .request_size = 96 * 1024, .engine = engine,
                     .fault_n = fault_n, .fault_kind = fault_kind};
    spw_io *io = NULL;
    spw_status s = spw_io_open(ctx, &io, dir, total, &o);
    ck_assert_msg(s == SPW_OK, "%s", spw_ctx_last_error(ctx));
    uint32_t a = spw_io_align(io);
    uint8_t *src = amalloc(total), *dst = amalloc(total);
    uint64_t rng = 99 + engine;
    for (uint64_t i = 0; i < total / 8; i++) ((uint64_t *)src)[i] = spw_test_rand(&rng);
    memset(dst, 0, total);
    spw_io_seg segs[64];
    size_t n = 0;
    uint64_t pos = 0;
    while (pos < total && n < 63) {
        uint64_t len = a * (1 + spw_test_rand(&rng) % 77);
        if (len > total - pos) len = total - pos;
        segs[n++] = (spw_io_seg){src + pos, len, pos};
        pos += len;
    }
    if (pos < total) segs[n++] = (spw_io_seg){src + pos, total - pos, pos};
    s = spw_io_rw(io, 1, segs, n);
    ck_assert_msg(s == SPW_OK, "%s", spw_ctx_last_error(ctx));
    /* read back: one big segment (split into requests by the engine) */
    spw_io_seg all = {dst, total, 0};
    s = spw_io_rw(io, 0, &all, 1);
    ck_assert_msg(s == SPW_OK, "%s", spw_ctx_last_error(ctx));
    if (memcmp(src, dst, total)) {
        uint64_t i = 0;
        while (src[i] == dst[i]) i++;
        ck_abort_msg("engine %s: byte %llu differs", spw_io_engine_name(engine), (unsigned long long)i);
    }
    /* misaligned segments are refused, not attempted */
    spw_io_seg bad = {dst, a + 1, 0};
    ck_assert_int_eq(spw_io_rw(io, 0, &bad, 1), SPW_ERR_INTERNAL);
    spw_io_get_stats(io, st_out);
    ck_assert_uint_eq(st_out->engine, (unsigned)engine);
    ck_assert_uint_ge(st_out->bytes_written, total);
    ck_assert_uint_ge(st_out->bytes_read, total);
    spw_io_close(io);
    free(src);
    free(dst);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}

START_TEST(engine_uring)
{
    spw_io_stats st;
    engine_roundtrip(SPW_IO_URING, 0, 0, &st);
    ck_assert_int_eq(st.reg_files, 1);
    ck_assert_uint_ge(st.align, 512);
}
END_TEST

START_TEST(engine_threads)
{
    spw_io_stats st;
    engine_roundtrip(SPW_IO_THREADS, 0, 0, &st);
}
END_TEST

#ifdef SPW_FAULT_INJECTION
START_TEST(engine_short_and_eagain)
{
    static const int engines[2] = {SPW_IO_URING, SPW_IO_THREADS};
    for (int e = 0; e < 2; e++) {
        spw_io_stats st;
        for (uint64_t n = 2; n < 12; n += 3) {
            engine_roundtrip(engines[e], n, SPW_FAULT_SHORT, &st);
            ck_assert_uint_ge(st.short_resubmits + st.retries, 1);
            engine_roundtrip(engines[e], n, SPW_FAULT_EAGAIN, &st);
            ck_assert_uint_ge(st.retries, 1);
        }
    }
}
END_TEST
#endif

/* ---- bad directories -------------------------------------------------------- */

static void expect_open_fail(const char *dir, uint64_t reserve, spw_status want)
{
    spw_ctx *ctx = mkctx();
    spw_io *io = NULL;
    spw_status s = spw_io_open(ctx, &io, dir, reserve, NULL);
    ck_assert_msg(s == want, "%s: got %s (%s)", dir, spw_strerror(s), spw_ctx_last_error(ctx));
    ck_assert_ptr_null(io);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), dir) != NULL, "message does not name %s: %s", dir,
                  spw_ctx_last_error(ctx));
    spw_ctx_free(ctx);
}

START_TEST(bad_dirs)
{
    char *dir = spill_test_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/missing", dir);
    expect_open_fail(path, 1 << 20, SPW_ERR_IO);
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    expect_open_fail(path, 1 << 20, SPW_ERR_IO);
    unlink(path);
    /* 8 TiB is more than this disk has: refused at reservation time */
    expect_open_fail(dir, 8ull << 40, SPW_ERR_NOSPACE);
    if (geteuid() != 0) { /* root ignores permission bits */
        snprintf(path, sizeof path, "%s/ro", dir);
        ck_assert_int_eq(mkdir(path, 0500), 0);
        expect_open_fail(path, 1 << 20, SPW_ERR_IO);
        rmdir(path);
    }
    /* the store's up-front check gives the same answers */
    spw_ctx *ctx = mkctx();
    ck_assert_int_eq(spw_spill_check_dir(ctx, dir, 1 << 20), SPW_OK);
    ck_assert_int_eq(spw_spill_check_dir(ctx, dir, 8ull << 40), SPW_ERR_NOSPACE);
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_int_eq(spw_spill_check_dir(ctx, path, 1 << 20), SPW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), path));
    spw_ctx_free(ctx);
    ck_assert_int_eq(spill_dir_done(dir), 0);
}
END_TEST

/* tmpfs: decided behaviour is buffered or direct I/O with a warning; the
 * data must still round-trip and nothing may be left behind. */
START_TEST(tmpfs_dir)
{
    struct statfs sf;
    if (statfs("/dev/shm", &sf) || (unsigned long)sf.f_type != 0x01021994) return;
    char tmpl[] = "/dev/shm/spw-spill-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    spw_ctx *ctx = mkctx();
    spw_io *io = NULL;
    ck_assert_int_eq(spw_io_open(ctx, &io, tmpl, 1 << 20, NULL), SPW_OK);
    spw_io_stats st;
    spw_io_get_stats(io, &st);
    ck_assert_int_eq(st.tmpfs, 1);
    uint8_t *b = amalloc(1 << 16), *c = amalloc(1 << 16);
    for (int i = 0; i < 1 << 16; i++) b[i] = (uint8_t)(i * 7);
    spw_io_seg w = {b, 1 << 16, 8192}, r = {c, 1 << 16, 8192};
    ck_assert_int_eq(spw_io_rw(io, 1, &w, 1), SPW_OK);
    ck_assert_int_eq(spw_io_rw(io, 0, &r, 1), SPW_OK);
    ck_assert_int_eq(memcmp(b, c, 1 << 16), 0);
    spw_io_close(io);
    /* require_direct refuses when the file system has no O_DIRECT */
    spw_io_opts o = {.require_direct = 1};
    spw_status s = spw_io_open(ctx, &io, tmpl, 1 << 20, &o);
    if (!st.direct) ck_assert_int_eq(s, SPW_ERR_UNSUPPORTED);
    else spw_io_close(io);
    free(b);
    free(c);
    ck_assert_int_eq(spill_dir_entries(tmpl), 0);
    rmdir(tmpl);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spill_io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, ranges_vs_model, 0, 2);
    tcase_add_test(tc, shuffle_narrow_reference);
    tcase_add_test(tc, codec_choices);
    tcase_add_test(tc, engine_uring);
    tcase_add_test(tc, engine_threads);
#ifdef SPW_FAULT_INJECTION
    tcase_add_test(tc, engine_short_and_eagain);
#endif
    tcase_add_test(tc, bad_dirs);
    tcase_add_test(tc, tmpfs_dir);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
