/*
 * test_field.c - Goldilocks and cubic-extension arithmetic (src/field.h,
 * src/field.c) against independent references: unsigned __int128 modular
 * arithmetic for the base field, schoolbook polynomial products reduced by
 * w^3 = 2 for the extension; plus the public encode/decode helpers.
 */
#include "check_util.h"
#include "internal.h"
#include "field.h"
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

typedef unsigned __int128 u128;
static const uint64_t P = 0xFFFFFFFF00000001ULL;

/* ---- independent references ---- */
static uint64_t radd(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a + b) % P); }
static uint64_t rsub(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a + P - b) % P); }
static uint64_t rmul(uint64_t a, uint64_t b) { return (uint64_t)(((u128)a * b) % P); }
static uint64_t rpow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;
    for (int i = 63; i >= 0; i--) { /* left-to-right, unlike gl_pow */
        r = rmul(r, r);
        if ((e >> i) & 1) r = rmul(r, a);
    }
    return r;
}

static const uint64_t edges[] = {
    0, 1, 2, 3, 0xFFFFFFFF00000000ULL /* p-1 */, 0xFFFFFFFEFFFFFFFFULL /* p-2 */,
    0xFFFFFFFEFFFFFFFEULL, 1ULL << 32, (1ULL << 32) - 1, (1ULL << 32) + 1,
    1ULL << 63, (1ULL << 63) - 1, (1ULL << 63) + 1, 0x00000000FFFFFFFEULL,
    0x8000000080000000ULL, 0x7FFFFFFF80000000ULL, 0xFFFFFFFE00000002ULL, 1ULL << 48,
    (1ULL << 16) + 7, 0xFFFFFFFF00000001ULL /* p: reduced before use */,
    0xFFFFFFFFFFFFFFFFULL /* 2^64-1: reduced before use */,
};
#define NEDGE (sizeof edges / sizeof edges[0])

/* Random canonical values with a bias toward the awkward ranges. */
static uint64_t rand_fe(uint64_t *st)
{
    uint64_t r = spw_test_rand(st);
    switch (r & 7) {
    case 0: return P - 1 - (spw_test_rand(st) & 0xFFFFFFFF); /* near p */
    case 1: return spw_test_rand(st) & 0xFFFFFFFF;           /* small */
    case 2: return (spw_test_rand(st) & 0xFFFFFFFEULL) << 32; /* multiples of 2^32, < p */
    default: {
        uint64_t x = spw_test_rand(st);
        return x >= P ? x - P : x;
    }
    }
}

START_TEST(test_base_ops_edges)
{
    for (size_t i = 0; i < NEDGE; i++)
        for (size_t j = 0; j < NEDGE; j++) {
            uint64_t a = edges[i] % P, b = edges[j] % P;
            EXPECT_U64(gl_add(a, b), radd(a, b));
            EXPECT_U64(gl_sub(a, b), rsub(a, b));
            EXPECT_U64(gl_mul(a, b), rmul(a, b));
            /* reduce128 of arbitrary (non-product) 128-bit values */
            u128 x = ((u128)edges[i] << 64) | edges[j];
            EXPECT_U64(gl_reduce128(edges[j], edges[i]), (uint64_t)(x % P));
        }
    for (size_t i = 0; i < NEDGE; i++) {
        uint64_t a = edges[i] % P;
        EXPECT_U64(gl_neg(a), rsub(0, a));
        EXPECT_U64(gl_sqr(a), rmul(a, a));
        EXPECT_U64(gl_dbl(a), radd(a, a));
        EXPECT_U64(gl_from_u64(edges[i]), edges[i] % P);
    }
    EXPECT_U64(gl_from_u64(P), 0);
    EXPECT_U64(gl_mul(P - 1, P - 1), 1);
    EXPECT_U64(gl_add(P - 1, 1), 0);
    EXPECT_U64(gl_sub(0, 1), P - 1);
}
END_TEST

START_TEST(test_base_ops_random)
{
    uint64_t st = 1;
    for (int i = 0; i < 200000; i++) {
        uint64_t a = rand_fe(&st), b = rand_fe(&st);
        EXPECT_U64(gl_add(a, b), radd(a, b));
        EXPECT_U64(gl_sub(a, b), rsub(a, b));
        EXPECT_U64(gl_mul(a, b), rmul(a, b));
        EXPECT_U64(gl_neg(a), rsub(0, a));
        EXPECT_U64(gl_sqr(a), rmul(a, a));
        uint64_t hi = spw_test_rand(&st), lo = spw_test_rand(&st);
        EXPECT_U64(gl_reduce128(lo, hi), (uint64_t)((((u128)hi << 64) | lo) % P));
        uint64_t u = spw_test_rand(&st);
        EXPECT_U64(gl_from_u64(u), u % P);
    }
}
END_TEST

START_TEST(test_pow_inv)
{
    uint64_t st = 2;
    for (size_t i = 0; i < NEDGE; i++) {
        uint64_t a = edges[i] % P;
        EXPECT_U64(gl_pow(a, 0), 1);
        EXPECT_U64(gl_pow(a, 1), a);
        EXPECT_U64(gl_pow(a, P - 2), rpow(a, P - 2));
        if (a) {
            EXPECT_U64(rmul(gl_inv(a), a), 1);
            EXPECT_U64(gl_pow(a, P - 1), 1);
        }
    }
    EXPECT_U64(gl_inv(0), 0);
    for (int i = 0; i < 3000; i++) {
        uint64_t a = rand_fe(&st), e = spw_test_rand(&st);
        EXPECT_U64(gl_pow(a, e), rpow(a, e));
        if (a) EXPECT_U64(rmul(gl_inv(a), a), 1);
    }
    /* small exponents against repeated multiplication */
    uint64_t a = 0x123456789ABCDEFULL, r = 1;
    for (uint64_t e = 0; e < 200; e++) {
        EXPECT_U64(gl_pow(a, e), r);
        r = rmul(r, a);
    }
}
END_TEST

START_TEST(test_roots_of_unity)
{
    /* p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537; the generator has full order */
    static const uint64_t odd_primes[] = {3, 5, 17, 257, 65537};
    EXPECT_U64((u128)(P - 1), (u128)(1ULL << 32) * 3 * 5 * 17 * 257 * 65537);
    ck_assert_uint_ne(rpow(GL_GENERATOR, (P - 1) / 2), 1);
    for (int i = 0; i < 5; i++) ck_assert_uint_ne(rpow(GL_GENERATOR, (P - 1) / odd_primes[i]), 1);
    for (unsigned k = 0; k <= 32; k++) {
        uint64_t r = gl_root_of_unity(k), x = r;
        EXPECT_U64(r, rpow(GL_GENERATOR, (P - 1) >> k));
        /* order exactly 2^k: r^(2^(k-1)) = -1 and r^(2^k) = 1 */
        for (unsigned s = 0; s + 1 < k; s++) {
            ck_assert_uint_ne(x, 1);
            x = rmul(x, x);
        }
        if (k >= 1) {
            EXPECT_U64(x, P - 1);
            x = rmul(x, x);
        }
        EXPECT_U64(x, 1);
        if (k >= 1) EXPECT_U64(rmul(r, r), gl_root_of_unity(k - 1));
    }
}
END_TEST

START_TEST(test_batch_inv)
{
    uint64_t st = 3;
    size_t sizes[] = {0, 1, 2, 7, 100, 1000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint64_t *in = malloc((n + 1) * 8), *out = malloc((n + 1) * 8), *sc = malloc((n + 1) * 8);
        for (size_t i = 0; i < n; i++) in[i] = (i % 5 == 3) ? 0 : rand_fe(&st);
        if (n > 2) in[0] = 0, in[n - 1] = 0;
        gl_batch_inv(out, in, n, sc);
        for (size_t i = 0; i < n; i++) {
            if (in[i] == 0) EXPECT_U64(out[i], 0);
            else EXPECT_U64(rmul(out[i], in[i]), 1);
        }
        /* aliasing out == in */
        memcpy(out, in, n * 8);
        gl_batch_inv(out, out, n, sc);
        for (size_t i = 0; i < n; i++) {
            if (in[i] == 0) EXPECT_U64(out[i], 0);
            else EXPECT_U64(rmul(out[i], in[i]), 1);
        }
        free(in);
        free(out);
        free(sc);
    }
    /* all zeros */
    uint64_t z[4] = {0, 0, 0, 0}, zo[4] = {9, 9, 9, 9}, sc[4];
    gl_batch_inv(zo, z, 4, sc);
    for (int i = 0; i < 4; i++) EXPECT_U64(zo[i], 0);
}
END_TEST

/* ---- cubic extension ---- */

/* schoolbook product in F_p[w], then w^3 = 2, w^4 = 2w */
static fe3 rmul3(fe3 a, fe3 b)
{
    uint64_t t[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) t[i + j] = radd(t[i + j], rmul(a.c[i], b.c[j]));
    return fe3_make(radd(t[0], rmul(2, t[3])), radd(t[1], rmul(2, t[4])), t[2]);
}

static fe3 rand3(uint64_t *st) { return fe3_make(rand_fe(st), rand_fe(st), rand_fe(st)); }

#define ck_assert_fe3_eq(x, y)                                     \
    do {                                                           \
        fe3 x_ = (x), y_ = (y);                                    \
        EXPECT_U64(x_.c[0], y_.c[0]);                       \
        EXPECT_U64(x_.c[1], y_.c[1]);                       \
        EXPECT_U64(x_.c[2], y_.c[2]);                       \
    } while (0)

START_TEST(test_ext_ops)
{
    uint64_t st = 4;
    for (int i = 0; i < 100000; i++) {
        fe3 a = rand3(&st), b = rand3(&st);
        uint64_t s = rand_fe(&st);
        ck_assert_fe3_eq(fe3_mul(a, b), rmul3(a, b));
        ck_assert_fe3_eq(fe3_sqr(a), rmul3(a, a));
        ck_assert_fe3_eq(fe3_add(a, b),
                         fe3_make(radd(a.c[0], b.c[0]), radd(a.c[1], b.c[1]), radd(a.c[2], b.c[2])));
        ck_assert_fe3_eq(fe3_sub(a, b),
                         fe3_make(rsub(a.c[0], b.c[0]), rsub(a.c[1], b.c[1]), rsub(a.c[2], b.c[2])));
        ck_assert_fe3_eq(fe3_neg(a), fe3_make(rsub(0, a.c[0]), rsub(0, a.c[1]), rsub(0, a.c[2])));
        ck_assert_fe3_eq(fe3_mul_base(a, s), rmul3(a, fe3_from_base(s)));
        ck_assert_fe3_eq(fe3_add_base(a, s), fe3_make(radd(a.c[0], s), a.c[1], a.c[2]));
    }
    /* edge coefficients */
    for (size_t i = 0; i < NEDGE; i++)
        for (size_t j = 0; j < NEDGE; j++) {
            fe3 a = fe3_make(edges[i] % P, edges[j] % P, edges[(i + j) % NEDGE] % P);
            fe3 b = fe3_make(edges[j] % P, edges[(i * 7 + 1) % NEDGE] % P, edges[i] % P);
            ck_assert_fe3_eq(fe3_mul(a, b), rmul3(a, b));
        }
}
END_TEST

START_TEST(test_ext_axioms)
{
    uint64_t st = 5;
    for (int i = 0; i < 20000; i++) {
        fe3 a = rand3(&st), b = rand3(&st), c = rand3(&st);
        ck_assert_fe3_eq(fe3_mul(fe3_mul(a, b), c), fe3_mul(a, fe3_mul(b, c)));
        ck_assert_fe3_eq(fe3_mul(a, b), fe3_mul(b, a));
        ck_assert_fe3_eq(fe3_add(fe3_add(a, b), c), fe3_add(a, fe3_add(b, c)));
        ck_assert_fe3_eq(fe3_add(a, b), fe3_add(b, a));
        ck_assert_fe3_eq(fe3_mul(a, fe3_add(b, c)), fe3_add(fe3_mul(a, b), fe3_mul(a, c)));
        ck_assert_fe3_eq(fe3_mul(a, fe3_one()), a);
        ck_assert_fe3_eq(fe3_add(a, fe3_zero()), a);
        ck_assert_fe3_eq(fe3_add(a, fe3_neg(a)), fe3_zero());
        EXPECT_TRUE(fe3_eq(fe3_sub(a, b), fe3_add(a, fe3_neg(b))));
        if (!fe3_is_zero(a)) ck_assert_fe3_eq(fe3_mul(a, fe3_inv(a)), fe3_one());
    }
    EXPECT_TRUE(fe3_is_zero(fe3_inv(fe3_zero())));
    /* inverses of sparse elements: base elements, pure w, pure w^2 */
    for (size_t i = 0; i < NEDGE; i++) {
        uint64_t x = edges[i] % P;
        if (!x) continue;
        fe3 e[3] = {fe3_make(x, 0, 0), fe3_make(0, x, 0), fe3_make(0, 0, x)};
        for (int k = 0; k < 3; k++) ck_assert_fe3_eq(rmul3(e[k], fe3_inv(e[k])), fe3_one());
    }
}
END_TEST

START_TEST(test_ext_irreducible)
{
    fe3 w = fe3_make(0, 1, 0);
    ck_assert_fe3_eq(fe3_mul(fe3_mul(w, w), w), fe3_from_base(2));
    ck_assert_fe3_eq(fe3_pow(w, 3), fe3_from_base(2));
    /* x^3 - 2 is irreducible over F_p iff 2 is not a cube (p = 1 mod 3) */
    EXPECT_U64((P - 1) % 3, 0);
    ck_assert_uint_ne(rpow(2, (P - 1) / 3), 1);
}
END_TEST

START_TEST(test_ext_pow)
{
    uint64_t st = 6;
    for (int t = 0; t < 20; t++) {
        fe3 a = rand3(&st), r = fe3_one();
        for (uint64_t e = 0; e < 70; e++) {
            ck_assert_fe3_eq(fe3_pow(a, e), r);
            r = rmul3(r, a);
        }
        /* large exponent: left-to-right square and multiply on rmul3 */
        uint64_t e = spw_test_rand(&st);
        fe3 q = fe3_one();
        for (int i = 63; i >= 0; i--) {
            q = rmul3(q, q);
            if ((e >> i) & 1) q = rmul3(q, a);
        }
        ck_assert_fe3_eq(fe3_pow(a, e), q);
    }
}
END_TEST

START_TEST(test_ext_batch_inv)
{
    uint64_t st = 7;
    size_t n = 777;
    fe3 *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out), *sc = malloc(n * sizeof *sc);
    for (size_t i = 0; i < n; i++) {
        in[i] = rand3(&st);
        if (i % 11 == 0) in[i] = fe3_zero();
        if (i % 13 == 1) in[i] = fe3_make(0, 0, rand_fe(&st) | 1);
    }
    fe3_batch_inv(out, in, n, sc);
    for (size_t i = 0; i < n; i++) {
        if (fe3_is_zero(in[i])) EXPECT_TRUE(fe3_is_zero(out[i]));
        else ck_assert_fe3_eq(rmul3(out[i], in[i]), fe3_one());
    }
    memcpy(out, in, n * sizeof *in);
    fe3_batch_inv(out, out, n, sc);
    for (size_t i = 0; i < n; i++) {
        if (fe3_is_zero(in[i])) EXPECT_TRUE(fe3_is_zero(out[i]));
        else ck_assert_fe3_eq(fe3_inv(in[i]), out[i]);
    }
    free(in);
    free(out);
    free(sc);
}
END_TEST

/* ---- public encode / decode ---- */

START_TEST(test_decode_encode)
{
    uint64_t st = 8;
    enum { N = 1000 };
    uint8_t bytes[8 * N], back[8 * N];
    uint64_t vals[N], dec[N];
    for (int i = 0; i < N; i++) {
        vals[i] = i < (int)NEDGE ? edges[i] % P : rand_fe(&st);
        for (int k = 0; k < 8; k++) bytes[8 * i + k] = (uint8_t)(vals[i] >> (8 * k));
    }
    size_t bad = 12345;
    ck_assert_int_eq(spw_field_decode(dec, &bad, bytes, N), SPW_OK);
    EXPECT_U64(bad, 12345);
    for (int i = 0; i < N; i++) EXPECT_U64(dec[i], vals[i]);
    ck_assert_int_eq(spw_field_encode(back, vals, N), SPW_OK);
    ck_assert_int_eq(memcmp(back, bytes, sizeof bytes), 0);
    ck_assert_int_eq(spw_field_decode(dec, NULL, bytes, 0), SPW_OK);

    /* non-canonical values: p, p+1, 2^64-1, 2^64-2^32+2 */
    const uint64_t badv[] = {P, P + 1, UINT64_MAX, 0xFFFFFFFF00000002ULL};
    for (size_t b = 0; b < 4; b++) {
        size_t at = 17 + 100 * b;
        uint8_t tmp[8 * N];
        memcpy(tmp, bytes, sizeof tmp);
        for (int k = 0; k < 8; k++) tmp[8 * at + k] = (uint8_t)(badv[b] >> (8 * k));
        for (int k = 0; k < 8; k++) tmp[8 * (at + 3) + k] = 0xFF; /* a later bad one too */
        bad = 0;
        ck_assert_int_eq(spw_field_decode(dec, &bad, tmp, N), SPW_ERR_NONCANONICAL);
        EXPECT_U64(bad, at);
        ck_assert_int_eq(spw_field_decode(dec, NULL, tmp, N), SPW_ERR_NONCANONICAL);
        uint64_t v2[N];
        memcpy(v2, vals, sizeof v2);
        v2[at] = badv[b];
        ck_assert_int_eq(spw_field_encode(back, v2, N), SPW_ERR_NONCANONICAL);
    }
    ck_assert_int_eq(spw_field_decode(NULL, &bad, bytes, N), SPW_ERR_NULL);
    ck_assert_int_eq(spw_field_decode(dec, &bad, NULL, N), SPW_ERR_NULL);
    ck_assert_int_eq(spw_field_encode(NULL, vals, N), SPW_ERR_NULL);
    ck_assert_int_eq(spw_field_encode(back, NULL, N), SPW_ERR_NULL);
}
END_TEST

static Suite *field_suite(void)
{
    Suite *s = suite_create("field");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_base_ops_edges);
    tcase_add_test(tc, test_base_ops_random);
    tcase_add_test(tc, test_pow_inv);
    tcase_add_test(tc, test_roots_of_unity);
    tcase_add_test(tc, test_batch_inv);
    tcase_add_test(tc, test_ext_ops);
    tcase_add_test(tc, test_ext_axioms);
    tcase_add_test(tc, test_ext_irreducible);
    tcase_add_test(tc, test_ext_pow);
    tcase_add_test(tc, test_ext_batch_inv);
    tcase_add_test(tc, test_decode_encode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(field_suite()); }
