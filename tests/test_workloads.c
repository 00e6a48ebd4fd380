/*
 * test_workloads.c - the example workloads (fib, vm, synth): every generated
 * trace satisfies every constraint on every row and balances every bus
 * (checked by an evaluator written here, independent of the prover, and by
 * the air layer's own checkers), producers are deterministic and give the
 * same values whatever the chunking, tags round-trip, and the fib and vm
 * outputs match plain C re-implementations of what they compute.
 */
#include "check_util.h"
#include "workloads.h"
#include "air.h"
#include "logup.h"

#include <pthread.h>
#include <string.h>

/* For hot loops: Check records every passing ck_assert as a message to the
 * parent, which is slow and, by the million, overflows its message parser. */
#define REQUIRE(cond, ...)                       \
    do {                                         \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);  \
    } while (0)

/* ---- a loaded workload ------------------------------------------------- */

typedef struct wl {
    spw_ctx *ctx;
    spw_air *air;
    spw_trace *tr;
    uint64_t *pub;
    size_t npub;
    char tag[SPW_WORKLOAD_TAG_MAX];
    const spw_air_def *def;
    uint64_t **cols; /* per table: n_main * height values, column-major */
} wl;

static void wl_open(wl *w, const char *name, unsigned log_rows, const char *preset, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    ck_assert_int_eq(spw_ctx_create(&w->ctx, NULL), SPW_OK);
    spw_workload_params p = {name, log_rows, preset, seed};
    spw_status s = spw_workload_build(w->ctx, &w->air, &w->tr, &w->pub, &w->npub, w->tag,
                                      sizeof w->tag, &p);
    ck_assert_msg(s == SPW_OK, "build %s log_rows=%u preset=%s: %s", name, log_rows,
                  preset ? preset : "-", spw_ctx_last_error(w->ctx));
    w->def = spw_air_get_def(w->air);
    ck_assert_ptr_nonnull(w->def);
}

static uint64_t height(const wl *w, uint32_t t) { return 1ull << w->def->tables[t].log_height; }

static void wl_load(wl *w)
{
    w->cols = calloc(w->def->n_tables, sizeof *w->cols);
    ck_assert_ptr_nonnull(w->cols);
    for (uint32_t t = 0; t < w->def->n_tables; t++) {
        uint64_t h = height(w, t);
        uint32_t nc = w->def->tables[t].n_main;
        w->cols[t] = malloc(h * nc * sizeof(uint64_t));
        ck_assert_ptr_nonnull(w->cols[t]);
        for (uint32_t c = 0; c < nc; c++) {
            spw_status s = spw_trace_read(w->tr, w->cols[t] + c * h, t, c, 0, h);
            REQUIRE(s == SPW_OK, "%s: read table %u col %u: %s", w->tag, t, c,
                          spw_ctx_last_error(w->ctx));
        }
    }
}

static void wl_close(wl *w)
{
    if (w->cols)
        for (uint32_t t = 0; t < w->def->n_tables; t++) free(w->cols[t]);
    free(w->cols);
    spw_workload_free(w->air, w->tr, w->pub);
    spw_ctx_free(w->ctx);
    memset(w, 0, sizeof *w);
}

/* ---- independent checker: base-field evaluation of the programs -------- */

/* Evaluates t's program on `row` over base-field values. Returns 0 when the
 * program uses something other than main columns, constants and publics
 * (only LogUp's own constraints do; they are skipped). */
static void eval_row(const spw_air_table *t, const uint64_t *cols, uint64_t h, uint64_t row,
                     const uint64_t *pub, uint64_t *v, uint8_t *ok)
{
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        ok[i] = 1;
        switch (in->op) {
        case SPW_OP_CONST: v[i] = in->k; break;
        case SPW_OP_MAIN: v[i] = cols[in->k * h + row]; break;
        case SPW_OP_MAIN_NEXT: v[i] = cols[in->k * h + (row + 1) % h]; break;
        case SPW_OP_PUBLIC: v[i] = pub[in->k]; break;
        case SPW_OP_ADD: v[i] = gl_add(v[in->a], v[in->b]); ok[i] = ok[in->a] & ok[in->b]; break;
        case SPW_OP_SUB: v[i] = gl_sub(v[in->a], v[in->b]); ok[i] = ok[in->a] & ok[in->b]; break;
        case SPW_OP_MUL: v[i] = gl_mul(v[in->a], v[in->b]); ok[i] = ok[in->a] & ok[in->b]; break;
        case SPW_OP_NEG: v[i] = gl_neg(v[in->a]); ok[i] = ok[in->a]; break;
        default: v[i] = 0; ok[i] = 0; break;
        }
    }
}

#define NCHAL 2
/* Result of a check: empty msg = all good. */
typedef struct check_res {
    char msg[256];
    int constraint_fail, bus_fail;
} check_res;

/* Every user constraint on every row it applies to; every bus balances
 * (sum over all tables of +-m / (z - (bus + sum alpha^(k+1) v_k)) = 0 for
 * NCHAL random base-field (z, alpha) pairs). */
static check_res check_all(const wl *w, uint64_t **cols)
{
    check_res r;
    memset(&r, 0, sizeof r);
    uint64_t rs = 12345, z[NCHAL], al[NCHAL], sum[NCHAL][256];
    uint32_t buses[256], nbus = 0;
    memset(sum, 0, sizeof sum);
    for (int k = 0; k < NCHAL; k++) {
        z[k] = spw_test_rand(&rs) % GL_P;
        al[k] = spw_test_rand(&rs) % GL_P;
    }
    for (uint32_t ti = 0; ti < w->def->n_tables; ti++) {
        const spw_air_table *t = &w->def->tables[ti];
        uint64_t h = height(w, ti);
        uint64_t *v = malloc(t->prog_len * sizeof *v);
        uint8_t *ok = malloc(t->prog_len);
        ck_assert(v && ok);
        for (uint64_t row = 0; row < h; row++) {
            eval_row(t, cols[ti], h, row, w->pub, v, ok);
            for (uint32_t c = 0; c < t->n_constraints; c++) {
                const spw_constraint *cn = &t->constraints[c];
                if (cn->is_logup) continue;
                REQUIRE(ok[cn->root], "table %s constraint %u uses challenges", t->name, c);
                int applies = cn->kind == SPW_CONSTRAINT_EVERY ||
                              (cn->kind == SPW_CONSTRAINT_TRANSITION && row + 1 < h) ||
                              (cn->kind == SPW_CONSTRAINT_FIRST && row == 0) ||
                              (cn->kind == SPW_CONSTRAINT_LAST && row + 1 == h);
                if (applies && v[cn->root] != 0 && !r.constraint_fail) {
                    r.constraint_fail = 1;
                    snprintf(r.msg, sizeof r.msg, "%s: table %s constraint %u (kind %u) fails on row %llu",
                             w->tag, t->name, c, cn->kind, (unsigned long long)row);
                }
            }
            for (uint32_t i = 0; i < t->n_interactions; i++) {
                const spw_interaction *it = &t->interactions[i];
                uint32_t b = 0;
                while (b < nbus && buses[b] != it->bus_id) b++;
                if (b == nbus) {
                    REQUIRE(nbus < 256, "too many buses");
                    buses[nbus++] = it->bus_id;
                }
                uint64_t m = v[it->mult];
                if (m == 0) continue;
                for (int k = 0; k < NCHAL; k++) {
                    uint64_t acc = it->bus_id, ap = al[k];
                    for (uint32_t j = 0; j < it->n_values; j++) {
                        acc = gl_add(acc, gl_mul(ap, v[it->values[j]]));
                        ap = gl_mul(ap, al[k]);
                    }
                    uint64_t term = gl_mul(m, gl_inv(gl_sub(z[k], acc)));
                    sum[k][b] = it->is_sender ? gl_add(sum[k][b], term) : gl_sub(sum[k][b], term);
                }
            }
        }
        free(v);
        free(ok);
    }
    for (uint32_t b = 0; b < nbus; b++)
        for (int k = 0; k < NCHAL; k++)
            if (sum[k][b] != 0 && !r.bus_fail) {
                r.bus_fail = 1;
                if (!r.msg[0]) snprintf(r.msg, sizeof r.msg, "%s: bus %u does not balance", w->tag, buses[b]);
            }
    return r;
}

/* Both checkers: ours and the air layer's. */
static void assert_valid(wl *w)
{
    check_res r = check_all(w, w->cols);
    ck_assert_msg(!r.constraint_fail && !r.bus_fail, "%s", r.msg);
    spw_status s = spw_air_check_trace(w->ctx, w->def, w->tr, w->pub, w->npub);
    ck_assert_msg(s == SPW_OK, "%s: spw_air_check_trace: %s", w->tag, spw_ctx_last_error(w->ctx));
    s = spw_logup_check_balance(w->ctx, w->def, w->tr);
    ck_assert_msg(s == SPW_OK, "%s: spw_logup_check_balance: %s", w->tag, spw_ctx_last_error(w->ctx));
}

/* ---- reference models -------------------------------------------------- */

static uint64_t mix64(uint64_t z) /* splitmix64 finaliser */
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t modp(unsigned __int128 x) { return (uint64_t)(x % GL_P); }

/* What the vm program computes, written as plain C with __int128. */
static uint64_t vm_reference(unsigned log_rows, uint64_t seed)
{
    uint64_t outer = ((1ull << log_rows) - 4) / 116, mem[16] = {0};
    uint64_t st = mix64(seed + 0x5157) % GL_P;
    for (uint64_t o = 0; o < outer; o++)
        for (int i = 0; i < 16; i++) {
            st = modp((unsigned __int128)st * 0x100000001B3ull + mem[i] + 0x9E3779B9ull);
            mem[i] = st;
        }
    return st;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_fib_sizes)
{
    for (unsigned lr = 4; lr <= 10; lr++) {
        wl w;
        wl_open(&w, "fib", lr, NULL, 0);
        ck_assert_uint_eq(w.def->n_tables, 1);
        ck_assert_uint_eq(w.def->tables[0].log_height, lr);
        ck_assert_uint_eq(w.npub, 3);
        wl_load(&w);
        /* the trace is the Fibonacci sequence mod p */
        uint64_t a = 0, b = 1, h = 1ull << lr;
        for (uint64_t r = 0; r < h; r++) {
            REQUIRE(w.cols[0][r] == a && w.cols[0][h + r] == b, "fib 2^%u: row %llu", lr,
                    (unsigned long long)r);
            uint64_t s = modp((unsigned __int128)a + b);
            a = b;
            b = s;
        }
        ck_assert_uint_eq(w.pub[2], a); /* b on the last row = F(h) */
        assert_valid(&w);
        wl_close(&w);
    }
}
END_TEST

START_TEST(test_vm_sizes)
{
    for (unsigned lr = 10; lr <= 11; lr++) {
        for (uint64_t seed = 0; seed < 2; seed++) {
            wl w;
            wl_open(&w, "vm", lr, NULL, seed);
            ck_assert_uint_ge(w.def->n_tables, 4);
            ck_assert_uint_ge(w.def->tables[0].n_main, 30);
            ck_assert_uint_eq(w.npub, 1);
            ck_assert_uint_eq(w.pub[0], vm_reference(lr, seed));
            wl_load(&w);
            assert_valid(&w);
            wl_close(&w);
        }
    }
}
END_TEST

/* One larger preset: heights up to 2^16, 10 tables. */
START_TEST(test_synth_small)
{
    wl w;
    wl_open(&w, "synth", 0, "small", 11);
    ck_assert_uint_eq(w.def->n_tables, 10);
    wl_load(&w);
    assert_valid(&w);
    wl_close(&w);
}
END_TEST

START_TEST(test_synth_tiny)
{
    uint64_t first = 0;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        wl w;
        wl_open(&w, "synth", 0, "tiny", seed);
        ck_assert_uint_ge(w.def->n_tables, 3);
        uint32_t n_inter = 0;
        for (uint32_t t = 0; t < w.def->n_tables; t++) {
            ck_assert_uint_ge(w.def->tables[t].log_height, 8);
            ck_assert_uint_le(w.def->tables[t].log_height, 12);
            ck_assert_uint_le(w.def->tables[t].max_degree, 3);
            n_inter += w.def->tables[t].n_interactions;
        }
        ck_assert_uint_gt(n_inter, 0);
        wl_load(&w);
        assert_valid(&w);
        /* the seed changes the values */
        uint64_t h = height(&w, 1);
        if (seed == 1) first = w.cols[1][h + 5];
        else ck_assert_uint_ne(first, w.cols[1][h + 5]);
        wl_close(&w);
    }
}
END_TEST

/* The checker itself can fail: a changed cell in any table, or a bus
 * multiplicity off by one, is caught. */
START_TEST(test_checker_detects)
{
    const char *names[3] = {"fib", "vm", "synth"};
    for (int k = 0; k < 3; k++) {
        wl w;
        wl_open(&w, names[k], k == 1 ? 10 : 6, k == 2 ? "tiny" : NULL, 3);
        wl_load(&w);
        for (uint32_t t = 0; t < w.def->n_tables; t++) {
            uint64_t *cell = &w.cols[t][height(&w, t) / 2];
            uint64_t old = *cell;
            *cell = gl_add(old, 1);
            check_res r = check_all(&w, w.cols);
            ck_assert_msg(r.constraint_fail || r.bus_fail, "%s: change in table %s not detected", w.tag,
                          w.def->tables[t].name);
            *cell = old;
        }
        check_res ok = check_all(&w, w.cols);
        ck_assert_msg(!ok.constraint_fail && !ok.bus_fail, "%s", ok.msg);
        wl_close(&w);
    }
    /* vm: the ROM is pinned to the program of the tag's seed: the trace of
     * seed 0 does not satisfy the AIR of seed 1 */
    {
        wl w0, w1;
        wl_open(&w0, "vm", 10, NULL, 0);
        wl_open(&w1, "vm", 10, NULL, 1);
        wl_load(&w0);
        const spw_air_def *own = w0.def;
        w0.def = w1.def;
        check_res r = check_all(&w0, w0.cols);
        ck_assert_msg(r.constraint_fail, "vm: seed 0 trace accepted by the seed 1 AIR");
        ck_assert_msg(strstr(r.msg, "table rom") != NULL, "%s", r.msg);
        w0.def = own;
        wl_close(&w0);
        wl_close(&w1);
    }
    /* vm: one more range lookup of 0 than there is; synth: lookup mult */
    const char *tabs[2] = {"range", "lut0"};
    for (int k = 0; k < 2; k++) {
        wl w;
        wl_open(&w, k ? "synth" : "vm", k ? 0 : 10, k ? "tiny" : NULL, 0);
        wl_load(&w);
        uint32_t t;
        ck_assert_int_eq(spw_air_find_table(w.air, &t, tabs[k]), SPW_OK);
        /* range columns: (val, mult); lookup tables: (key, val, mult, ...) */
        uint64_t *m = &w.cols[t][height(&w, t) * (k == 0 ? 1 : 2)];
        *m = gl_add(*m, 1);
        check_res r = check_all(&w, w.cols);
        ck_assert_msg(r.bus_fail && !r.constraint_fail, "%s: off-by-one multiplicity: %s", w.tag, r.msg);
        wl_close(&w);
    }
}
END_TEST

static void check_chunked(const char *name, unsigned lr, const char *preset, uint64_t seed)
{
    wl w;
    wl_open(&w, name, lr, preset, seed);
    wl_load(&w);
    static const uint64_t chunks[3] = {1, 7, 64};
    for (uint32_t t = 0; t < w.def->n_tables; t++) {
        uint64_t h = height(&w, t);
        uint64_t *buf = malloc(h * sizeof *buf);
        ck_assert_ptr_nonnull(buf);
        for (uint32_t c = 0; c < w.def->tables[t].n_main; c++)
            for (int k = 0; k < 3; k++) {
                uint64_t ch = chunks[k];
                /* chunk 1 on a 2^16-row table: a prefix and a suffix are enough */
                uint64_t lim = ch == 1 && h > 4096 ? 2048 : h;
                memset(buf, 0xAA, h * sizeof *buf);
                for (uint64_t r = 0; r < h; r += ch) {
                    if (r == lim) r = h - lim;
                    uint64_t n = h - r < ch ? h - r : ch;
                    REQUIRE(spw_trace_read(w.tr, buf + r, t, c, r, n) == SPW_OK, "%s: read: %s", w.tag,
                            spw_ctx_last_error(w.ctx));
                }
                for (uint64_t r = 0; r < h; r++) {
                    if (lim < h && r >= lim && r < h - lim) continue;
                    REQUIRE(buf[r] == w.cols[t][c * h + r],
                                  "%s: table %u col %u row %llu differs with chunks of %llu", w.tag, t, c,
                                  (unsigned long long)r, (unsigned long long)ch);
                }
            }
        free(buf);
    }
    wl_close(&w);
}

START_TEST(test_chunk_independent)
{
    check_chunked("fib", 10, NULL, 0);
    check_chunked("vm", 11, NULL, 7);
    check_chunked("synth", 0, "tiny", 5);
}
END_TEST

/* Producers called from several threads at once (the prover may do so):
 * every thread reads every column, the lookup multiplicities first so
 * that the lazy counting pass is contended; all agree with a serial read. */
typedef struct par_arg {
    wl *w;
    int rc;
} par_arg;

static void *par_reader(void *p)
{
    par_arg *a = p;
    wl *w = a->w;
    a->rc = 0;
    for (uint32_t k = 0; k < w->def->n_tables && !a->rc; k++) {
        uint32_t t = w->def->n_tables - 1 - k; /* lookup tables (first) last */
        uint64_t h = height(w, t);
        uint64_t *buf = malloc(h * sizeof *buf);
        if (!buf) a->rc = 1;
        for (uint32_t c = w->def->tables[t].n_main; c-- > 0 && !a->rc;) {
            if (spw_trace_read(w->tr, buf, t, c, 0, h) != SPW_OK) a->rc = 2;
            else if (memcmp(buf, w->cols[t] + c * h, h * 8) != 0) a->rc = 3;
        }
        free(buf);
    }
    return NULL;
}

START_TEST(test_threads)
{
    const char *names[2] = {"vm", "synth"};
    for (int k = 0; k < 2; k++) {
        wl ref, w;
        wl_open(&ref, names[k], 10, k ? "tiny" : NULL, 4);
        wl_load(&ref);
        wl_open(&w, names[k], 10, k ? "tiny" : NULL, 4); /* fresh: nothing counted yet */
        w.cols = ref.cols;
        pthread_t th[4];
        par_arg args[4];
        for (int i = 0; i < 4; i++) {
            args[i].w = &w;
            ck_assert_int_eq(pthread_create(&th[i], NULL, par_reader, &args[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            ck_assert_msg(args[i].rc == 0, "%s: thread %d: error %d", w.tag, i, args[i].rc);
        }
        w.cols = NULL;
        wl_close(&w);
        wl_close(&ref);
    }
}
END_TEST

START_TEST(test_deterministic)
{
    const char *names[3] = {"fib", "vm", "synth"};
    for (int k = 0; k < 3; k++) {
        wl a, b;
        wl_open(&a, names[k], k == 1 ? 10 : 8, k == 2 ? "tiny" : NULL, 9);
        wl_open(&b, names[k], k == 1 ? 10 : 8, k == 2 ? "tiny" : NULL, 9);
        wl_load(&a);
        wl_load(&b);
        ck_assert_str_eq(a.tag, b.tag);
        ck_assert_uint_eq(a.npub, b.npub);
        for (size_t i = 0; i < a.npub; i++) ck_assert_uint_eq(a.pub[i], b.pub[i]);
        ck_assert_uint_eq(a.def->n_tables, b.def->n_tables);
        for (uint32_t t = 0; t < a.def->n_tables; t++) {
            ck_assert_uint_eq(a.def->tables[t].log_height, b.def->tables[t].log_height);
            ck_assert_uint_eq(a.def->tables[t].n_main, b.def->tables[t].n_main);
            ck_assert(memcmp(a.cols[t], b.cols[t], height(&a, t) * a.def->tables[t].n_main * 8) == 0);
        }
        wl_close(&a);
        wl_close(&b);
    }
}
END_TEST

START_TEST(test_tags)
{
    spw_ctx *ctx;
    ck_assert_int_eq(spw_ctx_create(&ctx, NULL), SPW_OK);
    const spw_workload_params cases[] = {
        {"fib", 4, NULL, 0}, {"fib", 20, NULL, 0},        {"vm", 10, NULL, 0},
        {"vm", 24, NULL, 12345678901234ull},               {"synth", 0, "tiny", 1},
        {"synth", 0, "large", 18446744073709551615ull},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tag[SPW_WORKLOAD_TAG_MAX], tag2[SPW_WORKLOAD_TAG_MAX];
        spw_air *air = NULL, *air2 = NULL;
        /* AIR only: cheap at any size */
        ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, tag, sizeof tag, &cases[i]), SPW_OK);
        spw_workload_params p;
        ck_assert_msg(spw_workload_parse_tag(ctx, &p, tag) == SPW_OK, "%s: %s", tag, spw_ctx_last_error(ctx));
        ck_assert_str_eq(p.name, cases[i].name);
        ck_assert_uint_eq(p.log_rows, cases[i].log_rows);
        ck_assert_uint_eq(p.seed, cases[i].seed);
        if (cases[i].preset) ck_assert_str_eq(p.preset, cases[i].preset);
        else ck_assert_ptr_null(p.preset);
        ck_assert_int_eq(spw_workload_build(ctx, &air2, NULL, NULL, NULL, tag2, sizeof tag2, &p), SPW_OK);
        ck_assert_str_eq(tag, tag2);
        const spw_air_def *d1 = spw_air_get_def(air), *d2 = spw_air_get_def(air2);
        ck_assert_uint_eq(d1->n_tables, d2->n_tables);
        for (uint32_t t = 0; t < d1->n_tables; t++) {
            ck_assert_uint_eq(d1->tables[t].log_height, d2->tables[t].log_height);
            ck_assert_uint_eq(d1->tables[t].n_main, d2->tables[t].n_main);
            ck_assert_uint_eq(d1->tables[t].n_constraints, d2->tables[t].n_constraints);
            ck_assert_uint_eq(d1->tables[t].prog_len, d2->tables[t].prog_len);
            ck_assert(memcmp(d1->tables[t].prog, d2->tables[t].prog,
                             d1->tables[t].prog_len * sizeof(spw_insn)) == 0);
        }
        spw_workload_free(air, NULL, NULL);
        spw_workload_free(air2, NULL, NULL);
    }
    /* defaults */
    spw_workload_params d;
    ck_assert_int_eq(spw_workload_defaults(ctx, &d, "fib"), SPW_OK);
    ck_assert_uint_eq(d.log_rows, 10);
    ck_assert_int_eq(spw_workload_defaults(ctx, &d, "vm"), SPW_OK);
    ck_assert_uint_eq(d.log_rows, 16);
    ck_assert_int_eq(spw_workload_defaults(ctx, &d, "synth"), SPW_OK);
    ck_assert_str_eq(d.preset, "tiny");
    ck_assert_int_eq(spw_workload_defaults(ctx, &d, "nope"), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_workload_defaults(ctx, &d, NULL), SPW_ERR_INVALID_ARG);
    /* malformed tags */
    const char *bad[] = {"", "fob log_rows=3", "fib", "fib log_rows=x", "fib log_rows=5 extra",
                         "synth preset=huge seed=1", "synth seed=1", "vm log_rows=10 seed=-1",
                         "fib log_rows=5  ", "vm log_rows=10 preset=tiny"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spw_workload_params p;
        ck_assert_msg(spw_workload_parse_tag(ctx, &p, bad[i]) == SPW_ERR_PARSE, "accepted '%s'", bad[i]);
    }
    /* bad params */
    spw_workload_params p = {"vm", 5, NULL, 0};
    spw_air *air = NULL;
    ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &p), SPW_ERR_INVALID_ARG);
    ck_assert_ptr_null(air);
    p.name = "nope";
    ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &p), SPW_ERR_INVALID_ARG);
    spw_workload_params q = {"synth", 0, "huge", 0};
    ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &q), SPW_ERR_INVALID_ARG);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_presets)
{
    ck_assert_uint_eq(spw_synth_num_presets(), 5);
    ck_assert_ptr_null(spw_synth_preset(5));
    spw_ctx *ctx;
    ck_assert_int_eq(spw_ctx_create(&ctx, NULL), SPW_OK);
    for (size_t i = 0; i < 5; i++) {
        const spw_synth_preset_info *I = spw_synth_preset(i);
        ck_assert_ptr_nonnull(I);
        spw_synth_table_info tabs[128];
        size_t n = spw_synth_preset_tables(tabs, 128, I->name);
        ck_assert_uint_eq(n, I->n_tables);
        uint64_t bytes = 0;
        for (size_t k = 0; k < n; k++) bytes += 8ull * tabs[k].width << tabs[k].log_height;
        ck_assert_uint_eq(bytes, I->trace_bytes);
        ck_assert_uint_eq(I->lde_bytes_b4, 4 * bytes);
        /* the AIR built for the preset has these tables */
        spw_workload_params p = {"synth", 0, I->name, 42};
        spw_air *air = NULL;
        ck_assert_int_eq(spw_workload_build(ctx, &air, NULL, NULL, NULL, NULL, 0, &p), SPW_OK);
        const spw_air_def *d = spw_air_get_def(air);
        ck_assert_uint_eq(d->n_tables, n);
        for (size_t k = 0; k < n; k++) {
            ck_assert_str_eq(d->tables[k].name, tabs[k].name);
            ck_assert_uint_eq(d->tables[k].log_height, tabs[k].log_height);
            ck_assert_uint_eq(d->tables[k].n_main, tabs[k].width);
            ck_assert_uint_le(d->tables[k].max_degree, 3);
        }
        spw_workload_free(air, NULL, NULL);
    }
    const spw_synth_preset_info *tiny = spw_synth_preset(0), *large = spw_synth_preset(3);
    ck_assert_str_eq(tiny->name, "tiny");
    ck_assert_uint_le(tiny->max_log_height, 12);
    ck_assert_str_eq(large->name, "large");
    ck_assert_uint_ge(large->n_tables, 20);
    ck_assert_uint_eq(large->max_log_height, 24);
    ck_assert_uint_le(large->min_log_height, 10);
    ck_assert_uint_ge(large->min_width, 8);
    ck_assert_uint_eq(large->max_width, 300);
    ck_assert_uint_ge(large->lde_bytes_b4, 10ull << 30);
    ck_assert_uint_le(large->lde_bytes_b4, 100ull << 30);
    /* xl: the GPU scale target's workload (>= 32 GiB of LDE data) */
    const spw_synth_preset_info *xl = spw_synth_preset(4);
    ck_assert_str_eq(xl->name, "xl");
    ck_assert_uint_ge(xl->lde_bytes_b4, 32ull << 30);
    ck_assert_uint_eq(spw_synth_preset_tables(NULL, 0, "huge"), 0);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *workloads_suite(void)
{
    Suite *s = suite_create("workloads");
    TCase *tc = tcase_create("workloads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fib_sizes);
    tcase_add_test(tc, test_vm_sizes);
    tcase_add_test(tc, test_synth_tiny);
    tcase_add_test(tc, test_synth_small);
    tcase_add_test(tc, test_checker_detects);
    tcase_add_test(tc, test_chunk_independent);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_tags);
    tcase_add_test(tc, test_presets);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(workloads_suite()); }
