// device.cu - device discovery, error reporting, launch counting, streams,
// copies and pinned host memory for the CUDA backend.
#include "cuda_internal.cuh"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static thread_local char spw_cuda_errbuf[512];
static unsigned long long spw_cuda_launches;

extern "C" const char *spw_cuda_last_error(void) { return spw_cuda_errbuf; }

spw_status spw_cuda_set_error(spw_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(spw_cuda_errbuf, sizeof spw_cuda_errbuf, fmt, ap);
    va_end(ap);
    return s;
}

spw_status spw_cuda_check(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return SPW_OK;
    cudaGetLastError(); /* clear non-sticky errors */
    return spw_cuda_set_error(SPW_ERR_CUDA, "%s: CUDA error %d (%s)", what, (int)e,
                              cudaGetErrorString(e));
}

void spw_cuda_count_launch(uint64_t n) { __atomic_fetch_add(&spw_cuda_launches, n, __ATOMIC_RELAXED); }

extern "C" uint64_t spw_cuda_kernel_launches(void)
{
    return __atomic_load_n(&spw_cuda_launches, __ATOMIC_RELAXED);
}

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

static uint64_t g_h2d, g_d2h; /* bytes copied, by direction */

extern "C" spw_status spw_cuda_stream_create(spw_cuda_stream *out)
{
    if (!out) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_stream_create: out is NULL");
    cudaStream_t s;
    SPW_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    *out = s;
    return SPW_OK;
}

extern "C" void spw_cuda_stream_destroy(spw_cuda_stream s)
{
    if (s) cudaStreamDestroy(s);
}

extern "C" spw_status spw_cuda_stream_sync(spw_cuda_stream s)
{
    SPW_CUDA_TRY(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_memcpy_async(void *dst, const void *src, size_t bytes,
                                            spw_cuda_stream s)
{
    if (!bytes) return SPW_OK;
    if (!dst || !src) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_memcpy_async: NULL pointer");
    SPW_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s), "cudaMemcpyAsync");
    cudaPointerAttributes ad, as;
    if (cudaPointerGetAttributes(&ad, dst) == cudaSuccess &&
        cudaPointerGetAttributes(&as, src) == cudaSuccess) {
        int dd = ad.type == cudaMemoryTypeDevice, sd = as.type == cudaMemoryTypeDevice;
        if (dd && !sd) __atomic_add_fetch(&g_h2d, (uint64_t)bytes, __ATOMIC_RELAXED);
        if (sd && !dd) __atomic_add_fetch(&g_d2h, (uint64_t)bytes, __ATOMIC_RELAXED);
    }
    cudaGetLastError();
    return SPW_OK;
}

extern "C" uint64_t spw_cuda_copied_h2d(void) { return __atomic_load_n(&g_h2d, __ATOMIC_RELAXED); }
extern "C" uint64_t spw_cuda_copied_d2h(void) { return __atomic_load_n(&g_d2h, __ATOMIC_RELAXED); }

extern "C" spw_status spw_cuda_event_create(spw_cuda_event *out)
{
    if (!out) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_event_create: out is NULL");
    cudaEvent_t e;
    SPW_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
    *out = e;
    return SPW_OK;
}

extern "C" void spw_cuda_event_destroy(spw_cuda_event e)
{
    if (e) cudaEventDestroy(e);
}

extern "C" spw_status spw_cuda_event_record(spw_cuda_event e, spw_cuda_stream s)
{
    SPW_CUDA_TRY(cudaEventRecord(e, s), "cudaEventRecord");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_stream_wait_event(spw_cuda_stream s, spw_cuda_event e)
{
    SPW_CUDA_TRY(cudaStreamWaitEvent(s, e, 0), "cudaStreamWaitEvent");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_event_sync(spw_cuda_event e)
{
    SPW_CUDA_TRY(cudaEventSynchronize(e), "cudaEventSynchronize");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_memset_async(void *d_dst, int value, size_t bytes, spw_cuda_stream s)
{
    if (!bytes) return SPW_OK;
    if (!d_dst) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_memset_async: NULL pointer");
    SPW_CUDA_TRY(cudaMemsetAsync(d_dst, value, bytes, s), "cudaMemsetAsync");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_host_alloc(void **out, size_t bytes)
{
    if (!out) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_host_alloc: out is NULL");
    *out = NULL;
    if (!bytes) return SPW_OK;
    if (cudaHostAlloc(out, bytes, cudaHostAllocPortable) != cudaSuccess) {
        cudaGetLastError();
        *out = NULL;
        return spw_cuda_set_error(SPW_ERR_NOMEM, "cudaHostAlloc of %zu bytes failed", bytes);
    }
    return SPW_OK;
}

extern "C" void spw_cuda_host_free(void *p)
{
    if (p) cudaFreeHost(p);
}
