/*
 * stats.c - run statistics of a prove call (owner: bench): the recording
 * functions of stats.h, spw_prove_stats_json(), and the JSON writer of the
 * "spillway-stats" v1 document (docs/STATS_SCHEMA.md).
 */
#include "internal.h"
#include "gpu_prover.h"
#include "plan.h"
#include "stark.h"
#include "stats.h"
#include "../spill/spill.h" /* spw_tier of the plan's tables */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static spw_run_stats *mut(const spw_ctx *ctx)
{
    /* Statistics, like last_error, are recorded by functions that otherwise
     * only read the context. */
    return ctx ? &((spw_ctx *)ctx)->run_stats : NULL;
}

static void copy_name(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int spw_stats_process_io(uint64_t *rb, uint64_t *wb)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f) return -1;
    char line[128];
    int got = 0;
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "read_bytes: %llu", &v) == 1) *rb = v, got |= 1;
        else if (sscanf(line, "write_bytes: %llu", &v) == 1) *wb = v, got |= 2;
    }
    fclose(f);
    return got == 3 ? 0 : -1;
}

void spw_stats_begin(const spw_ctx *ctx)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    memset(s, 0, sizeof *s);
    copy_name(s->backend, sizeof s->backend, "cpu"); /* spw_stats_device: "cuda" */
    copy_name(s->mode, sizeof s->mode,
              ctx->mode == SPW_MODE_SPILLED    ? "spilled"
              : ctx->mode == SPW_MODE_RESIDENT ? "resident"
                                               : "auto");
    s->threads = ctx->threads;
    s->blowup = ctx->blowup ? ctx->blowup : 4;
    s->predicted_total = -1;
    for (int r = 0; r < SPW_STATS_MAX_ROUNDS; r++) s->round_predicted[r] = -1;
    for (int t = 0; t < SPW_STATS_MAX_TABLES; t++) s->tables[t].plan_seconds = -1;
    s->seg_round = s->seg_table = -1;
    s->io_ok = spw_stats_process_io(&s->io_read0, &s->io_write0) == 0;
    s->t_start = s->seg_start = spw_now();
    s->last_emit = -1e30;
}

int spw_stats_round(spw_run_stats *s, const char *name)
{
    for (uint32_t r = 0; r < s->n_rounds; r++)
        if (!strncmp(s->round_names[r], name, SPW_STATS_NAME - 1)) return (int)r;
    if (s->n_rounds >= SPW_STATS_MAX_ROUNDS) return -1;
    uint32_t r = s->n_rounds++;
    copy_name(s->round_names[r], SPW_STATS_NAME, name);
    s->round_predicted[r] = -1;
    return (int)r;
}

void spw_stats_table_info(const spw_ctx *ctx, uint32_t t, const char *name, unsigned log_rows,
                          uint32_t n_main, uint32_t n_aux, uint32_t n_parts)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    if (t + 1 > s->n_tables) s->n_tables = t + 1;
    if (t >= SPW_STATS_MAX_TABLES) return;
    spw_stats_table *tb = &s->tables[t];
    copy_name(tb->name, sizeof tb->name, name);
    tb->log_rows = log_rows;
    tb->n_main = n_main;
    tb->n_aux = n_aux;
    tb->n_parts = n_parts;
}

void spw_stats_plan_table(const spw_ctx *ctx, uint32_t t, const char *mode,
                          double predicted_seconds)
{
    spw_run_stats *s = mut(ctx);
    if (!s || t >= SPW_STATS_MAX_TABLES) return;
    copy_name(s->tables[t].plan_mode, sizeof s->tables[t].plan_mode, mode);
    s->tables[t].plan_seconds = predicted_seconds;
}

void spw_stats_round_time(const spw_ctx *ctx, const char *round, double seconds)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    int r = spw_stats_round(s, round);
    if (r >= 0) s->round_seconds[r] = seconds;
}

void spw_stats_predict(const spw_ctx *ctx, const char *round, double seconds)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    if (!round) {
        s->predicted_total = seconds;
        return;
    }
    int r = spw_stats_round(s, round);
    if (r >= 0) s->round_predicted[r] = seconds;
}

static spw_stats_link *find_link(spw_run_stats *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_links; i++)
        if (!strncmp(s->links[i].name, name, SPW_STATS_NAME - 1)) return &s->links[i];
    if (s->n_links >= SPW_STATS_MAX_LINKS) return NULL;
    spw_stats_link *l = &s->links[s->n_links++];
    copy_name(l->name, sizeof l->name, name);
    return l;
}

void spw_stats_link_add(const spw_ctx *ctx, const char *link, uint64_t bytes, double seconds,
                        int modeled)
{
    spw_run_stats *s = mut(ctx);
    spw_stats_link *l = s ? find_link(s, link) : NULL;
    if (!l) return;
    l->bytes += bytes;
    l->seconds += seconds;
    if (modeled) l->modeled = 1;
}

void spw_stats_link_bound(const spw_ctx *ctx, const char *link, double gbps)
{
    spw_run_stats *s = mut(ctx);
    spw_stats_link *l = s ? find_link(s, link) : NULL;
    if (l) l->bound_gbps = gbps;
}

void spw_stats_tier_peak(const spw_ctx *ctx, const char *tier, uint64_t peak, uint64_t budget,
                         const char *source)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    spw_stats_tier *t = NULL;
    for (uint32_t i = 0; i < s->n_tiers; i++)
        if (!strncmp(s->tiers[i].name, tier, SPW_STATS_NAME - 1)) t = &s->tiers[i];
    if (!t) {
        if (s->n_tiers >= SPW_STATS_MAX_TIERS) return;
        t = &s->tiers[s->n_tiers++];
        copy_name(t->name, sizeof t->name, tier);
    }
    if (peak > t->peak) t->peak = peak;
    if (budget) t->budget = budget; /* 0 keeps the budget recorded before */
    if (source) copy_name(t->source, sizeof t->source, source);
}

void spw_stats_fallback(const spw_ctx *ctx, const char *what)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    for (uint32_t i = 0; i < s->n_fallbacks; i++)
        if (!strncmp(s->fallbacks[i].name, what, SPW_STATS_NAME - 1)) {
            s->fallbacks[i].count++;
            return;
        }
    if (s->n_fallbacks >= SPW_STATS_MAX_FALLBACKS) return;
    copy_name(s->fallbacks[s->n_fallbacks].name, SPW_STATS_NAME, what);
    s->fallbacks[s->n_fallbacks++].count = 1;
    spw_log(ctx, SPW_LOG_INFO, "fallback: %s (counted in the run statistics)", what);
}

uint64_t spw_stats_host_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux: kilobytes */
}

static int seg_col(int table)
{
    return table >= 0 && table < SPW_STATS_MAX_TABLES ? table : SPW_STATS_MAX_TABLES;
}

void spw_stats_pause(const spw_ctx *ctx)
{
    spw_run_stats *s = mut(ctx);
    if (!s || s->seg_round < 0) return;
    s->table_seconds[s->seg_round][seg_col(s->seg_table)] += spw_now() - s->seg_start;
    s->seg_round = s->seg_table = -1;
}

void spw_stats_add_time(const spw_ctx *ctx, const char *round, int table, double seconds)
{
    spw_run_stats *s = mut(ctx);
    if (!s || !round || !(seconds > 0)) return;
    int r = spw_stats_round(s, round);
    if (r >= 0) s->table_seconds[r][seg_col(table)] += seconds;
}

/* A proof of the streaming device tier (src/sched/dev.h; the run's
 * spw_gpu_last_run says streamed): backend "cuda", mode "spilled", no CPU
 * time predictions (the planner models the CPU, not the device), and the
 * link bytes the tier counted, when the tier did not record the links
 * itself (no busy time: plotted as the average over the run). */
static void streamed_device(const spw_ctx *ctx, spw_run_stats *s)
{
    spw_gpu_run_stats gs;
    spw_gpu_last_run(&gs);
    if (!gs.streamed || !gs.used_device) return;
    copy_name(s->backend, sizeof s->backend, "cuda");
    copy_name(s->mode, sizeof s->mode, "spilled");
    s->predicted_total = -1;
    for (int r = 0; r < SPW_STATS_MAX_ROUNDS; r++) s->round_predicted[r] = -1;
    for (int t = 0; t < SPW_STATS_MAX_TABLES; t++) {
        s->tables[t].plan_mode[0] = 0; /* every table streams through the device */
        s->tables[t].plan_seconds = -1;
    }
    int h2d = 0, d2h = 0;
    for (uint32_t i = 0; i < s->n_links; i++) {
        h2d |= !strcmp(s->links[i].name, "host->device");
        d2h |= !strcmp(s->links[i].name, "device->host");
    }
    if (!h2d) spw_stats_link_add(ctx, "host->device", gs.h2d_bytes, gs.h2d_seconds, 0);
    if (!d2h) spw_stats_link_add(ctx, "device->host", gs.d2h_bytes, gs.d2h_seconds, 0);
}

void spw_stats_finish(const spw_ctx *ctx, const spw_air_def *def, const spw_prove_stats *ps,
                      uint64_t proof_bytes)
{
    spw_run_stats *s = mut(ctx);
    if (!s || !def || !ps) return;
    /* the proof is done: the last round's segment ends here, not after the
     * plan below (which took 50 ms under load and made "encode" look longer
     * than its round) */
    spw_stats_pause(ctx);
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        spw_stats_round_time(ctx, spw_round_names[r], ps->seconds[r]);
    char saved[SPW_ERRMSG_MAX];
    memcpy(saved, ctx->last_error, sizeof saved);
    spw_plan plan;
    memset(&plan, 0, sizeof plan);
    if (spw_plan_make(ctx, &plan, def, NULL) == SPW_OK) {
        /* the same rule as spw_sched_dispatch: what ran */
        int streamed = ctx->mode != SPW_MODE_RESIDENT && plan.spilled;
        s->predicted_total = plan.t_pred;
        copy_name(s->mode, sizeof s->mode, streamed ? "spilled" : "resident");
        /* a streamed run keeps some tables resident in the pinned pool
         * ("pool") and streams the others through the spill file */
        for (uint32_t t = 0; t < plan.n_tables && t < SPW_STATS_MAX_TABLES; t++)
            spw_stats_plan_table(ctx, t,
                                 !(streamed && plan.tables[t].spilled) ? "resident"
                                 : plan.nvme_bytes && plan.tables[t].tier != SPW_TIER_NVME ? "pool"
                                                                                          : "spilled",
                                 plan.tables[t].t_compute + plan.tables[t].t_io);
        /* per round: the plan's prediction of each round it models */
        for (int r = 0; r < SPW_ROUND_COUNT; r++)
            if ((r >= SPW_ROUND_MAIN && r <= SPW_ROUND_QUERY && r != SPW_ROUND_GRIND) ||
                plan.calib.have) /* the per-round calibration prices every round */
                spw_stats_predict(ctx, spw_round_names[r], plan.rounds[r].t_pred);
        spw_stats_tier_peak(ctx, "host", 0, plan.host_budget, "getrusage");
        if (streamed && plan.nvme_bytes) {
            spw_stats_link_bound(ctx, "disk write", plan.disk_write_gbs);
            spw_stats_link_bound(ctx, "disk read", plan.disk_read_gbs);
            for (uint32_t i = 0; i < s->n_links; i++) {
                if (!strcmp(s->links[i].name, "disk write"))
                    s->links[i].predicted_bytes = plan.disk_write;
                if (!strcmp(s->links[i].name, "disk read"))
                    s->links[i].predicted_bytes = plan.disk_read;
            }
        }
    }
    spw_plan_clear(&plan);
    memcpy(((spw_ctx *)ctx)->last_error, saved, sizeof saved);
    streamed_device(ctx, s);
    spw_stats_end(ctx, ps->total, proof_bytes);
}

void spw_stats_device(const spw_ctx *ctx, uint64_t arena_peak, uint64_t vram_budget)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    copy_name(s->backend, sizeof s->backend, "cuda");
    copy_name(s->mode, sizeof s->mode, "resident");
    s->predicted_total = -1;
    for (int r = 0; r < SPW_STATS_MAX_ROUNDS; r++) s->round_predicted[r] = -1;
    for (int t = 0; t < SPW_STATS_MAX_TABLES; t++) {
        s->tables[t].plan_mode[0] = 0;
        s->tables[t].plan_seconds = -1;
    }
    spw_stats_tier_peak(ctx, "device", arena_peak, vram_budget, "arena");
    for (uint32_t i = 0; i < s->n_links; i++)
        if (s->links[i].modeled && !strcmp(s->links[i].name, "host memory")) {
            copy_name(s->links[i].name, sizeof s->links[i].name, "device memory");
            s->links[i].bound_gbps = 0;
        }
}

void spw_stats_end(const spw_ctx *ctx, double total_seconds, uint64_t proof_bytes)
{
    spw_run_stats *s = mut(ctx);
    if (!s) return;
    spw_stats_pause(ctx);
    s->total_seconds = total_seconds;
    s->proof_bytes = proof_bytes;
    uint64_t rb = 0, wb = 0;
    if (s->io_ok && spw_stats_process_io(&rb, &wb) == 0) {
        /* storage traffic of the call, counted by the kernel (spill files,
         * trace files); no busy time: the disk overlaps compute */
        int spilled = !strcmp(s->mode, "spilled");
        if (wb > s->io_write0 || spilled)
            spw_stats_link_add(ctx, "disk write", wb - s->io_write0, 0, 0);
        if (rb > s->io_read0 || spilled)
            spw_stats_link_add(ctx, "disk read", rb - s->io_read0, 0, 0);
    }
    int have_hm = 0;
    for (uint32_t i = 0; i < s->n_links; i++) have_hm |= !strcmp(s->links[i].name, "host memory");
    if (!have_hm && strcmp(s->mode, "spilled")) {
        /* The in-memory prover moves data only through host memory: model
         * its minimum traffic as each round's data written once and read
         * once, over the time of the rounds that report bytes. */
        uint64_t b = 0;
        double sec = 0;
        for (uint32_t r = 0; r < s->n_rounds; r++)
            if (s->round_bytes[r] > 0) {
                b += 2 * s->round_bytes[r];
                sec += s->round_seconds[r];
            }
        if (b) spw_stats_link_add(ctx, "host memory", b, sec, 1);
    }
    spw_stats_tier_peak(ctx, "host", spw_stats_host_peak_rss(), ctx->host_budget, "getrusage");
    s->valid = 1;
}

void spw_stats_log(const spw_ctx *ctx)
{
    spw_run_stats *s = mut(ctx);
    if (!s || !s->valid || ctx->log_level < SPW_LOG_INFO) return;
    uint32_t top = 0;
    for (uint32_t r = 1; r < s->n_rounds; r++)
        if (s->round_seconds[r] > s->round_seconds[top]) top = r;
    char pred[48] = "no prediction";
    if (s->predicted_total >= 0) snprintf(pred, sizeof pred, "planner predicted %.3f s", s->predicted_total);
    spw_log(ctx, SPW_LOG_INFO, "prove: %.3f s (%s, %s), %s; largest round %s %.3f s; peak RSS %.1f MiB",
            s->total_seconds, s->backend, s->mode, pred, s->n_rounds ? s->round_names[top] : "-",
            s->n_rounds ? s->round_seconds[top] : 0.0, (double)spw_stats_host_peak_rss() / 1048576.0);
}

/* ---- JSON ---- */

static void jstr(FILE *f, const char *v)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* A finite number, or null for "unknown" (negative sentinel or not finite). */
static void jnum(FILE *f, double v, int neg_is_null)
{
    if (!isfinite(v) || (neg_is_null && v < 0)) fputs("null", f);
    else fprintf(f, "%.9g", v);
}

static double gbps(uint64_t bytes, double seconds)
{
    return seconds > 0 ? (double)bytes / seconds / 1e9 : -1;
}

void spw_stats_write_json(FILE *f, const spw_run_stats *s, int ind)
{
    uint32_t nt = s->n_tables < SPW_STATS_MAX_TABLES ? s->n_tables : SPW_STATS_MAX_TABLES;
    fprintf(f, "{\n%*s\"schema\": \"spillway-stats\",\n%*s\"version\": %d,\n", ind + 2, "",
            ind + 2, "", SPW_STATS_SCHEMA_VERSION);
    fprintf(f, "%*s\"backend\": ", ind + 2, "");
    jstr(f, s->backend);
    fprintf(f, ",\n%*s\"mode\": ", ind + 2, "");
    jstr(f, s->mode);
    fprintf(f, ",\n%*s\"threads\": %u,\n%*s\"blowup\": %u,\n%*s\"proof_bytes\": %llu,\n", ind + 2,
            "", s->threads, ind + 2, "", s->blowup, ind + 2, "",
            (unsigned long long)s->proof_bytes);
    fprintf(f, "%*s\"total_seconds\": ", ind + 2, "");
    jnum(f, s->total_seconds, 0);
    fprintf(f, ",\n%*s\"predicted_total_seconds\": ", ind + 2, "");
    jnum(f, s->predicted_total, 1);
    fprintf(f, ",\n%*s\"n_tables\": %u,\n%*s\"tables\": [", ind + 2, "", s->n_tables, ind + 2, "");
    for (uint32_t t = 0; t < nt; t++) {
        const spw_stats_table *tb = &s->tables[t];
        fprintf(f, "%s\n%*s{\"name\": ", t ? "," : "", ind + 4, "");
        jstr(f, tb->name);
        fprintf(f, ", \"log_rows\": %u, \"rows\": %llu, \"main_cols\": %u, \"aux_cols\": %u, "
                   "\"quotient_parts\": %u, \"plan_mode\": ",
                tb->log_rows, 1ULL << tb->log_rows, tb->n_main, tb->n_aux, tb->n_parts);
        if (tb->plan_mode[0]) jstr(f, tb->plan_mode);
        else fputs("null", f);
        fputs(", \"plan_seconds\": ", f);
        jnum(f, tb->plan_seconds, 1);
        fputs("}", f);
    }
    fprintf(f, "\n%*s],\n%*s\"rounds\": [", ind + 2, "", ind + 2, "");
    for (uint32_t r = 0; r < s->n_rounds; r++) {
        fprintf(f, "%s\n%*s{\"name\": ", r ? "," : "", ind + 4, "");
        jstr(f, s->round_names[r]);
        fputs(", \"seconds\": ", f);
        jnum(f, s->round_seconds[r], 0);
        fputs(", \"predicted_seconds\": ", f);
        jnum(f, s->round_predicted[r], 1);
        fprintf(f, ", \"bytes\": %llu, \"gbps\": ", (unsigned long long)s->round_bytes[r]);
        jnum(f, s->round_bytes[r] ? gbps(s->round_bytes[r], s->round_seconds[r]) : -1, 1);
        fputs(", \"tables\": [", f);
        int first = 1;
        for (uint32_t t = 0; t < nt; t++) {
            if (s->table_seconds[r][t] <= 0) continue;
            fprintf(f, "%s{\"table\": ", first ? "" : ", ");
            jstr(f, s->tables[t].name);
            fputs(", \"seconds\": ", f);
            jnum(f, s->table_seconds[r][t], 0);
            fputs("}", f);
            first = 0;
        }
        fputs("], \"other_seconds\": ", f);
        jnum(f, s->table_seconds[r][SPW_STATS_MAX_TABLES], 0);
        fputs("}", f);
    }
    fprintf(f, "\n%*s],\n%*s\"links\": [", ind + 2, "", ind + 2, "");
    for (uint32_t i = 0; i < s->n_links; i++) {
        const spw_stats_link *l = &s->links[i];
        fprintf(f, "%s\n%*s{\"name\": ", i ? "," : "", ind + 4, "");
        jstr(f, l->name);
        fprintf(f, ", \"bytes\": %llu, \"seconds\": ", (unsigned long long)l->bytes);
        jnum(f, l->seconds > 0 ? l->seconds : -1, 1);
        fputs(", \"achieved_gbps\": ", f);
        jnum(f, gbps(l->bytes, l->seconds), 1);
        fputs(", \"bound_gbps\": ", f);
        jnum(f, l->bound_gbps > 0 ? l->bound_gbps : -1, 1);
        fputs(", \"predicted_bytes\": ", f);
        if (l->predicted_bytes) fprintf(f, "%llu", (unsigned long long)l->predicted_bytes);
        else fputs("null", f);
        fprintf(f, ", \"modeled\": %s}", l->modeled ? "true" : "false");
    }
    fprintf(f, "\n%*s],\n%*s\"tiers\": [", ind + 2, "", ind + 2, "");
    for (uint32_t i = 0; i < s->n_tiers; i++) {
        const spw_stats_tier *t = &s->tiers[i];
        fprintf(f, "%s\n%*s{\"name\": ", i ? "," : "", ind + 4, "");
        jstr(f, t->name);
        fprintf(f, ", \"peak_bytes\": %llu, \"budget_bytes\": ", (unsigned long long)t->peak);
        if (t->budget) fprintf(f, "%llu", (unsigned long long)t->budget);
        else fputs("null", f);
        fputs(", \"source\": ", f);
        jstr(f, t->source);
        fputs("}", f);
    }
    fprintf(f, "\n%*s],\n%*s\"fallbacks\": [", ind + 2, "", ind + 2, "");
    for (uint32_t i = 0; i < s->n_fallbacks; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        jstr(f, s->fallbacks[i].name);
        fprintf(f, ", \"count\": %llu}", (unsigned long long)s->fallbacks[i].count);
    }
    fprintf(f, "]\n%*s}", ind, "");
}

spw_status spw_prove_stats_json(spw_ctx *ctx, char **json_out, size_t *json_len)
{
    if (!ctx) return SPW_ERR_NULL;
    SPW_CHECK_NULL(ctx, json_out);
    SPW_CHECK_NULL(ctx, json_len);
    *json_out = NULL;
    *json_len = 0;
    if (!ctx->run_stats.valid)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                        "prove statistics: no prove call has succeeded on this context yet; "
                        "call spw_prove first");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return spw_fail(ctx, SPW_ERR_NOMEM, "prove statistics: out of memory");
    spw_stats_write_json(f, &ctx->run_stats, 0);
    fputc('\n', f);
    if (fclose(f) || !buf) {
        free(buf);
        return spw_fail(ctx, SPW_ERR_NOMEM, "prove statistics: out of memory");
    }
    *json_out = buf;
    *json_len = len;
    return SPW_OK;
}
