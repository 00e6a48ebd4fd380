/*
 * fib.c - the fib workload: one table of two columns (a, b) with
 *   first row:  a = pub0, b = pub1
 *   transition: a' = b, b' = a + b
 *   last row:   b = pub2
 * and a producer that generates any chunk directly: row r holds
 * (F(r), F(r+1)) (Fibonacci numbers mod p, F(0) = 0, F(1) = 1), with F at the
 * chunk start computed by fast doubling.
 */
#include "wl_internal.h"

#include <stdlib.h>

/* (F(n), F(n+1)) mod p by fast doubling. */
static void fib_pair(uint64_t *fn, uint64_t *fn1, uint64_t n)
{
    uint64_t a = 0, b = 1; /* F(k), F(k+1) for k = prefix of n's bits */
    for (int i = 63; i >= 0; i--) {
        /* F(2k) = F(k) (2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2 */
        uint64_t c = gl_mul(a, gl_sub(gl_add(b, b), a));
        uint64_t d = gl_add(gl_mul(a, a), gl_mul(b, b));
        if ((n >> i) & 1) {
            a = d;
            b = gl_add(c, d);
        } else {
            a = c;
            b = d;
        }
    }
    *fn = a;
    *fn1 = b;
}

static spw_status fib_fill(void *user, uint64_t *out, uint32_t table, uint32_t col, uint64_t row0,
                           uint64_t nrows)
{
    (void)user;
    if (table != 0 || col > 1 || row0 + nrows < row0) return SPW_ERR_INVALID_ARG;
    uint64_t a, b;
    fib_pair(&a, &b, row0 + col); /* column b is column a shifted by one */
    for (uint64_t i = 0; i < nrows; i++) {
        out[i] = a;
        uint64_t s = gl_add(a, b);
        a = b;
        b = s;
    }
    return SPW_OK;
}

static spw_status fib_air(spw_ctx *ctx, spw_air **out, unsigned log_rows)
{
    spw_air *air = NULL;
    uint32_t t;
    SPW_TRY(spw_air_create(ctx, &air));
    spw_status s = spw_air_add_table(air, &t, "fib", log_rows, 2);
    if (s == SPW_OK) s = spw_air_set_publics(air, 3);
    spw_wl_eb e = {air, t};
    enum { A = 0, B = 1 };
    if (s == SPW_OK) s = wl_con(&e, SPW_ROWS_FIRST, wl_sub(&e, wl_c(&e, A), spw_air_public(air, t, 0)));
    if (s == SPW_OK) s = wl_con(&e, SPW_ROWS_FIRST, wl_sub(&e, wl_c(&e, B), spw_air_public(air, t, 1)));
    if (s == SPW_OK) s = wl_con(&e, SPW_ROWS_TRANSITION, wl_sub(&e, wl_n(&e, A), wl_c(&e, B)));
    if (s == SPW_OK)
        s = wl_con(&e, SPW_ROWS_TRANSITION,
                   wl_sub(&e, wl_n(&e, B), wl_add(&e, wl_c(&e, A), wl_c(&e, B))));
    if (s == SPW_OK) s = wl_con(&e, SPW_ROWS_LAST, wl_sub(&e, wl_c(&e, B), spw_air_public(air, t, 2)));
    if (s == SPW_OK) s = spw_air_finalize(air);
    if (s != SPW_OK) {
        spw_air_free(air);
        return s;
    }
    *out = air;
    return SPW_OK;
}

spw_status spw_wl_fib_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                            uint64_t **publics_out, size_t *n_publics,
                            const spw_workload_params *p)
{
    uint64_t n = 1ull << p->log_rows;
    if (publics_out) {
        uint64_t *pub = malloc(3 * sizeof *pub);
        if (!pub) return spw_fail(ctx, SPW_ERR_NOMEM, "fib: out of memory");
        uint64_t fl, fl1;
        fib_pair(&fl, &fl1, n); /* b on the last row = F(n) */
        pub[0] = 0;
        pub[1] = 1;
        pub[2] = fl;
        *publics_out = pub;
        *n_publics = 3;
    }
    if (!air_out) return SPW_OK;
    spw_status s = fib_air(ctx, air_out, p->log_rows);
    if (s == SPW_OK && trace_out) {
        s = spw_trace_create(ctx, trace_out, *air_out);
        if (s == SPW_OK) s = spw_trace_set_producer(*trace_out, 0, fib_fill, NULL);
        if (s != SPW_OK) {
            spw_trace_free(*trace_out);
            *trace_out = NULL;
        }
    }
    if (s != SPW_OK) {
        spw_air_free(*air_out);
        *air_out = NULL;
        if (publics_out) {
            free(*publics_out);
            *publics_out = NULL;
            *n_publics = 0;
        }
    }
    return s;
}
