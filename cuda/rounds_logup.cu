// rounds_logup.cu - the LogUp aux trace on the device, in row chunks: one
// thread per row evaluates the bus expressions (base field), forms the
// fingerprints fp = z - (bus + sum alpha^(k+1) v_k), inverts them with a
// per-row Montgomery batch (one ext3 inversion per row), packs the terms two
// per column and writes the row total into the accumulator column; then a
// three-kernel ext3 scan turns the totals into the running sum, carried in
// from the previous chunk through a device value (docs/GPU.md).
#include "air.h"
#include "cuda_internal.cuh"
#include "rounds_api.h"

#define TPB 128
#define SCAN_TPB 256
#define SCAN_ITEMS 8
#define SCAN_SEG (SCAN_TPB * SCAN_ITEMS)

struct lu_scratch {
    uint64_t *s;  // n_slots * rows
    fe3 *fp;      // n_inter * rows
    fe3 *pre;     // n_inter * rows
    fe3 *tot;     // scan block totals
};

static size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

static lu_scratch carve(const spw_gpu_logup_args *a, size_t rows, void *base)
{
    lu_scratch r;
    char *p = (char *)base;
    r.s = (uint64_t *)p;
    p += align256((size_t)a->n_slots * rows * 8 + 8);
    r.fp = (fe3 *)p;
    p += align256((size_t)a->n_inter * rows * sizeof(fe3) + 8);
    r.pre = (fe3 *)p;
    p += align256((size_t)a->n_inter * rows * sizeof(fe3) + 8);
    r.tot = (fe3 *)p;
    return r;
}

extern "C" size_t spw_gpu_logup_scratch_bytes(const spw_gpu_logup_args *a, size_t rows)
{
    size_t nseg = (rows + SCAN_SEG - 1) / SCAN_SEG;
    return align256((size_t)a->n_slots * rows * 8 + 8) +
           2 * align256((size_t)a->n_inter * rows * sizeof(fe3) + 8) +
           align256((nseg + 1) * sizeof(fe3));
}

__device__ __forceinline__ void aux_put(uint64_t *aux, size_t n, uint32_t col, size_t r, fe3 v)
{
    aux[(3 * (size_t)col + 0) * n + r] = v.c[0];
    aux[(3 * (size_t)col + 1) * n + r] = v.c[1];
    aux[(3 * (size_t)col + 2) * n + r] = v.c[2];
}

__device__ __forceinline__ fe3 aux_get(const uint64_t *aux, size_t n, uint32_t col, size_t r)
{
    return fe3_make(aux[(3 * (size_t)col + 0) * n + r], aux[(3 * (size_t)col + 1) * n + r],
                    aux[(3 * (size_t)col + 2) * n + r]);
}

__global__ void k_logup_terms(spw_gpu_logup_args a, lu_scratch sc, size_t row0, size_t rows,
                              unsigned long long *bad_row)
{
    size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (r >= rows) return;
    size_t row = row0 + r, lr = row - a.row_base, S = a.stride ? a.stride : a.n;
    uint64_t *s = sc.s;
    for (uint32_t i = 0; i < a.prog_len; i++) {
        spw_gpu_insn in = a.prog[i];
        uint64_t v;
        switch (in.op) {
        case SPW_OP_CONST: v = in.k; break;
        case SPW_OP_MAIN: v = a.main[in.k * S + lr]; break;
        case SPW_OP_ADD: v = gl_add(s[in.a * rows + r], s[in.b * rows + r]); break;
        case SPW_OP_SUB: v = gl_sub(s[in.a * rows + r], s[in.b * rows + r]); break;
        case SPW_OP_MUL: v = gl_mul(s[in.a * rows + r], s[in.b * rows + r]); break;
        case SPW_OP_NEG: v = gl_neg(s[in.a * rows + r]); break;
        default: v = 0; break;
        }
        s[(size_t)in.dst * rows + r] = v;
    }
    uint32_t k = a.n_inter;
    fe3 prod = fe3_one();
    for (uint32_t i = 0; i < k; i++) {
        spw_gpu_inter it = a.inter[i];
        fe3 acc = fe3_from_base(it.bus_id);
        for (uint32_t q = 0; q < it.n_values; q++) {
            uint64_t v = s[(size_t)a.value_slots[it.values + q] * rows + r];
            acc = fe3_add(acc, fe3_mul_base(a.apow[q + 1], v));
        }
        fe3 f = fe3_sub(a.z, acc);
        if (fe3_is_zero(f)) {
            atomicMin(bad_row, (unsigned long long)row);
            f = fe3_one();
        }
        sc.fp[(size_t)i * rows + r] = f;
        prod = fe3_mul(prod, f);
        sc.pre[(size_t)i * rows + r] = prod;
    }
    fe3 inv = fe3_inv(prod);
    for (uint32_t i = k; i-- > 0;) {
        fe3 f = sc.fp[(size_t)i * rows + r];
        fe3 fi = i ? fe3_mul(inv, sc.pre[(size_t)(i - 1) * rows + r]) : inv;
        inv = fe3_mul(inv, f);
        sc.fp[(size_t)i * rows + r] = fi;
    }
    uint32_t n_terms = (k + 1) / 2;
    fe3 total = fe3_zero();
    for (uint32_t c = 0; c < n_terms; c++) {
        fe3 term = fe3_zero();
        for (uint32_t i = 2 * c; i < 2 * c + 2 && i < k; i++) {
            spw_gpu_inter it = a.inter[i];
            uint64_t m = s[(size_t)it.mult * rows + r];
            fe3 v = fe3_mul_base(sc.fp[(size_t)i * rows + r], m);
            term = it.is_sender ? fe3_add(term, v) : fe3_sub(term, v);
        }
        aux_put(a.aux, S, c, lr, term);
        total = fe3_add(total, term);
    }
    aux_put(a.aux, S, n_terms, lr, total);
}

// Scan, phase 1: each block scans SCAN_SEG values of the accumulator column
// (inclusive, local) and writes its total.
__global__ void k_scan_local(uint64_t *aux, size_t n, uint32_t col, size_t row0, size_t rows,
                             fe3 *tot)
{
    __shared__ fe3 sh[SCAN_TPB];
    size_t base = row0 + blockIdx.x * (size_t)SCAN_SEG + (size_t)threadIdx.x * SCAN_ITEMS;
    size_t end = row0 + rows;
    fe3 v[SCAN_ITEMS];
    fe3 run = fe3_zero();
#pragma unroll
    for (int i = 0; i < SCAN_ITEMS; i++) {
        size_t r = base + i;
        v[i] = r < end ? aux_get(aux, n, col, r) : fe3_zero();
        run = fe3_add(run, v[i]);
        v[i] = run;
    }
    sh[threadIdx.x] = run;
    __syncthreads();
    // Hillis-Steele inclusive scan of the thread sums
    for (unsigned d = 1; d < SCAN_TPB; d <<= 1) {
        fe3 add = threadIdx.x >= d ? sh[threadIdx.x - d] : fe3_zero();
        __syncthreads();
        sh[threadIdx.x] = fe3_add(sh[threadIdx.x], add);
        __syncthreads();
    }
    fe3 off = threadIdx.x ? sh[threadIdx.x - 1] : fe3_zero();
#pragma unroll
    for (int i = 0; i < SCAN_ITEMS; i++) {
        size_t r = base + i;
        if (r < end) aux_put(aux, n, col, r, fe3_add(v[i], off));
    }
    if (threadIdx.x == SCAN_TPB - 1) tot[blockIdx.x] = sh[SCAN_TPB - 1];
}

// Phase 2: one thread turns the block totals into exclusive offsets that
// include the carried running sum, and advances the running sum.
__global__ void k_scan_totals(fe3 *tot, size_t nseg, fe3 *running)
{
    fe3 run = *running;
    for (size_t i = 0; i < nseg; i++) {
        fe3 t = tot[i];
        tot[i] = run;
        run = fe3_add(run, t);
    }
    *running = run;
}

// Phase 3: add each block's offset.
__global__ void k_scan_add(uint64_t *aux, size_t n, uint32_t col, size_t row0, size_t rows,
                           const fe3 *tot)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= rows) return;
    fe3 off = tot[i / SCAN_SEG];
    size_t r = row0 + i;
    aux_put(aux, n, col, r, fe3_add(aux_get(aux, n, col, r), off));
}

extern "C" spw_status spw_gpu_logup_chunk(spw_cuda_stream s, const spw_gpu_logup_args *a,
                                          size_t row0, size_t rows, void *d_scratch,
                                          fe3 *d_running, uint64_t *d_bad_row)
{
    if (!rows || !a->n_inter) return SPW_OK;
    size_t S = a->stride ? a->stride : a->n, lr0 = row0 - a->row_base;
    if (a->n_aux != (a->n_inter + 1) / 2 + 1 || row0 + rows > a->n || row0 < a->row_base ||
        lr0 + rows > S)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "spw_gpu_logup_chunk: bad layout");
    cudaStream_t st = (cudaStream_t)s;
    lu_scratch sc = carve(a, rows, d_scratch);
    k_logup_terms<<<(unsigned)((rows + TPB - 1) / TPB), TPB, 0, st>>>(
        *a, sc, row0, rows, (unsigned long long *)d_bad_row);
    SPW_CUDA_LAUNCHED("k_logup_terms");
    size_t nseg = (rows + SCAN_SEG - 1) / SCAN_SEG;
    uint32_t acc = a->n_aux - 1;
    k_scan_local<<<(unsigned)nseg, SCAN_TPB, 0, st>>>(a->aux, S, acc, lr0, rows, sc.tot);
    SPW_CUDA_LAUNCHED("k_scan_local");
    k_scan_totals<<<1, 1, 0, st>>>(sc.tot, nseg, d_running);
    SPW_CUDA_LAUNCHED("k_scan_totals");
    k_scan_add<<<(unsigned)((rows + 255) / 256), 256, 0, st>>>(a->aux, S, acc, lr0, rows, sc.tot);
    SPW_CUDA_LAUNCHED("k_scan_add");
    return SPW_OK;
}
