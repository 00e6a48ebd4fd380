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
typedef struct pool_touch_job {
    uint8_t *base;
    uint64_t len;
} pool_touch_job;

/* Writes one byte of every 4 KiB page of 2 MiB blocks [b, e). */
static void pool_touch(void *arg, size_t b, size_t e)
{
    pool_touch_job *j = arg;
    for (uint64_t off = (uint64_t)b << 21; off < ((uint64_t)e << 21) && off < j->len; off += 4096)
        ((volatile uint8_t *)j->base)[off] = 0;
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
        /* page-locking faults every page in first, on one thread (~3 GB/s);
         * faulting them in on all the threads first makes it several times
         * faster */
        pool_touch_job tj = {p->base, p->len};
        spw_parallel_for(ctx, (size_t)((len + huge - 1) / huge), 1, pool_touch, &tj);
        spw_status s = spw_cuda_host_register(p->base, p->len);
        if (s != SPW_OK) {
            spw_pool_destroy(p);
            return spw_fail(ctx, s, "pinned host pool: cudaHostRegister of %llu bytes failed",
                            (unsigned long long)len);
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
    if (p->cuda_registered) spw_cuda_host_unregister(p->base);
#endif
    munmap(p->base, p->len);
    memset(p, 0, sizeof *p);
}
