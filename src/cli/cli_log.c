/*
 * cli_log.c - verbosity options, the live progress line, failure hints and
 * the --stats writer shared by the spillway subcommands (owner: bench).
 */
#include "cli_log.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

spw_log_level cli_log_level(int verbose, int quiet)
{
    if (quiet) return SPW_LOG_ERROR;
    if (verbose >= 2) return SPW_LOG_DEBUG;
    if (verbose == 1) return SPW_LOG_INFO;
    spw_ctx_options o;
    spw_ctx_options_default(&o); /* reads SPW_LOG */
    return o.log_level;
}

int cli_log_option(const char *a, int *verbose, int *quiet)
{
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) ++*quiet;
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) ++*verbose;
    else if (!strcmp(a, "-vv")) *verbose += 2;
    else return 0;
    return 1;
}

static void fmt_rate(char *b, size_t n, double v)
{
    if (v >= 1e9) snprintf(b, n, "%.2f GB/s", v / 1e9);
    else if (v >= 1e6) snprintf(b, n, "%.0f MB/s", v / 1e6);
    else snprintf(b, n, "%.0f kB/s", v / 1e3);
}

static void fmt_secs(char *b, size_t n, double s)
{
    if (s < 0) snprintf(b, n, "?");
    else if (s < 60) snprintf(b, n, "%.0fs", s);
    else if (s < 3600) snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(b, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

void cli_progress_format(char *buf, size_t len, const spw_progress *p)
{
    char done[32], total[32], rate[32], el[16], eta[16], tab[64] = "";
    cli_fmt_size(done, sizeof done, p->done);
    cli_fmt_size(total, sizeof total, p->total);
    fmt_rate(rate, sizeof rate, p->rate);
    fmt_secs(el, sizeof el, p->elapsed);
    fmt_secs(eta, sizeof eta, p->eta);
    if (p->table_name) snprintf(tab, sizeof tab, " table %.40s", p->table_name);
    if (p->total)
        snprintf(buf, len, "[%3.0f%%] %s%s: %s of %s, %s, elapsed %s, ETA %s",
                 100.0 * p->fraction, p->round, tab, done, total, rate, el, eta);
    else
        snprintf(buf, len, "[%3.0f%%] %s%s, elapsed %s, ETA %s", 100.0 * p->fraction, p->round,
                 tab, el, eta);
}

static void draw(void *user, const spw_progress *p)
{
    cli_progress *cp = user;
    /* at most ~10 lines a second, whatever the number of tables */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    /* table steps within a round are throttled; a new round always shows */
    int new_round = strncmp(cp->round, p->round, sizeof cp->round - 1) != 0;
    if (cp->drawn && !new_round && now - cp->last < 0.1) return;
    cp->last = now;
    snprintf(cp->round, sizeof cp->round, "%s", p->round);
    char line[200];
    cli_progress_format(line, sizeof line, p);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    cp->drawn = 1;
}

void cli_progress_start(cli_progress *cp, spw_ctx *ctx, int enabled)
{
    memset(cp, 0, sizeof *cp);
    if (!enabled || !isatty(STDERR_FILENO)) return;
    if (spw_ctx_set_progress(ctx, draw, cp, 0.1) == SPW_OK) cp->active = 1;
}

void cli_progress_end(cli_progress *cp, spw_ctx *ctx)
{
    if (!cp->active) return;
    if (spw_ctx_set_progress(ctx, NULL, NULL, 0) != SPW_OK) return;
    if (cp->drawn) fprintf(stderr, "\r\033[K");
    cp->active = cp->drawn = 0;
}

const char *cli_hint(spw_status st)
{
    switch (st) {
    case SPW_ERR_NOMEM:
        return "the host ran out of memory: lower --log-rows, or set --host-budget below the "
               "free memory so the prover spills to --spill-dir (spillway plan shows the "
               "minimum)";
    case SPW_ERR_BUDGET:
        return "raise --host-budget / --vram-budget, or lower --chunk-rows (spillway plan "
               "prints the minimum per table)";
    case SPW_ERR_DEVICE_OOM:
        return "the GPU budget is exhausted: lower --vram-budget so the planner streams, or "
               "use --backend cpu";
    case SPW_ERR_NO_CUDA:
        return "this build or machine has no usable GPU: use --backend cpu (spillway --version "
               "says whether CUDA is compiled in)";
    case SPW_ERR_NOSPACE:
        return "free space in the spill directory or point --spill-dir at a larger disk";
    case SPW_ERR_IO:
        return "check that the path exists, is writable and the disk is healthy";
    case SPW_ERR_CHECKSUM:
        return "stored data is corrupt: delete the spill directory and run again; check the "
               "disk if it repeats";
    case SPW_ERR_CONSTRAINT:
    case SPW_ERR_BUS_UNBALANCED:
    case SPW_ERR_TRACE:
        return "the trace does not satisfy the AIR: fix the trace generator (the message names "
               "table, constraint and row)";
    case SPW_ERR_BLOWUP: return "use --blowup 2, 4 or 8";
    case SPW_ERR_TOO_LARGE: return "reduce the table height or column count below the limit";
    case SPW_ERR_INTERNAL: return "this is a bug: please report it with the command line";
    default: return "";
    }
}

void cli_fail_status(const char *cmd, spw_status st, const char *msg)
{
    cli_error(cmd, "%s: %s", spw_strerror(st), msg);
    const char *h = cli_hint(st);
    if (*h) fprintf(stderr, "  what to do: %s\n", h);
}

int cli_write_stats(spw_ctx *ctx, const char *cmd, const char *path)
{
    char *json = NULL;
    size_t len = 0;
    spw_status st = spw_prove_stats_json(ctx, &json, &len);
    if (st != SPW_OK) {
        cli_fail_status(cmd, st, spw_ctx_last_error(ctx));
        return -1;
    }
    FILE *f = fopen(path, "w");
    int bad = !f;
    if (f) {
        bad |= fwrite(json, 1, len, f) != len;
        bad |= fclose(f) != 0;
    }
    spw_free(json);
    if (bad) {
        cli_error(cmd, "cannot write statistics to '%s': %s; check that the directory exists "
                       "and is writable", path, strerror(errno));
        return -1;
    }
    return 0;
}
