// device.cu - device discovery for the CUDA backend.
#include "cuda_api.h"
#include <cuda_runtime.h>
#include <string.h>

extern "C" int spw_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no device" error */
        return 0;
    }
    return n;
}

extern "C" spw_status spw_cuda_device_info(char *name, size_t name_len, uint64_t *total_mem,
                                           uint64_t *free_mem)
{
    if (spw_cuda_device_count() <= 0) return SPW_ERR_NO_CUDA;
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return SPW_ERR_CUDA;
    if (name && name_len) {
        strncpy(name, p.name, name_len - 1);
        name[name_len - 1] = 0;
    }
    size_t f = 0, t = 0;
    if (cudaMemGetInfo(&f, &t) != cudaSuccess) return SPW_ERR_CUDA;
    if (total_mem) *total_mem = t;
    if (free_mem) *free_mem = f;
    return SPW_OK;
}
