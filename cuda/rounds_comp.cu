// rounds_comp.cu - constraint evaluation and the composition quotient on the
// device: the AIR bytecode interpreted one thread per domain point (a
// grid-stride loop), scratch slots in arena memory laid out slot-major so a
// warp's accesses coalesce, base-valued instructions in base arithmetic,
// then the random combination with lambda powers grouped by constraint kind
// and the division by the vanishing polynomials (as src/prover.c). The same
// kernel evaluates a row chunk of the domain (the streaming tier) from
// columns that carry their next-row halo.
#include "air.h"
#include "cuda_internal.cuh"
#include "rounds_api.h"

#define TPB 128

extern "C" size_t spw_gpu_comp_threads(size_t NE, uint32_t n_slots, uint64_t max_scratch_bytes)
{
    size_t per = (size_t)(n_slots ? n_slots : 1) * 3 * 8;
    size_t t = 1u << 17;
    while (t > TPB && t * per > max_scratch_bytes) t >>= 1;
    if (t > NE) t = NE;
    t = (t + TPB - 1) / TPB * TPB;
    return t;
}

// The points are local indices r < npts of domain rows row0 + r; input
// columns have stride cs, the next row of r is (r + E) & mask (mask = NE - 1
// wraps the whole domain, all ones for a chunk whose halo follows it), and
// the output columns have stride os. The whole domain is row0 = 0,
// npts = cs = os = NE.
// Coset mode: local r is domain row row0 + r*pstep, next row (r + nx) & mask
// with nx = 1, mask = npts - 1 (pstep = 1, nx = E otherwise).
__global__ void __launch_bounds__(TPB) k_comp(spw_gpu_comp_args a, uint64_t *scr, size_t G,
                                              uint64_t step, size_t row0, size_t npts, size_t cs,
                                              size_t os, size_t mask, size_t pstep, size_t nx)
{
    size_t tid = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (tid >= G) return;
    uint64_t x = gl_mul(GL_GENERATOR, gl_pow(a.w_ne, row0 + tid * pstep));
// slot plane p (0..2) of slot j for this thread
#define SL(j, p) scr[((size_t)(j) * 3 + (p)) * G + tid]
    for (size_t r = tid; r < npts; r += G, x = gl_mul(x, step)) {
        size_t rn = (r + nx) & mask;
        for (uint32_t i = 0; i < a.prog_len; i++) {
            spw_gpu_insn in = a.prog[i];
            fe3 v;
            switch (in.op) {
            case SPW_OP_CONST: v = fe3_from_base(in.k); break;
            case SPW_OP_MAIN: v = fe3_from_base(a.main[in.k * cs + r]); break;
            case SPW_OP_MAIN_NEXT: v = fe3_from_base(a.main[in.k * cs + rn]); break;
            case SPW_OP_AUX: {
                const uint64_t *c = a.aux + 3 * in.k * cs;
                v = fe3_make(c[r], c[cs + r], c[2 * cs + r]);
                break;
            }
            case SPW_OP_AUX_NEXT: {
                const uint64_t *c = a.aux + 3 * in.k * cs;
                v = fe3_make(c[rn], c[cs + rn], c[2 * cs + rn]);
                break;
            }
            case SPW_OP_CHALLENGE: v = a.challenges[in.k]; break;
            case SPW_OP_PUBLIC: v = fe3_from_base(a.publics[in.k]); break;
            case SPW_OP_LOGUP_SUM: v = a.logup_sum; break;
            case SPW_OP_ADD:
            case SPW_OP_SUB:
            case SPW_OP_MUL:
            case SPW_OP_NEG: {
                // operand ext flags are folded into in.ext by the host:
                // bit 0 = result ext, bit 1 = a ext, bit 2 = b ext
                fe3 va = (in.ext & 2) ? fe3_make(SL(in.a, 0), SL(in.a, 1), SL(in.a, 2))
                                      : fe3_from_base(SL(in.a, 0));
                if (in.op == SPW_OP_NEG) {
                    v = (in.ext & 1) ? fe3_neg(va) : fe3_from_base(gl_neg(va.c[0]));
                    break;
                }
                fe3 vb = (in.ext & 4) ? fe3_make(SL(in.b, 0), SL(in.b, 1), SL(in.b, 2))
                                      : fe3_from_base(SL(in.b, 0));
                if (!(in.ext & 1)) {
                    uint64_t p = in.op == SPW_OP_ADD   ? gl_add(va.c[0], vb.c[0])
                                 : in.op == SPW_OP_SUB ? gl_sub(va.c[0], vb.c[0])
                                                       : gl_mul(va.c[0], vb.c[0]);
                    v = fe3_from_base(p);
                } else if (in.op == SPW_OP_ADD) {
                    v = fe3_add(va, vb);
                } else if (in.op == SPW_OP_SUB) {
                    v = fe3_sub(va, vb);
                } else if (!(in.ext & 2)) {
                    v = fe3_mul_base(vb, va.c[0]);
                } else if (!(in.ext & 4)) {
                    v = fe3_mul_base(va, vb.c[0]);
                } else {
                    v = fe3_mul(va, vb);
                }
                break;
            }
            default: v = fe3_zero(); break;
            }
            SL(in.dst, 0) = v.c[0];
            if (in.ext & 1) {
                SL(in.dst, 1) = v.c[1];
                SL(in.dst, 2) = v.c[2];
            }
        }
        fe3 sk[4] = {fe3_zero(), fe3_zero(), fe3_zero(), fe3_zero()};
        for (uint32_t q = 0; q < a.n_cons; q++) {
            spw_gpu_cons cn = a.cons[q];
            // cn.kind bit 2: the root value is ext3
            fe3 cv = (cn.kind & 4) ? fe3_make(SL(cn.slot, 0), SL(cn.slot, 1), SL(cn.slot, 2))
                                   : fe3_from_base(SL(cn.slot, 0));
            fe3 t = (cn.kind & 4) ? fe3_mul(a.lpow[q], cv) : fe3_mul_base(a.lpow[q], cv.c[0]);
            unsigned kd = cn.kind & 3;
            sk[kd] = fe3_add(sk[kd], t);
        }
        uint64_t izn = a.inv_zn[(row0 + r * pstep) & (a.E - 1)];
        uint64_t trans = gl_mul(gl_sub(x, a.w_last), izn);
        fe3 v = fe3_mul_base(sk[SPW_CONSTRAINT_TRANSITION], trans);
        if (!fe3_is_zero(sk[SPW_CONSTRAINT_FIRST]))
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_FIRST], gl_inv(gl_sub(x, 1))));
        if (!fe3_is_zero(sk[SPW_CONSTRAINT_LAST]))
            v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_LAST], gl_inv(gl_sub(x, a.w_last))));
        v = fe3_add(v, fe3_mul_base(sk[SPW_CONSTRAINT_EVERY], izn));
        a.out[r] = v.c[0];
        a.out[os + r] = v.c[1];
        a.out[2 * os + r] = v.c[2];
    }
#undef SL
}

extern "C" spw_status spw_gpu_comp_eval(spw_cuda_stream s, const spw_gpu_comp_args *a,
                                        uint64_t *d_scratch, size_t threads)
{
    if (!spw_is_pow2(a->NE) || !spw_is_pow2(a->E) || a->E > a->NE || !threads)
        return spw_cuda_set_error(SPW_ERR_INVALID_ARG, "k_comp: bad domain");
    size_t row0 = 0, npts = a->NE, cs = a->NE, os = a->NE, mask = a->NE - 1, pstep = 1, nx = a->E;
    if (a->rows && a->step) {
        if (!spw_is_pow2(a->rows) || a->row0 >= a->NE || (a->rows - 1) * a->step > a->NE - 1 - a->row0 ||
            a->stride < a->rows || a->out_stride < a->rows)
            return spw_cuda_set_error(SPW_ERR_INVALID_ARG,
                                      "k_comp: bad coset (row0 %zu, rows %zu, step %zu, stride %zu, "
                                      "out stride %zu, domain %zu)",
                                      a->row0, a->rows, a->step, a->stride, a->out_stride, a->NE);
        row0 = a->row0;
        npts = a->rows;
        cs = a->stride;
        os = a->out_stride;
        mask = a->rows - 1;
        pstep = a->step;
        nx = 1;
    } else if (a->rows) {
        if (a->row0 > a->NE || a->rows > a->NE - a->row0 || a->stride < a->rows + a->E ||
            a->out_stride < a->rows)
            return spw_cuda_set_error(SPW_ERR_INVALID_ARG,
                                      "k_comp: bad chunk (row0 %zu, rows %zu, stride %zu, "
                                      "out stride %zu, domain %zu, E %zu)",
                                      a->row0, a->rows, a->stride, a->out_stride, a->NE, a->E);
        row0 = a->row0;
        npts = a->rows;
        cs = a->stride;
        os = a->out_stride;
        mask = ~(size_t)0;
    }
    uint64_t step = gl_pow(a->w_ne, (uint64_t)threads * pstep);
    k_comp<<<(unsigned)((threads + TPB - 1) / TPB), TPB, 0, (cudaStream_t)s>>>(
        *a, d_scratch, threads, step, row0, npts, cs, os, mask, pstep, nx);
    SPW_CUDA_LAUNCHED("k_comp");
    return SPW_OK;
}
