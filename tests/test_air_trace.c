/* test_air_trace.c - traces: borrowed data, producers, trace files (round
 * trip; corrupted checksum, wrong magic, truncated file, non-canonical value
 * each with its own error naming file/table/column/row) and
 * spw_air_check_trace catching one changed cell. */
#include "air_test_util.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

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

static char *mktmp(void)
{
    char tmpl[] = "/tmp/spw_air_trace_XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static void rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

enum { LC = 4, LL = 6 };

typedef struct fixture {
    spw_ctx *ctx;
    spw_air *air;
    uint64_t *cpu, *lut;
    spw_trace *tr;
    char *dir;
} fixture;

static void fx_init(fixture *f)
{
    f->ctx = mkctx();
    f->air = lookup_air_build(f->ctx, LC, LL);
    lookup_trace_gen(LC, LL, &f->cpu, &f->lut);
    CK_OK(f->ctx, spw_trace_create(f->ctx, &f->tr, f->air));
    CK_OK(f->ctx, spw_trace_set_table(f->tr, 0, f->cpu, 2u << LC));
    CK_OK(f->ctx, spw_trace_set_table(f->tr, 1, f->lut, 5u << LL));
    f->dir = mktmp();
    CK_OK(f->ctx, spw_trace_write_dir(f->ctx, f->tr, f->dir));
}

static void fx_free(fixture *f)
{
    rmtree(f->dir);
    free(f->dir);
    spw_trace_free(f->tr);
    free(f->cpu);
    free(f->lut);
    spw_air_free(f->air);
    spw_ctx_free(f->ctx);
}

static void patch(const char *path, long off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

/* Recomputes the header checksum of a trace file after a payload patch. */
static void fix_checksum(const char *path)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    size_t n = (size_t)st.st_size - 32;
    uint8_t *buf = malloc(n);
    ck_assert_int_eq(pread(fd, buf, n, 32), (ssize_t)n);
    uint64_t h = XXH3_64bits(buf, n);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(h >> (8 * i));
    ck_assert_int_eq(pwrite(fd, le, 8, 24), 8);
    free(buf);
    close(fd);
}

START_TEST(test_roundtrip)
{
    fixture f;
    fx_init(&f);
    /* header bytes, checked independently */
    char path[512];
    snprintf(path, sizeof path, "%s/lut.trace", f.dir);
    FILE *fp = fopen(path, "rb");
    uint8_t hdr[32];
    ck_assert_uint_eq(fread(hdr, 1, 32, fp), 32);
    fclose(fp);
    ck_assert(!memcmp(hdr, "SPWTRACE", 8));
    ck_assert_uint_eq(hdr[8], 1);
    ck_assert_uint_eq(hdr[12], 5);
    ck_assert_uint_eq(hdr[16], 64);
    uint64_t want = XXH3_64bits(f.lut, 5 * 64 * 8); /* host is little-endian here */
    uint64_t got = 0;
    for (int i = 0; i < 8; i++) got |= (uint64_t)hdr[24 + i] << (8 * i);
    ck_assert_uint_eq(got, want);

    /* a parsed AIR with heights left open takes them from the files */
    char *ap = malloc(strlen(getenv("SPW_TEST_DATA") ? getenv("SPW_TEST_DATA") : "tests/data") + 20);
    sprintf(ap, "%s/lookup.air", getenv("SPW_TEST_DATA") ? getenv("SPW_TEST_DATA") : "tests/data");
    spw_air *parsed;
    CK_OK(f.ctx, spw_air_parse_file(f.ctx, &parsed, ap));
    free(ap);
    spw_trace *rt;
    CK_OK(f.ctx, spw_trace_open_dir(f.ctx, &rt, parsed, f.dir));
    ck_assert_uint_eq(spw_air_get_def(parsed)->tables[0].log_height, LC);
    ck_assert_uint_eq(spw_air_get_def(parsed)->tables[1].log_height, LL);
    uint64_t buf[64];
    for (uint32_t c = 0; c < 5; c++) {
        CK_OK(f.ctx, spw_trace_read(rt, buf, 1, c, 0, 64));
        ck_assert(!memcmp(buf, f.lut + c * 64, 64 * 8));
        CK_OK(f.ctx, spw_trace_read(rt, buf, 1, c, 13, 7));
        ck_assert(!memcmp(buf, f.lut + c * 64 + 13, 7 * 8));
    }
    CK_OK(f.ctx, spw_air_check_trace(f.ctx, spw_air_get_def(parsed), rt, NULL, 0));
    CK_OK(f.ctx, spw_logup_check_balance(f.ctx, spw_air_get_def(parsed), rt));
    ck_assert_int_eq(spw_trace_read(rt, buf, 1, 5, 0, 1), SPW_ERR_INVALID_ARG);
    ck_assert_int_eq(spw_trace_read(rt, buf, 1, 0, 60, 5), SPW_ERR_INVALID_ARG);
    spw_trace_free(rt);
    /* heights that disagree with the AIR */
    CK_OK(f.ctx, spw_air_set_table_height(parsed, 1, LL + 1));
    ck_assert_int_eq(spw_trace_open_dir(f.ctx, &rt, parsed, f.dir), SPW_ERR_TRACE);
    ck_assert_msg(strstr(spw_ctx_last_error(f.ctx), "table lut has 64 rows, the AIR says 128"), "%s",
                  spw_ctx_last_error(f.ctx));
    spw_air_free(parsed);
    fx_free(&f);
}
END_TEST

static void expect_open(fixture *f, spw_status s, const char *n1, const char *n2)
{
    spw_trace *rt = (spw_trace *)1;
    spw_status r = spw_trace_open_dir(f->ctx, &rt, f->air, f->dir);
    const char *m = spw_ctx_last_error(f->ctx);
    ck_assert_msg(r == s, "%s: %s", spw_strerror(r), m);
    ck_assert_ptr_null(rt);
    ck_assert_msg(strstr(m, n1), "'%s' lacks '%s'", m, n1);
    ck_assert_msg(strstr(m, n2), "'%s' lacks '%s'", m, n2);
}

START_TEST(test_file_errors)
{
    fixture f;
    char path[512];
    uint8_t b;
    /* corrupted payload byte -> checksum */
    fx_init(&f);
    snprintf(path, sizeof path, "%s/lut.trace", f.dir);
    b = 0x55;
    patch(path, 32 + 8 * 70, &b, 1);
    expect_open(&f, SPW_ERR_CHECKSUM, "lut.trace: table lut: checksum mismatch", "corrupt");
    fx_free(&f);
    /* wrong magic */
    fx_init(&f);
    snprintf(path, sizeof path, "%s/cpu.trace", f.dir);
    patch(path, 0, "SPWTRACX", 8);
    expect_open(&f, SPW_ERR_TRACE, "cpu.trace: table cpu: bad magic", "not a spillway trace");
    fx_free(&f);
    /* truncated */
    fx_init(&f);
    snprintf(path, sizeof path, "%s/lut.trace", f.dir);
    ck_assert_int_eq(truncate(path, 32 + 8 * (64 * 3 + 10)), 0);
    expect_open(&f, SPW_ERR_TRACE, "lut.trace: table lut: truncated file", "column 3 row 10");
    fx_free(&f);
    /* non-canonical value with a valid checksum */
    fx_init(&f);
    snprintf(path, sizeof path, "%s/lut.trace", f.dir);
    uint8_t p8[8] = {0x05, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}; /* p + 4 */
    patch(path, 32 + 8 * (64 * 2 + 33), p8, 8);
    fix_checksum(path);
    expect_open(&f, SPW_ERR_NONCANONICAL, "lut.trace: table lut column 2", "row 33");
    fx_free(&f);
    /* wrong column count; missing file */
    fx_init(&f);
    snprintf(path, sizeof path, "%s/cpu.trace", f.dir);
    b = 3;
    patch(path, 12, &b, 1);
    expect_open(&f, SPW_ERR_TRACE, "cpu.trace: table cpu: file has 3 columns", "the AIR has 2");
    unlink(path);
    expect_open(&f, SPW_ERR_IO, "cpu.trace", "table cpu");
    fx_free(&f);
}
END_TEST

static spw_status producer(void *user, uint64_t *out, uint32_t table, uint32_t col, uint64_t row0,
                           uint64_t nrows)
{
    const uint64_t *cols = user;
    uint64_t h = table == 0 ? 1u << LC : 1u << LL;
    if (table == 0 && col == 1 && row0 <= 7 && row0 + nrows > 7) return SPW_ERR_IO; /* fails here */
    memcpy(out, cols + col * h + row0, nrows * 8);
    return SPW_OK;
}

START_TEST(test_read_errors)
{
    fixture f;
    fx_init(&f);
    uint64_t buf[64];
    f.lut[64 * 4 + 21] = GL_P; /* non-canonical in borrowed data */
    ck_assert_int_eq(spw_trace_read(f.tr, buf, 1, 4, 0, 64), SPW_ERR_NONCANONICAL);
    ck_assert_msg(strstr(spw_ctx_last_error(f.ctx), "table lut column 4 row 21"), "%s", spw_ctx_last_error(f.ctx));
    f.lut[64 * 4 + 21] = 21;
    CK_OK(f.ctx, spw_trace_set_producer(f.tr, 0, producer, f.cpu));
    CK_OK(f.ctx, spw_trace_read(f.tr, buf, 0, 1, 0, 7));
    ck_assert(!memcmp(buf, f.cpu + 16, 7 * 8));
    ck_assert_int_eq(spw_trace_read(f.tr, buf, 0, 1, 4, 8), SPW_ERR_IO);
    ck_assert_msg(strstr(spw_ctx_last_error(f.ctx), "table cpu column 1 rows 4..11: the producer failed"), "%s",
                  spw_ctx_last_error(f.ctx));
    ck_assert_int_eq(spw_trace_set_table(f.tr, 1, f.lut, 5 * 64 - 3), SPW_ERR_TRACE);
    ck_assert_int_eq(spw_trace_set_table(f.tr, 1, f.lut, 5 * 63), SPW_ERR_NOT_POW2);
    ck_assert_int_eq(spw_trace_set_table(f.tr, 1, f.lut, 5 * 32), SPW_ERR_TRACE); /* AIR says 64 */
    spw_trace_free(NULL);
    fx_free(&f);
}
END_TEST

START_TEST(test_check_trace)
{
    fixture f;
    fx_init(&f);
    const spw_air_def *d = spw_air_get_def(f.air);
    CK_OK(f.ctx, spw_air_check_trace(f.ctx, d, f.tr, NULL, 0));
    /* every cell of cpu, one at a time */
    for (uint32_t c = 0; c < 2; c++)
        for (uint32_t r = 0; r < 16; r++) {
            uint64_t old = f.cpu[c * 16 + r];
            f.cpu[c * 16 + r] = gl_add(old, 1);
            ck_assert_int_eq(spw_air_check_trace(f.ctx, d, f.tr, NULL, 0), SPW_ERR_CONSTRAINT);
            const char *m = spw_ctx_last_error(f.ctx);
            ck_assert_msg(strstr(m, "table cpu: constraint"), "%s", m);
            /* the first failing row is r, or r-1 for a transition into r */
            char r0[32], r1[32];
            snprintf(r0, sizeof r0, "at row %u of 16", r);
            snprintf(r1, sizeof r1, "at row %u of 16", r ? r - 1 : 0);
            ck_assert_msg(strstr(m, r0) || strstr(m, r1), "cell %u,%u: %s", c, r, m);
            f.cpu[c * 16 + r] = old;
        }
    f.lut[64 + 40] = 5;
    ck_assert_int_eq(spw_air_check_trace(f.ctx, d, f.tr, NULL, 0), SPW_ERR_CONSTRAINT);
    ck_assert_msg(strstr(spw_ctx_last_error(f.ctx), "table lut: constraint 2 (every-row) does not hold at row 40 of 64"),
                  "%s", spw_ctx_last_error(f.ctx));
    fx_free(&f);
}
END_TEST

/* Three tables on one bus, from tests/data/three.air, through trace files
 * written from producers: check, balance, the global LogUp sum, and a cell
 * changed inside a file (checksum recomputed) caught by the trace check. */
typedef struct three_data {
    uint64_t left[8], right[8], range8[512];
} three_data;

static spw_status three_fill(void *user, uint64_t *out, uint32_t table, uint32_t col, uint64_t row0,
                             uint64_t nrows)
{
    const three_data *d = user;
    const uint64_t *src = table == 0 ? d->left : table == 1 ? d->right : d->range8;
    uint64_t h = table == 0 ? 8 : table == 1 ? 4 : 256;
    memcpy(out, src + col * h + row0, nrows * 8);
    return SPW_OK;
}

START_TEST(test_three_tables)
{
    spw_ctx *ctx = mkctx();
    const char *dd = getenv("SPW_TEST_DATA") ? getenv("SPW_TEST_DATA") : "tests/data";
    char ap[512];
    snprintf(ap, sizeof ap, "%s/three.air", dd);
    spw_air *air;
    CK_OK(ctx, spw_air_parse_file(ctx, &air, ap));
    const spw_air_def *d = spw_air_get_def(air);
    three_data td;
    memset(&td, 0, sizeof td);
    uint64_t pub[1] = {10};
    for (int r = 0; r < 8; r++) td.left[r] = 10 + 2 * r; /* 10 .. 24 */
    uint64_t ys[4] = {3, 50, 7, 100}, on[4] = {1, 1, 0, 1};
    for (int r = 0; r < 4; r++) {
        td.right[r] = ys[r];
        td.right[4 + r] = on[r];
    }
    for (int v = 0; v < 256; v++) td.range8[v] = (uint64_t)v;
    for (int r = 0; r < 8; r++) td.range8[256 + td.left[r]]++;
    for (int r = 0; r < 4; r++)
        if (on[r]) td.range8[256 + 2 * ys[r] + 1]++;
    spw_trace *tr;
    CK_OK(ctx, spw_trace_create(ctx, &tr, air));
    for (uint32_t t = 0; t < 3; t++) CK_OK(ctx, spw_trace_set_producer(tr, t, three_fill, &td));
    CK_OK(ctx, spw_air_check_trace(ctx, d, tr, pub, 1));
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));
    char *dir = mktmp();
    CK_OK(ctx, spw_trace_write_dir(ctx, tr, dir));
    spw_trace_free(tr);
    CK_OK(ctx, spw_trace_open_dir(ctx, &tr, air, dir));
    CK_OK(ctx, spw_air_check_trace(ctx, d, tr, pub, 1));
    CK_OK(ctx, spw_logup_check_balance(ctx, d, tr));
    /* the LogUp contributions of the three tables cancel */
    fe3 ch[2], sum = fe3_zero();
    test_challenges(ch, 31);
    for (uint32_t t = 0; t < 3; t++) {
        const spw_air_table *T = &d->tables[t];
        uint64_t h = spw_air_table_height(T);
        uint64_t *m = malloc(T->n_main * h * 8), *aux = malloc(3 * T->n_aux * h * 8), *ref = malloc(3 * T->n_aux * h * 8);
        for (uint32_t c = 0; c < T->n_main; c++) CK_OK(ctx, spw_trace_read(tr, m + c * h, t, c, 0, h));
        fe3 L;
        CK_OK(ctx, spw_logup_build_aux(ctx, aux, &L, T, m, h, ch));
        ck_assert(fe3_eq(L, ref_logup(T, m, h, ch, ref)));
        sum = fe3_add(sum, L);
        free(m);
        free(aux);
        free(ref);
    }
    ck_assert(fe3_is_zero(sum));
    /* wrong public input */
    uint64_t bad[1] = {11};
    ck_assert_int_eq(spw_air_check_trace(ctx, d, tr, bad, 1), SPW_ERR_CONSTRAINT);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "table left: constraint 0 (first-row, ") &&
                      strstr(spw_ctx_last_error(ctx), "three.air:7) does not hold at row 0 of 8"),
                  "%s", spw_ctx_last_error(ctx));
    ck_assert_int_eq(spw_air_check_trace(ctx, d, tr, pub, 2), SPW_ERR_INVALID_ARG);
    spw_trace_free(tr);
    /* the selector of right row 2 set to 2 inside the file */
    char path[600];
    snprintf(path, sizeof path, "%s/right.trace", dir);
    uint8_t two = 2;
    patch(path, 32 + 8 * (4 + 2), &two, 1);
    fix_checksum(path);
    CK_OK(ctx, spw_trace_open_dir(ctx, &tr, air, dir));
    ck_assert_int_eq(spw_air_check_trace(ctx, d, tr, pub, 1), SPW_ERR_CONSTRAINT);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "table right: constraint 0 (every-row, ") &&
                      strstr(spw_ctx_last_error(ctx), "three.air:14) does not hold at row 2 of 4"),
                  "%s", spw_ctx_last_error(ctx));
    /* ... which also unbalances bus 1: (15) is sent twice, received never */
    ck_assert_int_eq(spw_logup_check_balance(ctx, d, tr), SPW_ERR_BUS_UNBALANCED);
    ck_assert_msg(strstr(spw_ctx_last_error(ctx), "bus 1 does not balance: net multiplicity +2 for tuple (15) first seen in table right row 2; net per table: left +8 right +5 range8 -11"),
                  "%s", spw_ctx_last_error(ctx));
    spw_trace_free(tr);
    rmtree(dir);
    free(dir);
    spw_air_free(air);
    spw_ctx_free(ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("air_trace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_check_trace);
    tcase_add_test(tc, test_three_tables);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return spw_run_suite(suite()); }
