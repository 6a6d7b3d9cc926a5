/*
 * swap.c - moving directories aside and back (see swap.h).
 */
#include "job/restore/swap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"

void swap_stamp(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y%m%d-%H%M%S", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
}

mfb_status swap_sibling(const char *dir, const char *suffix, const char *stamp, char *out,
                        size_t len, struct mfb_error *err)
{
    int n = snprintf(out, len, "%s%s%s", dir, suffix, stamp);
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s%s%s'", dir, suffix, stamp);
    return MFB_OK;
}

/* The parent directory of path (which has no trailing slash). */
static void parent_of(const char *path, char *out, size_t len)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(out, len, "%s", dirname(copy));
}

bool swap_is_mount_point(const char *path)
{
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
        (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    char parent[PATH_MAX];
    parent_of(path, parent, sizeof(parent));
    struct stat a, b;
    if (lstat(path, &a) != 0 || stat(parent, &b) != 0)
        return false;
    return a.st_dev != b.st_dev || (a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

bool swap_dir_is_empty(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool empty = true;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return false;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

mfb_status swap_check(const char *dir, const char *aside, const char *what,
                      struct swap_state *state, struct mfb_error *err)
{
    memset(state, 0, sizeof(*state));
    char parent[PATH_MAX];
    parent_of(dir, parent, sizeof(parent));
    struct stat sb;
    if (lstat(dir, &sb) != 0) {
        if (errno != ENOENT)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "%s: cannot look at '%s'", what, dir);
        return MFB_OK; /* created by the extraction; fs_mkdir_p makes the parents */
    }
    if (S_ISLNK(sb.st_mode)) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED, "%s: '%s' is a symbolic link", what, dir);
        mfb_error_hint(err, "give the directory it points to with --map, so that the link "
                            "stays as it is");
        return MFB_ERR_UNSUPPORTED;
    }
    if (!S_ISDIR(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "%s: '%s' is not a directory", what, dir);
    state->exists = true;
    state->empty = swap_dir_is_empty(dir);
    if (swap_is_mount_point(dir)) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "%s: '%s' is a mount point, so it cannot be moved aside", what, dir);
        mfb_error_hint(err, "restore into a directory on that volume with --map (and point the "
                            "server at it), or extract with --to DIR and move the files yourself");
        return MFB_ERR_UNSUPPORTED;
    }
    if (access(parent, W_OK | X_OK) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_PERMISSION,
                               "%s: cannot move '%s' aside: its directory '%s' is not writable",
                               what, dir, parent);
    if (lstat(aside, &sb) == 0) {
        mfb_error_set(err, MFB_ERR_EXISTS, "%s: '%s' already exists", what, aside);
        mfb_error_hint(err, "an earlier restore started in the same second; try again");
        return MFB_ERR_EXISTS;
    }
    return MFB_OK;
}

mfb_status swap_move(const char *from, const char *to, struct mfb_error *err)
{
    int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        /* a file system without RENAME_NOREPLACE: look, then rename */
        struct stat sb;
        if (lstat(to, &sb) == 0)
            errno = EEXIST;
        else
            rc = rename(from, to);
    }
    if (rc != 0) {
        if (errno == EEXIST)
            return mfb_error_set(err, MFB_ERR_EXISTS, "cannot rename '%s': '%s' already exists",
                                 from, to);
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot rename '%s' to '%s'", from, to);
    }
    log_info("restore", "renamed=\"%s\" to=\"%s\"", from, to);
    return fs_fsync_dir_of(to, false, err);
}

mfb_status swap_free_space(const char *path, uint64_t *dev, uint64_t *free_bytes,
                           struct mfb_error *err)
{
    char probe[PATH_MAX];
    if (strlen(path) >= sizeof(probe))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", path);
    parent_of(path, probe, sizeof(probe));
    struct stat sb;
    while (stat(probe, &sb) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot look at '%s'", probe);
        char parent[PATH_MAX];
        parent_of(probe, parent, sizeof(parent));
        if (strcmp(parent, probe) == 0)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot look at '%s'", probe);
        snprintf(probe, sizeof(probe), "%s", parent);
    }
    if (!S_ISDIR(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID,
                             "'%s' cannot be created: '%s' is not a directory", path, probe);
    if (access(probe, W_OK | X_OK) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_PERMISSION,
                               "'%s' cannot be created: '%s' is not writable", path, probe);
    struct statvfs vfs;
    if (statvfs(probe, &vfs) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the free space of '%s'", probe);
    *dev = (uint64_t)sb.st_dev;
    *free_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    return MFB_OK;
}
