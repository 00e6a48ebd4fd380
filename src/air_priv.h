/*
 * air_priv.h - private to the air layer (builder, parser, checks): the
 * layout of the opaque spw_air handle and small shared helpers.
 */
#ifndef SPW_AIR_PRIV_H
#define SPW_AIR_PRIV_H

#include "air.h"
#include <stdio.h>

/* Per-instruction flags kept beside each table's program. */
#define SPW_AIRF_NEXT 1 /* depends on a next-row value */
#define SPW_AIRF_EXT 2  /* depends on a challenge/aux/LogUp sum (ext3 value) */
#define SPW_AIRF_PUB 4  /* depends on a public input */

typedef struct spw_air_hc {
    uint32_t *slots; /* open addressing, UINT32_MAX = empty */
    uint32_t cap;    /* power of two */
} spw_air_hc;

struct spw_air {
    spw_ctx *ctx;
    spw_air_def def;
    spw_air_hc *hc;        /* per table: hash-consing index of prog */
    uint8_t **flags;       /* per table: SPW_AIRF_* per instruction */
    uint32_t *flags_cap;
    spw_status err;        /* first builder error (sticky) */
    char errmsg[SPW_ERRMSG_MAX];
};

int spw_air_valid_name(const char *s);
void spw_air_def_clear(spw_air_def *d);
/* Names a main column (the parser records the .air names). */
spw_status spw_air_set_col_name(spw_air *air, uint32_t table, uint32_t col, const char *name);

/* Parses .air text held in memory; `path` names it in messages. */
spw_status spw_air_parse_text(spw_ctx *ctx, spw_air **out, const char *path, const char *text,
                              size_t len);

#endif
