/*
 * test_plan_calib.c - the per-round calibration of the planner's compute
 * model (src/plan_calib.h): the non-negative least squares against known
 * coefficients; a fit from synthetic timed runs reproduces them and their
 * streaming factor; a fit from real small proofs reproduces the rounds it
 * came from; the calib_* keys round-trip through a probe file, an older
 * file without them still loads and keeps the old model, bad keys are
 * SPW_ERR_PARSE; the plan applies the fit as spw_calib_predict does.
 */
#include "bench_test_util.h"
#include "plan.h"
#include "plan_calib.h"
#include "../examples/workloads.h"
#include "../spill/spill.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static spw_air *vm_air(spw_ctx *ctx, unsigned log_rows)
{
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, "vm"), SPW_OK);
    wp.log_rows = log_rows;
    spw_air *air = NULL;
    ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &wp), SPW_OK);
    return air;
}

static int near(double x, double y, double tol) { return fabs(x - y) <= tol * fmax(fabs(y), 1e-12); }

START_TEST(nnls_known)
{
    uint64_t st = 7;
    double u0[40], u1[40], s[40];
    for (int i = 0; i < 40; i++) {
        u0[i] = (double)(spw_test_rand(&st) % 1000) / 100;
        u1[i] = (double)(spw_test_rand(&st) % 1000) / 100;
        s[i] = 2 * u0[i] + 3 * u1[i] + 0.5;
    }
    double x[3];
    spw_calib_nnls(x, (const double *const[2]){u0, u1}, s, 40);
    ck_assert_msg(near(x[0], 2, 1e-9) && near(x[1], 3, 1e-9) && near(x[2], 0.5, 1e-9),
                  "fit %g %g %g", x[0], x[1], x[2]);
    /* a negative true coefficient: clamped to 0, the others refit */
    for (int i = 0; i < 40; i++) s[i] = 2 * u0[i] - 1 * u1[i] + 30;
    spw_calib_nnls(x, (const double *const[2]){u0, u1}, s, 40);
    ck_assert(x[0] >= 0 && x[1] == 0 && x[2] >= 0);
    ck_assert(near(x[0], 2, 0.2)); /* u0, u1 independent: about the u0 slope */
    /* one point: a single term through it */
    spw_calib_nnls(x, (const double *const[2]){u0, u1}, s, 1);
    ck_assert(near(x[0] * u0[0] + x[1] * u1[0] + x[2], s[0], 1e-9));
}
END_TEST

/* A calibration with every coefficient set (per-table rounds with both
 * unit kinds and a per-table constant). */
static void true_calib(spw_calib *c)
{
    memset(c, 0, sizeof *c);
    c->have = 1;
    c->threads = 4;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        c->a[r] = 0.5 + 0.1 * r;
        c->p[r] = spw_calib_per_table(r) ? 0.3 + 0.05 * r : 0;
        c->b[r] = 1e-4 * (r + 1);
        c->stream[r] = 1;
    }
}

/* Fills a run's times from calibration c (per table for the per-table
 * rounds), times f. */
static void synth_times(spw_calib_run *run, const spw_calib *c, double f)
{
    spw_calib_predict(run->round_s, c, run, c->threads);
    unsigned log_b = spw_log2(run->blowup);
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        run->round_s[r] *= f;
        for (uint32_t t = 0; t < run->def->n_tables; t++) {
            run->table_s[r][t] = -1;
            if (!spw_calib_per_table(r)) continue;
            spw_calib_dims d;
            double uc[SPW_ROUND_COUNT], up[SPW_ROUND_COUNT];
            spw_calib_dims_of(&d, &run->def->tables[t], log_b);
            spw_calib_units(uc, up, &d);
            run->table_s[r][t] =
                uc[r] + up[r] > 0 ? f * spw_calib_seconds(c, r, uc[r], up[r], 1, 0, 0) : 0;
        }
    }
}

START_TEST(fit_synthetic)
{
    spw_ctx *ctx = mk_ctx(1, SPW_BACKEND_CPU);
    spw_air *a[3] = {vm_air(ctx, 10), vm_air(ctx, 13), vm_air(ctx, 12)};
    spw_calib truth, fit;
    true_calib(&truth);
    spw_calib_run *runs = calloc(3, sizeof *runs);
    ck_assert_ptr_nonnull(runs);
    for (int i = 0; i < 3; i++) {
        runs[i].def = spw_air_get_def(a[i]);
        runs[i].blowup = 4;
        synth_times(&runs[i], &truth, 1);
    }
    /* the streamed run is 1.5x slower in every round */
    runs[2].streamed = 1;
    synth_times(&runs[2], &truth, 1.5);
    ck_assert_int_eq(spw_calib_fit(ctx, &fit, runs, 3, truth.threads), SPW_OK);
    ck_assert(fit.have && fit.threads == truth.threads);
    /* the fitted model reproduces every round of the runs it came from */
    for (int i = 0; i < 3; i++) {
        double pred[SPW_ROUND_COUNT];
        spw_calib_predict(pred, &fit, &runs[i], fit.threads);
        for (int r = 0; r < SPW_ROUND_COUNT; r++) {
            if (runs[i].streamed && pred[r] < 1.5e-3) continue; /* too short: factor 1 */
            ck_assert_msg(near(pred[r], runs[i].round_s[r], 1e-6), "run %d round %s: %g vs %g", i,
                          spw_round_names[r], pred[r], runs[i].round_s[r]);
        }
    }
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        if (runs[2].round_s[r] > 1.5e-3)
            ck_assert_msg(near(fit.stream[r], 1.5, 1e-6), "stream %s %g", spw_round_names[r],
                          fit.stream[r]);
    /* no in-memory run: nothing to fit */
    ck_assert_int_eq(spw_calib_fit(ctx, &fit, runs + 2, 1, 1), SPW_ERR_INVALID_ARG);
    /* the exposed share of the disk time: measured = max + x min */
    ck_assert(near(spw_calib_overlap_fit(2.0 + 0.4 * 1.0, 2.0, 1.0), 0.4, 1e-12));
    ck_assert(near(spw_calib_overlap_fit(1.0 + 0.7 * 0.5, 0.5, 1.0), 0.7, 1e-12));
    ck_assert(near(spw_calib_overlap_fit(9.0, 2.0, 1.0), 1, 1e-12));   /* at most all of it */
    ck_assert(near(spw_calib_overlap_fit(1.5, 2.0, 1.0), 0.05, 1e-12)); /* at least 5% */
    ck_assert_double_eq(spw_calib_overlap_fit(2.0, 2.0, 0.05), 0);     /* no disk to speak of */
    /* linear thread scaling from the calibration's threads */
    double p4[SPW_ROUND_COUNT], p8[SPW_ROUND_COUNT];
    spw_calib_predict(p4, &truth, &runs[0], 4);
    spw_calib_predict(p8, &truth, &runs[0], 8);
    ck_assert(near(p8[SPW_ROUND_COMP], p4[SPW_ROUND_COMP] / 2, 1e-12));
    free(runs);
    for (int i = 0; i < 3; i++) spw_workload_free(a[i], NULL, NULL);
    spw_ctx_free(ctx);
}
END_TEST

/* A real timed proof of vm 2^log_rows (in memory or streamed). */
static void timed_run(spw_ctx *ctx, wl_built *b, spw_calib_run *run, unsigned log_rows,
                      int streamed)
{
    build_wl(ctx, b, "vm", log_rows, NULL);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_MODE,
                                       streamed ? SPW_MODE_SPILLED : SPW_MODE_RESIDENT), SPW_OK);
    spw_statement stmt = {b->pub, b->npub, (const uint8_t *)b->tag, strlen(b->tag)};
    uint8_t *proof = NULL;
    size_t len = 0;
    ck_assert_int_eq(spw_prove(ctx, &proof, &len, b->air, b->trace, &stmt), SPW_OK);
    spw_calib_run_from_stats(run, spw_air_get_def(b->air), 4, streamed, &ctx->run_stats);
    spw_free(proof);
}

START_TEST(fit_real_proofs)
{
    spw_ctx *ctx = mk_ctx(2, SPW_BACKEND_CPU);
    wl_built b[3];
    spw_calib_run *runs = calloc(3, sizeof *runs);
    ck_assert_ptr_nonnull(runs);
    timed_run(ctx, &b[0], &runs[0], 10, 0);
    timed_run(ctx, &b[1], &runs[1], 12, 0);
    timed_run(ctx, &b[2], &runs[2], 11, 1);
    /* the in-memory prover reports every table of the per-table rounds */
    for (int r = SPW_ROUND_MAIN; r <= SPW_ROUND_DEEP; r++)
        ck_assert(runs[1].table_s[r][0] > 0);
    spw_calib fit;
    ck_assert_int_eq(spw_calib_fit(ctx, &fit, runs, 3, 2), SPW_OK);
    /* the fit reproduces the proofs it came from: in total within 1.5x
     * (timing noise of a loaded machine; a wrong fit is off by far more) */
    for (int i = 0; i < 3; i++) {
        double pred[SPW_ROUND_COUNT], p = 0, m = 0;
        spw_calib_predict(pred, &fit, &runs[i], 2);
        for (int r = 0; r < SPW_ROUND_COUNT; r++) p += pred[r], m += runs[i].round_s[r];
        ck_assert_msg(p > m / 1.5 && p < 1.5 * m, "run %d: predicted %.4f s, measured %.4f s", i,
                      p, m);
    }
    free(runs);
    for (int i = 0; i < 3; i++) spw_workload_free(b[i].air, b[i].trace, b[i].pub);
    spw_ctx_free(ctx);
}
END_TEST

static void write_file(char *path, size_t cap, const char *text)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, cap, "%s/spw_calib_XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void plan_of(spw_ctx *ctx, spw_plan *plan, const spw_air *air, const char *path)
{
    spw_status st = spw_plan_make(ctx, plan, spw_air_get_def(air), path);
    ck_assert_msg(st == SPW_OK, "%s", spw_ctx_last_error(ctx));
}

START_TEST(probe_file_keys)
{
    spw_ctx *ctx = mk_ctx(4, SPW_BACKEND_CPU);
    spw_air *air = vm_air(ctx, 12);
    const char *old = "# an older probe\nwrite_gbs=1.5\nread_gbs=1.2\ncpu_threads=2\n"
                      "ntt_ns_per_elem_log=0.6\nhash_gbs=3.4\n";
    char path[4200], bad[4200];
    write_file(path, sizeof path, old);
    spw_calib c, back;
    ck_assert_int_eq(spw_calib_load(ctx, &c, path), SPW_OK);
    ck_assert_int_eq(c.have, 0);
    /* without the keys the plan keeps the kernel-priced model */
    spw_plan p0, p1;
    plan_of(ctx, &p0, air, path);
    ck_assert_int_eq(p0.calib.have, 0);
    ck_assert_ptr_null(strstr(p0.compute_source, "per-round"));
    ck_assert_double_eq(p0.shared[SPW_ROUND_FRI].t_compute, 0);
    ck_assert_double_eq(p0.tables[0].rounds[SPW_ROUND_CHECK].t_compute, 0);
    /* the keys round-trip */
    true_calib(&c);
    c.stream[SPW_ROUND_DEEP] = 1.25;
    c.overlap = 0.6;
    ck_assert_int_eq(spw_calib_append(ctx, path, &c), SPW_OK);
    ck_assert_int_eq(spw_calib_load(ctx, &back, path), SPW_OK);
    ck_assert(back.have && back.threads == c.threads && near(back.overlap, 0.6, 1e-9));
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        ck_assert(near(back.a[r], c.a[r], 1e-5) && near(back.p[r], c.p[r], 1e-5) &&
                  near(back.b[r], c.b[r], 1e-5) && near(back.stream[r], c.stream[r], 1e-3));
    /* the bandwidth keys still load beside them */
    spw_spill_probe_result pr;
    ck_assert_int_eq(spw_spill_probe_load(ctx, &pr, path), SPW_OK);
    ck_assert(near(pr.read_gbs, 1.2, 1e-9));
    /* the plan applies the fit as spw_calib_predict does (in memory) */
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_THREADS, 8), SPW_OK);
    plan_of(ctx, &p1, air, path);
    ck_assert(p1.calib.have);
    ck_assert_ptr_nonnull(strstr(p1.compute_source, "per-round fit"));
    spw_calib_run run = {.def = spw_air_get_def(air), .blowup = 4};
    double pred[SPW_ROUND_COUNT], sum = 0;
    spw_calib_predict(pred, &back, &run, 8);
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        ck_assert_msg(near(p1.rounds[r].t_compute, pred[r], 1e-9), "round %s: plan %g, fit %g",
                      spw_round_names[r], p1.rounds[r].t_compute, pred[r]);
        sum += pred[r];
    }
    ck_assert(near(p1.t_compute, sum, 1e-9));
    spw_plan_clear(&p0);
    spw_plan_clear(&p1);
    /* incomplete or bad keys */
    const char *bads[] = {"write_gbs=1\nread_gbs=1\ncalib_threads=2\ncalib_main=1 0 0 1\n",
                          "write_gbs=1\nread_gbs=1\ncalib_threads=2\ncalib_main=1 x 0 1\n",
                          "write_gbs=1\nread_gbs=1\ncalib_threads=0\n",
                          "write_gbs=1\nread_gbs=1\ncalib_threads=2\ncalib_main=1 0 0 0\n",
                          "write_gbs=1\nread_gbs=1\ncalib_threads=2\ncalib_overlap=1.5\n"};
    for (int i = 0; i < 5; i++) {
        write_file(bad, sizeof bad, bads[i]);
        ck_assert_int_eq(spw_calib_load(ctx, &back, bad), SPW_ERR_PARSE);
        ck_assert_int_eq(back.have, 0);
        ck_assert_int_eq(spw_plan_make(ctx, &p0, spw_air_get_def(air), bad), SPW_ERR_PARSE);
        spw_plan_clear(&p0);
        unlink(bad);
    }
    unlink(path);
    spw_workload_free(air, NULL, NULL);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_calib");
    TCase *tc = tcase_create("calib");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, nnls_known);
    tcase_add_test(tc, fit_synthetic);
    tcase_add_test(tc, fit_real_proofs);
    tcase_add_test(tc, probe_file_keys);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
