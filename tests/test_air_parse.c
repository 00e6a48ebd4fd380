/* test_air_parse.c - the .air parser: valid files (fib.air gives the same
 * program as the C builder; lookup.air behaves like the C-built lookup AIR)
 * and malformed inputs, each with its expected file:line:col. */
#include "air_test_util.h"
#include "air_priv.h"

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

static char *data_path(const char *name)
{
    const char *dir = getenv("SPW_TEST_DATA");
    if (!dir) dir = "tests/data";
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* The fib AIR through the C API, in the parser's order of calls. */
static spw_air *fib_c(spw_ctx *ctx)
{
    spw_air *air;
    uint32_t t;
    CK_OK(ctx, spw_air_create(ctx, &air));
    CK_OK(ctx, spw_air_set_publics(air, 2));
    CK_OK(ctx, spw_air_add_table(air, &t, "fib", 4, 2));
    spw_expr an = spw_air_col_next(air, t, 0), b = spw_air_col(air, t, 1);
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_TRANSITION, spw_air_sub(air, t, an, b)));
    spw_expr bn = spw_air_col_next(air, t, 1), a = spw_air_col(air, t, 0);
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_TRANSITION, spw_air_sub(air, t, bn, spw_air_add(air, t, a, b))));
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_FIRST, spw_air_sub(air, t, a, spw_air_public(air, t, 0))));
    CK_OK(ctx, spw_air_constrain(air, t, SPW_ROWS_LAST, spw_air_sub(air, t, b, spw_air_public(air, t, 1))));
    CK_OK(ctx, spw_air_finalize(air));
    return air;
}

static void assert_same_def(const spw_air_def *x, const spw_air_def *y)
{
    ck_assert_uint_eq(x->n_tables, y->n_tables);
    ck_assert_uint_eq(x->n_publics, y->n_publics);
    for (uint32_t i = 0; i < x->n_tables; i++) {
        const spw_air_table *a = &x->tables[i], *b = &y->tables[i];
        ck_assert_str_eq(a->name, b->name);
        ck_assert_uint_eq(a->log_height, b->log_height);
        ck_assert_uint_eq(a->n_main, b->n_main);
        ck_assert_uint_eq(a->prog_len, b->prog_len);
        for (uint32_t k = 0; k < a->prog_len; k++) {
            ck_assert_uint_eq(a->prog[k].op, b->prog[k].op);
            ck_assert_uint_eq(a->prog[k].degree, b->prog[k].degree);
            ck_assert_uint_eq(a->prog[k].a, b->prog[k].a);
            ck_assert_uint_eq(a->prog[k].b, b->prog[k].b);
            ck_assert_uint_eq(a->prog[k].k, b->prog[k].k);
        }
        ck_assert_uint_eq(a->n_constraints, b->n_constraints);
        for (uint32_t k = 0; k < a->n_constraints; k++) {
            ck_assert_uint_eq(a->constraints[k].root, b->constraints[k].root);
            ck_assert_uint_eq(a->constraints[k].kind, b->constraints[k].kind);
            ck_assert_uint_eq(a->constraints[k].degree, b->constraints[k].degree);
            ck_assert_uint_eq(a->constraints[k].is_logup, b->constraints[k].is_logup);
        }
        ck_assert_uint_eq(a->n_interactions, b->n_interactions);
        ck_assert_uint_eq(a->n_aux, b->n_aux);
        ck_assert_uint_eq(a->max_degree, b->max_degree);
    }
}

START_TEST(test_fib_same_program)
{
    spw_ctx *ctx = mkctx();
    char *p = data_path("fib.air");
    spw_air *parsed, *built = fib_c(ctx);
    CK_OK(ctx, spw_air_parse_file(ctx, &parsed, p));
    assert_same_def(spw_air_get_def(parsed), spw_air_get_def(built));
    const spw_air_def *d = spw_air_get_def(parsed);
    ck_assert_uint_eq(d->tables[0].constraints[0].line, 6);
    ck_assert_uint_eq(d->tables[0].constraints[3].line, 9);
    ck_assert_str_eq(d->tables[0].main_names[1], "b");
    ck_assert_str_eq(d->source, p);
    spw_air_free(parsed);
    spw_air_free(built);
    free(p);
    spw_ctx_free(ctx);
}
END_TEST

/* lookup.air is the AIR of air_test_util.h in another order: same tables,
 * same interactions, and the same LogUp sums and constraint results. */
START_TEST(test_lookup_equivalent)
{
    spw_ctx *ctx = mkctx();
    char *p = data_path("lookup.air");
    spw_air *parsed;
    CK_OK(ctx, spw_air_parse_file(ctx, &parsed, p));
    const unsigned lc = 4, ll = 6;
    spw_air *built = lookup_air_build(ctx, lc, ll);
    ck_assert_uint_eq(spw_air_get_def(parsed)->tables[0].log_height, 0); /* left to the trace */
    CK_OK(ctx, spw_air_set_table_height(parsed, 0, lc));
    CK_OK(ctx, spw_air_set_table_height(parsed, 1, ll));
    const spw_air_def *dp = spw_air_get_def(parsed), *db = spw_air_get_def(built);
    uint64_t *cols[2];
    lookup_trace_gen(lc, ll, &cols[0], &cols[1]);
    fe3 ch[2];
    test_challenges(ch, 77);
    for (int ti = 0; ti < 2; ti++) {
        const spw_air_table *a = &dp->tables[ti], *b = &db->tables[ti];
        ck_assert_uint_eq(a->n_interactions, b->n_interactions);
        ck_assert_uint_eq(a->n_aux, b->n_aux);
        ck_assert_uint_eq(a->n_constraints, b->n_constraints);
        ck_assert_uint_eq(a->max_degree, b->max_degree);
        uint64_t h = 1ull << a->log_height;
        uint64_t *xa = malloc(3 * a->n_aux * h * 8), *xb = malloc(3 * a->n_aux * h * 8);
        fe3 la, lb;
        CK_OK(ctx, spw_logup_build_aux(ctx, xa, &la, a, cols[ti], h, ch));
        CK_OK(ctx, spw_logup_build_aux(ctx, xb, &lb, b, cols[ti], h, ch));
        ck_assert(fe3_eq(la, lb));
        ck_assert(!memcmp(xa, xb, 3 * a->n_aux * h * 8));
        free(xa);
        free(xb);
    }
    spw_trace *tr;
    CK_OK(ctx, spw_trace_create(ctx, &tr, parsed));
    CK_OK(ctx, spw_trace_set_table(tr, 0, cols[0], 2ull << lc));
    CK_OK(ctx, spw_trace_set_table(tr, 1, cols[1], 5ull << ll));
    CK_OK(ctx, spw_air_check_trace(ctx, dp, tr, NULL, 0));
    CK_OK(ctx, spw_logup_check_balance(ctx, dp, tr));
    cols[1][(1ull << ll) + 9] ^= 1; /* w at row 9 */
    ck_assert_int_eq(spw_air_check_trace(ctx, dp, tr, NULL, 0), SPW_ERR_CONSTRAINT);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "table lut: constraint 2 (every-row, ") &&
                      strstr(spw_ctx_last_error(ctx), "lookup.air:18) does not hold at row 9"),
                  "%s", spw_ctx_last_error(ctx));
    spw_trace_free(tr);
    free(cols[0]);
    free(cols[1]);
    spw_air_free(parsed);
    spw_air_free(built);
    free(p);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_syntax_features)
{
    spw_ctx *ctx = mkctx();
    const char *src =
        "# comment\n"
        "publics 1;\n"
        "table t rows 8 {\n"
        "  columns x\n"
        "  columns y, z\n"
        "  every: x^3 - -y * (z + 0x10) = 7   # comment\n"
        "  every: x^0 - 1\n"
        "  transition: x' = challenge[1] * pub[0];\n"
        "  send 4 mult x * y ()\n"
        "}\n";
    spw_air *air;
    CK_OK(ctx, spw_air_parse_text(ctx, &air, "f.air", src, strlen(src)));
    const spw_air_table *t = &spw_air_get_def(air)->tables[0];
    ck_assert_uint_eq(t->log_height, 3);
    ck_assert_uint_eq(t->n_main, 3);
    ck_assert_uint_eq(t->constraints[0].degree, 3);
    ck_assert_uint_eq(t->constraints[0].line, 6);
    ck_assert_uint_eq(t->constraints[2].line, 8);
    ck_assert_uint_eq(t->n_interactions, 1);
    ck_assert_uint_eq(t->interactions[0].n_values, 0);
    /* evaluate constraint 0 at x=2, y=3, z=5: 8 + 3*21 - 7 = 64 */
    fe3 *scr = malloc(t->prog_len * sizeof *scr);
    uint64_t m[3] = {2, 3, 5}, pub[1] = {1};
    fe3 ch[2] = {fe3_zero(), fe3_zero()};
    fe3 aux[2] = {fe3_zero(), fe3_zero()};
    ck_assert_uint_eq(t->n_aux, 2);
    spw_eval_env env = {m, m, aux, aux, ch, pub, fe3_zero()};
    spw_air_eval(t, &env, scr);
    ck_assert(fe3_eq(scr[t->constraints[0].root], fe3_from_base(64)));
    ck_assert(fe3_is_zero(scr[t->constraints[1].root]));
    free(scr);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

typedef struct bad_case {
    const char *src;
    const char *where; /* expected "bad.air:L:C: ..." prefix */
    const char *what;  /* substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"tabel t {", "bad.air:1:1:", "expected 'table' or 'publics', found 'tabel'"},
    {"table {", "bad.air:1:7:", "expected a table name, found '{'"},
    {"table t {\n  columns a\n  every: a +\n}", "bad.air:4:1:", "expected an expression"},
    {"table t {\n  columns a\n  every: (a * 2\n}", "bad.air:4:1:", "expected ')', found '}'"},
    {"table t {\n  columns a\n  every: b = 0\n}", "bad.air:3:10:", "unknown column 'b' in table t"},
    {"table t {\n  columns a\n  first: a' = 1\n}", "bad.air:3:3:", "uses the next row"},
    {"table t {\n  columns a\n  every a = 1\n}", "bad.air:3:9:", "expected ':', found 'a'"},
    {"table t {\n  columns a\n  every: a = 18446744069414584321\n}", "bad.air:3:14:", "not < p"},
    {"table t rows 12 {\n  columns a\n}", "bad.air:1:14:", "power of two"},
    {"table t {\n  columns a, a\n}", "bad.air:2:14:", "duplicate column name"},
    {"table t {\n  every: 1 = 1\n}", "bad.air:2:3:", "table has no columns"},
    {"table t {\n  columns a\n  every: a = pub[0]\n}", "bad.air:3:18:", "public input 0 out of range"},
    {"table t {\n  columns a\n  every: a^9\n}", "bad.air:3:3:", "degree 9 > 8"},
    {"table t {\n  columns a\n  send 1 (a'\n)}", "bad.air:3:3:", "uses the next row"},
    {"table t {\n  columns a\n  every: a = 1\n  columns b\n}", "bad.air:4:3:", "columns must be declared before"},
    {"table t {\n  columns a\n  every: a $ 1\n}", "bad.air:3:12:", "found '$'"},
    {"table t {\n  columns a\n  every: a = 1\n", "bad.air:4:1:", "found end of file"},
    {"table t { columns a }\ntable t { columns b }", "bad.air:2:7:", "duplicate table name"},
    {"", "bad.air:1:1:", "expected at least one table"},
    {"table t {\n  columns table\n}", "bad.air:2:11:", "expected a column name, found 'table'"},
    {"table t {\n  columns a\n  every: challenge[2]\n}", "bad.air:3:20:", "challenge 2 out of range"},
    {"table t {\n  columns a\n  every: 12ab\n}", "bad.air:3:10:", "found '12ab'"},
};

START_TEST(test_malformed)
{
    spw_ctx *ctx = mkctx();
    const bad_case *c = &bad_cases[_i];
    spw_air *air = (spw_air *)1;
    spw_status s = spw_air_parse_text(ctx, &air, "bad.air", c->src, strlen(c->src));
    const char *m = spw_ctx_last_error(ctx);
    ck_assert_msg(s == SPW_ERR_PARSE, "case %d: %s (%s)", _i, spw_strerror(s), m);
    ck_assert_ptr_null(air);
    ck_assert_msg(!strncmp(m, c->where, strlen(c->where)), "case %d: '%s' does not start with '%s'", _i, m, c->where);
    ck_assert_msg(strstr(m, c->what), "case %d: '%s' lacks '%s'", _i, m, c->what);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_deep_nesting)
{
    spw_ctx *ctx = mkctx();
    size_t n = 100000;
    char *src = malloc(3 * n + 100);
    strcpy(src, "table t {\n  columns a\n  every: ");
    size_t len = strlen(src);
    for (size_t i = 0; i < n; i++) src[len++] = i % 2 ? '(' : '-';
    src[len++] = 'a';
    for (size_t i = 0; i < n / 2; i++) src[len++] = ')';
    src[len++] = '}';
    spw_air *air;
    ck_assert_int_eq(spw_air_parse_text(ctx, &air, "deep.air", src, len), SPW_ERR_PARSE);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "deep.air:3:") &&
                      strstr(spw_ctx_last_error(ctx), "nested too deeply"), "%s", spw_ctx_last_error(ctx));
    /* moderate nesting is fine */
    len = strlen("table t {\n  columns a\n  every: ");
    for (size_t i = 0; i < 50; i++) src[len++] = '(';
    src[len++] = 'a';
    for (size_t i = 0; i < 50; i++) src[len++] = ')';
    src[len++] = '}';
    CK_OK(ctx, spw_air_parse_text(ctx, &air, "deep.air", src, len));
    spw_air_free(air);
    free(src);
    spw_ctx_free(ctx);
}
END_TEST

START_TEST(test_missing_file)
{
    spw_ctx *ctx = mkctx();
    spw_air *air;
    ck_assert_int_eq(spw_air_parse_file(ctx, &air, "/nonexistent/x.air"), SPW_ERR_IO);
    ck_assert(strstr(spw_ctx_last_error(ctx), "/nonexistent/x.air"));
    spw_ctx_free(ctx);
}
END_TEST

/* Seeded mutations of the example files (byte flips, deletions,
 * insertions of grammar characters, truncations): the parser returns
 * SPW_OK or SPW_ERR_PARSE with a file:line:col message, and never crashes
 * (Check's fork would report the signal). */
START_TEST(test_mutations)
{
    spw_ctx *ctx = mkctx();
    const char *names[2] = {"fib.air", "lookup.air"};
    static const char alphabet[] = "{}()[],:'+-*^=;# \n0123456789abcxyz_pubrowstable";
    uint64_t seed = 2024;
    int n_ok = 0, n_err = 0;
    for (int f = 0; f < 2; f++) {
        char *p = data_path(names[f]);
        FILE *fp = fopen(p, "rb");
        ck_assert_ptr_nonnull(fp);
        char orig[4096];
        size_t len = fread(orig, 1, sizeof orig, fp);
        fclose(fp);
        free(p);
        char buf[4200];
        for (int it = 0; it < 1500; it++) {
            memcpy(buf, orig, len);
            size_t n = len;
            int edits = 1 + (int)(spw_test_rand(&seed) % 3);
            for (int e = 0; e < edits; e++) {
                size_t pos = (size_t)(spw_test_rand(&seed) % (n ? n : 1));
                switch (spw_test_rand(&seed) % 4) {
                case 0: buf[pos] = alphabet[spw_test_rand(&seed) % (sizeof alphabet - 1)]; break;
                case 1: memmove(buf + pos, buf + pos + 1, n - pos - 1); n--; break;
                case 2:
                    if (n + 1 < sizeof buf) {
                        memmove(buf + pos + 1, buf + pos, n - pos);
                        buf[pos] = alphabet[spw_test_rand(&seed) % (sizeof alphabet - 1)];
                        n++;
                    }
                    break;
                default: n = pos; break;
                }
            }
            spw_air *air = NULL;
            spw_status s = spw_air_parse_text(ctx, &air, "m.air", buf, n);
            if (s == SPW_OK) {
                ck_assert_ptr_nonnull(air);
                n_ok++;
                spw_air_free(air);
            } else {
                ck_assert_msg(s == SPW_ERR_PARSE, "%s: %s", spw_strerror(s), spw_ctx_last_error(ctx));
                ck_assert_ptr_null(air);
                ck_assert_msg(!strncmp(spw_ctx_last_error(ctx), "m.air:", 6), "%s", spw_ctx_last_error(ctx));
                n_err++;
            }
        }
    }
    ck_assert_int_gt(n_err, 1000);
    ck_assert_int_gt(n_ok, 10);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("air_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fib_same_program);
    tcase_add_test(tc, test_lookup_equivalent);
    tcase_add_test(tc, test_syntax_features);
    tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
