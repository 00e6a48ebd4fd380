/*
 * air_eval.c - interpreters for a table's expression program: the reference
 * one (one row, everything in ext3) and a block interpreter that runs each
 * instruction over a block of rows (the same bytecode, instruction-major).
 */
#include "air.h"

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
    return (size_t)t->prog_len * nrows;
}

/* Block interpreter: instruction-major loops over the rows of a block (one
 * dispatch per instruction, not per row and instruction); MUL takes the
 * base x ext3 shortcut when one operand is a base value (v, 0, 0), which
 * gives the same result as the full product. */
void spw_air_eval_rows(const spw_air_table *t, fe3 *out, size_t out_stride,
                       const uint64_t *main_cur, const uint64_t *main_next, size_t main_stride,
                       const fe3 *aux_cur, const fe3 *aux_next, size_t aux_stride,
                       const fe3 *challenges, const uint64_t *publics, fe3 logup_sum,
                       size_t nrows, fe3 *scratch)
{
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        fe3 *d = scratch + (size_t)i * nrows;
        const fe3 *a = scratch + (size_t)in->a * nrows;
        const fe3 *b = scratch + (size_t)in->b * nrows;
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
            for (r = 0; r < nrows; r++) d[r] = fe3_add(a[r], b[r]);
            break;
        case SPW_OP_SUB:
            for (r = 0; r < nrows; r++) d[r] = fe3_sub(a[r], b[r]);
            break;
        case SPW_OP_MUL:
            for (r = 0; r < nrows; r++) {
                if ((a[r].c[1] | a[r].c[2]) == 0)
                    d[r] = fe3_mul_base(b[r], a[r].c[0]);
                else if ((b[r].c[1] | b[r].c[2]) == 0)
                    d[r] = fe3_mul_base(a[r], b[r].c[0]);
                else
                    d[r] = fe3_mul(a[r], b[r]);
            }
            break;
        case SPW_OP_NEG:
            for (r = 0; r < nrows; r++) d[r] = fe3_neg(a[r]);
            break;
        default:
            for (r = 0; r < nrows; r++) d[r] = fe3_zero();
            break;
        }
    }
    for (uint32_t c = 0; c < t->n_constraints; c++) {
        const fe3 *v = scratch + (size_t)t->constraints[c].root * nrows;
        fe3 *o = out + (size_t)c * out_stride;
        for (size_t r = 0; r < nrows; r++) o[r] = v[r];
    }
}
