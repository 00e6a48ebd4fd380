/*
 * ntt.c - number-theoretic transforms over Goldilocks on the CPU: the naive
 * O(n^2) reference DFT, the fast in-place NTT (radix-2 decimation in
 * frequency, cache-blocked, AVX2 when available, multi-threaded within a
 * column and across columns), bit reversal, and the coset low-degree
 * extension. docs/PERFORMANCE.md ("CPU NTT/LDE") explains the design and
 * gives the figures.
 *
 * Layout of the fast forward transform of n = 2^k values (natural order in
 * and out), three passes over memory:
 *   1. the levels with butterfly span >= 2^bl run per group of 8 adjacent
 *      offsets mod 2^bl, copied to a contiguous buffer (dif_upper_group),
 *      groups split across threads;
 *   2. the levels below run block by block (dif_block, blocks of 2^bl stay
 *      in L1/L2), blocks split across threads;
 *   3. a cache-blocked bit reversal (tiles of 8x8, one cache line per row)
 *      turns the bit-reversed DIF output into natural order.
 * The inverse is the forward transform followed by x[j] <- x[-j mod n] / n.
 * The LDE skips the work on zero padding (see lde_column).
 *
 * Twiddles: level l (butterfly half-span h = 2^l) uses w_{2h}^j, j < h. The
 * tables are shared by every size (w_{2h} does not depend on n), built once
 * per level on first use under a mutex and published with release/acquire
 * atomics; upper levels keep a group-major copy (up_pos). Levels above
 * TW_CAP are not tabulated (they would cost 2^l * 8 bytes); their twiddles
 * come from running products instead.
 */
#include "ntt.h"
#include "field.h"
#include "gl_fast.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TW_CAP 20          /* largest tabulated level: 2^20 entries, 8 MiB */
#define BLOCK_LOG 12       /* stages with span <= 2^BLOCK_LOG run block-wise */
#define UP_LOG BLOCK_LOG   /* group-major twiddle tables from this level up */
#define STAGE_GRAIN 16384  /* items per thread, at least, in elementwise passes */
#define SEQ_LOG 15         /* below 2^15 values a column runs on one thread */
#define PAR_MIN 16384      /* values per thread, at least, in a column split */

/* Branch-free product (gl_fast.h) in every hot loop. */
#define fmul spw_gl_mul_bf

uint64_t spw_ntt_fmul(uint64_t a, uint64_t b) { return fmul(a, b); }

/* ---- AVX2 butterflies (x86-64, chosen at run time) ----
 * Four lanes of canonical values. The 64x64 -> 128 product is built from
 * four 32x32 -> 64 products (vpmuludq) and reduced as in fmul; unsigned
 * compares flip the sign bit for vpcmpgtq. */
#if defined(__x86_64__) && defined(__GNUC__)
#define NTT_HAVE_AVX2 1
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2")))

AVX2_FN static inline __m256i v_lt(__m256i a, __m256i b) /* unsigned a < b */
{
    const __m256i sg = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    return _mm256_cmpgt_epi64(_mm256_xor_si256(b, sg), _mm256_xor_si256(a, sg));
}

AVX2_FN static inline __m256i v_add(__m256i a, __m256i b)
{
    const __m256i P = _mm256_set1_epi64x((long long)GL_P);
    __m256i pb = _mm256_sub_epi64(P, b); /* in [1, p] */
    __m256i t = _mm256_sub_epi64(a, pb); /* a + b - p */
    return _mm256_add_epi64(t, _mm256_and_si256(v_lt(a, pb), P));
}

AVX2_FN static inline __m256i v_sub(__m256i a, __m256i b)
{
    const __m256i P = _mm256_set1_epi64x((long long)GL_P);
    __m256i d = _mm256_sub_epi64(a, b);
    return _mm256_add_epi64(d, _mm256_and_si256(v_lt(a, b), P));
}

AVX2_FN static inline __m256i v_mul(__m256i a, __m256i b)
{
    const __m256i M32 = _mm256_set1_epi64x(0xFFFFFFFFLL);
    const __m256i EPS = M32;
    const __m256i P = _mm256_set1_epi64x((long long)GL_P);
    __m256i ah = _mm256_srli_epi64(a, 32), bh = _mm256_srli_epi64(b, 32);
    __m256i ll = _mm256_mul_epu32(a, b), lh = _mm256_mul_epu32(a, bh);
    __m256i hl = _mm256_mul_epu32(ah, b), hh = _mm256_mul_epu32(ah, bh);
    __m256i t = _mm256_add_epi64(hl, _mm256_srli_epi64(ll, 32));
    __m256i u = _mm256_add_epi64(lh, _mm256_and_si256(t, M32));
    __m256i lo = _mm256_or_si256(_mm256_slli_epi64(u, 32), _mm256_and_si256(ll, M32));
    __m256i hi = _mm256_add_epi64(_mm256_add_epi64(hh, _mm256_srli_epi64(t, 32)),
                                  _mm256_srli_epi64(u, 32));
    /* reduce hi:lo; 2^64 = EPS, 2^96 = -1 */
    __m256i h_hi = _mm256_srli_epi64(hi, 32), h_lo = _mm256_and_si256(hi, M32);
    __m256i t0 = _mm256_sub_epi64(lo, h_hi);
    t0 = _mm256_sub_epi64(t0, _mm256_and_si256(v_lt(lo, h_hi), EPS));
    __m256i t1 = _mm256_sub_epi64(_mm256_slli_epi64(h_lo, 32), h_lo);
    __m256i r = _mm256_add_epi64(t0, t1);
    r = _mm256_add_epi64(r, _mm256_and_si256(v_lt(r, t1), EPS));
    return _mm256_sub_epi64(r, _mm256_andnot_si256(v_lt(r, P), P));
}

/* cnt (a multiple of 4) DIF butterflies x[i], y[i] with twiddles t[i] */
AVX2_FN static void bfly_avx2(uint64_t *x, uint64_t *y, const uint64_t *t, size_t cnt)
{
    for (size_t i = 0; i < cnt; i += 4) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i v = _mm256_loadu_si256((const __m256i *)(y + i));
        __m256i w = _mm256_loadu_si256((const __m256i *)(t + i));
        _mm256_storeu_si256((__m256i *)(x + i), v_add(u, v));
        _mm256_storeu_si256((__m256i *)(y + i), v_mul(v_sub(u, v), w));
    }
}

/* DIF levels 1 and 0 on m values (m a multiple of 16): each run of 4
 * values a0..a3 becomes (a0+a2) +- (a1+a3), (a0-a2) +- w4 (a1-a3).
 * Four runs at a time, transposed so that the butterflies are vertical. */
AVX2_FN static void last2_avx2(uint64_t *a, size_t m, uint64_t w4)
{
    const __m256i W = _mm256_set1_epi64x((long long)w4);
    for (size_t s = 0; s < m; s += 16) {
        __m256i r0 = _mm256_loadu_si256((const __m256i *)(a + s));
        __m256i r1 = _mm256_loadu_si256((const __m256i *)(a + s + 4));
        __m256i r2 = _mm256_loadu_si256((const __m256i *)(a + s + 8));
        __m256i r3 = _mm256_loadu_si256((const __m256i *)(a + s + 12));
        /* transpose: c_k holds element k of each run */
        __m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
        __m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
        __m256i c0 = _mm256_permute2x128_si256(t0, t2, 0x20);
        __m256i c1 = _mm256_permute2x128_si256(t1, t3, 0x20);
        __m256i c2 = _mm256_permute2x128_si256(t0, t2, 0x31);
        __m256i c3 = _mm256_permute2x128_si256(t1, t3, 0x31);
        /* level 1: (c0, c2) twiddle 1, (c1, c3) twiddle w4 */
        __m256i d0 = v_add(c0, c2), d2 = v_sub(c0, c2);
        __m256i d1 = v_add(c1, c3), d3 = v_mul(v_sub(c1, c3), W);
        /* level 0 */
        c0 = v_add(d0, d1);
        c1 = v_sub(d0, d1);
        c2 = v_add(d2, d3);
        c3 = v_sub(d2, d3);
        /* transpose back */
        t0 = _mm256_unpacklo_epi64(c0, c1);
        t1 = _mm256_unpackhi_epi64(c0, c1);
        t2 = _mm256_unpacklo_epi64(c2, c3);
        t3 = _mm256_unpackhi_epi64(c2, c3);
        _mm256_storeu_si256((__m256i *)(a + s), _mm256_permute2x128_si256(t0, t2, 0x20));
        _mm256_storeu_si256((__m256i *)(a + s + 4), _mm256_permute2x128_si256(t1, t3, 0x20));
        _mm256_storeu_si256((__m256i *)(a + s + 8), _mm256_permute2x128_si256(t0, t2, 0x31));
        _mm256_storeu_si256((__m256i *)(a + s + 12), _mm256_permute2x128_si256(t1, t3, 0x31));
    }
}

/* out[k] = b * g[k], k < 4*cnt4 */
AVX2_FN static void mul_bcast_avx2(uint64_t *out, uint64_t b, const uint64_t *g, size_t cnt)
{
    const __m256i B = _mm256_set1_epi64x((long long)b);
    for (size_t k = 0; k < cnt; k += 4)
        _mm256_storeu_si256((__m256i *)(out + k),
                            v_mul(B, _mm256_loadu_si256((const __m256i *)(g + k))));
}

/* dst[i] = src[i] * pw[i] (rev = 0) or dst[i] = src[-i] * pw[i] (rev = 1,
 * src[-i] meaning *(src - i)), i < cnt, cnt a multiple of 4. */
AVX2_FN static void mul_arrays_avx2(uint64_t *dst, const uint64_t *src, const uint64_t *pw,
                                    size_t cnt, int rev)
{
    for (size_t i = 0; i < cnt; i += 4) {
        __m256i v;
        if (rev)
            v = _mm256_permute4x64_epi64(_mm256_loadu_si256((const __m256i *)(src - i - 3)), 0x1B);
        else
            v = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i),
                            v_mul(v, _mm256_loadu_si256((const __m256i *)(pw + i))));
    }
}

/* The pairs (j, n-j) of the inverse's final pass for j in [b, ...) four at
 * a time while the two runs [j, j+3] and [n-j-3, n-j] stay apart and below
 * e; returns where it stopped. scale NULL: every factor is s0. */
AVX2_FN static size_t post_avx2(uint64_t *a, size_t n, const uint64_t *scale, uint64_t s0,
                                size_t b, size_t e)
{
    const __m256i S0 = _mm256_set1_epi64x((long long)s0);
    size_t j = b;
    for (; j + 4 <= e && 2 * j + 6 < n; j += 4) {
        uint64_t *lo = a + j, *hi = a + n - j - 3;
        __m256i A = _mm256_loadu_si256((const __m256i *)lo);
        __m256i B = _mm256_loadu_si256((const __m256i *)hi);
        __m256i sl = scale ? _mm256_loadu_si256((const __m256i *)(scale + j)) : S0;
        __m256i sh = scale ? _mm256_loadu_si256((const __m256i *)(scale + n - j - 3)) : S0;
        _mm256_storeu_si256((__m256i *)lo, v_mul(_mm256_permute4x64_epi64(B, 0x1B), sl));
        _mm256_storeu_si256((__m256i *)hi, v_mul(_mm256_permute4x64_epi64(A, 0x1B), sh));
    }
    return j;
}

/* Lane-wise products, for the tests. */
AVX2_FN static void mul4_avx2(uint64_t *out, const uint64_t *a, const uint64_t *b)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)a), y = _mm256_loadu_si256((const __m256i *)b);
    _mm256_storeu_si256((__m256i *)out, v_mul(x, y));
}
#endif

static void bfly_scalar(uint64_t *x, uint64_t *y, const uint64_t *t, size_t cnt)
{
    for (size_t i = 0; i < cnt; i++) {
        uint64_t u = x[i], v = y[i];
        x[i] = gl_add(u, v);
        y[i] = fmul(gl_sub(u, v), t[i]);
    }
}

/* -1 = not decided yet; 0 = scalar; 1 = AVX2 */
static int simd_state = -1;

int spw_ntt_simd(int mode)
{
    int have = 0;
#ifdef NTT_HAVE_AVX2
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx2") != 0;
#endif
    int cur = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);
    if (mode >= 0) cur = mode && have;
    else if (cur < 0) cur = have;
    __atomic_store_n(&simd_state, cur, __ATOMIC_RELAXED);
    return cur;
}

static inline int use_simd(void)
{
    int s = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);
    return s >= 0 ? s : spw_ntt_simd(-1);
}

/* cnt butterflies, cnt a multiple of 4 */
static inline void bfly_run(uint64_t *x, uint64_t *y, const uint64_t *t, size_t cnt)
{
#ifdef NTT_HAVE_AVX2
    if (use_simd()) {
        bfly_avx2(x, y, t, cnt);
        return;
    }
#endif
    bfly_scalar(x, y, t, cnt);
}

static inline void mul_bcast(uint64_t *out, uint64_t b, const uint64_t *g, size_t cnt)
{
#ifdef NTT_HAVE_AVX2
    if (use_simd()) {
        mul_bcast_avx2(out, b, g, cnt);
        return;
    }
#endif
    for (size_t k = 0; k < cnt; k++) out[k] = fmul(b, g[k]);
}

void spw_ntt_mul4(uint64_t out[4], const uint64_t a[4], const uint64_t b[4])
{
#ifdef NTT_HAVE_AVX2
    if (use_simd()) {
        mul4_avx2(out, a, b);
        return;
    }
#endif
    for (int i = 0; i < 4; i++) out[i] = fmul(a[i], b[i]);
}

/* ---- reference ---- */

void spw_dft_naive(uint64_t *out, const uint64_t *coeffs, unsigned log_n, uint64_t shift)
{
    size_t n = (size_t)1 << log_n;
    uint64_t w = gl_root_of_unity(log_n);
    uint64_t x = shift; /* shift * w^i */
    for (size_t i = 0; i < n; i++) {
        uint64_t acc = 0;
        for (size_t j = n; j-- > 0;) acc = gl_add(gl_mul(acc, x), coeffs[j]);
        out[i] = acc;
        x = gl_mul(x, w);
    }
}

/* ---- twiddle tables ---- */

static uint64_t *tw_tab[TW_CAP + 1]; /* natural order */
static uint64_t *tw_up[TW_CAP + 1];  /* group-major order, levels >= UP_LOG */
static pthread_mutex_t tw_lock = PTHREAD_MUTEX_INITIALIZER;

/* Group-major position of twiddle index i of level l (l >= UP_LOG): with
 * i = q * 2^UP_LOG + g * 8 + k, the 2^(l-UP_LOG) rows q of offset group g
 * are contiguous, so an upper-level group reads its twiddles sequentially
 * instead of at a power-of-two stride (which thrashes cache sets). */
static inline size_t up_pos(size_t i, unsigned l)
{
    size_t q = i >> UP_LOG, o = i & (((size_t)1 << UP_LOG) - 1);
    return ((((o >> 3) << (l - UP_LOG)) + q) << 3) + (o & 7);
}

static const uint64_t *build_table(uint64_t **slot, unsigned l, int group_major)
{
    if (l > TW_CAP) return NULL;
    uint64_t *t = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (t) return t;
    pthread_mutex_lock(&tw_lock);
    t = *slot;
    if (!t) {
        size_t h = (size_t)1 << l;
        t = malloc(h * sizeof *t);
        if (t) {
            uint64_t w = gl_root_of_unity(l + 1), x = 1;
            for (size_t j = 0; j < h; j++) {
                t[group_major ? up_pos(j, l) : j] = x;
                x = fmul(x, w);
            }
            __atomic_store_n(slot, t, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&tw_lock);
    return t;
}

/* The table of level l (w_{2^(l+1)}^j, j < 2^l), natural order, or NULL
 * when l > TW_CAP or the allocation failed (callers then compute twiddles
 * on the fly). */
static const uint64_t *twiddles(unsigned l)
{
    return build_table(&tw_tab[l < TW_CAP ? l : TW_CAP], l, 0);
}
/* The same values in group-major order (up_pos), l >= UP_LOG. */
static const uint64_t *twiddles_up(unsigned l)
{
    return build_table(&tw_up[l < TW_CAP ? l : TW_CAP], l, 1);
}

/* ---- butterflies ---- */

/* Butterflies [b0, b1) of the DIF stage of level l (h = 2^l) over the array
 * a: butterfly b pairs i = (b >> l) << (l+1) | (b & (h-1)) with i + h.
 * Plain scalar stage, used by dif_block only when a twiddle table could
 * not be allocated (running-product twiddles then). */
static void dif_stage_range(uint64_t *a, unsigned l, size_t b0, size_t b1)
{
    size_t h = (size_t)1 << l;
    const uint64_t *tw = twiddles(l);
    uint64_t root = tw ? 0 : gl_root_of_unity(l + 1);
    size_t b = b0;
    while (b < b1) {
        size_t j = b & (h - 1);
        size_t jend = h;
        if (b1 - b < h - j) jend = j + (b1 - b);
        uint64_t *x = a + ((b >> l) << (l + 1));
        uint64_t *y = x + h;
        if (tw) {
            for (size_t i = j; i < jend; i++) {
                uint64_t u = x[i], v = y[i];
                x[i] = gl_add(u, v);
                y[i] = fmul(gl_sub(u, v), tw[i]);
            }
        } else {
            uint64_t w = gl_pow(root, j);
            for (size_t i = j; i < jend; i++) {
                uint64_t u = x[i], v = y[i];
                x[i] = gl_add(u, v);
                y[i] = fmul(gl_sub(u, v), w);
                w = fmul(w, root);
            }
        }
        b += jend - j;
    }
}

/* Every DIF stage of levels log_m-1 .. 0 on one contiguous block of 2^log_m
 * values (log_m <= BLOCK_LOG, so the block stays in cache). */
static void dif_block(uint64_t *a, unsigned log_m)
{
    size_t m = (size_t)1 << log_m;
#ifdef NTT_HAVE_AVX2
    const int vec2 = log_m >= 4 && use_simd(); /* levels 1 and 0 together */
#else
    const int vec2 = 0;
#endif
    for (unsigned l = log_m; l-- > 1;) {
        size_t h = (size_t)1 << l;
        if (h == 2 && vec2) break;
        const uint64_t *tw = twiddles(l); /* l <= BLOCK_LOG <= TW_CAP */
        if (!tw) { /* table allocation failed: running-product twiddles */
            dif_stage_range(a, l, 0, m / 2);
            continue;
        }
        if (h >= 4) {
            for (size_t s = 0; s < m; s += 2 * h) bfly_run(a + s, a + s + h, tw, h);
            continue;
        }
        for (size_t s = 0; s < m; s += 2 * h) {
            uint64_t *x = a + s, *y = x + h;
            uint64_t u = x[0], v = y[0]; /* twiddle 1 */
            x[0] = gl_add(u, v);
            y[0] = gl_sub(u, v);
            for (size_t i = 1; i < h; i++) {
                u = x[i];
                v = y[i];
                x[i] = gl_add(u, v);
                y[i] = fmul(gl_sub(u, v), tw[i]);
            }
        }
    }
#ifdef NTT_HAVE_AVX2
    if (vec2) {
        last2_avx2(a, m, gl_root_of_unity(2));
        return;
    }
#endif
    if (log_m >= 1) /* level 0: twiddle 1 only */
        for (size_t s = 0; s < m; s += 2) {
            uint64_t u = a[s], v = a[s + 1];
            a[s] = gl_add(u, v);
            a[s + 1] = gl_sub(u, v);
        }
}

/* ---- bit reversal ---- */

static inline uint32_t rev32(uint32_t x)
{
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
    x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
    return (x >> 16) | (x << 16);
}

static inline size_t rev_bits(size_t x, unsigned bits)
{
    return bits ? (size_t)(rev32((uint32_t)x) >> (32 - bits)) : 0;
}

static void bitrev_simple_range(uint64_t *a, unsigned log_n, size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        size_t r = rev_bits(i, log_n);
        if (i < r) {
            uint64_t t = a[i];
            a[i] = a[r];
            a[r] = t;
        }
    }
}

/* Tiled bit reversal: index = hi | mid | lo with TB-bit hi and lo. The
 * 2^TB x 2^TB tile of a given mid (rows hi, each one cache line over lo)
 * maps onto the tile of rev(mid), transposed. Handles mids [m0, m1), each
 * pair of tiles by its smaller mid. */
#define TB 3
static void bitrev_tiled_range(uint64_t *a, unsigned log_n, size_t m0, size_t m1)
{
    const unsigned mb = log_n - 2 * TB, hs = log_n - TB;
    const size_t T = (size_t)1 << TB;
    static const uint8_t r3[8] = {0, 4, 2, 6, 1, 5, 3, 7};
    uint64_t A[8][8], B[8][8];
    for (size_t mid = m0; mid < m1; mid++) {
        size_t mr = rev_bits(mid, mb);
        if (mr < mid) continue;
        uint64_t *ta = a + (mid << TB), *tb = a + (mr << TB);
        for (size_t hi = 0; hi < T; hi++)
            for (size_t lo = 0; lo < T; lo++) A[hi][lo] = ta[(hi << hs) + lo];
        if (mr != mid)
            for (size_t hi = 0; hi < T; hi++)
                for (size_t lo = 0; lo < T; lo++) B[hi][lo] = tb[(hi << hs) + lo];
        /* (hi, mid, lo) -> (rev lo, rev mid, rev hi) */
        for (size_t lo = 0; lo < T; lo++)
            for (size_t hi = 0; hi < T; hi++) tb[((size_t)r3[lo] << hs) + r3[hi]] = A[hi][lo];
        if (mr != mid)
            for (size_t lo = 0; lo < T; lo++)
                for (size_t hi = 0; hi < T; hi++) ta[((size_t)r3[lo] << hs) + r3[hi]] = B[hi][lo];
    }
}

struct br_job { uint64_t *a; unsigned log_n; };

static void br_tiled_fn(void *arg, size_t b, size_t e)
{
    struct br_job *j = arg;
    bitrev_tiled_range(j->a, j->log_n, b, e);
}

static void bit_reverse_ctx(const spw_ctx *ctx, uint64_t *a, unsigned log_n)
{
    if (log_n < 2 * TB + 4) {
        bitrev_simple_range(a, log_n, 0, (size_t)1 << log_n);
        return;
    }
    struct br_job j = {a, log_n};
    spw_parallel_for(ctx, (size_t)1 << (log_n - 2 * TB), 256, br_tiled_fn, &j);
}

void spw_bit_reverse(uint64_t *a, unsigned log_n) { bit_reverse_ctx(NULL, a, log_n); }

/* ---- forward / inverse cores ---- */

/* The upper levels (log_n-1 .. bl) of a DIF of 2^log_n values, restricted
 * to the column offsets [o0, o0 + CG) modulo S = 2^bl. Those butterflies
 * never mix offsets, so a group of CG adjacent offsets (one cache line per
 * row, 2^(log_n-bl) rows) is an independent sub-problem that stays in
 * cache through every upper level: one memory pass instead of one per
 * level. Twiddle of row r, offset o in level l: w_{2h}^(r*S + o). */
#define CG 8
static void dif_upper_group(uint64_t *a, unsigned log_n, unsigned bl, size_t o0, uint64_t *buf)
{
    size_t S = (size_t)1 << bl, R = (size_t)1 << (log_n - bl);
    /* The group's rows sit 2^bl values apart: a power-of-two stride that
     * maps them all onto a few cache sets. Work on a contiguous copy. */
    uint64_t *p = a + o0;
    size_t rs = S;
    if (buf) {
        for (size_t r = 0; r < R; r++) memcpy(buf + r * CG, a + r * S + o0, CG * sizeof *buf);
        p = buf;
        rs = CG;
    }
    for (unsigned l = log_n; l-- > bl;) {
        size_t hr = (size_t)1 << (l - bl); /* row distance of the pairs */
        const uint64_t *tw = twiddles_up(l); /* group-major: see up_pos */
        uint64_t g[CG], step = 0;
        if (!tw) { /* untabulated level: w^(rS+o) = (w^S)^r * w^o */
            uint64_t root = gl_root_of_unity(l + 1);
            g[0] = gl_pow(root, o0);
            for (size_t k = 1; k < CG; k++) g[k] = fmul(g[k - 1], root);
            step = gl_pow(root, S);
        }
        if (tw && rs == CG && bl == UP_LOG) {
            /* rows r < hr of a pair block are contiguous in the buffer, and
             * so are their twiddles (group-major, q = r): one run each */
            const uint64_t *t = tw + up_pos(o0, l);
            for (size_t sb = 0; sb < R; sb += 2 * hr)
                bfly_run(p + sb * CG, p + (sb + hr) * CG, t, hr * CG);
            continue;
        }
        for (size_t sb = 0; sb < R; sb += 2 * hr) {
            uint64_t base = 1;
            for (size_t r = 0; r < hr; r++) {
                uint64_t *x = p + (sb + r) * rs, *y = x + hr * rs;
                if (tw) {
                    bfly_run(x, y, tw + up_pos(r * S + o0, l), CG);
                } else {
                    uint64_t t[CG];
                    mul_bcast(t, base, g, CG);
                    bfly_run(x, y, t, CG);
                    base = fmul(base, step);
                }
            }
        }
    }
    if (buf)
        for (size_t r = 0; r < R; r++) memcpy(a + r * S + o0, buf + r * CG, CG * sizeof *buf);
}

struct fwd_job { uint64_t *a; unsigned log_n, bl; };

static void upper_fn(void *arg, size_t b, size_t e)
{
    struct fwd_job *j = arg;
    /* NULL (no copy, strided in place) if the scratch cannot be had */
    uint64_t *buf = malloc(((size_t)CG << (j->log_n - j->bl)) * sizeof *buf);
    for (size_t grp = b; grp < e; grp++) dif_upper_group(j->a, j->log_n, j->bl, grp * CG, buf);
    free(buf);
}

static void block_fn(void *arg, size_t b, size_t e)
{
    struct fwd_job *j = arg;
    for (size_t k = b; k < e; k++) dif_block(j->a + (k << j->bl), j->bl);
}

/* The DIF levels of a forward NTT (natural order in, bit-reversed out);
 * ctx NULL = this thread only. fwd_core adds the bit reversal. Levels >= bl run in offset groups (dif_upper_group), levels < bl in
 * contiguous blocks of 2^bl (dif_block); bl grows with n so that both the
 * groups (2^(log_n-bl) cache lines) and the blocks stay in L2. */
static void dif_core(const spw_ctx *ctx, uint64_t *a, unsigned log_n)
{
    if (log_n == 0) return;
    if (log_n < SEQ_LOG) ctx = NULL;
    size_t n = (size_t)1 << log_n;
    unsigned bl = log_n < BLOCK_LOG ? log_n : BLOCK_LOG;
    if (log_n > 2 * BLOCK_LOG) bl = log_n - BLOCK_LOG;
    struct fwd_job j = {a, log_n, bl};
    /* grains: at least ~2^14 values per thread, so that many-core machines
     * do not spend more on starting threads than on small transforms */
    size_t group_vals = (size_t)CG << (log_n - bl);
    size_t ggrain = group_vals >= PAR_MIN ? 1 : PAR_MIN / group_vals;
    size_t bgrain = ((size_t)1 << bl) >= PAR_MIN ? 1 : PAR_MIN >> bl;
    if (bl < log_n) spw_parallel_for(ctx, ((size_t)1 << bl) / CG, ggrain, upper_fn, &j);
    spw_parallel_for(ctx, n >> bl, bgrain, block_fn, &j);
}

static void fwd_core(const spw_ctx *ctx, uint64_t *a, unsigned log_n)
{
    if (log_n == 0) return;
    dif_core(ctx, a, log_n); /* natural in, bit-reversed out */
    bit_reverse_ctx(log_n < SEQ_LOG ? NULL : ctx, a, log_n);
}

/* After fwd_core on evaluations X: a[j] <- X[-j mod n] * scale[j] (scale
 * NULL: times s0 for every j). Pairs (j, n-j) are handled by j <= n/2. */
struct post_job { uint64_t *a; size_t n; const uint64_t *scale; uint64_t s0; };

static void post_fn(void *arg, size_t b, size_t e)
{
    struct post_job *p = arg;
    uint64_t *a = p->a;
    size_t n = p->n;
    if (b == 0) {
        a[0] = fmul(a[0], p->scale ? p->scale[0] : p->s0);
        b = 1;
    }
#ifdef NTT_HAVE_AVX2
    if (use_simd()) b = post_avx2(a, n, p->scale, p->s0, b, e);
#endif
    for (size_t j = b; j < e; j++) {
        if (j == 0) {
            a[0] = fmul(a[0], p->scale ? p->scale[0] : p->s0);
            continue;
        }
        size_t k = n - j;
        if (k < j) break;
        uint64_t x = a[j], y = a[k];
        if (p->scale) {
            a[j] = fmul(y, p->scale[j]);
            if (k != j) a[k] = fmul(x, p->scale[k]);
        } else {
            a[j] = fmul(y, p->s0);
            if (k != j) a[k] = fmul(x, p->s0);
        }
    }
}

static void post_pass(const spw_ctx *ctx, uint64_t *a, unsigned log_n, const uint64_t *scale,
                      uint64_t s0)
{
    size_t n = (size_t)1 << log_n;
    if (log_n < SEQ_LOG) ctx = NULL;
    struct post_job p = {a, n, scale, s0};
    spw_parallel_for(ctx, n / 2 + 1, STAGE_GRAIN, post_fn, &p);
}

static uint64_t inv_pow2(unsigned log_n)
{
    /* 2^-1 = (p+1)/2 */
    return gl_pow((GL_P + 1) / 2, log_n);
}

static void inv_core(const spw_ctx *ctx, uint64_t *a, unsigned log_n)
{
    if (log_n == 0) return;
    fwd_core(ctx, a, log_n);
    post_pass(ctx, a, log_n, NULL, inv_pow2(log_n));
}

void spw_ntt_forward(uint64_t *a, unsigned log_n) { fwd_core(NULL, a, log_n); }
void spw_ntt_inverse(uint64_t *a, unsigned log_n) { inv_core(NULL, a, log_n); }

/* ---- batches ---- */

static unsigned ctx_threads(const spw_ctx *ctx) { return ctx && ctx->threads ? ctx->threads : 1; }

/* Column-parallel (each column on one thread, best locality) when there are
 * enough columns to keep every thread busy evenly or the columns are small;
 * otherwise one column at a time with every thread inside it. */
static int split_columns(const spw_ctx *ctx, size_t ncols, unsigned log_n)
{
    unsigned t = ctx_threads(ctx);
    if (t <= 1 || ncols <= 1) return 0;
    if (log_n < SEQ_LOG) return 1;
    return ncols >= 4 * (size_t)t || ncols % t == 0;
}

struct batch_job {
    uint64_t *cols;
    size_t stride;
    unsigned log_n;
    int inverse;
};

static void batch_fn(void *arg, size_t b, size_t e)
{
    struct batch_job *j = arg;
    for (size_t c = b; c < e; c++) {
        if (j->inverse) inv_core(NULL, j->cols + c * j->stride, j->log_n);
        else fwd_core(NULL, j->cols + c * j->stride, j->log_n);
    }
}

static spw_status batch(const spw_ctx *ctx, uint64_t *cols, size_t ncols, size_t stride,
                        unsigned log_n, int inverse, const char *fn)
{
    if (!cols) return spw_fail(ctx, SPW_ERR_NULL, "%s: argument 'cols' is NULL", fn);
    if (log_n > 32)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "%s: log_n %u exceeds 32 (the two-adicity)",
                        fn, log_n);
    size_t n = (size_t)1 << log_n;
    if (stride < n)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "%s: stride %zu is smaller than n = %zu", fn,
                        stride, n);
    struct batch_job j = {cols, stride, log_n, inverse};
    if (split_columns(ctx, ncols, log_n)) {
        spw_parallel_for(ctx, ncols, 1, batch_fn, &j);
    } else {
        for (size_t c = 0; c < ncols; c++) {
            if (inverse) inv_core(ctx, cols + c * stride, log_n);
            else fwd_core(ctx, cols + c * stride, log_n);
        }
    }
    return SPW_OK;
}

spw_status spw_ntt_forward_batch(const spw_ctx *ctx, uint64_t *cols, size_t ncols, size_t stride,
                                 unsigned log_n)
{
    return batch(ctx, cols, ncols, stride, log_n, 0, "spw_ntt_forward_batch");
}

spw_status spw_ntt_inverse_batch(const spw_ctx *ctx, uint64_t *cols, size_t ncols, size_t stride,
                                 unsigned log_n)
{
    return batch(ctx, cols, ncols, stride, log_n, 1, "spw_ntt_inverse_batch");
}

/* ---- coset LDE ---- */

/* The LDE skips the zero padding: after the first log B DIF levels of a
 * zero-padded column of N = nB values, block t (n values at t*n) holds
 * c_j * w_N^(j * rev_B(t)), c the (coset-scaled) coefficients. So each
 * block is filled directly, c_j times pwt[t*n + j] = s0 * (shift *
 * w_N^rev_B(t))^j (s0 = 1/n from evaluations, 1 from coefficients; one
 * table of N values shared by every column), then gets a size-n DIF, and
 * one bit reversal of N values puts everything in natural order. */
struct pwt_job { uint64_t *pwt; uint64_t shift, s0; unsigned log_n, log_b; };

static void pwt_fn(void *arg, size_t b, size_t e)
{
    struct pwt_job *p = arg;
    size_t mask = ((size_t)1 << p->log_n) - 1;
    uint64_t wN = gl_root_of_unity(p->log_n + p->log_b), base = 0, x = 0;
    for (size_t i = b; i < e; i++) {
        size_t j = i & mask;
        if (i == b || j == 0) {
            size_t t = i >> p->log_n;
            base = fmul(p->shift, gl_pow(wN, rev_bits(t, p->log_b)));
            x = fmul(p->s0, gl_pow(base, j));
        }
        p->pwt[i] = x;
        x = fmul(x, base);
    }
}

struct lde_job {
    uint64_t *out;
    const uint64_t *in;
    const uint64_t *pwt;
    unsigned log_n, log_b;
    int from_evals;
};

/* Fill job for one column: blocks t >= t0 at index j in [b, e). */
struct fill_job { uint64_t *o; const uint64_t *src; const uint64_t *pwt; size_t n, B; int rev; };

static void fill_fn(void *arg, size_t b, size_t e)
{
    struct fill_job *f = arg;
    size_t n = f->n, mask = n - 1;
    for (size_t t = f->rev ? 1 : 0; t < f->B; t++) {
        uint64_t *dst = f->o + t * n;
        const uint64_t *pw = f->pwt + t * n;
        size_t j = b;
        if (f->rev) { /* src = X in natural order, coefficient j = X[-j] */
            if (j == 0) {
                dst[0] = fmul(f->src[0], pw[0]);
                j = 1;
            }
#ifdef NTT_HAVE_AVX2
            if (use_simd() && e > j) {
                size_t cnt = (e - j) & ~(size_t)3;
                mul_arrays_avx2(dst + j, f->src + (n - j), pw + j, cnt, 1);
                j += cnt;
            }
#endif
            for (; j < e; j++) dst[j] = fmul(f->src[(n - j) & mask], pw[j]);
        } else {
#ifdef NTT_HAVE_AVX2
            if (use_simd()) {
                size_t cnt = (e - j) & ~(size_t)3;
                mul_arrays_avx2(dst + j, f->src + j, pw + j, cnt, 0);
                j += cnt;
            }
#endif
            for (; j < e; j++) dst[j] = fmul(f->src[j], pw[j]);
        }
    }
}

/* One column: out (n*B values) <- coset evaluations. */
static void lde_column(const spw_ctx *ctx, const struct lde_job *j, size_t c)
{
    size_t n = (size_t)1 << j->log_n, B = (size_t)1 << j->log_b, N = n << j->log_b;
    uint64_t *o = j->out + c * N;
    const uint64_t *in = j->in + c * n;
    const spw_ctx *pctx = j->log_n < SEQ_LOG ? NULL : ctx;
    if (j->from_evals) {
        memcpy(o, in, n * sizeof *o);
        fwd_core(ctx, o, j->log_n); /* X, natural order, in block 0 */
        struct fill_job f = {o, o, j->pwt, n, B, 1};
        spw_parallel_for(pctx, n, STAGE_GRAIN, fill_fn, &f); /* blocks 1 .. B-1 */
        post_pass(ctx, o, j->log_n, j->pwt, 0);              /* block 0, in place */
    } else {
        struct fill_job f = {o, in, j->pwt, n, B, 0};
        spw_parallel_for(pctx, n, STAGE_GRAIN, fill_fn, &f);
    }
    for (size_t t = 0; t < B; t++) dif_core(ctx, o + t * n, j->log_n);
    bit_reverse_ctx(j->log_n + j->log_b < SEQ_LOG ? NULL : ctx, o, j->log_n + j->log_b);
}

static void lde_fn(void *arg, size_t b, size_t e)
{
    for (size_t c = b; c < e; c++) lde_column(NULL, arg, c);
}

static spw_status lde(const spw_ctx *ctx, uint64_t *out, const uint64_t *in, size_t ncols,
                      unsigned log_n, unsigned blowup, uint64_t shift, int from_evals,
                      const char *fn, const char *in_name)
{
    if (!out) return spw_fail(ctx, SPW_ERR_NULL, "%s: argument 'out' is NULL", fn);
    if (!in) return spw_fail(ctx, SPW_ERR_NULL, "%s: argument '%s' is NULL", fn, in_name);
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return spw_fail(ctx, SPW_ERR_BLOWUP, "%s: blowup %u is not 2, 4 or 8", fn, blowup);
    if (log_n > 32)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "%s: log_n %u exceeds 32", fn, log_n);
    unsigned log_b = spw_log2(blowup);
    if (log_n + log_b > 32)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG,
                        "%s: LDE size 2^%u (log_n %u, blowup %u) exceeds 2^32", fn,
                        log_n + log_b, log_n, blowup);
    if (shift >= GL_P || shift == 0)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "%s: shift %llu is zero or not canonical",
                        fn, (unsigned long long)shift);
    if (ncols == 0) return SPW_OK;
    size_t N = (size_t)1 << (log_n + log_b);
    uint64_t *pw = spw_malloc_array(N, sizeof *pw);
    if (!pw)
        return spw_fail(ctx, SPW_ERR_NOMEM, "%s: cannot allocate %zu coset powers", fn, N);
    struct pwt_job pj = {pw, shift, from_evals ? inv_pow2(log_n) : 1, log_n, log_b};
    spw_parallel_for(log_n + log_b < SEQ_LOG ? NULL : ctx, N, STAGE_GRAIN, pwt_fn, &pj);
    struct lde_job j = {out, in, pw, log_n, log_b, from_evals};
    if (split_columns(ctx, ncols, log_n + log_b)) {
        spw_parallel_for(ctx, ncols, 1, lde_fn, &j);
    } else {
        for (size_t c = 0; c < ncols; c++) lde_column(ctx, &j, c);
    }
    free(pw);
    return SPW_OK;
}

spw_status spw_lde_batch(const spw_ctx *ctx, uint64_t *out, const uint64_t *in, size_t ncols,
                         unsigned log_n, unsigned blowup)
{
    return lde(ctx, out, in, ncols, log_n, blowup, GL_GENERATOR, 1, "spw_lde_batch", "in");
}

spw_status spw_coeffs_to_coset_batch(const spw_ctx *ctx, uint64_t *out, const uint64_t *coeffs,
                                     size_t ncols, unsigned log_n, unsigned blowup, uint64_t shift)
{
    return lde(ctx, out, coeffs, ncols, log_n, blowup, shift, 0, "spw_coeffs_to_coset_batch",
               "coeffs");
}
