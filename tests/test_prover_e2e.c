/*
 * test_prover_e2e.c - prove and verify a three-table AIR (built with the
 * public builder API; tables of different heights, a bus between two of
 * them, a degree-4 constraint) at every blowup; determinism across runs and
 * thread counts; statement mismatches; refused and forced wrong traces;
 * malformed proofs; the verifier's ext3 interpreter against spw_air_eval.
 */
#include "prover_test_util.h"
#include "air.h"
#include "stark.h"

void spw_air_eval_ext(const spw_air_table *t, const fe3 *main_cur, const fe3 *main_next,
                      const fe3 *aux_cur, const fe3 *aux_next, const fe3 *challenges,
                      const uint64_t *publics, fe3 logup_sum, fe3 *v);

static void prove_small(unsigned threads, unsigned blowup, uint8_t **proof, size_t *len)
{
    spw_ctx *ctx = make_ctx(threads, blowup);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    spw_status r = spw_prove(ctx, proof, len, s.air, s.trace, &st);
    ck_assert_msg(r == SPW_OK, "prove (blowup %u): %s", blowup, spw_ctx_last_error(ctx));
    r = spw_verify(ctx, s.air, &st, *proof, *len);
    ck_assert_msg(r == SPW_OK, "verify (blowup %u): %s", blowup, spw_ctx_last_error(ctx));
    small_air_free(&s);
    spw_ctx_free(ctx);
}

START_TEST(test_prove_verify_blowups)
{
    unsigned b = 2u << _i;
    uint8_t *p;
    size_t len;
    prove_small(2, b, &p, &len);
    ck_assert_uint_gt(len, 1000);
    spw_free(p);
}
END_TEST

START_TEST(test_determinism)
{
    uint8_t *p1, *p2, *p3;
    size_t l1, l2, l3;
    prove_small(1, 4, &p1, &l1);
    prove_small(2, 4, &p2, &l2);
    prove_small(2, 4, &p3, &l3);
    ck_assert_uint_eq(l1, l2);
    ck_assert_uint_eq(l2, l3);
    ck_assert(!memcmp(p1, p2, l1));
    ck_assert(!memcmp(p2, p3, l2));
    spw_free(p1);
    spw_free(p2);
    spw_free(p3);
}
END_TEST

START_TEST(test_statement_mismatch)
{
    spw_ctx *ctx = make_ctx(2, 4);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    uint8_t *p;
    size_t len;
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &st), SPW_OK);
    uint64_t pub2[3] = {s.publics[0], s.publics[1], gl_add(s.publics[2], 1)};
    spw_statement bad = st;
    bad.publics = pub2;
    ck_assert_int_eq(spw_verify(ctx, s.air, &bad, p, len), SPW_ERR_PROOF_INVALID);
    bad = st;
    bad.tag = (const uint8_t *)"small-air tesT";
    ck_assert_int_eq(spw_verify(ctx, s.air, &bad, p, len), SPW_ERR_PROOF_INVALID);
    /* a different height in the verifier's AIR */
    ck_assert_int_eq(spw_air_set_table_height(s.air, 0, 6), SPW_OK);
    ck_assert_int_eq(spw_verify(ctx, s.air, &st, p, len), SPW_ERR_PROOF_INVALID);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(ctx), "fib"));
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

/* Changes one cell (or a multiplicity), expects the prover to refuse with
 * `want`, then forces the proof through and expects the verifier to reject. */
static void wrong_trace(int table, size_t idx, uint64_t delta, spw_status want)
{
    spw_ctx *ctx = make_ctx(2, 4);
    small_air s;
    small_air_build(ctx, &s);
    s.cols[table][idx] = gl_add(s.cols[table][idx], delta);
    spw_statement st = small_stmt(&s);
    uint8_t *p = NULL;
    size_t len;
    spw_status r = spw_prove(ctx, &p, &len, s.air, s.trace, &st);
    ck_assert_msg(r == want, "table %d: prove gave %s (%s)", table, spw_strerror(r),
                  spw_ctx_last_error(ctx));
    ck_assert_ptr_null(p);
    ck_assert(strlen(spw_ctx_last_error(ctx)) > 10);
    spw_prove_opts o = {.skip_checks = 1};
    r = spw_prove_ex(ctx, &p, &len, s.air, s.trace, &st, &o, NULL);
    ck_assert_msg(r == SPW_OK, "forced prove: %s", spw_ctx_last_error(ctx));
    r = spw_verify(ctx, s.air, &st, p, len);
    ck_assert_msg(r == SPW_ERR_PROOF_INVALID, "table %d: verify of a forced bad proof gave %s",
                  table, spw_strerror(r));
    fprintf(stderr, "forced bad trace (table %d) rejected: %s\n", table, spw_ctx_last_error(ctx));
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}

START_TEST(test_wrong_cell_fib) { wrong_trace(0, 32 + 10, 1, SPW_ERR_CONSTRAINT); }
END_TEST
START_TEST(test_wrong_cell_pow4) { wrong_trace(2, 16 + 9, 5, SPW_ERR_CONSTRAINT); }
END_TEST
START_TEST(test_wrong_cell_look) { wrong_trace(1, 3, 1, SPW_ERR_BUS_UNBALANCED); }
END_TEST
START_TEST(test_bus_multiplicity_off_by_one) { wrong_trace(1, 64 + 2, 1, SPW_ERR_BUS_UNBALANCED); }
END_TEST

START_TEST(test_tamper)
{
    spw_ctx *ctx = make_ctx(2, 4);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    uint8_t *p;
    size_t len;
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &st), SPW_OK);
    ck_assert_int_eq(spw_verify(ctx, s.air, &st, p, len), SPW_OK);
    spw_proof dec;
    ck_assert_int_eq(spw_proof_decode(ctx, &dec, p, len), SPW_OK);
    /* section offsets: header 40, preamble, commitments, OOD, FRI roots,
     * final polynomial, nonce, queries */
    size_t pre = 28 + 8 * 3 + 14 + 16 * 3, com = 0, ood = 0;
    for (int t = 0; t < 3; t++) {
        com += 64 + (dec.tables[t].n_aux ? 56 : 0);
        ood += 24 * spw_proof_n_ood(&dec.tables[t]);
    }
    size_t off_pre = 40, off_com = off_pre + pre, off_ood = off_com + com,
           off_fri = off_ood + ood, off_fin = off_fri + 32 * dec.n_layers,
           off_nonce = off_fin + 24 * ((size_t)1 << dec.params.log_final),
           off_q = off_nonce + 8;
    spw_proof_clear(&dec);
    size_t starts[8] = {0, off_pre, off_com, off_ood, off_fri, off_fin, off_nonce, off_q};
    size_t ends[8] = {off_pre, off_com, off_ood, off_fri, off_fin, off_nonce, off_q, len};
    int per[8] = {30, 20, 30, 30, 20, 25, 16, 120};
    uint8_t *c = malloc(len);
    int tested = 0, invalid = 0, malformed = 0;
    uint64_t rng = 99;
    for (int sec = 0; sec < 8; sec++) {
        size_t span = ends[sec] - starts[sec];
        ck_assert_uint_gt(span, 0);
        for (int k = 0; k < per[sec]; k++) {
            size_t pos = starts[sec] + (span * (size_t)k) / (size_t)per[sec] +
                         (spw_test_rand(&rng) % (span / (size_t)per[sec] + 1));
            if (pos >= ends[sec]) pos = ends[sec] - 1;
            unsigned bit = (unsigned)(spw_test_rand(&rng) % 8);
            memcpy(c, p, len);
            c[pos] ^= (uint8_t)(1u << bit);
            /* as is: the checksum (or header check) catches it */
            spw_status r1 = spw_verify(ctx, s.air, &st, c, len);
            ck_assert_msg(r1 != SPW_OK, "raw flip at %zu bit %u accepted", pos, bit);
            /* with the checksum recomputed: the protocol checks must catch it */
            if (pos >= 40) spw_proof_fix_checksum(c, len);
            spw_status r2 = spw_verify(ctx, s.air, &st, c, len);
            ck_assert_msg(r2 == SPW_ERR_PROOF_INVALID || r2 == SPW_ERR_PROOF_MALFORMED,
                          "flip at %zu (section %d) bit %u accepted (%s)", pos, sec, bit,
                          spw_strerror(r2));
            if (r2 == SPW_ERR_PROOF_INVALID) invalid++;
            else malformed++;
            tested++;
        }
    }
    fprintf(stderr, "tamper: %d positions rejected (%d invalid, %d malformed)\n", tested,
            invalid, malformed);
    ck_assert_int_ge(tested, 200);
    ck_assert_int_gt(invalid, 100);
    free(c);
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_malformed)
{
    spw_ctx *ctx = make_ctx(2, 4);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    uint8_t *p;
    size_t len;
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &st), SPW_OK);
    for (size_t l = 0; l < len; l += 1 + l / 8) {
        uint8_t *c = malloc(l + 1);
        memcpy(c, p, l);
        ck_assert_int_eq(spw_verify(ctx, s.air, &st, c, l), SPW_ERR_PROOF_MALFORMED);
        free(c);
    }
    uint64_t rng = 3;
    uint8_t junk[512];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)spw_test_rand(&rng);
    ck_assert_int_eq(spw_verify(ctx, s.air, &st, junk, sizeof junk), SPW_ERR_PROOF_MALFORMED);
    ck_assert_int_eq(spw_verify(ctx, s.air, &st, NULL, 0), SPW_ERR_NULL);
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_eval_ext_matches_reference)
{
    spw_ctx *ctx = make_ctx(1, 4);
    small_air s;
    small_air_build(ctx, &s);
    const spw_air_def *d = spw_air_get_def(s.air);
    uint64_t rng = 17;
    for (uint32_t t = 0; t < d->n_tables; t++) {
        const spw_air_table *tb = &d->tables[t];
        fe3 *a = calloc(tb->prog_len, sizeof(fe3)), *b = calloc(tb->prog_len, sizeof(fe3));
        for (int trial = 0; trial < 20; trial++) {
            uint64_t mc[8], mn[8];
            fe3 ec[8], en[8], ac[8], an[8], ch[4];
            for (int i = 0; i < 8; i++) {
                mc[i] = spw_test_rand(&rng) % GL_P;
                mn[i] = spw_test_rand(&rng) % GL_P;
                ec[i] = fe3_from_base(mc[i]);
                en[i] = fe3_from_base(mn[i]);
                ac[i] = fe3_make(spw_test_rand(&rng) % GL_P, 5, 6);
                an[i] = fe3_make(spw_test_rand(&rng) % GL_P, 7, spw_test_rand(&rng) % GL_P);
            }
            for (int i = 0; i < 4; i++) ch[i] = fe3_make(i + 11, spw_test_rand(&rng) % GL_P, 3);
            fe3 ls = fe3_make(1, 2, 3);
            spw_eval_env env = {mc, mn, ac, an, ch, s.publics, ls};
            spw_air_eval(tb, &env, a);
            spw_air_eval_ext(tb, ec, en, ac, an, ch, s.publics, ls, b);
            for (uint32_t i = 0; i < tb->prog_len; i++) ck_assert(fe3_eq(a[i], b[i]));
        }
        free(a);
        free(b);
    }
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

/* The composition round's block interpreter against the reference
 * interpreter: the same proof bytes. */
START_TEST(test_reference_eval_same_bytes)
{
    for (unsigned b = 2; b <= 4; b *= 2) {
        spw_ctx *ctx = make_ctx(2, b);
        small_air s;
        small_air_build(ctx, &s);
        spw_statement st = small_stmt(&s);
        uint8_t *p1, *p2;
        size_t l1, l2;
        spw_prove_opts o = {.reference_eval = 1};
        ck_assert_int_eq(spw_prove_ex(ctx, &p1, &l1, s.air, s.trace, &st, &o, NULL), SPW_OK);
        ck_assert_int_eq(spw_prove(ctx, &p2, &l2, s.air, s.trace, &st), SPW_OK);
        ck_assert_uint_eq(l1, l2);
        ck_assert(!memcmp(p1, p2, l1));
        spw_free(p1);
        spw_free(p2);
        small_air_free(&s);
        spw_ctx_free(ctx);
    }
}
END_TEST

/* A proof is bound to the compiled AIR (its digest is in the transcript):
 * the same shapes with one changed constraint constant are rejected. */
START_TEST(test_other_air_rejected)
{
    spw_ctx *ctx = make_ctx(2, 4);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    uint8_t *p;
    size_t len;
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &st), SPW_OK);
    spw_air *a;
    ck_assert_int_eq(spw_air_create(ctx, &a), SPW_OK);
    uint32_t f, l, q;
    ck_assert_int_eq(spw_air_add_table(a, &f, "fib", 5, 2), SPW_OK);
    ck_assert_int_eq(spw_air_add_table(a, &l, "look", 6, 2), SPW_OK);
    ck_assert_int_eq(spw_air_add_table(a, &q, "pow4", 4, 2), SPW_OK);
    ck_assert_int_eq(spw_air_set_publics(a, 3), SPW_OK);
    spw_expr A = spw_air_col(a, f, 0), B = spw_air_col(a, f, 1);
    spw_expr An = spw_air_col_next(a, f, 0), Bn = spw_air_col_next(a, f, 1);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_TRANSITION, spw_air_sub(a, f, An, B)), SPW_OK);
    /* b' = a + b + 0 * a: same polynomial set, different program */
    spw_expr z = spw_air_mul(a, f, spw_air_const(a, f, 0), A);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, f, Bn, spw_air_add(a, f, spw_air_add(a, f, A, B), z))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_FIRST, spw_air_sub(a, f, A, spw_air_public(a, f, 0))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_FIRST, spw_air_sub(a, f, B, spw_air_public(a, f, 1))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, f, SPW_ROWS_LAST, spw_air_sub(a, f, B, spw_air_public(a, f, 2))), SPW_OK);
    spw_expr one = spw_air_const(a, f, 1);
    ck_assert_int_eq(spw_air_bus(a, f, 1, 1, one, &A, 1), SPW_OK);
    spw_expr V = spw_air_col(a, l, 0), M = spw_air_col(a, l, 1);
    ck_assert_int_eq(spw_air_bus(a, l, 1, 0, M, &V, 1), SPW_OK);
    spw_expr X = spw_air_col(a, q, 0), Y = spw_air_col(a, q, 1);
    spw_expr Xn = spw_air_col_next(a, q, 0), Yn = spw_air_col_next(a, q, 1);
    spw_expr X2 = spw_air_mul(a, q, X, X), X4 = spw_air_mul(a, q, X2, X2);
    ck_assert_int_eq(spw_air_constrain(a, q, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, q, Xn, spw_air_add(a, q, X4, Y))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, q, SPW_ROWS_TRANSITION,
                                       spw_air_sub(a, q, Yn, spw_air_add(a, q, Y, spw_air_const(a, q, 1)))), SPW_OK);
    ck_assert_int_eq(spw_air_constrain(a, q, SPW_ROWS_FIRST, Y), SPW_OK);
    ck_assert_int_eq(spw_air_finalize(a), SPW_OK);
    ck_assert_int_eq(spw_verify(ctx, a, &st, p, len), SPW_ERR_PROOF_INVALID);
    spw_air_free(a);
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

/* Random mutations (1-8 bytes anywhere, checksum recomputed) and
 * truncations with a consistent header: the verifier rejects every one
 * without crashing (run under ASan/UBSan in CI's sanitizer build). */
START_TEST(test_fuzz_verify)
{
    spw_ctx *ctx = make_ctx(1, 8);
    small_air s;
    small_air_build(ctx, &s);
    spw_statement st = small_stmt(&s);
    uint8_t *p;
    size_t len;
    ck_assert_int_eq(spw_prove(ctx, &p, &len, s.air, s.trace, &st), SPW_OK);
    uint64_t rng = 2024;
    for (int trial = 0; trial < 1500; trial++) {
        uint8_t *c = malloc(len);
        memcpy(c, p, len);
        int nm = 1 + (int)(spw_test_rand(&rng) % 8);
        int changed = 0;
        for (int k = 0; k < nm; k++) {
            size_t pos = 40 + spw_test_rand(&rng) % (len - 40);
            uint8_t v = (uint8_t)spw_test_rand(&rng);
            changed |= v != c[pos];
            c[pos] = v;
        }
        spw_proof_fix_checksum(c, len);
        spw_status r = spw_verify(ctx, s.air, &st, c, len);
        if (changed)
            ck_assert_msg(r == SPW_ERR_PROOF_INVALID || r == SPW_ERR_PROOF_MALFORMED,
                          "trial %d: mutated proof accepted", trial);
        free(c);
    }
    for (int trial = 0; trial < 300; trial++) {
        size_t l = 40 + spw_test_rand(&rng) % (len - 40);
        uint8_t *c = malloc(l);
        memcpy(c, p, l);
        for (int i = 0; i < 8; i++) c[16 + i] = (uint8_t)((uint64_t)l >> (8 * i));
        spw_proof_fix_checksum(c, l);
        ck_assert_int_eq(spw_verify(ctx, s.air, &st, c, l), SPW_ERR_PROOF_MALFORMED);
        free(c);
    }
    spw_free(p);
    small_air_free(&s);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prover_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_prove_verify_blowups, 0, 3);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_reference_eval_same_bytes);
    tcase_add_test(tc, test_statement_mismatch);
    tcase_add_test(tc, test_other_air_rejected);
    tcase_add_test(tc, test_wrong_cell_fib);
    tcase_add_test(tc, test_wrong_cell_pow4);
    tcase_add_test(tc, test_wrong_cell_look);
    tcase_add_test(tc, test_bus_multiplicity_off_by_one);
    tcase_add_test(tc, test_tamper);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_fuzz_verify);
    tcase_add_test(tc, test_eval_ext_matches_reference);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
