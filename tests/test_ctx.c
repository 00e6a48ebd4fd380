/* test_ctx.c - status strings, version, context options and tunables. */
#include "check_util.h"
#include "internal.h"
#include <string.h>

START_TEST(test_strerror_distinct)
{
    for (int i = 0; i < SPW_STATUS_COUNT_; i++) {
        const char *a = spw_strerror((spw_status)i);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_ne(a, "unknown status");
        for (int j = 0; j < i; j++) ck_assert_str_ne(a, spw_strerror((spw_status)j));
    }
    ck_assert_str_eq(spw_strerror((spw_status)999), "unknown status");
    ck_assert_str_eq(spw_strerror((spw_status)-1), "unknown status");
}
END_TEST

START_TEST(test_pinned_values)
{
    /* Pinned: these numbers are ABI. */
    ck_assert_int_eq(SPW_OK, 0);
    ck_assert_int_eq(SPW_ERR_NULL, 1);
    ck_assert_int_eq(SPW_ERR_NONCANONICAL, 5);
    ck_assert_int_eq(SPW_ERR_PROOF_INVALID, 15);
    ck_assert_int_eq(SPW_ERR_DEVICE_OOM, 22);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_str_eq(spw_version_string(), PACKAGE_VERSION);
    ck_assert_uint_eq(spw_version_number(), SPW_VERSION_MAJOR * 10000 + SPW_VERSION_MINOR * 100 + SPW_VERSION_PATCH);
}
END_TEST

static int log_calls;
static void count_log(void *user, spw_log_level l, const char *m)
{
    (void)l;
    (void)m;
    ++*(int *)user;
}

START_TEST(test_ctx_params)
{
    spw_ctx *ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(NULL, NULL), SPW_ERR_NULL);
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 3;
    o.log_fn = count_log;
    o.log_user = &log_calls;
    o.log_level = SPW_LOG_DEBUG;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    int64_t v = 0;
    ck_assert_int_eq(spw_ctx_get_param(ctx, &v, SPW_PARAM_THREADS), SPW_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, 3), SPW_ERR_BLOWUP);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "blowup 3"));
    ck_assert_int_gt(log_calls, 0);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, 8), SPW_OK);
    ck_assert_int_eq(spw_ctx_get_param(ctx, &v, SPW_PARAM_BLOWUP), SPW_OK);
    ck_assert_int_eq(v, 8);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_THREADS, 5000), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_CHUNK_ROWS, 1000), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_CHUNK_ROWS, 1024), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, (spw_param)99, 1), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_ctx_set_param(NULL, SPW_PARAM_THREADS, 1), SPW_ERR_NULL);
    spw_ctx_free(ctx);
    spw_ctx_free(NULL);
}
END_TEST

struct sum_arg { uint64_t *v; };
static void fill(void *a, size_t b, size_t e)
{
    struct sum_arg *s = a;
    for (size_t i = b; i < e; i++) s->v[i] += i + 1;
}

START_TEST(test_parallel_for_covers_once)
{
    spw_ctx *ctx;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 7;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    for (size_t n = 0; n < 200; n += 13) {
        uint64_t v[200] = {0};
        struct sum_arg a = {v};
        spw_parallel_for(ctx, n, 3, fill, &a);
        for (size_t i = 0; i < 200; i++) ck_assert_uint_eq(v[i], i < n ? i + 1 : 0);
    }
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ctx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_strerror_distinct);
    tcase_add_test(tc, test_pinned_values);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_ctx_params);
    tcase_add_test(tc, test_parallel_for_covers_once);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
