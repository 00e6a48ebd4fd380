// arena.cu - the device memory arena: every device allocation of the
// backend comes from here, so the VRAM budget is enforced by construction
// and the peak is measured, not estimated.
//
// Design: one cudaMalloc of the whole budget at creation (the driver can
// then never run out under us), first-fit sub-allocation over a sorted
// array of segments (offset, size, used), 256-byte granularity, coalescing
// of free neighbours. The segment array lives on the host; the number of
// live allocations of a prover is small (tens), so linear scans are fine.
#include "cuda_internal.cuh"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 256u

struct seg {
    uint64_t off, size;
    int used;
};

struct spw_cuda_arena {
    pthread_mutex_t mu;
    char *base;
    uint64_t budget, in_use, peak;
    struct seg *segs;
    size_t nsegs, cap;
    spw_cuda_twiddles tw;
    int have_tw;
};

static int seg_insert(spw_cuda_arena *a, size_t at, struct seg s)
{
    if (a->nsegs == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        struct seg *n = (struct seg *)realloc(a->segs, nc * sizeof *n);
        if (!n) return -1;
        a->segs = n;
        a->cap = nc;
    }
    memmove(a->segs + at + 1, a->segs + at, (a->nsegs - at) * sizeof *a->segs);
    a->segs[at] = s;
    a->nsegs++;
    return 0;
}

static void seg_remove(spw_cuda_arena *a, size_t at)
{
    memmove(a->segs + at, a->segs + at + 1, (a->nsegs - at - 1) * sizeof *a->segs);
    a->nsegs--;
}

static uint64_t largest_free_locked(const spw_cuda_arena *a)
{
    uint64_t m = 0;
    for (size_t i = 0; i < a->nsegs; i++)
        if (!a->segs[i].used && a->segs[i].size > m) m = a->segs[i].size;
    return m;
}

extern "C" spw_status spw_cuda_arena_create(spw_cuda_arena **out, uint64_t budget)
{
    if (!out) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_arena_create: out is NULL");
    *out = NULL;
    budget &= ~(uint64_t)(ARENA_ALIGN - 1);
    if (budget < ARENA_ALIGN)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "device arena: budget below %u bytes",
                                  ARENA_ALIGN);
    if (spw_cuda_device_count() <= 0)
        return spw_cuda_set_error(SPW_ERR_NO_CUDA, "device arena: no CUDA device");
    spw_cuda_arena *a = (spw_cuda_arena *)calloc(1, sizeof *a);
    if (!a) return spw_cuda_set_error(SPW_ERR_NOMEM, "device arena: out of host memory");
    pthread_mutex_init(&a->mu, NULL);
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, budget);
    if (e != cudaSuccess) {
        cudaGetLastError();
        size_t f = 0, t = 0;
        cudaMemGetInfo(&f, &t);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return spw_cuda_set_error(SPW_ERR_DEVICE_OOM,
                                  "device arena: cannot reserve a budget of %llu bytes "
                                  "(device has %zu of %zu bytes free; %s)",
                                  (unsigned long long)budget, f, t, cudaGetErrorString(e));
    }
    a->base = (char *)p;
    a->budget = budget;
    struct seg s = {0, budget, 0};
    if (seg_insert(a, 0, s)) {
        cudaFree(p);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return spw_cuda_set_error(SPW_ERR_NOMEM, "device arena: out of host memory");
    }
    *out = a;
    return SPW_OK;
}

extern "C" void spw_cuda_arena_destroy(spw_cuda_arena *a)
{
    if (!a) return;
    cudaDeviceSynchronize(); /* no kernel may still use the block */
    cudaFree(a->base);
    free(a->segs);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

extern "C" spw_status spw_cuda_arena_alloc(spw_cuda_arena *a, void **d_out, uint64_t bytes)
{
    if (!a || !d_out) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_arena_alloc: NULL argument");
    *d_out = NULL;
    if (!bytes) return SPW_OK;
    if (bytes > a->budget)
        return spw_cuda_set_error(SPW_ERR_DEVICE_OOM,
                                  "device arena: request of %llu bytes exceeds the budget of "
                                  "%llu bytes",
                                  (unsigned long long)bytes, (unsigned long long)a->budget);
    uint64_t need = (bytes + ARENA_ALIGN - 1) & ~(uint64_t)(ARENA_ALIGN - 1);
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nsegs; i++) {
        struct seg *s = &a->segs[i];
        if (s->used || s->size < need) continue;
        if (s->size > need) {
            struct seg rest = {s->off + need, s->size - need, 0};
            if (seg_insert(a, i + 1, rest)) {
                pthread_mutex_unlock(&a->mu);
                return spw_cuda_set_error(SPW_ERR_NOMEM, "device arena: out of host memory");
            }
            s = &a->segs[i]; /* realloc may have moved it */
            s->size = need;
        }
        s->used = 1;
        a->in_use += need;
        if (a->in_use > a->peak) a->peak = a->in_use;
        *d_out = a->base + s->off;
        pthread_mutex_unlock(&a->mu);
        return SPW_OK;
    }
    uint64_t lf = largest_free_locked(a), used = a->in_use;
    pthread_mutex_unlock(&a->mu);
    return spw_cuda_set_error(SPW_ERR_DEVICE_OOM,
                              "device arena: request of %llu bytes does not fit (in use %llu of "
                              "budget %llu bytes, largest free block %llu)",
                              (unsigned long long)bytes, (unsigned long long)used,
                              (unsigned long long)a->budget, (unsigned long long)lf);
}

extern "C" spw_status spw_cuda_arena_free(spw_cuda_arena *a, void *d_ptr)
{
    if (!d_ptr) return SPW_OK;
    if (!a) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_arena_free: arena is NULL");
    char *p = (char *)d_ptr;
    if (p < a->base || p >= a->base + a->budget)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "device arena: %p is not from this arena",
                                  d_ptr);
    uint64_t off = (uint64_t)(p - a->base);
    pthread_mutex_lock(&a->mu);
    size_t lo = 0, hi = a->nsegs; /* binary search by offset */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->segs[mid].off < off) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= a->nsegs || a->segs[lo].off != off || !a->segs[lo].used) {
        pthread_mutex_unlock(&a->mu);
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG,
                                  "device arena: %p is not a live allocation (double free?)", d_ptr);
    }
    size_t i = lo;
    a->segs[i].used = 0;
    a->in_use -= a->segs[i].size;
    if (i + 1 < a->nsegs && !a->segs[i + 1].used) {
        a->segs[i].size += a->segs[i + 1].size;
        seg_remove(a, i + 1);
    }
    if (i > 0 && !a->segs[i - 1].used) {
        a->segs[i - 1].size += a->segs[i].size;
        seg_remove(a, i);
    }
    pthread_mutex_unlock(&a->mu);
    return SPW_OK;
}

extern "C" uint64_t spw_cuda_arena_budget(const spw_cuda_arena *a) { return a ? a->budget : 0; }

extern "C" uint64_t spw_cuda_arena_in_use(const spw_cuda_arena *a)
{
    if (!a) return 0;
    pthread_mutex_lock(&((spw_cuda_arena *)a)->mu);
    uint64_t v = a->in_use;
    pthread_mutex_unlock(&((spw_cuda_arena *)a)->mu);
    return v;
}

extern "C" uint64_t spw_cuda_arena_peak(const spw_cuda_arena *a)
{
    if (!a) return 0;
    pthread_mutex_lock(&((spw_cuda_arena *)a)->mu);
    uint64_t v = a->peak;
    pthread_mutex_unlock(&((spw_cuda_arena *)a)->mu);
    return v;
}

extern "C" uint64_t spw_cuda_arena_largest_free(const spw_cuda_arena *a)
{
    if (!a) return 0;
    pthread_mutex_lock(&((spw_cuda_arena *)a)->mu);
    uint64_t v = largest_free_locked(a);
    pthread_mutex_unlock(&((spw_cuda_arena *)a)->mu);
    return v;
}

extern "C" void spw_cuda_arena_reset_peak(spw_cuda_arena *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->peak = a->in_use;
    pthread_mutex_unlock(&a->mu);
}

spw_status spw_cuda_arena_twiddles(spw_cuda_arena *a, const spw_cuda_twiddles **out)
{
    pthread_mutex_lock(&a->mu);
    int have = a->have_tw;
    pthread_mutex_unlock(&a->mu);
    if (!have) {
        /* Built outside the lock (it allocates from the arena); a racing
         * second builder frees its copy. */
        spw_cuda_twiddles tw;
        spw_status st = spw_cuda_build_twiddles(a, &tw);
        if (st != SPW_OK) return st;
        pthread_mutex_lock(&a->mu);
        if (!a->have_tw) {
            a->tw = tw;
            a->have_tw = 1;
            pthread_mutex_unlock(&a->mu);
        } else {
            pthread_mutex_unlock(&a->mu);
            spw_cuda_arena_free(a, tw.fwd_lo);
        }
    }
    *out = &a->tw;
    return SPW_OK;
}
