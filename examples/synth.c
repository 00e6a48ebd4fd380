/*
 * synth.c - the synth workload: traces shaped like a zkVM proof (many tables
 * of very different heights and widths, linked by lookup and permutation
 * buses), deterministic from a seed, whose every column chunk is generated
 * on demand without generating the rest of the table.
 *
 * A preset fixes the shape (tables, heights, widths, buses); the seed fixes
 * the values. Column kinds (docs/WORKLOADS.md):
 *   COUNTER  x = x0 + row            FIRST x = x0, TRANSITION x' = x + 1
 *   FREE     hash(seed, table, col, row) reduced into the field
 *   PROD     c = a*b + d             EVERY, degree 2
 *   CUBE     g = a*b*e               EVERY, degree 3
 *   NEXT     h = a' * b + x          TRANSITION, degree 2
 *   LK_KEY   hash & (lut height - 1)  } sent (key, val) to a lookup table
 *   LK_VAL   the lookup table's value at key
 *   LUT_*    lookup table: key = row, val = FREE, mult = count of lookups
 *   PERM_DST the partner table's columns at row perm^-1(row), where
 *            perm(r) = (m*r + k) mod height, m odd (permutation bus)
 * Lookup multiplicities come from one counting pass over the senders' key
 * columns, done lazily on the first request for a multiplicity column.
 */
#include "wl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    K_COUNTER, K_FREE, K_PROD, K_CUBE, K_NEXT, K_LK_KEY, K_LK_VAL,
    K_LUT_KEY, K_LUT_MULT, K_PERM_DST
};
enum { ROLE_NORMAL, ROLE_LUT, ROLE_PERM_DST };

#define SY_MAX_LK 2
#define SY_LUT_BUS 10
#define SY_PERM_BUS 100
#define SY_GOLDEN 0x9E3779B97F4A7C15ull

typedef struct sy_col {
    uint8_t kind;
    uint32_t a, b, c; /* operand columns; LK_*: a = lut table (LK_VAL: b = key col);
                         PERM_DST: a = source table, b = source column */
    uint64_t h;       /* per-column hash base (from the seed) */
} sy_col;

typedef struct sy_table {
    char name[32];
    unsigned log_h;
    uint32_t width;
    int role;
    sy_col *cols;
    uint64_t x0;
    uint32_t n_constraints, n_interactions;
    /* lookups sent (normal tables): key column, val column, lut table */
    uint32_t n_lk, lk_key[SY_MAX_LK], lk_val[SY_MAX_LK], lk_lut[SY_MAX_LK];
    /* permutation: a source sends (cols 1, 2) on perm_bus; the destination
     * (perm_partner = source) receives them in permuted row order */
    int perm_bus;          /* -1 when none */
    uint32_t perm_partner;
    uint64_t perm_m, perm_k, perm_minv;
    /* lookup tables: bus and multiplicities (lazy) */
    uint32_t lut_bus;
    uint64_t *counts;
} sy_table;

typedef struct sy_wl {
    uint32_t n_tables;
    sy_table *t;
    uint64_t seed;
    pthread_mutex_t lock;
    int counted;
} sy_wl;

/* ---- presets ----------------------------------------------------------- */

typedef struct sy_preset {
    const char *name;
    uint32_t n_normal;
    unsigned log_min, log_max;
    uint32_t w_min, w_max;
    uint32_t n_perm;
    uint32_t n_lut;
    unsigned lut_logs[4];
    unsigned log_cell_cap; /* a table has at most 2^cap cells (height * width) */
} sy_preset;

static const sy_preset sy_presets[] = {
    {"tiny", 3, 8, 12, 8, 24, 1, 1, {8}, 16},
    {"small", 7, 10, 16, 8, 64, 1, 2, {8, 12}, 21},
    {"medium", 14, 12, 20, 8, 160, 3, 3, {8, 12, 16}, 25},
    {"large", 28, 10, 24, 8, 300, 5, 3, {10, 12, 16}, 27},
    {"xl", 8, 16, 22, 72, 256, 2, 2, {8, 16}, 28}, /* >= 32 GiB of LDE data at blowup 4 (GPU scale target) */
};
#define SY_NPRESETS (sizeof sy_presets / sizeof sy_presets[0])

static const sy_preset *sy_find_preset(const char *name)
{
    for (size_t i = 0; i < SY_NPRESETS; i++)
        if (name && strcmp(sy_presets[i].name, name) == 0) return &sy_presets[i];
    return NULL;
}

int spw_wl_synth_preset_known(const char *preset) { return sy_find_preset(preset) != NULL; }

static uint64_t sy_rng(uint64_t *s)
{
    *s += SY_GOLDEN;
    return spw_wl_mix(*s);
}

static uint64_t sy_inv_odd(uint64_t m) /* inverse mod 2^64 of an odd m */
{
    uint64_t x = m;
    for (int i = 0; i < 6; i++) x *= 2 - m * x;
    return x;
}

static void sy_free_tables(sy_table *t, uint32_t n)
{
    if (!t) return;
    for (uint32_t i = 0; i < n; i++) {
        free(t[i].cols);
        free(t[i].counts);
    }
    free(t);
}

/* At most 2^log_cell_cap cells per table (tall tables are narrow, as in
 * zkVM traces), and at least w_min columns. */
static uint32_t sy_cap_width(uint32_t w, unsigned log_h, const sy_preset *P)
{
    uint64_t cap = (1ull << P->log_cell_cap) >> log_h;
    if (w > cap) w = (uint32_t)cap;
    return w < P->w_min ? P->w_min : w;
}

/* The standard column pattern of a normal table from column 1 on. */
static void sy_pattern(sy_table *T)
{
    uint32_t w = T->width;
    T->cols[0].kind = K_COUNTER;
    T->n_constraints = 2;
    for (uint32_t j = 1; j < w; j++) {
        sy_col *c = &T->cols[j];
        c->kind = K_FREE;
        switch (j % 8) {
        case 4: c->kind = K_PROD; c->a = j - 3; c->b = j - 2; c->c = j - 1; break;
        case 6: c->kind = K_CUBE; c->a = j - 5; c->b = j - 4; c->c = j - 1; break;
        case 7: c->kind = K_NEXT; c->a = j - 6; c->b = j - 2; break;
        default: break;
        }
        if (c->kind != K_FREE) T->n_constraints++;
    }
}

/* Builds the tables of a preset: the shape (heights, widths, column kinds,
 * buses, permutations) comes from a generator fixed per preset; the seed
 * only sets the per-column hash bases and the counters' starts. */
static int sy_shape(sy_table **out, uint32_t *n_out, const sy_preset *P, uint64_t seed)
{
    uint32_t n = P->n_lut + P->n_normal + P->n_perm;
    sy_table *t = calloc(n, sizeof *t);
    if (!t) return 0;
    uint64_t rs = 0x5EED0000ull + (uint64_t)(P - sy_presets); /* shape rng: fixed per preset */
    uint32_t k = 0;
    for (uint32_t i = 0; i < P->n_lut; i++, k++) {
        sy_table *T = &t[k];
        snprintf(T->name, sizeof T->name, "lut%u", i);
        T->role = ROLE_LUT;
        T->log_h = P->lut_logs[i];
        T->width = 8;
        T->perm_bus = -1;
        T->lut_bus = SY_LUT_BUS + i;
        T->cols = calloc(T->width, sizeof *T->cols);
        if (!T->cols) goto fail;
        T->cols[0].kind = K_LUT_KEY;
        T->cols[1].kind = K_FREE;
        T->cols[2].kind = K_LUT_MULT;
        for (uint32_t j = 3; j < T->width; j++) T->cols[j].kind = K_FREE;
        T->n_constraints = 2;
        T->n_interactions = 1;
    }
    uint32_t first_normal = k;
    for (uint32_t i = 0; i < P->n_normal; i++, k++) {
        sy_table *T = &t[k];
        snprintf(T->name, sizeof T->name, "t%02u", i);
        T->role = ROLE_NORMAL;
        T->log_h = P->log_min + (unsigned)(sy_rng(&rs) % (P->log_max - P->log_min + 1));
        if (i == 0) T->log_h = P->log_max; /* every preset reaches its top height */
        /* width skewed towards narrow tables: w_min + u*v/range, u, v uniform */
        uint64_t range = P->w_max - P->w_min + 1;
        uint64_t u = sy_rng(&rs) % range, v = sy_rng(&rs) % range;
        uint32_t w = P->w_min + (uint32_t)(u * v / range);
        if (i == 1) { /* and its widest table, as tall as the cell cap allows */
            w = P->w_max;
            while (((uint64_t)w << T->log_h) > (1ull << P->log_cell_cap)) T->log_h--;
        }
        w = sy_cap_width(w, T->log_h, P);
        T->width = w;
        T->perm_bus = -1;
        T->cols = calloc(w, sizeof *T->cols);
        if (!T->cols) goto fail;
        sy_pattern(T);
        /* lookups in the last columns */
        T->n_lk = 1 + (uint32_t)(sy_rng(&rs) % SY_MAX_LK);
        for (uint32_t l = 0; l < T->n_lk; l++) {
            uint32_t kc = w - 2 * (l + 1), vc = kc + 1;
            uint32_t lut = (uint32_t)(sy_rng(&rs) % P->n_lut);
            for (uint32_t c = kc; c <= vc; c++)
                if (T->cols[c].kind != K_FREE) T->n_constraints--;
            T->cols[kc].kind = K_LK_KEY;
            T->cols[kc].a = lut;
            T->cols[vc].kind = K_LK_VAL;
            T->cols[vc].a = lut;
            T->cols[vc].b = kc;
            T->lk_key[l] = kc;
            T->lk_val[l] = vc;
            T->lk_lut[l] = lut;
            T->n_interactions++;
        }
    }
    for (uint32_t i = 0; i < P->n_perm; i++, k++) {
        sy_table *T = &t[k];
        uint32_t src = first_normal + (i * 3) % P->n_normal;
        sy_table *S = &t[src];
        snprintf(T->name, sizeof T->name, "p%02u", i);
        T->role = ROLE_PERM_DST;
        T->log_h = S->log_h;
        uint32_t w = sy_cap_width(8 + (uint32_t)(sy_rng(&rs) % (P->w_max / 2 - 7)), T->log_h, P);
        T->width = w;
        T->cols = calloc(w, sizeof *T->cols);
        if (!T->cols) goto fail;
        sy_pattern(T);
        for (uint32_t c = 1; c <= 2; c++) {
            T->cols[c].kind = K_PERM_DST;
            T->cols[c].a = src;
            T->cols[c].b = c;
        }
        uint64_t mask = (1ull << T->log_h) - 1;
        T->perm_bus = (int)(SY_PERM_BUS + i);
        T->perm_partner = src;
        T->perm_m = (sy_rng(&rs) | 1) & mask;
        T->perm_k = sy_rng(&rs) & mask;
        T->perm_minv = sy_inv_odd(T->perm_m) & mask;
        T->n_interactions = 1;
        /* a source sends to at most one destination: skip if already taken */
        if (S->perm_bus >= 0) {
            free(T->cols);
            memset(T, 0, sizeof *T);
            k--;
            n--;
            continue;
        }
        S->perm_bus = T->perm_bus;
        S->perm_partner = k;
        S->n_interactions++;
    }
    /* per-column hash bases and counters' starts: from the seed */
    for (uint32_t i = 0; i < n; i++) {
        t[i].x0 = spw_wl_to_field(spw_wl_mix(seed ^ spw_wl_mix(0xC0FFEEull + i))) >> 1;
        for (uint32_t j = 0; j < t[i].width; j++)
            t[i].cols[j].h = spw_wl_mix(seed + spw_wl_mix(((uint64_t)i << 32 | j) + 0xABCDull));
    }
    *out = t;
    *n_out = n;
    return 1;
fail:
    sy_free_tables(t, n);
    return 0;
}

/* ---- values ------------------------------------------------------------ */

static uint64_t sy_hash(const sy_col *c, uint64_t r) { return spw_wl_mix(c->h + r * SY_GOLDEN); }

static uint64_t sy_val(sy_wl *w, uint32_t ti, uint32_t ci, uint64_t r)
{
    const sy_table *T = &w->t[ti];
    const sy_col *c = &T->cols[ci];
    uint64_t mask = (1ull << T->log_h) - 1;
    switch (c->kind) {
    case K_COUNTER: return gl_add(T->x0, r);
    case K_FREE: return spw_wl_to_field(sy_hash(c, r));
    case K_PROD: return gl_add(gl_mul(sy_val(w, ti, c->a, r), sy_val(w, ti, c->b, r)), sy_val(w, ti, c->c, r));
    case K_CUBE:
        return gl_mul(gl_mul(sy_val(w, ti, c->a, r), sy_val(w, ti, c->b, r)), sy_val(w, ti, c->c, r));
    case K_NEXT:
        return gl_add(gl_mul(sy_val(w, ti, c->a, (r + 1) & mask), sy_val(w, ti, c->b, r)),
                      sy_val(w, ti, 0, r));
    case K_LK_KEY: return sy_hash(c, r) & ((1ull << w->t[c->a].log_h) - 1);
    case K_LK_VAL: return sy_val(w, c->a, 1, sy_val(w, ti, c->b, r));
    case K_LUT_KEY: return r;
    case K_LUT_MULT: return T->counts[r];
    default: /* K_PERM_DST */
        return sy_val(w, c->a, c->b, ((r - T->perm_k) * T->perm_minv) & mask);
    }
}

static spw_status sy_count(sy_wl *w)
{
    spw_status s = SPW_OK;
    pthread_mutex_lock(&w->lock);
    if (!w->counted) {
        for (uint32_t i = 0; i < w->n_tables && s == SPW_OK; i++)
            if (w->t[i].role == ROLE_LUT) {
                w->t[i].counts = calloc(1ull << w->t[i].log_h, sizeof(uint64_t));
                if (!w->t[i].counts) s = SPW_ERR_NOMEM;
            }
        for (uint32_t i = 0; i < w->n_tables && s == SPW_OK; i++) {
            const sy_table *T = &w->t[i];
            for (uint32_t l = 0; l < T->n_lk; l++) {
                const sy_col *kc = &T->cols[T->lk_key[l]];
                uint64_t *cnt = w->t[T->lk_lut[l]].counts;
                uint64_t m = (1ull << w->t[T->lk_lut[l]].log_h) - 1;
                for (uint64_t r = 0; r < (1ull << T->log_h); r++) cnt[sy_hash(kc, r) & m]++;
            }
        }
        if (s == SPW_OK) w->counted = 1;
    }
    pthread_mutex_unlock(&w->lock);
    return s;
}

static spw_status sy_fill(void *user, uint64_t *out, uint32_t table, uint32_t col, uint64_t row0,
                          uint64_t nrows)
{
    sy_wl *w = user;
    if (table >= w->n_tables || col >= w->t[table].width) return SPW_ERR_INVALID_ARG;
    uint64_t h = 1ull << w->t[table].log_h;
    if (row0 > h || nrows > h - row0) return SPW_ERR_INVALID_ARG;
    if (w->t[table].cols[col].kind == K_LUT_MULT) SPW_TRY(sy_count(w));
    for (uint64_t i = 0; i < nrows; i++) out[i] = sy_val(w, table, col, row0 + i);
    return SPW_OK;
}

static void sy_wl_free(void *p)
{
    sy_wl *w = p;
    if (!w) return;
    sy_free_tables(w->t, w->n_tables);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* ---- AIR --------------------------------------------------------------- */

static spw_status sy_table_air(spw_air *air, const sy_wl *w, uint32_t ti)
{
    const sy_table *T = &w->t[ti];
    spw_wl_eb e = {air, ti}, *E = &e;
    spw_expr one = wl_k(E, 1);
    if (T->role == ROLE_LUT) {
        SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_c(E, 0)));
        SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, 0), wl_add(E, wl_c(E, 0), one))));
        spw_expr v[2] = {wl_c(E, 0), wl_c(E, 1)};
        return spw_air_bus(air, ti, T->lut_bus, 0, wl_c(E, 2), v, 2);
    }
    for (uint32_t j = 0; j < T->width; j++) {
        const sy_col *c = &T->cols[j];
        spw_expr x = wl_c(E, j);
        switch (c->kind) {
        case K_COUNTER:
            SPW_TRY(wl_con(E, SPW_ROWS_FIRST, wl_sub(E, x, wl_k(E, T->x0))));
            SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION, wl_sub(E, wl_n(E, j), wl_add(E, x, one))));
            break;
        case K_PROD:
            SPW_TRY(wl_con(E, SPW_ROWS_EVERY,
                           wl_sub(E, x, wl_add(E, wl_mul(E, wl_c(E, c->a), wl_c(E, c->b)), wl_c(E, c->c)))));
            break;
        case K_CUBE:
            SPW_TRY(wl_con(E, SPW_ROWS_EVERY,
                           wl_sub(E, x, wl_mul(E, wl_mul(E, wl_c(E, c->a), wl_c(E, c->b)), wl_c(E, c->c)))));
            break;
        case K_NEXT:
            SPW_TRY(wl_con(E, SPW_ROWS_TRANSITION,
                           wl_sub(E, x, wl_add(E, wl_mul(E, wl_n(E, c->a), wl_c(E, c->b)), wl_c(E, 0)))));
            break;
        default: break;
        }
    }
    for (uint32_t l = 0; l < T->n_lk; l++) {
        spw_expr v[2] = {wl_c(E, T->lk_key[l]), wl_c(E, T->lk_val[l])};
        SPW_TRY(spw_air_bus(air, ti, w->t[T->lk_lut[l]].lut_bus, 1, one, v, 2));
    }
    if (T->perm_bus >= 0) {
        spw_expr v[2] = {wl_c(E, 1), wl_c(E, 2)};
        SPW_TRY(spw_air_bus(air, ti, (uint32_t)T->perm_bus, T->role == ROLE_NORMAL, one, v, 2));
    }
    return SPW_OK;
}

static spw_status sy_air(spw_ctx *ctx, spw_air **out, const sy_wl *w)
{
    spw_air *air = NULL;
    SPW_TRY(spw_air_create(ctx, &air));
    spw_status s = SPW_OK;
    for (uint32_t i = 0; i < w->n_tables && s == SPW_OK; i++) {
        uint32_t id;
        s = spw_air_add_table(air, &id, w->t[i].name, w->t[i].log_h, w->t[i].width);
        if (s == SPW_OK && id != i) s = spw_fail(ctx, SPW_ERR_INTERNAL, "synth: table index");
    }
    for (uint32_t i = 0; i < w->n_tables && s == SPW_OK; i++) s = sy_table_air(air, w, i);
    if (s == SPW_OK) s = spw_air_finalize(air);
    if (s != SPW_OK) {
        spw_air_free(air);
        return s;
    }
    *out = air;
    return SPW_OK;
}

spw_status spw_wl_synth_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                              uint64_t **publics_out, size_t *n_publics,
                              const spw_workload_params *p)
{
    const sy_preset *P = sy_find_preset(p->preset);
    if (!P) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "synth: unknown preset '%s'", p->preset);
    if (publics_out) { /* no public inputs */
        *publics_out = NULL;
        *n_publics = 0;
    }
    if (!air_out) return SPW_OK;
    sy_wl *w = calloc(1, sizeof *w);
    if (!w) return spw_fail(ctx, SPW_ERR_NOMEM, "synth: out of memory");
    pthread_mutex_init(&w->lock, NULL);
    w->seed = p->seed;
    if (!sy_shape(&w->t, &w->n_tables, P, p->seed)) {
        sy_wl_free(w);
        return spw_fail(ctx, SPW_ERR_NOMEM, "synth: out of memory");
    }
    spw_status s = sy_air(ctx, air_out, w);
    if (s == SPW_OK && trace_out) {
        s = spw_trace_create(ctx, trace_out, *air_out);
        for (uint32_t t = 0; t < w->n_tables && s == SPW_OK; t++)
            s = spw_trace_set_producer(*trace_out, t, sy_fill, w);
        if (s == SPW_OK) s = spw_wl_register(ctx, *trace_out, w, sy_wl_free);
        if (s == SPW_OK) w = NULL;
        else {
            spw_trace_free(*trace_out);
            *trace_out = NULL;
        }
    }
    sy_wl_free(w);
    if (s != SPW_OK && *air_out) {
        spw_air_free(*air_out);
        *air_out = NULL;
    }
    return s;
}

/* ---- preset listing ---------------------------------------------------- */

static spw_synth_preset_info sy_info[SY_NPRESETS];
static pthread_once_t sy_info_once = PTHREAD_ONCE_INIT;

static void sy_info_init(void)
{
    for (size_t i = 0; i < SY_NPRESETS; i++) {
        spw_synth_preset_info *I = &sy_info[i];
        I->name = sy_presets[i].name;
        sy_table *t;
        uint32_t n;
        if (!sy_shape(&t, &n, &sy_presets[i], 0)) continue;
        I->n_tables = n;
        I->min_log_height = 64;
        I->min_width = UINT32_MAX;
        for (uint32_t k = 0; k < n; k++) {
            if (t[k].log_h < I->min_log_height) I->min_log_height = t[k].log_h;
            if (t[k].log_h > I->max_log_height) I->max_log_height = t[k].log_h;
            if (t[k].width < I->min_width) I->min_width = t[k].width;
            if (t[k].width > I->max_width) I->max_width = t[k].width;
            I->trace_bytes += 8ull * t[k].width << t[k].log_h;
        }
        I->lde_bytes_b4 = I->trace_bytes * 4;
        sy_free_tables(t, n);
    }
}

size_t spw_synth_num_presets(void) { return SY_NPRESETS; }

const spw_synth_preset_info *spw_synth_preset(size_t i)
{
    if (i >= SY_NPRESETS) return NULL;
    pthread_once(&sy_info_once, sy_info_init);
    return &sy_info[i];
}

size_t spw_synth_preset_tables(spw_synth_table_info *out, size_t cap, const char *preset)
{
    const sy_preset *P = sy_find_preset(preset);
    sy_table *t;
    uint32_t n;
    if (!P || !sy_shape(&t, &n, P, 0)) return 0;
    for (uint32_t k = 0; k < n && k < cap; k++) {
        snprintf(out[k].name, sizeof out[k].name, "%s", t[k].name);
        out[k].log_height = t[k].log_h;
        out[k].width = t[k].width;
        out[k].n_constraints = t[k].n_constraints;
        out[k].n_interactions = t[k].n_interactions;
    }
    sy_free_tables(t, n);
    return n;
}

uint64_t spw_wl_synth_state_bytes(const char *preset)
{
    const sy_preset *P = sy_find_preset(preset);
    sy_table *t;
    uint32_t n;
    if (!P || !sy_shape(&t, &n, P, 0)) return 0;
    uint64_t b = sizeof(sy_wl) + n * sizeof(sy_table);
    for (uint32_t k = 0; k < n; k++) {
        b += t[k].width * sizeof(sy_col);
        if (t[k].role == ROLE_LUT) b += 8ull << t[k].log_h;
    }
    sy_free_tables(t, n);
    return b;
}
