// blake3.cu - BLAKE3 on the device: Merkle leaves over the rows of
// column-major data (one thread per row gathers its row from the columns;
// any width, multi-chunk rows merged with BLAKE3's chaining-value stack, so
// each leaf is the standard BLAKE3 digest of the row's bytes), node-pair
// hashing for tree levels, the whole tree in heap layout (src/merkle.h),
// and authentication-path gathering.
#include "cuda_internal.cuh"

#define B3_CHUNK_START 1u
#define B3_CHUNK_END 2u
#define B3_PARENT 4u
#define B3_ROOT 8u
#define LEAF_THREADS 128
#define TOP_THREADS 512

__constant__ uint32_t b3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                  0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

static __device__ __forceinline__ uint32_t rotr(uint32_t x, unsigned r)
{
    return __funnelshift_r(x, x, r);
}

#define B3_G(a, b, c, d, x, y)          \
    do {                                \
        a = a + b + (x);                \
        d = rotr(d ^ a, 16);            \
        c = c + d;                      \
        b = rotr(b ^ c, 12);            \
        a = a + b + (y);                \
        d = rotr(d ^ a, 8);             \
        c = c + d;                      \
        b = rotr(b ^ c, 7);             \
    } while (0)

/* cv = compress(cv, m, counter, block_len, flags)[0..8) */
static __device__ __forceinline__ void b3_compress(uint32_t cv[8], const uint32_t m_in[16],
                                                   uint64_t counter, uint32_t block_len,
                                                   uint32_t flags)
{
    uint32_t m[16];
#pragma unroll
    for (int i = 0; i < 16; i++) m[i] = m_in[i];
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3], v4 = cv[4], v5 = cv[5], v6 = cv[6],
             v7 = cv[7];
    uint32_t v8 = b3_iv[0], v9 = b3_iv[1], v10 = b3_iv[2], v11 = b3_iv[3];
    uint32_t v12 = (uint32_t)counter, v13 = (uint32_t)(counter >> 32), v14 = block_len, v15 = flags;
#pragma unroll
    for (int r = 0; r < 7; r++) {
        B3_G(v0, v4, v8, v12, m[0], m[1]);
        B3_G(v1, v5, v9, v13, m[2], m[3]);
        B3_G(v2, v6, v10, v14, m[4], m[5]);
        B3_G(v3, v7, v11, v15, m[6], m[7]);
        B3_G(v0, v5, v10, v15, m[8], m[9]);
        B3_G(v1, v6, v11, v12, m[10], m[11]);
        B3_G(v2, v7, v8, v13, m[12], m[13]);
        B3_G(v3, v4, v9, v14, m[14], m[15]);
        if (r < 6) { /* message permutation */
            uint32_t t[16];
            t[0] = m[2]; t[1] = m[6]; t[2] = m[3]; t[3] = m[10];
            t[4] = m[7]; t[5] = m[0]; t[6] = m[4]; t[7] = m[13];
            t[8] = m[1]; t[9] = m[11]; t[10] = m[12]; t[11] = m[5];
            t[12] = m[9]; t[13] = m[14]; t[14] = m[15]; t[15] = m[8];
#pragma unroll
            for (int i = 0; i < 16; i++) m[i] = t[i];
        }
    }
    cv[0] = v0 ^ v8; cv[1] = v1 ^ v9; cv[2] = v2 ^ v10; cv[3] = v3 ^ v11;
    cv[4] = v4 ^ v12; cv[5] = v5 ^ v13; cv[6] = v6 ^ v14; cv[7] = v7 ^ v15;
}

static __device__ __forceinline__ void b3_parent(uint32_t cv[8], const uint32_t l[8],
                                                 const uint32_t r[8], bool root)
{
    uint32_t m[16];
#pragma unroll
    for (int i = 0; i < 8; i++) {
        m[i] = l[i];
        m[8 + i] = r[i];
        cv[i] = b3_iv[i];
    }
    b3_compress(cv, m, 0, 64, B3_PARENT | (root ? B3_ROOT : 0));
}

static __device__ __forceinline__ void store_digest(uint8_t *out, const uint32_t cv[8])
{
    uint4 *o = (uint4 *)out; /* 16-byte aligned: checked by the launchers */
    o[0] = make_uint4(cv[0], cv[1], cv[2], cv[3]);
    o[1] = make_uint4(cv[4], cv[5], cv[6], cv[7]);
}

static __device__ __forceinline__ void load_digest(uint32_t w[8], const uint8_t *in)
{
    const uint4 *p = (const uint4 *)in;
    uint4 a = p[0], b = p[1];
    w[0] = a.x; w[1] = a.y; w[2] = a.z; w[3] = a.w;
    w[4] = b.x; w[5] = b.y; w[6] = b.z; w[7] = b.w;
}

/* The chunk (<= 128 columns starting at col0, ncc of them) of one row. */
static __device__ __forceinline__ void b3_row_chunk(uint32_t cv[8], const uint64_t *cols,
                                                    uint64_t stride, uint64_t row, size_t col0,
                                                    unsigned ncc, uint64_t chunk_idx, bool root)
{
#pragma unroll
    for (int i = 0; i < 8; i++) cv[i] = b3_iv[i];
    unsigned nblocks = ncc ? (ncc + 7) / 8 : 1;
    for (unsigned bi = 0; bi < nblocks; bi++) {
        unsigned c0 = bi * 8, cnt = ncc - c0 < 8 ? ncc - c0 : 8;
        if (!ncc) cnt = 0;
        uint64_t x[8];
        if (cnt == 8) {
#pragma unroll
            for (int w = 0; w < 8; w++) x[w] = cols[(col0 + c0 + w) * stride + row];
        } else {
#pragma unroll
            for (int w = 0; w < 8; w++) x[w] = (unsigned)w < cnt ? cols[(col0 + c0 + w) * stride + row] : 0;
        }
        uint32_t m[16];
#pragma unroll
        for (int w = 0; w < 8; w++) {
            m[2 * w] = (uint32_t)x[w];
            m[2 * w + 1] = (uint32_t)(x[w] >> 32);
        }
        uint32_t flags = (bi == 0 ? B3_CHUNK_START : 0) | (bi == nblocks - 1 ? B3_CHUNK_END : 0);
        if (root && bi == nblocks - 1) flags |= B3_ROOT;
        b3_compress(cv, m, chunk_idx, cnt * 8, flags);
    }
}

__global__ void __launch_bounds__(LEAF_THREADS) leaves_kernel(uint8_t *out, const uint64_t *cols,
                                                              uint64_t ncols, uint64_t stride,
                                                              uint64_t nrows)
{
    uint64_t row = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= nrows) return;
    uint32_t cv[8];
    if (ncols <= 128) {
        b3_row_chunk(cv, cols, stride, row, 0, (unsigned)ncols, 0, true);
        store_digest(out + row * 32, cv);
        return;
    }
    uint64_t nchunks = (ncols + 127) / 128;
    uint32_t stack[40][8];
    unsigned sp = 0;
    for (uint64_t ci = 0; ci < nchunks; ci++) {
        size_t col0 = ci * 128;
        unsigned ncc = (unsigned)(ncols - col0 < 128 ? ncols - col0 : 128);
        b3_row_chunk(cv, cols, stride, row, col0, ncc, ci, false);
        if (ci + 1 < nchunks) {
            uint64_t total = ci + 1;
            while (!(total & 1)) {
                sp--;
                b3_parent(cv, stack[sp], cv, false);
                total >>= 1;
            }
            for (int i = 0; i < 8; i++) stack[sp][i] = cv[i];
            sp++;
        } else {
            while (sp > 0) {
                sp--;
                b3_parent(cv, stack[sp], cv, sp == 0);
            }
        }
    }
    store_digest(out + row * 32, cv);
}

/* out[i] = BLAKE3(in[2i] || in[2i+1]): one 64-byte block, root. */
static __device__ __forceinline__ void hash_pair(uint8_t *out, const uint8_t *in)
{
    uint32_t m[16], cv[8];
    load_digest(m, in);
    load_digest(m + 8, in + 32);
#pragma unroll
    for (int i = 0; i < 8; i++) cv[i] = b3_iv[i];
    b3_compress(cv, m, 0, 64, B3_CHUNK_START | B3_CHUNK_END | B3_ROOT);
    store_digest(out, cv);
}

__global__ void nodes_kernel(uint8_t *out, const uint8_t *in, uint64_t npairs)
{
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < npairs) hash_pair(out + i * 32, in + i * 64);
}

/* Levels m = top_m, top_m/2, .., 1 of a heap tree in one block. */
__global__ void __launch_bounds__(TOP_THREADS) top_kernel(uint8_t *nodes, unsigned top_m)
{
    for (unsigned m = top_m; m >= 1; m >>= 1) {
        for (unsigned i = threadIdx.x; i < m; i += blockDim.x)
            hash_pair(nodes + (uint64_t)(m + i) * 32, nodes + (uint64_t)(m + i) * 64);
        __syncthreads();
    }
}

__global__ void paths_kernel(uint8_t *paths, const uint8_t *nodes, unsigned L, const uint64_t *idx,
                             uint64_t nq)
{
    uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= nq * L) return;
    uint64_t q = t / L, l = t % L, n = 1ull << L;
    uint64_t node = ((n + (idx[q] & (n - 1))) >> l) ^ 1;
    const uint4 *src = (const uint4 *)(nodes + node * 32);
    uint4 *dst = (uint4 *)(paths + t * 32);
    dst[0] = src[0];
    dst[1] = src[1];
}

static bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

static dim3 grid1(uint64_t n, unsigned threads) { return dim3((unsigned)((n + threads - 1) / threads)); }

extern "C" spw_status spw_cuda_merkle_leaves(spw_cuda_stream s, uint8_t *d_leaves,
                                             const uint64_t *d_cols, size_t ncols, size_t stride,
                                             size_t nrows)
{
    if (!nrows) return SPW_OK;
    if (!d_leaves || (!d_cols && ncols))
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_leaves: NULL pointer");
    if (!aligned16(d_leaves))
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_leaves: output not 16-byte aligned");
    if (ncols > 1 && stride < nrows)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_leaves: stride %zu < nrows %zu",
                                  stride, nrows);
    if (ncols > ((uint64_t)128 << 38))
        return spw_cuda_set_error(SPW_ERR_TOO_LARGE, "spw_cuda_merkle_leaves: %zu columns", ncols);
    leaves_kernel<<<grid1(nrows, LEAF_THREADS), LEAF_THREADS, 0, s>>>(d_leaves, d_cols, ncols,
                                                                      stride, nrows);
    SPW_CUDA_LAUNCHED("leaves_kernel");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_merkle_nodes(spw_cuda_stream s, uint8_t *d_out, const uint8_t *d_in,
                                            size_t npairs)
{
    if (!npairs) return SPW_OK;
    if (!d_out || !d_in) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_nodes: NULL pointer");
    if (!aligned16(d_out) || !aligned16(d_in))
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_nodes: not 16-byte aligned");
    nodes_kernel<<<grid1(npairs, 256), 256, 0, s>>>(d_out, d_in, npairs);
    SPW_CUDA_LAUNCHED("nodes_kernel");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_merkle_build_from_leaves(spw_cuda_stream s, uint8_t *d_nodes, size_t n)
{
    if (!d_nodes) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_build: nodes is NULL");
    if (!n || (n & (n - 1)))
        return spw_cuda_set_error(SPW_ERR_NOT_POW2, "spw_cuda_merkle_build: %zu leaves is not a power of two", n);
    if (!aligned16(d_nodes))
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_build: not 16-byte aligned");
    size_t m = n / 2;
    for (; m > TOP_THREADS; m /= 2) {
        spw_status st = spw_cuda_merkle_nodes(s, d_nodes + m * 32, d_nodes + 2 * m * 32, m);
        if (st != SPW_OK) return st;
    }
    if (m >= 1) {
        top_kernel<<<1, TOP_THREADS, 0, s>>>(d_nodes, (unsigned)m);
        SPW_CUDA_LAUNCHED("top_kernel");
    }
    return SPW_OK;
}

extern "C" spw_status spw_cuda_merkle_build(spw_cuda_stream s, uint8_t *d_nodes,
                                            const uint64_t *d_cols, size_t ncols, size_t stride,
                                            size_t nrows)
{
    if (!d_nodes) return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_build: nodes is NULL");
    if (!nrows || (nrows & (nrows - 1)))
        return spw_cuda_set_error(SPW_ERR_NOT_POW2, "spw_cuda_merkle_build: %zu rows is not a power of two", nrows);
    spw_status st = spw_cuda_merkle_leaves(s, d_nodes + nrows * 32, d_cols, ncols, stride, nrows);
    if (st != SPW_OK) return st;
    return spw_cuda_merkle_build_from_leaves(s, d_nodes, nrows);
}

extern "C" spw_status spw_cuda_merkle_paths(spw_cuda_stream s, uint8_t *d_paths,
                                            const uint8_t *d_nodes, unsigned log_leaves,
                                            const uint64_t *d_idx, size_t nq)
{
    if (!nq || !log_leaves) return SPW_OK;
    if (!d_paths || !d_nodes || !d_idx)
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_paths: NULL pointer");
    if (log_leaves > 40)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_paths: log_leaves %u", log_leaves);
    if (!aligned16(d_paths) || !aligned16(d_nodes))
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_paths: not 16-byte aligned");
    paths_kernel<<<grid1(nq * log_leaves, 256), 256, 0, s>>>(d_paths, d_nodes, log_leaves, d_idx, nq);
    SPW_CUDA_LAUNCHED("paths_kernel");
    return SPW_OK;
}

/* ---- host conveniences ---- */

struct dev_bufs {
    spw_cuda_arena *a;
    void *p[3];
};

static void bufs_free(dev_bufs *b)
{
    cudaDeviceSynchronize();
    for (int i = 0; i < 3; i++) spw_cuda_arena_free(b->a, b->p[i]);
}

static spw_status copy(void *dst, const void *src, size_t bytes, const char *what)
{
    if (!bytes) return SPW_OK;
    SPW_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), what);
    return SPW_OK;
}

/* Copies ncols host columns (stride apart) into one dense device block. */
static spw_status cols_in(dev_bufs *b, uint64_t **d, const uint64_t *h, size_t ncols, size_t stride,
                          size_t nrows)
{
    spw_status st = spw_cuda_arena_alloc(b->a, &b->p[0], (uint64_t)ncols * nrows * 8);
    if (st != SPW_OK) return st;
    *d = (uint64_t *)b->p[0];
    if (!ncols) return SPW_OK;
    SPW_CUDA_TRY(cudaMemcpy2D(*d, nrows * 8, h, stride * 8, nrows * 8, ncols, cudaMemcpyHostToDevice),
                 "merkle host wrapper: copy in");
    return SPW_OK;
}

extern "C" spw_status spw_cuda_merkle_leaves_host(spw_cuda_arena *a, uint8_t *h_leaves,
                                                  const uint64_t *h_cols, size_t ncols,
                                                  size_t stride, size_t nrows)
{
    if (!a || !h_leaves || (!h_cols && ncols))
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_leaves_host: NULL argument");
    if (!nrows) return SPW_OK;
    if (ncols > 1 && stride < nrows)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_leaves_host: stride < nrows");
    dev_bufs b = {a, {NULL, NULL, NULL}};
    uint64_t *dc = NULL;
    spw_status st = cols_in(&b, &dc, h_cols, ncols, stride, nrows);
    if (st == SPW_OK) st = spw_cuda_arena_alloc(a, &b.p[1], (uint64_t)nrows * 32);
    if (st == SPW_OK) st = spw_cuda_merkle_leaves(0, (uint8_t *)b.p[1], dc, ncols, nrows, nrows);
    if (st == SPW_OK) st = copy(h_leaves, b.p[1], nrows * 32, "merkle leaves: copy out");
    bufs_free(&b);
    return st;
}

extern "C" spw_status spw_cuda_merkle_build_host(spw_cuda_arena *a, uint8_t *h_nodes,
                                                 const uint64_t *h_cols, size_t ncols,
                                                 size_t stride, size_t nrows)
{
    if (!a || !h_nodes || (!h_cols && ncols))
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_build_host: NULL argument");
    if (!nrows || (nrows & (nrows - 1)))
        return spw_cuda_set_error(SPW_ERR_NOT_POW2, "spw_cuda_merkle_build_host: rows not a power of two");
    if (ncols > 1 && stride < nrows)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_build_host: stride < nrows");
    dev_bufs b = {a, {NULL, NULL, NULL}};
    uint64_t *dc = NULL;
    spw_status st = cols_in(&b, &dc, h_cols, ncols, stride, nrows);
    if (st == SPW_OK) st = spw_cuda_arena_alloc(a, &b.p[1], (uint64_t)nrows * 64);
    if (st == SPW_OK) st = spw_cuda_merkle_build(0, (uint8_t *)b.p[1], dc, ncols, nrows, nrows);
    /* nodes[0] is unused: copy 1..2n */
    if (st == SPW_OK)
        st = copy(h_nodes + 32, (uint8_t *)b.p[1] + 32, (2 * nrows - 1) * 32, "merkle build: copy out");
    bufs_free(&b);
    return st;
}

extern "C" spw_status spw_cuda_merkle_paths_host(spw_cuda_arena *a, uint8_t *h_paths,
                                                 const uint8_t *h_nodes, unsigned log_leaves,
                                                 const uint64_t *h_idx, size_t nq)
{
    if (!a || !h_paths || !h_nodes || (!h_idx && nq))
        return spw_cuda_set_error(SPW_ERR_NULL, "spw_cuda_merkle_paths_host: NULL argument");
    if (log_leaves > 40)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_cuda_merkle_paths_host: log_leaves %u", log_leaves);
    uint64_t n = 1ull << log_leaves;
    for (size_t q = 0; q < nq; q++)
        if (h_idx[q] >= n)
            return spw_cuda_set_error(SPW_ERR_INVALID_ARG,
                                      "spw_cuda_merkle_paths_host: query %zu index %llu >= %llu leaves",
                                      q, (unsigned long long)h_idx[q], (unsigned long long)n);
    if (!nq || !log_leaves) return SPW_OK;
    dev_bufs b = {a, {NULL, NULL, NULL}};
    spw_status st = spw_cuda_arena_alloc(a, &b.p[0], 2 * n * 32);
    if (st == SPW_OK) st = spw_cuda_arena_alloc(a, &b.p[1], nq * 8);
    if (st == SPW_OK) st = spw_cuda_arena_alloc(a, &b.p[2], (uint64_t)nq * log_leaves * 32);
    if (st == SPW_OK) st = copy(b.p[0], h_nodes, 2 * n * 32, "merkle paths: copy nodes");
    if (st == SPW_OK) st = copy(b.p[1], h_idx, nq * 8, "merkle paths: copy indices");
    if (st == SPW_OK)
        st = spw_cuda_merkle_paths(0, (uint8_t *)b.p[2], (const uint8_t *)b.p[0], log_leaves,
                                   (const uint64_t *)b.p[1], nq);
    if (st == SPW_OK) st = copy(h_paths, b.p[2], (uint64_t)nq * log_leaves * 32, "merkle paths: copy out");
    bufs_free(&b);
    return st;
}
