/*
 * rounds_fri.h - conversions between a FRI layer in natural order (an
 * array of fe3, as the streaming prover stores it: 3 consecutive u64 per
 * value) and the device "leaf layout" of rounds_api.h (6 base columns of
 * h = N/2 values: coefficient j of f[k] in column j for k < h, in column
 * 3 + j for k >= h). The streaming device tier (src/sched/dev.c) uploads
 * and downloads layers by row chunks through these; kernels and thin
 * launchers in cuda/rounds_fri.cu, conventions of cuda_api.h.
 */
#ifndef SPW_ROUNDS_FRI_H
#define SPW_ROUNDS_FRI_H

#include "cuda_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values k0 .. k0+n-1 of a layer of N = 2h values (k0 + n <= 2h, h a
 * power of two): from d_aos (3n u64: value k0+i at d_aos + 3i) into the
 * leaf layout d_leaf (6 columns of h). */
spw_status spw_gpu_fe3_to_leaf(spw_cuda_stream s, uint64_t *d_leaf, size_t h, const uint64_t *d_aos,
                               size_t k0, size_t n);
/* The inverse: values k0 .. k0+n-1 of the leaf layout d_leaf into d_aos. */
spw_status spw_gpu_leaf_to_fe3(spw_cuda_stream s, uint64_t *d_aos, const uint64_t *d_leaf, size_t h,
                               size_t k0, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* SPW_ROUNDS_FRI_H */
