/*
 * progress.h - progress reports of a prove call (owner: bench). The CPU
 * prover, the out-of-core scheduler and the GPU path call
 * spw_progress_report() at round and table (or chunk) boundaries from the
 * thread that runs spw_prove; it forwards a spw_progress to the callback set
 * with spw_ctx_set_progress (at most every min_interval seconds, and always
 * for the first and last report of a (round, table) step) and attributes
 * the wall time between reports to (round, table) in the run statistics.
 */
#ifndef SPW_PROGRESS_H
#define SPW_PROGRESS_H

#include "internal.h"

/* Work of `round` on table `table` (-1: not per table) has reached `done`
 * of `total` units (bytes of the round's data). Cheap when no callback is
 * set: a clock read and a few additions. */
void spw_progress_report(const spw_ctx *ctx, const char *round, int table, uint64_t done,
                         uint64_t total);

/* Work units of table tb in one of the per-table rounds (SPW_ROUND_CHECK ..
 * SPW_ROUND_DEEP): bytes of the data the round produces or reads for it
 * (docs/STATS_SCHEMA.md, rounds[].bytes). */
struct spw_air_table;
uint64_t spw_progress_units(const struct spw_air_table *tb, unsigned log_b, int round);
/* The report every prover (CPU, GPU) makes before table t of a per-table
 * round: done = the units of tables 0..t-1, total = all tables' units;
 * t == def->n_tables reports the round complete (table -1). */
struct spw_air_def;
void spw_progress_table(const spw_ctx *ctx, const struct spw_air_def *def, unsigned log_b,
                        int round, uint32_t t);

/* Share of a prove call's time a round usually takes (CPU prover, measured
 * by spillway bench); used for the overall fraction and ETA when the
 * planner gave no prediction. 0 for unknown rounds. */
double spw_progress_round_weight(const char *round);

#endif
