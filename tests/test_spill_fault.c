/*
 * test_spill_fault.c - fault injection sweep: for every I/O operation N of
 * a small store workload (fallocate, writes, reads, eviction write-backs),
 * and for each fault kind (EIO, ENOSPC, short transfer, corrupted bytes,
 * EAGAIN) on both engines, the Nth operation fails. Every run must end in
 * a clear error of the expected kind or a correct result; the store must
 * free cleanly (run under ASan/valgrind for leaks) and leave no file in
 * the spill directory.
 */
#include "check_util.h"
#include "spill.h"
#include "test_spill_util.h"

enum { NCH = 6, SZ = 20000 };

typedef struct outcome {
    spw_status st;
    int wrong;    /* a read returned bytes that differ from what was written */
    uint64_t ops; /* I/O ops the run issued */
} outcome;

static outcome run_workload(spw_ctx *ctx, const char *dir, int engine, uint64_t fault_n, int kind)
{
    outcome r = {SPW_OK, 0, 0};
    spw_spill_opts o;
    spw_spill_opts_default(&o);
    o.dir = dir;
    o.host_budget = 3 * (SZ + 8192); /* two or three chunks resident at once */
    o.nvme_budget = 1u << 20;
    o.engine = engine;
    o.queue_depth = 2;
    o.request_size = 8192; /* several requests per chunk */
    o.compress = 2;
    o.register_cuda = 0;
    o.fault_n = fault_n;
    o.fault_kind = kind;
    spw_spill *s = NULL;
    r.st = spw_spill_create(ctx, &s, &o);
    if (r.st) return r;
    static uint8_t data[NCH][SZ], back[SZ];
    spw_chunk c[NCH];
    uint64_t rng = 42;
    for (int i = 0; i < NCH; i++)
        for (int k = 0; k < SZ; k++)
            data[i][k] = i % 2 ? (uint8_t)spw_test_rand(&rng) : (k % 8 == 0 ? (uint8_t)k : 0);
    int made = 0;
    for (int i = 0; i < NCH && !r.st; i++) {
        r.st = spw_spill_chunk_new(s, &c[i], SZ, i % 2 ? SPW_CHUNK_LDE : SPW_CHUNK_TRACE,
                                   SPW_TIER_NVME, NULL);
        if (!r.st) made++;
        if (!r.st) r.st = spw_spill_write(s, NULL, c[i], 0, data[i], SZ);
    }
    /* asynchronous paths: an explicit eviction and a prefetch, via tokens */
    spw_token t;
    if (!r.st) r.st = spw_spill_writeback(s, &t, c[NCH - 1], 1);
    if (!r.st) r.st = spw_spill_wait(s, t);
    if (!r.st) r.st = spw_spill_prefetch(s, &t, c[0]);
    if (!r.st) r.st = spw_spill_wait(s, t);
    for (int pass = 0; pass < 2 && !r.st; pass++)
        for (int i = 0; i < NCH && !r.st; i++) {
            int j = pass ? NCH - 1 - i : i;
            r.st = spw_spill_read(s, NULL, back, c[j], 0, SZ);
            if (!r.st && memcmp(back, data[j], SZ)) r.wrong = 1;
        }
    for (int i = 0; i < made; i++) spw_spill_chunk_free(s, c[i]);
    spw_spill_stats st;
    spw_spill_get_stats(s, &st);
    r.ops = st.io.ops;
    spw_spill_free(s);
    return r;
}

static void sweep(int engine)
{
    spw_ctx *ctx = NULL;
    spw_ctx_options co;
    spw_ctx_options_default(&co);
    co.log_level = SPW_LOG_ERROR;
    ck_assert_int_eq(spw_ctx_create(&ctx, &co), SPW_OK);
    char *dir = spill_test_dir();
    outcome base = run_workload(ctx, dir, engine, 0, SPW_FAULT_NONE);
    ck_assert_msg(base.st == SPW_OK && !base.wrong, "baseline: %s", spw_ctx_last_error(ctx));
    ck_assert_uint_gt(base.ops, 10);
    static const int kinds[5] = {SPW_FAULT_EIO, SPW_FAULT_ENOSPC, SPW_FAULT_SHORT,
                                 SPW_FAULT_CORRUPT, SPW_FAULT_EAGAIN};
    static const char *names[5] = {"EIO", "ENOSPC", "short", "corrupt", "EAGAIN"};
    int errors[5] = {0};
    for (int k = 0; k < 5; k++)
        for (uint64_t n = 1; n <= base.ops + 1; n++) {
            outcome r = run_workload(ctx, dir, engine, n, kinds[k]);
            ck_assert_msg(!r.wrong, "%s at op %llu: wrong bytes returned", names[k], (unsigned long long)n);
            ck_assert_msg(spill_dir_entries(dir) == 0, "%s at op %llu: file left", names[k],
                          (unsigned long long)n);
            if (r.st == SPW_OK) continue;
            errors[k]++;
            spw_status want = kinds[k] == SPW_FAULT_EIO ? SPW_ERR_IO
                              : kinds[k] == SPW_FAULT_ENOSPC ? SPW_ERR_NOSPACE
                              : SPW_ERR_CHECKSUM;
            ck_assert_msg(kinds[k] != SPW_FAULT_SHORT && kinds[k] != SPW_FAULT_EAGAIN,
                          "%s at op %llu must be recovered, got %s: %s", names[k],
                          (unsigned long long)n, spw_strerror(r.st), spw_ctx_last_error(ctx));
            ck_assert_msg(r.st == want, "%s at op %llu: got %s (%s)", names[k], (unsigned long long)n,
                          spw_strerror(r.st), spw_ctx_last_error(ctx));
            ck_assert_msg(strstr(spw_ctx_last_error(ctx), kinds[k] == SPW_FAULT_CORRUPT ? "chunk" : dir),
                          "%s at op %llu: unclear message '%s'", names[k], (unsigned long long)n,
                          spw_ctx_last_error(ctx));
        }
    fprintf(stderr, "%s: %llu ops; errors EIO %d ENOSPC %d short %d corrupt %d EAGAIN %d\n",
            spw_io_engine_name(engine), (unsigned long long)base.ops, errors[0], errors[1],
            errors[2], errors[3], errors[4]);
    /* every op was hit: hard faults must have surfaced somewhere */
    ck_assert_int_eq(errors[0], (int)base.ops);
    ck_assert_int_eq(errors[1], (int)base.ops);
    ck_assert_int_gt(errors[3], 0);
    ck_assert_int_eq(spill_dir_done(dir), 0);
    spw_ctx_free(ctx);
}

START_TEST(sweep_uring) { sweep(SPW_IO_URING); }
END_TEST
START_TEST(sweep_threads) { sweep(SPW_IO_THREADS); }
END_TEST

int main(void)
{
#ifndef SPW_FAULT_INJECTION
    fprintf(stderr, "built without fault injection: skipping\n");
    return SPW_EXIT_SKIP;
#else
    Suite *s = suite_create("spill_fault");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sweep_uring);
    tcase_add_test(tc, sweep_threads);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
#endif
}
