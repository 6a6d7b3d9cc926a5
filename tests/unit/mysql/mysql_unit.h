/*
 * mysql_unit.h - what the mysql_*_test.c files share: a scratch directory
 * under $MFB_TEST_TMP (or /tmp), and its removal, whatever it holds, in a
 * teardown (which cmocka runs even when the test failed).
 */
#ifndef MFB_TESTS_MYSQL_UNIT_H
#define MFB_TESTS_MYSQL_UNIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mysql/command.h"

/* Makes a fresh directory NAME_XXXXXX and writes its canonical path to out. */
static inline bool mysql_test_mkdtemp(const char *name, char *out, size_t len)
{
    const char *tmp = getenv("MFB_TEST_TMP");
    if (tmp == NULL)
        tmp = "/tmp";
    else
        mkdir(tmp, 0755);
    char dir[PATH_MAX], real[PATH_MAX];
    int n = snprintf(dir, sizeof(dir), "%s/%s_XXXXXX", tmp, name);
    if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL || realpath(dir, real) == NULL ||
        strlen(real) >= len)
        return false;
    memcpy(out, real, strlen(real) + 1);
    return true;
}

/* rm -rf path. */
static inline void mysql_test_rm_rf(const char *path)
{
    char cmd[PATH_MAX + 16];
    int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (n > 0 && (size_t)n < sizeof(cmd))
        mysql_command_run_shell(cmd, "cleanup", 60000, NULL, NULL, NULL);
}

#endif
