/*
 * fe3_lazy.h - unreduced ext3 accumulation for the DEEP passes of the
 * in-memory and streaming provers (host only).
 *
 * Sums of gamma^k * f_k(x) are kept per point and coefficient as a 128-bit
 * total plus a count of its overflows (2^128 = p - 2^32 mod p), reduced once
 * per block: exact, so the values equal the reduced-every-step sums of the
 * reference path, byte for byte.
 */
#ifndef SPW_FE3_LAZY_H
#define SPW_FE3_LAZY_H

#include "field.h"

typedef struct spw_lazy3 {
    unsigned __int128 v[3];
    uint64_t ovf[3];
} spw_lazy3;

/* s[i] += g * v[i] for i < m. */
static inline void spw_lazy3_acc_col(spw_lazy3 *s, fe3 g, const uint64_t *v, size_t m)
{
    for (size_t i = 0; i < m; i++)
        for (int k = 0; k < 3; k++) {
            unsigned __int128 pr = (unsigned __int128)g.c[k] * v[i];
            s[i].v[k] += pr;
            s[i].ovf[k] += s[i].v[k] < pr;
        }
}

static inline fe3 spw_lazy3_reduce(const spw_lazy3 *s)
{
    static const uint64_t two128 = GL_P - (UINT64_C(1) << 32); /* 2^128 mod p */
    fe3 r;
    for (int k = 0; k < 3; k++) {
        uint64_t x = gl_reduce128((uint64_t)s->v[k], (uint64_t)(s->v[k] >> 64));
        r.c[k] = gl_add(x, gl_mul(gl_from_u64(s->ovf[k]), two128));
    }
    return r;
}

#endif
