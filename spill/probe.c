/*
 * probe.c - measures what the planner's cost model needs: sequential
 * write and read bandwidth of the spill directory through the engine
 * (same request size and queue depth the store uses) and, with a GPU,
 * pinned host<->device copy bandwidth; and the CPU speed of the kernels
 * the compute model counts (coset LDE, Merkle tree) on ctx's threads.
 * Results print and save as key=value lines.
 */
#include "spill.h"
#include "field.h"
#include "fri.h"
#include "merkle.h"
#include "ntt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "pinned_api.h"
#endif

#ifdef SPW_HAVE_CUDA
/* NVMe -> pinned -> device over the file the probe wrote: the pool's two
 * halves alternate; reading one overlaps the device copy of the other. */
static spw_status stream_to_device(spw_ctx *ctx, spw_spill_probe_result *out, spw_io *io,
                                   const spw_pool *pool, uint64_t size)
{
    uint64_t half = pool->len / 2 / spw_io_align(io) * spw_io_align(io);
    spw_cuda_stager *st = NULL;
    spw_status s = spw_cuda_stager_create(&st, half, 2);
    if (s) return s;
    double t0 = spw_now();
    uint64_t k = 0;
    for (uint64_t off = 0; off < size && !s; off += half, k++) {
        unsigned slot = (unsigned)(k & 1);
        uint64_t len = size - off < half ? size - off : half;
        if (k >= 2 && (s = spw_cuda_stager_wait(st, slot))) break;
        spw_io_seg seg = {pool->base + slot * half, len, off};
        if ((s = spw_io_rw(io, 0, &seg, 1))) break;
        s = spw_cuda_stager_h2d(st, slot, seg.buf, len, 0);
    }
    if (!s) s = spw_cuda_stager_wait(st, 0);
    if (!s && k > 1) s = spw_cuda_stager_wait(st, 1);
    double t = spw_now() - t0;
    spw_cuda_stager_free(st);
    if (s) return s;
    out->stream_gbs = size / t / 1e9;
    double slower = out->read_gbs < out->h2d_gbs ? out->read_gbs : out->h2d_gbs;
    out->stream_ratio = slower > 0 ? t / (size / (slower * 1e9)) : 0;
    (void)ctx;
    return SPW_OK;
}
#endif

spw_status spw_spill_probe(spw_ctx *ctx, spw_spill_probe_result *out, const char *dir,
                           uint64_t size, unsigned queue_depth, uint32_t request_size, int engine)
{
    SPW_CHECK_NULL(ctx, out);
    SPW_CHECK_NULL(ctx, dir);
    memset(out, 0, sizeof *out);
    unsigned qd = queue_depth ? queue_depth : 8;
    uint64_t req = request_size ? request_size : 4u << 20;
    spw_io_opts o = {.queue_depth = qd, .request_size = (uint32_t)req, .engine = engine};
    spw_io *io = NULL;
    size = (size + req - 1) / req * req;
    if (!size) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "probe: size is 0");
    SPW_TRY(spw_io_open(ctx, &io, dir, size, &o));
    req = (req + spw_io_align(io) - 1) / spw_io_align(io) * spw_io_align(io);
    /* A ring of 2 * qd request buffers, reused across the file. */
    uint64_t nbuf = 2 * qd, blen = nbuf * req;
    if (blen > size) blen = size, nbuf = size / req;
    uint8_t *buf = mmap(NULL, blen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t nseg = size / req;
    spw_io_seg *segs = calloc(nseg, sizeof *segs);
    spw_status s = SPW_OK;
    if (buf == MAP_FAILED || !segs) {
        s = spw_fail(ctx, SPW_ERR_NOMEM, "probe: no memory for %llu-byte buffers",
                     (unsigned long long)blen);
        goto out;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < blen / 8; i++) ((uint64_t *)buf)[i] = (x = x * 6364136223846793005ull + 1);
    spw_io_register(io, buf, blen);
    for (uint64_t i = 0; i < nseg; i++) segs[i] = (spw_io_seg){buf + (i % nbuf) * req, req, i * req};
    double t0 = spw_now();
    if ((s = spw_io_rw(io, 1, segs, nseg))) goto out;
    double t1 = spw_now();
    if ((s = spw_io_rw(io, 0, segs, nseg))) goto out;
    double t2 = spw_now();
    spw_io_stats st;
    spw_io_get_stats(io, &st);
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    out->engine = st.engine;
    out->direct = st.direct;
    out->align = st.align;
    out->queue_depth = qd;
    out->request_size = (uint32_t)req;
    out->size = size;
    out->write_gbs = size / (t1 - t0) / 1e9;
    out->read_gbs = size / (t2 - t1) / 1e9;
#ifdef SPW_HAVE_CUDA
    if (spw_cuda_device_count() > 0) {
        spw_pool pool;
        const uint64_t plen = 256u << 20;
        if ((s = spw_pool_create(ctx, &pool, plen, 1))) goto out;
        if ((s = spw_pool_ensure(&pool, plen))) {
            spw_pool_destroy(&pool);
            goto out;
        }
        memset(pool.base, 1, plen);
        s = spw_cuda_pinned_bandwidth(&out->h2d_gbs, &out->d2h_gbs, pool.base, plen, 8);
        if (!s) s = stream_to_device(ctx, out, io, &pool, size);
        spw_pool_destroy(&pool);
        if (s) {
            s = spw_fail(ctx, s, "probe: pinned host<->device copy failed");
            goto out;
        }
        out->have_gpu = 1;
    }
#endif
out:
    if (buf != MAP_FAILED) munmap(buf, blen);
    free(segs);
    spw_io_close(io);
    return s;
}

/* ---- CPU calibration ---- */

typedef struct cpu_bench {
    const spw_ctx *ctx;
    uint64_t *trace, *coef, *lde;
    size_t ncols;
    unsigned log_n;
} cpu_bench;

/* The main round's LDE as the in-memory prover runs it: inverse NTT of the
 * trace columns, then evaluation on the blowup-4 coset. */
static spw_status run_lde(const cpu_bench *b)
{
    size_t n = (size_t)1 << b->log_n;
    memcpy(b->coef, b->trace, b->ncols * n * 8);
    SPW_TRY(spw_ntt_inverse_batch(b->ctx, b->coef, b->ncols, n, b->log_n));
    return spw_coset_evaluate(b->ctx, b->lde, b->coef, b->ncols, b->log_n, 2, GL_GENERATOR);
}

static spw_status run_tree(const cpu_bench *b)
{
    size_t N = (size_t)4 << b->log_n;
    spw_merkle t;
    SPW_TRY(spw_merkle_build(b->ctx, &t, b->lde, b->ncols, N, N));
    spw_merkle_free(&t);
    return SPW_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median wall seconds of fn over repetitions after one warm-up: at least 3,
 * until `budget` seconds have passed (at most 31). */
static spw_status time_median(double *out, spw_status (*fn)(const cpu_bench *), const cpu_bench *b,
                              double budget)
{
    double t[31], start;
    unsigned k = 0;
    SPW_TRY(fn(b));
    start = spw_now();
    while (k < 31 && (k < 3 || spw_now() - start < budget)) {
        double t0 = spw_now();
        SPW_TRY(fn(b));
        t[k++] = spw_now() - t0;
    }
    qsort(t, k, sizeof *t, cmp_double);
    *out = t[k / 2];
    return SPW_OK;
}

spw_status spw_spill_probe_cpu(spw_ctx *ctx, spw_spill_probe_result *out, unsigned log_n,
                               unsigned ncols)
{
    SPW_CHECK_NULL(ctx, out);
    if (!log_n) log_n = 18;
    if (!ncols) ncols = 16;
    if (log_n < 4 || log_n > 24 || ncols > 256)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "probe: CPU calibration size 2^%u x %u columns "
                        "out of range (2^4..2^24, 1..256)", log_n, ncols);
    size_t n = (size_t)1 << log_n, N = n * 4;
    cpu_bench b = {ctx, malloc(ncols * n * 8), malloc(ncols * n * 8), malloc(ncols * N * 8),
                   ncols, log_n};
    spw_status s = SPW_OK;
    if (!b.trace || !b.coef || !b.lde) {
        s = spw_fail(ctx, SPW_ERR_NOMEM, "probe: no memory for the CPU calibration (%zu bytes)",
                     ncols * (2 * n + N) * 8);
        goto out;
    }
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < ncols * n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b.trace[i] = x % GL_P;
    }
    double t_lde, t_tree;
    if ((s = time_median(&t_lde, run_lde, &b, 0.5))) goto out;
    if ((s = time_median(&t_tree, run_tree, &b, 0.3))) goto out;
    out->cpu_threads = ctx->threads ? ctx->threads : 1;
    /* the units of the planner's NTT term: columns x LDE points x (log LDE points + 2) */
    out->ntt_ns_per_elem_log = t_lde * 1e9 / ((double)ncols * (double)N * (double)(log_n + 2 + 2));
    out->hash_gbs = (8.0 * ncols + 32) * (double)N / t_tree / 1e9;
out:
    free(b.trace);
    free(b.coef);
    free(b.lde);
    return s;
}

void spw_spill_probe_print(FILE *f, const spw_spill_probe_result *r)
{
    fprintf(f, "spill_dir=%s\nengine=%s\ndirect=%d\nalign=%u\nqueue_depth=%u\nrequest_size=%u\n"
               "size=%llu\nwrite_gbs=%.3f\nread_gbs=%.3f\n",
            r->dir, spw_io_engine_name(r->engine), r->direct, r->align, r->queue_depth,
            r->request_size, (unsigned long long)r->size, r->write_gbs, r->read_gbs);
    if (r->have_gpu)
        fprintf(f, "h2d_gbs=%.3f\nd2h_gbs=%.3f\nstream_gbs=%.3f\nstream_ratio=%.3f\n", r->h2d_gbs,
                r->d2h_gbs, r->stream_gbs, r->stream_ratio);
    if (r->cpu_threads)
        fprintf(f, "cpu_threads=%u\nntt_ns_per_elem_log=%.6g\nhash_gbs=%.6g\n", r->cpu_threads,
                r->ntt_ns_per_elem_log, r->hash_gbs);
}

spw_status spw_spill_probe_save(spw_ctx *ctx, const char *path, const spw_spill_probe_result *r)
{
    FILE *f = fopen(path, "w");
    if (!f) return spw_fail(ctx, SPW_ERR_IO, "probe: cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "# spillway probe results (key=value)\n");
    spw_spill_probe_print(f, r);
    if (fclose(f)) return spw_fail(ctx, SPW_ERR_IO, "probe: writing '%s' failed", path);
    return SPW_OK;
}

spw_status spw_spill_probe_load(spw_ctx *ctx, spw_spill_probe_result *out, const char *path)
{
    SPW_CHECK_NULL(ctx, out);
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return spw_fail(ctx, SPW_ERR_IO, "probe: cannot read '%s': %s", path, strerror(errno));
    char line[512];
    unsigned lineno = 0;
    int have_w = 0, have_r = 0, cpu = 0;
    spw_status s = SPW_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: expected key=value", path, lineno);
            break;
        }
        *eq = 0;
        const char *k = line, *v = eq + 1;
        char *end = NULL;
        if (!strcmp(k, "spill_dir")) snprintf(out->dir, sizeof out->dir, "%s", v);
        else if (!strcmp(k, "engine")) out->engine = !strcmp(v, "io_uring") ? SPW_IO_URING : SPW_IO_THREADS;
        else if (!strcmp(k, "direct")) out->direct = atoi(v);
        else if (!strcmp(k, "align")) out->align = (uint32_t)strtoul(v, &end, 10);
        else if (!strcmp(k, "queue_depth")) out->queue_depth = (uint32_t)strtoul(v, &end, 10);
        else if (!strcmp(k, "request_size")) out->request_size = (uint32_t)strtoul(v, &end, 10);
        else if (!strcmp(k, "size")) out->size = strtoull(v, &end, 10);
        else if (!strcmp(k, "write_gbs")) out->write_gbs = strtod(v, &end), have_w = 1;
        else if (!strcmp(k, "read_gbs")) out->read_gbs = strtod(v, &end), have_r = 1;
        else if (!strcmp(k, "h2d_gbs")) out->h2d_gbs = strtod(v, &end), out->have_gpu = 1;
        else if (!strcmp(k, "d2h_gbs")) out->d2h_gbs = strtod(v, &end), out->have_gpu = 1;
        else if (!strcmp(k, "stream_gbs")) out->stream_gbs = strtod(v, &end);
        else if (!strcmp(k, "stream_ratio")) out->stream_ratio = strtod(v, &end);
        else if (!strcmp(k, "cpu_threads")) out->cpu_threads = (unsigned)strtoul(v, &end, 10), cpu |= 1;
        else if (!strcmp(k, "ntt_ns_per_elem_log")) out->ntt_ns_per_elem_log = strtod(v, &end), cpu |= 2;
        else if (!strcmp(k, "hash_gbs")) out->hash_gbs = strtod(v, &end), cpu |= 4;
        /* unknown keys are ignored: newer probes may add some */
        if (end && (*end || end == v)) {
            s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: bad value '%s' for %s", path, lineno, v, k);
            break;
        }
    }
    fclose(f);
    if (!s && (!have_w || !have_r))
        s = spw_fail(ctx, SPW_ERR_PARSE, "%s: write_gbs and read_gbs are required", path);
    /* the CPU keys come together (an older probe wrote none of them) */
    if (!s && cpu &&
        (cpu != 7 || !out->cpu_threads || !(out->ntt_ns_per_elem_log > 0) || !(out->hash_gbs > 0)))
        s = spw_fail(ctx, SPW_ERR_PARSE, "%s: cpu_threads, ntt_ns_per_elem_log and hash_gbs must "
                     "all be present and > 0", path);
    return s;
}
