/*
 * storage.c - partial files, durable publish and companions (see storage.h).
 */
#include "server/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/fsutil.h"

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
    snprintf(buf, len, "%s/" STORAGE_PARTIAL_DIR "/%s.part", root, upload_id);
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

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 || errno != ENOENT;
}

mfb_status storage_publish(const char *root, const char *reldir, const char *name, const char *from,
                           storage_publish_hook hook, void *ctx, char *rel_path, size_t rel_len,
                           char *final_name, size_t final_len, struct mfb_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s%s%s", root, reldir[0] ? "/" : "", reldir);
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

mfb_status storage_write_companions(const char *root, const char *rel_path, const char *final_name,
                                    const char *sha256_hex, const char *json, bool replace,
                                    struct mfb_error *err)
{
    char path[PATH_MAX + 16], line[PATH_MAX + 80];
    snprintf(path, sizeof(path), "%s/%s.sha256", root, rel_path);
    int n = snprintf(line, sizeof(line), "%s  %s\n", sha256_hex, final_name);
    mfb_status st = fs_write_file_atomic(path, line, (size_t)n, STORAGE_FILE_MODE, !replace, err);
    if (st != MFB_OK)
        return st;
    snprintf(path, sizeof(path), "%s/%s.json", root, rel_path);
    return fs_write_file_atomic(path, json, strlen(json), STORAGE_FILE_MODE, !replace, err);
}

mfb_status storage_delete_backup(const char *root, const char *rel_path, struct mfb_error *err)
{
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

mfb_status storage_free_bytes(const char *root, uint64_t *avail, uint64_t *total,
                              struct mfb_error *err)
{
    struct statvfs vfs;
    if (statvfs(root, &vfs) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat file system of '%s'", root);
    *avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (total)
        *total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    return MFB_OK;
}

mfb_status storage_max_file_bytes(const char *root, uint64_t *max, struct mfb_error *err)
{
    uint64_t avail = 0, total = 0;
    mfb_status st = storage_free_bytes(root, &avail, &total, err);
    if (st != MFB_OK)
        return st;
    *max = total;
    long bits = pathconf(root, _PC_FILESIZEBITS);
    /* A signed off_t of `bits` bits reaches 2^(bits-1) - 1. */
    if (bits > 1 && bits < 64 && *max > (1ULL << (bits - 1)) - 1)
        *max = (1ULL << (bits - 1)) - 1;
    return MFB_OK;
}
