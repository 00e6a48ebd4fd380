/*
 * stark.h - shared internal definitions of the spillway STARK protocol:
 * parameters and the security formula, the decoded proof, prover options
 * and per-round statistics. Used by the prover, the verifier, the proof
 * codec, the CLI and (later) the out-of-core and GPU provers.
 * The protocol itself is specified in docs/PROTOCOL.md.
 */
#ifndef SPW_STARK_H
#define SPW_STARK_H

#include "air.h"
#include "merkle.h"
#include "transcript.h"

#define SPW_PROOF_MAGIC "SPWPROOF"
#define SPW_PROOF_VERSION 1u
#define SPW_PROOF_HEADER_LEN 40u      /* magic 8, version 4, reserved 4, length 8, checksum 16 */
#define SPW_GRINDING_BITS 16u
#define SPW_TARGET_BITS 100u          /* conjectured bits the default query count reaches */
#define SPW_FRI_LOG_FINAL_MAX 5u      /* final polynomial: at most 2^5 coefficients */
#define SPW_MAX_LOG_HEIGHT 28u        /* LDE size 2^(28+3) stays inside the 2-adic subgroup */
#define SPW_MAX_TABLES 4096u
#define SPW_MAX_COLS 65536u
#define SPW_MAX_AUX 16384u
#define SPW_MAX_PARTS 64u
#define SPW_MAX_PUBLICS (1u << 20)
#define SPW_MAX_TAG (1u << 16)
#define SPW_MAX_QUERIES 256u
#define SPW_MAX_PROOF_BYTES (UINT64_C(1) << 31)

typedef struct spw_stark_params {
    uint32_t blowup;        /* 2, 4, 8 */
    uint32_t n_queries;
    uint32_t grinding_bits;
    uint32_t log_final;     /* log2 of the final polynomial's coefficient count */
} spw_stark_params;

/* Default parameters for a blowup and the tables' smallest log height:
 * n_queries = ceil((SPW_TARGET_BITS - grinding) / log2(blowup)),
 * log_final = min(SPW_FRI_LOG_FINAL_MAX, min_log_height). */
void spw_stark_default_params(spw_stark_params *p, unsigned blowup, unsigned min_log_height);
/* ethSTARK-style conjectured bits: min(q*log2(B) + g, 128). */
double spw_stark_conjectured_bits(const spw_stark_params *p);
/* Provable (Johnson-bound) estimate: min(q*log2(B)/2 + g, 128). */
double spw_stark_provable_bits(const spw_stark_params *p);

/* Number of composition parts (each of degree < n) of a table: the maximum
 * over its constraints of max(1, d-1) (transition, every) or max(1, d)
 * (first, last), d the constraint degree; at least 1. */
uint32_t spw_stark_num_parts(const spw_air_table *t);
/* log2 of the composition domain's size over the trace's: the smallest
 * log_e >= log_b (the LDE blowup's log) with 2^log_e >= the table's parts. */
unsigned spw_stark_log_e(const spw_air_table *t, unsigned log_b);
/* 1 when some table's quotient fills its whole composition domain (parts =
 * 2^log_e): the degree check then has nothing to look at, so a device path
 * must run the host checks first instead of deferring them. */
int spw_stark_degree_check_blind(const spw_air_def *def, unsigned log_b);

/* ---- the decoded proof ---- */

typedef struct spw_proof_table {
    uint32_t log_height, n_main, n_aux, n_parts;
    spw_digest main_root, aux_root, comp_root;
    fe3 logup_sum;          /* L_t (zero when n_aux == 0) */
    /* out-of-domain values, in this order: main at zeta (n_main), main at
     * zeta*w (n_main), aux base columns at zeta (3*n_aux), at zeta*w
     * (3*n_aux), composition base columns at zeta (3*n_parts) */
    fe3 *ood;
    /* query openings, query-major: values then Merkle path (depth log2(N)) */
    uint64_t *q_main;       /* n_queries * n_main */
    spw_digest *q_main_path;
    uint64_t *q_aux;        /* n_queries * 3*n_aux */
    spw_digest *q_aux_path;
    uint64_t *q_comp;       /* n_queries * 3*n_parts */
    spw_digest *q_comp_path;
} spw_proof_table;

typedef struct spw_proof_layer {
    spw_digest root;
    uint64_t *q_vals;       /* n_queries * 6: f[k] (3) then f[k + N/2] (3) */
    spw_digest *q_path;     /* n_queries * depth (log2(N_i) - 1) */
} spw_proof_layer;

typedef struct spw_proof {
    spw_stark_params params;
    uint32_t n_tables, n_publics, tag_len;
    uint64_t *publics;
    uint8_t *tag;
    spw_proof_table *tables;
    uint32_t n_layers;      /* = max log height - log_final */
    spw_proof_layer *layers;
    fe3 *final_poly;        /* 2^log_final coefficients */
    uint64_t nonce;
} spw_proof;

/* Derived sizes shared by prover, verifier and codec. */
static inline uint32_t spw_proof_n_ood(const spw_proof_table *t)
{
    return 2 * t->n_main + 6 * t->n_aux + 3 * t->n_parts;
}
static inline unsigned spw_proof_log_lde(const spw_proof *p, const spw_proof_table *t)
{
    return t->log_height + spw_log2(p->params.blowup);
}
/* Allocates the arrays of a proof whose scalar fields (params, counts,
 * table dims) are set; layers/final sized from them. */
spw_status spw_proof_alloc(const spw_ctx *ctx, spw_proof *p);
/* What every prover (in-memory, streaming, GPU) does first: allocates
 * p->tables, fills the default parameters for blowup and the tables'
 * heights, the statement (publics, tag), each table's shape, the FRI layer
 * count, then spw_proof_alloc. p must be zeroed; on failure release it with
 * spw_proof_free. */
spw_status spw_proof_begin(const spw_ctx *ctx, spw_proof *p, const spw_air_def *def,
                           const spw_statement *stmt, unsigned blowup);
void spw_proof_clear(spw_proof *p);

/* Bytes of the preamble (params, statement, table dims) as absorbed into
 * the transcript and written into the proof; *out malloc'd. */
spw_status spw_proof_preamble(const spw_ctx *ctx, uint8_t **out, size_t *len, const spw_proof *p);
/* Bytes of table t's out-of-domain block (LE u64 coefficients). */
void spw_proof_ood_bytes(uint8_t *out, const spw_proof_table *t);

spw_status spw_proof_encode(const spw_ctx *ctx, uint8_t **out, size_t *len, const spw_proof *p);
/* Decodes with every length bounded; SPW_ERR_PROOF_MALFORMED on any
 * inconsistency. On success p owns its arrays (spw_proof_clear). */
spw_status spw_proof_decode(const spw_ctx *ctx, spw_proof *p, const uint8_t *buf, size_t len);
/* Recomputes the header checksum of an encoded proof (tests use it to
 * make a tampered body reach the verifier's checks). */
void spw_proof_fix_checksum(uint8_t *buf, size_t len);

/* BLAKE3 of a canonical serialisation of the compiled AIR (tables, programs,
 * constraints, interactions; not heights) - bound into the transcript. */
void spw_air_digest(uint8_t out[32], const spw_air_def *air);

/* ---- prover options and statistics ---- */

typedef struct spw_prove_opts {
    int skip_checks;        /* test-only: do not refuse a bad trace */
    int reference_eval;     /* reference paths: constraints through the
                               reference interpreter (spw_air_eval) row by
                               row, DEEP point by point (tests compare bytes) */
} spw_prove_opts;

enum {
    SPW_ROUND_CHECK = 0, SPW_ROUND_MAIN, SPW_ROUND_AUX, SPW_ROUND_COMP, SPW_ROUND_OOD,
    SPW_ROUND_DEEP, SPW_ROUND_FRI, SPW_ROUND_GRIND, SPW_ROUND_QUERY, SPW_ROUND_ENCODE,
    SPW_ROUND_COUNT
};
extern const char *const spw_round_names[SPW_ROUND_COUNT];

typedef struct spw_prove_stats {
    double seconds[SPW_ROUND_COUNT];
    double total;
} spw_prove_stats;

spw_status spw_prove_ex(spw_ctx *ctx, uint8_t **proof_out, size_t *proof_len, const spw_air *air,
                        const spw_trace *trace, const spw_statement *stmt,
                        const spw_prove_opts *opts, spw_prove_stats *stats);


#endif
