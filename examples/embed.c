/*
 * embed.c - embedding libspillway: define an AIR with the C API, fill its
 * trace, prove, verify. Uses only <spillway.h>; built by `make check`
 * against the in-tree library and by `make installcheck` against the
 * installed one (pkg-config spillway).
 *
 * The statement: "the sum of the squares 1^2 + 2^2 + ... + n^2 is S", with
 * n = 2^10 and S public. Table "squares" has columns (x, s):
 *   first row:  x = 1, s = 1
 *   transition: x' = x + 1, s' = s + x'^2
 *   last row:   s = public 0
 * A second table "check" looks up (x, x^2) pairs to show a bus: "squares"
 * sends (x, x*x) for each row and "check" receives them (same rows, in
 * reverse order, multiplicity 1).
 */
#include <spillway.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_ROWS 10
#define ROWS (1u << LOG_ROWS)
#define P SPW_GOLDILOCKS_P

static uint64_t add_mod(uint64_t a, uint64_t b) /* a, b < p */
{
    unsigned __int128 s = (unsigned __int128)a + b;
    return (uint64_t)(s % P);
}

static uint64_t mul_mod(uint64_t a, uint64_t b)
{
    return (uint64_t)((unsigned __int128)a * b % P);
}

/* A producer: table "check", rows in reverse order: (n - r, (n - r)^2). */
static spw_status fill_check(void *user, uint64_t *out, uint32_t table, uint32_t col,
                             uint64_t row0, uint64_t nrows)
{
    (void)user;
    (void)table;
    for (uint64_t i = 0; i < nrows; i++) {
        uint64_t x = ROWS - (row0 + i);
        out[i] = col == 0 ? x : mul_mod(x, x);
    }
    return SPW_OK;
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        spw_status s_ = (call);                                                        \
        if (s_ != SPW_OK) {                                                            \
            fprintf(stderr, "embed: %s failed: %s: %s\n", #call, spw_strerror(s_),     \
                    spw_ctx_last_error(ctx));                                          \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(void)
{
    spw_ctx *ctx = NULL;
    spw_air *air = NULL;
    spw_trace *trace = NULL;
    uint8_t *proof = NULL;
    size_t proof_len = 0;
    uint32_t sq, ck;
    if (spw_ctx_create(&ctx, NULL) != SPW_OK) return 1;

    /* the AIR */
    CHECK(spw_air_create(ctx, &air));
    CHECK(spw_air_add_table(air, &sq, "squares", LOG_ROWS, 2));
    CHECK(spw_air_add_table(air, &ck, "check", LOG_ROWS, 2));
    CHECK(spw_air_set_publics(air, 1));
    spw_expr x = spw_air_col(air, sq, 0), s = spw_air_col(air, sq, 1);
    spw_expr x1 = spw_air_col_next(air, sq, 0), s1 = spw_air_col_next(air, sq, 1);
    spw_expr one = spw_air_const(air, sq, 1);
    CHECK(spw_air_constrain(air, sq, SPW_ROWS_FIRST, spw_air_sub(air, sq, x, one)));
    CHECK(spw_air_constrain(air, sq, SPW_ROWS_FIRST, spw_air_sub(air, sq, s, one)));
    CHECK(spw_air_constrain(air, sq, SPW_ROWS_TRANSITION,
                            spw_air_sub(air, sq, x1, spw_air_add(air, sq, x, one))));
    CHECK(spw_air_constrain(air, sq, SPW_ROWS_TRANSITION,
                            spw_air_sub(air, sq, s1, spw_air_add(air, sq, s, spw_air_mul(air, sq, x1, x1)))));
    CHECK(spw_air_constrain(air, sq, SPW_ROWS_LAST, spw_air_sub(air, sq, s, spw_air_public(air, sq, 0))));
    spw_expr sent[2] = {x, spw_air_mul(air, sq, x, x)};
    CHECK(spw_air_bus(air, sq, 1, 1, one, sent, 2));
    spw_expr recv[2] = {spw_air_col(air, ck, 0), spw_air_col(air, ck, 1)};
    CHECK(spw_air_bus(air, ck, 1, 0, spw_air_const(air, ck, 1), recv, 2));
    CHECK(spw_air_finalize(air));

    /* the trace: "squares" from memory (column-major), "check" from a producer */
    uint64_t *cols = malloc(2 * ROWS * sizeof *cols);
    if (!cols) return 1;
    uint64_t sum = 0;
    for (uint64_t r = 0; r < ROWS; r++) {
        cols[r] = r + 1;
        sum = add_mod(sum, mul_mod(r + 1, r + 1));
        cols[ROWS + r] = sum;
    }
    CHECK(spw_trace_create(ctx, &trace, air));
    CHECK(spw_trace_set_table(trace, sq, cols, 2 * ROWS));
    CHECK(spw_trace_set_producer(trace, ck, fill_check, NULL));

    /* prove and verify */
    uint64_t publics[1] = {sum};
    const char tag[] = "embed sum of squares";
    spw_statement stmt = {publics, 1, (const uint8_t *)tag, strlen(tag)};
    CHECK(spw_prove(ctx, &proof, &proof_len, air, trace, &stmt));
    CHECK(spw_verify(ctx, air, &stmt, proof, proof_len));
    printf("embed: %u rows, sum of squares %llu, proof %zu bytes: verified\n", ROWS,
           (unsigned long long)sum, proof_len);

    /* a wrong public input must not verify */
    uint64_t wrong[1] = {add_mod(sum, 1)};
    spw_statement bad = {wrong, 1, (const uint8_t *)tag, strlen(tag)};
    spw_status v = spw_verify(ctx, air, &bad, proof, proof_len);
    printf("embed: with a wrong public input: %s\n", spw_strerror(v));

    spw_free(proof);
    spw_trace_free(trace);
    spw_air_free(air);
    spw_ctx_free(ctx);
    free(cols);
    return v == SPW_OK ? 1 : 0;
}
