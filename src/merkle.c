/*
 * merkle.c - binary Merkle trees over the rows of column-major data, with
 * BLAKE3 leaves (a row's u64 values, little-endian, in column order) and
 * BLAKE3(left || right) nodes, in heap layout (see merkle.h).
 *
 * Leaves: the columns are column-major, a leaf needs a row. Row blocks are
 * spread over the context's threads; spw_blake3_rows_u64 hashes a block
 * reading each column's consecutive rows directly into 8 SIMD lanes (one
 * row per lane), so rows are never gathered into a buffer (the portable
 * path gathers one 1 KiB chunk of a row at a time). Levels: the two children of the nodes of one level are adjacent
 * 64-byte pairs, so a level is one spw_blake3_many call over 64-byte
 * messages.
 */
#include "merkle.h"
#include "blake3.h"

#include <stdlib.h>
#include <string.h>

void spw_merkle_leaf_row(spw_digest *out, const uint64_t *row, size_t ncols)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    for (size_t c = 0; c < ncols; c++) {
        uint64_t v = __builtin_bswap64(row[c]);
        spw_blake3_update(&h, &v, 8);
    }
    spw_blake3_final(&h, out->b);
#else
    spw_blake3(out->b, row, ncols * 8);
#endif
}

void spw_merkle_node(spw_digest *out, const spw_digest *left, const spw_digest *right)
{
    uint8_t buf[64];
    memcpy(buf, left->b, 32);
    memcpy(buf + 32, right->b, 32);
    spw_blake3(out->b, buf, 64);
}

/* ---- leaves ---- */

struct leaf_job {
    spw_digest *leaves;
    const uint64_t *cols;
    size_t ncols, stride, nrows;
    size_t block_rows;
};

static void leaf_range(void *arg, size_t begin, size_t end)
{
    const struct leaf_job *j = arg;
    for (size_t blk = begin; blk < end; blk++) {
        size_t r0 = blk * j->block_rows;
        size_t nr = j->nrows - r0 < j->block_rows ? j->nrows - r0 : j->block_rows;
        spw_blake3_rows_u64(j->leaves[r0].b, j->cols + r0, j->ncols, j->stride, nr);
    }
}

static spw_status check_cols(const spw_ctx *ctx, const char *fn, const uint64_t *cols,
                             size_t ncols, size_t stride, size_t nrows)
{
    if (!spw_is_pow2(nrows))
        return spw_fail(ctx, SPW_ERR_NOT_POW2, "%s: number of rows %zu is not a power of two", fn,
                        nrows);
    if (ncols > 0 && cols == NULL)
        return spw_fail(ctx, SPW_ERR_NULL, "%s: argument 'cols' is NULL", fn);
    if (ncols > 1 && stride < nrows)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                        "%s: column stride %zu is smaller than the number of rows %zu", fn, stride,
                        nrows);
    if (ncols > SIZE_MAX / 8 / nrows)
        return spw_fail(ctx, SPW_ERR_TOO_LARGE, "%s: %zu columns x %zu rows is too large", fn,
                        ncols, nrows);
    return SPW_OK;
}

spw_status spw_merkle_leaves(const spw_ctx *ctx, spw_digest *leaves, const uint64_t *cols,
                             size_t ncols, size_t stride, size_t nrows)
{
    SPW_CHECK_NULL(ctx, leaves);
    SPW_TRY(check_cols(ctx, __func__, cols, ncols, stride, nrows));
    if (ncols == 0) {
        uint8_t d[32];
        spw_blake3(d, "", 0);
        for (size_t i = 0; i < nrows; i++) memcpy(leaves[i].b, d, 32);
        return SPW_OK;
    }
    /* row blocks of ~256 KiB of row data (a multiple of 8 rows): the unit
     * of work handed to threads */
    size_t R = 262144 / (ncols * 8);
    R = R < 64 ? 64 : R & ~(size_t)7;
    if (R > nrows) R = nrows;
    struct leaf_job j = {leaves, cols, ncols, stride, nrows, R};
    spw_parallel_for(ctx, (nrows + R - 1) / R, 1, leaf_range, &j);
    return SPW_OK;
}

/* ---- trees ---- */

static spw_status alloc_tree(const spw_ctx *ctx, spw_merkle *t, size_t n)
{
    t->nodes = NULL;
    t->log_leaves = spw_log2(n);
    if (n > SIZE_MAX / 2 / sizeof(spw_digest))
        return spw_fail(ctx, SPW_ERR_TOO_LARGE, "Merkle tree of %zu leaves is too large", n);
    t->nodes = spw_malloc_array(2 * n, sizeof(spw_digest));
    if (!t->nodes)
        return spw_fail(ctx, SPW_ERR_NOMEM, "cannot allocate a Merkle tree of %zu leaves", n);
    memset(t->nodes[0].b, 0, 32);
    return SPW_OK;
}

static void build_levels(const spw_ctx *ctx, spw_merkle *t, size_t n)
{
    for (size_t m = n / 2; m >= 1; m /= 2)
        spw_blake3_many(ctx, t->nodes[m].b, t->nodes[2 * m].b, m, 64);
}

spw_status spw_merkle_build(const spw_ctx *ctx, spw_merkle *t, const uint64_t *cols, size_t ncols,
                            size_t stride, size_t nrows)
{
    SPW_CHECK_NULL(ctx, t);
    t->nodes = NULL;
    t->log_leaves = 0;
    SPW_TRY(check_cols(ctx, __func__, cols, ncols, stride, nrows));
    SPW_TRY(alloc_tree(ctx, t, nrows));
    spw_status s = spw_merkle_leaves(ctx, t->nodes + nrows, cols, ncols, stride, nrows);
    if (s != SPW_OK) {
        spw_merkle_free(t);
        return s;
    }
    build_levels(ctx, t, nrows);
    return SPW_OK;
}

spw_status spw_merkle_build_from_leaves(const spw_ctx *ctx, spw_merkle *t,
                                        const spw_digest *leaves, size_t n)
{
    SPW_CHECK_NULL(ctx, t);
    t->nodes = NULL;
    t->log_leaves = 0;
    SPW_CHECK_NULL(ctx, leaves);
    if (!spw_is_pow2(n))
        return spw_fail(ctx, SPW_ERR_NOT_POW2, "%s: number of leaves %zu is not a power of two",
                        __func__, n);
    SPW_TRY(alloc_tree(ctx, t, n));
    memcpy(t->nodes + n, leaves, n * sizeof(spw_digest));
    build_levels(ctx, t, n);
    return SPW_OK;
}

void spw_merkle_free(spw_merkle *t)
{
    if (!t) return;
    free(t->nodes);
    t->nodes = NULL;
}

spw_status spw_merkle_path(const spw_merkle *t, spw_digest *path, size_t idx)
{
    SPW_CHECK_NULL(NULL, t);
    SPW_CHECK_NULL(NULL, path);
    if (!t->nodes) return spw_fail(NULL, SPW_ERR_NULL, "%s: the tree has no nodes", __func__);
    size_t n = (size_t)1 << t->log_leaves;
    if (idx >= n)
        return spw_fail(NULL, SPW_ERR_INVALID_ARG, "%s: leaf index %zu out of range (%zu leaves)",
                        __func__, idx, n);
    size_t j = n + idx;
    for (unsigned k = 0; k < t->log_leaves; k++, j >>= 1) path[k] = t->nodes[j ^ 1];
    return SPW_OK;
}

int spw_merkle_verify(const spw_digest *root, const spw_digest *leaf, size_t idx,
                      const spw_digest *path, unsigned depth)
{
    if (!root || !leaf || (depth > 0 && !path)) return 0;
    if (depth >= 8 * sizeof(size_t) || (idx >> depth) != 0) return 0;
    spw_digest h = *leaf;
    for (unsigned k = 0; k < depth; k++, idx >>= 1) {
        if (idx & 1)
            spw_merkle_node(&h, &path[k], &h);
        else
            spw_merkle_node(&h, &h, &path[k]);
    }
    return memcmp(h.b, root->b, 32) == 0;
}
