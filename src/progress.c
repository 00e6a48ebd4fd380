/*
 * progress.c - progress reports of a prove call (owner: bench): attributes
 * wall time to (round, table) steps in the run statistics and forwards
 * rate-limited spw_progress reports to the callback of spw_ctx_set_progress.
 */
#include "progress.h"
#include "air.h"
#include "stark.h"
#include "stats.h"

#include <string.h>

/* Typical share of each round in a CPU prove (medians of vm 2^14..2^16 and
 * synth small, blowup 4, 2 threads: spillway bench --quick, docs/
 * PERFORMANCE.md); rounds not listed weigh 0. */
static const struct {
    const char *name;
    double w;
} weights[] = {
    {"checks", 0.04},      {"main commit", 0.20}, {"aux (LogUp) commit", 0.09},
    {"composition", 0.38}, {"out-of-domain", 0.07}, {"DEEP", 0.16},
    {"FRI", 0.05},         {"grinding", 0.005},   {"queries", 0.003},
    {"encode", 0.002},
};

double spw_progress_round_weight(const char *round)
{
    for (size_t i = 0; i < sizeof weights / sizeof *weights; i++)
        if (!strcmp(weights[i].name, round)) return weights[i].w;
    return 0;
}

uint64_t spw_progress_units(const spw_air_table *tb, unsigned log_b, int round)
{
    uint64_t n = (uint64_t)1 << tb->log_height, N = n << log_b;
    uint64_t all = (uint64_t)tb->n_main + 3u * tb->n_aux + 3u * spw_stark_num_parts(tb);
    switch (round) {
    case SPW_ROUND_CHECK: return 8 * n * tb->n_main;
    case SPW_ROUND_MAIN: return 8 * N * tb->n_main;
    case SPW_ROUND_AUX: return 24 * N * tb->n_aux;
    case SPW_ROUND_COMP: return 24 * N * spw_stark_num_parts(tb);
    case SPW_ROUND_OOD: return 8 * n * all;
    default: return 8 * N * all; /* DEEP */
    }
}

void spw_progress_table(const spw_ctx *ctx, const spw_air_def *def, unsigned log_b, int round,
                        uint32_t t)
{
    uint64_t done = 0, total = 0;
    for (uint32_t i = 0; i < def->n_tables; i++) {
        uint64_t u = spw_progress_units(&def->tables[i], log_b, round);
        total += u;
        if (i < t) done += u;
    }
    spw_progress_report(ctx, spw_round_names[round], t < def->n_tables ? (int)t : -1, done,
                        total);
}

spw_status spw_ctx_set_progress(spw_ctx *ctx, spw_progress_fn fn, void *user,
                                double min_interval)
{
    if (!ctx) return SPW_ERR_NULL;
    if (!(min_interval >= 0 && min_interval <= 3600))
        return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                        "progress: min_interval %g s is outside 0 .. 3600", min_interval);
    ctx->progress_fn = fn;
    ctx->progress_user = user;
    ctx->progress_interval = min_interval;
    return SPW_OK;
}

/* Estimated share of the whole prove done when round r is at done/total:
 * from the planner's predictions when it gave one for every round seen so
 * far, else from the typical shares above. */
static double overall_fraction(const spw_run_stats *s, int r, double in_round)
{
    int use_plan = s->predicted_total > 0;
    for (int i = 0; i <= r && use_plan; i++)
        if (s->round_predicted[i] < 0) use_plan = 0;
    double before = 0, cur, all;
    if (use_plan) {
        for (int i = 0; i < r; i++) before += s->round_predicted[i];
        cur = s->round_predicted[r];
        all = s->predicted_total;
    } else {
        all = 0;
        for (size_t i = 0; i < sizeof weights / sizeof *weights; i++) all += weights[i].w;
        for (int i = 0; i < r; i++) before += spw_progress_round_weight(s->round_names[i]);
        cur = spw_progress_round_weight(s->round_names[r]);
    }
    double f = all > 0 ? (before + cur * in_round) / all : 0;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

void spw_progress_report(const spw_ctx *cctx, const char *round, int table, uint64_t done,
                         uint64_t total)
{
    if (!cctx || !round) return;
    spw_ctx *ctx = (spw_ctx *)cctx; /* progress state is mutable, like last_error */
    spw_run_stats *s = &ctx->run_stats;
    double now = spw_now();
    int r = spw_stats_round(s, round);
    if (r < 0) return;
    if (table < -1) table = -1;
    int changed = r != s->seg_round || table != s->seg_table;
    if (s->round_t0[r] == 0) s->round_t0[r] = now;
    if (changed) {
        if (s->seg_round >= 0) {
            int col = s->seg_table >= 0 && s->seg_table < SPW_STATS_MAX_TABLES
                          ? s->seg_table
                          : SPW_STATS_MAX_TABLES;
            s->table_seconds[s->seg_round][col] += now - s->seg_start;
        }
        s->seg_round = r;
        s->seg_table = table;
        s->seg_start = now;
        if (ctx->log_level >= SPW_LOG_DEBUG) {
            const char *tn = table >= 0 && table < SPW_STATS_MAX_TABLES ? s->tables[table].name
                                                                        : "-";
            spw_log(ctx, SPW_LOG_DEBUG, "progress: %.3f s: %s, table %s, %llu of %llu bytes",
                    now - s->t_start, round, tn, (unsigned long long)done,
                    (unsigned long long)total);
        }
    }
    if (total > s->round_bytes[r]) s->round_bytes[r] = total;
    if (done > total) done = total;
    if (!ctx->progress_fn) return;
    if (!changed && done < total && now - s->last_emit < ctx->progress_interval) return;
    s->last_emit = now;
    spw_progress p;
    memset(&p, 0, sizeof p);
    p.round = s->round_names[r];
    p.table = table;
    p.table_name = table >= 0 && table < SPW_STATS_MAX_TABLES && s->tables[table].name[0]
                       ? s->tables[table].name
                       : NULL;
    p.done = done;
    p.total = total;
    double in_round = now - s->round_t0[r];
    p.rate = in_round > 0 && done ? (double)done / in_round : 0;
    p.round_eta = p.rate > 0 ? (double)(total - done) / p.rate : -1;
    p.elapsed = now - s->t_start;
    p.fraction = overall_fraction(s, r, total ? (double)done / (double)total : changed ? 0 : 1);
    p.eta = p.fraction > 0.02 && p.elapsed > 0.2 ? p.elapsed * (1 - p.fraction) / p.fraction
                                                   : -1;
    ctx->progress_fn(ctx->progress_user, &p);
}
