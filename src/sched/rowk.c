/*
 * rowk.c - the CPU row kernels (rowk.h): the constraint quotient and the
 * DEEP quotient over blocks of SPW_ROWK_BLK points, exactly as the
 * in-memory prover computes them (docs/PROTOCOL.md).
 */
#include "rowk.h"
#include "../fe3_lazy.h"

#include <stdlib.h>
#include <string.h>

#define BLK SPW_ROWK_BLK

void spw_rowk_comp_blocks(void *arg, size_t bb, size_t be)
{
    spw_rowk_comp *j = arg;
    const spw_air_table *t = j->t;
    size_t nk = t->n_constraints, na = t->n_aux;
    fe3 *cv = spw_malloc_array(nk * BLK + 1, sizeof(fe3));
    fe3 *scratch = spw_malloc_array(spw_air_eval_rows_scratch(t, BLK) + 1, sizeof(fe3));
    uint64_t *buf = spw_malloc_array(5 * BLK, 8);
    if (!cv || !scratch || !buf) {
        j->failed = 1;
        goto out;
    }
    uint64_t ws = gl_pow(j->w_ne, j->step); /* from one point to the next */
    uint64_t *xs = buf, *d1 = buf + BLK, *d2 = buf + 2 * BLK, *tmp = buf + 3 * BLK;
    for (size_t blk = bb; blk < be; blk++) {
        size_t b0 = blk * BLK, m = j->R - b0 < BLK ? j->R - b0 : BLK;
        uint64_t x = gl_mul(GL_GENERATOR, gl_pow(j->w_ne, j->r0 + j->step * b0));
        for (size_t i = 0; i < m; i++) {
            xs[i] = x;
            d1[i] = gl_sub(x, 1);
            d2[i] = gl_sub(x, j->w_last);
            x = gl_mul(x, ws);
        }
        gl_batch_inv(d1, d1, m, tmp);
        gl_batch_inv(d2, d2, m, tmp);
        spw_air_eval_rows(t, cv, BLK, j->mb + b0, j->mb + b0 + j->nxt, j->W,
                          na ? j->ab + b0 : NULL, na ? j->ab + b0 + j->nxt : NULL, j->W, j->ch,
                          j->publics, j->sum, m, scratch);
        for (size_t i = 0; i < m; i++) {
            size_t r = j->r0 + j->step * (b0 + i);
            fe3 sk[4] = {fe3_zero(), fe3_zero(), fe3_zero(), fe3_zero()};
            for (uint32_t q = 0; q < nk; q++) {
                unsigned k = t->constraints[q].kind & 3;
                fe3 c = cv[q * BLK + i]; /* base-field values: 3 products, same result */
                fe3 term = (c.c[1] | c.c[2]) ? fe3_mul(j->lpow[q], c) : fe3_mul_base(j->lpow[q], c.c[0]);
                sk[k] = fe3_add(sk[k], term);
            }
            uint64_t izn = j->inv_zn[r & (j->E - 1)];
            uint64_t trans = gl_mul(gl_sub(xs[i], j->w_last), izn);
            fe3 v = fe3_mul_base(sk[SPW_CONSTRAINT_TRANSITION], trans);
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_FIRST], d1[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_LAST], d2[i]));
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_EVERY], izn));
            for (int c = 0; c < 3; c++) j->out[c * j->R + b0 + i] = v.c[c];
        }
    }
out:
    free(cv);
    free(scratch);
    free(buf);
}

spw_status spw_rowk_comp_init(spw_rowk_comp *j, const spw_air_table *t, unsigned log_n,
                              unsigned log_e, const fe3 *ch, const uint64_t *publics, fe3 sum,
                              fe3 lambda)
{
    size_t E = (size_t)1 << log_e;
    memset(j, 0, sizeof *j);
    fe3 *lpow = spw_malloc_array(t->n_constraints + 1, sizeof(fe3));
    uint64_t *inv_zn = spw_malloc_array(E, 8);
    if (!lpow || !inv_zn) {
        free(lpow);
        free(inv_zn);
        return SPW_ERR_NOMEM;
    }
    fe3 l = fe3_one();
    for (uint32_t k = 0; k < t->n_constraints; k++) {
        lpow[k] = l;
        l = fe3_mul(l, lambda);
    }
    /* x^n of the points r = k mod E: (g w_ne^r)^n = g^n w_E^k */
    uint64_t we = gl_root_of_unity(log_e), y = gl_pow(GL_GENERATOR, (uint64_t)1 << log_n);
    for (size_t k = 0; k < E; k++) {
        inv_zn[k] = gl_inv(gl_sub(y, 1));
        y = gl_mul(y, we);
    }
    j->t = t;
    j->E = E;
    j->NE = (size_t)1 << (log_n + log_e);
    j->step = 1;
    j->nxt = E;
    j->ch = ch;
    j->publics = publics;
    j->sum = sum;
    j->lpow = lpow;
    j->inv_zn = inv_zn;
    j->w_last = gl_inv(gl_root_of_unity(log_n));
    j->w_ne = gl_root_of_unity(log_n + log_e);
    return SPW_OK;
}

void spw_rowk_comp_free(spw_rowk_comp *j)
{
    free((void *)j->lpow);
    free((void *)j->inv_zn);
    j->lpow = NULL;
    j->inv_zn = NULL;
}

void spw_rowk_deep_blocks(void *arg, size_t bb, size_t be)
{
    spw_rowk_deep *j = arg;
    uint64_t ws = gl_pow(j->wN, j->step); /* from one point to the next */
    fe3 *buf = spw_malloc_array(5 * BLK, sizeof(fe3));
    spw_lazy3 *s1 = spw_malloc_array(2 * BLK, sizeof(spw_lazy3)), *s2 = s1 ? s1 + BLK : NULL;
    if (!buf || !s1) {
        free(buf);
        free(s1);
        j->failed = 1;
        return;
    }
    fe3 *i1 = buf, *i2 = buf + BLK, *tmp = buf + 2 * BLK;
    for (size_t blk = bb; blk < be; blk++) {
        size_t b0 = blk * BLK, m = j->R - b0 < BLK ? j->R - b0 : BLK;
        uint64_t x = gl_mul(GL_GENERATOR, gl_pow(j->wN, j->r0 + j->step * b0));
        for (size_t i = 0; i < m; i++) {
            i1[i] = fe3_sub(fe3_from_base(x), j->zeta);
            i2[i] = fe3_sub(fe3_from_base(x), j->zw);
            x = gl_mul(x, ws);
        }
        fe3_batch_inv(i1, i1, m, tmp);
        fe3_batch_inv(i2, i2, m, tmp);
        memset(s1, 0, 2 * BLK * sizeof(spw_lazy3));
        for (size_t c = 0; c < j->nm; c++) {
            spw_lazy3_acc_col(s1, j->g1[c], j->mb + c * j->R + b0, m);
            spw_lazy3_acc_col(s2, j->g2[c], j->mb + c * j->R + b0, m);
        }
        for (size_t c = 0; c < j->na; c++) {
            spw_lazy3_acc_col(s1, j->g1[j->nm + c], j->ab + c * j->R + b0, m);
            spw_lazy3_acc_col(s2, j->g2[j->nm + c], j->ab + c * j->R + b0, m);
        }
        for (size_t c = 0; c < j->nc; c++)
            spw_lazy3_acc_col(s1, j->g1[j->nm + j->na + c], j->cb + c * j->R + b0, m);
        for (size_t i = 0; i < m; i++) {
            fe3 a1 = fe3_sub(spw_lazy3_reduce(&s1[i]), j->v1), a2 = fe3_sub(spw_lazy3_reduce(&s2[i]), j->v2);
            j->out[b0 + i] = fe3_add(fe3_mul(a1, i1[i]), fe3_mul(a2, i2[i]));
        }
    }
    free(buf);
    free(s1);
}
