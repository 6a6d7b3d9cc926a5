/*
 * uploader.c - the reader thread, the upload workers and their shared state
 * (see uploader.h for the design): whole chunks in buffers when the reader
 * must hash them first, or streamed from the file by the workers when the
 * digests are known beforehand.
 */
#include "transfer/uploader.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/sha256_x2.h"
#include "transfer/receiver_api.h"

/* The reader hashes what it just read while it is still in cache. */
#define READ_PIECE (256u << 10)
#define HUGE_PAGE (2u << 20)

struct chunk_buf {
    uint8_t *data; /* the chunk's bytes; NULL when streamed (u->stream) */
    uint64_t index;
    size_t len;
    uint8_t sha256[SHA256_LEN]; /* of data[0..len), by the reader when it pairs */
};

struct worker {
    struct uploader *u;
    pthread_t thread;
    bool started;
    struct transfer_conn *conn;
    atomic_uint_fast64_t inflight; /* body bytes of the current PUT handed to curl */
    uint8_t *piece; /* READ_PIECE bytes to check a chunk the receiver holds (stream + resume) */
};

/* The body of one streamed PUT: the chunk read from the file in the pieces
 * curl asks for, hashed as they pass (see source_read). */
struct chunk_source {
    struct uploader *u;
    const struct chunk_buf *b;
    struct sha256 hash;
    uint64_t hashed; /* bytes of the chunk fed to hash in this attempt */
};

struct uploader {
    const struct transfer_peer *client;
    char *upload_id;
    char *path;
    uint64_t chunk_size;
    int fd;
    const struct resume_plan *resume;
    const struct chunk_record *record; /* check every chunk read against it */
    bool producer_digests;             /* the producer gives the digests (uploader_seal_chunk) */
    bool stream;                /* digests known beforehand: workers stream chunks from the file */
    struct cancel_token cancel; /* child of the caller's token */

    /* What the producer has sealed; guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t sealed_cond;
    uint64_t sealed;
    bool finished;
    uint64_t size;
    uint8_t (*known)[SHA256_LEN]; /* the producer's chunk digests, [known_count] */
    uint64_t known_count;
    uint64_t known_cap;
    uint8_t producer_sha256[SHA256_LEN]; /* the whole file's, with uploader_finish_digest */

    struct queue free_q; /* empty chunk buffers */
    struct queue work_q; /* filled chunk buffers for the workers */
    struct chunk_buf *bufs;
    size_t buf_count;
    struct worker *workers;
    size_t worker_count;
    pthread_t reader;
    bool reader_started;
    struct sha256 file_hash;
    struct sha256 chunk_hash; /* the reader's, for the chunk it reads */
    bool pair_hash;           /* the reader computes chunk digests too (SHA-NI) */
    bool reader_chunk_hash;   /* the reader computes chunk digests (pair_hash or a record) */
    uint8_t file_sha256[SHA256_LEN];
    uint64_t chunks_read;
    bool read_all; /* the reader reached the end of a finished file */

    /* First failure; guarded by fail_lock. */
    pthread_mutex_t fail_lock;
    bool failed;
    struct mfb_error first_err;

    atomic_uint_fast64_t acked_bytes; /* verified or acknowledged */
    atomic_uint_fast64_t bytes_sent;
    atomic_uint_fast64_t chunks_sent;
    atomic_uint_fast64_t chunks_verified;
    atomic_uint_fast64_t chunks_replaced;
    atomic_uint_fast64_t retries;

    struct observer_hub hub;
};

/* Records the first failure and stops every thread. */
static void fail(struct uploader *u, const struct mfb_error *err)
{
    pthread_mutex_lock(&u->fail_lock);
    if (!u->failed) {
        u->failed = true;
        u->first_err = *err;
    }
    pthread_mutex_unlock(&u->fail_lock);
    cancel_token_request(&u->cancel);
    queue_close(&u->free_q);
    queue_close(&u->work_q);
    pthread_mutex_lock(&u->lock);
    pthread_cond_broadcast(&u->sealed_cond);
    pthread_mutex_unlock(&u->lock);
}

static bool stopping(const struct uploader *u)
{
    return cancel_token_requested(&u->cancel);
}

static void fill_progress(struct uploader *u, struct transfer_event *ev)
{
    uint64_t done = atomic_load(&u->acked_bytes);
    for (size_t i = 0; i < u->worker_count; i++)
        done += atomic_load(&u->workers[i].inflight);
    ev->bytes_done = done;
    pthread_mutex_lock(&u->lock);
    ev->total_known = u->finished;
    ev->bytes_total = u->finished ? u->size : u->sealed;
    pthread_mutex_unlock(&u->lock);
}

static void emit(struct uploader *u, struct transfer_event *ev)
{
    fill_progress(u, ev);
    observer_hub_emit(&u->hub, ev);
}

/* ---- reader ------------------------------------------------------------ */

/* Waits until chunk `index` can be read. Returns false when the file ended
 * before it (*past_end) or the upload is stopping. */
static bool wait_for_chunk(struct uploader *u, uint64_t index, uint64_t *len, bool *past_end,
                           uint8_t sha256[SHA256_LEN])
{
    bool ready = false;
    pthread_mutex_lock(&u->lock);
    for (;;) {
        ready =
            plan_chunk_ready(index, u->chunk_size, u->sealed, u->finished, u->size, len, past_end);
        /* With the producer's digests, a chunk is ready once its digest is. */
        if (ready && u->producer_digests) {
            ready = index < u->known_count;
            if (ready)
                memcpy(sha256, u->known[index], SHA256_LEN);
        }
        if (ready || *past_end || stopping(u))
            break;
        /* Wake now and then to notice the caller's cancellation. */
        struct timespec wake = clock_deadline_ts(100);
        pthread_cond_timedwait(&u->sealed_cond, &u->lock, &wake);
    }
    pthread_mutex_unlock(&u->lock);
    return ready && !stopping(u);
}

/* Reads bytes [pos, pos + len) of chunk b from the file into dst. */
static mfb_status read_piece(struct uploader *u, const struct chunk_buf *b, uint64_t pos,
                             uint8_t *dst, size_t len, struct mfb_error *err)
{
    uint64_t offset = b->index * u->chunk_size + pos;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(u->fd, dst + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", u->path);
        if (n == 0) {
            mfb_error_set(err, MFB_ERR_CHANGED,
                          "'%s' shrank while it was being uploaded (ends at %" PRIu64
                          " bytes, expected more)",
                          u->path, offset + done);
            mfb_error_hint(err, "do not modify a file while it is being pushed");
            return MFB_ERR_CHANGED;
        }
        done += (size_t)n;
    }
    return MFB_OK;
}

/* The bytes of chunk b in the file are not those its digest was taken
 * from: it is never sent, and never replaces the receiver's copy
 * (docs/transfer.md, "the seal record"). */
static mfb_status chunk_changed(const struct uploader *u, const struct chunk_buf *b,
                                struct mfb_error *err)
{
    uint64_t offset = b->index * u->chunk_size;
    uint64_t last = offset + (b->len ? b->len - 1 : 0);
    if (u->record) {
        mfb_error_set(err, MFB_ERR_CHANGED,
                      "'%s' no longer matches its seal record: chunk %" PRIu64 " (bytes %" PRIu64
                      "-%" PRIu64 ") has changed since it was written",
                      u->path, b->index, offset, last);
        return MFB_ERR_CHANGED;
    }
    mfb_error_set(err, MFB_ERR_CHANGED,
                  "'%s' changed on the disk after it was written: chunk %" PRIu64 " (bytes %" PRIu64
                  "-%" PRIu64 ") read back does not match the digest taken as it was written",
                  u->path, b->index, offset, last);
    mfb_error_hint(err, "nothing of it was stored; check the spool's disk and memory (dmesg, "
                        "smartctl) before the next backup");
    return MFB_ERR_CHANGED;
}

/* With a seal record, chunk b must have the length the record gives it. */
static mfb_status check_record_length(const struct uploader *u, const struct chunk_buf *b,
                                      struct mfb_error *err)
{
    if (b->index < u->record->count &&
        b->len == proto_chunk_length(u->record->size, u->chunk_size, b->index))
        return MFB_OK;
    uint64_t offset = b->index * u->chunk_size;
    mfb_error_set(err, MFB_ERR_CHANGED,
                  "'%s' no longer matches its seal record: chunk %" PRIu64 " (bytes %" PRIu64
                  "-%" PRIu64 ") is not the length written",
                  u->path, b->index, offset, offset + b->len - 1);
    return MFB_ERR_CHANGED;
}

/* Buffered mode: reads chunk b whole into b->data, hashing as it goes. */
static mfb_status read_chunk(struct uploader *u, struct chunk_buf *b, struct mfb_error *err)
{
    for (size_t done = 0; done < b->len;) {
        size_t n = b->len - done < READ_PIECE ? b->len - done : READ_PIECE;
        mfb_status st = read_piece(u, b, done, b->data + done, n, err);
        if (st != MFB_OK)
            return st;
        if (u->pair_hash)
            sha256_update2(&u->file_hash, b->data + done, &u->chunk_hash, b->data + done, n);
        else if (u->reader_chunk_hash) {
            sha256_update(&u->file_hash, b->data + done, n);
            sha256_update(&u->chunk_hash, b->data + done, n);
        } else
            sha256_update(&u->file_hash, b->data + done, n);
        done += n;
    }
    if (u->reader_chunk_hash)
        sha256_final(&u->chunk_hash, b->sha256);
    return MFB_OK;
}

/* Stream mode: the reader reads nothing; it gives chunk b the digest it
 * must have, the producer's or the seal record's. */
static mfb_status expect_chunk(struct uploader *u, struct chunk_buf *b,
                               const uint8_t known[SHA256_LEN], struct mfb_error *err)
{
    if (u->producer_digests) {
        memcpy(b->sha256, known, SHA256_LEN);
        return MFB_OK;
    }
    mfb_status st = check_record_length(u, b, err);
    if (st == MFB_OK)
        memcpy(b->sha256, u->record->chunks[b->index], SHA256_LEN);
    return st;
}

/* The reader reached the end of a finished file: its digest. A streamed
 * file must have as many bytes as its record says. */
static mfb_status end_of_file(struct uploader *u, struct mfb_error *err)
{
    if (u->producer_digests)
        memcpy(u->file_sha256, u->producer_sha256, SHA256_LEN);
    else if (!u->stream)
        sha256_final(&u->file_hash, u->file_sha256);
    else if (u->size != u->record->size) {
        mfb_error_set(err, MFB_ERR_CHANGED,
                      "'%s' no longer matches its seal record: it has %" PRIu64 " bytes, %" PRIu64
                      " were written",
                      u->path, u->size, u->record->size);
        return MFB_ERR_CHANGED;
    } else
        memcpy(u->file_sha256, u->record->sha256, SHA256_LEN);
    return MFB_OK;
}

/* Thread role: the reader. In buffered mode it reads sealed chunks in
 * order, computes each chunk's digest and the whole file's in one pass
 * over the bytes just read, and hands the buffers to the workers (without
 * SHA-NI one pass costs two, so the workers hash their chunks, on other
 * cores). In stream mode it only hands out each sealed chunk with the
 * digest it must have; the workers read it. */
static void *reader_main(void *arg)
{
    struct uploader *u = arg;
    struct mfb_error err = {0};
    for (uint64_t index = 0;; index++) {
        uint64_t len = 0;
        bool past_end = false;
        uint8_t known[SHA256_LEN];
        if (!wait_for_chunk(u, index, &len, &past_end, known)) {
            if (past_end && !stopping(u)) {
                if (end_of_file(u, &err) != MFB_OK)
                    fail(u, &err);
                else
                    u->read_all = true;
            }
            break;
        }
        void *item;
        if (!queue_pop(&u->free_q, &item))
            break;
        struct chunk_buf *b = item;
        b->index = index;
        b->len = (size_t)len;
        mfb_status st = u->stream ? expect_chunk(u, b, known, &err) : read_chunk(u, b, &err);
        if (st != MFB_OK) {
            fail(u, &err);
            break;
        }
        u->chunks_read++;
        if (!queue_push(&u->work_q, b))
            break;
    }
    queue_close(&u->work_q);
    return NULL;
}

/* ---- workers ----------------------------------------------------------- */

static void on_sent(void *ctx, uint64_t sent)
{
    struct worker *w = ctx;
    atomic_store(&w->inflight, sent);
    if (observer_hub_claim_progress(&w->u->hub)) {
        struct transfer_event ev = {.type = TRANSFER_EVENT_PROGRESS};
        emit(w->u, &ev);
    }
}

static void on_retry(void *ctx, unsigned attempt, uint64_t delay_ms, const char *reason)
{
    struct worker *w = ctx;
    atomic_fetch_add(&w->u->retries, 1);
    atomic_store(&w->inflight, 0);
    struct transfer_event ev = {
        .type = TRANSFER_EVENT_RETRY, .attempt = attempt, .delay_ms = delay_ms, .reason = reason};
    emit(w->u, &ev);
}

static void chunk_done(struct uploader *u, const struct chunk_buf *b, enum chunk_outcome outcome)
{
    atomic_fetch_add(&u->acked_bytes, b->len);
    struct transfer_event ev = {
        .type = TRANSFER_EVENT_CHUNK, .chunk_index = b->index, .chunk_outcome = outcome};
    emit(u, &ev);
}

/* The PUT body of a streamed chunk, called by curl for each piece it
 * sends: pread straight into curl's upload buffer, hashed there. The
 * piece that completes the chunk is handed over only when the chunk's
 * digest is the one it must have: a chunk that changed on the disk since
 * it was written fails the PUT before its end, so the receiver stores
 * nothing of it, and the job says which bytes changed. */
static mfb_status source_read(void *ctx, uint64_t pos, void *dst, size_t len, size_t *got,
                              struct mfb_error *err)
{
    struct chunk_source *s = ctx;
    const struct chunk_buf *b = s->b;
    mfb_status st = MFB_OK;
    if (pos != s->hashed) {
        /* A new attempt (a retry starts again at 0), or curl rewound: hash
         * the bytes before pos again, through dst. */
        sha256_init(&s->hash);
        for (s->hashed = 0; st == MFB_OK && s->hashed < pos;) {
            size_t n = pos - s->hashed < len ? (size_t)(pos - s->hashed) : len;
            st = read_piece(s->u, b, s->hashed, dst, n, err);
            if (st == MFB_OK)
                sha256_update(&s->hash, dst, n);
            s->hashed += n;
        }
    }
    size_t n = b->len - pos < len ? (size_t)(b->len - pos) : len;
    if (st == MFB_OK)
        st = read_piece(s->u, b, pos, dst, n, err);
    if (st != MFB_OK)
        return st;
    sha256_update(&s->hash, dst, n);
    s->hashed += n;
    if (s->hashed == b->len) {
        uint8_t sha[SHA256_LEN];
        sha256_final(&s->hash, sha);
        if (memcmp(sha, b->sha256, SHA256_LEN) != 0)
            return chunk_changed(s->u, b, err);
    }
    *got = n;
    return MFB_OK;
}

/* Stream mode, before a chunk the receiver holds is trusted or replaced:
 * the local bytes must be the ones the digest was taken from. */
static mfb_status check_local_chunk(struct worker *w, const struct chunk_buf *b,
                                    struct mfb_error *err)
{
    struct sha256 h;
    sha256_init(&h);
    mfb_status st = MFB_OK;
    for (size_t done = 0; st == MFB_OK && done < b->len;) {
        size_t n = b->len - done < READ_PIECE ? b->len - done : READ_PIECE;
        st = read_piece(w->u, b, done, w->piece, n, err);
        if (st == MFB_OK)
            sha256_update(&h, w->piece, n);
        done += n;
    }
    uint8_t sha[SHA256_LEN];
    sha256_final(&h, sha);
    sha256_free(&h);
    if (st == MFB_OK && memcmp(sha, b->sha256, SHA256_LEN) != 0)
        st = chunk_changed(w->u, b, err);
    return st;
}

static mfb_status put_chunk(struct worker *w, const struct chunk_buf *b, struct mfb_error *err)
{
    struct uploader *u = w->u;
    if (!u->stream)
        return receiver_chunk_put(w->conn, u->upload_id, b->index, b->data, b->len, b->sha256,
                                  on_sent, w, err);
    struct chunk_source src = {.u = u, .b = b};
    sha256_init(&src.hash);
    mfb_status st = receiver_chunk_put_from(w->conn, u->upload_id, b->index, b->len, b->sha256,
                                            source_read, &src, on_sent, w, err);
    sha256_free(&src.hash);
    return st;
}

static void upload_chunk(struct worker *w, struct chunk_buf *b)
{
    struct uploader *u = w->u;
    struct mfb_error err = {0};
    if (!u->reader_chunk_hash && !u->stream)
        sha256_buffer(b->data, b->len, b->sha256);
    const uint8_t *sha = b->sha256;

    const struct remote_chunk *held = NULL;
    if (u->resume && b->index < u->resume->chunk_count)
        held = u->resume->held[b->index];
    if (held && u->stream && check_local_chunk(w, b, &err) != MFB_OK) {
        fail(u, &err);
        return;
    }
    if (held && plan_chunk_matches(held, b->len, sha)) {
        atomic_fetch_add(&u->chunks_verified, 1);
        chunk_done(u, b, CHUNK_VERIFIED);
        return;
    }
    if (held) {
        log_warn("resume", "upload=%s chunk=%" PRIu64 " note=receiver_copy_differs_sending_again",
                 u->upload_id, b->index);
        if (receiver_chunk_delete(w->conn, u->upload_id, b->index, &err) != MFB_OK) {
            fail(u, &err);
            return;
        }
    }
    mfb_status st = put_chunk(w, b, &err);
    atomic_store(&w->inflight, 0);
    if (st != MFB_OK) {
        fail(u, &err);
        return;
    }
    atomic_fetch_add(&u->bytes_sent, b->len);
    atomic_fetch_add(&u->chunks_sent, 1);
    if (held)
        atomic_fetch_add(&u->chunks_replaced, 1);
    chunk_done(u, b, held ? CHUNK_REPLACED : CHUNK_SENT);
}

/* Thread role: one upload connection. Takes filled buffers, sends them,
 * returns them to the free list. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct uploader *u = w->u;
    void *item;
    while (queue_pop(&u->work_q, &item)) {
        struct chunk_buf *b = item;
        if (!stopping(u))
            upload_chunk(w, b);
        queue_push(&u->free_q, b);
    }
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void join_all(struct uploader *u)
{
    if (u->reader_started) {
        pthread_join(u->reader, NULL);
        u->reader_started = false;
    }
    for (size_t i = 0; i < u->worker_count; i++) {
        if (u->workers[i].started) {
            pthread_join(u->workers[i].thread, NULL);
            u->workers[i].started = false;
        }
    }
}

mfb_status uploader_start(const struct uploader_config *cfg, struct uploader **out,
                          struct mfb_error *err)
{
    *out = NULL;
    mfb_status st = plan_check_chunk_size(cfg->chunk_size, err);
    if (st != MFB_OK)
        return st;
    if (cfg->connections < 1 || cfg->connections > 64)
        return mfb_error_set(err, MFB_ERR_USAGE, "connections must be from 1 to 64");
    if (cfg->record && cfg->record->chunk_size != cfg->chunk_size)
        return mfb_error_set(err, MFB_ERR_INTERNAL,
                             "the seal record of '%s' has chunks of %" PRIu64
                             " bytes, the upload %" PRIu64,
                             cfg->path, cfg->record->chunk_size, cfg->chunk_size);
    struct uploader *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    u->client = cfg->client;
    u->upload_id = strdup(cfg->upload_id);
    u->path = strdup(cfg->path);
    u->chunk_size = cfg->chunk_size;
    u->fd = cfg->fd;
    u->resume = cfg->resume;
    u->record = cfg->record;
    u->producer_digests = cfg->producer_digests && cfg->record == NULL;
    u->stream = u->producer_digests || u->record != NULL;
    cancel_token_init(&u->cancel, cfg->cancel);
    pthread_mutex_init(&u->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&u->sealed_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&u->fail_lock, NULL);
    observer_hub_init(&u->hub, cfg->observers, cfg->observer_count, "upload");
    observer_hub_set_id(&u->hub, cfg->upload_id);
    u->buf_count = cfg->connections + 1;
    u->worker_count = cfg->connections;
    u->bufs = calloc(u->buf_count, sizeof(*u->bufs));
    u->workers = calloc(u->worker_count, sizeof(*u->workers));
    bool queues = queue_init(&u->free_q, u->buf_count) == 0;
    queues = queue_init(&u->work_q, u->buf_count) == 0 && queues;
    if (u->upload_id == NULL || u->path == NULL || u->bufs == NULL || u->workers == NULL ||
        !queues) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    /* Buffered mode only. Pages are touched only when filled, so a small
     * file costs little. Huge pages, where the kernel allows them, spare the
     * TLB on the copy into the buffer and the two passes over it. */
    for (size_t i = 0; i < u->buf_count; i++) {
        if (u->stream) {
            queue_push(&u->free_q, &u->bufs[i]);
            continue;
        }
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, u->chunk_size) == 0)
            madvise(p, u->chunk_size, MADV_HUGEPAGE);
        u->bufs[i].data = p;
        if (u->bufs[i].data == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for %zu chunk buffers",
                               u->buf_count);
            goto done;
        }
        queue_push(&u->free_q, &u->bufs[i]);
    }
    u->pair_hash = sha256_x2_supported();
    u->reader_chunk_hash = !u->stream && u->pair_hash;
    sha256_init(&u->file_hash);
    sha256_init(&u->chunk_hash);
    for (size_t i = 0; st == MFB_OK && i < u->worker_count; i++) {
        struct worker *w = &u->workers[i];
        w->u = u;
        atomic_init(&w->inflight, 0);
        if (u->stream && u->resume && (w->piece = malloc(READ_PIECE)) == NULL)
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        if (st == MFB_OK)
            st = transfer_conn_open(u->client, &u->cancel, &w->conn, err);
        if (st == MFB_OK)
            transfer_conn_set_retry_hook(w->conn, on_retry, w);
    }
    if (st != MFB_OK)
        goto done;
    posix_fadvise(u->fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    struct transfer_event ev = {.type = TRANSFER_EVENT_START};
    emit(u, &ev);
    if (pthread_create(&u->reader, NULL, reader_main, u) != 0) {
        st = mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the reader thread");
        goto done;
    }
    u->reader_started = true;
    for (size_t i = 0; i < u->worker_count; i++) {
        if (pthread_create(&u->workers[i].thread, NULL, worker_main, &u->workers[i]) != 0) {
            st = mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start upload thread %zu", i);
            goto done;
        }
        u->workers[i].started = true;
    }
done:
    if (st != MFB_OK) {
        struct mfb_error stop = {.status = st};
        fail(u, &stop);
        join_all(u);
        uploader_free(u);
        return st;
    }
    *out = u;
    return MFB_OK;
}

void uploader_seal(struct uploader *u, uint64_t offset)
{
    pthread_mutex_lock(&u->lock);
    /* A sealed byte is final (the writer never seeks back): the prefix only
     * grows, and nothing is sealed past the end once the size is known. */
    assert(offset >= u->sealed && (!u->finished || offset <= u->size));
    if (offset > u->sealed)
        u->sealed = offset;
    pthread_cond_broadcast(&u->sealed_cond);
    pthread_mutex_unlock(&u->lock);
}

void uploader_seal_chunk(struct uploader *u, uint64_t index, const uint8_t sha256[SHA256_LEN])
{
    bool oom = false;
    pthread_mutex_lock(&u->lock);
    if (index == u->known_count) {
        if (u->known_count == u->known_cap) {
            uint64_t cap = u->known_cap ? 2 * u->known_cap : 64;
            void *p = realloc(u->known, cap * SHA256_LEN);
            if (p) {
                u->known = p;
                u->known_cap = cap;
            }
            oom = p == NULL;
        }
        if (!oom)
            memcpy(u->known[u->known_count++], sha256, SHA256_LEN);
    }
    pthread_cond_broadcast(&u->sealed_cond);
    pthread_mutex_unlock(&u->lock);
    if (oom) {
        struct mfb_error err = {0};
        mfb_error_set(&err, MFB_ERR_NO_MEMORY, "out of memory for the chunk digests");
        fail(u, &err);
    }
}

void uploader_finish_digest(struct uploader *u, uint64_t size, const uint8_t sha256[SHA256_LEN])
{
    pthread_mutex_lock(&u->lock);
    memcpy(u->producer_sha256, sha256, SHA256_LEN);
    pthread_mutex_unlock(&u->lock);
    uploader_finish(u, size);
}

void uploader_finish(struct uploader *u, uint64_t size)
{
    pthread_mutex_lock(&u->lock);
    assert(size >= u->sealed); /* the end cannot cut off sealed bytes */
    u->finished = true;
    u->size = size;
    if (size > u->sealed)
        u->sealed = size;
    pthread_cond_broadcast(&u->sealed_cond);
    pthread_mutex_unlock(&u->lock);
}

void uploader_cancel(struct uploader *u)
{
    struct mfb_error err = {0};
    mfb_error_set(&err, MFB_ERR_CANCELLED, "upload %s cancelled", u->upload_id);
    fail(u, &err);
}

mfb_status uploader_wait(struct uploader *u, struct upload_result *result, struct mfb_error *err)
{
    join_all(u);
    memset(result, 0, sizeof(*result));
    result->chunks_sent = atomic_load(&u->chunks_sent);
    result->chunks_verified = atomic_load(&u->chunks_verified);
    result->chunks_replaced = atomic_load(&u->chunks_replaced);
    result->bytes_sent = atomic_load(&u->bytes_sent);
    result->retries = atomic_load(&u->retries);
    result->chunks = u->chunks_read;
    result->size = u->size;
    mfb_status st = MFB_OK;
    if (!u->failed && cancel_token_requested(&u->cancel))
        st = mfb_error_set(err, MFB_ERR_CANCELLED, "upload %s cancelled", u->upload_id);
    else if (u->failed) /* with the stack of the thread that failed */
        st = mfb_error_copy(err, &u->first_err);
    else if (!u->read_all)
        st = mfb_error_set(err, MFB_ERR_INTERNAL, "upload %s stopped before the end of the file",
                           u->upload_id);
    if (st == MFB_OK)
        memcpy(result->sha256, u->file_sha256, SHA256_LEN);
    struct transfer_event ev = {.type = TRANSFER_EVENT_DONE, .status = st};
    emit(u, &ev);
    return st;
}

void uploader_free(struct uploader *u)
{
    if (u == NULL)
        return;
    join_all(u);
    for (size_t i = 0; u->workers && i < u->worker_count; i++) {
        transfer_conn_close(u->workers[i].conn);
        free(u->workers[i].piece);
    }
    for (size_t i = 0; u->bufs && i < u->buf_count; i++)
        free(u->bufs[i].data);
    sha256_free(&u->file_hash);
    sha256_free(&u->chunk_hash);
    queue_destroy(&u->free_q);
    queue_destroy(&u->work_q);
    free(u->bufs);
    free(u->workers);
    observer_hub_destroy(&u->hub);
    pthread_mutex_destroy(&u->fail_lock);
    pthread_cond_destroy(&u->sealed_cond);
    pthread_mutex_destroy(&u->lock);
    cancel_token_destroy(&u->cancel);
    free(u->known);
    free(u->upload_id);
    free(u->path);
    free(u);
}

mfb_status upload_hash_file(int fd, const char *path, uint64_t size, uint8_t sha256[SHA256_LEN],
                            struct mfb_error *err)
{
    struct sha256 h;
    sha256_init(&h);
    mfb_status st = MFB_OK;
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        sha256_free(&h);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (uint64_t off = 0; st == MFB_OK && off < size;) {
        size_t want = size - off < cap ? (size_t)(size - off) : cap;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", path);
        else if (n == 0)
            st = mfb_error_set(err, MFB_ERR_CHANGED, "'%s' is shorter than %" PRIu64 " bytes", path,
                               size);
        else {
            sha256_update(&h, buf, (size_t)n);
            off += (uint64_t)n;
        }
    }
    if (st == MFB_OK)
        sha256_final(&h, sha256);
    free(buf);
    sha256_free(&h);
    return st;
}
