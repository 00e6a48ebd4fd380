// ntt.cu - NTT and coset-LDE kernels for batches of Goldilocks columns
// resident on the device, with the conventions of src/ntt.h (natural order
// in and out; LDE onto GL_GENERATOR * <w_{n*blowup}>).
//
// Scheme. A transform of 2^L values is radix-2 butterflies over the L
// index bits, grouped into "passes": one kernel sweep over the data per
// pass. A pass loads a tile of up to 2^12 values into shared memory - the
// values whose indices vary in the pass's k butterfly bits [b, b+k) and in
// the m = min(4, b) lowest bits (so a warp reads runs of 16 consecutive
// u64, 128 bytes) - runs its k stages there, and writes the tile back.
// The first pass covers bits [0,12); the rest share the remaining bits
// evenly, at most 8 each, with the tile filled by longer contiguous runs
// (2^24: [0,12) [12,18) [18,24), 512-byte runs): 2 passes for 2^13..2^20,
// 3 for 2^21..2^28. Stages are done two at a time (radix-4) in registers,
// so a tile of 12 stages makes 6 shared-memory round trips.
//   forward/inverse: in-place bit reversal (32x32 tiles swapped through
//                    shared memory: one coalesced pass), then Cooley-Tukey (DIT) passes
//                    (inverse: inverse roots, 1/n folded into the last pass)
//   coset LDE:       Gentleman-Sande (DIF) inverse passes (natural in,
//                    bit-reversed out, out of place into scratch), then DIT
//                    forward passes over n*B starting at bit log2(B): in
//                    bit-reversed order the zero-padded coefficients sit at
//                    multiples of B, and the first log2(B) DIT stages merely
//                    replicate each one B times, so the first forward pass
//                    reads coefficient g>>log2(B) directly. The coset
//                    scaling shift^j / n (j = bitrev(position)) is applied
//                    by the last inverse pass, on n values rather than n*B.
//                    No bit-reversal pass and no zero fill.
// Twiddles: w = g32^e with g32 a primitive 2^32-th root and e = j<<(31-b)
// at stage b, from two tables of 2^16 values each (g32^lo, g32^(hi<<16)):
// one lookup for stages b < 16, two lookups and a multiply above. The
// tables (2 MiB with the inverse ones) live in the arena. The LDE also
// builds per call one-lookup tables g32^(i << (32-L)) for its two sizes
// (optional: skipped when the arena is full) and runs its passes with the
// column as the fast grid dimension, so all columns of a tile share them
// in L2. Butterfly arithmetic: gln_mul/gln_add/gln_sub below (PTX carry
// chains on 32-bit limbs), the same canonical results as src/field.h.
#include "cuda_internal.cuh"
#include "field.h"

#define TILE_LOG 12
#define TILE (1u << TILE_LOG)
#define MAX_K 8
#define NTT_THREADS 512
#define MAX_PASSES 8
#define TW_LOG 16
#define TW_N (1u << TW_LOG)

struct pass_desc {
    unsigned b_lo, k, m;
};

/* Splits bits [s0, L) into passes (at least one, possibly with k = 0):
 * the first takes the lowest bits (tile = 2^12 consecutive values), the
 * rest share the remaining bits evenly, at most MAX_K each, and widen their
 * contiguous runs m to fill the 2^12 tile (m >= 4: 128-byte runs). */
static unsigned plan_passes(pass_desc *p, unsigned L, unsigned s0)
{
    unsigned k0 = L - s0 < TILE_LOG - s0 ? L - s0 : TILE_LOG - s0;
    unsigned np = 0, b = s0 + k0;
    p[np].b_lo = s0;
    p[np].k = k0;
    p[np].m = s0;
    np++;
    if (b < L) {
        unsigned R = L - b, P = (R + MAX_K - 1) / MAX_K;
        for (unsigned i = 0; i < P; i++) {
            unsigned k = R / P + (i < R % P ? 1 : 0);
            p[np].b_lo = b;
            p[np].k = k;
            p[np].m = b < TILE_LOG - k ? b : TILE_LOG - k;
            np++;
            b += k;
        }
    }
    return np;
}

struct pass_args {
    uint64_t *dst;
    const uint64_t *src;
    uint64_t dst_stride, src_stride;
    unsigned L, b_lo, k, m;
    const uint64_t *tw_lo, *tw_hi;
    /* optional one-lookup table for this L (LDE): tw_full[i] = g32^(i << tw_full_sh),
     * i < 2^(L-1), tw_full_sh = 32 - L; used where two lookups and a multiply
     * would be needed */
    const uint64_t *tw_full;
    unsigned tw_full_sh;
    /* grid is (columns, tiles) instead of (tiles, columns): the blocks of one
     * tile in all columns run together and share their twiddles in L2 */
    int colfast;
    /* expand mode (LDE's first forward pass): value at g = src[g >> ex_shift] */
    int expand;
    unsigned ex_shift;
    /* scale at store (LDE's last inverse pass), when sc_lo != NULL:
     * v *= sc_hi[j >> 16] * sc_lo[j & 0xffff], j = bitrev_{ex_log}(g) */
    unsigned ex_log;
    const uint64_t *sc_lo, *sc_hi;
    /* store-time multiplier (inverse's 1/n), applied when post != 0 */
    uint64_t post;
};

/* ---- device Goldilocks arithmetic for the butterflies ----
 * The same functions as gl_mul/gl_add/gl_sub of src/field.h (canonical in,
 * canonical out, so results are bit-identical), written on 32-bit limbs with
 * PTX carry chains: the 64x64->128 product as 4 mul + 4 mad with carries
 * (no separate lo/hi 64-bit multiplies), and the reduction
 *   r3:r2:r1:r0 = (r1:r0) - r3 + r2 * (2^32 - 1)   (2^64 = 2^32-1, 2^96 = -1)
 * as one carry-flag chain with a signed top word instead of 64-bit compares.
 * gln_mul accepts any 64-bit inputs; gln_add/gln_sub need canonical ones.
 * (Checked on the host by an emulation of these exact sequences against
 * __int128 arithmetic; tests/test_gpu_ntt checks the kernels.) */
static __device__ __forceinline__ uint64_t gln_mul(uint64_t a, uint64_t b)
{
    uint32_t lo, hi;
    asm("{\n\t"
        ".reg .u32 a0, a1, b0, b1, r0, r1, r2, r3, e, h;\n\t"
        "mov.b64 {a0, a1}, %2;\n\t"
        "mov.b64 {b0, b1}, %3;\n\t"
        "mul.lo.u32 r0, a0, b0;\n\t"
        "mul.hi.u32 r1, a0, b0;\n\t"
        "mul.lo.u32 r2, a1, b1;\n\t"
        "mul.hi.u32 r3, a1, b1;\n\t"
        "mad.lo.cc.u32 r1, a0, b1, r1;\n\t"
        "madc.hi.cc.u32 r2, a0, b1, r2;\n\t"
        "addc.u32 r3, r3, 0;\n\t"
        "mad.lo.cc.u32 r1, a1, b0, r1;\n\t"
        "madc.hi.cc.u32 r2, a1, b0, r2;\n\t"
        "addc.u32 r3, r3, 0;\n\t"
        /* S = (r1:r0) - r2 - r3 + (r2 << 32) as two words and a signed
         * top e in {-1, 0, 1}; then S - e * 2^64 + e * (2^32 - 1):
         * add -e to the low word and e >> 31 (sign) to the high one. */
        "sub.cc.u32 r0, r0, r2;\n\t"
        "subc.cc.u32 r1, r1, 0;\n\t"
        "subc.u32 e, 0, 0;\n\t"
        "sub.cc.u32 r0, r0, r3;\n\t"
        "subc.cc.u32 r1, r1, 0;\n\t"
        "subc.u32 e, e, 0;\n\t"
        "add.cc.u32 r1, r1, r2;\n\t"
        "addc.u32 e, e, 0;\n\t"
        "shr.s32 h, e, 31;\n\t"
        "neg.s32 e, e;\n\t"
        "add.cc.u32 %0, r0, e;\n\t"
        "addc.u32 %1, r1, h;\n\t"
        "}"
        : "=r"(lo), "=r"(hi)
        : "l"(a), "l"(b));
    /* canonical: r >= p only when hi = 2^32 - 1 and lo > 0, and then
     * r - p = lo - 1 */
    const bool ge = hi == 0xffffffffu && lo != 0;
    return ge ? (uint64_t)(lo - 1) : ((uint64_t)hi << 32) | lo;
}

static __device__ __forceinline__ uint64_t gln_add(uint64_t a, uint64_t b)
{
    /* t = a + b; v = t + (2^32-1) = t - p mod 2^64; a carry out of either
     * add means a + b >= p */
    uint32_t t0, t1, v0, v1, c;
    asm("{\n\t"
        ".reg .u32 a0, a1, b0, b1;\n\t"
        "mov.b64 {a0, a1}, %5;\n\t"
        "mov.b64 {b0, b1}, %6;\n\t"
        "add.cc.u32 %0, a0, b0;\n\t"
        "addc.cc.u32 %1, a1, b1;\n\t"
        "addc.u32 %4, 0, 0;\n\t"
        "add.cc.u32 %2, %0, 0xffffffff;\n\t"
        "addc.cc.u32 %3, %1, 0;\n\t"
        "addc.u32 %4, %4, 0;\n\t"
        "}"
        : "=r"(t0), "=r"(t1), "=r"(v0), "=r"(v1), "=r"(c)
        : "l"(a), "l"(b));
    return c ? ((uint64_t)v1 << 32) | v0 : ((uint64_t)t1 << 32) | t0;
}

static __device__ __forceinline__ uint64_t gln_sub(uint64_t a, uint64_t b)
{
    /* d = a - b; on borrow subtract 2^32-1 more (never borrows again) */
    uint32_t lo, hi;
    asm("{\n\t"
        ".reg .u32 a0, a1, b0, b1, m;\n\t"
        "mov.b64 {a0, a1}, %2;\n\t"
        "mov.b64 {b0, b1}, %3;\n\t"
        "sub.cc.u32 a0, a0, b0;\n\t"
        "subc.cc.u32 a1, a1, b1;\n\t"
        "subc.u32 m, 0, 0;\n\t"
        "sub.cc.u32 %0, a0, m;\n\t"
        "subc.u32 %1, a1, 0;\n\t"
        "}"
        : "=r"(lo), "=r"(hi)
        : "l"(a), "l"(b));
    return ((uint64_t)hi << 32) | lo;
}

static __device__ __forceinline__ uint64_t tw_get(const pass_args &a, uint32_t e)
{
    uint32_t l = e & (TW_N - 1);
    if (!l) return __ldg(a.tw_hi + (e >> TW_LOG));
    if (a.tw_full) return __ldg(a.tw_full + (e >> a.tw_full_sh));
    return gln_mul(__ldg(a.tw_hi + (e >> TW_LOG)), __ldg(a.tw_lo + l));
}

static __device__ __forceinline__ uint32_t brev_bits(uint32_t x, unsigned bits)
{
    return bits ? __brev(x) >> (32 - bits) : 0;
}

/* Global index (within the column) of tile element t. */
static __device__ __forceinline__ uint32_t tile_index(uint32_t base, uint32_t t, unsigned b_lo,
                                                      unsigned m)
{
    return base | ((t >> m) << b_lo) | (t & ((1u << m) - 1));
}

template <bool DIT>
__global__ void __launch_bounds__(NTT_THREADS, 3) ntt_pass_kernel(pass_args a, unsigned col0)
{
    __shared__ uint64_t sh[TILE];
    const unsigned col = col0 + (a.colfast ? blockIdx.x : blockIdx.y);
    const unsigned T = 1u << (a.k + a.m);
    const unsigned low_free = a.b_lo - a.m; /* tile-id bits placed at m */
    const uint32_t tid = a.colfast ? blockIdx.y : blockIdx.x;
    const uint32_t base = ((tid & ((1u << low_free) - 1)) << a.m) |
                          (uint32_t)((uint64_t)(tid >> low_free) << (a.b_lo + a.k));
    uint64_t *dst = a.dst + (uint64_t)col * a.dst_stride;
    const uint64_t *src = a.src + (uint64_t)col * a.src_stride;

    for (uint32_t t = threadIdx.x; t < T; t += blockDim.x) {
        uint32_t g = tile_index(base, t, a.b_lo, a.m);
        uint64_t v;
        if (a.expand) {
            v = src[g >> a.ex_shift];
        } else {
            v = src[g];
        }
        sh[t] = v;
    }
    __syncthreads();

    /* radix-4: two stages per shared-memory round trip */
    unsigned s = 0;
    for (; s + 1 < a.k; s += 2) {
        const unsigned bt = DIT ? a.b_lo + s : a.b_lo + a.k - 1 - s; /* DIT: lower, DIF: upper */
        const unsigned bb = DIT ? bt : bt - 1;                      /* the lower stage bit */
        const unsigned lb = a.m + (bb - a.b_lo);
        for (uint32_t q = threadIdx.x; q < T / 4; q += blockDim.x) {
            uint32_t t0 = ((q >> lb) << (lb + 2)) | (q & ((1u << lb) - 1));
            uint32_t t1 = t0 + (1u << lb), t2 = t0 + (2u << lb), t3 = t0 + (3u << lb);
            uint32_t g0 = tile_index(base, t0, a.b_lo, a.m);
            uint64_t x0 = sh[t0], x1 = sh[t1], x2 = sh[t2], x3 = sh[t3], y;
            if (DIT) {
                /* stage bb: (x0,x1), (x2,x3) share j; stage bb+1: (x0,x2) j, (x1,x3) j+2^bb */
                uint32_t j = g0 & ((1u << bb) - 1);
                uint64_t w = tw_get(a, j << (31 - bb));
                uint64_t w1 = tw_get(a, j << (30 - bb));
                /* w2 = w1 * g32^(2^30) (a 4th root of unity, hi-table entry
                 * 2^14): one multiply instead of two lookups and a multiply
                 * where the twiddle needs both tables */
                uint64_t w2 = bb >= TW_LOG - 1 && !a.tw_full
                                  ? gln_mul(w1, __ldg(a.tw_hi + (1u << (30 - TW_LOG))))
                                  : tw_get(a, (j + (1u << bb)) << (30 - bb));
                y = gln_mul(x1, w); x1 = gln_sub(x0, y); x0 = gln_add(x0, y);
                y = gln_mul(x3, w); x3 = gln_sub(x2, y); x2 = gln_add(x2, y);
                y = gln_mul(x2, w1); x2 = gln_sub(x0, y); x0 = gln_add(x0, y);
                y = gln_mul(x3, w2); x3 = gln_sub(x1, y); x1 = gln_add(x1, y);
            } else {
                /* stage bt: (x0,x2) j0, (x1,x3) j0+2^bb; stage bb: (x0,x1), (x2,x3) share jb */
                uint32_t j0 = g0 & ((1u << bt) - 1), jb = g0 & ((1u << bb) - 1);
                uint64_t wt0 = tw_get(a, j0 << (31 - bt));
                /* wt1 = wt0 * g32^(2^30), as w2 in the DIT case */
                uint64_t wt1 = bb >= TW_LOG - 1 && !a.tw_full
                                   ? gln_mul(wt0, __ldg(a.tw_hi + (1u << (30 - TW_LOG))))
                                   : tw_get(a, (j0 + (1u << bb)) << (31 - bt));
                uint64_t wb = tw_get(a, jb << (31 - bb));
                y = gln_add(x0, x2); x2 = gln_mul(gln_sub(x0, x2), wt0); x0 = y;
                y = gln_add(x1, x3); x3 = gln_mul(gln_sub(x1, x3), wt1); x1 = y;
                y = gln_add(x0, x1); x1 = gln_mul(gln_sub(x0, x1), wb); x0 = y;
                y = gln_add(x2, x3); x3 = gln_mul(gln_sub(x2, x3), wb); x2 = y;
            }
            sh[t0] = x0; sh[t1] = x1; sh[t2] = x2; sh[t3] = x3;
        }
        __syncthreads();
    }
    if (s < a.k) { /* a last radix-2 stage when k is odd */
        const unsigned b = DIT ? a.b_lo + s : a.b_lo + a.k - 1 - s;
        const unsigned lb = a.m + (b - a.b_lo);
        for (uint32_t q = threadIdx.x; q < T / 2; q += blockDim.x) {
            uint32_t t0 = ((q >> lb) << (lb + 1)) | (q & ((1u << lb) - 1));
            uint32_t t1 = t0 | (1u << lb);
            uint32_t g0 = tile_index(base, t0, a.b_lo, a.m);
            uint32_t j = g0 & ((1u << b) - 1);
            uint64_t w = tw_get(a, j << (31 - b));
            uint64_t x = sh[t0], y = sh[t1];
            if (DIT) {
                y = gln_mul(y, w);
                sh[t0] = gln_add(x, y);
                sh[t1] = gln_sub(x, y);
            } else {
                sh[t0] = gln_add(x, y);
                sh[t1] = gln_mul(gln_sub(x, y), w);
            }
        }
        __syncthreads();
    }

    for (uint32_t t = threadIdx.x; t < T; t += blockDim.x) {
        uint32_t g = tile_index(base, t, a.b_lo, a.m);
        uint64_t v = sh[t];
        if (a.post) v = gln_mul(v, a.post);
        if (a.sc_lo) { /* LDE: coefficient bitrev(g) times shift^bitrev(g) / n */
            uint32_t j = brev_bits(g, a.ex_log);
            v = gln_mul(v, gln_mul(__ldg(a.sc_hi + (j >> TW_LOG)), __ldg(a.sc_lo + (j & (TW_N - 1)))));
        }
        dst[g] = v;
    }
}

__global__ void bitrev_kernel(uint64_t *cols, uint64_t stride, unsigned L, uint64_t n)
{
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint64_t *c = cols + (uint64_t)blockIdx.y * stride;
    uint64_t r = brev_bits((uint32_t)i, L);
    if (i < r) {
        uint64_t x = c[i];
        c[i] = c[r];
        c[r] = x;
    }
}

/* In-place bit reversal for L >= 10 with coalesced accesses: index
 * g = (hi, mid, lo) with 5-bit hi and lo; the 32x32 tile of a fixed mid and
 * the tile of brev(mid) are swapped through shared memory, transposed and
 * bit-reversed, so every global access is a 256-byte run. */
__global__ void __launch_bounds__(256) bitrev_tiled_kernel(uint64_t *cols, uint64_t stride, unsigned L)
{
    __shared__ uint64_t sa[32][33], sb[32][33];
    const unsigned midbits = L - 10;
    const uint32_t mid = blockIdx.x, mid2 = brev_bits(mid, midbits);
    if (mid2 < mid) return;
    uint64_t *c = cols + (uint64_t)blockIdx.y * stride;
    const unsigned hs = L - 5;
    for (unsigned i = threadIdx.x; i < 1024; i += blockDim.x) {
        unsigned hi = i >> 5, lo = i & 31;
        sa[hi][lo] = c[((uint64_t)hi << hs) | ((uint64_t)mid << 5) | lo];
        sb[hi][lo] = c[((uint64_t)hi << hs) | ((uint64_t)mid2 << 5) | lo];
    }
    __syncthreads();
    for (unsigned i = threadIdx.x; i < 1024; i += blockDim.x) {
        unsigned hi = i >> 5, lo = i & 31, rl = __brev(lo) >> 27, rh = __brev(hi) >> 27;
        c[((uint64_t)hi << hs) | ((uint64_t)mid << 5) | lo] = sb[rl][rh];
        if (mid2 != mid) c[((uint64_t)hi << hs) | ((uint64_t)mid2 << 5) | lo] = sa[rl][rh];
    }
}

/* out[i] = mulc * base^(i << shift), i < count */
__global__ void pow_table_kernel(uint64_t *out, uint64_t base, unsigned shift, uint64_t mulc,
                                 unsigned count)
{
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) out[i] = gl_mul(mulc, gl_pow(base, (uint64_t)i << shift));
}

static spw_status pow_table(uint64_t *out, uint64_t base, unsigned shift, uint64_t mulc,
                            cudaStream_t s)
{
    pow_table_kernel<<<TW_N / 256, 256, 0, s>>>(out, base, shift, mulc, TW_N);
    SPW_CUDA_LAUNCHED("pow_table_kernel");
    return SPW_OK;
}

/* out[i] = g32^(i << (32 - L)), i < 2^(L-1), from the two-level tables */
__global__ void full_table_kernel(uint64_t *out, const uint64_t *lo, const uint64_t *hi, unsigned L)
{
    uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (1u << (L - 1))) return;
    uint32_t e = i << (32 - L), l = e & (TW_N - 1);
    uint64_t h = hi[e >> TW_LOG];
    out[i] = l ? gl_mul(h, lo[l]) : h;
}

/* Builds the one-lookup table for transforms of 2^L (L >= 17, where stages
 * >= 16 exist) into the arena, or leaves *out NULL: it is an optimisation,
 * so a full arena only means the two-level tables are used. */
static void full_table(spw_cuda_arena *a, uint64_t **out, const uint64_t *lo, const uint64_t *hi,
                       unsigned L, cudaStream_t s)
{
    *out = NULL;
    if (L < 17 || L > 32) return;
    void *p;
    uint64_t cnt = 1ull << (L - 1);
    if (spw_cuda_arena_alloc(a, &p, cnt * sizeof(uint64_t)) != SPW_OK) return;
    full_table_kernel<<<(unsigned)((cnt + 255) / 256), 256, 0, s>>>((uint64_t *)p, lo, hi, L);
    if (cudaGetLastError() != cudaSuccess) {
        spw_cuda_arena_free(a, p);
        return;
    }
    spw_cuda_count_launch(1);
    *out = (uint64_t *)p;
}

spw_status spw_cuda_build_twiddles(spw_cuda_arena *a, spw_cuda_twiddles *tw)
{
    void *p;
    spw_status st = spw_cuda_arena_alloc(a, &p, 4ull * TW_N * sizeof(uint64_t));
    if (st != SPW_OK) return st;
    uint64_t *t = (uint64_t *)p;
    tw->fwd_lo = t;
    tw->fwd_hi = t + TW_N;
    tw->inv_lo = t + 2 * TW_N;
    tw->inv_hi = t + 3 * TW_N;
    uint64_t g = gl_root_of_unity(32), gi = gl_inv(g);
    if ((st = pow_table(tw->fwd_lo, g, 0, 1, 0)) != SPW_OK ||
        (st = pow_table(tw->fwd_hi, g, TW_LOG, 1, 0)) != SPW_OK ||
        (st = pow_table(tw->inv_lo, gi, 0, 1, 0)) != SPW_OK ||
        (st = pow_table(tw->inv_hi, gi, TW_LOG, 1, 0)) != SPW_OK) {
        spw_cuda_arena_free(a, p);
        return st;
    }
    cudaError_t e = cudaStreamSynchronize(0);
    if (e != cudaSuccess) {
        spw_cuda_arena_free(a, p);
        return spw_cuda_check(e, "building twiddle tables");
    }
    return SPW_OK;
}

static spw_status launch_pass(pass_args pa, bool dit, size_t ncols, cudaStream_t s)
{
    unsigned T = 1u << (pa.k + pa.m);
    uint64_t tiles = 1ull << (pa.L - pa.k - pa.m);
    unsigned threads = T / 2 < 32 ? 32 : (T / 2 > NTT_THREADS ? NTT_THREADS : T / 2);
    if (tiles > 65535) pa.colfast = 0; /* gridDim.y limit */
    for (size_t c0 = 0; c0 < ncols; c0 += 65535) {
        unsigned nc = (unsigned)(ncols - c0 < 65535 ? ncols - c0 : 65535);
        dim3 grid = pa.colfast ? dim3(nc, (unsigned)tiles) : dim3((unsigned)tiles, nc);
        if (dit) ntt_pass_kernel<true><<<grid, threads, 0, s>>>(pa, (unsigned)c0);
        else ntt_pass_kernel<false><<<grid, threads, 0, s>>>(pa, (unsigned)c0);
        SPW_CUDA_LAUNCHED("ntt_pass_kernel");
    }
    return SPW_OK;
}

static spw_status check_common(spw_cuda_arena *a, const void *p, size_t ncols, unsigned log_n,
                               const char *fn)
{
    if (!a) return spw_cuda_set_error(SPW_ERR_NULL, "%s: arena is NULL", fn);
    if (!p && ncols) return spw_cuda_set_error(SPW_ERR_NULL, "%s: column pointer is NULL", fn);
    if (log_n > 32) return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "%s: log_n %u > 32", fn, log_n);
    return SPW_OK;
}

static spw_status ntt_batch(spw_cuda_arena *a, cudaStream_t s, uint64_t *d, size_t ncols,
                            size_t stride, unsigned L, bool inverse, const char *fn)
{
    spw_status st = check_common(a, d, ncols, L, fn);
    if (st != SPW_OK) return st;
    uint64_t n = 1ull << L;
    if (stride < n)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "%s: stride %zu < n = %llu", fn, stride,
                                  (unsigned long long)n);
    if (!ncols || L == 0) return SPW_OK;
    const spw_cuda_twiddles *tw;
    if ((st = spw_cuda_arena_twiddles(a, &tw)) != SPW_OK) return st;
    for (size_t c0 = 0; c0 < ncols; c0 += 65535) {
        unsigned nc = (unsigned)(ncols - c0 < 65535 ? ncols - c0 : 65535);
        if (L >= 10) {
            dim3 grid(1u << (L - 10), nc);
            bitrev_tiled_kernel<<<grid, 256, 0, s>>>(d + c0 * stride, stride, L);
        } else {
            dim3 grid((unsigned)((n + 255) / 256), nc);
            bitrev_kernel<<<grid, 256, 0, s>>>(d + c0 * stride, stride, L, n);
        }
        SPW_CUDA_LAUNCHED("bitrev_kernel");
    }
    pass_desc p[MAX_PASSES];
    unsigned np = plan_passes(p, L, 0);
    for (unsigned i = 0; i < np; i++) {
        pass_args pa = {};
        pa.dst = d;
        pa.src = d;
        pa.dst_stride = pa.src_stride = stride;
        pa.L = L;
        pa.b_lo = p[i].b_lo;
        pa.k = p[i].k;
        pa.m = p[i].m;
        pa.tw_lo = inverse ? tw->inv_lo : tw->fwd_lo;
        pa.tw_hi = inverse ? tw->inv_hi : tw->fwd_hi;
        pa.post = (inverse && i == np - 1) ? gl_inv(n % GL_P) : 0;
        if ((st = launch_pass(pa, true, ncols, s)) != SPW_OK) return st;
    }
    return SPW_OK;
}

extern "C" spw_status spw_cuda_ntt_forward_batch(spw_cuda_arena *a, spw_cuda_stream s,
                                                 uint64_t *d_cols, size_t ncols, size_t stride,
                                                 unsigned log_n)
{
    return ntt_batch(a, s, d_cols, ncols, stride, log_n, false, "spw_cuda_ntt_forward_batch");
}

extern "C" spw_status spw_cuda_ntt_inverse_batch(spw_cuda_arena *a, spw_cuda_stream s,
                                                 uint64_t *d_cols, size_t ncols, size_t stride,
                                                 unsigned log_n)
{
    return ntt_batch(a, s, d_cols, ncols, stride, log_n, true, "spw_cuda_ntt_inverse_batch");
}

extern "C" unsigned spw_cuda_ntt_passes(unsigned log_n)
{
    pass_desc p[MAX_PASSES];
    return log_n ? 1 + plan_passes(p, log_n, 0) : 0;
}

static unsigned log_blowup(unsigned blowup)
{
    return blowup == 2 ? 1 : blowup == 4 ? 2 : blowup == 8 ? 3 : 0;
}

extern "C" unsigned spw_cuda_lde_passes(unsigned log_n, unsigned blowup)
{
    pass_desc p[MAX_PASSES];
    unsigned lb = log_blowup(blowup);
    return plan_passes(p, log_n, 0) + plan_passes(p, log_n + lb, lb);
}

extern "C" spw_status spw_cuda_lde_batch(spw_cuda_arena *a, spw_cuda_stream s, uint64_t *d_out,
                                         const uint64_t *d_in, size_t ncols, unsigned log_n,
                                         unsigned blowup)
{
    return spw_cuda_lde_shift_batch(a, s, d_out, d_in, ncols, log_n, blowup, GL_GENERATOR);
}

extern "C" spw_status spw_cuda_lde_shift_batch(spw_cuda_arena *a, spw_cuda_stream s,
                                               uint64_t *d_out, const uint64_t *d_in, size_t ncols,
                                               unsigned log_n, unsigned blowup, uint64_t shift)
{
    const char *fn = "spw_cuda_lde_batch";
    if (shift == 0 || shift >= GL_P)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "%s: shift %llu is zero or not canonical",
                                  fn, (unsigned long long)shift);
    spw_status st = check_common(a, d_in, ncols, log_n, fn);
    if (st != SPW_OK) return st;
    if (!d_out && ncols) return spw_cuda_set_error(SPW_ERR_NULL, "%s: d_out is NULL", fn);
    unsigned lb = log_blowup(blowup);
    if (!lb) return spw_cuda_set_error(SPW_ERR_BLOWUP, "%s: blowup %u not in {2,4,8}", fn, blowup);
    const unsigned L = log_n + lb;
    if (L > 32)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "%s: log_n + log_blowup = %u > 32", fn, L);
    if (!ncols) return SPW_OK;
    const uint64_t n = 1ull << log_n, N = n << lb;
    const spw_cuda_twiddles *tw;
    if ((st = spw_cuda_arena_twiddles(a, &tw)) != SPW_OK) return st;

    /* Scale tables: sc_lo[i] = shift^i, sc_hi[i] = shift^(i<<16) / n. Kept out
     * of the arena's cache: they depend on shift and n. */
    void *scp;
    if ((st = spw_cuda_arena_alloc(a, &scp, 2ull * TW_N * sizeof(uint64_t))) != SPW_OK) return st;
    uint64_t *sc_lo = (uint64_t *)scp, *sc_hi = sc_lo + TW_N;
    /* Scratch for the coefficients: as many columns as fit. */
    size_t chunk = ncols;
    void *scratch = NULL;
    for (;;) {
        st = spw_cuda_arena_alloc(a, &scratch, (uint64_t)chunk * n * sizeof(uint64_t));
        if (st == SPW_OK || st != SPW_ERR_DEVICE_OOM || chunk == 1) break;
        chunk = (chunk + 1) / 2;
    }
    if (st != SPW_OK) {
        spw_cuda_arena_free(a, scp);
        return st;
    }
    uint64_t *coef = (uint64_t *)scratch;
    uint64_t *full_inv, *full_fwd; /* optional one-lookup twiddle tables */
    full_table(a, &full_inv, tw->inv_lo, tw->inv_hi, log_n, s);
    full_table(a, &full_fwd, tw->fwd_lo, tw->fwd_hi, L, s);
    if ((st = pow_table(sc_lo, shift, 0, 1, s)) != SPW_OK ||
        (st = pow_table(sc_hi, shift, TW_LOG, gl_inv(n % GL_P), s)) != SPW_OK)
        goto out;
    {
        pass_desc pi[MAX_PASSES], pf[MAX_PASSES];
        unsigned npi = plan_passes(pi, log_n, 0), npf = plan_passes(pf, L, lb);
        for (size_t c0 = 0; c0 < ncols; c0 += chunk) {
            size_t nc = ncols - c0 < chunk ? ncols - c0 : chunk;
            /* inverse: DIF from the top pass down; the first reads d_in */
            for (unsigned i = 0; i < npi; i++) {
                const pass_desc &p = pi[npi - 1 - i];
                pass_args pa = {};
                pa.dst = coef;
                pa.dst_stride = n;
                pa.src = i == 0 ? d_in + c0 * n : coef;
                pa.src_stride = n;
                pa.L = log_n;
                pa.b_lo = p.b_lo;
                pa.k = p.k;
                pa.m = p.m;
                pa.tw_lo = tw->inv_lo;
                pa.tw_hi = tw->inv_hi;
                pa.tw_full = full_inv;
                pa.tw_full_sh = 32 - log_n;
                pa.colfast = 1;
                if (i == npi - 1) { /* the last (lowest) pass scales */
                    pa.ex_log = log_n;
                    pa.sc_lo = sc_lo;
                    pa.sc_hi = sc_hi;
                }
                if ((st = launch_pass(pa, false, nc, s)) != SPW_OK) goto out;
            }
            /* forward: DIT from bit lb up; the first expands + scales */
            for (unsigned i = 0; i < npf; i++) {
                pass_args pa = {};
                pa.dst = d_out + c0 * N;
                pa.dst_stride = N;
                pa.src = i == 0 ? coef : d_out + c0 * N;
                pa.src_stride = i == 0 ? n : N;
                pa.L = L;
                pa.b_lo = pf[i].b_lo;
                pa.k = pf[i].k;
                pa.m = pf[i].m;
                pa.tw_lo = tw->fwd_lo;
                pa.tw_hi = tw->fwd_hi;
                pa.tw_full = full_fwd;
                pa.tw_full_sh = 32 - L;
                pa.colfast = 1;
                if (i == 0) {
                    pa.expand = 1;
                    pa.ex_shift = lb;
                }
                if ((st = launch_pass(pa, true, nc, s)) != SPW_OK) goto out;
            }
        }
    }
out:
    /* The scratch is reused by later work on other streams only after the
     * kernels above are done. */
    {
        cudaError_t e = cudaStreamSynchronize(s);
        if (st == SPW_OK && e != cudaSuccess) st = spw_cuda_check(e, fn);
    }
    spw_cuda_arena_free(a, full_fwd);
    spw_cuda_arena_free(a, full_inv);
    spw_cuda_arena_free(a, scratch);
    spw_cuda_arena_free(a, scp);
    return st;
}

/* ---- host conveniences ---- */

static spw_status ntt_host(spw_cuda_arena *a, uint64_t *h, size_t ncols, size_t stride,
                           unsigned L, bool inverse)
{
    if (!a || (!h && ncols)) return spw_cuda_set_error(SPW_ERR_NULL, "ntt host wrapper: NULL argument");
    if (!ncols) return SPW_OK;
    if (L > 32 || stride < (1ull << L))
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "ntt host wrapper: bad log_n/stride");
    uint64_t n = 1ull << L, bytes = (uint64_t)ncols * n * 8;
    void *d;
    spw_status st = spw_cuda_arena_alloc(a, &d, bytes);
    if (st != SPW_OK) return st;
    uint64_t *dc = (uint64_t *)d;
    cudaError_t e = cudaMemcpy2D(dc, n * 8, h, stride * 8, n * 8, ncols, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) st = spw_cuda_check(e, "ntt host wrapper: copy in");
    if (st == SPW_OK) st = ntt_batch(a, 0, dc, ncols, n, L, inverse, "ntt host wrapper");
    if (st == SPW_OK) {
        e = cudaMemcpy2D(h, stride * 8, dc, n * 8, n * 8, ncols, cudaMemcpyDeviceToHost);
        if (e != cudaSuccess) st = spw_cuda_check(e, "ntt host wrapper: copy out");
    }
    cudaDeviceSynchronize();
    spw_cuda_arena_free(a, d);
    return st;
}

extern "C" spw_status spw_cuda_ntt_forward_batch_host(spw_cuda_arena *a, uint64_t *h_cols,
                                                      size_t ncols, size_t stride, unsigned log_n)
{
    return ntt_host(a, h_cols, ncols, stride, log_n, false);
}

extern "C" spw_status spw_cuda_ntt_inverse_batch_host(spw_cuda_arena *a, uint64_t *h_cols,
                                                      size_t ncols, size_t stride, unsigned log_n)
{
    return ntt_host(a, h_cols, ncols, stride, log_n, true);
}

extern "C" spw_status spw_cuda_lde_batch_host(spw_cuda_arena *a, uint64_t *h_out,
                                              const uint64_t *h_in, size_t ncols, unsigned log_n,
                                              unsigned blowup, uint64_t shift)
{
    if (!a || ((!h_out || !h_in) && ncols))
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_lde_batch_host: NULL argument");
    unsigned lb = log_blowup(blowup);
    if (!lb)
        return spw_cuda_set_error(SPW_ERR_BLOWUP, "spw_cuda_lde_batch_host: blowup %u", blowup);
    if (log_n + lb > 32)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_lde_batch_host: too large");
    if (!ncols) return SPW_OK;
    uint64_t n = 1ull << log_n, N = n << lb;
    void *din, *dout;
    spw_status st = spw_cuda_arena_alloc(a, &din, ncols * n * 8);
    if (st != SPW_OK) return st;
    if ((st = spw_cuda_arena_alloc(a, &dout, ncols * N * 8)) != SPW_OK) {
        spw_cuda_arena_free(a, din);
        return st;
    }
    cudaError_t e = cudaMemcpy(din, h_in, ncols * n * 8, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) st = spw_cuda_check(e, "spw_cuda_lde_batch_host: copy in");
    if (st == SPW_OK)
        st = spw_cuda_lde_shift_batch(a, 0, (uint64_t *)dout, (const uint64_t *)din, ncols, log_n,
                                      blowup, shift);
    if (st == SPW_OK) {
        e = cudaMemcpy(h_out, dout, ncols * N * 8, cudaMemcpyDeviceToHost);
        if (e != cudaSuccess) st = spw_cuda_check(e, "spw_cuda_lde_batch_host: copy out");
    }
    cudaDeviceSynchronize();
    spw_cuda_arena_free(a, dout);
    spw_cuda_arena_free(a, din);
    return st;
}
