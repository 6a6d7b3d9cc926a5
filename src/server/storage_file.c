/*
 * storage_file.c - the file driver: published backups in the storage
 * directory (see storage.h). The partial file lives on the same file
 * system as the published files, so publishing is a rename, never a copy:
 * the partial file is already fsynced chunk by chunk; it is made
 * read-only, renamed without replacing anything (a -1, -2 ... suffix
 * before the extension if the name is taken), and the directories are
 * fsynced.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "server/storage_internal.h"

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 || errno != ENOENT;
}

static mfb_status file_publish(struct storage *sto, const char *upload_id, uint64_t size,
                               const char *reldir, const char *name, storage_publish_hook hook,
                               void *ctx, char *rel_path, size_t rel_len, char *final_name,
                               size_t final_len, struct mfb_error *err)
{
    (void)size;
    const char *root = sto->root;
    char dir[PATH_MAX], from[PATH_MAX];
    storage_partial_path(root, upload_id, from, sizeof(from));
    if (snprintf(dir, sizeof(dir), "%s%s%s", root, reldir[0] ? "/" : "", reldir) >=
        (int)sizeof(dir))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long in '%s'", root);
    mfb_status st = fs_mkdir_p(dir, STORAGE_DIR_MODE, err);
    if (st != MFB_OK)
        return st;
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", from);
    if (fchmod(fd, STORAGE_FILE_MODE) != 0 || fsync(fd) != 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot seal '%s'", from);
        close(fd);
        return st;
    }
    close(fd);
    for (unsigned attempt = 0; attempt < 10000; attempt++) {
        char candidate[PATH_MAX], target[PATH_MAX], side[PATH_MAX + 16];
        storage_candidate_name(name, attempt, candidate, sizeof(candidate));
        if (snprintf(target, sizeof(target), "%s/%s", dir, candidate) >= (int)sizeof(target))
            return mfb_error_set(err, MFB_ERR_INVALID, "path too long in '%s'", dir);
        /* The companions must be free too, or a later write would fail. */
        snprintf(side, sizeof(side), "%s.sha256", target);
        if (exists(side))
            continue;
        snprintf(side, sizeof(side), "%s.json", target);
        if (exists(side))
            continue;
        char rel[PATH_MAX];
        if (snprintf(rel, sizeof(rel), "%s%s%s", reldir, reldir[0] ? "/" : "", candidate) >=
            (int)sizeof(rel))
            return mfb_error_set(err, MFB_ERR_INVALID, "path too long in '%s'", dir);
        if (hook != NULL) {
            struct mfb_error taken = {0};
            st = hook(ctx, rel, &taken);
            if (st == MFB_ERR_EXISTS) /* in the catalog: the name is not free */
                continue;
            if (st != MFB_OK)
                return mfb_error_copy(err, &taken);
        }
        struct mfb_error local = {0};
        st = fs_rename_noreplace(from, target, &local);
        if (st == MFB_ERR_EXISTS)
            continue;
        if (st != MFB_OK)
            return mfb_error_copy(err, &local);
        snprintf(final_name, final_len, "%s", candidate);
        snprintf(rel_path, rel_len, "%s", rel);
        st = fs_fsync_dir_of(target, false, err);
        if (st == MFB_OK)
            st = fs_fsync_dir_of(from, false, err);
        return st;
    }
    return mfb_error_set(err, MFB_ERR_EXISTS, "no free name for '%s' in '%s'", name, dir);
}

static mfb_status file_write_file(struct storage *st, const char *rel_path, const char *data,
                                  size_t len, bool replace, struct mfb_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", st->root, rel_path);
    return fs_write_file_atomic(path, data, len, STORAGE_FILE_MODE, !replace, err);
}

static mfb_status file_read_file(struct storage *st, const char *rel_path, char **text,
                                 struct mfb_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", st->root, rel_path);
    *text = NULL;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    buf[len] = '\0';
    *text = buf;
    return MFB_OK;
}

static mfb_status file_delete_backup(struct storage *st, const char *rel_path,
                                     struct mfb_error *err)
{
    const char *root = st->root;
    char path[PATH_MAX + 16];
    static const char *const suffixes[] = {".sha256", ".json", ""};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s%s", root, rel_path, suffixes[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot delete '%s'", path);
    }
    snprintf(path, sizeof(path), "%s/%s", root, rel_path);
    fs_fsync_dir_of(path, false, NULL);
    /* Remove directories the deletion left empty, up to (not including) the root. */
    size_t root_len = strlen(root);
    for (;;) {
        char *slash = strrchr(path, '/');
        if (slash == NULL || (size_t)(slash - path) <= root_len)
            break;
        *slash = '\0';
        if (rmdir(path) != 0)
            break;
    }
    return MFB_OK;
}

static mfb_status file_free_bytes(struct storage *st, uint64_t *avail, uint64_t *total,
                                  struct mfb_error *err)
{
    const char *root = st->root;
    struct statvfs vfs;
    if (statvfs(root, &vfs) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat file system of '%s'", root);
    *avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (total)
        *total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    return MFB_OK;
}

static mfb_status file_max_file_bytes(struct storage *sto, uint64_t *max, struct mfb_error *err)
{
    const char *root = sto->root;
    uint64_t avail = 0, total = 0;
    mfb_status st = file_free_bytes(sto, &avail, &total, err);
    if (st != MFB_OK)
        return st;
    *max = total;
    long bits = pathconf(root, _PC_FILESIZEBITS);
    /* A signed off_t of `bits` bits reaches 2^(bits-1) - 1. */
    if (bits > 1 && bits < 64 && *max > (1ULL << (bits - 1)) - 1)
        *max = (1ULL << (bits - 1)) - 1;
    return MFB_OK;
}

static mfb_status file_read_open(struct storage *st, const char *rel_path, struct storage_read *r,
                                 struct mfb_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", st->root, rel_path) >= (int)sizeof(path))
        return mfb_error_set(err, MFB_ERR_INVALID, "path too long in '%s'", st->root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        mfb_status s = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
        if (fd >= 0)
            close(fd);
        return s == MFB_ERR_NO_SPACE ? MFB_ERR_IO : s;
    }
    r->fd = fd;
    r->size = (uint64_t)sb.st_size;
    return MFB_OK;
}

/* nftw has no context pointer: the walk's state is per thread. */
static _Thread_local struct {
    size_t root_len;
    storage_list_fn fn;
    void *ctx;
} walk;

static int list_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && strcmp(path + walk.root_len, "/" STORAGE_PARTIAL_DIR) == 0)
        return FTW_SKIP_SUBTREE;
    size_t len = strlen(path);
    if (type != FTW_F || (len > 5 && strcmp(path + len - 5, ".json") == 0) ||
        (len > 7 && strcmp(path + len - 7, ".sha256") == 0))
        return FTW_CONTINUE;
    char side[PATH_MAX + 8];
    struct stat jb;
    snprintf(side, sizeof(side), "%s.json", path);
    if (stat(side, &jb) == 0)
        walk.fn(walk.ctx, path + walk.root_len + 1, (uint64_t)sb->st_size);
    return FTW_CONTINUE;
}

static mfb_status file_list(struct storage *st, storage_list_fn fn, void *ctx,
                            struct mfb_error *err)
{
    walk.root_len = strlen(st->root);
    walk.fn = fn;
    walk.ctx = ctx;
    if (nftw(st->root, list_one, 32, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot list '%s'", st->root);
    return MFB_OK;
}

const struct storage_ops storage_file_ops = {
    .kind = "file",
    .probe = NULL,
    .min_chunk = 0,
    .max_chunks = 0,
    .publish = file_publish,
    .write_file = file_write_file,
    .read_file = file_read_file,
    .delete_backup = file_delete_backup,
    .read_open = file_read_open,
    .list = file_list,
    .free_bytes = file_free_bytes,
    .max_file_bytes = file_max_file_bytes,
};
