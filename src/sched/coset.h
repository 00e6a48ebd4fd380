/*
 * coset.h - the recompute tier on the CPU: coset passes in host memory.
 *
 * A table whose LDE the planner chose not to store (plan.h, `recompute`)
 * keeps only its coefficient matrices (n rows each) in the spill store;
 * every pass that would read its LDE evaluates the coefficients on the K
 * cosets GL_GENERATOR * w_{nK}^j * <w_n> of the LDE (K = blowup) or
 * composition (K = E) domain instead, one coset at a time, in ordinary
 * memory, and runs its row kernel (rowk.h) on that coset. Coset j holds
 * domain points j, j+K, j+2K, ...; the next row of a point is the next
 * point of its coset. Each pass reads the coefficients from the store once
 * per coset (once when it made them itself).
 *
 * These are the host reference of the device's coset passes (dev.h,
 * spw_sdev_coset_*): same arguments, same values, byte for byte. Memory:
 * spw_hcoset_bytes.
 */
#ifndef SPW_SCHED_COSET_H
#define SPW_SCHED_COSET_H

#include "../air.h"
#include "../merkle.h"
#include "sched.h"

/* The composition round of a recompute-tier table (host and device): the
 * quotient values on the E = 2^log_e cosets of GL_GENERATOR * <w_{n E}>
 * from the main and aux coefficients, their interpolation, the degree
 * check (check: every coefficient from 3 parts n on is zero, else
 * SPW_ERR_INTERNAL naming the table), the parts as the columns 3i + c of
 * ccoef (3 parts columns) and the tree of their LDE (blowup 2^log_b) into
 * ctree. */
typedef struct spw_coset_comp_job {
    const spw_air_table *t;
    unsigned log_n, log_e, log_b;
    const fe3 *ch;
    uint32_t n_ch;
    const uint64_t *publics;
    uint32_t n_publics;
    fe3 logup_sum, lambda;
    spw_mat *mcoef, *acoef; /* acoef ignored without aux */
    int check;
    spw_mat *ccoef;
    spw_stree *ctree;
} spw_coset_comp_job;

/* Host bytes the largest coset pass of a table needs (nm/na/nc base
 * columns; the planner's working set of a recompute-tier table). */
uint64_t spw_hcoset_bytes(size_t nm, size_t na, size_t nc, unsigned log_n, unsigned log_b,
                          unsigned log_e);
/* Process total of coset evaluations on the host (tests). */
uint64_t spw_hcoset_cosets_total(void);

/* The Merkle tree of coef's LDE (blowup 2^log_b) into tree's chunks (the
 * caller finishes it). */
spw_status spw_hcoset_tree(const spw_ctx *ctx, spw_stree *tree, spw_mat *coef, unsigned log_n,
                           unsigned log_b);
/* LogUp from the main coefficients (the trace is their coset of shift
 * 1): the running sum into *sum, the aux coefficients into acoef (3
 * t->n_aux columns) and the tree of their LDE into tree. */
spw_status spw_hcoset_logup(const spw_ctx *ctx, const spw_air_table *t, const fe3 *ch,
                            spw_mat *mcoef, spw_mat *acoef, spw_stree *tree, unsigned log_n,
                            unsigned log_b, fe3 *sum);
spw_status spw_hcoset_comp(const spw_ctx *ctx, const spw_coset_comp_job *j);
/* DEEP values of every LDE point from the main, aux (may be NULL) and
 * composition coefficients (weights g1: n1 = all columns at zeta, g2: n2
 * = main and aux at zeta w; v1, v2 the combined out-of-domain values),
 * stored into the roll-in ri (1 column of N fe3, natural order), added to
 * what it holds unless first. */
spw_status spw_hcoset_deep(const spw_ctx *ctx, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                           spw_mat *const mats[3], unsigned log_n, unsigned log_b, fe3 v1, fe3 v2,
                           fe3 zeta, fe3 zw, spw_mat *ri, int first);
/* LDE rows idx[0..nq) of the columns of mats (one after the other) into
 * rows (row q at rows + q * total columns). */
spw_status spw_hcoset_rows(const spw_ctx *ctx, spw_mat *const mats[3], unsigned log_n,
                           unsigned log_b, const uint64_t *idx, size_t nq, uint64_t *rows);

#endif
