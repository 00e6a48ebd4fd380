/*
 * bench_ntt.c - throughput of the CPU NTT and coset LDE (src/ntt.c).
 *
 *   bench/bench_ntt [--threads N] [--min-log K] [--max-log K] [--cols C]
 *                   [--lde-log K] [--time S] [--simd 0|1]
 *
 * Prints one row per forward NTT size (one column, then a batch of C
 * columns) and one row for the blowup-4 LDE of 2^lde-log x C columns:
 * fastest wall time per call, elements per second, wall nanoseconds per radix-2
 * butterfly (n/2 * log2 n butterflies per column) and an effective memory
 * rate counting one read and one write of the data per radix-2 pass
 * (16 * n * log2 n bytes per column; the cache blocking means far less
 * actually reaches DRAM), and the process CPU time of the call (all
 * threads; on a shared machine the least disturbed figure). Defaults: all online CPUs, 2^16..2^22, 32
 * columns, LDE 2^20.
 */
#include "internal.h"
#include "field.h"
#include "ntt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x1234567;
static uint64_t next_fe(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z >= GL_P ? z - GL_P : z;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_ntt [--threads N] [--min-log K] [--max-log K] [--cols C] "
                    "[--lde-log K] [--time S] [--simd 0|1]\n");
    exit(2);
}

static void row(const char *what, unsigned log_n, size_t cols, double sec, double cpu,
                unsigned log_passes)
{
    double n = (double)((size_t)1 << log_n) * (double)cols;
    double bfly = n / 2 * log_passes;
    double bytes = 16.0 * n * log_passes;
    printf("%-14s 2^%-2u x %-3zu %10.3f ms %9.1f M/s %8.2f ns %8.2f GB/s %10.3f ms\n", what, log_n,
           cols, sec * 1e3, n / sec / 1e6, sec * 1e9 / bfly, bytes / sec / 1e9, cpu * 1e3);
    fflush(stdout);
}

/* Timer: one warm-up call, then at least 3 calls and at least min_time
 * seconds; reports the fastest call (the dev machine is shared, so the
 * minimum is the least disturbed figure). */
typedef spw_status (*op_fn)(const spw_ctx *, void *);

struct fwd_arg { uint64_t *a; size_t cols; unsigned log_n; };
static spw_status op_fwd(const spw_ctx *ctx, void *p)
{
    struct fwd_arg *f = p;
    return spw_ntt_forward_batch(ctx, f->a, f->cols, (size_t)1 << f->log_n, f->log_n);
}

struct lde_arg { uint64_t *out; const uint64_t *in; size_t cols; unsigned log_n; };
static spw_status op_lde(const spw_ctx *ctx, void *p)
{
    struct lde_arg *l = p;
    return spw_lde_batch(ctx, l->out, l->in, l->cols, l->log_n, 4);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fastest wall time of a call; *cpu gets the process CPU time (all
 * threads) of the call with the least CPU time. */
static double time_op(const spw_ctx *ctx, op_fn fn, void *arg, double min_time, double *cpu)
{
    if (fn(ctx, arg) != SPW_OK) {
        fprintf(stderr, "bench_ntt: %s\n", spw_ctx_last_error(ctx));
        exit(1);
    }
    int reps = 0;
    double t0 = spw_now(), best = 1e30, best_cpu = 1e30;
    do {
        double t1 = spw_now(), c1 = cpu_now();
        if (fn(ctx, arg) != SPW_OK) exit(1);
        double d = spw_now() - t1, c = cpu_now() - c1;
        if (d < best) best = d;
        if (c < best_cpu) best_cpu = c;
        reps++;
    } while (reps < 3 || spw_now() - t0 < min_time);
    *cpu = best_cpu;
    return best;
}

int main(int argc, char **argv)
{
    unsigned threads = 0, min_log = 16, max_log = 22, lde_log = 20;
    size_t cols = 32;
    double min_time = 0.5;
    int simd = -1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *o = argv[i], *v = argv[++i];
        if (!strcmp(o, "--threads")) threads = (unsigned)atoi(v);
        else if (!strcmp(o, "--min-log")) min_log = (unsigned)atoi(v);
        else if (!strcmp(o, "--max-log")) max_log = (unsigned)atoi(v);
        else if (!strcmp(o, "--cols")) cols = (size_t)atol(v);
        else if (!strcmp(o, "--lde-log")) lde_log = (unsigned)atoi(v);
        else if (!strcmp(o, "--time")) min_time = atof(v);
        else if (!strcmp(o, "--simd")) simd = atoi(v);
        else usage();
    }
    if (max_log > 28 || min_log > max_log || lde_log > 26 || cols == 0) usage();
    spw_ctx_options opts;
    spw_ctx_options_default(&opts);
    opts.threads = threads;
    spw_ctx *ctx = NULL;
    if (spw_ctx_create(&ctx, &opts) != SPW_OK) return 1;
    int64_t nt = 0;
    if (spw_ctx_get_param(ctx, &nt, SPW_PARAM_THREADS) != SPW_OK) return 1;
    simd = spw_ntt_simd(simd);
    printf("bench_ntt: threads %lld, %s butterflies; per call: wall time, elements/s, wall ns per butterfly, "
           "GB/s at 16 B per element per radix-2 pass\n",
           (long long)nt, simd ? "AVX2" : "scalar");
    printf("%-14s %-10s %13s %13s %11s %13s %13s\n", "op", "size", "time", "rate", "ns/bfly",
           "eff. bw", "cpu time");

    size_t maxn = (size_t)1 << max_log;
    uint64_t *buf = spw_malloc_array(maxn * cols, sizeof *buf);
    if (!buf) {
        fprintf(stderr, "bench_ntt: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < maxn * cols; i++) buf[i] = next_fe();

    for (unsigned k = min_log; k <= max_log; k++) {
        struct fwd_arg f = {buf, 1, k};
        double cpu, t = time_op(ctx, op_fwd, &f, min_time, &cpu);
        row("ntt fwd", k, 1, t, cpu, k);
        f.cols = cols;
        t = time_op(ctx, op_fwd, &f, min_time, &cpu);
        row("ntt fwd batch", k, cols, t, cpu, k);
    }
    free(buf);

    size_t n = (size_t)1 << lde_log;
    uint64_t *in = spw_malloc_array(n * cols, sizeof *in);
    uint64_t *out = spw_malloc_array(4 * n * cols, sizeof *out);
    if (!in || !out) {
        fprintf(stderr, "bench_ntt: out of memory for the LDE\n");
        return 1;
    }
    for (size_t i = 0; i < n * cols; i++) in[i] = next_fe();
    memset(out, 0, 4 * n * cols * sizeof *out);
    struct lde_arg l = {out, in, cols, lde_log};
    double cpu, t = time_op(ctx, op_lde, &l, min_time, &cpu);
    /* LDE work: an inverse of size n and a forward of size 4n per column;
     * rate counted in output elements, butterflies of the 4n forward only */
    row("lde x4 batch", lde_log + 2, cols, t, cpu, lde_log + 2);
    printf("lde x4: %zu columns of 2^%u -> 2^%u in %.3f ms (%.1f M input elements/s)\n", cols,
           lde_log, lde_log + 2, t * 1e3, (double)n * cols / t / 1e6);
    free(in);
    free(out);
    spw_ctx_free(ctx);
    return 0;
}
