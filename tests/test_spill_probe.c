/*
 * test_spill_probe.c - the probe: both engines measure a small file in a
 * fresh directory and leave nothing behind; results survive save/load;
 * malformed result files and bad directories are clear errors; the
 * `spillway probe` tool prints the keys and fails cleanly on a bad dir.
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

static int run_tool(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(probe_cli)
{
    const char *bin = getenv("SPW_BIN");
    if (!bin || access(bin, X_OK)) return; /* run outside `make check` */
    char *dir = spill_test_dir();
    char cmd[8400], out[4096];
    snprintf(cmd, sizeof cmd, "%s probe --spill-dir %s --size 2M --request-size 256K --queue-depth 2 2>&1",
             bin, dir);
    ck_assert_int_eq(run_tool(cmd, out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "write_gbs="));
    ck_assert_ptr_nonnull(strstr(out, "read_gbs="));
    snprintf(cmd, sizeof cmd, "%s probe --spill-dir %s/missing 2>&1", bin, dir);
    ck_assert_int_eq(run_tool(cmd, out, sizeof out), 1);
    ck_assert_ptr_nonnull(strstr(out, "does not exist"));
    snprintf(cmd, sizeof cmd, "%s probe --size 12Q 2>&1", bin);
    ck_assert_int_eq(run_tool(cmd, out, sizeof out), 2);
    ck_assert_int_eq(spill_dir_done(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spill_probe");
    TCase *tc = tcase_create("probe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, probe_engines_and_save);
    tcase_add_test(tc, probe_cli);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
