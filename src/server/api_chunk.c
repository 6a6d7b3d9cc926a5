/*
 * api_chunk.c - a chunk's body: PUT /v1/uploads/{id}/chunks/{index} (the
 * chunk writer) and DELETE of a stored chunk (see docs/protocol.md).
 *
 * Chunk bodies are never held in memory: each piece is hashed (the chunk's
 * digest, and the running whole-file hash when the chunk continues the
 * contiguous prefix, session.h) and written at its offset in the partial
 * file as it arrives, collected into writes of WRITE_BUFFER bytes. Before
 * the first byte, api_chunk_begin checks what the headers allow: the
 * Content-Digest, the chunk's bounds (past the declared size, or past the
 * largest file the storage can hold), the quota, and claims the index in
 * the upload's session so that no other connection writes it meanwhile.
 * As the body arrives, api_chunk_body enforces the same bounds and the
 * quota on what is actually sent. Once an error is decided in the middle
 * of a body (too large, disk full), the rest is read and dropped without
 * being written (api.c bounds how much). The chunk counts only once
 * api_chunk_finish has found its digest right, fsynced it and recorded it
 * in the catalog; a chunk claimed and not recorded is handed back to the
 * session by api_chunk_release, whatever the reason (a failure, a dropped
 * connection).
 *
 * The writer's state is struct api_chunk, allocated for a chunk PUT only
 * (why it is not embedded in struct api_call: api_internal.h).
 */
#include "server/api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "server/session.h"
#include "server/storage.h"

/* Start write-back of a chunk's data every this many bytes, so the fsync at
 * its end has little left to do. */
#define WRITEBACK_STEP (8ULL << 20)
/* Chunk bytes are collected into writes of this size: TLS hands them over
 * 16 KiB at a time, and one write per 16 KiB cost ~10% more server CPU on
 * ext4 than one copy into this buffer (measured with 4 connections, 64 MiB
 * chunks). Allocated only while a chunk is being received. */
#define WRITE_BUFFER (256u << 10)

struct api_chunk {
    bool claimed;     /* the session holds the index for this call */
    bool inline_hash; /* the chunk continues the prefix: fork is its running hash */
    struct sha256 chunk_hash, fork;
    uint8_t want[SHA256_LEN]; /* the Content-Digest */
    int fd;                   /* the partial file, or -1 */
    char part_path[PATH_MAX];
    uint64_t base;      /* file offset of the chunk */
    uint64_t limit;     /* most bytes the body may have */
    uint64_t exact;     /* bytes it must have (known size), or 0 */
    uint64_t writeback; /* bytes handed to write-back so far */
    char *wbuf;         /* WRITE_BUFFER bytes collected before one pwrite */
    size_t wbuf_len;
    size_t wbuf_hashed;  /* how much of wbuf the digests have seen */
    uint64_t flushed;    /* bytes of the body written to the file */
    uint64_t quota_room; /* most bytes the body may have within the quota */
    uint64_t quota_used; /* the client's bytes when the chunk began */
};

json_t *api_chunk_json(const struct srv_chunk *ch)
{
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(ch->sha256, hex);
    return json_pack("{s:I, s:I, s:s}", "index", (json_int_t)ch->index, "size",
                     (json_int_t)ch->size, "sha256", hex);
}

/* ---- chunk PUT ---- */

/* For an upload of unknown size: whether chunk c->index can lie in a file
 * on the receiver's storage (no further than its file system's largest
 * file, nor than 1 PiB); 400 chunk_out_of_range if not. Past that, the
 * write would fail with EFBIG, or leave a huge sparse partial file that
 * could never be completed, and 507 would make the client retry for ever. */
static bool chunk_within_storage(struct api_call *c, uint64_t cs)
{
    uint64_t max = API_MAX_FILE_BYTES, fs_max;
    struct mfb_error err = {0};
    mfb_status st = storage_max_file_bytes(c->srv->store, &fs_max, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "checking the storage");
        return false;
    }
    if (fs_max < max)
        max = fs_max;
    uint64_t min_chunk, max_chunks;
    storage_chunk_limits(c->srv->store, &min_chunk, &max_chunks);
    if (max_chunks > 0 && max / cs > max_chunks)
        max = max_chunks * cs;
    if (c->index >= max / cs) {
        api_fail(c, PROTO_CHUNK_OUT_OF_RANGE,
                 "chunk %llu is past the largest file the receiver's storage can hold (%llu bytes)",
                 (unsigned long long)c->index, (unsigned long long)max);
        return false;
    }
    return true;
}

/* For an upload of unknown size, when the client has a quota: how many
 * bytes this chunk may have before the client's backups and open uploads
 * pass it (the check at creation could only see the space already used).
 * 413 when there is no room at all; api_chunk_body enforces the rest as the
 * body streams. Chunks received in parallel are each checked against what
 * was stored before them, so the quota may be passed by at most the
 * chunks in flight at once. */
static void chunk_quota_fail(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    api_fail(c, PROTO_TOO_LARGE,
             "quota exceeded: client '%s' holds %llu of its %llu bytes, and chunk %llu would pass "
             "it; the receiver's operator can raise the quota (mfb-server client set)",
             c->client.name, (unsigned long long)k->quota_used, (unsigned long long)c->client.quota,
             (unsigned long long)c->index);
}

static bool chunk_quota_room(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    k->quota_room = UINT64_MAX;
    if (c->upload.size_known || c->client.quota == 0)
        return true;
    uint64_t usage;
    struct mfb_error err = {0};
    mfb_status st = server_db_client_usage(c->srv->db, c->client.id, &usage, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "checking the quota");
        return false;
    }
    k->quota_used = usage;
    k->quota_room = usage < c->client.quota ? c->client.quota - usage : 0;
    uint64_t length;
    if (k->quota_room == 0 || (api_content_length(c, &length) && length > k->quota_room)) {
        chunk_quota_fail(c);
        return false;
    }
    return true;
}

/* 503: another connection holds the chunk (a PUT of it, or its DELETE). */
static void chunk_busy(struct api_call *c)
{
    c->resp.retry_after = 1;
    api_fail(c, PROTO_UNAVAILABLE, "chunk %llu is being received on another connection; retry",
             (unsigned long long)c->index);
}

void api_chunk_begin(struct api_call *c)
{
    struct api_chunk *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        api_fail(c, PROTO_INTERNAL, "out of memory");
        return;
    }
    k->fd = -1;
    c->chunk = k;
    if (!api_upload_load(c))
        return;
    const struct srv_upload *u = &c->upload;
    if (u->complete) {
        api_fail(c, PROTO_CONFLICT, "upload '%s' is already complete", c->id);
        return;
    }
    const char *digest = api_header(c, "Content-Digest");
    if (api_header_count(c, "Content-Digest") > 1) {
        api_fail(c, PROTO_BAD_DIGEST_HEADER, "send one Content-Digest header, not several");
        return;
    }
    if (digest == NULL || !content_digest_parse(digest, k->want)) {
        api_fail(c, PROTO_BAD_DIGEST_HEADER, "%s",
                 digest ? "Content-Digest has no valid sha-256 member"
                        : "Content-Digest: sha-256=:<base64>: is required");
        return;
    }
    uint64_t cs = u->chunk_size;
    k->limit = cs < c->srv->cfg.max_chunk ? cs : c->srv->cfg.max_chunk;
    k->exact = 0;
    if (u->size_known) {
        if (c->index >= proto_chunk_count(u->size, cs)) {
            api_fail(c, PROTO_CHUNK_OUT_OF_RANGE,
                     "chunk %llu is past the last chunk (%llu) of %llu bytes",
                     (unsigned long long)c->index,
                     (unsigned long long)(proto_chunk_count(u->size, cs)
                                              ? proto_chunk_count(u->size, cs) - 1
                                              : 0),
                     (unsigned long long)u->size);
            return;
        }
        k->exact = proto_chunk_length(u->size, cs, c->index);
    } else if (!chunk_within_storage(c, cs)) {
        return;
    }
    uint64_t length;
    if (api_content_length(c, &length)) {
        if (length > k->limit) {
            api_fail(c, PROTO_TOO_LARGE, "chunk of %llu bytes is larger than the chunk size %llu",
                     (unsigned long long)length, (unsigned long long)k->limit);
            return;
        }
        if (k->exact && length > k->exact) {
            api_fail(c, PROTO_CHUNK_OUT_OF_RANGE, "chunk %llu ends past the declared size %llu",
                     (unsigned long long)c->index, (unsigned long long)u->size);
            return;
        }
    }
    if (!api_upload_session(c))
        return;
    struct mfb_error err = {0};
    sha256_init(&k->chunk_hash);
    switch (session_chunk_begin(c->session, c->index, k->want, &k->fork, &k->inline_hash)) {
    case SESSION_WRITE:
        break;
    case SESSION_DUPLICATE:
        c->mode = BODY_DUPLICATE;
        return;
    case SESSION_DIFFERENT:
        api_fail(c, PROTO_CONFLICT,
                 "chunk %llu is already stored with a different digest; DELETE it to replace it",
                 (unsigned long long)c->index);
        return;
    case SESSION_BUSY:
        chunk_busy(c);
        return;
    case SESSION_CLOSED:
    case SESSION_ABSENT: /* only for forgetting */
        api_fail(c, PROTO_CONFLICT, "upload '%s' is being completed or deleted", c->id);
        return;
    }
    k->claimed = true;
    if (!chunk_quota_room(c))
        return;
    k->base = c->index * cs;
    storage_partial_path(c->srv->cfg.storage, c->id, k->part_path, sizeof(k->part_path));
    k->fd = open(k->part_path, O_WRONLY | O_CLOEXEC);
    if (k->fd < 0) {
        mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot open '%s'", k->part_path);
        api_fail_status(c, err.status, &err, "receiving the chunk");
        return;
    }
    c->mode = BODY_CHUNK;
}

/* An error decided in the middle of a body: drop the rest. */
static void chunk_abandon(struct api_call *c)
{
    c->mode = BODY_DISCARD;
}

/* Feeds the collected bytes not yet hashed to the chunk's digest and, in
 * the same pass, to the running hash: its own bytes when the chunk is at
 * the prefix, stored bytes of the prefix otherwise (session.h). Hashing
 * whole buffers rather than each piece libmicrohttpd hands over (a TLS
 * record, 16 KiB) takes the running hash 16 times less often. */
static void chunk_hash_collected(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    const char *pending = k->wbuf + k->wbuf_hashed;
    size_t len = k->wbuf_len - k->wbuf_hashed;
    if (len == 0)
        return;
    if (k->inline_hash)
        sha256_update2(&k->chunk_hash, pending, &k->fork, pending, len);
    else
        session_hash_alongside(c->session, &k->chunk_hash, pending, len);
    k->wbuf_hashed = k->wbuf_len;
}

/* Hashes and writes the collected bytes at their offset; false (answer
 * set) on error. */
static bool chunk_flush(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    if (k->wbuf_len == 0)
        return true;
    chunk_hash_collected(c);
    struct mfb_error err = {0};
    mfb_status st =
        fs_pwrite_all(k->fd, k->wbuf, k->wbuf_len, k->base + k->flushed, k->part_path, &err);
    if (st != MFB_OK) {
        if (st == MFB_ERR_NO_SPACE)
            api_fail(c, PROTO_INSUFFICIENT_STORAGE,
                     "the receiver's disk is full; chunks already stored are kept, retry later");
        else if (st == MFB_ERR_UNSUPPORTED) /* EFBIG: no retry can help */
            api_fail(c, PROTO_CHUNK_OUT_OF_RANGE,
                     "chunk %llu is past the largest file the receiver's storage can hold",
                     (unsigned long long)c->index);
        else
            api_fail_status(c, st, &err, "writing the chunk");
        chunk_abandon(c);
        return false;
    }
    k->flushed += k->wbuf_len;
    k->wbuf_len = 0;
    k->wbuf_hashed = 0;
    if (k->flushed - k->writeback >= WRITEBACK_STEP) {
        sync_file_range(k->fd, (off_t)(k->base + k->writeback), (off_t)(k->flushed - k->writeback),
                        SYNC_FILE_RANGE_WRITE);
        k->writeback = k->flushed;
    }
    return true;
}

void api_chunk_body(struct api_call *c, const char *data, size_t len)
{
    struct api_chunk *k = c->chunk;
    if (c->mode == BODY_DUPLICATE) {
        if (c->bytes_in > k->limit) { /* a repeat cannot be larger than the chunk either */
            api_fail(c, PROTO_TOO_LARGE, "chunk is larger than the chunk size %llu",
                     (unsigned long long)k->limit);
            c->mode = BODY_DISCARD;
        }
        return;
    }
    if (c->bytes_in > k->limit || (k->exact && c->bytes_in > k->exact)) {
        if (c->bytes_in > k->limit)
            api_fail(c, PROTO_TOO_LARGE, "chunk is larger than the chunk size %llu",
                     (unsigned long long)k->limit);
        else
            api_fail(c, PROTO_CHUNK_OUT_OF_RANGE, "chunk %llu ends past the declared size %llu",
                     (unsigned long long)c->index, (unsigned long long)c->upload.size);
        chunk_abandon(c);
        return;
    }
    if (c->bytes_in > k->quota_room) {
        chunk_quota_fail(c);
        chunk_abandon(c);
        return;
    }
    if (k->wbuf == NULL && (k->wbuf = malloc(WRITE_BUFFER)) == NULL) {
        api_fail(c, PROTO_INTERNAL, "out of memory");
        chunk_abandon(c);
        return;
    }
    while (len > 0) {
        size_t n = WRITE_BUFFER - k->wbuf_len < len ? WRITE_BUFFER - k->wbuf_len : len;
        memcpy(k->wbuf + k->wbuf_len, data, n);
        k->wbuf_len += n;
        data += n;
        len -= n;
        if (k->wbuf_len == WRITE_BUFFER && !chunk_flush(c))
            return;
    }
}

void api_chunk_finish(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    if (c->decided) /* an error was decided while the body arrived */
        return;
    struct srv_chunk ch = {.index = c->index, .size = c->bytes_in};
    if (c->mode == BODY_DUPLICATE) {
        if (!session_chunk_get(c->session, c->index, &ch)) {
            c->resp.retry_after = 1;
            api_fail(c, PROTO_UNAVAILABLE, "chunk %llu changed meanwhile; retry",
                     (unsigned long long)c->index);
            return;
        }
        server_db_upload_touch(c->srv->db, c->id, NULL); /* a resuming client is active */
        api_set_json(c, 200, api_chunk_json(&ch));
        return;
    }
    if (k->exact && c->bytes_in != k->exact) {
        api_fail(c, PROTO_BAD_REQUEST, "chunk %llu must have %llu bytes, not %llu",
                 (unsigned long long)c->index, (unsigned long long)k->exact,
                 (unsigned long long)c->bytes_in);
        return;
    }
    if (c->bytes_in == 0) {
        api_fail(c, PROTO_BAD_REQUEST, "chunk %llu is empty", (unsigned long long)c->index);
        return;
    }
    chunk_hash_collected(c);
    sha256_final(&k->chunk_hash, ch.sha256);
    if (memcmp(ch.sha256, k->want, SHA256_LEN) != 0) {
        char got[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
        digest_to_hex(ch.sha256, got);
        digest_to_hex(k->want, want);
        api_fail(c, PROTO_DIGEST_MISMATCH, "chunk %llu has sha256 %s, Content-Digest says %s",
                 (unsigned long long)c->index, got, want);
        return;
    }
    if (!chunk_flush(c))
        return;
    struct mfb_error err = {0};
    mfb_status st = MFB_OK;
    if (fdatasync(k->fd) != 0)
        st = mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot fsync '%s'", k->part_path);
    /* The driver makes the chunk durable its own way (an S3 part) before it
     * is recorded and acknowledged. */
    if (st == MFB_OK)
        st =
            storage_chunk_commit(c->srv->store, c->id, c->index, k->base, ch.size, ch.sha256, &err);
    if (st == MFB_OK)
        st = server_db_chunk_insert(c->srv->db, c->id, &ch, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "storing the chunk");
        return;
    }
    session_chunk_end(c->session, c->index, true, ch.size, ch.sha256, k->inline_hash, &k->fork);
    k->claimed = false;
    api_set_json(c, 201, api_chunk_json(&ch));
}

/* ---- chunk DELETE ---- */

/* Forgets a stored chunk so that a resuming client can send it again
 * (its stored digest differs from the client's file). */
void api_chunk_delete(struct api_call *c)
{
    if (!api_upload_load(c))
        return;
    if (c->upload.complete) {
        api_fail(c, PROTO_CONFLICT, "upload '%s' is already complete", c->id);
        return;
    }
    if (!api_upload_session(c))
        return;
    switch (session_chunk_forget_begin(c->session, c->index)) {
    case SESSION_WRITE:
        break;
    case SESSION_ABSENT:
        api_fail(c, PROTO_NOT_FOUND, "chunk %llu of upload '%s' is not stored",
                 (unsigned long long)c->index, c->id);
        return;
    case SESSION_BUSY:
        chunk_busy(c);
        return;
    case SESSION_CLOSED:
    case SESSION_DUPLICATE: /* only for PUTs */
    case SESSION_DIFFERENT:
        api_fail(c, PROTO_CONFLICT, "upload '%s' is being completed or deleted", c->id);
        return;
    }
    struct mfb_error err = {0};
    mfb_status st = server_db_chunk_delete(c->srv->db, c->id, c->index, &err);
    /* NOT_FOUND cannot happen while the session holds the chunk; if the
     * catalog was changed behind its back, the chunk is gone all the same. */
    session_chunk_forget_end(c->session, c->index, st == MFB_OK || st == MFB_ERR_NOT_FOUND);
    if (st != MFB_OK && st != MFB_ERR_NOT_FOUND) {
        api_fail_status(c, st, &err, "forgetting the chunk");
        return;
    }
    log_info("chunk-forgotten", "client=%s upload=%s index=%llu", c->client.name, c->id,
             (unsigned long long)c->index);
    api_set_json(c, 204, NULL);
}

void api_chunk_release(struct api_call *c)
{
    struct api_chunk *k = c->chunk;
    if (k == NULL)
        return;
    if (k->claimed) /* not recorded: the connection dropped, or the chunk failed */
        session_chunk_end(c->session, c->index, false, 0, NULL, k->inline_hash, &k->fork);
    if (k->fd >= 0)
        close(k->fd);
    free(k->wbuf);
    sha256_free(&k->chunk_hash);
    sha256_free(&k->fork);
    free(k);
    c->chunk = NULL;
}
