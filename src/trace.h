/*
 * trace.h - the layout of a spw_trace (internal to the air layer and the
 * prover): per table, borrowed column-major data, a producer, or an open
 * trace file served with pread.
 */
#ifndef SPW_TRACE_H
#define SPW_TRACE_H

#include "air.h"

#define SPW_TRACE_MAGIC "SPWTRACE"
#define SPW_TRACE_VERSION 1u
#define SPW_TRACE_HEADER_BYTES 32u

typedef enum spw_trace_src {
    SPW_TRACE_SRC_NONE = 0,
    SPW_TRACE_SRC_MEM = 1,
    SPW_TRACE_SRC_PRODUCER = 2,
    SPW_TRACE_SRC_FILE = 3,
} spw_trace_src;

typedef struct spw_trace_table {
    spw_trace_src src;
    uint64_t height;          /* rows */
    const uint64_t *cols;     /* SRC_MEM: column c at cols + c*height */
    spw_trace_fill_fn fn;     /* SRC_PRODUCER */
    void *user;
    int fd;                   /* SRC_FILE */
    char *path;
} spw_trace_table;

struct spw_trace {
    spw_ctx *ctx;
    const spw_air *air;
    uint32_t n_tables;
    spw_trace_table *tables;
};

/* Rows of table `table` (from the AIR's height; the trace is bound to it). */
uint64_t spw_trace_height(const spw_trace *trace, uint32_t table);

/* Rows [0, n) of columns [c0, c0+nc) of table `table` into buf (column c at
 * buf + (c-c0)*n), in reads of `chunk` rows (0 = n), one column per worker
 * of ctx's threads. A failing column is read again on this thread so that
 * ctx (the trace's context) holds its message. */
spw_status spw_trace_read_cols(const spw_ctx *ctx, const spw_trace *trace, uint64_t *buf,
                               uint32_t table, size_t c0, size_t nc, size_t n, size_t chunk);

#endif
