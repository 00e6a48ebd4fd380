/*
 * test_spill_vram_cpu.c - the VRAM tier where it cannot work (runs
 * everywhere): without the CUDA backend or a GPU, asking for a VRAM tier at
 * create fails with SPW_ERR_NO_CUDA; a VRAM chunk on a store without a VRAM
 * tier fails with SPW_ERR_UNSUPPORTED; each with a message saying why,
 * never a crash, and the rest of the store keeps working. Device-only calls
 * on host chunks are rejected with a message. */
#include "check_util.h"
#include "spill.h"

#include <string.h>

static spw_ctx *mkctx(void)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

START_TEST(vram_requests_fail_cleanly)
{
    spw_ctx *ctx = mkctx();
    int gpu = spw_cuda_available(); /* in the forked child only */
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.host_budget = 1u << 20;
    o.register_cuda = 0;
    spw_spill *s = NULL;
    spw_status st;
    if (!gpu) {
        /* A VRAM tier asked for at create. */
        o.vram_budget = 8u << 20;
        st = spw_spill_create(ctx, &s, &o);
        ck_assert_msg(st == SPW_ERR_NO_CUDA, "create with vram_budget gave %s (%s)", spw_strerror(st),
                      spw_ctx_last_error(ctx));
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(spw_ctx_last_error(ctx), "VRAM tier was requested") != NULL, "message: %s",
                      spw_ctx_last_error(ctx));
        o.vram_budget = 0;
    }
    st = spw_spill_create(ctx, &s, &o);
    ck_assert_msg(st == SPW_OK, "%s", spw_ctx_last_error(ctx));
    spw_spill_stats ss;
    spw_spill_get_stats(s, &ss);
    ck_assert_int_eq(ss.vram_tier, 0);
    ck_assert_ptr_null(spw_spill_vram_arena(s));

    spw_chunk c = 123;
    st = spw_spill_chunk_new(s, &c, 1000, SPW_CHUNK_LDE, SPW_TIER_VRAM, "t/vram0");
    ck_assert_uint_eq(c, 0);
    /* A VRAM chunk on a store without a VRAM tier: UNSUPPORTED, and the
     * message names the chunk and the reason. */
    ck_assert_msg(st == SPW_ERR_UNSUPPORTED, "VRAM chunk on a store without a VRAM tier: %s (%s)",
                  spw_strerror(st), spw_ctx_last_error(ctx));
    const char *msg = spw_ctx_last_error(ctx);
    ck_assert_msg(strstr(msg, "t/vram0") && strstr(msg, "no VRAM tier"), "message: %s", msg);
    if (gpu)
        ck_assert_msg(strstr(msg, "vram_budget") != NULL, "message: %s", msg);
    else
        ck_assert_msg(strstr(msg, "CUDA") != NULL, "message: %s", msg);

    /* The store still works, and device calls on a host chunk are refused. */
    spw_chunk h;
    ck_assert_int_eq(spw_spill_chunk_new(s, &h, 777, SPW_CHUNK_OTHER, SPW_TIER_HOST, "t/host"), SPW_OK);
    uint8_t in[777], out[777];
    for (int i = 0; i < 777; i++) in[i] = (uint8_t)(i * 7 + 3);
    ck_assert_int_eq(spw_spill_write(s, NULL, h, 0, in, sizeof in), SPW_OK);
    void *d = (void *)1;
    st = spw_spill_pin_device(s, &d, h);
    ck_assert_int_eq(st, SPW_ERR_INVALID_ARG);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "only VRAM-homed") != NULL, "message: %s",
                  spw_ctx_last_error(ctx));
    ck_assert_int_eq(spw_spill_unpin_device(s, h, 0), SPW_ERR_INVALID_ARG);
    spw_token t;
    ck_assert_int_eq(spw_spill_evict_device(s, &t, h), SPW_OK); /* nothing on the device: no-op */
    ck_assert_int_eq(spw_spill_wait(s, t), SPW_OK);
    ck_assert_int_eq(spw_spill_pin_device(s, &d, 999), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_spill_read(s, NULL, out, h, 0, sizeof out), SPW_OK);
    ck_assert_int_eq(memcmp(in, out, sizeof in), 0);
    ck_assert_int_eq(spw_spill_where(s, h), SPW_TIER_HOST);
    spw_spill_get_stats(s, &ss);
    ck_assert_uint_eq(ss.bytes_host_to_dev, 0);
    ck_assert_uint_eq(ss.bytes_dev_to_host, 0);
    ck_assert_uint_eq(ss.vram_in_use, 0);
    ck_assert_int_eq(spw_spill_chunk_free(s, h), SPW_OK);
    spw_spill_free(s);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spill_vram_cpu");
    TCase *tc = tcase_create("cpu");
    tcase_add_test(tc, vram_requests_fail_cleanly);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
