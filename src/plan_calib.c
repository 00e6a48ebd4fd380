/*
 * plan_calib.c - per-round calibration of the planner's compute model
 * (plan_calib.h, docs/OUT_OF_CORE.md): the model's work units per round,
 * the fit of seconds = a x units + b from timed proofs, the streaming
 * factors, and the calib_* keys of the probe file.
 */
#include "plan_calib.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Key suffixes of the probe file, one per round (calib_<key>=a p b stream). */
static const char *const round_key[SPW_ROUND_COUNT] = {
    "check", "main", "aux", "comp", "ood", "deep", "fri", "grind", "query", "encode"};

/* Units are the model's terms at unit prices: an NTT unit (column x point x
 * log term) weighs 1.2 ns and a hashed byte 1/0.9 ns, as one thread of the
 * development machine ran them (plan.c's constants before its 2.25 factor),
 * so a unit is about a second of one core there. */
#define U_NTT 1.2e-9
#define U_HASH (1.0 / 0.9e9)

int spw_calib_per_table(int r) { return r >= SPW_ROUND_MAIN && r <= SPW_ROUND_DEEP; }

void spw_calib_terms(double col[SPW_ROUND_COUNT], double pt[SPW_ROUND_COUNT],
                     const spw_calib_dims *d, double kn, double kh, double k, int all)
{
    double N = d->N, NE = d->NE, L = d->log_N;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) col[r] = pt[r] = 0;
    col[SPW_ROUND_MAIN] = kn * d->nm * N * (L + 2) + kh * 8 * d->nm * N;
    pt[SPW_ROUND_MAIN] = kh * 32 * N; /* the leaf digests */
    if (d->na > 0 || !all) {
        col[SPW_ROUND_AUX] = kn * d->na * N * (L + 2) + kh * 8 * d->na * N;
        pt[SPW_ROUND_AUX] = kh * 32 * N;
    }
    col[SPW_ROUND_COMP] = kn * d->nc * N * (L + 2) + kh * 8 * d->nc * N +
                          k * 2.5e-9 * NE * (d->prog + 3 * d->nk);
    if (NE != N) col[SPW_ROUND_COMP] += kn * (d->nm + d->na) * NE * (L + 3);
    /* the quotient's interpolation, the parts' leaf digests, per point */
    pt[SPW_ROUND_COMP] = kn * 3 * NE * (L + 2) + kh * 32 * N + k * 2.5e-9 * NE * 10;
    col[SPW_ROUND_OOD] = k * 6e-9 * d->n * (2 * (d->nm + d->na) + d->nc);
    col[SPW_ROUND_DEEP] = k * 4e-9 * N * (2 * (d->nm + d->na) + d->nc);
    pt[SPW_ROUND_DEEP] = k * 4e-9 * N * 20;
    if (!all) return;
    pt[SPW_ROUND_OOD] = k * 6e-9 * d->n * 20; /* the powers of zeta */
    /* the pre-proof checks generate the trace and evaluate every constraint
     * on every row; queries and encoding open each committed column and
     * a path of 32-byte digests per query */
    col[SPW_ROUND_CHECK] = k * 2e-9 * d->n * (d->nm + d->prog);
    col[SPW_ROUND_QUERY] = k * 1e-6 * (d->nm + d->na + d->nc + 12 * L);
    col[SPW_ROUND_ENCODE] = col[SPW_ROUND_QUERY];
}

void spw_calib_units(double col[SPW_ROUND_COUNT], double pt[SPW_ROUND_COUNT],
                     const spw_calib_dims *d)
{
    spw_calib_terms(col, pt, d, U_NTT, U_HASH, 1, 1);
}

double spw_calib_fri_units(double N0)
{
    /* the layers fold 2 x N0 ext3 values and hash them in pairs */
    return 2 * N0 * (4e-9 + U_HASH * 48);
}

void spw_calib_dims_of(spw_calib_dims *d, const spw_air_table *t, unsigned log_b)
{
    d->n = ldexp(1, (int)t->log_height);
    d->N = ldexp(d->n, (int)log_b);
    d->NE = ldexp(d->n, (int)spw_stark_log_e(t, log_b));
    d->nm = t->n_main;
    d->na = 3.0 * t->n_aux;
    d->nc = 3.0 * spw_stark_num_parts(t);
    d->prog = t->n_eval_slots ? t->n_eval_slots : t->prog_len;
    d->nk = t->n_constraints;
    d->log_N = t->log_height + log_b;
}

double spw_calib_seconds(const spw_calib *c, int r, double ucol, double upt, int with_b,
                         unsigned threads, int streamed)
{
    double s = c->a[r] * ucol + c->p[r] * upt + (with_b ? c->b[r] : 0);
    if (threads && c->threads && threads != c->threads) s *= (double)c->threads / threads;
    if (streamed) s *= c->stream[r];
    return s;
}

void spw_calib_run_from_stats(spw_calib_run *run, const spw_air_def *def, unsigned blowup,
                              int streamed, const spw_run_stats *st)
{
    memset(run, 0, sizeof *run);
    run->def = def;
    run->blowup = blowup;
    run->streamed = streamed;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        for (int t = 0; t < SPW_STATS_MAX_TABLES; t++) run->table_s[r][t] = -1;
        for (uint32_t k = 0; k < st->n_rounds; k++) {
            if (strcmp(st->round_names[k], spw_round_names[r])) continue;
            run->round_s[r] = st->round_seconds[k];
            double sum = 0;
            for (int t = 0; t < SPW_STATS_MAX_TABLES; t++) sum += st->table_seconds[k][t];
            /* per-table times only where the prover reported them */
            if (sum > 0)
                for (uint32_t t = 0; t < def->n_tables && t < SPW_STATS_MAX_TABLES; t++)
                    run->table_s[r][t] = st->table_seconds[k][t];
        }
    }
}

/* Solves the k x k system m x = v (Gaussian elimination with partial
 * pivoting); 0 when it is (nearly) singular. */
static int solve(double m[3][3], double v[3], double x[3], int k)
{
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int i = c + 1; i < k; i++)
            if (fabs(m[i][c]) > fabs(m[piv][c])) piv = i;
        if (!(fabs(m[piv][c]) > 1e-12 * (fabs(m[0][0]) + fabs(m[k - 1][k - 1])))) return 0;
        for (int j = 0; j < 3; j++) {
            double t = m[c][j];
            m[c][j] = m[piv][j], m[piv][j] = t;
        }
        double t = v[c];
        v[c] = v[piv], v[piv] = t;
        for (int i = c + 1; i < k; i++) {
            double f = m[i][c] / m[c][c];
            for (int j = c; j < k; j++) m[i][j] -= f * m[c][j];
            v[i] -= f * v[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        double t = v[c];
        for (int j = c + 1; j < k; j++) t -= m[c][j] * x[j];
        x[c] = t / m[c][c];
    }
    return 1;
}

void spw_calib_nnls(double x[3], const double *const u[2], const double *secs, size_t n)
{
    double best = INFINITY;
    x[0] = x[1] = x[2] = 0;
    for (unsigned set = 1; set < 8; set++) {
        int idx[3], k = 0;
        for (int j = 0; j < 3; j++)
            if (set >> j & 1) idx[k++] = j;
        /* normal equations of the terms in the subset (term 2: the constant) */
        double m[3][3] = {{0}}, v[3] = {0}, y[3] = {0};
        for (size_t i = 0; i < n; i++) {
            double f[3] = {u[0][i], u[1][i], 1};
            for (int a = 0; a < k; a++) {
                v[a] += f[idx[a]] * secs[i];
                for (int b = 0; b < k; b++) m[a][b] += f[idx[a]] * f[idx[b]];
            }
        }
        if ((size_t)k > n || !solve(m, v, y, k)) continue;
        int ok = 1;
        for (int a = 0; a < k; a++) ok &= y[a] >= 0;
        if (!ok) continue;
        double z[3] = {0, 0, 0}, sse = 0;
        for (int a = 0; a < k; a++) z[idx[a]] = y[a];
        for (size_t i = 0; i < n; i++) {
            double e = z[0] * u[0][i] + z[1] * u[1][i] + z[2] - secs[i];
            sse += e * e;
        }
        /* fewer terms win ties (within rounding) */
        if (sse < best * (1 - 1e-9)) best = sse, x[0] = z[0], x[1] = z[1], x[2] = z[2];
    }
}

/* Units of round r of a run's AIR, per table (col, pt; n_tables each) and
 * summed over the proof (*ucol, *upt; FRI: the proof's). */
static void run_units(const spw_calib_run *run, int r, double *col, double *pt, double *ucol,
                      double *upt)
{
    unsigned log_b = spw_log2(run->blowup);
    double N0 = 0;
    *ucol = *upt = 0;
    for (uint32_t t = 0; t < run->def->n_tables; t++) {
        spw_calib_dims d;
        double uc[SPW_ROUND_COUNT], up[SPW_ROUND_COUNT];
        spw_calib_dims_of(&d, &run->def->tables[t], log_b);
        spw_calib_units(uc, up, &d);
        col[t] = uc[r], pt[t] = up[r];
        *ucol += uc[r], *upt += up[r];
        if (d.N > N0) N0 = d.N;
    }
    if (r == SPW_ROUND_FRI) *ucol = spw_calib_fri_units(N0), *upt = 0;
}

void spw_calib_predict(double pred[SPW_ROUND_COUNT], const spw_calib *c, const spw_calib_run *run,
                       unsigned threads)
{
    uint32_t T = run->def->n_tables;
    double *col = calloc(2 * (T ? T : 1), sizeof *col), *pt = col + T;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        double uc, up;
        pred[r] = 0;
        if (!col) continue;
        run_units(run, r, col, pt, &uc, &up);
        if (!spw_calib_per_table(r)) {
            pred[r] = spw_calib_seconds(c, r, uc, up, 1, threads, run->streamed);
            continue;
        }
        for (uint32_t t = 0; t < T; t++)
            if (col[t] + pt[t] > 0)
                pred[r] += spw_calib_seconds(c, r, col[t], pt[t], 1, threads, run->streamed);
    }
    free(col);
}

/* Whether run has a time for every table in round r. */
static int has_table_times(const spw_calib_run *run, int r)
{
    for (uint32_t t = 0; t < run->def->n_tables; t++)
        if (t >= SPW_STATS_MAX_TABLES || run->table_s[r][t] < 0) return 0;
    return 1;
}

spw_status spw_calib_fit(spw_ctx *ctx, spw_calib *out, const spw_calib_run *runs, size_t n_runs,
                         unsigned threads)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, n_mem = 0, tmax = 1;
    for (size_t i = 0; i < n_runs; i++) {
        if (runs[i].def->n_tables > tmax) tmax = runs[i].def->n_tables;
        if (!runs[i].streamed) cap += runs[i].def->n_tables + 1, n_mem++;
    }
    if (!n_mem) return spw_fail(ctx, SPW_ERR_INVALID_ARG, "calibration: no in-memory run to fit");
    /* points: column units, point units, seconds; per-table scratch */
    double *buf = calloc(3 * cap + 2 * tmax, sizeof *buf);
    if (!buf) return spw_fail(ctx, SPW_ERR_NOMEM, "calibration: out of memory");
    double *uc = buf, *up = buf + cap, *s = buf + 2 * cap, *col = buf + 3 * cap, *pt = col + tmax;
    out->threads = threads ? threads : 1;
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        size_t n = 0;
        out->stream[r] = 1;
        for (size_t i = 0; i < n_runs; i++) {
            const spw_calib_run *run = &runs[i];
            double UC, UP;
            if (run->streamed) continue;
            run_units(run, r, col, pt, &UC, &UP);
            if (spw_calib_per_table(r) && has_table_times(run, r)) {
                /* one point per table with work in the round */
                for (uint32_t t = 0; t < run->def->n_tables; t++)
                    if (col[t] + pt[t] > 0) uc[n] = col[t], up[n] = pt[t], s[n++] = run->table_s[r][t];
            } else {
                uc[n] = UC, up[n] = UP, s[n++] = run->round_s[r];
            }
        }
        double x[3];
        spw_calib_nnls(x, (const double *const[2]){uc, up}, s, n);
        out->a[r] = x[0], out->p[r] = x[1], out->b[r] = x[2];
    }
    /* the streaming factors: measured streamed rounds over the in-memory
     * prediction (kept within 0.5..8; a round under 1 ms keeps 1) */
    double fac[SPW_ROUND_COUNT] = {0}, wsum[SPW_ROUND_COUNT] = {0};
    for (size_t i = 0; i < n_runs; i++) {
        if (!runs[i].streamed) continue;
        double pred[SPW_ROUND_COUNT];
        spw_calib_predict(pred, out, &(spw_calib_run){.def = runs[i].def, .blowup = runs[i].blowup},
                          out->threads);
        for (int r = 0; r < SPW_ROUND_COUNT; r++)
            if (pred[r] > 1e-3) fac[r] += runs[i].round_s[r], wsum[r] += pred[r];
    }
    for (int r = 0; r < SPW_ROUND_COUNT; r++) {
        if (!(wsum[r] > 0)) continue;
        double f = fac[r] / wsum[r];
        out->stream[r] = f < 0.5 ? 0.5 : f > 8 ? 8 : f;
    }
    out->have = 1;
    free(buf);
    return SPW_OK;
}

double spw_calib_overlap_fit(double measured, double compute, double io)
{
    double hi = compute > io ? compute : io, lo = compute + io - hi;
    if (!(io > 0.05 * compute) || !(io > 0.01) || !(lo > 0)) return 0;
    double x = (measured - hi) / lo;
    return x < 0.05 ? 0.05 : x > 1 ? 1 : x;
}

void spw_calib_print(FILE *f, const spw_calib *c)
{
    fprintf(f, "calib_threads=%u\n", c->threads);
    if (c->overlap > 0) fprintf(f, "calib_overlap=%.4g\n", c->overlap);
    for (int r = 0; r < SPW_ROUND_COUNT; r++)
        fprintf(f, "calib_%s=%.6g %.6g %.6g %.4g\n", round_key[r], c->a[r], c->p[r], c->b[r],
                c->stream[r]);
}

spw_status spw_calib_append(spw_ctx *ctx, const char *path, const spw_calib *c)
{
    FILE *f = fopen(path, "a");
    if (!f) return spw_fail(ctx, SPW_ERR_IO, "probe: cannot write '%s': %s", path, strerror(errno));
    spw_calib_print(f, c);
    if (fclose(f)) return spw_fail(ctx, SPW_ERR_IO, "probe: writing '%s' failed", path);
    return SPW_OK;
}

spw_status spw_calib_load(spw_ctx *ctx, spw_calib *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) return spw_fail(ctx, SPW_ERR_IO, "probe: cannot read '%s': %s", path, strerror(errno));
    char line[512];
    unsigned lineno = 0, seen = 0, want = (1u << SPW_ROUND_COUNT) - 1;
    int any = 0;
    spw_status s = SPW_OK;
    while (s == SPW_OK && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "calib_", 6)) continue;
        any = 1;
        char *eq = strchr(line, '='), *end = NULL;
        if (!eq) {
            s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: expected key=value", path, lineno);
            break;
        }
        *eq = 0;
        const char *k = line + 6, *v = eq + 1;
        if (!strcmp(k, "threads")) {
            unsigned long x = strtoul(v, &end, 10);
            if (end == v || *end || !x || x > 65536)
                s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: bad calib_threads '%s'", path, lineno, v);
            c->threads = (unsigned)x;
            continue;
        }
        if (!strcmp(k, "overlap")) {
            c->overlap = strtod(v, &end);
            if (end == v || *end || !(c->overlap > 0 && c->overlap <= 1))
                s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: bad calib_overlap '%s' (0 < x <= 1)",
                             path, lineno, v);
            continue;
        }
        int r = 0;
        while (r < SPW_ROUND_COUNT && strcmp(k, round_key[r])) r++;
        if (r == SPW_ROUND_COUNT) continue; /* a newer probe's key */
        double x[4];
        const char *p = v;
        for (int i = 0; i < 4 && s == SPW_OK; i++) {
            x[i] = strtod(p, &end);
            if (end == p || !(x[i] >= 0) || !isfinite(x[i]) || (i == 3 && !(x[i] > 0)))
                s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: bad value '%s' for calib_%s (four numbers "
                             "a p b stream, >= 0)", path, lineno, v, k);
            p = end;
        }
        if (s == SPW_OK && *p)
            s = spw_fail(ctx, SPW_ERR_PARSE, "%s:%u: trailing text in calib_%s", path, lineno, k);
        c->a[r] = x[0], c->p[r] = x[1], c->b[r] = x[2], c->stream[r] = x[3];
        seen |= 1u << r;
    }
    fclose(f);
    if (s == SPW_OK && any && (seen != want || !c->threads))
        s = spw_fail(ctx, SPW_ERR_PARSE, "%s: the calib_* keys are incomplete (calib_threads and "
                     "one line per round: check main aux comp ood deep fri grind query encode)", path);
    if (s == SPW_OK) c->have = any;
    else memset(c, 0, sizeof *c);
    return s;
}
