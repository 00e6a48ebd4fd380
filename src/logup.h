/*
 * logup.h - LogUp: the auxiliary trace (packed term columns + accumulator),
 * built in one shot or in row chunks with the running sum carried across
 * chunks, and the pre-proof bus balance check.
 *
 * Layout of a table's aux trace (t->n_aux ext3 columns, see air.h): term
 * column j holds s_a*m_a/fp_a + s_b*m_b/fp_b for interactions a = 2j,
 * b = 2j+1 (one term when the count is odd); the last column is the
 * accumulator acc[r] = sum over rows <= r of all terms. L_t = acc[n-1].
 * Stored as 3*n_aux base columns, column-major: base column 3c+i holds
 * coefficient i of ext3 column c (the Merkle leaf order of the brief).
 *   fp = z - (bus_id + sum_k alpha^(k+1) * v_k)
 */
#ifndef SPW_LOGUP_H
#define SPW_LOGUP_H

#include "air.h"

/* challenges[0] = z, challenges[1] = alpha. */

/* One-shot: main holds t->n_main columns of `height` rows (column c at
 * main + c*height); aux receives 3*t->n_aux columns of height rows. *sum_out
 * = L_t. A zero fingerprint gives SPW_ERR_INTERNAL naming table and row
 * (probability ~2^-190 with transcript challenges). */
spw_status spw_logup_build_aux(const spw_ctx *ctx, uint64_t *aux, fe3 *sum_out,
                               const spw_air_table *t, const uint64_t *main, uint64_t height,
                               const fe3 *challenges);

/* Chunked: rows [row0, row0+nrows) only. main/aux point at the chunk's
 * columns with column stride `stride` (>= nrows). The accumulator starts
 * from *running (the sum of all terms of rows < row0; zero for the first
 * chunk) and *running is updated to include this chunk. Chunks fed in row
 * order give exactly the one-shot result, for any chunk size. */
spw_status spw_logup_build_aux_chunk(const spw_ctx *ctx, uint64_t *aux, size_t aux_stride,
                                     fe3 *running, const spw_air_table *t, const uint64_t *main,
                                     size_t main_stride, uint64_t row0, uint64_t nrows,
                                     const fe3 *challenges);

/* Before any proving work: checks that every bus balances over all tables
 * of the trace (per bus: the multiset of sent tuples equals the multiset of
 * received tuples, counted with multiplicities). On failure returns
 * SPW_ERR_BUS_UNBALANCED with a message naming the bus and each table's net
 * contribution. */
spw_status spw_logup_check_balance(const spw_ctx *ctx, const spw_air_def *air,
                                   const spw_trace *trace);

#endif
