/*
 * gpu_prover.c - the CUDA backend, resident mode: the scheduling in C of
 * every round on the device (cuda/rounds_*.cu, cuda/ntt.cu, cuda/blake3.cu)
 * through one arena that holds every device byte. The transcript, the
 * proof assembly, grinding and the pre-proof checks (in a host thread,
 * overlapped with the device rounds) stay on the host. Round by round it
 * mirrors src/prover.c, so the proof bytes are the CPU backend's.
 * docs/GPU.md describes the data flow, the memory estimate and the
 * fallback rules.
 */
#include "gpu_prover.h"
#include "trace.h"
#include "fri.h"
#include "logup.h"
#include "progress.h"
#include "proof.h"
#include "stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static spw_gpu_run_stats g_last;
static uint64_t g_fallbacks;

static void set_last(const spw_gpu_run_stats *s)
{
    pthread_mutex_lock(&g_lock);
    g_last = *s;
    pthread_mutex_unlock(&g_lock);
}

void spw_gpu_set_last(const spw_gpu_run_stats *s) { set_last(s); }

void spw_gpu_clear_last(void)
{
    spw_gpu_run_stats z;
    memset(&z, 0, sizeof z);
    set_last(&z);
}

void spw_gpu_last_run(spw_gpu_run_stats *out)
{
    pthread_mutex_lock(&g_lock);
    *out = g_last;
    pthread_mutex_unlock(&g_lock);
}

uint64_t spw_gpu_fallbacks(void)
{
    pthread_mutex_lock(&g_lock);
    uint64_t n = g_fallbacks;
    pthread_mutex_unlock(&g_lock);
    return n;
}


uint64_t spw_gpu_estimate(const spw_air_def *def, unsigned blowup)
{
    unsigned log_b = spw_log2(blowup ? blowup : 4);
    uint64_t sum = 0, comp_max = 0, lu_max = 0, n0 = 0;
    uint64_t rollin_bytes = 0;
    uint8_t size_seen[64] = {0};
    for (uint32_t i = 0; i < def->n_tables; i++) {
        const spw_air_table *t = &def->tables[i];
        uint64_t n = (uint64_t)1 << t->log_height, N = n << log_b;
        uint64_t nm = t->n_main, na = 3 * (uint64_t)t->n_aux;
        uint64_t sp = spw_stark_num_parts(t), nc = 3 * sp;
        unsigned log_e = spw_stark_log_e(t, log_b);
        uint64_t NE = n << log_e;
        /* resident: trace, coefficients, LDE and tree of main, aux, comp */
        sum += nm * n * 8 + (nm + na + nc) * (n + N) * 8 + 3 * 2 * N * 32;
        /* composition temporaries: larger domain, quotient, powers, and the
         * interpreter's scratch (spw_gpu_comp_threads: at most 2^17 threads
         * of n_slots ext3 slots, at most 256 MiB) */
        uint64_t slots = t->eval_slot ? t->n_eval_slots : t->prog_len;
        uint64_t thr = NE < ((uint64_t)1 << 17) ? (NE + 127) / 128 * 128 : ((uint64_t)1 << 17);
        uint64_t scr = (slots ? slots : 1) * 24 * thr;
        if (scr > ((uint64_t)256 << 20)) scr = (uint64_t)256 << 20;
        uint64_t ct = 3 * NE * 8 + NE * 8 + scr + ((uint64_t)1 << 20);
        if (log_e != log_b) ct += (nm + na) * NE * 8;
        if (ct > comp_max) comp_max = ct;
        /* LogUp chunk scratch (bounded by 2^16 rows) + OOD powers */
        uint64_t rows = n < 65536 ? n : 65536;
        uint64_t lt = rows * ((uint64_t)t->prog_len * 8 + 2 * (uint64_t)t->n_interactions * 24) +
                      2 * n * 24 + 4096;
        if (lt > lu_max) lu_max = lt;
        if (N > n0) n0 = N;
        unsigned lN = t->log_height + log_b;
        if (!size_seen[lN]) {
            size_seen[lN] = 1;
            rollin_bytes += N * 24;
        }
    }
    /* FRI: layers (sum N_i * 24 < 2 N0 * 24) and trees (sum N_i * 32) */
    uint64_t fri = 2 * n0 * 24 + 2 * n0 * 32 + rollin_bytes;
    /* NTT twiddles: 2 MiB of two-level tables + direct tables if room */
    return sum + (comp_max > lu_max ? comp_max : lu_max) + fri + ((uint64_t)4 << 20);
}

#ifndef SPW_HAVE_CUDA

int spw_gpu_wanted(const spw_ctx *ctx)
{
    (void)ctx;
    return 0;
}

void spw_gpu_init_once(void) {}

spw_status spw_gpu_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                         const spw_air_def *def, const spw_trace *trace,
                         const spw_statement *stmt, const spw_prove_opts *opts,
                         spw_prove_stats *stats, int *handled)
{
    (void)proof_out, (void)proof_len, (void)def, (void)trace, (void)stmt, (void)opts, (void)stats;
    *handled = 0;
    if (ctx->backend == SPW_BACKEND_CUDA)
        return spw_fail(ctx, SPW_ERR_NO_CUDA, "prove: --backend cuda, but CUDA is not compiled in");
    return SPW_OK;
}

void spw_gpu_note_fallback(const spw_ctx *ctx, const char *why)
{
    (void)ctx, (void)why;
}

#else /* SPW_HAVE_CUDA */

#include "cuda_api.h"
#include "rounds_api.h"

static int g_fallback_logged;

/* Counts a device -> CPU fallback; the first one in the process is logged
 * as a warning, later ones at INFO. */
static void note_fallback(const spw_ctx *ctx, const char *why)
{
    pthread_mutex_lock(&g_lock);
    g_fallbacks++;
    int first = !g_fallback_logged;
    g_fallback_logged = 1;
    pthread_mutex_unlock(&g_lock);
    spw_log(ctx, first ? SPW_LOG_WARN : SPW_LOG_INFO,
            "GPU backend: %s; proving on the CPU backend instead (fallback counted)", why);
}

void spw_gpu_note_fallback(const spw_ctx *ctx, const char *why) { note_fallback(ctx, why); }

int spw_gpu_wanted(const spw_ctx *ctx)
{
    if (ctx->backend == SPW_BACKEND_CPU) return 0;
    return spw_cuda_device_count() > 0;
}

static void driver_init(void)
{
    char name[128];
    uint64_t total = 0, freemem = 0;
    if (spw_cuda_device_count() > 0) (void)spw_cuda_device_info(name, sizeof name, &total, &freemem);
}

void spw_gpu_init_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, driver_init);
}

/* ---- per-run state ---- */

typedef struct gtab {
    const spw_air_table *t;
    unsigned log_n, log_N;
    size_t n, N;
    uint32_t n_parts;
    uint64_t *trace, *main_coef, *main_lde, *aux_coef, *aux_lde, *comp_coef, *comp_lde;
    uint8_t *main_tree, *aux_tree, *comp_tree;
} gtab;

typedef struct grun {
    spw_ctx *ctx;
    spw_cuda_arena *A;
    spw_cuda_stream s;
    const char *round;
    const char *table;
    uint64_t budget;
    int bad_trace;  /* the rounds saw what only a bad trace causes */
    const spw_air_def *def; /* progress reports (run_rounds only) */
    unsigned log_b;
} grun;

/* SPW_GPU_DEBUG=1 in the environment: one stderr line per round and
 * table, after the device finished the previous one. */
static void phase(grun *g, const char *round, const char *table)
{
    static int dbg = -1;
    if (dbg < 0) dbg = getenv("SPW_GPU_DEBUG") != NULL;
    g->round = round;
    g->table = table;
    if (dbg) {
        (void)spw_cuda_stream_sync(g->s);
        fprintf(stderr, "[gpu %.3f] %s, table %s, arena %llu MiB in use\n", spw_now(), round,
                table ? table : "-", (unsigned long long)(spw_cuda_arena_in_use(g->A) >> 20));
    }
}

/* A device failure as a ctx error naming the round, the table and the
 * launcher's message (which names the kernel). */
static spw_status dev_fail(grun *g, spw_status s)
{
    return spw_fail(g->ctx, s, "GPU backend, %s, table '%s': %s", g->round,
                    g->table ? g->table : "-", spw_cuda_last_error());
}

#define D(call)                                     \
    do {                                            \
        spw_status d_s_ = (call);                   \
        if (d_s_ != SPW_OK) return dev_fail(g, d_s_); \
    } while (0)

/* Progress report (src/progress.h) before table t of a per-table round
 * (t == n_tables: the round is done), with the CPU prover's work units.
 * Device work is asynchronous: the run statistics charge the time between
 * two reports to the step reported first, so every report is made where the
 * stream has finished the work queued before it (a sync, cheap when the
 * table's last copy already waited for it). */
static spw_status gprog(grun *g, int round, uint32_t t)
{
    D(spw_cuda_stream_sync(g->s));
    spw_progress_table(g->ctx, g->def, g->log_b, round, t);
    return SPW_OK;
}

/* A report of a round that is not per table (FRI, grinding, queries,
 * encode), after the same sync. */
static spw_status gprog_round(grun *g, int round, uint64_t done, uint64_t total)
{
    D(spw_cuda_stream_sync(g->s));
    spw_progress_report(g->ctx, spw_round_names[round], -1, done, total);
    return SPW_OK;
}

static spw_status dalloc(grun *g, void *pp, uint64_t bytes)
{
    void **p = pp;
    D(spw_cuda_arena_alloc(g->A, p, bytes));
    return SPW_OK;
}

static void dfree(grun *g, void *p)
{
    if (p) (void)spw_cuda_arena_free(g->A, p);
}

static spw_status upload(grun *g, void *pp, const void *h, uint64_t bytes)
{
    SPW_TRY(dalloc(g, pp, bytes));
    if (bytes) D(spw_cuda_memcpy_async(*(void **)pp, h, bytes, g->s));
    return SPW_OK;
}

static spw_status download(grun *g, void *h, const void *d, uint64_t bytes)
{
    if (!bytes) return SPW_OK;
    D(spw_cuda_memcpy_async(h, d, bytes, g->s));
    D(spw_cuda_stream_sync(g->s));
    return SPW_OK;
}

/* out (ncols columns of 2^(log_n+log_e), stride the same) = evaluations on
 * GL_GENERATOR * <w> of the polynomials with coefficients coef (ncols x n). */
static spw_status coset_eval(grun *g, uint64_t *out, const uint64_t *coef, size_t ncols,
                             unsigned log_n, unsigned log_e)
{
    size_t n = (size_t)1 << log_n, big = n << log_e;
    uint64_t *pw = NULL;
    SPW_TRY(dalloc(g, &pw, n * 8));
    D(spw_gpu_powers(g->s, pw, n, GL_GENERATOR));
    D(spw_gpu_scale_pad(g->s, out, big, coef, n, ncols, n, pw));
    D(spw_cuda_ntt_forward_batch(g->A, g->s, out, ncols, big, log_n + log_e));
    dfree(g, pw);
    return SPW_OK;
}

/* Allocates and builds the Merkle tree of ncols columns of N rows; root to
 * the host. */
static spw_status commit(grun *g, uint8_t **tree, const uint64_t *cols, size_t ncols, size_t N,
                         spw_digest *root)
{
    SPW_TRY(dalloc(g, tree, 2 * (uint64_t)N * 32));
    D(spw_cuda_merkle_build(g->s, *tree, cols, ncols, N, N));
    return download(g, root->b, *tree + 32, 32);
}

/* ---- round 1 ---- */

static spw_status g_round_main(grun *g, gtab *s, const spw_trace *trace, uint32_t ti,
                               unsigned log_b, spw_digest *root)
{
    const spw_air_table *t = s->t;
    size_t nm = t->n_main;
    uint64_t *h = spw_malloc_array(nm * s->n, 8);
    if (!h) return spw_fail(g->ctx, SPW_ERR_NOMEM, "prove: out of memory (main trace)");
    spw_status st = spw_trace_read_cols(g->ctx, trace, h, ti, 0, nm, s->n, 0);
    if (st != SPW_OK) {
        free(h);
        return st;
    }
    st = dalloc(g, &s->trace, nm * s->n * 8);
    if (st == SPW_OK) {
        if ((st = spw_cuda_memcpy_async(s->trace, h, nm * s->n * 8, g->s)) == SPW_OK)
            st = spw_cuda_stream_sync(g->s);
        if (st != SPW_OK) st = dev_fail(g, st);
    }
    free(h);
    SPW_TRY(st);
    SPW_TRY(dalloc(g, &s->main_coef, nm * s->n * 8));
    D(spw_cuda_memcpy_async(s->main_coef, s->trace, nm * s->n * 8, g->s));
    D(spw_cuda_ntt_inverse_batch(g->A, g->s, s->main_coef, nm, s->n, s->log_n));
    SPW_TRY(dalloc(g, &s->main_lde, nm * s->N * 8));
    SPW_TRY(coset_eval(g, s->main_lde, s->main_coef, nm, s->log_n, log_b));
    return commit(g, &s->main_tree, s->main_lde, nm, s->N, root);
}

/* ---- round 2: LogUp ---- */

/* The base-field program of the bus expressions (as logup.c's plan). */
spw_status spw_gpu_bus_program(spw_ctx *ctx, const spw_air_table *t, spw_gpu_insn **prog,
                               uint32_t *len, uint32_t **vslots, uint32_t *n_vslots,
                               spw_gpu_inter **inter, uint32_t *max_values)
{
    uint32_t L = t->prog_len ? t->prog_len : 1;
    uint8_t *mark = calloc(L, 1);
    uint32_t *slot = calloc(L, sizeof *slot);
    *prog = calloc(L, sizeof **prog);
    *inter = calloc(t->n_interactions + 1, sizeof **inter);
    uint32_t nv = 0;
    for (uint32_t i = 0; i < t->n_interactions; i++) nv += t->interactions[i].n_values;
    *vslots = calloc(nv + 1, sizeof **vslots);
    spw_status st = SPW_OK;
    if (!mark || !slot || !*prog || !*inter || !*vslots) {
        st = spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (bus program)");
        goto out;
    }
    for (uint32_t i = 0; i < t->n_interactions; i++) {
        const spw_interaction *it = &t->interactions[i];
        mark[it->mult] = 1;
        for (uint32_t k = 0; k < it->n_values; k++) mark[it->values[k]] = 1;
    }
    for (uint32_t i = t->prog_len; i-- > 0;) {
        if (!mark[i]) continue;
        const spw_insn *in = &t->prog[i];
        if (in->op == SPW_OP_ADD || in->op == SPW_OP_SUB || in->op == SPW_OP_MUL) {
            mark[in->a] = mark[in->b] = 1;
        } else if (in->op == SPW_OP_NEG) {
            mark[in->a] = 1;
        } else if (in->op != SPW_OP_MAIN && in->op != SPW_OP_CONST) {
            st = spw_fail(ctx, SPW_ERR_INTERNAL, "table %s: bus expression uses opcode %u",
                          t->name, in->op);
            goto out;
        }
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->prog_len; i++) {
        if (!mark[i]) continue;
        const spw_insn *in = &t->prog[i];
        slot[i] = n;
        spw_gpu_insn *d = &(*prog)[n];
        d->op = in->op;
        d->dst = n;
        d->k = in->k;
        if (in->op >= SPW_OP_ADD) {
            d->a = slot[in->a];
            d->b = in->op == SPW_OP_NEG ? 0 : slot[in->b];
        }
        n++;
    }
    *len = n;
    uint32_t off = 0, mv = 0;
    for (uint32_t i = 0; i < t->n_interactions; i++) {
        const spw_interaction *it = &t->interactions[i];
        spw_gpu_inter *d = &(*inter)[i];
        d->bus_id = it->bus_id;
        d->is_sender = it->is_sender ? 1 : 0;
        d->mult = slot[it->mult];
        d->n_values = it->n_values;
        d->values = off;
        for (uint32_t k = 0; k < it->n_values; k++) (*vslots)[off++] = slot[it->values[k]];
        if (it->n_values > mv) mv = it->n_values;
    }
    *n_vslots = off;
    *max_values = mv;
out:
    free(mark);
    free(slot);
    return st;
}

static spw_status logup_dev(grun *g, uint64_t *d_aux, fe3 *sum, const spw_air_table *t,
                           const uint64_t *d_main, size_t n, const fe3 *ch, size_t chunk)
{
    spw_gpu_insn *prog = NULL;
    spw_gpu_inter *inter = NULL;
    uint32_t *vslots = NULL, plen = 0, nvs = 0, maxv = 0;
    fe3 *apow = NULL;
    spw_status st = spw_gpu_bus_program(g->ctx, t, &prog, &plen, &vslots, &nvs, &inter, &maxv);
    if (st == SPW_OK && !(apow = spw_malloc_array(maxv + 2, sizeof(fe3))))
        st = spw_fail(g->ctx, SPW_ERR_NOMEM, "prove: out of memory (LogUp)");
    void *d_prog = NULL, *d_inter = NULL, *d_vs = NULL, *d_apow = NULL, *scr = NULL;
    fe3 *d_run = NULL;
    uint64_t *d_bad = NULL;
    if (st == SPW_OK) {
        apow[0] = fe3_one();
        for (uint32_t i = 1; i <= maxv + 1; i++) apow[i] = fe3_mul(apow[i - 1], ch[SPW_CHALLENGE_ALPHA]);
        if ((st = upload(g, &d_prog, prog, (uint64_t)plen * sizeof *prog)) == SPW_OK &&
            (st = upload(g, &d_inter, inter, (uint64_t)t->n_interactions * sizeof *inter)) == SPW_OK &&
            (st = upload(g, &d_vs, vslots, (uint64_t)nvs * 4)) == SPW_OK &&
            (st = upload(g, &d_apow, apow, (uint64_t)(maxv + 2) * sizeof(fe3))) == SPW_OK &&
            spw_cuda_stream_sync(g->s) != SPW_OK)
            st = dev_fail(g, SPW_ERR_CUDA);
    }
    free(prog);
    free(inter);
    free(vslots);
    free(apow);
    SPW_TRY(st);
    spw_gpu_logup_args la = {d_prog, plen, plen, d_inter, t->n_interactions, d_vs, d_apow,
                             ch[SPW_CHALLENGE_Z], d_main, d_aux, n, t->n_aux, 0, 0};
    size_t rows = chunk && chunk < n ? chunk : n;
    SPW_TRY(dalloc(g, &scr, spw_gpu_logup_scratch_bytes(&la, rows)));
    SPW_TRY(dalloc(g, &d_run, sizeof(fe3)));
    SPW_TRY(dalloc(g, &d_bad, 8));
    D(spw_cuda_memset_async(d_run, 0, sizeof(fe3), g->s));
    D(spw_cuda_memset_async(d_bad, 0xff, 8, g->s));
    for (size_t r0 = 0; r0 < n; r0 += rows)
        D(spw_gpu_logup_chunk(g->s, &la, r0, n - r0 < rows ? n - r0 : rows, scr, d_run, d_bad));
    uint64_t bad;
    SPW_TRY(download(g, sum, d_run, sizeof(fe3)));
    SPW_TRY(download(g, &bad, d_bad, 8));
    dfree(g, scr);
    dfree(g, d_run);
    dfree(g, d_bad);
    dfree(g, d_prog);
    dfree(g, d_inter);
    dfree(g, d_vs);
    dfree(g, d_apow);
    if (bad != UINT64_MAX) {
        g->bad_trace = 1;
        return spw_fail(g->ctx, SPW_ERR_INTERNAL, "LogUp: table %s row %llu: zero fingerprint",
                        t->name, (unsigned long long)bad);
    }
    return SPW_OK;
}

spw_status spw_gpu_logup_build(spw_ctx *ctx, spw_cuda_arena *A, spw_cuda_stream s, uint64_t *d_aux,
                               fe3 *sum, const spw_air_table *t, const uint64_t *d_main,
                               size_t chunk_rows, const fe3 *challenges)
{
    grun g = {ctx, A, s, "LogUp", t->name, 0, 0, NULL, 0};
    *sum = fe3_zero();
    if (!t->n_interactions) return SPW_OK;
    if (t->n_aux != (t->n_interactions + 1) / 2 + 1)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "LogUp: table %s is not finalized", t->name);
    return logup_dev(&g, d_aux, sum, t, d_main, (size_t)1 << t->log_height, challenges, chunk_rows);
}

static spw_status g_round_aux(grun *g, gtab *s, const fe3 *ch, fe3 *sum, unsigned log_b,
                              spw_digest *root)
{
    const spw_air_table *t = s->t;
    *sum = fe3_zero();
    if (!t->n_aux) return SPW_OK;
    size_t na = 3 * (size_t)t->n_aux;
    SPW_TRY(dalloc(g, &s->aux_coef, na * s->n * 8));
    SPW_TRY(logup_dev(g, s->aux_coef, sum, t, s->trace, s->n, ch, 65536));
    D(spw_cuda_ntt_inverse_batch(g->A, g->s, s->aux_coef, na, s->n, s->log_n));
    SPW_TRY(dalloc(g, &s->aux_lde, na * s->N * 8));
    SPW_TRY(coset_eval(g, s->aux_lde, s->aux_coef, na, s->log_n, log_b));
    return commit(g, &s->aux_tree, s->aux_lde, na, s->N, root);
}

/* ---- round 3: composition ---- */

/* The full program with the scratch slots of the block interpreter's plan
 * (or one slot per instruction), ext flags: bit 0 result, 1 a, 2 b. */
spw_status spw_gpu_comp_program(spw_ctx *ctx, const spw_air_table *t, spw_gpu_insn **prog,
                                uint32_t *len, uint32_t *n_slots, spw_gpu_cons **cons)
{
    uint32_t L = t->prog_len ? t->prog_len : 1;
    uint8_t *ext = calloc(L, 1);
    *prog = calloc(L, sizeof **prog);
    *cons = calloc(t->n_constraints + 1, sizeof **cons);
    if (!ext || !*prog || !*cons) {
        free(ext);
        return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (device program)");
    }
    const uint32_t *slot = t->eval_slot;
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        int e = 0, ea = 0, eb = 0;
        switch (in->op) {
        case SPW_OP_AUX: case SPW_OP_AUX_NEXT: case SPW_OP_CHALLENGE: case SPW_OP_LOGUP_SUM: e = 1; break;
        case SPW_OP_ADD: case SPW_OP_SUB: case SPW_OP_MUL:
            ea = ext[in->a];
            eb = ext[in->b];
            e = ea || eb;
            break;
        case SPW_OP_NEG: ea = ext[in->a]; e = ea; break;
        default: break;
        }
        ext[i] = (uint8_t)e;
        uint32_t si = slot ? slot[i] : i;
        if (si == UINT32_MAX) continue;
        spw_gpu_insn *d = &(*prog)[n++];
        d->op = in->op;
        d->ext = (uint32_t)e | (uint32_t)ea << 1 | (uint32_t)eb << 2;
        d->dst = si;
        d->k = in->k;
        if (in->op >= SPW_OP_ADD) {
            d->a = slot ? slot[in->a] : in->a;
            d->b = in->op == SPW_OP_NEG ? 0 : (slot ? slot[in->b] : in->b);
        }
    }
    for (uint32_t q = 0; q < t->n_constraints; q++) {
        uint32_t r = t->constraints[q].root;
        (*cons)[q].slot = slot ? slot[r] : r;
        (*cons)[q].kind = (uint32_t)(t->constraints[q].kind & 3) | (uint32_t)ext[r] << 2;
    }
    *len = n;
    *n_slots = slot ? t->n_eval_slots : t->prog_len;
    free(ext);
    return SPW_OK;
}

spw_status spw_gpu_comp_consts(spw_ctx *ctx, const spw_air_table *t, unsigned log_n,
                               unsigned log_e, fe3 lambda, fe3 **lpow, uint64_t **inv_zn)
{
    size_t n = (size_t)1 << log_n, E = (size_t)1 << log_e;
    *lpow = spw_malloc_array(t->n_constraints + 1, sizeof(fe3));
    *inv_zn = spw_malloc_array(E, 8);
    if (!*lpow || !*inv_zn) {
        free(*lpow);
        free(*inv_zn);
        *lpow = NULL;
        *inv_zn = NULL;
        return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (composition)");
    }
    fe3 l = fe3_one();
    for (uint32_t k = 0; k < t->n_constraints; k++) {
        (*lpow)[k] = l;
        l = fe3_mul(l, lambda);
    }
    uint64_t y = gl_pow(GL_GENERATOR, n), we = gl_root_of_unity(log_e);
    for (size_t k = 0; k < E; k++) {
        (*inv_zn)[k] = gl_inv(gl_sub(y, 1));
        y = gl_mul(y, we);
    }
    return SPW_OK;
}

/* The composition values (3 columns of NE) at every point of the coset
 * GL_GENERATOR * <w_NE>, NE = n * E, from main / aux columns on that coset. */
static spw_status comp_dev(grun *g, uint64_t *q, const spw_air_table *t, const uint64_t *main,
                           const uint64_t *aux, unsigned log_n, unsigned log_e, const fe3 *d_ch,
                           const uint64_t *d_pub, fe3 logup_sum, fe3 lambda)
{
    size_t n = (size_t)1 << log_n, E = (size_t)1 << log_e, NE = n << log_e;
    spw_gpu_insn *prog = NULL;
    spw_gpu_cons *cons = NULL;
    uint32_t plen = 0, nslots = 0;
    SPW_TRY(spw_gpu_comp_program(g->ctx, t, &prog, &plen, &nslots, &cons));
    fe3 *lpow = NULL;
    uint64_t *inv_zn = NULL;
    void *d_prog = NULL, *d_cons = NULL, *d_lpow = NULL, *d_izn = NULL;
    spw_status st = spw_gpu_comp_consts(g->ctx, t, log_n, log_e, lambda, &lpow, &inv_zn);
    if (st == SPW_OK) {
        if ((st = upload(g, &d_prog, prog, (uint64_t)plen * sizeof *prog)) == SPW_OK &&
            (st = upload(g, &d_cons, cons, (uint64_t)t->n_constraints * sizeof *cons)) == SPW_OK &&
            (st = upload(g, &d_lpow, lpow, (uint64_t)t->n_constraints * sizeof(fe3))) == SPW_OK &&
            (st = upload(g, &d_izn, inv_zn, E * 8)) == SPW_OK && spw_cuda_stream_sync(g->s) != SPW_OK)
            st = dev_fail(g, SPW_ERR_CUDA);
    }
    free(prog);
    free(cons);
    free(lpow);
    free(inv_zn);
    SPW_TRY(st);
    uint64_t *scr = NULL;
    uint64_t room = spw_cuda_arena_largest_free(g->A);
    uint64_t cap = room / 2 < ((uint64_t)256 << 20) ? room / 2 : ((uint64_t)256 << 20);
    size_t threads = spw_gpu_comp_threads(NE, nslots, cap);
    SPW_TRY(dalloc(g, &scr, (uint64_t)(nslots ? nslots : 1) * 3 * 8 * threads));
    spw_gpu_comp_args ca = {d_prog, plen, nslots, d_cons, t->n_constraints, d_lpow, d_ch, d_pub,
                            logup_sum, main, t->n_aux ? aux : NULL, NE, E, d_izn,
                            gl_root_of_unity(log_n + log_e), gl_inv(gl_root_of_unity(log_n)), q,
                            0, 0, 0, 0, 0};
    D(spw_gpu_comp_eval(g->s, &ca, scr, threads));
    D(spw_cuda_stream_sync(g->s));
    dfree(g, scr);
    dfree(g, d_prog);
    dfree(g, d_cons);
    dfree(g, d_lpow);
    dfree(g, d_izn);
    return SPW_OK;
}

spw_status spw_gpu_composition_values(spw_ctx *ctx, spw_cuda_arena *A, spw_cuda_stream s,
                                      uint64_t *d_q, const spw_air_table *t,
                                      const uint64_t *d_main, const uint64_t *d_aux,
                                      unsigned log_e, const fe3 *d_challenges,
                                      const uint64_t *d_publics, fe3 logup_sum, fe3 lambda)
{
    grun g = {ctx, A, s, "composition", t->name, 0, 0, NULL, 0};
    return comp_dev(&g, d_q, t, d_main, d_aux, t->log_height, log_e, d_challenges, d_publics,
                    logup_sum, lambda);
}

static spw_status g_round_comp(grun *g, gtab *s, const fe3 *d_ch, const uint64_t *d_pub,
                               fe3 logup_sum, fe3 lambda, unsigned log_b, int forced,
                               spw_digest *root)
{
    const spw_air_table *t = s->t;
    uint32_t sp = s->n_parts;
    unsigned log_e = spw_stark_log_e(t, log_b);
    size_t NE = s->n << log_e, nm = t->n_main;
    size_t na = 3 * (size_t)t->n_aux;
    uint64_t *main = s->main_lde, *aux = s->aux_lde;
    if (log_e != log_b) {
        SPW_TRY(dalloc(g, &main, nm * NE * 8));
        SPW_TRY(coset_eval(g, main, s->main_coef, nm, s->log_n, log_e));
        if (na) {
            SPW_TRY(dalloc(g, &aux, na * NE * 8));
            SPW_TRY(coset_eval(g, aux, s->aux_coef, na, s->log_n, log_e));
        }
    }
    uint64_t *q = NULL;
    SPW_TRY(dalloc(g, &q, 3 * NE * 8));
    SPW_TRY(comp_dev(g, q, t, main, aux, s->log_n, log_e, d_ch, d_pub, logup_sum, lambda));
    if (main != s->main_lde) dfree(g, main);
    if (aux != s->aux_lde) dfree(g, aux);
    /* interpolate from the coset, check the degree, split into parts */
    unsigned log_ne = s->log_n + log_e;
    D(spw_cuda_ntt_inverse_batch(g->A, g->s, q, 3, NE, log_ne));
    uint64_t *pw = NULL;
    uint32_t *flag = NULL, hflag = 0;
    SPW_TRY(dalloc(g, &pw, NE * 8));
    D(spw_gpu_powers(g->s, pw, NE, gl_inv(GL_GENERATOR)));
    D(spw_gpu_scale_pad(g->s, q, NE, q, NE, 3, NE, pw));
    dfree(g, pw);
    size_t deg = (size_t)sp * s->n;
    if (!forced && deg < NE) {
        SPW_TRY(dalloc(g, &flag, 4));
        D(spw_cuda_memset_async(flag, 0, 4, g->s));
        D(spw_gpu_any_nonzero(g->s, flag, q, 3, NE, deg, NE));
        SPW_TRY(download(g, &hflag, flag, 4));
        dfree(g, flag);
        if (hflag) {
            g->bad_trace = 1;
            return spw_fail(g->ctx, SPW_ERR_INTERNAL,
                            "prove: table '%s': composition quotient has degree >= %zu "
                            "(constraints not satisfied or degree miscomputed)",
                            t->name, deg);
        }
    }
    SPW_TRY(dalloc(g, &s->comp_coef, 3 * (uint64_t)sp * s->n * 8));
    for (uint32_t i = 0; i < sp; i++)
        for (int c = 0; c < 3; c++)
            D(spw_cuda_memcpy_async(s->comp_coef + (3 * (size_t)i + c) * s->n,
                                    q + c * NE + (size_t)i * s->n, s->n * 8, g->s));
    dfree(g, q);
    SPW_TRY(dalloc(g, &s->comp_lde, 3 * (uint64_t)sp * s->N * 8));
    SPW_TRY(coset_eval(g, s->comp_lde, s->comp_coef, 3 * (size_t)sp, s->log_n, log_b));
    return commit(g, &s->comp_tree, s->comp_lde, 3 * (size_t)sp, s->N, root);
}

/* ---- round 4: out-of-domain values ---- */

static spw_status g_round_ood(grun *g, gtab *s, spw_proof_table *pt, fe3 zeta)
{
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts;
    size_t mx = nm > na ? nm : na;
    if (nc > mx) mx = nc;
    size_t nseg = spw_gpu_dot_segments(s->n);
    fe3 *pz = NULL, *pzw = NULL, *dp = NULL;
    fe3 *hp = spw_malloc_array(mx * nseg, sizeof(fe3));
    if (!hp) return spw_fail(g->ctx, SPW_ERR_NOMEM, "prove: out of memory (OOD)");
    spw_status st = SPW_OK;
    fe3 zw = fe3_mul_base(zeta, gl_root_of_unity(s->log_n));
    fe3 *o = pt->ood;
    if ((st = dalloc(g, &pz, s->n * sizeof(fe3))) != SPW_OK ||
        (st = dalloc(g, &pzw, s->n * sizeof(fe3))) != SPW_OK ||
        (st = dalloc(g, &dp, mx * nseg * sizeof(fe3))) != SPW_OK)
        goto out;
#define DD(call)                                   \
    if ((st = (call)) != SPW_OK) {                 \
        st = dev_fail(g, st);                      \
        goto out;                                  \
    }
    DD(spw_gpu_powers_ext(g->s, pz, s->n, zeta));
    DD(spw_gpu_powers_ext(g->s, pzw, s->n, zw));
    DD(spw_gpu_dot_host(g->s, o, s->main_coef, nm, s->n, s->n, pz, dp, hp));
    DD(spw_gpu_dot_host(g->s, o + nm, s->main_coef, nm, s->n, s->n, pzw, dp, hp));
    if (na) {
        DD(spw_gpu_dot_host(g->s, o + 2 * nm, s->aux_coef, na, s->n, s->n, pz, dp, hp));
        DD(spw_gpu_dot_host(g->s, o + 2 * nm + na, s->aux_coef, na, s->n, s->n, pzw, dp, hp));
    }
    DD(spw_gpu_dot_host(g->s, o + 2 * nm + 2 * na, s->comp_coef, nc, s->n, s->n, pz, dp, hp));
#undef DD
out:
    free(hp);
    dfree(g, pz);
    dfree(g, pzw);
    dfree(g, dp);
    return st;
}

/* ---- round 5: DEEP into the FRI input layers ---- */

static spw_status g_round_deep(grun *g, gtab *s, const spw_proof_table *pt, fe3 zeta, fe3 gamma,
                               fe3 *gpow, uint64_t *layer, int accumulate)
{
    size_t nm = s->t->n_main, na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts;
    size_t n1 = nm + na + nc, n2 = nm + na;
    fe3 *gh = spw_malloc_array(n1 + n2, sizeof(fe3));
    if (!gh) return spw_fail(g->ctx, SPW_ERR_NOMEM, "prove: out of memory (DEEP)");
    fe3 v1, v2;
    spw_deep_ood_sums(gh, &v1, &v2, gpow, gamma, pt->ood, nm, na, nc);
    fe3 *dg = NULL;
    spw_status st = upload(g, &dg, gh, (n1 + n2) * sizeof(fe3));
    if (st == SPW_OK && spw_cuda_stream_sync(g->s) != SPW_OK) st = dev_fail(g, SPW_ERR_CUDA);
    free(gh);
    SPW_TRY(st);
    spw_gpu_deep_args da = {s->main_lde, s->aux_lde, s->comp_lde, (uint32_t)nm, (uint32_t)na,
                            (uint32_t)nc, dg, dg + n1, v1, v2, zeta,
                            fe3_mul_base(zeta, gl_root_of_unity(s->log_n)), s->log_N, accumulate,
                            layer, 0, 0, 0, NULL, 0};
    D(spw_gpu_deep(g->s, &da));
    D(spw_cuda_stream_sync(g->s));
    dfree(g, dg);
    return SPW_OK;
}

/* ---- openings ---- */

static spw_status open_cols(grun *g, uint64_t *h_vals, spw_digest *h_paths, const uint64_t *cols,
                            size_t ncols, size_t stride, const uint8_t *tree, unsigned log_leaves,
                            const uint64_t *d_idx, size_t nq)
{
    uint64_t *dv = NULL;
    uint8_t *dp = NULL;
    SPW_TRY(dalloc(g, &dv, nq * ncols * 8));
    SPW_TRY(dalloc(g, &dp, nq * (uint64_t)log_leaves * 32));
    D(spw_gpu_gather_rows(g->s, dv, cols, ncols, stride, d_idx, nq));
    if (log_leaves) D(spw_cuda_merkle_paths(g->s, dp, tree, log_leaves, d_idx, nq));
    SPW_TRY(download(g, h_vals, dv, nq * ncols * 8));
    SPW_TRY(download(g, h_paths, dp, nq * (uint64_t)log_leaves * 32));
    dfree(g, dv);
    dfree(g, dp);
    return SPW_OK;
}

/* ---- the pre-proof checks, in a host thread beside the device rounds ---- */

typedef struct check_job {
    spw_ctx ctx; /* a copy: its error message does not race the device's */
    const spw_air_def *def;
    const spw_trace *trace;
    const spw_statement *stmt;
    spw_status st;
    double seconds;
} check_job;

static void *check_thread(void *arg)
{
    check_job *j = arg;
    double t0 = spw_now();
    j->st = spw_air_check_trace(&j->ctx, j->def, j->trace, j->stmt ? j->stmt->publics : NULL,
                                j->stmt ? j->stmt->n_publics : 0);
    if (j->st == SPW_OK) j->st = spw_logup_check_balance(&j->ctx, j->def, j->trace);
    j->seconds = spw_now() - t0;
    return NULL;
}

/* ---- driver ---- */

static spw_status run_rounds(grun *g, spw_proof *P, gtab *S, const spw_air_def *def,
                             const spw_trace *trace, int forced, unsigned log_b, unsigned max_lh,
                             spw_prove_stats *stats, spw_gpu_run_stats *gs)
{
    spw_ctx *ctx = g->ctx;
    double tr0 = spw_now();
#define LAP(round)                                             \
    do {                                                       \
        double now_ = spw_now();                               \
        stats->seconds[round] += now_ - tr0;                   \
        gs->seconds[round] += now_ - tr0;                      \
        tr0 = now_;                                            \
    } while (0)
    spw_transcript tr;
    spw_transcript_init(&tr);
    uint8_t *pre = NULL;
    size_t pre_len;
    SPW_TRY(spw_proof_preamble(ctx, &pre, &pre_len, P));
    spw_transcript_absorb(&tr, pre, pre_len);
    free(pre);
    uint8_t dig[32];
    spw_air_digest(dig, def);
    spw_transcript_absorb(&tr, dig, 32);

    for (uint32_t t = 0; t < def->n_tables; t++) {
        phase(g, "main commit", S[t].t->name);
        SPW_TRY(gprog(g, SPW_ROUND_MAIN, t));
        SPW_TRY(g_round_main(g, &S[t], trace, t, log_b, &P->tables[t].main_root));
        spw_transcript_absorb(&tr, P->tables[t].main_root.b, 32);
    }
    SPW_TRY(gprog(g, SPW_ROUND_MAIN, def->n_tables));
    LAP(SPW_ROUND_MAIN);

    phase(g, "LogUp aux commit", NULL);
    SPW_TRY(gprog(g, SPW_ROUND_AUX, 0));
    uint32_t n_ch = def->n_challenges > 2 ? def->n_challenges : 2;
    fe3 ch[256];
    fe3 *chp = n_ch <= 256 ? ch : spw_malloc_array(n_ch, sizeof(fe3));
    if (!chp) return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (challenges)");
    for (uint32_t i = 0; i < n_ch; i++) chp[i] = spw_transcript_ext3(&tr);
    fe3 *d_ch = NULL;
    uint64_t *d_pub = NULL;
    spw_status st = upload(g, &d_ch, chp, n_ch * sizeof(fe3));
    if (st == SPW_OK) st = upload(g, &d_pub, P->publics, (uint64_t)P->n_publics * 8);
    for (uint32_t t = 0; t < def->n_tables && st == SPW_OK; t++) {
        phase(g, "LogUp aux commit", S[t].t->name);
        st = gprog(g, SPW_ROUND_AUX, t);
        if (st == SPW_OK)
            st = g_round_aux(g, &S[t], chp, &P->tables[t].logup_sum, log_b, &P->tables[t].aux_root);
        if (st == SPW_OK && S[t].t->n_aux) {
            uint8_t b[56];
            memcpy(b, P->tables[t].aux_root.b, 32);
            for (int c = 0; c < 3; c++) spw_put_u64le(b + 32 + 8 * c, P->tables[t].logup_sum.c[c]);
            spw_transcript_absorb(&tr, b, 56);
        }
        dfree(g, S[t].trace);
        S[t].trace = NULL;
    }
    if (chp != ch) free(chp);
    SPW_TRY(st);
    if (!forced) { /* balanced buses cancel exactly (the verifier checks it too) */
        fe3 tot = fe3_zero();
        for (uint32_t t = 0; t < def->n_tables; t++) tot = fe3_add(tot, P->tables[t].logup_sum);
        if (!fe3_is_zero(tot)) {
            g->bad_trace = 1;
            return spw_fail(ctx, SPW_ERR_BUS_UNBALANCED,
                            "GPU backend: the tables' LogUp sums do not cancel");
        }
    }
    SPW_TRY(gprog(g, SPW_ROUND_AUX, def->n_tables));
    LAP(SPW_ROUND_AUX);

    for (uint32_t t = 0; t < def->n_tables; t++) {
        phase(g, "composition", S[t].t->name);
        SPW_TRY(gprog(g, SPW_ROUND_COMP, t));
        fe3 lambda = spw_transcript_ext3(&tr);
        SPW_TRY(g_round_comp(g, &S[t], d_ch, d_pub, P->tables[t].logup_sum, lambda, log_b, forced,
                             &P->tables[t].comp_root));
    }
    for (uint32_t t = 0; t < def->n_tables; t++)
        spw_transcript_absorb(&tr, P->tables[t].comp_root.b, 32);
    dfree(g, d_ch);
    dfree(g, d_pub);
    SPW_TRY(gprog(g, SPW_ROUND_COMP, def->n_tables));
    LAP(SPW_ROUND_COMP);

    fe3 zeta;
    do zeta = spw_transcript_ext3(&tr);
    while (zeta.c[1] == 0 && zeta.c[2] == 0);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        phase(g, "out-of-domain", S[t].t->name);
        SPW_TRY(gprog(g, SPW_ROUND_OOD, t));
        SPW_TRY(g_round_ood(g, &S[t], &P->tables[t], zeta));
        size_t nb = 24 * (size_t)spw_proof_n_ood(&P->tables[t]);
        uint8_t *b = malloc(nb);
        if (!b) return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (OOD bytes)");
        spw_proof_ood_bytes(b, &P->tables[t]);
        spw_transcript_absorb(&tr, b, nb);
        free(b);
    }
    SPW_TRY(gprog(g, SPW_ROUND_OOD, def->n_tables));
    LAP(SPW_ROUND_OOD);

    /* DEEP: tables of LDE size N_i add into FRI input layer i (leaf layout) */
    unsigned log_n0 = max_lh + log_b, R = P->n_layers;
    uint64_t *layer[SPW_MAX_LOG_HEIGHT + 8] = {0};
    uint8_t *ftree[SPW_MAX_LOG_HEIGHT + 8] = {0};
    fe3 gamma = spw_transcript_ext3(&tr), gpow = fe3_one();
    for (uint32_t t = 0; t < def->n_tables; t++) {
        phase(g, "DEEP", S[t].t->name);
        SPW_TRY(gprog(g, SPW_ROUND_DEEP, t));
        unsigned i = log_n0 - S[t].log_N;
        int acc = layer[i] != NULL;
        if (!acc) SPW_TRY(dalloc(g, &layer[i], 3 * (uint64_t)S[t].N * 8));
        SPW_TRY(g_round_deep(g, &S[t], &P->tables[t], zeta, gamma, &gpow, layer[i], acc));
    }
    SPW_TRY(gprog(g, SPW_ROUND_DEEP, def->n_tables));
    LAP(SPW_ROUND_DEEP);

    /* FRI commit: layer i+1 = fold(layer i) + beta^2 * rollin[i+1] */
    phase(g, "FRI", NULL);
    uint64_t fri_units = 48ull << log_n0; /* as the CPU prover: 2 x 24 x N0 */
    SPW_TRY(gprog_round(g, SPW_ROUND_FRI, 0, fri_units));
    uint64_t sh = GL_GENERATOR;
    for (unsigned i = 0; i < R; i++) {
        size_t ni = (size_t)1 << (log_n0 - i), half = ni / 2;
        SPW_TRY(commit(g, &ftree[i], layer[i], 6, half, &P->layers[i].root));
        spw_transcript_absorb(&tr, P->layers[i].root.b, 32);
        fe3 beta = spw_transcript_ext3(&tr);
        uint64_t *rollin = layer[i + 1], *next = NULL;
        SPW_TRY(dalloc(g, &next, 3 * (uint64_t)half * 8));
        D(spw_gpu_fri_fold(g->s, next, layer[i], log_n0 - i, beta, rollin, gl_inv(sh)));
        if (rollin) {
            D(spw_cuda_stream_sync(g->s));
            dfree(g, rollin);
        }
        layer[i + 1] = next;
        sh = gl_mul(sh, sh);
        /* layers 0..i committed (their root download waited for them);
         * a report within the step, rate-limited by the progress layer */
        spw_progress_report(ctx, spw_round_names[SPW_ROUND_FRI], -1,
                            fri_units - (fri_units >> (i + 1)), fri_units);
    }
    {
        unsigned log_nr = log_n0 - R;
        size_t nr = (size_t)1 << log_nr, h = nr / 2;
        uint64_t *lv = spw_malloc_array(3 * nr, 8), *cols = spw_malloc_array(3 * nr, 8);
        if (!lv || !cols) {
            free(lv);
            free(cols);
            return spw_fail(ctx, SPW_ERR_NOMEM, "FRI: out of memory");
        }
        st = download(g, lv, layer[R], 3 * nr * 8);
        for (size_t k = 0; k < nr && st == SPW_OK; k++)
            for (int c = 0; c < 3; c++)
                cols[c * nr + k] = lv[((k >= h ? 3 : 0) + c) * h + (k & (h - 1))];
        free(lv);
        if (st == SPW_OK) st = spw_fri_final_poly(ctx, &tr, P, cols, log_nr, sh);
        free(cols);
        if (st != SPW_OK) return st;
    }
    LAP(SPW_ROUND_FRI);
    SPW_TRY(gprog_round(g, SPW_ROUND_GRIND, 0, 0));

    P->nonce = spw_transcript_grind(&tr, P->params.grinding_bits);
    {
        uint8_t nb[8];
        spw_put_u64le(nb, P->nonce);
        spw_transcript_absorb(&tr, nb, 8);
    }
    LAP(SPW_ROUND_GRIND);
    SPW_TRY(gprog_round(g, SPW_ROUND_QUERY, 0, 0));

    /* queries: every index first (opening absorbs nothing), then gathers */
    phase(g, "queries", NULL);
    size_t nq = P->params.n_queries;
    uint64_t *q0 = spw_malloc_array(nq + 1, 8), *idx = spw_malloc_array(nq + 1, 8);
    if (!q0 || !idx) {
        free(q0);
        free(idx);
        return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (queries)");
    }
    for (size_t j = 0; j < nq; j++) q0[j] = spw_transcript_index(&tr, log_n0);
    uint64_t *d_idx = NULL;
    st = dalloc(g, &d_idx, (nq + 1) * 8);
    for (uint32_t t = 0; t < def->n_tables && st == SPW_OK; t++) {
        gtab *s = &S[t];
        spw_proof_table *pt = &P->tables[t];
        g->table = s->t->name;
        for (size_t j = 0; j < nq; j++) idx[j] = q0[j] & (s->N - 1);
        if (spw_cuda_memcpy_async(d_idx, idx, nq * 8, g->s) != SPW_OK ||
            spw_cuda_stream_sync(g->s) != SPW_OK) {
            st = dev_fail(g, SPW_ERR_CUDA);
            break;
        }
        size_t na = 3 * (size_t)s->t->n_aux, nc = 3 * (size_t)s->n_parts;
        st = open_cols(g, pt->q_main, pt->q_main_path, s->main_lde, s->t->n_main, s->N,
                       s->main_tree, s->log_N, d_idx, nq);
        if (st == SPW_OK && na)
            st = open_cols(g, pt->q_aux, pt->q_aux_path, s->aux_lde, na, s->N, s->aux_tree,
                           s->log_N, d_idx, nq);
        if (st == SPW_OK)
            st = open_cols(g, pt->q_comp, pt->q_comp_path, s->comp_lde, nc, s->N, s->comp_tree,
                           s->log_N, d_idx, nq);
    }
    g->table = NULL;
    for (unsigned i = 0; i < R && st == SPW_OK; i++) {
        size_t ni = (size_t)1 << (log_n0 - i), half = ni / 2;
        for (size_t j = 0; j < nq; j++) idx[j] = (q0[j] & (ni - 1)) & (half - 1);
        if (spw_cuda_memcpy_async(d_idx, idx, nq * 8, g->s) != SPW_OK ||
            spw_cuda_stream_sync(g->s) != SPW_OK) {
            st = dev_fail(g, SPW_ERR_CUDA);
            break;
        }
        st = open_cols(g, P->layers[i].q_vals, P->layers[i].q_path, layer[i], 6, half, ftree[i],
                       log_n0 - i - 1, d_idx, nq);
    }
    free(q0);
    free(idx);
    SPW_TRY(st);
    LAP(SPW_ROUND_QUERY);
#undef LAP
    return SPW_OK;
}

spw_status spw_gpu_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                         const spw_air_def *def, const spw_trace *trace,
                         const spw_statement *stmt, const spw_prove_opts *opts,
                         spw_prove_stats *stats, int *handled)
{
    *handled = 0;
    /* the proof's time starts here: the device set-up (context, arena
     * reservation) is part of the "checks" step, as on the streaming tier */
    double t_entry = spw_now();
    int want_cuda = ctx->backend == SPW_BACKEND_CUDA;
    spw_gpu_run_stats gs;
    memset(&gs, 0, sizeof gs);
    set_last(&gs);
    if (spw_cuda_device_count() <= 0) {
        if (want_cuda) return spw_fail(ctx, SPW_ERR_NO_CUDA, "prove: --backend cuda: no CUDA device");
        pthread_mutex_lock(&g_lock);
        g_fallbacks++;
        pthread_mutex_unlock(&g_lock);
        spw_log(ctx, SPW_LOG_INFO, "GPU backend: no CUDA device; proving on the CPU backend");
        return SPW_OK;
    }
    unsigned blowup = ctx->blowup ? ctx->blowup : 4, log_b = spw_log2(blowup);
    uint64_t total = 0, freemem = 0;
    (void)spw_cuda_device_info(gs.device, sizeof gs.device, &total, &freemem);
    uint64_t budget = ctx->vram_budget ? ctx->vram_budget : freemem / 10 * 9;
    uint64_t est = spw_gpu_estimate(def, blowup);
    gs.budget = budget;
    gs.estimate = est;
    if (est > budget || ctx->mode == SPW_MODE_SPILLED) {
        /* not resident: the streaming device tier runs the rounds
         * (src/sched/dev.h), after the host checks */
        spw_log(ctx, SPW_LOG_INFO,
                "GPU backend: the resident working set (%llu MiB) %s the VRAM budget (%llu MiB)%s: "
                "streaming device tier", (unsigned long long)(est >> 20),
                est > budget ? "exceeds" : "fits", (unsigned long long)(budget >> 20),
                est > budget ? "" : ", --mode spilled");
        gs.stream = 1;
        set_last(&gs);
        return SPW_OK;
    }
    /* the arena reserves the estimate plus slack against fragmentation,
     * never more than the budget, before anything else starts: when the
     * device cannot give it, auto falls back to the CPU */
    uint64_t reserve = est + est / 8 + ((uint64_t)64 << 20);
    if (reserve > budget) reserve = budget;
    gs.reserved = reserve;
    spw_cuda_arena *arena = NULL;
    spw_status ast = spw_cuda_arena_create(&arena, reserve);
    if (ast != SPW_OK) {
        char why[300];
        snprintf(why, sizeof why, "cannot reserve %llu MiB of device memory: %s",
                 (unsigned long long)(reserve >> 20), spw_cuda_last_error());
        set_last(&gs);
        if (want_cuda) return spw_fail(ctx, ast, "prove: --backend cuda: %s", why);
        note_fallback(ctx, why);
        return SPW_OK;
    }
    *handled = 1;

    int forced = opts && opts->skip_checks;
    double t0 = t_entry, setup = spw_now() - t_entry;
    uint64_t k0 = spw_cuda_kernel_launches();
    spw_cuda_copy_stats c0, c1;
    spw_cuda_copy_totals(&c0);
    /* progress: the set-up (and host checks that cannot overlap) is the
     * "checks" step, as on the CPU backend */
    spw_progress_report(ctx, spw_round_names[SPW_ROUND_CHECK], -1, 0, 0);
    unsigned max_lh = 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        if (def->tables[t].log_height > max_lh) max_lh = def->tables[t].log_height;
    }
    check_job cj = {*ctx, def, trace, stmt, SPW_OK, 0};
    pthread_t th;
    int th_started = 0;
    /* Pre-proof checks: by default the device rounds detect a bad trace
     * themselves (a violated constraint fails the composition degree check,
     * an unbalanced bus leaves sum L_t != 0, both with probability
     * 1 - 2^-150 or better) and the host checks run only then, to name the
     * table, constraint and row exactly as the CPU backend does.
     * SPW_GPU_HOST_CHECKS=1 runs them on every proof, in a host thread beside
     * the device rounds. */
    int host_checks = !forced && getenv("SPW_GPU_HOST_CHECKS") != NULL;
    /* a table whose quotient fills its whole composition domain (parts =
     * 2^log_e) leaves the degree check nothing to look at: then the host
     * checks must run on every proof */
    if (!forced && spw_stark_degree_check_blind(def, log_b)) host_checks = 1;
    if (host_checks) {
        if (pthread_create(&th, NULL, check_thread, &cj) == 0) th_started = 1;
        else check_thread(&cj);
    }
    if (host_checks && !th_started && cj.st != SPW_OK) {
        snprintf(ctx->last_error, sizeof ctx->last_error, "%s", cj.ctx.last_error);
        spw_cuda_arena_destroy(arena);
        return cj.st;
    }

    spw_status st = SPW_OK;
    spw_proof P;
    memset(&P, 0, sizeof P);
    grun g = {ctx, arena, NULL, "setup", NULL, budget, 0, def, log_b};
    gtab *S = spw_calloc_array(def->n_tables, sizeof(gtab));
    if (!S) {
        st = spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (tables)");
        goto out;
    }
    if ((st = spw_proof_begin(ctx, &P, def, stmt, blowup)) != SPW_OK) goto out;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        gtab *s = &S[t];
        s->t = tb;
        s->log_n = tb->log_height;
        s->log_N = tb->log_height + log_b;
        s->n = (size_t)1 << s->log_n;
        s->N = (size_t)1 << s->log_N;
        s->n_parts = P.tables[t].n_parts;
    }
    /* one stream, the legacy default one: the NTT builds its cached twiddle
     * tables there, so arena blocks freed here and reused by those builds
     * are ordered after every kernel that used them */
    g.s = NULL;
    st = run_rounds(&g, &P, S, def, trace, forced, log_b, max_lh, stats, &gs);
    if (g.s) (void)spw_cuda_stream_sync(g.s);
    gs.peak = spw_cuda_arena_peak(g.A);
out:;
    /* waiting for the host checks: charged to the "checks" step (its time
     * that did not overlap the device rounds) */
    double tj = spw_now();
    spw_stats_pause(ctx);
    if (th_started) {
        pthread_join(th, NULL);
        th_started = 0;
    } else if (!forced && !host_checks && st != SPW_OK && g.bad_trace) {
        /* the rounds saw a bad trace: the host checks name the culprit */
        check_thread(&cj);
        if (cj.st == SPW_OK)
            spw_log(ctx, SPW_LOG_WARN, "GPU backend: the host checks accept the trace that the "
                                       "device rounds rejected");
    }
    spw_stats_add_time(ctx, spw_round_names[SPW_ROUND_CHECK], -1, spw_now() - tj + setup);
    stats->seconds[SPW_ROUND_CHECK] = cj.seconds + setup;
    gs.seconds[SPW_ROUND_CHECK] = cj.seconds + setup;
    if (cj.st != SPW_OK) { /* a bad trace wins over anything else */
        snprintf(ctx->last_error, sizeof ctx->last_error, "%s", cj.ctx.last_error);
        st = cj.st;
    }
    if (st == SPW_OK) {
        spw_progress_report(ctx, spw_round_names[SPW_ROUND_ENCODE], -1, 0, 0);
        double te = spw_now();
        st = spw_proof_encode(ctx, proof_out, proof_len, &P);
        stats->seconds[SPW_ROUND_ENCODE] += spw_now() - te;
        gs.seconds[SPW_ROUND_ENCODE] = stats->seconds[SPW_ROUND_ENCODE];
        spw_stats_pause(ctx); /* the tear-down below is in no round */
    }
    stats->total = spw_now() - t0;
    /* wall time of the call not in a device round nor encode: set-up and the
     * wait for the host checks (they overlap the rounds otherwise) */
    gs.check_wall = stats->total;
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        if (r != SPW_ROUND_CHECK) gs.check_wall -= stats->seconds[r];
    if (gs.check_wall < 0) gs.check_wall = 0;
    /* host <-> device traffic of this call (every copy has finished) */
    spw_cuda_copy_totals(&c1);
    gs.h2d_bytes = c1.h2d_bytes - c0.h2d_bytes;
    gs.d2h_bytes = c1.d2h_bytes - c0.d2h_bytes;
    gs.h2d_seconds = c1.h2d_seconds - c0.h2d_seconds;
    gs.d2h_seconds = c1.d2h_seconds - c0.d2h_seconds;
    if (st == SPW_OK) {
        spw_stats_link_add(ctx, "host->device", gs.h2d_bytes, gs.h2d_seconds, 0);
        spw_stats_link_add(ctx, "device->host", gs.d2h_bytes, gs.d2h_seconds, 0);
    }
    gs.used_device = st == SPW_OK;
    gs.kernels = spw_cuda_kernel_launches() - k0;
    set_last(&gs);
    spw_cuda_arena_destroy(g.A);
    free(S);
    spw_proof_clear(&P);
    if (st != SPW_OK && *proof_out) {
        spw_free(*proof_out);
        *proof_out = NULL;
        *proof_len = 0;
    }
    return st;
}

#endif /* SPW_HAVE_CUDA */
