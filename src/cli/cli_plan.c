/*
 * cli_plan.c - `spillway plan`: prints the out-of-core plan of a workload
 * (the same workload options as `spillway prove`) without proving: per
 * table rows, columns, mode, chunk and group sizes, working set per tier,
 * bytes per link and the predicted time, and for streamed plans the
 * per-round section; with the device backend (--backend cuda, or auto
 * with a GPU present) whether the resident device prover or the streaming
 * device tier runs, and the latter's plan with its recompute-vs-store
 * choices. Also the budget options shared with `spillway prove` (plan.h).
 */
#include "cli.h"
#include "gpu_prover.h"
#include "internal.h"
#include "plan.h"
#include "sched/dev.h"
#include "workloads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_budget_opt(const char *cmd, cli_budget *b, const char *a, const char *v)
{
    if (!strcmp(a, "--host-budget") || !strcmp(a, "--vram-budget")) {
        uint64_t x;
        if (!v || cli_parse_size(v, &x) || (int64_t)x < 0) {
            cli_error(cmd, "%s: expected a size such as 512M or 8G, got '%s'", a, v ? v : "");
            return -1;
        }
        if (a[2] == 'h') b->host = x;
        else b->vram = x;
        return 1;
    }
    if (!strcmp(a, "--spill-dir")) {
        if (!v) {
            cli_error(cmd, "--spill-dir needs a directory");
            return -1;
        }
        b->spill_dir = v;
        return 1;
    }
    if (!strcmp(a, "--mode")) {
        if (v && !strcmp(v, "auto")) b->mode = SPW_MODE_AUTO;
        else if (v && !strcmp(v, "resident")) b->mode = SPW_MODE_RESIDENT;
        else if (v && !strcmp(v, "spilled")) b->mode = SPW_MODE_SPILLED;
        else {
            cli_error(cmd, "--mode: expected auto, resident or spilled, got '%s'", v ? v : "");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--chunk-rows")) {
        uint64_t x;
        if (!v || cli_parse_uint(v, 1, UINT64_C(1) << 40, &x) || (x & (x - 1))) {
            cli_error(cmd, "--chunk-rows: expected a power of two, got '%s'", v ? v : "");
            return -1;
        }
        b->chunk_rows = x;
        return 1;
    }
    return 0;
}

int cli_backend_opt(const char *cmd, const char *v, int *backend)
{
    if (!strcmp(v, "auto")) *backend = SPW_BACKEND_AUTO;
    else if (!strcmp(v, "cpu")) *backend = SPW_BACKEND_CPU;
    else if (!strcmp(v, "cuda")) *backend = SPW_BACKEND_CUDA;
    else {
        cli_error(cmd, "--backend: expected auto, cpu or cuda, got '%s'", v);
        return -1;
    }
    return 0;
}

int cli_budget_apply(const char *cmd, spw_ctx *ctx, const cli_budget *b)
{
    if (spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)b->host) != SPW_OK ||
        spw_ctx_set_param(ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)b->vram) != SPW_OK ||
        spw_ctx_set_param(ctx, SPW_PARAM_MODE, b->mode) != SPW_OK ||
        spw_ctx_set_param(ctx, SPW_PARAM_CHUNK_ROWS, (int64_t)b->chunk_rows) != SPW_OK ||
        spw_ctx_set_spill_dir(ctx, b->spill_dir) != SPW_OK) {
        cli_error(cmd, "%s", spw_ctx_last_error(ctx));
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spillway plan --workload fib|vm|synth [--log-rows N] [--preset NAME]\n"
            "                     [--seed S] [--blowup B] [--threads T] [--host-budget SIZE]\n"
            "                     [--vram-budget SIZE] [--spill-dir DIR]\n"
            "                     [--mode auto|resident|spilled] [--chunk-rows N] [--probe FILE]\n"
            "                     [--backend auto|cpu|cuda]\n"
            "  Prints the plan `spillway prove` with the same options would execute: per\n"
            "  table the rows, columns, mode, chunk rows, column group, working set per\n"
            "  tier, then the pool and spill-file sizes, the store's peak, the bytes over\n"
            "  each link and the predicted time; for a streamed plan also per round and\n"
            "  table the mode (pool-resident or streamed), working set, store bytes live,\n"
            "  bytes per link and predicted times, and the recompute-vs-store costs with\n"
            "  the choice that runs (the recompute tier: the LDE never stored, its cosets\n"
            "  evaluated from the coefficients by each pass; auto where a table and the\n"
            "  whole plan are predicted cheaper; $SPW_RECOMPUTE=0 stores every LDE, 2\n"
            "  recomputes the odd-numbered tables, 3 every table that fits).\n"
            "  Nothing is proven. --probe FILE (or $SPW_PROBE_FILE) takes the disk\n"
            "  bandwidths from `spillway probe --save FILE`, and the CPU calibration\n"
            "  of the compute model when the file has it (cpu_threads, ...).\n"
            "  --backend (default auto, as `spillway prove`): cpu plans the CPU prover;\n"
            "  cuda (or auto when a GPU is present) the device backend: whether the\n"
            "  resident device prover runs (its working-set estimate within the VRAM\n"
            "  budget, and not --mode spilled: nothing more to plan) or the streaming\n"
            "  device tier, whose plan follows: per table whether the LDE is recomputed\n"
            "  on the device from the coefficients (the recompute tier: it fits 3/4 of\n"
            "  the VRAM budget and is predicted cheaper; $SPW_RECOMPUTE=0 stores every\n"
            "  LDE, 2 recomputes only the odd-numbered tables that fit, 3 all that fit)\n"
            "  or stored, with\n"
            "  both predicted costs, and the pool, store, disk and link figures of that\n"
            "  schedule. The VRAM budget is --vram-budget, else 90%% of the free device\n"
            "  memory; with cuda and no GPU, --vram-budget is required. Link speeds from\n"
            "  the probe file's h2d_gbs/d2h_gbs (a probe run on a GPU machine).\n");
}

/* The device backend's plan (--backend cuda, or auto with a GPU): the
 * resident device prover when its estimate fits the VRAM budget (and the
 * mode is not spilled), else the streaming device tier's plan, as
 * src/prover.c and spw_sched_dispatch decide. Returns a CLI_ code; *cpu = 1
 * when auto falls back to the CPU (below the tier's minimum). */
static int plan_device(spw_ctx *ctx, spw_plan *plan, const spw_air_def *def, const char *probe,
                       const char *tag, int backend, int *cpu)
{
    char a[32], b[32];
    uint64_t budget = ctx->vram_budget ? ctx->vram_budget : spw_plan_default_vram_budget();
    *cpu = 0;
    if (!budget) {
        cli_error("plan", "--backend cuda: no CUDA device here to take the VRAM budget from; give "
                          "--vram-budget SIZE to plan for a device");
        return CLI_USAGE;
    }
    unsigned blowup = ctx->blowup ? ctx->blowup : 4;
    uint64_t est = spw_gpu_estimate(def, blowup);
    printf("statement: %s\n", tag);
    printf("backend: %s; VRAM budget %s (%s)\n",
           backend == SPW_BACKEND_CUDA ? "cuda" : "auto (a GPU is present: the device)",
           cli_fmt_size(a, sizeof a, budget),
           ctx->vram_budget ? "--vram-budget" : "90% of free device memory");
#ifndef SPW_HAVE_CUDA
    printf("note: CUDA is not compiled into this build: spillway prove --backend cuda would fail\n");
#endif
    if (est <= budget && ctx->mode != SPW_MODE_SPILLED) {
        printf("device: resident: working-set estimate %s <= VRAM budget %s: every round on the "
               "device in one arena, nothing streamed (docs/GPU.md)\n",
               cli_fmt_size(a, sizeof a, est), cli_fmt_size(b, sizeof b, budget));
        return CLI_OK;
    }
    printf("device: streaming tier: working-set estimate %s %s VRAM budget %s%s\n",
           cli_fmt_size(a, sizeof a, est), est > budget ? ">" : "<=", cli_fmt_size(b, sizeof b, budget),
           est > budget ? "" : " (--mode spilled)");
    spw_status st = spw_plan_make_device(ctx, plan, def, probe);
    if (st != SPW_OK) {
        cli_error("plan", "%s: %s", spw_strerror(st), spw_ctx_last_error(ctx));
        return CLI_FAIL;
    }
    uint32_t big = 0;
    uint64_t need = spw_sdev_min_bytes(plan, def, &big);
    if (need > budget) {
        const spw_plan_table *t = &plan->tables[big];
        char msg[320];
        snprintf(msg, sizeof msg, "VRAM budget %s is below the minimum %s of the streaming device "
                 "tier for table %s (2^%u rows x %u columns)", cli_fmt_size(a, sizeof a, budget),
                 cli_fmt_size(b, sizeof b, need), t->name, t->log_n, t->nm);
        spw_plan_clear(plan);
        if (backend == SPW_BACKEND_CUDA) {
            cli_error("plan", "--backend cuda: %s; raise --vram-budget", msg);
            return CLI_FAIL;
        }
        printf("device: %s: auto falls back to the CPU prover\n", msg);
        *cpu = 1;
        return CLI_OK;
    }
    spw_plan_print(stdout, plan);
    return CLI_OK;
}

int cli_plan(int argc, char **argv)
{
    const char *workload = NULL, *preset = NULL, *probe = NULL;
    uint64_t log_rows = 0, seed = 0, blowup = 4, threads = 0;
    int have_seed = 0, backend = SPW_BACKEND_AUTO;
    cli_budget bud = {0, 0, 0, SPW_MODE_AUTO, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        int r = cli_budget_opt("plan", &bud, a, v);
        if (r < 0) return CLI_USAGE;
        if (r > 0) {
            i++;
            continue;
        }
        if (!v) {
            cli_error("plan", "option '%s' needs a value (or is unknown)", a);
            return CLI_USAGE;
        }
        i++;
        if (!strcmp(a, "--workload")) workload = v;
        else if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--probe")) probe = v;
        else if (!strcmp(a, "--backend")) {
            if (cli_backend_opt("plan", v, &backend)) return CLI_USAGE;
        }
        else if (!strcmp(a, "--log-rows")) {
            if (cli_parse_uint(v, 1, 32, &log_rows)) {
                cli_error("plan", "--log-rows: expected 1..32, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_uint(v, 0, UINT64_MAX, &seed)) {
                cli_error("plan", "--seed: expected an unsigned integer, got '%s'", v);
                return CLI_USAGE;
            }
            have_seed = 1;
        } else if (!strcmp(a, "--blowup")) {
            if (cli_parse_uint(v, 2, 8, &blowup) || (blowup != 2 && blowup != 4 && blowup != 8)) {
                cli_error("plan", "--blowup: expected 2, 4 or 8, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_uint(v, 0, 1024, &threads)) {
                cli_error("plan", "--threads: expected 0..1024, got '%s'", v);
                return CLI_USAGE;
            }
        } else {
            cli_error("plan", "unknown option '%s' (see spillway plan --help)", a);
            return CLI_USAGE;
        }
    }
    if (!workload) {
        usage(stderr);
        return CLI_USAGE;
    }
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = (unsigned)threads;
    spw_ctx *ctx = NULL;
    if (spw_ctx_create(&ctx, &o) != SPW_OK) {
        cli_error("plan", "cannot create a context");
        return CLI_FAIL;
    }
    int rc = CLI_FAIL;
    spw_air *air = NULL;
    spw_plan plan;
    memset(&plan, 0, sizeof plan);
    if (spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, (int64_t)blowup) != SPW_OK ||
        spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, backend) != SPW_OK ||
        cli_budget_apply("plan", ctx, &bud)) {
        rc = CLI_USAGE;
        goto out;
    }
    spw_workload_params wp;
    if (spw_workload_defaults(ctx, &wp, workload) != SPW_OK) {
        cli_error("plan", "%s", spw_ctx_last_error(ctx));
        rc = CLI_USAGE;
        goto out;
    }
    if (log_rows) wp.log_rows = (unsigned)log_rows;
    if (preset) wp.preset = preset;
    if (have_seed) wp.seed = seed;
    char tag[SPW_WORKLOAD_TAG_MAX + 1];
    /* the AIR alone: cheap at every size, no trace is generated */
    if (spw_workload_build(ctx, &air, NULL, NULL, NULL, tag, sizeof tag, &wp) != SPW_OK) {
        cli_error("plan", "%s", spw_ctx_last_error(ctx));
        goto out;
    }
    const spw_air_def *def = spw_air_get_def(air);
    if (backend == SPW_BACKEND_CUDA || spw_gpu_wanted(ctx)) { /* the device backend */
        int cpu = 0;
        rc = plan_device(ctx, &plan, def, probe, tag, backend, &cpu);
        if (rc != CLI_OK || !cpu) goto out;
        rc = CLI_FAIL;
        tag[0] = 0; /* printed */
    }
    spw_status st = spw_plan_make(ctx, &plan, def, probe);
    if (st != SPW_OK) {
        cli_error("plan", "%s: %s", spw_strerror(st), spw_ctx_last_error(ctx));
        goto out;
    }
    if (tag[0]) printf("statement: %s\n", tag);
    spw_plan_print(stdout, &plan);
    rc = CLI_OK;
out:
    spw_plan_clear(&plan);
    spw_workload_free(air, NULL, NULL);
    spw_ctx_free(ctx);
    return rc;
}
