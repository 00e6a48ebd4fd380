/* transcript.c - BLAKE3 Fiat-Shamir transcript (see transcript.h). */
#include "transcript.h"
#include "blake3.h"

#include <string.h>

void spw_transcript_init(spw_transcript *tr)
{
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, SPW_TRANSCRIPT_LABEL, strlen(SPW_TRANSCRIPT_LABEL));
    spw_blake3_final(&h, tr->state);
}

void spw_transcript_absorb(spw_transcript *tr, const void *data, size_t len)
{
    static const uint8_t tag = 0x00;
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, tr->state, 32);
    spw_blake3_update(&h, &tag, 1);
    if (len) spw_blake3_update(&h, data, len);
    spw_blake3_final(&h, tr->state);
}

void spw_transcript_squeeze(spw_transcript *tr, uint8_t out[32])
{
    static const uint8_t tag = 0x01;
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, tr->state, 32);
    spw_blake3_update(&h, &tag, 1);
    spw_blake3_final(&h, tr->state);
    memcpy(out, tr->state, 32);
}

uint64_t spw_transcript_base(spw_transcript *tr)
{
    uint8_t o[32];
    for (;;) {
        spw_transcript_squeeze(tr, o);
        uint64_t v = spw_get_u64le(o);
        if (v < GL_P) return v;
    }
}

fe3 spw_transcript_ext3(spw_transcript *tr)
{
    uint64_t a = spw_transcript_base(tr);
    uint64_t b = spw_transcript_base(tr);
    uint64_t c = spw_transcript_base(tr);
    return fe3_make(a, b, c);
}

uint64_t spw_transcript_index(spw_transcript *tr, unsigned log_n)
{
    uint8_t o[32];
    spw_transcript_squeeze(tr, o);
    uint64_t v = spw_get_u64le(o);
    return log_n >= 64 ? v : (v & ((UINT64_C(1) << log_n) - 1));
}

int spw_transcript_grind_ok(const spw_transcript *tr, uint64_t nonce, unsigned bits)
{
    uint8_t buf[32 + 1 + 8], o[32];
    memcpy(buf, tr->state, 32);
    buf[32] = 0x02;
    spw_put_u64le(buf + 33, nonce);
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, buf, sizeof buf);
    spw_blake3_final(&h, o);
    if (bits == 0) return 1;
    if (bits >= 64) return spw_get_u64le(o) == 0;
    return (spw_get_u64le(o) >> (64 - bits)) == 0;
}

uint64_t spw_transcript_grind(const spw_transcript *tr, unsigned bits)
{
    uint64_t nonce = 0;
    while (!spw_transcript_grind_ok(tr, nonce, bits)) nonce++;
    return nonce;
}
