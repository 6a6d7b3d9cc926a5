/*
 * storage.c - the local partial files every driver stages chunks in, and
 * the storage_* functions that dispatch to the driver (see storage.h).
 */
#include "server/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "server/storage_internal.h"

mfb_status storage_init(const char *root, struct mfb_error *err)
{
    char partial[PATH_MAX];
    snprintf(partial, sizeof(partial), "%s/" STORAGE_PARTIAL_DIR, root);
    mfb_status st = fs_mkdir_p(root, STORAGE_DIR_MODE, err);
    if (st == MFB_OK)
        st = fs_mkdir_p(partial, 0700, err);
    return st;
}

/* Checks that `dir` is a directory. A missing one gets `missing_hint`:
 * the disk it lives on may not be mounted. Other failures (permissions,
 * I/O) are reported as the system says them. */
static mfb_status check_dir(const char *dir, const char *what, const char *missing_hint,
                            struct mfb_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return MFB_OK;
        mfb_error_set(err, MFB_ERR_IO, "%s '%s' is not a directory", what, dir);
        mfb_error_hint(err, "'mfb-server init' made it a directory; something replaced it");
        return MFB_ERR_IO;
    }
    if (errno != ENOENT && errno != ENOTDIR)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot use %s '%s'", what, dir);
    mfb_error_set(err, MFB_ERR_NOT_FOUND, "%s '%s' is missing", what, dir);
    mfb_error_hint(err, "%s", missing_hint);
    return MFB_ERR_NOT_FOUND;
}

mfb_status storage_check(const char *root, struct mfb_error *err)
{
    mfb_status st = check_dir(root, "the storage directory",
                              "if it is on a disk of its own, mount it: backups are written only "
                              "into the directory 'mfb-server init' made",
                              err);
    if (st != MFB_OK)
        return st;
    char partial[PATH_MAX], hint[PATH_MAX + 160];
    snprintf(partial, sizeof(partial), "%s/" STORAGE_PARTIAL_DIR, root);
    snprintf(hint, sizeof(hint),
             "this is not the storage 'mfb-server init' made: if its disk is not mounted, mount "
             "it; to start an empty storage there: mkdir -m 0700 '%s'",
             partial);
    return check_dir(partial, "the uploads directory", hint, err);
}

void storage_partial_path(const char *root, const char *upload_id, char *buf, size_t len)
{
    if (snprintf(buf, len, "%s/" STORAGE_PARTIAL_DIR "/%s.part", root, upload_id) >= (int)len)
        buf[0] = '\0'; /* names nothing: every use fails cleanly */
}

mfb_status storage_partial_create(const char *root, const char *upload_id, struct mfb_error *err)
{
    char path[PATH_MAX];
    storage_partial_path(root, upload_id, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", path);
    close(fd);
    return fs_fsync_dir_of(path, false, err);
}

void storage_partial_remove(const char *root, const char *upload_id)
{
    char path[PATH_MAX];
    storage_partial_path(root, upload_id, path, sizeof(path));
    unlink(path);
}

void storage_candidate_name(const char *name, unsigned attempt, char *buf, size_t len)
{
    if (attempt == 0) {
        snprintf(buf, len, "%s", name);
        return;
    }
    const char *dot = strrchr(name, '.');
    if (dot == NULL || dot == name)
        snprintf(buf, len, "%s-%u", name, attempt);
    else
        snprintf(buf, len, "%.*s-%u%s", (int)(dot - name), name, attempt, dot);
}

mfb_status storage_open(const struct storage_config *cfg, struct storage **out,
                        struct mfb_error *err)
{
    *out = NULL;
    if (cfg->s3 != NULL)
        return storage_s3_open(cfg, out, err);
    struct storage *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    st->ops = &storage_file_ops;
    snprintf(st->root, sizeof(st->root), "%s", cfg->root);
    *out = st;
    return MFB_OK;
}

void storage_close(struct storage *st)
{
    if (st == NULL)
        return;
    if (st->ops->close)
        st->ops->close(st);
    else
        free(st);
}

const char *storage_kind(const struct storage *st)
{
    return st->ops->kind;
}

mfb_status storage_probe(struct storage *st, struct mfb_error *err)
{
    return st->ops->probe ? st->ops->probe(st, err) : MFB_OK;
}

void storage_chunk_limits(const struct storage *st, uint64_t *min_chunk, uint64_t *max_chunks)
{
    *min_chunk = st->ops->min_chunk;
    *max_chunks = st->ops->max_chunks;
}

mfb_status storage_upload_open(struct storage *st, const char *upload_id, struct mfb_error *err)
{
    mfb_status s = storage_partial_create(st->root, upload_id, err);
    if (s == MFB_OK && st->ops->upload_open != NULL) {
        s = st->ops->upload_open(st, upload_id, err);
        if (s != MFB_OK)
            storage_partial_remove(st->root, upload_id);
    }
    return s;
}

mfb_status storage_chunk_commit(struct storage *st, const char *upload_id, uint64_t index,
                                uint64_t off, uint64_t len, const uint8_t *sha256,
                                struct mfb_error *err)
{
    if (st->ops->chunk_commit == NULL)
        return MFB_OK;
    return st->ops->chunk_commit(st, upload_id, index, off, len, sha256, err);
}

void storage_upload_abort(struct storage *st, const char *upload_id)
{
    if (st->ops->upload_abort != NULL)
        st->ops->upload_abort(st, upload_id);
    storage_partial_remove(st->root, upload_id);
}

bool storage_upload_published(struct storage *st, const char *upload_id)
{
    char path[PATH_MAX];
    struct stat sb;
    storage_partial_path(st->root, upload_id, path, sizeof(path));
    return stat(path, &sb) != 0;
}

mfb_status storage_publish(struct storage *st, const char *upload_id, uint64_t size,
                           const char *reldir, const char *name, storage_publish_hook hook,
                           void *ctx, char *rel_path, size_t rel_len, char *final_name,
                           size_t final_len, struct mfb_error *err)
{
    char part[PATH_MAX];
    storage_partial_path(st->root, upload_id, part, sizeof(part));
    /* Cut anything past the size (a chunk half-written before a crash). */
    if (truncate(part, (off_t)size) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot truncate '%s'", part);
    return st->ops->publish(st, upload_id, size, reldir, name, hook, ctx, rel_path, rel_len,
                            final_name, final_len, err);
}

mfb_status storage_write_companions(struct storage *st, const char *rel_path,
                                    const char *final_name, const char *sha256_hex,
                                    const char *json, bool replace, struct mfb_error *err)
{
    char path[PATH_MAX + 16], line[PATH_MAX + 80];
    snprintf(path, sizeof(path), "%s.sha256", rel_path);
    int n = snprintf(line, sizeof(line), "%s  %s\n", sha256_hex, final_name);
    mfb_status s = st->ops->write_file(st, path, line, (size_t)n, replace, err);
    if (s != MFB_OK)
        return s;
    snprintf(path, sizeof(path), "%s.json", rel_path);
    return st->ops->write_file(st, path, json, strlen(json), replace, err);
}

mfb_status storage_read_json(struct storage *st, const char *rel_path, char **text,
                             struct mfb_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s.json", rel_path);
    return st->ops->read_file(st, path, text, err);
}

mfb_status storage_delete_backup(struct storage *st, const char *rel_path, struct mfb_error *err)
{
    return st->ops->delete_backup(st, rel_path, err);
}

mfb_status storage_claim_delete(struct storage *st, const char *backup_id, struct mfb_error *err)
{
    return st->ops->claim_delete ? st->ops->claim_delete(st, backup_id, err) : MFB_OK;
}

mfb_status storage_delete_claimed(struct storage *st, const char *backup_id, bool *claimed,
                                  struct mfb_error *err)
{
    *claimed = false;
    return st->ops->delete_claimed ? st->ops->delete_claimed(st, backup_id, claimed, err) : MFB_OK;
}

bool storage_shared(const struct storage *st)
{
    return st->ops->claim_delete != NULL;
}

mfb_status storage_read_open(struct storage *st, const char *rel_path, struct storage_read *r,
                             struct mfb_error *err)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    return st->ops->read_open(st, rel_path, r, err);
}

void storage_read_close(struct storage_read *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->close != NULL)
        r->close(r->ctx);
    r->close = NULL;
    r->ctx = NULL;
}

mfb_status storage_list(struct storage *st, storage_list_fn fn, void *ctx, struct mfb_error *err)
{
    return st->ops->list(st, fn, ctx, err);
}

mfb_status storage_free_bytes(struct storage *st, uint64_t *avail, uint64_t *total,
                              struct mfb_error *err)
{
    return st->ops->free_bytes(st, avail, total, err);
}

mfb_status storage_upload_room(struct storage *st, uint64_t *avail, uint64_t *total,
                               struct mfb_error *err)
{
    struct statvfs vfs;
    if (statvfs(st->root, &vfs) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat file system of '%s'", st->root);
    *avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (total)
        *total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    return MFB_OK;
}

mfb_status storage_max_file_bytes(struct storage *st, uint64_t *max, struct mfb_error *err)
{
    return st->ops->max_file_bytes(st, max, err);
}
