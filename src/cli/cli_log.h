/*
 * cli_log.h - verbosity (-q, -v, -vv), the live progress line on stderr,
 * "what to do" hints for failures, and --stats output for the CLI
 * (owner: bench).
 */
#ifndef SPW_CLI_LOG_H
#define SPW_CLI_LOG_H

#include "spillway.h"
#include <stdio.h>

/* Log level for -q (quiet > 0), -v (verbose 1), -vv (verbose >= 2); with
 * neither, SPW_LOG from the environment or WARN. */
spw_log_level cli_log_level(int verbose, int quiet);

/* If argv[i] is -q/--quiet, -v/--verbose or -vv, counts it and returns 1. */
int cli_log_option(const char *arg, int *verbose, int *quiet);

/* The live progress line: install with cli_progress_start (draws only when
 * stderr is a terminal and enabled is true; at most 10 updates a second);
 * cli_progress_end erases the line. */
typedef struct cli_progress {
    int active;
    int drawn;
    double last;   /* monotonic time of the last line drawn */
    char round[48]; /* round of the last line drawn */
} cli_progress;
void cli_progress_start(cli_progress *cp, spw_ctx *ctx, int enabled);
void cli_progress_end(cli_progress *cp, spw_ctx *ctx);
/* Formats one progress report as a line of at most len bytes (no CR/NL). */
void cli_progress_format(char *buf, size_t len, const spw_progress *p);

/* A sentence saying what to do about a failure with status st ("" if none). */
const char *cli_hint(spw_status st);
/* Prints "spillway CMD: <status>: <message>" and the hint, if any. */
void cli_fail_status(const char *cmd, spw_status st, const char *msg);

/* Writes the statistics of the last prove on ctx to path (JSON,
 * docs/STATS_SCHEMA.md). Returns 0 or -1 after printing why. */
int cli_write_stats(spw_ctx *ctx, const char *cmd, const char *path);

#endif
