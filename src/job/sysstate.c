/*
 * sysstate.c - the machine's state for a failed job's log (see sysstate.h).
 *
 * statvfs for free space (as an unprivileged user sees it: f_bavail),
 * getloadavg, MemAvailable from /proc/meminfo, and the entries of
 * /proc/self/fd. Linux-only sources are read if present and shown as "?"
 * otherwise; nothing here can fail the job that asks.
 */
#include "job/sysstate.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/parse.h"

static const char *free_space(const char *path, char *buf, size_t len)
{
    struct statvfs vfs;
    if (path == NULL || path[0] == '\0' || statvfs(path, &vfs) != 0)
        return "?";
    return format_size((uint64_t)vfs.f_bavail * vfs.f_frsize, buf, len);
}

static const char *mem_available(char *buf, size_t len)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f == NULL)
        return "?";
    char line[256];
    const char *out = "?";
    unsigned long long kib = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
            out = format_size((uint64_t)kib * 1024, buf, len);
            break;
        }
    fclose(f);
    return out;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

const char *sysstate_describe(const char *spool, const char *datadir, char *buf, size_t len)
{
    char s[32], d[32], m[32], load[64] = "?", fds[24] = "?";
    double avg[3];
    if (getloadavg(avg, 3) == 3)
        snprintf(load, sizeof(load), "%.2f/%.2f/%.2f", avg[0], avg[1], avg[2]);
    long n = open_fds();
    if (n >= 0)
        snprintf(fds, sizeof(fds), "%ld", n);
    snprintf(buf, len, "spool_free=%s datadir_free=%s load=%s mem_available=%s open_fds=%s",
             free_space(spool, s, sizeof(s)), free_space(datadir, d, sizeof(d)), load,
             mem_available(m, sizeof(m)), fds);
    return buf;
}
