/*
 * test_blake3.c - BLAKE3 against independent references: the b3sum tool
 * (every length 0..4096 and chunk/block boundaries up to 64 KiB, one b3sum
 * process for all files), the official published test vectors, and
 * internal consistency (incremental = one-shot, many = one at a time,
 * chunk_cv/parent_cv trees = the standard digest, AVX2 = portable).
 */
#include "check_util.h"
#include "blake3.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void to_hex(char out[65], const uint8_t d[32])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = 0;
}

static uint8_t *rand_bytes(size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(spw_test_rand(&seed) >> 56);
    return b;
}

/* Incremental hash of `in` fed byte-ranges of pseudo-random sizes. */
static void hash_pieces(uint8_t out[32], const uint8_t *in, size_t len, uint64_t seed)
{
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    size_t at = 0;
    while (at < len) {
        uint64_t r = spw_test_rand(&seed);
        size_t piece = (r & 3) == 0 ? (size_t)(r >> 8) % 5000 : (size_t)(r >> 8) % 130;
        if (piece > len - at) piece = len - at;
        spw_blake3_update(&h, in + at, piece);
        at += piece;
    }
    spw_blake3_final(&h, out);
}

/* ---- b3sum ---- */

#define MAXLEN 65536
#define MAXLEN_BIG ((1 << 20) + 1024)

static size_t b3sum_lengths(size_t *lens)
{
    size_t n = 0;
    for (size_t l = 0; l <= 4096; l++) lens[n++] = l;
    for (size_t k = 5; k <= 64; k++) {
        lens[n++] = k * 1024 - 1;
        lens[n++] = k * 1024;
        lens[n++] = k * 1024 + 1;
    }
    /* block boundaries inside later chunks, odd group sizes */
    for (size_t k = 65; k * 64 + 1 <= MAXLEN; k += 97) {
        lens[n++] = k * 64 - 1;
        lens[n++] = k * 64 + 1;
    }
    lens[n++] = 8 * 1024 + 64 * 7 + 13;
    lens[n++] = 17 * 1024 + 1000;
    lens[n++] = 33 * 1024 + 5;
    /* beyond 64 chunks: whole 64-chunk subtrees hashed in lanes */
    lens[n++] = 65 * 1024 + 1;
    lens[n++] = 128 * 1024 + 1;
    lens[n++] = 200 * 1024 + 17;
    lens[n++] = 1 << 20;
    lens[n++] = MAXLEN_BIG;
    return n;
}

START_TEST(test_b3sum)
{
    const char *b3 = getenv("B3SUM");
    if (!b3 || !*b3) {
        fprintf(stderr, "test_b3sum: B3SUM is empty (b3sum not found at configure time): "
                        "skipping the b3sum comparison\n");
        return;
    }
    size_t lens[6000];
    size_t n = b3sum_lengths(lens);
    uint8_t *data = rand_bytes(MAXLEN_BIG, 0xb3b3);
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/spw_b3_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));

    size_t cmdcap = strlen(dir) + strlen(b3) + 64 + n * 8;
    char *cmd = malloc(cmdcap);
    ck_assert_ptr_nonnull(cmd);
    int at = snprintf(cmd, cmdcap, "cd '%s' && '%s' --no-names", dir, b3);
    for (size_t i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%zu", dir, i);
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot write %s", path);
        ck_assert_uint_eq(fwrite(data, 1, lens[i], f), lens[i]);
        fclose(f);
        at += snprintf(cmd + at, cmdcap - at, " %zu", i);
    }
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen b3sum failed");
    char line[256];
    size_t got = 0;
    while (fgets(line, sizeof line, p)) {
        ck_assert_msg(got < n, "b3sum printed too many lines");
        line[strcspn(line, "\r\n")] = 0;
        size_t len = lens[got];
        for (int simd = 0; simd < 2; simd++) {
            spw_blake3_set_simd(simd);
            uint8_t d1[32], d2[32];
            char h1[65], h2[65];
            spw_blake3(d1, data, len);
            hash_pieces(d2, data, len, len);
            to_hex(h1, d1);
            to_hex(h2, d2);
            ck_assert_msg(strcmp(h1, line) == 0, "len %zu (%s) one-shot %s, b3sum %s", len,
                          spw_blake3_impl_name(), h1, line);
            ck_assert_msg(strcmp(h2, line) == 0, "len %zu (%s) incremental %s, b3sum %s", len,
                          spw_blake3_impl_name(), h2, line);
        }
        got++;
    }
    int rc = pclose(p);
    ck_assert_msg(rc == 0, "b3sum exited with status %d", rc);
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%zu", dir, i);
        unlink(path);
    }
    rmdir(dir);
    free(cmd);
    free(data);
}
END_TEST

/* ---- published test vectors ---- */

START_TEST(test_official_vectors)
{
    const char *dd = getenv("SPW_TEST_DATA");
    ck_assert_msg(dd && *dd, "SPW_TEST_DATA is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/blake3_vectors.txt", dd);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        size_t len;
        char want[129];
        ck_assert_msg(sscanf(line, "%zu %128s", &len, want) == 2, "bad line: %s", line);
        ck_assert_uint_eq(strlen(want), 64);
        uint8_t *in = malloc(len + 1);
        for (size_t i = 0; i < len; i++) in[i] = (uint8_t)(i % 251);
        for (int simd = 0; simd < 2; simd++) {
            spw_blake3_set_simd(simd);
            uint8_t d[32];
            char h[65];
            spw_blake3(d, in, len);
            to_hex(h, d);
            ck_assert_msg(strcmp(h, want) == 0, "vector len %zu (%s): got %s want %s", len,
                          spw_blake3_impl_name(), h, want);
            hash_pieces(d, in, len, 7 + len);
            to_hex(h, d);
            ck_assert_msg(strcmp(h, want) == 0, "vector len %zu incremental (%s): got %s", len,
                          spw_blake3_impl_name(), h);
        }
        free(in);
        count++;
    }
    fclose(f);
    ck_assert_int_ge(count, 20);
}
END_TEST

/* ---- internal consistency ---- */

START_TEST(test_incremental)
{
    static const size_t lens[] = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 4097,
                                  8191, 8192, 8193, 16385, 17 * 1024, 40000, 100000};
    uint8_t *data = rand_bytes(100000, 11);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t ref[32], d[32];
        spw_blake3_set_simd(0);
        spw_blake3(ref, data, lens[i]);
        for (int simd = 0; simd < 2; simd++) {
            spw_blake3_set_simd(simd);
            for (uint64_t seed = 0; seed < 4; seed++) {
                hash_pieces(d, data, lens[i], seed * 1000 + i);
                ck_assert_msg(memcmp(d, ref, 32) == 0, "len %zu seed %llu (%s)", lens[i],
                              (unsigned long long)seed, spw_blake3_impl_name());
            }
            /* one byte at a time */
            if (lens[i] <= 8193) {
                spw_blake3_hasher h;
                spw_blake3_init(&h);
                for (size_t k = 0; k < lens[i]; k++) spw_blake3_update(&h, data + k, 1);
                spw_blake3_final(&h, d);
                ck_assert_msg(memcmp(d, ref, 32) == 0, "len %zu bytewise", lens[i]);
            }
            spw_blake3(d, data, lens[i]);
            ck_assert_msg(memcmp(d, ref, 32) == 0, "len %zu: %s != portable", lens[i],
                          spw_blake3_impl_name());
        }
    }
    free(data);
}
END_TEST

START_TEST(test_many)
{
    static const size_t lens[] = {0, 1, 63, 64, 65, 512, 1000, 1024, 1025, 2048, 3000, 8197};
    static const size_t counts[] = {1, 3, 7, 8, 9, 16, 17, 33, 100};
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 3;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    uint8_t *data = rand_bytes(100 * 8197, 5);
    uint8_t *ref = malloc(100 * 32), *got = malloc(101 * 32);
    for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++) {
        size_t len = lens[a];
        spw_blake3_set_simd(0);
        for (size_t i = 0; i < 100; i++) spw_blake3(ref + 32 * i, data + i * len, len);
        for (size_t b = 0; b < sizeof counts / sizeof counts[0]; b++) {
            size_t n = counts[b];
            for (int simd = 0; simd < 2; simd++) {
                spw_blake3_set_simd(simd);
                for (int mt = 0; mt < 2; mt++) {
                    memset(got, 0xee, 101 * 32);
                    spw_blake3_many(mt ? ctx : NULL, got, data, n, len);
                    for (size_t i = 0; i < n; i++)
                        ck_assert_msg(memcmp(got + 32 * i, ref + 32 * i, 32) == 0,
                                      "many: len %zu n %zu msg %zu (%s, %s)", len, n, i,
                                      spw_blake3_impl_name(), mt ? "threads" : "1 thread");
                    ck_assert_uint_eq(got[32 * n], 0xee); /* wrote nothing past n */
                }
            }
        }
    }
    /* many large enough to fan out to threads */
    size_t n = 4096, len = 192;
    uint8_t *big = rand_bytes(n * len, 9);
    uint8_t *r2 = malloc(n * 32), *g2 = malloc(n * 32);
    spw_blake3_set_simd(0);
    for (size_t i = 0; i < n; i++) spw_blake3(r2 + 32 * i, big + i * len, len);
    spw_blake3_set_simd(1);
    spw_blake3_many(ctx, g2, big, n, len);
    ck_assert_msg(memcmp(r2, g2, n * 32) == 0, "threaded many differs");
    free(big);
    free(r2);
    free(g2);
    free(data);
    free(ref);
    free(got);
    spw_ctx_free(ctx);
}
END_TEST

/* Left-balanced tree of the standard BLAKE3 over n >= 1 chunk cvs: the left
 * subtree holds the largest power of two of chunks that is < n. */
static void test_tree(uint32_t out[8], uint32_t (*cvs)[8], size_t n, int root)
{
    if (n == 1) {
        memcpy(out, cvs[0], 32);
        return;
    }
    size_t left = 1;
    while (2 * left < n) left *= 2;
    uint32_t l[8], r[8];
    test_tree(l, cvs, left, 0);
    test_tree(r, cvs + left, n - left, 0);
    spw_blake3_parent_cv(out, l, r, root);
}

static void cv_bytes(uint8_t out[32], const uint32_t cv[8])
{
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++) out[4 * i + k] = (uint8_t)(cv[i] >> (8 * k));
}

START_TEST(test_chunk_parent)
{
    uint8_t *data = rand_bytes(20 * 1024, 3);
    /* single chunk, root */
    for (size_t len = 0; len <= 1024; len += 37) {
        uint32_t cv[8];
        uint8_t d[32], ref[32];
        spw_blake3_chunk_cv(cv, data, len, 0, 1);
        cv_bytes(d, cv);
        spw_blake3(ref, data, len);
        ck_assert_msg(memcmp(d, ref, 32) == 0, "single chunk len %zu", len);
    }
    /* multi-chunk messages, including the brief's row groups of 128 u64 */
    static const size_t lens[] = {1025, 2048, 2049, 3 * 1024, 3 * 1024 + 8, 5 * 1024 - 1,
                                  8 * 1024, 9 * 1024 + 500, 13 * 1024, 20 * 1024};
    for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++) {
        size_t len = lens[a], n = (len + 1023) / 1024;
        uint32_t cvs[32][8], root[8];
        for (size_t k = 0; k < n; k++) {
            size_t cl = k + 1 < n ? 1024 : len - 1024 * k;
            spw_blake3_chunk_cv(cvs[k], data + 1024 * k, cl, k, 0);
        }
        test_tree(root, cvs, n, 1);
        uint8_t d[32], ref[32];
        cv_bytes(d, root);
        spw_blake3(ref, data, len);
        ck_assert_msg(memcmp(d, ref, 32) == 0, "chunk/parent tree differs for len %zu", len);
        /* a non-root chunk cv must differ from the root form */
        uint32_t r1[8];
        spw_blake3_chunk_cv(r1, data, 1024, 0, 1);
        ck_assert(memcmp(r1, cvs[0], 32) != 0);
    }
    /* chunk_cv_many = chunk_cv one at a time, strided pieces, both impls */
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 2;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    static const size_t plens[] = {1, 64, 100, 1000, 1024};
    for (size_t a = 0; a < 5; a++) {
        for (size_t n = 1; n <= 19; n += 3) {
            for (int simd = 0; simd < 2; simd++) {
                spw_blake3_set_simd(simd);
                uint32_t got[19][8], want[8];
                for (int root = 0; root < 2; root++) {
                    spw_blake3_chunk_cv_many(simd ? ctx : NULL, got, data + 7, 1030, n, plens[a],
                                             3 + (uint64_t)root * 0x100000000ull, root);
                    for (size_t i = 0; i < n; i++) {
                        spw_blake3_chunk_cv(want, data + 7 + 1030 * i, plens[a],
                                            3 + (uint64_t)root * 0x100000000ull, root);
                        ck_assert_msg(memcmp(got[i], want, 32) == 0,
                                      "chunk_cv_many len %zu n %zu i %zu (%s)", plens[a], n, i,
                                      spw_blake3_impl_name());
                    }
                }
            }
        }
    }
    spw_ctx_free(ctx);
    free(data);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("blake3");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_official_vectors);
    tcase_add_test(tc, test_b3sum);
    tcase_add_test(tc, test_incremental);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_chunk_parent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
