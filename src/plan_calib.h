/*
 * plan_calib.h - the per-round calibration of the planner's compute model
 * (docs/OUT_OF_CORE.md, "Per-round calibration from timed proofs"):
 * `spillway probe` times small in-memory proofs and a streamed one, and
 * fits per round r seconds = a_r x column units + p_r x point units + b_r
 * (units: the model's work count of the round, spw_calib_units, split into
 * the part that grows with the columns and the part per point; b_r per
 * table for the per-table rounds main..DEEP, per proof for the others) and
 * a factor for the streaming prover. The coefficients are saved as `calib_*` keys of the
 * probe file; plan.c's compute model uses them when present.
 */
#ifndef SPW_PLAN_CALIB_H
#define SPW_PLAN_CALIB_H

#include "air.h"
#include "stark.h"
#include "stats.h"

#include <stdio.h>

typedef struct spw_calib {
    int have;                          /* 1 = the calib_* keys were present */
    unsigned threads;                  /* threads of the timed proofs */
    double a[SPW_ROUND_COUNT];         /* seconds per column unit (spw_calib_units) */
    double p[SPW_ROUND_COUNT];         /* seconds per point unit */
    double b[SPW_ROUND_COUNT];         /* seconds per table-round (main..DEEP), per proof (others) */
    double stream[SPW_ROUND_COUNT];    /* streaming prover / in-memory prover (1 = same) */
    double overlap;                    /* exposed share of the shorter of compute and disk
                                          time in a streamed run (0 = not measured: the
                                          planner's default) */
} spw_calib;

/* The shape of one table as the model counts it (plan.c's dimensions). */
typedef struct spw_calib_dims {
    double n, N, NE, nm, na, nc, prog, nk, log_N;
} spw_calib_dims;

/* Round r is charged per table (b_r once per table with units in r):
 * main, aux, comp, OOD, DEEP. The others (checks, FRI, grinding, queries,
 * encode) are timed for the whole proof: b_r once per proof. */
int spw_calib_per_table(int r);
/* The model's terms of each round for one table, split into the part
 * that grows with the columns (col) and the part per point (pt): an NTT
 * unit (column x point x log term) at kn seconds, a hashed byte at kh, the
 * other per-element constants times k. all = 0: main..DEEP only, as the
 * model without calibration counts them (aux hashes 32 bytes per point
 * even without aux columns); all = 1: also checks, queries and encode, and
 * a per-point term for OOD. */
void spw_calib_terms(double col[SPW_ROUND_COUNT], double pt[SPW_ROUND_COUNT],
                     const spw_calib_dims *d, double kn, double kh, double k, int all);
/* Units of each round for one table (0 where the table has no work in the
 * round, e.g. aux without aux columns): the terms at unit prices (about a
 * second of one core of the development machine); FRI's are
 * spw_calib_fri_units. */
void spw_calib_units(double col[SPW_ROUND_COUNT], double pt[SPW_ROUND_COUNT],
                     const spw_calib_dims *d);
/* FRI units of a proof whose largest LDE has N0 points. */
double spw_calib_fri_units(double N0);
/* The dimensions of table t at blowup 2^log_b (as spw_plan_make counts them). */
void spw_calib_dims_of(spw_calib_dims *d, const spw_air_table *t, unsigned log_b);

/* Seconds the calibration predicts for round r with column units ucol and
 * point units upt (b_r added when with_b), at `threads` (linear scaling
 * from c->threads) and, streamed, times the streaming factor. */
double spw_calib_seconds(const spw_calib *c, int r, double ucol, double upt, int with_b,
                         unsigned threads, int streamed);

/* One timed proof: the AIR, its blowup, the measured round and per-table
 * seconds (from the context's statistics after spw_prove), streamed or
 * in memory. */
typedef struct spw_calib_run {
    const spw_air_def *def;
    unsigned blowup;
    int streamed;
    double round_s[SPW_ROUND_COUNT];
    double table_s[SPW_ROUND_COUNT][SPW_STATS_MAX_TABLES]; /* < 0: not measured */
} spw_calib_run;

/* Fills run's times from the statistics of a finished prove call (rounds
 * by name; per-table times where the prover reported them). */
void spw_calib_run_from_stats(spw_calib_run *run, const spw_air_def *def, unsigned blowup,
                              int streamed, const spw_run_stats *st);
/* Non-negative least-squares fit of secs = x[0] u[0] + x[1] u[1] + x[2]
 * over n points (u[k][i]; x >= 0: the best of the fits on every subset of
 * the three terms whose coefficients come out >= 0). */
void spw_calib_nnls(double x[3], const double *const u[2], const double *secs, size_t n);
/* Fits *out from the runs (at least one in memory; streamed runs give the
 * streaming factors, else they stay 1) measured on `threads` threads.
 * SPW_ERR_INVALID_ARG when no run is in memory. */
spw_status spw_calib_fit(spw_ctx *ctx, spw_calib *out, const spw_calib_run *runs, size_t n_runs,
                         unsigned threads);
/* Predicted seconds per round of a run's AIR under c (in memory or
 * streamed as run->streamed); the sum is the proof's compute. */
void spw_calib_predict(double pred[SPW_ROUND_COUNT], const spw_calib *c, const spw_calib_run *run,
                       unsigned threads);

/* The exposed share x of a streamed run whose measured seconds are
 * `measured` for predicted compute and disk seconds: measured = max +
 * x min, kept within 0.05..1; 0 (not measured) when the run moved no disk
 * time to speak of (io under 5% of the compute or under 10 ms). */
double spw_calib_overlap_fit(double measured, double compute, double io);

/* Writes the calib_* keys (key=value lines) to f. */
void spw_calib_print(FILE *f, const spw_calib *c);
/* Appends them to the probe file at path. */
spw_status spw_calib_append(spw_ctx *ctx, const char *path, const spw_calib *c);
/* Reads the calib_* keys of a probe file: c->have = 0 when it has none (an
 * older probe's file), SPW_ERR_PARSE when they are incomplete or bad. */
spw_status spw_calib_load(spw_ctx *ctx, spw_calib *c, const char *path);

#endif
