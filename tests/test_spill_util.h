/*
 * test_spill_util.h - helpers shared by the spill-layer suites: a fresh
 * spill directory under $TMPDIR (or /tmp) and the check that it is empty
 * again afterwards (spill files must never be left behind).
 */
#ifndef SPW_TEST_SPILL_UTIL_H
#define SPW_TEST_SPILL_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *spill_test_dir(void)
{
    const char *t = getenv("TMPDIR");
    if (!t || !*t) t = "/tmp";
    size_t n = strlen(t) + 32;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s/spw-spill-XXXXXX", t);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Number of entries in dir besides . and .. (-1 on error). */
static inline int spill_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Checks the directory is empty, removes it, frees the name; returns the
 * number of entries that were left. */
static inline int spill_dir_done(char *dir)
{
    int n = spill_dir_entries(dir);
    rmdir(dir);
    free(dir);
    return n;
}

#endif
