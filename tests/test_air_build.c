/* test_air_build.c - AIR builder: degrees, hash-consing, validation errors,
 * the LogUp layout from finalize, and the interpreters against direct field
 * arithmetic. */
#include "air_test_util.h"
#include "air_priv.h"

static spw_ctx *mkctx(void)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 2;
    o.log_level = SPW_LOG_ERROR;
    spw_ctx *ctx;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

START_TEST(test_degrees)
{
    spw_ctx *ctx = mkctx();
    spw_air *air;
    uint32_t t;
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_set_publics(air, 1));
    CK_OK(ctx, spw_air_add_table(air, &t, "t", 3, 3));
    const spw_air_def *d = spw_air_get_def(air);
    spw_expr a = spw_air_col(air, t, 0), b = spw_air_col(air, t, 1), an = spw_air_col_next(air, t, 0);
    spw_expr k = spw_air_const(air, t, 5), p = spw_air_public(air, t, 0), z = spw_air_challenge(air, t, 0);
#define DEG(e) (d->tables[t].prog[(e)].degree)
    ck_assert_uint_eq(DEG(a), 1);
    ck_assert_uint_eq(DEG(an), 1);
    ck_assert_uint_eq(DEG(k), 0);
    ck_assert_uint_eq(DEG(p), 0);
    ck_assert_uint_eq(DEG(z), 0);
    spw_expr ab = spw_air_mul(air, t, a, b);
    ck_assert_uint_eq(DEG(ab), 2);
    spw_expr abk = spw_air_mul(air, t, ab, k);
    ck_assert_uint_eq(DEG(abk), 2);
    spw_expr s = spw_air_add(air, t, abk, an);
    ck_assert_uint_eq(DEG(s), 2);
    spw_expr cube = spw_air_mul(air, t, ab, an);
    ck_assert_uint_eq(DEG(cube), 3);
    ck_assert_uint_eq(DEG(spw_air_neg(air, t, cube)), 3);
    ck_assert_uint_eq(DEG(spw_air_sub(air, t, k, cube)), 3);
    /* hash-consing: the same leaf/op gives the same index */
    ck_assert_int_eq(spw_air_col(air, t, 0), a);
    ck_assert_int_eq(spw_air_mul(air, t, a, b), ab);
    ck_assert_int_ne(spw_air_mul(air, t, b, a), ab); /* operands are ordered */
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_TRANSITION, cube));
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_EVERY, ab));
    CK_OK(ctx, spw_air_finalize(air));
    ck_assert_uint_eq(d->tables[t].max_degree, 3);
    ck_assert_uint_eq(d->tables[t].n_aux, 0);
    ck_assert_uint_eq(d->tables[t].constraints[0].degree, 3);
    ck_assert_uint_eq(d->tables[t].constraints[1].degree, 2);
    /* SSA order */
    for (uint32_t i = 0; i < d->tables[t].prog_len; i++) {
        const spw_insn *in = &d->tables[t].prog[i];
        if (in->op >= SPW_OP_ADD) ck_assert(in->a < i && (in->op == SPW_OP_NEG || in->b < i));
    }
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_logup_layout)
{
    spw_ctx *ctx = mkctx();
    spw_air *air = lookup_air_build(ctx, 3, 4);
    const spw_air_def *d = spw_air_get_def(air);
    ck_assert(d->finalized);
    for (uint32_t ti = 0; ti < 2; ti++) {
        const spw_air_table *t = &d->tables[ti];
        ck_assert_uint_eq(t->n_interactions, 3);
        ck_assert_uint_eq(t->n_aux, 3); /* ceil(3/2) + 1 */
        uint32_t nl = 0, every = 0, first = 0, trans = 0, last = 0;
        for (uint32_t c = 0; c < t->n_constraints; c++) {
            const spw_constraint *cs = &t->constraints[c];
            ck_assert_uint_eq(cs->degree, t->prog[cs->root].degree);
            if (!cs->is_logup) continue;
            nl++;
            every += cs->kind == SPW_CONSTRAINT_EVERY;
            first += cs->kind == SPW_CONSTRAINT_FIRST;
            trans += cs->kind == SPW_CONSTRAINT_TRANSITION;
            last += cs->kind == SPW_CONSTRAINT_LAST;
        }
        ck_assert_uint_eq(nl, 5);
        ck_assert_uint_eq(every, 2);
        ck_assert_uint_eq(first, 1);
        ck_assert_uint_eq(trans, 1);
        ck_assert_uint_eq(last, 1);
    }
    /* cpu: pair (a) x (a, b): t*fp_a*fp_b has degree 1+1+1 = 3; the
     * leftover (b) mult a: t*fp - a has degree 2; user b - a^2 degree 2 */
    ck_assert_uint_eq(d->tables[0].max_degree, 3);
    ck_assert_uint_eq(d->tables[1].max_degree, 3);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

/* Expect status s and a message containing `needle`. */
#define EXPECT_ERR(ctx, expr, s, needle)                                                   \
    do {                                                                                   \
        spw_status r_ = (expr);                                                            \
        ck_assert_msg(r_ == (s), "%s gave %s (%s)", #expr, spw_strerror(r_),               \
                      spw_ctx_last_error(ctx));                                            \
        ck_assert_msg(strstr(spw_ctx_last_error(ctx), (needle)) != NULL,                   \
                      "message '%s' lacks '%s'", spw_ctx_last_error(ctx), (needle));       \
    } while (0)

START_TEST(test_builder_errors)
{
    spw_ctx *ctx = mkctx();
    spw_air *air;
    uint32_t t, u;
    /* column out of range: reported by constrain, naming table and column */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    spw_expr bad = spw_air_col(air, t, 2);
    ck_assert_int_eq(bad, SPW_EXPR_INVALID);
    spw_expr e = spw_air_add(air, t, bad, spw_air_col(air, t, 0));
    ck_assert_int_eq(e, SPW_EXPR_INVALID);
    EXPECT_ERR(ctx, spw_air_constrain(air, t, SPW_ROWS_EVERY, e), SPW_ERR_INVALID_ARG, "alu: column 2 out of range");
    EXPECT_ERR(ctx, spw_air_finalize(air), SPW_ERR_INVALID_ARG, "column 2");
    spw_air_free(air);

    /* table out of range */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    ck_assert_int_eq(spw_air_col(air, 7, 0), SPW_EXPR_INVALID);
    ck_assert(strstr(spw_ctx_last_error(ctx), "table 7 out of range"));
    spw_air_free(air);

    /* next row in first/last/every constraints and in bus values */
    const spw_row_kind kinds[3] = {SPW_ROWS_FIRST, SPW_ROWS_LAST, SPW_ROWS_EVERY};
    for (int i = 0; i < 3; i++) {
        CK_OK(ctx, spw_air_create(ctx, &air));
        CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
        e = spw_air_sub(air, t, spw_air_col_next(air, t, 0), spw_air_col(air, t, 1));
        EXPECT_ERR(ctx, spw_air_constrain(air, t, kinds[i], e), SPW_ERR_INVALID_ARG, "uses the next row");
        spw_air_free(air);
    }
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    e = spw_air_col_next(air, t, 0);
    EXPECT_ERR(ctx, spw_air_bus(air, t, 1, 1, spw_air_const(air, t, 1), &e, 1), SPW_ERR_INVALID_ARG,
               "table alu bus 1: value 0 uses the next row");
    spw_air_free(air);

    /* challenge >= 2, public index >= n_publics */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_set_publics(air, 2));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    ck_assert_int_ge(spw_air_challenge(air, t, 1), 0);
    ck_assert_int_eq(spw_air_challenge(air, t, 2), SPW_EXPR_INVALID);
    ck_assert(strstr(spw_ctx_last_error(ctx), "challenge 2 out of range"));
    spw_air_free(air);
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_set_publics(air, 2));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    ck_assert_int_ge(spw_air_public(air, t, 1), 0);
    ck_assert_int_eq(spw_air_public(air, t, 2), SPW_EXPR_INVALID);
    ck_assert(strstr(spw_ctx_last_error(ctx), "public input 2 out of range"));
    spw_air_free(air);

    /* degree > 8 */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    e = spw_air_col(air, t, 0);
    spw_expr x = e;
    for (int i = 0; i < 8; i++) x = spw_air_mul(air, t, x, e); /* degree 9 */
    EXPECT_ERR(ctx, spw_air_constrain(air, t, SPW_ROWS_EVERY, x), SPW_ERR_INVALID_ARG, "degree 9 > 8");
    spw_air_free(air);
    /* degree 8 is fine */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    e = spw_air_col(air, t, 0);
    x = e;
    for (int i = 0; i < 7; i++) x = spw_air_mul(air, t, x, e);
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_EVERY, x));
    CK_OK(ctx, spw_air_finalize(air));
    /* after finalize */
    ck_assert_int_eq(spw_air_col(air, t, 0), SPW_EXPR_INVALID);
    ck_assert(strstr(spw_ctx_last_error(ctx), "finalized"));
    EXPECT_ERR(ctx, spw_air_add_table(air, &u, "b", 3, 1), SPW_ERR_INVALID_ARG, "finalized");
    EXPECT_ERR(ctx, spw_air_finalize(air), SPW_ERR_INVALID_ARG, "finalized");
    /* heights may still change */
    CK_OK(ctx, spw_air_set_table_height(air, t, 5));
    ck_assert_uint_eq(spw_air_get_def(air)->tables[t].log_height, 5);
    EXPECT_ERR(ctx, spw_air_set_table_height(air, t, 33), SPW_ERR_INVALID_ARG, "log_height 33");
    spw_air_free(air);

    /* operand from a range this table does not have; names */
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "alu", 3, 2));
    ck_assert_int_eq(spw_air_col(air, t, 0), 0);
    ck_assert_int_eq(spw_air_add(air, t, 0, 1000), SPW_EXPR_INVALID);
    ck_assert(strstr(spw_ctx_last_error(ctx), "table alu: operand 1000"));
    spw_air_free(air);
    CK_OK(ctx, spw_air_create(ctx, &air));
    EXPECT_ERR(ctx, spw_air_add_table(air, &t, "9lives", 3, 2), SPW_ERR_INVALID_ARG, "9lives");
    spw_air_free(air);
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &t, "x", 3, 2));
    EXPECT_ERR(ctx, spw_air_add_table(air, &u, "x", 3, 2), SPW_ERR_INVALID_ARG, "duplicate table name 'x'");
    EXPECT_ERR(ctx, spw_air_find_table(air, &u, "y"), SPW_ERR_INVALID_ARG, "'y'");
    CK_OK(ctx, spw_air_find_table(air, &u, "x"));
    ck_assert_uint_eq(u, t);
    ck_assert_int_eq(spw_air_const(air, t, GL_P), SPW_EXPR_INVALID);
    spw_air_free(air);
    spw_air_free(NULL);
    spw_ctx_free(ctx);
}
END_TEST

/* The interpreters against direct fe3 arithmetic on random inputs. */
START_TEST(test_interpreter)
{
    spw_ctx *ctx = mkctx();
    spw_air *air;
    uint32_t t;
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_set_publics(air, 2));
    CK_OK(ctx, spw_air_add_table(air, &t, "t", 3, 3));
    spw_expr a = spw_air_col(air, t, 0), b = spw_air_col(air, t, 1), c = spw_air_col(air, t, 2);
    spw_expr an = spw_air_col_next(air, t, 0), p1 = spw_air_public(air, t, 1);
    spw_expr al = spw_air_challenge(air, t, 1), k = spw_air_const(air, t, GL_P - 3);
    /* e1 = (a*b + k) * (a' - pub1) - c*alpha ; e2 = -(b - c) * z*z */
    spw_expr e1 = spw_air_sub(air, t,
                              spw_air_mul(air, t, spw_air_add(air, t, spw_air_mul(air, t, a, b), k),
                                          spw_air_sub(air, t, an, p1)),
                              spw_air_mul(air, t, c, al));
    spw_expr z = spw_air_challenge(air, t, 0);
    spw_expr e2 = spw_air_mul(air, t, spw_air_neg(air, t, spw_air_sub(air, t, b, c)), spw_air_mul(air, t, z, z));
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_TRANSITION, e1));
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_EVERY, e2));
    /* dead code: built but never constrained */
    (void)spw_air_mul(air, t, spw_air_add(air, t, a, z), c);
    const spw_air_table *T = &spw_air_get_def(air)->tables[t];
    ck_assert_ptr_null(T->eval_slot); /* no plan before finalize */
    uint64_t seed = 42;
    enum { R = 37 };
    uint64_t cur[3 * R], nxt[3 * R], pub[2];
    fe3 ch[2];
    test_challenges(ch, 7);
    for (int i = 0; i < 3 * R; i++) {
        cur[i] = gl_from_u64(spw_test_rand(&seed));
        nxt[i] = gl_from_u64(spw_test_rand(&seed));
    }
    cur[0] = GL_P - 1; /* edge values */
    cur[R] = 0;
    pub[0] = 1;
    pub[1] = gl_from_u64(spw_test_rand(&seed));
    fe3 *bscr = malloc(spw_air_eval_rows_scratch(T, R) * sizeof *bscr);
    fe3 out0[2 * R];
    spw_air_eval_rows(T, out0, R, cur, nxt, R, NULL, NULL, 0, ch, pub, fe3_zero(), R, bscr);
    free(bscr);
    CK_OK(ctx, spw_air_finalize(air));
    T = &spw_air_get_def(air)->tables[t];
    ck_assert_ptr_nonnull(T->eval_slot);
    ck_assert_uint_lt(T->n_eval_slots, T->prog_len); /* slots are reused, dead code skipped */
    ck_assert_uint_eq(T->eval_slot[T->prog_len - 1], UINT32_MAX);
    fe3 *scratch = malloc(T->prog_len * sizeof *scratch);
    bscr = malloc(spw_air_eval_rows_scratch(T, R) * sizeof *bscr);
    fe3 out[2 * R];
    spw_air_eval_rows(T, out, R, cur, nxt, R, NULL, NULL, 0, ch, pub, fe3_zero(), R, bscr);
    ck_assert(!memcmp(out, out0, sizeof out));
    for (int r = 0; r < R; r++) {
        uint64_t mc[3] = {cur[r], cur[R + r], cur[2 * R + r]};
        uint64_t mn[3] = {nxt[r], nxt[R + r], nxt[2 * R + r]};
        spw_eval_env env = {mc, mn, NULL, NULL, ch, pub, fe3_zero()};
        spw_air_eval(T, &env, scratch);
        /* direct: base part via __int128 modular arithmetic */
        unsigned __int128 P = GL_P;
        uint64_t ab = (uint64_t)(((unsigned __int128)mc[0] * mc[1]) % P);
        uint64_t s1 = (uint64_t)(((unsigned __int128)ab + (GL_P - 3)) % P);
        uint64_t d1 = (uint64_t)(((unsigned __int128)mn[0] + P - pub[1]) % P);
        uint64_t m1 = (uint64_t)(((unsigned __int128)s1 * d1) % P);
        fe3 want1 = fe3_sub(fe3_from_base(m1), fe3_mul_base(ch[1], mc[2]));
        uint64_t bc = (uint64_t)(((unsigned __int128)mc[1] + P - mc[2]) % P);
        fe3 want2 = fe3_mul_base(fe3_mul(ch[0], ch[0]), (uint64_t)((P - bc) % P));
        ck_assert(fe3_eq(scratch[T->constraints[0].root], want1));
        ck_assert(fe3_eq(scratch[T->constraints[1].root], want2));
        ck_assert(fe3_eq(out[r], want1));
        ck_assert(fe3_eq(out[R + r], want2));
    }
    free(scratch);
    free(bscr);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("air_build");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_degrees);
    tcase_add_test(tc, test_logup_layout);
    tcase_add_test(tc, test_builder_errors);
    tcase_add_test(tc, test_interpreter);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
