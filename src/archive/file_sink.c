/*
 * file_sink.c - durable archive output file (see file_sink.h).
 */
#include "archive/file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

static mfb_status sink_write(void *ctx, const void *buf, size_t len, struct mfb_error *err)
{
    struct file_sink *fs = ctx;
    return fs_write_all(fs->fd, buf, len, fs->tmp_path, err);
}

mfb_status file_sink_open(struct file_sink *fs, const char *path, struct archive_sink *sink,
                          struct mfb_error *err)
{
    memset(fs, 0, sizeof(*fs));
    fs->fd = -1;
    struct stat st;
    if (lstat(path, &st) == 0) {
        mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", path);
        mfb_error_hint(err, "remove it or choose another name; mfb never overwrites an archive");
        return MFB_ERR_EXISTS;
    }
    size_t len = strlen(path) + 32;
    fs->path = strdup(path);
    fs->tmp_path = malloc(len);
    if (fs->path == NULL || fs->tmp_path == NULL) {
        file_sink_close(fs);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    snprintf(fs->tmp_path, len, "%s.tmp.%ld", path, (long)getpid());
    fs->fd = open(fs->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fs->fd < 0) {
        mfb_status s = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", fs->tmp_path);
        free(fs->tmp_path);
        fs->tmp_path = NULL; /* not ours: do not remove it */
        file_sink_close(fs);
        return s;
    }
    if (fstat(fs->fd, &st) == 0) {
        fs->dev = (uint64_t)st.st_dev;
        fs->ino = (uint64_t)st.st_ino;
    }
    sink->write = sink_write;
    sink->ctx = fs;
    return MFB_OK;
}

mfb_status file_sink_publish(struct file_sink *fs, struct mfb_error *err)
{
    if (!fs->defer_sync && fsync(fs->fd) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync '%s'", fs->tmp_path);
    int fd = fs->fd;
    fs->fd = -1;
    if (close(fd) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot close '%s'", fs->tmp_path);
    mfb_status s = fs_rename_noreplace(fs->tmp_path, fs->path, err);
    if (s == MFB_ERR_EXISTS)
        mfb_error_hint(err, "another process created it meanwhile; the archive was not published");
    if (s != MFB_OK)
        return s;
    free(fs->tmp_path);
    fs->tmp_path = NULL;
    return fs->defer_sync ? MFB_OK : fs_fsync_dir_of(fs->path, false, err);
}

void file_sink_close(struct file_sink *fs)
{
    if (fs->fd >= 0)
        close(fs->fd);
    fs->fd = -1;
    if (fs->tmp_path)
        unlink(fs->tmp_path);
    free(fs->tmp_path);
    free(fs->path);
    fs->tmp_path = NULL;
    fs->path = NULL;
}
