/*
 * stream.c - the download on its own thread, the reader behind it, and
 * the checks at the end (see stream.h).
 */
#include "job/restore/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"

#define TAIL_FIRST (256u << 10) /* the directory and manifest of a few hundred files */
#define TAIL_MAX (256u << 20)   /* beyond: download first, as before */
#define STREAM_IDLE_MS 500      /* a reader waiting this long calls the idle hook */

static struct download_config tail_config(const struct restore_fetch *f)
{
    struct download_config cfg = {
        .client = f->client, .backup_id = f->backup->backup_id, .cancel = f->cancel};
    return cfg;
}

mfb_status restore_stream_tail(const struct restore_fetch *f, struct archive_reader **out,
                               struct mfb_error *err)
{
    *out = NULL;
    struct download_config cfg = tail_config(f);
    char name[4200];
    snprintf(name, sizeof(name), "%s/restore-%s.zip", f->spool, f->backup->backup_id);
    uint64_t want = TAIL_FIRST;
    for (int round = 0; round < 4; round++) {
        uint8_t *tail = NULL;
        size_t len = 0;
        struct backup_info info;
        mfb_status st = download_tail(&cfg, want, &tail, &len, &info, err);
        if (st == MFB_OK && (info.size != f->backup->size ||
                             memcmp(info.sha256, f->backup->sha256, SHA256_LEN) != 0))
            st = mfb_error_set(err, MFB_ERR_PROTOCOL,
                               "backup %s: the receiver's record changed during the download",
                               f->backup->backup_id);
        uint64_t need = 0;
        if (st == MFB_OK)
            st = archive_reader_open_tail(name, tail, len, info.size, out, &need, err);
        free(tail);
        if (st != MFB_OK || *out != NULL)
            return st;
        if (info.size - need > TAIL_MAX)
            break;
        want = info.size - need;
    }
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                         "backup %s: its directory is too large to read ahead",
                         f->backup->backup_id);
}

static void on_written(void *ctx, uint64_t bytes)
{
    watermark_set(ctx, bytes);
}

static mfb_status wait_written(void *ctx, uint64_t end, struct mfb_error *err)
{
    struct restore_stream *s = ctx;
    return watermark_wait_idle(&s->mark, end, STREAM_IDLE_MS, s->idle, s->idle_ctx, err);
}

/* The download thread: download_backup, then the mark says how it ended. */
static void *download_main(void *arg)
{
    struct restore_stream *s = arg;
    s->st = download_backup(&s->cfg, &s->dr, &s->err);
    s->download_ms = clock_now_ms() - s->begin_ms;
    if (s->st == MFB_OK)
        watermark_set(&s->mark, s->dr.backup.size);
    else
        watermark_fail(&s->mark, s->st);
    return NULL;
}

mfb_status restore_stream_begin(struct restore_stream *s, const struct restore_fetch *f,
                                struct archive_reader *r, struct mfb_error *err)
{
    memset(s, 0, sizeof(*s));
    s->f = *f;
    int n = snprintf(s->path, sizeof(s->path), "%s/restore-%s.zip", f->spool, f->backup->backup_id);
    if (n < 0 || (size_t)n >= sizeof(s->path))
        return mfb_error_set(err, MFB_ERR_INVALID, "spool path too long: '%s'", f->spool);
    mfb_status st = fs_mkdir_p(f->spool, 0700, err);
    if (st == MFB_OK)
        st = restore_fetch_check_room(f, s->path, err);
    if (st != MFB_OK)
        return st;
    /* The reader's own descriptor on the .part (created here when new; the
     * downloader opens the same file): the rename at the end keeps it. */
    char part[sizeof(s->path) + 8];
    snprintf(part, sizeof(part), "%s.part", s->path);
    int fd = open(part, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    struct stat sb;
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", part);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        mfb_error_set(err, MFB_ERR_EXISTS, "'%s' exists and is not a regular file", part);
        mfb_error_hint(err, "remove it, or download elsewhere with --spool DIR");
        return MFB_ERR_EXISTS;
    }
    cancel_token_init(&s->cancel, f->cancel);
    watermark_init(&s->mark);
    archive_reader_attach_source(r, fd, wait_written, s);
    s->cfg = (struct download_config){.client = f->client,
                                      .backup_id = f->backup->backup_id,
                                      .out_path = s->path,
                                      .cancel = &s->cancel,
                                      .observers = f->observers,
                                      .observer_count = f->observer_count,
                                      .written = on_written,
                                      .written_ctx = &s->mark};
    s->begin_ms = clock_now_ms();
    /* the download thread: fetches into the .part while this one extracts */
    if (pthread_create(&s->thread, NULL, download_main, s) != 0) {
        watermark_destroy(&s->mark);
        cancel_token_destroy(&s->cancel);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the download thread");
    }
    s->running = true;
    return MFB_OK;
}

mfb_status restore_stream_end(struct restore_stream *s, mfb_status extract_st,
                              struct archive_reader *r, struct restore_fetch_result *res,
                              struct mfb_error *err)
{
    memset(res, 0, sizeof(*res));
    if (!s->running)
        return extract_st;
    s->extract_ms = clock_now_ms() - s->begin_ms;
    /* the extraction failed by itself (not because the download stopped):
     * the rest of the download is of no use */
    if (extract_st != MFB_OK)
        cancel_token_request(&s->cancel);
    pthread_join(s->thread, NULL);
    s->running = false;
    snprintf(res->path, sizeof(res->path), "%s", s->path);
    res->resumed_from = s->dr.resumed_from;
    res->received = s->dr.bytes_received;
    bool download_first = s->st != MFB_OK && !(extract_st != MFB_OK && s->st == MFB_ERR_CANCELLED &&
                                               !cancel_token_requested(s->f.cancel));
    s->download_failed = download_first;
    mfb_status st = extract_st;
    if (download_first) {
        st = s->st;
        if (err)
            *err = s->err;
    } else if (st == MFB_OK &&
               (s->dr.backup.size != s->f.backup->size ||
                memcmp(s->dr.backup.sha256, s->f.backup->sha256, SHA256_LEN) != 0)) {
        st = mfb_error_set(err, MFB_ERR_PROTOCOL,
                           "backup %s: the receiver's record changed during the download",
                           s->f.backup->backup_id);
    }
    if (st == MFB_OK) {
        /* the SHA-256 covers the finished file: its directory must be the
         * one every entry was extracted and checked by */
        struct archive_reader *done = NULL;
        st = archive_reader_open(s->path, &done, err);
        if (st == MFB_OK)
            st = archive_reader_same_directory(r, done, err);
        archive_reader_free(done);
    }
    if (st == MFB_ERR_CORRUPT && !download_first) {
        char part[sizeof(s->path) + 8];
        snprintf(part, sizeof(part), "%s.part", s->path);
        unlink(part); /* damaged bytes: a resume would only fail the SHA-256 */
        unlink(s->path);
    }
    log_info("restore",
             "step=stream backup=%s resumed_from=%" PRIu64 " received=%" PRIu64
             " reader_waits=%" PRIu64 " download_ms=%" PRIu64 " extract_ms=%" PRIu64
             " extract_after_download_ms=%" PRIu64 " status=%s",
             s->f.backup->backup_id, s->dr.resumed_from, s->dr.bytes_received, s->mark.waits,
             s->download_ms, s->extract_ms,
             s->extract_ms > s->download_ms ? s->extract_ms - s->download_ms : 0,
             mfb_status_str(st));
    watermark_destroy(&s->mark);
    cancel_token_destroy(&s->cancel);
    return st;
}
