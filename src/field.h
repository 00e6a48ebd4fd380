/*
 * field.h - Goldilocks (p = 2^64 - 2^32 + 1) and its cubic extension
 * F_p[w]/(w^3 - 2), header-only so that CPU code and CUDA device code share
 * one definition (SPW_HD expands to __host__ __device__ under nvcc).
 *
 * Every function takes and returns canonical values (< p).
 */
#ifndef SPW_FIELD_H
#define SPW_FIELD_H

#include <stdint.h>
#include <stddef.h>

#ifdef __CUDACC__
#define SPW_HD __host__ __device__ __forceinline__
#else
#define SPW_HD static inline
#endif

#define GL_P 0xFFFFFFFF00000001ULL
#define GL_EPS 0xFFFFFFFFULL /* 2^64 - p = 2^32 - 1 */
#define GL_GENERATOR 7ULL    /* generator of the multiplicative group */
#define GL_TWO_ADICITY 32

typedef struct fe3 { uint64_t c[3]; } fe3; /* c0 + c1 w + c2 w^2 */

SPW_HD uint64_t gl_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    /* carry out of 64 bits, or s >= p: subtract p (== add EPS mod 2^64) */
    uint64_t c = (s < a);
    s += c * GL_EPS;
    if (s >= GL_P) s -= GL_P;
    return s;
}

SPW_HD uint64_t gl_sub(uint64_t a, uint64_t b)
{
    uint64_t d = a - b;
    if (a < b) d -= GL_EPS; /* borrow: add p == subtract EPS mod 2^64 */
    return d;
}

SPW_HD uint64_t gl_neg(uint64_t a) { return a ? GL_P - a : 0; }

/* Reduces the 128-bit value hi:lo modulo p to a canonical value.
 * Branch-free: the carries are data-dependent and mispredict about half the
 * time on random data, which doubled the cost of an NTT butterfly. */
SPW_HD uint64_t gl_reduce128(uint64_t lo, uint64_t hi)
{
    uint64_t hi_hi = hi >> 32, hi_lo = hi & GL_EPS;
    /* 2^64 = EPS, 2^96 = -1 (mod p) */
    uint64_t t0 = lo - hi_hi;
    t0 -= GL_EPS & (0 - (uint64_t)(lo < hi_hi));
    uint64_t t1 = (hi_lo << 32) - hi_lo; /* hi_lo * EPS, < 2^64 */
    uint64_t r = t0 + t1;
    r += GL_EPS & (0 - (uint64_t)(r < t1));
    return r >= GL_P ? r - GL_P : r;
}

SPW_HD uint64_t gl_mul(uint64_t a, uint64_t b)
{
#ifdef __CUDA_ARCH__
    return gl_reduce128(a * b, __umul64hi(a, b));
#else
    unsigned __int128 x = (unsigned __int128)a * b;
    return gl_reduce128((uint64_t)x, (uint64_t)(x >> 64));
#endif
}

SPW_HD uint64_t gl_sqr(uint64_t a) { return gl_mul(a, a); }

SPW_HD uint64_t gl_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1) r = gl_mul(r, a);
        a = gl_mul(a, a);
        e >>= 1;
    }
    return r;
}

/* Inverse by Fermat; gl_inv(0) = 0 (callers that care must check). */
SPW_HD uint64_t gl_inv(uint64_t a) { return gl_pow(a, GL_P - 2); }

/* A primitive 2^log_n-th root of unity (log_n <= 32). */
SPW_HD uint64_t gl_root_of_unity(unsigned log_n)
{
    return gl_pow(GL_GENERATOR, (GL_P - 1) >> log_n);
}

/* Reduces an arbitrary u64 (e.g. from a hash) into the field. */
SPW_HD uint64_t gl_from_u64(uint64_t x) { return x >= GL_P ? x - GL_P : x; }

/* ---- cubic extension, w^3 = 2 ---- */

SPW_HD fe3 fe3_make(uint64_t c0, uint64_t c1, uint64_t c2)
{
    fe3 r; r.c[0] = c0; r.c[1] = c1; r.c[2] = c2; return r;
}
SPW_HD fe3 fe3_from_base(uint64_t a) { return fe3_make(a, 0, 0); }
SPW_HD fe3 fe3_zero(void) { return fe3_make(0, 0, 0); }
SPW_HD fe3 fe3_one(void) { return fe3_make(1, 0, 0); }
SPW_HD int fe3_eq(fe3 a, fe3 b)
{
    return a.c[0] == b.c[0] && a.c[1] == b.c[1] && a.c[2] == b.c[2];
}
SPW_HD int fe3_is_zero(fe3 a) { return (a.c[0] | a.c[1] | a.c[2]) == 0; }

SPW_HD fe3 fe3_add(fe3 a, fe3 b)
{
    return fe3_make(gl_add(a.c[0], b.c[0]), gl_add(a.c[1], b.c[1]), gl_add(a.c[2], b.c[2]));
}
SPW_HD fe3 fe3_sub(fe3 a, fe3 b)
{
    return fe3_make(gl_sub(a.c[0], b.c[0]), gl_sub(a.c[1], b.c[1]), gl_sub(a.c[2], b.c[2]));
}
SPW_HD fe3 fe3_neg(fe3 a) { return fe3_make(gl_neg(a.c[0]), gl_neg(a.c[1]), gl_neg(a.c[2])); }
SPW_HD fe3 fe3_mul_base(fe3 a, uint64_t b)
{
    return fe3_make(gl_mul(a.c[0], b), gl_mul(a.c[1], b), gl_mul(a.c[2], b));
}
SPW_HD fe3 fe3_add_base(fe3 a, uint64_t b) { a.c[0] = gl_add(a.c[0], b); return a; }

SPW_HD uint64_t gl_dbl(uint64_t a) { return gl_add(a, a); }

SPW_HD fe3 fe3_mul(fe3 a, fe3 b)
{
    uint64_t a0b0 = gl_mul(a.c[0], b.c[0]), a1b1 = gl_mul(a.c[1], b.c[1]);
    uint64_t a2b2 = gl_mul(a.c[2], b.c[2]);
    uint64_t a1b2_a2b1 = gl_add(gl_mul(a.c[1], b.c[2]), gl_mul(a.c[2], b.c[1]));
    uint64_t a0b1_a1b0 = gl_add(gl_mul(a.c[0], b.c[1]), gl_mul(a.c[1], b.c[0]));
    uint64_t a0b2_a2b0 = gl_add(gl_mul(a.c[0], b.c[2]), gl_mul(a.c[2], b.c[0]));
    return fe3_make(gl_add(a0b0, gl_dbl(a1b2_a2b1)),
                    gl_add(a0b1_a1b0, gl_dbl(a2b2)),
                    gl_add(a0b2_a2b0, a1b1));
}
SPW_HD fe3 fe3_sqr(fe3 a) { return fe3_mul(a, a); }

SPW_HD fe3 fe3_pow(fe3 a, uint64_t e)
{
    fe3 r = fe3_one();
    while (e) {
        if (e & 1) r = fe3_mul(r, a);
        a = fe3_sqr(a);
        e >>= 1;
    }
    return r;
}

/* Inverse through the adjugate: for a = a0 + a1 w + a2 w^2 with w^3 = 2,
 * c = (a0^2 - 2 a1 a2, 2 a2^2 - a0 a1, a1^2 - a0 a2) satisfies a*c = N in F_p
 * with N = a0 c0 + 2 (a1 c2 + a2 c1). fe3_inv(0) = 0. */
SPW_HD fe3 fe3_inv(fe3 a)
{
    uint64_t c0 = gl_sub(gl_sqr(a.c[0]), gl_dbl(gl_mul(a.c[1], a.c[2])));
    uint64_t c1 = gl_sub(gl_dbl(gl_sqr(a.c[2])), gl_mul(a.c[0], a.c[1]));
    uint64_t c2 = gl_sub(gl_sqr(a.c[1]), gl_mul(a.c[0], a.c[2]));
    uint64_t n = gl_add(gl_mul(a.c[0], c0),
                        gl_dbl(gl_add(gl_mul(a.c[1], c2), gl_mul(a.c[2], c1))));
    uint64_t ni = gl_inv(n);
    return fe3_make(gl_mul(c0, ni), gl_mul(c1, ni), gl_mul(c2, ni));
}

/* Batch inversion (Montgomery's trick) on the host; zeros map to zero.
 * scratch must hold n values; out may alias in. */
void gl_batch_inv(uint64_t *out, const uint64_t *in, size_t n, uint64_t *scratch);
void fe3_batch_inv(fe3 *out, const fe3 *in, size_t n, fe3 *scratch);

#endif /* SPW_FIELD_H */
