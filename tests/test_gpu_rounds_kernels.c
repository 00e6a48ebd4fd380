/*
 * test_gpu_rounds_kernels.c - the device kernels of the prover rounds
 * (cuda/rounds_*.cu and the building blocks of src/gpu_prover.c) element by
 * element against independent CPU references: coset evaluation against
 * spw_coset_evaluate, out-of-domain sums against a plain loop, gathers,
 * the degree check, the LogUp aux trace (any chunk size) against
 * spw_logup_build_aux, the composition values against the reference
 * interpreter spw_air_eval with the vanishing polynomials computed
 * directly, DEEP and the FRI fold against the formulas (fe3_inv,
 * spw_fri_fold). Every arena peak stays within its budget. Failure messages
 * name the table, size, column and index. Skips (77) without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#ifdef SPW_HAVE_CUDA
#include "air.h"
#include "cuda_api.h"
#include "fri.h"
#include "gpu_prover.h"
#include "logup.h"
#include "ntt.h"
#include "rounds_api.h"
#include "workloads.h"
#include <string.h>

#define BUDGET ((uint64_t)512 << 20)

static spw_cuda_arena *arena;
static spw_ctx *cpu;

static void setup(void)
{
    spw_status st = spw_cuda_arena_create(&arena, BUDGET);
    ck_assert_msg(st == SPW_OK, "arena: %s", spw_cuda_last_error());
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&cpu, &o), SPW_OK);
}

static void teardown(void)
{
    ck_assert_uint_le(spw_cuda_arena_peak(arena), BUDGET);
    spw_cuda_arena_destroy(arena);
    spw_ctx_free(cpu);
}

static void ok(spw_status st, const char *what)
{
    ck_assert_msg(st == SPW_OK, "%s: %s: %s / %s", what, spw_strerror(st), spw_cuda_last_error(),
                  spw_ctx_last_error(cpu));
}

static void *dalloc(size_t bytes)
{
    void *p = NULL;
    ok(spw_cuda_arena_alloc(arena, &p, bytes ? bytes : 8), "arena alloc");
    return p;
}

static void *dup_to_dev(const void *h, size_t bytes)
{
    void *d = dalloc(bytes);
    ok(spw_cuda_memcpy_async(d, h, bytes, NULL), "upload");
    ok(spw_cuda_stream_sync(NULL), "sync");
    return d;
}

static void to_host(void *h, const void *d, size_t bytes)
{
    ok(spw_cuda_memcpy_async(h, d, bytes, NULL), "download");
    ok(spw_cuda_stream_sync(NULL), "sync");
}

static uint64_t *rand_vals(size_t n, uint64_t seed)
{
    uint64_t *v = malloc((n ? n : 1) * 8);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) v[i] = spw_test_rand(&seed) % GL_P;
    return v;
}

static fe3 rand_fe3(uint64_t *seed)
{
    return fe3_make(spw_test_rand(seed) % GL_P, spw_test_rand(seed) % GL_P,
                    spw_test_rand(seed) % GL_P);
}

static void expect_u64(const uint64_t *got, const uint64_t *want, size_t n, const char *what,
                       size_t col_len)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            ck_abort_msg("%s: column %zu index %zu: gpu %llu cpu %llu", what, i / col_len,
                         i % col_len, (unsigned long long)got[i], (unsigned long long)want[i]);
}

/* powers + scale_pad + forward NTT = spw_coset_evaluate */
START_TEST(test_coset_eval)
{
    for (unsigned log_n = 1; log_n <= 12; log_n += 11)
        for (unsigned log_e = 1; log_e <= 3; log_e++) {
            size_t n = (size_t)1 << log_n, big = n << log_e, nc = 3;
            uint64_t *coef = rand_vals(nc * n, log_n * 10 + log_e);
            uint64_t *want = malloc(nc * big * 8), *got = malloc(nc * big * 8);
            ok(spw_coset_evaluate(cpu, want, coef, nc, log_n, log_e, GL_GENERATOR), "cpu");
            uint64_t *dc = dup_to_dev(coef, nc * n * 8), *dout = dalloc(nc * big * 8);
            uint64_t *pw = dalloc(n * 8);
            ok(spw_gpu_powers(NULL, pw, n, GL_GENERATOR), "powers");
            ok(spw_gpu_scale_pad(NULL, dout, big, dc, n, nc, n, pw), "scale_pad");
            ok(spw_cuda_ntt_forward_batch(arena, NULL, dout, nc, big, log_n + log_e), "ntt");
            to_host(got, dout, nc * big * 8);
            char what[64];
            snprintf(what, sizeof what, "coset eval log_n %u log_e %u", log_n, log_e);
            expect_u64(got, want, nc * big, what, big);
            spw_cuda_arena_free(arena, dc);
            spw_cuda_arena_free(arena, dout);
            spw_cuda_arena_free(arena, pw);
            free(coef);
            free(want);
            free(got);
        }
}
END_TEST

/* OOD sums, gathers and the degree check */
START_TEST(test_dot_gather_nonzero)
{
    uint64_t seed = 99;
    size_t sizes[3] = {8, 5000, 70000};
    for (int si = 0; si < 3; si++) {
        size_t n = sizes[si], nc = 5;
        uint64_t *cols = rand_vals(nc * n, 7 + si);
        fe3 x = rand_fe3(&seed);
        fe3 *pw = malloc(n * sizeof(fe3)), want[5], got[5];
        fe3 p = fe3_one();
        for (size_t i = 0; i < n; i++) {
            pw[i] = p;
            p = fe3_mul(p, x);
        }
        for (size_t c = 0; c < nc; c++) {
            fe3 a = fe3_zero();
            for (size_t i = 0; i < n; i++) a = fe3_add(a, fe3_mul_base(pw[i], cols[c * n + i]));
            want[c] = a;
        }
        uint64_t *dc = dup_to_dev(cols, nc * n * 8);
        fe3 *dpw = dalloc(n * sizeof(fe3));
        ok(spw_gpu_powers_ext(NULL, dpw, n, x), "powers_ext");
        fe3 *hpw = malloc(n * sizeof(fe3));
        to_host(hpw, dpw, n * sizeof(fe3));
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fe3_eq(hpw[i], pw[i]), "powers_ext n %zu index %zu", n, i);
        size_t nseg = spw_gpu_dot_segments(n);
        fe3 *dp = dalloc(nc * nseg * sizeof(fe3)), *hp = malloc(nc * nseg * sizeof(fe3));
        ok(spw_gpu_dot_host(NULL, got, dc, nc, n, n, dpw, dp, hp), "dot");
        for (size_t c = 0; c < nc; c++)
            ck_assert_msg(fe3_eq(got[c], want[c]), "dot n %zu column %zu", n, c);
        /* gather */
        size_t nq = 37;
        uint64_t idx[37], *dq, *dv, vals[37 * 5];
        for (size_t j = 0; j < nq; j++) idx[j] = spw_test_rand(&seed) % n;
        dq = dup_to_dev(idx, sizeof idx);
        dv = dalloc(sizeof vals);
        ok(spw_gpu_gather_rows(NULL, dv, dc, nc, n, dq, nq), "gather");
        to_host(vals, dv, sizeof vals);
        for (size_t j = 0; j < nq; j++)
            for (size_t c = 0; c < nc; c++)
                ck_assert_msg(vals[j * nc + c] == cols[c * n + idx[j]], "gather n %zu q %zu c %zu",
                              n, j, c);
        /* degree check: zero a tail, then poke one value */
        size_t from = n / 2;
        for (size_t c = 0; c < nc; c++) memset(cols + c * n + from, 0, (n - from) * 8);
        ok(spw_cuda_memcpy_async(dc, cols, nc * n * 8, NULL), "upload");
        uint32_t *df = dalloc(4), hf = 7;
        ok(spw_cuda_memset_async(df, 0, 4, NULL), "memset");
        ok(spw_gpu_any_nonzero(NULL, df, dc, nc, n, from, n), "any_nonzero");
        to_host(&hf, df, 4);
        ck_assert_uint_eq(hf, 0);
        uint64_t one = 1;
        ok(spw_cuda_memcpy_async(dc + 3 * n + n - 1, &one, 8, NULL), "poke");
        ok(spw_gpu_any_nonzero(NULL, df, dc, nc, n, from, n), "any_nonzero");
        to_host(&hf, df, 4);
        ck_assert_uint_eq(hf, 1);
        spw_cuda_arena_free(arena, dc);
        spw_cuda_arena_free(arena, dpw);
        spw_cuda_arena_free(arena, dp);
        spw_cuda_arena_free(arena, dq);
        spw_cuda_arena_free(arena, dv);
        spw_cuda_arena_free(arena, df);
        free(cols);
        free(pw);
        free(hpw);
        free(hp);
    }
}
END_TEST

/* ---- LogUp and composition on the tables of real workloads ---- */

typedef struct wl {
    spw_air *air;
    spw_trace *trace;
    uint64_t *publics;
    size_t n_publics;
} wl;

static void wl_build(wl *w, const char *name, unsigned log_rows)
{
    spw_workload_params p;
    ok(spw_workload_defaults(cpu, &p, name), "workload defaults");
    if (log_rows) p.log_rows = log_rows;
    char tag[SPW_WORKLOAD_TAG_MAX];
    ok(spw_workload_build(cpu, &w->air, &w->trace, &w->publics, &w->n_publics, tag, sizeof tag, &p),
       "workload build");
}

static uint64_t *read_main(const wl *w, uint32_t ti, const spw_air_table *t)
{
    size_t n = (size_t)1 << t->log_height;
    uint64_t *m = malloc(t->n_main * n * 8);
    ck_assert_ptr_nonnull(m);
    for (uint32_t c = 0; c < t->n_main; c++)
        ok(spw_trace_read(w->trace, m + c * n, ti, c, 0, n), "trace read");
    return m;
}

static void check_logup(const char *name, unsigned log_rows)
{
    wl w;
    wl_build(&w, name, log_rows);
    const spw_air_def *def = spw_air_get_def(w.air);
    uint64_t seed = 5;
    fe3 ch[8];
    for (int i = 0; i < 8; i++) ch[i] = rand_fe3(&seed);
    int tested = 0;
    for (uint32_t ti = 0; ti < def->n_tables; ti++) {
        const spw_air_table *t = &def->tables[ti];
        if (!t->n_interactions) continue;
        size_t n = (size_t)1 << t->log_height, na = 3 * (size_t)t->n_aux;
        uint64_t *m = read_main(&w, ti, t), *want = malloc(na * n * 8), *got = malloc(na * n * 8);
        fe3 ws, gsum;
        ok(spw_logup_build_aux(cpu, want, &ws, t, m, n, ch), "cpu logup");
        uint64_t *dm = dup_to_dev(m, t->n_main * n * 8), *da = dalloc(na * n * 8);
        size_t chunks[3] = {0, 100, 8192};
        for (int k = 0; k < 3; k++) {
            ok(spw_cuda_memset_async(da, 0, na * n * 8, NULL), "memset");
            ok(spw_gpu_logup_build(cpu, arena, NULL, da, &gsum, t, dm, chunks[k], ch), "gpu logup");
            to_host(got, da, na * n * 8);
            char what[96];
            snprintf(what, sizeof what, "%s table %s LogUp chunk %zu", name, t->name, chunks[k]);
            expect_u64(got, want, na * n, what, n);
            ck_assert_msg(fe3_eq(gsum, ws), "%s: L_t differs", what);
        }
        tested++;
        spw_cuda_arena_free(arena, dm);
        spw_cuda_arena_free(arena, da);
        free(m);
        free(want);
        free(got);
    }
    ck_assert_int_gt(tested, 0);
    spw_workload_free(w.air, w.trace, w.publics);
}

START_TEST(test_logup_vm) { check_logup("vm", 11); }
END_TEST
START_TEST(test_logup_synth) { check_logup("synth", 0); }
END_TEST

/* Reference composition value at point r of the coset g <w_NE>:
 * spw_air_eval per row, vanishing polynomials computed directly. */
static fe3 comp_ref(const spw_air_table *t, const uint64_t *main, const uint64_t *aux, size_t NE,
                    size_t E, size_t r, const fe3 *ch, const uint64_t *pub, fe3 lsum,
                    const fe3 *lpow, fe3 *scratch, uint64_t *mc, fe3 *ac)
{
    size_t nm = t->n_main, na = t->n_aux, rn = (r + E) % NE, n = NE / E;
    for (size_t c = 0; c < nm; c++) {
        mc[c] = main[c * NE + r];
        mc[nm + c] = main[c * NE + rn];
    }
    for (size_t c = 0; c < na; c++) {
        const uint64_t *col = aux + 3 * c * NE;
        ac[c] = fe3_make(col[r], col[NE + r], col[2 * NE + r]);
        ac[na + c] = fe3_make(col[rn], col[NE + rn], col[2 * NE + rn]);
    }
    spw_eval_env env = {mc, mc + nm, na ? ac : NULL, na ? ac + na : NULL, ch, pub, lsum};
    spw_air_eval(t, &env, scratch);
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(spw_log2(NE)), r));
    uint64_t zn = gl_sub(gl_pow(x, n), 1);
    uint64_t wlast = gl_inv(gl_root_of_unity(spw_log2(n)));
    fe3 v = fe3_zero();
    for (uint32_t q = 0; q < t->n_constraints; q++) {
        fe3 c = fe3_mul(lpow[q], scratch[t->constraints[q].root]);
        uint64_t f;
        switch (t->constraints[q].kind) {
        case SPW_CONSTRAINT_TRANSITION: f = gl_mul(gl_sub(x, wlast), gl_inv(zn)); break;
        case SPW_CONSTRAINT_FIRST: f = gl_inv(gl_sub(x, 1)); break;
        case SPW_CONSTRAINT_LAST: f = gl_inv(gl_sub(x, wlast)); break;
        default: f = gl_inv(zn); break;
        }
        v = fe3_add(v, fe3_mul_base(c, f));
    }
    return v;
}

static void check_comp(const char *name, unsigned log_rows, unsigned log_e)
{
    wl w;
    wl_build(&w, name, log_rows);
    const spw_air_def *def = spw_air_get_def(w.air);
    uint64_t seed = 77;
    uint32_t n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    fe3 *ch = malloc(n_ch * sizeof(fe3));
    for (uint32_t i = 0; i < n_ch; i++) ch[i] = rand_fe3(&seed);
    uint64_t *pub = rand_vals(def->n_publics + 1, 3);
    fe3 *dch = dup_to_dev(ch, n_ch * sizeof(fe3));
    uint64_t *dpub = dup_to_dev(pub, (def->n_publics + 1) * 8);
    for (uint32_t ti = 0; ti < def->n_tables; ti++) {
        const spw_air_table *t = &def->tables[ti];
        size_t n = (size_t)1 << t->log_height, E = (size_t)1 << log_e, NE = n * E;
        size_t nm = t->n_main, na = 3 * (size_t)t->n_aux;
        /* random values: the combination need not vanish for the comparison */
        uint64_t *main = rand_vals(nm * NE, 100 + ti), *aux = rand_vals(na * NE + 1, 200 + ti);
        fe3 lambda = rand_fe3(&seed), lsum = rand_fe3(&seed);
        fe3 *lpow = malloc((t->n_constraints + 1) * sizeof(fe3)), l = fe3_one();
        for (uint32_t q = 0; q < t->n_constraints; q++) {
            lpow[q] = l;
            l = fe3_mul(l, lambda);
        }
        uint64_t *dm = dup_to_dev(main, nm * NE * 8), *da = na ? dup_to_dev(aux, na * NE * 8) : NULL;
        uint64_t *dq = dalloc(3 * NE * 8), *got = malloc(3 * NE * 8);
        ok(spw_gpu_composition_values(cpu, arena, NULL, dq, t, dm, da, log_e, dch, dpub, lsum, lambda),
           "gpu composition");
        to_host(got, dq, 3 * NE * 8);
        fe3 *scratch = malloc((t->prog_len + 1) * sizeof(fe3));
        uint64_t *mc = malloc((2 * nm + 1) * 8);
        fe3 *ac = malloc((2 * t->n_aux + 1) * sizeof(fe3));
        for (size_t r = 0; r < NE; r++) {
            fe3 want = comp_ref(t, main, aux, NE, E, r, ch, pub, lsum, lpow, scratch, mc, ac);
            fe3 g = fe3_make(got[r], got[NE + r], got[2 * NE + r]);
            if (!fe3_eq(g, want))
                ck_abort_msg("%s table %s composition (NE %zu, E %zu): point %zu differs", name,
                             t->name, NE, E, r);
        }
        spw_cuda_arena_free(arena, dm);
        spw_cuda_arena_free(arena, da);
        spw_cuda_arena_free(arena, dq);
        free(main);
        free(aux);
        free(lpow);
        free(got);
        free(scratch);
        free(mc);
        free(ac);
    }
    spw_cuda_arena_free(arena, dch);
    spw_cuda_arena_free(arena, dpub);
    free(ch);
    free(pub);
    spw_workload_free(w.air, w.trace, w.publics);
}

START_TEST(test_comp_vm) { check_comp("vm", 10, 2); }
END_TEST
START_TEST(test_comp_fib) { check_comp("fib", 9, 1); check_comp("fib", 9, 3); }
END_TEST
START_TEST(test_comp_synth) { check_comp("synth", 0, 2); }
END_TEST

/* ---- DEEP and FRI ---- */

static size_t leaf_at(size_t k, size_t h, int j) { return (k >= h ? 3 + j : j) * h + (k & (h - 1)); }

START_TEST(test_deep)
{
    uint64_t seed = 11;
    unsigned log_N = 12;
    size_t N = (size_t)1 << log_N, nm = 7, na = 6, nc = 6;
    uint64_t *m = rand_vals(nm * N, 1), *a = rand_vals(na * N, 2), *c = rand_vals(nc * N, 3);
    fe3 g[40];
    for (int i = 0; i < 40; i++) g[i] = rand_fe3(&seed);
    fe3 v1 = rand_fe3(&seed), v2 = rand_fe3(&seed), zeta = rand_fe3(&seed), zw = rand_fe3(&seed);
    uint64_t *dm = dup_to_dev(m, nm * N * 8), *da = dup_to_dev(a, na * N * 8),
             *dc = dup_to_dev(c, nc * N * 8);
    fe3 *dg = dup_to_dev(g, sizeof g);
    uint64_t *out = dalloc(3 * N * 8), *got = malloc(3 * N * 8);
    uint64_t *base = rand_vals(3 * N, 4);
    ok(spw_cuda_memcpy_async(out, base, 3 * N * 8, NULL), "upload");
    spw_gpu_deep_args args = {dm, da, dc, nm, na, nc, dg, dg + 20, v1, v2, zeta, zw, log_N, 1, out};
    ok(spw_gpu_deep(NULL, &args), "deep");
    to_host(got, out, 3 * N * 8);
    uint64_t w = gl_root_of_unity(log_N);
    for (size_t r = 0; r < N; r++) {
        uint64_t x = gl_mul(GL_GENERATOR, gl_pow(w, r));
        fe3 s1 = fe3_zero(), s2 = fe3_zero();
        for (size_t k = 0; k < nm; k++) {
            s1 = fe3_add(s1, fe3_mul_base(g[k], m[k * N + r]));
            s2 = fe3_add(s2, fe3_mul_base(g[20 + k], m[k * N + r]));
        }
        for (size_t k = 0; k < na; k++) {
            s1 = fe3_add(s1, fe3_mul_base(g[nm + k], a[k * N + r]));
            s2 = fe3_add(s2, fe3_mul_base(g[20 + nm + k], a[k * N + r]));
        }
        for (size_t k = 0; k < nc; k++) s1 = fe3_add(s1, fe3_mul_base(g[nm + na + k], c[k * N + r]));
        fe3 q = fe3_add(fe3_mul(fe3_sub(s1, v1), fe3_inv(fe3_sub(fe3_from_base(x), zeta))),
                        fe3_mul(fe3_sub(s2, v2), fe3_inv(fe3_sub(fe3_from_base(x), zw))));
        for (int j = 0; j < 3; j++) {
            size_t o = leaf_at(r, N / 2, j);
            ck_assert_msg(got[o] == gl_add(base[o], q.c[j]), "DEEP point %zu coefficient %d", r, j);
        }
    }
    spw_cuda_arena_free(arena, dm);
    spw_cuda_arena_free(arena, da);
    spw_cuda_arena_free(arena, dc);
    spw_cuda_arena_free(arena, dg);
    spw_cuda_arena_free(arena, out);
    free(m);
    free(a);
    free(c);
    free(got);
    free(base);
}
END_TEST

START_TEST(test_fri_fold)
{
    uint64_t seed = 12;
    for (unsigned log_n = 2; log_n <= 14; log_n += 4) {
        size_t N = (size_t)1 << log_n, h = N / 2;
        fe3 *f = malloc(N * sizeof(fe3)), *ro = malloc(h * sizeof(fe3));
        uint64_t *lay = malloc(3 * N * 8), *rl = malloc(3 * h * 8), *got = malloc(3 * h * 8);
        for (size_t k = 0; k < N; k++) {
            f[k] = rand_fe3(&seed);
            for (int j = 0; j < 3; j++) lay[leaf_at(k, h, j)] = f[k].c[j];
        }
        for (size_t k = 0; k < h; k++) {
            ro[k] = rand_fe3(&seed);
            for (int j = 0; j < 3; j++) rl[leaf_at(k, h / 2 ? h / 2 : 1, j)] = ro[k].c[j];
        }
        fe3 beta = rand_fe3(&seed);
        uint64_t s = gl_pow(GL_GENERATOR, 1u << (log_n & 3));
        uint64_t *din = dup_to_dev(lay, 3 * N * 8), *dr = dup_to_dev(rl, 3 * h * 8);
        uint64_t *dout = dalloc(3 * h * 8);
        for (int with = 0; with < 2; with++) {
            ok(spw_gpu_fri_fold(NULL, dout, din, log_n, beta, with ? dr : NULL, gl_inv(s)), "fold");
            to_host(got, dout, 3 * h * 8);
            uint64_t winv = gl_inv(gl_root_of_unity(log_n));
            for (size_t k = 0; k < h; k++) {
                fe3 v = spw_fri_fold(f[k], f[k + h], beta, gl_mul(gl_inv(s), gl_pow(winv, k)));
                if (with) v = fe3_add(v, fe3_mul(fe3_sqr(beta), ro[k]));
                for (int j = 0; j < 3; j++)
                    ck_assert_msg(got[leaf_at(k, h / 2 ? h / 2 : 1, j)] == v.c[j],
                                  "fold log_n %u rollin %d index %zu", log_n, with, k);
            }
        }
        spw_cuda_arena_free(arena, din);
        spw_cuda_arena_free(arena, dr);
        spw_cuda_arena_free(arena, dout);
        free(f);
        free(ro);
        free(lay);
        free(rl);
        free(got);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_rounds_kernels");
    TCase *tc = tcase_create("kernels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_coset_eval);
    tcase_add_test(tc, test_dot_gather_nonzero);
    tcase_add_test(tc, test_logup_vm);
    tcase_add_test(tc, test_logup_synth);
    tcase_add_test(tc, test_comp_fib);
    tcase_add_test(tc, test_comp_vm);
    tcase_add_test(tc, test_comp_synth);
    tcase_add_test(tc, test_deep);
    tcase_add_test(tc, test_fri_fold);
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
