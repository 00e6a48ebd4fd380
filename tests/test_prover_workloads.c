/*
 * test_prover_workloads.c - every example workload proves and verifies at
 * several small sizes and every blowup; vm proofs are identical for 1 and 2
 * threads; and the command line: prove/verify of a workload and of an .air
 * file with a trace directory, --help, a tampered proof file, a forced bad
 * trace, and byte-identical output of the same command run twice.
 */
#include "check_util.h"
#include "stark.h"
#include "workloads.h"

#include <string.h>
#include <unistd.h>
#include <stdarg.h>
#include <sys/wait.h>

static spw_ctx *mk(unsigned threads, unsigned blowup)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    o.log_level = SPW_LOG_ERROR;
    spw_ctx *ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, blowup), SPW_OK);
    return ctx;
}

/* Proves and verifies; the verifier rebuilds the AIR from the proof's tag
 * and heights exactly like `spillway verify`. Returns the proof. */
static uint8_t *prove_workload(const char *name, unsigned log_rows, const char *preset,
                               unsigned threads, unsigned blowup, size_t *len)
{
    spw_ctx *ctx = mk(threads, blowup);
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, name), SPW_OK);
    if (log_rows) wp.log_rows = log_rows;
    if (preset) wp.preset = preset;
    spw_air *air;
    spw_trace *trace;
    uint64_t *pub;
    size_t np;
    char tag[SPW_WORKLOAD_TAG_MAX];
    ck_assert_int_eq(spw_workload_build(ctx, &air, &trace, &pub, &np, tag, sizeof tag, &wp), SPW_OK);
    spw_statement st = {pub, np, (const uint8_t *)tag, strlen(tag)};
    uint8_t *p;
    spw_status r = spw_prove(ctx, &p, len, air, trace, &st);
    ck_assert_msg(r == SPW_OK, "%s 2^%u blowup %u: prove: %s", name, log_rows, blowup,
                  spw_ctx_last_error(ctx));
    spw_workload_free(air, trace, pub);
    /* verifier side: only the proof */
    spw_proof_info *info;
    ck_assert_int_eq(spw_proof_inspect(ctx, &info, p, *len), SPW_OK);
    ck_assert_uint_eq(info->blowup, blowup);
    spw_workload_params vp;
    ck_assert_int_eq(spw_workload_parse_tag(ctx, &vp, (const char *)info->tag), SPW_OK);
    spw_air *vair;
    ck_assert_int_eq(spw_workload_build(ctx, &vair, NULL, NULL, NULL, NULL, 0, &vp), SPW_OK);
    for (uint32_t t = 0; t < info->n_tables; t++)
        ck_assert_int_eq(spw_air_set_table_height(vair, t, info->log_heights[t]), SPW_OK);
    spw_statement vs = {info->publics, info->n_publics, info->tag, info->tag_len};
    r = spw_verify(ctx, vair, &vs, p, *len);
    ck_assert_msg(r == SPW_OK, "%s 2^%u blowup %u: verify: %s", name, log_rows, blowup,
                  spw_ctx_last_error(ctx));
    spw_workload_free(vair, NULL, NULL);
    spw_proof_info_free(info);
    spw_ctx_free(ctx);
    return p;
}

START_TEST(test_fib_sizes_blowups)
{
    static const unsigned logs[] = {1, 3, 6, 9};
    for (unsigned b = 2; b <= 8; b *= 2)
        for (size_t i = 0; i < sizeof logs / sizeof *logs; i++) {
            size_t len;
            spw_free(prove_workload("fib", logs[i], NULL, 2, b, &len));
        }
}
END_TEST

START_TEST(test_vm_blowups)
{
    unsigned b = 2u << _i;
    size_t len;
    spw_free(prove_workload("vm", 10, NULL, 2, b, &len));
}
END_TEST

START_TEST(test_vm_threads_identical)
{
    size_t l1, l2;
    uint8_t *p1 = prove_workload("vm", 11, NULL, 1, 4, &l1);
    uint8_t *p2 = prove_workload("vm", 11, NULL, 2, 4, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(!memcmp(p1, p2, l1));
    spw_free(p1);
    spw_free(p2);
}
END_TEST

START_TEST(test_synth_tiny_blowups)
{
    for (unsigned b = 2; b <= 8; b *= 2) {
        size_t len;
        spw_free(prove_workload("synth", 0, "tiny", 2, b, &len));
    }
}
END_TEST

/* The fast composition and DEEP paths against the reference ones on the
 * synth and vm workloads (many constraint shapes): identical bytes. */
START_TEST(test_reference_paths_same_bytes)
{
    static const char *names[2] = {"synth", "vm"};
    for (int w = 0; w < 2; w++) {
        spw_ctx *ctx = mk(2, 2);
        spw_workload_params wp;
        ck_assert_int_eq(spw_workload_defaults(ctx, &wp, names[w]), SPW_OK);
        if (w == 1) wp.log_rows = 10;
        spw_air *air;
        spw_trace *trace;
        uint64_t *pub;
        size_t np;
        char tag[SPW_WORKLOAD_TAG_MAX];
        ck_assert_int_eq(spw_workload_build(ctx, &air, &trace, &pub, &np, tag, sizeof tag, &wp), SPW_OK);
        spw_statement st = {pub, np, (const uint8_t *)tag, strlen(tag)};
        uint8_t *p1, *p2;
        size_t l1, l2;
        spw_prove_opts ref = {.reference_eval = 1};
        ck_assert_int_eq(spw_prove(ctx, &p1, &l1, air, trace, &st), SPW_OK);
        ck_assert_int_eq(spw_prove_ex(ctx, &p2, &l2, air, trace, &st, &ref, NULL), SPW_OK);
        ck_assert_uint_eq(l1, l2);
        ck_assert_msg(!memcmp(p1, p2, l1), "%s: reference and fast paths differ", names[w]);
        spw_free(p1);
        spw_free(p2);
        spw_workload_free(air, trace, pub);
        spw_ctx_free(ctx);
    }
}
END_TEST

/* ---- the command line ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static const char *bin(void)
{
    const char *b = getenv("SPW_BIN");
    return b && *b ? b : "./spillway";
}

START_TEST(test_cli_workload)
{
    char dir[] = "/tmp/spw_prover_cliXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *B = bin();
    ck_assert_int_eq(sh("%s prove --help >/dev/null", B), 0);
    ck_assert_int_eq(sh("%s verify --help >/dev/null", B), 0);
    ck_assert_int_eq(sh("%s prove --workload fib --log-rows 7 -q -o %s/a.proof", B, dir), 0);
    ck_assert_int_eq(sh("%s prove --workload fib --log-rows 7 -q --threads 1 -o %s/b.proof", B, dir), 0);
    ck_assert_int_eq(sh("cmp -s %s/a.proof %s/b.proof", dir, dir), 0);
    ck_assert_int_eq(sh("%s verify --workload fib %s/a.proof >/dev/null", B, dir), 0);
    /* wrong workload name, tampered file, garbage file: exit != 0 */
    ck_assert_int_ne(sh("%s verify --workload vm %s/a.proof 2>/dev/null", B, dir), 0);
    ck_assert_int_eq(sh("printf '\\001' | dd of=%s/b.proof bs=1 seek=3000 conv=notrunc 2>/dev/null", dir), 0);
    ck_assert_int_ne(sh("%s verify --workload fib %s/b.proof 2>/dev/null", B, dir), 0);
    ck_assert_int_ne(sh("head -c 100 %s/a.proof > %s/c.proof && %s verify --workload fib %s/c.proof 2>/dev/null",
                        dir, dir, B, dir), 0);
    ck_assert_int_ne(sh("%s prove --workload fib --blowup 3 -o %s/x 2>/dev/null", B, dir), 0);
    ck_assert_int_eq(sh("%s prove --workload fib --log-rows 5 --blowup 8 -q -o %s/d.proof && "
                        "%s verify --workload fib %s/d.proof >/dev/null", B, dir, B, dir), 0);
    sh("rm -rf %s", dir);
}
END_TEST

/* lookup.air with a trace directory written by the library, through the CLI. */
START_TEST(test_cli_air)
{
    const char *data = getenv("SPW_TEST_DATA");
    if (!data || !*data) data = "tests/data";
    char path[1024];
    snprintf(path, sizeof path, "%s/lookup.air", data);
    char dir[] = "/tmp/spw_prover_airXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    spw_ctx *ctx = mk(2, 4);
    spw_air *air;
    ck_assert_int_eq(spw_air_parse_file(ctx, &air, path), SPW_OK);
    const unsigned lh = 4;
    const size_t n = 1u << lh;
    ck_assert_int_eq(spw_air_set_table_height(air, 0, lh), SPW_OK);
    ck_assert_int_eq(spw_air_set_table_height(air, 1, lh), SPW_OK);
    uint64_t cpu[2 * 16], lut[5 * 16];
    for (size_t r = 0; r < n; r++) {
        cpu[r] = r;
        cpu[n + r] = r * r;
        lut[r] = r;
        lut[n + r] = r * r;
        lut[2 * n + r] = 1;
        lut[3 * n + r] = 1;
        lut[4 * n + r] = r;
    }
    spw_trace *tr;
    ck_assert_int_eq(spw_trace_create(ctx, &tr, air), SPW_OK);
    ck_assert_int_eq(spw_trace_set_table(tr, 0, cpu, 2 * n), SPW_OK);
    ck_assert_int_eq(spw_trace_set_table(tr, 1, lut, 5 * n), SPW_OK);
    ck_assert_int_eq(spw_trace_write_dir(ctx, tr, dir), SPW_OK);
    const char *B = bin();
    ck_assert_int_eq(sh("%s prove --air %s --trace %s -q -o %s/p.proof", B, path, dir, dir), 0);
    ck_assert_int_eq(sh("%s verify --air %s %s/p.proof >/dev/null", B, path, dir), 0);
    /* a bus off by one: refused, then forced through and rejected */
    lut[4 * n + 3] = 4;
    ck_assert_int_eq(spw_trace_write_dir(ctx, tr, dir), SPW_OK);
    ck_assert_int_ne(sh("%s prove --air %s --trace %s -q -o %s/q.proof 2>/dev/null", B, path, dir, dir), 0);
    ck_assert_int_eq(sh("%s prove --air %s --trace %s --force -q -o %s/q.proof", B, path, dir, dir), 0);
    ck_assert_int_ne(sh("%s verify --air %s %s/q.proof 2>/dev/null", B, path, dir), 0);
    spw_trace_free(tr);
    spw_air_free(air);
    spw_ctx_free(ctx);
    sh("rm -rf %s", dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prover_workloads");
    TCase *tc = tcase_create("workloads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_fib_sizes_blowups);
    tcase_add_loop_test(tc, test_vm_blowups, 0, 3);
    tcase_add_test(tc, test_vm_threads_identical);
    tcase_add_test(tc, test_synth_tiny_blowups);
    tcase_add_test(tc, test_reference_paths_same_bytes);
    tcase_add_test(tc, test_cli_workload);
    tcase_add_test(tc, test_cli_air);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
