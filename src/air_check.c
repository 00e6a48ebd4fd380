/*
 * air_check.c - checks that a trace satisfies every user constraint of an
 * AIR on every row, reading the trace in row chunks (with a one-row halo for
 * next-row references) and evaluating with the block interpreter. Used by
 * the prover before any work, so a wrong trace gets a clear error naming
 * table, constraint and row.
 */
#include "air.h"
#include "trace.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_CHUNK 4096u
#define CHECK_BLOCK 64u

typedef struct chk_job {
    const spw_air_table *t;
    const uint64_t *main; /* n_main columns, stride CHECK_CHUNK + 1 */
    const fe3 *aux0;      /* zero aux block */
    const fe3 *chal;
    const uint64_t *publics;
    uint64_t r0, nr, height;
    uint64_t bad;         /* (row * n_constraints + c), min over workers */
    int nomem;
} chk_job;

static void chk_worker(void *arg, size_t begin, size_t end)
{
    chk_job *j = arg;
    const spw_air_table *t = j->t;
    size_t nc = t->n_constraints;
    fe3 *scratch = malloc(spw_air_eval_rows_scratch(t, CHECK_BLOCK) * sizeof *scratch + 1);
    fe3 *out = malloc(nc * CHECK_BLOCK * sizeof *out + 1);
    if (!scratch || !out) {
        __atomic_store_n(&j->nomem, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (size_t blk = begin; blk < end; blk++) {
        size_t b0 = blk * CHECK_BLOCK;
        size_t nb = j->nr - b0 < CHECK_BLOCK ? j->nr - b0 : CHECK_BLOCK;
        spw_air_eval_rows(t, out, CHECK_BLOCK, j->main + b0, j->main + b0 + 1, CHECK_CHUNK + 1,
                          j->aux0, j->aux0, CHECK_BLOCK, j->chal, j->publics, fe3_zero(), nb, scratch);
        for (size_t r = 0; r < nb; r++) {
            uint64_t row = j->r0 + b0 + r;
            for (size_t c = 0; c < nc; c++) {
                const spw_constraint *cs = &t->constraints[c];
                if (cs->is_logup || !spw_constraint_applies(cs, row, j->height)) continue;
                if (fe3_is_zero(out[c * CHECK_BLOCK + r])) continue;
                uint64_t key = row * nc + c, cur = __atomic_load_n(&j->bad, __ATOMIC_RELAXED);
                while (key < cur && !__atomic_compare_exchange_n(&j->bad, &cur, key, 0, __ATOMIC_RELAXED,
                                                                 __ATOMIC_RELAXED)) {
                }
                goto done; /* later rows of this range cannot be smaller */
            }
        }
    }
done:
    free(scratch);
    free(out);
}

static const char *kind_name(unsigned k)
{
    static const char *n[] = {"transition", "first-row", "last-row", "every-row"};
    return k < 4 ? n[k] : "?";
}

static spw_status check_table(const spw_ctx *ctx, const spw_air_def *air, const spw_trace *trace,
                              uint32_t ti, const uint64_t *publics, const fe3 *chal)
{
    const spw_air_table *t = &air->tables[ti];
    uint64_t h = spw_trace_height(trace, ti);
    if (h == 0) return spw_fail(ctx, SPW_ERR_TRACE, "table %s: height unknown", t->name);
    /* User constraints come first and their instructions precede every
     * LogUp instruction (finalize appends those), so a truncated view of
     * the table evaluates exactly the user constraints. */
    spw_air_table tu = *t;
    tu.n_constraints = 0;
    tu.prog_len = 0;
    while (tu.n_constraints < t->n_constraints && !t->constraints[tu.n_constraints].is_logup) {
        uint32_t root = t->constraints[tu.n_constraints++].root;
        if (root + 1 > tu.prog_len) tu.prog_len = root + 1;
    }
    if (tu.n_constraints == 0) return SPW_OK;
    t = &tu;
    size_t stride = CHECK_CHUNK + 1;
    uint64_t *main = malloc((size_t)t->n_main * stride * sizeof *main);
    fe3 *aux0 = calloc((size_t)(t->n_aux ? t->n_aux : 1) * CHECK_BLOCK, sizeof *aux0);
    spw_status s = SPW_OK;
    if (!main || !aux0) {
        s = spw_fail(ctx, SPW_ERR_NOMEM, "constraint check: out of memory");
        goto out;
    }
    chk_job j;
    memset(&j, 0, sizeof j);
    j.t = t;
    j.main = main;
    j.aux0 = aux0;
    j.chal = chal;
    j.publics = publics;
    j.height = h;
    for (uint64_t r0 = 0; r0 < h; r0 += CHECK_CHUNK) {
        uint64_t nr = h - r0 < CHECK_CHUNK ? h - r0 : CHECK_CHUNK;
        for (uint32_t c = 0; c < t->n_main; c++) {
            if ((s = spw_trace_read(trace, main + c * stride, ti, c, r0, nr))) goto out;
            if ((s = spw_trace_read(trace, main + c * stride + nr, ti, c, (r0 + nr) % h, 1))) goto out;
        }
        j.r0 = r0;
        j.nr = nr;
        j.bad = UINT64_MAX;
        spw_parallel_for(ctx, (size_t)((nr + CHECK_BLOCK - 1) / CHECK_BLOCK), 8, chk_worker, &j);
        if (j.nomem) {
            s = spw_fail(ctx, SPW_ERR_NOMEM, "constraint check: out of memory");
            goto out;
        }
        if (j.bad != UINT64_MAX) {
            uint64_t row = j.bad / t->n_constraints;
            uint32_t c = (uint32_t)(j.bad % t->n_constraints);
            const spw_constraint *cs = &t->constraints[c];
            char where[300] = "";
            if (cs->line)
                snprintf(where, sizeof where, ", %s:%u", air->source ? air->source : "line", cs->line);
            s = spw_fail(ctx, SPW_ERR_CONSTRAINT,
                         "table %s: constraint %u (%s%s) does not hold at row %llu of %llu", t->name, c,
                         kind_name(cs->kind), where, (unsigned long long)row, (unsigned long long)h);
            goto out;
        }
    }
out:
    free(main);
    free(aux0);
    return s;
}

spw_status spw_air_check_trace(const spw_ctx *ctx, const spw_air_def *air, const spw_trace *trace,
                               const uint64_t *publics, size_t n_publics)
{
    SPW_CHECK_NULL(ctx, air);
    SPW_CHECK_NULL(ctx, trace);
    if (n_publics != air->n_publics)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "%zu public inputs given, the AIR declares %u", n_publics,
                        air->n_publics);
    if (n_publics) SPW_CHECK_NULL(ctx, publics);
    for (size_t i = 0; i < n_publics; i++)
        if (publics[i] >= GL_P)
            return spw_fail(ctx, SPW_ERR_NONCANONICAL, "public input %zu is not canonical", i);
    /* Fixed pseudo-random challenges (user constraints that use z or alpha
     * must hold for any value; these stand in for the transcript's). */
    fe3 chal[2];
    uint64_t st = 0x5350575f43484b31ull; /* "SPW_CHK1" */
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 3; c++) {
            uint64_t z = (st += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            chal[i].c[c] = gl_from_u64(z ^ (z >> 31));
        }
    for (uint32_t ti = 0; ti < air->n_tables; ti++) SPW_TRY(check_table(ctx, air, trace, ti, publics, chal));
    return SPW_OK;
}
