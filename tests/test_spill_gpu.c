/*
 * test_spill_gpu.c - the device side of the spill layer (skips, exit 77,
 * without a GPU): the pinned pool really is cudaHostRegister'ed (the device
 * path ran, not a silent fallback), and the probe measures pinned
 * host<->device bandwidth and staged NVMe -> pinned -> device streaming.
 */
#include "check_util.h"
#include "spill.h"
#include "test_spill_util.h"

START_TEST(pool_is_registered)
{
    spw_ctx *ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(&ctx, NULL), SPW_OK);
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.host_budget = 8u << 20;
    spw_spill *s = NULL;
    ck_assert_int_eq(spw_spill_create(ctx, &s, &o), SPW_OK);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    ck_assert_int_eq(st.pool_cuda_registered, 1);
    spw_spill_free(s);
    char *dir = spill_test_dir();
    spw_spill_probe_result r;
    spw_status ps = spw_spill_probe(ctx, &r, dir, 8u << 20, 4, 1u << 20, SPW_IO_AUTO);
    ck_assert_msg(ps == SPW_OK, "%s", spw_ctx_last_error(ctx));
    ck_assert_int_eq(r.have_gpu, 1);
    ck_assert(r.h2d_gbs > 0.5 && r.d2h_gbs > 0.5);
    ck_assert(r.stream_gbs > 0 && r.stream_ratio > 0);
    fprintf(stderr, "pinned h2d %.2f GB/s, d2h %.2f GB/s; NVMe->pinned->device %.2f GB/s (%.2fx the slower link)\n",
            r.h2d_gbs, r.d2h_gbs, r.stream_gbs, r.stream_ratio);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spill_gpu");
    TCase *tc = tcase_create("gpu");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pool_is_registered);
    suite_add_tcase(s, tc);
    return spw_run_gpu_suite(s);
}
