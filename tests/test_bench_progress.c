/*
 * test_bench_progress.c - the progress callback and the run statistics
 * (owner: bench): reports arrive in the prover's round order with valid
 * tables and done <= total; the overall fraction never goes back; the
 * callback's presence does not change the proof bytes; min_interval limits
 * the callbacks of a step; the statistics' per-table times add up to the
 * round times (measured independently by the prover's own round clock);
 * spw_prove_stats_json fails before a prove and is a spillway-stats document
 * after one; bad arguments give distinct statuses; direct reports: rate
 * limit, clamping, and time charged to the right (round, table).
 */
#include "bench_test_util.h"
#include "progress.h"

/* the CPU prover's per-round reports are under test */
static spw_ctx *mk(void) { return mk_ctx(2, SPW_BACKEND_CPU); }

START_TEST(test_reports_in_order)
{
    spw_ctx *ctx = mk();
    static rec r;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &r, 0), SPW_OK);
    uint8_t *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;
    spw_prove_stats ps;
    uint32_t nt = 0;
    ck_assert_int_eq(prove_wl(ctx, "synth", 0, "tiny", &p1, &l1, &ps, &nt), SPW_OK);
    check_reports(&r, nt);
    /* same bytes without the callback */
    ck_assert_int_eq(spw_ctx_set_progress(ctx, NULL, NULL, 0), SPW_OK);
    ck_assert_int_eq(prove_wl(ctx, "synth", 0, "tiny", &p2, &l2, &ps, &nt), SPW_OK);
    ck_assert_uint_eq(l1, l2);
    ck_assert(!memcmp(p1, p2, l1));
    spw_free(p1);
    spw_free(p2);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_rate_limit)
{
    spw_ctx *ctx = mk();
    static rec all, few;
    memset(&all, 0, sizeof all);
    memset(&few, 0, sizeof few);
    uint8_t *p = NULL;
    size_t l = 0;
    uint32_t nt;
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &all, 0), SPW_OK);
    ck_assert_int_eq(prove_wl(ctx, "fib", 10, NULL, &p, &l, NULL, &nt), SPW_OK);
    spw_free(p);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &few, 3600), SPW_OK);
    ck_assert_int_eq(prove_wl(ctx, "fib", 10, NULL, &p, &l, NULL, &nt), SPW_OK);
    spw_free(p);
    /* with an hour's interval only step changes and completions come through,
     * which is every report of this prover (it reports at step boundaries) */
    ck_assert_int_le(few.n, all.n);
    ck_assert_int_gt(few.n, 0);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &few, -1), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &few, 3601), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_ctx_set_progress(NULL, on_progress, &few, 1), SPW_ERR_NULL);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_stats_consistent)
{
    spw_ctx *ctx = mk();
    char *json = NULL;
    size_t jl = 0;
    ck_assert_int_eq(spw_prove_stats_json(ctx, &json, &jl), SPW_ERR_INVALID_ARG);
    ck_assert(strstr(spw_ctx_last_error(ctx), "spw_prove") != NULL);
    ck_assert_int_eq(spw_prove_stats_json(ctx, NULL, &jl), SPW_ERR_NULL);
    uint8_t *p = NULL;
    size_t l = 0;
    spw_prove_stats ps;
    uint32_t nt;
    ck_assert_int_eq(prove_wl(ctx, "vm", 10, NULL, &p, &l, &ps, &nt), SPW_OK);
    const spw_run_stats *s = &ctx->run_stats;
    ck_assert_int_eq(s->valid, 1);
    ck_assert_uint_eq(s->n_tables, nt);
    ck_assert_uint_eq(s->proof_bytes, l);
    ck_assert_uint_eq(s->n_rounds, SPW_ROUND_COUNT);
    for (uint32_t r = 0; r < s->n_rounds; r++) {
        ck_assert_str_eq(s->round_names[r], spw_round_names[r]);
        /* round time = the prover's own clock (spw_prove_stats) */
        ck_assert(s->round_seconds[r] == ps.seconds[r]);
    }
    check_round_sums(s, ps.total);
    /* per-table work for the commitment rounds: a table with more LDE cells
     * reports more bytes in total */
    ck_assert_uint_gt(s->round_bytes[SPW_ROUND_MAIN], 0);
    uint64_t expect = 0;
    for (uint32_t t = 0; t < nt; t++)
        expect += 8ull * s->blowup * s->tables[t].n_main << s->tables[t].log_rows;
    ck_assert_uint_eq(s->round_bytes[SPW_ROUND_MAIN], expect);
    /* host tier present, peak > 0 */
    ck_assert_uint_ge(s->n_tiers, 1);
    ck_assert_str_eq(s->tiers[0].name, "host");
    ck_assert_uint_gt(s->tiers[0].peak, 0);
    ck_assert_int_eq(spw_prove_stats_json(ctx, &json, &jl), SPW_OK);
    ck_assert_uint_eq(strlen(json), jl);
    /* a failed prove clears them */
    {
        spw_free(json);
        json = NULL;
        uint8_t *q = NULL;
        size_t ql = 0;
        ck_assert_int_eq(spw_prove_ex(ctx, &q, &ql, NULL, NULL, NULL, NULL, NULL), SPW_ERR_NULL);
        ck_assert_int_eq(spw_prove_stats_json(ctx, &json, &jl), SPW_ERR_INVALID_ARG);
        ck_assert_int_eq(prove_wl(ctx, "vm", 10, NULL, &q, &ql, &ps, &nt), SPW_OK);
        spw_free(q);
        ck_assert_int_eq(spw_prove_stats_json(ctx, &json, &jl), SPW_OK);
    }
    ck_assert(strstr(json, "\"schema\": \"spillway-stats\"") != NULL);
    ck_assert(strstr(json, "\"name\": \"cpu\"") != NULL);
    spw_free(json);
    spw_free(p);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_stats_recorders)
{
    spw_ctx *ctx = mk();
    spw_stats_begin(ctx);
    spw_stats_link_add(ctx, "disk read", 1000, 0.5, 0);
    spw_stats_link_add(ctx, "disk read", 3000, 0.5, 0);
    spw_stats_link_bound(ctx, "disk read", 1.6);
    spw_stats_fallback(ctx, "io_uring -> threads");
    spw_stats_fallback(ctx, "io_uring -> threads");
    spw_stats_tier_peak(ctx, "device", 100, 1000, "arena");
    spw_stats_tier_peak(ctx, "device", 50, 1000, "arena");
    spw_stats_predict(ctx, NULL, 2.0);
    spw_stats_predict(ctx, "main commit", 1.0);
    const spw_run_stats *s = &ctx->run_stats;
    ck_assert_uint_eq(s->n_links, 1);
    ck_assert_uint_eq(s->links[0].bytes, 4000);
    ck_assert(s->links[0].seconds == 1.0);
    ck_assert(s->links[0].bound_gbps == 1.6);
    ck_assert_uint_eq(s->n_fallbacks, 1);
    ck_assert_uint_eq(s->fallbacks[0].count, 2);
    ck_assert_uint_eq(s->tiers[0].peak, 100);
    ck_assert(s->predicted_total == 2.0);
    ck_assert(s->round_predicted[0] == 1.0);
    /* the table of rounds is bounded */
    for (int i = 0; i < 2 * SPW_STATS_MAX_ROUNDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%d", i);
        int r = spw_stats_round(&ctx->run_stats, name);
        ck_assert(r < SPW_STATS_MAX_ROUNDS);
    }
    spw_ctx_free(ctx);
}
END_TEST

/* Direct reports: the rate limit lets through the first report of a step
 * and its completion only; time between reports goes to the step reported
 * first, checked against the test's own clock. */
START_TEST(test_report_direct)
{
    spw_ctx *ctx = mk();
    static rec r;
    memset(&r, 0, sizeof r);
    spw_stats_begin(ctx);
    spw_stats_table_info(ctx, 0, "a", 4, 1, 0, 1);
    spw_stats_table_info(ctx, 1, "b", 4, 1, 0, 1);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &r, 3600), SPW_OK);
    for (uint64_t d = 0; d <= 100; d++) spw_progress_report(ctx, "main commit", 0, d, 100);
    ck_assert_int_eq(r.n, 2); /* first and done == total */
    ck_assert_uint_eq(r.done[0], 0);
    ck_assert_uint_eq(r.done[1], 100);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &r, 0), SPW_OK);
    r.n = 0;
    for (uint64_t d = 0; d <= 100; d++) spw_progress_report(ctx, "main commit", 1, d, 100);
    ck_assert_int_eq(r.n, 101);
    ck_assert_int_eq(r.table[0], 1);
    ck_assert_int_eq(r.bad_name, 0);
    /* done above total is clamped */
    r.n = 0;
    spw_progress_report(ctx, "main commit", 1, 500, 100);
    ck_assert_uint_eq(r.done[0], 100);
    /* time attribution: each step's time lies between the clock readings
     * taken just outside and just inside the reports that delimit it */
    spw_stats_begin(ctx);
    double a0 = spw_now();
    spw_progress_report(ctx, "DEEP", 0, 0, 10);
    double a1 = spw_now();
    while (spw_now() - a1 < 0.02) {
    }
    double b0 = spw_now();
    spw_progress_report(ctx, "DEEP", 1, 5, 10);
    double b1 = spw_now();
    while (spw_now() - b1 < 0.04) {
    }
    double c0 = spw_now();
    spw_stats_pause(ctx);
    double c1 = spw_now();
    const spw_run_stats *s = &ctx->run_stats;
    int deep = spw_stats_round(&ctx->run_stats, "DEEP");
    ck_assert_int_ge(deep, 0);
    double ta = s->table_seconds[deep][0], tb = s->table_seconds[deep][1];
    ck_assert_msg(ta >= b0 - a1 && ta <= b1 - a0, "table a: %g s, clock says %g .. %g s", ta,
                  b0 - a1, b1 - a0);
    ck_assert_msg(tb >= c0 - b1 && tb <= c1 - b0, "table b: %g s, clock says %g .. %g s", tb,
                  c0 - b1, c1 - b0);
    ck_assert(s->table_seconds[deep][SPW_STATS_MAX_TABLES] == 0);
    ck_assert_uint_eq(s->round_bytes[deep], 10);
    spw_ctx_free(ctx);
}
END_TEST

/* The recorders the GPU path uses: time charged without a report goes to
 * the named (round, table) and nowhere else; the device statistics turn the
 * modeled host memory link into device memory and add the device tier;
 * the per-table reports carry the work units of the round's definition
 * (docs/STATS_SCHEMA.md rounds[].bytes), computed here independently. */
START_TEST(test_gpu_recorders)
{
    spw_ctx *ctx = mk();
    spw_stats_begin(ctx);
    spw_stats_table_info(ctx, 0, "a", 4, 1, 0, 1);
    spw_stats_add_time(ctx, "checks", -1, 0.25);
    spw_stats_add_time(ctx, "checks", 0, 0.5);
    spw_stats_add_time(ctx, "checks", 0, -1.0); /* ignored */
    spw_stats_add_time(ctx, "DEEP", 70, 0.125); /* beyond the detail: "other" */
    const spw_run_stats *s = &ctx->run_stats;
    int ck = spw_stats_round(&ctx->run_stats, "checks"), dp = spw_stats_round(&ctx->run_stats, "DEEP");
    ck_assert_int_eq(ck, 0);
    ck_assert_int_eq(dp, 1);
    ck_assert(s->table_seconds[ck][SPW_STATS_MAX_TABLES] == 0.25);
    ck_assert(s->table_seconds[ck][0] == 0.5);
    ck_assert(s->table_seconds[dp][SPW_STATS_MAX_TABLES] == 0.125);
    double all = 0;
    for (int r = 0; r < SPW_STATS_MAX_ROUNDS; r++)
        for (int t = 0; t <= SPW_STATS_MAX_TABLES; t++) all += s->table_seconds[r][t];
    ck_assert(all == 0.875);
    /* an open step is not disturbed by a charge elsewhere */
    spw_progress_report(ctx, "main commit", 0, 0, 10);
    spw_stats_add_time(ctx, "checks", -1, 1.0);
    ck_assert_int_eq(s->seg_round, spw_stats_round(&ctx->run_stats, "main commit"));
    ck_assert_int_eq(s->seg_table, 0);
    spw_stats_pause(ctx);
    /* device statistics */
    spw_stats_link_add(ctx, "host memory", 4000, 1.0, 1);
    spw_stats_link_bound(ctx, "host memory", 10.0);
    spw_stats_link_add(ctx, "host->device", 1000, 0.5, 0);
    spw_stats_device(ctx, 123, 456);
    ck_assert_str_eq(s->backend, "cuda");
    ck_assert_str_eq(s->links[0].name, "device memory");
    ck_assert(s->links[0].bound_gbps == 0);
    ck_assert_uint_eq(s->links[0].bytes, 4000);
    ck_assert_str_eq(s->links[1].name, "host->device");
    ck_assert_uint_eq(s->links[1].bytes, 1000);
    int dev = -1;
    for (uint32_t i = 0; i < s->n_tiers; i++)
        if (!strcmp(s->tiers[i].name, "device")) dev = (int)i;
    ck_assert_int_ge(dev, 0);
    ck_assert_uint_eq(s->tiers[dev].peak, 123);
    ck_assert_uint_eq(s->tiers[dev].budget, 456);
    /* work units of the per-table reports, from a workload's tables */
    wl_built b;
    build_wl(ctx, &b, "vm", 10, NULL);
    const spw_air_def *def = spw_air_get_def(b.air);
    static rec r;
    memset(&r, 0, sizeof r);
    spw_stats_begin(ctx);
    ck_assert_int_eq(spw_ctx_set_progress(ctx, on_progress, &r, 0), SPW_OK);
    for (unsigned log_b = 1; log_b <= 3; log_b++) {
        uint64_t want_aux = 0, want_deep = 0;
        for (uint32_t t = 0; t < def->n_tables; t++) {
            const spw_air_table *tb = &def->tables[t];
            uint64_t N = (uint64_t)1 << (tb->log_height + log_b);
            uint64_t cols = tb->n_main + 3 * (uint64_t)tb->n_aux + 3 * spw_stark_num_parts(tb);
            ck_assert_uint_eq(spw_progress_units(tb, log_b, SPW_ROUND_MAIN), N * tb->n_main * 8);
            want_aux += N * tb->n_aux * 24;
            want_deep += N * cols * 8;
        }
        r.n = 0;
        for (uint32_t t = 0; t <= def->n_tables; t++)
            spw_progress_table(ctx, def, log_b, SPW_ROUND_AUX, t);
        ck_assert_int_eq(r.n, (int)def->n_tables + 1);
        ck_assert_uint_eq(r.total[0], want_aux);
        ck_assert_uint_eq(r.done[0], 0);
        ck_assert_uint_eq(r.done[def->n_tables], want_aux);
        ck_assert_int_eq(r.table[def->n_tables], -1);
        for (uint32_t t = 0; t < def->n_tables; t++) {
            ck_assert_int_eq(r.table[t], (int)t);
            ck_assert_uint_le(r.done[t], r.done[t + 1]);
        }
        r.n = 0;
        spw_progress_table(ctx, def, log_b, SPW_ROUND_DEEP, def->n_tables);
        ck_assert_uint_eq(r.total[0], want_deep);
    }
    spw_workload_free(b.air, b.trace, b.pub);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bench_progress");
    TCase *tc = tcase_create("progress");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reports_in_order);
    tcase_add_test(tc, test_rate_limit);
    tcase_add_test(tc, test_stats_consistent);
    tcase_add_test(tc, test_stats_recorders);
    tcase_add_test(tc, test_report_direct);
    tcase_add_test(tc, test_gpu_recorders);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
