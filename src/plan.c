/*
 * plan.c - the out-of-core planner (plan.h, docs/OUT_OF_CORE.md): default
 * budgets (cgroup-aware), per-table working sets for the in-memory and the
 * streamed schedule, chunk/column-group choice under the host budget, pool
 * and spill-file sizes, bytes per link and a predicted time.
 */
#include "plan.h"
#include "stark.h"
#include "sched/dev.h" /* spw_sdev_coset_bytes; includes spill/spill.h (whose probe
                          * part is outside its include guard: include it once) */

#ifdef SPW_HAVE_CUDA
#include "../cuda/cuda_api.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MiB (UINT64_C(1) << 20)
#define TILE_MAX (UINT64_C(4) << 20) /* bytes per tile (spill chunk) at most */
#define GROUP_MAX 32u                /* columns per column group at most */
#define CHUNK_HDR 4096u              /* the store's header block per chunk */

/* ---- defaults ---- */

static uint64_t read_u64_file(const char *path, int *ok)
{
    FILE *f = fopen(path, "r");
    *ok = 0;
    if (!f) return 0;
    char b[64] = "";
    if (fgets(b, sizeof b, f)) {
        char *e;
        unsigned long long v = strtoull(b, &e, 10);
        if (e != b) {
            *ok = 1;
            fclose(f);
            return v;
        }
    }
    fclose(f);
    return 0;
}

static uint64_t meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    uint64_t v = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            v = (uint64_t)kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

/* Bytes the cgroup still allows (UINT64_MAX when unlimited or unknown). */
static uint64_t cgroup_available(void)
{
    uint64_t best = UINT64_MAX;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[1024], path[1200];
    int ok, ok2;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "0::", 3)) { /* v2 */
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
            uint64_t lim = read_u64_file(path, &ok);
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", line + 3);
            uint64_t use = read_u64_file(path, &ok2);
            if (ok) {
                uint64_t a = lim > use ? lim - use : 0;
                if (a < best) best = a;
            }
        } else if (strstr(line, ":memory:")) { /* v1 */
            const char *p = strstr(line, ":memory:") + 8;
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", p);
            uint64_t lim = read_u64_file(path, &ok);
            if (!ok) lim = read_u64_file("/sys/fs/cgroup/memory/memory.limit_in_bytes", &ok);
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", p);
            uint64_t use = read_u64_file(path, &ok2);
            if (ok && lim < (UINT64_C(1) << 60)) {
                uint64_t a = lim > use ? lim - use : 0;
                if (a < best) best = a;
            }
        }
    }
    if (f) fclose(f);
    return best;
}

uint64_t spw_plan_default_host_budget(void)
{
    uint64_t a = meminfo_available(), c = cgroup_available();
    if (!a) a = UINT64_C(4) << 30;
    if (c < a) a = c;
    return a / 2;
}

uint64_t spw_plan_default_vram_budget(void)
{
#ifdef SPW_HAVE_CUDA
    uint64_t fr = 0;
    if (spw_cuda_device_count() > 0 && spw_cuda_device_info(NULL, 0, NULL, &fr) == SPW_OK)
        return fr / 10 * 9;
#endif
    return 0;
}

const char *spw_plan_spill_dir(const spw_ctx *ctx)
{
    if (ctx && ctx->spill_dir[0]) return ctx->spill_dir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

uint64_t spw_peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t v = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) v = (uint64_t)kb * 1024;
    }
    if (f) fclose(f);
    if (!v) {
        struct rusage ru;
        if (!getrusage(RUSAGE_SELF, &ru)) v = (uint64_t)ru.ru_maxrss * 1024;
    }
    return v;
}

/* ---- sizes ---- */

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t m = a > b ? a : b;
    return m > c ? m : c;
}

typedef struct tdim {
    uint64_t n, N, E, NE, nm, na, nc, ncmax, prog, nk;
    int rec; /* the recompute tier (p->recompute) */
    int dev; /* the device tier's plan (its coset passes run on the GPU) */
    unsigned log_n, log_b, log_e;
} tdim;

static void dims(tdim *d, const spw_plan_table *p, const spw_air_table *t, unsigned log_b)
{
    d->n = UINT64_C(1) << p->log_n;
    d->N = d->n << log_b;
    d->E = UINT64_C(1) << p->log_e;
    d->NE = d->n << p->log_e;
    d->nm = p->nm;
    d->na = p->na;
    d->nc = p->nc;
    d->ncmax = max3(d->nm, d->na, d->nc);
    d->prog = t->n_eval_slots ? t->n_eval_slots : t->prog_len;
    d->nk = t->n_constraints;
    d->rec = p->recompute;
    d->log_n = p->log_n;
    d->log_b = log_b;
    d->log_e = p->log_e;
}

/* What the in-memory prover holds for one table at its peak. */
static uint64_t resident_bytes(const tdim *d)
{
    uint64_t b = 8 * (2 * d->n * d->nm + d->N * d->nm + (d->n + d->N) * (d->na + d->nc));
    b += 64 * d->N * (d->na ? 3 : 2) + 24 * d->N + 24 * d->NE;
    if (d->NE != d->N) b += 8 * (d->nm + d->na) * d->NE;
    return b;
}

/* Heap working set of round r (SPW_ROUND_MAIN..SPW_ROUND_DEEP) of the
 * streamed schedule with row chunk R, column group G. */
static uint64_t round_work(const tdim *d, uint64_t R, uint64_t G, unsigned threads, int r)
{
    uint64_t Rt = R < d->n ? R : d->n;
    uint64_t col = G * (d->n + d->N) * 8 + 16 * d->N;           /* LDE of a group (+ NTT tables) */
    uint64_t colE = G * (d->n + d->NE) * 8 + 16 * d->NE;        /* composition domain LDE */
    uint64_t interp = 24 * d->NE;                               /* one quotient column */
    uint64_t leaf = (16 * d->ncmax + 32 + 64) * R;                /* double-buffered rows */
    uint64_t aux = 16 * (d->nm + d->na) * Rt;
    uint64_t comp = 24 * (d->nm + d->na) * (R + d->E) + 24 * R +
                    (uint64_t)threads * 24 * 256 * (d->nk + d->prog + 4);
    uint64_t ood = 48 * Rt + 8 * d->ncmax * Rt;
    uint64_t deep = 16 * (d->nm + d->na + d->nc) * R + 72 * R + (uint64_t)threads * 24 * 256 * 5;
    if (d->rec && !d->dev) { /* the CPU's coset passes (coset.c), beside the main column phase */
        uint64_t h = spw_hcoset_bytes(d->nm, d->na, d->nc, d->log_n, d->log_b, d->log_e);
        uint64_t cm = G * d->n * 8 + 16 * d->n;
        return r == SPW_ROUND_OOD ? ood : h > cm ? h : cm;
    }
    if (d->rec) { /* the recompute tier's page-locked host buffers (stream.c, dev.c): */
        uint64_t heap = 64 * (d->N < (UINT64_C(1) << 20) ? d->N : UINT64_C(1) << 20);
        uint64_t stage = G * d->n * 8; /* main column phase: two slots of a group */
        if (stage > (UINT64_C(256) << 20)) stage = (UINT64_C(256) << 20) / (d->n * 8) * d->n * 8;
        if (stage < d->n * 8) stage = d->n * 8;
        col = 2 * stage > heap ? 2 * stage : heap; /* or a coset tree's heap chunk */
        /* LogUp, composition, OOD and DEEP (the roll-in added on the device)
         * keep nothing of the table's size on the host */
        colE = interp = leaf = aux = comp = ood = deep = 0;
    }
    switch (r) {
    case SPW_ROUND_MAIN: return col > leaf ? col : leaf;
    case SPW_ROUND_AUX: return max3(aux, col, leaf);
    case SPW_ROUND_COMP: return max3(max3(col, colE, interp), comp, leaf);
    case SPW_ROUND_OOD: return ood;
    case SPW_ROUND_DEEP: return deep;
    default: return 0;
    }
}

/* Heap working set of the largest phase. */
static uint64_t work_bytes(const tdim *d, uint64_t R, uint64_t G, unsigned threads)
{
    uint64_t w = 0;
    for (int r = SPW_ROUND_MAIN; r <= SPW_ROUND_DEEP; r++) {
        uint64_t x = round_work(d, R, G, threads, r);
        if (x > w) w = x;
    }
    return w;
}

/* Rough compute seconds of one table per round; c[] is indexed by
 * SPW_ROUND_*, the sum is the table's compute estimate. The per-element
 * constants were calibrated against the in-memory prover on the 2-core
 * development machine (docs/OUT_OF_CORE.md): at one thread an NTT costs
 * DEV_NTT_S per column x point x log term, hashing DEV_HASH_S per byte,
 * the other constants below x DEV_K; with T threads each is divided by T.
 * A probe file's CPU keys replace them (cpu_model). */
#define DEV_NTT_S (1.2e-9 * 2.25)
#define DEV_HASH_S (2.25 / 0.9e9)
#define DEV_K 2.25
/* With a probe file's CPU keys: the model's kernel terms priced at the
 * measured kernel speeds, times this factor for the work around them that
 * the model does not count (pre-proof checks, LogUp, FRI, grinding, memory
 * traffic of the rounds): in-memory prover / kernel terms was 1.76, 2.37
 * and 1.96 for vm --log-rows 18, fib --log-rows 20 and vm --log-rows 14 on
 * the 2-core development machine (geometric mean; docs/OUT_OF_CORE.md). */
#define PROBE_OVERHEAD 2.0

/* NTT units (the model's: columns x points x log terms). */
static double ntt_units(double cols, double size, double log_terms)
{
    return cols * size * log_terms;
}

/* The compute model at plan->threads: from the probe's CPU calibration
 * (pr, measured on pr->cpu_threads threads; scaled linearly to the plan's
 * threads; times PROBE_OVERHEAD; the constants without a kernel of their
 * own (constraints, OOD, DEEP) scaled by the same ratio as the NTT term,
 * an assumption) or, pr = NULL or without the keys, the development
 * machine's constants. */
static void cpu_model(spw_plan *plan, const spw_spill_probe_result *pr, const char *path)
{
    double T = plan->threads;
    plan->cpu_ntt_s = DEV_NTT_S / T;
    plan->cpu_hash_s = DEV_HASH_S / T;
    plan->cpu_k = DEV_K / T;
    plan->cpu_threads = 0;
    snprintf(plan->compute_source, sizeof plan->compute_source,
             "dev-machine constants (2-core calibration)");
    if (!pr || !pr->cpu_threads || !(pr->ntt_ns_per_elem_log > 0) || !(pr->hash_gbs > 0)) return;
    double P = pr->cpu_threads;
    double ntt1 = PROBE_OVERHEAD * pr->ntt_ns_per_elem_log * 1e-9 * P; /* at one thread */
    plan->cpu_ntt_s = ntt1 / T;
    plan->cpu_hash_s = PROBE_OVERHEAD * P / (pr->hash_gbs * 1e9) / T;
    plan->cpu_k = DEV_K * (ntt1 / DEV_NTT_S) / T;
    plan->cpu_threads = pr->cpu_threads;
    snprintf(plan->compute_source, sizeof plan->compute_source,
             "probe file %s (%u threads, %.3g ns per NTT unit, %.3g GB/s hashing)", path,
             pr->cpu_threads, pr->ntt_ns_per_elem_log, pr->hash_gbs);
}

/* The probe file's per-round calibration (calib_* keys), when it has
 * them: it replaces the kernel-priced model (plan_calib.h). */
static spw_status calib_model(const spw_ctx *ctx, spw_plan *plan, const char *path)
{
    SPW_TRY(spw_calib_load((spw_ctx *)ctx, &plan->calib, path));
    if (!plan->calib.have) return SPW_OK;
    snprintf(plan->compute_source, sizeof plan->compute_source,
             "probe file %s (per-round fit of timed proofs on %u threads)", path,
             plan->calib.threads);
    return SPW_OK;
}

static void rec_extra(double *c, const tdim *d, const spw_plan *plan);

static void compute_rounds(double *c, const tdim *d, unsigned log_N, const spw_plan *plan)
{
    spw_calib_dims cd = {(double)d->n,  (double)d->N,  (double)d->NE,   (double)d->nm, (double)d->na,
                         (double)d->nc, (double)d->prog, (double)d->nk, (double)log_N};
    const spw_calib *cal = &plan->calib;
    double pt[SPW_ROUND_COUNT];
    if (!cal->have) {
        spw_calib_terms(c, pt, &cd, plan->cpu_ntt_s, plan->cpu_hash_s, plan->cpu_k, 0);
        for (int r = 0; r < SPW_ROUND_COUNT; r++) c[r] += pt[r];
        rec_extra(c, d, plan);
        return;
    }
    /* the probe's per-round fit (src/plan_calib.h): a_r x column units +
     * p_r x point units, + b_r for the rounds charged per table; x the
     * streaming factor */
    spw_calib_units(c, pt, &cd);
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        c[r] = c[r] + pt[r] > 0 ? spw_calib_seconds(cal, r, c[r], pt[r], spw_calib_per_table(r),
                                                    plan->threads, plan->spilled)
                                : 0;
    rec_extra(c, d, plan);
}

/* The CPU recompute tier's NTTs beyond the stored-LDE schedule's, per
 * round (coset.c; both evaluate the K cosets of every column for the
 * trees, and the extended domain when E > blowup): the trace for LogUp (nm
 * columns of n), the composition's E cosets of main and aux (E = blowup:
 * the stored path reads the LDE there), DEEP's 6 combined columns on K
 * cosets, the openings' cosets (one per distinct coset queried, at most
 * K). NTT units with log2(n) + 2 terms: the scaling and copies included. */
/* The proof's query count at blowup 2^log_b (the prover's parameters). */
static uint32_t n_queries(unsigned log_b)
{
    spw_stark_params sp;
    spw_stark_default_params(&sp, 1u << log_b, 0);
    return sp.n_queries;
}

static double rec_units(double *u, const tdim *d)
{
    memset(u, 0, SPW_ROUND_COUNT * sizeof *u);
    if (!d->rec || d->dev) return 0;
    double n = (double)d->n, ln = d->log_n + 2.0, K = (double)(d->N / d->n);
    double E = (double)(d->NE / d->n), ma = (double)(d->nm + d->na), all = ma + (double)d->nc;
    double nq = (double)n_queries(d->log_b);
    u[SPW_ROUND_AUX] = ntt_units((double)d->nm, n, ln);
    u[SPW_ROUND_COMP] = d->NE == d->N ? ntt_units(E * ma, n, ln) : 0;
    u[SPW_ROUND_DEEP] = ntt_units(6 * K, n, ln);
    u[SPW_ROUND_QUERY] = ntt_units((nq < K ? nq : K) * all, n, ln);
    double t = 0;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) t += u[r];
    return t;
}

/* Calibration of the CPU recompute tier (2-core development machine,
 * every table recomputed against every LDE stored: docs/OUT_OF_CORE.md):
 * its coset NTTs cost REC_NTT_FACTOR of the model's NTT price (0.27 on
 * synth small at 256M, 0.34 on the recomputed tables of synth medium at
 * 1G), and its main round saves REC_LDE_S x cpu_k seconds per byte of
 * main LDE the stored schedule writes into the store and reads back for
 * the leaves (synth medium at 1G: 7.3 s for 8.0 GB; synth small: twice
 * that rate). The auto choice keeps the recompute tier only when its plan
 * predicts less than REC_MARGIN of the stored plan's time: the whole-plan
 * predictions were off by -9% and +28% on synth medium at 1G. */
#define REC_NTT_FACTOR 0.3
#define REC_LDE_S 0.82e-9
#define REC_MARGIN 0.8

static double rec_seconds(double *c, const tdim *d, const spw_plan *plan)
{
    double u[SPW_ROUND_COUNT], t = 0;
    rec_units(u, d);
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        c[r] = REC_NTT_FACTOR * plan->cpu_ntt_s * u[r];
        if (r == SPW_ROUND_MAIN && d->rec && !d->dev)
            c[r] -= REC_LDE_S * plan->cpu_k * 8.0 * (double)d->N * (double)d->nm;
        t += c[r];
    }
    return t;
}

static void rec_extra(double *c, const tdim *d, const spw_plan *plan)
{
    double x[SPW_ROUND_COUNT];
    rec_seconds(x, d, plan);
    for (int r = 0; r < SPW_ROUND_COUNT; r++) c[r] = c[r] + x[r] > 0 ? c[r] + x[r] : 0;
}

/* Compute of round r charged to the proof, not to a table (per-round
 * calibration only): b_r of the per-proof rounds, and FRI's folding. */
static double shared_compute(const spw_plan *plan, const tdim *D, int r)
{
    const spw_calib *cal = &plan->calib;
    if (!cal->have || spw_calib_per_table(r)) return 0;
    double u = 0;
    if (r == SPW_ROUND_FRI) {
        double N0 = 0;
        for (uint32_t t = 0; t < plan->n_tables; t++)
            if ((double)D[t].N > N0) N0 = (double)D[t].N;
        u = spw_calib_fri_units(N0);
    }
    return spw_calib_seconds(cal, r, u, 0, 1, plan->threads, plan->spilled);
}

static double compute_seconds(const tdim *d, unsigned log_N, const spw_plan *plan)
{
    double c[SPW_ROUND_COUNT], s = 0;
    compute_rounds(c, d, log_N, plan);
    for (int r = 0; r < SPW_ROUND_COUNT; r++) s += c[r];
    return s;
}

/* ---- the store over the schedule ----
 * The streaming prover (src/sched/stream.c) creates and frees tile
 * matrices in a fixed order; replaying that order with the exact tile
 * geometry of its mat_new/spw_stree_init gives the bytes live in the store
 * at each step, per owner (each table, and the shared DEEP/FRI data). */

typedef struct geo {
    uint64_t tile, tree_rows; /* SPW_PLAN_TILE_BYTES / SPW_PLAN_TREE_ROWS or the env knobs */
    unsigned skip;            /* spw_plan_tree_skip() */
} geo;

unsigned spw_plan_tree_skip(void)
{
    const char *e = getenv("SPW_TREE_SKIP");
    if (e && *e) {
        char *end;
        unsigned long v = strtoul(e, &end, 10);
        if (!*end && v <= 16) return (unsigned)v;
    }
    return SPW_PLAN_TREE_SKIP;
}

/* Digests stored per subtree of Rt leaves (sched.h's spw_stree: the heap
 * without its lowest skip levels, at most all but the root's). */
static uint64_t subtree_digests(const geo *g, uint64_t Rt)
{
    unsigned L = g->skip, lr = 0;
    while ((UINT64_C(1) << (lr + 1)) <= Rt) lr++;
    if (L > lr) L = lr;
    return 2 * (Rt >> L);
}

/* Pool bytes of a chunk of b payload bytes: a header block + the payload
 * rounded to blocks (spill/store.c; the disk extent is no larger). */
static uint64_t chunk_len(uint64_t b)
{
    return CHUNK_HDR + (b + CHUNK_HDR - 1) / CHUNK_HDR * CHUNK_HDR;
}

/* A tile matrix as stream.c's mat_new cuts it. */
static uint64_t mat_store(const geo *g, uint64_t ncols, uint64_t nrows, uint64_t esz, uint64_t G,
                          uint64_t R)
{
    if (!ncols || !nrows) return 0;
    uint64_t gc = G && G < ncols ? G : ncols, tr = 64;
    while (tr < R && tr * 2 * esz * gc <= g->tile) tr *= 2;
    if (tr > R) tr = R;
    if (!tr || tr > nrows) tr = nrows;
    uint64_t full = ncols / gc, rest = ncols % gc;
    return nrows / tr * (full * chunk_len(gc * tr * esz) + (rest ? chunk_len(rest * tr * esz) : 0));
}

/* A chunked Merkle tree over nleaves leaves built from chunks of R rows. */
static uint64_t tree_store(const geo *g, uint64_t nleaves, uint64_t R)
{
    uint64_t Rt = g->tree_rows < R ? g->tree_rows : R;
    if (Rt > nleaves) Rt = nleaves;
    if (!Rt) return 0;
    return nleaves / Rt * chunk_len(32 * subtree_digests(g, Rt));
}

/* The data sets of a table that can have a home tier of their own: what
 * its main, aux and composition rounds create (round SPW_ROUND_MAIN + k). */
#define NSET 3

typedef struct timeline {
    uint32_t owners;  /* NSET per table + 1 (the last: shared DEEP/FRI data) */
    uint32_t n, cap;
    uint64_t *live;   /* owners: current */
    uint64_t *sum;    /* owners: all ever created */
    uint64_t *snap;   /* n x owners */
    int *round;       /* n: the round of each snapshot */
} timeline;

/* The owner of table t's data set k (0 main, 1 aux, 2 composition). */
static uint32_t own(uint32_t t, int k)
{
    return NSET * t + (uint32_t)k;
}

static void tl_add(timeline *x, uint32_t o, uint64_t b)
{
    x->live[o] += b;
    x->sum[o] += b;
}

static void tl_snap(timeline *x, int round)
{
    if (x->n >= x->cap) return; /* sized for the schedule: cannot happen */
    memcpy(x->snap + (size_t)x->n * x->owners, x->live, x->owners * sizeof *x->live);
    x->round[x->n++] = round;
}

/* Table t's bytes live in snapshot k (all its data sets). */
static uint64_t tl_table(const timeline *x, uint32_t k, uint32_t t)
{
    uint64_t b = 0;
    for (int j = 0; j < NSET; j++) b += x->snap[(size_t)k * x->owners + own(t, j)];
    return b;
}

static void tl_free(timeline *x)
{
    free(x->live);
    free(x->sum);
    free(x->snap);
    free(x->round);
    memset(x, 0, sizeof *x);
}

/* Replays stream.c's order: main round of every table, aux per table (the
 * trace freed after each), composition per table (extended-domain
 * matrices and the quotient freed inside it), OOD (then all coefficient
 * matrices freed), DEEP roll-ins, FRI layer by layer (roll-ins freed as
 * they are folded in), queries. Each matrix is counted to the data set of
 * the round that creates it. */
static int tl_build(timeline *x, const spw_plan *plan, const tdim *D, const geo *g,
                    unsigned n_layers)
{
    uint32_t T = plan->n_tables, O = NSET * T + 1, SH = O - 1;
    memset(x, 0, sizeof *x);
    x->owners = O;
    x->cap = 8 * T + 2 * n_layers + 16;
    x->live = calloc(O, sizeof *x->live);
    x->sum = calloc(O, sizeof *x->sum);
    x->snap = calloc((size_t)x->cap * O, sizeof *x->snap);
    x->round = calloc(x->cap, sizeof *x->round);
    uint64_t *coef = calloc(O, sizeof *coef), *trace = calloc(T + 1, sizeof *trace);
    if (!x->live || !x->sum || !x->snap || !x->round || !coef || !trace) {
        free(coef);
        free(trace);
        tl_free(x);
        return -1;
    }
    for (uint32_t t = 0; t < T; t++) { /* main */
        const spw_plan_table *p = &plan->tables[t];
        const tdim *d = &D[t];
        uint64_t R = p->R && p->R < d->N ? p->R : d->N, Rt = R < d->n ? R : d->n, G = p->G ? p->G : 1;
        /* the recompute tier (p->recompute): no trace (LogUp evaluates
         * it from the coefficients) and no LDE matrix; its trees store the
         * same levels as any tree (the openings evaluate each query's
         * bottom group of rows from the coefficients) */
        uint64_t lde = p->recompute ? 0 : mat_store(g, d->nm, d->N, 8, G, R);
        trace[t] = p->recompute ? 0 : mat_store(g, d->nm, d->n, 8, G, Rt);
        coef[own(t, 0)] = mat_store(g, d->nm, d->n, 8, G, Rt);
        tl_add(x, own(t, 0), trace[t] + coef[own(t, 0)] + lde + tree_store(g, d->N, R));
        tl_snap(x, SPW_ROUND_MAIN);
    }
    for (uint32_t t = 0; t < T; t++) { /* aux */
        const spw_plan_table *p = &plan->tables[t];
        const tdim *d = &D[t];
        uint64_t R = p->R && p->R < d->N ? p->R : d->N, Rt = R < d->n ? R : d->n, G = p->G ? p->G : 1;
        if (d->na) {
            uint64_t lde = p->recompute ? 0 : mat_store(g, d->na, d->N, 8, G, R);
            coef[own(t, 1)] = mat_store(g, d->na, d->n, 8, G, Rt);
            tl_add(x, own(t, 1), coef[own(t, 1)] + lde + tree_store(g, d->N, R));
        }
        tl_snap(x, SPW_ROUND_AUX);
        x->live[own(t, 0)] -= trace[t];
    }
    for (uint32_t t = 0; t < T; t++) { /* composition */
        const spw_plan_table *p = &plan->tables[t];
        const tdim *d = &D[t];
        uint64_t R = p->R && p->R < d->N ? p->R : d->N, Rt = R < d->n ? R : d->n, G = p->G ? p->G : 1;
        uint64_t Rc = R < d->NE ? R : d->NE, ext = 0;
        uint32_t o = own(t, 2);
        if (d->NE != d->N && !p->recompute) /* the recompute tier evaluates its cosets */
            ext = mat_store(g, d->nm, d->NE, 8, G, Rc) + mat_store(g, d->na, d->NE, 8, G, Rc);
        /* the recompute tier's quotient stays on the device */
        uint64_t q = p->recompute ? 0 : mat_store(g, 3, d->NE, 8, 3, Rc);
        coef[o] = mat_store(g, d->nc, d->n, 8, G, Rt);
        tl_add(x, o, ext + q);
        tl_snap(x, SPW_ROUND_COMP);
        x->live[o] -= ext;
        tl_add(x, o, coef[o]);
        tl_snap(x, SPW_ROUND_COMP);
        x->live[o] -= q;
        tl_add(x, o, (p->recompute ? 0 : mat_store(g, d->nc, d->N, 8, G, R)) +
                         tree_store(g, d->N, R));
        tl_snap(x, SPW_ROUND_COMP);
    }
    tl_snap(x, SPW_ROUND_OOD);
    /* the coefficients go after OOD, except the recompute tier's (DEEP and
     * the openings evaluate them) */
    for (uint32_t o = 0; o < SH; o++)
        if (!plan->tables[o / NSET].recompute) x->live[o] -= coef[o];
    /* DEEP: one roll-in matrix per LDE size, made by its first table */
    unsigned log_n0 = 0;
    for (uint32_t t = 0; t < T; t++)
        if (plan->tables[t].log_N > log_n0) log_n0 = plan->tables[t].log_N;
    uint64_t *rollin = calloc(n_layers + 2, sizeof *rollin);
    if (!rollin) {
        free(coef);
        free(trace);
        tl_free(x);
        return -1;
    }
    for (uint32_t t = 0; t < T; t++) {
        unsigned i = log_n0 - plan->tables[t].log_N;
        uint64_t N = D[t].N, Rf = plan->fri_R < N / 2 ? plan->fri_R : N / 2;
        if (i <= n_layers && !rollin[i]) {
            rollin[i] = mat_store(g, 1, N, 24, 1, Rf ? Rf : 1);
            tl_add(x, SH, rollin[i]);
        }
        tl_snap(x, SPW_ROUND_DEEP);
    }
    /* FRI: layer i's tree and layer i+1 (kept for the queries) */
    uint64_t n0 = UINT64_C(1) << log_n0;
    for (unsigned i = 0; i < n_layers; i++) {
        uint64_t half = (n0 >> i) / 2, Rf = plan->fri_R < half ? plan->fri_R : half;
        tl_add(x, SH, tree_store(g, half, Rf) + mat_store(g, 1, half, 24, 1, Rf));
        tl_snap(x, SPW_ROUND_FRI);
        x->live[SH] -= rollin[i + 1];
    }
    tl_snap(x, SPW_ROUND_QUERY);
    free(rollin);
    free(coef);
    free(trace);
    return 0;
}

/* Peak over the schedule of the data of the owners with in[o] set. */
static uint64_t tl_peak(const timeline *x, const int *in)
{
    uint64_t m = 0;
    for (uint32_t k = 0; k < x->n; k++) {
        uint64_t s = 0;
        for (uint32_t o = 0; o < x->owners; o++)
            if (in[o]) s += x->snap[(size_t)k * x->owners + o];
        if (s > m) m = s;
    }
    return m;
}

/* ---- bytes per link and time per round ---- */

/* Coefficient uploads of one coset pass of the recompute tier over c
 * columns and k cosets: once when a device copy of the coefficients fits
 * beside the pass's buffers (its evaluations, the copy, its largest other
 * buffer: the leaf digests, DEEP values or quotient, 320 MiB of scratch
 * and margin, within the VRAM budget; dev.c's coset_want_coef asks the
 * arena's largest free block at run time), else once per coset. */
static uint64_t dev_uploads(const tdim *d, uint64_t c, uint64_t k, uint64_t budget)
{
    uint64_t other = 32 * d->N > 24 * d->NE ? 32 * d->N : 24 * d->NE;
    return 16 * c * d->n + other + (UINT64_C(320) << 20) <= budget ? 1 : k;
}

/* Disk bytes of the recompute tier's table (rec = 1 in table_disk): no
 * trace, LDE, extended domain or quotient in the store; trees as the
 * stored LDE's; each coset pass reads the coefficients from the store once
 * per upload (dev_uploads): the main tree, LogUp (the main coefficients
 * once: the trace is their coset of shift 1; the aux tree from the device
 * copy), the composition (its tree from the device copy), OOD (once),
 * DEEP, the openings (the rows of each query's bottom group). budget 0:
 * the CPU's passes (coset.c), which read the coefficients once per coset
 * (dev_uploads gives k), DEEP's once. */
static void table_disk_rec(spw_plan_round *x, const tdim *d, const spw_plan_table *p, uint32_t nq,
                           const geo *g, uint64_t budget)
{
    spw_plan_round *xm = x, *xa = x + SPW_ROUND_COUNT, *xc = x + 2 * SPW_ROUND_COUNT;
    uint64_t n = d->n, N = d->N, K = d->N / d->n, E = d->NE / d->n, ma = d->nm + d->na;
    uint64_t trm = 8 * n * d->nm, tra = 8 * n * d->na, cc = 8 * n * d->nc;
    uint64_t Rtr = N < g->tree_rows ? N : g->tree_rows, sub = 32 * subtree_digests(g, Rtr);
    uint64_t tree = N / Rtr * sub, qk = nq < K ? nq : K;
    uint64_t uc = dev_uploads(d, ma, E, budget);
    uint64_t ud = budget ? dev_uploads(d, ma + d->nc, K, budget) : 1;
    xm[SPW_ROUND_MAIN].write_bytes = trm + tree;
    xm[SPW_ROUND_MAIN].read_bytes = dev_uploads(d, d->nm, K, budget) * trm;
    xm[SPW_ROUND_AUX].read_bytes = d->na ? trm : 0;
    xa[SPW_ROUND_AUX].write_bytes = tra + (d->na ? tree : 0);
    xm[SPW_ROUND_COMP].read_bytes = uc * trm;
    xa[SPW_ROUND_COMP].read_bytes = uc * tra;
    xc[SPW_ROUND_COMP].write_bytes = cc + tree;
    uint64_t cols[NSET] = {trm, tra, cc};
    for (int k = 0; k < NSET; k++) {
        x[k * SPW_ROUND_COUNT + SPW_ROUND_OOD].read_bytes = cols[k];
        x[k * SPW_ROUND_COUNT + SPW_ROUND_DEEP].read_bytes = ud * cols[k];
        if (cols[k])
            x[k * SPW_ROUND_COUNT + SPW_ROUND_QUERY].read_bytes =
                dev_uploads(d, ma + d->nc, qk, budget) * cols[k] + (uint64_t)nq * (sub + CHUNK_HDR) / 4;
    }
}

/* Disk bytes of table d per round if its data sets stream (before the
 * cache fraction): x[k * SPW_ROUND_COUNT + r] = the bytes of data set k
 * (NSET: main, aux, composition) moved in round r. Everything is written
 * once and read back by each pass that consumes it. The DEEP roll-in is
 * shared data: its bytes go to sh[SPW_ROUND_DEEP] (added). rec: the
 * device tier's recompute tier (table_disk_rec; budget: the VRAM's). */
static void table_disk(spw_plan_round *x, spw_plan_round *sh, const tdim *d,
                       const spw_plan_table *p, uint32_t nq, const geo *g, int rec, uint64_t budget)
{
    memset(x, 0, NSET * SPW_ROUND_COUNT * sizeof *x);
    uint64_t n = d->n, N = d->N, NE = d->NE, deep = 24 * N;
    sh[SPW_ROUND_DEEP].write_bytes += deep;
    sh[SPW_ROUND_DEEP].read_bytes += deep;
    if (rec) {
        table_disk_rec(x, d, p, nq, g, budget);
        return;
    }
    spw_plan_round *xm = x, *xa = x + SPW_ROUND_COUNT, *xc = x + 2 * SPW_ROUND_COUNT;
    uint64_t trm = 8 * n * d->nm, tra = 8 * n * d->na, cc = 8 * n * d->nc;
    uint64_t lm = 8 * N * d->nm, la = 8 * N * d->na, lc = 8 * N * d->nc;
    uint64_t Rtr = N < g->tree_rows ? N : g->tree_rows, sub = 32 * subtree_digests(g, Rtr);
    uint64_t q = 24 * NE, ext = NE != N ? 8 * (d->nm + d->na) * NE : 0;
    uint64_t tree = N / Rtr * sub;
    /* main: trace, coefficients, LDE, tree written; LDE read by the leaves */
    xm[SPW_ROUND_MAIN].write_bytes = 2 * trm + lm + tree;
    xm[SPW_ROUND_MAIN].read_bytes = lm + lm / 4;
    /* aux: LogUp reads the trace; values -> coefficients in place; LDE, tree */
    xm[SPW_ROUND_AUX].read_bytes = trm;
    xa[SPW_ROUND_AUX].write_bytes = 2 * tra + la + (d->na ? tree : 0);
    xa[SPW_ROUND_AUX].read_bytes = tra + la + la / 4;
    /* composition: the LDEs (or the extended domain, a composition
     * temporary) read by the constraints, quotient written and read, parts'
     * coefficients, LDE and tree */
    xm[SPW_ROUND_COMP].read_bytes = lm;
    xa[SPW_ROUND_COMP].read_bytes = la;
    xc[SPW_ROUND_COMP].write_bytes = cc + lc + tree + q + ext;
    xc[SPW_ROUND_COMP].read_bytes = lc + q + ext;
    /* OOD: the coefficients read */
    xm[SPW_ROUND_OOD].read_bytes = trm;
    xa[SPW_ROUND_OOD].read_bytes = tra;
    xc[SPW_ROUND_OOD].read_bytes = cc;
    /* DEEP: all LDE columns read, the roll-in written and read back */
    xm[SPW_ROUND_DEEP].read_bytes = lm;
    xa[SPW_ROUND_DEEP].read_bytes = la;
    xc[SPW_ROUND_DEEP].read_bytes = lc;
    /* query openings: one tile per column group and one subtree per tree
     * per query; calibration (synth small at 24 MiB, docs/PERFORMANCE.md):
     * about a quarter of these tile loads miss the pool and the cache */
    uint64_t G = p->G ? p->G : 1;
    uint64_t tile = 8 * G * N < g->tile ? 8 * G * N : g->tile;
    uint32_t cols[NSET] = {p->nm, p->na, p->nc};
    for (int k = 0; k < NSET; k++)
        if (cols[k])
            x[k * SPW_ROUND_COUNT + SPW_ROUND_QUERY].read_bytes =
                (uint64_t)nq * ((cols[k] + G - 1) / G * (tile + CHUNK_HDR) + sub + CHUNK_HDR) / 4;
}

/* The same for the shared data: FRI layers written and read, and their
 * openings (two tiles and a subtree per layer and query). */
static void shared_disk(spw_plan_round *x, uint64_t N0, uint32_t nq, const geo *g)
{
    x[SPW_ROUND_FRI].write_bytes = N0 * 48;
    x[SPW_ROUND_FRI].read_bytes = N0 * 96;
    uint64_t rq = 0;
    for (uint64_t Ni = N0; Ni > 32; Ni /= 2) {
        uint64_t tile = 24 * Ni < g->tile ? 24 * Ni : g->tile;
        uint64_t sub = 16 * subtree_digests(g, Ni < g->tree_rows ? Ni : g->tree_rows);
        rq += (uint64_t)nq * (2 * (tile + CHUNK_HDR) + sub + CHUNK_HDR);
    }
    x[SPW_ROUND_QUERY].read_bytes = rq / 4;
}

/* The readers, write-behind cleaners and query threads keep several
 * transfers in flight beside the compute, so the two overlap; about 30% of
 * the shorter one stays exposed (synth small at 24 MiB, measured in
 * docs/PERFORMANCE.md), or the share the probe's streamed calibration run
 * measured (calib_overlap). */
static double overlap(const spw_plan *plan, double compute, double io)
{
    double hi = compute > io ? compute : io, lo = compute + io - hi;
    return hi + (plan->calib.overlap > 0 ? plan->calib.overlap : 0.3) * lo;
}

static void round_times(spw_plan_round *x, const spw_plan *plan)
{
    x->t_io = (double)x->write_bytes / (plan->disk_write_gbs * 1e9) +
              (double)x->read_bytes / (plan->disk_read_gbs * 1e9);
    x->t_pred = overlap(plan, x->t_compute, x->t_io);
}

/* Disk seconds of one data set's traffic x[SPW_ROUND_COUNT] (unscaled). */
static double set_seconds(const spw_plan_round *x, const spw_plan *plan)
{
    double s = 0;
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        s += (double)x[r].write_bytes / (plan->disk_write_gbs * 1e9) +
             (double)x[r].read_bytes / (plan->disk_read_gbs * 1e9);
    return s;
}

/* The share of the streamed bytes that goes to the disk: what does not
 * stay cached in the pool beside the resident data (peak res, x 9/8). */
static double stream_fraction(uint64_t pool, uint64_t res, uint64_t stream)
{
    uint64_t cache = pool > res + res / 8 ? pool - res - res / 8 : 0;
    double f = stream ? 1.0 - (double)cache / (double)stream : 0;
    return f < 0 ? 0 : f;
}

/* Disk seconds of table p's data sets that stream (its NVMe-homed rounds
 * of plan), with the LDE stored (*ds) and recomputed (*dr; budget as in
 * table_disk_rec: the VRAM's, 0 for the CPU's passes). */
static void lde_disk_seconds(const tdim *d, const spw_plan_table *p, const spw_plan *plan,
                             uint32_t nq, const geo *g, uint64_t budget, double *ds, double *dr)
{
    spw_plan_round rs[NSET * SPW_ROUND_COUNT], rr[NSET * SPW_ROUND_COUNT], sh[SPW_ROUND_COUNT];
    memset(sh, 0, sizeof sh);
    table_disk(rs, sh, d, p, nq, g, 0, budget);
    table_disk(rr, sh, d, p, nq, g, 1, budget);
    *ds = *dr = 0;
    for (int k = 0; k < NSET && plan->nvme_bytes; k++)
        if (p->rounds[SPW_ROUND_MAIN + k].tier == SPW_TIER_NVME) {
            *ds += set_seconds(rs + k * SPW_ROUND_COUNT, plan);
            *dr += set_seconds(rr + k * SPW_ROUND_COUNT, plan);
        }
}

/* Predicted disk seconds with the data sets res[o] = 1 in the pool (the
 * last owner, the shared data, always streams): the streamed sets' and the
 * shared traffic times the share that misses the pool's cache. scr:
 * scratch of TL->owners. */
static double tier_seconds(const int *res, int *scr, const timeline *TL, const spw_plan_round *rw,
                           const spw_plan_round *shared, const spw_plan *plan)
{
    uint32_t O = TL->owners;
    double secs = set_seconds(shared, plan);
    for (uint32_t o = 0; o + 1 < O; o++) {
        scr[o] = !res[o];
        if (scr[o]) secs += set_seconds(rw + (size_t)o * SPW_ROUND_COUNT, plan);
    }
    scr[O - 1] = 1;
    return stream_fraction(plan->pool_bytes, tl_peak(TL, res), tl_peak(TL, scr)) * secs;
}

/* Up to this many tables the per-table choice tries every subset. */
#define PICK_EXACT 10u

/* res = the data sets of the tables in mask m (owners of TL); whether
 * their joint peak (x 9/8) fits avail. */
static int mask_fits(int *res, const timeline *TL, uint32_t m, uint64_t avail)
{
    for (uint32_t o = 0; o < TL->owners; o++) res[o] = o + 1 < TL->owners && (m >> (o / NSET) & 1);
    uint64_t rp = tl_peak(TL, res);
    return rp + rp / 8 <= avail;
}

/* The tier choice with an NVMe tier: res[o] = 1 for the data sets (owners
 * of TL; the last, the shared DEEP/FRI data, always streams) kept in the
 * pool. Units are whole tables (per_round = 0: their NSET data sets
 * together) or single data sets. Units are tried greedily by disk seconds
 * saved per pool byte (the unit's traffic rw / its own peak in the
 * store), and a unit stays in the pool when the joint peak of the
 * resident data over the schedule (x 9/8) fits avail: residency is
 * maximised (it also shrinks the spill file). Per table with up to
 * PICK_EXACT tables, every maximal choice (no further table fits) is
 * priced instead and the one predicting the least disk time kept. A data
 * set that holds nothing (no aux columns) follows the table's main data.
 * seed (per round, may be NULL): the sets the greedy starts from; it then
 * adds a set only when the predicted disk time goes down (a resident set
 * moves no bytes but takes pool that caches streamed data). scr,
 * done, ratio: scratch of TL->owners. Returns the predicted disk seconds of the
 * choice. */
static double pick_tiers(int *res, int *scr, int *done, double *ratio, const timeline *TL,
                         const spw_plan_round *rw, const spw_plan_round *shared,
                         const spw_plan *plan, uint64_t avail, int per_round, const int *seed)
{
    uint32_t O = TL->owners, w = per_round ? 1 : NSET, nu = (O - 1) / w;
    memset(res, 0, O * sizeof *res);
    memset(done, 0, O * sizeof *done);
    double cur = 0;
    if (seed) { /* start from these sets (in the pool already) */
        for (uint32_t o = 0; o + 1 < O; o++) res[o] = done[o / w] = seed[o];
        cur = tier_seconds(res, scr, TL, rw, shared, plan);
    }
    if (!per_round && nu <= PICK_EXACT) {
        /* few tables: the best of all maximal per-table choices (no
         * further table fits) */
        uint32_t bm = 0;
        cur = -1;
        for (uint32_t m = 0; m < (UINT32_C(1) << nu); m++) {
            if (!mask_fits(res, TL, m, avail)) continue;
            int maximal = 1;
            for (uint32_t u = 0; u < nu && maximal; u++)
                maximal = (m >> u & 1) || !mask_fits(res, TL, m | UINT32_C(1) << u, avail);
            if (!maximal) continue;
            mask_fits(res, TL, m, avail);
            double t = tier_seconds(res, scr, TL, rw, shared, plan);
            if (cur < 0 || t < cur) {
                cur = t;
                bm = m;
            }
        }
        mask_fits(res, TL, bm, avail);
        return tier_seconds(res, scr, TL, rw, shared, plan);
    }
    for (uint32_t u = 0; u < nu; u++) { /* disk seconds saved per pool byte */
        double saved = 0;
        memset(scr, 0, O * sizeof *scr);
        for (uint32_t o = u * w; o < u * w + w; o++) {
            saved += set_seconds(rw + (size_t)o * SPW_ROUND_COUNT, plan);
            scr[o] = 1;
        }
        uint64_t peak = tl_peak(TL, scr);
        ratio[u] = saved / (double)(peak ? peak : 1);
        if (!peak) done[u] = 1;
    }
    for (;;) {
        double best = 0;
        int bu = -1;
        for (uint32_t u = 0; u < nu; u++)
            if (!done[u] && (bu < 0 || ratio[u] > best)) {
                best = ratio[u];
                bu = (int)u;
            }
        if (bu < 0) break;
        done[bu] = 1;
        for (uint32_t o = (uint32_t)bu * w; o < (uint32_t)bu * w + w; o++) res[o] = 1;
        uint64_t rp = tl_peak(TL, res);
        int keep = rp + rp / 8 <= avail; /* else it does not fit: streams */
        if (keep && seed) { /* filling up: only what lowers the disk time */
            double t = tier_seconds(res, scr, TL, rw, shared, plan);
            keep = t < cur;
            if (keep) cur = t;
        }
        if (!keep)
            for (uint32_t o = (uint32_t)bu * w; o < (uint32_t)bu * w + w; o++) res[o] = 0;
    }
    for (uint32_t t = 0; t < plan->n_tables; t++)
        for (int k = 1; k < NSET; k++) {
            memset(scr, 0, O * sizeof *scr);
            scr[own(t, k)] = 1;
            if (!tl_peak(TL, scr)) res[own(t, k)] = res[own(t, 0)];
        }
    return tier_seconds(res, scr, TL, rw, shared, plan);
}

/* Sets the tiers from res (pick_tiers'): per table and round, per table
 * (HOST only when all its data is pool-resident), the shared rounds. */
static void set_tiers(spw_plan *plan, const int *res)
{
    plan->n_pool_tables = 0;
    for (uint32_t t = 0; t < plan->n_tables; t++) {
        spw_plan_table *p = &plan->tables[t];
        int all = 1, any = 0;
        for (int k = 0; k < NSET; k++) {
            all &= res[own(t, k)] != 0;
            any |= res[own(t, k)] != 0;
        }
        p->tier = all ? SPW_TIER_HOST : SPW_TIER_NVME;
        p->mixed = any && !all;
        plan->n_pool_tables += all;
        for (int r = 0; r < SPW_ROUND_COUNT; r++) {
            int k = r - SPW_ROUND_MAIN;
            p->rounds[r].tier = k >= 0 && k < NSET ? (res[own(t, k)] ? SPW_TIER_HOST : SPW_TIER_NVME)
                                                   : p->tier;
        }
    }
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        plan->shared[r].tier = plan->nvme_bytes && r >= SPW_ROUND_DEEP ? SPW_TIER_NVME : SPW_TIER_HOST;
}

/* Fills every table's and the shared rounds (work, live bytes, compute,
 * times; the disk bytes are set), the totals per round and the plan's
 * totals. TL = NULL: the in-memory schedule (compute only). */
static void finish_rounds(spw_plan *plan, const tdim *D, const timeline *TL)
{
    uint32_t T = plan->n_tables;
    memset(plan->rounds, 0, sizeof plan->rounds);
    plan->disk_write = plan->disk_read = 0;
    if (!TL) /* in memory: everything is host memory */
        for (int r = 0; r < SPW_ROUND_COUNT; r++) {
            plan->shared[r].tier = SPW_TIER_HOST;
            for (uint32_t t = 0; t < T; t++) plan->tables[t].rounds[r].tier = SPW_TIER_HOST;
        }
    for (uint32_t t = 0; t < T; t++) {
        spw_plan_table *p = &plan->tables[t];
        double c[SPW_ROUND_COUNT];
        compute_rounds(c, &D[t], p->log_N, plan);
        p->t_io = 0;
        for (int r = 0; r < SPW_ROUND_COUNT; r++) {
            spw_plan_round *x = &p->rounds[r];
            x->t_compute = c[r];
            if (TL) {
                x->work_bytes = round_work(&D[t], p->R, p->G ? p->G : 1, plan->threads, r);
                for (uint32_t k = 0; k < TL->n; k++)
                    if (TL->round[k] == r && tl_table(TL, k, t) > x->live_bytes)
                        x->live_bytes = tl_table(TL, k, t);
            }
            round_times(x, plan);
            p->t_io += x->t_io;
        }
    }
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        spw_plan_round *x = &plan->shared[r], *tot = &plan->rounds[r];
        if (TL) {
            if (r == SPW_ROUND_FRI) x->work_bytes = plan->fri_R * (3 * 24 + 32 + 64);
            for (uint32_t k = 0; k < TL->n; k++) {
                const uint64_t *s = TL->snap + (size_t)k * TL->owners;
                if (TL->round[k] != r) continue;
                if (s[TL->owners - 1] > x->live_bytes) x->live_bytes = s[TL->owners - 1];
                uint64_t all = 0;
                for (uint32_t o = 0; o < TL->owners; o++) all += s[o];
                if (all > tot->live_bytes) tot->live_bytes = all;
            }
        }
        x->t_compute = shared_compute(plan, D, r);
        plan->t_compute += x->t_compute;
        round_times(x, plan);
        for (uint32_t t = 0; t <= T; t++) {
            const spw_plan_round *y = t < T ? &plan->tables[t].rounds[r] : x;
            if (y->work_bytes > tot->work_bytes) tot->work_bytes = y->work_bytes;
            tot->write_bytes += y->write_bytes;
            tot->read_bytes += y->read_bytes;
            tot->t_compute += y->t_compute;
            if (y->tier == SPW_TIER_NVME) tot->tier = SPW_TIER_NVME;
        }
        if (tot->tier != SPW_TIER_NVME) tot->tier = SPW_TIER_HOST;
        round_times(tot, plan);
        plan->disk_write += tot->write_bytes;
        plan->disk_read += tot->read_bytes;
    }
    plan->t_io = (double)plan->disk_write / (plan->disk_write_gbs * 1e9) +
                 (double)plan->disk_read / (plan->disk_read_gbs * 1e9);
    plan->t_pred = overlap(plan, plan->t_compute, plan->t_io);
}

static void fmt_size(char *b, size_t len, uint64_t v)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)v;
    int i = 0;
    while (x >= 1024 && i < 4) {
        x /= 1024;
        i++;
    }
    if (i == 0) snprintf(b, len, "%llu B", (unsigned long long)v);
    else snprintf(b, len, "%.*f %s", x < 10 ? 2 : 1, x, u[i]);
}

static uint64_t pow2_floor(uint64_t x)
{
    uint64_t p = 1;
    while (p * 2 <= x) p *= 2;
    return p;
}

/* Tile payload target for the next plans made on this thread (0 = the
 * default / $SPW_TILE_BYTES): the streaming device tier asks for larger
 * tiles (larger disk requests; the GPU wants large copies anyway). */
static _Thread_local uint64_t g_tile_bytes;

void spw_plan_set_tile_bytes(uint64_t bytes) { g_tile_bytes = bytes; }

/* What spw_plan_make_device asks of plan_make: the streaming device tier's
 * plan (mode spilled) with tiles of `tile` bytes (0: the default) and VRAM
 * budget `budget` (dflt: from the default). */
typedef struct devreq {
    uint64_t tile, budget;
    int dflt;
} devreq;

static void dev_choose(spw_plan *plan, const tdim *D, uint32_t nq, const geo *g);

/* dv: the device tier's plan (NULL: the CPU's); rec (n_tables flags, or
 * NULL: every LDE stored, priced, and on the device the choice made) the
 * recompute tier's tables. */
static spw_status plan_make(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                            const char *probe_path, const devreq *dv, const int *rec)
{
    memset(plan, 0, sizeof *plan);
    if (!def || !def->finalized)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "plan: the AIR is not finalized");
    plan->blowup = ctx->blowup ? ctx->blowup : 4;
    if (plan->blowup != 2 && plan->blowup != 4 && plan->blowup != 8)
        return spw_fail(ctx, SPW_ERR_BLOWUP, "plan: blowup %u not in {2,4,8}", plan->blowup);
    unsigned log_b = spw_log2(plan->blowup);
    plan->threads = ctx->threads ? ctx->threads : 1;
    plan->host_budget = ctx->host_budget;
    if (!plan->host_budget) {
        plan->host_budget = spw_plan_default_host_budget();
        plan->host_default = 1;
    }
    plan->vram_budget = ctx->vram_budget;
    if (dv) { /* the streaming device tier (spw_plan_make_device) */
        plan->vram_budget = plan->dev_budget = dv->budget;
        plan->vram_default = dv->dflt;
        plan->device = 1;
    } else if (!plan->vram_budget && ctx->backend != SPW_BACKEND_CPU) {
        /* only when a device may be used: querying it creates a CUDA context */
        plan->vram_budget = spw_plan_default_vram_budget();
        plan->vram_default = 1;
    }
    snprintf(plan->spill_dir, sizeof plan->spill_dir, "%s", spw_plan_spill_dir(ctx));
    plan->mode_req = ctx->mode;
    if (ctx->chunk_rows && !spw_is_pow2(ctx->chunk_rows))
        return spw_fail(ctx, SPW_ERR_NOT_POW2, "plan: --chunk-rows %llu is not a power of two",
                        (unsigned long long)ctx->chunk_rows);

    /* bandwidths */
    plan->disk_read_gbs = 1.6;
    plan->disk_write_gbs = 1.9;
    snprintf(plan->bw_source, sizeof plan->bw_source, "defaults (no probe file)");
    plan->h2d_gbs = SPW_PLAN_H2D_GBS;
    plan->d2h_gbs = SPW_PLAN_D2H_GBS;
    plan->pin_gbs = SPW_PLAN_PIN_GBS;
    plan->dev_ntt_s = SPW_PLAN_DEV_NTT_NS * 1e-9;
    snprintf(plan->link_source, sizeof plan->link_source, "defaults");
    cpu_model(plan, NULL, NULL);
    if (!probe_path) probe_path = getenv("SPW_PROBE_FILE");
    if (probe_path && *probe_path) {
        spw_spill_probe_result pr;
        SPW_TRY(spw_spill_probe_load((spw_ctx *)ctx, &pr, probe_path));
        if (pr.read_gbs > 0) plan->disk_read_gbs = pr.read_gbs;
        if (pr.write_gbs > 0) plan->disk_write_gbs = pr.write_gbs;
        snprintf(plan->bw_source, sizeof plan->bw_source, "probe file %s", probe_path);
        if (pr.have_gpu && pr.h2d_gbs > 0 && pr.d2h_gbs > 0) {
            plan->h2d_gbs = pr.h2d_gbs;
            plan->d2h_gbs = pr.d2h_gbs;
            snprintf(plan->link_source, sizeof plan->link_source, "probe file %s", probe_path);
        }
        cpu_model(plan, &pr, probe_path);
        SPW_TRY(calib_model(ctx, plan, probe_path));
    }

    plan->n_tables = def->n_tables;
    plan->tables = calloc(def->n_tables ? def->n_tables : 1, sizeof(spw_plan_table));
    if (!plan->tables) return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    uint64_t H = plan->host_budget, N0 = 0;
    tdim *D = calloc(def->n_tables ? def->n_tables : 1, sizeof(tdim));
    if (!D) return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    for (uint32_t i = 0; i < def->n_tables; i++) {
        const spw_air_table *t = &def->tables[i];
        spw_plan_table *p = &plan->tables[i];
        if (t->log_height < 1 || t->log_height > SPW_MAX_LOG_HEIGHT) {
            free(D);
            return spw_fail(ctx, SPW_ERR_TOO_LARGE, "plan: table '%s': log height %u not in 1..%u",
                            t->name, t->log_height, SPW_MAX_LOG_HEIGHT);
        }
        snprintf(p->name, sizeof p->name, "%s", t->name);
        uint32_t parts = spw_stark_num_parts(t);
        p->log_n = t->log_height;
        p->log_N = t->log_height + log_b;
        p->log_e = spw_stark_log_e(t, log_b);
        p->recompute_lde = p->log_e != log_b;
        p->tier = SPW_TIER_HOST;
        p->nm = t->n_main;
        p->na = 3 * t->n_aux;
        p->nc = 3 * parts;
        if (dv) { /* the recompute tier: the passes' device bytes, the choice */
            p->dev_need = spw_sdev_coset_bytes(p->nm, p->na, p->nc, p->log_n, log_b, p->log_e);
            p->dev_fits = p->dev_need <= dv->budget / 4 * 3;
        }
        p->recompute = rec && rec[i];
        dims(&D[i], p, t, log_b);
        D[i].dev = dv != NULL;
        if (p->recompute) {
            plan->n_recompute++;
            plan->lde_saved += 8 * D[i].N * (D[i].nm + D[i].na + D[i].nc);
        }
        p->resident_bytes = resident_bytes(&D[i]);
        plan->lde_bytes += 8 * D[i].N * (D[i].nm + D[i].na + D[i].nc);
        plan->resident_total += p->resident_bytes;
        if (D[i].N > N0) N0 = D[i].N;
    }
    unsigned min_lh = 64, max_lh = 0;
    for (uint32_t i = 0; i < def->n_tables; i++) {
        if (plan->tables[i].log_n < min_lh) min_lh = plan->tables[i].log_n;
        if (plan->tables[i].log_n > max_lh) max_lh = plan->tables[i].log_n;
    }
    unsigned log_final = min_lh < SPW_FRI_LOG_FINAL_MAX ? min_lh : SPW_FRI_LOG_FINAL_MAX;
    unsigned n_layers = max_lh > log_final ? max_lh - log_final : 0;
    /* FRI in memory: the layers, their trees and the roll-ins */
    uint64_t fri_res = N0 * (48 + 64 + 24);
    plan->resident_total += fri_res;

    int spilled = dv || ctx->mode == SPW_MODE_SPILLED ||
                  (ctx->mode == SPW_MODE_AUTO && plan->resident_total > H);
    plan->spilled = spilled;
    plan->fri_R = N0 < 8192 ? N0 / 2 : 4096;
    if (ctx->chunk_rows && ctx->chunk_rows < plan->fri_R) plan->fri_R = ctx->chunk_rows;
    if (!plan->fri_R) plan->fri_R = 1;

    /* tile geometry of the streaming prover (and its tuning knobs) */
    uint64_t tile = dv ? dv->tile : g_tile_bytes;
    geo G0 = {tile ? tile : SPW_PLAN_TILE_BYTES, SPW_PLAN_TREE_ROWS, spw_plan_tree_skip()};
    plan->tile_bytes = G0.tile;
    if (getenv("SPW_TILE_BYTES") && atoll(getenv("SPW_TILE_BYTES")) > 0)
        plan->tile_bytes = G0.tile = (uint64_t)atoll(getenv("SPW_TILE_BYTES"));
    if (getenv("SPW_TREE_ROWS") && atoll(getenv("SPW_TREE_ROWS")) > 0)
        G0.tree_rows = (uint64_t)atoll(getenv("SPW_TREE_ROWS"));
    timeline TL;
    memset(&TL, 0, sizeof TL);
    int *in = calloc(NSET * (size_t)def->n_tables + 1, sizeof *in);
    if (!in) {
        free(D);
        return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    }
    int force_min = 0;
    uint64_t Wmax, store, fixed, tile_max, min_w, min_fixed, min_pool;
    uint32_t min_t;
replan:
    Wmax = store = fixed = tile_max = min_w = min_fixed = min_pool = 0;
    min_t = 0;
    plan->t_compute = 0;
    for (uint32_t i = 0; i < def->n_tables && spilled; i++) {
        spw_plan_table *p = &plan->tables[i];
        tdim *d = &D[i];
        p->spilled = 1;
        uint64_t Rmin = d->N < SPW_PLAN_MIN_ROWS ? d->N : SPW_PLAN_MIN_ROWS;
        if (ctx->chunk_rows) Rmin = ctx->chunk_rows > d->N ? d->N : ctx->chunk_rows;
        uint64_t R, G = d->ncmax < GROUP_MAX ? d->ncmax : GROUP_MAX;
        if (ctx->chunk_rows) R = Rmin;
        else R = pow2_floor(TILE_MAX / (8 * (G ? G : 1)));
        if (R > d->N) R = d->N;
        if (R < Rmin || force_min) R = Rmin;
        if (force_min) G = 1;
        /* shrink the group, then the chunk, until the working set, the
         * chunk-root trees and a pool of a few tiles fit */
        for (;;) {
            uint64_t w = work_bytes(d, R, G, plan->threads);
            uint64_t need = w + 32 * (G0.tile + CHUNK_HDR) + 64 * 3 * 2 * (d->N / (R < SPW_PLAN_TREE_ROWS ? R : SPW_PLAN_TREE_ROWS));
            if (need <= H * 3 / 4 || (G == 1 && R <= Rmin)) break;
            if (G > 1) G = (G + 1) / 2;
            else R /= 2;
        }
        p->R = R;
        p->G = (uint32_t)G;
        p->work_bytes = work_bytes(d, R, G, plan->threads);
        /* the smallest schedule: one column per group, the smallest chunk */
        uint64_t wm = work_bytes(d, Rmin, 1, plan->threads);
        uint64_t pm = 32 * (G0.tile + CHUNK_HDR);
        uint64_t fm = 64 * 3 * 2 * (d->N / (Rmin < SPW_PLAN_TREE_ROWS ? Rmin : SPW_PLAN_TREE_ROWS));
        p->min_bytes = wm + pm + fm;
        if (wm > min_w) {
            min_w = wm;
            min_t = i;
        }
        if (pm > min_pool) min_pool = pm;
        min_fixed += fm;
        tile_max = G0.tile;
        if (p->work_bytes > Wmax) Wmax = p->work_bytes;
        fixed += 64 * 3 * 2 * (d->N / (R < SPW_PLAN_TREE_ROWS ? R : SPW_PLAN_TREE_ROWS)); /* upper trees */
        p->t_compute = compute_seconds(d, p->log_N, plan);
        plan->t_compute += p->t_compute;
    }
    if (!spilled) {
        for (uint32_t i = 0; i < def->n_tables; i++) {
            plan->tables[i].t_compute = compute_seconds(&D[i], plan->tables[i].log_N, plan);
            plan->t_compute += plan->tables[i].t_compute;
        }
        finish_rounds(plan, D, NULL);
        free(in);
        free(D);
        return SPW_OK;
    }
    /* FRI: three chunks of fri_R ext3 values, leaves and a subtree */
    uint64_t fw = plan->fri_R * (3 * 24 + 32 + 64);
    if (fw > Wmax) Wmax = fw;
    if (fw > min_w) min_w = fw;
    fixed += 2 * 64 * (2 * N0 / SPW_PLAN_TREE_ROWS + 2);
    min_fixed += 2 * 64 * (2 * N0 / SPW_PLAN_TREE_ROWS + 2);
    plan->work_bytes = Wmax;
    plan->fixed_bytes = fixed;
    /* the store over the schedule: its peak, not the sum of everything
     * created (stream.c frees as it goes; a freed chunk's pool range and
     * disk extent are reused) */
    tl_free(&TL);
    if (tl_build(&TL, plan, D, &G0, n_layers)) {
        free(D);
        free(in);
        return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    }
    for (uint32_t o = 0; o < TL.owners; o++) in[o] = 1;
    store = tl_peak(&TL, in);
    uint64_t store_sum = 0;
    for (uint32_t o = 0; o < TL.owners; o++) store_sum += TL.sum[o];
    plan->store_bytes = store;
    plan->store_sum = store_sum;
    /* without an NVMe tier the pool holds everything live at once; 1/8
     * slack for the fragmentation of the pool's first-fit ranges (never
     * more than the sum of everything created, which cannot fragment) */
    uint64_t tiles16 = 16 * (tile_max + CHUNK_HDR);
    uint64_t need_all = store + store / 8 + tiles16;
    if (need_all > store_sum) need_all = store_sum;
    uint64_t min_total = min_w + min_fixed + min_pool + MiB;
    uint64_t pool = H > Wmax + fixed ? H - Wmax - fixed : 0;
    /* no larger than what the store can hold at once (plus room for tiles) */
    uint64_t cap = need_all + tiles16 + 4 * MiB;
    if (pool > cap) pool = cap;
    pool = pool / MiB * MiB;
    if (H >= min_total && pool < tiles16 && !force_min) {
        force_min = 1; /* the budget allows the smallest schedule only */
        goto replan;
    }
    if (H < min_total || pool < tiles16) {
        char hb[32], mb[32];
        const spw_plan_table *p = &plan->tables[min_t];
        fmt_size(hb, sizeof hb, H);
        fmt_size(mb, sizeof mb, min_total > H ? min_total : Wmax + fixed + tiles16 + MiB);
        free(D);
        free(in);
        tl_free(&TL);
        return spw_fail(ctx, SPW_ERR_BUDGET,
                        "host budget %s is below the minimum %s for table %s (2^%u rows x %u "
                        "columns); raise --host-budget%s",
                        hb, mb, p->name, p->log_n, p->nm,
                        ctx->chunk_rows ? " or lower --chunk-rows" : "");
    }
    plan->pool_bytes = pool;
    uint32_t O = TL.owners;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        spw_plan_table *p = &plan->tables[t];
        memset(in, 0, O * sizeof *in);
        p->sum_bytes = 0;
        for (int k = 0; k < NSET; k++) {
            in[own(t, k)] = 1;
            p->sum_bytes += TL.sum[own(t, k)];
        }
        p->peak_bytes = tl_peak(&TL, in);
        p->store_bytes = p->sum_bytes;
    }
    /* unscaled disk bytes of each table's data sets per round if they stream */
    uint32_t nq = n_queries(log_b);
    spw_plan_round *rw = calloc((size_t)O * SPW_ROUND_COUNT, sizeof *rw);
    int *res = calloc(4 * (size_t)O, sizeof *res);
    double *ratio = calloc(O, sizeof *ratio);
    if (!rw || !res || !ratio) {
        free(rw);
        free(res);
        free(ratio);
        free(D);
        free(in);
        tl_free(&TL);
        return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    }
    spw_plan_round shared[SPW_ROUND_COUNT];
    memset(shared, 0, sizeof shared);
    for (uint32_t t = 0; t < def->n_tables; t++)
        table_disk(rw + (size_t)own(t, 0) * SPW_ROUND_COUNT, shared, &D[t], &plan->tables[t], nq, &G0,
                   plan->tables[t].recompute, plan->dev_budget);
    shared_disk(shared, N0, nq, &G0);
    for (uint32_t o = 0; o < O; o++) res[o] = 1;
    if (store_sum > pool && need_all > pool) {
        /* an NVMe tier: data sets (per table and round: what its main, aux
         * and composition rounds create) that fit in the pool beside the
         * streamed data's room stay resident there (home tier HOST, no
         * disk bytes); the others and the DEEP/FRI data stream through
         * the spill file (pick_tiers; per round or per table, whichever
         * predicts less disk time) */
        uint64_t room = 32 * (tile_max + CHUNK_HDR);
        for (uint32_t t = 0; t < def->n_tables; t++) {
            /* the tiles of a row chunk of every column, and the next one prefetched */
            uint64_t c = 2 * 8 * (D[t].nm + D[t].na + D[t].nc) * plan->tables[t].R;
            if (c > room) room = c;
        }
        uint64_t avail = pool > room ? pool - room : 0;
        const char *rule = getenv("SPW_PLAN_TIERS");
        int *alt = res + O, *scr = res + 2 * (size_t)O;
        /* per round: the better of the set-by-set greedy and the
         * per-table choice filled up with single data sets */
        plan->t_io_per_table = pick_tiers(alt, scr, in, ratio, &TL, rw, shared, plan, avail, 0, NULL);
        plan->t_io_per_round = pick_tiers(res, scr, in, ratio, &TL, rw, shared, plan, avail, 1, NULL);
        int *fill = res + 3 * (size_t)O;
        double tf = pick_tiers(fill, scr, in, ratio, &TL, rw, shared, plan, avail, 1, alt);
        if (tf < plan->t_io_per_round) {
            plan->t_io_per_round = tf;
            memcpy(res, fill, O * sizeof *res);
        }
        plan->tiers_per_round = rule && !strcmp(rule, "round") ? 1
                                : rule && !strcmp(rule, "table") ? 0
                                : plan->t_io_per_round < plan->t_io_per_table;
        if (!plan->tiers_per_round) memcpy(res, alt, O * sizeof *res);
        uint64_t rp = tl_peak(&TL, res);
        plan->pool_res_bytes = rp;
        for (uint32_t o = 0; o < O; o++) scr[o] = !res[o];
        plan->stream_bytes = tl_peak(&TL, scr);
        plan->nvme_bytes = (plan->stream_bytes + plan->stream_bytes / 8 + 64 * MiB) / MiB * MiB;
        /* disk traffic: everything streamed that does not stay cached in
         * the rest of the pool is written once and read back by each pass
         * that consumes it */
        double f = stream_fraction(pool, rp, plan->stream_bytes);
        for (uint32_t t = 0; t < def->n_tables; t++)
            for (int k = 0; k < NSET; k++)
                for (int r = 0; r < SPW_ROUND_COUNT && !res[own(t, k)]; r++) {
                    spw_plan_round *x = &plan->tables[t].rounds[r];
                    const spw_plan_round *y = &rw[(size_t)own(t, k) * SPW_ROUND_COUNT + r];
                    x->write_bytes += (uint64_t)(f * (double)y->write_bytes);
                    x->read_bytes += (uint64_t)(f * (double)y->read_bytes);
                }
        for (int r = 0; r < SPW_ROUND_COUNT; r++) {
            plan->shared[r].write_bytes = (uint64_t)(f * (double)shared[r].write_bytes);
            plan->shared[r].read_bytes = (uint64_t)(f * (double)shared[r].read_bytes);
        }
    } else {
        plan->pool_res_bytes = store;
    }
    set_tiers(plan, res);
    free(res);
    free(ratio);
    free(rw);
    finish_rounds(plan, D, &TL);
    /* recompute vs store */
    double fs = plan->nvme_bytes ? stream_fraction(plan->pool_bytes, plan->pool_res_bytes,
                                                   plan->stream_bytes)
                                 : 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        spw_plan_table *p = &plan->tables[t];
        const tdim *d = &D[t];
        double kn = plan->cpu_ntt_s, rb = plan->disk_read_gbs * 1e9, wb = plan->disk_write_gbs * 1e9;
        /* pool-resident data: no disk */
        double dm = p->rounds[SPW_ROUND_MAIN].tier == SPW_TIER_NVME ? 1 : 0;
        double da = p->rounds[SPW_ROUND_AUX].tier == SPW_TIER_NVME ? 1 : 0;
        double dc = p->rounds[SPW_ROUND_COMP].tier == SPW_TIER_NVME ? 1 : 0;
        if (d->NE != d->N) {
            /* The extended domain feeds only the composition, so both
             * choices run its NTTs once: recomputing it there reads the
             * stored coefficients (n rows) again; storing it means
             * computing it in the main/aux rounds, where the coefficients
             * are at hand, then writing and reading NE > n rows. */
            double cols = (double)(d->nm + d->na), b = 8.0 * cols * (double)d->NE;
            double ntt = kn * ntt_units(cols, (double)d->NE, p->log_N + 3);
            p->t_ext_recompute = ntt + 8.0 * (dm * d->nm + da * d->na) * (double)d->n / rb;
            p->t_ext_store = ntt + dc * (b / wb + b / rb);
            p->ext_store_cheaper = p->t_ext_store < p->t_ext_recompute;
        }
        /* The LDE stored (read back by the composition, DEEP and the
         * openings) or recomputed (the recompute tier, coset.c): the NTTs
         * the coset passes add (rec_units) against the disk traffic of the
         * stored LDE's data sets where they stream (table_disk), each
         * choice with its own disk bytes */
        tdim dr = *d;
        dr.rec = 1;
        dr.dev = 0;
        double u[SPW_ROUND_COUNT], ds, drs;
        lde_disk_seconds(d, p, plan, nq, &G0, 0, &ds, &drs);
        p->t_lde_recompute = rec_seconds(u, &dr, plan) + fs * drs;
        p->t_lde_store = fs * ds;
        p->lde_store_cheaper = p->t_lde_store <= p->t_lde_recompute;
    }
    if (dv && !rec) dev_choose(plan, D, nq, &G0);
    tl_free(&TL);
    free(in);
    free(D);
    return SPW_OK;
}


/* ---- the device tier: recompute vs store ---- */

/* A table's home tier in the store: pool, nvme or mixed (per round). */
static const char *table_mode(const spw_plan_table *x)
{
    return x->mixed ? "mixed" : x->tier == SPW_TIER_NVME ? "nvme" : "pool";
}

/* Device-tier prices of table p's two LDE choices, on the stored-LDE plan
 * (its tiers; f = the share of the streamed bytes that reaches the disk),
 * counting what differs between them (docs/OUT_OF_CORE.md, "The device
 * tier: recompute vs store"), link bytes, device NTTs (units of column x
 * point x log2 points), page-locking and disk:
 * - store (stream.c's stored-LDE device passes): the column phases copy
 *   the LDEs down, the trees, the composition (or, E > blowup, the
 *   extended domain it makes, down and up) and DEEP read them back; LogUp
 *   uploads the stored trace and downloads the aux values, which go up
 *   again for their column phase; the quotient values go down, up and down
 *   for the interpolation, the parts' coefficients up for their LDE; the
 *   pool is page-locked for the LDE when there is no NVMe tier (with a
 *   spill file it is full and pinned anyway); its disk traffic when its
 *   data sets stream (table_disk);
 * - recompute (the coset passes): the main tree uploads the main
 *   coefficients (once, or once per coset: dev_uploads), LogUp once (the
 *   trace is their coset of shift 1; the aux tree uses the device copy),
 *   the composition main and aux (E cosets; quotient, interpolation and
 *   the parts' tree on the device, their coefficients down), DEEP all (B
 *   cosets), the openings' rows (each query's bottom group); its disk traffic
 *   (table_disk_rec). */
static void dev_price(spw_plan_table *p, const tdim *d, const spw_plan *plan, uint32_t nq,
                      const geo *g, double f)
{
    uint64_t n = d->n, N = d->N, NE = d->NE, K = N / n, E = NE / n, B = plan->dev_budget;
    uint64_t nm = d->nm, na = d->na, nc = d->nc, ma = nm + na, all = ma + nc, qk = nq < K ? nq : K;
    double bh = plan->h2d_gbs * 1e9, bd = plan->d2h_gbs * 1e9, kd = plan->dev_ntt_s;
    double ln = (double)p->log_n, lN = (double)p->log_N, lE = (double)(p->log_n + p->log_e);
    uint64_t ext = NE != N ? 8 * ma * NE : 0;
    p->dev.d2h_store = 8 * N * all + ext + 2 * 24 * NE + 8 * n * na;
    p->dev.h2d_store = 16 * N * all + (ext ? ext + 8 * n * ma : 8 * N * ma) + 24 * NE + 8 * n * all;
    double ntt_s = (double)all * (double)N * lN + (double)na * (double)n * ln +
                   (ext ? (double)ma * (double)NE * lE : 0) + 3.0 * (double)NE * lE;
    double pin = plan->nvme_bytes ? 0 : 8.0 * (double)(N * all) / (plan->pin_gbs * 1e9);
    p->dev.h2d_recompute = 8 * n * (dev_uploads(d, nm, K, B) * nm + nm + dev_uploads(d, ma, E, B) * ma +
                                    all + dev_uploads(d, all, K, B) * all +
                                    dev_uploads(d, all, qk, B) * all);
    p->dev.d2h_recompute = 8 * n * (na + nc);
    double ntt_r = (double)n * ln * (double)(K * nm + nm + na + K * na + E * ma + K * nc + K * all + qk * all) +
                   3.0 * (double)NE * lE;
    double ds, dr;
    lde_disk_seconds(d, p, plan, nq, g, B, &ds, &dr);
    p->dev.t_store = (double)p->dev.h2d_store / bh + (double)p->dev.d2h_store / bd + kd * ntt_s +
                     pin + f * ds;
    p->dev.t_recompute = (double)p->dev.h2d_recompute / bh + (double)p->dev.d2h_recompute / bd +
                         kd * ntt_r + f * dr;
}

/* $SPW_RECOMPUTE: 0 = off, 2 = odd tables that fit, 3 = every table that
 * fits, else (unset) 1 = auto. */
static int recompute_env(void)
{
    const char *e = getenv("SPW_RECOMPUTE");
    int v = e && *e ? atoi(e) : 1;
    return v == 0 || v == 2 || v == 3 ? v : 1;
}

/* Prices every table of the stored-LDE device plan and sets recompute
 * where the recompute tier runs: it fits (dev_fits) and, auto, the model
 * predicts less time; 2: the odd tables that fit; 0: none. */
static void dev_choose(spw_plan *plan, const tdim *D, uint32_t nq, const geo *g)
{
    double f = plan->nvme_bytes ? stream_fraction(plan->pool_bytes, plan->pool_res_bytes,
                                                  plan->stream_bytes)
                                : 0;
    plan->recompute_env = recompute_env();
    for (uint32_t t = 0; t < plan->n_tables; t++) {
        spw_plan_table *p = &plan->tables[t];
        dev_price(p, &D[t], plan, nq, g, f);
        snprintf(p->dev.priced, sizeof p->dev.priced, "%s", table_mode(p));
        int env = plan->recompute_env;
        int cheaper = p->dev.t_recompute < p->dev.t_store;
        p->recompute = p->dev_fits && (env == 3 || (env == 2 ? (int)(t & 1) : env == 1 && cheaper));
    }
}

/* st: the stored-LDE plan, priced, with `recompute` set on the tables
 * chosen for the recompute tier. *plan := the schedule that runs them (no
 * LDE in the store); where its host buffers (the device tier's staging and
 * heap chunks, the CPU's coset passes) do not fit the host budget, the
 * largest of them stores its LDE instead, until the plan is made (at worst
 * st, which was). The prices of st are kept. The CPU's auto choice keeps
 * st when it predicts no more time. st is consumed. */
static spw_status plan_recompute(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                                 const char *probe_path, const devreq *dv, spw_plan *st)
{
    int *rec = calloc(st->n_tables + 1, sizeof *rec);
    if (!rec) {
        spw_plan_clear(st);
        return spw_fail(ctx, SPW_ERR_NOMEM, "plan: out of memory");
    }
    uint32_t k = 0;
    for (uint32_t t = 0; t < st->n_tables; t++) k += rec[t] = st->tables[t].recompute;
    spw_status s = SPW_OK;
    while (k && (s = plan_make(ctx, plan, def, probe_path, dv, rec)) == SPW_ERR_BUDGET) {
        uint32_t big = 0;
        for (uint32_t t = 0; t < st->n_tables; t++)
            if (rec[t] && (!rec[big] || st->tables[t].log_N > st->tables[big].log_N)) big = t;
        rec[big] = st->tables[big].recompute = 0;
        k--;
        spw_log(ctx, SPW_LOG_INFO, "plan: the recompute tier's host buffers do not fit the host "
                "budget (%s): table %s stores its LDE", spw_ctx_last_error(ctx), st->tables[big].name);
        spw_plan_clear(plan);
    }
    free(rec);
    if (s == SPW_OK && k && !dv && st->recompute_env == 1 && plan->t_pred >= REC_MARGIN * st->t_pred) {
        spw_log(ctx, SPW_LOG_INFO, "plan: the recompute tier for %u tables predicts %.3f s, the "
                "stored LDE %.3f s: every LDE stored", k, plan->t_pred, st->t_pred);
        st->t_pred_recompute = plan->t_pred;
        spw_plan_clear(plan);
        for (uint32_t t = 0; t < st->n_tables; t++) st->tables[t].recompute = 0;
        k = 0;
    }
    if (!k) { /* every LDE stored: the plan as priced */
        *plan = *st;
        return SPW_OK;
    }
    if (s == SPW_OK) {
        for (uint32_t t = 0; t < st->n_tables; t++) {
            spw_plan_table *p = &plan->tables[t];
            const spw_plan_table *q = &st->tables[t];
            p->dev = q->dev;
            p->t_lde_recompute = q->t_lde_recompute;
            p->t_lde_store = q->t_lde_store;
            p->lde_store_cheaper = q->lde_store_cheaper;
        }
        plan->recompute_env = st->recompute_env;
        plan->t_pred_store = st->t_pred;
        plan->t_pred_recompute = plan->t_pred;
    }
    spw_plan_clear(st);
    return s;
}

spw_status spw_plan_make_device(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                                const char *probe_path)
{
    memset(plan, 0, sizeof *plan);
    devreq dv = {SPW_PLAN_DEV_TILE_BYTES, ctx->vram_budget, 0};
    if (!dv.budget) {
        dv.budget = spw_plan_default_vram_budget();
        dv.dflt = 1;
    }
    if (!dv.budget)
        return spw_fail(ctx, SPW_ERR_NO_CUDA, "plan: the streaming device tier needs a VRAM budget "
                        "and there is no CUDA device to take one from; give --vram-budget SIZE");
    spw_plan st;
    spw_status s = plan_make(ctx, &st, def, probe_path, &dv, NULL);
    if (s == SPW_ERR_BUDGET) { /* a small host budget: the default tiles need less */
        spw_plan_clear(&st);
        dv.tile = 0;
        s = plan_make(ctx, &st, def, probe_path, &dv, NULL);
    }
    if (s != SPW_OK) {
        spw_plan_clear(&st);
        return s;
    }
    return plan_recompute(ctx, plan, def, probe_path, &dv, &st);
}

/* The CPU's plan: the stored-LDE schedule, priced (plan_make), then the
 * recompute tier for the tables $SPW_RECOMPUTE names: auto (unset or 1)
 * the tables whose coset passes predict less time than reading their
 * stored LDE back (t_lde_recompute < t_lde_store), kept when the whole
 * plan then predicts less than REC_MARGIN of the stored one's time; 2 the
 * odd tables,
 * kept whatever the prediction (tests); 3 every table, likewise; 0 none. */
spw_status spw_plan_make(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                         const char *probe_path)
{
    memset(plan, 0, sizeof *plan);
    spw_plan st;
    spw_status s = plan_make(ctx, &st, def, probe_path, NULL, NULL);
    if (s != SPW_OK) {
        spw_plan_clear(&st);
        return s;
    }
    int env = st.recompute_env = recompute_env();
    st.t_pred_store = st.t_pred;
    for (uint32_t t = 0; t < st.n_tables; t++) {
        spw_plan_table *p = &st.tables[t];
        p->recompute = st.spilled && (env == 3 || (env == 2 ? (int)(t & 1) : env == 1 && !p->lde_store_cheaper));
    }
    return plan_recompute(ctx, plan, def, probe_path, NULL, &st);
}

void spw_plan_clear(spw_plan *plan)
{
    if (!plan) return;
    free(plan->tables);
    plan->tables = NULL;
}

void spw_plan_print(FILE *f, const spw_plan *p)
{
    char a[32], b[32], c[32], d[32];
    fmt_size(a, sizeof a, p->host_budget);
    fmt_size(b, sizeof b, p->vram_budget);
    fprintf(f, "host budget %s%s, VRAM budget %s%s, blowup %u, %u threads\n", a,
            p->host_default ? " (default)" : "", b, p->vram_default ? " (default)" : "",
            p->blowup, p->threads);
    fmt_size(a, sizeof a, p->resident_total);
    fmt_size(b, sizeof b, p->lde_bytes);
    fprintf(f, "LDE data %s; in-memory working set %s; schedule: %s (mode %s)\n", b,
            a, p->spilled ? "streamed (spilled)" : "resident (in memory)",
            p->mode_req == SPW_MODE_RESIDENT ? "resident"
            : p->mode_req == SPW_MODE_SPILLED ? "spilled" : "auto");
    if (p->device) {
        fmt_size(a, sizeof a, p->dev_budget);
        fmt_size(b, sizeof b, p->lde_saved);
        fprintf(f, "device: streaming tier, VRAM budget %s; recompute tier for %u of %u tables (LDE "
                   "of %s never stored; SPW_RECOMPUTE=%d: %s)\n",
                a, p->n_recompute, p->n_tables, b, p->recompute_env,
                p->recompute_env == 0   ? "off"
                : p->recompute_env == 2 ? "odd tables that fit"
                : p->recompute_env == 3 ? "every table that fits"
                                        : "auto, tables that fit and predict less time");
        fprintf(f, "device links: host->device %.1f GB/s, device->host %.1f GB/s (%s); page-locking "
                   "%.1f GB/s, device NTT %.4f ns per unit (defaults)\n",
                p->h2d_gbs, p->d2h_gbs, p->link_source, p->pin_gbs, p->dev_ntt_s * 1e9);
    }
    fprintf(f, "%-14s %6s %6s %5s %4s %8s %9s %5s %10s %10s %10s %9s\n", "table", "rows", "cols",
            "aux", "comp", "mode", "chunk", "group", "in-memory", "host work", "stored", "compute");
    for (uint32_t i = 0; i < p->n_tables; i++) {
        const spw_plan_table *t = &p->tables[i];
        fmt_size(a, sizeof a, t->resident_bytes);
        fmt_size(b, sizeof b, t->work_bytes);
        fmt_size(c, sizeof c, t->store_bytes);
        char rows[16], ch[24];
        snprintf(rows, sizeof rows, "2^%u", t->log_n);
        if (t->spilled) snprintf(ch, sizeof ch, "%llu", (unsigned long long)t->R);
        else snprintf(ch, sizeof ch, "-");
        fprintf(f, "%-14s %6s %6u %5u %4u %8s %9s %5u %10s %10s %10s %8.3fs\n", t->name, rows,
                t->nm, t->na, t->nc,
                t->spilled ? (t->mixed ? "mixed" : t->tier == SPW_TIER_NVME ? "nvme" : "host")
                           : "resident",
                ch, t->G, a,
                t->spilled ? b : "-", t->spilled ? c : "-", t->t_compute);
    }
    if (p->spilled) {
        fmt_size(a, sizeof a, p->work_bytes + p->fixed_bytes);
        fmt_size(b, sizeof b, p->pool_bytes);
        fmt_size(c, sizeof c, p->store_bytes);
        fmt_size(d, sizeof d, p->nvme_bytes);
        fprintf(f, "host tier: working buffers %s + pinned pool %s (+ up to %llu MiB fixed "
                   "overhead); store %s; NVMe reservation %s in %s\n",
                a, b, (unsigned long long)(SPW_PLAN_OVERHEAD >> 20), c, d, p->spill_dir);
        fmt_size(a, sizeof a, p->store_sum);
        fmt_size(b, sizeof b, p->pool_res_bytes);
        fmt_size(c, sizeof c, p->stream_bytes);
        fprintf(f, "store: peak %s over the schedule (%s created in all); %u of %u tables resident "
                   "in the pool (peak %s), streamed data peak %s\n",
                (fmt_size(d, sizeof d, p->store_bytes), d), a, p->n_pool_tables, p->n_tables, b, c);
        if (p->nvme_bytes) {
            uint32_t nmix = 0;
            for (uint32_t i = 0; i < p->n_tables; i++) nmix += p->tables[i].mixed != 0;
            fprintf(f, "tiers: per %s (%u tables mixed; predicted disk %.3f s per table and round, "
                       "%.3f s per table)\n",
                    p->tiers_per_round ? "table and round" : "table", nmix, p->t_io_per_round,
                    p->t_io_per_table);
        }
        fmt_size(a, sizeof a, p->disk_write);
        fmt_size(b, sizeof b, p->disk_read);
        fprintf(f, "bytes per link: host->nvme %s, nvme->host %s (%.2f / %.2f GB/s write/read, %s)\n",
                a, b, p->disk_write_gbs, p->disk_read_gbs, p->bw_source);
    } else {
        fprintf(f, "bytes per link: none (everything stays in host memory)\n");
    }
    fprintf(f, "compute model: %s%s\n", p->compute_source,
            p->device ? " (the CPU prover's prices: the device tier's compute is not modelled)" : "");
    fprintf(f, "predicted time: %.2f s (compute %.2f s, disk %.2f s)\n", p->t_pred, p->t_compute,
            p->t_io);
    if (p->spilled) spw_plan_print_rounds(f, p);
}

static const int plan_rounds[] = {SPW_ROUND_MAIN, SPW_ROUND_AUX, SPW_ROUND_COMP, SPW_ROUND_OOD,
                                  SPW_ROUND_DEEP, SPW_ROUND_FRI, SPW_ROUND_QUERY};
static const char *const plan_round_short[SPW_ROUND_COUNT] = {
    "check", "main", "aux", "comp", "ood", "deep", "fri", "grind", "query", "encode"};

static void print_round_row(FILE *f, const char *round, const char *table, const char *mode,
                            const spw_plan_round *x)
{
    char w[32], l[32], hw[32], hr[32];
    fmt_size(w, sizeof w, x->work_bytes);
    fmt_size(l, sizeof l, x->live_bytes);
    fmt_size(hw, sizeof hw, x->write_bytes);
    fmt_size(hr, sizeof hr, x->read_bytes);
    fprintf(f, "%-6s %-14s %-5s %10s %10s %11s %11s %8.3fs %8.3fs %8.3fs\n", round, table, mode, w, l,
            hw, hr, x->t_compute, x->t_io, x->t_pred);
}

/* The device tier's recompute-vs-store section (dev_price, dev_choose). */
static void print_device(FILE *f, const spw_plan *p)
{
    char a[32], b[32], c[32], d[32], e[32];
    fmt_size(a, sizeof a, p->dev_budget / 4 * 3);
    fprintf(f, "recompute vs store on the device (predicted seconds and link bytes of what differs; "
               "the recompute tier needs its coset passes within 3/4 of the VRAM budget, %s; "
               "priced = the table's tier with every LDE stored):\n", a);
    fprintf(f, "%-14s %-6s %10s %4s %13s %13s %11s %11s %11s %11s %s\n", "table", "priced",
            "coset need", "fits", "lde recompute", "lde store", "h2d recomp.", "d2h recomp.",
            "h2d store", "d2h store", "runs");
    for (uint32_t t = 0; t < p->n_tables; t++) {
        const spw_plan_table *x = &p->tables[t];
        fmt_size(a, sizeof a, x->dev_need);
        fmt_size(b, sizeof b, x->dev.h2d_recompute);
        fmt_size(c, sizeof c, x->dev.h2d_store);
        fmt_size(d, sizeof d, x->dev.d2h_store);
        fmt_size(e, sizeof e, x->dev.d2h_recompute);
        fprintf(f, "%-14s %-6s %10s %4s %12.3fs %12.3fs %11s %11s %11s %11s %s\n", x->name,
                x->dev.priced, a, x->dev_fits ? "yes" : "no", x->dev.t_recompute, x->dev.t_store, b,
                e, c, d, x->recompute ? "recompute" : "store");
    }
}

void spw_plan_print_rounds(FILE *f, const spw_plan *p)
{
    fprintf(f, "per round (mode = home tier of the data the round creates for the table: pool = "
               "resident in the pinned pool, nvme = streamed through the spill file; later rounds "
               "show the table's tiers, mixed = both; work = heap working set, live = bytes in "
               "the store):\n");
    fprintf(f, "%-6s %-14s %-5s %10s %10s %11s %11s %9s %9s %9s\n", "round", "table", "mode", "work",
            "live", "host->nvme", "nvme->host", "compute", "disk", "time");
    for (size_t k = 0; k < sizeof plan_rounds / sizeof plan_rounds[0]; k++) {
        int r = plan_rounds[k];
        const char *rn = plan_round_short[r];
        if (r != SPW_ROUND_FRI)
            for (uint32_t t = 0; t < p->n_tables; t++) {
                const spw_plan_table *x = &p->tables[t];
                /* rounds that create no table data: the table's tiers */
                int own_data = r >= SPW_ROUND_MAIN && r <= SPW_ROUND_COMP;
                print_round_row(f, rn, x->name,
                                !own_data && x->mixed ? "mixed"
                                : x->rounds[r].tier == SPW_TIER_NVME ? "nvme" : "pool",
                                &x->rounds[r]);
            }
        if (r >= SPW_ROUND_DEEP)
            print_round_row(f, rn, "(fri data)", p->shared[r].tier == SPW_TIER_NVME ? "nvme" : "pool",
                            &p->shared[r]);
        print_round_row(f, rn, "(total)", "", &p->rounds[r]);
    }
    if (p->device) {
        print_device(f, p);
        return;
    }
    if (!p->spilled) return;
    fprintf(f, "recompute vs store (predicted seconds of what differs, priced on the stored-LDE "
               "schedule; recompute = the CPU's coset passes; SPW_RECOMPUTE=%d: %s):\n",
            p->recompute_env,
            p->recompute_env == 0   ? "off"
            : p->recompute_env == 2 ? "odd tables"
            : p->recompute_env == 3 ? "every table"
                                    : "auto, tables that predict less time, when the plan predicts < 0.8x");
    fprintf(f, "%-14s %-5s %13s %13s %-8s %13s %13s %-8s %s\n", "table", "mode", "lde recompute",
            "lde store", "cheaper", "ext recompute", "ext store", "cheaper", "runs");
    for (uint32_t t = 0; t < p->n_tables; t++) {
        const spw_plan_table *x = &p->tables[t];
        char er[24] = "-", es[24] = "-";
        if (x->recompute_lde && !x->recompute) {
            snprintf(er, sizeof er, "%.3fs", x->t_ext_recompute);
            snprintf(es, sizeof es, "%.3fs", x->t_ext_store);
        }
        fprintf(f, "%-14s %-5s %12.3fs %12.3fs %-8s %13s %13s %-8s %s\n", x->name, table_mode(x),
                x->t_lde_recompute, x->t_lde_store, x->lde_store_cheaper ? "store" : "recomp.", er,
                es, !x->recompute_lde || x->recompute ? "-" : x->ext_store_cheaper ? "store*" : "recomp.",
                x->recompute ? "recompute" : "store");
    }
    if (p->t_pred_recompute > 0)
        fprintf(f, "whole plan: %.3fs with the LDE of every table stored, %.3fs with the recompute "
                   "tier's tables%s\n", p->t_pred_store, p->t_pred_recompute,
                p->n_recompute ? "" : " (not taken)");
    fprintf(f, "(* the extended composition domain: a choice the streaming prover does not execute; "
               "it recomputes that domain from the coefficients)\n");
}

spw_status spw_ctx_set_spill_dir(spw_ctx *ctx, const char *dir)
{
    if (!ctx) return SPW_ERR_NULL;
    if (!dir) dir = "";
    if (strlen(dir) >= sizeof ctx->spill_dir)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill directory path of %zu bytes is too long",
                        strlen(dir));
    snprintf(ctx->spill_dir, sizeof ctx->spill_dir, "%s", dir);
    return SPW_OK;
}
