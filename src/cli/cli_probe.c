/*
 * cli_probe.c - `spillway probe`: sequential write/read GB/s of the spill
 * directory through the spill engine (O_DIRECT, io_uring or the thread
 * pool) and pinned host<->device GB/s when a GPU is present; prints
 * key=value lines and can save them for the planner's cost model.
 */
#include "cli.h"
#include "internal.h"
#include "plan.h"
#include "plan_calib.h"
#include "spill.h"
#include "../../examples/workloads.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void probe_usage(FILE *f)
{
    fprintf(f,
            "usage: spillway probe [--spill-dir DIR] [--size SIZE] [--save FILE]\n"
            "                      [--queue-depth N] [--request-size SIZE] [--engine auto|uring|threads]\n"
            "                      [--threads T]\n"
            "  --spill-dir DIR     directory to measure (default $SPW_SPILL_DIR, $TMPDIR, /var/tmp)\n"
            "  --size SIZE         bytes written then read (default 1G; space is reserved first)\n"
            "  --save FILE         also write the results (key=value) to FILE\n"
            "  --queue-depth N     requests in flight (default 8)\n"
            "  --request-size SIZE bytes per request (default 4M)\n"
            "  --engine E          I/O engine (default auto: io_uring, else threads)\n"
            "  --threads T         threads of the CPU calibration (default 0 = all CPUs, as the\n"
            "                      prover): an LDE of 16 x 2^18 and a Merkle tree of 16 x 2^20\n"
            "                      (cpu_threads, ntt_ns_per_elem_log, hash_gbs; about 1 s)\n"
            "  --calib-log-rows N  per-round calibration (calib_* keys): in-memory CPU proofs of\n"
            "                      vm 2^(N-2) and 2^N and fib 2^(N+2) timed per round and table,\n"
            "                      vm 2^(N-1) streamed in the pool and under a small budget\n"
            "                      (default 16: a few seconds; 0 = skip)\n");
}

/* One timed proof of workload wl on the CPU backend (streamed: mode
 * spilled under host budget `budget`, 0 = the default): its AIR and times
 * go to run (the AIR stays alive in *air for the fit). */
static spw_status calib_prove(spw_ctx *ctx, spw_air **air, spw_calib_run *run, const char *wl,
                              unsigned log_rows, int streamed, uint64_t budget)
{
    spw_workload_params wp;
    spw_trace *trace = NULL;
    uint64_t *publics = NULL;
    size_t n_publics = 0;
    char tag[SPW_WORKLOAD_TAG_MAX];
    SPW_TRY(spw_workload_defaults(ctx, &wp, wl));
    wp.log_rows = log_rows;
    spw_status s = spw_workload_build(ctx, air, &trace, &publics, &n_publics, tag, sizeof tag, &wp);
    if (s == SPW_OK) s = spw_ctx_set_param(ctx, SPW_PARAM_MODE, streamed ? SPW_MODE_SPILLED
                                                                       : SPW_MODE_RESIDENT);
    if (s == SPW_OK) s = spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)budget);
    uint8_t *proof = NULL;
    size_t len = 0;
    spw_statement stmt = {publics, n_publics, (const uint8_t *)tag, strlen(tag)};
    if (s == SPW_OK) s = spw_prove(ctx, &proof, &len, *air, trace, &stmt);
    if (s == SPW_OK)
        spw_calib_run_from_stats(run, spw_air_get_def(*air), ctx->blowup ? ctx->blowup : 4,
                                 streamed, &ctx->run_stats);
    spw_free(proof);
    spw_workload_free(NULL, trace, publics);
    return s;
}

/* The exposed share of disk time: the streamed run under a small budget
 * (runs[4]) against the plan made with the fitted model and the measured
 * bandwidths (written to a temporary probe file in the spill directory). */
static spw_status calib_overlap(spw_ctx *ctx, spw_calib *c, const spw_spill_probe_result *r,
                                const spw_calib_run *run, uint64_t budget)
{
    char path[SPW_PLAN_DIR_MAX + 32];
    snprintf(path, sizeof path, "%s/.spw-calib-%ld", r->dir, (long)getpid());
    spw_status s = spw_spill_probe_save(ctx, path, r);
    if (s == SPW_OK) s = spw_calib_append(ctx, path, c);
    spw_plan plan;
    memset(&plan, 0, sizeof plan);
    if (s == SPW_OK) s = spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)budget);
    if (s == SPW_OK) s = spw_plan_make(ctx, &plan, run->def, path);
    unlink(path);
    if (s == SPW_OK) {
        double m = 0;
        for (int k = 0; k < SPW_ROUND_COUNT; k++) m += run->round_s[k];
        c->overlap = spw_calib_overlap_fit(m, plan.t_compute, plan.t_io);
    }
    spw_plan_clear(&plan);
    return s;
}

/* The per-round calibration: a warm-up (vm 2^(L-4), at least 2^10), vm
 * 2^(L-2) and 2^L and fib 2^(L+2) (one narrow table, a larger LDE) in
 * memory, vm 2^(L-1) streamed in the pool (no disk), fitted on ctx's
 * threads; then vm 2^(L-1) streamed under a budget of 2 KiB per row (at
 * least 32 MiB) for the exposed share of the disk time (smaller runs are
 * latency-bound: vm 2^14 under 32 MiB exposed 0.96 of it here, against
 * 0.26-0.29 at 2^15 and at vm 2^18 under 256 MiB). */
static spw_status calib_run(spw_ctx *ctx, spw_calib *c, const spw_spill_probe_result *r,
                            unsigned L)
{
    enum { NR = 6 };
    spw_air *air[NR] = {NULL};
    spw_calib_run *runs = calloc(NR, sizeof *runs);
    if (!runs) return SPW_ERR_NOMEM;
    const char *wl[NR] = {"vm", "vm", "vm", "fib", "vm", "vm"};
    const unsigned logs[NR] = {L - 4 > 10 ? L - 4 : 10, L - 2, L, L + 2, L - 1, L - 1};
    uint64_t small = (UINT64_C(2048) << (L - 1)) > (UINT64_C(32) << 20) ? UINT64_C(2048) << (L - 1)
                                                                       : UINT64_C(32) << 20;
    spw_status s = spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, SPW_BACKEND_CPU);
    for (int i = 0; i < NR && s == SPW_OK; i++)
        s = calib_prove(ctx, &air[i], &runs[i], wl[i], logs[i], i >= 4, i == 5 ? small : 0);
    if (s == SPW_OK) s = spw_calib_fit(ctx, c, runs + 1, 4, ctx->threads);
    if (s == SPW_OK) s = calib_overlap(ctx, c, r, &runs[5], small);
    for (int i = 0; i < NR; i++) spw_workload_free(air[i], NULL, NULL);
    free(runs);
    if (s == SPW_OK) s = spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, 0);
    return s;
}

int cli_probe(int argc, char **argv)
{
    const char *dir = getenv("SPW_SPILL_DIR");
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/var/tmp";
    const char *save = NULL;
    uint64_t size = 1ull << 30, qd = 8, req = 4u << 20, threads = 0, calib_log = 16;
    int engine = SPW_IO_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            probe_usage(stdout);
            return CLI_OK;
        }
        if (!v) {
            cli_error("probe", "unknown option or missing value: '%s'", a);
            probe_usage(stderr);
            return CLI_USAGE;
        }
        i++;
        if (!strcmp(a, "--spill-dir")) dir = v;
        else if (!strcmp(a, "--save")) save = v;
        else if (!strcmp(a, "--size")) {
            if (cli_parse_size(v, &size) || !size) {
                cli_error("probe", "bad --size '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--queue-depth")) {
            if (cli_parse_uint(v, 1, 64, &qd)) {
                cli_error("probe", "bad --queue-depth '%s' (1..64)", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--request-size")) {
            if (cli_parse_size(v, &req) || req < 4096 || req > (1u << 30)) {
                cli_error("probe", "bad --request-size '%s' (4K..1G)", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_uint(v, 0, 1024, &threads)) {
                cli_error("probe", "bad --threads '%s' (0..1024)", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--calib-log-rows")) {
            if (cli_parse_uint(v, 0, 24, &calib_log) || (calib_log && calib_log < 12)) {
                cli_error("probe", "bad --calib-log-rows '%s' (0, or 12..24)", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--engine")) {
            if (!strcmp(v, "auto")) engine = SPW_IO_AUTO;
            else if (!strcmp(v, "uring")) engine = SPW_IO_URING;
            else if (!strcmp(v, "threads")) engine = SPW_IO_THREADS;
            else {
                cli_error("probe", "bad --engine '%s' (auto, uring or threads)", v);
                return CLI_USAGE;
            }
        } else {
            cli_error("probe", "unknown option '%s'", a);
            probe_usage(stderr);
            return CLI_USAGE;
        }
    }
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = (unsigned)threads;
    if (spw_ctx_create(&ctx, &o) != SPW_OK) {
        cli_error("probe", "cannot create a context");
        return CLI_FAIL;
    }
    spw_spill_probe_result r;
    spw_status s = spw_spill_probe(ctx, &r, dir, size, (unsigned)qd, (uint32_t)req, engine);
    if (s == SPW_OK) s = spw_spill_probe_cpu(ctx, &r, 0, 0);
    spw_calib cal;
    memset(&cal, 0, sizeof cal);
    if (s == SPW_OK && calib_log) {
        s = spw_ctx_set_spill_dir(ctx, dir);
        if (s == SPW_OK) s = calib_run(ctx, &cal, &r, (unsigned)calib_log);
    }
    if (s == SPW_OK) {
        spw_spill_probe_print(stdout, &r);
        if (cal.have) spw_calib_print(stdout, &cal);
        if (save) s = spw_spill_probe_save(ctx, save, &r);
        if (save && s == SPW_OK && cal.have) s = spw_calib_append(ctx, save, &cal);
    }
    if (s != SPW_OK) cli_error("probe", "%s", spw_ctx_last_error(ctx));
    spw_ctx_free(ctx);
    return s == SPW_OK ? CLI_OK : CLI_FAIL;
}
