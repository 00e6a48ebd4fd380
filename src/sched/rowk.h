/*
 * rowk.h - the CPU row kernels of the streaming prover: constraint
 * evaluation into quotient values and the DEEP quotient, over a block of
 * domain points held as columns. Two callers: stream.c's row chunks of the
 * stored LDE (consecutive points, step 1, the next row E rows on) and
 * coset.c's coset passes (points r0, r0 + K, r0 + 2K, ... of one coset:
 * step K, the next row the next entry). Both run through spw_parallel_for
 * over blocks of SPW_ROWK_BLK points.
 */
#ifndef SPW_SCHED_ROWK_H
#define SPW_SCHED_ROWK_H

#include "../air.h"
#include "../field.h"

#define SPW_ROWK_BLK 256

/* Quotient values of R points. Point i (i < R) is domain index
 * r0 + step * i of the composition domain g * <w_ne> (NE = n E points);
 * its main values are mb[c * W + i], its next row's mb[c * W + i + nxt]
 * (aux likewise as ext3 columns of ab); out gets 3 base columns of R. */
typedef struct spw_rowk_comp {
    const spw_air_table *t;
    size_t R, W, E, NE, r0;
    size_t step, nxt;
    const uint64_t *mb;            /* nm columns of W rows */
    const fe3 *ab;                 /* n_aux ext3 columns of W rows */
    const fe3 *ch;
    const uint64_t *publics;
    fe3 sum;
    const fe3 *lpow;               /* powers of lambda, one per constraint */
    const uint64_t *inv_zn;        /* 1 / (x^n - 1) for the E values it takes */
    uint64_t w_last, w_ne;         /* w_n^-1, the domain's generator */
    uint64_t *out;                 /* 3 columns of R */
    int failed;                    /* out of memory in a worker */
} spw_rowk_comp;
void spw_rowk_comp_blocks(void *arg, size_t bb, size_t be);
/* j := the job of table t's composition domain (2^log_n rows, E =
 * 2^log_e cosets) in natural order (step 1, nxt E, r0 0; R, W, mb, ab and
 * out left for the caller), with lpow and inv_zn allocated (SPW_ERR_NOMEM,
 * no message) for spw_rowk_comp_free. */
spw_status spw_rowk_comp_init(spw_rowk_comp *j, const spw_air_table *t, unsigned log_n,
                              unsigned log_e, const fe3 *ch, const uint64_t *publics, fe3 sum,
                              fe3 lambda);
void spw_rowk_comp_free(spw_rowk_comp *j);

/* DEEP values of R points: point i is LDE index r0 + step * i of
 * g * <wN>; the columns (R values each) of main, aux and composition, the
 * weights g1 (nm + na + nc, at zeta) and g2 (nm + na, at zeta w), the
 * combined out-of-domain values v1, v2; out gets R ext3 values. */
typedef struct spw_rowk_deep {
    size_t R, r0, step, nm, na, nc;
    const uint64_t *mb, *ab, *cb;
    const fe3 *g1, *g2;
    fe3 v1, v2, zeta, zw;
    uint64_t wN;
    fe3 *out;
    int failed;
} spw_rowk_deep;
void spw_rowk_deep_blocks(void *arg, size_t bb, size_t be);

#endif
