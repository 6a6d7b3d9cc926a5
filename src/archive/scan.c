/*
 * scan.c - walks source trees into the archive plan (see scan.h).
 */
#include "archive/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/zipfmt.h"
#include "common/log.h"

const char *const scan_default_excludes[] = {"*.sock", "*.sock.lock", "*.pid"};
const size_t scan_default_exclude_count =
    sizeof(scan_default_excludes) / sizeof(scan_default_excludes[0]);

mfb_status scan_changed(struct mfb_error *err, const char *path, const char *what)
{
    mfb_error_set(err, MFB_ERR_CHANGED, "file '%s' %s while it was being archived", path, what);
    mfb_error_hint(err, "is the database server really stopped? a cold backup needs every "
                        "file to stay unchanged while it is read");
    return MFB_ERR_CHANGED;
}

bool scan_excluded(const char *rel, const char *archive_name, const char *const *patterns,
                   size_t count)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (size_t i = 0; i < count; i++) {
        if (fnmatch(patterns[i], rel, 0) == 0 || fnmatch(patterns[i], base, 0) == 0 ||
            (archive_name && fnmatch(patterns[i], archive_name, 0) == 0))
            return true;
    }
    return false;
}

static mfb_status list_push(struct scan_list *list, struct scan_entry **out, struct mfb_error *err)
{
    if (list->count == list->capacity) {
        size_t next = list->capacity ? list->capacity * 2 : 256;
        struct scan_entry *e = realloc(list->entries, next * sizeof(*e));
        if (e == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory listing files");
        list->entries = e;
        list->capacity = next;
    }
    *out = &list->entries[list->count];
    memset(*out, 0, sizeof(**out));
    return MFB_OK;
}

/* Adds one entry named prefix + rel (+ '/' for directories) with st's metadata. */
static mfb_status add_entry(struct scan_list *list, uint32_t root, const char *rel,
                            const struct stat *st, enum scan_type type, struct mfb_error *err)
{
    const char *prefix = list->roots[root].prefix;
    size_t plen = strlen(prefix);
    size_t rlen = strlen(rel);
    size_t len = plen + (plen && rlen ? 1 : 0) + rlen + (type == SCAN_DIR ? 1 : 0);
    if (len > ZIP_MAX16)
        return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "path too long for a zip entry: '%s'", rel);
    struct scan_entry *e;
    mfb_status s = list_push(list, &e, err);
    if (s != MFB_OK)
        return s;
    e->name = malloc(len + 1);
    if (e->name == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory listing files");
    snprintf(e->name, len + 1, "%s%s%s%s", prefix, plen && rlen ? "/" : "", rel,
             type == SCAN_DIR ? "/" : "");
    e->name_len = (uint32_t)len;
    e->root = root;
    e->src_off = (uint32_t)(plen && rlen ? plen + 1 : plen);
    e->type = (uint8_t)type;
    e->mode = st->st_mode;
    e->uid = st->st_uid;
    e->gid = st->st_gid;
    e->mtime = st->st_mtim.tv_sec;
    e->mtime_nsec = st->st_mtim.tv_nsec;
    e->size = type == SCAN_DIR ? 0 : (uint64_t)st->st_size;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    list->count++;
    if (type == SCAN_FILE)
        list->total_bytes += e->size;
    return MFB_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads and sorts the names in a directory. Allocates *names (and each name). */
static mfb_status read_names(const char *path, char ***names, size_t *count, struct mfb_error *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(path);
    if (d == NULL) {
        if (errno == ENOENT)
            return scan_changed(err, path, "disappeared");
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read directory '%s'", path);
    }
    size_t cap = 0;
    mfb_status s = MFB_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                s = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read directory '%s'", path);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            char **n = realloc(*names, cap * sizeof(char *));
            if (n == NULL) {
                s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory listing '%s'", path);
                break;
            }
            *names = n;
        }
        (*names)[*count] = strdup(de->d_name);
        if ((*names)[*count] == NULL) {
            s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory listing '%s'", path);
            break;
        }
        (*count)++;
    }
    closedir(d);
    if (s == MFB_OK && *count > 1)
        qsort(*names, *count, sizeof(char *), compare_names);
    return s;
}

struct walk {
    struct scan_list *list;
    uint32_t root;
    const struct scan_options *options;
    struct mfb_error *err;
    char path[PATH_MAX]; /* source path of the current directory */
    char rel[PATH_MAX];  /* the same, relative to the tree */
};

static bool is_excluded(const struct walk *w)
{
    const char *prefix = w->list->roots[w->root].prefix;
    char archive_name[PATH_MAX + 256];
    const char *aname = NULL;
    if (prefix[0]) {
        snprintf(archive_name, sizeof(archive_name), "%s/%s", prefix, w->rel);
        aname = archive_name;
    }
    return scan_excluded(w->rel, aname, w->options->excludes, w->options->exclude_count);
}

/* Handles the entry at w->path / w->rel. */
static mfb_status walk_one(struct walk *w);

static mfb_status walk_dir(struct walk *w)
{
    char **names;
    size_t count;
    mfb_status s = read_names(w->path, &names, &count, w->err);
    size_t plen = strlen(w->path);
    size_t rlen = strlen(w->rel);
    for (size_t i = 0; i < count && s == MFB_OK; i++) {
        int n1 = snprintf(w->path + plen, sizeof(w->path) - plen, "/%s", names[i]);
        int n2 = snprintf(w->rel + rlen, sizeof(w->rel) - rlen, "%s%s", rlen ? "/" : "", names[i]);
        if (n1 >= (int)(sizeof(w->path) - plen) || n2 >= (int)(sizeof(w->rel) - rlen))
            s = mfb_error_set(w->err, MFB_ERR_UNSUPPORTED, "path too long: '%s/%s'", w->path,
                              names[i]);
        else
            s = walk_one(w);
        w->path[plen] = '\0';
        w->rel[rlen] = '\0';
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return s;
}

static mfb_status walk_one(struct walk *w)
{
    struct stat st;
    if (lstat(w->path, &st) != 0) {
        if (errno == ENOENT)
            return scan_changed(w->err, w->path, "disappeared");
        return mfb_error_errno(w->err, errno, MFB_ERR_IO, "cannot stat '%s'", w->path);
    }
    if (w->options->skip_inode && (uint64_t)st.st_dev == w->options->skip_dev &&
        (uint64_t)st.st_ino == w->options->skip_ino)
        return MFB_OK; /* the archive being written, when it sits inside the tree */
    if (w->list->roots[w->root].prefix[0] == '\0' && strcmp(w->rel, SCAN_MANIFEST_NAME) == 0) {
        log_warn("archive", "skipped=%s reason=name_reserved_for_manifest", w->path);
        return MFB_OK;
    }
    if (is_excluded(w)) {
        log_debug("archive", "excluded=%s", w->path);
        return MFB_OK;
    }
    if (S_ISREG(st.st_mode))
        return add_entry(w->list, w->root, w->rel, &st, SCAN_FILE, w->err);
    if (S_ISLNK(st.st_mode))
        return add_entry(w->list, w->root, w->rel, &st, SCAN_SYMLINK, w->err);
    if (S_ISDIR(st.st_mode)) {
        mfb_status s = add_entry(w->list, w->root, w->rel, &st, SCAN_DIR, w->err);
        return s == MFB_OK ? walk_dir(w) : s;
    }
    const char *kind = S_ISSOCK(st.st_mode) ? "socket" : S_ISFIFO(st.st_mode) ? "fifo" : "device";
    log_warn("archive", "skipped=%s type=%s reason=not_a_file_directory_or_symlink", w->path, kind);
    return MFB_OK;
}

/* Checks an archive prefix: relative, no '.' or '..' components. */
static bool prefix_valid(const char *prefix)
{
    if (prefix[0] == '/')
        return false;
    const char *p = prefix;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len;
        if (*p == '/')
            p++;
    }
    return true;
}

mfb_status scan_tree(struct scan_list *list, const char *dir, const char *prefix,
                     const struct scan_options *options, struct mfb_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_NOT_FOUND, "cannot read directory '%s'", dir);
    if (!S_ISDIR(st.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not a directory", dir);
    char clean[PATH_MAX];
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    if (plen >= sizeof(clean))
        return mfb_error_set(err, MFB_ERR_USAGE, "archive prefix too long");
    memcpy(clean, prefix, plen);
    clean[plen] = '\0';
    if (plen > 0 && !prefix_valid(clean)) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid archive prefix '%s'", prefix);
        mfb_error_hint(err, "use a relative name without '.' or '..' components");
        return MFB_ERR_USAGE;
    }
    struct scan_root *roots = realloc(list->roots, (list->root_count + 1) * sizeof(*roots));
    if (roots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    list->roots = roots;
    struct scan_root *r = &roots[list->root_count];
    r->dir = strdup(dir);
    r->prefix = strdup(clean);
    r->mtime = st.st_mtim.tv_sec;
    if (r->dir == NULL || r->prefix == NULL) {
        free(r->dir);
        free(r->prefix);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    uint32_t root = (uint32_t)list->root_count++;
    if (plen > 0) {
        /* the prefix's own directory entry carries the tree root's metadata */
        mfb_status s = add_entry(list, root, "", &st, SCAN_DIR, err);
        if (s != MFB_OK)
            return s;
    }
    struct walk *w = malloc(sizeof(*w));
    if (w == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    w->list = list;
    w->root = root;
    w->options = options;
    w->err = err;
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    if (dlen >= sizeof(w->path)) {
        free(w);
        return mfb_error_set(err, MFB_ERR_USAGE, "path too long: '%s'", dir);
    }
    memcpy(w->path, dir, dlen);
    w->path[dlen == 1 && dir[0] == '/' ? 0 : dlen] = '\0';
    w->rel[0] = '\0';
    mfb_status s = walk_dir(w);
    free(w);
    return s;
}

mfb_status scan_add_special(struct scan_list *list, const char *name, enum scan_type type,
                            uint32_t mode, int64_t mtime, struct mfb_error *err)
{
    struct scan_entry *e;
    mfb_status s = list_push(list, &e, err);
    if (s != MFB_OK)
        return s;
    e->name = strdup(name);
    if (e->name == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    e->name_len = (uint32_t)strlen(name);
    e->type = (uint8_t)type;
    e->mode = mode;
    e->uid = (uint32_t)getuid();
    e->gid = (uint32_t)getgid();
    e->mtime = mtime;
    list->count++;
    return MFB_OK;
}

mfb_status scan_source_path(const struct scan_list *list, const struct scan_entry *e, char *buf,
                            size_t len, struct mfb_error *err)
{
    const struct scan_root *r = &list->roots[e->root];
    const char *rel = e->name + e->src_off;
    int n = snprintf(buf, len, "%s%s%s", r->dir, rel[0] ? "/" : "", rel);
    if (n < 0 || (size_t)n >= len)
        return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "path too long: '%s'", e->name);
    if (e->type == SCAN_DIR && n > 1 && buf[n - 1] == '/')
        buf[n - 1] = '\0';
    return MFB_OK;
}

void scan_list_truncate(struct scan_list *list, size_t count, size_t root_count,
                        uint64_t total_bytes)
{
    for (size_t i = count; i < list->count; i++)
        free(list->entries[i].name);
    list->count = count < list->count ? count : list->count;
    for (size_t i = root_count; i < list->root_count; i++) {
        free(list->roots[i].dir);
        free(list->roots[i].prefix);
    }
    list->root_count = root_count < list->root_count ? root_count : list->root_count;
    list->total_bytes = total_bytes;
}

int64_t scan_newest_mtime(const struct scan_list *list)
{
    int64_t newest = 0;
    for (size_t i = 0; i < list->root_count; i++)
        newest = list->roots[i].mtime > newest ? list->roots[i].mtime : newest;
    for (size_t i = 0; i < list->count; i++)
        newest = list->entries[i].mtime > newest ? list->entries[i].mtime : newest;
    return newest;
}

void scan_list_free(struct scan_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->entries[i].name);
    free(list->entries);
    for (size_t i = 0; i < list->root_count; i++) {
        free(list->roots[i].dir);
        free(list->roots[i].prefix);
    }
    free(list->roots);
    memset(list, 0, sizeof(*list));
}
