/*
 * spool.c - job directories, sizes and removal in the spool (see spool.h).
 */
#include "job/spool.h"

#include <errno.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "proto/proto.h"

static mfb_status path_fmt(char *buf, size_t len, struct mfb_error *err, const char *spool,
                           int64_t job_id, const char *leaf)
{
    int n = snprintf(buf, len, "%s/job-%" PRId64 "%s%s", spool, job_id, leaf ? "/" : "",
                     leaf ? leaf : "");
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_INVALID, "spool path '%s' is too long", spool);
    return MFB_OK;
}

mfb_status spool_job_dir(const char *spool, int64_t job_id, char *buf, size_t len,
                         struct mfb_error *err)
{
    return path_fmt(buf, len, err, spool, job_id, NULL);
}

mfb_status spool_data_zip(const char *spool, int64_t job_id, char *buf, size_t len,
                          struct mfb_error *err)
{
    return path_fmt(buf, len, err, spool, job_id, SPOOL_DATA_ZIP);
}

mfb_status spool_snapshot_dir(const char *spool, int64_t job_id, char *buf, size_t len,
                              struct mfb_error *err)
{
    return path_fmt(buf, len, err, spool, job_id, SPOOL_SNAPSHOT_DIR);
}

mfb_status spool_record_write(const char *spool, int64_t job_id, const struct chunk_record *r,
                              struct mfb_error *err)
{
    char path[PATH_MAX];
    mfb_status st = path_fmt(path, sizeof(path), err, spool, job_id, SPOOL_RECORD);
    if (st != MFB_OK)
        return st;
    char *text = chunk_record_to_json(r);
    if (text == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for the chunk record");
    st = fs_write_file_atomic(path, text, strlen(text), 0600, false, err);
    free(text);
    return st;
}

mfb_status spool_record_read(const char *spool, int64_t job_id, uint64_t zip_size,
                             struct chunk_record *r, struct mfb_error *err)
{
    memset(r, 0, sizeof(*r));
    char path[PATH_MAX];
    mfb_status st = path_fmt(path, sizeof(path), err, spool, job_id, SPOOL_RECORD);
    if (st != MFB_OK)
        return st;
    struct stat sb;
    if (lstat(path, &sb) != 0 && errno == ENOENT)
        return mfb_error_set(err, MFB_ERR_NOT_FOUND, "'%s' has no chunk record", path);
    /* 64 hex digits, quotes and a comma per chunk of at least the
     * protocol's minimum, and the rest. */
    uint64_t max = proto_chunk_count(zip_size, PROTO_CHUNK_MIN) * 70 + 4096;
    if (max > (1ull << 31))
        max = 1ull << 31;
    char *text = NULL;
    size_t len = 0;
    st = fs_read_file(path, (size_t)max, &text, &len, err);
    if (st == MFB_ERR_INVALID) { /* larger than any record of this file */
        mfb_error_clear(err);
        st = mfb_error_set(err, MFB_ERR_CORRUPT, "the chunk record '%s' is damaged: too large",
                           path);
    }
    if (st == MFB_OK)
        st = chunk_record_parse(text, len, path, r, err);
    free(text);
    return st;
}

mfb_status spool_tree_bytes(const char *dir, uint64_t *bytes, struct mfb_error *err)
{
    char *const roots[] = {(char *)dir, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
    if (fts == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", dir);
    uint64_t total = 0;
    mfb_status st = MFB_OK;
    while (st == MFB_OK) {
        errno = 0;
        FTSENT *e = fts_read(fts);
        if (e == NULL) {
            if (errno != 0)
                st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", dir);
            break;
        }
        if (e->fts_info == FTS_F)
            total += (uint64_t)e->fts_statp->st_size;
        else if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR || e->fts_info == FTS_NS)
            st = mfb_error_errno(err, e->fts_errno, MFB_ERR_IO, "cannot read '%s'", e->fts_path);
    }
    fts_close(fts);
    if (st == MFB_OK)
        *bytes = total;
    return st;
}

mfb_status spool_free_bytes(const char *path, uint64_t *bytes, struct mfb_error *err)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the free space of '%s'", path);
    *bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return MFB_OK;
}

uint64_t spool_with_margin(uint64_t estimate)
{
    uint64_t margin = estimate / 100 * SPOOL_MARGIN_PERCENT;
    return estimate + (margin > SPOOL_MARGIN_MIN ? margin : SPOOL_MARGIN_MIN);
}

mfb_status spool_remove_tree(const char *path, struct mfb_error *err)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? MFB_OK
                               : mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", path);
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove '%s'", path);
        return MFB_OK;
    }
    char *const roots[] = {(char *)path, NULL};
    FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
    if (fts == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", path);
    mfb_status st = MFB_OK;
    FTSENT *e;
    while ((e = fts_read(fts)) != NULL) {
        int rc = 0;
        switch (e->fts_info) {
        case FTS_D:
            /* A directory without write or search permission (a snapshot of
             * a read-only tree) must be opened up before it can be emptied. */
            if ((e->fts_statp->st_mode & 0700) != 0700)
                chmod(e->fts_accpath, 0700);
            continue;
        case FTS_DP:
            rc = rmdir(e->fts_accpath);
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            errno = e->fts_errno;
            rc = -1;
            break;
        default:
            rc = unlink(e->fts_accpath);
        }
        if (rc != 0 && errno != ENOENT && st == MFB_OK)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove '%s'", e->fts_path);
    }
    fts_close(fts);
    return st;
}
