// device.cu - device discovery, error reporting, launch counting, streams,
// copies (counted and timed per direction for the run statistics) and
// pinned host memory for the CUDA backend.
#include "cuda_internal.cuh"
#include <mutex>
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

/* ---- host <-> device copy counters ----
 * Bytes are counted when a copy is queued. Its duration comes from two
 * timing events recorded around it on its stream; the pairs wait in a ring
 * and are read when the ring is full (the oldest, long finished in practice)
 * or when spw_cuda_copy_totals() is called (after the caller's sync). */
namespace {
const unsigned kRing = 256;
struct copy_rec {
    cudaEvent_t a, b;
    int dir;
};
std::mutex g_copy_mu;
copy_rec g_ring[kRing];
unsigned g_head, g_pending;
bool g_ring_ok = true;
unsigned long long g_bytes[2];
double g_seconds[2];

/* the oldest pending pair: waits for it, adds its time; lock held */
void harvest_oldest()
{
    copy_rec &r = g_ring[g_head];
    float ms = 0;
    if (cudaEventSynchronize(r.b) == cudaSuccess && cudaEventElapsedTime(&ms, r.a, r.b) == cudaSuccess)
        g_seconds[r.dir] += ms * 1e-3;
    else
        cudaGetLastError();
    g_head = (g_head + 1) % kRing;
    g_pending--;
}

bool on_device(const void *p)
{
    cudaPointerAttributes at;
    if (cudaPointerGetAttributes(&at, p) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    return at.type == cudaMemoryTypeDevice || at.type == cudaMemoryTypeManaged;
}
} // namespace

cudaError_t spw_cuda_copy_counted(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                  cudaStream_t s)
{
    int dir = -1;
    if (kind == cudaMemcpyHostToDevice) dir = 0;
    else if (kind == cudaMemcpyDeviceToHost) dir = 1;
    else if (kind == cudaMemcpyDefault) {
        bool dd = on_device(dst), sd = on_device(src);
        dir = dd && !sd ? 0 : sd && !dd ? 1 : -1;
    }
    if (dir < 0 || !bytes) return cudaMemcpyAsync(dst, src, bytes, kind, s);
    std::lock_guard<std::mutex> lk(g_copy_mu);
    g_bytes[dir] += bytes;
    copy_rec *r = NULL;
    if (g_ring_ok) {
        if (g_pending == kRing) harvest_oldest();
        r = &g_ring[(g_head + g_pending) % kRing];
        if (!r->a && (cudaEventCreate(&r->a) != cudaSuccess || cudaEventCreate(&r->b) != cudaSuccess)) {
            cudaGetLastError();
            g_ring_ok = false; /* bytes only from now on */
            r = NULL;
        }
    }
    if (r && cudaEventRecord(r->a, s) != cudaSuccess) {
        cudaGetLastError();
        r = NULL;
    }
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, s);
    if (r && e == cudaSuccess) {
        if (cudaEventRecord(r->b, s) == cudaSuccess) {
            r->dir = dir;
            g_pending++;
        } else {
            cudaGetLastError();
        }
    }
    return e;
}

extern "C" void spw_cuda_copy_totals(spw_cuda_copy_stats *out)
{
    std::lock_guard<std::mutex> lk(g_copy_mu);
    while (g_pending) harvest_oldest();
    out->h2d_bytes = g_bytes[0];
    out->d2h_bytes = g_bytes[1];
    out->h2d_seconds = g_seconds[0];
    out->d2h_seconds = g_seconds[1];
}

extern "C" uint64_t spw_cuda_bytes_h2d(void)
{
    std::lock_guard<std::mutex> lk(g_copy_mu);
    return g_bytes[0];
}

extern "C" uint64_t spw_cuda_bytes_d2h(void)
{
    std::lock_guard<std::mutex> lk(g_copy_mu);
    return g_bytes[1];
}

extern "C" spw_status spw_cuda_memcpy_async(void *dst, const void *src, size_t bytes,
                                            spw_cuda_stream s)
{
    if (!bytes) return SPW_OK;
    if (!dst || !src) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_memcpy_async: NULL pointer");
    cudaError_t e = spw_cuda_copy_counted(dst, src, bytes, cudaMemcpyDefault, s);
    if (e != cudaSuccess) {
        char what[160];
        snprintf(what, sizeof what, "cudaMemcpyAsync(dst %p%s, src %p%s, %zu bytes)", dst,
                 on_device(dst) ? " (device)" : "", src, on_device(src) ? " (device)" : "", bytes);
        return spw_cuda_check(e, what);
    }
    return SPW_OK;
}

extern "C" spw_status spw_cuda_memcpy2d_async(void *dst, size_t dpitch, const void *src,
                                              size_t spitch, size_t width, size_t height,
                                              spw_cuda_stream s)
{
    if (!width || !height) return SPW_OK;
    if (!dst || !src) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_memcpy2d_async: NULL pointer");
    bool dd = on_device(dst), sd = on_device(src);
    if (dd != sd) {
        std::lock_guard<std::mutex> lk(g_copy_mu);
        g_bytes[dd ? 0 : 1] += (unsigned long long)width * height;
    }
    cudaError_t e = cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, cudaMemcpyDefault, s);
    if (e != cudaSuccess) {
        char what[200];
        snprintf(what, sizeof what, "cudaMemcpy2DAsync(dst %p%s pitch %zu, src %p%s pitch %zu, %zu x %zu bytes)",
                 dst, dd ? " (device)" : "", dpitch, src, sd ? " (device)" : "", spitch, height, width);
        return spw_cuda_check(e, what);
    }
    return SPW_OK;
}

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
