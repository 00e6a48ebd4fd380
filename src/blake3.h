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

/* Additive: hashes nrows rows of column-major u64 data: row r is the
 * little-endian bytes of cols[c*stride + r] for c = 0 .. ncols-1, and its
 * standard BLAKE3 digest goes to out + 32*r. Single-threaded; with AVX2 it
 * reads 8 rows of a column per load, without gathering rows first. */
void spw_blake3_rows_u64(uint8_t *out, const uint64_t *cols, size_t ncols, size_t stride,
                         size_t nrows);

/* Additive, for provers that stream a row in column groups of 128 (one
 * 1 KiB chunk each): cv[r] = chaining value of the chunk made of row r's
 * columns 0 .. ncols-1 (1 <= ncols <= 128, column c at cols + c*stride,
 * little-endian u64), with chunk index chunk_index (= the group's index in
 * the row). Set is_root only when the row has a single group (ncols of the
 * whole row <= 128): then cv[r] is the row digest. Multi-threaded on ctx. */
void spw_blake3_rows_chunk_cv(const struct spw_ctx *ctx, uint32_t (*cv)[8], const uint64_t *cols,
                              size_t ncols, size_t stride, size_t nrows, uint64_t chunk_index,
                              int is_root);
/* The standard digest from the n non-root chunk cvs of one message, in
 * order (BLAKE3's left-balanced tree of parent nodes). For n == 1, cvs[0]
 * must already be the root form (is_root set) and its bytes are returned. */
void spw_blake3_root_from_cvs(uint8_t out[32], const uint32_t (*cvs)[8], size_t n);

/* Implementation switch (additive, for tests and benchmarks): on = 0 forces
 * the portable reference code, on != 0 selects the fastest one the CPU
 * supports (AVX2 on x86-64). Returns the previous setting (1 = SIMD was
 * active). Process-wide; call it while no other thread is hashing. */
int spw_blake3_set_simd(int on);
/* "avx2" or "portable": the implementation in use. */
const char *spw_blake3_impl_name(void);

#endif
