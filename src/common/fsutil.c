/*
 * fsutil.c - complete I/O, mkdir -p and the durable publish (see fsutil.h).
 */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mfb_status fs_write_all(int fd, const void *buf, size_t len, const char *path,
                        struct mfb_error *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write '%s'", path);
        }
        p += n;
        len -= (size_t)n;
    }
    return MFB_OK;
}

mfb_status fs_pwrite_all(int fd, const void *buf, size_t len, uint64_t offset, const char *path,
                         struct mfb_error *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write '%s'", path);
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return MFB_OK;
}

mfb_status fs_read_full(int fd, void *buf, size_t len, size_t *got, const char *path,
                        struct mfb_error *err)
{
    char *p = buf;
    size_t total = 0;
    while (total < len) {
        ssize_t n = read(fd, p + total, len - total);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *got = total;
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", path);
        }
        if (n == 0)
            break;
        total += (size_t)n;
    }
    *got = total;
    return MFB_OK;
}

mfb_status fs_mkdir_p(const char *path, mode_t mode, struct mfb_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create directory '%s'", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create directory '%s'", buf);
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "'%s' exists and is not a directory", buf);
    return MFB_OK;
}

bool fs_dirname(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if ((n == 0 ? 2 : n + 1) > len)
        return false;
    if (n == 0)
        snprintf(buf, len, ".");
    else
        snprintf(buf, len, "%.*s", (int)n, path);
    return true;
}

mfb_status fs_fsync_dir_of(const char *path, bool is_dir, struct mfb_error *err)
{
    char dir[PATH_MAX];
    bool fits = is_dir ? snprintf(dir, sizeof(dir), "%s", path) < (int)sizeof(dir)
                       : fs_dirname(path, dir, sizeof(dir));
    if (!fits)
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open directory '%s'", dir);
    mfb_status st = MFB_OK;
    if (fsync(fd) != 0 && errno != EINVAL)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync directory '%s'", dir);
    close(fd);
    return st;
}

mfb_status fs_rename_noreplace(const char *oldpath, const char *newpath, struct mfb_error *err)
{
    if (renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, RENAME_NOREPLACE) == 0)
        return MFB_OK;
    if (errno == EEXIST)
        return mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", newpath);
    if (errno != EINVAL && errno != ENOSYS)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot rename '%s' to '%s'", oldpath,
                               newpath);
    /* The file system has no RENAME_NOREPLACE: link() fails on an existing name too. */
    if (link(oldpath, newpath) != 0) {
        if (errno == EEXIST)
            return mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", newpath);
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot rename '%s' to '%s'", oldpath,
                               newpath);
    }
    unlink(oldpath);
    return MFB_OK;
}

mfb_status fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                bool no_replace, struct mfb_error *err)
{
    /* Replacing is only for regular files mfb wrote itself: never a device,
     * a FIFO, a socket, a directory or a symbolic link someone put there
     * (rename would replace the link, not follow it, so /dev/null or a link
     * to it would become a regular file). */
    struct stat sb;
    if (!no_replace && lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_EXISTS,
                             "'%s' exists and is not a regular file; refusing to replace it", path);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", path);
    /* mkostemp creates a new file (O_EXCL): nothing that exists under the
     * temporary name, such as a planted symbolic link, is ever written. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create a temporary file for '%s'",
                               path);
    mfb_status st = fs_write_all(fd, data, len, tmp, err);
    if (st == MFB_OK && fchmod(fd, mode) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the mode of '%s'", tmp);
    if (st == MFB_OK && fsync(fd) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync '%s'", tmp);
    if (close(fd) != 0 && st == MFB_OK)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot close '%s'", tmp);
    if (st == MFB_OK) {
        if (no_replace)
            st = fs_rename_noreplace(tmp, path, err);
        else if (rename(tmp, path) != 0)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot rename '%s' to '%s'", tmp, path);
    }
    if (st != MFB_OK) {
        unlink(tmp);
        return st;
    }
    return fs_fsync_dir_of(path, false, err);
}

mfb_status fs_read_file(const char *path, size_t max_len, char **data, size_t *len,
                        struct mfb_error *err)
{
    *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    char *buf = malloc(max_len + 1);
    if (buf == NULL) {
        close(fd);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading '%s'", path);
    }
    size_t got;
    mfb_status st = fs_read_full(fd, buf, max_len + 1, &got, path, err);
    close(fd);
    if (st == MFB_OK && got > max_len)
        st = mfb_error_set(err, MFB_ERR_INVALID, "'%s' is larger than %zu bytes", path, max_len);
    if (st != MFB_OK) {
        free(buf);
        return st;
    }
    buf[got] = '\0';
    *data = buf;
    if (len != NULL)
        *len = got;
    return MFB_OK;
}

void fs_free_secret(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

mfb_status fs_read_secret(const char *path, char **secret, struct mfb_error *err)
{
    *secret = NULL;
    char *data = NULL;
    size_t len = 0;
    mfb_status st;
    if (strcmp(path, "-") == 0) {
        data = malloc(4097);
        if (data == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading a secret");
        st = fs_read_full(STDIN_FILENO, data, 4096, &len, "standard input", err);
        if (st != MFB_OK) {
            free(data);
            return st;
        }
        data[len] = '\0';
    } else {
        struct stat sb;
        if (stat(path, &sb) != 0)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read secret file '%s'", path);
        if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
            mfb_error_set(err, MFB_ERR_PERMISSION,
                          "secret file '%s' is readable by group or others (mode %04o)", path,
                          (unsigned)(sb.st_mode & 07777));
            mfb_error_hint(err, "run: chmod 600 '%s'", path);
            return MFB_ERR_PERMISSION;
        }
        st = fs_read_file(path, 4096, &data, &len, err);
        if (st != MFB_OK)
            return st;
    }
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (len == 0) {
        free(data);
        return mfb_error_set(err, MFB_ERR_INVALID, "the secret in '%s' is empty", path);
    }
    *secret = data;
    return MFB_OK;
}
