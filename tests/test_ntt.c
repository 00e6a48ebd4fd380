/*
 * test_ntt.c - the fast NTT/LDE (src/ntt.c) against independent references:
 * the naive O(n^2) DFT, a definitional sum, naive bit reversal, Horner
 * evaluation of the naively interpolated polynomial and barycentric
 * (Lagrange) evaluation for sizes too large for O(n^2) interpolation.
 */
#include "check_util.h"
#include "internal.h"
#include "field.h"
#include "ntt.h"
#include <string.h>

/* Check records every passing ck_assert as a message to the parent
 * process; in loops of 10^5..10^6 comparisons that is tens of MB of
 * messages. These report only failures. */
#define EXPECT_U64(got, want)                                                        \
    do {                                                                             \
        uint64_t g_ = (got), w_ = (want);                                            \
        if (g_ != w_)                                                                \
            ck_abort_msg("%s = %llu, expected %s = %llu", #got, (unsigned long long)g_, \
                         #want, (unsigned long long)w_);                            \
    } while (0)
#define EXPECT_TRUE(cond)                                      \
    do {                                                       \
        if (!(cond)) ck_abort_msg("expected %s", #cond);       \
    } while (0)

static uint64_t rand_fe(uint64_t *st)
{
    uint64_t x = spw_test_rand(st);
    return x >= GL_P ? x - GL_P : x;
}

static uint64_t *rand_vec(size_t n, uint64_t seed)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) v[i] = rand_fe(&seed);
    return v;
}

static spw_ctx *make_ctx(unsigned threads)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    spw_ctx *ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

/* Reports the first mismatch with size and position. */
static void expect_equal(const uint64_t *got, const uint64_t *want, size_t n, const char *what,
                         unsigned log_n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            ck_abort_msg("%s: log_n %u: index %zu: got %llu want %llu", what, log_n, i,
                         (unsigned long long)got[i], (unsigned long long)want[i]);
}

/* The branch-free product of the fast path against __int128 arithmetic. */
START_TEST(test_fmul)
{
    typedef unsigned __int128 u128;
    static const uint64_t e[] = {0, 1, 2, GL_P - 1, GL_P - 2, 1ULL << 32, (1ULL << 32) - 1,
                                 (1ULL << 32) + 1, 1ULL << 63, (1ULL << 63) + 1,
                                 0xFFFFFFFEFFFFFFFFULL, 0x8000000080000000ULL, 1ULL << 48};
    const size_t ne = sizeof e / sizeof e[0];
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++)
            EXPECT_U64(spw_ntt_fmul(e[i], e[j]), (uint64_t)((u128)e[i] * e[j] % GL_P));
    uint64_t st = 42;
    for (int i = 0; i < 200000; i++) {
        uint64_t a = rand_fe(&st), b = rand_fe(&st);
        if (i & 1) a = GL_P - 1 - (a & 0xFFFFFFFF);
        EXPECT_U64(spw_ntt_fmul(a, b), (uint64_t)((u128)a * b % GL_P));
    }
    /* the vector product (when the SIMD path is on), edge pairs in lanes */
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j + 3 < ne; j++) {
            uint64_t x[4] = {e[i], e[j], e[j + 1], e[(i + 5) % ne]};
            uint64_t y[4] = {e[j], e[j + 2], e[i], e[j + 3]}, z[4];
            spw_ntt_mul4(z, x, y);
            for (int k = 0; k < 4; k++) EXPECT_U64(z[k], (uint64_t)((u128)x[k] * y[k] % GL_P));
        }
    for (int i = 0; i < 50000; i++) {
        uint64_t x[4], y[4], z[4];
        for (int k = 0; k < 4; k++) {
            x[k] = rand_fe(&st);
            y[k] = (k & 1) ? GL_P - 1 - (rand_fe(&st) & 0xFFFFFFFF) : rand_fe(&st);
        }
        spw_ntt_mul4(z, x, y);
        for (int k = 0; k < 4; k++) EXPECT_U64(z[k], (uint64_t)((u128)x[k] * y[k] % GL_P));
    }
}
END_TEST

/* The naive DFT against the definition sum_j c_j (shift w^i)^j. */
START_TEST(test_naive_definition)
{
    for (unsigned k = 0; k <= 5; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *c = rand_vec(n, 10 + k), *o = malloc(n * 8);
        uint64_t shifts[2] = {1, 12345};
        for (int s = 0; s < 2; s++) {
            spw_dft_naive(o, c, k, shifts[s]);
            for (size_t i = 0; i < n; i++) {
                uint64_t x = gl_mul(shifts[s], gl_pow(gl_root_of_unity(k), i)), acc = 0;
                for (size_t j = 0; j < n; j++) acc = gl_add(acc, gl_mul(c[j], gl_pow(x, j)));
                EXPECT_U64(o[i], acc);
            }
        }
        free(c);
        free(o);
    }
}
END_TEST

/* Forward NTT (and its coset form) against the naive DFT, sizes 2^0..2^12. */
START_TEST(test_forward_vs_naive)
{
    uint64_t st = 99;
    for (unsigned k = 0; k <= 12; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *c = rand_vec(n, 100 + k), *a = malloc(n * 8), *ref = malloc(n * 8);
        uint64_t shifts[3] = {1, GL_GENERATOR, rand_fe(&st)};
        for (int s = 0; s < 3; s++) {
            if (k == 12 && s == 2) break; /* keep the O(n^2) part short */
            uint64_t sp = 1;
            for (size_t j = 0; j < n; j++) {
                a[j] = gl_mul(c[j], sp);
                sp = gl_mul(sp, shifts[s]);
            }
            spw_ntt_forward(a, k);
            spw_dft_naive(ref, c, k, shifts[s]);
            expect_equal(a, ref, n, "forward vs naive", k);
        }
        free(c);
        free(a);
        free(ref);
    }
}
END_TEST

/* Inverse against the naive DFT: the naive evaluation of the inverse's
 * output must give back the input. */
START_TEST(test_inverse_vs_naive)
{
    for (unsigned k = 0; k <= 10; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *e = rand_vec(n, 200 + k), *a = malloc(n * 8), *ref = malloc(n * 8);
        memcpy(a, e, n * 8);
        spw_ntt_inverse(a, k);
        spw_dft_naive(ref, a, k, 1);
        expect_equal(ref, e, n, "naive(inverse(x)) vs x", k);
        free(e);
        free(a);
        free(ref);
    }
}
END_TEST

START_TEST(test_round_trip)
{
    for (unsigned k = 0; k <= 20; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *e = rand_vec(n, 300 + k), *a = malloc(n * 8);
        memcpy(a, e, n * 8);
        spw_ntt_inverse(a, k);
        spw_ntt_forward(a, k);
        expect_equal(a, e, n, "forward(inverse(x))", k);
        if (k % 4 == 0) {
            spw_ntt_forward(a, k);
            spw_ntt_inverse(a, k);
            expect_equal(a, e, n, "inverse(forward(x))", k);
        }
        free(e);
        free(a);
    }
}
END_TEST

START_TEST(test_bit_reverse)
{
    for (unsigned k = 0; k <= 16; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *a = malloc(n * 8);
        for (size_t i = 0; i < n; i++) a[i] = i;
        spw_bit_reverse(a, k);
        for (size_t i = 0; i < n; i++) {
            size_t r = 0;
            for (unsigned b = 0; b < k; b++) r |= ((i >> b) & 1) << (k - 1 - b);
            if (a[i] != r) ck_abort_msg("bit reverse log_n %u index %zu: %llu != %zu", k, i,
                                        (unsigned long long)a[i], r);
        }
        free(a);
    }
}
END_TEST

/* Batches with stride > n, several thread counts and column counts (both
 * the column-parallel and the within-column parallel paths), equal the
 * single-column transforms; the gap between columns is untouched. */
START_TEST(test_batch)
{
    const unsigned logs[] = {0, 5, 11, 16, 17};
    const size_t ncols_list[] = {1, 2, 3, 8};
    const unsigned threads[] = {1, 2, 3, 4};
    for (size_t li = 0; li < 5; li++) {
        unsigned k = logs[li];
        size_t n = (size_t)1 << k, stride = n + 5;
        for (size_t ci = 0; ci < 4; ci++) {
            size_t nc = ncols_list[ci];
            if (k >= 16 && nc > 3) continue;
            uint64_t *src = rand_vec(stride * nc, 400 + k * 10 + nc);
            uint64_t *ref = malloc(stride * nc * 8);
            for (int inv = 0; inv < 2; inv++) {
                memcpy(ref, src, stride * nc * 8);
                for (size_t c = 0; c < nc; c++) {
                    if (inv) spw_ntt_inverse(ref + c * stride, k);
                    else spw_ntt_forward(ref + c * stride, k);
                }
                for (size_t ti = 0; ti < 4; ti++) {
                    if (k >= 16 && ti == 2) continue;
                    spw_ctx *ctx = make_ctx(threads[ti]);
                    uint64_t *a = malloc(stride * nc * 8);
                    memcpy(a, src, stride * nc * 8);
                    spw_status s = inv ? spw_ntt_inverse_batch(ctx, a, nc, stride, k)
                                       : spw_ntt_forward_batch(ctx, a, nc, stride, k);
                    ck_assert_int_eq(s, SPW_OK);
                    expect_equal(a, ref, stride * nc, inv ? "inverse batch" : "forward batch", k);
                    free(a);
                    spw_ctx_free(ctx);
                }
            }
            free(src);
            free(ref);
        }
    }
}
END_TEST

/* coeffs_to_coset against the naive DFT of the zero-padded coefficients. */
START_TEST(test_coeffs_to_coset)
{
    uint64_t st = 5;
    spw_ctx *ctx = make_ctx(2);
    for (unsigned k = 0; k <= 9; k++) {
        size_t n = (size_t)1 << k, nc = 2;
        uint64_t *c = rand_vec(n * nc, 500 + k);
        for (unsigned b = 2; b <= 8; b *= 2) {
            size_t N = n * b;
            unsigned kb = k + spw_log2(b);
            uint64_t shift = (b == 4) ? rand_fe(&st) : GL_GENERATOR;
            uint64_t *out = malloc(N * nc * 8), *pad = calloc(N, 8), *ref = malloc(N * 8);
            ck_assert_int_eq(spw_coeffs_to_coset_batch(ctx, out, c, nc, k, b, shift), SPW_OK);
            for (size_t col = 0; col < nc; col++) {
                memcpy(pad, c + col * n, n * 8);
                spw_dft_naive(ref, pad, kb, shift);
                expect_equal(out + col * N, ref, N, "coeffs_to_coset", k);
            }
            free(out);
            free(pad);
            free(ref);
        }
        free(c);
    }
    spw_ctx_free(ctx);
}
END_TEST

static uint64_t horner(const uint64_t *c, size_t n, uint64_t x)
{
    uint64_t acc = 0;
    for (size_t j = n; j-- > 0;) acc = gl_add(gl_mul(acc, x), c[j]);
    return acc;
}

/* Barycentric evaluation at x (not in the domain) of the polynomial of
 * degree < n taking values y_i at w_n^i:
 *   P(x) = (x^n - 1)/n * sum_i y_i w^i / (x - w^i). */
static uint64_t barycentric(const uint64_t *y, unsigned k, uint64_t x)
{
    size_t n = (size_t)1 << k;
    uint64_t *d = malloc(n * 8), *sc = malloc(n * 8), *wi = malloc(n * 8);
    uint64_t w = gl_root_of_unity(k), p = 1;
    for (size_t i = 0; i < n; i++) {
        wi[i] = p;
        d[i] = gl_sub(x, p);
        ck_assert_uint_ne(d[i], 0);
        p = gl_mul(p, w);
    }
    gl_batch_inv(d, d, n, sc);
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) acc = gl_add(acc, gl_mul(y[i], gl_mul(wi[i], d[i])));
    uint64_t f = gl_mul(gl_sub(gl_pow(x, n), 1), gl_inv(n % GL_P));
    free(d);
    free(sc);
    free(wi);
    return gl_mul(acc, f);
}

/* LDE values against direct evaluation of the interpolated polynomial at
 * sampled coset points GL_GENERATOR * w_{nB}^i. */
START_TEST(test_lde)
{
    const unsigned logs[] = {0, 1, 3, 8, 10, 13, 16};
    uint64_t st = 77;
    for (size_t li = 0; li < sizeof logs / sizeof logs[0]; li++) {
        unsigned k = logs[li];
        size_t n = (size_t)1 << k, nc = k >= 13 ? 1 : 3;
        uint64_t *ev = rand_vec(n * nc, 600 + k);
        for (unsigned b = 2; b <= 8; b *= 2) {
            if (k == 16 && b != 4) continue;
            size_t N = n * b;
            unsigned kb = k + spw_log2(b);
            uint64_t *out = malloc(N * nc * 8);
            spw_ctx *ctx = make_ctx(1 + (unsigned)(li % 2)); /* 1 or 2 threads */
            ck_assert_int_eq(spw_lde_batch(ctx, out, ev, nc, k, b), SPW_OK);
            spw_ctx_free(ctx);
            for (size_t col = 0; col < nc; col++) {
                const uint64_t *y = ev + col * n;
                uint64_t *coef = NULL;
                if (k <= 10) { /* naive interpolation: c_j = (1/n) sum_i y_i w^(-ij) */
                    coef = malloc(n * 8);
                    uint64_t *t = malloc(n * 8);
                    spw_dft_naive(t, y, k, 1);
                    uint64_t ninv = gl_inv(n % GL_P);
                    for (size_t j = 0; j < n; j++) coef[j] = gl_mul(t[(n - j) % n], ninv);
                    free(t);
                }
                size_t samples = N <= 128 ? N : 64;
                for (size_t s = 0; s < samples; s++) {
                    size_t i = N <= 128 ? s : (s < 4 ? s * b : spw_test_rand(&st) % N);
                    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(kb), i));
                    uint64_t want = coef ? horner(coef, n, x) : barycentric(y, k, x);
                    if (out[col * N + i] != want)
                        ck_abort_msg("LDE log_n %u blowup %u col %zu index %zu: got %llu want %llu",
                                     k, b, col, i, (unsigned long long)out[col * N + i],
                                     (unsigned long long)want);
                }
                free(coef);
            }
            free(out);
        }
        free(ev);
    }
}
END_TEST

/* The LDE with many threads and columns equals the one-thread LDE. */
START_TEST(test_lde_threads)
{
    unsigned k = 15;
    size_t n = (size_t)1 << k, nc = 3, N = n * 2;
    uint64_t *ev = rand_vec(n * nc, 700);
    uint64_t *ref = malloc(N * nc * 8), *out = malloc(N * nc * 8);
    spw_ctx *c1 = make_ctx(1), *c3 = make_ctx(3), *c2 = make_ctx(2);
    ck_assert_int_eq(spw_lde_batch(c1, ref, ev, nc, k, 2), SPW_OK);
    ck_assert_int_eq(spw_lde_batch(c3, out, ev, nc, k, 2), SPW_OK);
    expect_equal(out, ref, N * nc, "LDE 3 threads", k);
    ck_assert_int_eq(spw_lde_batch(c2, out, ev, 1, k, 2), SPW_OK);
    expect_equal(out, ref, N, "LDE 2 threads, 1 column", k);
    /* coefficient form, within-column threads (one column of 2^15, B = 8),
     * against sampled Horner evaluations on shift * <w_N> */
    uint64_t shift = 0x1234567890ABCDEFULL % GL_P, st = 9;
    uint64_t *big = malloc(n * 8 * 8);
    ck_assert_int_eq(spw_coeffs_to_coset_batch(c2, big, ev, 1, k, 8, shift), SPW_OK);
    uint64_t wN = gl_root_of_unity(k + 3);
    for (int s = 0; s < 16; s++) {
        size_t i = s == 0 ? 0 : spw_test_rand(&st) % (n * 8);
        uint64_t want = horner(ev, n, gl_mul(shift, gl_pow(wN, i)));
        if (big[i] != want) ck_abort_msg("coeffs_to_coset 2^15 x8 index %zu", i);
    }
    ck_assert_int_eq(spw_coeffs_to_coset_batch(c1, out, ev, 1, k, 2, shift), SPW_OK);
    ck_assert_int_eq(spw_coeffs_to_coset_batch(c3, ref, ev, 1, k, 2, shift), SPW_OK);
    expect_equal(out, ref, N, "coeffs_to_coset 1 vs 3 threads", k);
    free(big);
    spw_ctx_free(c1);
    spw_ctx_free(c2);
    spw_ctx_free(c3);
    free(ev);
    free(ref);
    free(out);
}
END_TEST

START_TEST(test_bad_input)
{
    spw_ctx *ctx = make_ctx(2);
    uint64_t buf[64] = {0}, out[512];
    char m1[SPW_ERRMSG_MAX], m2[SPW_ERRMSG_MAX];

    ck_assert_int_eq(spw_ntt_forward_batch(ctx, NULL, 1, 8, 3), SPW_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "cols"));
    ck_assert_int_eq(spw_ntt_inverse_batch(ctx, NULL, 1, 8, 3), SPW_ERR_NULL);
    ck_assert_int_eq(spw_ntt_forward_batch(ctx, buf, 1, 8, 33), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "log_n"));
    strcpy(m1, spw_ctx_last_error(ctx));
    ck_assert_int_eq(spw_ntt_forward_batch(ctx, buf, 2, 7, 3), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "stride"));
    strcpy(m2, spw_ctx_last_error(ctx));
    ck_assert_str_ne(m1, m2);
    ck_assert_int_eq(spw_ntt_inverse_batch(ctx, buf, 2, 7, 3), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "spw_ntt_inverse_batch"));

    const unsigned bad_b[] = {0, 1, 3, 5, 16, 6};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(spw_lde_batch(ctx, out, buf, 1, 3, bad_b[i]), SPW_ERR_BLOWUP);
        ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "blowup"));
        ck_assert_int_eq(spw_coeffs_to_coset_batch(ctx, out, buf, 1, 3, bad_b[i], 7),
                         SPW_ERR_BLOWUP);
    }
    ck_assert_int_eq(spw_lde_batch(ctx, NULL, buf, 1, 3, 2), SPW_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "'out'"));
    ck_assert_int_eq(spw_lde_batch(ctx, out, NULL, 1, 3, 2), SPW_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "'in'"));
    ck_assert_int_eq(spw_coeffs_to_coset_batch(ctx, out, NULL, 1, 3, 2, 7), SPW_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "'coeffs'"));
    ck_assert_int_eq(spw_lde_batch(ctx, out, buf, 1, 33, 2), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "log_n"));
    strcpy(m1, spw_ctx_last_error(ctx));
    ck_assert_int_eq(spw_lde_batch(ctx, out, buf, 1, 31, 4), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "exceeds 2^32"));
    strcpy(m2, spw_ctx_last_error(ctx));
    ck_assert_str_ne(m1, m2);
    ck_assert_int_eq(spw_lde_batch(ctx, out, buf, 1, 30, 8), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_coeffs_to_coset_batch(ctx, out, buf, 1, 3, 2, 0), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "shift"));
    ck_assert_int_eq(spw_coeffs_to_coset_batch(ctx, out, buf, 1, 3, 2, GL_P), SPW_ERR_INVALID_ARG);
    /* NULL ctx works (no message kept) */
    ck_assert_int_eq(spw_lde_batch(NULL, out, buf, 1, 3, 3), SPW_ERR_BLOWUP);
    ck_assert_int_eq(spw_ntt_forward_batch(NULL, buf, 1, 8, 3), SPW_OK);
    /* zero columns is a no-op */
    ck_assert_int_eq(spw_lde_batch(ctx, out, buf, 0, 3, 2), SPW_OK);
    spw_ctx_free(ctx);
}
END_TEST

/* Sizes whose upper levels exceed the twiddle tables (levels > 20 use
 * running products): sampled outputs against Horner evaluation. */
START_TEST(test_large_sampled)
{
    uint64_t st = 31;
    for (unsigned k = 22; k <= 22; k++) {
        size_t n = (size_t)1 << k;
        uint64_t *c = rand_vec(n, 800 + k), *a = malloc(n * 8);
        memcpy(a, c, n * 8);
        spw_ctx *ctx = make_ctx(2);
        ck_assert_int_eq(spw_ntt_forward_batch(ctx, a, 1, n, k), SPW_OK);
        uint64_t w = gl_root_of_unity(k);
        for (int s = 0; s < 6; s++) {
            size_t i = s < 2 ? (size_t)s * (n / 2 + 1) : spw_test_rand(&st) % n;
            uint64_t want = horner(c, n, gl_pow(w, i));
            if (a[i] != want)
                ck_abort_msg("forward log_n %u index %zu: got %llu want %llu", k, i,
                             (unsigned long long)a[i], (unsigned long long)want);
        }
        ck_assert_int_eq(spw_ntt_inverse_batch(ctx, a, 1, n, k), SPW_OK);
        expect_equal(a, c, n, "large round trip", k);
        spw_ctx_free(ctx);
        free(c);
        free(a);
    }
}
END_TEST

static Suite *ntt_suite(void)
{
    Suite *s = suite_create("ntt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fmul);
    tcase_add_test(tc, test_naive_definition);
    tcase_add_test(tc, test_forward_vs_naive);
    tcase_add_test(tc, test_inverse_vs_naive);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bit_reverse);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_coeffs_to_coset);
    tcase_add_test(tc, test_lde);
    tcase_add_test(tc, test_lde_threads);
    tcase_add_test(tc, test_large_sampled);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

/* Everything twice: scalar butterflies, then the AVX2 ones where the CPU
 * has them (each checked against the same independent references). */
int main(void)
{
    spw_ntt_simd(0);
    fprintf(stderr, "test_ntt: scalar butterflies\n");
    int rc = spw_run_suite(ntt_suite());
    if (spw_ntt_simd(1)) {
        fprintf(stderr, "test_ntt: AVX2 butterflies\n");
        if (spw_run_suite(ntt_suite()) != EXIT_SUCCESS) rc = EXIT_FAILURE;
    } else {
        fprintf(stderr, "test_ntt: no AVX2 on this CPU; vector path not tested\n");
    }
    return rc;
}
