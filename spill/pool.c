/*
 * pool.c - the pinned host pool: one anonymous mmap sized by the host
 * budget, made at start and sub-allocated by the store. With the CUDA
 * backend compiled in and a GPU present it is cudaHostRegister'ed, so
 * device transfers never start from pageable memory; the NVMe engine
 * registers the same memory as io_uring fixed buffers.
 */
#include "spill_io.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#ifdef SPW_HAVE_CUDA
#include "cuda_api.h"
#include "pinned_api.h"
#endif

#ifdef SPW_HAVE_CUDA
typedef struct pool_seg_job {
    uint8_t *base;
    uint64_t len, seg;
    size_t k0;           /* first segment of the job's range */
    int failed;
} pool_seg_job;

/* 2 MiB blocks [b, e) of the job's segments: one byte written per 4 KiB
 * page (page-locking faults pages in on one thread otherwise). */
static void pool_seg_touch(void *arg, size_t b, size_t e)
{
    pool_seg_job *j = arg;
    uint64_t o0 = (uint64_t)j->k0 * j->seg;
    for (uint64_t off = o0 + ((uint64_t)b << 21); off < o0 + ((uint64_t)e << 21) && off < j->len; off += 4096)
        ((volatile uint8_t *)j->base)[off] = 0;
}

/* Segments [k0 + b, k0 + e) registered, one thread each. */
static void pool_seg_register(void *arg, size_t b, size_t e)
{
    pool_seg_job *j = arg;
    for (size_t k = j->k0 + b; k < j->k0 + e; k++) {
        uint64_t o = (uint64_t)k * j->seg, l = j->len - o < j->seg ? j->len - o : j->seg;
        if (spw_cuda_host_register(j->base + o, l) != SPW_OK) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    }
}

#endif

spw_status spw_pool_create(const spw_ctx *ctx, spw_pool *p, uint64_t len, int register_cuda)
{
    memset(p, 0, sizeof *p);
    if (!len) return SPW_OK;
    const uint64_t huge = 2u << 20;
    len = (len + huge - 1) / huge * huge;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED)
        return spw_fail(ctx, SPW_ERR_NOMEM, "pinned host pool: mmap of %llu bytes failed: %s",
                        (unsigned long long)len, strerror(errno));
    madvise(m, len, MADV_HUGEPAGE);
    p->base = m;
    p->len = len;
#ifdef SPW_HAVE_CUDA
    if (register_cuda && spw_cuda_device_count() > 0) {
        p->seg = SPW_POOL_SEG;
        p->nseg = (len + SPW_POOL_SEG - 1) / SPW_POOL_SEG;
        p->ctx = ctx;
        p->cuda_registered = 1; /* every chunk the store hands out is (spw_pool_ensure) */
    }
#else
    (void)register_cuda;
#endif
    return SPW_OK;
}

spw_status spw_pool_ensure(spw_pool *p, uint64_t end)
{
#ifdef SPW_HAVE_CUDA
    if (!p->seg || !end) return SPW_OK;
    uint64_t k = (end + p->seg - 1) / p->seg;
    if (k <= p->nreg) return SPW_OK;
    if (k < p->nreg + SPW_POOL_AHEAD) k = p->nreg + SPW_POOL_AHEAD;
    if (k > p->nseg) k = p->nseg;
    double t0 = spw_now();
    pool_seg_job j = {p->base, p->len, p->seg, (size_t)p->nreg, 0};
    uint64_t bytes = (k * p->seg < p->len ? k * p->seg : p->len) - p->nreg * p->seg;
    spw_parallel_for(p->ctx, (size_t)((bytes + (2u << 20) - 1) >> 21), 16, pool_seg_touch, &j);
    spw_parallel_for(p->ctx, (size_t)(k - p->nreg), 1, pool_seg_register, &j);
    if (j.failed) { /* leave nreg: the failed range is unregistered again at destroy (harmless) */
        for (uint64_t i = p->nreg; i < k; i++) spw_cuda_host_unregister(p->base + i * p->seg);
        return spw_fail(p->ctx, SPW_ERR_CUDA, "pinned host pool: cudaHostRegister of segments "
                        "%llu..%llu (%llu MiB each) failed", (unsigned long long)p->nreg,
                        (unsigned long long)(k - 1), (unsigned long long)(p->seg >> 20));
    }
    p->nreg = k;
    p->ensure_s += spw_now() - t0;
#else
    (void)p, (void)end;
#endif
    return SPW_OK;
}

#ifdef SPW_HAVE_CUDA
/* Registered segments [b, e): unregistered and unmapped, one thread each
 * (one thread took about half a second for the 13 GiB of synth xl). */
static void pool_seg_release(void *arg, size_t b, size_t e)
{
    pool_seg_job *j = arg;
    for (size_t k = b; k < e; k++) {
        uint64_t o = (uint64_t)k * j->seg, l = j->len - o < j->seg ? j->len - o : j->seg;
        spw_cuda_host_unregister(j->base + o);
        munmap(j->base + o, l);
    }
}
#endif

void spw_pool_destroy(spw_pool *p)
{
    if (!p || !p->base) return;
#ifdef SPW_HAVE_CUDA
    if (p->seg && p->nreg) {
        pool_seg_job j = {p->base, p->len, p->seg, 0, 0};
        spw_parallel_for(p->ctx, (size_t)p->nreg, 1, pool_seg_release, &j);
        uint64_t done = p->nreg * p->seg < p->len ? p->nreg * p->seg : p->len;
        if (done < p->len) munmap(p->base + done, p->len - done);
        memset(p, 0, sizeof *p);
        return;
    }
#endif
    munmap(p->base, p->len);
    memset(p, 0, sizeof *p);
}
