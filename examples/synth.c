/* synth.c - the synth workload (in progress). */
#include "wl_internal.h"
spw_status spw_wl_synth_build(spw_ctx *ctx, spw_air **air_out, spw_trace **trace_out,
                              uint64_t **publics_out, size_t *n_publics,
                              const spw_workload_params *p)
{
    (void)air_out; (void)trace_out; (void)publics_out; (void)n_publics; (void)p;
    return spw_fail(ctx, SPW_ERR_UNSUPPORTED, "synth: not implemented yet");
}
uint64_t spw_wl_synth_state_bytes(const char *preset) { (void)preset; return 0; }
size_t spw_synth_num_presets(void) { return 0; }
const spw_synth_preset_info *spw_synth_preset(size_t i) { (void)i; return NULL; }
size_t spw_synth_preset_tables(spw_synth_table_info *out, size_t cap, const char *preset)
{ (void)out; (void)cap; (void)preset; return 0; }
