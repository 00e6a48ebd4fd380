/*
 * test_prover_units.c - the prover layer's building blocks against
 * independent references: the transcript against direct BLAKE3 calls on the
 * documented byte strings, the FRI fold against the even/odd split of a
 * polynomial's coefficients, the coset helpers against Horner evaluation,
 * and the proof codec (round trip; truncations and random mutations are
 * rejected without reading out of bounds).
 */
#include "check_util.h"
#include "blake3.h"
#include "fri.h"
#include "proof.h"
#include "stark.h"
#include "transcript.h"

#include <string.h>

static uint64_t rand_fe(uint64_t *st)
{
    uint64_t x = spw_test_rand(st);
    return x >= GL_P ? x - GL_P : x;
}
static fe3 rand_fe3(uint64_t *st)
{
    uint64_t a = rand_fe(st), b = rand_fe(st), c = rand_fe(st);
    return fe3_make(a, b, c);
}

START_TEST(test_transcript_rules)
{
    spw_transcript tr;
    spw_transcript_init(&tr);
    uint8_t s[32];
    spw_blake3(s, "spillway/v1/transcript", 22);
    ck_assert(!memcmp(s, tr.state, 32));
    /* absorb: BLAKE3(state || 0x00 || data) */
    uint8_t buf[32 + 1 + 5];
    memcpy(buf, s, 32);
    buf[32] = 0;
    memcpy(buf + 33, "hello", 5);
    spw_blake3(s, buf, sizeof buf);
    spw_transcript_absorb(&tr, "hello", 5);
    ck_assert(!memcmp(s, tr.state, 32));
    /* squeeze: BLAKE3(state || 0x01) */
    uint8_t b2[33], out[32];
    memcpy(b2, s, 32);
    b2[32] = 1;
    spw_blake3(s, b2, 33);
    spw_transcript squeezed = tr;
    spw_transcript_squeeze(&squeezed, out);
    ck_assert(!memcmp(s, out, 32));
    /* base challenge = first 8 LE bytes of the next squeeze when < p */
    spw_transcript t2 = tr;
    uint64_t v = spw_transcript_base(&t2);
    uint64_t le = 0;
    for (int i = 7; i >= 0; i--) le = le << 8 | s[i];
    if (le < GL_P) ck_assert_uint_eq(v, le);
    ck_assert_uint_lt(v, GL_P);
    /* grinding: BLAKE3(state || 0x02 || LE64 nonce) */
    uint64_t nonce = spw_transcript_grind(&tr, 8);
    uint8_t g[41], h[32];
    memcpy(g, tr.state, 32);
    g[32] = 2;
    for (int i = 0; i < 8; i++) g[33 + i] = (uint8_t)(nonce >> (8 * i));
    spw_blake3(h, g, sizeof g);
    ck_assert_uint_eq(h[7], 0);
    for (uint64_t n = 0; n < nonce; n++) ck_assert(!spw_transcript_grind_ok(&tr, n, 8));
}
END_TEST

START_TEST(test_fold)
{
    uint64_t st = 7;
    /* f of degree < 16 in ext3; fold(f(x), f(-x)) = even(x^2) + beta * odd(x^2) */
    fe3 c[16], ev[8], od[8];
    for (int i = 0; i < 16; i++) c[i] = rand_fe3(&st);
    for (int i = 0; i < 8; i++) {
        ev[i] = c[2 * i];
        od[i] = c[2 * i + 1];
    }
    for (int trial = 0; trial < 50; trial++) {
        uint64_t x = rand_fe(&st);
        if (!x) continue;
        fe3 beta = rand_fe3(&st);
        fe3 a = spw_fri_eval_poly(c, 16, fe3_from_base(x));
        fe3 b = spw_fri_eval_poly(c, 16, fe3_from_base(gl_neg(x)));
        fe3 got = spw_fri_fold(a, b, beta, gl_inv(x));
        fe3 y = fe3_from_base(gl_mul(x, x));
        fe3 want = fe3_add(spw_fri_eval_poly(ev, 8, y), fe3_mul(beta, spw_fri_eval_poly(od, 8, y)));
        ck_assert(fe3_eq(got, want));
    }
}
END_TEST

START_TEST(test_coset_helpers)
{
    uint64_t st = 11;
    for (unsigned log_n = 1; log_n <= 6; log_n++)
        for (unsigned log_e = 0; log_e <= 4; log_e++) {
            size_t n = (size_t)1 << log_n, big = n << log_e;
            uint64_t coef[2 * 64], out[2 * 64 * 16];
            for (size_t i = 0; i < 2 * n; i++) coef[i] = rand_fe(&st);
            uint64_t shift = 7;
            ck_assert_int_eq(spw_coset_evaluate(NULL, out, coef, 2, log_n, log_e, shift), SPW_OK);
            uint64_t w = gl_root_of_unity(log_n + log_e);
            for (size_t c = 0; c < 2; c++)
                for (size_t i = 0; i < big; i++) {
                    uint64_t x = gl_mul(shift, gl_pow(w, i)), acc = 0;
                    for (size_t k = n; k-- > 0;) acc = gl_add(gl_mul(acc, x), coef[c * n + k]);
                    ck_assert_uint_eq(out[c * big + i], acc);
                }
            if (log_e == 0) {
                ck_assert_int_eq(spw_coset_interpolate(NULL, out, 2, log_n, shift), SPW_OK);
                ck_assert(!memcmp(out, coef, 2 * n * 8));
            }
        }
}
END_TEST

/* A proof with random dimensions and contents. */
static void make_proof(spw_proof *p, uint64_t *st)
{
    memset(p, 0, sizeof *p);
    p->n_tables = 2;
    p->n_publics = 3;
    p->tag_len = 5;
    p->tables = calloc(2, sizeof(spw_proof_table));
    unsigned lh[2] = {4, 3};
    for (int t = 0; t < 2; t++) {
        p->tables[t].log_height = lh[t];
        p->tables[t].n_main = 3 + t;
        p->tables[t].n_aux = t;
        p->tables[t].n_parts = 2;
    }
    spw_stark_default_params(&p->params, 4, 3);
    p->params.n_queries = 3;
    p->n_layers = 4 - p->params.log_final;
    ck_assert_int_eq(spw_proof_alloc(NULL, p), SPW_OK);
    for (uint32_t i = 0; i < 3; i++) p->publics[i] = rand_fe(st);
    memcpy(p->tag, "hello", 5);
    for (uint32_t t = 0; t < 2; t++) {
        spw_proof_table *pt = &p->tables[t];
        for (int k = 0; k < 32; k++) pt->main_root.b[k] = (uint8_t)spw_test_rand(st);
        for (uint32_t i = 0; i < spw_proof_n_ood(pt); i++) pt->ood[i] = rand_fe3(st);
        size_t d = pt->log_height + 2;
        for (size_t i = 0; i < 3 * pt->n_main; i++) pt->q_main[i] = rand_fe(st);
        for (size_t i = 0; i < 3 * d; i++) pt->q_main_path[i].b[i % 32] = (uint8_t)i;
        for (size_t i = 0; i < 9 * (size_t)pt->n_aux; i++) pt->q_aux[i] = rand_fe(st);
        for (size_t i = 0; i < 9 * (size_t)pt->n_parts; i++) pt->q_comp[i] = rand_fe(st);
        if (pt->n_aux) pt->logup_sum = rand_fe3(st);
    }
    for (uint32_t i = 0; i < p->n_layers; i++)
        for (size_t k = 0; k < 18; k++) p->layers[i].q_vals[k] = rand_fe(st);
    for (size_t k = 0; k < ((size_t)1 << p->params.log_final); k++) p->final_poly[k] = rand_fe3(st);
    p->nonce = spw_test_rand(st);
}

START_TEST(test_codec_roundtrip_and_fuzz)
{
    uint64_t st = 5;
    spw_proof p, q;
    make_proof(&p, &st);
    uint8_t *buf, *buf2;
    size_t len, len2;
    ck_assert_int_eq(spw_proof_encode(NULL, &buf, &len, &p), SPW_OK);
    ck_assert_uint_eq(len, SPW_PROOF_HEADER_LEN + spw_proof_body_size(&p));
    ck_assert_int_eq(spw_proof_decode(NULL, &q, buf, len), SPW_OK);
    ck_assert_int_eq(spw_proof_encode(NULL, &buf2, &len2, &q), SPW_OK);
    ck_assert_uint_eq(len, len2);
    ck_assert(!memcmp(buf, buf2, len));
    ck_assert_uint_eq(q.nonce, p.nonce);
    ck_assert(fe3_eq(q.tables[1].logup_sum, p.tables[1].logup_sum));
    free(buf2);
    spw_proof_clear(&q);
    /* every truncation (exact-size heap copies so ASan sees overreads) */
    for (size_t l = 0; l < len; l += (l < 200 ? 1 : 7)) {
        uint8_t *c = malloc(l ? l : 1);
        memcpy(c, buf, l);
        ck_assert_int_eq(spw_proof_decode(NULL, &q, c, l), SPW_ERR_PROOF_MALFORMED);
        /* with a consistent header too: length field and checksum fixed */
        if (l >= SPW_PROOF_HEADER_LEN) {
            for (int i = 0; i < 8; i++) c[16 + i] = (uint8_t)((uint64_t)l >> (8 * i));
            spw_proof_fix_checksum(c, l);
            ck_assert_int_eq(spw_proof_decode(NULL, &q, c, l), SPW_ERR_PROOF_MALFORMED);
        }
        free(c);
    }
    /* random mutations with the checksum fixed: decode fails cleanly or succeeds */
    int rejected = 0;
    for (int trial = 0; trial < 3000; trial++) {
        uint8_t *c = malloc(len);
        memcpy(c, buf, len);
        int nm = 1 + (int)(spw_test_rand(&st) % 4);
        for (int k = 0; k < nm; k++) {
            size_t pos = SPW_PROOF_HEADER_LEN + spw_test_rand(&st) % (len - SPW_PROOF_HEADER_LEN);
            if (trial % 3 == 0) pos = SPW_PROOF_HEADER_LEN + spw_test_rand(&st) % 120; /* preamble */
            c[pos] = (uint8_t)spw_test_rand(&st);
        }
        spw_proof_fix_checksum(c, len);
        spw_status s = spw_proof_decode(NULL, &q, c, len);
        ck_assert(s == SPW_OK || s == SPW_ERR_PROOF_MALFORMED);
        if (s == SPW_OK)
            spw_proof_clear(&q);
        else
            rejected++;
        free(c);
    }
    ck_assert_int_gt(rejected, 0);
    /* header fields */
    uint8_t *c = malloc(len);
    for (size_t pos = 0; pos < SPW_PROOF_HEADER_LEN; pos++) {
        memcpy(c, buf, len);
        c[pos] ^= 0x10;
        ck_assert_int_eq(spw_proof_decode(NULL, &q, c, len), SPW_ERR_PROOF_MALFORMED);
    }
    /* oversized: trailing garbage */
    uint8_t *big = malloc(len + 8);
    memcpy(big, buf, len);
    memset(big + len, 0, 8);
    for (int i = 0; i < 8; i++) big[16 + i] = (uint8_t)((uint64_t)(len + 8) >> (8 * i));
    spw_proof_fix_checksum(big, len + 8);
    ck_assert_int_eq(spw_proof_decode(NULL, &q, big, len + 8), SPW_ERR_PROOF_MALFORMED);
    free(big);
    free(c);
    free(buf);
    spw_proof_clear(&p);
}
END_TEST

START_TEST(test_params)
{
    for (unsigned b = 2; b <= 8; b *= 2) {
        spw_stark_params p;
        spw_stark_default_params(&p, b, 10);
        ck_assert_double_ge(spw_stark_conjectured_bits(&p), 100.0);
        ck_assert_uint_le(p.log_final, 10);
    }
    spw_stark_params p;
    spw_stark_default_params(&p, 4, 2);
    ck_assert_uint_eq(p.log_final, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prover_units");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_transcript_rules);
    tcase_add_test(tc, test_fold);
    tcase_add_test(tc, test_coset_helpers);
    tcase_add_test(tc, test_codec_roundtrip_and_fuzz);
    tcase_add_test(tc, test_params);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
