/*
 * resume.c - the staging record (see resume.h).
 *
 * One JSON object per line keeps the record appendable (a finished entry
 * is one write of one line) and readable by a person with `cat`; a torn
 * line can only be the last one, since every run that goes on rewrites the
 * record whole before it appends.
 */
#include "job/restore/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"

#define RECORD_MAX (1024u << 20) /* a few million entries */
#define RECORD_KIND "mfb-staging-record"

void resume_directory_digest(const struct archive_reader *r, char hex[SHA256_HEX_LEN + 1])
{
    struct sha256 h;
    uint8_t out[SHA256_LEN];
    sha256_init(&h);
    size_t n = archive_reader_count(r);
    for (size_t i = 0; i < n; i++) {
        const struct archive_entry *e = archive_reader_entry(r, i);
        uint64_t fields[] = {
            e->name_len, (uint64_t)e->type,  e->size, e->csize, e->crc, e->local_offset,
            e->mode,     (uint64_t)e->mtime, e->uid,  e->gid};
        sha256_update(&h, fields, sizeof(fields));
        sha256_update(&h, e->name, e->name_len);
    }
    sha256_final(&h, out);
    sha256_free(&h);
    digest_to_hex(out, hex);
}

/* ---- reading ---- */

static char *dup_string(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

static bool copy_hex(json_t *o, const char *key, char out[SHA256_HEX_LEN + 1])
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL || strlen(s) != SHA256_HEX_LEN)
        return false;
    memcpy(out, s, SHA256_HEX_LEN + 1);
    return true;
}

static bool parse_head(json_t *o, struct resume_head *h)
{
    const char *kind = json_string_value(json_object_get(o, "record"));
    json_t *roots = json_object_get(o, "roots");
    if (kind == NULL || strcmp(kind, RECORD_KIND) != 0 || !json_is_array(roots))
        return false;
    h->instance = dup_string(o, "instance");
    h->backup_id = dup_string(o, "backup");
    if (h->instance == NULL || h->backup_id == NULL || !copy_hex(o, "sha256", h->sha256) ||
        !copy_hex(o, "directory", h->directory))
        return false;
    size_t n = json_array_size(roots);
    h->roots = calloc(n ? n : 1, sizeof(*h->roots));
    if (h->roots == NULL)
        return false;
    h->root_count = n;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(roots, i);
        h->roots[i].name = dup_string(r, "name");
        h->roots[i].place = dup_string(r, "place");
        h->roots[i].staging = dup_string(r, "staging");
        if (h->roots[i].name == NULL || h->roots[i].place == NULL || h->roots[i].staging == NULL)
            return false;
    }
    return true;
}

static bool parse_entry(json_t *o, struct resume_entry *e)
{
    json_t *idx = json_object_get(o, "i"), *size = json_object_get(o, "size"),
           *crc = json_object_get(o, "crc"), *ino = json_object_get(o, "ino"),
           *mt = json_object_get(o, "mtime_ns"), *ct = json_object_get(o, "ctime_ns");
    if (!json_is_integer(idx) || !json_is_integer(size) || !json_is_integer(crc) ||
        !json_is_integer(ino) || !json_is_integer(mt) || !json_is_integer(ct) ||
        json_integer_value(idx) < 0 || json_integer_value(size) < 0)
        return false;
    e->name = dup_string(o, "name");
    if (e->name == NULL)
        return false;
    e->index = (size_t)json_integer_value(idx);
    e->size = (uint64_t)json_integer_value(size);
    e->crc = (uint32_t)json_integer_value(crc);
    e->ino = (uint64_t)json_integer_value(ino);
    e->mtime_ns = json_integer_value(mt);
    e->ctime_ns = json_integer_value(ct);
    return true;
}

static mfb_status damaged(const char *path, struct mfb_error *err)
{
    mfb_error_set(err, MFB_ERR_PROTOCOL, "the staging record '%s' cannot be read", path);
    mfb_error_hint(err, "it is discarded with its staging directories; the restore stages afresh");
    return MFB_ERR_PROTOCOL;
}

mfb_status resume_record_read(const char *path, struct resume_record *out, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return mfb_error_set(err, MFB_ERR_NOT_FOUND, "no staging record '%s'", path);
    char *text = NULL;
    size_t len = 0;
    mfb_status st = fs_read_file(path, RECORD_MAX, &text, &len, err);
    if (st != MFB_OK)
        return st;
    size_t cap = 0;
    bool head = false;
    for (size_t pos = 0; pos < len && st == MFB_OK;) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        json_t *o = json_loadb(text + pos, end - pos, 0, NULL);
        bool last = nl == NULL || end + 1 >= len;
        if (!head) {
            head = o != NULL && nl != NULL && parse_head(o, &out->head);
            if (!head)
                st = damaged(path, err);
        } else if (o == NULL || nl == NULL) {
            if (!last) /* only the last line may be torn: a write cut short */
                st = damaged(path, err);
        } else {
            if (out->count == cap) {
                size_t ncap = cap ? 2 * cap : 256;
                struct resume_entry *m = realloc(out->entries, ncap * sizeof(*m));
                if (m == NULL)
                    st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                else
                    out->entries = m, cap = ncap;
            }
            if (st == MFB_OK) {
                memset(&out->entries[out->count], 0, sizeof(out->entries[0]));
                if (parse_entry(o, &out->entries[out->count]))
                    out->count++;
                else if (!last)
                    st = damaged(path, err);
                else
                    free(out->entries[out->count].name);
            }
        }
        json_decref(o);
        pos = end + 1;
    }
    if (st == MFB_OK && !head)
        st = damaged(path, err);
    free(text);
    if (st != MFB_OK)
        resume_record_free(out);
    return st;
}

static void free_head(struct resume_head *h)
{
    for (size_t i = 0; h->roots != NULL && i < h->root_count; i++) {
        free(h->roots[i].name);
        free(h->roots[i].place);
        free(h->roots[i].staging);
    }
    free(h->roots);
    free(h->instance);
    free(h->backup_id);
    memset(h, 0, sizeof(*h));
}

void resume_record_free(struct resume_record *rec)
{
    if (rec == NULL)
        return;
    free_head(&rec->head);
    for (size_t i = 0; i < rec->count; i++)
        free(rec->entries[i].name);
    free(rec->entries);
    memset(rec, 0, sizeof(*rec));
}

bool resume_head_matches(const struct resume_head *have, const struct resume_head *want, char *why,
                         size_t why_len)
{
    if (strcmp(have->instance, want->instance) != 0) {
        snprintf(why, why_len, "it is of instance '%s'", have->instance);
        return false;
    }
    if (strcmp(have->backup_id, want->backup_id) != 0) {
        snprintf(why, why_len, "it is of backup %s", have->backup_id);
        return false;
    }
    if (strcmp(have->sha256, want->sha256) != 0 || strcmp(have->directory, want->directory) != 0) {
        snprintf(why, why_len, "the backup's SHA-256 or directory differs from the recorded one");
        return false;
    }
    if (have->root_count != want->root_count) {
        snprintf(why, why_len, "it staged %zu roots, this restore has %zu", have->root_count,
                 want->root_count);
        return false;
    }
    for (size_t i = 0; i < have->root_count; i++) {
        const struct resume_root *a = &have->roots[i], *b = &want->roots[i];
        if (strcmp(a->name, b->name) != 0 || strcmp(a->place, b->place) != 0) {
            snprintf(
                why, why_len,
                "it staged root '%.200s' for '%.1000s', this restore puts '%.200s' in '%.1000s'",
                a->name, a->place, b->name, b->place);
            return false;
        }
    }
    return true;
}

bool resume_entry_unchanged(const struct resume_entry *e, const char *path, char *why,
                            size_t why_len)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        snprintf(why, why_len, "it is gone (%s)", strerror(errno));
        return false;
    }
    int64_t mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    int64_t ctime = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
    if (!S_ISREG(sb.st_mode))
        snprintf(why, why_len, "it is no longer a regular file");
    else if ((uint64_t)sb.st_ino != e->ino)
        snprintf(why, why_len, "it is another file (inode %" PRIu64 ", was %" PRIu64 ")",
                 (uint64_t)sb.st_ino, e->ino);
    else if ((uint64_t)sb.st_size != e->size)
        snprintf(why, why_len, "its size is %" PRIu64 ", was %" PRIu64, (uint64_t)sb.st_size,
                 e->size);
    else if (mtime != e->mtime_ns || ctime != e->ctime_ns)
        snprintf(why, why_len, "it was changed since (mtime or ctime)");
    else
        return true;
    return false;
}

mfb_status resume_record_remove(const char *path, struct mfb_error *err)
{
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return MFB_OK;
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot remove the staging record '%s'",
                               path);
    }
    return fs_fsync_dir_of(path, false, err);
}

/* ---- writing ---- */

static char *entry_line(size_t index, const char *name, uint64_t size, uint32_t crc, uint64_t ino,
                        int64_t mtime_ns, int64_t ctime_ns)
{
    json_t *o =
        json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "i", (json_int_t)index, "name", name,
                  "size", (json_int_t)size, "crc", (json_int_t)crc, "ino", (json_int_t)ino,
                  "mtime_ns", (json_int_t)mtime_ns, "ctime_ns", (json_int_t)ctime_ns);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* Appends line and a newline to the pending buffer. Called locked. */
static bool pend(struct resume_writer *w, const char *line)
{
    size_t n = strlen(line);
    if (w->pending_len + n + 1 > w->pending_cap) {
        size_t cap = w->pending_cap ? w->pending_cap : 4096;
        while (cap < w->pending_len + n + 1)
            cap *= 2;
        char *m = realloc(w->pending, cap);
        if (m == NULL)
            return false;
        w->pending = m;
        w->pending_cap = cap;
    }
    memcpy(w->pending + w->pending_len, line, n);
    w->pending[w->pending_len + n] = '\n';
    w->pending_len += n + 1;
    return true;
}

static char *head_text(const struct resume_head *head)
{
    json_t *roots = json_array();
    for (size_t i = 0; i < head->root_count; i++)
        json_array_append_new(roots,
                              json_pack("{s:s, s:s, s:s}", "name", head->roots[i].name, "place",
                                        head->roots[i].place, "staging", head->roots[i].staging));
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "record", RECORD_KIND, "version",
                          1, "instance", head->instance, "backup", head->backup_id, "sha256",
                          head->sha256, "directory", head->directory, "roots", roots);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* Makes the files of the lines in w->writing durable, then appends the
 * lines; called unlocked, by the flusher alone. */
static bool write_batch(struct resume_writer *w, size_t len)
{
    /* the staged files first, then the lines that claim them */
    for (size_t i = 0; i < w->sync_count; i++)
        if (syncfs(w->sync_fds[i]) != 0) {
            log_warn("restore", "staging_record=\"%s\" error=\"syncfs: %s\" note=not_recorded",
                     w->path, strerror(errno));
            return false;
        }
    struct mfb_error e = {0};
    if (fs_write_all(w->fd, w->writing, len, w->path, &e) != MFB_OK || fdatasync(w->fd) != 0) {
        log_warn("restore", "staging_record=\"%s\" error=\"%s\" note=recording_stopped", w->path,
                 e.message[0] ? e.message : strerror(errno));
        return false;
    }
    return true;
}

/* The writer's thread: each flush asked for takes the pending lines (the
 * files they claim were finished before it starts, so its syncfs covers
 * them) while the extraction threads go on adding to an empty buffer. */
static void *flusher_main(void *arg)
{
    struct resume_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->flush_done == w->flush_asked && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->flush_done == w->flush_asked)
            break; /* stopping, nothing asked for */
        uint64_t asked = w->flush_asked;
        size_t len = w->broken ? 0 : w->pending_len;
        if (len > 0) {
            char *lines = w->pending;
            size_t cap = w->pending_cap;
            w->pending = w->writing;
            w->pending_cap = w->writing_cap;
            w->writing = lines;
            w->writing_cap = cap;
            w->pending_len = 0;
            w->pending_entries = 0;
            w->pending_bytes = 0;
            pthread_mutex_unlock(&w->lock);
            bool ok = write_batch(w, len);
            pthread_mutex_lock(&w->lock);
            if (!ok)
                w->broken = true;
        }
        w->flush_done = asked;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Called locked. */
static uint64_t ask_flush_locked(struct resume_writer *w)
{
    w->flush_asked++;
    pthread_cond_signal(&w->wake);
    return w->flush_asked;
}

mfb_status resume_writer_open(struct resume_writer *w, const char *path,
                              const struct resume_head *head, const struct resume_entry *keep,
                              size_t keep_count, struct mfb_error *err)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    snprintf(w->path, sizeof(w->path), "%s", path);
    mfb_status st = MFB_OK;
    char *text = head_text(head);
    if (text == NULL || !pend(w, text))
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the staging record");
    free(text);
    for (size_t i = 0; i < keep_count && st == MFB_OK; i++) {
        const struct resume_entry *e = &keep[i];
        text = entry_line(e->index, e->name, e->size, e->crc, e->ino, e->mtime_ns, e->ctime_ns);
        if (text == NULL || !pend(w, text))
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory writing the staging record");
        free(text);
    }
    if (st == MFB_OK)
        st = fs_write_file_atomic(path, w->pending, w->pending_len, 0600, false, err);
    w->pending_len = 0;
    if (st == MFB_OK) {
        w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (w->fd < 0)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open the staging record '%s'",
                                 path);
    }
    w->sync_fds = calloc(head->root_count ? head->root_count : 1, sizeof(int));
    if (st == MFB_OK && w->sync_fds == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < head->root_count && st == MFB_OK; i++) {
        char parent[4096];
        fs_dirname(head->roots[i].staging, parent, sizeof(parent));
        int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", parent);
        else
            w->sync_fds[w->sync_count++] = fd;
    }
    if (st == MFB_OK && pthread_create(&w->flusher, NULL, flusher_main, w) != 0)
        st = mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the staging record's thread");
    if (st != MFB_OK) {
        w->open = true;
        w->broken = true;
        resume_writer_close(w);
        return st;
    }
    w->flusher_started = true;
    w->open = true;
    return MFB_OK;
}

void resume_writer_add(struct resume_writer *w, size_t index, const struct archive_entry *e,
                       const struct stat *sb)
{
    if (w == NULL || !w->open)
        return;
    char *line = entry_line(index, e->name, (uint64_t)sb->st_size, e->crc, (uint64_t)sb->st_ino,
                            (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec,
                            (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec);
    pthread_mutex_lock(&w->lock);
    if (!w->broken) {
        if (line == NULL || !pend(w, line)) {
            log_warn("restore", "staging_record=\"%s\" error=\"out of memory\"", w->path);
            w->broken = true;
        } else {
            w->pending_entries++;
            w->pending_bytes += (uint64_t)sb->st_size;
            if (w->pending_entries >= RESUME_BATCH_ENTRIES ||
                w->pending_bytes >= RESUME_BATCH_BYTES) {
                w->pending_entries = 0; /* asked once for this batch */
                w->pending_bytes = 0;
                ask_flush_locked(w);
            }
        }
    }
    pthread_mutex_unlock(&w->lock);
    free(line);
}

void resume_writer_flush(struct resume_writer *w)
{
    if (w == NULL || !w->open)
        return;
    pthread_mutex_lock(&w->lock);
    uint64_t mine = ask_flush_locked(w);
    while (w->flush_done < mine)
        pthread_cond_wait(&w->done, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void resume_writer_close(struct resume_writer *w)
{
    if (w == NULL || !w->open)
        return;
    if (w->flusher_started) {
        resume_writer_flush(w);
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->flusher, NULL);
    }
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->sync_count; i++)
        close(w->sync_fds[i]);
    free(w->sync_fds);
    free(w->pending);
    free(w->writing);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    w->open = false;
}
