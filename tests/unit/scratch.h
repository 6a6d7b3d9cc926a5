/*
 * scratch.h - the scratch directory of a unit test: made fresh under
 * $MFB_TEST_TMP (or /tmp), and removed with everything under it, also
 * directories a test left without write or search permission. One copy
 * for every test, instead of a mkdtemp and a `system("rm -rf")` in each.
 */
#ifndef MFB_TESTS_SCRATCH_H
#define MFB_TESTS_SCRATCH_H

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes a fresh directory NAME-XXXXXX and writes its canonical path to out
 * (len bytes). Returns false when it cannot. */
static inline bool unit_scratch_dir(const char *name, char *out, size_t len)
{
    const char *base = getenv("MFB_TEST_TMP");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    mkdir(base, 0755);
    char dir[PATH_MAX], real[PATH_MAX];
    int n = snprintf(dir, sizeof(dir), "%s/%s-XXXXXX", base, name);
    if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL || realpath(dir, real) == NULL ||
        strlen(real) >= len)
        return false;
    memcpy(out, real, strlen(real) + 1);
    return true;
}

static inline int unit_open_dir(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR)
        chmod(path, 0700);
    return 0;
}

static inline int unit_remove_entry(const char *path, const struct stat *st, int flag,
                                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes path and everything under it (rm -rf, without a shell). Returns
 * 0, also when path does not exist. */
static inline int unit_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        nftw(path, unit_open_dir, 16, FTW_PHYS); /* first: every directory searchable */
    return nftw(path, unit_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
