/*
 * test_gpu_arena.c - the device memory arena (cuda/arena.cu): alignment,
 * in-use and peak accounting against a host model, peak <= budget, clean
 * SPW_ERR_DEVICE_OOM beyond the budget, memory returned by free
 * (coalescing), bad frees rejected, and launchers drawing their scratch
 * from the arena. Skips (77) without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "field.h"
#include <string.h>

#define MIB (1024u * 1024u)

static spw_cuda_arena *make_arena(uint64_t budget)
{
    spw_cuda_arena *a = NULL;
    spw_status st = spw_cuda_arena_create(&a, budget);
    ck_assert_msg(st == SPW_OK, "arena_create(%llu): %s: %s", (unsigned long long)budget,
                  spw_strerror(st), spw_cuda_last_error());
    return a;
}

START_TEST(test_basic_accounting)
{
    spw_cuda_arena *a = make_arena(4 * MIB);
    ck_assert_uint_eq(spw_cuda_arena_budget(a), 4 * MIB);
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 0);
    void *p = NULL, *q = NULL, *z = (void *)1;
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &z, 0), SPW_OK);
    ck_assert_ptr_null(z);
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &p, 1), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &q, 1000), SPW_OK);
    ck_assert_uint_eq((uintptr_t)p % 256, 0);
    ck_assert_uint_eq((uintptr_t)q % 256, 0);
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 256 + 1024);
    ck_assert_uint_eq(spw_cuda_arena_peak(a), 256 + 1024);
    /* the memory is usable: write through memset, read back */
    unsigned char buf[1000];
    ck_assert_int_eq(spw_cuda_memset_async(q, 0xA5, 1000, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_memcpy_async(buf, q, 1000, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_stream_sync(NULL), SPW_OK);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(buf[i], 0xA5);
    ck_assert_int_eq(spw_cuda_arena_free(a, p), SPW_OK);
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 1024);
    ck_assert_uint_eq(spw_cuda_arena_peak(a), 256 + 1024);
    spw_cuda_arena_reset_peak(a);
    ck_assert_uint_eq(spw_cuda_arena_peak(a), 1024);
    ck_assert_int_eq(spw_cuda_arena_free(a, q), SPW_OK);
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 0);
    ck_assert_uint_eq(spw_cuda_arena_largest_free(a), 4 * MIB);
    ck_assert_int_eq(spw_cuda_arena_free(a, NULL), SPW_OK);
    spw_cuda_arena_destroy(a);
    spw_cuda_arena_destroy(NULL);
}
END_TEST

START_TEST(test_over_budget)
{
    spw_cuda_arena *a = make_arena(1 * MIB);
    void *p = NULL, *q = (void *)1;
    spw_status st = spw_cuda_arena_alloc(a, &q, 1 * MIB + 1);
    ck_assert_int_eq(st, SPW_ERR_DEVICE_OOM);
    ck_assert_ptr_null(q);
    ck_assert_msg(strstr(spw_cuda_last_error(), "budget") != NULL, "message: %s", spw_cuda_last_error());
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &p, 768 * 1024), SPW_OK);
    st = spw_cuda_arena_alloc(a, &q, 512 * 1024);
    ck_assert_int_eq(st, SPW_ERR_DEVICE_OOM);
    ck_assert_msg(strstr(spw_cuda_last_error(), "does not fit") != NULL, "message: %s",
                  spw_cuda_last_error());
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 768 * 1024); /* unchanged */
    ck_assert_uint_le(spw_cuda_arena_peak(a), spw_cuda_arena_budget(a));
    ck_assert_int_eq(spw_cuda_arena_free(a, p), SPW_OK);
    /* after the free the whole budget is one block again */
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &q, 1 * MIB), SPW_OK);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(spw_cuda_arena_free(a, q), SPW_OK);
    spw_cuda_arena_destroy(a);

    /* a budget the device cannot hold fails cleanly at creation */
    spw_cuda_arena *big = NULL;
    st = spw_cuda_arena_create(&big, (uint64_t)1 << 50);
    ck_assert_int_eq(st, SPW_ERR_DEVICE_OOM);
    ck_assert_ptr_null(big);
    ck_assert_int_eq(spw_cuda_arena_create(&big, 100), SPW_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_bad_free)
{
    spw_cuda_arena *a = make_arena(1 * MIB), *b = make_arena(1 * MIB);
    void *p = NULL, *pb = NULL;
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &p, 4096), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_alloc(b, &pb, 4096), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_free(a, pb), SPW_ERR_INVALID_ARG);          /* foreign */
    ck_assert_int_eq(spw_cuda_arena_free(a, (char *)p + 256), SPW_ERR_INVALID_ARG); /* interior */
    ck_assert_int_eq(spw_cuda_arena_free(a, p), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_free(a, p), SPW_ERR_INVALID_ARG); /* double */
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 0);
    spw_cuda_arena_destroy(a);
    spw_cuda_arena_destroy(b);
}
END_TEST

/* Random alloc/free against a host model: live blocks never overlap, stay
 * inside the budget, in_use = sum of rounded sizes, peak = max in_use. */
START_TEST(test_random_model)
{
    const uint64_t budget = 8 * MIB;
    spw_cuda_arena *a = make_arena(budget);
    enum { SLOTS = 64 };
    char *ptr[SLOTS] = {0};
    uint64_t sz[SLOTS] = {0}, in_use = 0, peak = 0, base = UINT64_MAX;
    uint64_t rng = 42;
    int ooms = 0;
    for (int it = 0; it < 4000; it++) {
        int s = (int)(spw_test_rand(&rng) % SLOTS);
        if (ptr[s]) {
            ck_assert_int_eq(spw_cuda_arena_free(a, ptr[s]), SPW_OK);
            in_use -= sz[s];
            ptr[s] = NULL;
        } else {
            uint64_t want = 1 + spw_test_rand(&rng) % (512 * 1024);
            void *p = NULL;
            spw_status st = spw_cuda_arena_alloc(a, &p, want);
            uint64_t r = (want + 255) / 256 * 256;
            if (st == SPW_ERR_DEVICE_OOM) {
                ooms++;
                ck_assert_uint_lt(spw_cuda_arena_largest_free(a), r);
                continue;
            }
            ck_assert_int_eq(st, SPW_OK);
            ck_assert_uint_eq((uintptr_t)p % 256, 0);
            ptr[s] = p;
            sz[s] = r;
            in_use += r;
            if (in_use > peak) peak = in_use;
            if ((uint64_t)(uintptr_t)p < base) base = (uint64_t)(uintptr_t)p;
            for (int o = 0; o < SLOTS; o++)
                if (o != s && ptr[o])
                    ck_assert_msg(ptr[s] + r <= ptr[o] || ptr[o] + sz[o] <= ptr[s],
                                  "iteration %d: blocks %d and %d overlap", it, s, o);
        }
        ck_assert_uint_eq(spw_cuda_arena_in_use(a), in_use);
        ck_assert_uint_eq(spw_cuda_arena_peak(a), peak);
        ck_assert_uint_le(spw_cuda_arena_peak(a), budget);
    }
    ck_assert_int_gt(ooms, 0); /* the budget was actually hit */
    for (int s = 0; s < SLOTS; s++) ck_assert_int_eq(spw_cuda_arena_free(a, ptr[s]), SPW_OK);
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 0);
    ck_assert_uint_eq(spw_cuda_arena_largest_free(a), budget);
    spw_cuda_arena_destroy(a);
}
END_TEST

/* Launchers take all device memory (twiddles, scratch) from the arena:
 * an LDE fits a tight budget by chunking columns, fails cleanly below it,
 * and the peak stays within the budget. */
START_TEST(test_launchers_use_arena)
{
    const unsigned log_n = 12, ncols = 8;
    const uint64_t n = 1u << log_n, colb = n * 8;
    uint64_t *in = malloc(ncols * colb), *out = malloc(ncols * colb * 4);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    uint64_t rng = 7;
    for (uint64_t i = 0; i < ncols * n; i++) in[i] = spw_test_rand(&rng) % GL_P;
    /* in + out + twiddles (2 MiB) + scale tables (1 MiB) + one column */
    uint64_t need = ncols * colb + ncols * colb * 4 + 3 * MIB + colb;
    spw_cuda_arena *a = make_arena(need);
    uint64_t before = spw_cuda_kernel_launches();
    spw_status st = spw_cuda_lde_batch_host(a, out, in, ncols, log_n, 4, GL_GENERATOR);
    ck_assert_msg(st == SPW_OK, "%s: %s", spw_strerror(st), spw_cuda_last_error());
    ck_assert_uint_gt(spw_cuda_kernel_launches(), before);
    ck_assert_uint_le(spw_cuda_arena_peak(a), spw_cuda_arena_budget(a));
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 2 * MIB); /* only the twiddles stay */
    spw_cuda_arena_destroy(a);

    a = make_arena(ncols * colb * 5); /* no room for twiddles and scratch */
    st = spw_cuda_lde_batch_host(a, out, in, ncols, log_n, 4, GL_GENERATOR);
    ck_assert_int_eq(st, SPW_ERR_DEVICE_OOM);
    ck_assert_uint_le(spw_cuda_arena_peak(a), spw_cuda_arena_budget(a));
    ck_assert_uint_eq(spw_cuda_arena_in_use(a), 0);
    spw_cuda_arena_destroy(a);
    free(in);
    free(out);
}
END_TEST

START_TEST(test_streams)
{
    spw_cuda_stream s = NULL;
    ck_assert_int_eq(spw_cuda_stream_create(&s), SPW_OK);
    ck_assert_ptr_nonnull(s);
    void *h = NULL;
    ck_assert_int_eq(spw_cuda_host_alloc(&h, 4096), SPW_OK);
    spw_cuda_arena *a = make_arena(1 * MIB);
    void *d = NULL;
    ck_assert_int_eq(spw_cuda_arena_alloc(a, &d, 4096), SPW_OK);
    memset(h, 0x3C, 4096);
    ck_assert_int_eq(spw_cuda_memcpy_async(d, h, 4096, s), SPW_OK);
    ck_assert_int_eq(spw_cuda_memset_async(d, 0x11, 100, s), SPW_OK);
    ck_assert_int_eq(spw_cuda_stream_sync(s), SPW_OK); /* the upload reads h until then */
    memset(h, 0, 4096);
    ck_assert_int_eq(spw_cuda_memcpy_async(h, d, 4096, s), SPW_OK);
    ck_assert_int_eq(spw_cuda_stream_sync(s), SPW_OK);
    for (int i = 0; i < 4096; i++) ck_assert_uint_eq(((unsigned char *)h)[i], i < 100 ? 0x11 : 0x3C);
    spw_cuda_host_free(h);
    spw_cuda_stream_destroy(s);
    spw_cuda_stream_destroy(NULL);
    spw_cuda_arena_destroy(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_arena");
    TCase *tc = tcase_create("arena");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_basic_accounting);
    tcase_add_test(tc, test_over_budget);
    tcase_add_test(tc, test_bad_free);
    tcase_add_test(tc, test_random_model);
    tcase_add_test(tc, test_launchers_use_arena);
    tcase_add_test(tc, test_streams);
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
