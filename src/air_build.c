/*
 * air_build.c - the AIR builder API (spw_air_*): tables, SSA expression
 * programs with hash-consing and computed degrees, constraints, bus
 * interactions, and spw_air_finalize, which compiles the LogUp aux layout and
 * LogUp constraints into each table's program (formulas in docs/AIR.md).
 */
#include "air_priv.h"
#include <stdlib.h>
#include <string.h>

#define SPW_AIR_MAX_DEGREE 8
#define SPW_AIR_MAX_PROG (1u << 30)

/* ---- helpers ---- */

static spw_status air_err(spw_air *air, spw_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static spw_status air_err(spw_air *air, spw_status s, const char *fmt, ...)
{
    char buf[SPW_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (air->err == SPW_OK) {
        air->err = s;
        memcpy(air->errmsg, buf, sizeof buf);
    }
    return spw_fail(air->ctx, s, "%s", buf);
}

/* Re-reports the first recorded builder error (sticky). */
static spw_status air_sticky(spw_air *air)
{
    return spw_fail(air->ctx, air->err, "%s", air->errmsg);
}

static const char *tname(const spw_air *air, uint32_t table)
{
    return air->def.tables[table].name;
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return 0;
    uint32_t nc = *cap ? *cap : 8;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return -1;
    *p = q;
    *cap = nc;
    return 0;
}

static uint64_t hc_hash(uint8_t op, uint32_t a, uint32_t b, uint64_t k)
{
    uint64_t h = k * 0x9E3779B97F4A7C15ull;
    h ^= ((uint64_t)op << 56) ^ ((uint64_t)a << 28) ^ b;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

static int hc_rehash(spw_air_hc *hc, const spw_air_table *t, uint32_t ncap)
{
    uint32_t *s = malloc((size_t)ncap * sizeof *s);
    if (!s) return -1;
    memset(s, 0xff, (size_t)ncap * sizeof *s);
    for (uint32_t i = 0; i < t->prog_len; i++) {
        const spw_insn *in = &t->prog[i];
        uint64_t h = hc_hash(in->op, in->a, in->b, in->k) & (ncap - 1);
        while (s[h] != UINT32_MAX) h = (h + 1) & (ncap - 1);
        s[h] = i;
    }
    free(hc->slots);
    hc->slots = s;
    hc->cap = ncap;
    return 0;
}

/* Appends (or finds) the instruction; returns its index or SPW_EXPR_INVALID. */
static spw_expr emit(spw_air *air, uint32_t table, uint8_t op, uint32_t a, uint32_t b,
                     uint64_t k, uint8_t degree, uint8_t flags)
{
    spw_air_table *t = &air->def.tables[table];
    spw_air_hc *hc = &air->hc[table];
    if ((uint64_t)(t->prog_len + 1) * 2 > hc->cap) {
        if (hc_rehash(hc, t, hc->cap ? hc->cap * 2 : 64)) goto nomem;
    }
    uint64_t h = hc_hash(op, a, b, k) & (hc->cap - 1);
    while (hc->slots[h] != UINT32_MAX) {
        const spw_insn *in = &t->prog[hc->slots[h]];
        if (in->op == op && in->a == a && in->b == b && in->k == k) return (spw_expr)hc->slots[h];
        h = (h + 1) & (hc->cap - 1);
    }
    if (t->prog_len >= SPW_AIR_MAX_PROG) {
        air_err(air, SPW_ERR_TOO_LARGE, "table %s: expression program too large", t->name);
        return SPW_EXPR_INVALID;
    }
    if (grow((void **)&t->prog, &t->prog_cap, t->prog_len + 1, sizeof *t->prog)) goto nomem;
    if (grow((void **)&air->flags[table], &air->flags_cap[table], t->prog_len + 1, 1)) goto nomem;
    spw_insn *in = &t->prog[t->prog_len];
    memset(in, 0, sizeof *in);
    in->op = op;
    in->degree = degree;
    in->a = a;
    in->b = b;
    in->k = k;
    air->flags[table][t->prog_len] = flags;
    hc->slots[h] = t->prog_len;
    return (spw_expr)t->prog_len++;
nomem:
    air_err(air, SPW_ERR_NOMEM, "table %s: out of memory", t->name);
    return SPW_EXPR_INVALID;
}

/* Common checks of every expression builder; 0 when ok. */
static int check_table(spw_air *air, uint32_t table, const char *fn)
{
    if (!air) return -1;
    if (air->def.finalized) {
        air_err(air, SPW_ERR_INVALID_ARG, "%s: the AIR is finalized; no builder call is accepted", fn);
        return -1;
    }
    if (table >= air->def.n_tables) {
        air_err(air, SPW_ERR_INVALID_ARG, "%s: table %u out of range (%u tables)", fn, table,
                air->def.n_tables);
        return -1;
    }
    return 0;
}

static int check_operand(spw_air *air, uint32_t table, spw_expr e, const char *fn)
{
    if (e < 0) {
        if (air->err == SPW_OK)
            air_err(air, SPW_ERR_INVALID_ARG, "%s: table %s: invalid operand", fn, tname(air, table));
        return -1;
    }
    if ((uint32_t)e >= air->def.tables[table].prog_len) {
        air_err(air, SPW_ERR_INVALID_ARG,
                "%s: table %s: operand %d is not an expression of this table", fn,
                tname(air, table), (int)e);
        return -1;
    }
    return 0;
}

static uint8_t sat_add(uint8_t a, uint8_t b) { return a + b > 255 ? 255 : (uint8_t)(a + b); }

/* ---- public builder ---- */

spw_status spw_air_create(spw_ctx *ctx, spw_air **out)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    spw_air *air = calloc(1, sizeof *air);
    if (!air) return spw_fail(ctx, SPW_ERR_NOMEM, "spw_air_create: out of memory");
    air->ctx = ctx;
    air->def.n_challenges = 2;
    *out = air;
    return SPW_OK;
}

void spw_air_def_clear(spw_air_def *d)
{
    for (uint32_t i = 0; i < d->n_tables; i++) {
        spw_air_table *t = &d->tables[i];
        free(t->name);
        for (uint32_t c = 0; c < t->n_main; c++) free(t->main_names ? t->main_names[c] : NULL);
        free(t->main_names);
        free(t->prog);
        free(t->constraints);
        for (uint32_t j = 0; j < t->n_interactions; j++) free(t->interactions[j].values);
        free(t->interactions);
        free(t->eval_slot);
        free(t->eval_ext);
    }
    free(d->tables);
    free(d->source);
    memset(d, 0, sizeof *d);
}

void spw_air_free(spw_air *air)
{
    if (!air) return;
    for (uint32_t i = 0; i < air->def.n_tables; i++) {
        free(air->hc[i].slots);
        free(air->flags[i]);
    }
    free(air->hc);
    free(air->flags);
    free(air->flags_cap);
    spw_air_def_clear(&air->def);
    free(air);
}

const spw_air_def *spw_air_get_def(const spw_air *air) { return air ? &air->def : NULL; }
spw_ctx *spw_air_ctx(const spw_air *air) { return air ? air->ctx : NULL; }

int spw_air_valid_name(const char *s)
{
    if (!s || !*s) return 0;
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return strlen(s) <= 128;
}

spw_status spw_air_add_table(spw_air *air, uint32_t *table_out, const char *name,
                             unsigned log_height, uint32_t n_main)
{
    if (!air) return SPW_ERR_NULL;
    SPW_CHECK_NULL(air->ctx, table_out);
    SPW_CHECK_NULL(air->ctx, name);
    if (air->def.finalized)
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_add_table: the AIR is finalized");
    if (!spw_air_valid_name(name))
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_add_table: table name '%s' is not [A-Za-z_][A-Za-z0-9_]*", name);
    for (uint32_t i = 0; i < air->def.n_tables; i++)
        if (!strcmp(air->def.tables[i].name, name))
            return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_add_table: duplicate table name '%s'",
                           name);
    if (log_height > 32)
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_add_table: table %s: log_height %u out of range 1..32", name,
                       log_height);
    if (n_main == 0 || n_main > (1u << 20))
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_add_table: table %s: %u main columns (must be 1 .. 2^20)", name,
                       n_main);
    uint32_t n = air->def.n_tables;
    uint32_t cap = air->def.tables_cap;
    if (grow((void **)&air->def.tables, &cap, n + 1, sizeof *air->def.tables)) goto nomem;
    if (cap != air->def.tables_cap) {
        void *a = realloc(air->hc, cap * sizeof *air->hc);
        if (!a) goto nomem;
        air->hc = a;
        a = realloc(air->flags, cap * sizeof *air->flags);
        if (!a) goto nomem;
        air->flags = a;
        a = realloc(air->flags_cap, cap * sizeof *air->flags_cap);
        if (!a) goto nomem;
        air->flags_cap = a;
        air->def.tables_cap = cap;
    }
    spw_air_table *t = &air->def.tables[n];
    memset(t, 0, sizeof *t);
    memset(&air->hc[n], 0, sizeof air->hc[n]);
    air->flags[n] = NULL;
    air->flags_cap[n] = 0;
    t->name = strdup(name);
    t->main_names = calloc(n_main, sizeof *t->main_names);
    if (!t->name || !t->main_names) {
        free(t->name);
        free(t->main_names);
        goto nomem;
    }
    t->log_height = log_height;
    t->n_main = n_main;
    air->def.n_tables = n + 1;
    *table_out = n;
    return SPW_OK;
nomem:
    return air_err(air, SPW_ERR_NOMEM, "spw_air_add_table: out of memory");
}

spw_status spw_air_set_col_name(spw_air *air, uint32_t table, uint32_t col, const char *name)
{
    if (!air) return SPW_ERR_NULL;
    if (table >= air->def.n_tables || col >= air->def.tables[table].n_main || !spw_air_valid_name(name))
        return spw_fail(air->ctx, SPW_ERR_INVALID_ARG, "spw_air_set_col_name: bad table, column or name");
    spw_air_table *t = &air->def.tables[table];
    char *s = strdup(name);
    if (!s) return spw_fail(air->ctx, SPW_ERR_NOMEM, "out of memory");
    free(t->main_names[col]);
    t->main_names[col] = s;
    return SPW_OK;
}

spw_status spw_air_set_publics(spw_air *air, uint32_t n_publics)
{
    if (!air) return SPW_ERR_NULL;
    if (air->def.finalized)
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_set_publics: the AIR is finalized");
    if (n_publics > (1u << 20))
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_set_publics: %u publics is too many",
                       n_publics);
    air->def.n_publics = n_publics;
    return SPW_OK;
}

spw_expr spw_air_col(spw_air *air, uint32_t table, uint32_t col)
{
    if (check_table(air, table, "spw_air_col")) return SPW_EXPR_INVALID;
    if (col >= air->def.tables[table].n_main) {
        air_err(air, SPW_ERR_INVALID_ARG, "spw_air_col: table %s: column %u out of range (%u columns)",
                tname(air, table), col, air->def.tables[table].n_main);
        return SPW_EXPR_INVALID;
    }
    return emit(air, table, SPW_OP_MAIN, 0, 0, col, 1, 0);
}

spw_expr spw_air_col_next(spw_air *air, uint32_t table, uint32_t col)
{
    if (check_table(air, table, "spw_air_col_next")) return SPW_EXPR_INVALID;
    if (col >= air->def.tables[table].n_main) {
        air_err(air, SPW_ERR_INVALID_ARG,
                "spw_air_col_next: table %s: column %u out of range (%u columns)", tname(air, table),
                col, air->def.tables[table].n_main);
        return SPW_EXPR_INVALID;
    }
    return emit(air, table, SPW_OP_MAIN_NEXT, 0, 0, col, 1, SPW_AIRF_NEXT);
}

spw_expr spw_air_const(spw_air *air, uint32_t table, uint64_t value)
{
    if (check_table(air, table, "spw_air_const")) return SPW_EXPR_INVALID;
    if (value >= GL_P) {
        air_err(air, SPW_ERR_NONCANONICAL, "spw_air_const: table %s: constant %llu is not < p",
                tname(air, table), (unsigned long long)value);
        return SPW_EXPR_INVALID;
    }
    return emit(air, table, SPW_OP_CONST, 0, 0, value, 0, 0);
}

spw_expr spw_air_public(spw_air *air, uint32_t table, uint32_t index)
{
    if (check_table(air, table, "spw_air_public")) return SPW_EXPR_INVALID;
    if (index >= air->def.n_publics) {
        air_err(air, SPW_ERR_INVALID_ARG,
                "spw_air_public: table %s: public input %u out of range (%u publics declared)",
                tname(air, table), index, air->def.n_publics);
        return SPW_EXPR_INVALID;
    }
    return emit(air, table, SPW_OP_PUBLIC, 0, 0, index, 0, SPW_AIRF_PUB);
}

spw_expr spw_air_challenge(spw_air *air, uint32_t table, uint32_t index)
{
    if (check_table(air, table, "spw_air_challenge")) return SPW_EXPR_INVALID;
    if (index >= air->def.n_challenges) {
        air_err(air, SPW_ERR_INVALID_ARG,
                "spw_air_challenge: table %s: challenge %u out of range (only 0 = z and 1 = alpha)",
                tname(air, table), index);
        return SPW_EXPR_INVALID;
    }
    return emit(air, table, SPW_OP_CHALLENGE, 0, 0, index, 0, SPW_AIRF_EXT);
}

static spw_expr binop(spw_air *air, uint32_t table, uint8_t op, spw_expr a, spw_expr b,
                      const char *fn)
{
    if (check_table(air, table, fn)) return SPW_EXPR_INVALID;
    if (check_operand(air, table, a, fn) || check_operand(air, table, b, fn)) return SPW_EXPR_INVALID;
    const spw_insn *p = air->def.tables[table].prog;
    uint8_t da = p[a].degree, db = p[b].degree;
    uint8_t d = op == SPW_OP_MUL ? sat_add(da, db) : (da > db ? da : db);
    uint8_t f = air->flags[table][a] | air->flags[table][b];
    return emit(air, table, op, (uint32_t)a, (uint32_t)b, 0, d, f);
}

spw_expr spw_air_add(spw_air *air, uint32_t table, spw_expr a, spw_expr b)
{
    return binop(air, table, SPW_OP_ADD, a, b, "spw_air_add");
}
spw_expr spw_air_sub(spw_air *air, uint32_t table, spw_expr a, spw_expr b)
{
    return binop(air, table, SPW_OP_SUB, a, b, "spw_air_sub");
}
spw_expr spw_air_mul(spw_air *air, uint32_t table, spw_expr a, spw_expr b)
{
    return binop(air, table, SPW_OP_MUL, a, b, "spw_air_mul");
}
spw_expr spw_air_neg(spw_air *air, uint32_t table, spw_expr a)
{
    if (check_table(air, table, "spw_air_neg")) return SPW_EXPR_INVALID;
    if (check_operand(air, table, a, "spw_air_neg")) return SPW_EXPR_INVALID;
    const spw_insn *p = air->def.tables[table].prog;
    return emit(air, table, SPW_OP_NEG, (uint32_t)a, 0, 0, p[a].degree, air->flags[table][a]);
}

static const char *kind_name(unsigned k)
{
    static const char *n[] = {"transition", "first", "last", "every"};
    return k < 4 ? n[k] : "?";
}

static spw_status add_constraint(spw_air *air, uint32_t table, unsigned kind, uint32_t root,
                                 int is_logup)
{
    spw_air_table *t = &air->def.tables[table];
    if (grow((void **)&t->constraints, &t->constraints_cap, t->n_constraints + 1,
             sizeof *t->constraints))
        return air_err(air, SPW_ERR_NOMEM, "table %s: out of memory", t->name);
    spw_constraint *c = &t->constraints[t->n_constraints++];
    memset(c, 0, sizeof *c);
    c->root = root;
    c->kind = (uint8_t)kind;
    c->degree = t->prog[root].degree;
    c->is_logup = (uint8_t)is_logup;
    return SPW_OK;
}

spw_status spw_air_constrain(spw_air *air, uint32_t table, spw_row_kind rows, spw_expr e)
{
    if (!air) return SPW_ERR_NULL;
    if (check_table(air, table, "spw_air_constrain")) return air_sticky(air);
    if ((unsigned)rows > SPW_ROWS_EVERY)
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_constrain: table %s: bad row kind %d",
                       tname(air, table), (int)rows);
    if (e < 0 && air->err != SPW_OK) return air_sticky(air);
    if (check_operand(air, table, e, "spw_air_constrain")) return air_sticky(air);
    spw_air_table *t = &air->def.tables[table];
    unsigned idx = t->n_constraints;
    if (rows != SPW_ROWS_TRANSITION && (air->flags[table][e] & SPW_AIRF_NEXT))
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_constrain: table %s: constraint %u (%s) uses the next row; only "
                       "transition constraints may",
                       t->name, idx, kind_name(rows));
    if (t->prog[e].degree > SPW_AIR_MAX_DEGREE)
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_constrain: table %s: constraint %u has degree %u > %u", t->name,
                       idx, t->prog[e].degree, SPW_AIR_MAX_DEGREE);
    return add_constraint(air, table, rows, (uint32_t)e, 0);
}

spw_status spw_air_bus(spw_air *air, uint32_t table, uint32_t bus_id, int is_sender,
                       spw_expr multiplicity, const spw_expr *values, size_t n_values)
{
    if (!air) return SPW_ERR_NULL;
    if (check_table(air, table, "spw_air_bus")) return air_sticky(air);
    spw_air_table *t = &air->def.tables[table];
    if (n_values > 0 && !values)
        return air_err(air, SPW_ERR_NULL, "spw_air_bus: table %s: values is NULL", t->name);
    if (n_values > 64)
        return air_err(air, SPW_ERR_INVALID_ARG,
                       "spw_air_bus: table %s bus %u: %zu values (at most 64)", t->name, bus_id,
                       n_values);
    for (size_t i = 0; i <= n_values; i++) {
        spw_expr e = i == 0 ? multiplicity : values[i - 1];
        if (e < 0 && air->err != SPW_OK) return air_sticky(air);
        if (check_operand(air, table, e, "spw_air_bus")) return air_sticky(air);
        const char *what = i == 0 ? "multiplicity" : "value";
        if (air->flags[table][e] & SPW_AIRF_NEXT)
            return air_err(air, SPW_ERR_INVALID_ARG,
                           "spw_air_bus: table %s bus %u: %s %zu uses the next row (not allowed in "
                           "bus expressions)",
                           t->name, bus_id, what, i ? i - 1 : 0);
        if (air->flags[table][e] & SPW_AIRF_EXT)
            return air_err(air, SPW_ERR_INVALID_ARG,
                           "spw_air_bus: table %s bus %u: %s %zu uses a challenge (bus expressions "
                           "must be base-field)",
                           t->name, bus_id, what, i ? i - 1 : 0);
        if (air->flags[table][e] & SPW_AIRF_PUB)
            return air_err(air, SPW_ERR_INVALID_ARG,
                           "spw_air_bus: table %s bus %u: %s %zu uses a public input (bus "
                           "expressions may use only main columns and constants)",
                           t->name, bus_id, what, i ? i - 1 : 0);
        if (t->prog[e].degree > SPW_AIR_MAX_DEGREE)
            return air_err(air, SPW_ERR_INVALID_ARG,
                           "spw_air_bus: table %s bus %u: %s has degree %u > %u", t->name, bus_id,
                           what, t->prog[e].degree, SPW_AIR_MAX_DEGREE);
    }
    if (grow((void **)&t->interactions, &t->interactions_cap, t->n_interactions + 1,
             sizeof *t->interactions))
        return air_err(air, SPW_ERR_NOMEM, "out of memory");
    spw_interaction *it = &t->interactions[t->n_interactions];
    memset(it, 0, sizeof *it);
    it->values = malloc((n_values ? n_values : 1) * sizeof *it->values);
    if (!it->values) return air_err(air, SPW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_values; i++) it->values[i] = (uint32_t)values[i];
    it->bus_id = bus_id;
    it->is_sender = is_sender ? 1 : 0;
    it->mult = (uint32_t)multiplicity;
    it->n_values = (uint32_t)n_values;
    t->n_interactions++;
    return SPW_OK;
}

/* ---- finalize: LogUp compilation ---- */

/* Shorthands that cannot fail silently: errors are sticky in air->err. */
#define E_ADD(a, b) spw_air_add(air, ti, (a), (b))
#define E_SUB(a, b) spw_air_sub(air, ti, (a), (b))
#define E_MUL(a, b) spw_air_mul(air, ti, (a), (b))

static spw_expr leaf(spw_air *air, uint32_t ti, uint8_t op, uint64_t k)
{
    uint8_t deg = (op == SPW_OP_AUX || op == SPW_OP_AUX_NEXT) ? 1 : 0;
    uint8_t fl = SPW_AIRF_EXT | (op == SPW_OP_AUX_NEXT ? SPW_AIRF_NEXT : 0);
    return emit(air, ti, op, 0, 0, k, deg, fl);
}

/* fp = z - (bus_id + sum_k alpha^(k+1) v_k) */
static spw_expr fingerprint(spw_air *air, uint32_t ti, const spw_interaction *it)
{
    spw_expr z = leaf(air, ti, SPW_OP_CHALLENGE, SPW_CHALLENGE_Z);
    spw_expr alpha = leaf(air, ti, SPW_OP_CHALLENGE, SPW_CHALLENGE_ALPHA);
    spw_expr acc = spw_air_const(air, ti, it->bus_id);
    spw_expr pw = alpha;
    for (uint32_t k = 0; k < it->n_values; k++) {
        if (k) pw = E_MUL(pw, alpha);
        acc = E_ADD(acc, E_MUL(pw, (spw_expr)it->values[k]));
    }
    return E_SUB(z, acc);
}

static spw_expr signed_mult(spw_air *air, uint32_t ti, const spw_interaction *it)
{
    return it->is_sender ? (spw_expr)it->mult : spw_air_neg(air, ti, (spw_expr)it->mult);
}

static spw_status compile_logup(spw_air *air, uint32_t ti)
{
    spw_air_table *t = &air->def.tables[ti];
    uint32_t k = t->n_interactions;
    if (k == 0) {
        t->n_aux = 0;
        return SPW_OK;
    }
    uint32_t n_terms = (k + 1) / 2;
    t->n_aux = n_terms + 1;
    uint32_t acc_col = n_terms;
    for (uint32_t j = 0; j < n_terms; j++) {
        const spw_interaction *ia = &t->interactions[2 * j];
        spw_expr tj = leaf(air, ti, SPW_OP_AUX, j);
        spw_expr fa = fingerprint(air, ti, ia);
        spw_expr ma = signed_mult(air, ti, ia);
        spw_expr e;
        if (2 * j + 1 < k) {
            const spw_interaction *ib = &t->interactions[2 * j + 1];
            spw_expr fb = fingerprint(air, ti, ib);
            spw_expr mb = signed_mult(air, ti, ib);
            e = E_SUB(E_MUL(E_MUL(tj, fa), fb), E_ADD(E_MUL(ma, fb), E_MUL(mb, fa)));
        } else {
            e = E_SUB(E_MUL(tj, fa), ma);
        }
        if (e < 0) return air_sticky(air);
        SPW_TRY(add_constraint(air, ti, SPW_CONSTRAINT_EVERY, (uint32_t)e, 1));
    }
    spw_expr acc = leaf(air, ti, SPW_OP_AUX, acc_col);
    spw_expr acc_n = leaf(air, ti, SPW_OP_AUX_NEXT, acc_col);
    spw_expr sum = leaf(air, ti, SPW_OP_AUX, 0);
    spw_expr sum_n = leaf(air, ti, SPW_OP_AUX_NEXT, 0);
    for (uint32_t j = 1; j < n_terms; j++) {
        sum = E_ADD(sum, leaf(air, ti, SPW_OP_AUX, j));
        sum_n = E_ADD(sum_n, leaf(air, ti, SPW_OP_AUX_NEXT, j));
    }
    spw_expr first = E_SUB(acc, sum);
    spw_expr trans = E_SUB(E_SUB(acc_n, acc), sum_n);
    spw_expr last = E_SUB(acc, leaf(air, ti, SPW_OP_LOGUP_SUM, 0));
    if (first < 0 || trans < 0 || last < 0) return air_sticky(air);
    SPW_TRY(add_constraint(air, ti, SPW_CONSTRAINT_FIRST, (uint32_t)first, 1));
    SPW_TRY(add_constraint(air, ti, SPW_CONSTRAINT_TRANSITION, (uint32_t)trans, 1));
    SPW_TRY(add_constraint(air, ti, SPW_CONSTRAINT_LAST, (uint32_t)last, 1));
    return SPW_OK;
}

/* The block interpreter's plan: liveness from the constraint roots, slot
 * reuse by a free list (an instruction may take the slot of an operand that
 * dies at it: the interpreter reads a[r], b[r] before writing d[r]), and
 * the ext3 flags. */
static spw_status plan_eval(spw_air *air, spw_air_table *t)
{
    uint32_t n = t->prog_len;
    uint32_t *last = malloc((n ? n : 1) * sizeof *last);
    uint32_t *freel = malloc((n ? n : 1) * sizeof *freel);
    t->eval_slot = malloc((n ? n : 1) * sizeof *t->eval_slot);
    t->eval_ext = malloc(n ? n : 1);
    if (!last || !freel || !t->eval_slot || !t->eval_ext) {
        free(last);
        free(freel);
        return air_err(air, SPW_ERR_NOMEM, "spw_air_finalize: out of memory");
    }
    const uint32_t LIVE = UINT32_MAX, DEAD = UINT32_MAX - 1;
    for (uint32_t i = 0; i < n; i++) last[i] = DEAD;
    for (uint32_t c = 0; c < t->n_constraints; c++) last[t->constraints[c].root] = LIVE;
    for (uint32_t i = n; i-- > 0;) {
        if (last[i] == DEAD) continue;
        const spw_insn *in = &t->prog[i];
        int bin = in->op == SPW_OP_ADD || in->op == SPW_OP_SUB || in->op == SPW_OP_MUL;
        if (bin || in->op == SPW_OP_NEG) {
            if (last[in->a] == DEAD) last[in->a] = i;
            if (bin && last[in->b] == DEAD) last[in->b] = i;
        }
    }
    uint32_t nfree = 0, nslots = 0;
    for (uint32_t i = 0; i < n; i++) {
        const spw_insn *in = &t->prog[i];
        uint8_t e;
        switch (in->op) {
        case SPW_OP_AUX: case SPW_OP_AUX_NEXT: case SPW_OP_CHALLENGE: case SPW_OP_LOGUP_SUM: e = 1; break;
        case SPW_OP_ADD: case SPW_OP_SUB: case SPW_OP_MUL: e = t->eval_ext[in->a] | t->eval_ext[in->b]; break;
        case SPW_OP_NEG: e = t->eval_ext[in->a]; break;
        default: e = 0; break;
        }
        t->eval_ext[i] = e;
        if (last[i] == DEAD) {
            t->eval_slot[i] = UINT32_MAX;
            continue;
        }
        int bin = in->op == SPW_OP_ADD || in->op == SPW_OP_SUB || in->op == SPW_OP_MUL;
        if (bin || in->op == SPW_OP_NEG) {
            if (last[in->a] == i) freel[nfree++] = t->eval_slot[in->a];
            if (bin && in->b != in->a && last[in->b] == i) freel[nfree++] = t->eval_slot[in->b];
        }
        t->eval_slot[i] = nfree ? freel[--nfree] : nslots++;
    }
    t->n_eval_slots = nslots;
    free(last);
    free(freel);
    return SPW_OK;
}

spw_status spw_air_finalize(spw_air *air)
{
    if (!air) return SPW_ERR_NULL;
    if (air->def.finalized)
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_finalize: the AIR is already finalized");
    if (air->err != SPW_OK) return air_sticky(air);
    if (air->def.n_tables == 0)
        return air_err(air, SPW_ERR_INVALID_ARG, "spw_air_finalize: the AIR has no tables");
    for (uint32_t ti = 0; ti < air->def.n_tables; ti++) {
        SPW_TRY(compile_logup(air, ti));
        spw_air_table *t = &air->def.tables[ti];
        uint8_t md = 0;
        for (uint32_t c = 0; c < t->n_constraints; c++) {
            const spw_constraint *cs = &t->constraints[c];
            if (cs->is_logup && cs->degree > SPW_AIR_MAX_DEGREE)
                return air_err(air, SPW_ERR_INVALID_ARG,
                               "spw_air_finalize: table %s: LogUp constraint %u has degree %u > %u "
                               "(lower the degree of the bus values/multiplicities)",
                               t->name, c, cs->degree, SPW_AIR_MAX_DEGREE);
            if (cs->degree > md) md = cs->degree;
        }
        t->max_degree = md;
        SPW_TRY(plan_eval(air, t));
    }
    air->def.finalized = 1;
    return SPW_OK;
}

uint32_t spw_air_num_tables(const spw_air *air) { return air ? air->def.n_tables : 0; }

spw_status spw_air_set_table_height(spw_air *air, uint32_t table, unsigned log_height)
{
    if (!air) return SPW_ERR_NULL;
    if (table >= air->def.n_tables)
        return spw_fail(air->ctx, SPW_ERR_INVALID_ARG,
                        "spw_air_set_table_height: table %u out of range (%u tables)", table,
                        air->def.n_tables);
    if (log_height < 1 || log_height > 32)
        return spw_fail(air->ctx, SPW_ERR_INVALID_ARG,
                        "spw_air_set_table_height: table %s: log_height %u out of range 1..32",
                        tname(air, table), log_height);
    air->def.tables[table].log_height = log_height;
    return SPW_OK;
}

spw_status spw_air_find_table(const spw_air *air, uint32_t *table_out, const char *name)
{
    if (!air) return SPW_ERR_NULL;
    SPW_CHECK_NULL(air->ctx, table_out);
    SPW_CHECK_NULL(air->ctx, name);
    for (uint32_t i = 0; i < air->def.n_tables; i++)
        if (!strcmp(air->def.tables[i].name, name)) {
            *table_out = i;
            return SPW_OK;
        }
    return spw_fail(air->ctx, SPW_ERR_INVALID_ARG, "no table named '%s'", name);
}
