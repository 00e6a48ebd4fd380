/*
 * blake3.h - the standard BLAKE3 hash (full tree mode), CPU.
 * spw_blake3() is the public one-shot (include/spillway.h).
 */
#ifndef SPW_BLAKE3_H
#define SPW_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define SPW_BLAKE3_OUT_LEN 32
#define SPW_BLAKE3_BLOCK_LEN 64
#define SPW_BLAKE3_CHUNK_LEN 1024

/* Incremental hasher, for inputs of any length fed in pieces. */
typedef struct spw_blake3_hasher {
    uint32_t key[8];
    uint32_t cv[8];          /* current chunk's chaining value */
    uint64_t chunk_counter;
    uint8_t buf[64];
    uint8_t buf_len;
    uint8_t blocks_compressed;
    uint8_t flags;
    uint8_t cv_stack_len;
    uint32_t cv_stack[54][8];
} spw_blake3_hasher;

void spw_blake3_init(spw_blake3_hasher *h);
void spw_blake3_update(spw_blake3_hasher *h, const void *in, size_t len);
void spw_blake3_final(const spw_blake3_hasher *h, uint8_t out[32]);

/* Hashes n messages of `len` bytes each (message i at in + i*len) into
 * out + 32*i; multi-threaded when ctx is not NULL. */
struct spw_ctx;
void spw_blake3_many(const struct spw_ctx *ctx, uint8_t *out, const uint8_t *in, size_t n,
                     size_t len);

/* Streaming building blocks (the brief's 128-column groups): a 1 KiB chunk's
 * chaining value, and the parent-node merge, so a prover can hash a row group
 * by group and still produce the standard BLAKE3 of the whole row.
 *   chunk_cv(in, len <= 1024, chunk_index, is_root) -> cv (8 words)
 *   parent_cv(left, right, is_root) -> cv
 * With is_root set, the output is the root hash words (little-endian bytes
 * of cv = the digest). */
void spw_blake3_chunk_cv(uint32_t cv[8], const uint8_t *in, size_t len, uint64_t chunk_index,
                         int is_root);
void spw_blake3_parent_cv(uint32_t cv[8], const uint32_t left[8], const uint32_t right[8],
                          int is_root);

/* Additive: chunk_cv of n row pieces at once (SIMD lanes; threads when ctx
 * is not NULL): piece i is the len (1..1024) bytes at in + i*in_stride, all
 * with chunk index chunk_index; cv[i] = its chaining value (root words
 * when is_root). Same result as n calls of spw_blake3_chunk_cv. */
void spw_blake3_chunk_cv_many(const struct spw_ctx *ctx, uint32_t (*cv)[8], const uint8_t *in,
                              size_t in_stride, size_t n, size_t len, uint64_t chunk_index,
                              int is_root);

/* Implementation switch (additive, for tests and benchmarks): on = 0 forces
 * the portable reference code, on != 0 selects the fastest one the CPU
 * supports (AVX2 on x86-64). Returns the previous setting (1 = SIMD was
 * active). Process-wide; call it while no other thread is hashing. */
int spw_blake3_set_simd(int on);
/* "avx2" or "portable": the implementation in use. */
const char *spw_blake3_impl_name(void);

#endif
