/*
 * test_gpu_merkle.c - the device Merkle tree (cuda/blake3.cu): every node of
 * the heap layout against the CPU tree (src/merkle.c) for 1 .. 2^20 leaves
 * (the level-by-level and the one-block top levels), the device
 * authentication paths against spw_merkle_path and spw_merkle_verify, and
 * bad arguments. Skips (77) without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "merkle.h"
#include <string.h>

static spw_cuda_arena *arena;
static spw_ctx *cpu;

static void setup(void)
{
    spw_status st = spw_cuda_arena_create(&arena, (uint64_t)4 << 30);
    ck_assert_msg(st == SPW_OK, "arena: %s", spw_cuda_last_error());
    ck_assert_int_eq(spw_ctx_create(&cpu, NULL), SPW_OK);
}

static void teardown(void)
{
    spw_cuda_arena_destroy(arena);
    spw_ctx_free(cpu);
}

static void check_tree(unsigned log_rows, size_t ncols, uint64_t seed)
{
    const size_t nrows = (size_t)1 << log_rows, stride = nrows + 1;
    uint64_t *cols = malloc(ncols * stride * 8);
    spw_digest *nodes = calloc(2 * nrows, sizeof *nodes);
    ck_assert_ptr_nonnull(cols);
    ck_assert_ptr_nonnull(nodes);
    for (size_t i = 0; i < ncols * stride; i++) cols[i] = spw_test_rand(&seed);
    uint64_t before = spw_cuda_kernel_launches();
    spw_status st = spw_cuda_merkle_build_host(arena, (uint8_t *)nodes, cols, ncols, stride, nrows);
    ck_assert_msg(st == SPW_OK, "build %u: %s", log_rows, spw_cuda_last_error());
    ck_assert_msg(spw_cuda_kernel_launches() > before, "no kernel ran");
    spw_merkle t;
    ck_assert_int_eq(spw_merkle_build(cpu, &t, cols, ncols, stride, nrows), SPW_OK);
    for (size_t i = 1; i < 2 * nrows; i++)
        ck_assert_msg(memcmp(nodes[i].b, t.nodes[i].b, 32) == 0,
                      "tree of 2^%u leaves x %zu columns: first differing node %zu (%s)", log_rows,
                      ncols, i, i >= nrows ? "leaf" : "inner");
    /* authentication paths of a spread of leaves */
    if (log_rows) {
        size_t nq = nrows < 37 ? nrows : 37;
        uint64_t *idx = malloc(nq * 8);
        for (size_t q = 0; q < nq; q++) idx[q] = (q * 0x9E3779B97F4A7C15ull) % nrows;
        idx[0] = 0;
        idx[nq - 1] = nrows - 1;
        spw_digest *paths = malloc(nq * log_rows * sizeof *paths), *want = malloc(log_rows * sizeof *want);
        st = spw_cuda_merkle_paths_host(arena, (uint8_t *)paths, (const uint8_t *)nodes, log_rows,
                                        idx, nq);
        ck_assert_msg(st == SPW_OK, "paths: %s", spw_cuda_last_error());
        for (size_t q = 0; q < nq; q++) {
            ck_assert_int_eq(spw_merkle_path(&t, want, idx[q]), SPW_OK);
            ck_assert_msg(memcmp(want, paths + q * log_rows, log_rows * 32) == 0,
                          "path of leaf %llu (2^%u leaves) differs",
                          (unsigned long long)idx[q], log_rows);
            ck_assert(spw_merkle_verify(spw_merkle_root(&t), &nodes[nrows + idx[q]], idx[q],
                                        paths + q * log_rows, log_rows));
        }
        uint64_t bad = nrows;
        ck_assert_int_eq(spw_cuda_merkle_paths_host(arena, (uint8_t *)paths, (const uint8_t *)nodes,
                                                    log_rows, &bad, 1),
                         SPW_ERR_INVALID_ARG);
        free(idx); free(paths); free(want);
    }
    spw_merkle_free(&t);
    free(cols);
    free(nodes);
}

START_TEST(test_small_trees)
{
    for (unsigned k = 0; k <= 12; k++) check_tree(k, 1 + k % 5, 10 + k);
}
END_TEST

START_TEST(test_large_trees)
{
    check_tree(16, 16, 31);
    check_tree(18, 130, 32); /* multi-chunk leaves */
    check_tree(20, 4, 33);
}
END_TEST

START_TEST(test_bad_args)
{
    uint64_t x[6] = {0};
    uint8_t nodes[6 * 32];
    ck_assert_int_eq(spw_cuda_merkle_build_host(arena, nodes, x, 1, 3, 3), SPW_ERR_NOT_POW2);
    ck_assert(strlen(spw_cuda_last_error()) > 0);
    ck_assert_int_eq(spw_cuda_merkle_build_host(arena, nodes, x, 2, 1, 2), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_cuda_merkle_build(NULL, NULL, NULL, 1, 1, 1), SPW_ERR_NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_merkle");
    TCase *tc = tcase_create("merkle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_small_trees);
    tcase_add_test(tc, test_large_trees);
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    return spw_run_gpu_suite(s);
}
#else
int main(void)
{
    fprintf(stderr, "CUDA backend not compiled in: skipping\n");
    return SPW_EXIT_SKIP;
}
#endif
