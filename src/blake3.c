/*
 * blake3.c - the standard BLAKE3 hash (default hash mode, full tree mode,
 * 32-byte output), written from the specification.
 *
 * Layout of the code:
 *   - compress_cv(): the portable, fully unrolled compression function (the
 *     reference every faster path is tested against);
 *   - hash_chunks(): hashes several equal-length chunks ("lanes") at once;
 *     the portable version loops over lanes, the AVX2 version (x86-64, chosen
 *     at run time) runs 8 lanes in the 8 32-bit slots of 256-bit registers;
 *   - the incremental hasher (chunk state + chaining-value stack), the
 *     one-shot spw_blake3(), spw_blake3_many() for many equal-length
 *     messages, and the streaming building blocks chunk_cv/parent_cv.
 */
#include "blake3.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define SPW_B3_HAVE_AVX2 1
#include <immintrin.h>
#endif

/* ---- constants (from the BLAKE3 specification) ---- */

static const uint32_t B3_IV[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                  0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

enum {
    B3_CHUNK_START = 1 << 0,
    B3_CHUNK_END = 1 << 1,
    B3_PARENT = 1 << 2,
    B3_ROOT = 1 << 3,
};

/* Message word order of each of the 7 rounds: round r uses the permutation
 * {2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8} applied r times. */
static const uint8_t B3_SCHED[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* ---- helpers ---- */

static inline uint32_t load32_le(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline void store32_le(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}

static inline uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void cv_to_bytes(uint8_t out[32], const uint32_t cv[8])
{
    for (int i = 0; i < 8; i++) store32_le(out + 4 * i, cv[i]);
}

/* ---- portable compression function (the reference) ---- */

#define B3_G(a, b, c, d, x, y)        \
    do {                              \
        a = a + b + (x);              \
        d = rotr32(d ^ a, 16);        \
        c = c + d;                    \
        b = rotr32(b ^ c, 12);        \
        a = a + b + (y);              \
        d = rotr32(d ^ a, 8);         \
        c = c + d;                    \
        b = rotr32(b ^ c, 7);         \
    } while (0)

#define B3_ROUND(r)                                                        \
    do {                                                                   \
        B3_G(v0, v4, v8, v12, m[B3_SCHED[r][0]], m[B3_SCHED[r][1]]);       \
        B3_G(v1, v5, v9, v13, m[B3_SCHED[r][2]], m[B3_SCHED[r][3]]);       \
        B3_G(v2, v6, v10, v14, m[B3_SCHED[r][4]], m[B3_SCHED[r][5]]);      \
        B3_G(v3, v7, v11, v15, m[B3_SCHED[r][6]], m[B3_SCHED[r][7]]);      \
        B3_G(v0, v5, v10, v15, m[B3_SCHED[r][8]], m[B3_SCHED[r][9]]);      \
        B3_G(v1, v6, v11, v12, m[B3_SCHED[r][10]], m[B3_SCHED[r][11]]);    \
        B3_G(v2, v7, v8, v13, m[B3_SCHED[r][12]], m[B3_SCHED[r][13]]);     \
        B3_G(v3, v4, v9, v14, m[B3_SCHED[r][14]], m[B3_SCHED[r][15]]);     \
    } while (0)

/* cv <- first 8 words of compress(cv, block, counter, block_len, flags). */
static void compress_cv_words(uint32_t cv[8], const uint32_t m[16], uint64_t counter,
                              uint32_t block_len, uint32_t flags)
{
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3];
    uint32_t v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];
    uint32_t v8 = B3_IV[0], v9 = B3_IV[1], v10 = B3_IV[2], v11 = B3_IV[3];
    uint32_t v12 = (uint32_t)counter, v13 = (uint32_t)(counter >> 32);
    uint32_t v14 = block_len, v15 = flags;
    B3_ROUND(0);
    B3_ROUND(1);
    B3_ROUND(2);
    B3_ROUND(3);
    B3_ROUND(4);
    B3_ROUND(5);
    B3_ROUND(6);
    cv[0] = v0 ^ v8;
    cv[1] = v1 ^ v9;
    cv[2] = v2 ^ v10;
    cv[3] = v3 ^ v11;
    cv[4] = v4 ^ v12;
    cv[5] = v5 ^ v13;
    cv[6] = v6 ^ v14;
    cv[7] = v7 ^ v15;
}

static void compress_cv(uint32_t cv[8], const uint8_t block[64], uint64_t counter,
                        uint32_t block_len, uint32_t flags)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++) m[i] = load32_le(block + 4 * i);
    compress_cv_words(cv, m, counter, block_len, flags);
}

/* Chaining value (or root words) of one chunk of len bytes (0..1024; 0 only
 * for the empty message), portable. */
static void chunk_cv_portable(uint32_t cv[8], const uint8_t *in, size_t len, uint64_t counter,
                              int root)
{
    memcpy(cv, B3_IV, 32);
    size_t nblocks = len == 0 ? 1 : (len + 63) / 64;
    for (size_t b = 0; b < nblocks; b++) {
        uint32_t flags = b == 0 ? B3_CHUNK_START : 0;
        size_t blen = 64;
        if (b == nblocks - 1) {
            flags |= B3_CHUNK_END | (root ? B3_ROOT : 0);
            blen = len - 64 * b;
        }
        if (blen == 64) {
            compress_cv(cv, in + 64 * b, counter, 64, flags);
        } else {
            uint8_t tmp[64] = {0};
            if (blen) memcpy(tmp, in + 64 * b, blen);
            compress_cv(cv, tmp, counter, (uint32_t)blen, flags);
        }
    }
}

static void parent_cv_words(uint32_t out[8], const uint32_t l[8], const uint32_t r[8], int root)
{
    uint32_t m[16];
    memcpy(m, l, 32);
    memcpy(m + 8, r, 32);
    memcpy(out, B3_IV, 32);
    compress_cv_words(out, m, 0, 64, B3_PARENT | (root ? B3_ROOT : 0));
}

/* ---- AVX2: 8 chunks at once ---- */

#ifdef SPW_B3_HAVE_AVX2
#define B3_TGT __attribute__((target("avx2")))

B3_TGT static inline __m256i b3_rot16(__m256i x)
{
    const __m256i s = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2,
                                       3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return _mm256_shuffle_epi8(x, s);
}
B3_TGT static inline __m256i b3_rot8(__m256i x)
{
    const __m256i s = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1,
                                       2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
    return _mm256_shuffle_epi8(x, s);
}
B3_TGT static inline __m256i b3_rot12(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
B3_TGT static inline __m256i b3_rot7(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

#define B3_G8(a, b, c, d, x, y)                                   \
    do {                                                          \
        a = _mm256_add_epi32(_mm256_add_epi32(a, b), (x));        \
        d = b3_rot16(_mm256_xor_si256(d, a));                     \
        c = _mm256_add_epi32(c, d);                               \
        b = b3_rot12(_mm256_xor_si256(b, c));                     \
        a = _mm256_add_epi32(_mm256_add_epi32(a, b), (y));        \
        d = b3_rot8(_mm256_xor_si256(d, a));                      \
        c = _mm256_add_epi32(c, d);                               \
        b = b3_rot7(_mm256_xor_si256(b, c));                      \
    } while (0)

#define B3_ROUND8(r)                                                          \
    do {                                                                      \
        B3_G8(v[0], v[4], v[8], v[12], m[B3_SCHED[r][0]], m[B3_SCHED[r][1]]);   \
        B3_G8(v[1], v[5], v[9], v[13], m[B3_SCHED[r][2]], m[B3_SCHED[r][3]]);   \
        B3_G8(v[2], v[6], v[10], v[14], m[B3_SCHED[r][4]], m[B3_SCHED[r][5]]);  \
        B3_G8(v[3], v[7], v[11], v[15], m[B3_SCHED[r][6]], m[B3_SCHED[r][7]]);  \
        B3_G8(v[0], v[5], v[10], v[15], m[B3_SCHED[r][8]], m[B3_SCHED[r][9]]);  \
        B3_G8(v[1], v[6], v[11], v[12], m[B3_SCHED[r][10]], m[B3_SCHED[r][11]]); \
        B3_G8(v[2], v[7], v[8], v[13], m[B3_SCHED[r][12]], m[B3_SCHED[r][13]]);  \
        B3_G8(v[3], v[4], v[9], v[14], m[B3_SCHED[r][14]], m[B3_SCHED[r][15]]);  \
    } while (0)

/* Transposes 8 rows of 8 words (r[i] = lane i's words) into columns. */
B3_TGT static inline void b3_transpose8(__m256i r[8])
{
    __m256i a0 = _mm256_unpacklo_epi32(r[0], r[1]), a1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i a2 = _mm256_unpacklo_epi32(r[2], r[3]), a3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i a4 = _mm256_unpacklo_epi32(r[4], r[5]), a5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i a6 = _mm256_unpacklo_epi32(r[6], r[7]), a7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i b0 = _mm256_unpacklo_epi64(a0, a2), b1 = _mm256_unpackhi_epi64(a0, a2);
    __m256i b2 = _mm256_unpacklo_epi64(a1, a3), b3 = _mm256_unpackhi_epi64(a1, a3);
    __m256i b4 = _mm256_unpacklo_epi64(a4, a6), b5 = _mm256_unpackhi_epi64(a4, a6);
    __m256i b6 = _mm256_unpacklo_epi64(a5, a7), b7 = _mm256_unpackhi_epi64(a5, a7);
    r[0] = _mm256_permute2x128_si256(b0, b4, 0x20);
    r[1] = _mm256_permute2x128_si256(b1, b5, 0x20);
    r[2] = _mm256_permute2x128_si256(b2, b6, 0x20);
    r[3] = _mm256_permute2x128_si256(b3, b7, 0x20);
    r[4] = _mm256_permute2x128_si256(b0, b4, 0x31);
    r[5] = _mm256_permute2x128_si256(b1, b5, 0x31);
    r[6] = _mm256_permute2x128_si256(b2, b6, 0x31);
    r[7] = _mm256_permute2x128_si256(b3, b7, 0x31);
}

/* 8 chunks of len bytes each (1..1024, same for all lanes), at ptrs[0..8),
 * with chunk counters ctr[0..8); writes each lane's cv (or root words).
 * With parent set, each lane is instead one parent node: len = 64 bytes
 * (left cv || right cv), flags PARENT. */
B3_TGT static void chunk_cv_avx2x8(uint32_t out[][8], const uint8_t *const ptrs[8], size_t len,
                                   const uint64_t ctr[8], int root, int parent)
{
    __m256i h[8];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)B3_IV[i]);
    const __m256i ctr_lo = _mm256_setr_epi32((int)ctr[0], (int)ctr[1], (int)ctr[2], (int)ctr[3],
                                             (int)ctr[4], (int)ctr[5], (int)ctr[6], (int)ctr[7]);
    const __m256i ctr_hi =
        _mm256_setr_epi32((int)(ctr[0] >> 32), (int)(ctr[1] >> 32), (int)(ctr[2] >> 32),
                          (int)(ctr[3] >> 32), (int)(ctr[4] >> 32), (int)(ctr[5] >> 32),
                          (int)(ctr[6] >> 32), (int)(ctr[7] >> 32));
    size_t nblocks = (len + 63) / 64;
    uint8_t tail[8][64];
    for (size_t b = 0; b < nblocks; b++) {
        uint32_t flags = parent ? B3_PARENT : b == 0 ? B3_CHUNK_START : 0;
        size_t blen = 64;
        const uint8_t *src[8];
        #pragma GCC unroll 8
        for (int l = 0; l < 8; l++) src[l] = ptrs[l] + 64 * b;
        if (b == nblocks - 1) {
            flags |= (parent ? 0 : B3_CHUNK_END) | (root ? B3_ROOT : 0);
            blen = len - 64 * b;
            if (blen < 64) {
                #pragma GCC unroll 8
                for (int l = 0; l < 8; l++) {
                    memset(tail[l], 0, 64);
                    memcpy(tail[l], src[l], blen);
                    src[l] = tail[l];
                }
            }
        }
        __m256i m[16];
        #pragma GCC unroll 8
        for (int l = 0; l < 8; l++) {
            m[l] = _mm256_loadu_si256((const __m256i *)src[l]);
            m[8 + l] = _mm256_loadu_si256((const __m256i *)(src[l] + 32));
        }
        b3_transpose8(m);
        b3_transpose8(m + 8);
        __m256i v[16];
        #pragma GCC unroll 8
        for (int i = 0; i < 8; i++) v[i] = h[i];
        #pragma GCC unroll 8
        for (int i = 0; i < 4; i++) v[8 + i] = _mm256_set1_epi32((int)B3_IV[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm256_set1_epi32((int)blen);
        v[15] = _mm256_set1_epi32((int)flags);
        B3_ROUND8(0);
        B3_ROUND8(1);
        B3_ROUND8(2);
        B3_ROUND8(3);
        B3_ROUND8(4);
        B3_ROUND8(5);
        B3_ROUND8(6);
        #pragma GCC unroll 8
        for (int i = 0; i < 8; i++) h[i] = _mm256_xor_si256(v[i], v[8 + i]);
    }
    b3_transpose8(h);
    #pragma GCC unroll 8
    for (int l = 0; l < 8; l++) _mm256_storeu_si256((__m256i *)out[l], h[l]);
}

/* Rows straight from column-major u64 data, 8 rows (lanes) at once: lane l
 * hashes the chunk made of columns [c0, c1) of row r0 + l (little-endian
 * u64 values), chunk counter `chunk`. A column's 8 consecutive rows are one
 * 64-byte load; its 32-bit halves become message words 2k and 2k+1. */
B3_TGT static void rows_chunk_avx2x8(uint32_t out[][8], const uint64_t *cols, size_t stride,
                                     size_t r0, size_t c0, size_t c1, uint64_t chunk, int root)
{
    __m256i h[8];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)B3_IV[i]);
    const __m256i ctr_lo = _mm256_set1_epi32((int)(uint32_t)chunk);
    const __m256i ctr_hi = _mm256_set1_epi32((int)(uint32_t)(chunk >> 32));
    const __m256i deint = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    size_t nblocks = (c1 - c0 + 7) / 8;
    for (size_t b = 0; b < nblocks; b++) {
        size_t cb = c0 + 8 * b, nc = c1 - cb < 8 ? c1 - cb : 8;
        uint32_t flags = b == 0 ? B3_CHUNK_START : 0;
        if (b == nblocks - 1) flags |= B3_CHUNK_END | (root ? B3_ROOT : 0);
        __m256i m[16];
        #pragma GCC unroll 8
        for (size_t k = 0; k < 8; k++) {
            if (k < nc) {
                const uint64_t *p = cols + (cb + k) * stride + r0;
                _mm_prefetch((const char *)(p + 64), _MM_HINT_T0);
                __m256i a = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)p), deint);
                __m256i c = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(p + 4)), deint);
                m[2 * k] = _mm256_permute2x128_si256(a, c, 0x20);
                m[2 * k + 1] = _mm256_permute2x128_si256(a, c, 0x31);
            } else {
                m[2 * k] = m[2 * k + 1] = _mm256_setzero_si256();
            }
        }
        __m256i v[16];
        #pragma GCC unroll 8
        for (int i = 0; i < 8; i++) v[i] = h[i];
        #pragma GCC unroll 8
        for (int i = 0; i < 4; i++) v[8 + i] = _mm256_set1_epi32((int)B3_IV[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm256_set1_epi32((int)(8 * nc));
        v[15] = _mm256_set1_epi32((int)flags);
        B3_ROUND8(0);
        B3_ROUND8(1);
        B3_ROUND8(2);
        B3_ROUND8(3);
        B3_ROUND8(4);
        B3_ROUND8(5);
        B3_ROUND8(6);
        #pragma GCC unroll 8
        for (int i = 0; i < 8; i++) h[i] = _mm256_xor_si256(v[i], v[8 + i]);
    }
    b3_transpose8(h);
    #pragma GCC unroll 8
    for (int l = 0; l < 8; l++) _mm256_storeu_si256((__m256i *)out[l], h[l]);
}

static int b3_cpu_avx2(void)
{
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return have;
}
#endif /* SPW_B3_HAVE_AVX2 */

/* -1: not yet decided; 0: portable; 1: AVX2. */
static int g_simd = -1;

static int simd_active(void)
{
    int s = __atomic_load_n(&g_simd, __ATOMIC_RELAXED);
    if (s < 0) {
#ifdef SPW_B3_HAVE_AVX2
        s = b3_cpu_avx2();
#else
        s = 0;
#endif
        __atomic_store_n(&g_simd, s, __ATOMIC_RELAXED);
    }
    return s;
}

int spw_blake3_set_simd(int on)
{
    int prev = simd_active();
    int s = 0;
#ifdef SPW_B3_HAVE_AVX2
    if (on != 0) s = b3_cpu_avx2();
#endif
    __atomic_store_n(&g_simd, s, __ATOMIC_RELAXED);
    return prev;
}

const char *spw_blake3_impl_name(void) { return simd_active() ? "avx2" : "portable"; }

/* n lanes, each a chunk of len bytes (0..1024; all the same length) at
 * ptrs[i] with counter ctr[i]; out[i] = its cv (root words when root). */
static void hash_chunks(uint32_t out[][8], const uint8_t *const *ptrs, size_t n, size_t len,
                        const uint64_t *ctr, int root)
{
    size_t i = 0;
#ifdef SPW_B3_HAVE_AVX2
    if (len > 0 && simd_active()) {
        for (; i + 8 <= n; i += 8) chunk_cv_avx2x8(out + i, ptrs + i, len, ctr + i, root, 0);
        if (n - i >= 3) {
            /* pad the last group with copies of its first lane */
            const uint8_t *p[8];
            uint64_t c[8];
            uint32_t o[8][8];
            for (size_t l = 0; l < 8; l++) {
                size_t k = i + l < n ? i + l : i;
                p[l] = ptrs[k];
                c[l] = ctr[k];
            }
            chunk_cv_avx2x8(o, p, len, c, root, 0);
            memcpy(out + i, o, (n - i) * 32);
            i = n;
        }
    }
#endif
    for (; i < n; i++) chunk_cv_portable(out[i], ptrs[i], len, ctr[i], root);
}

/* ---- streaming building blocks ---- */

void spw_blake3_chunk_cv(uint32_t cv[8], const uint8_t *in, size_t len, uint64_t chunk_index,
                         int is_root)
{
    if (len > SPW_BLAKE3_CHUNK_LEN) len = SPW_BLAKE3_CHUNK_LEN;
    chunk_cv_portable(cv, in, len, chunk_index, is_root);
}

void spw_blake3_parent_cv(uint32_t cv[8], const uint32_t left[8], const uint32_t right[8],
                          int is_root)
{
    uint32_t l[8], r[8];
    memcpy(l, left, 32);
    memcpy(r, right, 32);
    parent_cv_words(cv, l, r, is_root);
}

/* ---- incremental hasher ---- */

void spw_blake3_init(spw_blake3_hasher *h)
{
    memcpy(h->key, B3_IV, 32);
    memcpy(h->cv, B3_IV, 32);
    h->chunk_counter = 0;
    memset(h->buf, 0, 64);
    h->buf_len = 0;
    h->blocks_compressed = 0;
    h->flags = 0;
    h->cv_stack_len = 0;
}

static size_t chunk_fill(const spw_blake3_hasher *h)
{
    return 64 * (size_t)h->blocks_compressed + h->buf_len;
}

/* Pushes a completed chunk's cv, merging finished subtrees: after
 * total_chunks chunks, the stack holds one cv per 1 bit of total_chunks. */
static void push_chunk_cv(spw_blake3_hasher *h, const uint32_t cv_in[8], uint64_t total_chunks)
{
    uint32_t cv[8];
    memcpy(cv, cv_in, 32);
    while ((total_chunks & 1) == 0) {
        h->cv_stack_len--;
        parent_cv_words(cv, h->cv_stack[h->cv_stack_len], cv, 0);
        total_chunks >>= 1;
    }
    memcpy(h->cv_stack[h->cv_stack_len], cv, 32);
    h->cv_stack_len++;
}

/* Reduces m (a power of two) non-root cvs in place to the cv of their
 * subtree, in cvs[0]; levels of 8 or more nodes use the AVX2 lanes. */
static void subtree_reduce(uint32_t (*cvs)[8], size_t m)
{
    for (; m > 1; m /= 2) {
        size_t i = 0;
#ifdef SPW_B3_HAVE_AVX2
        if (simd_active()) {
            static const uint64_t zero[8] = {0};
            for (; i + 8 <= m / 2; i += 8) {
                const uint8_t *p[8];
                uint32_t o[8][8];
                for (size_t l = 0; l < 8; l++) p[l] = (const uint8_t *)cvs[2 * (i + l)];
                chunk_cv_avx2x8(o, p, 64, zero, 0, 1);
                memcpy(cvs + i, o, sizeof o);
            }
        }
#endif
        for (; i < m / 2; i++) parent_cv_words(cvs[i], cvs[2 * i], cvs[2 * i + 1], 0);
    }
}

void spw_blake3_update(spw_blake3_hasher *h, const void *in_v, size_t len)
{
    const uint8_t *in = in_v;
    while (len > 0) {
        if (chunk_fill(h) == SPW_BLAKE3_CHUNK_LEN) {
            /* the chunk is full and more input follows: close it */
            uint32_t flags = h->flags | B3_CHUNK_END | (h->blocks_compressed == 0 ? B3_CHUNK_START : 0);
            compress_cv(h->cv, h->buf, h->chunk_counter, 64, flags);
            push_chunk_cv(h, h->cv, h->chunk_counter + 1);
            h->chunk_counter++;
            memcpy(h->cv, h->key, 32);
            h->buf_len = 0;
            h->blocks_compressed = 0;
        }
        if (chunk_fill(h) == 0 && len > SPW_BLAKE3_CHUNK_LEN) {
            /* whole chunks straight from the input, keeping at least one
             * byte back so the last chunk stays open for final() */
            enum { GROUP = 16, SUBTREE = 64 };
            size_t nfull = (len - 1) / SPW_BLAKE3_CHUNK_LEN;
            while (nfull > 0) {
                if (nfull >= SUBTREE && h->chunk_counter % SUBTREE == 0) {
                    /* a whole aligned subtree of 64 chunks: hash the chunks
                     * and its parents in lanes, push one cv (the stack then
                     * counts in units of 64 chunks) */
                    const uint8_t *p[SUBTREE];
                    uint64_t c[SUBTREE];
                    uint32_t cvs[SUBTREE][8];
                    for (size_t i = 0; i < SUBTREE; i++) {
                        p[i] = in + i * SPW_BLAKE3_CHUNK_LEN;
                        c[i] = h->chunk_counter + i;
                    }
                    hash_chunks(cvs, p, SUBTREE, SPW_BLAKE3_CHUNK_LEN, c, 0);
                    subtree_reduce(cvs, SUBTREE);
                    h->chunk_counter += SUBTREE;
                    push_chunk_cv(h, cvs[0], h->chunk_counter / SUBTREE);
                    in += SUBTREE * SPW_BLAKE3_CHUNK_LEN;
                    len -= SUBTREE * SPW_BLAKE3_CHUNK_LEN;
                    nfull -= SUBTREE;
                    continue;
                }
                size_t g = nfull < GROUP ? nfull : GROUP;
                size_t to_align = SUBTREE - h->chunk_counter % SUBTREE;
                if (g > to_align) g = to_align;
                const uint8_t *p[GROUP];
                uint64_t c[GROUP];
                uint32_t cvs[GROUP][8];
                for (size_t i = 0; i < g; i++) {
                    p[i] = in + i * SPW_BLAKE3_CHUNK_LEN;
                    c[i] = h->chunk_counter + i;
                }
                hash_chunks(cvs, p, g, SPW_BLAKE3_CHUNK_LEN, c, 0);
                for (size_t i = 0; i < g; i++) {
                    push_chunk_cv(h, cvs[i], h->chunk_counter + 1);
                    h->chunk_counter++;
                }
                in += g * SPW_BLAKE3_CHUNK_LEN;
                len -= g * SPW_BLAKE3_CHUNK_LEN;
                nfull -= g;
            }
            continue;
        }
        if (h->buf_len == 64) {
            /* a full block and more input follows: it is not the last */
            uint32_t flags = h->flags | (h->blocks_compressed == 0 ? B3_CHUNK_START : 0);
            compress_cv(h->cv, h->buf, h->chunk_counter, 64, flags);
            h->blocks_compressed++;
            h->buf_len = 0;
        }
        size_t take = 64 - h->buf_len;
        if (take > len) take = len;
        memcpy(h->buf + h->buf_len, in, take);
        h->buf_len = (uint8_t)(h->buf_len + take);
        in += take;
        len -= take;
    }
}

void spw_blake3_final(const spw_blake3_hasher *h, uint8_t out[32])
{
    uint8_t block[64] = {0};
    memcpy(block, h->buf, h->buf_len);
    uint32_t flags = h->flags | B3_CHUNK_END | (h->blocks_compressed == 0 ? B3_CHUNK_START : 0);
    uint32_t cv[8];
    memcpy(cv, h->cv, 32);
    if (h->cv_stack_len == 0) {
        compress_cv(cv, block, h->chunk_counter, h->buf_len, flags | B3_ROOT);
        cv_to_bytes(out, cv);
        return;
    }
    compress_cv(cv, block, h->chunk_counter, h->buf_len, flags);
    for (int i = h->cv_stack_len - 1; i >= 0; i--)
        parent_cv_words(cv, h->cv_stack[i], cv, i == 0);
    cv_to_bytes(out, cv);
}

void spw_blake3(uint8_t out[32], const void *in, size_t len)
{
    if (len <= SPW_BLAKE3_CHUNK_LEN) {
        uint32_t cv[8];
        chunk_cv_portable(cv, in, len, 0, 1);
        cv_to_bytes(out, cv);
        return;
    }
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, in, len);
    spw_blake3_final(&h, out);
}

/* ---- many equal-length messages ---- */

/* Left-balanced BLAKE3 tree over n >= 2 chunk cvs. */
static void tree_root(uint32_t out[8], const uint32_t (*cvs)[8], size_t n, int root)
{
    if (n == 1) {
        memcpy(out, cvs[0], 32);
        return;
    }
    size_t left = 1;
    while (left * 2 < n) left *= 2;
    uint32_t l[8], r[8];
    tree_root(l, cvs, left, 0);
    tree_root(r, cvs + left, n - left, 0);
    parent_cv_words(out, l, r, root);
}

struct many_job {
    uint8_t *out;
    const uint8_t *in;
    size_t len;
};

enum { MANY_LANES = 16 };

static void many_range(void *arg, size_t begin, size_t end)
{
    const struct many_job *j = arg;
    size_t len = j->len;
    size_t nchunks = len == 0 ? 1 : (len + SPW_BLAKE3_CHUNK_LEN - 1) / SPW_BLAKE3_CHUNK_LEN;
    uint32_t (*cvs)[8] = NULL;
    if (nchunks > 1) {
        cvs = spw_malloc_array((size_t)MANY_LANES * nchunks, 32);
        if (!cvs) {
            /* no memory for the lane buffers: one message at a time */
            for (size_t i = begin; i < end; i++) spw_blake3(j->out + 32 * i, j->in + i * len, len);
            return;
        }
    }
    for (size_t i = begin; i < end; i += MANY_LANES) {
        size_t g = end - i < MANY_LANES ? end - i : MANY_LANES;
        const uint8_t *p[MANY_LANES];
        uint64_t c[MANY_LANES];
        uint32_t o[MANY_LANES][8];
        if (nchunks == 1) {
            for (size_t l = 0; l < g; l++) {
                p[l] = j->in + (i + l) * len;
                c[l] = 0;
            }
            hash_chunks(o, p, g, len, c, 1);
        } else {
            for (size_t k = 0; k < nchunks; k++) {
                size_t clen = k + 1 < nchunks ? SPW_BLAKE3_CHUNK_LEN
                                              : len - k * SPW_BLAKE3_CHUNK_LEN;
                for (size_t l = 0; l < g; l++) {
                    p[l] = j->in + (i + l) * len + k * SPW_BLAKE3_CHUNK_LEN;
                    c[l] = k;
                }
                hash_chunks(o, p, g, clen, c, 0);
                for (size_t l = 0; l < g; l++) memcpy(cvs[l * nchunks + k], o[l], 32);
            }
            for (size_t l = 0; l < g; l++) tree_root(o[l], cvs + l * nchunks, nchunks, 1);
        }
        for (size_t l = 0; l < g; l++) cv_to_bytes(j->out + 32 * (i + l), o[l]);
    }
    free(cvs);
}

void spw_blake3_many(const struct spw_ctx *ctx, uint8_t *out, const uint8_t *in, size_t n,
                     size_t len)
{
    struct many_job j = {out, in, len};
    /* at least ~64 KiB of input per thread, in whole lane groups */
    size_t per = (len + 64) ? (65536 / (len + 64)) : 1;
    size_t grain = (per / MANY_LANES + 1) * MANY_LANES;
    spw_parallel_for(ctx, n, grain, many_range, &j);
}

struct cvmany_job {
    uint32_t (*cv)[8];
    const uint8_t *in;
    size_t stride, len;
    uint64_t chunk_index;
    int root;
};

static void cvmany_range(void *arg, size_t begin, size_t end)
{
    const struct cvmany_job *j = arg;
    for (size_t i = begin; i < end; i += MANY_LANES) {
        size_t g = end - i < MANY_LANES ? end - i : MANY_LANES;
        const uint8_t *p[MANY_LANES];
        uint64_t c[MANY_LANES];
        for (size_t l = 0; l < g; l++) {
            p[l] = j->in + (i + l) * j->stride;
            c[l] = j->chunk_index;
        }
        hash_chunks(j->cv + i, p, g, j->len, c, j->root);
    }
}

void spw_blake3_chunk_cv_many(const struct spw_ctx *ctx, uint32_t (*cv)[8], const uint8_t *in,
                              size_t in_stride, size_t n, size_t len, uint64_t chunk_index,
                              int is_root)
{
    if (len > SPW_BLAKE3_CHUNK_LEN) len = SPW_BLAKE3_CHUNK_LEN;
    struct cvmany_job j = {cv, in, in_stride, len, chunk_index, is_root};
    size_t grain = (65536 / (len + 64) / MANY_LANES + 1) * MANY_LANES;
    spw_parallel_for(ctx, n, grain, cvmany_range, &j);
}

/* ---- rows of column-major u64 data ---- */

/* Portable: one row at a time, gathered 128 values (one chunk) at a time. */
static void row_hash_portable(uint8_t out[32], const uint64_t *cols, size_t ncols, size_t stride,
                              size_t r)
{
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    uint8_t buf[SPW_BLAKE3_CHUNK_LEN];
    for (size_t c0 = 0; c0 < ncols; c0 += 128) {
        size_t nc = ncols - c0 < 128 ? ncols - c0 : 128;
        for (size_t k = 0; k < nc; k++) {
            uint64_t v = cols[(c0 + k) * stride + r];
            for (int b = 0; b < 8; b++) buf[8 * k + b] = (uint8_t)(v >> (8 * b));
        }
        spw_blake3_update(&h, buf, 8 * nc);
    }
    spw_blake3_final(&h, out);
}

void spw_blake3_rows_u64(uint8_t *out, const uint64_t *cols, size_t ncols, size_t stride,
                         size_t nrows)
{
    size_t r = 0;
#ifdef SPW_B3_HAVE_AVX2
    if (ncols > 0 && simd_active()) {
        size_t nchunks = (ncols + 127) / 128;
        uint32_t o[8][8];
        uint32_t(*cvs)[8] = NULL;
        if (nchunks > 1) cvs = spw_malloc_array(8 * nchunks, 32);
        if (nchunks == 1 || cvs) {
            for (; r + 8 <= nrows; r += 8) {
                if (nchunks == 1) {
                    rows_chunk_avx2x8(o, cols, stride, r, 0, ncols, 0, 1);
                } else {
                    for (size_t k = 0; k < nchunks; k++) {
                        size_t c1 = 128 * (k + 1) < ncols ? 128 * (k + 1) : ncols;
                        rows_chunk_avx2x8(o, cols, stride, r, 128 * k, c1, k, 0);
                        for (int l = 0; l < 8; l++) memcpy(cvs[l * nchunks + k], o[l], 32);
                    }
                    for (int l = 0; l < 8; l++) tree_root(o[l], cvs + l * nchunks, nchunks, 1);
                }
                for (int l = 0; l < 8; l++) cv_to_bytes(out + 32 * (r + l), o[l]);
            }
        }
        free(cvs);
    }
#endif
    for (; r < nrows; r++) row_hash_portable(out + 32 * r, cols, ncols, stride, r);
}

/* Portable chunk cv of one row's columns [0, ncols) (ncols <= 128). */
static void row_chunk_cv_portable(uint32_t cv[8], const uint64_t *cols, size_t ncols,
                                  size_t stride, size_t r, uint64_t chunk, int root)
{
    uint8_t buf[SPW_BLAKE3_CHUNK_LEN];
    for (size_t k = 0; k < ncols; k++) {
        uint64_t v = cols[k * stride + r];
        for (int b = 0; b < 8; b++) buf[8 * k + b] = (uint8_t)(v >> (8 * b));
    }
    chunk_cv_portable(cv, buf, 8 * ncols, chunk, root);
}

struct rows_cv_job {
    uint32_t (*cv)[8];
    const uint64_t *cols;
    size_t ncols, stride;
    uint64_t chunk;
    int root;
};

static void rows_cv_range(void *arg, size_t begin, size_t end)
{
    const struct rows_cv_job *j = arg;
    size_t r = begin;
#ifdef SPW_B3_HAVE_AVX2
    if (simd_active())
        for (; r + 8 <= end; r += 8)
            rows_chunk_avx2x8(j->cv + r, j->cols, j->stride, r, 0, j->ncols, j->chunk, j->root);
#endif
    for (; r < end; r++)
        row_chunk_cv_portable(j->cv[r], j->cols, j->ncols, j->stride, r, j->chunk, j->root);
}

void spw_blake3_rows_chunk_cv(const struct spw_ctx *ctx, uint32_t (*cv)[8], const uint64_t *cols,
                              size_t ncols, size_t stride, size_t nrows, uint64_t chunk_index,
                              int is_root)
{
    if (ncols == 0 || ncols > 128) {
        /* outside the contract; keep it defined: an empty chunk */
        for (size_t r = 0; r < nrows; r++) chunk_cv_portable(cv[r], NULL, 0, chunk_index, is_root);
        return;
    }
    struct rows_cv_job j = {cv, cols, ncols, stride, chunk_index, is_root};
    spw_parallel_for(ctx, nrows, 2048, rows_cv_range, &j);
}

void spw_blake3_root_from_cvs(uint8_t out[32], const uint32_t (*cvs)[8], size_t n)
{
    uint32_t root[8];
    if (n == 0) {
        spw_blake3(out, "", 0);
        return;
    }
    tree_root(root, cvs, n, n > 1);
    cv_to_bytes(out, root);
}
