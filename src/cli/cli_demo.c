/*
 * cli_demo.c - `spillway demo`: proves and verifies the example VM (four
 * tables linked by buses) at a size that takes a few seconds on two cores,
 * and prints the tables, the proof size, the time of every prover round and
 * "verified".
 */
#include "cli.h"
#include "internal.h"
#include "stark.h"
#include "workloads.h"

#include <stdio.h>
#include <string.h>

int cli_demo(int argc, char **argv)
{
    uint64_t log_rows = 14;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: spillway demo [--log-rows N]\n"
                   "  Proves and verifies the example VM (default 2^14 steps, blowup 4)\n"
                   "  and prints tables, proof size, time per round and \"verified\".\n");
            return CLI_OK;
        } else if (!strcmp(argv[i], "--log-rows") && i + 1 < argc) {
            if (cli_parse_uint(argv[++i], 10, 24, &log_rows)) {
                cli_error("demo", "--log-rows: expected 10..24");
                return CLI_USAGE;
            }
        } else {
            cli_error("demo", "unknown option '%s' (see spillway demo --help)", argv[i]);
            return CLI_USAGE;
        }
    }
    spw_ctx *ctx = NULL;
    if (spw_ctx_create(&ctx, NULL) != SPW_OK) {
        cli_error("demo", "cannot create a context");
        return CLI_FAIL;
    }
    int rc = CLI_FAIL;
    spw_air *air = NULL;
    spw_trace *trace = NULL;
    uint64_t *publics = NULL;
    size_t n_publics = 0;
    char tag[SPW_WORKLOAD_TAG_MAX];
    uint8_t *proof = NULL;
    size_t len = 0;
    spw_workload_params wp;
    spw_status st = spw_workload_defaults(ctx, &wp, "vm");
    if (st == SPW_OK) {
        wp.log_rows = (unsigned)log_rows;
        st = spw_workload_build(ctx, &air, &trace, &publics, &n_publics, tag, sizeof tag, &wp);
    }
    if (st != SPW_OK) {
        cli_error("demo", "%s", spw_ctx_last_error(ctx));
        goto out;
    }
    printf("spillway %s demo: %s (CPU prover, %u threads, blowup 4)\n", spw_version_string(),
           tag, ctx->threads);
    const spw_air_def *d = spw_air_get_def(air);
    uint64_t cells = 0;
    printf("%-10s %10s %8s %12s\n", "table", "rows", "main", "aux (ext3)");
    for (uint32_t t = 0; t < d->n_tables; t++) {
        printf("%-10s %10llu %8u %12u\n", d->tables[t].name,
               (unsigned long long)1 << d->tables[t].log_height, d->tables[t].n_main,
               d->tables[t].n_aux);
        cells += ((uint64_t)1 << d->tables[t].log_height) * d->tables[t].n_main;
    }
    printf("trace cells: %llu\n", (unsigned long long)cells);
    spw_statement stmt = {publics, n_publics, (const uint8_t *)tag, strlen(tag)};
    spw_prove_stats stats;
    st = spw_prove_ex(ctx, &proof, &len, air, trace, &stmt, NULL, &stats);
    if (st != SPW_OK) {
        cli_error("demo", "prove: %s", spw_ctx_last_error(ctx));
        goto out;
    }
    printf("prover rounds:\n");
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        printf("  %-20s %8.3f s\n", spw_round_names[r], stats.seconds[r]);
    printf("  %-20s %8.3f s\n", "total", stats.total);
    double sec = 0, prov = 0;
    if (spw_security_bits(ctx, &sec, &prov, 4) != SPW_OK) sec = prov = 0;
    char sz[32];
    printf("proof size: %s (%zu bytes); security: %.0f bits conjectured, %.0f provable\n",
           cli_fmt_size(sz, sizeof sz, len), len, sec, prov);
    double t0 = spw_now();
    st = spw_verify(ctx, air, &stmt, proof, len);
    double dt = spw_now() - t0;
    if (st != SPW_OK) {
        cli_error("demo", "verify: %s", spw_ctx_last_error(ctx));
        goto out;
    }
    printf("verifier: %.3f s\nverified\n", dt);
    rc = CLI_OK;
out:
    spw_free(proof);
    spw_workload_free(air, trace, publics);
    spw_ctx_free(ctx);
    return rc;
}
