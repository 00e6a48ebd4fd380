/*
 * check_util.h - shared runner for the Check suites.
 * CPU suites fork per test (Check's default). GPU suites must not initialise
 * CUDA in the parent before forking, so they run without fork, and exit 77
 * (automake's SKIP) when no GPU is present.
 */
#ifndef SPW_CHECK_UTIL_H
#define SPW_CHECK_UTIL_H

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include "spillway.h"

#define SPW_EXIT_SKIP 77

/* Deterministic test RNG (splitmix64). */
static inline uint64_t spw_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Runs the shell command cmd, its stdout (up to cap - 1 bytes, NUL-ended)
 * into out; returns its exit status (-1 when it did not exit). */
static inline int spw_test_capture(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen failed: %s", cmd);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A temporary file in $TMPDIR (else /tmp) holding text (a probe file);
 * its name into path. The caller unlinks it. */
static inline void spw_test_write_tmp(char *path, size_t cap, const char *text)
{
    const char *t = getenv("TMPDIR");
    snprintf(path, cap, "%s/spw_probe_XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static inline int spw_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* For GPU suites: skip (77) without a GPU; otherwise run in-process, one
 * GPU suite at a time (an exclusive lock on $TMPDIR/spillway-gpu-tests.lock):
 * their default VRAM budget is 90% of the free device memory, so suites
 * started together by `make -j check` would take the device's memory from
 * each other and from the tests that prove with the auto backend (a driver
 * out-of-memory in a kernel launch, seen once on the H100 with -j16). */
static inline int spw_run_gpu_suite(Suite *s)
{
    if (!spw_cuda_available()) {
        fprintf(stderr, "no CUDA device (or CUDA not compiled in): skipping\n");
        return SPW_EXIT_SKIP;
    }
    const char *tmp = getenv("TMPDIR");
    char lock[512];
    snprintf(lock, sizeof lock, "%s/spillway-gpu-tests.lock", tmp && *tmp ? tmp : "/tmp");
    int fd = open(lock, O_CREAT | O_RDWR, 0666);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (fd >= 0) close(fd); /* releases the lock */
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
