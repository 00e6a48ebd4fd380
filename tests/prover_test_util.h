/*
 * prover_test_util.h - a small three-table AIR built with the public
 * builder API, for the prover tests:
 *   fib  (2^5 rows, a b):  a' = b, b' = a + b; first a = pub0, b = pub1;
 *                          last b = pub2; sends (a) on bus 1 every row
 *   look (2^6 rows, v m):  receives (v) on bus 1 with multiplicity m
 *   pow4 (2^4 rows, x y):  x' = x^4 + y, y' = y + 1, first y = 0
 *                          (degree 4: its quotient needs a domain larger
 *                          than blowup 2 or 4)
 */
#ifndef SPW_PROVER_TEST_UTIL_H
#define SPW_PROVER_TEST_UTIL_H

#include "check_util.h"
#include "field.h"
#include <string.h>

typedef struct small_air {
    spw_air *air;
    spw_trace *trace;
    uint64_t *cols[3];
    uint64_t publics[3];
    unsigned log_h[3];
} small_air;

static inline spw_ctx *make_ctx(unsigned threads, unsigned blowup)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    o.log_level = SPW_LOG_ERROR;
    spw_ctx *ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, blowup), SPW_OK);
    return ctx;
}

static inline void small_air_build_air(spw_ctx *ctx, small_air *s)
{
    spw_air *a;
    ck_assert_int_eq(spw_air_create(ctx, &a), SPW_OK);
    s->air = a;
    s->log_h[0] = 5;
    s->log_h[1] = 6;
    s->log_h[2] = 4;
    uint32_t f, l, p;
    ck_assert_int_eq(spw_air_add_table(a, &f, "fib", s->log_h[0], 2), SPW_OK);
    ck_assert_int_eq(spw_air_add_table(a, &l, "look", s->log_h[1], 2), SPW_OK);
    ck_assert_int_eq(spw_air_add_table(a, &p, "pow4", s->log_h[2], 2), SPW_OK);
    ck_assert_int_eq(spw_air_set_publics(a, 3), SPW_OK);
    /* fib */
    spw_expr A = spw_air_col(a, f, 0), B = spw_air_col(a, f, 1);
    spw_expr An = spw_air_col_next(a, f, 0), Bn = spw_air_col_next(a, f, 1);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_TRANSITION, spw_air_sub(a, f, An, B)), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, f, Bn, spw_air_add(a, f, A, B))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_FIRST, spw_air_sub(a, f, A, spw_air_public(a, f, 0))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_FIRST, spw_air_sub(a, f, B, spw_air_public(a, f, 1))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_LAST, spw_air_sub(a, f, B, spw_air_public(a, f, 2))), SPW_OK);
    spw_expr one = spw_air_const(a, f, 1);
    ck_assert_int_eq(spw_air_bus(a, f, 1, 1, one, &A, 1), SPW_OK);
    /* look */
    spw_expr V = spw_air_col(a, l, 0), M = spw_air_col(a, l, 1);
    ck_assert_int_eq(spw_air_bus(a, l, 1, 0, M, &V, 1), SPW_OK);
    /* pow4 */
    spw_expr X = spw_air_col(a, p, 0), Y = spw_air_col(a, p, 1);
    spw_expr Xn = spw_air_col_next(a, p, 0), Yn = spw_air_col_next(a, p, 1);
    spw_expr X2 = spw_air_mul(a, p, X, X), X4 = spw_air_mul(a, p, X2, X2);
    ck_assert_int_eq(spw_air_constrain(a, p, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, p, Xn, spw_air_add(a, p, X4, Y))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, p, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, p, Yn, spw_air_add(a, p, Y, spw_air_const(a, p, 1)))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, p, SPW_ROWS_FIRST, Y), SPW_OK);
    ck_assert_int_eq(spw_air_finalize(a), SPW_OK);
}

static inline void small_air_build(spw_ctx *ctx, small_air *s)
{
    memset(s, 0, sizeof *s);
    small_air_build_air(ctx, s);
    size_t nf = 1u << s->log_h[0], nl = 1u << s->log_h[1], np = 1u << s->log_h[2];
    uint64_t *F = calloc(2 * nf, 8), *L = calloc(2 * nl, 8), *P = calloc(2 * np, 8);
    F[0] = 1;
    F[nf] = 1;
    for (size_t r = 1; r < nf; r++) {
        F[r] = F[nf + r - 1];
        F[nf + r] = gl_add(F[r - 1], F[nf + r - 1]);
    }
    /* look: distinct values of fib.a with their counts */
    size_t k = 0;
    for (size_t r = 0; r < nf; r++) {
        size_t j;
        for (j = 0; j < k; j++)
            if (L[j] == F[r]) break;
        if (j == k) L[k++] = F[r];
        L[nl + j]++;
    }
    for (size_t r = k; r < nl; r++) L[r] = 1000 + r; /* multiplicity 0 */
    P[0] = 3;
    for (size_t r = 1; r < np; r++) {
        P[np + r] = r;
        P[r] = gl_add(gl_pow(P[r - 1], 4), P[np + r - 1]);
    }
    s->cols[0] = F;
    s->cols[1] = L;
    s->cols[2] = P;
    s->publics[0] = 1;
    s->publics[1] = 1;
    s->publics[2] = F[nf + nf - 1];
    ck_assert_int_eq(spw_trace_create(ctx, &s->trace, s->air), SPW_OK);
    ck_assert_int_eq(spw_trace_set_table(s->trace, 0, F, 2 * nf), SPW_OK);
    ck_assert_int_eq(spw_trace_set_table(s->trace, 1, L, 2 * nl), SPW_OK);
    ck_assert_int_eq(spw_trace_set_table(s->trace, 2, P, 2 * np), SPW_OK);
}

static inline void small_air_free(small_air *s)
{
    spw_trace_free(s->trace);
    spw_air_free(s->air);
    for (int i = 0; i < 3; i++) free(s->cols[i]);
}

static inline spw_statement small_stmt(const small_air *s)
{
    spw_statement st = {s->publics, 3, (const uint8_t *)"small-air test", 14};
    return st;
}

#endif
