/*
 * test_gpu_stream.c - the streaming device tier (src/sched/dev.h) against
 * the CPU backend's in-memory prover: fib, vm and synth small proven with
 * --backend cuda at VRAM budgets of 512 MiB, 2 GiB and unlimited with the
 * streamed schedule forced (--mode spilled), with a host budget far below
 * the working set so that the spill store pages to NVMe, and a vm table
 * whose resident plan is above 512 MiB so that auto streams on its own.
 * Every proof is byte-identical to the CPU's and verifies; the device path
 * ran (kernels, bytes over the link, the FRI layers on the device), the
 * arena peak stays within the budget. A case whose FRI layers are refused
 * device room (SPW_SDEV_FRI_ROOM=0) commits FRI on the host, counted, with
 * the same bytes. The budgets run with the LDE stored (SPW_RECOMPUTE=0)
 * and recomputed by cosets (the recompute tier), and the test checks
 * which ran. Skips (77) without a GPU.
 */
#include "prover_test_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "gpu_prover.h"
#include "plan.h"
#include "sched/dev.h"
#include "workload_test_util.h"
#include <stdio.h>

static void settings(spw_ctx *ctx, int backend, int mode, uint64_t vram, uint64_t host)
{
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, backend), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_MODE, mode), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)vram), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)host), SPW_OK);
}

/* Proves with the current settings on the device; checks that the
 * streaming tier made it, the statistics, where FRI ran (fri_host: on the
 * host, for want of device room), the bytes against ref. */
static void device_case(spw_ctx *ctx, built *b, const uint8_t *ref, size_t ref_len, const char *what,
                        uint64_t vram, int expect_nvme, int fri_host)
{
    /* SPW_RECOMPUTE=0: the stored-LDE path, no coset passes; else these
     * small tables all fit the recompute tier */
    const char *rc = getenv("SPW_RECOMPUTE");
    int recompute = !rc || atoi(rc) != 0;
    uint64_t c0 = spw_sdev_cosets_total();
    spw_statement st = built_stmt(b);
    spw_plan plan; /* the device tier's plan, which the run executes */
    ck_assert_int_eq(spw_plan_make_device(ctx, &plan, spw_air_get_def(b->air), NULL), SPW_OK);
    int nvme = plan.nvme_bytes > 0;
    uint32_t nrec = plan.n_recompute;
    spw_plan_clear(&plan);
    if (expect_nvme) ck_assert_msg(nvme, "%s: the plan should page to NVMe", what);
    ck_assert_msg(recompute == (nrec > 0), "%s: the plan recomputes %u tables (SPW_RECOMPUTE=%s)",
                  what, nrec, rc ? rc : "unset");
    uint8_t *p = NULL;
    size_t len = 0;
    uint64_t k0 = spw_cuda_kernel_launches(), h0 = spw_cuda_bytes_h2d(), fl0, ff0, fl1, ff1;
    spw_sdev_fri_totals(&fl0, &ff0);
    double t0 = spw_now();
    spw_status s = spw_prove(ctx, &p, &len, b->air, b->trace, &st);
    double t = spw_now() - t0;
    ck_assert_msg(s == SPW_OK, "%s: %s", what, spw_ctx_last_error(ctx));
    spw_gpu_run_stats gs;
    spw_gpu_last_run(&gs);
    ck_assert_msg(gs.used_device && gs.streamed, "%s: the streaming device tier did not run", what);
    spw_sdev_fri_totals(&fl1, &ff1);
    if (fri_host)
        ck_assert_msg(fl1 == fl0 && ff1 == ff0 + 1, "%s: FRI should have fallen back to the host "
                      "(%llu layers on the device, %llu fallbacks)", what,
                      (unsigned long long)(fl1 - fl0), (unsigned long long)(ff1 - ff0));
    else
        ck_assert_msg(fl1 > fl0 && ff1 == ff0, "%s: FRI did not run on the device (%llu layers, "
                      "%llu fallbacks)", what, (unsigned long long)(fl1 - fl0),
                      (unsigned long long)(ff1 - ff0));
    uint64_t nco = spw_sdev_cosets_total() - c0; /* the run did what the plan said */
    if (recompute) ck_assert_msg(nco > 0, "%s: the recompute tier did not run", what);
    else ck_assert_msg(nco == 0, "%s: %llu coset passes with SPW_RECOMPUTE=0", what, (unsigned long long)nco);
    ck_assert_uint_gt(gs.kernels, 0);
    ck_assert_uint_ge(spw_cuda_kernel_launches() - k0, gs.kernels);
    ck_assert_uint_gt(gs.h2d_bytes, 0);
    ck_assert_uint_gt(gs.d2h_bytes, 0);
    ck_assert_uint_ge(spw_cuda_bytes_h2d() - h0, gs.h2d_bytes);
    ck_assert_uint_gt(gs.peak, 0);
    ck_assert_uint_le(gs.peak, gs.budget);
    if (vram) ck_assert_uint_eq(gs.budget, vram);
    fprintf(stderr, "%s (%s): %.3f s, streamed, %s, arena peak %.1f MiB of %.0f MiB, %.1f MiB h2d, "
            "%.1f MiB d2h, %llu kernels\n", what, recompute ? "LDE recomputed by cosets" : "LDE stored", t, nvme ? "NVMe" : "host pool",
            gs.peak / 1048576.0, gs.budget / 1048576.0, gs.h2d_bytes / 1048576.0, gs.d2h_bytes / 1048576.0,
            (unsigned long long)gs.kernels);
    ck_assert_msg(len == ref_len && !memcmp(p, ref, len),
                  "%s: proof differs from the CPU backend's (%zu vs %zu bytes)", what, len, ref_len);
    ck_assert_int_eq(spw_verify(ctx, b->air, &st, p, len), SPW_OK);
    spw_free(p);
}

static void workload(const char *name, unsigned log_rows, const char *preset)
{
    spw_ctx *ctx = make_ctx(0, 4);
    const char *t = getenv("TMPDIR");
    ck_assert_int_eq(spw_ctx_set_spill_dir(ctx, t && *t ? t : "/tmp"), SPW_OK);
    built b;
    build_named(ctx, &b, name, log_rows, preset);
    spw_statement st = built_stmt(&b);
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    settings(ctx, SPW_BACKEND_CPU, SPW_MODE_RESIDENT, 0, 0);
    ck_assert_int_eq(spw_prove(ctx, &ref, &ref_len, b.air, b.trace, &st), SPW_OK);
    /* the in-memory working set, for a host budget that forces NVMe */
    spw_plan plan;
    settings(ctx, SPW_BACKEND_CPU, SPW_MODE_SPILLED, 0, 0);
    ck_assert_int_eq(spw_plan_make(ctx, &plan, spw_air_get_def(b.air), NULL), SPW_OK);
    uint64_t ws = plan.resident_total;
    spw_plan_clear(&plan);
    static const uint64_t vram[3] = {(uint64_t)512 << 20, (uint64_t)2 << 30, 0};
    char what[200];
    for (int i = 0; i < 6; i++) { /* LDE stored, then recomputed */
        setenv("SPW_RECOMPUTE", i < 3 ? "0" : "1", 1);
        settings(ctx, SPW_BACKEND_CUDA, SPW_MODE_SPILLED, vram[i % 3], 0);
        snprintf(what, sizeof what, "%s, spilled, vram %llu MiB, host unlimited", b.tag,
                 (unsigned long long)(vram[i % 3] >> 20));
        device_case(ctx, &b, ref, ref_len, what, vram[i % 3], 0, 0);
    }
    setenv("SPW_RECOMPUTE", "0", 1);
    /* no device room for the FRI layers: FRI on the host, same bytes */
    setenv("SPW_SDEV_FRI_ROOM", "0", 1);
    settings(ctx, SPW_BACKEND_CUDA, SPW_MODE_SPILLED, (uint64_t)512 << 20, 0);
    snprintf(what, sizeof what, "%s, spilled, vram 512 MiB, FRI on the host", b.tag);
    device_case(ctx, &b, ref, ref_len, what, (uint64_t)512 << 20, 0, 1);
    unsetenv("SPW_SDEV_FRI_ROOM");
    /* the smallest host budget the device plan takes (from 1/64 of the
     * working set up): below the working set, the store pages to NVMe, LDE
     * stored and recomputed (whose store is smaller, so its budget is too;
     * fib's minimum is above its working set) */
    for (int rc = 0; rc < 2; rc++) {
        setenv("SPW_RECOMPUTE", rc ? "1" : "0", 1);
        uint64_t host = ws / 64;
        for (;; host += host / 4 + 1) {
            settings(ctx, SPW_BACKEND_CUDA, SPW_MODE_SPILLED, (uint64_t)512 << 20, host);
            if (spw_plan_make_device(ctx, &plan, spw_air_get_def(b.air), NULL) == SPW_OK) break;
            spw_plan_clear(&plan);
        }
        spw_plan_clear(&plan);
        snprintf(what, sizeof what, "%s, spilled, vram 512 MiB, host %llu KiB of %llu KiB", b.tag,
                 (unsigned long long)(host >> 10), (unsigned long long)(ws >> 10));
        device_case(ctx, &b, ref, ref_len, what, (uint64_t)512 << 20, host < ws, 0);
    }
    /* odd tables recomputed, even ones stored: one proof, both kinds of roll-in */
    if (spw_air_get_def(b.air)->n_tables > 1) {
        setenv("SPW_RECOMPUTE", "2", 1);
        settings(ctx, SPW_BACKEND_CUDA, SPW_MODE_SPILLED, (uint64_t)2 << 30, 0);
        snprintf(what, sizeof what, "%s, spilled, vram 2 GiB, odd tables recomputed", b.tag);
        device_case(ctx, &b, ref, ref_len, what, (uint64_t)2 << 30, 0, 0);
    }
    unsetenv("SPW_RECOMPUTE");
    spw_free(ref);
    spw_workload_free(b.air, b.trace, b.pub);
    spw_ctx_free(ctx);
}

START_TEST(test_fib) { workload("fib", 12, NULL); }
END_TEST
START_TEST(test_vm) { workload("vm", 12, NULL); }
END_TEST
START_TEST(test_synth) { workload("synth", 0, "small"); }
END_TEST
START_TEST(test_vm_nvme) { workload("vm", 15, NULL); }
END_TEST

/* vm 2^17: the resident plan is above 512 MiB, so cuda and auto stream on
 * their own (no forced mode), with the CPU's bytes. */
START_TEST(test_auto_streams)
{
    spw_ctx *ctx = make_ctx(0, 4);
    built b;
    build_named(ctx, &b, "vm", 17, NULL);
    ck_assert_uint_gt(spw_gpu_estimate(spw_air_get_def(b.air), 4), (uint64_t)512 << 20);
    spw_statement st = built_stmt(&b);
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    settings(ctx, SPW_BACKEND_CPU, SPW_MODE_AUTO, 0, 0);
    ck_assert_int_eq(spw_prove(ctx, &ref, &ref_len, b.air, b.trace, &st), SPW_OK);
    settings(ctx, SPW_BACKEND_CUDA, SPW_MODE_AUTO, (uint64_t)512 << 20, 0);
    device_case(ctx, &b, ref, ref_len, "vm 2^17, cuda, auto, vram 512 MiB", (uint64_t)512 << 20, 0, 0);
    settings(ctx, SPW_BACKEND_AUTO, SPW_MODE_AUTO, (uint64_t)512 << 20, 0);
    device_case(ctx, &b, ref, ref_len, "vm 2^17, auto, auto, vram 512 MiB", (uint64_t)512 << 20, 0, 0);
    spw_free(ref);
    spw_workload_free(b.air, b.trace, b.pub);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fib);
    tcase_add_test(tc, test_vm);
    tcase_add_test(tc, test_synth);
    tcase_add_test(tc, test_vm_nvme);
    tcase_add_test(tc, test_auto_streams);
    suite_add_tcase(s, tc);
    return spw_run_gpu_suite(s);
}
#else
int main(void) { return 77; }
#endif
