/*
 * io.c - the NVMe tier's I/O engine. One unlinked spill file per store,
 * opened O_DIRECT with the alignment statx reports (4 KiB otherwise), its
 * space reserved with fallocate. Transfers are split into request_size
 * pieces with up to queue_depth in flight, through io_uring (registered
 * file and, when memlock allows, registered buffers) or, when io_uring is
 * unavailable or SPW_SPILL_ENGINE=threads, a pread/pwrite thread pool that
 * moves the same bytes. Short transfers continue from an aligned offset;
 * EAGAIN/EINTR are retried; -errno never leaves this file (converted to
 * spw_status with a message naming the directory). Fault injection hooks
 * sit at the one place every operation passes (SPW_FAULT_INJECTION).
 */
#include "spill_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TMPFS_MAGIC_ 0x01021994
#define REG_PIECE (1ull << 30) /* io_uring caps one registered buffer at 1 GiB */
#define MAX_REG 64

typedef struct cursor {
    const spw_io_seg *segs;
    size_t n, si;
    uint64_t so;
} cursor;

typedef struct piece {
    uint8_t *buf;
    uint64_t off, len;
} piece;

typedef struct slot {
    uint8_t *buf;
    uint64_t off, len, done;
    int busy, fake, fake_res, corrupt_read, restore;
    unsigned noprog;
    uint64_t restore_pos;
} slot;

typedef struct job {
    int write;
    cursor cur;
    int err;
    uint64_t err_off;
    unsigned active;
} job;

struct spw_io {
    const spw_ctx *ctx;
    char dir[PATH_MAX];
    int fd;
    int direct, tmpfs;
    uint32_t align, mem_align;
    unsigned qd;
    uint32_t req;
    int engine, engine_fallback;
    pthread_mutex_t lock; /* one transfer at a time */
    /* io_uring */
    struct io_uring ring;
    int ring_ok, reg_file, reg_bufs;
    uint8_t *reg_base;
    uint64_t reg_len;
    slot *slots;
    /* thread pool */
    pthread_t *thr;
    unsigned nthr;
    pthread_mutex_t plock;
    pthread_cond_t pcv, pdone;
    job *cur_job;
    int stop;
    /* faults and stats */
    uint64_t fault_n;
    int fault_kind;
    _Atomic uint64_t ops, bytes_read, bytes_written, retries, short_resubmits;
};

const char *spw_io_engine_name(int engine)
{
    return engine == SPW_IO_URING ? "io_uring" : engine == SPW_IO_THREADS ? "threads" : "auto";
}

static uint64_t align_down(uint64_t x, uint64_t a) { return x / a * a; }

static void cursor_norm(cursor *c)
{
    while (c->si < c->n && c->so >= c->segs[c->si].len) {
        c->si++;
        c->so = 0;
    }
}

static int next_piece(spw_io *io, cursor *c, piece *p)
{
    cursor_norm(c);
    if (c->si >= c->n) return 0;
    const spw_io_seg *s = &c->segs[c->si];
    uint64_t len = s->len - c->so;
    if (len > io->req) len = io->req;
    p->buf = (uint8_t *)s->buf + c->so;
    p->off = s->off + c->so;
    p->len = len;
    c->so += len;
    return 1;
}

static int cursor_empty(cursor *c)
{
    cursor_norm(c);
    return c->si >= c->n;
}

/* Every I/O operation (fallocate, each request submission and resubmission)
 * passes here once; the fault_n-th gets the configured fault. */
static int fault_for_op(spw_io *io)
{
    uint64_t n = atomic_fetch_add(&io->ops, 1) + 1;
#ifdef SPW_FAULT_INJECTION
    if (io->fault_n && n == io->fault_n) return io->fault_kind;
#else
    (void)n;
#endif
    return SPW_FAULT_NONE;
}

static spw_status io_err(spw_io *io, int err, int write, uint64_t off)
{
    if (err == ENOSPC)
        return spw_fail(io->ctx, SPW_ERR_NOSPACE,
                        "spill directory '%s': no space left on device writing at offset %llu",
                        io->dir, (unsigned long long)off);
    return spw_fail(io->ctx, SPW_ERR_IO, "spill directory '%s': %s at offset %llu failed: %s",
                    io->dir, write ? "write" : "read", (unsigned long long)off, strerror(err));
}

/* ---- thread-pool engine --------------------------------------------------- */

/* One piece with pread/pwrite; returns 0 or an errno. */
static int pool_piece(spw_io *io, int write, const piece *p, uint64_t *err_off)
{
    uint64_t done = 0;
    unsigned noprog = 0;
    while (done < p->len) {
        int kind = fault_for_op(io);
        uint64_t want = p->len - done;
        uint8_t *b = p->buf + done;
        ssize_t r;
        *err_off = p->off + done;
        if (kind == SPW_FAULT_EIO) return EIO;
        if (kind == SPW_FAULT_ENOSPC) return ENOSPC;
        if (kind == SPW_FAULT_EAGAIN) {
            atomic_fetch_add(&io->retries, 1);
            continue;
        }
        if (kind == SPW_FAULT_SHORT && want <= io->align) {
            r = 0; /* nothing transferred */
        } else {
            if (kind == SPW_FAULT_SHORT) want = align_down(want / 2, io->align);
            if (write) {
                if (kind == SPW_FAULT_CORRUPT) b[0] ^= 0x5a;
                r = pwrite(io->fd, b, want, (off_t)(p->off + done));
                int e = errno;
                if (kind == SPW_FAULT_CORRUPT) b[0] ^= 0x5a;
                errno = e;
            } else {
                r = pread(io->fd, b, want, (off_t)(p->off + done));
                if (r > 0 && kind == SPW_FAULT_CORRUPT) b[0] ^= 0x5a;
            }
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                atomic_fetch_add(&io->retries, 1);
                continue;
            }
            return errno;
        }
        if (r == 0) {
            if (++noprog > 8) return EIO;
            continue;
        }
        noprog = 0;
        atomic_fetch_add(write ? &io->bytes_written : &io->bytes_read, (uint64_t)r);
        done += (uint64_t)r;
        if (done < p->len) {
            atomic_fetch_add(&io->short_resubmits, 1);
            if (io->direct) done = align_down(done, io->align);
        }
    }
    return 0;
}

static void *pool_main(void *arg)
{
    spw_io *io = arg;
    pthread_mutex_lock(&io->plock);
    for (;;) {
        piece p;
        int have = 0;
        while (!io->stop) {
            if (io->cur_job && !io->cur_job->err && next_piece(io, &io->cur_job->cur, &p)) {
                have = 1;
                break;
            }
            pthread_cond_wait(&io->pcv, &io->plock);
        }
        if (!have) break;
        job *j = io->cur_job;
        j->active++;
        pthread_mutex_unlock(&io->plock);
        uint64_t eoff = 0;
        int e = pool_piece(io, j->write, &p, &eoff);
        pthread_mutex_lock(&io->plock);
        j->active--;
        if (e && !j->err) {
            j->err = e;
            j->err_off = eoff;
        }
        if (j->active == 0 && (j->err || cursor_empty(&j->cur))) pthread_cond_broadcast(&io->pdone);
    }
    pthread_mutex_unlock(&io->plock);
    return NULL;
}

static spw_status pool_rw(spw_io *io, int write, const spw_io_seg *segs, size_t n)
{
    job j = {.write = write, .cur = {segs, n, 0, 0}};
    pthread_mutex_lock(&io->plock);
    io->cur_job = &j;
    pthread_cond_broadcast(&io->pcv);
    while (!(j.active == 0 && (j.err || cursor_empty(&j.cur)))) pthread_cond_wait(&io->pdone, &io->plock);
    io->cur_job = NULL;
    pthread_mutex_unlock(&io->plock);
    return j.err ? io_err(io, j.err, write, j.err_off) : SPW_OK;
}

static spw_status pool_start(spw_io *io)
{
    io->nthr = io->qd;
    io->thr = calloc(io->nthr, sizeof *io->thr);
    if (!io->thr) return SPW_ERR_NOMEM;
    for (unsigned i = 0; i < io->nthr; i++) {
        if (pthread_create(&io->thr[i], NULL, pool_main, io)) {
            io->nthr = i;
            return spw_fail(io->ctx, SPW_ERR_NOMEM, "spill I/O: cannot start thread %u", i);
        }
    }
    return SPW_OK;
}

/* ---- io_uring engine ------------------------------------------------------ */

static struct io_uring_sqe *get_sqe(spw_io *io)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
    if (!sqe) {
        io_uring_submit(&io->ring);
        sqe = io_uring_get_sqe(&io->ring);
    }
    return sqe;
}

static void uring_submit_slot(spw_io *io, unsigned idx, int write)
{
    slot *s = &io->slots[idx];
    struct io_uring_sqe *sqe = get_sqe(io); /* ring has qd entries, at most qd slots */
    int kind = fault_for_op(io);
    uint64_t want = s->len - s->done;
    uint8_t *b = s->buf + s->done;
    s->fake = 0;
    s->corrupt_read = 0;
    s->restore = 0;
    if (kind == SPW_FAULT_EIO || kind == SPW_FAULT_ENOSPC || kind == SPW_FAULT_EAGAIN ||
        (kind == SPW_FAULT_SHORT && want <= io->align)) {
        io_uring_prep_nop(sqe);
        s->fake = 1;
        s->fake_res = kind == SPW_FAULT_EIO ? -EIO : kind == SPW_FAULT_ENOSPC ? -ENOSPC
                      : kind == SPW_FAULT_EAGAIN ? -EAGAIN : 0;
        io_uring_sqe_set_data64(sqe, idx);
        return;
    }
    if (kind == SPW_FAULT_SHORT) want = align_down(want / 2, io->align);
    if (kind == SPW_FAULT_CORRUPT) {
        if (write) {
            b[0] ^= 0x5a;
            s->restore = 1;
            s->restore_pos = s->done;
        } else {
            s->corrupt_read = 1;
        }
    }
    int fd = io->reg_file ? 0 : io->fd;
    int fixed = -1;
    if (io->reg_bufs && b >= io->reg_base && b + want <= io->reg_base + io->reg_len) {
        uint64_t rel = (uint64_t)(b - io->reg_base);
        if (rel / REG_PIECE == (rel + want - 1) / REG_PIECE) fixed = (int)(rel / REG_PIECE);
    }
    if (fixed >= 0) {
        if (write) io_uring_prep_write_fixed(sqe, fd, b, (unsigned)want, s->off + s->done, fixed);
        else io_uring_prep_read_fixed(sqe, fd, b, (unsigned)want, s->off + s->done, fixed);
    } else {
        if (write) io_uring_prep_write(sqe, fd, b, (unsigned)want, s->off + s->done);
        else io_uring_prep_read(sqe, fd, b, (unsigned)want, s->off + s->done);
    }
    if (io->reg_file) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, idx);
}

static spw_status uring_rw(spw_io *io, int write, const spw_io_seg *segs, size_t n)
{
    cursor cur = {segs, n, 0, 0};
    int err = 0;
    uint64_t err_off = 0;
    unsigned inflight = 0;
    for (;;) {
        while (!err && inflight < io->qd) {
            unsigned idx = 0;
            while (io->slots[idx].busy) idx++;
            piece p;
            if (!next_piece(io, &cur, &p)) break;
            io->slots[idx] = (slot){.buf = p.buf, .off = p.off, .len = p.len, .busy = 1};
            uring_submit_slot(io, idx, write);
            inflight++;
        }
        if (!inflight) break;
        int rc = io_uring_submit_and_wait(&io->ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            /* The ring itself failed: wait for what is in flight, then fail. */
            if (!err) {
                err = -rc;
                err_off = 0;
            }
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        unsigned resub[64];
        unsigned nres = 0;
        io_uring_for_each_cqe(&io->ring, head, cqe) {
            seen++;
            unsigned idx = (unsigned)io_uring_cqe_get_data64(cqe);
            slot *s = &io->slots[idx];
            int res = s->fake ? s->fake_res : cqe->res;
            if (s->restore) s->buf[s->restore_pos] ^= 0x5a;
            if (s->corrupt_read && res > 0) s->buf[s->done] ^= 0x5a;
            int again = 0;
            if (res == -EAGAIN || res == -EINTR) {
                atomic_fetch_add(&io->retries, 1);
                again = 1;
            } else if (res < 0) {
                if (!err) {
                    err = -res;
                    err_off = s->off + s->done;
                }
            } else if (res == 0) {
                if (++s->noprog > 8) {
                    if (!err) {
                        err = EIO;
                        err_off = s->off + s->done;
                    }
                } else {
                    again = 1;
                }
            } else {
                s->noprog = 0;
                atomic_fetch_add(write ? &io->bytes_written : &io->bytes_read, (uint64_t)res);
                s->done += (uint64_t)res;
                if (s->done < s->len) {
                    atomic_fetch_add(&io->short_resubmits, 1);
                    if (io->direct) s->done = align_down(s->done, io->align);
                    again = 1;
                }
            }
            if (again && !err && nres < 64) {
                resub[nres++] = idx;
            } else {
                if (again && !err) { /* cannot happen: at most qd <= 64 slots */
                    err = EIO;
                    err_off = s->off;
                }
                s->busy = 0;
                inflight--;
            }
        }
        io_uring_cq_advance(&io->ring, seen);
        for (unsigned i = 0; i < nres; i++) uring_submit_slot(io, resub[i], write);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && !seen && !nres) break;
    }
    return err ? io_err(io, err, write, err_off) : SPW_OK;
}

/* ---- open / close --------------------------------------------------------- */

static int open_spill(const char *dir, int direct, int *how)
{
    int fl = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);
    int fd = open(dir, O_TMPFILE | fl, 0600);
    *how = 1;
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT)) return fd;
    /* No O_TMPFILE here: create a unique name and unlink it at once. */
    char path[PATH_MAX];
    for (unsigned i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "%s/.spillway-%ld-%u", dir, (long)getpid(), i);
        fd = open(path, O_CREAT | O_EXCL | fl, 0600);
        if (fd >= 0) {
            unlink(path);
            *how = 2;
            return fd;
        }
        if (errno != EEXIST) return -1;
    }
    return -1;
}

spw_status spw_io_open(const spw_ctx *ctx, spw_io **out, const char *dir, uint64_t reserve,
                       const spw_io_opts *o)
{
    spw_io_opts d = {0};
    if (!o) o = &d;
    *out = NULL;
    if (!dir || !*dir) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "no spill directory given");
    if (strlen(dir) >= PATH_MAX - 32)
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill directory path is too long");
    unsigned qd = o->queue_depth ? o->queue_depth : 8;
    uint64_t req = o->request_size ? o->request_size : 4u << 20;
    if (qd > 64) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill queue depth %u > 64", qd);
    if (req > (1u << 30))
        return spw_fail(ctx, SPW_ERR_INVALID_ARG, "spill request size %llu > 1 GiB",
                        (unsigned long long)req);
    struct stat st;
    if (stat(dir, &st))
        return spw_fail(ctx, SPW_ERR_IO, "spill directory '%s': %s", dir,
                        errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return spw_fail(ctx, SPW_ERR_IO, "spill directory '%s' is not a directory", dir);
    if (access(dir, W_OK | X_OK))
        return spw_fail(ctx, SPW_ERR_IO, "spill directory '%s' is not writable: %s", dir,
                        strerror(errno));

    spw_io *io = calloc(1, sizeof *io);
    if (!io) return SPW_ERR_NOMEM;
    io->ctx = ctx;
    io->fd = -1;
    snprintf(io->dir, sizeof io->dir, "%s", dir);
    io->qd = qd;
    io->fault_n = o->fault_n;
    io->fault_kind = o->fault_kind;
    pthread_mutex_init(&io->lock, NULL);
    pthread_mutex_init(&io->plock, NULL);
    pthread_cond_init(&io->pcv, NULL);
    pthread_cond_init(&io->pdone, NULL);
    spw_status s = SPW_OK;

    int how;
    io->direct = 1;
    io->fd = open_spill(dir, 1, &how);
    if (io->fd < 0 && errno == EINVAL) {
        int fd2 = open_spill(dir, 0, &how);
        if (fd2 >= 0) {
            if (o->require_direct) {
                close(fd2);
                s = spw_fail(ctx, SPW_ERR_UNSUPPORTED,
                             "spill directory '%s': the file system does not support O_DIRECT", dir);
                goto fail;
            }
            io->fd = fd2;
            io->direct = 0;
            spw_log(ctx, SPW_LOG_WARN,
                    "spill directory '%s': no O_DIRECT on this file system; using buffered I/O "
                    "with explicit flushing (sync_file_range + POSIX_FADV_DONTNEED)", dir);
        }
    }
    if (io->fd < 0) {
        s = spw_fail(ctx, SPW_ERR_IO, "spill directory '%s': cannot create a spill file: %s", dir,
                     strerror(errno));
        goto fail;
    }
    struct statfs sfs;
    if (!fstatfs(io->fd, &sfs) && (unsigned long)sfs.f_type == TMPFS_MAGIC_) {
        io->tmpfs = 1;
        spw_log(ctx, SPW_LOG_WARN,
                "spill directory '%s' is on tmpfs: spilled data stays in RAM and does not "
                "relieve the host budget", dir);
    }
    io->align = 4096;
    io->mem_align = 4096;
#ifdef STATX_DIOALIGN
    struct statx sx;
    if (io->direct && !statx(io->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
        (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
        io->align = sx.stx_dio_offset_align;
        io->mem_align = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : 1;
    }
#endif
    if (io->align < 512) io->align = 512;
    if (!spw_is_pow2(io->align) || io->align > (1u << 20)) io->align = 4096;
    req = (req + io->align - 1) / io->align * io->align;
    io->req = (uint32_t)req;

    if (reserve) {
        int kind = fault_for_op(io);
        /* Check free space first: a failing fallocate on ext4 allocates
         * (then frees) blocks until the disk is full. */
        struct statvfs pre;
        int short_space = !fstatvfs(io->fd, &pre) && (uint64_t)pre.f_bavail * pre.f_frsize < reserve;
        int r = short_space ? (errno = ENOSPC, -1)
                : kind == SPW_FAULT_EIO ? (errno = EIO, -1)
                : kind == SPW_FAULT_ENOSPC ? (errno = ENOSPC, -1)
                : fallocate(io->fd, 0, 0, (off_t)reserve);
        if (r && (errno == EOPNOTSUPP || errno == ENOSYS)) {
            struct statvfs vfs;
            if (!fstatvfs(io->fd, &vfs) && (uint64_t)vfs.f_bavail * vfs.f_frsize < reserve)
                errno = ENOSPC;
            else
                r = ftruncate(io->fd, (off_t)reserve);
            if (!r)
                spw_log(ctx, SPW_LOG_WARN,
                        "spill directory '%s': fallocate unsupported; space is not reserved", dir);
        }
        if (r) {
            if (errno == ENOSPC || errno == EFBIG) {
                struct statvfs vfs;
                unsigned long long avail = 0;
                if (!fstatvfs(io->fd, &vfs)) avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
                s = spw_fail(ctx, SPW_ERR_NOSPACE,
                             "spill directory '%s' has no room for the %llu-byte spill reservation "
                             "(%llu bytes available)", dir, (unsigned long long)reserve, avail);
            } else {
                s = spw_fail(ctx, SPW_ERR_IO, "spill directory '%s': reserving %llu bytes failed: %s",
                             dir, (unsigned long long)reserve, strerror(errno));
            }
            goto fail;
        }
    }

    int want = o->engine;
    if (want == SPW_IO_AUTO) {
        const char *e = getenv("SPW_SPILL_ENGINE");
        if (e && !strcmp(e, "threads")) want = SPW_IO_THREADS;
        else if (e && !strcmp(e, "uring")) want = SPW_IO_URING;
    }
    if (want != SPW_IO_THREADS) {
        int r = io_uring_queue_init(qd, &io->ring, 0);
        if (r == 0) {
            io->ring_ok = 1;
            io->engine = SPW_IO_URING;
            io->slots = calloc(qd, sizeof *io->slots);
            if (!io->slots) {
                s = SPW_ERR_NOMEM;
                goto fail;
            }
            if (io_uring_register_files(&io->ring, &io->fd, 1) == 0) io->reg_file = 1;
        } else if (want == SPW_IO_URING) {
            s = spw_fail(ctx, SPW_ERR_UNSUPPORTED, "io_uring is unavailable: %s", strerror(-r));
            goto fail;
        } else {
            io->engine_fallback = 1;
            spw_log(ctx, SPW_LOG_WARN,
                    "io_uring is unavailable (%s): spill I/O uses the pread/pwrite thread pool",
                    strerror(-r));
        }
    }
    if (!io->ring_ok) {
        io->engine = SPW_IO_THREADS;
        if ((s = pool_start(io)) != SPW_OK) goto fail;
    }
    spw_log(ctx, SPW_LOG_INFO, "spill file in '%s': %s, %s, align %u/%u, qd %u, request %u", dir,
            spw_io_engine_name(io->engine), io->direct ? "O_DIRECT" : "buffered", io->align,
            io->mem_align, io->qd, io->req);
    *out = io;
    return SPW_OK;
fail:
    spw_io_close(io);
    return s;
}

void spw_io_register(spw_io *io, void *base, size_t len)
{
    if (!io || !io->ring_ok || io->reg_bufs || !len) return;
    struct rlimit rl;
    if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < len &&
        geteuid() != 0) {
        spw_log(io->ctx, SPW_LOG_INFO,
                "spill I/O: memlock limit %llu < pool %zu bytes: buffers not registered",
                (unsigned long long)rl.rlim_cur, len);
        return;
    }
    struct iovec iov[MAX_REG];
    unsigned n = 0;
    for (uint64_t o = 0; o < len && n < MAX_REG; o += REG_PIECE, n++) {
        iov[n].iov_base = (uint8_t *)base + o;
        iov[n].iov_len = len - o < REG_PIECE ? len - o : REG_PIECE;
    }
    int r = io_uring_register_buffers(&io->ring, iov, n);
    if (r) {
        spw_log(io->ctx, SPW_LOG_INFO, "spill I/O: registering buffers failed (%s): unregistered I/O",
                strerror(-r));
        return;
    }
    io->reg_bufs = 1;
    io->reg_base = base;
    io->reg_len = n * REG_PIECE < len ? n * REG_PIECE : len;
}

spw_status spw_io_rw(spw_io *io, int write, const spw_io_seg *segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (segs[i].len % io->align || segs[i].off % io->align ||
            (uintptr_t)segs[i].buf % io->mem_align)
            return spw_fail(io->ctx, SPW_ERR_INTERNAL,
                            "spill I/O: segment %zu (offset %llu, %llu bytes) is not aligned to %u",
                            i, (unsigned long long)segs[i].off, (unsigned long long)segs[i].len,
                            io->align);
    if (io->direct && !io->fault_n && pthread_mutex_trylock(&io->lock)) {
        /* The engine is busy with another caller's transfer: rather than
         * queueing behind it, do this one with pread/pwrite in the calling
         * thread (same request split and retry rules), so that concurrent
         * callers (the store's readers, write-behind cleaners, query
         * threads) keep several requests in flight. Runs with fault
         * injection always take the engine, so their op order is fixed. */
        for (size_t i = 0; i < n; i++)
            for (uint64_t o = 0; o < segs[i].len; o += io->req) {
                piece p = {(uint8_t *)segs[i].buf + o, segs[i].off + o,
                           segs[i].len - o < io->req ? segs[i].len - o : io->req};
                uint64_t eoff = 0;
                int e = pool_piece(io, write, &p, &eoff);
                if (e) return io_err(io, e, write, eoff);
            }
        return SPW_OK;
    }
    if (!io->direct || io->fault_n) pthread_mutex_lock(&io->lock);
    spw_status s = io->ring_ok ? uring_rw(io, write, segs, n) : pool_rw(io, write, segs, n);
    if (s == SPW_OK && !io->direct) {
        /* Buffered fallback: keep the page cache from holding the data. */
        for (size_t i = 0; i < n; i++) {
            if (write &&
                sync_file_range(io->fd, (off_t)segs[i].off, (off_t)segs[i].len,
                                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                    SYNC_FILE_RANGE_WAIT_AFTER)) {
                s = io_err(io, errno, 1, segs[i].off);
                break;
            }
            posix_fadvise(io->fd, (off_t)segs[i].off, (off_t)segs[i].len, POSIX_FADV_DONTNEED);
        }
    }
    pthread_mutex_unlock(&io->lock);
    return s;
}

void spw_io_close(spw_io *io)
{
    if (!io) return;
    if (io->thr) {
        pthread_mutex_lock(&io->plock);
        io->stop = 1;
        pthread_cond_broadcast(&io->pcv);
        pthread_mutex_unlock(&io->plock);
        for (unsigned i = 0; i < io->nthr; i++) pthread_join(io->thr[i], NULL);
        free(io->thr);
    }
    if (io->ring_ok) io_uring_queue_exit(&io->ring);
    free(io->slots);
    if (io->fd >= 0) close(io->fd);
    pthread_mutex_destroy(&io->lock);
    pthread_mutex_destroy(&io->plock);
    pthread_cond_destroy(&io->pcv);
    pthread_cond_destroy(&io->pdone);
    free(io);
}

uint32_t spw_io_align(const spw_io *io) { return io->align; }
uint32_t spw_io_mem_align(const spw_io *io) { return io->mem_align; }

void spw_io_get_stats(spw_io *io, spw_io_stats *st)
{
    memset(st, 0, sizeof *st);
    st->ops = atomic_load(&io->ops);
    st->bytes_read = atomic_load(&io->bytes_read);
    st->bytes_written = atomic_load(&io->bytes_written);
    st->retries = atomic_load(&io->retries);
    st->short_resubmits = atomic_load(&io->short_resubmits);
    st->engine = io->engine;
    st->engine_fallback = io->engine_fallback;
    st->direct = io->direct;
    st->tmpfs = io->tmpfs;
    st->reg_files = io->reg_file;
    st->reg_buffers = io->reg_bufs;
    st->align = io->align;
    st->mem_align = io->mem_align;
}
