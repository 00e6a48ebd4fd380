/*
 * proof.c - encoding and bounded decoding of spillway proofs, the
 * preamble/OOD byte strings the transcript absorbs, the AIR digest and the
 * security formula. Decoding never reads outside the input: every read goes
 * through a cursor that checks the remaining length, every count is bounded
 * before it is used, and the total size implied by the counts must equal
 * the input size before anything large is allocated.
 */
#include "proof.h"
#include "blake3.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

void spw_stark_default_params(spw_stark_params *p, unsigned blowup, unsigned min_log_height)
{
    unsigned lb = spw_log2(blowup ? blowup : 1);
    if (lb == 0) lb = 1;
    p->blowup = blowup;
    p->grinding_bits = SPW_GRINDING_BITS;
    p->n_queries = (SPW_TARGET_BITS - SPW_GRINDING_BITS + lb - 1) / lb;
    p->log_final = min_log_height < SPW_FRI_LOG_FINAL_MAX ? min_log_height : SPW_FRI_LOG_FINAL_MAX;
}

double spw_stark_conjectured_bits(const spw_stark_params *p)
{
    double b = (double)p->n_queries * log2((double)p->blowup) + p->grinding_bits;
    return b > 128.0 ? 128.0 : b;
}

double spw_stark_provable_bits(const spw_stark_params *p)
{
    double b = (double)p->n_queries * log2((double)p->blowup) / 2.0 + p->grinding_bits;
    return b > 128.0 ? 128.0 : b;
}

uint32_t spw_stark_num_parts(const spw_air_table *t)
{
    uint32_t s = 1;
    for (uint32_t j = 0; j < t->n_constraints; j++) {
        const spw_constraint *c = &t->constraints[j];
        uint32_t d = c->degree, need;
        if (c->kind == SPW_CONSTRAINT_FIRST || c->kind == SPW_CONSTRAINT_LAST)
            need = d > 1 ? d : 1;
        else
            need = d > 2 ? d - 1 : 1;
        if (need > s) s = need;
    }
    return s;
}

unsigned spw_stark_log_e(const spw_air_table *t, unsigned log_b)
{
    uint32_t sp = spw_stark_num_parts(t);
    unsigned log_e = log_b;
    while ((1u << log_e) < sp) log_e++;
    return log_e;
}

int spw_stark_degree_check_blind(const spw_air_def *def, unsigned log_b)
{
    for (uint32_t t = 0; t < def->n_tables; t++)
        if (spw_stark_num_parts(&def->tables[t]) == (1u << spw_stark_log_e(&def->tables[t], log_b)))
            return 1;
    return 0;
}

/* ---- byte writer ---- */

typedef struct wr {
    uint8_t *p;
    size_t len, cap;
} wr;

static void w_bytes(wr *w, const void *d, size_t n)
{
    if (w->len + n <= w->cap) memcpy(w->p + w->len, d, n);
    w->len += n;
}
static void w_u32(wr *w, uint32_t v)
{
    uint8_t b[4];
    spw_put_u32le(b, v);
    w_bytes(w, b, 4);
}
static void w_u64(wr *w, uint64_t v)
{
    uint8_t b[8];
    spw_put_u64le(b, v);
    w_bytes(w, b, 8);
}
static void w_fe3(wr *w, fe3 v)
{
    for (int i = 0; i < 3; i++) w_u64(w, v.c[i]);
}
static void w_u64s(wr *w, const uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) w_u64(w, v[i]);
}
static void w_digests(wr *w, const spw_digest *d, size_t n) { w_bytes(w, d, 32 * n); }

/* ---- byte reader (bounded cursor) ---- */

typedef struct rd {
    const uint8_t *p;
    size_t left;
    int bad;       /* set on the first short read or non-canonical value */
    const char *why;
} rd;

static const uint8_t *r_take(rd *r, size_t n)
{
    if (r->bad || n > r->left) {
        if (!r->bad) r->why = "truncated";
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}
static uint32_t r_u32(rd *r)
{
    const uint8_t *q = r_take(r, 4);
    return q ? spw_get_u32le(q) : 0;
}
static uint64_t r_u64(rd *r)
{
    const uint8_t *q = r_take(r, 8);
    return q ? spw_get_u64le(q) : 0;
}
static uint64_t r_fe(rd *r)
{
    uint64_t v = r_u64(r);
    if (v >= GL_P) {
        if (!r->bad) r->why = "non-canonical field element";
        r->bad = 1;
        return 0;
    }
    return v;
}
static fe3 r_fe3(rd *r)
{
    uint64_t a = r_fe(r), b = r_fe(r), c = r_fe(r);
    return fe3_make(a, b, c);
}
static void r_fes(rd *r, uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = r_fe(r);
}
static void r_digests(rd *r, spw_digest *d, size_t n)
{
    const uint8_t *q = r_take(r, 32 * n);
    if (q) memcpy(d, q, 32 * n);
}

/* ---- sizes ---- */

static unsigned max_log_height(const spw_proof *p)
{
    unsigned m = 0;
    for (uint32_t t = 0; t < p->n_tables; t++)
        if (p->tables[t].log_height > m) m = p->tables[t].log_height;
    return m;
}

uint64_t spw_proof_body_size(const spw_proof *p)
{
    uint64_t lb = spw_log2(p->params.blowup);
    uint64_t s = 16 + 12 + 8 * (uint64_t)p->n_publics + p->tag_len + 16 * (uint64_t)p->n_tables;
    uint64_t per_query = 0;
    for (uint32_t t = 0; t < p->n_tables; t++) {
        const spw_proof_table *pt = &p->tables[t];
        uint64_t depth = pt->log_height + lb;
        s += 32 + 32 + (pt->n_aux ? 32 + 24 : 0);
        s += 24 * (uint64_t)spw_proof_n_ood(pt);
        per_query += 8 * (uint64_t)pt->n_main + 32 * depth;
        if (pt->n_aux) per_query += 24 * (uint64_t)pt->n_aux + 32 * depth;
        per_query += 24 * (uint64_t)pt->n_parts + 32 * depth;
    }
    uint64_t log_n0 = max_log_height(p) + lb;
    for (uint32_t i = 0; i < p->n_layers; i++) per_query += 48 + 32 * (log_n0 - i - 1);
    s += 32 * (uint64_t)p->n_layers + 24 * ((uint64_t)1 << p->params.log_final) + 8;
    s += per_query * p->params.n_queries;
    return s;
}

/* ---- allocation ---- */

spw_status spw_proof_begin(const spw_ctx *ctx, spw_proof *p, const spw_air_def *def,
                           const spw_statement *stmt, unsigned blowup)
{
    unsigned min_lh = 64, max_lh = 0;
    for (uint32_t t = 0; t < def->n_tables; t++) {
        if (def->tables[t].log_height < min_lh) min_lh = def->tables[t].log_height;
        if (def->tables[t].log_height > max_lh) max_lh = def->tables[t].log_height;
    }
    p->tables = spw_calloc_array(def->n_tables, sizeof(spw_proof_table));
    if (!p->tables) return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (tables)");
    spw_stark_default_params(&p->params, blowup, min_lh);
    p->n_tables = def->n_tables;
    p->n_publics = def->n_publics;
    p->tag_len = stmt ? (uint32_t)stmt->tag_len : 0;
    p->n_layers = max_lh - p->params.log_final;
    p->publics = spw_calloc_array(p->n_publics + 1, 8);
    p->tag = calloc(p->tag_len + 1, 1);
    if (!p->publics || !p->tag) return spw_fail(ctx, SPW_ERR_NOMEM, "prove: out of memory (statement)");
    if (p->n_publics) memcpy(p->publics, stmt->publics, 8 * (size_t)p->n_publics);
    if (p->tag_len) memcpy(p->tag, stmt->tag, p->tag_len);
    for (uint32_t t = 0; t < def->n_tables; t++) {
        const spw_air_table *tb = &def->tables[t];
        p->tables[t].log_height = tb->log_height;
        p->tables[t].n_main = tb->n_main;
        p->tables[t].n_aux = tb->n_aux;
        p->tables[t].n_parts = spw_stark_num_parts(tb);
    }
    return spw_proof_alloc(ctx, p);
}

spw_status spw_proof_alloc(const spw_ctx *ctx, spw_proof *p)
{
    uint64_t q = p->params.n_queries;
    unsigned lb = spw_log2(p->params.blowup);
    if (!p->publics) p->publics = spw_calloc_array(p->n_publics + 1, 8);
    if (!p->tag) p->tag = calloc(p->tag_len + 1, 1);
    if (!p->publics || !p->tag) return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    for (uint32_t t = 0; t < p->n_tables; t++) {
        spw_proof_table *pt = &p->tables[t];
        size_t depth = pt->log_height + lb;
        pt->ood = spw_calloc_array(spw_proof_n_ood(pt), sizeof(fe3));
        pt->q_main = spw_calloc_array(q * pt->n_main, 8);
        pt->q_main_path = spw_calloc_array(q * depth, sizeof(spw_digest));
        pt->q_aux = spw_calloc_array(q * 3 * pt->n_aux + 1, 8);
        pt->q_aux_path = spw_calloc_array(q * depth, sizeof(spw_digest));
        pt->q_comp = spw_calloc_array(q * 3 * pt->n_parts, 8);
        pt->q_comp_path = spw_calloc_array(q * depth, sizeof(spw_digest));
        if (!pt->ood || !pt->q_main || !pt->q_main_path || !pt->q_aux || !pt->q_aux_path ||
            !pt->q_comp || !pt->q_comp_path)
            return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    }
    unsigned log_n0 = max_log_height(p) + lb;
    p->layers = spw_calloc_array(p->n_layers + 1, sizeof(spw_proof_layer));
    p->final_poly = spw_calloc_array((size_t)1 << p->params.log_final, sizeof(fe3));
    if (!p->layers || !p->final_poly) return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    for (uint32_t i = 0; i < p->n_layers; i++) {
        p->layers[i].q_vals = spw_calloc_array(q * 6, 8);
        p->layers[i].q_path = spw_calloc_array(q * (log_n0 - i - 1) + 1, sizeof(spw_digest));
        if (!p->layers[i].q_vals || !p->layers[i].q_path)
            return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    }
    return SPW_OK;
}

void spw_proof_clear(spw_proof *p)
{
    if (!p) return;
    free(p->publics);
    free(p->tag);
    if (p->tables)
        for (uint32_t t = 0; t < p->n_tables; t++) {
            spw_proof_table *pt = &p->tables[t];
            free(pt->ood);
            free(pt->q_main);
            free(pt->q_main_path);
            free(pt->q_aux);
            free(pt->q_aux_path);
            free(pt->q_comp);
            free(pt->q_comp_path);
        }
    free(p->tables);
    if (p->layers)
        for (uint32_t i = 0; i < p->n_layers; i++) {
            free(p->layers[i].q_vals);
            free(p->layers[i].q_path);
        }
    free(p->layers);
    free(p->final_poly);
    memset(p, 0, sizeof *p);
}

/* ---- encoding ---- */

static void write_preamble(wr *w, const spw_proof *p)
{
    w_u32(w, p->params.blowup);
    w_u32(w, p->params.n_queries);
    w_u32(w, p->params.grinding_bits);
    w_u32(w, p->params.log_final);
    w_u32(w, p->n_tables);
    w_u32(w, p->n_publics);
    w_u32(w, p->tag_len);
    w_u64s(w, p->publics, p->n_publics);
    w_bytes(w, p->tag, p->tag_len);
    for (uint32_t t = 0; t < p->n_tables; t++) {
        const spw_proof_table *pt = &p->tables[t];
        w_u32(w, pt->log_height);
        w_u32(w, pt->n_main);
        w_u32(w, pt->n_aux);
        w_u32(w, pt->n_parts);
    }
}

spw_status spw_proof_preamble(const spw_ctx *ctx, uint8_t **out, size_t *len, const spw_proof *p)
{
    wr w = {0};
    write_preamble(&w, p);
    w.p = malloc(w.len ? w.len : 1);
    if (!w.p) return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    w.cap = w.len;
    w.len = 0;
    write_preamble(&w, p);
    *out = w.p;
    *len = w.len;
    return SPW_OK;
}

void spw_proof_ood_bytes(uint8_t *out, const spw_proof_table *t)
{
    uint32_t n = spw_proof_n_ood(t);
    for (uint32_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) spw_put_u64le(out + 24 * i + 8 * c, t->ood[i].c[c]);
}

static void write_body(wr *w, const spw_proof *p)
{
    write_preamble(w, p);
    for (uint32_t t = 0; t < p->n_tables; t++) w_digests(w, &p->tables[t].main_root, 1);
    for (uint32_t t = 0; t < p->n_tables; t++)
        if (p->tables[t].n_aux) {
            w_digests(w, &p->tables[t].aux_root, 1);
            w_fe3(w, p->tables[t].logup_sum);
        }
    for (uint32_t t = 0; t < p->n_tables; t++) w_digests(w, &p->tables[t].comp_root, 1);
    for (uint32_t t = 0; t < p->n_tables; t++) {
        const spw_proof_table *pt = &p->tables[t];
        for (uint32_t i = 0; i < spw_proof_n_ood(pt); i++) w_fe3(w, pt->ood[i]);
    }
    for (uint32_t i = 0; i < p->n_layers; i++) w_digests(w, &p->layers[i].root, 1);
    for (size_t i = 0; i < ((size_t)1 << p->params.log_final); i++) w_fe3(w, p->final_poly[i]);
    w_u64(w, p->nonce);
    unsigned lb = spw_log2(p->params.blowup);
    unsigned log_n0 = max_log_height(p) + lb;
    for (uint32_t j = 0; j < p->params.n_queries; j++) {
        for (uint32_t t = 0; t < p->n_tables; t++) {
            const spw_proof_table *pt = &p->tables[t];
            size_t d = pt->log_height + lb;
            w_u64s(w, pt->q_main + (size_t)j * pt->n_main, pt->n_main);
            w_digests(w, pt->q_main_path + j * d, d);
            if (pt->n_aux) {
                w_u64s(w, pt->q_aux + (size_t)j * 3 * pt->n_aux, 3 * (size_t)pt->n_aux);
                w_digests(w, pt->q_aux_path + j * d, d);
            }
            w_u64s(w, pt->q_comp + (size_t)j * 3 * pt->n_parts, 3 * (size_t)pt->n_parts);
            w_digests(w, pt->q_comp_path + j * d, d);
        }
        for (uint32_t i = 0; i < p->n_layers; i++) {
            size_t d = log_n0 - i - 1;
            w_u64s(w, p->layers[i].q_vals + 6 * (size_t)j, 6);
            w_digests(w, p->layers[i].q_path + j * d, d);
        }
    }
}

static void header_checksum(uint8_t out16[16], const uint8_t *body, size_t len)
{
    uint8_t h[32];
    spw_blake3(h, body, len);
    memcpy(out16, h, 16);
}

void spw_proof_fix_checksum(uint8_t *buf, size_t len)
{
    if (len < SPW_PROOF_HEADER_LEN) return;
    header_checksum(buf + 24, buf + SPW_PROOF_HEADER_LEN, len - SPW_PROOF_HEADER_LEN);
}

spw_status spw_proof_encode(const spw_ctx *ctx, uint8_t **out, size_t *len, const spw_proof *p)
{
    uint64_t body = spw_proof_body_size(p);
    if (body + SPW_PROOF_HEADER_LEN > SPW_MAX_PROOF_BYTES)
        return spw_fail(ctx, SPW_ERR_TOO_LARGE, "proof: %llu bytes exceed the limit",
                        (unsigned long long)body);
    size_t total = (size_t)body + SPW_PROOF_HEADER_LEN;
    uint8_t *buf = malloc(total);
    if (!buf) return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory (%zu bytes)", total);
    wr w = {buf + SPW_PROOF_HEADER_LEN, 0, (size_t)body};
    write_body(&w, p);
    if (w.len != body) {
        free(buf);
        return spw_fail(ctx, SPW_ERR_INTERNAL, "proof: encoded %zu bytes, expected %llu", w.len,
                        (unsigned long long)body);
    }
    memcpy(buf, SPW_PROOF_MAGIC, 8);
    spw_put_u32le(buf + 8, SPW_PROOF_VERSION);
    spw_put_u32le(buf + 12, 0);
    spw_put_u64le(buf + 16, total);
    spw_proof_fix_checksum(buf, total);
    *out = buf;
    *len = total;
    return SPW_OK;
}

/* ---- decoding ---- */

#define MALFORMED(...) spw_fail(ctx, SPW_ERR_PROOF_MALFORMED, __VA_ARGS__)

spw_status spw_proof_decode(const spw_ctx *ctx, spw_proof *p, const uint8_t *buf, size_t len)
{
    memset(p, 0, sizeof *p);
    if (!buf) return MALFORMED("proof: no data");
    if (len < SPW_PROOF_HEADER_LEN) return MALFORMED("proof: %zu bytes, shorter than the header", len);
    if (memcmp(buf, SPW_PROOF_MAGIC, 8)) return MALFORMED("proof: bad magic (not a spillway proof)");
    if (spw_get_u32le(buf + 8) != SPW_PROOF_VERSION)
        return MALFORMED("proof: version %u, this library reads version %u", spw_get_u32le(buf + 8),
                         SPW_PROOF_VERSION);
    if (spw_get_u32le(buf + 12) != 0) return MALFORMED("proof: reserved header field is not zero");
    if (spw_get_u64le(buf + 16) != len)
        return MALFORMED("proof: header says %llu bytes, got %zu",
                         (unsigned long long)spw_get_u64le(buf + 16), len);
    if (len > SPW_MAX_PROOF_BYTES) return MALFORMED("proof: %zu bytes exceed the limit", len);
    uint8_t ck[16];
    header_checksum(ck, buf + SPW_PROOF_HEADER_LEN, len - SPW_PROOF_HEADER_LEN);
    if (memcmp(ck, buf + 24, 16)) return MALFORMED("proof: checksum mismatch (corrupted proof)");

    rd r = {buf + SPW_PROOF_HEADER_LEN, len - SPW_PROOF_HEADER_LEN, 0, NULL};
    p->params.blowup = r_u32(&r);
    p->params.n_queries = r_u32(&r);
    p->params.grinding_bits = r_u32(&r);
    p->params.log_final = r_u32(&r);
    p->n_tables = r_u32(&r);
    p->n_publics = r_u32(&r);
    p->tag_len = r_u32(&r);
    if (r.bad) return MALFORMED("proof: truncated preamble");
    if (p->params.blowup != 2 && p->params.blowup != 4 && p->params.blowup != 8)
        return MALFORMED("proof: blowup %u not in {2,4,8}", p->params.blowup);
    if (p->params.n_queries == 0 || p->params.n_queries > SPW_MAX_QUERIES)
        return MALFORMED("proof: query count %u out of range", p->params.n_queries);
    if (p->params.grinding_bits > 64) return MALFORMED("proof: grinding bits %u > 64", p->params.grinding_bits);
    if (p->params.log_final > SPW_FRI_LOG_FINAL_MAX)
        return MALFORMED("proof: final polynomial log size %u > %u", p->params.log_final,
                         SPW_FRI_LOG_FINAL_MAX);
    if (p->n_tables == 0 || p->n_tables > SPW_MAX_TABLES)
        return MALFORMED("proof: table count %u out of range", p->n_tables);
    if (p->n_publics > SPW_MAX_PUBLICS) return MALFORMED("proof: %u publics exceed the limit", p->n_publics);
    if (p->tag_len > SPW_MAX_TAG) return MALFORMED("proof: tag of %u bytes exceeds the limit", p->tag_len);
    if ((uint64_t)p->n_publics * 8 + p->tag_len + 16 * (uint64_t)p->n_tables > r.left)
        return MALFORMED("proof: truncated statement");
    p->publics = spw_calloc_array(p->n_publics + 1, 8);
    p->tag = calloc(p->tag_len + 1, 1);
    p->tables = spw_calloc_array(p->n_tables, sizeof(spw_proof_table));
    if (!p->publics || !p->tag || !p->tables) {
        spw_proof_clear(p);
        return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    }
    spw_status st = SPW_OK;
    r_fes(&r, p->publics, p->n_publics);
    const uint8_t *tg = r_take(&r, p->tag_len);
    if (tg && p->tag_len) memcpy(p->tag, tg, p->tag_len);
    unsigned min_lh = 64, max_lh = 0;
    for (uint32_t t = 0; t < p->n_tables; t++) {
        spw_proof_table *pt = &p->tables[t];
        pt->log_height = r_u32(&r);
        pt->n_main = r_u32(&r);
        pt->n_aux = r_u32(&r);
        pt->n_parts = r_u32(&r);
        if (r.bad) break;
        if (pt->log_height < 1 || pt->log_height > SPW_MAX_LOG_HEIGHT) {
            st = MALFORMED("proof: table %u: log height %u out of range", t, pt->log_height);
            goto fail;
        }
        if (pt->n_main < 1 || pt->n_main > SPW_MAX_COLS || pt->n_aux > SPW_MAX_AUX ||
            pt->n_parts < 1 || pt->n_parts > SPW_MAX_PARTS) {
            st = MALFORMED("proof: table %u: column counts out of range", t);
            goto fail;
        }
        if (pt->log_height < min_lh) min_lh = pt->log_height;
        if (pt->log_height > max_lh) max_lh = pt->log_height;
    }
    if (r.bad) {
        st = MALFORMED("proof: %s preamble", r.why);
        goto fail;
    }
    if (p->params.log_final > min_lh) {
        st = MALFORMED("proof: final polynomial larger than the smallest table");
        goto fail;
    }
    p->n_layers = max_lh - p->params.log_final;
    {
        uint64_t want = spw_proof_body_size(p);
        if (want != len - SPW_PROOF_HEADER_LEN) {
            st = MALFORMED("proof: body is %zu bytes, its dimensions need %llu",
                           len - (size_t)SPW_PROOF_HEADER_LEN, (unsigned long long)want);
            goto fail;
        }
    }
    if ((st = spw_proof_alloc(ctx, p)) != SPW_OK) goto fail;
    for (uint32_t t = 0; t < p->n_tables; t++) r_digests(&r, &p->tables[t].main_root, 1);
    for (uint32_t t = 0; t < p->n_tables; t++)
        if (p->tables[t].n_aux) {
            r_digests(&r, &p->tables[t].aux_root, 1);
            p->tables[t].logup_sum = r_fe3(&r);
        }
    for (uint32_t t = 0; t < p->n_tables; t++) r_digests(&r, &p->tables[t].comp_root, 1);
    for (uint32_t t = 0; t < p->n_tables; t++) {
        spw_proof_table *pt = &p->tables[t];
        for (uint32_t i = 0; i < spw_proof_n_ood(pt); i++) pt->ood[i] = r_fe3(&r);
    }
    for (uint32_t i = 0; i < p->n_layers; i++) r_digests(&r, &p->layers[i].root, 1);
    for (size_t i = 0; i < ((size_t)1 << p->params.log_final); i++) p->final_poly[i] = r_fe3(&r);
    p->nonce = r_u64(&r);
    {
        unsigned lb = spw_log2(p->params.blowup);
        unsigned log_n0 = max_lh + lb;
        for (uint32_t j = 0; j < p->params.n_queries && !r.bad; j++) {
            for (uint32_t t = 0; t < p->n_tables; t++) {
                spw_proof_table *pt = &p->tables[t];
                size_t d = pt->log_height + lb;
                r_fes(&r, pt->q_main + (size_t)j * pt->n_main, pt->n_main);
                r_digests(&r, pt->q_main_path + j * d, d);
                if (pt->n_aux) {
                    r_fes(&r, pt->q_aux + (size_t)j * 3 * pt->n_aux, 3 * (size_t)pt->n_aux);
                    r_digests(&r, pt->q_aux_path + j * d, d);
                }
                r_fes(&r, pt->q_comp + (size_t)j * 3 * pt->n_parts, 3 * (size_t)pt->n_parts);
                r_digests(&r, pt->q_comp_path + j * d, d);
            }
            for (uint32_t i = 0; i < p->n_layers; i++) {
                size_t d = log_n0 - i - 1;
                r_fes(&r, p->layers[i].q_vals + 6 * (size_t)j, 6);
                r_digests(&r, p->layers[i].q_path + j * d, d);
            }
        }
    }
    if (r.bad) {
        st = MALFORMED("proof: %s", r.why ? r.why : "undecodable");
        goto fail;
    }
    if (r.left) {
        st = MALFORMED("proof: %zu trailing bytes", r.left);
        goto fail;
    }
    return SPW_OK;
fail:
    spw_proof_clear(p);
    return st;
}

/* ---- AIR digest ---- */

static void h_u32(spw_blake3_hasher *h, uint32_t v)
{
    uint8_t b[4];
    spw_put_u32le(b, v);
    spw_blake3_update(h, b, 4);
}
static void h_u64(spw_blake3_hasher *h, uint64_t v)
{
    uint8_t b[8];
    spw_put_u64le(b, v);
    spw_blake3_update(h, b, 8);
}

void spw_air_digest(uint8_t out[32], const spw_air_def *air)
{
    spw_blake3_hasher h;
    spw_blake3_init(&h);
    spw_blake3_update(&h, "spillway/v1/air", 15);
    h_u32(&h, air->n_tables);
    h_u32(&h, air->n_publics);
    h_u32(&h, air->n_challenges);
    for (uint32_t t = 0; t < air->n_tables; t++) {
        const spw_air_table *tb = &air->tables[t];
        size_t nl = strlen(tb->name);
        h_u32(&h, (uint32_t)nl);
        spw_blake3_update(&h, tb->name, nl);
        h_u32(&h, tb->n_main);
        h_u32(&h, tb->n_aux);
        h_u32(&h, tb->prog_len);
        for (uint32_t i = 0; i < tb->prog_len; i++) {
            const spw_insn *in = &tb->prog[i];
            uint8_t op = in->op;
            spw_blake3_update(&h, &op, 1);
            switch (op) {
            case SPW_OP_ADD: case SPW_OP_SUB: case SPW_OP_MUL:
                h_u32(&h, in->a);
                h_u32(&h, in->b);
                break;
            case SPW_OP_NEG:
                h_u32(&h, in->a);
                break;
            case SPW_OP_LOGUP_SUM:
                break;
            default:
                h_u64(&h, in->k);
                break;
            }
        }
        h_u32(&h, tb->n_constraints);
        for (uint32_t j = 0; j < tb->n_constraints; j++) {
            h_u32(&h, tb->constraints[j].root);
            uint8_t k = tb->constraints[j].kind;
            spw_blake3_update(&h, &k, 1);
        }
        h_u32(&h, tb->n_interactions);
        for (uint32_t j = 0; j < tb->n_interactions; j++) {
            const spw_interaction *it = &tb->interactions[j];
            h_u32(&h, it->bus_id);
            h_u32(&h, it->is_sender ? 1 : 0);
            h_u32(&h, it->mult);
            h_u32(&h, it->n_values);
            for (uint32_t v = 0; v < it->n_values; v++) h_u32(&h, it->values[v]);
        }
    }
    spw_blake3_final(&h, out);
}

/* ---- public inspection ---- */

spw_status spw_proof_inspect(spw_ctx *ctx, spw_proof_info **out, const uint8_t *proof,
                             size_t proof_len)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    SPW_CHECK_NULL(ctx, proof);
    spw_proof p;
    SPW_TRY(spw_proof_decode(ctx, &p, proof, proof_len));
    spw_proof_info *in = calloc(1, sizeof *in);
    if (in) {
        in->log_heights = spw_calloc_array(p.n_tables, sizeof(unsigned));
        in->publics = spw_calloc_array(p.n_publics + 1, 8);
        in->tag = calloc(p.tag_len + 1, 1);
    }
    if (!in || !in->log_heights || !in->publics || !in->tag) {
        spw_proof_info_free(in);
        spw_proof_clear(&p);
        return spw_fail(ctx, SPW_ERR_NOMEM, "proof: out of memory");
    }
    in->version = SPW_PROOF_VERSION;
    in->blowup = p.params.blowup;
    in->n_queries = p.params.n_queries;
    in->grinding_bits = p.params.grinding_bits;
    in->security_bits = spw_stark_conjectured_bits(&p.params);
    in->provable_bits = spw_stark_provable_bits(&p.params);
    in->n_tables = p.n_tables;
    for (uint32_t t = 0; t < p.n_tables; t++) in->log_heights[t] = p.tables[t].log_height;
    in->n_publics = p.n_publics;
    if (p.n_publics) memcpy(in->publics, p.publics, 8 * (size_t)p.n_publics);
    in->tag_len = p.tag_len;
    if (p.tag_len) memcpy(in->tag, p.tag, p.tag_len);
    spw_proof_clear(&p);
    *out = in;
    return SPW_OK;
}

void spw_proof_info_free(spw_proof_info *info)
{
    if (!info) return;
    free(info->log_heights);
    free(info->publics);
    free(info->tag);
    free(info);
}

spw_status spw_security_bits(spw_ctx *ctx, double *conjectured, double *provable, unsigned blowup)
{
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return spw_fail(ctx, SPW_ERR_BLOWUP, "security: blowup %u not in {2,4,8}", blowup);
    spw_stark_params p;
    spw_stark_default_params(&p, blowup, SPW_FRI_LOG_FINAL_MAX);
    if (conjectured) *conjectured = spw_stark_conjectured_bits(&p);
    if (provable) *provable = spw_stark_provable_bits(&p);
    return SPW_OK;
}
