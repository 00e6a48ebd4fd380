/*
 * wl_internal.h - what the workload generators (fib.c, vm.c, synth.c)
 * share with the dispatcher in workloads.c: the per-workload build entry
 * points, the registry that ties producer state to a trace, and small
 * helpers for writing AIR expressions and hashing into the field.
 */
#ifndef SPW_WL_INTERNAL_H
#define SPW_WL_INTERNAL_H

#include "internal.h"
#include "field.h"
#include "workloads.h"

/* Each builder fills what is asked for (any output may be NULL, as in
 * spw_workload_build); trace_out requires air_out. */
typedef spw_status (*spw_wl_build_fn)(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                                      uint64_t **publics_out, size_t *n_publics,
                                      const spw_workload_params *p);
spw_status spw_wl_fib_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                            uint64_t **publics_out, size_t *n_publics,
                            const spw_workload_params *p);
spw_status spw_wl_vm_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                           uint64_t **publics_out, size_t *n_publics,
                           const spw_workload_params *p);
spw_status spw_wl_synth_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                              uint64_t **publics_out, size_t *n_publics,
                              const spw_workload_params *p);
uint64_t spw_wl_vm_state_bytes(unsigned log_rows);
uint64_t spw_wl_synth_state_bytes(const char *preset);
int spw_wl_synth_preset_known(const char *preset);

/* Ties producer state to a trace: spw_workload_free(.., trace, ..) calls
 * free_fn(state). */
spw_status spw_wl_register(spw_ctx *ctx, spw_trace *trace, void *state, void (*free_fn)(void *));

/* Expression helpers bound to one table. */
typedef struct spw_wl_eb {
    spw_air *air;
    uint32_t t;
} spw_wl_eb;
static inline spw_expr wl_c(const spw_wl_eb *e, uint32_t col) { return spw_air_col(e->air, e->t, col); }
static inline spw_expr wl_n(const spw_wl_eb *e, uint32_t col) { return spw_air_col_next(e->air, e->t, col); }
static inline spw_expr wl_k(const spw_wl_eb *e, uint64_t v) { return spw_air_const(e->air, e->t, v); }
static inline spw_expr wl_add(const spw_wl_eb *e, spw_expr a, spw_expr b) { return spw_air_add(e->air, e->t, a, b); }
static inline spw_expr wl_sub(const spw_wl_eb *e, spw_expr a, spw_expr b) { return spw_air_sub(e->air, e->t, a, b); }
static inline spw_expr wl_mul(const spw_wl_eb *e, spw_expr a, spw_expr b) { return spw_air_mul(e->air, e->t, a, b); }
/* 1 - a */
static inline spw_expr wl_one_minus(const spw_wl_eb *e, spw_expr a) { return wl_sub(e, wl_k(e, 1), a); }
static inline spw_status wl_con(const spw_wl_eb *e, spw_row_kind rows, spw_expr x) { return spw_air_constrain(e->air, e->t, rows, x); }
/* x * (1 - x) = 0 on every row */
static inline spw_status wl_bool(const spw_wl_eb *e, uint32_t col)
{
    return wl_con(e, SPW_ROWS_EVERY, wl_mul(e, wl_c(e, col), wl_one_minus(e, wl_c(e, col))));
}

/* A 64-bit mixer (the splitmix64 finaliser) and a reduction into the field. */
static inline uint64_t spw_wl_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint64_t spw_wl_to_field(uint64_t h) { return h >= GL_P ? h - GL_P : h; }

#endif
