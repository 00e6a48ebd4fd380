/* test_air_logup.c - LogUp aux build against an independent reference, the
 * generated LogUp constraints checked row by row with the interpreter,
 * chunked = one-shot, global balance, and the bus balance check. */
#include "air_test_util.h"

static spw_ctx *mkctx(unsigned threads)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    o.log_level = SPW_LOG_ERROR;
    spw_ctx *ctx;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

/* Every constraint (user and LogUp) of t vanishes where it applies. */
static void check_all_constraints(const spw_air_table *t, const uint64_t *main, const uint64_t *aux,
                                  uint64_t h, const fe3 ch[2], fe3 lsum)
{
    fe3 *scr = malloc(t->prog_len * sizeof *scr);
    uint64_t mc[16], mn[16];
    fe3 ac[16], an[16];
    ck_assert(t->n_main <= 16 && t->n_aux <= 16);
    for (uint64_t r = 0; r < h; r++) {
        uint64_t rn = (r + 1) % h;
        for (uint32_t c = 0; c < t->n_main; c++) {
            mc[c] = main[c * h + r];
            mn[c] = main[c * h + rn];
        }
        for (uint32_t c = 0; c < t->n_aux; c++) {
            ac[c] = fe3_make(aux[(3 * c) * h + r], aux[(3 * c + 1) * h + r], aux[(3 * c + 2) * h + r]);
            an[c] = fe3_make(aux[(3 * c) * h + rn], aux[(3 * c + 1) * h + rn], aux[(3 * c + 2) * h + rn]);
        }
        spw_eval_env env = {mc, mn, ac, an, ch, NULL, lsum};
        spw_air_eval(t, &env, scr);
        for (uint32_t c = 0; c < t->n_constraints; c++) {
            const spw_constraint *cs = &t->constraints[c];
            if (!spw_constraint_applies(cs, r, h)) continue;
            ck_assert_msg(fe3_is_zero(scr[cs->root]), "table %s constraint %u (logup %d) row %llu", t->name, c,
                          cs->is_logup, (unsigned long long)r);
        }
    }
    free(scr);
}

START_TEST(test_aux_reference_and_constraints)
{
    spw_ctx *ctx = mkctx(2);
    const unsigned lc = 5, ll = 7;
    spw_air *air = lookup_air_build(ctx, lc, ll);
    const spw_air_def *d = spw_air_get_def(air);
    uint64_t *cols[2];
    lookup_trace_gen(lc, ll, &cols[0], &cols[1]);
    fe3 ch[2];
    test_challenges(ch, 1234);
    fe3 L[2];
    for (int ti = 0; ti < 2; ti++) {
        const spw_air_table *t = &d->tables[ti];
        uint64_t h = 1ull << t->log_height;
        uint64_t *aux = malloc(3 * t->n_aux * h * 8), *ref = malloc(3 * t->n_aux * h * 8);
        CK_OK(ctx, spw_logup_build_aux(ctx, aux, &L[ti], t, cols[ti], h, ch));
        fe3 lref = ref_logup(t, cols[ti], h, ch, ref);
        ck_assert(fe3_eq(L[ti], lref));
        ck_assert(!memcmp(aux, ref, 3 * t->n_aux * h * 8));
        check_all_constraints(t, cols[ti], aux, h, ch, L[ti]);
        /* a wrong L_t breaks the last-row constraint */
        fe3 *scr = malloc(t->prog_len * sizeof *scr);
        fe3 bad = fe3_add(L[ti], fe3_one());
        uint64_t mc[8], mn[8];
        fe3 ac[8], an[8];
        for (uint32_t c = 0; c < t->n_main; c++) mc[c] = mn[c] = cols[ti][c * h + h - 1];
        for (uint32_t c = 0; c < t->n_aux; c++)
            ac[c] = an[c] = fe3_make(aux[3 * c * h + h - 1], aux[(3 * c + 1) * h + h - 1], aux[(3 * c + 2) * h + h - 1]);
        spw_eval_env env = {mc, mn, ac, an, ch, NULL, bad};
        spw_air_eval(t, &env, scr);
        const spw_constraint *last = &t->constraints[t->n_constraints - 1];
        ck_assert_uint_eq(last->kind, SPW_CONSTRAINT_LAST);
        ck_assert(!fe3_is_zero(scr[last->root]));
        free(scr);
        free(aux);
        free(ref);
    }
    /* balanced buses: the contributions cancel */
    ck_assert(fe3_is_zero(fe3_add(L[0], L[1])));
    free(cols[0]);
    free(cols[1]);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_chunked_equals_oneshot)
{
    const unsigned lc = 4, ll = 7;
    for (unsigned threads = 1; threads <= 2; threads++) {
        spw_ctx *ctx = mkctx(threads);
        spw_air *air = lookup_air_build(ctx, lc, ll);
        const spw_air_def *d = spw_air_get_def(air);
        uint64_t *cols[2];
        lookup_trace_gen(lc, ll, &cols[0], &cols[1]);
        fe3 ch[2];
        test_challenges(ch, 99);
        for (int ti = 0; ti < 2; ti++) {
            const spw_air_table *t = &d->tables[ti];
            uint64_t h = 1ull << t->log_height;
            size_t naux = 3 * t->n_aux;
            uint64_t *one = malloc(naux * h * 8);
            fe3 L1;
            CK_OK(ctx, spw_logup_build_aux(ctx, one, &L1, t, cols[ti], h, ch));
            uint64_t sizes[5] = {1, 3, 7, 64, h};
            for (int si = 0; si < 5; si++) {
                uint64_t cs = sizes[si];
                /* chunk buffers with a stride larger than the chunk */
                size_t stride = (size_t)cs + 5;
                uint64_t *mbuf = malloc(t->n_main * stride * 8), *abuf = malloc(naux * stride * 8);
                uint64_t *got = malloc(naux * h * 8);
                fe3 run = fe3_zero();
                for (uint64_t r0 = 0; r0 < h; r0 += cs) {
                    uint64_t nr = h - r0 < cs ? h - r0 : cs; /* last chunk short */
                    for (uint32_t c = 0; c < t->n_main; c++)
                        memcpy(mbuf + c * stride, cols[ti] + c * h + r0, nr * 8);
                    CK_OK(ctx, spw_logup_build_aux_chunk(ctx, abuf, stride, &run, t, mbuf, stride, r0, nr, ch));
                    for (size_t c = 0; c < naux; c++) memcpy(got + c * h + r0, abuf + c * stride, nr * 8);
                }
                ck_assert_msg(!memcmp(got, one, naux * h * 8), "table %s chunk %llu", t->name,
                              (unsigned long long)cs);
                ck_assert(fe3_eq(run, L1));
                free(mbuf);
                free(abuf);
                free(got);
            }
            free(one);
        }
        free(cols[0]);
        free(cols[1]);
        spw_air_free(air);
        spw_ctx_free(ctx);
    }
}
END_TEST

static spw_trace *mk_trace(spw_ctx *ctx, spw_air *air, uint64_t *cpu, uint64_t *lut, unsigned lc, unsigned ll)
{
    spw_trace *tr;
    CK_OK(ctx, spw_trace_create(ctx, &tr, air));
    CK_OK(ctx, spw_trace_set_table(tr, 0, cpu, 2ull << lc));
    CK_OK(ctx, spw_trace_set_table(tr, 1, lut, 5ull << ll));
    return tr;
}

START_TEST(test_balance)
{
    spw_ctx *ctx = mkctx(2);
    const unsigned lc = 4, ll = 6;
    spw_air *air = lookup_air_build(ctx, lc, ll);
    const spw_air_def *d = spw_air_get_def(air);
    uint64_t *cpu, *lut;
    lookup_trace_gen(lc, ll, &cpu, &lut);
    spw_trace *tr = mk_trace(ctx, air, cpu, lut, lc, ll);
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));

    /* off by one multiplicity on bus 7 (m2 of v = 3 becomes 2) */
    uint64_t hl = 1ull << ll;
    lut[3 * hl + 3] = 2;
    ck_assert_int_eq(spw_logup_check_balance(ctx, d, tr), SPW_ERR_BUS_UNBALANCED);
    const char *m = spw_ctx_last_error(ctx);
    ck_assert_msg(strstr(m, "bus 7 does not balance"), "%s", m);
    ck_assert_msg(strstr(m, "net multiplicity -1 for tuple (3, 9)"), "%s", m);
    ck_assert_msg(strstr(m, "first seen in table cpu row 3"), "%s", m);
    ck_assert_msg(strstr(m, "cpu +16 lut -17"), "%s", m);
    /* ... and the LogUp sums no longer cancel */
    fe3 ch[2], L[2];
    test_challenges(ch, 5);
    uint64_t *cols[2] = {cpu, lut};
    for (int ti = 0; ti < 2; ti++) {
        const spw_air_table *t = &d->tables[ti];
        uint64_t h = 1ull << t->log_height;
        uint64_t *aux = malloc(3 * t->n_aux * h * 8);
        CK_OK(ctx, spw_logup_build_aux(ctx, aux, &L[ti], t, cols[ti], h, ch));
        free(aux);
    }
    ck_assert(!fe3_is_zero(fe3_add(L[0], L[1])));
    lut[3 * hl + 3] = 1;

    /* multiplicity on bus 9 off by one, tuple receiving more than sent */
    lut[4 * hl + 20] = 1; /* v = 20 is not in cpu: w = 400 */
    ck_assert_int_eq(spw_logup_check_balance(ctx, d, tr), SPW_ERR_BUS_UNBALANCED);
    m = spw_ctx_last_error(ctx);
    ck_assert_msg(strstr(m, "bus 9 does not balance: net multiplicity -1 for tuple (400) first seen in table lut row 20"), "%s", m);
    lut[4 * hl + 20] = 0;
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));
    spw_trace_free(tr);
    free(cpu);
    free(lut);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

/* Trailing zeros of a tuple are not significant (the fingerprint pads with
 * zeros): (x) and (x, 0) are the same LogUp element. */
START_TEST(test_balance_padding)
{
    spw_ctx *ctx = mkctx(1);
    spw_air *air;
    uint32_t a, b;
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_add_table(air, &a, "a", 2, 1));
    CK_OK(ctx, spw_air_add_table(air, &b, "b", 2, 2));
    spw_expr x = spw_air_col(air, a, 0);
    CK_OK(ctx, spw_air_bus(air, a, 1, 1, spw_air_const(air, a, 1), &x, 1));
    spw_expr y[2] = {spw_air_col(air, b, 0), spw_air_col(air, b, 1)};
    CK_OK(ctx, spw_air_bus(air, b, 1, 0, spw_air_const(air, b, 1), y, 2));
    CK_OK(ctx, spw_air_finalize(air));
    uint64_t ta[4] = {1, 2, 3, 4}, tb[8] = {4, 3, 2, 1, 0, 0, 0, 0};
    spw_trace *tr;
    CK_OK(ctx, spw_trace_create(ctx, &tr, air));
    CK_OK(ctx, spw_trace_set_table(tr, a, ta, 4));
    CK_OK(ctx, spw_trace_set_table(tr, b, tb, 8));
    CK_OK(ctx, spw_logup_check_balance(ctx, spw_air_get_def(air), tr));
    fe3 ch[2], L[2];
    test_challenges(ch, 3);
    uint64_t aux[3 * 2 * 4];
    CK_OK(ctx, spw_logup_build_aux(ctx, aux, &L[0], &spw_air_get_def(air)->tables[a], ta, 4, ch));
    CK_OK(ctx, spw_logup_build_aux(ctx, aux, &L[1], &spw_air_get_def(air)->tables[b], tb, 4, ch));
    ck_assert(fe3_is_zero(fe3_add(L[0], L[1])));
    tb[5] = 7; /* (3, 7) != (3) */
    ck_assert_int_eq(spw_logup_check_balance(ctx, spw_air_get_def(air), tr), SPW_ERR_BUS_UNBALANCED);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "bus 1 does not balance"), "%s", spw_ctx_last_error(ctx));
    spw_trace_free(tr);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

/* The multi-pass (bounded memory) balance check decides like the one-pass. */
START_TEST(test_balance_multipass)
{
    spw_ctx *ctx = mkctx(1);
    const unsigned lc = 4, ll = 6;
    spw_air *air = lookup_air_build(ctx, lc, ll);
    const spw_air_def *d = spw_air_get_def(air);
    uint64_t *cpu, *lut;
    lookup_trace_gen(lc, ll, &cpu, &lut);
    spw_trace *tr = mk_trace(ctx, air, cpu, lut, lc, ll);
    spw_logup_set_balance_limit(8); /* 240 interaction rows -> 32 passes */
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));
    uint64_t hl = 1ull << ll;
    for (uint64_t r = 0; r < 16; r += 5) {
        lut[2 * hl + r] = 0; /* (r) on bus 5 received 0 times instead of once */
        ck_assert_int_eq(spw_logup_check_balance(ctx, d, tr), SPW_ERR_BUS_UNBALANCED);
        char want[80];
        snprintf(want, sizeof want, "bus 5 does not balance: net multiplicity +1 for tuple (%llu)",
                 (unsigned long long)r);
        ck_assert_msg(strstr(spw_ctx_last_error(ctx), want), "%s", spw_ctx_last_error(ctx));
        ck_assert_msg(strstr(spw_ctx_last_error(ctx), "cpu +16 lut -15"), "%s", spw_ctx_last_error(ctx));
        lut[2 * hl + r] = 1;
    }
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));
    spw_logup_set_balance_limit(0);
    spw_trace_free(tr);
    free(cpu);
    free(lut);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

/* Block interpreter = reference interpreter on random rows, with aux,
 * challenges and L_t (LogUp constraints included). */
START_TEST(test_eval_rows_vs_reference)
{
    spw_ctx *ctx = mkctx(1);
    spw_air *air = lookup_air_build(ctx, 3, 4);
    const spw_air_def *d = spw_air_get_def(air);
    uint64_t seed = 11;
    enum { R = 29 };
    for (int ti = 0; ti < 2; ti++) {
        const spw_air_table *t = &d->tables[ti];
        uint64_t *mc = malloc(t->n_main * R * 8), *mn = malloc(t->n_main * R * 8);
        fe3 *ac = malloc(t->n_aux * R * sizeof(fe3)), *an = malloc(t->n_aux * R * sizeof(fe3));
        for (size_t i = 0; i < t->n_main * R; i++) {
            mc[i] = gl_from_u64(spw_test_rand(&seed));
            mn[i] = i % 7 ? gl_from_u64(spw_test_rand(&seed)) : 0;
        }
        for (size_t i = 0; i < t->n_aux * R; i++)
            for (int c = 0; c < 3; c++) {
                ac[i].c[c] = gl_from_u64(spw_test_rand(&seed));
                an[i].c[c] = gl_from_u64(spw_test_rand(&seed));
            }
        fe3 ch[2], ls = fe3_make(5, 6, 7);
        test_challenges(ch, 8);
        fe3 *out = malloc(t->n_constraints * R * sizeof(fe3));
        fe3 *bs = malloc(spw_air_eval_rows_scratch(t, R) * sizeof(fe3));
        fe3 *scr = malloc(t->prog_len * sizeof(fe3));
        spw_air_eval_rows(t, out, R, mc, mn, R, ac, an, R, ch, NULL, ls, R, bs);
        for (int r = 0; r < R; r++) {
            uint64_t c1[8], n1[8];
            fe3 a1[8], b1[8];
            for (uint32_t c = 0; c < t->n_main; c++) {
                c1[c] = mc[c * R + r];
                n1[c] = mn[c * R + r];
            }
            for (uint32_t c = 0; c < t->n_aux; c++) {
                a1[c] = ac[c * R + r];
                b1[c] = an[c * R + r];
            }
            spw_eval_env env = {c1, n1, a1, b1, ch, NULL, ls};
            spw_air_eval(t, &env, scr);
            for (uint32_t c = 0; c < t->n_constraints; c++)
                ck_assert_msg(fe3_eq(out[c * R + r], scr[t->constraints[c].root]), "table %s constraint %u row %d",
                              t->name, c, r);
        }
        free(mc);
        free(mn);
        free(ac);
        free(an);
        free(out);
        free(bs);
        free(scr);
    }
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("air_logup");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_aux_reference_and_constraints);
    tcase_add_test(tc, test_chunked_equals_oneshot);
    tcase_add_test(tc, test_balance);
    tcase_add_test(tc, test_balance_padding);
    tcase_add_test(tc, test_balance_multipass);
    tcase_add_test(tc, test_eval_rows_vs_reference);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
