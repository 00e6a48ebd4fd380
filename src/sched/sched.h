/*
 * sched.h - the streaming (out-of-core) CPU prover: tile matrices and
 * chunked Merkle trees on top of the spill store (spill/spill.h), and the
 * scheduler entry point that spw_prove_ex dispatches to when the plan says
 * a table must be spilled (docs/OUT_OF_CORE.md).
 *
 * A spw_mat is a matrix of ncols columns x nrows rows of esz-byte elements,
 * cut into tiles of tcols columns x trows rows, one spill chunk each (tile
 * (k, g) holds rows [k*trows, ...) of columns [g*tcols, ...), column-major
 * inside). Column-wise work (NTT) reads and writes whole columns; row-wise
 * work (hashing, constraints, DEEP, FRI) reads and writes row ranges of all
 * columns, wrapping modulo nrows (the next-row halo).
 */
#ifndef SPW_SCHED_H
#define SPW_SCHED_H

#include "../../spill/spill.h"
#include "../plan.h"
#include "../stark.h"

typedef struct spw_mat {
    spw_spill *sp;
    size_t ncols, nrows, esz;
    size_t tcols, trows;   /* tile geometry (trows a power of two) */
    size_t ntc, ntr;       /* tiles across, tiles down */
    spw_chunk *tiles;      /* tiles[k * ntc + g] */
    int writeback;         /* queue write-back (and drop) of each tile written by put_cols */
    spw_tier home;         /* the tiles' home tier */
} spw_mat;

spw_status spw_mat_init(const spw_ctx *ctx, spw_mat *m, spw_spill *sp, const char *name,
                        size_t ncols, size_t nrows, size_t esz, size_t tcols, size_t trows,
                        spw_chunk_kind kind, spw_tier home, int writeback);
void spw_mat_free(spw_mat *m);
/* Whole columns [c0, c0+nc): column c at buf + (c-c0)*stride elements. */
spw_status spw_mat_put_cols(spw_mat *m, size_t c0, size_t nc, const void *buf, size_t stride);
spw_status spw_mat_get_cols(spw_mat *m, void *buf, size_t stride, size_t c0, size_t nc);
/* Rows [r0, r0+nr) of every column (indices mod nrows), column c at
 * buf + c*stride elements. */
spw_status spw_mat_get_rows(spw_mat *m, void *buf, size_t stride, size_t r0, size_t nr);
spw_status spw_mat_put_rows(spw_mat *m, size_t r0, size_t nr, const void *buf, size_t stride);
/* Rows [r0, r0+nr) of columns [c0, c0+nc) only, into the same places of
 * buf as spw_mat_get_rows (column c at buf + c*stride): lets several
 * threads load parts of one row range at once. */
spw_status spw_mat_get_block(spw_mat *m, void *buf, size_t stride, size_t c0, size_t nc, size_t r0,
                             size_t nr);
/* Runs fn(arg, i) for i < n on up to `threads` threads (this one
 * included), each taking the next unstarted item, until an item fails;
 * returns the first failure. For items that block on the store. */
typedef spw_status (*spw_item_fn)(void *arg, size_t i);
spw_status spw_sched_each(unsigned threads, size_t n, spw_item_fn fn, void *arg);

/* ---- direct device access (the streaming device tier) ----
 * spw_mat_pin_block pins, in the pool, the tiles holding columns
 * [c0, c0+nc) x rows [r0, r0+nr) (rows modulo nrows) and lists each piece
 * of the block inside one tile: the host address of its first element,
 * the column pitch (elements) and where it sits in the block (columns
 * [dc, dc+nc), rows [dr, dr+nr) counted from c0, r0). The tiles stay pinned
 * until spw_pinset_release, so device copies run straight between the
 * pool (registered with CUDA by the store) and the device, with no copy
 * through ordinary memory. write = 1: the caller overwrites the pieces
 * (whole tiles are neither loaded nor zeroed); release then marks them
 * dirty and, for a write-back matrix, queues the write-back of every tile
 * the block completes. */
typedef struct spw_piece {
    void *host;
    size_t pitch, dc, nc, dr, nr;
    spw_chunk ch;
    size_t off;     /* element offset inside the tile */
    int whole;      /* the piece is the whole tile */
    int done;       /* completes its tile (write-back) */
} spw_piece;

typedef struct spw_pinset {
    spw_mat *m;
    int write;
    spw_piece *pc;
    size_t n, cap;         /* pieces (host NULL: not pinned), allocated */
} spw_pinset;

spw_status spw_mat_pin_block(spw_mat *m, spw_pinset *ps, int write, size_t c0, size_t nc, size_t r0,
                             size_t nr);
spw_status spw_pinset_release(spw_pinset *ps); /* empties the set (keeps its capacity) */
void spw_pinset_free(spw_pinset *ps);          /* releases, then frees */

/* Fire-and-forget prefetch of the tiles holding rows [r0, r0+nr). */
void spw_mat_prefetch_rows(spw_mat *m, size_t r0, size_t nr);

/* A Merkle tree (merkle.h layout and root) over nleaves leaves, built from
 * row chunks of R leaves: each chunk's subtree lives in a spw_mat, stored
 * without its lowest `skip` levels (2*(R >> skip) digests: the merkle.h
 * heap of the subtree cut at the nodes that cover 2^skip leaves); the tree
 * above the chunk roots stays in memory. A path recomputes the 2^skip
 * leaf digests of its bottom group through a leaf callback. */
typedef struct spw_stree {
    spw_mat nodes;
    size_t R, nchunks;
    unsigned log_R, skip;   /* skip <= log_R */
    spw_digest *chunk_roots;
    spw_merkle upper;
} spw_stree;

/* Leaf digests [i0, i0+n) of a tree (n = 2^skip, i0 a multiple of n),
 * equal to those the tree was built from; arg is the callback's. */
typedef spw_status (*spw_stree_leaf_fn)(const spw_ctx *ctx, void *arg, spw_digest *out, size_t i0,
                                        size_t n);
/* Leaves = rows of the spw_mat *arg (8-byte elements): merkle.h's leaf hash,
 * as commit() computes them. */
spw_status spw_stree_mat_leaves(const spw_ctx *ctx, void *mat, spw_digest *out, size_t i0, size_t n);
/* Leaves of a FRI layer tree, arg = the layer (an spw_mat of 1 x N fe3):
 * leaf k = spw_fri_leaf(f[k], f[k + N/2]). */
spw_status spw_stree_fri_leaves(const spw_ctx *ctx, void *mat, spw_digest *out, size_t i0, size_t n);

/* skip = spw_plan_tree_skip() (the planner's store sizes assume it). */
spw_status spw_stree_init(const spw_ctx *ctx, spw_stree *t, spw_spill *sp, const char *name,
                          size_t nleaves, size_t R, spw_tier home);
spw_status spw_stree_init_skip(const spw_ctx *ctx, spw_stree *t, spw_spill *sp, const char *name,
                               size_t nleaves, size_t R, unsigned skip, spw_tier home);
/* Leaf digests of chunk k (R of them). */
spw_status spw_stree_put_chunk(const spw_ctx *ctx, spw_stree *t, size_t k, const spw_digest *leaves);
/* Subtrees k0, k0+1, ... from the heap (merkle.h layout, 2R digests) of
 * the tree over R consecutive leaves (R a multiple of the subtree size):
 * the streaming device tier builds that heap on the GPU. */
spw_status spw_stree_put_heap(const spw_ctx *ctx, spw_stree *t, size_t k0, const spw_digest *heap,
                              size_t R);
spw_status spw_stree_finish(const spw_ctx *ctx, spw_stree *t);
const spw_digest *spw_stree_root(const spw_stree *t);
/* Authentication path of leaf idx (log2(nleaves) digests, bottom up); the
 * lowest skip siblings from leaves(ctx, arg, ...) (unused when skip = 0). */
spw_status spw_stree_path(const spw_ctx *ctx, spw_stree *t, spw_digest *path, size_t idx,
                          spw_stree_leaf_fn leaves, void *arg);
/* A query opening of a tree over the rows of m (8-byte elements): row idx
 * (column c at row[c]) and the path of leaf idx, from ONE read of the rows
 * of its bottom group (the tiles of the opened row: no second load). */
spw_status spw_stree_open_row(const spw_ctx *ctx, spw_stree *t, spw_mat *m, uint64_t *row,
                              spw_digest *path, size_t idx);
/* The same for a FRI layer tree over layer m (1 x N fe3): *a = f[k],
 * *b = f[k + N/2] and the path of leaf k. */
spw_status spw_stree_open_fri(const spw_ctx *ctx, spw_stree *t, spw_mat *m, fe3 *a, fe3 *b,
                              spw_digest *path, size_t k);
void spw_stree_free(spw_stree *t);

/* The LogUp aux trace of table t by row chunks of chunk_rows rows (any
 * size; the last chunk may be shorter), running sum carried: trace holds
 * the t->n_main main columns, aux receives the 3*t->n_aux base columns,
 * *sum = L_t. Equal to spw_logup_build_aux for every chunk size. */
spw_status spw_sched_logup_aux(const spw_ctx *ctx, spw_mat *aux, fe3 *sum,
                               const spw_air_table *t, spw_mat *trace, const fe3 *ch,
                               size_t chunk_rows);

/* The streaming prover: same inputs and same proof bytes as spw_prove_ex,
 * executing `plan` (made by spw_plan_make for this AIR and ctx). */
spw_status spw_sched_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                           const spw_air *air, const spw_trace *trace, const spw_statement *stmt,
                           const spw_prove_opts *opts, spw_prove_stats *stats,
                           const spw_plan *plan);

#endif
