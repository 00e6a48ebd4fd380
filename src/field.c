/*
 * field.c - the out-of-line parts of the Goldilocks field support: batch
 * inversion (Montgomery's trick) for the base field and the cubic extension,
 * and the public canonical encode/decode helpers of include/spillway.h.
 */
#include "internal.h"
#include "field.h"
#include "gl_fast.h"

#include <string.h>

/* Montgomery's trick: prefix products of the non-zero inputs, one inversion,
 * then a backward sweep. Zeros are skipped (they map to zero). out may alias
 * in: in[i] is read before out[i] is written in the backward sweep. */
void gl_batch_inv(uint64_t *out, const uint64_t *in, size_t n, uint64_t *scratch)
{
    uint64_t acc = 1;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = acc; /* product of the non-zero in[0..i) */
        if (in[i]) acc = spw_gl_mul_bf(acc, in[i]);
    }
    uint64_t inv = gl_inv(acc); /* acc != 0: a product of non-zero values */
    for (size_t i = n; i-- > 0;) {
        uint64_t x = in[i];
        if (x) {
            out[i] = spw_gl_mul_bf(inv, scratch[i]);
            inv = spw_gl_mul_bf(inv, x);
        } else {
            out[i] = 0;
        }
    }
}

/* fe3_mul of field.h with the branch-free base product. */
static fe3 fe3_mul_bf(fe3 a, fe3 b)
{
#define M spw_gl_mul_bf
    uint64_t a0b0 = M(a.c[0], b.c[0]), a1b1 = M(a.c[1], b.c[1]), a2b2 = M(a.c[2], b.c[2]);
    uint64_t a1b2_a2b1 = gl_add(M(a.c[1], b.c[2]), M(a.c[2], b.c[1]));
    uint64_t a0b1_a1b0 = gl_add(M(a.c[0], b.c[1]), M(a.c[1], b.c[0]));
    uint64_t a0b2_a2b0 = gl_add(M(a.c[0], b.c[2]), M(a.c[2], b.c[0]));
#undef M
    return fe3_make(gl_add(a0b0, gl_dbl(a1b2_a2b1)), gl_add(a0b1_a1b0, gl_dbl(a2b2)),
                    gl_add(a0b2_a2b0, a1b1));
}

void fe3_batch_inv(fe3 *out, const fe3 *in, size_t n, fe3 *scratch)
{
    fe3 acc = fe3_one();
    for (size_t i = 0; i < n; i++) {
        scratch[i] = acc;
        if (!fe3_is_zero(in[i])) acc = fe3_mul_bf(acc, in[i]);
    }
    fe3 inv = fe3_inv(acc);
    for (size_t i = n; i-- > 0;) {
        fe3 x = in[i];
        if (!fe3_is_zero(x)) {
            out[i] = fe3_mul_bf(inv, scratch[i]);
            inv = fe3_mul_bf(inv, x);
        } else {
            out[i] = fe3_zero();
        }
    }
}

static uint64_t load_le64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = (v << 8) | b[k];
    return v;
}

static void store_le64(uint8_t *b, uint64_t v)
{
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)(v >> (8 * k));
}

spw_status spw_field_decode(uint64_t *out, size_t *bad_index, const uint8_t *bytes, size_t n)
{
    if (!out || !bytes) return SPW_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = load_le64(bytes + 8 * i);
        if (v >= GL_P) {
            if (bad_index) *bad_index = i;
            return SPW_ERR_NONCANONICAL;
        }
        out[i] = v;
    }
    return SPW_OK;
}

spw_status spw_field_encode(uint8_t *bytes, const uint64_t *in, size_t n)
{
    if (!bytes || !in) return SPW_ERR_NULL;
    for (size_t i = 0; i < n; i++) {
        if (in[i] >= GL_P) return SPW_ERR_NONCANONICAL;
        store_le64(bytes + 8 * i, in[i]);
    }
    return SPW_OK;
}
