/*
 * transcript.h - the Fiat-Shamir transcript of a spillway proof: a 32-byte
 * BLAKE3 state that absorbs byte strings and squeezes 32-byte outputs, base
 * field and ext3 challenges, query indices and the grinding check.
 * The exact rules are in docs/PROTOCOL.md ("Transcript").
 */
#ifndef SPW_TRANSCRIPT_H
#define SPW_TRANSCRIPT_H

#include "field.h"
#include <stddef.h>
#include <stdint.h>

#define SPW_TRANSCRIPT_LABEL "spillway/v1/transcript"

typedef struct spw_transcript {
    uint8_t state[32];
} spw_transcript;

/* state = BLAKE3("spillway/v1/transcript") */
void spw_transcript_init(spw_transcript *tr);
/* state = BLAKE3(state || 0x00 || data) */
void spw_transcript_absorb(spw_transcript *tr, const void *data, size_t len);
/* state = BLAKE3(state || 0x01); out = state */
void spw_transcript_squeeze(spw_transcript *tr, uint8_t out[32]);
/* Squeezes until the first 8 bytes (LE u64) are < p. */
uint64_t spw_transcript_base(spw_transcript *tr);
/* Three base challenges c0, c1, c2 (in that order). */
fe3 spw_transcript_ext3(spw_transcript *tr);
/* LE u64 of one squeeze's first 8 bytes, masked to [0, 2^log_n). */
uint64_t spw_transcript_index(spw_transcript *tr, unsigned log_n);
/* Grinding: 1 when the LE u64 of BLAKE3(state || 0x02 || LE64(nonce))[0..8]
 * is < 2^(64 - bits) (bits leading zero bits), else 0. Does not change state. */
int spw_transcript_grind_ok(const spw_transcript *tr, uint64_t nonce, unsigned bits);
/* Smallest nonce >= 0 that passes spw_transcript_grind_ok. */
uint64_t spw_transcript_grind(const spw_transcript *tr, unsigned bits);

static inline void spw_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t spw_get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline void spw_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t spw_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
