/*
 * bench_test_util.h - helpers of the progress and statistics tests (owner:
 * bench), shared by the CPU suite (test_bench_progress.c) and the GPU suite
 * (test_bench_gpu.c): a progress callback that records every report, a
 * check of the recorded reports, a prove of a built-in workload, and a check
 * that a round's per-table times add up to its measured time.
 */
#ifndef SPW_BENCH_TEST_UTIL_H
#define SPW_BENCH_TEST_UTIL_H

#include "check_util.h"
#include "internal.h"
#include "stark.h"
#include "stats.h"
#include "workloads.h"

#include <string.h>

typedef struct rec {
    int n;
    int round_idx[4096];
    int table[4096];
    uint64_t done[4096], total[4096];
    double fraction[4096];
    int bad_name;
} rec;

static inline void on_progress(void *user, const spw_progress *p)
{
    rec *r = user;
    if (r->n >= 4096) return;
    int idx = -1;
    for (int k = 0; k < SPW_ROUND_COUNT; k++)
        if (!strcmp(spw_round_names[k], p->round)) idx = k;
    if (idx < 0) r->bad_name++;
    r->round_idx[r->n] = idx;
    r->table[r->n] = p->table;
    r->done[r->n] = p->done;
    r->total[r->n] = p->total;
    r->fraction[r->n] = p->fraction;
    if (p->table >= 0 && !p->table_name) r->bad_name++;
    r->n++;
}

/* A built-in workload (log_rows 0 / preset NULL: its defaults). */
typedef struct wl_built {
    spw_air *air;
    spw_trace *trace;
    uint64_t *pub;
    size_t npub;
    char tag[SPW_WORKLOAD_TAG_MAX];
} wl_built;

static inline void build_wl(spw_ctx *ctx, wl_built *b, const char *wl, unsigned log_rows,
                            const char *preset)
{
    spw_workload_params wp;
    memset(b, 0, sizeof *b);
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, wl), SPW_OK);
    if (log_rows) wp.log_rows = log_rows;
    if (preset) wp.preset = preset;
    ck_assert_int_eq(spw_workload_build(ctx, &b->air, &b->trace, &b->pub, &b->npub, b->tag,
                                        sizeof b->tag, &wp),
                     SPW_OK);
}

/* A context with `threads` worker threads and the given backend. */
static inline spw_ctx *mk_ctx(unsigned threads, int backend)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, backend), SPW_OK);
    return ctx;
}

static inline spw_status prove_wl(spw_ctx *ctx, const char *wl, unsigned log_rows,
                                  const char *preset, uint8_t **proof, size_t *len,
                                  spw_prove_stats *ps, uint32_t *n_tables)
{
    wl_built b;
    build_wl(ctx, &b, wl, log_rows, preset);
    *n_tables = spw_air_num_tables(b.air);
    spw_statement st = {b.pub, b.npub, (const uint8_t *)b.tag, strlen(b.tag)};
    spw_status s = spw_prove_ex(ctx, proof, len, b.air, b.trace, &st, NULL, ps);
    spw_workload_free(b.air, b.trace, b.pub);
    return s;
}

/* Reports arrive in the prover's round order, with valid tables, done <=
 * total and a fraction that never goes back; every per-table round reported
 * every table; every round of the prover was reported. */
static inline void check_reports(const rec *r, uint32_t nt)
{
    ck_assert_int_eq(r->bad_name, 0);
    ck_assert_int_gt(r->n, 3 * (int)nt);
    int last_round = -1;
    double last_frac = 0;
    int seen[SPW_ROUND_COUNT] = {0}, seen_table[SPW_ROUND_COUNT] = {0};
    for (int i = 0; i < r->n; i++) {
        ck_assert_msg(r->round_idx[i] >= last_round, "report %d: round %d after %d", i,
                      r->round_idx[i], last_round);
        last_round = r->round_idx[i];
        ck_assert_msg(r->table[i] >= -1 && r->table[i] < (int)nt, "report %d: table %d", i,
                      r->table[i]);
        ck_assert_msg(r->done[i] <= r->total[i], "report %d: done %llu > total %llu", i,
                      (unsigned long long)r->done[i], (unsigned long long)r->total[i]);
        ck_assert_msg(r->fraction[i] >= last_frac - 1e-12 && r->fraction[i] <= 1.0,
                      "report %d: fraction %g after %g", i, r->fraction[i], last_frac);
        last_frac = r->fraction[i];
        seen[r->round_idx[i]]++;
        if (r->table[i] >= 0) seen_table[r->round_idx[i]]++;
    }
    for (int k = 0; k < SPW_ROUND_COUNT; k++)
        ck_assert_msg(seen[k] > 0, "round %s was never reported", spw_round_names[k]);
    for (int k = SPW_ROUND_MAIN; k <= SPW_ROUND_DEEP; k++)
        ck_assert_msg(seen_table[k] >= (int)nt, "round %s: %d table reports for %u tables",
                      spw_round_names[k], seen_table[k], nt);
}

/* The per-table times of every round (+ the time not per table) add up to
 * the round's wall time (tolerance of docs/STATS_SCHEMA.md: 25% + 20 ms),
 * and the rounds add up to the call's time. */
static inline void check_round_sums(const spw_run_stats *s, double total)
{
    double sum = 0;
    for (uint32_t r = 0; r < s->n_rounds; r++) {
        double part = 0;
        for (int t = 0; t <= SPW_STATS_MAX_TABLES; t++) part += s->table_seconds[r][t];
        double sec = s->round_seconds[r];
        ck_assert_msg(part <= sec * 1.25 + 0.02 && part >= sec * 0.75 - 0.02,
                      "round %s: tables add to %g s, the prover measured %g s", s->round_names[r],
                      part, sec);
        sum += sec;
    }
    ck_assert_msg(sum <= total * 1.05 + 1e-3 && sum >= total * 0.95 - 1e-3,
                  "rounds add to %g s, the call took %g s", sum, total);
}

#endif
