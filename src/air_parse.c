/*
 * air_parse.c - the .air text format: a recursive-descent parser that builds
 * an AIR through the builder API (grammar in docs/AIR.md). Errors are
 * SPW_ERR_PARSE with "file:line:col: expected X, found Y".
 */
#include "air_priv.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum tok_kind { T_EOF, T_IDENT, T_INT, T_PUNCT, T_BAD } tok_kind;

typedef struct tok {
    tok_kind kind;
    unsigned line, col;
    const char *p;   /* start in the source */
    size_t len;
    uint64_t value;  /* T_INT */
    int overflow;    /* T_INT: does not fit in 64 bits */
} tok;

typedef struct parser {
    spw_ctx *ctx;
    spw_air *air;
    const char *path;
    const char *src, *end, *cur;
    unsigned line, col;
    tok t;
    /* current table */
    int have_table;
    uint32_t table;
    char **cols;
    uint32_t n_cols, cols_cap;
    unsigned depth; /* expression nesting, bounded */
} parser;

#define PARSE_MAX_DEPTH 200

static const char *const keywords[] = {"table", "columns", "rows", "publics", "transition", "first",
                                       "last", "every", "send", "receive", "mult", "pub", "challenge",
                                       NULL};

static void next(parser *ps)
{
    /* skip blanks and comments */
    for (;;) {
        if (ps->cur >= ps->end) break;
        char c = *ps->cur;
        if (c == '\n') {
            ps->line++;
            ps->col = 1;
            ps->cur++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ps->col++;
            ps->cur++;
        } else if (c == '#') {
            while (ps->cur < ps->end && *ps->cur != '\n') ps->cur++;
        } else {
            break;
        }
    }
    tok *t = &ps->t;
    memset(t, 0, sizeof *t);
    t->line = ps->line;
    t->col = ps->col;
    t->p = ps->cur;
    if (ps->cur >= ps->end) {
        t->kind = T_EOF;
        return;
    }
    char c = *ps->cur;
    size_t n = 1;
    if (isalpha((unsigned char)c) || c == '_') {
        while (ps->cur + n < ps->end && (isalnum((unsigned char)ps->cur[n]) || ps->cur[n] == '_')) n++;
        t->kind = T_IDENT;
    } else if (isdigit((unsigned char)c)) {
        int base = 10;
        size_t i = 0;
        if (c == '0' && ps->cur + 1 < ps->end && (ps->cur[1] == 'x' || ps->cur[1] == 'X')) {
            base = 16;
            i = 2;
        }
        uint64_t v = 0;
        int digits = 0;
        for (; ps->cur + i < ps->end; i++) {
            int d, ch = (unsigned char)ps->cur[i];
            if (isdigit(ch)) d = ch - '0';
            else if (base == 16 && isxdigit(ch)) d = tolower(ch) - 'a' + 10;
            else if (isalnum(ch) || ch == '_') { digits = -1000; continue; } /* malformed */
            else break;
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) t->overflow = 1;
            v = v * (uint64_t)base + (uint64_t)d;
            digits++;
        }
        n = i;
        t->kind = digits > 0 ? T_INT : T_BAD;
        t->value = v;
    } else if (strchr("{}()[],:'+-*^=;", c)) {
        t->kind = T_PUNCT;
    } else {
        t->kind = T_BAD;
        /* one UTF-8 sequence at most for the message */
        while (ps->cur + n < ps->end && ((unsigned char)ps->cur[n] & 0xC0) == 0x80) n++;
    }
    t->len = n;
    ps->cur += n;
    ps->col += (unsigned)n;
}

static const char *describe(const tok *t, char *buf, size_t n)
{
    switch (t->kind) {
    case T_EOF: return "end of file";
    case T_INT: snprintf(buf, n, "number '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->p); return buf;
    case T_IDENT: snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->p); return buf;
    case T_PUNCT: snprintf(buf, n, "'%c'", *t->p); return buf;
    default:
        if (isprint((unsigned char)*t->p)) snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->p);
        else snprintf(buf, n, "byte 0x%02x", (unsigned char)*t->p);
        return buf;
    }
}

static spw_status expected(parser *ps, const char *what)
{
    char b[64];
    return spw_fail(ps->ctx, SPW_ERR_PARSE, "%s:%u:%u: expected %s, found %s", ps->path, ps->t.line,
                    ps->t.col, what, describe(&ps->t, b, sizeof b));
}

static spw_status errat(parser *ps, unsigned line, unsigned col, const char *msg)
{
    return spw_fail(ps->ctx, SPW_ERR_PARSE, "%s:%u:%u: %s", ps->path, line, col, msg);
}

/* A builder call failed: rewrap its message with the source position. */
static spw_status builder_err(parser *ps, unsigned line, unsigned col)
{
    char msg[SPW_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", spw_ctx_last_error(ps->ctx));
    return spw_fail(ps->ctx, SPW_ERR_PARSE, "%s:%u:%u: %s", ps->path, line, col, msg);
}

static int is_punct(const parser *ps, char c) { return ps->t.kind == T_PUNCT && *ps->t.p == c; }
static int is_word(const parser *ps, const char *w)
{
    return ps->t.kind == T_IDENT && ps->t.len == strlen(w) && !memcmp(ps->t.p, w, ps->t.len);
}
static int is_keyword(const tok *t)
{
    for (int i = 0; keywords[i]; i++)
        if (t->len == strlen(keywords[i]) && !memcmp(t->p, keywords[i], t->len)) return 1;
    return 0;
}

static spw_status expect_punct(parser *ps, char c)
{
    if (!is_punct(ps, c)) {
        char w[8];
        snprintf(w, sizeof w, "'%c'", c);
        return expected(ps, w);
    }
    next(ps);
    return SPW_OK;
}

static spw_status parse_uint(parser *ps, uint64_t *out, const char *what)
{
    if (ps->t.kind != T_INT) return expected(ps, what);
    if (ps->t.overflow) return errat(ps, ps->t.line, ps->t.col, "number does not fit in 64 bits");
    *out = ps->t.value;
    next(ps);
    return SPW_OK;
}

/* ---- expressions ---- */

static spw_status parse_expr(parser *ps, spw_expr *out);

static spw_status parse_primary(parser *ps, spw_expr *out)
{
    unsigned line = ps->t.line, col = ps->t.col;
    spw_air *air = ps->air;
    uint32_t ti = ps->table;
    if (ps->t.kind == T_INT) {
        if (ps->t.overflow || ps->t.value >= GL_P)
            return errat(ps, line, col, "integer literal is not < p = 2^64 - 2^32 + 1");
        *out = spw_air_const(air, ti, ps->t.value);
        next(ps);
    } else if (is_punct(ps, '(')) {
        if (ps->depth >= PARSE_MAX_DEPTH) return errat(ps, line, col, "expression nested too deeply");
        next(ps);
        ps->depth++;
        spw_status s = parse_expr(ps, out);
        ps->depth--;
        SPW_TRY(s);
        SPW_TRY(expect_punct(ps, ')'));
        return SPW_OK;
    } else if (is_word(ps, "pub") || is_word(ps, "challenge")) {
        int pub = is_word(ps, "pub");
        next(ps);
        SPW_TRY(expect_punct(ps, '['));
        uint64_t idx;
        unsigned il = ps->t.line, ic = ps->t.col;
        SPW_TRY(parse_uint(ps, &idx, "an index"));
        SPW_TRY(expect_punct(ps, ']'));
        if (idx > UINT32_MAX) return errat(ps, il, ic, "index out of range");
        *out = pub ? spw_air_public(air, ti, (uint32_t)idx) : spw_air_challenge(air, ti, (uint32_t)idx);
        if (*out < 0) return builder_err(ps, il, ic);
        return SPW_OK;
    } else if (ps->t.kind == T_IDENT && !is_keyword(&ps->t)) {
        uint32_t c;
        for (c = 0; c < ps->n_cols; c++)
            if (strlen(ps->cols[c]) == ps->t.len && !memcmp(ps->cols[c], ps->t.p, ps->t.len)) break;
        if (c == ps->n_cols) {
            char msg[200];
            snprintf(msg, sizeof msg, "unknown column '%.*s' in table %s", (int)(ps->t.len > 60 ? 60 : ps->t.len),
                     ps->t.p, ps->air->def.tables[ti].name);
            return errat(ps, line, col, msg);
        }
        next(ps);
        if (is_punct(ps, '\'')) {
            next(ps);
            *out = spw_air_col_next(air, ti, c);
        } else {
            *out = spw_air_col(air, ti, c);
        }
    } else {
        return expected(ps, "an expression (number, column, pub[i], challenge[i] or '(')");
    }
    if (*out < 0) return builder_err(ps, line, col);
    return SPW_OK;
}

static spw_status parse_power(parser *ps, spw_expr *out)
{
    SPW_TRY(parse_primary(ps, out));
    if (!is_punct(ps, '^')) return SPW_OK;
    next(ps);
    unsigned line = ps->t.line, col = ps->t.col;
    uint64_t e;
    SPW_TRY(parse_uint(ps, &e, "an exponent"));
    if (e > 16) return errat(ps, line, col, "exponent too large (at most 16)");
    spw_expr base = *out;
    if (e == 0) {
        *out = spw_air_const(ps->air, ps->table, 1);
    } else {
        for (uint64_t i = 1; i < e; i++) *out = spw_air_mul(ps->air, ps->table, *out, base);
    }
    if (*out < 0) return builder_err(ps, line, col);
    return SPW_OK;
}

static spw_status parse_unary(parser *ps, spw_expr *out)
{
    if (ps->depth >= PARSE_MAX_DEPTH)
        return errat(ps, ps->t.line, ps->t.col, "expression nested too deeply");
    if (is_punct(ps, '-')) {
        unsigned line = ps->t.line, col = ps->t.col;
        next(ps);
        ps->depth++;
        spw_status s = parse_unary(ps, out);
        ps->depth--;
        SPW_TRY(s);
        *out = spw_air_neg(ps->air, ps->table, *out);
        if (*out < 0) return builder_err(ps, line, col);
        return SPW_OK;
    }
    return parse_power(ps, out);
}

static spw_status parse_term(parser *ps, spw_expr *out)
{
    SPW_TRY(parse_unary(ps, out));
    while (is_punct(ps, '*')) {
        unsigned line = ps->t.line, col = ps->t.col;
        next(ps);
        spw_expr r;
        SPW_TRY(parse_unary(ps, &r));
        *out = spw_air_mul(ps->air, ps->table, *out, r);
        if (*out < 0) return builder_err(ps, line, col);
    }
    return SPW_OK;
}

static spw_status parse_expr(parser *ps, spw_expr *out)
{
    SPW_TRY(parse_term(ps, out));
    while (is_punct(ps, '+') || is_punct(ps, '-')) {
        int add = is_punct(ps, '+');
        unsigned line = ps->t.line, col = ps->t.col;
        next(ps);
        spw_expr r;
        SPW_TRY(parse_term(ps, &r));
        *out = add ? spw_air_add(ps->air, ps->table, *out, r) : spw_air_sub(ps->air, ps->table, *out, r);
        if (*out < 0) return builder_err(ps, line, col);
    }
    return SPW_OK;
}

/* ---- statements ---- */

static void free_cols(parser *ps)
{
    for (uint32_t i = 0; i < ps->n_cols; i++) free(ps->cols[i]);
    free(ps->cols);
    ps->cols = NULL;
    ps->n_cols = ps->cols_cap = 0;
}

static spw_status parse_columns(parser *ps)
{
    next(ps); /* 'columns' */
    for (;;) {
        if (ps->t.kind != T_IDENT || is_keyword(&ps->t)) return expected(ps, "a column name");
        for (uint32_t c = 0; c < ps->n_cols; c++)
            if (strlen(ps->cols[c]) == ps->t.len && !memcmp(ps->cols[c], ps->t.p, ps->t.len))
                return errat(ps, ps->t.line, ps->t.col, "duplicate column name");
        if (ps->n_cols == ps->cols_cap) {
            uint32_t nc = ps->cols_cap ? ps->cols_cap * 2 : 16;
            char **n = realloc(ps->cols, nc * sizeof *n);
            if (!n) return spw_fail(ps->ctx, SPW_ERR_NOMEM, "out of memory");
            ps->cols = n;
            ps->cols_cap = nc;
        }
        char *s = strndup(ps->t.p, ps->t.len);
        if (!s) return spw_fail(ps->ctx, SPW_ERR_NOMEM, "out of memory");
        ps->cols[ps->n_cols++] = s;
        next(ps);
        if (!is_punct(ps, ',')) break;
        next(ps);
    }
    if (is_punct(ps, ';')) next(ps);
    return SPW_OK;
}

/* Creates the table once its columns are known. */
static spw_status open_table(parser *ps, const char *name, unsigned log_height, unsigned line,
                             unsigned col)
{
    if (ps->have_table) return SPW_OK;
    if (ps->n_cols == 0) return errat(ps, line, col, "table has no columns (declare 'columns a, b, ...' first)");
    if (spw_air_add_table(ps->air, &ps->table, name, log_height, ps->n_cols)) return builder_err(ps, line, col);
    for (uint32_t c = 0; c < ps->n_cols; c++)
        if (spw_air_set_col_name(ps->air, ps->table, c, ps->cols[c])) return builder_err(ps, line, col);
    ps->have_table = 1;
    return SPW_OK;
}

static spw_status parse_table(parser *ps)
{
    unsigned tline = ps->t.line, tcol = ps->t.col;
    next(ps); /* 'table' */
    if (ps->t.kind != T_IDENT || is_keyword(&ps->t)) return expected(ps, "a table name");
    char name[160];
    if (ps->t.len >= sizeof name) return errat(ps, ps->t.line, ps->t.col, "table name too long");
    memcpy(name, ps->t.p, ps->t.len);
    name[ps->t.len] = 0;
    for (uint32_t i = 0; i < ps->air->def.n_tables; i++)
        if (!strcmp(ps->air->def.tables[i].name, name))
            return errat(ps, ps->t.line, ps->t.col, "duplicate table name");
    next(ps);
    unsigned log_height = 0;
    if (is_word(ps, "rows")) {
        next(ps);
        unsigned line = ps->t.line, col = ps->t.col;
        uint64_t v;
        SPW_TRY(parse_uint(ps, &v, "a row count (2^N or a power of two)"));
        if (is_punct(ps, '^')) {
            if (v != 2) return errat(ps, line, col, "row count must be written 2^N");
            next(ps);
            uint64_t e;
            unsigned el = ps->t.line, ec = ps->t.col;
            SPW_TRY(parse_uint(ps, &e, "an exponent"));
            if (e < 1 || e > 32) return errat(ps, el, ec, "row exponent must be in 1 .. 32");
            log_height = (unsigned)e;
        } else {
            if (!spw_is_pow2(v) || v < 2 || v > ((uint64_t)1 << 32))
                return errat(ps, line, col, "row count must be a power of two in 2 .. 2^32");
            log_height = spw_log2(v);
        }
    }
    SPW_TRY(expect_punct(ps, '{'));
    free_cols(ps);
    ps->have_table = 0;
    while (is_word(ps, "columns")) SPW_TRY(parse_columns(ps));
    for (;;) {
        unsigned line = ps->t.line, col = ps->t.col;
        if (is_punct(ps, '}')) {
            SPW_TRY(open_table(ps, name, log_height, tline, tcol));
            next(ps);
            break;
        }
        if (is_punct(ps, ';')) {
            next(ps);
            continue;
        }
        int kind = -1;
        if (is_word(ps, "transition")) kind = SPW_ROWS_TRANSITION;
        else if (is_word(ps, "first")) kind = SPW_ROWS_FIRST;
        else if (is_word(ps, "last")) kind = SPW_ROWS_LAST;
        else if (is_word(ps, "every")) kind = SPW_ROWS_EVERY;
        if (kind >= 0) {
            SPW_TRY(open_table(ps, name, log_height, line, col));
            next(ps);
            SPW_TRY(expect_punct(ps, ':'));
            spw_expr lhs, rhs;
            SPW_TRY(parse_expr(ps, &lhs));
            if (is_punct(ps, '=')) {
                unsigned el = ps->t.line, ec = ps->t.col;
                next(ps);
                SPW_TRY(parse_expr(ps, &rhs));
                lhs = spw_air_sub(ps->air, ps->table, lhs, rhs);
                if (lhs < 0) return builder_err(ps, el, ec);
            }
            if (spw_air_constrain(ps->air, ps->table, (spw_row_kind)kind, lhs)) return builder_err(ps, line, col);
            spw_air_table *t = &ps->air->def.tables[ps->table];
            t->constraints[t->n_constraints - 1].line = line;
            continue;
        }
        if (is_word(ps, "send") || is_word(ps, "receive")) {
            int sender = is_word(ps, "send");
            SPW_TRY(open_table(ps, name, log_height, line, col));
            next(ps);
            uint64_t bus;
            unsigned bl = ps->t.line, bc = ps->t.col;
            SPW_TRY(parse_uint(ps, &bus, "a bus id"));
            if (bus > UINT32_MAX) return errat(ps, bl, bc, "bus id out of range (32 bits)");
            spw_expr mult;
            if (is_word(ps, "mult")) {
                next(ps);
                SPW_TRY(parse_expr(ps, &mult));
            } else {
                mult = spw_air_const(ps->air, ps->table, 1);
            }
            SPW_TRY(expect_punct(ps, '('));
            spw_expr vals[64];
            size_t nv = 0;
            if (!is_punct(ps, ')')) {
                for (;;) {
                    if (nv == 64) return errat(ps, ps->t.line, ps->t.col, "more than 64 values in a tuple");
                    SPW_TRY(parse_expr(ps, &vals[nv]));
                    nv++;
                    if (!is_punct(ps, ',')) break;
                    next(ps);
                }
            }
            SPW_TRY(expect_punct(ps, ')'));
            if (spw_air_bus(ps->air, ps->table, (uint32_t)bus, sender, mult, vals, nv))
                return builder_err(ps, line, col);
            continue;
        }
        if (is_word(ps, "columns"))
            return errat(ps, line, col, "columns must be declared before any constraint or bus");
        return expected(ps, "a constraint (transition|first|last|every ':'), 'send', 'receive' or '}'");
    }
    free_cols(ps);
    return SPW_OK;
}

static spw_status parse_file_body(parser *ps)
{
    next(ps);
    int saw_table = 0;
    for (;;) {
        if (ps->t.kind == T_EOF) break;
        if (is_word(ps, "publics")) {
            unsigned line = ps->t.line, col = ps->t.col;
            next(ps);
            uint64_t n;
            SPW_TRY(parse_uint(ps, &n, "the number of public inputs"));
            if (n > (1u << 20)) return errat(ps, line, col, "too many public inputs");
            if (saw_table) return errat(ps, line, col, "'publics' must come before the tables");
            if (spw_air_set_publics(ps->air, (uint32_t)n)) return builder_err(ps, line, col);
            if (is_punct(ps, ';')) next(ps);
            continue;
        }
        if (is_word(ps, "table")) {
            saw_table = 1;
            SPW_TRY(parse_table(ps));
            continue;
        }
        return expected(ps, "'table' or 'publics'");
    }
    if (!saw_table) return errat(ps, ps->t.line, ps->t.col, "expected at least one table, found end of file");
    if (spw_air_finalize(ps->air)) return builder_err(ps, ps->t.line, ps->t.col);
    return SPW_OK;
}

spw_status spw_air_parse_text(spw_ctx *ctx, spw_air **out, const char *path, const char *text, size_t len)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    SPW_CHECK_NULL(ctx, text);
    if (!path) path = "<string>";
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.ctx = ctx;
    ps.path = path;
    ps.src = ps.cur = text;
    ps.end = text + len;
    ps.line = ps.col = 1;
    SPW_TRY(spw_air_create(ctx, &ps.air));
    spw_status s = parse_file_body(&ps);
    free_cols(&ps);
    if (s == SPW_OK) {
        ps.air->def.source = strdup(path);
        if (!ps.air->def.source) s = spw_fail(ctx, SPW_ERR_NOMEM, "out of memory");
    }
    if (s != SPW_OK) {
        spw_air_free(ps.air);
        return s;
    }
    *out = ps.air;
    return SPW_OK;
}

spw_status spw_air_parse_file(spw_ctx *ctx, spw_air **out, const char *path)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    SPW_CHECK_NULL(ctx, path);
    FILE *f = fopen(path, "rb");
    if (!f) return spw_fail(ctx, SPW_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return spw_fail(ctx, SPW_ERR_NOMEM, "%s: out of memory", path);
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        if (cap >= ((size_t)64 << 20)) {
            free(buf);
            fclose(f);
            return spw_fail(ctx, SPW_ERR_TOO_LARGE, "%s: .air file larger than 64 MiB", path);
        }
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) free(buf);
        buf = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return spw_fail(ctx, SPW_ERR_IO, "%s: read error", path);
    }
    spw_status s = spw_air_parse_text(ctx, out, path, buf, len);
    free(buf);
    return s;
}
