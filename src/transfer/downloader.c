/*
 * downloader.c - GET with Range resume into OUT.part, verify, publish (see
 * downloader.h).
 */
#include "transfer/downloader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "proto/proto.h"
#include "transfer/plan.h"

/* The received bytes are written to OUT.part in batches of this size: a
 * TLS record (16 KiB) at a time, the write(2) calls, the digest updates
 * and the wake-ups of a reader behind the watermark (a streamed restore)
 * cost as much CPU as the download's decryption. */
#define WRITE_BATCH (256u << 10)

struct download {
    const struct download_config *cfg;
    struct backup_info *backup;
    char part[PATH_MAX];
    int fd;
    uint64_t offset; /* bytes received: in OUT.part and hashed, or in batch */
    uint8_t *batch;  /* the last batch_len of them, not yet written */
    size_t batch_len;
    struct sha256 hash;
    struct observer_hub hub;
    uint64_t received;
    uint64_t retries;
    uint8_t *mem; /* download_tail: bytes [mem_base, size) go here, not to a file */
    uint64_t mem_base;
};

static void tell_written(struct download *d)
{
    if (d->cfg->written)
        d->cfg->written(d->cfg->written_ctx, d->offset);
}

static void emit_progress(struct download *d, enum transfer_event_type type, bool force)
{
    if (!force && !observer_hub_claim_progress(&d->hub))
        return;
    struct transfer_event ev = {
        .type = type, .bytes_done = d->offset, .bytes_total = d->backup->size, .total_known = true};
    observer_hub_emit(&d->hub, &ev);
}

/* Writes and hashes the batch: the bytes are in OUT.part after it. */
static mfb_status flush_batch(struct download *d, struct mfb_error *err)
{
    if (d->batch_len == 0)
        return MFB_OK;
    mfb_status st = fs_write_all(d->fd, d->batch, d->batch_len, d->part, err);
    if (st != MFB_OK)
        return st;
    sha256_update(&d->hash, d->batch, d->batch_len);
    d->batch_len = 0;
    tell_written(d);
    emit_progress(d, TRANSFER_EVENT_PROGRESS, false);
    return MFB_OK;
}

/* Starts OUT.part over: the receiver sent the whole file after all. */
static mfb_status restart_part(struct download *d, struct mfb_error *err)
{
    d->batch_len = 0;
    if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot truncate '%s'", d->part);
    uint8_t scratch[SHA256_LEN];
    sha256_final(&d->hash, scratch); /* resets the context */
    d->offset = 0;
    tell_written(d);
    return MFB_OK;
}

static mfb_status sink_begin(void *ctx, const struct http_response *resp, struct mfb_error *err)
{
    struct download *d = ctx;
    uint8_t repr[SHA256_LEN];
    if (resp->repr_digest[0] && content_digest_parse(resp->repr_digest, repr) &&
        memcmp(repr, d->backup->sha256, SHA256_LEN) != 0)
        return mfb_error_set(err, MFB_ERR_PROTOCOL,
                             "backup %s: the content's Repr-Digest differs from the backup's "
                             "recorded SHA-256",
                             d->backup->backup_id);
    if (resp->status == 200) {
        if (d->mem != NULL && d->offset > 0)
            return mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                                 "backup %s: the receiver answered a request for its end with "
                                 "the whole file",
                                 d->backup->backup_id);
        if (d->offset > 0) {
            log_info("download", "backup=%s note=range_ignored_restarting", d->backup->backup_id);
            return restart_part(d, err);
        }
        return MFB_OK;
    }
    uint64_t first, last, total;
    if (resp->status != 206 ||
        !plan_parse_content_range(resp->content_range, &first, &last, &total) ||
        first != d->offset || total != d->backup->size)
        return mfb_error_set(err, MFB_ERR_PROTOCOL,
                             "backup %s: the receiver answered %ld with Content-Range '%s' to a "
                             "request for bytes %" PRIu64 "-",
                             d->backup->backup_id, resp->status, resp->content_range, d->offset);
    return MFB_OK;
}

static mfb_status sink(void *ctx, const void *data, size_t len, struct mfb_error *err)
{
    struct download *d = ctx;
    if (len > d->backup->size - d->offset)
        return mfb_error_set(err, MFB_ERR_PROTOCOL,
                             "backup %s: the receiver sent more than its %" PRIu64 " bytes",
                             d->backup->backup_id, d->backup->size);
    if (d->mem != NULL) {
        memcpy(d->mem + (d->offset - d->mem_base), data, len);
        d->offset += len;
        d->received += len;
        return MFB_OK;
    }
    const uint8_t *bytes = data;
    d->received += len;
    while (len > 0) {
        size_t n = WRITE_BATCH - d->batch_len < len ? WRITE_BATCH - d->batch_len : len;
        memcpy(d->batch + d->batch_len, bytes, n);
        d->batch_len += n;
        d->offset += n;
        bytes += n;
        len -= n;
        if (d->batch_len == WRITE_BATCH) {
            mfb_status st = flush_batch(d, err);
            if (st != MFB_OK)
                return st;
        }
    }
    return MFB_OK;
}

/* Re-reads what an earlier run left in OUT.part, to continue its digest. */
static mfb_status hash_existing(struct download *d, struct mfb_error *err)
{
    struct stat sb;
    if (fstat(d->fd, &sb) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot stat '%s'", d->part);
    if ((uint64_t)sb.st_size > d->backup->size)
        return restart_part(d, err);
    size_t cap = 1u << 20;
    char *buf = malloc(cap);
    if (buf == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status st = MFB_OK;
    uint64_t want = (uint64_t)sb.st_size;
    while (st == MFB_OK && d->offset < want) {
        size_t got = 0;
        size_t n = want - d->offset < cap ? (size_t)(want - d->offset) : cap;
        st = fs_read_full(d->fd, buf, n, &got, d->part, err);
        if (st == MFB_OK && got == 0)
            break;
        sha256_update(&d->hash, buf, got);
        d->offset += got;
    }
    free(buf);
    if (st == MFB_OK && lseek(d->fd, (off_t)d->offset, SEEK_SET) != (off_t)d->offset)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot seek in '%s'", d->part);
    if (st == MFB_OK)
        tell_written(d);
    return st;
}

static mfb_status fetch_content(struct download *d, struct transfer_conn *conn,
                                struct mfb_error *err)
{
    char path[256], what[256];
    proto_path_backup_content(path, sizeof(path), d->backup->backup_id);
    snprintf(what, sizeof(what), "cannot download backup %s", d->backup->backup_id);
    const struct transfer_settings *s = transfer_peer_settings(d->cfg->client);
    struct backoff b;
    backoff_start(&b, &s->retry, clock_now_ms(), backoff_seed());
    struct http_response resp = {0};
    mfb_status st = MFB_OK;
    while (d->offset < d->backup->size) {
        struct http_request req = {.method = "GET",
                                   .path = path,
                                   .what = what,
                                   .has_range = d->offset > 0,
                                   .range_start = d->offset,
                                   .sink_begin = sink_begin,
                                   .sink = sink,
                                   .sink_ctx = d};
        struct mfb_error attempt = {0};
        bool retryable = false;
        uint64_t before = d->offset;
        st = transfer_conn_perform(conn, &req, &resp, &retryable, &attempt);
        /* What arrived is kept, whatever ended the request. */
        struct mfb_error flush_err = {0};
        if (d->mem == NULL && flush_batch(d, &flush_err) != MFB_OK) {
            st = mfb_error_copy(err, &flush_err);
            break;
        }
        if (st == MFB_OK && resp.status >= 200 && resp.status <= 299) {
            if (d->offset == d->backup->size)
                break;
            retryable = true; /* the answer ended early */
            mfb_error_set(&attempt, MFB_ERR_NETWORK, "%s: the answer ended at byte %" PRIu64, what,
                          d->offset);
        } else if (st == MFB_OK) {
            st = transfer_http_error(&req, &resp, &attempt);
            retryable = backoff_http_retryable(resp.status, false);
        }
        if (d->offset > before)
            backoff_reset(&b, clock_now_ms()); /* progress: count failures afresh */
        uint64_t delay = 0;
        if (!retryable || !backoff_next(&b, clock_now_ms(), resp.retry_after_ms, &delay)) {
            st = mfb_error_copy(err, &attempt);
            if (retryable)
                mfb_error_hint(err, "run the same command again to continue from byte %" PRIu64,
                               d->offset);
            break;
        }
        d->retries++;
        log_warn("retry", "what=\"%s\" offset=%" PRIu64 " delay_ms=%" PRIu64 " reason=\"%s\"", what,
                 d->offset, delay, attempt.message);
        struct transfer_event ev = {.type = TRANSFER_EVENT_RETRY,
                                    .bytes_done = d->offset,
                                    .bytes_total = d->backup->size,
                                    .total_known = true,
                                    .attempt = b.attempts - 1,
                                    .delay_ms = delay,
                                    .reason = attempt.message};
        observer_hub_emit(&d->hub, &ev);
        if (!cancel_token_sleep(d->cfg->cancel, delay)) {
            st = mfb_error_set(err, MFB_ERR_CANCELLED, "%s: cancelled", what);
            break;
        }
        st = MFB_OK;
    }
    http_response_free(&resp);
    return st;
}

/* resumed_from: what an earlier run's OUT.part held. A mismatch after a
 * resume most likely lies in those old bytes (a disk, a copy, a hand), so the
 * hint says that the next run starts from zero; after a whole download it
 * says how to tell a damaged copy on the receiver. Either way the bad file
 * goes: kept, it would be continued and fail again. */
static mfb_status publish(struct download *d, uint64_t resumed_from, struct mfb_error *err)
{
    uint8_t got[SHA256_LEN];
    sha256_final(&d->hash, got);
    if (memcmp(got, d->backup->sha256, SHA256_LEN) != 0) {
        char want_hex[SHA256_HEX_LEN + 1], got_hex[SHA256_HEX_LEN + 1];
        digest_to_hex(d->backup->sha256, want_hex);
        digest_to_hex(got, got_hex);
        unlink(d->part);
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "backup %s: downloaded SHA-256 %s does not match the receiver's %s",
                      d->backup->backup_id, got_hex, want_hex);
        if (resumed_from > 0)
            mfb_error_hint(err,
                           "the download continued '%s' from byte %" PRIu64 ", and that file was "
                           "damaged; it was removed: run the same command again to download "
                           "the whole backup afresh",
                           d->part, resumed_from);
        else
            mfb_error_hint(err, "the file was removed; run the command again, and if it fails the "
                                "same way the copy on the receiver is damaged ('sha256sum -c' its "
                                ".sha256 file there tells)");
        return MFB_ERR_CORRUPT;
    }
    if (fsync(d->fd) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync '%s'", d->part);
    mfb_status st = fs_rename_noreplace(d->part, d->cfg->out_path, err);
    if (st == MFB_OK)
        st = fs_fsync_dir_of(d->cfg->out_path, false, err);
    return st;
}

mfb_status download_backup(const struct download_config *cfg, struct download_result *result,
                           struct mfb_error *err)
{
    memset(result, 0, sizeof(*result));
    struct download d = {.cfg = cfg, .backup = &result->backup, .fd = -1};
    observer_hub_init(&d.hub, cfg->observers, cfg->observer_count, "download");
    observer_hub_set_id(&d.hub, cfg->backup_id);
    struct transfer_conn *conn = NULL;
    bool hashing = false;
    mfb_status st = MFB_OK;
    struct stat sb;
    if (lstat(cfg->out_path, &sb) == 0) { /* whatever it is: a file, a device, a link */
        st = mfb_error_set(err, MFB_ERR_EXISTS, "'%s' already exists", cfg->out_path);
        mfb_error_hint(err, "choose another output name, or remove the file first");
        goto done;
    }
    if (snprintf(d.part, sizeof(d.part), "%s.part", cfg->out_path) >= (int)sizeof(d.part)) {
        st = mfb_error_set(err, MFB_ERR_INVALID, "path too long: '%s'", cfg->out_path);
        goto done;
    }
    st = transfer_conn_open(cfg->client, cfg->cancel, &conn, err);
    if (st == MFB_OK)
        st = receiver_backup_get(conn, cfg->backup_id, &result->backup, err);
    if (st != MFB_OK)
        goto done;
    d.batch = malloc(WRITE_BATCH);
    if (d.batch == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    sha256_init(&d.hash);
    hashing = true;
    /* OUT.part is ours to create or continue, and only as a regular file:
     * never through a symbolic link, never a FIFO (O_NONBLOCK: opening one
     * must not hang) or a device. */
    d.fd = open(d.part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (d.fd < 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", d.part);
        if (errno == ELOOP)
            mfb_error_hint(err, "'%s' is a symbolic link; mfb does not write through links",
                           d.part);
        goto done;
    }
    if (fstat(d.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mfb_error_set(err, MFB_ERR_EXISTS, "'%s' exists and is not a regular file", d.part);
        mfb_error_hint(err, "remove it, or choose another output name");
        goto done;
    }
    st = hash_existing(&d, err);
    if (st != MFB_OK)
        goto done;
    result->resumed_from = d.offset;
    if (d.offset > 0)
        log_info("download", "backup=%s resume_from=%" PRIu64, cfg->backup_id, d.offset);
    emit_progress(&d, TRANSFER_EVENT_START, true);
    st = fetch_content(&d, conn, err);
    if (st == MFB_OK)
        st = publish(&d, result->resumed_from, err);
done:
    result->bytes_received = d.received;
    result->retries = d.retries;
    if (hashing) {
        struct transfer_event ev = {.type = TRANSFER_EVENT_DONE,
                                    .bytes_done = d.offset,
                                    .bytes_total = result->backup.size,
                                    .total_known = true,
                                    .status = st};
        observer_hub_emit(&d.hub, &ev);
    }
    if (d.fd >= 0)
        close(d.fd);
    free(d.batch);
    sha256_free(&d.hash);
    transfer_conn_close(conn);
    observer_hub_destroy(&d.hub);
    return st;
}

mfb_status download_tail(const struct download_config *cfg, uint64_t want, uint8_t **data,
                         size_t *len, struct backup_info *backup, struct mfb_error *err)
{
    *data = NULL;
    *len = 0;
    memset(backup, 0, sizeof(*backup));
    struct download d = {.cfg = cfg, .backup = backup, .fd = -1};
    observer_hub_init(&d.hub, NULL, 0, "download");
    struct transfer_conn *conn = NULL;
    mfb_status st = transfer_conn_open(cfg->client, cfg->cancel, &conn, err);
    if (st == MFB_OK)
        st = receiver_backup_get(conn, cfg->backup_id, backup, err);
    if (st == MFB_OK) {
        uint64_t n = want < backup->size ? want : backup->size;
        d.offset = d.mem_base = backup->size - n;
        d.mem = malloc(n ? (size_t)n : 1);
        if (d.mem == NULL)
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        else
            st = fetch_content(&d, conn, err);
        if (st == MFB_OK) {
            *data = d.mem;
            *len = (size_t)n;
            d.mem = NULL;
        }
    }
    free(d.mem);
    transfer_conn_close(conn);
    observer_hub_destroy(&d.hub);
    return st;
}
