/*
 * workloads.h - example workloads (fib, vm, synth) for the CLI, the tests
 * and the benchmarks. Each workload builds a finalized AIR, a trace whose
 * tables are producers (any column chunk generated on demand,
 * deterministically), its public inputs, and a tag string that identifies
 * the statement ("vm log_rows=16 seed=0"); the verifier rebuilds the AIR
 * from the tag alone. Internal API: not installed. See docs/WORKLOADS.md.
 */
#ifndef SPW_WORKLOADS_H
#define SPW_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>
#include "spillway.h"

#define SPW_WORKLOAD_TAG_MAX 128

typedef struct spw_workload_params {
    const char *name;   /* "fib" | "vm" | "synth" */
    unsigned log_rows;  /* fib: 1..32 (default 10); vm: 10..30 (default 16);
                           synth: ignored (the preset fixes the heights) */
    const char *preset; /* synth: "tiny" | "small" | "medium" | "large";
                           NULL = "tiny"; ignored by fib and vm */
    uint64_t seed;      /* vm: program input; synth: trace values; fib: ignored */
} spw_workload_params;

/* Fills *p with defaults for workload `name` (log_rows, preset, seed 0).
 * Unknown names give SPW_ERR_INVALID_ARG. */
spw_status spw_workload_defaults(spw_ctx *ctx, spw_workload_params *p, const char *name);

/* Builds the workload. Every output may be NULL when not wanted:
 *   air_out      the finalized AIR (released by spw_workload_free)
 *   trace_out    the trace; each table is a producer. Needs air_out.
 *   publics_out  malloc'd public inputs (*n_publics of them)
 *   tag          receives the statement tag, NUL-terminated (tag_len >=
 *                SPW_WORKLOAD_TAG_MAX is always enough)
 * Only what is asked for is computed: building the AIR alone (for the
 * verifier) is cheap at every size. log_rows = 0 means the default. */
spw_status spw_workload_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                              uint64_t **publics_out, size_t *n_publics, char *tag,
                              size_t tag_len, const spw_workload_params *p);

/* Releases everything spw_workload_build returned, including the producers'
 * state; any argument may be NULL. Use it instead of spw_trace_free on a
 * workload trace. */
void spw_workload_free(spw_air *air, spw_trace *trace, uint64_t *publics);

/* Parses a tag made by spw_workload_build back into params. p->name and
 * p->preset point into static storage (not into tag). Unknown names, keys
 * or malformed numbers give SPW_ERR_PARSE (with a message on ctx, which may
 * be NULL). */
spw_status spw_workload_parse_tag(spw_ctx *ctx, spw_workload_params *p, const char *tag);

/* Bytes of host memory the producers' state holds for these params
 * (estimate, documented in docs/WORKLOADS.md). */
uint64_t spw_workload_state_bytes(const spw_workload_params *p);

/* ---- synth presets (for `spillway plan` and the docs) ------------------ */

typedef struct spw_synth_table_info {
    char name[32];
    unsigned log_height;
    uint32_t width;     /* main columns */
    uint32_t n_constraints;
    uint32_t n_interactions;
} spw_synth_table_info;

typedef struct spw_synth_preset_info {
    const char *name;
    uint32_t n_tables;
    unsigned min_log_height, max_log_height;
    uint32_t min_width, max_width;
    uint64_t trace_bytes;   /* sum over tables of 8 * height * width */
    uint64_t lde_bytes_b4;  /* trace_bytes * 4 (main columns only, blowup 4) */
} spw_synth_preset_info;

/* Number of presets; spw_synth_preset(i) for i < that gives one. */
size_t spw_synth_num_presets(void);
/* Summary of preset i (NULL when out of range). The shape of a preset does
 * not depend on the seed; only the values do. */
const spw_synth_preset_info *spw_synth_preset(size_t i);
/* Tables of a preset by name: fills up to cap entries of out, returns the
 * number of tables (0 for an unknown name). */
size_t spw_synth_preset_tables(spw_synth_table_info *out, size_t cap, const char *preset);

#endif
