/*
 * plan.h - the out-of-core planner: per table, the in-memory (resident)
 * versus streamed (spilled) working sets, the chunk and column-group sizes,
 * the pinned-pool and NVMe sizes, the bytes each link moves and a predicted
 * time from a cost model (bandwidths from a `spillway probe --save` file or
 * defaults, compute from per-element estimates). docs/OUT_OF_CORE.md.
 */
#ifndef SPW_PLAN_H
#define SPW_PLAN_H

#include "air.h"
#include "plan_calib.h"
#include "stark.h"
#include <stdio.h>

#define SPW_PLAN_DIR_MAX 4096
/* Fixed overhead allowed above the host budget (binary, libraries, thread
 * stacks, the producers' small state, per-thread block buffers). */
#define SPW_PLAN_OVERHEAD (UINT64_C(64) << 20)
/* Tile (spill chunk) payload target and leaves per stored Merkle subtree
 * of the streaming prover (src/sched/stream.c). */
#define SPW_PLAN_TILE_BYTES (256u << 10)
#define SPW_PLAN_TREE_ROWS 1024u
/* Low levels of each stored subtree left out of the store: the bottom
 * stored node covers 2^SPW_PLAN_TREE_SKIP leaves, and a query path
 * recomputes that group's leaves from the committed rows (0 = the whole
 * subtree is stored). */
#define SPW_PLAN_TREE_SKIP 3u
/* The subtree levels left out: SPW_PLAN_TREE_SKIP, or $SPW_TREE_SKIP
 * (0..16) when set (the streaming prover and the planner both use it). */
unsigned spw_plan_tree_skip(void);
/* Smallest row chunk the planner goes down to. */
#define SPW_PLAN_MIN_ROWS 4096u

/* The planner's prediction for one round (indices SPW_ROUND_* of stark.h:
 * main, aux, comp, ood, deep, fri, query are filled) of one table, or the
 * totals of the whole proof. */
typedef struct spw_plan_round {
    uint64_t work_bytes;            /* heap working set of the round */
    uint64_t live_bytes;            /* bytes live in the store during the round (peak) */
    uint64_t write_bytes;           /* predicted bytes host -> nvme */
    uint64_t read_bytes;            /* predicted bytes nvme -> host */
    double t_compute, t_io, t_pred; /* predicted seconds (t_pred: overlapped) */
    /* home tier (spill.h's spw_tier: SPW_TIER_HOST = pool-resident,
     * SPW_TIER_NVME = streamed) of what the round creates for the table:
     * main = trace, coefficients, LDE, tree; aux = its coefficients, LDE,
     * tree; comp = the composition temporaries, coefficients, LDE, tree.
     * Rounds that create no table data carry the table's tier; the shared
     * rounds (plan->shared) the DEEP/FRI data's; plan->rounds[r] (totals)
     * SPW_TIER_NVME when any of the round's data streams. */
    int tier;
} spw_plan_round;

/* The device tier's prices of one table's LDE choices (recompute on the
 * device vs store; src/plan.c dev_price): predicted seconds, link bytes
 * host->device and device->host of each, and the table's tier in the
 * stored-LDE plan they were priced on (pool, nvme, mixed). */
typedef struct spw_plan_dev_price {
    double t_recompute, t_store;
    uint64_t h2d_recompute, d2h_recompute, h2d_store, d2h_store;
    char priced[8];
} spw_plan_dev_price;

typedef struct spw_plan_table {
    char name[64];
    unsigned log_n, log_N, log_e;   /* trace, LDE, composition-domain log sizes */
    uint32_t nm, na, nc;            /* base columns: main, aux (3 per ext3), composition */
    int spilled;                    /* 1 = streamed through the spill store */
    uint64_t R;                     /* LDE rows per row chunk (= tile rows) */
    uint32_t G;                     /* columns per column group (= tile columns) */
    uint64_t resident_bytes;        /* what the in-memory prover holds for it */
    uint64_t store_bytes;           /* bytes it keeps in the spill store (all it
                                       creates = sum_bytes; peak_bytes: its peak) */
    uint64_t work_bytes;            /* heap working set of its largest phase */
    uint64_t min_bytes;             /* its minimum host working set (G = 1, R = min) */
    int recompute_lde;              /* 1 = recompute the extended-domain LDE of the
                                       composition round from coefficients (always,
                                       it is never stored); 0 = n/a */
    /* tier of the streamed schedule: SPW_TIER_HOST = all its data resident
     * in the pinned pool (never evicted, no disk bytes), SPW_TIER_NVME =
     * some of it (rounds[r].tier says which rounds' data) streamed through
     * the spill file (spill.h's spw_tier values); mixed = the main, aux and
     * composition data do not all have the same tier */
    int tier;
    int mixed;
    uint64_t peak_bytes;            /* its own data's peak in the store */
    uint64_t sum_bytes;             /* all its data ever created in the store */
    spw_plan_round rounds[SPW_ROUND_COUNT];
    /* recompute vs store (docs/OUT_OF_CORE.md): predicted seconds of each
     * choice; the *_store_cheaper flags say which the cost model prefers,
     * recompute_lde what the streaming prover executes */
    double t_ext_recompute, t_ext_store; /* extended composition domain (E > blowup) */
    double t_lde_recompute, t_lde_store; /* LDE re-read by composition and DEEP */
    int ext_store_cheaper, lde_store_cheaper;
    double t_compute, t_io;         /* predicted seconds */
    /* streaming device tier (plan->device; docs/OUT_OF_CORE.md, "The
     * device tier: recompute vs store"): recompute = 1 when the LDE is
     * never stored (the recompute tier: every pass that reads it evaluates
     * cosets from the stored coefficients on the device; src/sched/stream.c
     * executes exactly this flag); dev_need = spw_sdev_coset_bytes of the
     * table, dev_fits = dev_need <= 3/4 of the VRAM budget; the predicted
     * seconds and link bytes of both choices, priced on the stored-LDE
     * schedule (what differs between them) */
    int recompute, dev_fits;
    uint64_t dev_need;
    spw_plan_dev_price dev;
} spw_plan_table;

typedef struct spw_plan {
    uint64_t host_budget, vram_budget;
    int host_default, vram_default;  /* budgets came from the defaults */
    char spill_dir[SPW_PLAN_DIR_MAX];
    unsigned blowup, threads;
    spw_mode mode_req;               /* requested */
    int spilled;                     /* executed by the streaming prover */
    uint32_t n_tables;
    spw_plan_table *tables;
    uint64_t resident_total;         /* in-memory prover's estimated peak */
    uint64_t lde_bytes;              /* LDE data of all tables (main, aux, composition) */
    uint64_t fri_R;                  /* FRI rows per chunk */
    uint64_t fixed_bytes;            /* chunk-root trees and FRI bookkeeping */
    uint64_t work_bytes;             /* largest heap working set of any phase */
    uint64_t pool_bytes;             /* pinned host pool */
    uint64_t store_bytes;            /* peak bytes in the store (over the schedule) */
    uint64_t store_sum;              /* all bytes the schedule ever creates in the store */
    uint64_t pool_res_bytes;         /* peak of the pool-resident tables' data */
    uint64_t stream_bytes;           /* peak of the streamed (NVMe-homed) data */
    uint32_t n_pool_tables;          /* tables with tier SPW_TIER_HOST */
    /* the tier rule (docs/OUT_OF_CORE.md, "Per-round tiers"): 1 = per
     * table and round, 0 = per table (whole tables; chosen when it predicts
     * no more disk time, or forced by $SPW_PLAN_TIERS=table); the predicted
     * disk seconds of both choices (0 without an NVMe tier) */
    int tiers_per_round;
    double t_io_per_table, t_io_per_round;
    spw_plan_round rounds[SPW_ROUND_COUNT]; /* totals per round (tables + FRI) */
    spw_plan_round shared[SPW_ROUND_COUNT]; /* DEEP roll-ins, FRI layers and trees (not per table) */
    uint64_t nvme_bytes;             /* spill-file reservation (0 = no NVMe tier) */
    uint64_t disk_write, disk_read;  /* predicted bytes over the disk link */
    double disk_write_gbs, disk_read_gbs;
    char bw_source[SPW_PLAN_DIR_MAX + 32];
    double t_compute, t_io, t_pred;  /* t_pred = max(compute, io) with overlap */
    /* device tier: set by the dispatch when the GPU runs the streamed rounds
     * (the resident device plan does not fit the VRAM budget) */
    int device;                      /* 1 = streaming device tier (src/sched/dev.h) */
    uint64_t dev_budget;             /* its VRAM budget (0 = 90% of free memory) */
    /* the recompute tier (spw_plan_make_device): $SPW_RECOMPUTE (0 = off,
     * every LDE stored; 1 = auto, the default: a table recomputes when it
     * fits and the model predicts less time; 2 = the odd-numbered tables
     * that fit, whatever the model says: tests of mixed proofs), the
     * tables that recompute and the LDE bytes they do not store; the
     * link model: pinned host<->device GB/s (probe file's h2d_gbs/d2h_gbs,
     * else SPW_PLAN_H2D_GBS/D2H_GBS), page-locking GB/s of the pool, device
     * seconds per NTT unit (column x point x log2 points) */
    int recompute_env;
    uint32_t n_recompute;
    /* whole-plan predictions (t_pred) of the stored-LDE schedule and of the
     * recompute tier's (0: not made) */
    double t_pred_store, t_pred_recompute;
    uint64_t lde_saved;
    double h2d_gbs, d2h_gbs, pin_gbs, dev_ntt_s;
    char link_source[SPW_PLAN_DIR_MAX + 32];
    uint64_t tile_bytes;             /* tile payload target of the streamed matrices */
    int checks_deferred;             /* the host checks run only if the proof fails:
                                        the prover must fail on sum L_t != 0 */
    /* compute model at the plan's threads (docs/OUT_OF_CORE.md, cost
     * model): seconds per NTT unit (column x point x log term), seconds per
     * byte hashed, factor on the other per-element constants; from the
     * probe file's CPU keys, else the development machine's constants */
    double cpu_ntt_s, cpu_hash_s, cpu_k;
    unsigned cpu_threads;            /* the probe's calibration threads (0: constants) */
    char compute_source[SPW_PLAN_DIR_MAX + 64];
    /* the probe file's per-round calibration (calib.have = 0: none; then
     * the constants above price the model) */
    spw_calib calib;
} spw_plan;

/* Makes the plan for a finalized AIR with heights set, from ctx's budgets,
 * mode, chunk rows, blowup, threads and spill dir. probe_path (may be NULL;
 * else $SPW_PROBE_FILE when set) gives measured disk bandwidths and, when
 * it has the CPU keys of `spillway probe`, the compute calibration.
 * SPW_ERR_BUDGET when the host budget is below a table's minimum working
 * set, with a message stating the minimum. */
spw_status spw_plan_make(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                         const char *probe_path);
void spw_plan_clear(spw_plan *plan);
/* The plan of the streaming device tier, which spw_sched_dispatch runs:
 * the streamed schedule whatever the host budget (mode spilled), tiles of
 * SPW_PLAN_DEV_TILE_BYTES (the default tiles when the host budget is too
 * small for them), device = 1, dev_budget = vram_budget = ctx's VRAM
 * budget, else 90% of the free device memory (SPW_ERR_NO_CUDA when that
 * is 0: no device and no budget given), and per table the recompute tier
 * (recompute, $SPW_RECOMPUTE) with the store, pool, disk and
 * per-round bytes of the schedule that runs it. */
spw_status spw_plan_make_device(const spw_ctx *ctx, spw_plan *plan, const spw_air_def *def,
                                const char *probe_path);
/* Link model defaults of the device tier's recompute-vs-store prices:
 * pinned host<->device GB/s without a probe file (PCIe 4 x16, the brief's
 * consumer target; the H100 host measures ~55), page-locking the pool
 * (between the 3.4 GB/s of a first touch and the 24 GB/s of memory
 * touched before, H100 host) and the device NTT (H100: 2^24 x 16 columns
 * in 16.6 ms = 0.0026 ns per column x point x log2 points). */
#define SPW_PLAN_H2D_GBS 25.0
#define SPW_PLAN_D2H_GBS 25.0
#define SPW_PLAN_PIN_GBS 8.0
#define SPW_PLAN_DEV_NTT_NS 0.003
/* Tile payload target of the plans this thread makes next (0 = default or
 * $SPW_TILE_BYTES); the streaming device tier uses SPW_PLAN_DEV_TILE_BYTES. */
void spw_plan_set_tile_bytes(uint64_t bytes);
#define SPW_PLAN_DEV_TILE_BYTES (4u << 20)
void spw_plan_print(FILE *f, const spw_plan *plan);
/* The per-round section of spw_plan_print (streamed plans): per round and
 * table the mode, working set, store bytes live, bytes per link and
 * predicted times, the totals per round, then recompute vs store. */
void spw_plan_print_rounds(FILE *f, const spw_plan *plan);

/* Default budgets: half of the memory available to the process (cgroup v2
 * memory.max minus usage, cgroup v1 limit, else MemAvailable); 90% of free
 * device memory (0 when there is no device). */
uint64_t spw_plan_default_host_budget(void);
uint64_t spw_plan_default_vram_budget(void);
/* The spill directory: ctx's, else $TMPDIR, else /tmp. */
const char *spw_plan_spill_dir(const spw_ctx *ctx);

/* Peak resident set of this process in bytes (VmHWM, else ru_maxrss). */
uint64_t spw_peak_rss(void);

/* The dispatch spw_prove_ex calls after its pre-proof checks (src/sched/
 * stream.c): when ctx->mode is not RESIDENT it makes the plan, and when the
 * plan streams (mode SPILLED, or AUTO with an in-memory working set above
 * the host budget) runs the streaming prover and returns 1 with *status
 * set; returns 0 when the in-memory prover should run. */
/* CLI helpers (src/cli/cli_plan.c, used by `spillway prove` and `plan`):
 * the budget options --host-budget SIZE, --vram-budget SIZE, --spill-dir
 * DIR, --mode auto|resident|spilled, --chunk-rows N. cli_budget_opt returns
 * 1 when option a (value v) was one of them, 0 when not, -1 on a bad value
 * (message printed). cli_budget_apply sets them on ctx (0 or -1). */
typedef struct cli_budget {
    uint64_t host, vram, chunk_rows;
    int mode;
    const char *spill_dir;
} cli_budget;
int cli_budget_opt(const char *cmd, cli_budget *b, const char *a, const char *v);
int cli_budget_apply(const char *cmd, spw_ctx *ctx, const cli_budget *b);
/* --backend's value v (auto, cpu, cuda) into *backend (spw_backend):
 * 0, or -1 with a message. */
int cli_backend_opt(const char *cmd, const char *v, int *backend);

struct spw_prove_opts;
struct spw_prove_stats;
/* Whether the streaming device tier can run with ctx's VRAM budget: *ok =
 * 1 when it holds the tier's minimum; else the cuda backend gets
 * SPW_ERR_BUDGET naming the minimum and the table, auto a counted fallback
 * (*ok = 0, SPW_OK). */
spw_status spw_sched_device_check(spw_ctx *ctx, const spw_air *air, int *ok);
/* device: the GPU runs the streamed rounds (always streams); deferred: the
 * pre-proof checks were deferred (the prover rejects sum L_t != 0). */
int spw_sched_dispatch(spw_ctx *ctx, spw_status *status, uint8_t **proof_out, size_t *proof_len,
                       const spw_air *air, const spw_trace *trace, const spw_statement *stmt,
                       const struct spw_prove_opts *opts, struct spw_prove_stats *stats,
                       int device, int deferred);

#endif
