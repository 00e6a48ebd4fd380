/*
 * workload_test_util.h - a workload of workloads.h built for a test (AIR,
 * trace, publics, statement tag), and the byte-for-byte proof comparison
 * the prover tests share.
 */
#ifndef SPW_WORKLOAD_TEST_UTIL_H
#define SPW_WORKLOAD_TEST_UTIL_H

#include "check_util.h"
#include "workloads.h"

#include <string.h>

typedef struct built {
    spw_air *air;
    spw_trace *trace;
    uint64_t *pub;
    size_t np;
    char tag[SPW_WORKLOAD_TAG_MAX];
} built;

/* Workload `name` with its defaults, log_rows (0: default) and preset
 * (NULL: default). */
static inline void build_named(spw_ctx *ctx, built *b, const char *name, unsigned log_rows,
                               const char *preset)
{
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, name), SPW_OK);
    if (log_rows) wp.log_rows = log_rows;
    if (preset) wp.preset = preset;
    ck_assert_int_eq(spw_workload_build(ctx, &b->air, &b->trace, &b->pub, &b->np, b->tag,
                                        sizeof b->tag, &wp), SPW_OK);
}

static inline spw_statement built_stmt(const built *b)
{
    spw_statement st = {b->pub, b->np, (const uint8_t *)b->tag, strlen(b->tag)};
    return st;
}

/* Proof b (bl bytes) is proof a, byte for byte. */
static inline void same(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, const char *what)
{
    ck_assert_msg(al == bl, "%s: proof length %zu vs %zu", what, bl, al);
    for (size_t i = 0; i < al; i++)
        ck_assert_msg(a[i] == b[i], "%s: proofs differ at byte %zu of %zu", what, i, al);
}

#endif
