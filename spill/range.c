/*
 * range.c - first-fit range allocator over a sorted, coalesced free list.
 * Sub-allocates the pinned host pool and the extents of the spill file.
 * Not thread-safe: the store calls it under its lock.
 */
#include "spill_io.h"

#include <stdlib.h>
#include <string.h>

spw_status spw_ranges_init(spw_ranges *r, uint64_t total)
{
    memset(r, 0, sizeof *r);
    r->cap = 16;
    r->free = malloc(r->cap * sizeof *r->free);
    if (!r->free) return SPW_ERR_NOMEM;
    r->total = total;
    if (total) r->free[r->n++] = (spw_range){0, total};
    return SPW_OK;
}

void spw_ranges_destroy(spw_ranges *r)
{
    free(r->free);
    memset(r, 0, sizeof *r);
}

static int insert_at(spw_ranges *r, size_t i, spw_range v)
{
    if (r->n == r->cap) {
        size_t nc = r->cap * 2;
        spw_range *nf = realloc(r->free, nc * sizeof *nf);
        if (!nf) return -1;
        r->free = nf;
        r->cap = nc;
    }
    memmove(r->free + i + 1, r->free + i, (r->n - i) * sizeof *r->free);
    r->free[i] = v;
    r->n++;
    return 0;
}

static void remove_at(spw_ranges *r, size_t i)
{
    memmove(r->free + i, r->free + i + 1, (r->n - i - 1) * sizeof *r->free);
    r->n--;
}

int spw_ranges_alloc(spw_ranges *r, uint64_t *off, uint64_t len, uint64_t align)
{
    if (!len || !align) return -1;
    for (size_t i = 0; i < r->n; i++) {
        spw_range f = r->free[i];
        uint64_t start = (f.off + align - 1) / align * align;
        if (r->seg && len <= r->seg && start / r->seg != (start + len - 1) / r->seg)
            start = ((start / r->seg + 1) * r->seg + align - 1) / align * align; /* the next one */
        if (start < f.off || start - f.off > f.len || f.len - (start - f.off) < len) continue;
        uint64_t head = start - f.off, tail = f.len - head - len;
        if (head && tail) {
            if (insert_at(r, i + 1, (spw_range){start + len, tail})) return -1;
            r->free[i].len = head;
        } else if (head) {
            r->free[i].len = head;
        } else if (tail) {
            r->free[i] = (spw_range){start + len, tail};
        } else {
            remove_at(r, i);
        }
        r->used += len;
        if (r->used > r->peak) r->peak = r->used;
        *off = start;
        return 0;
    }
    return -1;
}

void spw_ranges_free(spw_ranges *r, uint64_t off, uint64_t len)
{
    if (!len) return;
    size_t lo = 0, hi = r->n; /* first range with .off > off */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->free[mid].off > off) hi = mid;
        else lo = mid + 1;
    }
    size_t i = lo;
    r->used -= len;
    int merge_prev = i > 0 && r->free[i - 1].off + r->free[i - 1].len == off;
    int merge_next = i < r->n && off + len == r->free[i].off;
    if (merge_prev && merge_next) {
        r->free[i - 1].len += len + r->free[i].len;
        remove_at(r, i);
    } else if (merge_prev) {
        r->free[i - 1].len += len;
    } else if (merge_next) {
        r->free[i].off = off;
        r->free[i].len += len;
    } else if (insert_at(r, i, (spw_range){off, len})) {
        /* Out of memory for the list: the range is leaked (accounting kept
         * honest by counting it as used). */
        r->used += len;
    }
}

uint64_t spw_ranges_largest(const spw_ranges *r)
{
    uint64_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->free[i].len > m) m = r->free[i].len;
    return m;
}
