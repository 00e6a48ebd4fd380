/*
 * cli_bench.c - `spillway bench`: runs a matrix of workloads x sizes x
 * blowups x host budgets x modes x backends (x VRAM budgets for the cuda
 * points), each point --repeat times in a
 * fork()ed child (a clean peak RSS per run from wait4; CUDA is initialised
 * only in children), and writes into --out DIR:
 *   results.json  schema "spillway-bench" v1 (docs/STATS_SCHEMA.md), with the
 *                 full "spillway-stats" document of each point's median run
 *   results.csv   one line per point
 *   *.dat, plots.gp and the PNG plots made by gnuplot (skipped with a message
 *                 when gnuplot is missing; `gnuplot plots.gp` in DIR redraws)
 * The matrices: tiny (tests), quick (a few minutes on 2 cores), full.
 */
#include "cli.h"
#include "cli_log.h"
#include "internal.h"
#include "stark.h"
#include "stats.h"
#include "workloads.h"
#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPEAT 50
#define MAX_POINTS 512
#define MAX_LIST 8

typedef struct mspec {
    const char *wl;
    unsigned log_rows;  /* 0 for synth */
    const char *preset; /* synth only */
    unsigned blowup;
    int mode;           /* spw_mode; --modes overrides */
    uint64_t budget;    /* host budget, 0 = default; --host-budgets overrides */
    uint64_t vram;      /* VRAM budget, 0 = default; nonzero: a cuda-only point (the
                           streaming device tier); --vram-budgets overrides */
} mspec;

#define MiB_ (UINT64_C(1) << 20)

static const mspec m_tiny[] = {
    {"fib", 10, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"fib", 11, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"synth", 0, "tiny", 4, SPW_MODE_AUTO, 0, 0}, {"fib", 11, NULL, 4, SPW_MODE_SPILLED, 80 * MiB_, 0}};
static const mspec m_quick[] = {
    {"fib", 12, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"fib", 14, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"fib", 16, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"fib", 18, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 12, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 14, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 15, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 16, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 14, NULL, 2, SPW_MODE_AUTO, 0, 0}, {"vm", 14, NULL, 8, SPW_MODE_AUTO, 0, 0},
    {"synth", 0, "tiny", 4, SPW_MODE_AUTO, 0, 0}, {"synth", 0, "small", 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 14, NULL, 4, SPW_MODE_SPILLED, 96 * MiB_, 0}, {"vm", 16, NULL, 4, SPW_MODE_SPILLED, 128 * MiB_, 0}};
static const mspec m_full[] = {
    {"fib", 12, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"fib", 14, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"fib", 16, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"fib", 18, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"fib", 20, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 12, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 13, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 14, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 15, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 16, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 17, NULL, 4, SPW_MODE_AUTO, 0, 0}, {"vm", 18, NULL, 4, SPW_MODE_AUTO, 0, 0},
    {"vm", 16, NULL, 2, SPW_MODE_AUTO, 0, 0}, {"vm", 16, NULL, 8, SPW_MODE_AUTO, 0, 0},
    {"synth", 0, "tiny", 4, SPW_MODE_AUTO, 0, 0}, {"synth", 0, "small", 4, SPW_MODE_AUTO, 0, 0},
    {"synth", 0, "medium", 4, SPW_MODE_SPILLED, 2048 * MiB_, 0}, {"vm", 16, NULL, 4, SPW_MODE_SPILLED, 256 * MiB_, 0},
    {"vm", 16, NULL, 4, SPW_MODE_SPILLED, 128 * MiB_, 0}, {"vm", 18, NULL, 4, SPW_MODE_SPILLED, 256 * MiB_, 0},
    {"synth", 0, "small", 4, SPW_MODE_SPILLED, 256 * MiB_, 0},
    /* GPU only: the resident estimate exceeds 512 MiB of VRAM, so these
     * stream through the device (docs/GPU.md, "Streaming tier") */
    {"vm", 18, NULL, 4, SPW_MODE_AUTO, 0, 512 * MiB_}, {"synth", 0, "small", 4, SPW_MODE_AUTO, 0, 512 * MiB_}};

typedef struct point {
    mspec m;
    int backend;          /* spw_backend */
    int mode;             /* spw_mode */
    uint64_t host_budget; /* 0 = default */
    uint64_t vram_budget; /* 0 = default; cuda points only */
    char id[96];
    /* results */
    int ok, n_runs;
    char err[400];
    char tag[SPW_WORKLOAD_TAG_MAX];
    uint64_t rows, cells;
    double secs[MAX_REPEAT];
    uint64_t rss[MAX_REPEAT];
    double cpu[MAX_REPEAT];  /* user + system CPU seconds of the child */
    spw_run_stats *rep;   /* stats of the median run */
    double median, min, max, spread, ns_per_row, median_cpu;
    uint64_t peak_rss;
} point;

/* What a child sends back through its pipe. */
typedef struct child_msg {
    int status;
    char err[400];
    char tag[SPW_WORKLOAD_TAG_MAX];
    uint64_t rows, cells;
    spw_run_stats st;
} child_msg;

static const char *backend_name(int b) { return b == SPW_BACKEND_CUDA ? "cuda" : "cpu"; }
static const char *mode_name(int m)
{
    return m == SPW_MODE_SPILLED ? "spilled" : m == SPW_MODE_RESIDENT ? "resident" : "auto";
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Log level of the prover children (-v, -vv). */
static spw_log_level child_log_level = SPW_LOG_ERROR;

/* The child: builds the workload and proves it in-process. */
static void child_run(int fd, const point *p, unsigned threads)
{
    child_msg *m = calloc(1, sizeof *m);
    if (!m) _exit(3);
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    o.log_level = child_log_level;
    spw_ctx *ctx = NULL;
    spw_air *air = NULL;
    spw_trace *trace = NULL;
    uint64_t *publics = NULL;
    size_t n_publics = 0;
    uint8_t *proof = NULL;
    size_t len = 0;
    spw_status st = spw_ctx_create(&ctx, &o);
    if (st != SPW_OK) goto done;
    if ((st = spw_ctx_set_param(ctx, SPW_PARAM_BLOWUP, p->m.blowup)) != SPW_OK ||
        (st = spw_ctx_set_param(ctx, SPW_PARAM_MODE, p->mode)) != SPW_OK ||
        (st = spw_ctx_set_param(ctx, SPW_PARAM_BACKEND, p->backend)) != SPW_OK ||
        (st = spw_ctx_set_param(ctx, SPW_PARAM_HOST_BUDGET, (int64_t)p->host_budget)) != SPW_OK ||
        (st = spw_ctx_set_param(ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)p->vram_budget)) != SPW_OK)
        goto done;
    spw_workload_params wp;
    if ((st = spw_workload_defaults(ctx, &wp, p->m.wl)) != SPW_OK) goto done;
    if (p->m.log_rows) wp.log_rows = p->m.log_rows;
    if (p->m.preset) wp.preset = p->m.preset;
    st = spw_workload_build(ctx, &air, &trace, &publics, &n_publics, m->tag, sizeof m->tag, &wp);
    if (st != SPW_OK) goto done;
    const spw_air_def *d = spw_air_get_def(air);
    for (uint32_t t = 0; t < d->n_tables; t++) {
        m->rows += (uint64_t)1 << d->tables[t].log_height;
        m->cells += ((uint64_t)1 << d->tables[t].log_height) * d->tables[t].n_main;
    }
    spw_statement stmt = {publics, n_publics, (const uint8_t *)m->tag, strlen(m->tag)};
    st = spw_prove_ex(ctx, &proof, &len, air, trace, &stmt, NULL, NULL);
    if (st == SPW_OK) m->st = ctx->run_stats;
done:
    m->status = st;
    if (st != SPW_OK)
        snprintf(m->err, sizeof m->err, "%s: %s", spw_strerror(st),
                 ctx ? spw_ctx_last_error(ctx) : "cannot create a context");
    spw_free(proof);
    spw_workload_free(air, trace, publics);
    spw_ctx_free(ctx);
    int bad = write_all(fd, m, sizeof *m);
    free(m);
    _exit(bad ? 4 : 0);
}

/* Runs one repeat of point p; fills *m and *rss. Returns 0 or -1 (then
 * m->err says why). */
static int run_once(const point *p, unsigned threads, child_msg *m, uint64_t *rss, double *cpu)
{
    int fds[2];
    memset(m, 0, sizeof *m);
    if (pipe(fds)) {
        snprintf(m->err, sizeof m->err, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(m->err, sizeof m->err, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive an interrupted bench */
        if (getppid() != parent) _exit(5);
        child_run(fds[1], p, threads);
    }
    close(fds[1]);
    int got = read_all(fds[0], m, sizeof *m);
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    *rss = (uint64_t)ru.ru_maxrss * 1024u;
    *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    if (got || !WIFEXITED(status) || WEXITSTATUS(status)) {
        if (WIFSIGNALED(status))
            snprintf(m->err, sizeof m->err, "the prover child died of signal %d%s",
                     WTERMSIG(status),
                     WTERMSIG(status) == SIGKILL ? " (out of memory? lower the sizes)" : "");
        else if (!m->err[0])
            snprintf(m->err, sizeof m->err, "the prover child exited with status %d",
                     WEXITSTATUS(status));
        return -1;
    }
    return m->status == SPW_OK ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
    double s[MAX_REPEAT];
    memcpy(s, v, sizeof *v * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Host memory bandwidth: best of a few parallel copies of 128 MiB, counted
 * as bytes read + bytes written per second (the unit of the "host memory"
 * link). */
typedef struct copy_job {
    uint8_t *dst;
    const uint8_t *src;
    size_t n, parts;
} copy_job;

static void copy_range(void *arg, size_t b, size_t e)
{
    copy_job *j = arg;
    size_t step = j->n / j->parts;
    for (size_t i = b; i < e; i++) memcpy(j->dst + i * step, j->src + i * step, step);
}

static double measure_memory_gbps(unsigned threads)
{
    size_t n = (size_t)128 << 20;
    uint8_t *a = malloc(n), *b = malloc(n);
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, n);
    memset(b, 2, n);
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.threads = threads;
    spw_ctx *ctx = NULL;
    double best = 0;
    if (spw_ctx_create(&ctx, &o) == SPW_OK) {
        copy_job j = {b, a, n, 64};
        for (int r = 0; r < 5; r++) {
            double t0 = spw_now();
            spw_parallel_for(ctx, j.parts, 1, copy_range, &j);
            double dt = spw_now() - t0;
            if (dt > 0 && 2.0 * (double)n / dt / 1e9 > best) best = 2.0 * (double)n / dt / 1e9;
        }
    }
    spw_ctx_free(ctx);
    free(a);
    free(b);
    return best;
}

/* 1 when a child sees a usable GPU (CUDA never initialised in this process). */
static int gpu_available(char *name, size_t len)
{
    int fds[2];
    if (pipe(fds)) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char buf[129] = {0};
        buf[0] = (char)spw_cuda_available();
        snprintf(buf + 1, sizeof buf - 1, "CUDA device 0");
#ifdef SPW_HAVE_CUDA
        uint64_t total = 0, free_b = 0;
        if (buf[0]) (void)spw_cuda_device_info(buf + 1, sizeof buf - 1, &total, &free_b);
#endif
        if (write_all(fds[1], buf, sizeof buf)) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    char buf[129] = {0};
    if (pid < 0 || read_all(fds[0], buf, sizeof buf)) buf[0] = 0;
    close(fds[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    buf[sizeof buf - 1] = 0;
    snprintf(name, len, "%s", buf[0] ? buf + 1 : "");
    return buf[0] != 0;
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ') c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, len, "%s", c);
            }
            break;
        }
    fclose(f);
}

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) cli_error("bench", "cannot write '%s': %s", path, strerror(errno));
    return f;
}

static double link_gbps(const spw_stats_link *l)
{
    return l->seconds > 0 ? (double)l->bytes / l->seconds / 1e9 : 0;
}

static int write_json(const char *dir, point *P, int np, const char *matrix, int repeat,
                      unsigned threads, double mem_gbps, const char *gpu, double wall,
                      time_t started)
{
    FILE *f = open_out(dir, "results.json");
    if (!f) return -1;
    char model[256];
    cpu_model(model, sizeof model);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    fprintf(f, "{\n  \"schema\": \"spillway-bench\",\n  \"version\": 1,\n");
    fprintf(f, "  \"spillway_version\": ");
    jstr(f, spw_version_string());
    fprintf(f, ",\n  \"matrix\": ");
    jstr(f, matrix);
    fprintf(f, ",\n  \"repeat\": %d,\n  \"threads\": %u,\n  \"started_unix\": %lld,\n"
               "  \"wall_seconds\": %.3f,\n",
            repeat, threads, (long long)started, wall);
    fprintf(f, "  \"machine\": {\"cpus\": %ld, \"cpu_model\": ", ncpu);
    jstr(f, model);
    fprintf(f, ", \"memory_bytes\": %llu, \"gpu\": ",
            (unsigned long long)((uint64_t)pages * (uint64_t)psz));
    if (gpu[0]) jstr(f, gpu);
    else fputs("null", f);
    fprintf(f, ", \"host_memory_gbps\": %.3f},\n  \"points\": [", mem_gbps);
    for (int i = 0; i < np; i++) {
        point *p = &P[i];
        fprintf(f, "%s\n    {\"id\": ", i ? "," : "");
        jstr(f, p->id);
        fprintf(f, ", \"workload\": ");
        jstr(f, p->m.wl);
        if (p->m.log_rows) fprintf(f, ", \"log_rows\": %u, \"preset\": null", p->m.log_rows);
        else {
            fprintf(f, ", \"log_rows\": null, \"preset\": ");
            jstr(f, p->m.preset);
        }
        fprintf(f, ", \"backend\": \"%s\", \"mode\": \"%s\", \"blowup\": %u, \"host_budget_bytes\": ",
                backend_name(p->backend), mode_name(p->mode), p->m.blowup);
        if (p->host_budget) fprintf(f, "%llu", (unsigned long long)p->host_budget);
        else fputs("null", f);
        fputs(", \"vram_budget_bytes\": ", f);
        if (p->vram_budget) fprintf(f, "%llu", (unsigned long long)p->vram_budget);
        else fputs("null", f);
        fprintf(f, ",\n     \"tag\": ");
        jstr(f, p->tag);
        fprintf(f, ", \"rows\": %llu, \"cells\": %llu, \"ok\": %s, \"error\": ",
                (unsigned long long)p->rows, (unsigned long long)p->cells,
                p->ok ? "true" : "false");
        if (p->ok) fputs("null", f);
        else jstr(f, p->err);
        fprintf(f, ", \"repeats\": %d,\n     \"seconds\": [", p->n_runs);
        for (int r = 0; r < p->n_runs; r++) fprintf(f, "%s%.6f", r ? ", " : "", p->secs[r]);
        fprintf(f, "], \"cpu_seconds\": [");
        for (int r = 0; r < p->n_runs; r++) fprintf(f, "%s%.6f", r ? ", " : "", p->cpu[r]);
        fprintf(f, "], \"peak_rss_bytes\": [");
        for (int r = 0; r < p->n_runs; r++)
            fprintf(f, "%s%llu", r ? ", " : "", (unsigned long long)p->rss[r]);
        fprintf(f, "],\n     ");
        if (p->ok)
            fprintf(f, "\"median_seconds\": %.6f, \"min_seconds\": %.6f, \"max_seconds\": %.6f, "
                       "\"spread\": %.4f, \"ns_per_row\": %.3f, \"median_cpu_seconds\": %.6f, "
                       "\"median_peak_rss_bytes\": %llu,\n"
                       "     \"stats\": ",
                    p->median, p->min, p->max, p->spread, p->ns_per_row, p->median_cpu,
                    (unsigned long long)p->peak_rss);
        else
            fprintf(f, "\"median_seconds\": null, \"min_seconds\": null, \"max_seconds\": null, "
                       "\"spread\": null, \"ns_per_row\": null, \"median_cpu_seconds\": null, "
                       "\"median_peak_rss_bytes\": null,\n"
                       "     \"stats\": ");
        if (p->ok && p->rep) spw_stats_write_json(f, p->rep, 5);
        else fputs("null", f);
        fputs("}", f);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) ? -1 : 0;
}

/* Rounds in first-seen order over all points (the prover's order). */
static int collect_rounds(const point *P, int np, char names[][SPW_STATS_NAME], int max)
{
    int n = 0;
    for (int i = 0; i < np; i++) {
        if (!P[i].ok || !P[i].rep) continue;
        for (uint32_t r = 0; r < P[i].rep->n_rounds; r++) {
            int k;
            for (k = 0; k < n; k++)
                if (!strcmp(names[k], P[i].rep->round_names[r])) break;
            if (k == n && n < max) snprintf(names[n++], SPW_STATS_NAME, "%s", P[i].rep->round_names[r]);
        }
    }
    return n;
}

static double round_secs(const spw_run_stats *s, const char *name)
{
    for (uint32_t r = 0; r < s->n_rounds; r++)
        if (!strcmp(s->round_names[r], name)) return s->round_seconds[r];
    return 0;
}

static int write_csv(const char *dir, const point *P, int np)
{
    FILE *f = open_out(dir, "results.csv");
    if (!f) return -1;
    char rn[SPW_STATS_MAX_ROUNDS][SPW_STATS_NAME];
    int nr = collect_rounds(P, np, rn, SPW_STATS_MAX_ROUNDS);
    fprintf(f, "id,workload,size,backend,mode,blowup,host_budget_bytes,vram_budget_bytes,ok,repeats,median_s,min_s,"
               "max_s,spread,rows,cells,ns_per_row,cpu_s,peak_rss_bytes,predicted_s");
    for (int r = 0; r < nr; r++) {
        fprintf(f, ",round_");
        for (const char *c = rn[r]; *c; c++)
            fputc((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
                      ? *c
                      : '_',
                  f);
        fprintf(f, "_s");
    }
    fputc('\n', f);
    for (int i = 0; i < np; i++) {
        const point *p = &P[i];
        char size[32];
        if (p->m.log_rows) snprintf(size, sizeof size, "2^%u", p->m.log_rows);
        else snprintf(size, sizeof size, "%s", p->m.preset);
        fprintf(f, "%s,%s,%s,%s,%s,%u,%llu,%llu,%d,%d", p->id, p->m.wl, size,
                backend_name(p->backend), mode_name(p->mode), p->m.blowup,
                (unsigned long long)p->host_budget, (unsigned long long)p->vram_budget, p->ok,
                p->n_runs);
        if (p->ok && p->rep) {
            fprintf(f, ",%.6f,%.6f,%.6f,%.4f,%llu,%llu,%.3f,%.3f,%llu,", p->median, p->min, p->max,
                    p->spread, (unsigned long long)p->rows, (unsigned long long)p->cells,
                    p->ns_per_row, p->median_cpu, (unsigned long long)p->peak_rss);
            if (p->rep->predicted_total >= 0) fprintf(f, "%.6f", p->rep->predicted_total);
            for (int r = 0; r < nr; r++) fprintf(f, ",%.6f", round_secs(p->rep, rn[r]));
        } else {
            fprintf(f, ",,,,,%llu,%llu,,,,", (unsigned long long)p->rows,
                    (unsigned long long)p->cells);
            for (int r = 0; r < nr; r++) fputc(',', f);
        }
        fputc('\n', f);
    }
    return fclose(f) ? -1 : 0;
}

/* ---- plots ---- */

static void gp_label(FILE *f, const char *s)
{
    /* gnuplot data: quoted string, no inner quotes */
    fputc('"', f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
    fputc('"', f);
}

/* The tiers of the memory plot, one colour each: host RSS, the spill
 * store's pinned pool and NVMe files, the resident GPU arena, the streaming
 * device tier's arena; anything else is "other". */
static const char *const memory_tiers[] = {"host", "host pool", "nvme", "device", "vram", "other"};
#define N_MEMORY_TIERS (int)(sizeof memory_tiers / sizeof *memory_tiers)

static int tier_index(const char *name)
{
    for (int i = 0; i < N_MEMORY_TIERS - 1; i++)
        if (!strcmp(name, memory_tiers[i])) return i;
    return N_MEMORY_TIERS - 1;
}

/* Points of the scaling series of (backend, workload): blowup 4, default
 * budgets (the memory-bound points are elsewhere). */
static int in_scaling(const point *p, int backend, const char *wl)
{
    return p->ok && p->backend == backend && p->m.blowup == 4 && !p->host_budget &&
           !p->vram_budget && !strcmp(p->m.wl, wl);
}

static int write_plot_data(const char *dir, const point *P, int np, double mem_gbps,
                           char *scaling_series, size_t ss_len, int *have_pred,
                           int *have_pred_bytes)
{
    char rn[SPW_STATS_MAX_ROUNDS][SPW_STATS_NAME];
    int nr = collect_rounds(P, np, rn, SPW_STATS_MAX_ROUNDS);
    FILE *f = open_out(dir, "rounds.dat");
    if (!f) return -1;
    fprintf(f, "point");
    for (int r = 0; r < nr; r++) {
        fputc(' ', f);
        gp_label(f, rn[r]);
    }
    fputc('\n', f);
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        gp_label(f, P[i].id);
        for (int r = 0; r < nr; r++) fprintf(f, " %.6f", round_secs(P[i].rep, rn[r]));
        fputc('\n', f);
    }
    fclose(f);

    /* per table: the largest point of each workload (blowup 4 when present) */
    f = open_out(dir, "tables.dat");
    if (!f) return -1;
    fprintf(f, "table");
    for (int r = 0; r < nr; r++) {
        fputc(' ', f);
        gp_label(f, rn[r]);
    }
    fputc('\n', f);
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        int best = 1;
        for (int k = 0; k < np; k++)
            if (k != i && P[k].ok && !strcmp(P[k].m.wl, P[i].m.wl) && P[k].backend == P[i].backend &&
                (P[k].rows > P[i].rows || (P[k].rows == P[i].rows && k < i)))
                best = 0;
        if (!best) continue;
        const spw_run_stats *s = P[i].rep;
        uint32_t nt = s->n_tables < SPW_STATS_MAX_TABLES ? s->n_tables : SPW_STATS_MAX_TABLES;
        for (uint32_t t = 0; t <= nt; t++) {
            char lab[160];
            snprintf(lab, sizeof lab, "%s:%s", P[i].id, t < nt ? s->tables[t].name : "(not per table)");
            gp_label(f, lab);
            for (int r = 0; r < nr; r++) {
                double v = 0;
                for (uint32_t q = 0; q < s->n_rounds; q++)
                    if (!strcmp(s->round_names[q], rn[r]))
                        v = s->table_seconds[q][t < nt ? t : SPW_STATS_MAX_TABLES];
                fprintf(f, " %.6f", v);
            }
            fputc('\n', f);
        }
    }
    fclose(f);

    f = open_out(dir, "links.dat");
    if (!f) return -1;
    fprintf(f, "# point:link achieved_gbps bound_gbps GB_moved GB_predicted\n");
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        for (uint32_t l = 0; l < P[i].rep->n_links; l++) {
            const spw_stats_link *L = &P[i].rep->links[l];
            char lab[160];
            /* a link without busy time: the average over the whole run, marked "~" */
            int avg = L->seconds <= 0;
            snprintf(lab, sizeof lab, "%s:%s%s%s", P[i].id, L->name, L->modeled ? "*" : "",
                     avg ? "~" : "");
            gp_label(f, lab);
            double bound = L->bound_gbps > 0 ? L->bound_gbps
                           : !strcmp(L->name, "host memory") ? mem_gbps
                                                             : NAN;
            double ach = avg ? (P[i].rep->total_seconds > 0
                                    ? (double)L->bytes / P[i].rep->total_seconds / 1e9
                                    : 0)
                             : link_gbps(L);
            if (L->predicted_bytes) *have_pred_bytes = 1;
            fprintf(f, " %.4f %.4f %.4f %.4f\n", ach, bound, (double)L->bytes / 1e9,
                    L->predicted_bytes ? (double)L->predicted_bytes / 1e9 : NAN);
        }
    }
    fclose(f);

    f = open_out(dir, "memory.dat");
    if (!f) return -1;
    fprintf(f, "# point:tier peak_MiB budget_MiB tier_index (colour: memory_tiers[])\n");
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        for (uint32_t t = 0; t < P[i].rep->n_tiers; t++) {
            const spw_stats_tier *T = &P[i].rep->tiers[t];
            char lab[160];
            snprintf(lab, sizeof lab, "%s:%s", P[i].id, T->name);
            gp_label(f, lab);
            uint64_t peak = !strcmp(T->name, "host") ? P[i].peak_rss : T->peak;
            fprintf(f, " %.2f ", (double)peak / 1048576.0);
            if (T->budget) fprintf(f, "%.2f", (double)T->budget / 1048576.0);
            else fprintf(f, "NaN");
            fprintf(f, " %d\n", tier_index(T->name) + 1);
        }
    }
    fclose(f);

    /* scaling: one file per (workload, backend, blowup 4) series */
    scaling_series[0] = 0;
    const char *wls[] = {"fib", "vm", "synth"};
    for (int b = SPW_BACKEND_CPU; b <= SPW_BACKEND_CUDA; b++)
        for (size_t w = 0; w < sizeof wls / sizeof *wls; w++) {
            int count = 0;
            for (int i = 0; i < np; i++)
                count += in_scaling(&P[i], b, wls[w]);
            if (!count) continue;
            char name[64];
            snprintf(name, sizeof name, "scaling_%s_%s.dat", wls[w], backend_name(b));
            f = open_out(dir, name);
            if (!f) return -1;
            fprintf(f, "# rows ns_per_row (%s, %s, blowup 4)\n", wls[w], backend_name(b));
            /* sorted by rows */
            int done[MAX_POINTS] = {0};
            for (int k = 0; k < count; k++) {
                int bi = -1;
                for (int i = 0; i < np; i++)
                    if (!done[i] && in_scaling(&P[i], b, wls[w]) &&
                        (bi < 0 || P[i].rows < P[bi].rows))
                        bi = i;
                done[bi] = 1;
                fprintf(f, "%llu %.3f\n", (unsigned long long)P[bi].rows, P[bi].ns_per_row);
            }
            fclose(f);
            size_t l = strlen(scaling_series);
            snprintf(scaling_series + l, ss_len - l, "%s%s", l ? " " : "", name);
        }

    f = open_out(dir, "predicted.dat");
    if (!f) return -1;
    fprintf(f, "# point:round predicted_s measured_s\n");
    *have_pred = 0;
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        const spw_run_stats *s = P[i].rep;
        if (s->predicted_total >= 0) {
            char lab[160];
            snprintf(lab, sizeof lab, "%s:total", P[i].id);
            gp_label(f, lab);
            fprintf(f, " %.6f %.6f\n", s->predicted_total, s->total_seconds);
            (*have_pred)++;
        }
        for (uint32_t r = 0; r < s->n_rounds; r++)
            if (s->round_predicted[r] >= 0) {
                char lab[160];
                snprintf(lab, sizeof lab, "%s:%s", P[i].id, s->round_names[r]);
                gp_label(f, lab);
                fprintf(f, " %.6f %.6f\n", s->round_predicted[r], s->round_seconds[r]);
                (*have_pred)++;
            }
    }
    /* second block: per table, the plan's time against the table's measured
     * time summed over the rounds (runs with per-table reports only) */
    fprintf(f, "\n\n# point:table predicted_s measured_s\n");
    int nt_pred = 0;
    for (int i = 0; i < np; i++) {
        if (!P[i].ok) continue;
        const spw_run_stats *s = P[i].rep;
        uint32_t nt = s->n_tables < SPW_STATS_MAX_TABLES ? s->n_tables : SPW_STATS_MAX_TABLES;
        for (uint32_t t = 0; t < nt; t++) {
            double meas = 0;
            for (uint32_t r = 0; r < s->n_rounds; r++) meas += s->table_seconds[r][t];
            if (s->tables[t].plan_seconds <= 0 || meas <= 0) continue;
            char lab[160];
            snprintf(lab, sizeof lab, "%s:%s", P[i].id, s->tables[t].name);
            gp_label(f, lab);
            fprintf(f, " %.6f %.6f\n", s->tables[t].plan_seconds, meas);
            nt_pred++;
        }
    }
    if (!nt_pred) fprintf(f, "\"none\" NaN NaN\n");
    fclose(f);
    return nr;
}

/* Runs `gnuplot script` in dir; returns its exit status (127: not found,
 * -1: could not run). stdout is discarded, and stderr too when quiet. */
static int run_gnuplot(const char *dir, const char *script, int quiet)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (chdir(dir)) _exit(126);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        if (null >= 0 && quiet) dup2(null, STDERR_FILENO);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int gnuplot_has_pngcairo(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.term.gp", dir);
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fprintf(f, "set terminal pngcairo\n");
    fclose(f);
    int rc = run_gnuplot(dir, ".term.gp", 1);
    unlink(path);
    return rc == 0;
}

static int write_plots(const char *dir, const point *P, int np, double mem_gbps, int *n_png)
{
    char series[2048];
    int have_pred = 0, have_pred_bytes = 0;
    int nr = write_plot_data(dir, P, np, mem_gbps, series, sizeof series, &have_pred,
                             &have_pred_bytes);
    if (nr < 0) return -1;
    *n_png = 0;
    int cairo = gnuplot_has_pngcairo(dir);
    FILE *f = open_out(dir, "plots.gp");
    if (!f) return -1;
    fprintf(f, "# plots.gp - made by `spillway bench`; run `gnuplot plots.gp` here to redraw.\n");
    fprintf(f, "set terminal %s size 1100,650 font \",10\"\n", cairo ? "pngcairo" : "png");
    fprintf(f, "set termoption noenhanced\nset grid ytics\nset key outside right top\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.75\n"
               "set xtics rotate by -40 left\n");
    /* twelve distinct colours, so stacked rounds never share one */
    static const char *const colours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                          "#66a61e", "#e6ab02", "#a6761d", "#666666",
                                          "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6"};
    for (int i = 0; i < 12; i++)
        fprintf(f, "set linetype %d lc rgb '%s' lw 1.5 pt 7\n", i + 1, colours[i]);
    fprintf(f, "set linetype cycle 12\n\n");
    int pngs = 0;
    if (nr > 0) {
        fprintf(f, "set output 'rounds.png'\nset title 'Prover time per round (median run of each point)'\n"
                   "set ylabel 'seconds'\nset style data histograms\nset style histogram rowstacked\n"
                   "plot for [i=2:%d] 'rounds.dat' using i:xtic(1) title columnheader(i)\n\n",
                nr + 1);
        fprintf(f, "set output 'tables.png'\nset title 'Time per table and round (largest point of each workload)'\n"
                   "plot for [i=2:%d] 'tables.dat' using i:xtic(1) title columnheader(i)\n\n",
                nr + 1);
        pngs += 2;
    }
    fprintf(f, "set style data linespoints\nunset style histogram\n");
    fprintf(f, "set output 'links.png'\nset title 'Achieved bandwidth per link vs the measured bound (* = bytes from the cost model)'\n"
               "set ylabel 'GB/s (log scale)'\nset logscale y\nset yrange [0.01:*]\n"
               "plot 'links.dat' using 0:2:xtic(1) with boxes title 'achieved GB/s (~: average over the run)', \\\n"
               "     '' using 0:3 with points pt 7 ps 1.5 title 'measured link bound GB/s'\n"
               "unset logscale y\nset yrange [*:*]\n\n");
    fprintf(f, "set output 'bytes.png'\nset title 'Bytes moved per link: counted (modeled: *) vs the plan'\n"
               "set ylabel 'GB'\nset yrange [0:*]\nset style data histograms\n"
               "set style histogram clustered gap 1\n"
               "plot 'links.dat' using 4:xtic(1) title 'moved'%s\n"
               "set yrange [*:*]\nunset style histogram\nset style data linespoints\n\n",
            have_pred_bytes ? ", '' using 5 title 'predicted by the plan'" : "");
    pngs++;
    fprintf(f, "set output 'memory.png'\nset title 'Peak memory per tier vs budget (host: peak RSS, default budget half the available memory; "
               "device / vram: GPU arena, resident / streaming tier)'\n"
               "set ylabel 'MiB (log scale)'\nset logscale y\nset yrange [1:*]\n"
               "plot 'memory.dat' using 0:2:4:xtic(1) with boxes lc variable notitle, \\\n");
    for (int i = 0; i < N_MEMORY_TIERS; i++) /* key entries for the tier colours */
        fprintf(f, "     NaN with boxes lc %d title 'peak: %s', \\\n", i + 1, memory_tiers[i]);
    fprintf(f, "     'memory.dat' using 0:3 with points pt 9 ps 2 lc rgb 'black' title 'budget'\n"
               "unset logscale y\nset yrange [*:*]\n\n");
    pngs += 2;
    if (series[0]) {
        fprintf(f, "set output 'scaling.png'\nset title 'Cost per row vs rows (total rows of all tables, blowup 4)'\n"
                   "set xtics norotate\nset logscale x 2\nset xlabel 'rows'\nset ylabel 'ns per row'\n"
                   "set yrange [0:*]\nset key inside left top\nplot ");
        char tmp[2048];
        snprintf(tmp, sizeof tmp, "%s", series);
        int first = 1;
        for (char *tok = strtok(tmp, " "); tok; tok = strtok(NULL, " ")) {
            char title[64];
            snprintf(title, sizeof title, "%s", tok + 8); /* after "scaling_" */
            title[strcspn(title, ".")] = 0;
            for (char *c = title; *c; c++)
                if (*c == '_') *c = ' ';
            fprintf(f, "%s'%s' using 1:2 with linespoints lw 2 title '%s'", first ? "" : ", \\\n     ",
                    tok, title);
            first = 0;
        }
        fprintf(f, "\nunset logscale x\nunset xlabel\nset key outside right top\nset yrange [*:*]\n\n");
        pngs++;
    }
    fprintf(f, "set output 'predicted.png'\nset title 'Planner prediction vs measured time'\n"
               "set xtics norotate\nset xlabel 'predicted seconds'\nset ylabel 'measured seconds'\n");
    if (have_pred)
        fprintf(f, "set key inside left top\nset logscale xy\n"
                   "plot 'predicted.dat' index 0 using 2:3 with points pt 7 ps 1.5 title 'whole proof', \\\n"
                   "     '' index 1 using 2:3 with points pt 6 title 'one table (sum over rounds)', \\\n"
                   "     x with lines dt 2 title 'measured = predicted', \\\n"
                   "     4*x with lines dt 3 title 'measured = 4 x predicted'\n"
                   "unset logscale xy\n");
    else
        fprintf(f, "set label 1 'no planner predictions in this build or matrix' at graph 0.5,0.5 center\n"
                   "set xrange [0:1]\nset yrange [0:1]\nplot x with lines title 'measured = predicted'\n");
    pngs++;
    fclose(f);
    int rc = run_gnuplot(dir, "plots.gp", 0);
    if (rc == 127) {
        fprintf(stderr, "spillway bench: gnuplot not found: plots skipped (install gnuplot-nox); "
                        "results.json, results.csv and the .dat files are written\n");
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "spillway bench: gnuplot failed (status %d); run `gnuplot plots.gp` in %s "
                        "to see why\n", rc, dir);
        return -1;
    }
    *n_png = pngs;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: spillway bench [--quick] [--out DIR] [--repeat N] [--backend cpu|cuda|auto]\n"
            "                      [--threads T] [--host-budgets LIST] [--vram-budgets LIST]\n"
            "                      [--modes LIST] [-q] [-v]\n"
            "  Runs the benchmark matrix (workloads x sizes x blowups x budgets x modes x\n"
            "  backends), each point N times in a child process, prints median and spread,\n"
            "  and writes results.json, results.csv and PNG plots (gnuplot) into DIR\n"
            "  (default bench-out). --quick: a few minutes on 2 cores; default: the full\n"
            "  matrix. --repeat: default 3 (quick) or 5 (full). --backend auto adds cuda\n"
            "  points when a GPU is present. --host-budgets 0,512M,...: host budgets (0 =\n"
            "  default) and --modes auto,resident,spilled replace the matrix's own budgets\n"
            "  and modes (every point runs with each). --vram-budgets 0,512M,2G: the same\n"
            "  for the VRAM budget of the cuda points (0 = default, 90%% of free VRAM; CPU\n"
            "  points ignore it). A cuda point whose resident working set exceeds its\n"
            "  VRAM budget, or in mode spilled, runs the streaming device tier; on a GPU\n"
            "  the full matrix adds such points (vm 2^18 and synth small at 512M).\n"
            "  --matrix tiny|quick|full picks a matrix by name (tiny: seconds, for\n"
            "  tests). -v, -vv: the provers' info and debug messages (default: errors\n"
            "  only); -q: no table on stdout.\n");
}

/* e.g. vm16-b4-h128M-spilled-cpu, vm18-b4-v512M-cuda */
static void point_id(point *p)
{
    char size[32], bud[48] = "", vram[48] = "";
    if (p->m.log_rows) snprintf(size, sizeof size, "%u", p->m.log_rows);
    else snprintf(size, sizeof size, "%s", p->m.preset);
    if (p->host_budget)
        snprintf(bud, sizeof bud, "-h%lluM", (unsigned long long)(p->host_budget >> 20));
    if (p->vram_budget)
        snprintf(vram, sizeof vram, "-v%lluM", (unsigned long long)(p->vram_budget >> 20));
    snprintf(p->id, sizeof p->id, "%s%s-b%u%s%s%s%s-%s", p->m.wl, size, p->m.blowup, bud, vram,
             p->mode ? "-" : "", p->mode ? mode_name(p->mode) : "", backend_name(p->backend));
}

static int parse_list(const char *s, uint64_t *out, int max, int modes)
{
    int n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n >= max) return -1;
        if (modes) {
            if (!strcmp(tok, "auto")) out[n++] = SPW_MODE_AUTO;
            else if (!strcmp(tok, "resident")) out[n++] = SPW_MODE_RESIDENT;
            else if (!strcmp(tok, "spilled")) out[n++] = SPW_MODE_SPILLED;
            else return -1;
        } else if (cli_parse_size(tok, &out[n++])) return -1;
    }
    return n ? n : -1;
}

int cli_bench(int argc, char **argv)
{
    const char *out = "bench-out", *matrix = "full", *backend_s = "auto";
    uint64_t repeat = 0, threads = 0;
    uint64_t budgets[MAX_LIST] = {0}, modes[MAX_LIST] = {SPW_MODE_AUTO}, vrams[MAX_LIST] = {0};
    int n_budgets = 1, n_modes = 1, n_vrams = 1, verbose = 0, quiet = 0, budgets_set = 0,
        modes_set = 0, vrams_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--quick")) {
            matrix = "quick";
        } else if (cli_log_option(a, &verbose, &quiet)) {
        } else if (!v) {
            cli_error("bench", "option '%s' needs a value or is unknown (see spillway bench --help)", a);
            return CLI_USAGE;
        } else if (!strcmp(a, "--out")) {
            out = argv[++i];
        } else if (!strcmp(a, "--matrix")) {
            matrix = argv[++i];
            if (strcmp(matrix, "tiny") && strcmp(matrix, "quick") && strcmp(matrix, "full")) {
                cli_error("bench", "--matrix: expected tiny, quick or full, got '%s'", matrix);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--repeat")) {
            if (cli_parse_uint(argv[++i], 1, MAX_REPEAT, &repeat)) {
                cli_error("bench", "--repeat: expected 1..%d, got '%s'", MAX_REPEAT, v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_uint(argv[++i], 0, 1024, &threads)) {
                cli_error("bench", "--threads: expected 0..1024, got '%s'", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--backend")) {
            backend_s = argv[++i];
            if (strcmp(backend_s, "cpu") && strcmp(backend_s, "cuda") && strcmp(backend_s, "auto")) {
                cli_error("bench", "--backend: expected cpu, cuda or auto, got '%s'", backend_s);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--host-budgets")) {
            budgets_set = 1;
            if ((n_budgets = parse_list(argv[++i], budgets, MAX_LIST, 0)) < 0) {
                cli_error("bench", "--host-budgets: expected sizes like 0,512M,2G (at most %d)", MAX_LIST);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--vram-budgets")) {
            vrams_set = 1;
            if ((n_vrams = parse_list(argv[++i], vrams, MAX_LIST, 0)) < 0) {
                cli_error("bench", "--vram-budgets: expected sizes like 0,512M,2G (at most %d)", MAX_LIST);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--modes")) {
            modes_set = 1;
            if ((n_modes = parse_list(argv[++i], modes, MAX_LIST, 1)) < 0) {
                cli_error("bench", "--modes: expected a list of auto, resident, spilled");
                return CLI_USAGE;
            }
        } else {
            cli_error("bench", "unknown option '%s' (see spillway bench --help)", a);
            return CLI_USAGE;
        }
    }
    if (!repeat) repeat = !strcmp(matrix, "full") ? 5 : !strcmp(matrix, "tiny") ? 2 : 3;
    child_log_level = verbose >= 2 ? SPW_LOG_DEBUG : verbose ? SPW_LOG_INFO : SPW_LOG_ERROR;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (uint64_t)n : 1;
    }
    if (mkdir(out, 0777) && errno != EEXIST) {
        cli_error("bench", "cannot create '%s': %s; choose another --out DIR", out, strerror(errno));
        return CLI_FAIL;
    }
    const mspec *M = m_full;
    size_t nm = sizeof m_full / sizeof *m_full;
    if (!strcmp(matrix, "tiny")) M = m_tiny, nm = sizeof m_tiny / sizeof *m_tiny;
    else if (!strcmp(matrix, "quick")) M = m_quick, nm = sizeof m_quick / sizeof *m_quick;

    char gpu[128] = "";
    int backends[2], nb = 0;
    if (strcmp(backend_s, "cuda")) backends[nb++] = SPW_BACKEND_CPU;
    if (strcmp(backend_s, "cpu")) {
        if (gpu_available(gpu, sizeof gpu)) backends[nb++] = SPW_BACKEND_CUDA;
        else if (!strcmp(backend_s, "cuda")) {
            cli_error("bench", "--backend cuda: no usable GPU (or CUDA not compiled in); "
                               "use --backend cpu");
            return CLI_FAIL;
        } else if (!quiet)
            fprintf(stderr, "spillway bench: no GPU: CPU points only\n");
    }
    int np = 0;
    point *P = calloc(MAX_POINTS, sizeof *P);
    if (!P) return CLI_FAIL;
    for (int b = 0; b < nb; b++)
        for (size_t k = 0; k < nm; k++) {
            int cuda = backends[b] == SPW_BACKEND_CUDA;
            /* the matrix's streaming-device points are cuda-only; the VRAM
             * budgets multiply the cuda points only */
            if (!cuda && M[k].vram) continue;
            int nv = cuda && vrams_set ? n_vrams : 1;
            for (int m = 0; m < (modes_set ? n_modes : 1); m++)
                for (int h = 0; h < (budgets_set ? n_budgets : 1); h++)
                    for (int v = 0; v < nv && np < MAX_POINTS; v++) {
                        point *p = &P[np++];
                        p->m = M[k];
                        p->backend = backends[b];
                        p->mode = modes_set ? (int)modes[m] : M[k].mode;
                        p->host_budget = budgets_set ? budgets[h] : M[k].budget;
                        p->vram_budget = !cuda ? 0 : vrams_set ? vrams[v] : M[k].vram;
                        point_id(p);
                    }
        }
    double mem_gbps = measure_memory_gbps((unsigned)threads);
    if (!quiet)
        printf("spillway bench: matrix %s, %d points x %llu repeats, %llu threads, host memory "
               "copy %.1f GB/s -> %s/\n",
               matrix, np, (unsigned long long)repeat, (unsigned long long)threads, mem_gbps, out);
    time_t started = time(NULL);
    double t0 = spw_now();
    int failed = 0;
    if (!quiet)
        printf("%-26s %9s %9s %9s %7s %9s %9s %10s %10s\n", "point", "median s", "min s", "max s",
               "spread", "CPU s", "plan s", "ns/row", "peak RSS");
    for (int i = 0; i < np; i++) {
        point *p = &P[i];
        spw_run_stats *runs = calloc(repeat, sizeof *runs);
        if (!runs) {
            failed++;
            continue;
        }
        p->ok = 1;
        child_msg *cm = malloc(sizeof *cm);
        for (uint64_t r = 0; r < repeat && p->ok && cm; r++) {
            uint64_t rss = 0;
            double cpu = 0;
            if (run_once(p, (unsigned)threads, cm, &rss, &cpu)) {
                p->ok = 0;
                snprintf(p->err, sizeof p->err, "%s", cm->err);
                snprintf(p->tag, sizeof p->tag, "%s", cm->tag);
                break;
            }
            snprintf(p->tag, sizeof p->tag, "%s", cm->tag);
            p->rows = cm->rows;
            p->cells = cm->cells;
            runs[r] = cm->st;
            p->secs[p->n_runs] = cm->st.total_seconds;
            p->rss[p->n_runs] = rss;
            p->cpu[p->n_runs] = cpu;
            for (uint32_t t = 0; t < runs[r].n_tiers; t++) /* the child's peak RSS (wait4) */
                if (!strcmp(runs[r].tiers[t].name, "host")) {
                    runs[r].tiers[t].peak = rss;
                    snprintf(runs[r].tiers[t].source, SPW_STATS_NAME, "wait4");
                }
            p->n_runs++;
        }
        free(cm);
        if (!p->ok) {
            failed++;
            free(runs);
            if (!quiet) printf("%-26s FAILED: %s\n", p->id, p->err);
            continue;
        }
        p->median = median_of(p->secs, p->n_runs);
        p->min = p->max = p->secs[0];
        int rep = 0;
        for (int r = 0; r < p->n_runs; r++) {
            if (p->secs[r] < p->min) p->min = p->secs[r];
            if (p->secs[r] > p->max) p->max = p->secs[r];
            if (fabs(p->secs[r] - p->median) < fabs(p->secs[rep] - p->median)) rep = r;
        }
        p->median_cpu = median_of(p->cpu, p->n_runs);
        p->spread = p->median > 0 ? (p->max - p->min) / p->median : 0;
        p->ns_per_row = p->rows ? p->median * 1e9 / (double)p->rows : 0;
        uint64_t rs[MAX_REPEAT];
        memcpy(rs, p->rss, sizeof *rs * (size_t)p->n_runs);
        qsort(rs, (size_t)p->n_runs, sizeof *rs, cmp_u64);
        p->peak_rss = rs[(p->n_runs - 1) / 2];
        p->rep = malloc(sizeof *p->rep);
        if (p->rep) *p->rep = runs[rep];
        free(runs);
        if (!p->rep) {
            p->ok = 0;
            failed++;
            continue;
        }
        if (mem_gbps > 0) {
            for (uint32_t l = 0; l < p->rep->n_links; l++)
                if (!strcmp(p->rep->links[l].name, "host memory") && p->rep->links[l].bound_gbps <= 0)
                    p->rep->links[l].bound_gbps = mem_gbps;
        }
        if (!quiet) {
            char sz[32];
            char pred[32] = "-";
            if (p->rep->predicted_total >= 0)
                snprintf(pred, sizeof pred, "%.3f", p->rep->predicted_total);
            printf("%-26s %9.3f %9.3f %9.3f %6.1f%% %9.3f %9s %10.1f %10s\n", p->id, p->median,
                   p->min, p->max, 100 * p->spread, p->median_cpu, pred, p->ns_per_row,
                   cli_fmt_size(sz, sizeof sz, p->peak_rss));
            fflush(stdout);
        }
    }
    double wall = spw_now() - t0;
    int rc = CLI_OK;
    if (write_json(out, P, np, matrix, (int)repeat, (unsigned)threads, mem_gbps, gpu, wall, started) ||
        write_csv(out, P, np))
        rc = CLI_FAIL;
    int n_png = 0;
    if (rc == CLI_OK && write_plots(out, P, np, mem_gbps, &n_png)) rc = CLI_FAIL;
    if (!quiet)
        printf("spillway bench: %d points (%d failed) in %.1f s; wrote %s/results.json, "
               "%s/results.csv and %d plots\n",
               np, failed, wall, out, out, n_png);
    for (int i = 0; i < np; i++) free(P[i].rep);
    free(P);
    if (failed) rc = CLI_FAIL;
    return rc;
}
