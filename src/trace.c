/*
 * trace.c - spw_trace: per-table trace data from borrowed memory, a
 * producer callback or a trace file (DIR/<table>.trace), read in column
 * chunks with canonical-form checks; writing and opening trace files
 * (format in docs/AIR.md: magic, version, n_cols, rows, XXH3-64 of the
 * payload, then column-major little-endian u64).
 */
#include "trace.h"
#include "air_priv.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define IO_CHUNK_VALUES ((size_t)1 << 16)
/* Page-cache hygiene for large traces (the brief: dirty pages count against
 * a cgroup's memory): writes are flushed and dropped from the cache every
 * FLUSH_BYTES; after the checksum pass of a file larger than FLUSH_BYTES,
 * its clean pages are dropped too (reads then come from the disk, which is
 * what an out-of-core run wants). */
#define FLUSH_BYTES ((uint64_t)64 << 20)

static void drop_written(int fd, uint64_t off, uint64_t len)
{
    sync_file_range(fd, (off_t)off, (off_t)len,
                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

static const spw_air_def *tdef(const spw_trace *tr) { return spw_air_get_def(tr->air); }

uint64_t spw_trace_height(const spw_trace *tr, uint32_t table)
{
    if (table >= tr->n_tables) return 0;
    if (tr->tables[table].height) return tr->tables[table].height;
    return spw_air_table_height(&tdef(tr)->tables[table]);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* In-place conversion between little-endian bytes and host u64. */
static void le_to_host(uint64_t *v, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)v;
    (void)n;
#else
    for (size_t i = 0; i < n; i++) v[i] = get_u64((const uint8_t *)&v[i]);
#endif
}
static void host_to_le(uint64_t *v, size_t n) { le_to_host(v, n); }

spw_status spw_trace_create(spw_ctx *ctx, spw_trace **out, const spw_air *air)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    SPW_CHECK_NULL(ctx, air);
    const spw_air_def *d = spw_air_get_def(air);
    if (d->n_tables == 0) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spw_trace_create: the AIR has no tables");
    spw_trace *tr = calloc(1, sizeof *tr);
    if (!tr) return spw_fail(ctx, SPW_ERR_NOMEM, "spw_trace_create: out of memory");
    tr->tables = calloc(d->n_tables, sizeof *tr->tables);
    if (!tr->tables) {
        free(tr);
        return spw_fail(ctx, SPW_ERR_NOMEM, "spw_trace_create: out of memory");
    }
    for (uint32_t i = 0; i < d->n_tables; i++) tr->tables[i].fd = -1;
    tr->ctx = ctx;
    tr->air = air;
    tr->n_tables = d->n_tables;
    *out = tr;
    return SPW_OK;
}

static void table_reset(spw_trace_table *t)
{
    if (t->fd >= 0) close(t->fd);
    free(t->path);
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

void spw_trace_free(spw_trace *tr)
{
    if (!tr) return;
    for (uint32_t i = 0; i < tr->n_tables; i++) table_reset(&tr->tables[i]);
    free(tr->tables);
    free(tr);
}

/* Binds the table's height: sets the AIR's height when it is unset (the
 * spw_air handle is the caller's, writable memory; heights do not change the
 * compiled program), otherwise checks that it matches. */
static spw_status bind_height(spw_trace *tr, uint32_t table, uint64_t rows, const char *what)
{
    spw_air_table *at = &((spw_air_def *)tdef(tr))->tables[table];
    if (!spw_is_pow2(rows) || rows < 2 || rows > ((uint64_t)1 << 32))
        return spw_fail(tr->ctx, SPW_ERR_NOT_POW2,
                        "%s: table %s: %llu rows is not a power of two in 2 .. 2^32", what, at->name,
                        (unsigned long long)rows);
    uint64_t h = spw_air_table_height(at);
    if (h == 0) {
        at->log_height = spw_log2(rows);
    } else if (h != rows) {
        return spw_fail(tr->ctx, SPW_ERR_TRACE, "%s: table %s has %llu rows, the AIR says %llu",
                        what, at->name, (unsigned long long)rows, (unsigned long long)h);
    }
    tr->tables[table].height = rows;
    return SPW_OK;
}

spw_status spw_trace_set_table(spw_trace *tr, uint32_t table, const uint64_t *cols,
                               size_t n_values)
{
    if (!tr) return SPW_ERR_NULL;
    SPW_CHECK_NULL(tr->ctx, cols);
    if (table >= tr->n_tables)
        return spw_fail(tr->ctx, SPW_ERR_INVALID_ARG, "spw_trace_set_table: table %u out of range (%u tables)",
                        table, tr->n_tables);
    const spw_air_table *at = &tdef(tr)->tables[table];
    if (n_values % at->n_main)
        return spw_fail(tr->ctx, SPW_ERR_TRACE,
                        "spw_trace_set_table: table %s: %zu values is not a multiple of %u columns",
                        at->name, n_values, at->n_main);
    SPW_TRY(bind_height(tr, table, n_values / at->n_main, "spw_trace_set_table"));
    spw_trace_table *t = &tr->tables[table];
    uint64_t h = t->height;
    table_reset(t);
    t->height = h;
    t->src = SPW_TRACE_SRC_MEM;
    t->cols = cols;
    return SPW_OK;
}

spw_status spw_trace_set_producer(spw_trace *tr, uint32_t table, spw_trace_fill_fn fn, void *user)
{
    if (!tr) return SPW_ERR_NULL;
    SPW_CHECK_NULL(tr->ctx, fn);
    if (table >= tr->n_tables)
        return spw_fail(tr->ctx, SPW_ERR_INVALID_ARG,
                        "spw_trace_set_producer: table %u out of range (%u tables)", table, tr->n_tables);
    spw_trace_table *t = &tr->tables[table];
    table_reset(t);
    t->src = SPW_TRACE_SRC_PRODUCER;
    t->fn = fn;
    t->user = user;
    return SPW_OK;
}

static spw_status check_canonical(const spw_trace *tr, const uint64_t *v, uint32_t table, uint32_t col,
                                  uint64_t row0, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (v[i] >= GL_P) {
            const spw_air_table *at = &tdef(tr)->tables[table];
            const spw_trace_table *t = &tr->tables[table];
            const char *cn = at->main_names[col];
            return spw_fail(tr->ctx, SPW_ERR_NONCANONICAL,
                            "%s%stable %s column %u%s%s%s row %llu: value 0x%016llx is not canonical (>= p)",
                            t->path ? t->path : "", t->path ? ": " : "", at->name, col, cn ? " (" : "",
                            cn ? cn : "", cn ? ")" : "", (unsigned long long)(row0 + i),
                            (unsigned long long)v[i]);
        }
    }
    return SPW_OK;
}

static spw_status pread_all(const spw_ctx *ctx, int fd, void *buf, size_t len, uint64_t off,
                            const char *path)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return spw_fail(ctx, SPW_ERR_IO, "%s: read at offset %llu failed: %s", path,
                            (unsigned long long)off, strerror(errno));
        }
        if (r == 0)
            return spw_fail(ctx, SPW_ERR_TRACE, "%s: unexpected end of file at offset %llu", path,
                            (unsigned long long)off);
        p += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return SPW_OK;
}

static spw_status write_all(const spw_ctx *ctx, int fd, const void *buf, size_t len, const char *path)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR) continue;
            return spw_fail(ctx, errno == ENOSPC ? SPW_ERR_NOSPACE : SPW_ERR_IO, "%s: write failed: %s",
                            path, strerror(errno));
        }
        p += r;
        len -= (size_t)r;
    }
    return SPW_OK;
}

spw_status spw_trace_read(const spw_trace *tr, uint64_t *out, uint32_t table, uint32_t col,
                          uint64_t row0, uint64_t nrows)
{
    if (!tr) return SPW_ERR_NULL;
    SPW_CHECK_NULL(tr->ctx, out);
    if (table >= tr->n_tables)
        return spw_fail(tr->ctx, SPW_ERR_INVALID_ARG, "spw_trace_read: table %u out of range (%u tables)",
                        table, tr->n_tables);
    const spw_air_table *at = &tdef(tr)->tables[table];
    const spw_trace_table *t = &tr->tables[table];
    if (col >= at->n_main)
        return spw_fail(tr->ctx, SPW_ERR_INVALID_ARG, "spw_trace_read: table %s: column %u out of range (%u columns)",
                        at->name, col, at->n_main);
    uint64_t h = spw_trace_height(tr, table);
    if (h == 0)
        return spw_fail(tr->ctx, SPW_ERR_TRACE, "spw_trace_read: table %s: height unknown", at->name);
    if (row0 > h || nrows > h - row0)
        return spw_fail(tr->ctx, SPW_ERR_INVALID_ARG,
                        "spw_trace_read: table %s column %u: rows %llu..+%llu out of range (%llu rows)",
                        at->name, col, (unsigned long long)row0, (unsigned long long)nrows,
                        (unsigned long long)h);
    switch (t->src) {
    case SPW_TRACE_SRC_MEM:
        memcpy(out, t->cols + (size_t)col * h + row0, nrows * sizeof *out);
        break;
    case SPW_TRACE_SRC_PRODUCER: {
        spw_status s = t->fn(t->user, out, table, col, row0, nrows);
        if (s != SPW_OK)
            return spw_fail(tr->ctx, s, "table %s column %u rows %llu..%llu: the producer failed: %s",
                            at->name, col, (unsigned long long)row0,
                            (unsigned long long)(row0 + nrows - 1), spw_strerror(s));
        break;
    }
    case SPW_TRACE_SRC_FILE:
        SPW_TRY(pread_all(tr->ctx, t->fd, out, nrows * 8,
                          SPW_TRACE_HEADER_BYTES + ((uint64_t)col * h + row0) * 8, t->path));
        le_to_host(out, nrows);
        break;
    default:
        return spw_fail(tr->ctx, SPW_ERR_TRACE, "table %s has no trace data (no set_table/producer/file)",
                        at->name);
    }
    return check_canonical(tr, out, table, col, row0, nrows);
}

static char *table_path(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 16;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.trace%s", dir, name, suffix);
    return p;
}

static spw_status write_table(spw_ctx *ctx, const spw_trace *tr, uint32_t ti, const char *dir,
                              uint64_t *buf, XXH3_state_t *xs)
{
    const spw_air_table *at = &tdef(tr)->tables[ti];
    uint64_t h = spw_trace_height(tr, ti);
    if (h == 0) return spw_fail(ctx, SPW_ERR_TRACE, "spw_trace_write_dir: table %s: height unknown", at->name);
    char *tmp = table_path(dir, at->name, ".tmp"), *fin = table_path(dir, at->name, "");
    spw_status s = SPW_OK;
    int fd = -1;
    if (!tmp || !fin) {
        s = spw_fail(ctx, SPW_ERR_NOMEM, "out of memory");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        s = spw_fail(ctx, SPW_ERR_IO, "%s: cannot create (table %s): %s", tmp, at->name, strerror(errno));
        goto out;
    }
    uint8_t hdr[SPW_TRACE_HEADER_BYTES];
    memcpy(hdr, SPW_TRACE_MAGIC, 8);
    put_u32(hdr + 8, SPW_TRACE_VERSION);
    put_u32(hdr + 12, at->n_main);
    put_u64(hdr + 16, h);
    put_u64(hdr + 24, 0);
    if ((s = write_all(ctx, fd, hdr, sizeof hdr, tmp))) goto out;
    XXH3_64bits_reset(xs);
    uint64_t written = SPW_TRACE_HEADER_BYTES, flushed = 0;
    for (uint32_t c = 0; c < at->n_main; c++) {
        for (uint64_t r = 0; r < h; r += IO_CHUNK_VALUES) {
            uint64_t n = h - r < IO_CHUNK_VALUES ? h - r : IO_CHUNK_VALUES;
            if ((s = spw_trace_read(tr, buf, ti, c, r, n))) goto out;
            host_to_le(buf, n);
            XXH3_64bits_update(xs, buf, n * 8);
            if ((s = write_all(ctx, fd, buf, n * 8, tmp))) goto out;
            written += n * 8;
            if (written - flushed >= FLUSH_BYTES) {
                drop_written(fd, flushed, written - flushed);
                flushed = written;
            }
        }
    }
    put_u64(hdr + 24, XXH3_64bits_digest(xs));
    if (pwrite(fd, hdr + 24, 8, 24) != 8) {
        s = spw_fail(ctx, SPW_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd)) {
        fd = -1;
        s = spw_fail(ctx, SPW_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, fin)) s = spw_fail(ctx, SPW_ERR_IO, "%s: rename failed: %s", fin, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (s != SPW_OK && tmp) unlink(tmp);
    free(tmp);
    free(fin);
    return s;
}

spw_status spw_trace_write_dir(spw_ctx *ctx, const spw_trace *tr, const char *dir)
{
    SPW_CHECK_NULL(ctx, tr);
    SPW_CHECK_NULL(ctx, dir);
    uint64_t *buf = malloc(IO_CHUNK_VALUES * 8);
    XXH3_state_t *xs = XXH3_createState();
    spw_status s = SPW_OK;
    if (!buf || !xs) s = spw_fail(ctx, SPW_ERR_NOMEM, "spw_trace_write_dir: out of memory");
    for (uint32_t i = 0; s == SPW_OK && i < tr->n_tables; i++) s = write_table(ctx, tr, i, dir, buf, xs);
    free(buf);
    XXH3_freeState(xs);
    return s;
}

/* Opens DIR/<table>.trace, validates header and size, and verifies the
 * checksum and canonical form in one streaming pass. */
static spw_status open_table(spw_trace *tr, uint32_t ti, const char *dir, uint64_t *buf,
                             XXH3_state_t *xs)
{
    spw_ctx *ctx = tr->ctx;
    const spw_air_table *at = &tdef(tr)->tables[ti];
    spw_trace_table *t = &tr->tables[ti];
    t->path = table_path(dir, at->name, "");
    if (!t->path) return spw_fail(ctx, SPW_ERR_NOMEM, "out of memory");
    const char *path = t->path;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return spw_fail(ctx, SPW_ERR_IO, "%s: cannot open trace of table %s: %s", path, at->name,
                        strerror(errno));
    t->src = SPW_TRACE_SRC_FILE;
    struct stat st;
    if (fstat(t->fd, &st))
        return spw_fail(ctx, SPW_ERR_IO, "%s: stat failed: %s", path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    uint8_t hdr[SPW_TRACE_HEADER_BYTES];
    if (size < sizeof hdr)
        return spw_fail(ctx, SPW_ERR_TRACE, "%s: table %s: truncated file: %llu bytes, shorter than the %u-byte header",
                        path, at->name, (unsigned long long)size, SPW_TRACE_HEADER_BYTES);
    SPW_TRY(pread_all(ctx, t->fd, hdr, sizeof hdr, 0, path));
    if (memcmp(hdr, SPW_TRACE_MAGIC, 8))
        return spw_fail(ctx, SPW_ERR_TRACE, "%s: table %s: bad magic (not a spillway trace file)", path,
                        at->name);
    uint32_t ver = get_u32(hdr + 8), ncols = get_u32(hdr + 12);
    uint64_t rows = get_u64(hdr + 16), sum = get_u64(hdr + 24);
    if (ver != SPW_TRACE_VERSION)
        return spw_fail(ctx, SPW_ERR_TRACE, "%s: table %s: unsupported trace version %u (expected %u)",
                        path, at->name, ver, SPW_TRACE_VERSION);
    if (ncols != at->n_main)
        return spw_fail(ctx, SPW_ERR_TRACE, "%s: table %s: file has %u columns, the AIR has %u", path,
                        at->name, ncols, at->n_main);
    if (rows > ((uint64_t)1 << 32) || !spw_is_pow2(rows))
        return spw_fail(ctx, SPW_ERR_TRACE, "%s: table %s: %llu rows is not a power of two <= 2^32", path,
                        at->name, (unsigned long long)rows);
    unsigned __int128 want = (unsigned __int128)ncols * rows * 8 + SPW_TRACE_HEADER_BYTES;
    if ((unsigned __int128)size != want) {
        uint64_t have_vals = (size - SPW_TRACE_HEADER_BYTES) / 8;
        return spw_fail(ctx, SPW_ERR_TRACE,
                        "%s: table %s: %s file: %llu bytes, expected %llu (data ends in column %llu row %llu)",
                        path, at->name, (unsigned __int128)size < want ? "truncated" : "oversized",
                        (unsigned long long)size, (unsigned long long)want,
                        (unsigned long long)(rows ? have_vals / rows : 0),
                        (unsigned long long)(rows ? have_vals % rows : 0));
    }
    SPW_TRY(bind_height(tr, ti, rows, path));
    XXH3_64bits_reset(xs);
    posix_fadvise(t->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int bad = 0;
    uint64_t bad_col = 0, bad_row = 0, bad_val = 0;
    uint64_t total = (uint64_t)ncols * rows;
    for (uint64_t i = 0; i < total; i += IO_CHUNK_VALUES) {
        uint64_t n = total - i < IO_CHUNK_VALUES ? total - i : IO_CHUNK_VALUES;
        SPW_TRY(pread_all(ctx, t->fd, buf, n * 8, SPW_TRACE_HEADER_BYTES + i * 8, path));
        XXH3_64bits_update(xs, buf, n * 8);
        if (!bad) {
            le_to_host(buf, n);
            for (uint64_t j = 0; j < n; j++)
                if (buf[j] >= GL_P) {
                    bad = 1;
                    bad_col = (i + j) / rows;
                    bad_row = (i + j) % rows;
                    bad_val = buf[j];
                    break;
                }
        }
    }
    uint64_t got = XXH3_64bits_digest(xs);
    posix_fadvise(t->fd, 0, 0, POSIX_FADV_NORMAL);
    if (size > FLUSH_BYTES) posix_fadvise(t->fd, 0, 0, POSIX_FADV_DONTNEED);
    if (got != sum)
        return spw_fail(ctx, SPW_ERR_CHECKSUM,
                        "%s: table %s: checksum mismatch (header %016llx, payload %016llx): the file is corrupt",
                        path, at->name, (unsigned long long)sum, (unsigned long long)got);
    if (bad) {
        const char *cn = at->main_names[bad_col];
        return spw_fail(ctx, SPW_ERR_NONCANONICAL,
                        "%s: table %s column %llu%s%s%s row %llu: value 0x%016llx is not canonical (>= p)", path,
                        at->name, (unsigned long long)bad_col, cn ? " (" : "", cn ? cn : "", cn ? ")" : "",
                        (unsigned long long)bad_row, (unsigned long long)bad_val);
    }
    return SPW_OK;
}

spw_status spw_trace_open_dir(spw_ctx *ctx, spw_trace **out, const spw_air *air, const char *dir)
{
    SPW_CHECK_NULL(ctx, out);
    *out = NULL;
    SPW_CHECK_NULL(ctx, air);
    SPW_CHECK_NULL(ctx, dir);
    spw_trace *tr;
    SPW_TRY(spw_trace_create(ctx, &tr, air));
    uint64_t *buf = malloc(IO_CHUNK_VALUES * 8);
    XXH3_state_t *xs = XXH3_createState();
    spw_status s = SPW_OK;
    if (!buf || !xs) s = spw_fail(ctx, SPW_ERR_NOMEM, "spw_trace_open_dir: out of memory");
    for (uint32_t i = 0; s == SPW_OK && i < tr->n_tables; i++) s = open_table(tr, i, dir, buf, xs);
    free(buf);
    XXH3_freeState(xs);
    if (s != SPW_OK) {
        spw_trace_free(tr);
        return s;
    }
    *out = tr;
    return SPW_OK;
}

/* ---- parallel column reads (the provers' trace upload / column groups) ---- */

typedef struct cols_job {
    const spw_trace *trace;
    uint64_t *buf;
    uint32_t table;
    size_t c0, n, chunk;
    spw_status st;
    size_t bad;
} cols_job;

/* Items b..e of (column, row chunk) pairs, chunks of a column consecutive:
 * a group of fewer columns than threads still keeps every thread busy. */
static void read_cols_range(void *arg, size_t b, size_t e)
{
    cols_job *j = arg;
    size_t per = (j->n + j->chunk - 1) / j->chunk;
    for (size_t i = b; i < e; i++) {
        size_t c = i / per, r0 = (i % per) * j->chunk;
        size_t m = j->n - r0 < j->chunk ? j->n - r0 : j->chunk;
        spw_status st = spw_trace_read(j->trace, j->buf + c * j->n + r0, j->table,
                                       (uint32_t)(j->c0 + c), r0, m);
        if (st != SPW_OK) {
            __atomic_store_n(&j->bad, j->c0 + c, __ATOMIC_RELAXED);
            __atomic_store_n(&j->st, st, __ATOMIC_RELAXED);
            return;
        }
    }
}

spw_status spw_trace_read_cols(const spw_ctx *ctx, const spw_trace *trace, uint64_t *buf,
                               uint32_t table, size_t c0, size_t nc, size_t n, size_t chunk)
{
    cols_job j = {trace, buf, table, c0, n, chunk && chunk < n ? chunk : n, SPW_OK, 0};
    spw_parallel_for(ctx, nc * ((n + j.chunk - 1) / j.chunk), 1, read_cols_range, &j);
    if (j.st == SPW_OK) return SPW_OK;
    spw_status st = spw_trace_read(trace, buf + (j.bad - c0) * n, table, (uint32_t)j.bad, 0, n);
    return st != SPW_OK ? st
                        : spw_fail(trace->ctx, j.st, "trace: table %u column %zu: read failed",
                                   table, j.bad);
}
