/*
 * verifier.c - spw_verify: decodes a proof (bounded), checks that its
 * dimensions and statement match the AIR, replays the transcript, and
 * checks the bus balance, the constraints at the out-of-domain point, the
 * grinding nonce, and every query (Merkle openings of each committed tree,
 * DEEP values, FRI folds with roll-ins, final polynomial). Independent of
 * the prover's state; every failure names the check.
 */
#include "fri.h"
#include "proof.h"
#include "stark.h"

#include <stdlib.h>
#include <string.h>


/* Interpreter over extension-field inputs (main values at zeta are ext3).
 * An independent second implementation beside spw_air_eval. */
void spw_air_eval_ext(const spw_air_table *t, const fe3 *main_cur, const fe3 *main_next,
                      const fe3 *aux_cur, const fe3 *aux_next, const fe3 *challenges,
                      const uint64_t *publics, fe3 logup_sum, fe3 *v);
void spw_air_eval_ext(const spw_air_table *t, const fe3 *main_cur, const fe3 *main_next,
                      const fe3 *aux_cur, const fe3 *aux_next, const fe3 *challenges,
                      const uint64_t *publics, fe3 logup_sum, fe3 *v)
{
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        switch (in->op) {
        case SPW_OP_CONST: v[i] = fe3_from_base(in->k); break;
        case SPW_OP_MAIN: v[i] = main_cur[in->k]; break;
        case SPW_OP_MAIN_NEXT: v[i] = main_next[in->k]; break;
        case SPW_OP_AUX: v[i] = aux_cur[in->k]; break;
        case SPW_OP_AUX_NEXT: v[i] = aux_next[in->k]; break;
        case SPW_OP_CHALLENGE: v[i] = challenges[in->k]; break;
        case SPW_OP_PUBLIC: v[i] = fe3_from_base(publics[in->k]); break;
        case SPW_OP_LOGUP_SUM: v[i] = logup_sum; break;
        case SPW_OP_ADD: v[i] = fe3_add(v[in->a], v[in->b]); break;
        case SPW_OP_SUB: v[i] = fe3_sub(v[in->a], v[in->b]); break;
        case SPW_OP_MUL: v[i] = fe3_mul(v[in->a], v[in->b]); break;
        case SPW_OP_NEG: v[i] = fe3_neg(v[in->a]); break;
        default: v[i] = fe3_zero(); break;
        }
    }
}

#define INVALID(...) spw_fail(ctx, SPW_ERR_PROOF_INVALID, __VA_ARGS__)

static fe3 ext_from_coeffs(const fe3 *c) /* c[0] + W c[1] + W^2 c[2], W^3 = 2 */
{
    const fe3 W = fe3_make(0, 1, 0), W2 = fe3_make(0, 0, 1);
    return fe3_add(c[0], fe3_add(fe3_mul(W, c[1]), fe3_mul(W2, c[2])));
}

static spw_status check_ood(spw_ctx *ctx, const spw_air_table *t, const spw_proof_table *pt,
                            const fe3 *ch, const uint64_t *publics, fe3 lambda, fe3 zeta)
{
    size_t nm = t->n_main, na = t->n_aux;
    const fe3 *o = pt->ood;
    fe3 *aux = spw_calloc_array(2 * na + 1, sizeof(fe3));
    fe3 *v = spw_calloc_array(t->prog_len + 1, sizeof(fe3));
    if (!aux || !v) {
        free(aux);
        free(v);
        return spw_fail(ctx, SPW_ERR_NOMEM, "verify: out of memory");
    }
    for (size_t k = 0; k < na; k++) {
        aux[k] = ext_from_coeffs(o + 2 * nm + 3 * k);
        aux[na + k] = ext_from_coeffs(o + 2 * nm + 3 * na + 3 * k);
    }
    spw_air_eval_ext(t, o, o + nm, aux, aux + na, ch, publics, pt->logup_sum, v);
    fe3 sk[4] = {fe3_zero(), fe3_zero(), fe3_zero(), fe3_zero()}, l = fe3_one();
    for (uint32_t q = 0; q < t->n_constraints; q++) {
        const spw_constraint *cn = &t->constraints[q];
        sk[cn->kind & 3] = fe3_add(sk[cn->kind & 3], fe3_mul(l, v[cn->root]));
        l = fe3_mul(l, lambda);
    }
    free(aux);
    free(v);
    uint64_t n = (uint64_t)1 << t->log_height, w_last = gl_inv(gl_root_of_unity(t->log_height));
    fe3 zn = fe3_pow(zeta, n);
    fe3 izn = fe3_inv(fe3_sub(zn, fe3_one()));
    fe3 zl = fe3_sub(zeta, fe3_from_base(w_last));
    fe3 lhs = fe3_mul(sk[SPW_CONSTRAINT_TRANSITION], fe3_mul(zl, izn));
    lhs = fe3_add(lhs, fe3_mul(sk[SPW_CONSTRAINT_FIRST], fe3_inv(fe3_sub(zeta, fe3_one()))));
    lhs = fe3_add(lhs, fe3_mul(sk[SPW_CONSTRAINT_LAST], fe3_inv(zl)));
    lhs = fe3_add(lhs, fe3_mul(sk[SPW_CONSTRAINT_EVERY], izn));
    fe3 rhs = fe3_zero(), zp = fe3_one();
    const fe3 *comp = o + 2 * nm + 6 * na;
    for (uint32_t i = 0; i < pt->n_parts; i++) {
        rhs = fe3_add(rhs, fe3_mul(zp, ext_from_coeffs(comp + 3 * i)));
        zp = fe3_mul(zp, zn);
    }
    if (!fe3_eq(lhs, rhs))
        return INVALID("verify: table '%s': the constraints do not match the composition "
                       "polynomial at the out-of-domain point", t->name);
    return SPW_OK;
}

typedef struct vtable {
    fe3 *g;            /* gamma powers: group 1 (n1) then group 2 (n2) */
    size_t n1, n2;
    fe3 v1, v2, zw;
    unsigned log_N;
} vtable;

static fe3 deep_at(const vtable *vt, const spw_proof_table *pt, uint32_t j, uint64_t r, fe3 zeta)
{
    size_t nm = pt->n_main, na = 3 * (size_t)pt->n_aux, nc = 3 * (size_t)pt->n_parts;
    const uint64_t *mv = pt->q_main + j * nm, *av = pt->q_aux + j * na, *cv = pt->q_comp + j * nc;
    fe3 s1 = fe3_zero(), s2 = fe3_zero();
    for (size_t c = 0; c < nm; c++) {
        s1 = fe3_add(s1, fe3_mul_base(vt->g[c], mv[c]));
        s2 = fe3_add(s2, fe3_mul_base(vt->g[vt->n1 + c], mv[c]));
    }
    for (size_t c = 0; c < na; c++) {
        s1 = fe3_add(s1, fe3_mul_base(vt->g[nm + c], av[c]));
        s2 = fe3_add(s2, fe3_mul_base(vt->g[vt->n1 + nm + c], av[c]));
    }
    for (size_t c = 0; c < nc; c++) s1 = fe3_add(s1, fe3_mul_base(vt->g[nm + na + c], cv[c]));
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(vt->log_N), r));
    fe3 xf = fe3_from_base(x);
    return fe3_add(fe3_mul(fe3_sub(s1, vt->v1), fe3_inv(fe3_sub(xf, zeta))),
                   fe3_mul(fe3_sub(s2, vt->v2), fe3_inv(fe3_sub(xf, vt->zw))));
}

static spw_status verify_decoded(spw_ctx *ctx, const spw_air_def *def, const spw_statement *stmt,
                                 const spw_proof *P, vtable *VT, fe3 *lambdas)
{
    /* dimensions and statement */
    if (P->n_tables != def->n_tables)
        return INVALID("verify: the proof has %u tables, the AIR %u", P->n_tables, def->n_tables);
    unsigned min_lh = 64, max_lh = 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        const spw_proof_table *pt = &P->tables[t];
        if (pt->log_height != tb->log_height)
            return INVALID("verify: table '%s': the proof has 2^%u rows, the AIR 2^%u", tb->name,
                           pt->log_height, tb->log_height);
        if (pt->n_main != tb->n_main || pt->n_aux != tb->n_aux ||
            pt->n_parts != spw_stark_num_parts(tb))
            return INVALID("verify: table '%s': column counts differ from the AIR", tb->name);
        if (pt->log_height < min_lh) min_lh = pt->log_height;
        if (pt->log_height > max_lh) max_lh = pt->log_height;
    }
    spw_stark_params want;
    spw_stark_default_params(&want, P->params.blowup, min_lh);
    if (memcmp(&want, &P->params, sizeof want))
        return INVALID("verify: parameters (blowup %u, %u queries, %u grinding bits, final 2^%u) "
                       "are not this version's for that blowup",
                       P->params.blowup, P->params.n_queries, P->params.grinding_bits,
                       P->params.log_final);
    size_t np = stmt ? stmt->n_publics : 0, tl = stmt ? stmt->tag_len : 0;
    if (np != P->n_publics || (np && memcmp(stmt->publics, P->publics, 8 * np)))
        return INVALID("verify: the public inputs differ from the statement");
    if (P->n_publics != def->n_publics)
        return INVALID("verify: the AIR has %u public inputs, the proof %u", def->n_publics,
                       P->n_publics);
    if (tl != P->tag_len || (tl && memcmp(stmt->tag, P->tag, tl)))
        return INVALID("verify: the tag differs from the statement");

    /* transcript replay */
    spw_transcript tr;
    spw_transcript_init(&tr);
    uint8_t *pre;
    size_t pre_len;
    SPW_TRY(spw_proof_preamble(ctx, &pre, &pre_len, P));
    spw_transcript_absorb(&tr, pre, pre_len);
    free(pre);
    uint8_t dig[32];
    spw_air_digest(dig, def);
    spw_transcript_absorb(&tr, dig, 32);
    for (uint32_t t = 0; t < P->n_tables; t++) spw_transcript_absorb(&tr, P->tables[t].main_root.b, 32);
    uint32_t n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    fe3 ch[64];
    if (n_ch > 64) return spw_fail(ctx, SPW_ERR_UNSUPPORTED, "verify: more than 64 challenges");
    for (uint32_t i = 0; i < n_ch; i++) ch[i] = spw_transcript_ext3(&tr);
    fe3 lsum = fe3_zero();
    for (uint32_t t = 0; t < P->n_tables; t++) {
        const spw_proof_table *pt = &P->tables[t];
        if (!pt->n_aux) continue;
        uint8_t b[56];
        memcpy(b, pt->aux_root.b, 32);
        for (int c = 0; c < 3; c++) spw_put_u64le(b + 32 + 8 * c, pt->logup_sum.c[c]);
        spw_transcript_absorb(&tr, b, 56);
        lsum = fe3_add(lsum, pt->logup_sum);
    }
    for (uint32_t t = 0; t < P->n_tables; t++) lambdas[t] = spw_transcript_ext3(&tr);
    for (uint32_t t = 0; t < P->n_tables; t++) spw_transcript_absorb(&tr, P->tables[t].comp_root.b, 32);
    fe3 zeta;
    do zeta = spw_transcript_ext3(&tr);
    while (zeta.c[1] == 0 && zeta.c[2] == 0);
    for (uint32_t t = 0; t < P->n_tables; t++) {
        size_t nb = 24 * (size_t)spw_proof_n_ood(&P->tables[t]);
        uint8_t *b = malloc(nb);
        if (!b) return spw_fail(ctx, SPW_ERR_NOMEM, "verify: out of memory");
        spw_proof_ood_bytes(b, &P->tables[t]);
        spw_transcript_absorb(&tr, b, nb);
        free(b);
    }
    fe3 gamma = spw_transcript_ext3(&tr);
    unsigned R = P->n_layers, lb = spw_log2(P->params.blowup), log_n0 = max_lh + lb;
    fe3 betas[64];
    for (unsigned i = 0; i < R; i++) {
        spw_transcript_absorb(&tr, P->layers[i].root.b, 32);
        betas[i] = spw_transcript_ext3(&tr);
    }
    size_t nf = (size_t)1 << P->params.log_final;
    {
        uint8_t fb[24 << SPW_FRI_LOG_FINAL_MAX];
        for (size_t k = 0; k < nf; k++)
            for (int c = 0; c < 3; c++) spw_put_u64le(fb + 24 * k + 8 * c, P->final_poly[k].c[c]);
        spw_transcript_absorb(&tr, fb, 24 * nf);
    }

    /* 1. bus balance */
    if (!fe3_is_zero(lsum))
        return INVALID("verify: LogUp buses do not balance (the sum of the tables' L_t is not 0)");
    /* 2. constraints at zeta */
    for (uint32_t t = 0; t < P->n_tables; t++)
        SPW_TRY(check_ood(ctx, &def->tables[t], &P->tables[t], ch, P->publics,
                          lambdas[t], zeta));
    /* 3. grinding */
    if (!spw_transcript_grind_ok(&tr, P->nonce, P->params.grinding_bits))
        return INVALID("verify: the grinding nonce does not give %u leading zero bits",
                       P->params.grinding_bits);
    {
        uint8_t nb[8];
        spw_put_u64le(nb, P->nonce);
        spw_transcript_absorb(&tr, nb, 8);
    }
    /* DEEP coefficients per table */
    fe3 gpow = fe3_one();
    for (uint32_t t = 0; t < P->n_tables; t++) {
        const spw_proof_table *pt = &P->tables[t];
        vtable *vt = &VT[t];
        size_t nm = pt->n_main, na = 3 * (size_t)pt->n_aux, nc = 3 * (size_t)pt->n_parts;
        vt->n1 = nm + na + nc;
        vt->n2 = nm + na;
        vt->log_N = pt->log_height + lb;
        vt->zw = fe3_mul_base(zeta, gl_root_of_unity(pt->log_height));
        vt->g = spw_malloc_array(vt->n1 + vt->n2, sizeof(fe3));
        if (!vt->g) return spw_fail(ctx, SPW_ERR_NOMEM, "verify: out of memory");
        for (size_t k = 0; k < vt->n1 + vt->n2; k++) {
            vt->g[k] = gpow;
            gpow = fe3_mul(gpow, gamma);
        }
        const fe3 *o = pt->ood, *g = vt->g;
        fe3 v1 = fe3_zero(), v2 = fe3_zero();
        for (size_t c = 0; c < nm; c++) {
            v1 = fe3_add(v1, fe3_mul(g[c], o[c]));
            v2 = fe3_add(v2, fe3_mul(g[vt->n1 + c], o[nm + c]));
        }
        for (size_t c = 0; c < na; c++) {
            v1 = fe3_add(v1, fe3_mul(g[nm + c], o[2 * nm + c]));
            v2 = fe3_add(v2, fe3_mul(g[vt->n1 + nm + c], o[2 * nm + na + c]));
        }
        for (size_t c = 0; c < nc; c++) v1 = fe3_add(v1, fe3_mul(g[nm + na + c], o[2 * nm + 2 * na + c]));
        vt->v1 = v1;
        vt->v2 = v2;
    }
    /* 4. queries */
    fe3 *rsum = spw_calloc_array(R + 1, sizeof(fe3));
    if (!rsum) return spw_fail(ctx, SPW_ERR_NOMEM, "verify: out of memory");
    spw_status st = SPW_OK;
    for (uint32_t j = 0; j < P->params.n_queries && st == SPW_OK; j++) {
        uint64_t q0 = spw_transcript_index(&tr, log_n0);
        for (unsigned i = 0; i <= R; i++) rsum[i] = fe3_zero();
        for (uint32_t t = 0; t < P->n_tables && st == SPW_OK; t++) {
            const spw_proof_table *pt = &P->tables[t];
            const vtable *vt = &VT[t];
            const char *name = def->tables[t].name;
            uint64_t r = q0 & (((uint64_t)1 << vt->log_N) - 1);
            size_t d = vt->log_N, na = 3 * (size_t)pt->n_aux, nc = 3 * (size_t)pt->n_parts;
            spw_digest leaf;
            spw_merkle_leaf_row(&leaf, pt->q_main + j * pt->n_main, pt->n_main);
            if (!spw_merkle_verify(&pt->main_root, &leaf, r, pt->q_main_path + j * d, d)) {
                st = INVALID("verify: query %u: table '%s': main trace opening does not match "
                             "its Merkle root", j, name);
                break;
            }
            if (na) {
                spw_merkle_leaf_row(&leaf, pt->q_aux + j * na, na);
                if (!spw_merkle_verify(&pt->aux_root, &leaf, r, pt->q_aux_path + j * d, d)) {
                    st = INVALID("verify: query %u: table '%s': aux trace opening does not match "
                                 "its Merkle root", j, name);
                    break;
                }
            }
            spw_merkle_leaf_row(&leaf, pt->q_comp + j * nc, nc);
            if (!spw_merkle_verify(&pt->comp_root, &leaf, r, pt->q_comp_path + j * d, d)) {
                st = INVALID("verify: query %u: table '%s': composition opening does not match "
                             "its Merkle root", j, name);
                break;
            }
            unsigned li = log_n0 - vt->log_N;
            rsum[li] = fe3_add(rsum[li], deep_at(vt, pt, j, r, zeta));
        }
        if (st != SPW_OK) break;
        fe3 cur = rsum[0];
        uint64_t s = GL_GENERATOR;
        for (unsigned i = 0; i < R; i++) {
            uint64_t ni = (uint64_t)1 << (log_n0 - i), half = ni / 2, qi = q0 & (ni - 1);
            uint64_t k = qi & (half - 1);
            const uint64_t *v = P->layers[i].q_vals + 6 * (size_t)j;
            fe3 a = fe3_make(v[0], v[1], v[2]), b = fe3_make(v[3], v[4], v[5]);
            spw_digest leaf;
            spw_fri_leaf(&leaf, a, b);
            unsigned d = log_n0 - i - 1;
            if (!spw_merkle_verify(&P->layers[i].root, &leaf, k, P->layers[i].q_path + (size_t)j * d, d)) {
                st = INVALID("verify: query %u: FRI layer %u opening does not match its Merkle root",
                             j, i);
                break;
            }
            if (!fe3_eq(qi < half ? a : b, cur)) {
                st = INVALID(i == 0 ? "verify: query %u: FRI layer %u does not match the DEEP "
                                      "quotients of the trace openings"
                                    : "verify: query %u: FRI layer %u does not match the fold of "
                                      "the previous layer",
                             j, i);
                break;
            }
            uint64_t x = gl_mul(s, gl_pow(gl_root_of_unity(log_n0 - i), k));
            cur = spw_fri_fold(a, b, betas[i], gl_inv(x));
            cur = fe3_add(cur, fe3_mul(fe3_sqr(betas[i]), rsum[i + 1]));
            s = gl_mul(s, s);
        }
        if (st != SPW_OK) break;
        uint64_t nr = (uint64_t)1 << (log_n0 - R);
        uint64_t x = gl_mul(s, gl_pow(gl_root_of_unity(log_n0 - R), q0 & (nr - 1)));
        if (!fe3_eq(spw_fri_eval_poly(P->final_poly, nf, fe3_from_base(x)), cur))
            st = INVALID("verify: query %u: the final FRI polynomial does not match the last fold", j);
    }
    free(rsum);
    return st;
}

spw_status spw_verify(spw_ctx *ctx, const spw_air *air, const spw_statement *stmt,
                      const uint8_t *proof, size_t proof_len)
{
    SPW_CHECK_NULL(ctx, air);
    SPW_CHECK_NULL(ctx, proof);
    const spw_air_def *def = spw_air_get_def(air);
    if (!def || !def->finalized)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "verify: the AIR is not finalized");
    if (stmt && ((stmt->n_publics && !stmt->publics) || (stmt->tag_len && !stmt->tag)))
        return spw_fail(ctx, SPW_ERR_NULL, "verify: statement has NULL data");
    spw_proof P;
    SPW_TRY(spw_proof_decode(ctx, &P, proof, proof_len));
    if (P.n_layers > 64) {
        spw_proof_clear(&P);
        return spw_fail(ctx, SPW_ERR_PROOF_MALFORMED, "proof: too many FRI layers");
    }
    vtable *VT = spw_calloc_array(P.n_tables, sizeof(vtable));
    fe3 *lambdas = spw_calloc_array(P.n_tables, sizeof(fe3));
    spw_status st;
    if (!VT || !lambdas)
        st = spw_fail(ctx, SPW_ERR_NOMEM, "verify: out of memory");
    else
        st = verify_decoded(ctx, def, stmt, &P, VT, lambdas);
    if (VT)
        for (uint32_t t = 0; t < P.n_tables; t++) free(VT[t].g);
    free(VT);
    free(lambdas);
    spw_proof_clear(&P);
    if (st == SPW_OK) spw_clear_error(ctx);
    return st;
}
