/*
 * test_gpu_rounds_e2e.c - end to end: proofs made with --backend cuda are
 * byte-identical to the CPU backend's for fib, vm, synth small and the
 * three-table test AIR (whose degree-4 table needs a composition domain
 * larger than the blowup), at blowups 2, 4, 8 and VRAM budgets of 512 MiB,
 * 2 GiB and unlimited; the device path ran (kernels launched, device stats
 * set), the measured arena peak stays within the budget and within the
 * reservation made from the plan's estimate, and the proof verifies. When
 * the resident plan does not fit the budget, the streaming device tier
 * makes the proof (same bytes); below the tier's minimum cuda gives
 * SPW_ERR_BUDGET and auto falls back to the CPU (counted).
 * Skips (77) without a GPU.
 */
#include "prover_test_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "gpu_prover.h"
#include "workloads.h"
#include <stdio.h>

static const uint64_t budgets[3] = {(uint64_t)512 << 20, (uint64_t)2 << 30, 0};

static void set_backend(spw_ctx *ctx, int backend, uint64_t budget)
{
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, backend), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)budget), SPW_OK);
}

/* Proves on the CPU, then on the device at every budget; compares bytes,
 * checks the device statistics, verifies. */
static void same_proof(spw_ctx *ctx, const spw_air *air, const spw_trace *trace,
                       const spw_statement *stmt, const char *what)
{
    uint8_t *ref = NULL, *p = NULL;
    size_t ref_len = 0, len = 0;
    set_backend(ctx, SPW_BACKEND_CPU, 0);
    spw_status st = spw_prove(ctx, &ref, &ref_len, air, trace, stmt);
    ck_assert_msg(st == SPW_OK, "%s: cpu prove: %s", what, spw_ctx_last_error(ctx));
    spw_gpu_run_stats gs;
    spw_gpu_last_run(&gs);
    ck_assert_int_eq(gs.used_device, 0);
    for (int b = 0; b < 3; b++) {
        set_backend(ctx, SPW_BACKEND_CUDA, budgets[b]);
        uint64_t k0 = spw_cuda_kernel_launches();
        st = spw_prove(ctx, &p, &len, air, trace, stmt);
        spw_gpu_last_run(&gs);
        ck_assert_msg(st == SPW_OK, "%s: cuda prove (budget %llu MiB): %s: %s", what,
                      (unsigned long long)(budgets[b] >> 20), spw_strerror(st),
                      spw_ctx_last_error(ctx));
        ck_assert_int_eq(gs.used_device, 1);
        ck_assert_uint_gt(gs.kernels, 0);
        ck_assert_uint_ge(spw_cuda_kernel_launches() - k0, gs.kernels);
        ck_assert_uint_gt(gs.peak, 0);
        ck_assert_uint_le(gs.peak, gs.reserved);
        ck_assert_uint_le(gs.reserved, gs.budget);
        if (budgets[b]) ck_assert_uint_eq(gs.budget, budgets[b]);
        /* resident when the plan fits, else the streaming device tier */
        ck_assert_int_eq(gs.streamed, gs.estimate > gs.budget);
        fprintf(stderr, "%s: budget %llu MiB: %s, device peak %.1f MiB, estimate %.1f MiB, "
                "%llu kernels\n", what, (unsigned long long)(gs.budget >> 20),
                gs.streamed ? "streamed" : "resident", gs.peak / 1048576.0,
                gs.estimate / 1048576.0, (unsigned long long)gs.kernels);
        ck_assert_msg(len == ref_len && !memcmp(p, ref, len),
                      "%s: budget %llu MiB: proof differs from the CPU backend's (%zu vs %zu bytes)",
                      what, (unsigned long long)(budgets[b] >> 20), len, ref_len);
        spw_free(p);
        p = NULL;
    }
    ck_assert_int_eq(spw_verify(ctx, air, stmt, ref, ref_len), SPW_OK);
    spw_free(ref);
}

static void workload_case(const char *name, unsigned log_rows, const char *preset, unsigned blowup)
{
    spw_ctx *ctx = make_ctx(0, blowup);
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, name), SPW_OK);
    if (log_rows) wp.log_rows = log_rows;
    if (preset) wp.preset = preset;
    spw_air *air = NULL;
    spw_trace *trace = NULL;
    uint64_t *pub = NULL;
    size_t np = 0;
    char tag[SPW_WORKLOAD_TAG_MAX];
    ck_assert_int_eq(spw_workload_build(ctx, &air, &trace, &pub, &np, tag, sizeof tag, &wp), SPW_OK);
    spw_statement stmt = {pub, np, (const uint8_t *)tag, strlen(tag)};
    char what[160];
    snprintf(what, sizeof what, "%s (blowup %u)", tag, blowup);
    same_proof(ctx, air, trace, &stmt, what);
    spw_workload_free(air, trace, pub);
    spw_ctx_free(ctx);
}

START_TEST(test_fib) { workload_case("fib", 12, NULL, 4); workload_case("fib", 10, NULL, 2); }
END_TEST
START_TEST(test_vm) { workload_case("vm", 12, NULL, 4); workload_case("vm", 10, NULL, 8); }
END_TEST
START_TEST(test_synth) { workload_case("synth", 0, "tiny", 4); workload_case("synth", 0, "small", 4); }
END_TEST

START_TEST(test_small_air)
{
    unsigned blowups[3] = {2, 4, 8};
    for (int i = 0; i < 3; i++) {
        spw_ctx *ctx = make_ctx(0, blowups[i]);
        small_air s;
        small_air_build(ctx, &s);
        spw_statement st = small_stmt(&s);
        char what[64];
        snprintf(what, sizeof what, "small AIR (blowup %u)", blowups[i]);
        same_proof(ctx, s.air, s.trace, &st, what);
        small_air_free(&s);
        spw_ctx_free(ctx);
    }
}
END_TEST

/* A budget far below the plan: cuda refuses with SPW_ERR_BUDGET, auto
 * falls back to the CPU, logged and counted; the bytes are the CPU's. */
START_TEST(test_budget_too_small)
{
    spw_ctx *ctx = make_ctx(0, 4);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement stmt = small_stmt(&s);
    uint8_t *ref = NULL, *p = NULL;
    size_t ref_len = 0, len = 0;
    set_backend(ctx, SPW_BACKEND_CPU, 0);
    ck_assert_int_eq(spw_prove(ctx, &ref, &ref_len, s.air, s.trace, &stmt), SPW_OK);
    set_backend(ctx, SPW_BACKEND_CUDA, 4096);
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &stmt), SPW_ERR_BUDGET);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "below the minimum") &&
                  strstr(spw_ctx_last_error(ctx), "--vram-budget"), "message: %s",
                  spw_ctx_last_error(ctx));
    ck_assert_ptr_null(p);
    uint64_t f0 = spw_gpu_fallbacks();
    set_backend(ctx, SPW_BACKEND_AUTO, 4096);
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &stmt), SPW_OK);
    ck_assert_uint_eq(spw_gpu_fallbacks(), f0 + 1);
    ck_assert(len == ref_len && !memcmp(p, ref, len));
    spw_free(p);
    /* auto with room: the device path runs */
    set_backend(ctx, SPW_BACKEND_AUTO, 0);
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &stmt), SPW_OK);
    spw_gpu_run_stats gs;
    spw_gpu_last_run(&gs);
    ck_assert_int_eq(gs.used_device, 1);
    ck_assert(len == ref_len && !memcmp(p, ref, len));
    spw_free(p);
    spw_free(ref);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

/* A trace that breaks a constraint (variant 0) or only a bus (variant 1:
 * one multiplicity off) fails on the device path with the CPU's status:
 * the device rounds detect it and the host checks name it. */
static void bad_trace_case(int variant)
{
    spw_ctx *ctx = make_ctx(0, 4);
    small_air s;
    small_air_build(ctx, &s);
    if (variant == 0) s.cols[0][3] = gl_add(s.cols[0][3], 1);
    else s.cols[1][(1u << s.log_h[1]) + 0] = gl_add(s.cols[1][(1u << s.log_h[1]) + 0], 1);
    spw_statement stmt = small_stmt(&s);
    uint8_t *p = NULL;
    size_t len = 0;
    set_backend(ctx, SPW_BACKEND_CPU, 0);
    spw_status want = spw_prove(ctx, &p, &len, s.air, s.trace, &stmt);
    ck_assert_int_ne(want, SPW_OK);
    if (variant == 1) ck_assert_int_eq(want, SPW_ERR_BUS_UNBALANCED);
    set_backend(ctx, SPW_BACKEND_CUDA, 0);
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &stmt), want);
    ck_assert_ptr_null(p);
    /* the streaming device tier (checks deferred as well): the same status
     * and a message naming the table */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", spw_ctx_last_error(ctx));
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_MODE, SPW_MODE_SPILLED), SPW_OK);
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &stmt), want);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(spw_ctx_last_error(ctx), msg);
    small_air_free(&s);
    spw_ctx_free(ctx);
}

START_TEST(test_bad_trace) { bad_trace_case(0); bad_trace_case(1); }
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_rounds_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_small_air);
    tcase_add_test(tc, test_budget_too_small);
    tcase_add_test(tc, test_bad_trace);
    tcase_add_test(tc, test_fib);
    tcase_add_test(tc, test_vm);
    tcase_add_test(tc, test_synth);
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
