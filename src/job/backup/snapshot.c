/*
 * snapshot.c - copy a directory tree with reflinks where possible (see
 * snapshot.h).
 *
 * The walk is recursive over open directory descriptors (openat, fstatat,
 * mkdirat), so paths are only rebuilt for messages and the depth of a tree
 * costs no path length. A directory's own mode and times are set after its
 * contents are copied, otherwise writing the contents would change the
 * times again, and a read-only mode would stop the copy.
 */
#include "job/backup/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

struct copy {
    const struct snapshot_options *opt;
    struct snapshot_stats *stats;
    bool clone_refused; /* stop trying FICLONE after the filesystem said no */
    uint8_t *buf;       /* read/write fallback, allocated on first use */
};

static bool cancelled(const struct copy *c)
{
    return c->opt && c->opt->cancel && atomic_load(c->opt->cancel);
}

static void progress(const struct copy *c)
{
    if (c->opt && c->opt->progress)
        c->opt->progress(c->opt->progress_ctx, c->stats->bytes);
}

/* Owner, mode and times of st onto fd (a regular file). */
static mfb_status copy_meta_fd(int fd, const struct stat *st, const char *path,
                               struct mfb_error *err)
{
    /* An unprivileged copy cannot give files away; keep going as the
     * archive would (it records the original owners from the scan). */
    if (fchown(fd, st->st_uid, st->st_gid) != 0 && errno != EPERM)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the owner of '%s'", path);
    if (fchmod(fd, st->st_mode & 07777) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the mode of '%s'", path);
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (futimens(fd, times) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the times of '%s'", path);
    return MFB_OK;
}

static mfb_status copy_bytes_rw(struct copy *c, int in, int out, const char *path,
                                struct mfb_error *err)
{
    if (c->buf == NULL && (c->buf = malloc(SNAPSHOT_BLOCK)) == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (;;) {
        if (cancelled(c))
            return mfb_error_set(err, MFB_ERR_CANCELLED, "snapshot cancelled");
        size_t got = 0;
        mfb_status st = fs_read_full(in, c->buf, SNAPSHOT_BLOCK, &got, path, err);
        if (st != MFB_OK)
            return st;
        if (got == 0)
            return MFB_OK;
        st = fs_write_all(out, c->buf, got, path, err);
        if (st != MFB_OK)
            return st;
        c->stats->bytes += got;
        progress(c);
        if (got < SNAPSHOT_BLOCK)
            return MFB_OK;
    }
}

/* The bytes of in to out: clone, else copy_file_range, else read/write. */
static mfb_status copy_bytes(struct copy *c, int in, int out, uint64_t size, const char *path,
                             struct mfb_error *err)
{
    bool try_clone = !c->clone_refused && !(c->opt && c->opt->no_clone);
    if (try_clone && size > 0) {
        if (ioctl(out, FICLONE, in) == 0) {
            c->stats->cloned++;
            c->stats->bytes += size;
            progress(c);
            return MFB_OK;
        }
        /* EOPNOTSUPP/ENOTTY: not a reflink filesystem; EXDEV: another one;
         * EINVAL: a filesystem that clones only aligned ranges. */
        if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL ||
            errno == ENOSYS || errno == EPERM)
            c->clone_refused = true;
        else
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot clone '%s'", path);
    }
    uint64_t done = 0;
    while (done < size) {
        if (cancelled(c))
            return mfb_error_set(err, MFB_ERR_CANCELLED, "snapshot cancelled");
        uint64_t step = size - done < SNAPSHOT_KERNEL_STEP ? size - done : SNAPSHOT_KERNEL_STEP;
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)step, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
                      errno == EPERM)) {
            /* Both offsets moved together, so read/write carries on. */
            return copy_bytes_rw(c, in, out, path, err);
        }
        if (n < 0)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot copy '%s'", path);
        if (n == 0)
            break; /* the file shrank: a running server, which the caller excluded */
        done += (uint64_t)n;
        c->stats->bytes += (uint64_t)n;
        progress(c);
    }
    /* The file may have grown since the scan; copy the rest in blocks. */
    return copy_bytes_rw(c, in, out, path, err);
}

static mfb_status copy_file(struct copy *c, int sdir, int ddir, const char *name,
                            const struct stat *st, const char *path, struct mfb_error *err)
{
    int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    mfb_status st_ = MFB_OK;
    int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        st_ = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create the copy of '%s'", path);
        goto done;
    }
    st_ = copy_bytes(c, in, out, (uint64_t)st->st_size, path, err);
    if (st_ == MFB_OK)
        st_ = copy_meta_fd(out, st, path, err);
    c->stats->files++;
done:
    if (out >= 0 && close(out) != 0 && st_ == MFB_OK)
        st_ = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write the copy of '%s'", path);
    close(in);
    return st_;
}

static mfb_status copy_symlink(struct copy *c, int sdir, int ddir, const char *name,
                               const struct stat *st, const char *path, struct mfb_error *err)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
    if (n < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the link '%s'", path);
    target[n] = '\0';
    if (symlinkat(target, ddir, name) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot copy the link '%s'", path);
    if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the owner of '%s'", path);
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the times of '%s'", path);
    c->stats->symlinks++;
    return MFB_OK;
}

static mfb_status copy_dir(struct copy *c, int sfd, int dfd, const char *path,
                           struct mfb_error *err);

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the contents of the open directory sfd into dfd. */
static mfb_status copy_dir(struct copy *c, int sfd, int dfd, const char *path,
                           struct mfb_error *err)
{
    int lfd = dup(sfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        if (lfd >= 0)
            close(lfd);
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the directory '%s'", path);
    }
    /* Names first, sorted, so the copy's order does not depend on readdir. */
    char **names = NULL;
    size_t count = 0, cap = 0;
    mfb_status st = MFB_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **n = realloc(names, ncap * sizeof(*n));
            if (n == NULL) {
                st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                break;
            }
            names = n;
            cap = ncap;
        }
        if ((names[count] = strdup(de->d_name)) == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        count++;
        errno = 0;
    }
    if (st == MFB_OK && errno != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the directory '%s'", path);
    closedir(d);
    if (st == MFB_OK && count > 1)
        qsort(names, count, sizeof(*names), compare_names);

    for (size_t i = 0; st == MFB_OK && i < count; i++) {
        if (cancelled(c)) {
            st = mfb_error_set(err, MFB_ERR_CANCELLED, "snapshot cancelled");
            break;
        }
        char child[PATH_MAX];
        snprintf(child, sizeof(child), "%s/%s", path, names[i]);
        struct stat sb;
        if (fstatat(sfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", child);
            break;
        }
        if (S_ISREG(sb.st_mode)) {
            st = copy_file(c, sfd, dfd, names[i], &sb, child, err);
        } else if (S_ISLNK(sb.st_mode)) {
            st = copy_symlink(c, sfd, dfd, names[i], &sb, child, err);
        } else if (S_ISDIR(sb.st_mode)) {
            if (mkdirat(dfd, names[i], 0700) != 0) {
                st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create the copy of '%s'",
                                     child);
                break;
            }
            int s2 = openat(sfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int d2 = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open the directory '%s'",
                                     child);
            else
                st = copy_dir(c, s2, d2, child, err);
            if (st == MFB_OK)
                st = copy_meta_fd(d2, &sb, child, err);
            if (s2 >= 0)
                close(s2);
            if (d2 >= 0)
                close(d2);
            c->stats->dirs++;
        } else {
            c->stats->skipped++;
        }
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return st;
}

mfb_status snapshot_copy_tree(const char *src, const char *dst,
                              const struct snapshot_options *options, struct snapshot_stats *stats,
                              struct mfb_error *err)
{
    struct copy c = {.opt = options, .stats = stats};
    int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open the directory '%s'", src);
    int dfd = -1;
    mfb_status st = MFB_OK;
    struct stat sb;
    if (fstat(sfd, &sb) != 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", src);
        goto done;
    }
    if (mkdir(dst, 0700) != 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create the snapshot directory '%s'",
                             dst);
        goto done;
    }
    dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", dst);
        goto done;
    }
    st = copy_dir(&c, sfd, dfd, src, err);
    /* No fsync: the copy is read back at once from the page cache, and
     * after a crash it would be worthless anyway (the server runs again). */
    if (st == MFB_OK)
        st = copy_meta_fd(dfd, &sb, src, err);
    stats->dirs++;
done:
    if (dfd >= 0)
        close(dfd);
    close(sfd);
    free(c.buf);
    return st;
}
