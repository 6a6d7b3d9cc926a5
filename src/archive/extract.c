/*
 * extract.c - safe extraction (see extract.h).
 *
 * Paths are never resolved by the kernel from the target directory down:
 * each component is opened relative to its parent with O_NOFOLLOW, so a
 * symlink anywhere on the way stops the extraction instead of redirecting
 * it. That is the guarantee; the up-front checks only make a hostile
 * archive fail before it has written anything.
 */
#include "archive/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/reader_internal.h"
#include "archive/zipfmt.h"
#include "common/fsutil.h"
#include "common/log.h"

#define ZIP_NAME_BUF (ZIP_MAX16 + 2)
#define MAX_THREADS 16

struct extractor {
    struct archive_reader *r;
    const char *dir;
    int root_fd;
    bool owners;
    const char *prefix; /* NULL: every entry */
    size_t prefix_len;
    const struct archive_extract_options *o; /* never NULL */
    struct archive_extract_summary sum;
};

unsigned archive_extract_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
}

bool archive_name_safe(const char *name, size_t len)
{
    if (len == 0 || name[0] == '/' || memchr(name, '\0', len) != NULL)
        return false;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        if (j - i == 2 && name[i] == '.' && name[i + 1] == '.')
            return false;
        i = j + 1;
    }
    return true;
}

/* Copies name without empty and "." components and without a trailing '/'.
 * Returns the length ("" means the target directory itself). */
static size_t normalize(const char *name, size_t len, char *out)
{
    size_t o = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        size_t n = j - i;
        if (n > 0 && !(n == 1 && name[i] == '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, name + i, n);
            o += n;
        }
        i = j + 1;
    }
    out[o] = '\0';
    return o;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Refuses, before anything is written, names that would escape the target. */
static mfb_status precheck(struct archive_reader *r, size_t skip, struct mfb_error *err)
{
    char **links = calloc(r->count ? r->count : 1, sizeof(char *));
    char *norm = malloc(ZIP_NAME_BUF);
    size_t nlinks = 0;
    mfb_status s = MFB_OK;
    if (links == NULL || norm == NULL) {
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->count && s == MFB_OK; i++) {
        const struct archive_entry *e = &r->entries[i];
        if (!archive_name_safe(e->name, e->name_len)) {
            s = entry_error(err, e, MFB_ERR_INVALID,
                            "unsafe path (absolute or with '..'); refusing to extract");
            mfb_error_hint(err, "the archive may be hostile; nothing was extracted");
        } else if (e->type == ARCHIVE_ENTRY_SYMLINK && i != skip) {
            normalize(e->name, e->name_len, norm);
            if ((links[nlinks] = strdup(norm)) == NULL)
                s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
            else
                nlinks++;
        }
    }
    if (s != MFB_OK || nlinks == 0)
        goto done;
    qsort(links, nlinks, sizeof(char *), compare_strings);
    for (size_t i = 0; i < r->count && s == MFB_OK; i++) {
        const struct archive_entry *e = &r->entries[i];
        size_t len = normalize(e->name, e->name_len, norm);
        for (size_t k = 0; k < len && s == MFB_OK; k++) {
            if (norm[k] != '/')
                continue;
            norm[k] = '\0';
            const char *key = norm;
            if (bsearch(&key, links, nlinks, sizeof(char *), compare_strings)) {
                s = entry_error(err, e, MFB_ERR_INVALID,
                                "its path goes through the symlink '%s' stored in the archive; "
                                "refusing to extract",
                                norm);
                mfb_error_hint(err, "the archive may be hostile; nothing was extracted");
            }
            norm[k] = '/';
        }
    }
done:
    for (size_t i = 0; i < nlinks; i++)
        free(links[i]);
    free(links);
    free(norm);
    return s;
}

/* Opens, creating as needed, every directory of path but the last component,
 * never following a symlink. *parent is root_fd or a descriptor to close;
 * *last points into path. path is modified. */
static mfb_status open_parent(struct extractor *x, const struct archive_entry *e, char *path,
                              int *parent, char **last, struct mfb_error *err)
{
    int fd = x->root_fd;
    char *comp = path;
    for (;;) {
        char *slash = strchr(comp, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
                int saved = errno;
                if (fd != x->root_fd)
                    close(fd);
                return mfb_error_errno(err, saved, MFB_ERR_IO,
                                       "entry '%s': cannot create directory '%s/%s'", e->name,
                                       x->dir, path);
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        if (fd != x->root_fd)
            close(fd);
        if (next < 0) {
            if (saved == ELOOP || saved == ENOTDIR) {
                mfb_error_set(err, MFB_ERR_INVALID,
                              "entry '%s': refusing to write through '%s', which is a symlink or "
                              "not a directory",
                              e->name, path);
                mfb_error_hint(err,
                               "the archive may be hostile, or '%s' already holds other "
                               "files; extract into an empty directory",
                               x->dir);
                return MFB_ERR_INVALID;
            }
            return mfb_error_errno(err, saved, MFB_ERR_IO, "entry '%s': cannot open '%s'", e->name,
                                   path);
        }
        *slash = '/';
        fd = next;
        comp = slash + 1;
    }
    *parent = fd;
    *last = comp;
    return MFB_OK;
}

static mfb_status exists_error(struct extractor *x, const struct archive_entry *e,
                               struct mfb_error *err)
{
    mfb_error_set(err, MFB_ERR_EXISTS, "entry '%s': '%s/%s' already exists", e->name, x->dir,
                  e->name);
    mfb_error_hint(err, "extract into an empty directory; mfb never overwrites files");
    return MFB_ERR_EXISTS;
}

static void entry_times(const struct archive_entry *e, struct timespec ts[2])
{
    ts[0].tv_sec = ts[1].tv_sec = (time_t)e->mtime;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
}

/* Owner first: chown clears set-user-ID bits, which the mode then restores. */
/* The owner an entry gets: the options' one, else the archived one. */
static bool entry_owner(const struct extractor *x, const struct archive_entry *e, uint32_t *uid,
                        uint32_t *gid)
{
    if (!x->owners)
        return false;
    if (x->o->has_owner) {
        *uid = x->o->uid;
        *gid = x->o->gid;
        return true;
    }
    *uid = e->uid;
    *gid = e->gid;
    return e->has_owner;
}

static mfb_status set_fd_metadata(struct extractor *x, const struct archive_entry *e, int fd,
                                  uint32_t fallback_mode, struct mfb_error *err)
{
    uint32_t uid, gid;
    if (entry_owner(x, e, &uid, &gid) && fchown(fd, uid, gid) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot set owner %u:%u",
                               e->name, uid, gid);
    if (fchmod(fd, e->has_mode ? e->mode : fallback_mode) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot set mode", e->name);
    struct timespec ts[2];
    entry_times(e, ts);
    if (futimens(fd, ts) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot set time", e->name);
    return MFB_OK;
}

struct write_ctx {
    int fd;
    const struct archive_entry *e;
    const char *path; /* where it is written: an error names it (a full disk: which one) */
};

static mfb_status write_data(void *ctx, const uint8_t *buf, size_t len, struct mfb_error *err)
{
    struct write_ctx *w = ctx;
    struct mfb_error local = {0};
    if (fs_write_all(w->fd, buf, len, w->path, &local) != MFB_OK) {
        mfb_error_set(err, local.status, "entry '%s': %s", w->e->name, local.message);
        mfb_error_hint(err, "%s", local.hint);
        err->hint_is_generic = local.hint_is_generic;
        return local.status;
    }
    return MFB_OK;
}

static mfb_status extract_file(struct extractor *x, size_t index, const char *norm, int parent,
                               const char *last, struct mfb_error *err)
{
    const struct archive_entry *e = &x->r->entries[index];
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", x->dir, norm);
    int fd = openat(parent, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return exists_error(x, e, err);
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot create '%s'", e->name,
                               path);
    }
    struct write_ctx w = {.fd = fd, .e = e, .path = path};
    struct stat sb;
    mfb_status s = archive_reader_read(x->r, index, write_data, &w, err);
    if (s == MFB_OK)
        s = set_fd_metadata(x, e, fd, 0644, err);
    if (s == MFB_OK && x->o->on_file != NULL && fstat(fd, &sb) != 0)
        s = mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot stat it", e->name);
    if (close(fd) != 0 && s == MFB_OK)
        s = mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot close it", e->name);
    if (s != MFB_OK) {
        unlinkat(parent, last, 0); /* never leave a file that failed its checks */
        return s;
    }
    x->sum.bytes += e->size;
    if (x->o->on_file != NULL)
        x->o->on_file(x->o->on_file_ctx, index, &sb);
    return MFB_OK;
}

static mfb_status extract_symlink(struct extractor *x, size_t index, int parent, const char *last,
                                  struct mfb_error *err)
{
    const struct archive_entry *e = &x->r->entries[index];
    char *target = NULL;
    mfb_status s = archive_reader_read_alloc(x->r, index, PATH_MAX - 1, &target, NULL, err);
    if (s != MFB_OK)
        return s;
    if (target[0] == '\0' || strlen(target) != e->size) {
        free(target);
        return entry_error(err, e, MFB_ERR_CORRUPT, "symlink target is empty or holds a NUL");
    }
    if (symlinkat(target, parent, last) != 0) {
        int saved = errno;
        free(target);
        if (saved == EEXIST)
            return exists_error(x, e, err);
        return mfb_error_errno(err, saved, MFB_ERR_IO, "entry '%s': cannot create symlink",
                               e->name);
    }
    free(target);
    uint32_t uid, gid;
    if (entry_owner(x, e, &uid, &gid) && fchownat(parent, last, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot set owner", e->name);
    struct timespec ts[2];
    entry_times(e, ts);
    if (utimensat(parent, last, ts, AT_SYMLINK_NOFOLLOW) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot set time", e->name);
    return MFB_OK;
}

static mfb_status extract_dir(struct extractor *x, const struct archive_entry *e, int parent,
                              const char *last, struct mfb_error *err)
{
    if (mkdirat(parent, last, 0700) == 0)
        return MFB_OK;
    if (errno != EEXIST)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot create it", e->name);
    struct stat st;
    if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
        return exists_error(x, e, err);
    return MFB_OK;
}

/* With a prefix, turns norm into the name below it (in place); false when
 * the entry lies outside it and is skipped. */
static bool strip_prefix(const struct extractor *x, char *norm)
{
    if (x->prefix == NULL)
        return true;
    size_t n = x->prefix_len;
    if (strncmp(norm, x->prefix, n) != 0 || (norm[n] != '\0' && norm[n] != '/'))
        return false;
    size_t skip = norm[n] == '/' ? n + 1 : n;
    memmove(norm, norm + skip, strlen(norm + skip) + 1);
    return true;
}

/* A file an earlier run wrote and checked: counted, not written again. */
static bool reused(struct extractor *x, size_t index)
{
    const struct archive_entry *e = &x->r->entries[index];
    if (x->o->reuse == NULL || !x->o->reuse[index] || e->type != ARCHIVE_ENTRY_FILE)
        return false;
    x->sum.reused_entries++;
    x->sum.reused_bytes += e->size;
    x->sum.bytes += e->size;
    return true;
}

/* Creates one entry. norm is its normalized name (modified). */
static mfb_status extract_one(struct extractor *x, size_t index, char *norm, bool metadata_pass,
                              struct mfb_error *err)
{
    const struct archive_entry *e = &x->r->entries[index];
    if (norm[0] == '\0')
        return MFB_OK; /* the target directory itself ("./") */
    int parent = -1;
    char *last = NULL;
    mfb_status s = open_parent(x, e, norm, &parent, &last, err);
    if (s != MFB_OK)
        return s;
    if (metadata_pass) {
        int fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            s = mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot open it", e->name);
        else {
            s = set_fd_metadata(x, e, fd, 0755, err);
            close(fd);
        }
    } else if (e->type == ARCHIVE_ENTRY_DIR) {
        s = extract_dir(x, e, parent, last, err);
    } else if (x->o->replace && unlinkat(parent, last, 0) != 0 && errno != ENOENT) {
        /* what an interrupted run left there (a directory is refused below) */
        s = mfb_error_errno(err, errno, MFB_ERR_IO, "entry '%s': cannot remove the earlier copy",
                            e->name);
    } else if (e->type == ARCHIVE_ENTRY_SYMLINK) {
        s = extract_symlink(x, index, parent, last, err);
    } else {
        s = extract_file(x, index, norm, parent, last, err);
    }
    if (parent != x->root_fd)
        close(parent);
    return s;
}

/* ---- several entries at once ---- */

struct parallel {
    struct extractor *x;
    size_t skip;
    atomic_size_t next; /* the next entry index to take */
    atomic_bool stop;   /* an entry failed: take no more */
    pthread_mutex_t mu; /* guards the fields below */
    size_t error_index; /* of the first failed entry (the lowest index) */
    struct mfb_error error;
    struct archive_extract_summary sum;
};

/* An extraction worker: takes the next file or symlink entry until none is
 * left, reading through its own view of the reader (the central directory
 * and the descriptor shared, pread being safe to share; its own buffers). */
static void *worker_main(void *arg)
{
    struct parallel *p = arg;
    struct archive_reader view = *p->x->r;
    view.inflate = NULL;
    view.inbuf = view.outbuf = NULL;
    struct extractor x = *p->x;
    x.r = &view;
    memset(&x.sum, 0, sizeof(x.sum));
    char *norm = malloc(ZIP_NAME_BUF);
    struct mfb_error e = {0};
    size_t failed = SIZE_MAX;
    if (norm == NULL) {
        mfb_error_set(&e, MFB_ERR_NO_MEMORY, "out of memory");
        failed = 0;
    }
    while (failed == SIZE_MAX && !atomic_load(&p->stop)) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= view.count)
            break;
        const struct archive_entry *en = &view.entries[i];
        if (i == p->skip || en->type == ARCHIVE_ENTRY_DIR)
            continue;
        normalize(en->name, en->name_len, norm);
        if (!strip_prefix(&x, norm))
            continue;
        if (reused(&x, i))
            x.sum.entries++;
        else if (extract_one(&x, i, norm, false, &e) != MFB_OK)
            failed = i;
        else
            x.sum.entries++;
    }
    pthread_mutex_lock(&p->mu);
    if (failed != SIZE_MAX) {
        atomic_store(&p->stop, true);
        if (failed < p->error_index) {
            p->error_index = failed;
            p->error = e;
        }
    }
    p->sum.entries += x.sum.entries;
    p->sum.bytes += x.sum.bytes;
    p->sum.reused_entries += x.sum.reused_entries;
    p->sum.reused_bytes += x.sum.reused_bytes;
    pthread_mutex_unlock(&p->mu);
    free(view.inflate);
    free(view.inbuf);
    free(view.outbuf);
    free(norm);
    return NULL;
}

/* Directories first (one thread: cheap, and no two workers race to make
 * one), then files and symlinks by `threads` workers. */
static mfb_status extract_parallel(struct extractor *x, size_t skip, char *norm, unsigned threads,
                                   struct mfb_error *err)
{
    struct archive_reader *r = x->r;
    mfb_status s = MFB_OK;
    for (size_t i = 0; i < r->count && s == MFB_OK; i++) {
        if (i == skip || r->entries[i].type != ARCHIVE_ENTRY_DIR)
            continue;
        normalize(r->entries[i].name, r->entries[i].name_len, norm);
        if (!strip_prefix(x, norm))
            continue;
        s = extract_one(x, i, norm, false, err);
        if (s == MFB_OK)
            x->sum.entries++;
    }
    if (s != MFB_OK)
        return s;
    struct parallel p = {.x = x, .skip = skip, .error_index = SIZE_MAX};
    atomic_init(&p.next, 0);
    atomic_init(&p.stop, false);
    pthread_mutex_init(&p.mu, NULL);
    pthread_t tid[MAX_THREADS];
    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker_main, &p) != 0)
            break;
    if (started == 0) /* no thread at all: this one does the work */
        worker_main(&p);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p.mu);
    x->sum.entries += p.sum.entries;
    x->sum.bytes += p.sum.bytes;
    x->sum.reused_entries += p.sum.reused_entries;
    x->sum.reused_bytes += p.sum.reused_bytes;
    if (p.error_index != SIZE_MAX) {
        if (err)
            *err = p.error;
        return p.error.status;
    }
    return MFB_OK;
}

mfb_status archive_extract(struct archive_reader *r, const char *dir,
                           const struct archive_extract_options *options,
                           struct archive_extract_summary *summary, struct mfb_error *err)
{
    static const struct archive_extract_options none = {0};
    struct extractor x = {.r = r, .dir = dir, .root_fd = -1, .o = options ? options : &none};
    x.owners = geteuid() == 0 && !(options && options->no_owner);
    if (options && options->prefix && options->prefix[0]) {
        x.prefix = options->prefix;
        x.prefix_len = strlen(options->prefix);
    }
    size_t skip = archive_reader_manifest_index(r);
    char *norm = malloc(ZIP_NAME_BUF);
    if (norm == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status s = precheck(r, skip, err);
    if (s == MFB_OK)
        s = fs_mkdir_p(dir, 0755, err);
    if (s == MFB_OK) {
        x.root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x.root_fd < 0)
            s = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open directory '%s'", dir);
    }
    unsigned threads = options && options->threads > 1 ? options->threads : 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads == 1) {
        for (size_t i = 0; i < r->count && s == MFB_OK; i++) {
            if (i == skip)
                continue;
            normalize(r->entries[i].name, r->entries[i].name_len, norm);
            if (!strip_prefix(&x, norm))
                continue;
            s = reused(&x, i) ? MFB_OK : extract_one(&x, i, norm, false, err);
            if (s == MFB_OK)
                x.sum.entries++;
        }
    } else if (s == MFB_OK) {
        s = extract_parallel(&x, skip, norm, threads, err);
    }
    /* directories last, deepest first, once nothing more is written into them */
    for (size_t i = r->count; i-- > 0 && s == MFB_OK;) {
        if (r->entries[i].type != ARCHIVE_ENTRY_DIR || i == skip)
            continue;
        normalize(r->entries[i].name, r->entries[i].name_len, norm);
        if (strip_prefix(&x, norm))
            s = extract_one(&x, i, norm, true, err);
    }
    if (x.root_fd >= 0)
        close(x.root_fd);
    free(norm);
    if (s == MFB_OK && summary)
        *summary = x.sum;
    if (s == MFB_OK)
        log_info("extract", "dir=%s entries=%llu bytes=%llu reused_entries=%llu", dir,
                 (unsigned long long)x.sum.entries, (unsigned long long)x.sum.bytes,
                 (unsigned long long)x.sum.reused_entries);
    return s;
}
