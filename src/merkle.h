/*
 * merkle.h - binary Merkle trees over the rows of a column batch.
 *   leaf i = BLAKE3(row i's bytes: the u64 values of every column, in column
 *            order, little-endian)  (an ext3 value = 3 consecutive columns)
 *   node   = BLAKE3(left || right), 64 bytes in, 32 out
 * The number of leaves is a power of two.
 */
#ifndef SPW_MERKLE_H
#define SPW_MERKLE_H

#include "internal.h"

typedef struct spw_digest { uint8_t b[32]; } spw_digest;

typedef struct spw_merkle {
    unsigned log_leaves;
    /* nodes[1] is the root; nodes[n + i] is leaf i (heap layout, n leaves);
     * 2n digests in all, nodes[0] unused. */
    spw_digest *nodes;
} spw_merkle;

/* Leaf digests of nrows rows of ncols columns (column c at cols + c*stride),
 * written to leaves[0..nrows). Multi-threaded on ctx. */
spw_status spw_merkle_leaves(const spw_ctx *ctx, spw_digest *leaves, const uint64_t *cols,
                             size_t ncols, size_t stride, size_t nrows);
/* Leaf digest of one row given as a contiguous array of values. */
void spw_merkle_leaf_row(spw_digest *out, const uint64_t *row, size_t ncols);
/* Node hash. */
void spw_merkle_node(spw_digest *out, const spw_digest *left, const spw_digest *right);

/* Builds the tree over column data (nrows a power of two). */
spw_status spw_merkle_build(const spw_ctx *ctx, spw_merkle *t, const uint64_t *cols, size_t ncols,
                            size_t stride, size_t nrows);
/* Builds the tree from precomputed leaf digests (n a power of two). */
spw_status spw_merkle_build_from_leaves(const spw_ctx *ctx, spw_merkle *t,
                                        const spw_digest *leaves, size_t n);
void spw_merkle_free(spw_merkle *t);
static inline const spw_digest *spw_merkle_root(const spw_merkle *t) { return &t->nodes[1]; }

/* Authentication path of leaf idx: log_leaves sibling digests, bottom up. */
spw_status spw_merkle_path(const spw_merkle *t, spw_digest *path, size_t idx);
/* 1 when leaf digest `leaf` at index idx with `path` (depth digests,
 * bottom up) hashes to root, else 0. */
int spw_merkle_verify(const spw_digest *root, const spw_digest *leaf, size_t idx,
                      const spw_digest *path, unsigned depth);

#endif
