/*
 * cuda_api.h - the C-callable surface of the CUDA backend: thin extern "C"
 * launchers, each returning an spw_status. Included by C code only under
 * #ifdef SPW_HAVE_CUDA; scheduling stays in C, kernels stay in cuda/.
 */
#ifndef SPW_CUDA_API_H
#define SPW_CUDA_API_H

#include "spillway.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (0 when the driver or a GPU is missing). */
int spw_cuda_device_count(void);

/* Name and memory of device 0, for logs and `spillway --version`. */
spw_status spw_cuda_device_info(char *name, size_t name_len, uint64_t *total_mem,
                                uint64_t *free_mem);

#ifdef __cplusplus
}
#endif
#endif /* SPW_CUDA_API_H */
