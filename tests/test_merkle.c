/*
 * test_merkle.c - Merkle trees: leaves against BLAKE3 of a row serialised
 * by hand, the root against a naive recursive tree, every path verifies,
 * every single-bit change of leaf/sibling/root is rejected, build =
 * build_from_leaves, threads = one thread, and the error statuses.
 */
#include "check_util.h"
#include "blake3.h"
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

static spw_ctx *make_ctx(unsigned threads)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    o.log_fn = NULL;
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

/* Column-major data, column c at cols + c*stride, canonical values. */
static uint64_t *make_cols(size_t ncols, size_t stride, uint64_t seed)
{
    uint64_t *c = malloc((ncols ? ncols : 1) * stride * 8);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < ncols * stride; i++)
        c[i] = spw_test_rand(&seed) % SPW_GOLDILOCKS_P;
    return c;
}

/* Reference leaf: serialise the row byte by byte, little-endian. */
static void ref_leaf(spw_digest *out, const uint64_t *cols, size_t ncols, size_t stride,
                     size_t row)
{
    uint8_t *buf = malloc(ncols * 8 + 1);
    for (size_t c = 0; c < ncols; c++) {
        uint64_t v = cols[c * stride + row];
        for (int k = 0; k < 8; k++) buf[8 * c + k] = (uint8_t)(v >> (8 * k));
    }
    spw_blake3(out->b, buf, ncols * 8);
    free(buf);
}

/* Reference root: recursive halving, node = BLAKE3 of the 64-byte pair. */
static void ref_root(spw_digest *out, const spw_digest *leaves, size_t n)
{
    if (n == 1) {
        *out = leaves[0];
        return;
    }
    spw_digest l, r;
    ref_root(&l, leaves, n / 2);
    ref_root(&r, leaves + n / 2, n / 2);
    uint8_t buf[64];
    memcpy(buf, l.b, 32);
    memcpy(buf + 32, r.b, 32);
    spw_blake3(out->b, buf, 64);
}

/* spw_blake3_rows_u64 (SIMD lanes read straight from columns, and the
 * portable path) against rows serialised by hand. */
START_TEST(test_rows_u64)
{
    static const size_t ncols_list[] = {1, 2, 7, 8, 9, 64, 127, 128, 129, 256, 300};
    static const size_t nrows_list[] = {1, 7, 8, 13, 24, 33};
    for (size_t a = 0; a < sizeof ncols_list / sizeof ncols_list[0]; a++) {
        for (size_t b = 0; b < sizeof nrows_list / sizeof nrows_list[0]; b++) {
            size_t ncols = ncols_list[a], nrows = nrows_list[b], stride = nrows + 3;
            uint64_t *cols = make_cols(ncols, stride, 31 * a + b);
            spw_digest got[40], want;
            for (int simd = 0; simd < 2; simd++) {
                spw_blake3_set_simd(simd);
                memset(got, 0, sizeof got);
                /* start at row 1 to test unaligned column starts */
                spw_blake3_rows_u64(got[0].b, cols + 1, ncols, stride, nrows - 1);
                for (size_t r = 0; r + 1 < nrows; r++) {
                    ref_leaf(&want, cols, ncols, stride, r + 1);
                    ck_assert_msg(memcmp(want.b, got[r].b, 32) == 0,
                                  "rows_u64 %s: %zu cols, row %zu of %zu",
                                  spw_blake3_impl_name(), ncols, r, nrows - 1);
                }
            }
            free(cols);
        }
    }
}
END_TEST

/* The streaming form: a row hashed in groups of 128 columns (chunk cvs per
 * group, over row ranges), combined per row, equals the row digest. */
START_TEST(test_row_groups)
{
    static const size_t ncols_list[] = {1, 100, 128, 129, 300, 520};
    spw_ctx *ctx = make_ctx(3);
    for (size_t a = 0; a < sizeof ncols_list / sizeof ncols_list[0]; a++) {
        size_t ncols = ncols_list[a], nrows = 37, stride = 40;
        size_t ng = (ncols + 127) / 128;
        uint64_t *cols = make_cols(ncols, stride, 900 + a);
        uint32_t(*cv)[5][8] = malloc(nrows * sizeof *cv);
        for (int simd = 0; simd < 2; simd++) {
            spw_blake3_set_simd(simd);
            for (size_t g = 0; g < ng; g++) {
                size_t nc = ncols - 128 * g < 128 ? ncols - 128 * g : 128;
                uint32_t tmp[37][8];
                /* two row ranges, as a streaming prover would do */
                spw_blake3_rows_chunk_cv(ctx, tmp, cols + 128 * g * stride, nc, stride, 20, g,
                                         ng == 1);
                spw_blake3_rows_chunk_cv(NULL, tmp + 20, cols + 128 * g * stride + 20, nc,
                                         stride, nrows - 20, g, ng == 1);
                for (size_t r = 0; r < nrows; r++) memcpy(cv[r][g], tmp[r], 32);
            }
            for (size_t r = 0; r < nrows; r++) {
                spw_digest got, want;
                spw_blake3_root_from_cvs(got.b, (const uint32_t(*)[8])cv[r], ng);
                ref_leaf(&want, cols, ncols, stride, r);
                ck_assert_msg(memcmp(got.b, want.b, 32) == 0, "row groups %s: %zu cols row %zu",
                              spw_blake3_impl_name(), ncols, r);
            }
        }
        free(cv);
        free(cols);
    }
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_trees)
{
    static const size_t sizes[] = {1, 2, 8, 1024};
    static const size_t ncols_list[] = {1, 3, 128, 130};
    spw_ctx *c1 = make_ctx(1), *c4 = make_ctx(4);
    for (size_t a = 0; a < 4; a++) {
        for (size_t b = 0; b < 4; b++) {
            size_t n = sizes[a], ncols = ncols_list[b], stride = n + (b & 1) * 5;
            uint64_t *cols = make_cols(ncols, stride, 100 * a + b);
            spw_digest *leaves = malloc(n * sizeof *leaves);
            spw_blake3_set_simd(b & 1); /* portable and SIMD leaves */
            ck_assert_int_eq(spw_merkle_leaves(c1, leaves, cols, ncols, stride, n), SPW_OK);
            spw_blake3_set_simd(1);
            for (size_t i = 0; i < n; i++) {
                spw_digest want, row_d;
                ref_leaf(&want, cols, ncols, stride, i);
                ck_assert_msg(memcmp(want.b, leaves[i].b, 32) == 0,
                              "leaf %zu of %zu rows x %zu cols", i, n, ncols);
                uint64_t *row = malloc(ncols * 8);
                for (size_t c = 0; c < ncols; c++) row[c] = cols[c * stride + i];
                spw_merkle_leaf_row(&row_d, row, ncols);
                ck_assert(memcmp(want.b, row_d.b, 32) == 0);
                free(row);
            }
            spw_merkle t1, t4, tl;
            ck_assert_int_eq(spw_merkle_build(c1, &t1, cols, ncols, stride, n), SPW_OK);
            ck_assert_int_eq(spw_merkle_build(c4, &t4, cols, ncols, stride, n), SPW_OK);
            ck_assert_int_eq(spw_merkle_build_from_leaves(c4, &tl, leaves, n), SPW_OK);
            ck_assert_uint_eq(t1.log_leaves, spw_log2(n));
            ck_assert_msg(memcmp(t1.nodes + 1, t4.nodes + 1, (2 * n - 1) * 32) == 0,
                          "threads differ: %zu x %zu", n, ncols);
            ck_assert_msg(memcmp(t1.nodes + 1, tl.nodes + 1, (2 * n - 1) * 32) == 0,
                          "from_leaves differs: %zu x %zu", n, ncols);
            spw_digest rr;
            ref_root(&rr, leaves, n);
            ck_assert_msg(memcmp(rr.b, spw_merkle_root(&t1)->b, 32) == 0, "root %zu x %zu", n,
                          ncols);
            spw_digest path[16];
            for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(spw_merkle_path(&t4, path, i), SPW_OK);
                ck_assert_msg(spw_merkle_verify(spw_merkle_root(&t1), &leaves[i], i, path,
                                                t1.log_leaves),
                              "path %zu of %zu does not verify", i, n);
                if (n > 1) /* the same leaf at another index must fail */
                    ck_assert(!spw_merkle_verify(spw_merkle_root(&t1), &leaves[i], i ^ 1, path,
                                                 t1.log_leaves));
            }
            spw_merkle_free(&t1);
            spw_merkle_free(&t4);
            spw_merkle_free(&tl);
            free(leaves);
            free(cols);
        }
    }
    spw_ctx_free(c1);
    spw_ctx_free(c4);
}
END_TEST

/* Larger tree with many threads: row blocks and multi-threaded levels. */
START_TEST(test_threads_large)
{
    size_t n = 1 << 14, ncols = 24;
    uint64_t *cols = make_cols(ncols, n, 77);
    spw_ctx *c1 = make_ctx(1), *c3 = make_ctx(3);
    spw_merkle t1, t3;
    spw_blake3_set_simd(0);
    ck_assert_int_eq(spw_merkle_build(c1, &t1, cols, ncols, n, n), SPW_OK);
    spw_blake3_set_simd(1);
    ck_assert_int_eq(spw_merkle_build(c3, &t3, cols, ncols, n, n), SPW_OK);
    ck_assert(memcmp(t1.nodes + 1, t3.nodes + 1, (2 * n - 1) * 32) == 0);
    for (size_t i = 0; i < n; i += 997) {
        spw_digest want;
        ref_leaf(&want, cols, ncols, n, i);
        ck_assert(memcmp(want.b, t3.nodes[n + i].b, 32) == 0);
    }
    spw_merkle_free(&t1);
    spw_merkle_free(&t3);
    spw_ctx_free(c1);
    spw_ctx_free(c3);
    free(cols);
}
END_TEST

START_TEST(test_bitflips)
{
    size_t n = 8, ncols = 3;
    uint64_t *cols = make_cols(ncols, n, 5);
    spw_merkle t;
    ck_assert_int_eq(spw_merkle_build(NULL, &t, cols, ncols, n, n), SPW_OK);
    const spw_digest *root = spw_merkle_root(&t);
    for (size_t i = 0; i < n; i++) {
        spw_digest path[3], leaf = t.nodes[n + i];
        ck_assert_int_eq(spw_merkle_path(&t, path, i), SPW_OK);
        ck_assert(spw_merkle_verify(root, &leaf, i, path, 3));
        for (int bit = 0; bit < 256; bit++) {
            spw_digest l2 = leaf, r2 = *root;
            l2.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ck_assert_msg(!spw_merkle_verify(root, &l2, i, path, 3), "leaf bit %d", bit);
            r2.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ck_assert_msg(!spw_merkle_verify(&r2, &leaf, i, path, 3), "root bit %d", bit);
            for (int k = 0; k < 3; k++) {
                spw_digest p2[3] = {path[0], path[1], path[2]};
                p2[k].b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                ck_assert_msg(!spw_merkle_verify(root, &leaf, i, p2, 3), "leaf %zu sibling %d bit %d",
                              i, k, bit);
            }
        }
        /* wrong depth or index out of range */
        ck_assert(!spw_merkle_verify(root, &leaf, i, path, 2));
        ck_assert(!spw_merkle_verify(root, &leaf, i + 8, path, 3));
    }
    spw_merkle_free(&t);
    free(cols);
}
END_TEST

START_TEST(test_errors)
{
    spw_ctx *ctx = make_ctx(1);
    uint64_t cols[16] = {0};
    spw_digest leaves[16], path[4];
    spw_merkle t;
    ck_assert_int_eq(spw_merkle_build(ctx, &t, cols, 1, 3, 3), SPW_ERR_NOT_POW2);
    ck_assert_ptr_null(t.nodes);
    ck_assert(strstr(spw_ctx_last_error(ctx), "power of two") != NULL);
    ck_assert_int_eq(spw_merkle_build(ctx, &t, cols, 1, 0, 0), SPW_ERR_NOT_POW2);
    ck_assert_int_eq(spw_merkle_leaves(ctx, leaves, cols, 2, 6, 6), SPW_ERR_NOT_POW2);
    ck_assert_int_eq(spw_merkle_build_from_leaves(ctx, &t, leaves, 12), SPW_ERR_NOT_POW2);
    ck_assert_int_eq(spw_merkle_build(ctx, &t, NULL, 1, 4, 4), SPW_ERR_NULL);
    ck_assert(strstr(spw_ctx_last_error(ctx), "cols") != NULL);
    ck_assert_int_eq(spw_merkle_build(ctx, NULL, cols, 1, 4, 4), SPW_ERR_NULL);
    ck_assert_int_eq(spw_merkle_leaves(ctx, NULL, cols, 1, 4, 4), SPW_ERR_NULL);
    ck_assert_int_eq(spw_merkle_build_from_leaves(ctx, &t, NULL, 4), SPW_ERR_NULL);
    ck_assert_int_eq(spw_merkle_build(ctx, &t, cols, 2, 2, 4), SPW_ERR_INVALID_ARG);
    ck_assert(strstr(spw_ctx_last_error(ctx), "stride") != NULL);
    ck_assert_int_eq(spw_merkle_build(ctx, &t, cols, 2, 8, 8), SPW_OK);
    ck_assert_int_eq(spw_merkle_path(&t, path, 8), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_merkle_path(&t, NULL, 0), SPW_ERR_NULL);
    ck_assert_int_eq(spw_merkle_path(NULL, path, 0), SPW_ERR_NULL);
    ck_assert_int_eq(spw_merkle_path(&t, path, 7), SPW_OK);
    ck_assert(!spw_merkle_verify(NULL, &leaves[0], 0, path, 3));
    spw_merkle_free(&t);
    spw_merkle_free(&t); /* twice is fine */
    /* zero columns: every leaf is the digest of the empty row */
    spw_digest empty;
    spw_blake3(empty.b, "", 0);
    ck_assert_int_eq(spw_merkle_leaves(ctx, leaves, NULL, 0, 0, 16), SPW_OK);
    for (int i = 0; i < 16; i++) ck_assert(memcmp(leaves[i].b, empty.b, 32) == 0);
    spw_merkle_free(NULL);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rows_u64);
    tcase_add_test(tc, test_row_groups);
    tcase_add_test(tc, test_trees);
    tcase_add_test(tc, test_threads_large);
    tcase_add_test(tc, test_bitflips);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
