/* vm.c - the vm workload (in progress). */
#include "wl_internal.h"
spw_status spw_wl_vm_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                           uint64_t **publics_out, size_t *n_publics,
                           const spw_workload_params *p)
{
    (void)air_out; (void)trace_out; (void)publics_out; (void)n_publics; (void)p;
    return spw_fail(ctx, SPW_ERR_UNSUPPORTED, "vm: not implemented yet");
}
uint64_t spw_wl_vm_state_bytes(unsigned log_rows) { (void)log_rows; return 0; }
