/*
 * test_gpu_rounds_kernels.c - the device kernels of the prover rounds
 * (cuda/rounds_*.cu and the building blocks of src/gpu_prover.c) element by
 * element against independent CPU references: coset evaluation against
 * spw_coset_evaluate, out-of-domain sums against a plain loop, gathers,
 * the degree check, the LogUp aux trace (any chunk size) against
 * spw_logup_build_aux, the composition values against the reference
 * interpreter spw_air_eval with the vanishing polynomials computed
 * directly, DEEP and the FRI fold against the formulas (fe3_inv,
 * spw_fri_fold); the row-chunk modes of composition and DEEP (the streaming
 * tier) against the whole-domain kernels and the same references; the
 * streaming tier's FRI layer conversions (rounds_fri.h) by chunks against
 * the layout's definition, whose rows hash to spw_fri_leaf. Every arena
 * peak stays within its budget. Failure messages
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
#include "merkle.h"
#include "rounds_api.h"
#include "rounds_fri.h"
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

/* The device program in its plainest form for the chunk tests (built here,
 * not by src/gpu_prover.c): every value handled as ext3 (all ext flags set,
 * so no base-arithmetic shortcut), the scratch slots of the block
 * interpreter's plan (dead instructions skipped). Returns the length. */
static uint32_t plain_program(const spw_air_table *t, spw_gpu_insn *prog, spw_gpu_cons *cons,
                              uint32_t *n_slots)
{
    const uint32_t *slot = t->eval_slot;
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        uint32_t si = slot ? slot[i] : i;
        if (si == UINT32_MAX) continue;
        spw_gpu_insn d = {in->op, 7, si, 0, 0, 0, in->k};
        if (in->op >= SPW_OP_ADD) {
            d.a = slot ? slot[in->a] : in->a;
            d.b = in->op == SPW_OP_NEG ? d.a : (slot ? slot[in->b] : in->b);
        }
        prog[n++] = d;
    }
    for (uint32_t q = 0; q < t->n_constraints; q++) {
        uint32_t r = t->constraints[q].root;
        cons[q].slot = slot ? slot[r] : r;
        cons[q].kind = (uint32_t)(t->constraints[q].kind & 3) | 4;
    }
    *n_slots = slot ? t->n_eval_slots : t->prog_len;
    return n;
}

/* Row-chunk mode of spw_gpu_comp_eval: chunks of 100 rows, NE/4 rows and
 * the whole domain (the last chunk shorter when the size does not divide
 * NE), each chunk's columns holding rows r0 .. r0+rows+E-1 mod NE (the halo
 * as src/sched/stream.c reads it) with a stride above rows + E, against the
 * whole-domain device values `whole` (3 columns of NE) and the reference
 * `want`. */
static void check_comp_chunks(const char *name, const spw_air_table *t, const uint64_t *main,
                              const uint64_t *aux, size_t NE, size_t E, const uint64_t *whole,
                              const fe3 *want, const fe3 *dch, const uint64_t *dpub, fe3 lsum,
                              const fe3 *lpow)
{
    size_t n = NE / E, nm = t->n_main, na = 3 * (size_t)t->n_aux;
    spw_gpu_insn *prog = malloc((t->prog_len + 1) * sizeof *prog);
    spw_gpu_cons *cons = malloc((t->n_constraints + 1) * sizeof *cons);
    uint64_t *izn = malloc(E * 8);
    ck_assert(prog && cons && izn);
    uint32_t nslots, plen = plain_program(t, prog, cons, &nslots);
    uint64_t w_ne = gl_root_of_unity(spw_log2(NE)), w_last = gl_inv(gl_root_of_unity(spw_log2(n)));
    for (size_t k = 0; k < E; k++) /* 1/(x^n - 1) at x = g w_NE^k, directly */
        izn[k] = gl_inv(gl_sub(gl_pow(gl_mul(GL_GENERATOR, gl_pow(w_ne, k)), n), 1));
    spw_gpu_insn *dprog = dup_to_dev(prog, (plen + 1) * sizeof *prog);
    spw_gpu_cons *dcons = dup_to_dev(cons, (t->n_constraints + 1) * sizeof *cons);
    fe3 *dlpow = dup_to_dev(lpow, (t->n_constraints + 1) * sizeof(fe3));
    uint64_t *dizn = dup_to_dev(izn, E * 8);
    size_t sizes[3] = {100, NE / 4 ? NE / 4 : 1, NE};
    for (int k = 0; k < 3; k++) {
        size_t R = sizes[k] < NE ? sizes[k] : NE, W = R + E + 3, OS = R + 5;
        uint64_t *mb = malloc((nm * W + 1) * 8), *ab = malloc((na * W + 1) * 8);
        uint64_t *got = malloc(3 * OS * 8);
        ck_assert(mb && ab && got);
        for (size_t i = 0; i < nm * W; i++) mb[i] = GL_P - 1; /* the padding: any value */
        for (size_t i = 0; i < na * W; i++) ab[i] = GL_P - 1;
        /* k == 1: 128 threads, so each one walks several points of a chunk */
        size_t tmax = k == 1 ? 128 : spw_gpu_comp_threads(R, nslots, (uint64_t)64 << 20);
        uint64_t *dmb = dalloc(nm * W * 8), *dab = dalloc(na * W * 8), *dout = dalloc(3 * OS * 8);
        uint64_t *scr = dalloc((size_t)(nslots ? nslots : 1) * 3 * 8 * tmax);
        uint64_t launches = spw_cuda_kernel_launches(), chunks = 0;
        for (size_t r0 = 0; r0 < NE; r0 += R, chunks++) {
            size_t rows = NE - r0 < R ? NE - r0 : R;
            for (size_t i = 0; i < rows + E; i++) {
                size_t g = (r0 + i) % NE;
                for (size_t c = 0; c < nm; c++) mb[c * W + i] = main[c * NE + g];
                for (size_t c = 0; c < na; c++) ab[c * W + i] = aux[c * NE + g];
            }
            ok(spw_cuda_memcpy_async(dmb, mb, nm * W * 8, NULL), "upload chunk");
            if (na) ok(spw_cuda_memcpy_async(dab, ab, na * W * 8, NULL), "upload chunk");
            ok(spw_cuda_memset_async(dout, 0, 3 * OS * 8, NULL), "memset");
            size_t th = k == 1 ? 128 : spw_gpu_comp_threads(rows, nslots, (uint64_t)64 << 20);
            spw_gpu_comp_args ca = {dprog, plen, nslots, dcons, t->n_constraints, dlpow, dch, dpub,
                                    lsum, dmb, na ? dab : NULL, NE, E, dizn, w_ne, w_last, dout,
                                    r0, rows, W, OS, 0};
            ok(spw_gpu_comp_eval(NULL, &ca, scr, th), "comp chunk");
            to_host(got, dout, 3 * OS * 8);
            for (size_t i = 0; i < rows; i++) {
                size_t r = r0 + i;
                fe3 g = fe3_make(got[i], got[OS + i], got[2 * OS + i]);
                fe3 wh = fe3_make(whole[r], whole[NE + r], whole[2 * NE + r]);
                if (!fe3_eq(g, want[r]) || !fe3_eq(g, wh))
                    ck_abort_msg("%s table %s composition chunk of %zu (NE %zu, E %zu): row %zu "
                                 "(chunk at %zu) differs from the %s", name, t->name, R, NE, E, r,
                                 r0, fe3_eq(g, wh) ? "reference" : "whole-domain kernel");
            }
        }
        ck_assert_uint_ge(spw_cuda_kernel_launches() - launches, chunks);
        /* a chunk past the end of the domain or with too small strides */
        spw_gpu_comp_args bad = {dprog, plen, nslots, dcons, t->n_constraints, dlpow, dch, dpub,
                                 lsum, dmb, na ? dab : NULL, NE, E, dizn, w_ne, w_last, dout,
                                 NE - R + 1, R, W, OS, 0};
        ck_assert_int_eq(spw_gpu_comp_eval(NULL, &bad, scr, tmax), SPW_ERR_INVALID_ARG);
        bad.row0 = 0;
        bad.stride = R + E - 1;
        ck_assert_int_eq(spw_gpu_comp_eval(NULL, &bad, scr, tmax), SPW_ERR_INVALID_ARG);
        bad.stride = W;
        bad.out_stride = R - 1;
        ck_assert_int_eq(spw_gpu_comp_eval(NULL, &bad, scr, tmax), SPW_ERR_INVALID_ARG);
        spw_cuda_arena_free(arena, dmb);
        spw_cuda_arena_free(arena, dab);
        spw_cuda_arena_free(arena, dout);
        spw_cuda_arena_free(arena, scr);
        free(mb);
        free(ab);
        free(got);
    }
    spw_cuda_arena_free(arena, dprog);
    spw_cuda_arena_free(arena, dcons);
    spw_cuda_arena_free(arena, dlpow);
    spw_cuda_arena_free(arena, dizn);
    free(prog);
    free(cons);
    free(izn);
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
        fe3 *want = malloc(NE * sizeof(fe3));
        ck_assert_ptr_nonnull(want);
        for (size_t r = 0; r < NE; r++) {
            want[r] = comp_ref(t, main, aux, NE, E, r, ch, pub, lsum, lpow, scratch, mc, ac);
            fe3 g = fe3_make(got[r], got[NE + r], got[2 * NE + r]);
            if (!fe3_eq(g, want[r]))
                ck_abort_msg("%s table %s composition (NE %zu, E %zu): point %zu differs", name,
                             t->name, NE, E, r);
        }
        check_comp_chunks(name, t, main, aux, NE, E, got, want, dch, dpub, lsum, lpow);
        free(want);
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

/* The DEEP quotient at point r of g <w_N> by the formula, with fe3_inv:
 * columns of N values, g[0..19] weighting f(x) - v1 over x - zeta and
 * g[20..] weighting main and aux for x - zeta w. */
static fe3 deep_ref(const uint64_t *m, const uint64_t *a, const uint64_t *c, size_t nm, size_t na,
                    size_t nc, size_t N, size_t r, const fe3 *g, fe3 v1, fe3 v2, fe3 zeta, fe3 zw)
{
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(gl_root_of_unity(spw_log2(N)), r));
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
    return fe3_add(fe3_mul(fe3_sub(s1, v1), fe3_inv(fe3_sub(fe3_from_base(x), zeta))),
                   fe3_mul(fe3_sub(s2, v2), fe3_inv(fe3_sub(fe3_from_base(x), zw))));
}

/* The whole LDE (accumulate, then store mode: leaf layout), then the
 * row-chunk mode (the streaming tier): chunks of 100 rows, N/4 and N,
 * columns with a stride above the chunk, out_fe3 stored and accumulated,
 * against the whole-LDE kernel and the formula. */
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
    uint64_t *out = dalloc(3 * N * 8), *got = malloc(3 * N * 8), *leaf = malloc(3 * N * 8);
    uint64_t *base = rand_vals(3 * N, 4);
    fe3 *want = malloc(N * sizeof(fe3));
    ok(spw_cuda_memcpy_async(out, base, 3 * N * 8, NULL), "upload");
    spw_gpu_deep_args args = {dm, da, dc, nm, na, nc, dg, dg + 20, v1, v2, zeta, zw, log_N, 1, out,
                              0, 0, 0, NULL, 0};
    ok(spw_gpu_deep(NULL, &args), "deep");
    to_host(got, out, 3 * N * 8);
    args.accumulate = 0;
    ok(spw_gpu_deep(NULL, &args), "deep");
    to_host(leaf, out, 3 * N * 8);
    for (size_t r = 0; r < N; r++) {
        want[r] = deep_ref(m, a, c, nm, na, nc, N, r, g, v1, v2, zeta, zw);
        for (int j = 0; j < 3; j++) {
            size_t o = leaf_at(r, N / 2, j);
            ck_assert_msg(got[o] == gl_add(base[o], want[r].c[j]), "DEEP point %zu coefficient %d",
                          r, j);
            ck_assert_msg(leaf[o] == want[r].c[j], "DEEP (store) point %zu coefficient %d", r, j);
        }
    }
    size_t sizes[3] = {100, N / 4, N};
    for (int k = 0; k < 3; k++) {
        size_t R = sizes[k], S = R + 7;
        uint64_t *hb = malloc((nm + na + nc) * S * 8);
        fe3 *gc = malloc(R * sizeof(fe3)), *bc = malloc(R * sizeof(fe3));
        ck_assert(hb && gc && bc);
        for (size_t i = 0; i < (nm + na + nc) * S; i++) hb[i] = GL_P - 1; /* padding */
        uint64_t *db = dalloc((nm + na + nc) * S * 8);
        fe3 *dout = dalloc(R * sizeof(fe3));
        uint64_t launches = spw_cuda_kernel_launches(), chunks = 0;
        for (size_t r0 = 0; r0 < N; r0 += R, chunks++) {
            size_t rows = N - r0 < R ? N - r0 : R;
            for (size_t i = 0; i < rows; i++) {
                for (size_t q = 0; q < nm; q++) hb[q * S + i] = m[q * N + r0 + i];
                for (size_t q = 0; q < na; q++) hb[(nm + q) * S + i] = a[q * N + r0 + i];
                for (size_t q = 0; q < nc; q++) hb[(nm + na + q) * S + i] = c[q * N + r0 + i];
            }
            ok(spw_cuda_memcpy_async(db, hb, (nm + na + nc) * S * 8, NULL), "upload chunk");
            spw_gpu_deep_args ca = {db, db + nm * S, db + (nm + na) * S, nm, na, nc, dg, dg + 20,
                                    v1, v2, zeta, zw, log_N, 0, NULL, r0, rows, S, dout, 0};
            for (int acc = 0; acc < 2; acc++) {
                if (acc) {
                    for (size_t i = 0; i < rows; i++) bc[i] = rand_fe3(&seed);
                    ok(spw_cuda_memcpy_async(dout, bc, rows * sizeof(fe3), NULL), "upload");
                }
                ca.accumulate = acc;
                ok(spw_gpu_deep(NULL, &ca), "deep chunk");
                to_host(gc, dout, rows * sizeof(fe3));
                for (size_t i = 0; i < rows; i++) {
                    size_t r = r0 + i;
                    fe3 lv = fe3_make(leaf[leaf_at(r, N / 2, 0)], leaf[leaf_at(r, N / 2, 1)],
                                      leaf[leaf_at(r, N / 2, 2)]);
                    fe3 w = acc ? fe3_add(bc[i], want[r]) : want[r];
                    fe3 gv = acc ? fe3_sub(gc[i], bc[i]) : gc[i];
                    if (!fe3_eq(gc[i], w) || !fe3_eq(gv, lv))
                        ck_abort_msg("DEEP chunk of %zu (at %zu, %s): row %zu differs from the %s",
                                     R, r0, acc ? "accumulate" : "store", r,
                                     fe3_eq(gc[i], w) ? "whole-LDE kernel" : "formula");
                }
            }
        }
        ck_assert_uint_ge(spw_cuda_kernel_launches() - launches, 2 * chunks);
        /* a chunk past the end, a stride below the chunk, no output */
        spw_gpu_deep_args bad = {db, db, db, nm, na, nc, dg, dg + 20, v1, v2, zeta, zw, log_N, 0,
                                 NULL, N - R + 1, R, S, dout, 0};
        ck_assert_int_eq(spw_gpu_deep(NULL, &bad), SPW_ERR_INVALID_ARG);
        bad.row0 = 0;
        bad.stride = R - 1;
        ck_assert_int_eq(spw_gpu_deep(NULL, &bad), SPW_ERR_INVALID_ARG);
        bad.stride = S;
        bad.out_fe3 = NULL;
        ck_assert_int_eq(spw_gpu_deep(NULL, &bad), SPW_ERR_INVALID_ARG);
        spw_cuda_arena_free(arena, db);
        spw_cuda_arena_free(arena, dout);
        free(hb);
        free(gc);
        free(bc);
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
    free(leaf);
    free(base);
    free(want);
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

/* Natural-order fe3 arrays <-> leaf layout by chunks of C values (C not
 * dividing N included), against the definition of the layout: column j
 * holds coefficient j of f[k], column 3 + j that of f[k + h], k < h; row k
 * of the 6 columns hashes (CPU Merkle leaves) to spw_fri_leaf(f[k], f[k+h]). */
START_TEST(test_fri_layout)
{
    uint64_t seed = 77;
    static const unsigned logs[] = {1, 2, 5, 11};
    for (size_t li = 0; li < sizeof logs / sizeof logs[0]; li++) {
        size_t N = (size_t)1 << logs[li], h = N / 2;
        uint64_t *f = malloc(3 * N * 8), *ref = malloc(3 * N * 8), *got = malloc(3 * N * 8);
        ck_assert(f && ref && got);
        for (size_t e = 0; e < 3 * N; e++) f[e] = spw_test_rand(&seed) % GL_P;
        for (size_t k = 0; k < h; k++)
            for (int j = 0; j < 3; j++) {
                ref[j * h + k] = f[3 * k + j];
                ref[(3 + j) * h + k] = f[3 * (k + h) + j];
            }
        spw_digest *lv = malloc(h * sizeof *lv);
        ok(spw_merkle_leaves(cpu, lv, ref, 6, h, h), "CPU leaves");
        for (size_t k = 0; k < h; k++) {
            spw_digest w;
            spw_fri_leaf(&w, fe3_make(f[3 * k], f[3 * k + 1], f[3 * k + 2]),
                         fe3_make(f[3 * (k + h)], f[3 * (k + h) + 1], f[3 * (k + h) + 2]));
            ck_assert_msg(!memcmp(w.b, lv[k].b, 32), "leaf layout N %zu: row %zu is not FRI leaf %zu",
                          N, k, k);
        }
        free(lv);
        uint64_t *daos = dup_to_dev(f, 3 * N * 8), *dleaf = dalloc(3 * N * 8);
        uint64_t *dback = dalloc(3 * N * 8);
        size_t Cs[3] = {1, 3, N};
        for (int ci = 0; ci < 3; ci++) {
            size_t C = Cs[ci];
            ok(spw_cuda_memset_async(dleaf, 0xff, 3 * N * 8, NULL), "memset");
            ok(spw_cuda_memset_async(dback, 0xff, 3 * N * 8, NULL), "memset");
            for (size_t k0 = 0; k0 < N; k0 += C) {
                size_t n = N - k0 < C ? N - k0 : C;
                ok(spw_gpu_fe3_to_leaf(NULL, dleaf, h, daos + 3 * k0, k0, n), "fe3_to_leaf");
            }
            to_host(got, dleaf, 3 * N * 8);
            for (size_t e = 0; e < 3 * N; e++)
                ck_assert_msg(got[e] == ref[e], "fe3_to_leaf N %zu chunk %zu: column %zu row %zu",
                              N, C, e / h, e % h);
            for (size_t k0 = 0; k0 < N; k0 += C) {
                size_t n = N - k0 < C ? N - k0 : C;
                ok(spw_gpu_leaf_to_fe3(NULL, dback + 3 * k0, dleaf, h, k0, n), "leaf_to_fe3");
            }
            to_host(got, dback, 3 * N * 8);
            for (size_t e = 0; e < 3 * N; e++)
                ck_assert_msg(got[e] == f[e], "leaf_to_fe3 N %zu chunk %zu: value %zu coefficient %zu",
                              N, C, e / 3, e % 3);
        }
        /* out of the layer, or h not a power of two: refused */
        ck_assert_int_eq(spw_gpu_fe3_to_leaf(NULL, dleaf, h, daos, 1, N), SPW_ERR_INVALID_ARG);
        ck_assert_int_eq(spw_gpu_leaf_to_fe3(NULL, dback, dleaf, 3, 0, 1), SPW_ERR_INVALID_ARG);
        spw_cuda_arena_free(arena, daos);
        spw_cuda_arena_free(arena, dleaf);
        spw_cuda_arena_free(arena, dback);
        free(f);
        free(ref);
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
    tcase_add_test(tc, test_fri_layout);
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
