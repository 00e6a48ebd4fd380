/*
 * cli_prove.c - `spillway prove` and `spillway verify`.
 *   prove  --workload fib|vm|synth [--log-rows N] [--preset NAME] [--seed S]
 *          [--blowup B] [--threads T] -o PROOF
 *   prove  --air FILE.air --trace DIR [--publics v0,v1,...] -o PROOF
 *   verify --workload NAME PROOF      verify --air FILE.air PROOF
 * verify rebuilds the AIR from the workload tag or the .air file, takes the
 * table heights, the public inputs and the tag from the proof, and exits 0
 * only when the proof is valid. --force (tests only) proves a trace that
 * fails the pre-proof checks, so that the verifier's rejection can be shown.
 */
#include "cli.h"
#include "cli_log.h"
#include "internal.h"
#include "plan.h"
#include "gpu_prover.h"
#include "stark.h"
#include "workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void prove_usage(FILE *f)
{
    fprintf(f,
            "usage: spillway prove --workload fib|vm|synth [--log-rows N] [--preset NAME]\n"
            "                      [--seed S] [--blowup B] [--threads T] [--backend B]\n"
            "                      [--vram-budget SIZE] -o PROOF\n"
            "       spillway prove --air FILE.air --trace DIR [--publics v0,v1,...]\n"
            "                      [--blowup B] [--threads T] -o PROOF\n"
            "  Proves a workload, or an AIR file with its trace directory (one\n"
            "  DIR/<table>.trace per table), and writes the proof to PROOF.\n"
            "  --blowup 2|4|8 (default 4), --threads 0 = all CPUs (default).\n"
            "  Budgets (docs/OUT_OF_CORE.md): --host-budget SIZE, --vram-budget SIZE,\n"
            "  --spill-dir DIR, --mode auto|resident|spilled, --chunk-rows N.\n"
            "  --backend auto|cpu|cuda (default auto: the GPU when present, resident\n"
            "  when its plan fits --vram-budget SIZE, else the streaming device tier\n"
            "  through the host budget; the CPU, logged, below the tier's minimum).\n"
            "  --quiet prints nothing on success; --force (tests only) skips the\n"
            "  pre-proof trace and bus checks.\n"
            "  -q errors only, no progress line; -v info, -vv debug messages\n"
            "  (default: SPW_LOG=error|warn|info|debug, else warn). A live progress\n"
            "  line is drawn on stderr when it is a terminal.\n"
            "  --stats FILE.json writes run statistics (docs/STATS_SCHEMA.md).\n");
}

static void verify_usage(FILE *f)
{
    fprintf(f,
            "usage: spillway verify --workload NAME PROOF\n"
            "       spillway verify --air FILE.air PROOF\n"
            "  Verifies PROOF; table heights, public inputs and the tag come from the\n"
            "  proof. Exit status 0 only when the proof is valid. -q prints only\n"
            "  errors; -v, -vv add info and debug messages.\n");
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(buf, 1, len, f);
    int bad = w != len;
    if (fclose(f)) bad = 1;
    return bad ? -1 : 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        if (cap >= ((size_t)SPW_MAX_PROOF_BYTES)) break;
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

static spw_ctx *make_ctx(unsigned threads, unsigned blowup)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    spw_ctx *ctx = NULL;
    if (spw_ctx_create(&ctx, &o) != SPW_OK) return NULL;
    if (blowup && spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, blowup) != SPW_OK) {
        spw_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

static int parse_publics(const char *s, uint64_t **out, size_t *n)
{
    size_t cap = 8, k = 0;
    uint64_t *v = malloc(cap * 8);
    const char *p = s;
    while (v && *p) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(p, &end, 0);
        if (end == p || errno || x >= GL_P) {
            free(v);
            return -1;
        }
        if (k == cap) {
            uint64_t *nv = realloc(v, (cap *= 2) * 8);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
        }
        v[k++] = x;
        p = end;
        if (*p == ',') p++;
        else if (*p) {
            free(v);
            return -1;
        }
    }
    if (!v) return -1;
    *out = v;
    *n = k;
    return 0;
}

int cli_prove(int argc, char **argv)
{
    const char *workload = NULL, *preset = NULL, *air_path = NULL, *trace_dir = NULL;
    const char *out_path = NULL, *publics_s = NULL;
    uint64_t log_rows = 0, seed = 0, blowup = 4, threads = 0, vram = 0;
    int backend = SPW_BACKEND_AUTO;
    int have_seed = 0, force = 0, quiet = 0, verbose = 0;
    const char *stats_path = NULL;
    cli_budget bud = {0, 0, 0, SPW_MODE_AUTO, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int br = cli_budget_opt("prove", &bud, a, v); /* (ooc) budget options */
        if (br < 0) return CLI_USAGE;
        if (br > 0) {
            i++;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            prove_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--force")) {
            force = 1;
            continue;
        } else if (cli_log_option(a, &verbose, &quiet)) {
            continue;
        }
        if (!v) {
            cli_error("prove", "option '%s' needs a value (or is unknown)", a);
            return CLI_USAGE;
        }
        i++;
        if (!strcmp(a, "--workload")) workload = v;
        else if (!strcmp(a, "--preset")) preset = v;
        else if (!strcmp(a, "--air")) air_path = v;
        else if (!strcmp(a, "--trace")) trace_dir = v;
        else if (!strcmp(a, "--publics")) publics_s = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) out_path = v;
        else if (!strcmp(a, "--stats")) stats_path = v;
        else if (!strcmp(a, "--log-rows")) {
            if (cli_parse_uint(v, 1, 32, &log_rows)) {
                cli_error("prove", "--log-rows: expected 1..32, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--seed")) {
            if (cli_parse_uint(v, 0, UINT64_MAX, &seed)) {
                cli_error("prove", "--seed: expected an unsigned integer, got '%s'", v);
                return CLI_USAGE;
            }
            have_seed = 1;
        } else if (!strcmp(a, "--blowup")) {
            if (cli_parse_uint(v, 2, 8, &blowup) || (blowup != 2 && blowup != 4 && blowup != 8)) {
                cli_error("prove", "--blowup: expected 2, 4 or 8, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--backend")) {
            if (cli_backend_opt("prove", v, &backend)) return CLI_USAGE;
        } else if (!strcmp(a, "--vram-budget")) {
            if (cli_parse_size(v, &vram) || vram == 0) {
                cli_error("prove", "--vram-budget: expected a size such as 512M or 2G, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_uint(v, 0, 1024, &threads)) {
                cli_error("prove", "--threads: expected 0..1024, got '%s'", v);
                return CLI_USAGE;
            }
        } else {
            cli_error("prove", "unknown option '%s' (see spillway prove --help)", a);
            return CLI_USAGE;
        }
    }
    if (!out_path || (!workload == !air_path) || (air_path && !trace_dir) || (workload && trace_dir)) {
        prove_usage(stderr);
        return CLI_USAGE;
    }
    spw_ctx *ctx = make_ctx((unsigned)threads, (unsigned)blowup);
    if (!ctx) {
        cli_error("prove", "cannot create a context");
        return CLI_FAIL;
    }
    if (spw_ctx_set_param(ctx, SPW_PARAM_LOG_LEVEL, cli_log_level(verbose, quiet)) != SPW_OK) {
        spw_ctx_free(ctx);
        return CLI_FAIL;
    }
    if (spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, backend) != SPW_OK ||
        (vram && spw_ctx_set_param(ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)vram) != SPW_OK)) {
        cli_error("prove", "%s", spw_ctx_last_error(ctx));
        spw_ctx_free(ctx);
        return CLI_USAGE;
    }
    if (cli_budget_apply("prove", ctx, &bud)) {
        spw_ctx_free(ctx);
        return CLI_USAGE;
    }
    spw_air *air = NULL;
    spw_trace *trace = NULL;
    uint64_t *publics = NULL;
    size_t n_publics = 0;
    char tag[SPW_WORKLOAD_TAG_MAX + 512] = "";
    spw_status st;
    int rc = CLI_FAIL;
    double t0 = spw_now();
    if (workload) {
        spw_workload_params wp;
        if ((st = spw_workload_defaults(ctx, &wp, workload)) != SPW_OK) {
            cli_error("prove", "%s", spw_ctx_last_error(ctx));
            spw_ctx_free(ctx);
            return CLI_USAGE;
        }
        if (log_rows) wp.log_rows = (unsigned)log_rows;
        if (preset) wp.preset = preset;
        if (have_seed) wp.seed = seed;
        st = spw_workload_build(ctx, &air, &trace, &publics, &n_publics, tag, sizeof tag, &wp);
    } else {
        st = spw_air_parse_file(ctx, &air, air_path);
        if (st == SPW_OK) st = spw_trace_open_dir(ctx, &trace, air, trace_dir);
        if (st == SPW_OK && publics_s && parse_publics(publics_s, &publics, &n_publics)) {
            cli_error("prove", "--publics: expected comma-separated field elements");
            rc = CLI_USAGE;
            goto out;
        }
        const char *base = strrchr(air_path, '/');
        snprintf(tag, sizeof tag, "air %s", base ? base + 1 : air_path);
    }
    if (st != SPW_OK) {
        cli_error("prove", "%s", spw_ctx_last_error(ctx));
        goto out;
    }
    double t_build = spw_now() - t0;
    spw_statement stmt = {publics, n_publics, (const uint8_t *)tag, strlen(tag)};
    spw_prove_opts opts = {.skip_checks = force};
    spw_prove_stats stats;
    uint8_t *proof = NULL;
    size_t len = 0;
    cli_progress cp;
    cli_progress_start(&cp, ctx, !quiet && !verbose); /* -v: the log is the progress */
    st = spw_prove_ex(ctx, &proof, &len, air, trace, &stmt, &opts, &stats);
    cli_progress_end(&cp, ctx);
    if (st != SPW_OK) {
        cli_fail_status("prove", st, spw_ctx_last_error(ctx));
        goto out;
    }
    if (stats_path && cli_write_stats(ctx, "prove", stats_path)) {
        spw_free(proof);
        goto out;
    }
    if (write_file(out_path, proof, len)) {
        cli_error("prove", "cannot write '%s': %s", out_path, strerror(errno));
        spw_free(proof);
        goto out;
    }
    if (!quiet) {
        const spw_air_def *d = spw_air_get_def(air);
        double sec = 0, prov = 0;
        if (spw_security_bits(ctx, &sec, &prov, (unsigned)blowup) != SPW_OK) sec = prov = 0;
        printf("statement: %s\n", tag);
        for (uint32_t t = 0; t < d->n_tables; t++)
            printf("  table %-12s 2^%-2u rows  %4u main  %3u aux (ext3) columns  %u quotient parts\n",
                   d->tables[t].name, d->tables[t].log_height, d->tables[t].n_main,
                   d->tables[t].n_aux, spw_stark_num_parts(&d->tables[t]));
        printf("trace setup %.3f s; prover %.3f s:", t_build, stats.total);
        for (int r = 0; r < SPW_ROUND_COUNT; r++)
            printf("%s %s %.3f", r ? "," : "", spw_round_names[r], stats.seconds[r]);
        char sz[32];
        spw_gpu_run_stats gs;
        spw_gpu_last_run(&gs);
        if (gs.used_device) {
            char b1[32], b2[32], b3[32];
            printf("\nbackend: cuda (%s), device peak %s of budget %s (estimate %s), %llu kernels",
                   gs.device, cli_fmt_size(b1, sizeof b1, gs.peak),
                   cli_fmt_size(b2, sizeof b2, gs.budget), cli_fmt_size(b3, sizeof b3, gs.estimate),
                   (unsigned long long)gs.kernels);
            /* link traffic: bytes, and GB/s over the copies' own time */
            printf(";\n  host->device %s", cli_fmt_size(b1, sizeof b1, gs.h2d_bytes));
            if (gs.h2d_seconds > 0) printf(" at %.2f GB/s", gs.h2d_bytes / gs.h2d_seconds / 1e9);
            printf(", device->host %s", cli_fmt_size(b1, sizeof b1, gs.d2h_bytes));
            if (gs.d2h_seconds > 0) printf(" at %.2f GB/s", gs.d2h_bytes / gs.d2h_seconds / 1e9);
        } else {
            printf("\nbackend: cpu");
        }
        printf("\nproof: %s (%zu bytes), blowup %u, %.0f bits conjectured security (%.0f provable)\n",
               cli_fmt_size(sz, sizeof sz, len), len, (unsigned)blowup, sec, prov);
        printf("peak RSS %s\n", cli_fmt_size(sz, sizeof sz, spw_peak_rss()));
        printf("wrote %s\n", out_path);
    }
    spw_free(proof);
    rc = CLI_OK;
out:
    if (workload) spw_workload_free(air, trace, publics);
    else {
        spw_trace_free(trace);
        spw_air_free(air);
        free(publics);
    }
    spw_ctx_free(ctx);
    return rc;
}

int cli_verify(int argc, char **argv)
{
    const char *workload = NULL, *air_path = NULL, *proof_path = NULL;
    uint64_t threads = 0;
    int verbose = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            verify_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--workload") && i + 1 < argc) {
            workload = argv[++i];
        } else if (!strcmp(a, "--air") && i + 1 < argc) {
            air_path = argv[++i];
        } else if (cli_log_option(a, &verbose, &quiet)) {
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (cli_parse_uint(argv[++i], 0, 1024, &threads)) {
                cli_error("verify", "--threads: expected 0..1024");
                return CLI_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error("verify", "unknown option '%s' (see spillway verify --help)", a);
            return CLI_USAGE;
        } else if (!proof_path) {
            proof_path = a;
        } else {
            cli_error("verify", "more than one proof file given");
            return CLI_USAGE;
        }
    }
    if (!proof_path || !workload == !air_path) {
        verify_usage(stderr);
        return CLI_USAGE;
    }
    uint8_t *proof = NULL;
    size_t len = 0;
    if (read_file(proof_path, &proof, &len)) {
        cli_error("verify", "cannot read '%s': %s", proof_path, strerror(errno));
        return CLI_FAIL;
    }
    spw_ctx *ctx = make_ctx((unsigned)threads, 0);
    if (!ctx || spw_ctx_set_param(ctx, SPW_PARAM_LOG_LEVEL, cli_log_level(verbose, quiet))) {
        free(proof);
        spw_ctx_free(ctx);
        cli_error("verify", "cannot create a context");
        return CLI_FAIL;
    }
    spw_proof_info *info = NULL;
    spw_air *air = NULL;
    int rc = CLI_FAIL;
    spw_status st = spw_proof_inspect(ctx, &info, proof, len);
    if (st != SPW_OK) {
        cli_error("verify", "%s: %s", spw_strerror(st), spw_ctx_last_error(ctx));
        goto out;
    }
    if (workload) {
        spw_workload_params wp;
        if (spw_workload_parse_tag(ctx, &wp, (const char *)info->tag) != SPW_OK) {
            cli_error("verify", "the proof's tag '%s' is not a workload tag: %s",
                      (const char *)info->tag, spw_ctx_last_error(ctx));
            goto out;
        }
        if (strcmp(wp.name, workload)) {
            cli_error("verify", "the proof is for workload '%s', not '%s'", wp.name, workload);
            goto out;
        }
        st = spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &wp);
    } else {
        st = spw_air_parse_file(ctx, &air, air_path);
    }
    if (st != SPW_OK) {
        cli_error("verify", "%s", spw_ctx_last_error(ctx));
        goto out;
    }
    if (spw_air_num_tables(air) != info->n_tables) {
        cli_error("verify", "the proof has %u tables, the AIR %u: invalid", info->n_tables,
                  spw_air_num_tables(air));
        goto out;
    }
    for (uint32_t t = 0; t < info->n_tables; t++)
        if (spw_air_set_table_height(air, t, info->log_heights[t]) != SPW_OK) {
            cli_error("verify", "%s", spw_ctx_last_error(ctx));
            goto out;
        }
    spw_statement stmt = {info->publics, info->n_publics, info->tag, info->tag_len};
    double t0 = spw_now();
    st = spw_verify(ctx, air, &stmt, proof, len);
    double dt = spw_now() - t0;
    if (st != SPW_OK) {
        cli_error("verify", "%s: %s", spw_strerror(st), spw_ctx_last_error(ctx));
        goto out;
    }
    if (!quiet)
        printf("verified: %s (%zu bytes, %.0f bits conjectured security) in %.3f s\n",
               (const char *)info->tag, len, info->security_bits, dt);
    rc = CLI_OK;
out:
    if (workload) spw_workload_free(air, NULL, NULL);
    else spw_air_free(air);
    spw_proof_info_free(info);
    spw_ctx_free(ctx);
    free(proof);
    return rc;
}
