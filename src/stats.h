/*
 * stats.h - statistics of one prove call (owner: bench): wall time per round
 * and per (round, table), bytes moved per link with the link's busy time and
 * measured bound, peak memory per tier against its budget, the planner's
 * predicted times, and counted fallbacks. The prover, the out-of-core
 * scheduler and the GPU path record into the context's spw_run_stats through
 * the functions below; spw_stats_json() writes the document described in
 * docs/STATS_SCHEMA.md. Fixed-size (no allocation), so it lives inside
 * struct spw_ctx and a fork()ed benchmark child can send it through a pipe.
 * This header must not include internal.h (internal.h includes it).
 */
#ifndef SPW_STATS_H
#define SPW_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SPW_STATS_SCHEMA_VERSION 1
#define SPW_STATS_NAME 40
#define SPW_STATS_MAX_ROUNDS 24
#define SPW_STATS_MAX_TABLES 64 /* per-table detail; further tables are summed into "other" */
#define SPW_STATS_MAX_LINKS 8
#define SPW_STATS_MAX_TIERS 4
#define SPW_STATS_MAX_FALLBACKS 8

typedef struct spw_stats_table {
    char name[SPW_STATS_NAME];
    unsigned log_rows;
    uint32_t n_main, n_aux, n_parts; /* aux and parts in ext3 columns */
    char plan_mode[16];        /* planner's choice ("resident", "spilled"); "" = no plan */
    double plan_seconds;       /* planner's predicted time for the table; < 0 = none */
} spw_stats_table;

typedef struct spw_stats_link {
    char name[SPW_STATS_NAME]; /* "host memory", "device memory", "disk read", "disk write",
                                  "host->device", "device->host" */
    uint64_t bytes;
    double seconds;            /* time the link was busy; 0 = not measured */
    double bound_gbps;         /* measured bandwidth of the link; 0 = unknown */
    uint64_t predicted_bytes;  /* the planner's prediction; 0 = none */
    int modeled;               /* 1: bytes come from the cost model, not a counter */
} spw_stats_link;

typedef struct spw_stats_tier {
    char name[SPW_STATS_NAME]; /* "host", "device", "disk" */
    uint64_t peak;             /* bytes */
    uint64_t budget;           /* bytes; 0 = none set */
    char source[SPW_STATS_NAME]; /* where peak comes from: "getrusage", "arena", ... */
} spw_stats_tier;

typedef struct spw_stats_count {
    char name[SPW_STATS_NAME];
    uint64_t count;
} spw_stats_count;

typedef struct spw_run_stats {
    int valid;                 /* 1 once a prove call finished successfully */
    char backend[16];          /* "cpu" | "cuda" */
    char mode[16];             /* "resident" | "spilled" | "auto" */
    unsigned threads, blowup;
    uint64_t proof_bytes;
    double total_seconds;      /* wall time of the prove call */
    double predicted_total;    /* planner's prediction; < 0 = none */
    uint32_t n_tables;         /* all tables; detail for the first SPW_STATS_MAX_TABLES */
    spw_stats_table tables[SPW_STATS_MAX_TABLES];
    uint32_t n_rounds;
    char round_names[SPW_STATS_MAX_ROUNDS][SPW_STATS_NAME];
    double round_seconds[SPW_STATS_MAX_ROUNDS];
    double round_predicted[SPW_STATS_MAX_ROUNDS]; /* < 0 = none */
    double round_t0[SPW_STATS_MAX_ROUNDS];        /* first report of the round */
    uint64_t round_bytes[SPW_STATS_MAX_ROUNDS];   /* work units reported by progress */
    /* [round][table]; column SPW_STATS_MAX_TABLES = not per table / other */
    double table_seconds[SPW_STATS_MAX_ROUNDS][SPW_STATS_MAX_TABLES + 1];
    uint32_t n_links;
    spw_stats_link links[SPW_STATS_MAX_LINKS];
    uint32_t n_tiers;
    spw_stats_tier tiers[SPW_STATS_MAX_TIERS];
    uint32_t n_fallbacks;
    spw_stats_count fallbacks[SPW_STATS_MAX_FALLBACKS];
    uint64_t io_read0, io_write0; /* /proc/self/io storage bytes at the start */
    int io_ok;
    /* progress bookkeeping (spw_progress_report) */
    double t_start, seg_start, last_emit;
    int seg_round, seg_table;  /* -1 = none */
    uint64_t seg_done0;
} spw_run_stats;

struct spw_ctx;

/* Clears ctx's statistics and starts the clock of a prove call. */
void spw_stats_begin(const struct spw_ctx *ctx);
/* Index of the round named `name`, created (in order of first use) if new;
 * -1 when the table of rounds is full. */
int spw_stats_round(spw_run_stats *s, const char *name);
/* Records table t's shape (t < SPW_STATS_MAX_TABLES; ignored otherwise). */
void spw_stats_table_info(const struct spw_ctx *ctx, uint32_t t, const char *name,
                          unsigned log_rows, uint32_t n_main, uint32_t n_aux, uint32_t n_parts);
/* Sets a round's measured wall time (replaces the progress-derived sum). */
void spw_stats_round_time(const struct spw_ctx *ctx, const char *round, double seconds);
/* Sets the planner's prediction for a round (the ooc planner calls this). */
void spw_stats_predict(const struct spw_ctx *ctx, const char *round, double seconds);
/* Records the planner's choice for table t (the ooc planner calls this). */
void spw_stats_plan_table(const struct spw_ctx *ctx, uint32_t t, const char *mode,
                          double predicted_seconds);
/* Adds bytes (and busy seconds, 0 if unknown) to a link, created if new. */
void spw_stats_link_add(const struct spw_ctx *ctx, const char *link, uint64_t bytes,
                        double seconds, int modeled);
/* Sets a link's measured bound in GB/s (10^9 bytes per second). */
void spw_stats_link_bound(const struct spw_ctx *ctx, const char *link, double gbps);
/* Raises a tier's peak to at least `peak`; sets its budget (0 = keep the
 * one recorded before) and source (NULL = keep). */
void spw_stats_tier_peak(const struct spw_ctx *ctx, const char *tier, uint64_t peak,
                         uint64_t budget, const char *source);
/* Counts a fallback (device -> host, io_uring -> threads, ...). */
void spw_stats_fallback(const struct spw_ctx *ctx, const char *what);
/* Ends the prove call: closes the progress segment, records total time,
 * proof size, the host peak RSS (from the kernel), marks the stats valid. */
void spw_stats_end(const struct spw_ctx *ctx, double total_seconds, uint64_t proof_bytes);
/* The INFO line of a finished prove call (time, backend, mode, the
 * planner's prediction, the largest round, peak RSS): logged by the prover
 * once the stats are final (after spw_stats_device for a GPU proof). */
void spw_stats_log(const struct spw_ctx *ctx);

/* Ends a successful prove call of the CPU provers (in-memory or streamed):
 * records the round times of *ps (struct spw_prove_stats), the planner's
 * prediction for this AIR and ctx (predicted total and per table, the mode
 * it chose, the host budget, disk links' predicted bytes and bandwidths),
 * then spw_stats_end. The context's last error is left as it was. */
struct spw_air_def;
struct spw_prove_stats;
void spw_stats_finish(const struct spw_ctx *ctx, const struct spw_air_def *def,
                      const struct spw_prove_stats *ps, uint64_t proof_bytes);
/* After spw_stats_finish for a proof made on the GPU: backend "cuda", mode
 * resident, the device tier (the arena's peak and budget); the CPU planner's
 * time predictions are dropped (they do not model the device); the modeled
 * "host memory" link becomes "device memory" (the rounds' data lives in
 * VRAM). The counted links "host->device" and "device->host" are recorded
 * by the GPU path itself with spw_stats_link_add. */
void spw_stats_device(const struct spw_ctx *ctx, uint64_t arena_peak, uint64_t vram_budget);
/* Charges `seconds` to (round, table) (table -1: not per table) without a
 * progress report: for work done out of the reports' order, e.g. the wait
 * for checks that ran in a thread beside the device rounds. */
void spw_stats_add_time(const struct spw_ctx *ctx, const char *round, int table, double seconds);
/* Closes the current (round, table) step without opening another: time until
 * the next progress report is not charged to any table. */
void spw_stats_pause(const struct spw_ctx *ctx);

/* Bytes this process has read from / written to storage so far (Linux
 * /proc/self/io read_bytes, write_bytes: block-device I/O, O_DIRECT
 * included, page-cache hits excluded). Returns 0, or -1 when unavailable. */
int spw_stats_process_io(uint64_t *read_bytes, uint64_t *write_bytes);
/* Peak resident set of this process in bytes (getrusage ru_maxrss). */
uint64_t spw_stats_host_peak_rss(void);

/* Writes s as the JSON object of docs/STATS_SCHEMA.md ("spillway-stats"
 * v1) to f, each line prefixed by `indent` spaces. */
void spw_stats_write_json(FILE *f, const spw_run_stats *s, int indent);

#endif
