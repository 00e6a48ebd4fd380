/*
 * test_gpu_ntt.c - the device NTT/LDE (cuda/ntt.cu) element by element
 * against the CPU: the naive O(n^2) DFT (spw_dft_naive) for 2^1..2^12 and
 * small LDEs on several cosets (larger ones against spw_coeffs_to_coset_batch), the CPU fast path (src/ntt.c, itself tested
 * against the naive DFT) for 2^13..2^24. Failure messages name the size,
 * blowup, coset, column and first differing index. Skips (77) without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "field.h"
#include "ntt.h"
#include <string.h>

static spw_cuda_arena *arena;
static spw_ctx *cpu;

static void setup(void)
{
    spw_status st = spw_cuda_arena_create(&arena, (uint64_t)24 << 30);
    if (st != SPW_OK) st = spw_cuda_arena_create(&arena, (uint64_t)6 << 30);
    ck_assert_msg(st == SPW_OK, "arena: %s", spw_cuda_last_error());
    ck_assert_int_eq(spw_ctx_create(&cpu, NULL), SPW_OK);
}

static void teardown(void)
{
    spw_cuda_arena_destroy(arena);
    spw_ctx_free(cpu);
}

static uint64_t *rand_cols(size_t n, uint64_t seed)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) v[i] = spw_test_rand(&seed) % GL_P;
    return v;
}

static void expect_cols(const uint64_t *got, const uint64_t *want, size_t ncols, size_t len,
                        const char *what, unsigned log_n, unsigned blowup, uint64_t shift)
{
    for (size_t c = 0; c < ncols; c++)
        for (size_t i = 0; i < len; i++)
            if (got[c * len + i] != want[c * len + i])
                ck_abort_msg("%s: log_n %u blowup %u coset %llu: column %zu: first difference at "
                             "index %zu: gpu %llu cpu %llu",
                             what, log_n, blowup, (unsigned long long)shift, c, i,
                             (unsigned long long)got[c * len + i],
                             (unsigned long long)want[c * len + i]);
}

static void gpu_ok(spw_status st, const char *what, unsigned log_n)
{
    ck_assert_msg(st == SPW_OK, "%s log_n %u: %s: %s", what, log_n, spw_strerror(st),
                  spw_cuda_last_error());
}

/* Forward against the naive DFT, inverse back to the input, 2^0..2^12,
 * with a row stride larger than n. */
START_TEST(test_small_vs_naive)
{
    for (unsigned k = 0; k <= 12; k++) {
        const size_t n = (size_t)1 << k, ncols = 3, stride = n + 5;
        uint64_t *c = rand_cols(ncols * stride, 100 + k);
        uint64_t *g = malloc(ncols * stride * 8), *want = malloc(ncols * n * 8),
                 *got = malloc(ncols * n * 8);
        memcpy(g, c, ncols * stride * 8);
        uint64_t before = spw_cuda_kernel_launches();
        gpu_ok(spw_cuda_ntt_forward_batch_host(arena, g, ncols, stride, k), "forward", k);
        if (k) ck_assert_msg(spw_cuda_kernel_launches() > before, "no kernel ran (log_n %u)", k);
        for (size_t j = 0; j < ncols; j++) {
            spw_dft_naive(want + j * n, c + j * stride, k, 1);
            memcpy(got + j * n, g + j * stride, n * 8);
            /* the stride gap is untouched */
            for (size_t i = n; i < stride; i++) ck_assert_uint_eq(g[j * stride + i], c[j * stride + i]);
        }
        expect_cols(got, want, ncols, n, "forward vs naive DFT", k, 1, 1);
        gpu_ok(spw_cuda_ntt_inverse_batch_host(arena, g, ncols, stride, k), "inverse", k);
        for (size_t j = 0; j < ncols; j++) {
            memcpy(got + j * n, g + j * stride, n * 8);
            memcpy(want + j * n, c + j * stride, n * 8);
        }
        expect_cols(got, want, ncols, n, "inverse(forward) vs input", k, 1, 1);
        free(c); free(g); free(want); free(got);
    }
}
END_TEST

/* Inverse against the naive DFT: inverse(naive(c)) == c. */
START_TEST(test_inverse_vs_naive)
{
    for (unsigned k = 1; k <= 12; k++) {
        const size_t n = (size_t)1 << k, ncols = 2;
        uint64_t *c = rand_cols(ncols * n, 200 + k), *e = malloc(ncols * n * 8);
        for (size_t j = 0; j < ncols; j++) spw_dft_naive(e + j * n, c + j * n, k, 1);
        gpu_ok(spw_cuda_ntt_inverse_batch_host(arena, e, ncols, n, k), "inverse", k);
        expect_cols(e, c, ncols, n, "inverse vs naive DFT", k, 1, 1);
        free(c); free(e);
    }
}
END_TEST

/* Coset LDE of small sizes against the naive DFT of the zero-padded
 * coefficients (coefficients from the naive-checked inverse above), on
 * several cosets; and the standard coset against spw_lde_batch. */
START_TEST(test_lde_small_cosets)
{
    const uint64_t shifts[] = {GL_GENERATOR, 1, 3, 0x123456789ABCDEFull % GL_P, GL_P - 1};
    const unsigned blowups[] = {2, 4, 8};
    for (unsigned k = 0; k <= 10; k++) {
        const size_t n = (size_t)1 << k, ncols = 3;
        uint64_t *ev = rand_cols(ncols * n, 300 + k), *coef = malloc(ncols * n * 8);
        memcpy(coef, ev, ncols * n * 8);
        for (size_t j = 0; j < ncols; j++) spw_ntt_inverse(coef + j * n, k);
        for (unsigned bi = 0; bi < 3; bi++) {
            const unsigned B = blowups[bi];
            const size_t N = n * B;
            unsigned lb = spw_log2(B);
            uint64_t *got = malloc(ncols * N * 8), *want = malloc(ncols * N * 8),
                     *pad = calloc(N, 8);
            for (unsigned si = 0; si < sizeof shifts / sizeof *shifts; si++) {
                uint64_t sh = shifts[si];
                gpu_ok(spw_cuda_lde_batch_host(arena, got, ev, ncols, k, B, sh), "lde", k);
                if (N <= 4096) {
                    for (size_t j = 0; j < ncols; j++) {
                        memcpy(pad, coef + j * n, n * 8);
                        spw_dft_naive(want + j * N, pad, k + lb, sh);
                    }
                    expect_cols(got, want, ncols, N, "lde vs naive DFT", k, B, sh);
                } else {
                    ck_assert_int_eq(spw_coeffs_to_coset_batch(cpu, want, coef, ncols, k, B, sh),
                                     SPW_OK);
                    expect_cols(got, want, ncols, N, "lde vs spw_coeffs_to_coset_batch", k, B, sh);
                }
            }
            ck_assert_int_eq(spw_lde_batch(cpu, want, ev, ncols, k, B), SPW_OK);
            uint64_t *d_in = NULL, *d_out = NULL;
            gpu_ok(spw_cuda_arena_alloc(arena, (void **)&d_in, ncols * n * 8), "alloc", k);
            gpu_ok(spw_cuda_arena_alloc(arena, (void **)&d_out, ncols * N * 8), "alloc", k);
            gpu_ok(spw_cuda_memcpy_async(d_in, ev, ncols * n * 8, NULL), "copy", k);
            gpu_ok(spw_cuda_lde_batch(arena, NULL, d_out, d_in, ncols, k, B), "lde", k);
            gpu_ok(spw_cuda_memcpy_async(got, d_out, ncols * N * 8, NULL), "copy", k);
            gpu_ok(spw_cuda_stream_sync(NULL), "sync", k);
            spw_cuda_arena_free(arena, d_in);
            spw_cuda_arena_free(arena, d_out);
            expect_cols(got, want, ncols, N, "lde vs spw_lde_batch", k, B, GL_GENERATOR);
            free(got); free(want); free(pad);
        }
        free(ev); free(coef);
    }
}
END_TEST

/* Larger sizes against the CPU fast path: more columns at small sizes, a
 * few at 2^24. */
static void large_case(unsigned k, size_t ncols)
{
    const size_t n = (size_t)1 << k;
    uint64_t *c = rand_cols(ncols * n, 400 + k), *g = malloc(ncols * n * 8);
    ck_assert_ptr_nonnull(g);
    memcpy(g, c, ncols * n * 8);
    gpu_ok(spw_cuda_ntt_forward_batch_host(arena, g, ncols, n, k), "forward", k);
    ck_assert_int_eq(spw_ntt_forward_batch(cpu, c, ncols, n, k), SPW_OK);
    expect_cols(g, c, ncols, n, "forward vs spw_ntt_forward_batch", k, 1, 1);
    gpu_ok(spw_cuda_ntt_inverse_batch_host(arena, g, ncols, n, k), "inverse", k);
    ck_assert_int_eq(spw_ntt_inverse_batch(cpu, c, ncols, n, k), SPW_OK);
    expect_cols(g, c, ncols, n, "inverse vs spw_ntt_inverse_batch", k, 1, 1);
    free(c); free(g);
}

static void large_lde(unsigned k, size_t ncols, unsigned B)
{
    const size_t n = (size_t)1 << k, N = n * B;
    uint64_t *c = rand_cols(ncols * n, 500 + k), *got = malloc(ncols * N * 8),
             *want = malloc(ncols * N * 8);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(want);
    gpu_ok(spw_cuda_lde_batch_host(arena, got, c, ncols, k, B, GL_GENERATOR), "lde", k);
    ck_assert_int_eq(spw_lde_batch(cpu, want, c, ncols, k, B), SPW_OK);
    expect_cols(got, want, ncols, N, "lde vs spw_lde_batch", k, B, GL_GENERATOR);
    free(c); free(got); free(want);
}

START_TEST(test_large_ntt)
{
    large_case(13, 16);
    large_case(16, 16);
    large_case(20, 8);
    large_case(21, 4);
    large_case(24, 3);
}
END_TEST

START_TEST(test_large_lde)
{
    large_lde(13, 16, 2);
    large_lde(16, 8, 8);
    large_lde(20, 4, 4);
    large_lde(22, 2, 4);
    large_lde(21, 2, 8);
    large_lde(23, 2, 2);
}
END_TEST

START_TEST(test_bad_args)
{
    uint64_t x[4] = {0};
    ck_assert_int_eq(spw_cuda_ntt_forward_batch(arena, NULL, x, 1, 2, 2), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_cuda_ntt_forward_batch(arena, NULL, x, 1, 4, 33), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_cuda_ntt_forward_batch(NULL, NULL, x, 1, 4, 2), SPW_ERR_NULL);
    ck_assert_int_eq(spw_cuda_lde_batch(arena, NULL, x, x, 1, 2, 3), SPW_ERR_BLOWUP);
    ck_assert(strlen(spw_cuda_last_error()) > 0);
    ck_assert_int_eq(spw_cuda_lde_batch(arena, NULL, x, x, 1, 31, 4), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_cuda_lde_shift_batch(arena, NULL, x, x, 1, 2, 4, 0), SPW_ERR_INVALID_ARG);
    ck_assert_uint_eq(spw_cuda_ntt_passes(24), 4);
    ck_assert_uint_eq(spw_cuda_lde_passes(22, 4), 6);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_ntt");
    TCase *tc = tcase_create("ntt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_small_vs_naive);
    tcase_add_test(tc, test_inverse_vs_naive);
    tcase_add_test(tc, test_lde_small_cosets);
    tcase_add_test(tc, test_large_ntt);
    tcase_add_test(tc, test_large_lde);
    suite_add_tcase(s, tc);
    return spw_run_gpu_suite(s);
}
#else
int main(void)
{
    fprintf(stderr, "CUDA backend not compiled in: skipping\n");
    return SPW_EXIT_SKIP;
}
#endif
