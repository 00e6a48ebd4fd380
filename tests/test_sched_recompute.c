/*
 * test_sched_recompute.c - the recompute tier on the CPU (src/sched/coset.h):
 * the coset passes against a naive DFT of the zero-padded coefficients
 * (rows, tree root, DEEP values), then whole proofs with the LDE of every
 * table (SPW_RECOMPUTE=3) or of the odd tables (2) recomputed, at several
 * host budgets, blowups and chunk sizes: byte-identical to the in-memory
 * prover, verifying, the coset passes run exactly when the plan says so.
 * The planner's choice: 0 recomputes nothing; auto recomputes only tables
 * priced cheaper, and only when the whole plan predicts less than 0.8 of
 * the stored plan's time; a slow
 * disk (a probe file) makes it recompute the streamed tables.
 */
#include "check_util.h"
#include "ntt.h"
#include "plan.h"
#include "prover_test_util.h"
#include "sched/coset.h"
#include "workload_test_util.h"

#include <string.h>
#include <unistd.h>

static spw_spill *mkspill(spw_ctx *ctx)
{
    spw_spill_opts so;
    spw_spill_opts_default(&so);
    so.dir = NULL;
    so.host_budget = 64u << 20;
    so.nvme_budget = 0;
    so.compress = 0;
    so.register_cuda = 0;
    spw_spill *sp;
    ck_assert_msg(spw_spill_create(ctx, &sp, &so) == SPW_OK, "%s", spw_ctx_last_error(ctx));
    return sp;
}

/* ref (nc columns of N) = the LDE of the coefficient columns cf (nc x n):
 * a naive DFT of size N of each zero-padded column on GL_GENERATOR <w_N>. */
static uint64_t *naive_lde(const uint64_t *cf, size_t nc, unsigned log_n, unsigned log_b)
{
    size_t n = (size_t)1 << log_n, N = n << log_b;
    uint64_t *ref = malloc(nc * N * 8), *pad = calloc(N, 8);
    for (size_t c = 0; c < nc; c++) {
        memcpy(pad, cf + c * n, n * 8);
        spw_dft_naive(ref + c * N, pad, log_n + log_b, GL_GENERATOR);
    }
    free(pad);
    return ref;
}

START_TEST(test_coset_passes)
{
    spw_ctx *ctx = make_ctx(2, 4);
    spw_spill *sp = mkspill(ctx);
    const unsigned log_n = 7, log_b = 2;
    const size_t n = (size_t)1 << log_n, K = (size_t)1 << log_b, N = n << log_b;
    const size_t nm = 5, na = 3, ncp = 3, all = nm + na + ncp;
    uint64_t seed = 11, *cf = malloc(all * n * 8);
    for (size_t i = 0; i < all * n; i++) cf[i] = spw_test_rand(&seed) % GL_P;
    uint64_t *ref = naive_lde(cf, all, log_n, log_b);
    /* three coefficient matrices of 2-column x 32-row tiles */
    spw_mat m[3];
    size_t cols[3] = {nm, na, ncp}, c0 = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(spw_mat_init(ctx, &m[i], sp, "coef", cols[i], n, 8, 2, 32, SPW_CHUNK_OTHER,
                                      SPW_TIER_HOST, 0), SPW_OK);
        ck_assert_int_eq(spw_mat_put_cols(&m[i], 0, cols[i], cf + c0 * n, n), SPW_OK);
        c0 += cols[i];
    }
    spw_mat *mats[3] = {&m[0], &m[1], &m[2]};
    uint64_t c_before = spw_hcoset_cosets_total();

    /* rows: every coset, repeats, the first and last point */
    uint64_t idx[] = {0, N - 1, 5, 6, 7, 8, 5, 200, 301, 402, 3};
    size_t nq = sizeof idx / sizeof idx[0];
    uint64_t *rows = malloc(nq * all * 8);
    ck_assert_int_eq(spw_hcoset_rows(ctx, mats, log_n, log_b, idx, nq, rows), SPW_OK);
    for (size_t q = 0; q < nq; q++)
        for (size_t c = 0; c < all; c++)
            ck_assert_msg(rows[q * all + c] == ref[c * N + idx[q]], "row %llu column %zu",
                          (unsigned long long)idx[q], c);
    ck_assert_uint_eq(spw_hcoset_cosets_total() - c_before, K); /* each coset once */

    /* the tree of the main columns: the root of the naive LDE's tree */
    spw_stree t;
    ck_assert_int_eq(spw_stree_init(ctx, &t, sp, "tree", N, 64, SPW_TIER_HOST), SPW_OK);
    ck_assert_int_eq(spw_hcoset_tree(ctx, &t, &m[0], log_n, log_b), SPW_OK);
    ck_assert_int_eq(spw_stree_finish(ctx, &t), SPW_OK);
    spw_merkle mt;
    ck_assert_int_eq(spw_merkle_build(ctx, &mt, ref, nm, N, N), SPW_OK);
    ck_assert_mem_eq(spw_stree_root(&t), spw_merkle_root(&mt), 32);
    spw_merkle_free(&mt);
    spw_stree_free(&t);

    /* DEEP: sum over the columns of the weighted numerators over the
     * denominators, point by point; added on the second call */
    size_t n1 = all, n2 = nm + na;
    fe3 *g = malloc((n1 + n2) * sizeof(fe3));
    for (size_t i = 0; i < n1 + n2; i++)
        g[i] = fe3_make(spw_test_rand(&seed) % GL_P, spw_test_rand(&seed) % GL_P, spw_test_rand(&seed) % GL_P);
    fe3 v1 = fe3_make(3, 4, 5), v2 = fe3_make(6, 7, 8), zeta = fe3_make(9, 10, 11);
    fe3 zw = fe3_mul_base(zeta, gl_root_of_unity(log_n));
    spw_mat ri;
    ck_assert_int_eq(spw_mat_init(ctx, &ri, sp, "rollin", 1, N, sizeof(fe3), 1, 64, SPW_CHUNK_OTHER,
                                  SPW_TIER_HOST, 0), SPW_OK);
    for (int pass = 0; pass < 2; pass++)
        ck_assert_int_eq(spw_hcoset_deep(ctx, g, n1, g + n1, n2, mats, log_n, log_b, v1, v2, zeta, zw,
                                         &ri, pass == 0), SPW_OK);
    fe3 *got = malloc(N * sizeof(fe3));
    ck_assert_int_eq(spw_mat_get_rows(&ri, got, N, 0, N), SPW_OK);
    uint64_t wN = gl_root_of_unity(log_n + log_b), x = GL_GENERATOR;
    for (size_t i = 0; i < N; i++, x = gl_mul(x, wN)) {
        fe3 s1 = fe3_zero(), s2 = fe3_zero();
        for (size_t c = 0; c < n1; c++) s1 = fe3_add(s1, fe3_mul_base(g[c], ref[c * N + i]));
        for (size_t c = 0; c < n2; c++) s2 = fe3_add(s2, fe3_mul_base(g[n1 + c], ref[c * N + i]));
        fe3 d1 = fe3_inv(fe3_sub(fe3_from_base(x), zeta)), d2 = fe3_inv(fe3_sub(fe3_from_base(x), zw));
        fe3 v = fe3_add(fe3_mul(fe3_sub(s1, v1), d1), fe3_mul(fe3_sub(s2, v2), d2));
        v = fe3_add(v, v);
        ck_assert_msg(!memcmp(&v, &got[i], sizeof v), "DEEP value of point %zu", i);
    }
    /* a roll-in of the wrong size is an internal error, not a write */
    spw_mat bad;
    ck_assert_int_eq(spw_mat_init(ctx, &bad, sp, "bad", 1, N / 2, sizeof(fe3), 1, 64, SPW_CHUNK_OTHER,
                                  SPW_TIER_HOST, 0), SPW_OK);
    ck_assert_int_eq(spw_hcoset_deep(ctx, g, n1, g + n1, n2, mats, log_n, log_b, v1, v2, zeta, zw, &bad, 1),
                     SPW_ERR_INTERNAL);
    spw_mat_free(&bad);
    spw_mat_free(&ri);
    for (int i = 0; i < 3; i++) spw_mat_free(&m[i]);
    free(got);
    free(g);
    free(rows);
    free(ref);
    free(cf);
    spw_spill_free(sp);
    spw_ctx_free(ctx);
}
END_TEST

typedef struct wl {
    const char *name;
    unsigned log_rows;
    const char *preset;
    unsigned blowup;
} wl;

static const wl WL[] = {{"fib", 10, NULL, 4}, {"vm", 10, NULL, 4}, {"synth", 0, "tiny", 4},
                        {"vm", 10, NULL, 2},  {"synth", 0, "tiny", 8}};

static spw_ctx *ctx_for(const wl *w, int mode, uint64_t budget, uint64_t chunk, built *b)
{
    spw_ctx *ctx = make_ctx(2, w->blowup);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, SPW_BACKEND_CPU), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_MODE, mode), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)budget), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(ctx, SPW_PARAM_CHUNK_ROWS, (int64_t)chunk), SPW_OK);
    build_named(ctx, b, w->name, w->log_rows, w->preset);
    return ctx;
}

/* Proves w (and verifies); *nrec = the tables the plan recomputes, and
 * checks that coset passes ran exactly when it recomputes any. */
static uint8_t *prove(const wl *w, int mode, uint64_t budget, uint64_t chunk, size_t *len,
                      uint32_t *nrec, uint32_t *ntab)
{
    built b;
    spw_ctx *ctx = ctx_for(w, mode, budget, chunk, &b);
    spw_plan plan;
    ck_assert_msg(spw_plan_make(ctx, &plan, spw_air_get_def(b.air), NULL) == SPW_OK, "%s: %s", w->name,
                  spw_ctx_last_error(ctx));
    *nrec = plan.n_recompute;
    *ntab = plan.n_tables;
    spw_plan_clear(&plan);
    uint64_t c0 = spw_hcoset_cosets_total();
    spw_statement st = built_stmt(&b);
    uint8_t *p = NULL;
    spw_status r = spw_prove(ctx, &p, len, b.air, b.trace, &st);
    ck_assert_msg(r == SPW_OK, "%s budget %llu chunk %llu: %s", w->name, (unsigned long long)budget,
                  (unsigned long long)chunk, spw_ctx_last_error(ctx));
    uint64_t cos = spw_hcoset_cosets_total() - c0;
    ck_assert_msg((cos > 0) == (*nrec > 0), "%s: %llu coset evaluations, %u tables recomputed",
                  w->name, (unsigned long long)cos, *nrec);
    ck_assert_msg(spw_verify(ctx, b.air, &st, p, *len) == SPW_OK, "%s: verify: %s", w->name,
                  spw_ctx_last_error(ctx));
    spw_workload_free(b.air, b.trace, b.pub);
    spw_ctx_free(ctx);
    return p;
}

START_TEST(test_recompute_matrix)
{
    const wl *w = &WL[_i];
    size_t rl, l;
    uint32_t nrec, nt;
    uint8_t *ref = prove(w, SPW_MODE_RESIDENT, 0, 0, &rl, &nrec, &nt);
    ck_assert_uint_eq(nrec, 0);
    /* every table, then the odd ones, at an unlimited budget, 64 MiB and
     * 24 MiB (where the largest tables may fall back to storing), with the
     * default chunks, and chunks of 64 rows at 64 MiB with every table */
    const uint64_t budgets[3] = {UINT64_C(1) << 40, 64u << 20, 24u << 20};
    const char *envs[2] = {"3", "2"};
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 3; k++)
            for (int ch = 0; ch < (e == 0 && k == 1 ? 2 : 1); ch++) {
                setenv("SPW_RECOMPUTE", envs[e], 1);
                char what[128];
                snprintf(what, sizeof what, "%s blowup %u SPW_RECOMPUTE=%s budget %llu chunk %d",
                         w->name, w->blowup, envs[e], (unsigned long long)budgets[k], ch ? 64 : 0);
                uint8_t *p = prove(w, SPW_MODE_SPILLED, budgets[k], ch ? 64 : 0, &l, &nrec, &nt);
                unsetenv("SPW_RECOMPUTE");
                same(ref, rl, p, l, what);
                free(p);
                uint32_t want = e == 0 ? nt : nt / 2;
                if (k == 0) ck_assert_msg(nrec == want, "%s: %u of %u tables recomputed", what, nrec, nt);
                else ck_assert_msg(nrec <= want, "%s: %u tables recomputed", what, nrec);
            }
    /* SPW_RECOMPUTE=0: none */
    setenv("SPW_RECOMPUTE", "0", 1);
    uint8_t *p = prove(w, SPW_MODE_SPILLED, UINT64_C(1) << 40, 0, &l, &nrec, &nt);
    unsetenv("SPW_RECOMPUTE");
    ck_assert_uint_eq(nrec, 0);
    same(ref, rl, p, l, "SPW_RECOMPUTE=0");
    free(p);
    free(ref);
}
END_TEST


/* The auto choice: recompute tables are priced cheaper than storing and
 * the plan that runs them predicts less than 0.8 of the stored one's time. */
static void check_auto(const spw_plan *p, const char *what)
{
    ck_assert_int_eq(p->recompute_env, 1);
    for (uint32_t t = 0; t < p->n_tables; t++)
        if (p->tables[t].recompute)
            ck_assert_msg(!p->tables[t].lde_store_cheaper, "%s: table %s recomputes, priced %.4f s "
                          "against %.4f s stored", what, p->tables[t].name,
                          p->tables[t].t_lde_recompute, p->tables[t].t_lde_store);
    if (p->n_recompute) /* REC_MARGIN in src/plan.c */
        ck_assert_msg(p->t_pred_recompute < 0.8 * p->t_pred_store, "%s: recomputes at %.4f s "
                      "against %.4f s", what, p->t_pred_recompute, p->t_pred_store);
}

START_TEST(test_recompute_auto)
{
    const wl *w = &WL[2]; /* synth tiny */
    built b;
    spw_ctx *ctx = ctx_for(w, SPW_MODE_SPILLED, 16u << 20, 0, &b);
    const spw_air_def *def = spw_air_get_def(b.air);
    unsetenv("SPW_RECOMPUTE");
    spw_plan p;
    ck_assert_int_eq(spw_plan_make(ctx, &p, def, NULL), SPW_OK);
    check_auto(&p, "default disk");
    spw_plan_clear(&p);
    /* a disk of 20 MB/s: streaming the LDE costs more than its cosets */
    char path[4200];
    spw_test_write_tmp(path, sizeof path, "read_gbs=0.02\nwrite_gbs=0.02\n");
    ck_assert_msg(spw_plan_make(ctx, &p, def, path) == SPW_OK, "%s", spw_ctx_last_error(ctx));
    check_auto(&p, "slow disk");
    ck_assert_msg(p.n_recompute > 0, "a 20 MB/s disk and no table recomputed");
    uint32_t nrec = p.n_recompute;
    spw_plan_clear(&p);
    setenv("SPW_RECOMPUTE", "0", 1);
    ck_assert_int_eq(spw_plan_make(ctx, &p, def, path), SPW_OK);
    ck_assert_uint_eq(p.n_recompute, 0);
    spw_plan_clear(&p);
    unsetenv("SPW_RECOMPUTE");
    /* the slow-disk plan proves the in-memory proof's bytes */
    setenv("SPW_PROBE_FILE", path, 1);
    size_t rl, l;
    uint32_t nr, nt;
    uint8_t *ref = prove(w, SPW_MODE_RESIDENT, 0, 0, &rl, &nr, &nt);
    uint8_t *q = prove(w, SPW_MODE_SPILLED, 16u << 20, 0, &l, &nr, &nt);
    unsetenv("SPW_PROBE_FILE");
    unlink(path);
    ck_assert_uint_eq(nr, nrec);
    same(ref, rl, q, l, "slow disk, auto");
    free(ref);
    free(q);
    spw_workload_free(b.air, b.trace, b.pub);
    spw_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched_recompute");
    TCase *tc = tcase_create("recompute");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_coset_passes);
    tcase_add_loop_test(tc, test_recompute_matrix, 0, (int)(sizeof WL / sizeof WL[0]));
    tcase_add_test(tc, test_recompute_auto);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
