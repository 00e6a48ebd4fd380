/*
 * test_plan_device.c - the planner's streaming device tier (CPU only, no
 * GPU needed): spw_plan_make_device chooses the recompute tier per table
 * (docs/OUT_OF_CORE.md, "The device tier: recompute vs store"). Synth
 * small is planned with a VRAM budget that the test picks from
 * spw_sdev_coset_bytes so that some tables fit 3/4 of it and others do
 * not; the test checks which tables recompute against that independent
 * fit rule for $SPW_RECOMPUTE unset, 0 and 2; that the cost model (a probe
 * file's link speeds) can make a table that fits store; that the schedule
 * with the recompute tier stores less by the LDE bytes of those tables
 * (bounds from the table shapes: LDE, extended-domain, trace and
 * quotient payload) and keeps their coefficients to the end; and that
 * `spillway plan --backend cuda --vram-budget ...` ($SPW_BIN) prints the
 * same choices, the resident device prover when the estimate fits, the
 * tier's minimum, and a clear error for --backend cuda without a budget on
 * a machine without a GPU.
 */
#include "check_util.h"
#include "internal.h"
#include "gpu_prover.h"
#include "plan.h"
#include "sched/dev.h"
#include "stark.h"
#include "workloads.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define MAXT 64

typedef struct shape {
    uint32_t nt;
    uint64_t need[MAXT], lde[MAXT], ext[MAXT], coef[MAXT], N[MAXT], trace[MAXT], quot[MAXT], auxv[MAXT];
} shape;

static spw_air *g_air;
static spw_ctx *g_ctx;

/* synth small's AIR (no trace) at blowup 4, backend cuda, host budget
 * host (0: the default). */
static const spw_air_def *setup_air(uint64_t host)
{
    spw_ctx_options o;
    spw_ctx_options_default(&o);
    o.log_level = SPW_LOG_ERROR;
    g_ctx = NULL;
    ck_assert_int_eq(spw_ctx_create(&g_ctx, &o), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_BLOWUP, 4), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_BACKEND, SPW_BACKEND_CUDA), SPW_OK);
    ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_HOST_BUDGET, (int64_t)host), SPW_OK);
    spw_workload_params wp;
    ck_assert_int_eq(spw_workload_defaults(g_ctx, &wp, "synth"), SPW_OK);
    wp.preset = "small";
    char tag[SPW_WORKLOAD_TAG_MAX + 1];
    ck_assert_int_eq(spw_workload_build(g_ctx, &g_air, NULL, NULL, NULL, tag, sizeof tag, &wp), SPW_OK);
    return spw_air_get_def(g_air);
}

static void teardown_air(void)
{
    spw_workload_free(g_air, NULL, NULL);
    spw_ctx_free(g_ctx);
}

/* Per table, from the AIR alone: the coset passes' device bytes, the LDE
 * (main, aux, composition columns on N = 4n points), the extended
 * composition domain (E > 4), the coefficients, the trace, the quotient
 * values, the aux values. */
static void shapes(shape *s, const spw_air_def *def)
{
    s->nt = def->n_tables;
    ck_assert_uint_le(s->nt, MAXT);
    for (uint32_t t = 0; t < s->nt; t++) {
        const spw_air_table *tb = &def->tables[t];
        uint64_t nm = tb->n_main, na = 3 * (uint64_t)tb->n_aux, nc = 3 * spw_stark_num_parts(tb);
        unsigned le = spw_stark_log_e(tb, 2);
        uint64_t n = UINT64_C(1) << tb->log_height;
        s->need[t] = spw_sdev_coset_bytes(nm, na, nc, tb->log_height, 2, le);
        s->N[t] = 4 * n;
        s->lde[t] = 8 * 4 * n * (nm + na + nc);
        s->ext[t] = le != 2 ? 8 * (n << le) * (nm + na) : 0;
        s->coef[t] = 8 * n * (nm + na + nc);
        s->trace[t] = 8 * n * nm;
        s->quot[t] = 3 * 8 * (n << le); /* the quotient values: 3 columns of n E */
        s->auxv[t] = 8 * n * na;
    }
}

/* A VRAM budget whose 3/4 lies between two of the tables' needs, near the
 * middle: some tables fit, some do not. */
static uint64_t split_budget(const shape *s)
{
    uint64_t v[MAXT];
    memcpy(v, s->need, s->nt * sizeof *v);
    for (uint32_t i = 1; i < s->nt; i++) /* insertion sort */
        for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    uint32_t k = s->nt / 2;
    while (k + 1 < s->nt && v[k] == v[k + 1]) k++;
    ck_assert_uint_lt(k + 1, s->nt);
    uint64_t room = v[k] + (v[k + 1] - v[k]) / 2;
    return room / 3 * 4 + 4; /* budget / 4 * 3 == room (up to rounding) */
}

static void device_plan_probe(spw_plan *p, const spw_air_def *def, uint64_t vram, const char *env,
                              const char *probe)
{
    if (env) setenv("SPW_RECOMPUTE", env, 1);
    else unsetenv("SPW_RECOMPUTE");
    ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)vram), SPW_OK);
    spw_status st = spw_plan_make_device(g_ctx, p, def, probe);
    ck_assert_msg(st == SPW_OK, "device plan: %s", spw_ctx_last_error(g_ctx));
    unsetenv("SPW_RECOMPUTE");
    ck_assert_int_eq(p->device, 1);
    ck_assert_int_eq(p->spilled, 1);
    ck_assert_uint_eq(p->dev_budget, vram);
}

static void device_plan(spw_plan *p, const spw_air_def *def, uint64_t vram, const char *env)
{
    device_plan_probe(p, def, vram, env, NULL);
}

START_TEST(test_choice)
{
    const spw_air_def *def = setup_air((uint64_t)4 << 30);
    shape s;
    shapes(&s, def);
    uint64_t vram = split_budget(&s);
    int fit[MAXT], nfit = 0;
    for (uint32_t t = 0; t < s.nt; t++) nfit += fit[t] = s.need[t] <= vram / 4 * 3;
    ck_assert_int_gt(nfit, 0);
    ck_assert_int_lt(nfit, (int)s.nt);

    spw_plan pa, p0, p2;
    device_plan(&pa, def, vram, NULL);
    device_plan(&p0, def, vram, "0");
    device_plan(&p2, def, vram, "2");
    uint32_t na = 0, n2 = 0;
    for (uint32_t t = 0; t < s.nt; t++) {
        const spw_plan_table *a = &pa.tables[t];
        ck_assert_uint_eq(a->dev_need, s.need[t]);
        ck_assert_int_eq(a->dev_fits, fit[t]);
        /* auto: the tables that fit and that the model prices cheaper;
         * these small tables all are (coefficients uploaded once per
         * pass against the LDE down and up three times) */
        if (fit[t])
            ck_assert_msg(a->dev.t_recompute < a->dev.t_store, "%s: recompute %g s, store %g s",
                          a->name, a->dev.t_recompute, a->dev.t_store);
        ck_assert_msg(a->recompute == fit[t], "%s: auto recompute %d, fits %d", a->name,
                      a->recompute, fit[t]);
        ck_assert_int_eq(p0.tables[t].recompute, 0);
        ck_assert_msg(p2.tables[t].recompute == (fit[t] && (t & 1)), "%s: SPW_RECOMPUTE=2 gives %d",
                      a->name, p2.tables[t].recompute);
        na += (uint32_t)fit[t];
        n2 += (uint32_t)(fit[t] && (t & 1));
        /* the store choice's link bytes: the LDE (and extended domain)
         * once down, besides the quotient values (down twice) and LogUp's
         * aux values; read back at least by the trees and DEEP; the
         * recompute choice uploads the coefficients for the trees, LogUp,
         * the composition, DEEP and the openings, once or per coset, and
         * downloads the parts' coefficients */
        ck_assert_uint_eq(a->dev.d2h_store, s.lde[t] + s.ext[t] + 2 * s.quot[t] + s.auxv[t]);
        ck_assert_uint_ge(a->dev.h2d_store, 2 * s.lde[t]);
        ck_assert_uint_ge(a->dev.h2d_recompute, 3 * s.coef[t]);
        ck_assert_uint_le(a->dev.h2d_recompute, 3 * 8 * s.coef[t]);
        ck_assert_uint_le(a->dev.d2h_recompute, s.coef[t]);
    }
    ck_assert_uint_eq(pa.n_recompute, na);
    ck_assert_uint_eq(p0.n_recompute, 0);
    ck_assert_uint_eq(p2.n_recompute, n2);
    ck_assert_int_eq(pa.recompute_env, 1);
    ck_assert_int_eq(p0.recompute_env, 0);
    ck_assert_int_eq(p2.recompute_env, 2);
    spw_plan_clear(&pa);
    spw_plan_clear(&p0);
    spw_plan_clear(&p2);
    teardown_air();
}
END_TEST

/* The cost model decides, not only the fit: with a probe file whose links
 * (host<->device and the disk) are nearly free, the recompute tier's extra
 * device NTTs make storing cheaper, so tables that fit store; with the
 * default links (25 / 25 GB/s, disk 1.9 / 1.6 GB/s) the same tables
 * recompute. The host budget is small, so the store has a spill file and
 * storing pays no page-locking of its own. */
START_TEST(test_cost_decides)
{
    const spw_air_def *def = setup_air(48 * MiB);
    shape s;
    shapes(&s, def);
    uint64_t mx = 0;
    for (uint32_t t = 0; t < s.nt; t++)
        if (s.need[t] > mx) mx = s.need[t];
    uint64_t vram = (mx + MiB) / 3 * 4 + 4;
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/spw_plan_device_probe_%d.txt", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "write_gbs=10000\nread_gbs=10000\nh2d_gbs=10000.0\nd2h_gbs=10000.0\n");
    fclose(f);
    spw_plan ps, pd;
    device_plan_probe(&ps, def, vram, NULL, path);
    device_plan(&pd, def, vram, NULL);
    unlink(path);
    ck_assert(ps.h2d_gbs == 10000.0 && ps.d2h_gbs == 10000.0);
    ck_assert_uint_gt(ps.nvme_bytes, 0);
    ck_assert_ptr_nonnull(strstr(ps.link_source, path));
    ck_assert(pd.h2d_gbs == SPW_PLAN_H2D_GBS && pd.d2h_gbs == SPW_PLAN_D2H_GBS);
    uint32_t stored = 0;
    for (uint32_t t = 0; t < s.nt; t++) {
        const spw_plan_table *a = &ps.tables[t], *b = &pd.tables[t];
        ck_assert_int_eq(a->dev_fits, 1);
        ck_assert_int_eq(a->recompute, a->dev.t_recompute < a->dev.t_store);
        ck_assert_int_eq(b->recompute, b->dev.t_recompute < b->dev.t_store);
        /* free links leave the NTTs: recomputing dearer, relative to storing */
        ck_assert(a->dev.t_recompute / a->dev.t_store >= b->dev.t_recompute / b->dev.t_store);
        if (!a->recompute) {
            stored++;
            ck_assert_msg(b->recompute, "%s: stored with the default links too", a->name);
        }
    }
    ck_assert_uint_gt(stored, 0);
    ck_assert_uint_eq(ps.n_recompute, s.nt - stored);
    spw_plan_clear(&ps);
    spw_plan_clear(&pd);
    teardown_air();
}
END_TEST

/* The recompute tier's plan against the stored-LDE plan (SPW_RECOMPUTE=0)
 * at the same budgets: per table, what the store holds. host: the host
 * budget (large: everything in the pool; small: an NVMe tier). */
static void accounting(uint64_t host, const char *skip)
{
    if (skip) setenv("SPW_TREE_SKIP", skip, 1);
    const spw_air_def *def = setup_air(host);
    shape s;
    shapes(&s, def);
    uint64_t vram = split_budget(&s);
    spw_plan pr, ps;
    device_plan(&pr, def, vram, NULL);
    device_plan(&ps, def, vram, "0");
    unsetenv("SPW_TREE_SKIP");
    ck_assert_uint_gt(pr.n_recompute, 0);
    uint64_t saved = 0;
    int64_t drop = 0;
    for (uint32_t t = 0; t < s.nt; t++) {
        const spw_plan_table *r = &pr.tables[t], *x = &ps.tables[t];
        if (!r->recompute) {
            ck_assert_uint_eq(r->sum_bytes, x->sum_bytes);
            continue;
        }
        /* no LDE matrices, extended domain, trace or quotient in the
         * store; the same trees (the openings rebuild their lowest levels
         * from rows evaluated from the coefficients): the difference is
         * those matrices' tiles */
        int64_t lx = (int64_t)(s.lde[t] + s.ext[t] + s.trace[t] + s.quot[t]);
        int64_t d = (int64_t)x->sum_bytes - (int64_t)r->sum_bytes;
        ck_assert_msg(d >= lx && d <= lx + lx / 2,
                      "%s: the store holds %lld bytes less with the recompute tier (LDE %llu, "
                      "extended domain %llu)", r->name, (long long)d, (unsigned long long)s.lde[t],
                      (unsigned long long)s.ext[t]);
        /* the coefficients stay for DEEP and the openings */
        ck_assert_uint_ge(r->rounds[SPW_ROUND_DEEP].live_bytes, s.coef[t]);
        ck_assert_uint_ge(r->rounds[SPW_ROUND_QUERY].live_bytes, s.coef[t]);
        ck_assert_uint_lt(r->rounds[SPW_ROUND_COMP].live_bytes, x->rounds[SPW_ROUND_COMP].live_bytes);
        saved += s.lde[t];
        drop += d;
    }
    ck_assert_uint_eq(pr.lde_saved, saved);
    ck_assert_int_eq((int64_t)ps.store_sum - (int64_t)pr.store_sum, drop);
    ck_assert_uint_lt(pr.store_bytes, ps.store_bytes);
    ck_assert_uint_le(pr.pool_bytes, ps.pool_bytes);
    if (!ps.nvme_bytes) /* the pool holds everything: sized by the store */
        ck_assert_uint_lt(pr.pool_bytes, ps.pool_bytes);
    else /* less streamed, fewer disk bytes */
        ck_assert_uint_lt(pr.disk_write + pr.disk_read, ps.disk_write + ps.disk_read);
    spw_plan_clear(&pr);
    spw_plan_clear(&ps);
    teardown_air();
}

START_TEST(test_accounting_pool) { accounting((uint64_t)4 << 30, NULL); }
END_TEST
START_TEST(test_accounting_nvme) { accounting(48 * MiB, NULL); }
END_TEST
START_TEST(test_accounting_skip0) { accounting((uint64_t)4 << 30, "0"); }
END_TEST

/* The recompute tier's page-locked host buffers (the main column phase's
 * staging: two groups of up to 256 MiB; a coset tree's heap chunk, 64
 * bytes per leaf of up to 2^20) count in the tables' working sets, and a
 * host budget that the stored-LDE plan fits never fails for them: at the
 * smallest such budget (bisected) the auto plan is made too; where some
 * tables store their LDE there, they are the largest. */
START_TEST(test_host_budget)
{
    const spw_air_def *def = setup_air(0);
    shape s;
    shapes(&s, def);
    uint64_t vram = (uint64_t)8 << 30, lo = MiB, hi = (uint64_t)1 << 30;
    setenv("SPW_RECOMPUTE", "0", 1);
    ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_VRAM_BUDGET, (int64_t)vram), SPW_OK);
    while (hi - lo > MiB / 4) { /* the stored plan's smallest host budget */
        uint64_t mid = lo + (hi - lo) / 2;
        spw_plan p;
        ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_HOST_BUDGET, (int64_t)mid), SPW_OK);
        spw_status st = spw_plan_make_device(g_ctx, &p, def, NULL);
        spw_plan_clear(&p);
        ck_assert(st == SPW_OK || st == SPW_ERR_BUDGET);
        if (st == SPW_OK) hi = mid;
        else lo = mid;
    }
    unsetenv("SPW_RECOMPUTE");
    uint64_t hosts[2] = {hi, (uint64_t)4 << 30};
    for (int i = 0; i < 2; i++) {
        spw_plan p;
        ck_assert_int_eq(spw_ctx_set_param(g_ctx, SPW_PARAM_HOST_BUDGET, (int64_t)hosts[i]), SPW_OK);
        spw_status st = spw_plan_make_device(g_ctx, &p, def, NULL);
        ck_assert_msg(st == SPW_OK, "host budget %llu: %s", (unsigned long long)hosts[i],
                      spw_ctx_last_error(g_ctx));
        uint32_t k = 0;
        uint64_t max_rec = 0, min_st = UINT64_MAX;
        for (uint32_t t = 0; t < s.nt; t++) {
            if (!p.tables[t].recompute) {
                if (s.N[t] < min_st) min_st = s.N[t];
                continue;
            }
            k++;
            uint64_t leaves = s.N[t] < MiB ? s.N[t] : MiB;
            ck_assert_uint_ge(p.tables[t].rounds[SPW_ROUND_MAIN].work_bytes, 64 * leaves);
            ck_assert_uint_ge(p.tables[t].work_bytes, 64 * leaves);
            if (s.N[t] > max_rec) max_rec = s.N[t];
        }
        if (i) ck_assert_uint_eq(k, s.nt); /* room for all: every table recomputes */
        else if (k < s.nt) ck_assert_uint_ge(min_st, max_rec); /* the largest store */
        spw_plan_clear(&p);
    }
    teardown_air();
}
END_TEST

START_TEST(test_no_budget)
{
    /* no device and no budget: a clear error (only where there is no GPU) */
    if (spw_plan_default_vram_budget()) return;
    const spw_air_def *def = setup_air((uint64_t)4 << 30);
    spw_plan p;
    ck_assert_int_eq(spw_plan_make_device(g_ctx, &p, def, NULL), SPW_ERR_NO_CUDA);
    ck_assert_ptr_nonnull(strstr(spw_ctx_last_error(g_ctx), "--vram-budget"));
    spw_plan_clear(&p);
    teardown_air();
}
END_TEST

/* ---- the CLI ---- */

/* Runs `$SPW_BIN plan ARGS` (env: a VAR=value prefix or ""), stdout and
 * stderr into out; returns the exit status. */
static int run_plan(char *out, size_t cap, const char *env, const char *args)
{
    const char *bin = getenv("SPW_BIN");
    ck_assert_msg(bin && *bin, "SPW_BIN is not set");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s '%s' plan --workload synth --preset small --blowup 4 %s 2>&1", env,
             bin, args);
    return spw_test_capture(cmd, out, cap);
}

/* The word ending table name's row of the device section ("recompute" or
 * "store"), or NULL. */
static const char *runs_of(const char *out, const char *name, char *buf, size_t cap)
{
    const char *sec = strstr(out, "recompute vs store on the device");
    if (!sec) return NULL;
    size_t ln = strlen(name);
    for (const char *l = strchr(sec, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        const char *row = l + 1;
        if (strncmp(row, name, ln) || row[ln] != ' ') continue;
        const char *e = strchr(row, '\n'), *w = e;
        while (w > row && w[-1] != ' ') w--;
        snprintf(buf, cap, "%.*s", (int)(e - w), w);
        return buf;
    }
    return NULL;
}

START_TEST(test_cli)
{
    static char out[1 << 17], args[256], want[96], buf[32];
    const spw_air_def *def = setup_air((uint64_t)4 << 30);
    shape s;
    shapes(&s, def);
    uint64_t vram = split_budget(&s), est = spw_gpu_estimate(def, 4);
    ck_assert_uint_gt(est, vram);
    snprintf(args, sizeof args, "--backend cuda --vram-budget %llu --host-budget 4G",
             (unsigned long long)vram);
    for (int env = 0; env < 3; env++) {
        int rc = run_plan(out, sizeof out, env == 0 ? "" : env == 1 ? "SPW_RECOMPUTE=0" : "SPW_RECOMPUTE=2",
                          args);
        ck_assert_msg(rc == 0, "exit %d:\n%.2000s", rc, out);
        ck_assert_msg(strstr(out, "device: streaming tier: working-set estimate"), "%.2000s", out);
        uint32_t k = 0;
        for (uint32_t t = 0; t < s.nt; t++) {
            int fit = s.need[t] <= vram / 4 * 3;
            int rec = env == 0 ? fit : env == 1 ? 0 : fit && (t & 1);
            k += (uint32_t)rec;
            const char *r = runs_of(out, def->tables[t].name, buf, sizeof buf);
            ck_assert_msg(r && !strcmp(r, rec ? "recompute" : "store"), "table %s: '%s', expected %s:\n%.2000s",
                          def->tables[t].name, r ? r : "(no row)", rec ? "recompute" : "store", out);
        }
        snprintf(want, sizeof want, "recompute tier for %u of %u tables", k, s.nt);
        ck_assert_msg(strstr(out, want), "no '%s' in:\n%.2000s", want, out);
    }
    /* the resident device prover when its estimate fits the budget */
    snprintf(args, sizeof args, "--backend cuda --vram-budget %llu", (unsigned long long)(2 * est));
    ck_assert_int_eq(run_plan(out, sizeof out, "", args), 0);
    ck_assert_msg(strstr(out, "device: resident"), "%.2000s", out);
    ck_assert_ptr_null(strstr(out, "recompute vs store on the device"));
    /* ... and the streaming tier again with --mode spilled */
    snprintf(args, sizeof args, "--backend cuda --vram-budget %llu --mode spilled",
             (unsigned long long)(2 * est));
    ck_assert_int_eq(run_plan(out, sizeof out, "", args), 0);
    ck_assert_msg(strstr(out, "recompute vs store on the device"), "%.2000s", out);
    /* the CPU plan has no device section */
    ck_assert_int_eq(run_plan(out, sizeof out, "", "--backend cpu --host-budget 24M"), 0);
    ck_assert_ptr_null(strstr(out, "device"));
    ck_assert_msg(strstr(out, "recompute vs store (predicted seconds"), "%.2000s", out);
    if (!spw_plan_default_vram_budget()) { /* no GPU here */
        static char out2[1 << 17];
        ck_assert_int_eq(run_plan(out2, sizeof out2, "", "--host-budget 24M"), 0);
        /* auto = cpu (the budget line says whether a VRAM budget was looked for) */
        const char *a = strstr(out, "\nLDE data"), *b = strstr(out2, "\nLDE data");
        ck_assert_msg(a && b && !strcmp(a, b), "auto without a GPU differs from --backend cpu");
        int rc = run_plan(out, sizeof out, "", "--backend cuda");
        ck_assert_int_ne(rc, 0);
        ck_assert_msg(strstr(out, "--vram-budget"), "%.2000s", out);
    }
    /* below the streaming tier's minimum: cuda fails as spillway prove would */
    ck_assert_int_ne(run_plan(out, sizeof out, "", "--backend cuda --vram-budget 1M"), 0);
    ck_assert_msg(strstr(out, "below the minimum"), "%.2000s", out);
    ck_assert_int_ne(run_plan(out, sizeof out, "", "--backend gpu"), 0);
    teardown_air();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_device");
    TCase *tc = tcase_create("plan_device");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_choice);
    tcase_add_test(tc, test_cost_decides);
    tcase_add_test(tc, test_accounting_pool);
    tcase_add_test(tc, test_accounting_nvme);
    tcase_add_test(tc, test_accounting_skip0);
    tcase_add_test(tc, test_host_budget);
    tcase_add_test(tc, test_no_budget);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return spw_run_suite(s);
}
