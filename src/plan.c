/*
 * plan.c - the out-of-core planner (plan.h, docs/OUT_OF_CORE.md): default
 * budgets (cgroup-aware), per-table working sets for the in-memory and the
 * streamed schedule, chunk/column-group choice under the host budget, pool
 * and spill-file sizes, bytes per link and a predicted time.
 */
#include "plan.h"
#include "stark.h"
#include "../spill/spill.h"

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
}

/* What the in-memory prover holds for one table at its peak. */
static uint64_t resident_bytes(const tdim *d)
{
    uint64_t b = 8 * (2 * d->n * d->nm + d->N * d->nm + (d->n + d->N) * (d->na + d->nc));
    b += 64 * d->N * (d->na ? 3 : 2) + 24 * d->N + 24 * d->NE;
    if (d->NE != d->N) b += 8 * (d->nm + d->na) * d->NE;
    return b;
}

/* Heap working set of the streamed schedule with row chunk R, group G. */
static uint64_t work_bytes(const tdim *d, uint64_t R, uint64_t G, unsigned threads)
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
    uint64_t w = max3(col, colE, interp);
    w = max3(w, leaf, aux);
    w = max3(w, comp, ood);
    return w > deep ? w : deep;
}

/* Bytes kept in the store: payload, plus a header block per tile of about
 * SPW_PLAN_TILE_BYTES and per stored subtree. */
static uint64_t store_bytes(const tdim *d, uint64_t R, uint64_t G)
{
    (void)R;
    (void)G;
    uint64_t b = 8 * (2 * d->n * d->nm + d->N * d->nm + (d->n + d->N) * (d->na + d->nc));
    uint64_t trees = 64 * d->N * (d->na ? 3 : 2);
    b += 24 * d->N + 24 * d->NE;
    if (d->NE != d->N) b += 8 * (d->nm + d->na) * d->NE;
    /* (+128: the last, partial tile of each matrix and small tables) */
    uint64_t tiles = b / (SPW_PLAN_TILE_BYTES / 2) + 3 * d->N / SPW_PLAN_TREE_ROWS + 128;
    return b + trees + tiles * CHUNK_HDR;
}

/* Rough per-core compute seconds of one table (documented constants,
 * measured on the reference prover of this project). */
static double compute_seconds(const tdim *d, unsigned log_N, unsigned threads)
{
    double ntt = 1.2e-9 * (double)(d->nm + d->na + d->nc) * (double)d->N * (log_N + 2);
    if (d->NE != d->N) ntt += 1.2e-9 * (double)(d->nm + d->na) * (double)d->NE * (log_N + 3);
    ntt += 1.2e-9 * 3 * (double)d->NE * (log_N + 2);
    double hash = (double)(8 * (d->nm + d->na + d->nc) + 96) * (double)d->N / 0.9e9;
    double comp = 2.5e-9 * (double)d->NE * (double)(d->prog + 3 * d->nk + 10);
    double deep = 4e-9 * (double)d->N * (double)(2 * (d->nm + d->na) + d->nc + 20);
    double ood = 6e-9 * (double)d->n * (double)(2 * (d->nm + d->na) + d->nc);
    /* calibrated against the in-memory prover on the 2-core development
     * machine (docs/OUT_OF_CORE.md): the per-element constants above x 2.25 */
    return 2.25 * (ntt + hash + comp + deep + ood) / (threads ? threads : 1);
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

spw_status spw_plan_make(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                         const char *probe_path)
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
    if (!plan->vram_budget && ctx->backend != SPW_BACKEND_CPU) {
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
    if (!probe_path) probe_path = getenv("SPW_PROBE_FILE");
    if (probe_path && *probe_path) {
        spw_spill_probe_result pr;
        SPW_TRY(spw_spill_probe_load((spw_ctx *)ctx, &pr, probe_path));
        if (pr.read_gbs > 0) plan->disk_read_gbs = pr.read_gbs;
        if (pr.write_gbs > 0) plan->disk_write_gbs = pr.write_gbs;
        snprintf(plan->bw_source, sizeof plan->bw_source, "probe file %s", probe_path);
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
        p->log_e = log_b;
        while ((1u << p->log_e) < parts) p->log_e++;
        p->recompute_lde = p->log_e != log_b;
        p->nm = t->n_main;
        p->na = 3 * t->n_aux;
        p->nc = 3 * parts;
        dims(&D[i], p, t, log_b);
        p->resident_bytes = resident_bytes(&D[i]);
        plan->lde_bytes += 8 * D[i].N * (D[i].nm + D[i].na + D[i].nc);
        plan->resident_total += p->resident_bytes;
        if (D[i].N > N0) N0 = D[i].N;
    }
    /* FRI in memory: the layers, their trees and the roll-ins */
    uint64_t fri_res = N0 * (48 + 64 + 24);
    plan->resident_total += fri_res;

    int spilled = ctx->mode == SPW_MODE_SPILLED ||
                  (ctx->mode == SPW_MODE_AUTO && plan->resident_total > H);
    plan->spilled = spilled;
    plan->fri_R = N0 < 8192 ? N0 / 2 : 4096;
    if (ctx->chunk_rows && ctx->chunk_rows < plan->fri_R) plan->fri_R = ctx->chunk_rows;
    if (!plan->fri_R) plan->fri_R = 1;

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
            uint64_t need = w + 32 * (SPW_PLAN_TILE_BYTES + CHUNK_HDR) + 64 * 3 * 2 * (d->N / (R < SPW_PLAN_TREE_ROWS ? R : SPW_PLAN_TREE_ROWS));
            if (need <= H * 3 / 4 || (G == 1 && R <= Rmin)) break;
            if (G > 1) G = (G + 1) / 2;
            else R /= 2;
        }
        p->R = R;
        p->G = (uint32_t)G;
        p->work_bytes = work_bytes(d, R, G, plan->threads);
        p->store_bytes = store_bytes(d, R, G);
        /* the smallest schedule: one column per group, the smallest chunk */
        uint64_t wm = work_bytes(d, Rmin, 1, plan->threads);
        uint64_t pm = 32 * (SPW_PLAN_TILE_BYTES + CHUNK_HDR);
        uint64_t fm = 64 * 3 * 2 * (d->N / (Rmin < SPW_PLAN_TREE_ROWS ? Rmin : SPW_PLAN_TREE_ROWS));
        p->min_bytes = wm + pm + fm;
        if (wm > min_w) {
            min_w = wm;
            min_t = i;
        }
        if (pm > min_pool) min_pool = pm;
        min_fixed += fm;
        tile_max = SPW_PLAN_TILE_BYTES;
        if (p->work_bytes > Wmax) Wmax = p->work_bytes;
        store += p->store_bytes;
        fixed += 64 * 3 * 2 * (d->N / (R < SPW_PLAN_TREE_ROWS ? R : SPW_PLAN_TREE_ROWS)); /* upper trees */
        p->t_compute = compute_seconds(d, p->log_N, plan->threads);
        plan->t_compute += p->t_compute;
    }
    if (!spilled) {
        for (uint32_t i = 0; i < def->n_tables; i++) {
            plan->tables[i].t_compute = compute_seconds(&D[i], plan->tables[i].log_N, plan->threads);
            plan->t_compute += plan->tables[i].t_compute;
        }
        plan->t_pred = plan->t_compute;
        free(D);
        return SPW_OK;
    }
    /* FRI: three chunks of fri_R ext3 values, leaves and a subtree */
    uint64_t fw = plan->fri_R * (3 * 24 + 32 + 64);
    if (fw > Wmax) Wmax = fw;
    if (fw > min_w) min_w = fw;
    store += N0 * (48 + 64) + 4 * CHUNK_HDR * (2 * N0 / plan->fri_R + 2);
    fixed += 2 * 64 * (2 * N0 / SPW_PLAN_TREE_ROWS + 2);
    min_fixed += 2 * 64 * (2 * N0 / SPW_PLAN_TREE_ROWS + 2);
    plan->work_bytes = Wmax;
    plan->fixed_bytes = fixed;
    plan->store_bytes = store;
    uint64_t min_total = min_w + min_fixed + min_pool + MiB;
    uint64_t pool = H > Wmax + fixed ? H - Wmax - fixed : 0;
    /* no larger than what the store can hold at once (plus room for tiles) */
    uint64_t cap = store + 16 * (tile_max + CHUNK_HDR) + 4 * MiB;
    if (pool > cap) pool = cap;
    pool = pool / MiB * MiB;
    if (H >= min_total && pool < 16 * (tile_max + CHUNK_HDR) && !force_min) {
        force_min = 1; /* the budget allows the smallest schedule only */
        goto replan;
    }
    if (H < min_total || pool < 16 * (tile_max + CHUNK_HDR)) {
        char hb[32], mb[32];
        const spw_plan_table *p = &plan->tables[min_t];
        fmt_size(hb, sizeof hb, H);
        fmt_size(mb, sizeof mb, min_total > H ? min_total : Wmax + fixed + 16 * (tile_max + CHUNK_HDR) + MiB);
        free(D);
        return spw_fail(ctx, SPW_ERR_BUDGET,
                        "host budget %s is below the minimum %s for table %s (2^%u rows x %u "
                        "columns); raise --host-budget%s",
                        hb, mb, p->name, p->log_n, p->nm,
                        ctx->chunk_rows ? " or lower --chunk-rows" : "");
    }
    plan->pool_bytes = pool;
    if (store > pool) {
        plan->nvme_bytes = (store + store / 8 + 64 * MiB) / MiB * MiB;
        /* disk traffic: everything that does not stay cached is written once
         * and read back by each pass that consumes it */
        double f = 1.0 - (double)pool / (double)store;
        uint64_t w = 0, r = 0;
        for (uint32_t i = 0; i < def->n_tables; i++) {
            tdim *d = &D[i];
            uint64_t lde = 8 * d->N * (d->nm + d->na), clde = 8 * d->N * d->nc;
            uint64_t coef = 8 * d->n * (d->nm + d->na + d->nc), tr = 8 * d->n * (d->nm + d->na);
            uint64_t trees = 64 * d->N * (d->na ? 3 : 2), deep = 24 * d->N, q = 24 * d->NE;
            uint64_t ext = d->NE != d->N ? 8 * (d->nm + d->na) * d->NE : 0;
            w += lde + clde + coef + tr + trees + deep + q + ext;
            r += 3 * lde + 2 * clde + coef + tr + deep + q + ext + (lde == 0 ? 0 : lde / 4);
        }
        w += N0 * 48;
        r += N0 * 96;
        /* query openings: one tile per column group and one subtree per
         * tree, per table and query, plus the FRI layers */
        uint32_t nq = (SPW_TARGET_BITS - SPW_GRINDING_BITS + log_b - 1) / log_b;
        uint64_t rq = 0;
        for (uint32_t i = 0; i < def->n_tables; i++) {
            const spw_plan_table *p = &plan->tables[i];
            uint64_t N = D[i].N, G = p->G ? p->G : 1;
            uint64_t groups = (p->nm + G - 1) / G + (p->na + G - 1) / G + (p->nc + G - 1) / G;
            uint64_t tile = 8 * G * N < SPW_PLAN_TILE_BYTES ? 8 * G * N : SPW_PLAN_TILE_BYTES;
            uint64_t sub = 64 * (N < SPW_PLAN_TREE_ROWS ? N : SPW_PLAN_TREE_ROWS);
            rq += (uint64_t)nq * (groups * (tile + CHUNK_HDR) + 3 * (sub + CHUNK_HDR));
        }
        for (uint64_t Ni = N0; Ni > 32; Ni /= 2) { /* FRI layers: two values and a path each */
            uint64_t tile = 24 * Ni < SPW_PLAN_TILE_BYTES ? 24 * Ni : SPW_PLAN_TILE_BYTES;
            uint64_t sub = 32 * (Ni < SPW_PLAN_TREE_ROWS ? Ni : SPW_PLAN_TREE_ROWS);
            rq += (uint64_t)nq * (2 * (tile + CHUNK_HDR) + sub + CHUNK_HDR);
        }
        /* calibration (synth small at 24 MiB, docs/PERFORMANCE.md): about a
         * quarter of these tile loads miss the pool and the store's cache */
        r += rq / 4;
        plan->disk_write = (uint64_t)(f * (double)w);
        plan->disk_read = (uint64_t)(f * (double)r);
        plan->t_io = (double)plan->disk_write / (plan->disk_write_gbs * 1e9) +
                     (double)plan->disk_read / (plan->disk_read_gbs * 1e9);
        for (uint32_t i = 0; i < def->n_tables; i++)
            plan->tables[i].t_io = plan->t_io * (double)plan->tables[i].store_bytes / (double)store;
    }
    /* the readers, write-behind cleaners and query threads keep several
     * transfers in flight beside the compute, so the two overlap; about 30%
     * of the shorter one stays exposed (synth small at 24 MiB, measured in
     * docs/PERFORMANCE.md). Without an NVMe tier t_io = 0. */
    {
        double hi = plan->t_compute > plan->t_io ? plan->t_compute : plan->t_io;
        double lo = plan->t_compute + plan->t_io - hi;
        plan->t_pred = hi + 0.3 * lo;
    }
    free(D);
    return SPW_OK;
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
                t->spilled ? (p->nvme_bytes ? "nvme" : "host") : "resident", ch, t->G, a,
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
        fmt_size(a, sizeof a, p->disk_write);
        fmt_size(b, sizeof b, p->disk_read);
        fprintf(f, "bytes per link: host->nvme %s, nvme->host %s (%.2f / %.2f GB/s write/read, %s)\n",
                a, b, p->disk_write_gbs, p->disk_read_gbs, p->bw_source);
    } else {
        fprintf(f, "bytes per link: none (everything stays in host memory)\n");
    }
    fprintf(f, "predicted time: %.2f s (compute %.2f s, disk %.2f s)\n", p->t_pred, p->t_compute,
            p->t_io);
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
