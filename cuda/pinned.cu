// pinned.cu - page-locking of the spill layer's host pool and a pinned
// host<->device bandwidth probe (thin launchers; scheduling stays in C).
#include "pinned_api.h"
#include <cuda_runtime.h>

extern "C" spw_status spw_cuda_host_register(void *base, size_t len)
{
    if (cudaHostRegister(base, len, cudaHostRegisterPortable) != cudaSuccess) {
        cudaGetLastError();
        return SPW_ERR_CUDA;
    }
    return SPW_OK;
}

extern "C" void spw_cuda_host_unregister(void *base)
{
    if (cudaHostUnregister(base) != cudaSuccess) cudaGetLastError();
}

extern "C" spw_status spw_cuda_pinned_bandwidth(double *h2d_gbs, double *d2h_gbs, void *host,
                                                size_t bytes, unsigned iters)
{
    if (!bytes || !iters) return SPW_ERR_INVALID_ARG;
    void *dev = NULL;
    cudaStream_t st = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL, e2 = NULL;
    spw_status s = SPW_ERR_CUDA;
    float ms_h2d = 0, ms_d2h = 0;
    if (cudaMalloc(&dev, bytes) != cudaSuccess) {
        s = SPW_ERR_DEVICE_OOM;
        goto out;
    }
    if (cudaStreamCreate(&st) != cudaSuccess || cudaEventCreate(&e0) != cudaSuccess ||
        cudaEventCreate(&e1) != cudaSuccess || cudaEventCreate(&e2) != cudaSuccess)
        goto out;
    /* warm-up */
    if (cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, st) != cudaSuccess) goto out;
    cudaEventRecord(e0, st);
    for (unsigned i = 0; i < iters; i++)
        if (cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, st) != cudaSuccess) goto out;
    cudaEventRecord(e1, st);
    for (unsigned i = 0; i < iters; i++)
        if (cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, st) != cudaSuccess) goto out;
    cudaEventRecord(e2, st);
    if (cudaEventSynchronize(e2) != cudaSuccess) goto out;
    cudaEventElapsedTime(&ms_h2d, e0, e1);
    cudaEventElapsedTime(&ms_d2h, e1, e2);
    if (h2d_gbs) *h2d_gbs = ms_h2d > 0 ? (double)bytes * iters / (ms_h2d * 1e6) : 0;
    if (d2h_gbs) *d2h_gbs = ms_d2h > 0 ? (double)bytes * iters / (ms_d2h * 1e6) : 0;
    s = SPW_OK;
out:
    if (s != SPW_OK) cudaGetLastError();
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    if (e2) cudaEventDestroy(e2);
    if (st) cudaStreamDestroy(st);
    if (dev) cudaFree(dev);
    return s;
}
