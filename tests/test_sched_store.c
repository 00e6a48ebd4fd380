/*
 * test_sched_store.c - the storage layer of the streaming prover and the
 * chunked LogUp build, against plain in-memory references:
 *   - spw_mat: whole-column writes read back by row ranges (wrapping, any
 *     length, across tiles) and the reverse, through a pool far smaller
 *     than the data with an NVMe tier behind it;
 *   - spw_stree: root and every authentication path equal spw_merkle's,
 *     for every number of left-out low levels (recomputed from matrix rows
 *     or a FRI layer), built by chunks and by device-tier heaps, and the
 *     query openings (row or FRI pair + path from one group read);
 *   - spw_sched_logup_aux: the LogUp aux trace built through the scheduler
 *     in row chunks that do and do not divide the height equals the
 *     one-shot spw_logup_build_aux (values and L_t).
 */
#include "check_util.h"
#include "logup.h"
#include "sched/sched.h"
#include "workloads.h"

#include <string.h>
#include <unistd.h>

static spw_ctx *mkctx(void)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = 2;
    o.log_level = SPW_LOG_ERROR;
    spw_ctx *ctx;
    ck_assert_int_eq(spw_ctx_create(&ctx, &o), SPW_OK);
    return ctx;
}

static spw_spill *mkspill(spw_ctx *ctx, uint64_t pool, uint64_t nvme)
{
    spw_spill_opts so;
    spw_spill_opts_default(&so);
    const char *t = getenv("TMPDIR");
    so.dir = nvme ? (t && *t ? t : "/tmp") : NULL;
    so.host_budget = pool;
    so.nvme_budget = nvme;
    so.compress = 0;
    so.register_cuda = 0;
    spw_spill *sp;
    ck_assert_msg(spw_spill_create(ctx, &sp, &so) == SPW_OK, "%s", spw_ctx_last_error(ctx));
    return sp;
}

START_TEST(test_mat_roundtrip)
{
    spw_ctx *ctx = mkctx();
    spw_spill *sp = mkspill(ctx, 1u << 20, 64u << 20);
    size_t nc = 13, nr = 4096;
    uint64_t seed = 7, *ref = malloc(nc * nr * 8), *buf = malloc(nc * 600 * 8);
    for (size_t i = 0; i < nc * nr; i++) ref[i] = spw_test_rand(&seed);
    /* tiles of 4 columns x 256 rows: 4 column groups (the last of 1) */
    spw_mat m;
    ck_assert_int_eq(spw_mat_init(ctx, &m, sp, "t", nc, nr, 8, 4, 256, SPW_CHUNK_OTHER,
                                  SPW_TIER_NVME, 1), SPW_OK);
    for (size_t c0 = 0; c0 < nc; c0 += 4)
        ck_assert_int_eq(spw_mat_put_cols(&m, c0, nc - c0 < 4 ? nc - c0 : 4, ref + c0 * nr, nr),
                         SPW_OK);
    spw_spill_drain(sp);
    size_t starts[5] = {0, 255, 1000, 3900, 4095}, lens[5] = {1, 2, 300, 597, 513};
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(spw_mat_get_rows(&m, buf, 600, starts[k], lens[k]), SPW_OK);
        for (size_t c = 0; c < nc; c++)
            for (size_t i = 0; i < lens[k]; i++)
                ck_assert_msg(buf[c * 600 + i] == ref[c * nr + (starts[k] + i) % nr],
                              "column %zu row %zu", c, (starts[k] + i) % nr);
    }
    /* rows written back, columns read */
    for (size_t r0 = 0; r0 < nr; r0 += 512) {
        for (size_t c = 0; c < nc; c++)
            for (size_t i = 0; i < 512; i++) buf[c * 512 + i] = ref[c * nr + r0 + i] ^ 1;
        ck_assert_int_eq(spw_mat_put_rows(&m, r0, 512, buf, 512), SPW_OK);
    }
    uint64_t *col = malloc(nr * 8);
    for (size_t c = 0; c < nc; c++) {
        ck_assert_int_eq(spw_mat_get_cols(&m, col, nr, c, 1), SPW_OK);
        for (size_t i = 0; i < nr; i++) ck_assert_uint_eq(col[i], ref[c * nr + i] ^ 1);
    }
    spw_spill_stats ss;
    spw_spill_get_stats(sp, &ss);
    ck_assert_uint_gt(ss.evictions, 0); /* the data did go through the NVMe tier */
    spw_mat_free(&m);
    free(col);
    free(ref);
    free(buf);
    spw_spill_free(sp);
    spw_ctx_free(ctx);
}
END_TEST

/* Builds tree t (skip levels left out) over the rows of m, by chunks
 * (put_chunk) or by heaps of 4 subtrees (put_heap, as the device tier). */
static void build_stree(spw_ctx *ctx, spw_stree *t, spw_spill *sp, const spw_digest *lv, size_t n,
                        size_t R, unsigned skip, int heap)
{
    ck_assert_int_eq(spw_stree_init_skip(ctx, t, sp, "tree", n, R, skip, SPW_TIER_NVME), SPW_OK);
    ck_assert_uint_eq(t->skip, skip < t->log_R ? skip : t->log_R);
    ck_assert_uint_eq(t->nodes.nrows, n / R * 2 * (R >> t->skip)); /* what the store holds */
    if (!heap) {
        for (size_t c = 0; c < n / R; c++)
            ck_assert_int_eq(spw_stree_put_chunk(ctx, t, c, lv + c * R), SPW_OK);
    } else {
        size_t Rc = 4 * R < n ? 4 * R : n;
        for (size_t c = 0; c < n / Rc; c++) {
            spw_merkle h;
            ck_assert_int_eq(spw_merkle_build_from_leaves(ctx, &h, lv + c * Rc, Rc), SPW_OK);
            ck_assert_int_eq(spw_stree_put_heap(ctx, t, c * (Rc / R), h.nodes, Rc), SPW_OK);
            spw_merkle_free(&h);
        }
    }
    ck_assert_int_eq(spw_stree_finish(ctx, t), SPW_OK);
}

/* Root and paths of spw_stree against spw_merkle over the same rows, for
 * every skip 0..4 and several subtree sizes, built by chunks and by heaps;
 * the low levels of a path come from the matrix rows. */
START_TEST(test_stree)
{
    spw_ctx *ctx = mkctx();
    spw_spill *sp = mkspill(ctx, 1u << 20, 64u << 20);
    size_t n = 1024, nc = 3;
    uint64_t *cols = malloc(nc * n * 8), seed = 3;
    for (size_t i = 0; i < nc * n; i++) cols[i] = spw_test_rand(&seed) % GL_P;
    spw_mat m;
    ck_assert_int_eq(spw_mat_init(ctx, &m, sp, "rows", nc, n, 8, 2, 64, SPW_CHUNK_LDE, SPW_TIER_NVME,
                                  0), SPW_OK);
    ck_assert_int_eq(spw_mat_put_cols(&m, 0, nc, cols, n), SPW_OK);
    spw_merkle ref;
    ck_assert_int_eq(spw_merkle_build(ctx, &ref, cols, nc, n, n), SPW_OK);
    const spw_digest *lv = ref.nodes + n;
    size_t Rs[5] = {1, 2, 16, 256, 1024};
    spw_digest p1[10], p2[10];
    for (unsigned skip = 0; skip <= 4; skip++)
        for (int k = 0; k < 5; k++)
            for (int heap = 0; heap < 2; heap++) {
                spw_stree t;
                build_stree(ctx, &t, sp, lv, n, Rs[k], skip, heap);
                ck_assert_mem_eq(spw_stree_root(&t)->b, spw_merkle_root(&ref)->b, 32);
                for (size_t i = 0; i < n; i = i + 37 < n || i == n - 1 ? i + 37 : n - 1) {
                    memset(p1, 0, sizeof p1);
                    ck_assert_int_eq(spw_stree_path(ctx, &t, p1, i, spw_stree_mat_leaves, &m),
                                     SPW_OK);
                    ck_assert_int_eq(spw_merkle_path(&ref, p2, i), SPW_OK);
                    ck_assert_msg(!memcmp(p1, p2, sizeof p1),
                                  "skip %u subtree %zu heap %d leaf %zu: path differs", skip, Rs[k],
                                  heap, i);
                    /* the query opening: the row and the same path */
                    uint64_t row[3] = {0, 0, 0};
                    memset(p1, 0, sizeof p1);
                    ck_assert_int_eq(spw_stree_open_row(ctx, &t, &m, row, p1, i), SPW_OK);
                    ck_assert_msg(!memcmp(p1, p2, sizeof p1),
                                  "skip %u subtree %zu heap %d leaf %zu: opening path differs", skip,
                                  Rs[k], heap, i);
                    for (size_t c = 0; c < nc; c++) ck_assert_uint_eq(row[c], cols[c * n + i]);
                }
                /* the low levels need the leaves */
                if (t.skip)
                    ck_assert_int_eq(spw_stree_path(ctx, &t, p1, 5, NULL, NULL), SPW_ERR_INTERNAL);
                spw_stree_free(&t);
            }
    /* the default skip is the planner's */
    spw_stree t;
    ck_assert_int_eq(spw_stree_init(ctx, &t, sp, "tree", n, 256, SPW_TIER_NVME), SPW_OK);
    ck_assert_uint_eq(t.skip, spw_plan_tree_skip());
    spw_stree_free(&t);
    spw_merkle_free(&ref);
    spw_mat_free(&m);
    free(cols);
    spw_spill_free(sp);
    spw_ctx_free(ctx);
}
END_TEST

/* A FRI layer tree (leaf k = the pair f[k], f[k + N/2]) with its low
 * levels recomputed from the layer. */
START_TEST(test_stree_fri)
{
    spw_ctx *ctx = mkctx();
    spw_spill *sp = mkspill(ctx, 1u << 20, 64u << 20);
    size_t N = 512, half = N / 2;
    fe3 *f = malloc(N * sizeof *f);
    spw_digest *lv = malloc(half * sizeof *lv);
    uint64_t seed = 5;
    for (size_t i = 0; i < N; i++)
        f[i] = fe3_make(spw_test_rand(&seed) % GL_P, spw_test_rand(&seed) % GL_P,
                        spw_test_rand(&seed) % GL_P);
    /* reference leaves: the 6 u64 of the pair as one merkle.h row */
    for (size_t k = 0; k < half; k++) {
        uint64_t row[6] = {f[k].c[0], f[k].c[1], f[k].c[2],
                           f[k + half].c[0], f[k + half].c[1], f[k + half].c[2]};
        spw_merkle_leaf_row(&lv[k], row, 6);
    }
    spw_merkle ref;
    ck_assert_int_eq(spw_merkle_build_from_leaves(ctx, &ref, lv, half), SPW_OK);
    spw_mat m;
    ck_assert_int_eq(spw_mat_init(ctx, &m, sp, "layer", 1, N, sizeof(fe3), 1, 64, SPW_CHUNK_OTHER,
                                  SPW_TIER_NVME, 0), SPW_OK);
    ck_assert_int_eq(spw_mat_put_rows(&m, 0, N, f, N), SPW_OK);
    spw_digest p1[8], p2[8];
    for (unsigned skip = 0; skip <= 4; skip++) {
        spw_stree t;
        build_stree(ctx, &t, sp, lv, half, 64, skip, skip & 1);
        ck_assert_mem_eq(spw_stree_root(&t)->b, spw_merkle_root(&ref)->b, 32);
        for (size_t i = 0; i < half; i += 13) {
            memset(p1, 0, sizeof p1);
            ck_assert_int_eq(spw_stree_path(ctx, &t, p1, i, spw_stree_fri_leaves, &m), SPW_OK);
            ck_assert_int_eq(spw_merkle_path(&ref, p2, i), SPW_OK);
            ck_assert_msg(!memcmp(p1, p2, sizeof p1), "skip %u leaf %zu: path differs", skip, i);
            fe3 a, b;
            memset(p1, 0, sizeof p1);
            ck_assert_int_eq(spw_stree_open_fri(ctx, &t, &m, &a, &b, p1, i), SPW_OK);
            ck_assert_msg(!memcmp(p1, p2, sizeof p1), "skip %u leaf %zu: opening path differs", skip,
                          i);
            ck_assert(!memcmp(&a, &f[i], sizeof a) && !memcmp(&b, &f[i + half], sizeof b));
        }
        spw_stree_free(&t);
    }
    spw_merkle_free(&ref);
    spw_mat_free(&m);
    free(f);
    free(lv);
    spw_spill_free(sp);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_logup_chunks)
{
    spw_ctx *ctx = mkctx();
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(ctx, &wp, "vm"), SPW_OK);
    wp.log_rows = 10;
    spw_air *air;
    spw_trace *trace;
    uint64_t *pub;
    size_t np;
    ck_assert_int_eq(spw_workload_build(ctx, &air, &trace, &pub, &np, NULL, 0, &wp), SPW_OK);
    const spw_air_def *def = spw_air_get_def(air);
    uint64_t seed = 11;
    fe3 ch[4];
    for (int i = 0; i < 4; i++)
        ch[i] = fe3_make(spw_test_rand(&seed) % GL_P, spw_test_rand(&seed) % GL_P,
                         spw_test_rand(&seed) % GL_P);
    spw_spill *sp = mkspill(ctx, 2u << 20, 128u << 20);
    int tested = 0;
    for (uint32_t ti = 0; ti < def->n_tables; ti++) {
        const spw_air_table *t = &def->tables[ti];
        if (!t->n_aux || t->log_height > 12) continue;
        size_t n = (size_t)1 << t->log_height, nm = t->n_main, na = 3 * (size_t)t->n_aux;
        uint64_t *main = malloc(nm * n * 8), *ref = malloc(na * n * 8), *got = malloc(na * n * 8);
        for (size_t c = 0; c < nm; c++)
            ck_assert_int_eq(spw_trace_read(trace, main + c * n, ti, (uint32_t)c, 0, n), SPW_OK);
        fe3 sum_ref;
        ck_assert_int_eq(spw_logup_build_aux(ctx, ref, &sum_ref, t, main, n, ch), SPW_OK);
        spw_mat tm;
        ck_assert_int_eq(spw_mat_init(ctx, &tm, sp, "trace", nm, n, 8, 8, 64, SPW_CHUNK_TRACE,
                                      SPW_TIER_NVME, 0), SPW_OK);
        ck_assert_int_eq(spw_mat_put_cols(&tm, 0, nm, main, n), SPW_OK);
        size_t chunks[] = {1, 3, 7, 64, 100, n - 1, n, 2 * n};
        for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            spw_mat am;
            ck_assert_int_eq(spw_mat_init(ctx, &am, sp, "aux", na, n, 8, 3, 128, SPW_CHUNK_OTHER,
                                          SPW_TIER_NVME, 0), SPW_OK);
            fe3 sum;
            ck_assert_int_eq(spw_sched_logup_aux(ctx, &am, &sum, t, &tm, ch, chunks[k]), SPW_OK);
            ck_assert_int_eq(spw_mat_get_cols(&am, got, n, 0, na), SPW_OK);
            for (size_t i = 0; i < na * n; i++)
                ck_assert_msg(got[i] == ref[i], "table %s chunk %zu: aux column %zu row %zu",
                              t->name, chunks[k], i / n, i % n);
            for (int c = 0; c < 3; c++) ck_assert_uint_eq(sum.c[c], sum_ref.c[c]);
            spw_mat_free(&am);
            tested++;
        }
        spw_mat_free(&tm);
        free(main);
        free(ref);
        free(got);
    }
    ck_assert_int_ge(tested, 8);
    spw_spill_free(sp);
    spw_workload_free(air, trace, pub);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched_store");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mat_roundtrip);
    tcase_add_test(tc, test_stree);
    tcase_add_test(tc, test_stree_fri);
    tcase_add_test(tc, test_logup_chunks);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
