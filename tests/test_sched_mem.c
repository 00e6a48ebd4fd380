/*
 * test_sched_mem.c - the streaming prover as a process, through the CLI
 * ($SPW_BIN): peak resident memory read back from the kernel (wait4's
 * ru_maxrss of the child) stays within the host budget plus the documented
 * overhead while the in-memory prover of the same workload exceeds that
 * bound, also with every LDE recomputed; and the spill directory holds nothing of a run after success,
 * after an error, and after SIGKILL in the middle of spilling.
 */
#include "check_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OVERHEAD (64ull << 20)

static char dir[256], out[300];

/* One spill directory for the run, made and removed by the parent (the
 * tests run in forked children; a failing one cannot leave it behind). */
static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/spw_sched_mem_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        exit(EXIT_FAILURE);
    }
    snprintf(out, sizeof out, "%s.proof", dir);
}

static void teardown(void)
{
    unlink(out);
    rmdir(dir);
}

static int dir_entries(const char *d)
{
    DIR *dp = opendir(d);
    ck_assert_ptr_nonnull(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(dp);
    return n;
}

static const char *bin(void)
{
    const char *b = getenv("SPW_BIN");
    return b && *b ? b : "./spillway";
}

/* Starts `spillway prove --workload vm --log-rows LR --mode MODE
 * --host-budget HB --spill-dir dir -q -o out`. */
static pid_t start(const char *lr, const char *mode, const char *hb)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin(), bin(), "prove", "--workload", "vm", "--log-rows", lr, "--mode", mode,
              "--host-budget", hb, "--spill-dir", dir, "--threads", "2", "--backend", "cpu", "-q", "-o", out,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid, uint64_t *maxrss)
{
    int status;
    struct rusage ru;
    ck_assert_int_eq(wait4(pid, &status, 0, &ru), pid);
    if (maxrss) *maxrss = (uint64_t)ru.ru_maxrss * 1024;
    return status;
}

START_TEST(test_peak_rss)
{
    uint64_t rss_s, rss_r;
    int st = finish(start("12", "spilled", "32M"), &rss_s);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "spilled prove failed (%d)", st);
    ck_assert_int_eq(dir_entries(dir), 0); /* after success */
    st = finish(start("12", "resident", "32M"), &rss_r);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "resident prove failed (%d)", st);
    uint64_t bound = (32ull << 20) + OVERHEAD;
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's shadow memory and quarantine inflate the RSS of
     * the (instrumented) child far past any budget: the bound is checked in
     * the uninstrumented build only. */
    fprintf(stderr, "ASan build: peak RSS bound not checked (streamed %llu MiB)\n",
            (unsigned long long)(rss_s >> 20));
    return;
#endif
    ck_assert_msg(rss_s <= bound, "streamed peak RSS %llu MiB exceeds budget 32 MiB + %llu MiB",
                  (unsigned long long)(rss_s >> 20), (unsigned long long)(OVERHEAD >> 20));
    /* the bound means something: the in-memory prover needs more */
    ck_assert_msg(rss_r > bound, "in-memory peak RSS %llu MiB is within the bound",
                  (unsigned long long)(rss_r >> 20));
    fprintf(stderr, "peak RSS: streamed %llu MiB (budget 32 MiB), in-memory %llu MiB\n",
            (unsigned long long)(rss_s >> 20), (unsigned long long)(rss_r >> 20));
}
END_TEST

/* The same bound with every table's LDE recomputed (the CPU's coset
 * passes, src/sched/coset.c): their memory counts in the heap working set
 * the planner fits into the budget. */
START_TEST(test_peak_rss_recompute)
{
    setenv("SPW_RECOMPUTE", "3", 1);
    char cmd[1024], text[8192];
    snprintf(cmd, sizeof cmd, "'%s' plan --workload vm --log-rows 12 --mode spilled --host-budget "
             "32M --backend cpu --threads 2", bin());
    ck_assert_int_eq(spw_test_capture(cmd, text, sizeof text), 0);
    int runs = 0;
    for (const char *p = text; (p = strstr(p, " recompute\n")); p++) runs++;
    ck_assert_msg(runs == 4, "the plan recomputes %d of 4 tables:\n%s", runs, text);
    uint64_t rss;
    int st = finish(start("12", "spilled", "32M"), &rss);
    unsetenv("SPW_RECOMPUTE");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "spilled prove failed (%d)", st);
    ck_assert_int_eq(dir_entries(dir), 0);
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_msg(rss <= (32ull << 20) + OVERHEAD, "recomputed: peak RSS %llu MiB exceeds budget "
                  "32 MiB + %llu MiB", (unsigned long long)(rss >> 20),
                  (unsigned long long)(OVERHEAD >> 20));
#endif
    fprintf(stderr, "peak RSS, every LDE recomputed: %llu MiB (budget 32 MiB)\n",
            (unsigned long long)(rss >> 20));
}
END_TEST

START_TEST(test_error_exit)
{
    int st = finish(start("12", "spilled", "1M"), NULL);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

/* 1 when the process has a file open in dir (its unlinked spill file). */
static int has_spill_file(pid_t pid)
{
    char fdd[64], p[512], l[512];
    snprintf(fdd, sizeof fdd, "/proc/%d/fd", (int)pid);
    DIR *dp = opendir(fdd);
    if (!dp) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(dp)) && !found) {
        snprintf(p, sizeof p, "%s/%s", fdd, e->d_name);
        ssize_t n = readlink(p, l, sizeof l - 1);
        if (n <= 0) continue;
        l[n] = 0;
        if (!strncmp(l, dir, strlen(dir)) && l[strlen(dir)] == '/') found = 1;
    }
    closedir(dp);
    return found;
}

START_TEST(test_sigkill)
{
    pid_t pid = start("14", "spilled", "24M");
    int seen = 0;
    for (int i = 0; i < 2000 && !seen; i++) {
        seen = has_spill_file(pid);
        if (!seen) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) ck_abort_msg("prove ended before spilling");
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    ck_assert_msg(seen, "no spill file seen in %s", dir);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL); /* well into the run */
    kill(pid, SIGKILL);
    int st = finish(pid, NULL);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "prove ended before the kill");
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched_mem");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_peak_rss);
    tcase_add_test(tc, test_peak_rss_recompute);
    tcase_add_test(tc, test_error_exit);
    tcase_add_test(tc, test_sigkill);
    suite_add_tcase(s, tc);
    setup();
    int rc = spw_run_suite(s);
    teardown();
    return rc;
}
