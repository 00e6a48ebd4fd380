/*
 * gpu_prover.h - the CUDA backend of the prover, resident mode: every round
 * on the device through one arena (docs/GPU.md). The transcript, the proof
 * assembly and the pre-proof checks stay on the host. The proof bytes equal
 * the CPU backend's for the same inputs and options.
 *
 * Without CUDA compiled in, the entry points exist and report
 * SPW_ERR_NO_CUDA (spw_gpu_prove) or 0 (spw_gpu_wanted).
 */
#ifndef SPW_GPU_PROVER_H
#define SPW_GPU_PROVER_H

#include "stark.h"

/* What the last device run did (process-wide; for the CLI, benches and
 * the tests that must show the device path ran). */
typedef struct spw_gpu_run_stats {
    int used_device;            /* 1: the proof was made on the device */
    uint64_t budget;            /* VRAM budget in force (bytes) */
    uint64_t reserved;          /* bytes the arena reserved */
    uint64_t estimate;          /* planned resident working set (bytes) */
    uint64_t peak;              /* measured arena peak (bytes) */
    uint64_t kernels;           /* kernel launches of this run */
    double seconds[SPW_ROUND_COUNT];
    char device[128];
    int stream;                 /* 1: the resident plan did not fit the budget: the
                                   streaming device tier (src/sched/dev.h) runs instead */
    int streamed;               /* 1: the proof was made by the streaming device tier */
    /* (bench) host <-> device copies of this run: bytes and summed copy
     * time on the device (cuda/cuda_api.h spw_cuda_copy_totals) */
    uint64_t h2d_bytes, d2h_bytes;
    double h2d_seconds, d2h_seconds;
    /* (bench) wall time of the call outside the device rounds and encode:
     * set-up and the wait for the host checks; the run statistics' "checks"
     * round (seconds[SPW_ROUND_CHECK] is the checks' own time, which
     * overlaps the device rounds) */
    double check_wall;
} spw_gpu_run_stats;

/* 1 when ctx asks for (cuda) or allows (auto) the device and a device is
 * present; 0 otherwise. */
int spw_gpu_wanted(const spw_ctx *ctx);
/* The CUDA driver's initialization of the process (device count, context),
 * once per process: spw_prove_ex does it before its clock starts, since it
 * is not the proof's work (about 0.2 s on the H100 host, paid by the first
 * proof of a process only). No-op without CUDA. */
void spw_gpu_init_once(void);

/* Resident working-set estimate of a proof of `def` at `blowup` (bytes):
 * what the arena must hold at the peak (docs/GPU.md lists the terms). */
uint64_t spw_gpu_estimate(const spw_air_def *def, unsigned blowup);

/* Proves on the device. *handled is set to 0 when the run fell back (auto
 * backend: no device, or the plan does not fit the budget): the caller then
 * proves on the CPU; the fallback is logged once per process and counted.
 * With the cuda backend a plan that does not fit gives SPW_ERR_BUDGET. */
spw_status spw_gpu_prove(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len,
                         const spw_air_def *def, const spw_trace *trace,
                         const spw_statement *stmt, const spw_prove_opts *opts,
                         spw_prove_stats *stats, int *handled);

/* Statistics of the last proof (zeroed when it ran on the CPU backend). */
void spw_gpu_last_run(spw_gpu_run_stats *out);
void spw_gpu_clear_last(void);
/* Records the statistics of a run of the streaming device tier. */
void spw_gpu_set_last(const spw_gpu_run_stats *s);
/* Counts (and logs, WARN the first time) a device -> CPU fallback. */
void spw_gpu_note_fallback(const spw_ctx *ctx, const char *why);
/* Number of device -> CPU fallbacks in this process. */
uint64_t spw_gpu_fallbacks(void);

#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
/* Building blocks the rounds use, exposed for the kernel tests and for the
 * streaming device tier (columns are device pointers from arena A). */

/* LogUp aux trace of table t (3*t->n_aux columns of the table's height at
 * d_aux) from its main trace evaluations d_main, in chunks of chunk_rows
 * rows (0 = 65536) with the running sum carried; *sum = L_t. */
spw_status spw_gpu_logup_build(spw_ctx *ctx, spw_cuda_arena *A, spw_cuda_stream s, uint64_t *d_aux,
                               fe3 *sum, const spw_air_table *t, const uint64_t *d_main,
                               size_t chunk_rows, const fe3 *challenges);
/* Composition values at every point of GL_GENERATOR * <w_NE>, NE = n 2^log_e
 * (3 columns of NE at d_q), from main (n_main columns of NE) and aux (3 n_aux
 * columns of NE) evaluations on that coset; lambda^k weights constraint k. */
spw_status spw_gpu_composition_values(spw_ctx *ctx, spw_cuda_arena *A, spw_cuda_stream s,
                                      uint64_t *d_q, const spw_air_table *t,
                                      const uint64_t *d_main, const uint64_t *d_aux,
                                      unsigned log_e, const fe3 *d_challenges,
                                      const uint64_t *d_publics, fe3 logup_sum, fe3 lambda);
/* The base-field program of a table's bus expressions (multiplicities and
 * values only) and its interactions, for the LogUp kernels. */
#include "rounds_api.h"
spw_status spw_gpu_bus_program(spw_ctx *ctx, const spw_air_table *t, spw_gpu_insn **prog,
                               uint32_t *len, uint32_t **vslots, uint32_t *n_vslots,
                               spw_gpu_inter **inter, uint32_t *max_values);
/* The full constraint program with the block interpreter's scratch slots
 * and ext flags, and the constraint roots, for the composition kernel. */
spw_status spw_gpu_comp_program(spw_ctx *ctx, const spw_air_table *t, spw_gpu_insn **prog,
                                uint32_t *len, uint32_t *n_slots, spw_gpu_cons **cons);
/* lambda^k per constraint (*lpow, n_constraints values) and 1/(x^n - 1) on
 * the composition coset by row mod E (*inv_zn, E = 2^log_e values); both
 * malloc'd, freed by the caller. */
spw_status spw_gpu_comp_consts(spw_ctx *ctx, const spw_air_table *t, unsigned log_n,
                               unsigned log_e, fe3 lambda, fe3 **lpow, uint64_t **inv_zn);
#endif

#endif
