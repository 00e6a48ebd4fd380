/*
 * logup.c - LogUp aux trace (packed term columns + accumulator) built in one
 * shot or in row chunks with the running sum carried, with batch-inverted
 * fingerprints; and the exact pre-proof bus balance check (per bus, a hash
 * map from value tuple to net multiplicity). Formulas in docs/AIR.md.
 */
#include "logup.h"
#include "trace.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LU_BLOCK 256 /* rows per evaluation block */

/* ---- evaluation of bus expressions (base field, current row only) ---- */

/* The instructions that the interactions of t need, in program order, and
 * the main columns they read. */
typedef struct lu_plan {
    uint32_t *need, n_need;
    uint32_t *slot;     /* prog index -> slot in the block scratch */
    uint32_t *cols, n_cols;
} lu_plan;

static void plan_free(lu_plan *p)
{
    free(p->need);
    free(p->slot);
    free(p->cols);
    memset(p, 0, sizeof *p);
}

static spw_status plan_make(const spw_ctx *ctx, lu_plan *p, const spw_air_table *t)
{
    memset(p, 0, sizeof *p);
    uint8_t *mark = calloc(t->prog_len ? t->prog_len : 1, 1);
    uint8_t *cmark = calloc(t->n_main, 1);
    p->slot = calloc(t->prog_len ? t->prog_len : 1, sizeof *p->slot);
    if (!mark || !cmark || !p->slot) goto nomem;
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
        } else if (in->op == SPW_OP_MAIN) {
            cmark[in->k] = 1;
        } else if (in->op != SPW_OP_CONST) {
            free(mark);
            free(cmark);
            plan_free(p);
            return spw_fail(ctx, SPW_ERR_INTERNAL, "table %s: bus expression uses opcode %u",
                            t->name, in->op);
        }
    }
    for (uint32_t i = 0; i < t->prog_len; i++) p->n_need += mark[i];
    for (uint32_t c = 0; c < t->n_main; c++) p->n_cols += cmark[c];
    p->need = malloc((p->n_need ? p->n_need : 1) * sizeof *p->need);
    p->cols = malloc((p->n_cols ? p->n_cols : 1) * sizeof *p->cols);
    if (!p->need || !p->cols) goto nomem;
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->prog_len; i++)
        if (mark[i]) {
            p->slot[i] = n;
            p->need[n++] = i;
        }
    n = 0;
    for (uint32_t c = 0; c < t->n_main; c++)
        if (cmark[c]) p->cols[n++] = c;
    free(mark);
    free(cmark);
    return SPW_OK;
nomem:
    free(mark);
    free(cmark);
    plan_free(p);
    return spw_fail(ctx, SPW_ERR_NOMEM, "LogUp: out of memory");
}

/* Evaluates the planned instructions for rows [0, nr) of a block; main
 * column c row r at main[c * stride + r]. s has n_need * LU_BLOCK values. */
static void eval_block(const spw_air_table *t, const lu_plan *p, const uint64_t *main, size_t stride,
                       size_t nr, uint64_t *s)
{
    for (uint32_t j = 0; j < p->n_need; j++) {
        const spw_insn *in = &t->prog[p->need[j]];
        uint64_t *d = s + (size_t)j * LU_BLOCK;
        const uint64_t *a = s + (size_t)p->slot[in->a] * LU_BLOCK;
        const uint64_t *b = s + (size_t)p->slot[in->b] * LU_BLOCK;
        size_t r;
        switch (in->op) {
        case SPW_OP_CONST:
            for (r = 0; r < nr; r++) d[r] = in->k;
            break;
        case SPW_OP_MAIN: {
            const uint64_t *c = main + in->k * stride;
            for (r = 0; r < nr; r++) d[r] = c[r];
            break;
        }
        case SPW_OP_ADD:
            for (r = 0; r < nr; r++) d[r] = gl_add(a[r], b[r]);
            break;
        case SPW_OP_SUB:
            for (r = 0; r < nr; r++) d[r] = gl_sub(a[r], b[r]);
            break;
        case SPW_OP_MUL:
            for (r = 0; r < nr; r++) d[r] = gl_mul(a[r], b[r]);
            break;
        case SPW_OP_NEG:
            for (r = 0; r < nr; r++) d[r] = gl_neg(a[r]);
            break;
        default:
            for (r = 0; r < nr; r++) d[r] = 0;
            break;
        }
    }
}

/* ---- aux build ---- */

typedef struct lu_job {
    const spw_air_table *t;
    const lu_plan *plan;
    const uint64_t *main;
    size_t main_stride;
    uint64_t *aux;
    size_t aux_stride;
    uint64_t nrows;
    fe3 z;
    fe3 apow[65]; /* alpha^1 .. alpha^64 at [1..64] */
    uint64_t bad_row;  /* local row of the first zero fingerprint, or UINT64_MAX */
    int nomem;
} lu_job;

static void aux_store(uint64_t *aux, size_t stride, uint32_t col, uint64_t r, fe3 v)
{
    aux[(3 * (size_t)col + 0) * stride + r] = v.c[0];
    aux[(3 * (size_t)col + 1) * stride + r] = v.c[1];
    aux[(3 * (size_t)col + 2) * stride + r] = v.c[2];
}

static fe3 aux_load(const uint64_t *aux, size_t stride, uint32_t col, uint64_t r)
{
    return fe3_make(aux[(3 * (size_t)col + 0) * stride + r], aux[(3 * (size_t)col + 1) * stride + r],
                    aux[(3 * (size_t)col + 2) * stride + r]);
}

/* Blocks [begin, end) of LU_BLOCK rows: term columns, and the per-row total
 * of the terms into the accumulator column (prefix-summed afterwards). */
static void aux_worker(void *arg, size_t begin, size_t end)
{
    lu_job *j = arg;
    const spw_air_table *t = j->t;
    uint32_t k = t->n_interactions, n_terms = (k + 1) / 2;
    uint64_t *s = malloc(((size_t)j->plan->n_need + 1) * LU_BLOCK * sizeof *s);
    fe3 *fp = malloc((size_t)k * LU_BLOCK * sizeof *fp);
    fe3 *scr = malloc((size_t)k * LU_BLOCK * sizeof *scr);
    if (!s || !fp || !scr) {
        __atomic_store_n(&j->nomem, 1, __ATOMIC_RELAXED);
        goto out;
    }
    for (size_t blk = begin; blk < end; blk++) {
        uint64_t r0 = (uint64_t)blk * LU_BLOCK;
        size_t nr = j->nrows - r0 < LU_BLOCK ? (size_t)(j->nrows - r0) : LU_BLOCK;
        eval_block(t, j->plan, j->main + r0, j->main_stride, nr, s);
        /* fingerprints, interaction-major */
        for (uint32_t i = 0; i < k; i++) {
            const spw_interaction *it = &t->interactions[i];
            fe3 *f = fp + (size_t)i * nr;
            for (size_t r = 0; r < nr; r++) {
                fe3 acc = fe3_from_base(it->bus_id);
                for (uint32_t q = 0; q < it->n_values; q++) {
                    uint64_t v = s[(size_t)j->plan->slot[it->values[q]] * LU_BLOCK + r];
                    acc = fe3_add(acc, fe3_mul_base(j->apow[q + 1], v));
                }
                f[r] = fe3_sub(j->z, acc);
                if (fe3_is_zero(f[r])) {
                    uint64_t row = r0 + r, cur = __atomic_load_n(&j->bad_row, __ATOMIC_RELAXED);
                    while (row < cur &&
                           !__atomic_compare_exchange_n(&j->bad_row, &cur, row, 0, __ATOMIC_RELAXED,
                                                        __ATOMIC_RELAXED)) {
                    }
                    f[r] = fe3_one();
                }
            }
        }
        fe3_batch_inv(fp, fp, (size_t)k * nr, scr); /* zeros were replaced by 1 above */
        for (size_t r = 0; r < nr; r++) {
            fe3 total = fe3_zero();
            for (uint32_t c = 0; c < n_terms; c++) {
                fe3 term = fe3_zero();
                for (uint32_t i = 2 * c; i < 2 * c + 2 && i < k; i++) {
                    const spw_interaction *it = &t->interactions[i];
                    uint64_t m = s[(size_t)j->plan->slot[it->mult] * LU_BLOCK + r];
                    fe3 v = fe3_mul_base(fp[(size_t)i * nr + r], m);
                    term = it->is_sender ? fe3_add(term, v) : fe3_sub(term, v);
                }
                aux_store(j->aux, j->aux_stride, c, r0 + r, term);
                total = fe3_add(total, term);
            }
            aux_store(j->aux, j->aux_stride, n_terms, r0 + r, total);
        }
    }
out:
    free(s);
    free(fp);
    free(scr);
}

spw_status spw_logup_build_aux_chunk(const spw_ctx *ctx, uint64_t *aux, size_t aux_stride,
                                     fe3 *running, const spw_air_table *t, const uint64_t *main,
                                     size_t main_stride, uint64_t row0, uint64_t nrows,
                                     const fe3 *challenges)
{
    SPW_CHECK_NULL(ctx, t);
    SPW_CHECK_NULL(ctx, running);
    SPW_CHECK_NULL(ctx, challenges);
    if (t->n_interactions == 0 || nrows == 0) return SPW_OK;
    SPW_CHECK_NULL(ctx, aux);
    SPW_CHECK_NULL(ctx, main);
    if (t->n_aux != (t->n_interactions + 1) / 2 + 1)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "LogUp: table %s is not finalized", t->name);
    if (aux_stride < nrows || main_stride < nrows)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "LogUp: table %s: stride smaller than the chunk",
                        t->name);
    lu_plan plan;
    SPW_TRY(plan_make(ctx, &plan, t));
    lu_job *j = calloc(1, sizeof *j);
    if (!j) {
        plan_free(&plan);
        return spw_fail(ctx, SPW_ERR_NOMEM, "LogUp: out of memory");
    }
    j->t = t;
    j->plan = &plan;
    j->main = main;
    j->main_stride = main_stride;
    j->aux = aux;
    j->aux_stride = aux_stride;
    j->nrows = nrows;
    j->z = challenges[SPW_CHALLENGE_Z];
    j->apow[0] = fe3_one();
    for (int i = 1; i <= 64; i++) j->apow[i] = fe3_mul(j->apow[i - 1], challenges[SPW_CHALLENGE_ALPHA]);
    j->bad_row = UINT64_MAX;
    size_t nblocks = (size_t)((nrows + LU_BLOCK - 1) / LU_BLOCK);
    spw_parallel_for(ctx, nblocks, 4, aux_worker, j);
    spw_status s = SPW_OK;
    if (j->nomem) {
        s = spw_fail(ctx, SPW_ERR_NOMEM, "LogUp: table %s: out of memory", t->name);
    } else if (j->bad_row != UINT64_MAX) {
        s = spw_fail(ctx, SPW_ERR_INTERNAL, "LogUp: table %s row %llu: zero fingerprint", t->name,
                     (unsigned long long)(row0 + j->bad_row));
    } else {
        /* accumulator: running prefix sum of the per-row totals */
        uint32_t acc = t->n_aux - 1;
        fe3 run = *running;
        for (uint64_t r = 0; r < nrows; r++) {
            run = fe3_add(run, aux_load(aux, aux_stride, acc, r));
            aux_store(aux, aux_stride, acc, r, run);
        }
        *running = run;
    }
    free(j);
    plan_free(&plan);
    return s;
}

spw_status spw_logup_build_aux(const spw_ctx *ctx, uint64_t *aux, fe3 *sum_out,
                               const spw_air_table *t, const uint64_t *main, uint64_t height,
                               const fe3 *challenges)
{
    SPW_CHECK_NULL(ctx, sum_out);
    fe3 run = fe3_zero();
    SPW_TRY(spw_logup_build_aux_chunk(ctx, aux, height, &run, t, main, height, 0, height, challenges));
    *sum_out = run;
    return SPW_OK;
}

/* ---- bus balance (exact) ---- */

typedef struct bal_entry {
    uint64_t hash;
    uint64_t voff;     /* offset of the values in the arena */
    uint64_t net;      /* net multiplicity, field element */
    uint64_t row;      /* first seen */
    uint32_t bus, n, table;
    uint32_t n_full;   /* tuple as first seen (with trailing zeros) */
} bal_entry;

typedef struct bal_map {
    bal_entry *e;
    size_t n, cap;
    uint32_t *idx;    /* open addressing, UINT32_MAX empty */
    size_t idx_cap;
    uint64_t *vals;
    size_t n_vals, vals_cap;
} bal_map;

typedef struct bal_bus {
    uint32_t bus;
    uint64_t *net; /* per table */
} bal_bus;

static uint64_t tuple_hash(uint32_t bus, const uint64_t *v, uint32_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ bus;
    for (uint32_t i = 0; i < n; i++) {
        h ^= v[i] + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h *= 0xBF58476D1CE4E5B9ull;
    }
    return h ^ (h >> 29);
}

static int map_reindex(bal_map *m, size_t cap)
{
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!idx) return -1;
    memset(idx, 0xff, cap * sizeof *idx);
    for (size_t i = 0; i < m->n; i++) {
        size_t h = m->e[i].hash & (cap - 1);
        while (idx[h] != UINT32_MAX) h = (h + 1) & (cap - 1);
        idx[h] = (uint32_t)i;
    }
    free(m->idx);
    m->idx = idx;
    m->idx_cap = cap;
    return 0;
}

/* Adds delta to the net multiplicity of (bus, v[0..n)); n is already
 * trimmed of trailing zeros and hh = tuple_hash(bus, v, n). */
static int map_add(bal_map *m, uint32_t bus, const uint64_t *v, uint32_t n, uint32_t n_full,
                   uint64_t hh, uint64_t delta, uint32_t table, uint64_t row)
{
    if ((m->n + 1) * 2 > m->idx_cap) {
        if (m->n >= UINT32_MAX - 1 || map_reindex(m, m->idx_cap ? m->idx_cap * 2 : 1024)) return -1;
    }
    size_t h = hh & (m->idx_cap - 1);
    while (m->idx[h] != UINT32_MAX) {
        bal_entry *e = &m->e[m->idx[h]];
        if (e->hash == hh && e->bus == bus && e->n == n &&
            !memcmp(m->vals + e->voff, v, n * sizeof *v)) {
            e->net = gl_add(e->net, delta);
            return 0;
        }
        h = (h + 1) & (m->idx_cap - 1);
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        bal_entry *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne) return -1;
        m->e = ne;
        m->cap = nc;
    }
    if (m->n_vals + n_full > m->vals_cap) {
        size_t nc = m->vals_cap ? m->vals_cap : 4096;
        while (nc < m->n_vals + n_full) nc *= 2;
        uint64_t *nv = realloc(m->vals, nc * sizeof *nv);
        if (!nv) return -1;
        m->vals = nv;
        m->vals_cap = nc;
    }
    memcpy(m->vals + m->n_vals, v, n_full * sizeof *v);
    bal_entry *e = &m->e[m->n];
    e->hash = hh;
    e->voff = m->n_vals;
    e->net = delta;
    e->row = row;
    e->bus = bus;
    e->n = n;
    e->table = table;
    e->n_full = n_full;
    m->n_vals += n_full;
    m->idx[h] = (uint32_t)m->n++;
    return 0;
}

static void map_free(bal_map *m)
{
    free(m->e);
    free(m->idx);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t balance_max_entries = (size_t)1 << 22;

void spw_logup_set_balance_limit(size_t max_entries)
{
    balance_max_entries = max_entries ? max_entries : (size_t)1 << 22;
}

/* Signed rendering of a field element: values above p/2 are negative. */
static int fmt_signed(char *buf, size_t n, uint64_t v)
{
    if (v > GL_P / 2) return snprintf(buf, n, "-%llu", (unsigned long long)(GL_P - v));
    return snprintf(buf, n, "+%llu", (unsigned long long)v);
}

static bal_bus *find_bus(bal_bus **buses, uint32_t *n_buses, uint32_t bus, uint32_t n_tables)
{
    for (uint32_t i = 0; i < *n_buses; i++)
        if ((*buses)[i].bus == bus) return &(*buses)[i];
    bal_bus *nb = realloc(*buses, (*n_buses + 1) * sizeof *nb);
    if (!nb) return NULL;
    *buses = nb;
    bal_bus *b = &nb[*n_buses];
    b->bus = bus;
    b->net = calloc(n_tables, sizeof *b->net);
    if (!b->net) return NULL;
    (*n_buses)++;
    return b;
}

static spw_status report(const spw_ctx *ctx, const spw_air_def *air, const bal_map *m,
                         const bal_entry *e, const bal_bus *b)
{
    char msg[SPW_ERRMSG_MAX], num[32];
    size_t len = 0;
#define APPEND(...)                                                                  \
    do {                                                                             \
        if (len < sizeof msg) len += (size_t)snprintf(msg + len, sizeof msg - len, __VA_ARGS__); \
    } while (0)
    fmt_signed(num, sizeof num, e->net);
    APPEND("bus %u does not balance: net multiplicity %s for tuple (", e->bus, num);
    for (uint32_t i = 0; i < e->n_full && i < 8; i++)
        APPEND("%s%llu", i ? ", " : "", (unsigned long long)m->vals[e->voff + i]);
    if (e->n_full > 8) APPEND(", ...");
    APPEND(") first seen in table %s row %llu; net per table:", air->tables[e->table].name,
           (unsigned long long)e->row);
    for (uint32_t t = 0; t < air->n_tables; t++) {
        int uses = 0;
        for (uint32_t i = 0; i < air->tables[t].n_interactions; i++)
            uses |= air->tables[t].interactions[i].bus_id == e->bus;
        if (!uses) continue;
        fmt_signed(num, sizeof num, b->net[t]);
        APPEND(" %s %s", air->tables[t].name, num);
    }
    APPEND(" (+ = sent, - = received)");
#undef APPEND
    return spw_fail(ctx, SPW_ERR_BUS_UNBALANCED, "%s", msg);
}

spw_status spw_logup_check_balance(const spw_ctx *ctx, const spw_air_def *air, const spw_trace *trace)
{
    SPW_CHECK_NULL(ctx, air);
    SPW_CHECK_NULL(ctx, trace);
    const size_t CH = 4096;
    /* Exact counting with bounded memory: the tuples are split by hash into
     * `passes` classes and the trace is read once per class. */
    uint64_t total = 0;
    for (uint32_t ti = 0; ti < air->n_tables; ti++)
        total += spw_trace_height(trace, ti) * air->tables[ti].n_interactions;
    uint64_t passes = 1;
    while (total / passes > balance_max_entries) passes *= 2;
    bal_map m;
    memset(&m, 0, sizeof m);
    bal_bus *buses = NULL;
    uint32_t n_buses = 0;
    spw_status s = SPW_OK;
    uint64_t *main = NULL, *sc = NULL, tup[64];
    for (uint64_t pass = 0; s == SPW_OK && pass < passes; pass++) {
        map_free(&m);
        for (uint32_t ti = 0; s == SPW_OK && ti < air->n_tables; ti++) {
            const spw_air_table *t = &air->tables[ti];
            if (t->n_interactions == 0) continue;
            uint64_t h = spw_trace_height(trace, ti);
            if (h == 0) {
                s = spw_fail(ctx, SPW_ERR_TRACE, "table %s: height unknown", t->name);
                break;
            }
            lu_plan plan;
            if ((s = plan_make(ctx, &plan, t))) break;
            free(main);
            free(sc);
            main = malloc((size_t)t->n_main * CH * sizeof *main);
            sc = malloc(((size_t)plan.n_need + 1) * LU_BLOCK * sizeof *sc);
            if (!main || !sc) {
                plan_free(&plan);
                s = spw_fail(ctx, SPW_ERR_NOMEM, "bus balance: out of memory");
                break;
            }
            for (uint64_t r0 = 0; s == SPW_OK && r0 < h; r0 += CH) {
                size_t nr = h - r0 < CH ? (size_t)(h - r0) : CH;
                for (uint32_t c = 0; c < plan.n_cols && s == SPW_OK; c++)
                    s = spw_trace_read(trace, main + (size_t)plan.cols[c] * CH, ti, plan.cols[c], r0, nr);
                for (size_t b0 = 0; s == SPW_OK && b0 < nr; b0 += LU_BLOCK) {
                    size_t nb = nr - b0 < LU_BLOCK ? nr - b0 : LU_BLOCK;
                    eval_block(t, &plan, main + b0, CH, nb, sc);
                    for (uint32_t i = 0; s == SPW_OK && i < t->n_interactions; i++) {
                        const spw_interaction *it = &t->interactions[i];
                        bal_bus *bb = find_bus(&buses, &n_buses, it->bus_id, air->n_tables);
                        if (!bb) {
                            s = spw_fail(ctx, SPW_ERR_NOMEM, "bus balance: out of memory");
                            break;
                        }
                        for (size_t r = 0; r < nb; r++) {
                            uint64_t mlt = sc[(size_t)plan.slot[it->mult] * LU_BLOCK + r];
                            if (mlt == 0) continue;
                            uint64_t d = it->is_sender ? mlt : gl_neg(mlt);
                            if (pass == 0) bb->net[ti] = gl_add(bb->net[ti], d);
                            uint32_t n = it->n_values;
                            for (uint32_t q = 0; q < n; q++)
                                tup[q] = sc[(size_t)plan.slot[it->values[q]] * LU_BLOCK + r];
                            while (n > 0 && tup[n - 1] == 0) n--; /* zero padding is not significant */
                            uint64_t hh = tuple_hash(it->bus_id, tup, n);
                            if (passes > 1 && (hh >> 32) % passes != pass) continue;
                            if (map_add(&m, it->bus_id, tup, n, it->n_values, hh, d, ti, r0 + b0 + r)) {
                                s = spw_fail(ctx, SPW_ERR_NOMEM, "bus balance: out of memory");
                                break;
                            }
                        }
                    }
                }
            }
            plan_free(&plan);
        }
        if (s == SPW_OK) {
            for (size_t i = 0; i < m.n; i++) {
                if (m.e[i].net == 0) continue;
                bal_bus *bb = NULL;
                for (uint32_t b = 0; b < n_buses; b++)
                    if (buses[b].bus == m.e[i].bus) bb = &buses[b];
                s = report(ctx, air, &m, &m.e[i], bb);
                break;
            }
        }
    }
    free(main);
    free(sc);
    for (uint32_t b = 0; b < n_buses; b++) free(buses[b].net);
    free(buses);
    map_free(&m);
    return s;
}
