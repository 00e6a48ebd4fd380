/*
 * test_spill_probe.c - the probe: both engines measure a small file in a
 * fresh directory and leave nothing behind; results survive save/load;
 * malformed result files and bad directories are clear errors; the CPU
 * calibration's keys are positive, round-trip, come all together, and
 * files without them (older probes) still load; the `spillway probe` tool
 * prints the keys and fails cleanly on a bad dir.
 */
#include "check_util.h"
#include "spill.h"
#include "test_spill_util.h"

#include <sys/wait.h>

static spw_ctx *mkctx(void)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

START_TEST(probe_engines_and_save)
{
    spw_ctx *ctx = mkctx();
    char *dir = spill_test_dir();
    static const int engines[2] = {SPW_IO_URING, SPW_IO_THREADS};
    for (int e = 0; e < 2; e++) {
        spw_spill_probe_result r, back;
        spw_status s = spw_spill_probe(ctx, &r, dir, 4u << 20, 4, 256 * 1024, engines[e]);
        ck_assert_msg(s == SPW_OK, "%s", spw_ctx_last_error(ctx));
        ck_assert_int_eq(r.engine, engines[e]);
        ck_assert(r.write_gbs > 0 && r.read_gbs > 0);
        ck_assert_uint_eq(r.size, 4u << 20);
        ck_assert_int_eq(spill_dir_entries(dir), 0);
        char path[4200];
        snprintf(path, sizeof path, "%s.probe", dir);
        ck_assert_int_eq(spw_spill_probe_save(ctx, path, &r), SPW_OK);
        ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_OK);
        ck_assert_str_eq(back.dir, r.dir);
        ck_assert_int_eq(back.engine, r.engine);
        ck_assert_uint_eq(back.size, r.size);
        ck_assert_uint_eq(back.request_size, r.request_size);
        ck_assert(back.write_gbs > r.write_gbs - 0.001 && back.write_gbs < r.write_gbs + 0.001);
        ck_assert(back.read_gbs > r.read_gbs - 0.001 && back.read_gbs < r.read_gbs + 0.001);
        FILE *f = fopen(path, "w");
        fputs("write_gbs=1.5\nread_gbs=fast\n", f);
        fclose(f);
        ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_ERR_PARSE);
        ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), ":2:"));
        f = fopen(path, "w");
        fputs("write_gbs=1.5\n", f);
        fclose(f);
        ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_ERR_PARSE);
        unlink(path);
    }
    spw_spill_probe_result r;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ck_assert_int_eq(spw_spill_probe(ctx, &r, missing, 1 << 20, 0, 0, 0), SPW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), missing));
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST

static int near(double a, double b) { return a > b * (1 - 1e-5) && a < b * (1 + 1e-5); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(probe_cpu_keys)
{
    spw_ctx *ctx = mkctx();
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_THREADS, 2), SPW_OK);
    char *dir = spill_test_dir();
    spw_spill_probe_result r, back;
    spw_status s = spw_spill_probe(ctx, &r, dir, 1u << 20, 2, 256 * 1024, SPW_IO_THREADS);
    ck_assert_msg(s == SPW_OK, "%s", spw_ctx_last_error(ctx));
    ck_assert_uint_eq(r.cpu_threads, 0); /* the disk probe does not calibrate the CPU */
    ck_assert_int_eq(spw_spill_probe_cpu(ctx, &r, 10, 4), SPW_OK);
    ck_assert_uint_eq(r.cpu_threads, 2);
    ck_assert(r.ntt_ns_per_elem_log > 0 && r.ntt_ns_per_elem_log < 1e4);
    ck_assert(r.hash_gbs > 0 && r.hash_gbs < 1e4);
    ck_assert(r.write_gbs > 0); /* the disk results are kept */
    char path[4200];
    snprintf(path, sizeof path, "%s.probe", dir);
    ck_assert_int_eq(spw_spill_probe_save(ctx, path, &r), SPW_OK);
    ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_OK);
    ck_assert_uint_eq(back.cpu_threads, r.cpu_threads);
    ck_assert(near(back.ntt_ns_per_elem_log, r.ntt_ns_per_elem_log));
    ck_assert(near(back.hash_gbs, r.hash_gbs));
    ck_assert(back.read_gbs > r.read_gbs - 0.001 && back.read_gbs < r.read_gbs + 0.001);
    /* an older probe's file: no CPU keys, unknown keys ignored */
    write_text(path, "# old\nwrite_gbs=1.5\nread_gbs=1.25\nfuture_key=7\n");
    ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_OK);
    ck_assert_uint_eq(back.cpu_threads, 0);
    ck_assert(back.ntt_ns_per_elem_log == 0 && back.hash_gbs == 0 && back.read_gbs == 1.25);
    /* the CPU keys come together and are positive */
    static const char *const bad[] = {
        "write_gbs=1\nread_gbs=1\ncpu_threads=4\nntt_ns_per_elem_log=0.5\n",
        "write_gbs=1\nread_gbs=1\ncpu_threads=4\nntt_ns_per_elem_log=0\nhash_gbs=2\n",
        "write_gbs=1\nread_gbs=1\ncpu_threads=0\nntt_ns_per_elem_log=1\nhash_gbs=2\n",
        "write_gbs=1\nread_gbs=1\ncpu_threads=4\nntt_ns_per_elem_log=1\nhash_gbs=-2\n",
        "write_gbs=1\nread_gbs=1\ncpu_threads=4\nntt_ns_per_elem_log=x\nhash_gbs=2\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_ERR_PARSE);
    }
    write_text(path, "write_gbs=1\nread_gbs=1\ncpu_threads=16\nntt_ns_per_elem_log=0.125\nhash_gbs=20.5\n");
    ck_assert_int_eq(spw_spill_probe_load(ctx, &back, path), SPW_OK);
    ck_assert(back.cpu_threads == 16 && back.ntt_ns_per_elem_log == 0.125 && back.hash_gbs == 20.5);
    unlink(path);
    ck_assert_int_eq(spw_spill_probe_cpu(ctx, &r, 30, 4), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}
END_TEST


START_TEST(probe_cli)
{
    const char *bin = getenv("SPW_BIN");
    if (!bin || access(bin, X_OK)) return; /* run outside `make check` */
    char *dir = spill_test_dir();
    char cmd[8400], out[4096];
    snprintf(cmd, sizeof cmd, "%s probe --spill-dir %s --size 2M --request-size 256K --queue-depth 2 --threads 1 "
             "--calib-log-rows 12 2>&1", bin, dir);
    ck_assert_int_eq(spw_test_capture(cmd, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "write_gbs="));
    ck_assert_ptr_nonnull(strstr(out, "read_gbs="));
    ck_assert_ptr_nonnull(strstr(out, "cpu_threads=1\n"));
    ck_assert_ptr_nonnull(strstr(out, "ntt_ns_per_elem_log="));
    ck_assert_ptr_nonnull(strstr(out, "hash_gbs="));
    /* the per-round calibration (small proofs: vm 2^10..2^12) */
    ck_assert_ptr_nonnull(strstr(out, "calib_threads=1\n"));
    ck_assert_ptr_nonnull(strstr(out, "calib_comp="));
    snprintf(cmd, sizeof cmd, "%s probe --calib-log-rows 5 2>&1", bin);
    ck_assert_int_eq(spw_test_capture(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s probe --spill-dir %s/missing 2>&1", bin, dir);
    ck_assert_int_eq(spw_test_capture(cmd, out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "does not exist"));
    snprintf(cmd, sizeof cmd, "%s probe --size 12Q 2>&1", bin);
    ck_assert_int_eq(spw_test_capture(cmd, out, sizeof out), 2);
    ck_assert_int_eq(spill_dir_done(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spill_probe");
    TCase *tc = tcase_create("probe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, probe_engines_and_save);
    tcase_add_test(tc, probe_cpu_keys);
    tcase_add_test(tc, probe_cli);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
