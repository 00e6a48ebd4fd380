/*
 * dev.h - the streaming device tier: the device side of the streaming
 * prover (src/sched/stream.c). When the resident working set of a proof
 * does not fit the VRAM budget, the streaming prover keeps every matrix in
 * the spill store (pinned host pool, NVMe behind it) and sends each column
 * group and each row chunk through the GPU: NVMe -> pinned host -> device
 * -> pinned host -> NVMe. Every device byte comes from one arena of the
 * VRAM budget (docs/GPU.md, "Streaming tier").
 *
 * Column phases (NTT/LDE) run as a three-stream pipeline (host->device
 * copies, kernels, device->host copies, ordered by events, two slots when
 * they fit), so the copies of one group overlap the kernels of the next.
 * Row passes (Merkle leaves, LogUp, constraints, OOD, DEEP) take one chunk
 * per call. Every copy runs straight between the pinned pool's tiles and
 * the device (spw_mat_pin_block); LDEs stay on the device between passes
 * when they fit (the device cache below); FRI commits on the device when
 * its layers fit.
 *
 * The kernels are those of the resident backend (cuda/rounds_*.cu) in
 * their row-chunk modes; every value is exact, so the proof bytes equal
 * the CPU backend's. Without CUDA, spw_sdev_open reports SPW_ERR_NO_CUDA
 * and nothing else may be called.
 */
#ifndef SPW_SCHED_DEV_H
#define SPW_SCHED_DEV_H

#include "../air.h"
#include "../merkle.h"
#include "coset.h"
#include "sched.h"

typedef struct spw_sdev spw_sdev;

typedef struct spw_sdev_stats {
    uint64_t budget, peak;       /* arena budget and measured peak (bytes) */
    uint64_t h2d, d2h;           /* bytes copied over the link */
    uint64_t kernels;            /* kernel launches */
    uint64_t cache_peak;         /* device cache: most bytes held at once */
    uint64_t cache_made, cache_dropped; /* entries made; dropped for room */
    uint64_t cache_served;       /* bytes the row passes took from it instead of the host */
    double pin_s;                /* host seconds pinning store tiles for the copies */
    double busy_s;               /* host seconds spent waiting for the device */
    uint64_t fri_layers;         /* FRI layers committed and folded on the device */
    uint64_t fri_fallbacks;      /* FRI commits left to the host (no room) */
    uint64_t cosets;             /* coset evaluations of the recompute tier */
    char device[128];
} spw_sdev_stats;

/* Reserves an arena of vram_budget bytes (0 = 90% of the free memory). */
spw_status spw_sdev_open(spw_ctx *ctx, spw_sdev **out, uint64_t vram_budget);
void spw_sdev_close(spw_sdev *d); /* NULL ok */
void spw_sdev_get_stats(const spw_sdev *d, spw_sdev_stats *out);
/* Round and table named in device error messages. */
void spw_sdev_where(spw_sdev *d, const char *round, const char *table);
/* Device bytes of the column pipeline for G columns of n rows with LDE
 * blowup 2^log_e (two slots). */
uint64_t spw_sdev_cols_bytes(size_t G, unsigned log_n, unsigned log_e);
/* Device bytes the tier needs at least (one column per group, the plan's
 * row chunks), and the table that needs most (*which, may be NULL). */
struct spw_plan;
uint64_t spw_sdev_min_bytes(const struct spw_plan *p, const struct spw_air_def *def,
                            uint32_t *which);

/* ---- column phases ---- */

/* get: fill gc columns [c0, c0+gc) of n values into buf (column stride n);
 * the producer's columns of the main round (the other inputs come from
 * src). */
typedef spw_status (*spw_sdev_get_fn)(void *arg, uint64_t *buf, size_t c0, size_t gc);

typedef struct spw_sdev_cols_job {
    size_t ncols, G;        /* columns, columns per group (the pipeline may use fewer) */
    unsigned log_n;
    int inverse;            /* 1: the input is evaluations -> iNTT to coefficients */
    unsigned log_e;         /* lde: coset LDE with blowup 2^log_e */
    /* input: the columns of src, or (src NULL) get's; keep: where get's
     * columns are also stored (may be NULL) */
    spw_mat *src;
    spw_sdev_get_fn get;
    void *arg;
    spw_mat *keep;
    spw_mat *coef;          /* output: the coefficients (may be NULL) */
    spw_mat *lde;           /* output: the LDE (may be NULL); the device
                               cache keeps a copy under key lde when it fits */
    uint64_t pin_cap;       /* pool bytes the copies may pin at once (0: any) */
    /* keep_dev (no lde): the coefficients also stay on the device when
     * they fit, for the next coset pass over coef (spw_sdev_coset_tree
     * takes them instead of uploading them again) */
    int keep_dev;
} spw_sdev_cols_job;

spw_status spw_sdev_cols(spw_sdev *d, const spw_sdev_cols_job *j);

/* h_col (2^log_n values on GL_GENERATOR * <w>) -> coefficients, in place. */
spw_status spw_sdev_interpolate(spw_sdev *d, uint64_t *h_col, unsigned log_n);

/* ---- device cache ----
 * Whole LDE matrices kept on the device from the column phase that makes
 * them to the row passes that read them (column c of matrix `key` at
 * ptr + c * nrows): the tree of the same round, the composition and DEEP.
 * They are clean copies, because the column phase still puts every matrix
 * into the store; dropping one costs only the uploads of later passes. An
 * entry is made only from arena room beyond a reserve for the passes' own
 * buffers; when a pass needs room, the newest entries are dropped first
 * (every round visits the tables in the same order, so the oldest entries
 * are the next ones read). */
void spw_sdev_uncache(spw_sdev *d, const void *key); /* the matrix is freed; unknown key ok */

/* ---- row passes ----
 * Inputs come straight from the matrices: the device cache's copy when it
 * has one, else the tiles, pinned in the pool (spw_mat_pin_block) and
 * copied to and from the device without passing through ordinary memory.
 * Each chunk call returns when its results are in place. */

/* Merkle heap (spw_merkle layout; node 0 zeroed) over the R leaves of
 * rows [r0, r0+R) of m: its first `keep` digests (the levels a stored
 * subtree keeps; 2R for all) into h_heap. */
spw_status spw_sdev_tree_rows(spw_sdev *d, spw_digest *h_heap, size_t keep, spw_mat *m, size_t r0,
                              size_t R);
/* The VRAM budget of the tier (bytes). */
uint64_t spw_sdev_budget(const spw_sdev *d);

/* LogUp aux trace of table t by row chunks in order (running sum on the
 * device): begin, chunk per [r0, r0+m) of the main trace rows into the
 * same rows of aux (3 n_aux columns), end -> L_t. A zero fingerprint
 * fails at end naming the row (*bad_row set, else UINT64_MAX). */
spw_status spw_sdev_logup_begin(spw_sdev *d, const spw_air_table *t, const fe3 *ch, size_t C,
                                spw_mat *trace, spw_mat *aux);
spw_status spw_sdev_logup_chunk(spw_sdev *d, size_t r0, size_t m);
spw_status spw_sdev_logup_end(spw_sdev *d, fe3 *sum, uint64_t *bad_row);

/* Composition values by row chunks of R rows of the domain
 * GL_GENERATOR * <w_NE> (NE = n << log_e), from main (nm columns) and aux
 * (3 n_aux columns, may be NULL) of NE rows each with the next-row halo,
 * into the same rows of q (3 columns). */
spw_status spw_sdev_comp_begin(spw_sdev *d, const spw_air_table *t, unsigned log_n, unsigned log_e,
                               const fe3 *ch, uint32_t n_ch, const uint64_t *publics,
                               uint32_t n_publics, fe3 logup_sum, fe3 lambda, size_t R,
                               spw_mat *main, spw_mat *aux, spw_mat *q);
spw_status spw_sdev_comp_chunk(spw_sdev *d, size_t r0);
void spw_sdev_comp_end(spw_sdev *d);

/* DEEP values of LDE rows [r0, r0+R) (log_N) from main, aux (may be
 * empty) and composition columns into h_out. g1: nm+na+nc coefficients,
 * g2: nm+na. */
spw_status spw_sdev_deep_begin(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               size_t R, spw_mat *main, spw_mat *aux, spw_mat *comp);
spw_status spw_sdev_deep_chunk(spw_sdev *d, fe3 *h_out, size_t r0, unsigned log_N, fe3 v1, fe3 v2,
                               fe3 zeta, fe3 zw);
void spw_sdev_deep_end(spw_sdev *d);

/* Out-of-domain sums of rows [r0, r0+n) of m: out1[c] = sum_i pw1[i] *
 * m[c][r0+i], out2[c] likewise with pw2 (pw2/out2 may be NULL). */
spw_status spw_sdev_dot(spw_sdev *d, fe3 *out1, fe3 *out2, spw_mat *m, size_t r0, size_t n,
                        const fe3 *pw1, const fe3 *pw2);

/* ---- FRI commit ----
 * The FRI layers of the streamed proof on the device, all in one arena
 * block: the current layer and the next in the leaf layout (rounds_api.h),
 * a roll-in, two staging chunks of C values and a chunk's Merkle heap.
 * Layers and roll-ins move between the device and the store's matrices
 * (1 column of 2^k fe3, natural order) straight from and into their pool
 * tiles, C values at a time.
 *   begin: *fits = 0 (nothing done, counted in fri_fallbacks) when the
 *          block does not fit the budget: the caller commits on the host;
 *          else uploads layer 0 from L0 (2^log_n0 values). rin_max: the
 *          most values of a roll-in folded in later (0: none);
 *   tree:  the Merkle heap (as spw_sdev_tree_rows: first `keep` digests)
 *          of FRI leaves [k0, k0+R) of the current layer, R <= C;
 *   fold:  the current layer with beta (1/s_i = s_inv) plus beta^2 *
 *          rollin (1 column of N_i/2 fe3, or NULL) becomes the next
 *          layer, on the device and in out (1 column of N_i/2 fe3);
 *   end:   frees the block (close does too).
 * The environment variable SPW_SDEV_FRI_ROOM (bytes) caps the room begin
 * sees (tests of the host fallback). */
uint64_t spw_sdev_fri_bytes(unsigned log_n0, size_t rin_max, size_t C);
spw_status spw_sdev_fri_begin(spw_sdev *d, int *fits, spw_mat *L0, unsigned log_n0,
                              unsigned n_layers, size_t rin_max, size_t C);
spw_status spw_sdev_fri_tree(spw_sdev *d, spw_digest *h_heap, size_t keep, size_t k0, size_t R);
spw_status spw_sdev_fri_fold(spw_sdev *d, spw_mat *out, spw_mat *rollin, fe3 beta, uint64_t s_inv);
void spw_sdev_fri_end(spw_sdev *d);
/* Process totals of fri_layers and fri_fallbacks (tests: the tier is
 * closed when spw_prove returns). */
void spw_sdev_fri_totals(uint64_t *layers, uint64_t *fallbacks);

/* ---- coset passes: the recompute tier ----
 * For a table whose LDE the streaming prover does not store (the
 * planner's recompute choice, docs/GPU.md "Recompute tier"): every pass
 * that reads the LDE evaluates the coefficient matrices (n rows each) on
 * the K cosets GL_GENERATOR * w_{nK}^j * <w_n> of the LDE (K = blowup) or
 * composition (K = E) domain, one coset at a time, and runs its row
 * kernel on that coset. Coset j holds domain points j, j+K, j+2K, ...; the
 * next row of a point is the next point of its coset, so no halo is
 * needed. Results go into natural order on the device. Coefficients come
 * from the store's tiles (once per pass when a device copy fits, else once
 * per coset). */
/* Process total of coset evaluations (tests: the tier is closed when
 * spw_prove returns). */
uint64_t spw_sdev_cosets_total(void);
/* Device bytes the passes of a table need (nm/na/nc base columns). */
uint64_t spw_sdev_coset_bytes(size_t nm, size_t na, size_t nc, unsigned log_n, unsigned log_b,
                              unsigned log_e);
/* Pool bytes the uploads may pin at once (0: any). */
void spw_sdev_set_pin_cap(spw_sdev *d, uint64_t cap);
/* Device cache bytes the passes may fill with the coefficient matrices
 * they upload or make (0: none), so that later rounds copy them from the
 * device instead of the host: what the budget leaves beside the largest
 * pass, or the cache's entries would make that pass give up its own
 * coefficient copy (an upload per coset). */
void spw_sdev_set_coef_room(spw_sdev *d, uint64_t bytes);
/* The Merkle tree of coef's LDE (blowup 2^log_b) into tree (its stored
 * levels, as spw_stree_put_heap keeps them). */
spw_status spw_sdev_coset_tree(spw_sdev *d, spw_stree *tree, spw_mat *coef, unsigned log_n,
                               unsigned log_b);
/* LogUp of a recompute-tier table from its main coefficients (the trace is
 * their coset of shift 1, evaluated on the device: no stored trace is
 * read): the aux columns' running sum into *sum, the first row with a zero
 * fingerprint into *bad_row (UINT64_MAX: none), their coefficients into
 * acoef (3 t->n_aux columns) and, from the same device copy, the tree of
 * their LDE (blowup 2^log_b) into tree. */
spw_status spw_sdev_coset_logup(spw_sdev *d, const spw_air_table *t, const fe3 *ch, spw_mat *mcoef,
                                spw_mat *acoef, spw_stree *tree, unsigned log_n, unsigned log_b,
                                fe3 *sum, uint64_t *bad_row);
/* The composition round of a recompute-tier table on the device: the
 * quotient values on the E = 2^log_e cosets of GL_GENERATOR * <w_{n E}>
 * from the main and aux coefficients, their interpolation, the degree
 * check (check: every coefficient from 3 parts n on is zero, else
 * SPW_ERR_INTERNAL naming the table), the parts as the columns 3i + c of
 * ccoef (3 parts columns), and from the same device copy the tree of
 * their LDE (blowup 2^log_b) into ctree. */
typedef spw_coset_comp_job spw_sdev_comp_job; /* coset.h */
spw_status spw_sdev_coset_comp(spw_sdev *d, const spw_sdev_comp_job *j);
/* Out-of-domain values of a recompute-tier table from its main, aux (may
 * be NULL) and composition coefficients, each uploaded once: into ood in
 * the proof's order (main at zeta, main at zw, aux at zeta, aux at zw,
 * composition at zeta). */
spw_status spw_sdev_coset_ood(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, fe3 zeta,
                              fe3 zw, fe3 *ood);
/* DEEP values of every LDE point from the main, aux (may be NULL) and
 * composition coefficients (g1/g2 as spw_sdev_deep_begin), stored into
 * the roll-in matrix ri (1 column of N fe3, natural order; first = 0: added
 * to what it holds, on the device). */
spw_status spw_sdev_coset_deep(spw_sdev *d, const fe3 *g1, size_t n1, const fe3 *g2, size_t n2,
                               spw_mat *const mats[3], unsigned log_n, unsigned log_b, fe3 v1,
                               fe3 v2, fe3 zeta, fe3 zw, spw_mat *ri, int first);
/* LDE rows idx[0..nq) of the columns of mats (one after the other) into
 * h_rows (row q at h_rows + q * total columns). */
spw_status spw_sdev_coset_rows(spw_sdev *d, spw_mat *const mats[3], unsigned log_n, unsigned log_b,
                               const uint64_t *idx, size_t nq, uint64_t *h_rows);

/* Page-locked host buffers for the row passes (malloc without CUDA). */
void *spw_sdev_host_alloc(spw_sdev *d, size_t bytes);
void spw_sdev_host_free(spw_sdev *d, void *p);

#endif
