// pinned.cu - page-locking of the spill layer's host pool and a pinned
// host<->device bandwidth probe (thin launchers; scheduling stays in C).
#include "pinned_api.h"
#include "cuda_internal.cuh"
#include <cuda_runtime.h>
#include <new>

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

struct spw_cuda_stager {
    void *dev;
    size_t dev_bytes;
    cudaStream_t stream;
    unsigned slots;
    cudaEvent_t ev[16];
};

extern "C" void spw_cuda_stager_free(spw_cuda_stager *s)
{
    if (!s) return;
    if (s->stream) cudaStreamSynchronize(s->stream);
    for (unsigned i = 0; i < s->slots; i++)
        if (s->ev[i]) cudaEventDestroy(s->ev[i]);
    if (s->stream) cudaStreamDestroy(s->stream);
    if (s->dev) cudaFree(s->dev);
    cudaGetLastError();
    delete s;
}

extern "C" spw_status spw_cuda_stager_create(spw_cuda_stager **out, size_t dev_bytes, unsigned slots)
{
    *out = NULL;
    if (!dev_bytes || !slots || slots > 16) return SPW_ERR_INVALID_ARG;
    spw_cuda_stager *s = new (std::nothrow) spw_cuda_stager();
    if (!s) return SPW_ERR_NOMEM;
    s->dev_bytes = dev_bytes;
    if (cudaMalloc(&s->dev, dev_bytes) != cudaSuccess) {
        s->dev = NULL;
        spw_cuda_stager_free(s);
        return SPW_ERR_DEVICE_OOM;
    }
    if (cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking) != cudaSuccess) {
        s->stream = NULL;
        spw_cuda_stager_free(s);
        return SPW_ERR_CUDA;
    }
    for (unsigned i = 0; i < slots; i++) {
        if (cudaEventCreateWithFlags(&s->ev[i], cudaEventDisableTiming) != cudaSuccess) {
            s->ev[i] = NULL;
            s->slots = i;
            spw_cuda_stager_free(s);
            return SPW_ERR_CUDA;
        }
    }
    s->slots = slots;
    *out = s;
    return SPW_OK;
}

extern "C" spw_status spw_cuda_stager_h2d(spw_cuda_stager *s, unsigned slot, const void *host,
                                          size_t bytes, size_t dev_off)
{
    if (slot >= s->slots || dev_off > s->dev_bytes || bytes > s->dev_bytes - dev_off)
        return SPW_ERR_INVALID_ARG;
    if (spw_cuda_copy_counted((char *)s->dev + dev_off, host, bytes, cudaMemcpyHostToDevice,
                              s->stream) != cudaSuccess ||
        cudaEventRecord(s->ev[slot], s->stream) != cudaSuccess) {
        cudaGetLastError();
        return SPW_ERR_CUDA;
    }
    return SPW_OK;
}

extern "C" spw_status spw_cuda_stager_wait(spw_cuda_stager *s, unsigned slot)
{
    if (slot >= s->slots) return SPW_ERR_INVALID_ARG;
    if (cudaEventSynchronize(s->ev[slot]) != cudaSuccess) {
        cudaGetLastError();
        return SPW_ERR_CUDA;
    }
    return SPW_OK;
}
