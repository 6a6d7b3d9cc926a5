/*
 * writer.c - the streaming, parallel ZIP writer (see writer.h).
 *
 * Three roles share a fixed ring of block slots:
 *   - the reader (the thread that calls archive_writer_finish) walks the
 *     plan, reads each file in blocks into the next free slot, copies the
 *     32 KiB before the block in front of it as the deflate dictionary, and
 *     hands the slot to the thread pool;
 *   - the workers (common/threadpool) compute each block's CRC-32 and
 *     compress it (deflate_block), in any order, all at once;
 *   - the writer thread takes slots strictly in ring order as they complete,
 *     writes the local header when an entry starts, the block's data, and the
 *     data descriptor when an entry ends, then frees the slot.
 * The ring bounds memory: when every slot is in use the reader waits. With
 * 2 * threads + 2 slots the workers always have a queued block while the
 * writer drains the oldest one. A block's output depends only on its input,
 * so the archive is the same for any thread count.
 *
 * Errors from any role go through fail(): the first one is kept, everyone
 * stops at the next check, and finish returns it. The caller discards the
 * partial output (the CLI never renames its temporary file).
 */
#include "archive/writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/deflate_block.h"
#include "archive/manifest.h"
#include "archive/scan.h"
#include "archive/zipfmt.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/threadpool.h"

#define OUT_BUFFER_SIZE (256u * 1024u)
#define CD_COMMENT_PREFIX "mfb cd-crc32="

struct slot {
    struct archive_writer *w;
    uint8_t *in; /* DEFLATE_DICT_SIZE of dictionary room, then block_size + 1 */
    uint8_t *out;
    size_t out_cap;
    size_t entry;
    size_t dict_len;
    size_t len;
    bool first;
    bool last;
    const uint8_t *result;
    size_t result_len;
    uint32_t crc;
    bool done; /* under w->lock */
};

struct archive_writer {
    struct archive_writer_options opt;
    struct archive_sink sink;
    struct scan_list list;
    json_t *metadata;
    unsigned threads;
    int level;
    size_t block_size;
    uint64_t start_ms; /* clock_now_ms at open, for the summary's rate */
    bool finished;

    /* the ring */
    struct slot *slots;
    size_t nslots;
    pthread_mutex_t lock;
    pthread_cond_t slot_done;
    pthread_cond_t slot_free;
    size_t head;
    size_t count;
    bool input_done;
    atomic_bool failed;
    struct mfb_error fail_err; /* under lock */

    struct threadpool *pool;
    pthread_t writer_thread_id;
    struct queue compressors; /* idle struct deflate_block, one per thread */
    struct deflate_block **all_compressors;

    /* the reader's state */
    uint64_t input_read;

    /* the writer thread's state (the caller's again once it is joined) */
    uint8_t *obuf;
    size_t olen;
    uint64_t offset;
    uint32_t entry_crc;
    uint64_t entry_usize;
    uint64_t entry_csize;
};

/* Records the first error and wakes every waiting role. */
static void fail(struct archive_writer *w, const struct mfb_error *err, mfb_status status)
{
    pthread_mutex_lock(&w->lock);
    if (!atomic_load(&w->failed)) {
        if (err && mfb_error_is_set(err))
            w->fail_err = *err;
        else
            mfb_error_set(&w->fail_err, status, "archive failed (%s)", mfb_status_str(status));
        atomic_store(&w->failed, true);
    }
    pthread_cond_broadcast(&w->slot_done);
    pthread_cond_broadcast(&w->slot_free);
    pthread_mutex_unlock(&w->lock);
}

/* ---- output (writer thread) ---- */

static mfb_status out_flush(struct archive_writer *w, struct mfb_error *err)
{
    if (w->olen == 0)
        return MFB_OK;
    mfb_status s = w->sink.write(w->sink.ctx, w->obuf, w->olen, err);
    w->olen = 0;
    return s;
}

/* Writes through a small buffer that joins headers; large data goes straight to the sink. */
static mfb_status out_write(struct archive_writer *w, const void *buf, size_t len,
                            struct mfb_error *err)
{
    mfb_status s = MFB_OK;
    if (len >= OUT_BUFFER_SIZE / 2) {
        s = out_flush(w, err);
        if (s == MFB_OK && len > 0)
            s = w->sink.write(w->sink.ctx, buf, len, err);
    } else {
        if (w->olen + len > OUT_BUFFER_SIZE)
            s = out_flush(w, err);
        if (s == MFB_OK) {
            memcpy(w->obuf + w->olen, buf, len);
            w->olen += len;
        }
    }
    w->offset += len;
    return s;
}

static uint32_t ut_time(int64_t t)
{
    if (t < INT32_MIN)
        t = INT32_MIN;
    if (t > INT32_MAX)
        t = INT32_MAX;
    return (uint32_t)(int32_t)t;
}

/* The extended timestamp and Unix owner fields, identical in both headers. */
static size_t put_unix_extras(uint8_t *p, const struct scan_entry *e)
{
    zip_put16(p, ZIP_EXTRA_TIMESTAMP);
    zip_put16(p + 2, 5);
    p[4] = 1; /* mtime present */
    zip_put32(p + 5, ut_time(e->mtime));
    p += ZIP_EXTRA_TIMESTAMP_SIZE;
    zip_put16(p, ZIP_EXTRA_UNIX);
    zip_put16(p + 2, 11);
    p[4] = 1; /* version */
    p[5] = 4;
    zip_put32(p + 6, e->uid);
    p[10] = 4;
    zip_put32(p + 11, e->gid);
    return ZIP_EXTRA_TIMESTAMP_SIZE + ZIP_EXTRA_UNIX_SIZE;
}

/* Writes a header's fixed part, the entry's name and the extra fields;
 * folds them into *crc when crc is not NULL. */
static mfb_status write_header(struct archive_writer *w, const uint8_t *h, size_t hlen,
                               const struct scan_entry *e, const uint8_t *x, size_t xlen,
                               uint32_t *crc, struct mfb_error *err)
{
    if (crc) {
        *crc = deflate_crc32(*crc, h, hlen);
        *crc = deflate_crc32(*crc, e->name, e->name_len);
        *crc = deflate_crc32(*crc, x, xlen);
    }
    mfb_status s = out_write(w, h, hlen, err);
    if (s == MFB_OK)
        s = out_write(w, e->name, e->name_len, err);
    if (s == MFB_OK)
        s = out_write(w, x, xlen, err);
    return s;
}

static mfb_status write_local_header(struct archive_writer *w, const struct scan_entry *e,
                                     bool sizes_known, struct mfb_error *err)
{
    uint8_t h[ZIP_LOCAL_SIZE + 20 + ZIP_EXTRA_TIMESTAMP_SIZE + ZIP_EXTRA_UNIX_SIZE];
    uint8_t *x = h + ZIP_LOCAL_SIZE;
    size_t xlen = 0;
    uint32_t crc = sizes_known ? w->entry_crc : 0;
    uint32_t csize = sizes_known ? (uint32_t)w->entry_csize : 0;
    uint32_t usize = sizes_known ? (uint32_t)w->entry_usize : 0;
    if (e->zip64_local) {
        zip_put16(x, ZIP_EXTRA_ZIP64);
        zip_put16(x + 2, 16);
        zip_put64(x + 4, sizes_known ? w->entry_usize : 0);
        zip_put64(x + 12, sizes_known ? w->entry_csize : 0);
        xlen = 20;
        csize = usize = ZIP_MAX32;
    }
    xlen += put_unix_extras(x + xlen, e);
    uint32_t dos = zip_dos_datetime(e->mtime);
    zip_put32(h, ZIP_SIG_LOCAL);
    zip_put16(h + 4, e->version);
    zip_put16(h + 6, e->flags);
    zip_put16(h + 8, e->method);
    zip_put16(h + 10, (uint16_t)dos);
    zip_put16(h + 12, (uint16_t)(dos >> 16));
    zip_put32(h + 14, crc);
    zip_put32(h + 18, csize);
    zip_put32(h + 22, usize);
    zip_put16(h + 26, (uint16_t)e->name_len);
    zip_put16(h + 28, (uint16_t)xlen);
    return write_header(w, h, ZIP_LOCAL_SIZE, e, x, xlen, NULL, err);
}

static mfb_status write_descriptor(struct archive_writer *w, const struct scan_entry *e,
                                   struct mfb_error *err)
{
    uint8_t d[ZIP_DESCRIPTOR64_SIZE];
    zip_put32(d, ZIP_SIG_DESCRIPTOR);
    zip_put32(d + 4, w->entry_crc);
    if (e->zip64_local) {
        zip_put64(d + 8, w->entry_csize);
        zip_put64(d + 16, w->entry_usize);
        return out_write(w, d, ZIP_DESCRIPTOR64_SIZE, err);
    }
    if (w->entry_csize >= ZIP_MAX32 || w->entry_usize >= ZIP_MAX32)
        return mfb_error_set(err, MFB_ERR_INTERNAL,
                             "entry '%s' grew past 4 GiB without zip64 headers", e->name);
    zip_put32(d + 8, (uint32_t)w->entry_csize);
    zip_put32(d + 12, (uint32_t)w->entry_usize);
    return out_write(w, d, ZIP_DESCRIPTOR32_SIZE, err);
}

/* Decides how an entry is stored, once its first block is compressed. */
static void start_entry(struct archive_writer *w, struct scan_entry *e, struct slot *slot)
{
    bool single = slot->last;
    uint16_t method = ZIP_METHOD_DEFLATE;
    if (e->type == SCAN_DIR || e->type == SCAN_SYMLINK || w->level == 0 ||
        (single && slot->len == 0))
        method = ZIP_METHOD_STORE;
    if (single && method == ZIP_METHOD_DEFLATE && slot->result_len >= slot->len) {
        /* incompressible and small enough to know now: store it instead */
        method = ZIP_METHOD_STORE;
        slot->result = slot->in + DEFLATE_DICT_SIZE;
        slot->result_len = slot->len;
    }
    e->method = method;
    e->flags = zip_name_needs_utf8_flag(e->name, e->name_len) ? ZIP_FLAG_UTF8 : 0;
    if (!single)
        e->flags |= ZIP_FLAG_DESCRIPTOR;
    /* sizes go in the descriptor, so decide zip64 from the worst case */
    uint64_t bound = method == ZIP_METHOD_STORE ? e->size : e->size + e->size / 32 + (1u << 20);
    e->zip64_local = w->opt.force_zip64 || (!single && bound >= ZIP_MAX32);
    e->offset = w->offset;
    if (e->zip64_local || e->offset >= ZIP_MAX32)
        e->version = ZIP_VERSION_ZIP64;
    else
        e->version = method == ZIP_METHOD_DEFLATE ? ZIP_VERSION_DEFLATE : ZIP_VERSION_STORE;
}

/* Writes one completed slot (writer thread). */
static mfb_status emit_slot(struct archive_writer *w, struct slot *slot, struct mfb_error *err)
{
    struct scan_entry *e = &w->list.entries[slot->entry];
    mfb_status s = MFB_OK;
    if (slot->first) {
        start_entry(w, e, slot);
        w->entry_crc = slot->crc;
        w->entry_usize = slot->len;
        w->entry_csize = slot->result_len;
        s = write_local_header(w, e, slot->last, err);
    } else {
        w->entry_crc = deflate_crc32_combine(w->entry_crc, slot->crc, slot->len);
        w->entry_usize += slot->len;
        w->entry_csize += slot->result_len;
    }
    if (s == MFB_OK)
        s = out_write(w, slot->result, slot->result_len, err);
    if (s == MFB_OK && slot->last) {
        e->crc = w->entry_crc;
        e->csize = w->entry_csize;
        if (e->type == SCAN_MANIFEST)
            e->size = w->entry_usize; /* a file's size was checked by the reader */
        if (e->flags & ZIP_FLAG_DESCRIPTOR)
            s = write_descriptor(w, e, err);
    }
    return s;
}

/* Writer thread: writes completed slots in ring order until the input ends or a role fails. */
static void *writer_main(void *arg)
{
    struct archive_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!atomic_load(&w->failed) && !(w->count > 0 && w->slots[w->head].done) &&
               !(w->input_done && w->count == 0))
            pthread_cond_wait(&w->slot_done, &w->lock);
        if (atomic_load(&w->failed) || w->count == 0) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        /* Slots are written strictly in ring order, each once, when done. */
        assert(w->head < w->nslots && w->count <= w->nslots && w->slots[w->head].done);
        struct slot *slot = &w->slots[w->head];
        pthread_mutex_unlock(&w->lock);

        struct mfb_error err = {0};
        mfb_status s = emit_slot(w, slot, &err);
        if (s != MFB_OK) {
            fail(w, &err, s);
            break;
        }
        pthread_mutex_lock(&w->lock);
        w->head = (w->head + 1) % w->nslots;
        w->count--;
        pthread_cond_broadcast(&w->slot_free);
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

/* ---- workers ---- */

/* Worker task: CRC and compression of one slot. */
static void compress_task(void *arg)
{
    struct slot *slot = arg;
    struct archive_writer *w = slot->w;
    struct mfb_error err = {0};
    mfb_status s = MFB_OK;
    if (!atomic_load(&w->failed)) {
        const uint8_t *data = slot->in + DEFLATE_DICT_SIZE;
        slot->crc = deflate_crc32(0, data, slot->len);
        if (w->level == 0) {
            slot->result = data;
            slot->result_len = slot->len;
        } else {
            void *c = NULL;
            queue_pop(&w->compressors, &c);
            s = deflate_block_run(c, data - slot->dict_len, slot->dict_len, data, slot->len,
                                  slot->last, &slot->out, &slot->out_cap, &slot->result_len, &err);
            queue_push(&w->compressors, c);
            slot->result = slot->out;
        }
    }
    if (s != MFB_OK)
        fail(w, &err, s);
    pthread_mutex_lock(&w->lock);
    slot->done = true;
    pthread_cond_broadcast(&w->slot_done);
    pthread_mutex_unlock(&w->lock);
}

/* ---- the reader (caller's thread) ---- */

static mfb_status check_stop(struct archive_writer *w, struct mfb_error *err)
{
    if (atomic_load(&w->failed))
        return MFB_ERR_CANCELLED; /* the real error is in fail_err */
    if (w->opt.cancel && atomic_load(w->opt.cancel)) {
        mfb_error_set(err, MFB_ERR_CANCELLED, "archive cancelled");
        return MFB_ERR_CANCELLED;
    }
    return MFB_OK;
}

/* Waits for a free slot; it is the reader's until published. */
static mfb_status acquire(struct archive_writer *w, size_t entry, struct slot **out,
                          struct mfb_error *err)
{
    mfb_status s = check_stop(w, err);
    if (s != MFB_OK)
        return s;
    pthread_mutex_lock(&w->lock);
    while (w->count == w->nslots && !atomic_load(&w->failed))
        pthread_cond_wait(&w->slot_free, &w->lock);
    size_t index = (w->head + w->count) % w->nslots;
    /* The reader owns the next free slot: the ring is not full (or failed). */
    assert(w->count < w->nslots || atomic_load(&w->failed));
    pthread_mutex_unlock(&w->lock);
    if (atomic_load(&w->failed))
        return MFB_ERR_CANCELLED;
    struct slot *slot = &w->slots[index];
    slot->entry = entry;
    slot->dict_len = 0;
    slot->len = 0;
    slot->first = true;
    slot->last = true;
    slot->crc = 0;
    slot->result = slot->in + DEFLATE_DICT_SIZE;
    slot->result_len = 0;
    slot->done = false;
    *out = slot;
    return MFB_OK;
}

/* Copies the input that precedes slot's block (the end of prev's) as its dictionary. */
static void set_dictionary(struct slot *slot, const struct slot *prev)
{
    size_t avail = prev->dict_len + prev->len;
    size_t n = avail < DEFLATE_DICT_SIZE ? avail : DEFLATE_DICT_SIZE;
    memcpy(slot->in + DEFLATE_DICT_SIZE - n, prev->in + DEFLATE_DICT_SIZE + prev->len - n, n);
    slot->dict_len = n;
}

/* The slot for an entry's next block: after prev (NULL for the first block),
 * with prev's tail as its dictionary. */
static mfb_status next_block(struct archive_writer *w, size_t entry, const struct slot *prev,
                             struct slot **out, struct mfb_error *err)
{
    mfb_status s = acquire(w, entry, out, err);
    if (s != MFB_OK)
        return s;
    (*out)->first = prev == NULL;
    if (prev && w->level > 0)
        set_dictionary(*out, prev);
    return MFB_OK;
}

/* Hands a filled slot to the ring; to the workers when it needs compressing. */
static mfb_status publish(struct archive_writer *w, struct slot *slot, bool compress,
                          struct mfb_error *err)
{
    pthread_mutex_lock(&w->lock);
    slot->done = !compress;
    w->count++;
    pthread_cond_broadcast(&w->slot_done);
    pthread_mutex_unlock(&w->lock);
    if (compress && threadpool_submit(w->pool, compress_task, slot) != MFB_OK) {
        /* cannot happen while the pool lives; keep the ring consistent anyway */
        pthread_mutex_lock(&w->lock);
        slot->done = true;
        pthread_mutex_unlock(&w->lock);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot queue a compression task");
    }
    return MFB_OK;
}

static void report_progress(struct archive_writer *w, size_t bytes)
{
    w->input_read += bytes;
    if (w->opt.progress)
        w->opt.progress(w->opt.progress_ctx, w->input_read, w->list.total_bytes);
}

static bool same_time(const struct stat *st, const struct scan_entry *e)
{
    return st->st_mtim.tv_sec == e->mtime && st->st_mtim.tv_nsec == e->mtime_nsec;
}

/* Compares the open file with what the scan saw. */
static mfb_status check_unchanged(int fd, const struct scan_entry *e, const char *path,
                                  struct mfb_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", path);
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_ino != e->ino || (uint64_t)st.st_dev != e->dev)
        return scan_changed(err, path, "was replaced");
    if ((uint64_t)st.st_size != e->size) {
        char what[96];
        snprintf(what, sizeof(what), "changed size (%llu bytes, then %llu)",
                 (unsigned long long)e->size, (unsigned long long)st.st_size);
        return scan_changed(err, path, what);
    }
    if (!same_time(&st, e))
        return scan_changed(err, path, "was modified");
    return MFB_OK;
}

static mfb_status feed_file(struct archive_writer *w, size_t index, struct mfb_error *err)
{
    struct scan_entry *e = &w->list.entries[index];
    char path[PATH_MAX];
    mfb_status s = scan_source_path(&w->list, e, path, sizeof(path), err);
    if (s != MFB_OK)
        return s;
    if (w->opt.test_hook)
        w->opt.test_hook(w->opt.test_hook_ctx, path, ARCHIVE_HOOK_BEFORE_OPEN);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return scan_changed(err, path, "disappeared");
        if (errno == ELOOP)
            return scan_changed(err, path, "was replaced by a symlink");
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
    }
    s = check_unchanged(fd, e, path, err);
    if (s == MFB_OK && e->size > w->block_size)
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t remaining = e->size;
    struct slot *prev = NULL;
    while (s == MFB_OK) {
        struct slot *slot;
        s = next_block(w, index, prev, &slot, err);
        if (s != MFB_OK)
            break;
        size_t want = remaining < w->block_size ? (size_t)remaining : w->block_size;
        bool last = want == remaining;
        size_t got;
        /* one byte more on the last block tells a file that grew */
        s = fs_read_full(fd, slot->in + DEFLATE_DICT_SIZE, want + (last ? 1 : 0), &got, path, err);
        if (s != MFB_OK)
            break;
        if (got < want) {
            s = scan_changed(err, path, "shrank");
            break;
        }
        if (got > want) {
            s = scan_changed(err, path, "grew");
            break;
        }
        slot->len = want;
        slot->last = last;
        remaining -= want;
        s = publish(w, slot, want > 0, err);
        report_progress(w, want);
        if (prev == NULL && w->opt.test_hook)
            w->opt.test_hook(w->opt.test_hook_ctx, path, ARCHIVE_HOOK_AFTER_FIRST_BLOCK);
        prev = slot;
        if (last)
            break;
    }
    if (s == MFB_OK)
        s = check_unchanged(fd, e, path, err);
    close(fd);
    return s;
}

static mfb_status feed_symlink(struct archive_writer *w, size_t index, struct mfb_error *err)
{
    struct scan_entry *e = &w->list.entries[index];
    char path[PATH_MAX];
    mfb_status s = scan_source_path(&w->list, e, path, sizeof(path), err);
    struct slot *slot;
    if (s == MFB_OK)
        s = acquire(w, index, &slot, err);
    if (s != MFB_OK)
        return s;
    uint8_t *data = slot->in + DEFLATE_DICT_SIZE;
    ssize_t n = readlink(path, (char *)data, w->block_size);
    if (n < 0) {
        if (errno == ENOENT)
            return scan_changed(err, path, "disappeared");
        if (errno == EINVAL)
            return scan_changed(err, path, "is no longer a symlink");
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read symlink '%s'", path);
    }
    if ((uint64_t)n != e->size)
        return scan_changed(err, path, "changed its target");
    slot->len = (size_t)n;
    slot->crc = deflate_crc32(0, data, slot->len);
    slot->result_len = slot->len;
    return publish(w, slot, false, err);
}

static mfb_status feed_dir(struct archive_writer *w, size_t index, struct mfb_error *err)
{
    struct slot *slot;
    mfb_status s = acquire(w, index, &slot, err);
    return s == MFB_OK ? publish(w, slot, false, err) : s;
}

/* Waits until the writer thread has written every published slot. */
static void wait_drained(struct archive_writer *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->count > 0 && !atomic_load(&w->failed))
        pthread_cond_wait(&w->slot_free, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static mfb_status feed_manifest(struct archive_writer *w, struct mfb_error *err)
{
    /* sizes and CRCs are final only once everything before has been written */
    wait_drained(w);
    mfb_status s = check_stop(w, err);
    if (s != MFB_OK)
        return s;
    size_t files = w->list.count;
    /* not the clock: the archive must depend only on its input and options */
    int64_t created = w->opt.created ? w->opt.created : scan_newest_mtime(&w->list);
    s = scan_add_special(&w->list, SCAN_MANIFEST_NAME, SCAN_MANIFEST, S_IFREG | 0644, created, err);
    if (s != MFB_OK)
        return s;
    size_t index = w->list.count - 1;
    w->list.entries[index].size = manifest_size_bound(&w->list, files, w->metadata);
    struct manifest_gen *gen;
    s = manifest_gen_create(&w->list, files, w->metadata, created, &gen, err);
    struct slot *prev = NULL;
    while (s == MFB_OK) {
        struct slot *slot;
        s = next_block(w, index, prev, &slot, err);
        if (s != MFB_OK)
            break;
        bool done;
        s = manifest_gen_fill(gen, slot->in + DEFLATE_DICT_SIZE, w->block_size, &slot->len, &done,
                              err);
        if (s != MFB_OK)
            break;
        slot->last = done;
        s = publish(w, slot, true, err);
        prev = slot;
        if (done)
            break;
    }
    manifest_gen_free(gen);
    return s;
}

/* ---- central directory (caller's thread, after the writer thread ended) ---- */

static mfb_status write_central_record(struct archive_writer *w, const struct scan_entry *e,
                                       uint32_t *cd_crc, struct mfb_error *err)
{
    uint8_t h[ZIP_CENTRAL_SIZE + 28 + ZIP_EXTRA_TIMESTAMP_SIZE + ZIP_EXTRA_UNIX_SIZE];
    uint8_t *x = h + ZIP_CENTRAL_SIZE;
    bool force = w->opt.force_zip64;
    uint64_t vals[3] = {e->size, e->csize, e->offset};
    uint32_t fields[3];
    size_t z = 0;
    uint8_t zip64[24];
    for (int i = 0; i < 3; i++) {
        if (force || vals[i] >= ZIP_MAX32) {
            fields[i] = ZIP_MAX32;
            zip_put64(zip64 + 8 * z++, vals[i]);
        } else {
            fields[i] = (uint32_t)vals[i];
        }
    }
    size_t xlen = 0;
    if (z > 0) {
        zip_put16(x, ZIP_EXTRA_ZIP64);
        zip_put16(x + 2, (uint16_t)(8 * z));
        memcpy(x + 4, zip64, 8 * z);
        xlen = 4 + 8 * z;
    }
    xlen += put_unix_extras(x + xlen, e);
    uint16_t version = e->version;
    if (z > 0)
        version = ZIP_VERSION_ZIP64;
    uint32_t external = (e->mode & 0xffffu) << 16;
    if (e->type == SCAN_DIR)
        external |= ZIP_DOS_DIRECTORY;
    uint32_t dos = zip_dos_datetime(e->mtime);
    zip_put32(h, ZIP_SIG_CENTRAL);
    zip_put16(h + 4, ZIP_VERSION_MADE_BY);
    zip_put16(h + 6, version);
    zip_put16(h + 8, e->flags);
    zip_put16(h + 10, e->method);
    zip_put16(h + 12, (uint16_t)dos);
    zip_put16(h + 14, (uint16_t)(dos >> 16));
    zip_put32(h + 16, e->crc);
    zip_put32(h + 20, fields[1]);
    zip_put32(h + 24, fields[0]);
    zip_put16(h + 28, (uint16_t)e->name_len);
    zip_put16(h + 30, (uint16_t)xlen);
    zip_put16(h + 32, 0); /* comment */
    zip_put16(h + 34, 0); /* disk */
    zip_put16(h + 36, 0); /* internal attributes */
    zip_put32(h + 38, external);
    zip_put32(h + 42, fields[2]);
    return write_header(w, h, ZIP_CENTRAL_SIZE, e, x, xlen, cd_crc, err);
}

static mfb_status write_central_directory(struct archive_writer *w, struct mfb_error *err)
{
    uint64_t cd_offset = w->offset;
    uint32_t cd_crc = 0;
    mfb_status s = MFB_OK;
    for (size_t i = 0; i < w->list.count && s == MFB_OK; i++)
        s = write_central_record(w, &w->list.entries[i], &cd_crc, err);
    if (s != MFB_OK)
        return s;
    uint64_t cd_size = w->offset - cd_offset;
    uint64_t n = w->list.count;
    bool zip64 =
        w->opt.force_zip64 || n >= ZIP_MAX16 || cd_size >= ZIP_MAX32 || cd_offset >= ZIP_MAX32;
    if (zip64) {
        uint8_t r[ZIP_EOCD64_SIZE + ZIP_LOCATOR64_SIZE];
        uint64_t eocd64_offset = w->offset;
        zip_put32(r, ZIP_SIG_EOCD64);
        zip_put64(r + 4, ZIP_EOCD64_SIZE - 12);
        zip_put16(r + 12, ZIP_VERSION_MADE_BY);
        zip_put16(r + 14, ZIP_VERSION_ZIP64);
        zip_put32(r + 16, 0);
        zip_put32(r + 20, 0);
        zip_put64(r + 24, n);
        zip_put64(r + 32, n);
        zip_put64(r + 40, cd_size);
        zip_put64(r + 48, cd_offset);
        uint8_t *l = r + ZIP_EOCD64_SIZE;
        zip_put32(l, ZIP_SIG_LOCATOR64);
        zip_put32(l + 4, 0);
        zip_put64(l + 8, eocd64_offset);
        zip_put32(l + 16, 1);
        s = out_write(w, r, sizeof(r), err);
        if (s != MFB_OK)
            return s;
    }
    char comment[32];
    int clen = snprintf(comment, sizeof(comment), CD_COMMENT_PREFIX "%08x", cd_crc);
    uint8_t e[ZIP_EOCD_SIZE];
    bool big = zip64 && w->opt.force_zip64;
    zip_put32(e, ZIP_SIG_EOCD);
    zip_put16(e + 4, 0);
    zip_put16(e + 6, 0);
    zip_put16(e + 8, (uint16_t)(big || n >= ZIP_MAX16 ? ZIP_MAX16 : n));
    zip_put16(e + 10, (uint16_t)(big || n >= ZIP_MAX16 ? ZIP_MAX16 : n));
    zip_put32(e + 12, (uint32_t)(big || cd_size >= ZIP_MAX32 ? ZIP_MAX32 : cd_size));
    zip_put32(e + 16, (uint32_t)(big || cd_offset >= ZIP_MAX32 ? ZIP_MAX32 : cd_offset));
    zip_put16(e + 20, (uint16_t)clen);
    s = out_write(w, e, sizeof(e), err);
    if (s == MFB_OK)
        s = out_write(w, comment, (size_t)clen, err);
    if (s == MFB_OK)
        s = out_flush(w, err);
    return s;
}

/* ---- public API ---- */

mfb_status archive_writer_open(const struct archive_writer_options *options,
                               const struct archive_sink *sink, struct archive_writer **out,
                               struct mfb_error *err)
{
    *out = NULL;
    struct archive_writer_options defaults = {.level = -1};
    const struct archive_writer_options *o = options ? options : &defaults;
    int level = o->level < 0 ? ARCHIVE_LEVEL_DEFAULT : o->level;
    if (level > DEFLATE_LEVEL_MAX)
        return mfb_error_set(err, MFB_ERR_USAGE, "compression level %d is out of range 0-9", level);
    size_t block = o->block_size ? o->block_size : ARCHIVE_BLOCK_SIZE_DEFAULT;
    if (block < ARCHIVE_BLOCK_SIZE_MIN || block > ARCHIVE_BLOCK_SIZE_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "block size %zu is out of range", block);
        mfb_error_hint(err, "use a block size from 64 KiB to 64 MiB");
        return MFB_ERR_USAGE;
    }
    unsigned threads = o->threads ? o->threads : (unsigned)threadpool_default_threads();
    if (threads > ARCHIVE_THREADS_MAX)
        return mfb_error_set(err, MFB_ERR_USAGE, "at most %d threads", ARCHIVE_THREADS_MAX);
    if (sink == NULL || sink->write == NULL)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "archive writer needs a sink");
    struct archive_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    w->opt = *o;
    w->sink = *sink;
    w->level = level;
    w->block_size = block;
    w->threads = threads;
    w->nslots = 2 * (size_t)threads + 2;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->slot_done, NULL);
    pthread_cond_init(&w->slot_free, NULL);
    atomic_init(&w->failed, false);
    w->start_ms = clock_now_ms();
    *out = w;
    return MFB_OK;
}

mfb_status archive_writer_add_tree(struct archive_writer *w, const char *dir, const char *prefix,
                                   struct mfb_error *err)
{
    if (w->finished)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "archive already finished");
    size_t defaults = w->opt.no_default_excludes ? 0 : scan_default_exclude_count;
    const char **patterns = calloc(defaults + w->opt.exclude_count + 1, sizeof(char *));
    if (patterns == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < defaults; i++)
        patterns[n++] = scan_default_excludes[i];
    for (size_t i = 0; i < w->opt.exclude_count; i++)
        patterns[n++] = w->opt.excludes[i];
    struct scan_options so = {
        .excludes = patterns,
        .exclude_count = n,
        .skip_inode = w->opt.skip_inode,
        .skip_dev = w->opt.skip_dev,
        .skip_ino = w->opt.skip_ino,
    };
    size_t before = w->list.count;
    size_t roots_before = w->list.root_count;
    uint64_t bytes_before = w->list.total_bytes;
    mfb_status s = scan_tree(&w->list, dir, prefix ? prefix : "", &so, err);
    free(patterns);
    if (s == MFB_OK && before > 0 && w->list.count > before) {
        /* two trees must not store the same name: with a prefix only the
         * prefix can collide, without one any name can */
        const struct scan_entry *first = &w->list.entries[before];
        bool prefixed = w->list.roots[first->root].prefix[0] != '\0';
        for (size_t j = 0; j < before && s == MFB_OK; j++) {
            const char *old = w->list.entries[j].name;
            size_t from = before, to = prefixed ? before + 1 : w->list.count;
            for (size_t i = from; i < to; i++) {
                const char *name = w->list.entries[i].name;
                size_t olen = strlen(old);
                bool clash =
                    prefixed ? strncmp(old, name, first->name_len) == 0 ||
                                   (olen + 1 == first->name_len && strncmp(old, name, olen) == 0)
                             : strcmp(old, name) == 0;
                if (clash) {
                    mfb_error_set(err, MFB_ERR_USAGE, "'%s' would be stored twice", old);
                    mfb_error_hint(err, "give each source directory its own prefix");
                    s = MFB_ERR_USAGE;
                    break;
                }
            }
        }
    }
    if (s != MFB_OK)
        scan_list_truncate(&w->list, before, roots_before, bytes_before);
    return s;
}

void archive_writer_set_metadata(struct archive_writer *w, json_t *metadata)
{
    json_decref(w->metadata);
    w->metadata = json_incref(metadata);
}

uint64_t archive_writer_planned_bytes(const struct archive_writer *w)
{
    return w->list.total_bytes;
}

static mfb_status start_pipeline(struct archive_writer *w, struct mfb_error *err)
{
    w->obuf = malloc(OUT_BUFFER_SIZE);
    w->slots = calloc(w->nslots, sizeof(*w->slots));
    if (w->obuf == NULL || w->slots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for archive buffers");
    for (size_t i = 0; i < w->nslots; i++) {
        struct slot *slot = &w->slots[i];
        slot->w = w;
        slot->in = malloc(DEFLATE_DICT_SIZE + w->block_size + 1);
        if (w->level > 0) {
            slot->out_cap = deflate_block_bound(w->block_size);
            slot->out = malloc(slot->out_cap);
        }
        if (slot->in == NULL || (w->level > 0 && slot->out == NULL))
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for archive buffers");
    }
    if (queue_init(&w->compressors, w->threads) != 0)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    w->all_compressors = calloc(w->threads, sizeof(*w->all_compressors));
    if (w->all_compressors == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (w->level > 0) {
        for (unsigned i = 0; i < w->threads; i++) {
            mfb_status s = deflate_block_create(w->level, &w->all_compressors[i], err);
            if (s != MFB_OK)
                return s;
            queue_push(&w->compressors, w->all_compressors[i]);
        }
    }
    /* the workers: compress blocks (compress_task) */
    mfb_status s = threadpool_create(w->threads, w->nslots, &w->pool, err);
    if (s != MFB_OK)
        return s;
    return MFB_OK;
}

mfb_status archive_writer_finish(struct archive_writer *w, struct archive_summary *summary,
                                 struct mfb_error *err)
{
    if (w->finished)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "archive already finished");
    w->finished = true;
    struct mfb_error local = {0};
    mfb_status s = start_pipeline(w, &local);
    bool writer_started = false;
    if (s == MFB_OK) {
        /* the writer thread: writes completed slots in order (writer_main) */
        int rc = pthread_create(&w->writer_thread_id, NULL, writer_main, w);
        if (rc != 0)
            s = mfb_error_errno(&local, rc, MFB_ERR_INTERNAL, "cannot start the writer thread");
        writer_started = rc == 0;
    }
    log_info("archive", "step=start entries=%zu bytes=%llu threads=%u level=%d block_size=%zu",
             w->list.count, (unsigned long long)w->list.total_bytes, w->threads, w->level,
             w->block_size);
    for (size_t i = 0; i < w->list.count && s == MFB_OK; i++) {
        switch (w->list.entries[i].type) {
        case SCAN_FILE:
            s = feed_file(w, i, &local);
            break;
        case SCAN_SYMLINK:
            s = feed_symlink(w, i, &local);
            break;
        default:
            s = feed_dir(w, i, &local);
            break;
        }
    }
    if (s == MFB_OK)
        s = feed_manifest(w, &local);
    if (s != MFB_OK)
        fail(w, &local, s);
    pthread_mutex_lock(&w->lock);
    w->input_done = true;
    pthread_cond_broadcast(&w->slot_done);
    pthread_mutex_unlock(&w->lock);
    if (writer_started)
        pthread_join(w->writer_thread_id, NULL);
    threadpool_destroy(w->pool); /* lets running tasks end before the slots go */
    w->pool = NULL;
    if (atomic_load(&w->failed)) {
        return mfb_error_copy(err, &w->fail_err); /* with the failing worker's stack */
    }
    s = write_central_directory(w, err);
    if (s != MFB_OK)
        return s;
    double seconds = (double)(clock_now_ms() - w->start_ms) / 1e3;
    if (summary) {
        summary->entries = w->list.count;
        summary->input_bytes = w->input_read;
        summary->output_bytes = w->offset;
        summary->seconds = seconds;
    }
    log_info("archive", "step=done entries=%zu input_bytes=%llu output_bytes=%llu seconds=%.2f",
             w->list.count, (unsigned long long)w->input_read, (unsigned long long)w->offset,
             seconds);
    return MFB_OK;
}

void archive_writer_free(struct archive_writer *w)
{
    if (w == NULL)
        return;
    threadpool_destroy(w->pool);
    if (w->slots) {
        for (size_t i = 0; i < w->nslots; i++) {
            free(w->slots[i].in);
            free(w->slots[i].out);
        }
        free(w->slots);
    }
    if (w->all_compressors) {
        for (unsigned i = 0; i < w->threads; i++)
            deflate_block_free(w->all_compressors[i]);
        free(w->all_compressors);
        queue_destroy(&w->compressors);
    }
    free(w->obuf);
    scan_list_free(&w->list);
    json_decref(w->metadata);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->slot_done);
    pthread_cond_destroy(&w->slot_free);
    free(w);
}
