/*
 * air_test_util.h - shared by the air tests: the two-table lookup AIR of
 * tests/data/lookup.air built through the C API, its trace, and an
 * independent reference LogUp (one fe3_inv per term, no batching, no
 * program interpreter).
 */
#ifndef SPW_AIR_TEST_UTIL_H
#define SPW_AIR_TEST_UTIL_H

#include "check_util.h"
#include "air.h"
#include "logup.h"
#include "trace.h"
#include <stdlib.h>
#include <string.h>

#define CK_OK(ctx, expr)                                                                    \
    do {                                                                                    \
        spw_status s_ = (expr);                                                             \
        ck_assert_msg(s_ == SPW_OK, "%s -> %s: %s", #expr, spw_strerror(s_),                \
                      spw_ctx_last_error(ctx));                                             \
    } while (0)

/* cpu: a = row, b = a^2; sends (a) on 5, (a, b) on 7, (b) with mult a on 9.
 * lut: v = row, w = v^2, receives (v) mult m1 on 5, (v, w) mult m2 on 7,
 * (w) mult m3 on 9. */
static inline spw_air *lookup_air_build(spw_ctx *ctx, unsigned lc, unsigned ll)
{
    spw_air *air;
    uint32_t c, l;
    ck_assert_int_eq(spw_air_create(ctx, &air), SPW_OK);
    CK_OK(ctx, spw_air_add_table(air, &c, "cpu", lc, 2));
    spw_expr a = spw_air_col(air, c, 0), b = spw_air_col(air, c, 1);
    CK_OK(ctx, spw_air_constrain(air, c, SPW_ROWS_FIRST, spw_air_sub(air, c, a, spw_air_const(air, c, 0))));
    CK_OK(ctx, spw_air_constrain(air, c, SPW_ROWS_TRANSITION,
                                 spw_air_sub(air, c, spw_air_col_next(air, c, 0),
                                             spw_air_add(air, c, a, spw_air_const(air, c, 1)))));
    CK_OK(ctx, spw_air_constrain(air, c, SPW_ROWS_EVERY, spw_air_sub(air, c, b, spw_air_mul(air, c, a, a))));
    spw_expr one = spw_air_const(air, c, 1);
    spw_expr ab[2] = {a, b};
    CK_OK(ctx, spw_air_bus(air, c, 5, 1, one, &a, 1));
    CK_OK(ctx, spw_air_bus(air, c, 7, 1, one, ab, 2));
    CK_OK(ctx, spw_air_bus(air, c, 9, 1, a, &b, 1));

    CK_OK(ctx, spw_air_add_table(air, &l, "lut", ll, 5));
    spw_expr v = spw_air_col(air, l, 0), w = spw_air_col(air, l, 1);
    CK_OK(ctx, spw_air_constrain(air, l, SPW_ROWS_FIRST, spw_air_sub(air, l, v, spw_air_const(air, l, 0))));
    spw_expr vn = spw_air_col_next(air, l, 0);
    CK_OK(ctx, spw_air_constrain(air, l, SPW_ROWS_TRANSITION,
                                 spw_air_sub(air, l, spw_air_sub(air, l, vn, v), spw_air_const(air, l, 1))));
    CK_OK(ctx, spw_air_constrain(air, l, SPW_ROWS_EVERY, spw_air_sub(air, l, w, spw_air_mul(air, l, v, v))));
    spw_expr vw[2] = {v, w};
    CK_OK(ctx, spw_air_bus(air, l, 5, 0, spw_air_col(air, l, 2), &v, 1));
    CK_OK(ctx, spw_air_bus(air, l, 7, 0, spw_air_col(air, l, 3), vw, 2));
    CK_OK(ctx, spw_air_bus(air, l, 9, 0, spw_air_col(air, l, 4), &w, 1));
    CK_OK(ctx, spw_air_finalize(air));
    return air;
}

/* Column-major traces (caller frees). */
static inline void lookup_trace_gen(unsigned lc, unsigned ll, uint64_t **cpu, uint64_t **lut)
{
    uint64_t hc = 1ull << lc, hl = 1ull << ll;
    ck_assert(hl >= hc);
    *cpu = calloc(2 * hc, 8);
    *lut = calloc(5 * hl, 8);
    for (uint64_t r = 0; r < hc; r++) {
        (*cpu)[r] = r;
        (*cpu)[hc + r] = r * r;
    }
    for (uint64_t r = 0; r < hl; r++) {
        uint64_t *L = *lut;
        L[r] = r;
        L[hl + r] = r * r;
        L[2 * hl + r] = r < hc;
        L[3 * hl + r] = r < hc;
        L[4 * hl + r] = r < hc ? r : 0;
    }
}

static inline void test_challenges(fe3 ch[2], uint64_t seed)
{
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 3; c++) ch[i].c[c] = gl_from_u64(spw_test_rand(&seed));
}

/* Independent reference for the aux trace of a table whose interactions are
 * given directly (values/multiplicities as functions of row via the raw
 * columns): here computed from the program only through the bus structure:
 * every value/multiplicity is evaluated by direct recursion on the SSA
 * program (no batching, one inversion per term). */
static inline uint64_t ref_eval_base(const spw_air_table *t, uint32_t i, const uint64_t *main,
                                     uint64_t h, uint64_t r)
{
    const spw_insn *in = &t->prog[i];
    switch (in->op) {
    case SPW_OP_CONST: return in->k;
    case SPW_OP_MAIN: return main[in->k * h + r];
    case SPW_OP_ADD: return gl_add(ref_eval_base(t, in->a, main, h, r), ref_eval_base(t, in->b, main, h, r));
    case SPW_OP_SUB: return gl_sub(ref_eval_base(t, in->a, main, h, r), ref_eval_base(t, in->b, main, h, r));
    case SPW_OP_MUL: return gl_mul(ref_eval_base(t, in->a, main, h, r), ref_eval_base(t, in->b, main, h, r));
    case SPW_OP_NEG: return gl_neg(ref_eval_base(t, in->a, main, h, r));
    default: ck_abort_msg("unexpected op %u in bus expression", in->op); return 0;
    }
}

/* aux: 3*n_aux columns of h rows; returns L_t. */
static inline fe3 ref_logup(const spw_air_table *t, const uint64_t *main, uint64_t h, const fe3 ch[2],
                            uint64_t *aux)
{
    uint32_t k = t->n_interactions, nt = (k + 1) / 2;
    fe3 acc = fe3_zero();
    for (uint64_t r = 0; r < h; r++) {
        fe3 rowsum = fe3_zero();
        for (uint32_t j = 0; j < nt; j++) {
            fe3 term = fe3_zero();
            for (uint32_t i = 2 * j; i < 2 * j + 2 && i < k; i++) {
                const spw_interaction *it = &t->interactions[i];
                fe3 s = fe3_from_base(it->bus_id), ap = ch[1];
                for (uint32_t q = 0; q < it->n_values; q++) {
                    s = fe3_add(s, fe3_mul(ap, fe3_from_base(ref_eval_base(t, it->values[q], main, h, r))));
                    ap = fe3_mul(ap, ch[1]);
                }
                fe3 fp = fe3_sub(ch[0], s);
                fe3 x = fe3_mul(fe3_from_base(ref_eval_base(t, it->mult, main, h, r)), fe3_inv(fp));
                ck_assert(fe3_eq(fe3_mul(x, fp), fe3_from_base(ref_eval_base(t, it->mult, main, h, r))));
                term = it->is_sender ? fe3_add(term, x) : fe3_sub(term, x);
            }
            for (int c = 0; c < 3; c++) aux[(3 * j + c) * h + r] = term.c[c];
            rowsum = fe3_add(rowsum, term);
        }
        acc = fe3_add(acc, rowsum);
        for (int c = 0; c < 3; c++) aux[(3 * nt + c) * h + r] = acc.c[c];
    }
    return acc;
}

#endif
