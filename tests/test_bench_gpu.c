/*
 * test_bench_gpu.c - progress and run statistics under the CUDA backend
 * (owner: bench). A proof made on the device with a progress callback
 * reports every round in order and every table of the per-table rounds
 * (the same reports as the CPU backend, whose proof bytes it equals); its
 * statistics have per-table times that add up to the round times measured
 * by the prover's own clock, host->device bytes at least the main trace's
 * size, device->host bytes at least the proof's openings, with achieved
 * GB/s, and the device tier within its budget. A proof of the streaming
 * device tier (--mode spilled, a VRAM budget) reports backend cuda, mode
 * spilled, its vram tier within the budget and its host<->device bytes
 * (at least the main trace up). The copy counters of the
 * CUDA layer count exactly the bytes of copies made through them, by
 * direction, and not device-to-device copies. Skips (77) without a GPU.
 */
#include "bench_test_util.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "gpu_prover.h"
#include <stdio.h>

static spw_ctx *mk(int backend) { return mk_ctx(4, backend); }

static const spw_stats_link *find_link(const spw_run_stats *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_links; i++)
        if (!strcmp(s->links[i].name, name)) return &s->links[i];
    return NULL;
}

START_TEST(test_gpu_progress_and_stats)
{
    const char *wl[2] = {"vm", "synth"};
    const unsigned lr[2] = {14, 0};
    const char *preset[2] = {NULL, "small"};
    for (int w = 0; w < 2; w++) {
        spw_ctx *cpu = mk(SPW_BACKEND_CPU), *gpu = mk(SPW_BACKEND_CUDA);
        static rec r;
        memset(&r, 0, sizeof r);
        ck_assert_int_eq(spw_ctx_set_progress(gpu, on_progress, &r, 0), SPW_OK);
        uint8_t *pc = NULL, *pg = NULL;
        size_t lc = 0, lg = 0;
        spw_prove_stats ps;
        uint32_t nt = 0;
        ck_assert_int_eq(prove_wl(cpu, wl[w], lr[w], preset[w], &pc, &lc, NULL, &nt), SPW_OK);
        spw_status st = prove_wl(gpu, wl[w], lr[w], preset[w], &pg, &lg, &ps, &nt);
        ck_assert_msg(st == SPW_OK, "%s: %s", wl[w], spw_ctx_last_error(gpu));
        spw_gpu_run_stats gs;
        spw_gpu_last_run(&gs);
        ck_assert_int_eq(gs.used_device, 1);
        ck_assert_uint_eq(lc, lg);
        ck_assert(!memcmp(pc, pg, lc));
        /* progress: the same sequence of rounds and tables as the CPU */
        check_reports(&r, nt);
        /* statistics */
        const spw_run_stats *s = &gpu->run_stats;
        ck_assert_int_eq(s->valid, 1);
        ck_assert_str_eq(s->backend, "cuda");
        ck_assert_uint_eq(s->n_rounds, SPW_ROUND_COUNT);
        for (uint32_t k = 0; k < s->n_rounds; k++) {
            ck_assert_str_eq(s->round_names[k], spw_round_names[k]);
            if (k != SPW_ROUND_CHECK) ck_assert(s->round_seconds[k] == ps.seconds[k]);
        }
        check_round_sums(s, ps.total);
        /* per-table rounds: every table got time */
        for (int k = SPW_ROUND_MAIN; k <= SPW_ROUND_DEEP; k++)
            for (uint32_t t = 0; t < nt && t < SPW_STATS_MAX_TABLES; t++)
                if (k != SPW_ROUND_AUX || s->tables[t].n_aux)
                    ck_assert_msg(s->table_seconds[k][t] > 0, "%s: round %s table %s: no time",
                                  wl[w], spw_round_names[k], s->tables[t].name);
        /* links: the main trace went up, openings came back */
        uint64_t trace_bytes = 0;
        for (uint32_t t = 0; t < nt; t++)
            trace_bytes += 8ull * s->tables[t].n_main << s->tables[t].log_rows;
        const spw_stats_link *h2d = find_link(s, "host->device"), *d2h = find_link(s, "device->host");
        ck_assert_ptr_nonnull(h2d);
        ck_assert_ptr_nonnull(d2h);
        ck_assert_uint_ge(h2d->bytes, trace_bytes);
        ck_assert_uint_eq(h2d->bytes, gs.h2d_bytes);
        ck_assert_uint_gt(d2h->bytes, 0);
        ck_assert(h2d->seconds > 0 && d2h->seconds > 0);
        ck_assert(h2d->seconds < ps.total && d2h->seconds < ps.total);
        ck_assert(!h2d->modeled && !d2h->modeled);
        ck_assert_ptr_null(find_link(s, "host memory"));
        /* the device tier */
        int dev = -1;
        for (uint32_t i = 0; i < s->n_tiers; i++)
            if (!strcmp(s->tiers[i].name, "device")) dev = (int)i;
        ck_assert_int_ge(dev, 0);
        ck_assert_uint_gt(s->tiers[dev].peak, 0);
        ck_assert_uint_le(s->tiers[dev].peak, s->tiers[dev].budget);
        fprintf(stderr,
                "%s: %.3f s; host->device %llu bytes in %.4f s (%.2f GB/s), device->host %llu "
                "bytes in %.4f s; %d progress reports\n",
                wl[w], ps.total, (unsigned long long)h2d->bytes, h2d->seconds,
                h2d->bytes / h2d->seconds / 1e9, (unsigned long long)d2h->bytes, d2h->seconds,
                r.n);
        spw_free(pc);
        spw_free(pg);
        spw_ctx_free(cpu);
        spw_ctx_free(gpu);
    }
}
END_TEST

/* The streaming device tier's statistics: what the bench's results.json
 * and its memory and bytes plots show for a streamed cuda point. */
START_TEST(test_gpu_streamed_stats)
{
    const uint64_t vram = (uint64_t)512 << 20;
    spw_ctx *cpu = mk(SPW_BACKEND_CPU), *gpu = mk(SPW_BACKEND_CUDA);
    ck_assert_int_eq(spw_ctx_set_param(gpu, SPW_PARAM_MODE, SPW_MODE_SPILLED), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(gpu, SPW_PARAM_VRAM_BUDGET, (int64_t)vram), SPW_OK);
    uint8_t *pc = NULL, *pg = NULL;
    size_t lc = 0, lg = 0;
    uint32_t nt = 0;
    ck_assert_int_eq(prove_wl(cpu, "vm", 12, NULL, &pc, &lc, NULL, &nt), SPW_OK);
    spw_status st = prove_wl(gpu, "vm", 12, NULL, &pg, &lg, NULL, &nt);
    ck_assert_msg(st == SPW_OK, "%s", spw_ctx_last_error(gpu));
    ck_assert_uint_eq(lc, lg);
    ck_assert(!memcmp(pc, pg, lc));
    spw_gpu_run_stats gs;
    spw_gpu_last_run(&gs);
    ck_assert_int_eq(gs.streamed, 1);
    ck_assert_int_eq(gs.used_device, 1);
    const spw_run_stats *s = &gpu->run_stats;
    ck_assert_int_eq(s->valid, 1);
    ck_assert_str_eq(s->backend, "cuda");
    ck_assert_str_eq(s->mode, "spilled");
    ck_assert(s->predicted_total < 0);
    int vt = -1, host = -1;
    for (uint32_t i = 0; i < s->n_tiers; i++) {
        if (!strcmp(s->tiers[i].name, "vram")) vt = (int)i;
        if (!strcmp(s->tiers[i].name, "host")) host = (int)i;
    }
    ck_assert_int_ge(vt, 0);
    ck_assert_int_ge(host, 0);
    ck_assert_uint_eq(s->tiers[vt].budget, vram);
    ck_assert_uint_gt(s->tiers[vt].peak, 0);
    ck_assert_uint_le(s->tiers[vt].peak, vram);
    uint64_t trace_bytes = 0;
    for (uint32_t t = 0; t < nt; t++) trace_bytes += 8ull * s->tables[t].n_main << s->tables[t].log_rows;
    const spw_stats_link *h2d = find_link(s, "host->device"), *d2h = find_link(s, "device->host");
    ck_assert_ptr_nonnull(h2d);
    ck_assert_ptr_nonnull(d2h);
    ck_assert_uint_ge(h2d->bytes, trace_bytes);
    ck_assert_uint_eq(h2d->bytes, gs.h2d_bytes);
    ck_assert_uint_gt(d2h->bytes, 0);
    ck_assert_uint_eq(d2h->bytes, gs.d2h_bytes);
    ck_assert(!h2d->modeled && !d2h->modeled);
    ck_assert_ptr_null(find_link(s, "host memory"));
    fprintf(stderr, "streamed vm 2^12: vram peak %llu of %llu, host->device %llu, device->host %llu bytes\n",
            (unsigned long long)s->tiers[vt].peak, (unsigned long long)vram,
            (unsigned long long)h2d->bytes, (unsigned long long)d2h->bytes);
    spw_free(pc);
    spw_free(pg);
    spw_ctx_free(cpu);
    spw_ctx_free(gpu);
}
END_TEST

/* The counters see exactly the copies made: h2d, d2h by their size, a
 * device-to-device copy not at all; times grow with copies. */
START_TEST(test_copy_counters)
{
    spw_cuda_arena *A = NULL;
    ck_assert_int_eq(spw_cuda_arena_create(&A, 64 << 20), SPW_OK);
    const size_t n = (size_t)3 << 20, m = 4096 + 8;
    uint8_t *h = malloc(n);
    ck_assert_ptr_nonnull(h);
    memset(h, 7, n);
    void *d1 = NULL, *d2 = NULL;
    ck_assert_int_eq(spw_cuda_arena_alloc(A, &d1, n), SPW_OK);
    ck_assert_int_eq(spw_cuda_arena_alloc(A, &d2, n), SPW_OK);
    spw_cuda_copy_stats a, b;
    spw_cuda_copy_totals(&a);
    ck_assert_uint_eq(spw_cuda_bytes_h2d(), a.h2d_bytes);
    ck_assert_uint_eq(spw_cuda_bytes_d2h(), a.d2h_bytes);
    /* more copies than the ring of pending timings holds */
    for (int i = 0; i < 300; i++) ck_assert_int_eq(spw_cuda_memcpy_async(d1, h, m, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_memcpy_async(d1, h, n, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_memcpy_async(d2, d1, n, NULL), SPW_OK); /* not a link */
    ck_assert_int_eq(spw_cuda_memcpy_async(h, d2, n - 1, NULL), SPW_OK);
    ck_assert_int_eq(spw_cuda_stream_sync(NULL), SPW_OK);
    spw_cuda_copy_totals(&b);
    ck_assert_uint_eq(b.h2d_bytes - a.h2d_bytes, 300 * m + n);
    ck_assert_uint_eq(b.d2h_bytes - a.d2h_bytes, n - 1);
    ck_assert(b.h2d_seconds > a.h2d_seconds && b.d2h_seconds > a.d2h_seconds);
    for (size_t i = 0; i < n - 1; i++)
        if (h[i] != 7) ck_abort_msg("byte %zu came back as %u", i, h[i]);
    free(h);
    spw_cuda_arena_destroy(A);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bench_gpu");
    TCase *tc = tcase_create("gpu");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_copy_counters);
    tcase_add_test(tc, test_gpu_progress_and_stats);
    tcase_add_test(tc, test_gpu_streamed_stats);
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
