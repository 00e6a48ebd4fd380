/*
 * gl_fast.h - a branch-free Goldilocks product for CPU hot loops (NTT
 * butterflies, batch inversion). Same value as gl_mul in field.h, whose
 * reduction branches on a 64-bit carry that is unpredictable on random
 * data (about half mispredicted; a factor of two in a butterfly loop).
 * Host only. Tested against unsigned __int128 arithmetic in test_ntt.
 */
#ifndef SPW_GL_FAST_H
#define SPW_GL_FAST_H

#include "field.h"

static inline uint64_t spw_gl_mul_bf(uint64_t a, uint64_t b)
{
    unsigned __int128 x = (unsigned __int128)a * b;
    uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
    uint64_t hh = hi >> 32, hl = hi & GL_EPS;
    uint64_t t0, r;
    uint64_t borrow = __builtin_sub_overflow(lo, hh, &t0); /* 2^96 = -1 */
    t0 -= GL_EPS & (0 - borrow);
    uint64_t t1 = (hl << 32) - hl; /* hl * 2^64 = hl * EPS */
    uint64_t carry = __builtin_add_overflow(t0, t1, &r);
    r += GL_EPS & (0 - carry);
    return r >= GL_P ? r - GL_P : r;
}

#endif
