/*
 * bench_gpu.c - GPU primitive benchmark: device-to-device copy bandwidth
 * (the reference), batched NTT 2^20..2^24, coset LDE blowup 4 of
 * 2^22 rows x 32 columns, BLAKE3 Merkle leaves over 2^24 rows x 64 columns,
 * and the full Merkle build. Prints a table; exits 77 without a GPU.
 *   bench/bench_gpu [--quick]     (--quick: smaller sizes, for smoke runs)
 */
#include "internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "field.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define REPS 3

static spw_cuda_arena *arena;

static void die(spw_status st, const char *what)
{
    fprintf(stderr, "bench_gpu: %s: %s: %s\n", what, spw_strerror(st), spw_cuda_last_error());
    exit(1);
}
#define CK(call, what)                          \
    do {                                        \
        spw_status st_ = (call);                \
        if (st_ != SPW_OK) die(st_, what);      \
    } while (0)

static void *dalloc(uint64_t bytes)
{
    void *p;
    CK(spw_cuda_arena_alloc(arena, &p, bytes), "alloc");
    return p;
}

/* Fills a device buffer with canonical pseudo-random values. */
static void dfill(uint64_t *d, uint64_t nvals, uint64_t seed)
{
    const uint64_t piece = 1u << 24;
    uint64_t *h = NULL;
    CK(spw_cuda_host_alloc((void **)&h, piece * 8), "host alloc");
    for (uint64_t i = 0; i < piece; i++) {
        uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        h[i] = (z ^ (z >> 31)) >> 1;
    }
    for (uint64_t off = 0; off < nvals; off += piece) {
        uint64_t m = nvals - off < piece ? nvals - off : piece;
        CK(spw_cuda_memcpy_async(d + off, h, m * 8, NULL), "fill");
    }
    CK(spw_cuda_stream_sync(NULL), "sync");
    spw_cuda_host_free(h);
}

static double d2d_gbs; /* read + written bytes per second, GB/s */

static void print_row(const char *what, double sec, double bytes_rw, unsigned passes, const char *extra)
{
    double gbs = bytes_rw / sec / 1e9;
    printf("| %-38s | %9.3f | %6u | %9.1f | %6.1f%% | %s\n", what, sec * 1e3, passes, gbs,
           d2d_gbs > 0 ? 100.0 * gbs / d2d_gbs : 0, extra);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (!spw_cuda_available()) {
        fprintf(stderr, "bench_gpu: no CUDA device: skipping\n");
        return 77;
    }
    char name[128];
    uint64_t total = 0, freem = 0;
    CK(spw_cuda_device_info(name, sizeof name, &total, &freem), "device info");
    uint64_t budget = (uint64_t)(freem * 0.8);
    if (budget > ((uint64_t)40 << 30)) budget = (uint64_t)40 << 30;
    CK(spw_cuda_arena_create(&arena, budget), "arena");
    printf("device: %s, %.1f GiB, arena budget %.1f GiB%s\n", name, total / GIB, budget / GIB,
           quick ? " (quick sizes)" : "");
    spw_cuda_stream s;
    CK(spw_cuda_stream_create(&s), "stream");

    /* reference: device-to-device copy of 2 GiB */
    {
        uint64_t bytes = quick ? (uint64_t)256 << 20 : (uint64_t)2 << 30;
        void *a = dalloc(bytes), *b = dalloc(bytes);
        CK(spw_cuda_memset_async(a, 1, bytes, s), "memset");
        double best = 1e30;
        for (int r = 0; r < REPS + 1; r++) {
            CK(spw_cuda_stream_sync(s), "sync");
            double t0 = spw_now();
            CK(spw_cuda_memcpy_async(b, a, bytes, s), "d2d");
            CK(spw_cuda_stream_sync(s), "sync");
            double t = spw_now() - t0;
            if (r && t < best) best = t;
        }
        d2d_gbs = 2.0 * bytes / best / 1e9;
        printf("D2D copy reference: %.2f GiB in %.3f ms = %.0f GB/s read+written\n\n", bytes / GIB,
               best * 1e3, d2d_gbs);
        spw_cuda_arena_free(arena, a);
        spw_cuda_arena_free(arena, b);
    }

    /* GB/s r+w: bytes read + written by all passes / time, i.e. the
     * average bandwidth of a pass; % D2D: that against the copy above */
    printf("| %-38s | %9s | %6s | %9s | %7s | %s\n", "operation", "ms", "passes", "GB/s r+w",
           "% D2D", "notes");
    printf("|%s|%s|%s|%s|%s|%s\n", "----------------------------------------", "-----------",
           "--------", "-----------", "---------", "------");

    /* NTT forward, batches of 2^28 values (2 GiB) */
    for (unsigned k = 20; k <= 24; k++) {
        unsigned lt = quick ? 24 : 28;
        if (k > lt) break;
        uint64_t n = 1ull << k, ncols = 1ull << (lt - k);
        uint64_t *d = dalloc(ncols * n * 8);
        dfill(d, ncols * n, k);
        CK(spw_cuda_ntt_forward_batch(arena, s, d, ncols, n, k), "ntt warm-up");
        double best = 1e30, bi = 1e30;
        for (int r = 0; r < REPS; r++) {
            CK(spw_cuda_stream_sync(s), "sync");
            double t0 = spw_now();
            CK(spw_cuda_ntt_forward_batch(arena, s, d, ncols, n, k), "ntt");
            CK(spw_cuda_stream_sync(s), "sync");
            double t = spw_now() - t0;
            if (t < best) best = t;
            t0 = spw_now();
            CK(spw_cuda_ntt_inverse_batch(arena, s, d, ncols, n, k), "intt");
            CK(spw_cuda_stream_sync(s), "sync");
            t = spw_now() - t0;
            if (t < bi) bi = t;
        }
        unsigned p = spw_cuda_ntt_passes(k);
        double bytes = 2.0 * p * ncols * n * 8;
        char what[80], extra[80];
        snprintf(what, sizeof what, "NTT fwd 2^%u x %llu cols", k, (unsigned long long)ncols);
        snprintf(extra, sizeof extra, "%.2f Gelem/s", ncols * n / best / 1e9);
        print_row(what, best, bytes, p, extra);
        snprintf(what, sizeof what, "NTT inv 2^%u x %llu cols", k, (unsigned long long)ncols);
        snprintf(extra, sizeof extra, "%.2f Gelem/s", ncols * n / bi / 1e9);
        print_row(what, bi, bytes, p, extra);
        spw_cuda_arena_free(arena, d);
    }

    /* coset LDE blowup 4, 2^22 x 32 */
    {
        unsigned k = quick ? 20 : 22, B = 4, lb = 2;
        uint64_t n = 1ull << k, N = n * B, ncols = quick ? 8 : 32;
        uint64_t *in = dalloc(ncols * n * 8), *out = dalloc(ncols * N * 8);
        dfill(in, ncols * n, 99);
        CK(spw_cuda_lde_batch(arena, s, out, in, ncols, k, B), "lde warm-up");
        spw_cuda_arena_reset_peak(arena);
        double best = 1e30;
        for (int r = 0; r < REPS; r++) {
            CK(spw_cuda_stream_sync(s), "sync");
            double t0 = spw_now();
            CK(spw_cuda_lde_batch(arena, s, out, in, ncols, k, B), "lde");
            CK(spw_cuda_stream_sync(s), "sync");
            double t = spw_now() - t0;
            if (t < best) best = t;
        }
        unsigned p = spw_cuda_lde_passes(k, B), pi = spw_cuda_lde_passes(k, B) -
                                                     (spw_cuda_ntt_passes(k + lb) - 1);
        /* inverse passes read+write n, the first forward reads n and
         * writes N, the other forward passes read+write N */
        unsigned pf = p - pi;
        double bytes = 8.0 * ncols * (pi * 2.0 * n + (n + N) + (pf - 1) * 2.0 * N);
        char what[80], extra[160];
        snprintf(what, sizeof what, "LDE B=4 2^%u x %llu cols", k, (unsigned long long)ncols);
        snprintf(extra, sizeof extra, "%u inverse + %u forward passes; %.2f GB/s output; arena peak (in+out+scratch) %.2f GiB",
                 pi, pf, ncols * N * 8 / best / 1e9, spw_cuda_arena_peak(arena) / GIB);
        double gbs = bytes / best / 1e9;
        printf("| %-38s | %9.3f | %6u | %9.1f | %6.1f%% | %s\n", what, best * 1e3, p, gbs,
               100.0 * gbs / d2d_gbs, extra);
        spw_cuda_arena_free(arena, in);
        spw_cuda_arena_free(arena, out);
    }

    /* Merkle leaves over 2^24 x 64, and the full build */
    {
        uint64_t nrows = quick ? 1ull << 20 : 1ull << 24, ncols = 64;
        uint64_t *cols = dalloc(ncols * nrows * 8);
        uint8_t *nodes = dalloc(2 * nrows * 32);
        dfill(cols, ncols * nrows, 5);
        CK(spw_cuda_merkle_leaves(s, nodes + nrows * 32, cols, ncols, nrows, nrows), "warm-up");
        double best = 1e30, bb = 1e30;
        for (int r = 0; r < REPS; r++) {
            CK(spw_cuda_stream_sync(s), "sync");
            double t0 = spw_now();
            CK(spw_cuda_merkle_leaves(s, nodes + nrows * 32, cols, ncols, nrows, nrows), "leaves");
            CK(spw_cuda_stream_sync(s), "sync");
            double t = spw_now() - t0;
            if (t < best) best = t;
            t0 = spw_now();
            CK(spw_cuda_merkle_build(s, nodes, cols, ncols, nrows, nrows), "build");
            CK(spw_cuda_stream_sync(s), "sync");
            t = spw_now() - t0;
            if (t < bb) bb = t;
        }
        double data = (double)ncols * nrows * 8;
        char what[80], extra[120];
        snprintf(what, sizeof what, "Merkle leaves 2^%u x %llu cols", spw_log2(nrows),
                 (unsigned long long)ncols);
        snprintf(extra, sizeof extra, "%.1f GB/s of row data (target >= 100)", data / best / 1e9);
        print_row(what, best, data + nrows * 32.0, 1, extra);
        snprintf(what, sizeof what, "Merkle build 2^%u x %llu cols", spw_log2(nrows),
                 (unsigned long long)ncols);
        snprintf(extra, sizeof extra, "%.1f GB/s of row data; leaves + %u levels", data / bb / 1e9,
                 spw_log2(nrows));
        print_row(what, bb, data + nrows * 64.0 * 2, 0, extra);
        spw_cuda_arena_free(arena, cols);
        spw_cuda_arena_free(arena, nodes);
    }
    printf("\narena peak %.2f GiB of %.2f GiB budget; %llu kernel launches\n",
           spw_cuda_arena_peak(arena) / GIB, budget / GIB,
           (unsigned long long)spw_cuda_kernel_launches());
    spw_cuda_stream_destroy(s);
    spw_cuda_arena_destroy(arena);
    return 0;
}
#else
int main(void)
{
    fprintf(stderr, "bench_gpu: CUDA backend not compiled in: skipping\n");
    return 77;
}
#endif
