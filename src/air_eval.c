/*
 * air_eval.c - interpreters for a table's expression program: the reference
 * one (one row, everything in ext3) and a block interpreter that runs each
 * instruction over a block of rows (the same bytecode, instruction-major).
 */
#include "air.h"
#include <stdlib.h>

void spw_air_eval(const spw_air_table *t, const spw_eval_env *env, fe3 *s)
{
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        switch ((spw_opcode)in->op) {
        case SPW_OP_CONST: s[i] = fe3_from_base(in->k); break;
        case SPW_OP_MAIN: s[i] = fe3_from_base(env->main_cur[in->k]); break;
        case SPW_OP_MAIN_NEXT: s[i] = fe3_from_base(env->main_next[in->k]); break;
        case SPW_OP_AUX: s[i] = env->aux_cur[in->k]; break;
        case SPW_OP_AUX_NEXT: s[i] = env->aux_next[in->k]; break;
        case SPW_OP_CHALLENGE: s[i] = env->challenges[in->k]; break;
        case SPW_OP_PUBLIC: s[i] = fe3_from_base(env->publics[in->k]); break;
        case SPW_OP_LOGUP_SUM: s[i] = env->logup_sum; break;
        case SPW_OP_ADD: s[i] = fe3_add(s[in->a], s[in->b]); break;
        case SPW_OP_SUB: s[i] = fe3_sub(s[in->a], s[in->b]); break;
        case SPW_OP_MUL: s[i] = fe3_mul(s[in->a], s[in->b]); break;
        case SPW_OP_NEG: s[i] = fe3_neg(s[in->a]); break;
        default: s[i] = fe3_zero(); break;
        }
    }
}

size_t spw_air_eval_rows_scratch(const spw_air_table *t, size_t nrows)
{
    return (size_t)(t->eval_slot ? t->n_eval_slots : t->prog_len) * nrows;
}

/* Block interpreter: instruction-major loops over the rows of a block (one
 * dispatch per instruction, not per row and instruction). Instructions that
 * depend on no ext3 leaf (challenge, aux, LogUp sum) hold base values
 * (v, 0, 0) and are computed with base arithmetic only; MUL of a base and an
 * ext3 operand uses the base x ext3 product. Results equal spw_air_eval's. */
void spw_air_eval_rows(const spw_air_table *t, fe3 *out, size_t out_stride,
                       const uint64_t *main_cur, const uint64_t *main_next, size_t main_stride,
                       const fe3 *aux_cur, const fe3 *aux_next, size_t aux_stride,
                       const fe3 *challenges, const uint64_t *publics, fe3 logup_sum,
                       size_t nrows, fe3 *scratch)
{
    /* Before finalize (no plan): one slot per instruction, ext flags
     * computed here. */
    uint8_t ext_small[1024];
    const uint32_t *slot = t->eval_slot;
    uint8_t *ext = t->eval_ext;
    uint8_t *own = NULL;
    if (!ext) {
        own = t->prog_len <= sizeof ext_small ? ext_small : malloc(t->prog_len);
        ext = own;
    }
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        size_t si = slot ? slot[i] : i;
        if (si == UINT32_MAX) continue; /* dead code */
        fe3 *d = scratch + si * nrows;
        const fe3 *a = d, *b = d;
        int ea = 1, eb = 1, e;
        switch ((spw_opcode)in->op) {
        case SPW_OP_AUX: case SPW_OP_AUX_NEXT: case SPW_OP_CHALLENGE: case SPW_OP_LOGUP_SUM: e = 1; break;
        case SPW_OP_ADD: case SPW_OP_SUB: case SPW_OP_MUL:
            a = scratch + (size_t)(slot ? slot[in->a] : in->a) * nrows;
            b = scratch + (size_t)(slot ? slot[in->b] : in->b) * nrows;
            if (ext) { ea = ext[in->a]; eb = ext[in->b]; }
            e = ea || eb;
            break;
        case SPW_OP_NEG:
            a = scratch + (size_t)(slot ? slot[in->a] : in->a) * nrows;
            if (ext) ea = ext[in->a];
            e = ea;
            break;
        default: e = 0; break;
        }
        if (own) own[i] = (uint8_t)e;
        size_t r;
        switch ((spw_opcode)in->op) {
        case SPW_OP_CONST:
            for (r = 0; r < nrows; r++) d[r] = fe3_from_base(in->k);
            break;
        case SPW_OP_MAIN: {
            const uint64_t *c = main_cur + in->k * main_stride;
            for (r = 0; r < nrows; r++) d[r] = fe3_from_base(c[r]);
            break;
        }
        case SPW_OP_MAIN_NEXT: {
            const uint64_t *c = main_next + in->k * main_stride;
            for (r = 0; r < nrows; r++) d[r] = fe3_from_base(c[r]);
            break;
        }
        case SPW_OP_AUX: {
            const fe3 *c = aux_cur + in->k * aux_stride;
            for (r = 0; r < nrows; r++) d[r] = c[r];
            break;
        }
        case SPW_OP_AUX_NEXT: {
            const fe3 *c = aux_next + in->k * aux_stride;
            for (r = 0; r < nrows; r++) d[r] = c[r];
            break;
        }
        case SPW_OP_CHALLENGE:
            for (r = 0; r < nrows; r++) d[r] = challenges[in->k];
            break;
        case SPW_OP_PUBLIC:
            for (r = 0; r < nrows; r++) d[r] = fe3_from_base(publics[in->k]);
            break;
        case SPW_OP_LOGUP_SUM:
            for (r = 0; r < nrows; r++) d[r] = logup_sum;
            break;
        case SPW_OP_ADD:
            if (!e) for (r = 0; r < nrows; r++) d[r] = fe3_from_base(gl_add(a[r].c[0], b[r].c[0]));
            else for (r = 0; r < nrows; r++) d[r] = fe3_add(a[r], b[r]);
            break;
        case SPW_OP_SUB:
            if (!e) for (r = 0; r < nrows; r++) d[r] = fe3_from_base(gl_sub(a[r].c[0], b[r].c[0]));
            else for (r = 0; r < nrows; r++) d[r] = fe3_sub(a[r], b[r]);
            break;
        case SPW_OP_MUL:
            if (!e) for (r = 0; r < nrows; r++) d[r] = fe3_from_base(gl_mul(a[r].c[0], b[r].c[0]));
            else if (!ea) for (r = 0; r < nrows; r++) d[r] = fe3_mul_base(b[r], a[r].c[0]);
            else if (!eb) for (r = 0; r < nrows; r++) d[r] = fe3_mul_base(a[r], b[r].c[0]);
            else for (r = 0; r < nrows; r++) d[r] = fe3_mul(a[r], b[r]);
            break;
        case SPW_OP_NEG:
            if (!e) for (r = 0; r < nrows; r++) d[r] = fe3_from_base(gl_neg(a[r].c[0]));
            else for (r = 0; r < nrows; r++) d[r] = fe3_neg(a[r]);
            break;
        default:
            for (r = 0; r < nrows; r++) d[r] = fe3_zero();
            break;
        }
    }
    if (own && own != ext_small) free(own);
    for (uint32_t c = 0; c < t->n_constraints; c++) {
        uint32_t root = t->constraints[c].root;
        const fe3 *v = scratch + (size_t)(slot ? slot[root] : root) * nrows;
        fe3 *o = out + (size_t)c * out_stride;
        for (size_t r = 0; r < nrows; r++) o[r] = v[r];
    }
}
