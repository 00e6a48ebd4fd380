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
    int failed;
} pool_seg_job;

/* Segments [b, e): one byte written per 4 KiB page (page-locking faults
 * pages in on one thread otherwise), then the segment registered. */
static void pool_seg_register(void *arg, size_t b, size_t e)
{
    pool_seg_job *j = arg;
    for (size_t k = b; k < e; k++) {
        uint64_t o = (uint64_t)k * j->seg, l = j->len - o < j->seg ? j->len - o : j->seg;
        for (uint64_t off = 0; off < l; off += 4096) ((volatile uint8_t *)j->base)[o + off] = 0;
        if (spw_cuda_host_register(j->base + o, l) != SPW_OK) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    }
}

static void pool_seg_unregister(void *arg, size_t b, size_t e)
{
    pool_seg_job *j = arg;
    for (size_t k = b; k < e; k++) spw_cuda_host_unregister(j->base + (uint64_t)k * j->seg);
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
        pool_seg_job j = {p->base, p->len, SPW_POOL_SEG, 0};
        size_t nseg = (size_t)((len + SPW_POOL_SEG - 1) / SPW_POOL_SEG);
        spw_parallel_for(ctx, nseg, 1, pool_seg_register, &j);
        p->seg = SPW_POOL_SEG;
        if (j.failed) {
            spw_pool_destroy(p); /* unregistering a segment that failed is harmless */
            return spw_fail(ctx, SPW_ERR_CUDA, "pinned host pool: cudaHostRegister of %llu bytes "
                            "(segments of %llu MiB) failed", (unsigned long long)len,
                            (unsigned long long)(SPW_POOL_SEG >> 20));
        }
        p->cuda_registered = 1;
    }
#else
    (void)register_cuda;
#endif
    return SPW_OK;
}

void spw_pool_destroy(spw_pool *p)
{
    if (!p || !p->base) return;
#ifdef SPW_HAVE_CUDA
    if (p->seg) {
        pool_seg_job j = {p->base, p->len, p->seg, 0};
        size_t nseg = (size_t)((p->len + p->seg - 1) / p->seg);
        for (size_t k = 0; k < nseg; k++) pool_seg_unregister(&j, k, k + 1);
    }
#endif
    munmap(p->base, p->len);
    memset(p, 0, sizeof *p);
}
