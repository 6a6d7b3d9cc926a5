/*
 * uploader.h - sends a file to an open upload in parallel chunks, while the
 * file may still be growing.
 *
 * Threads and data flow, in two modes:
 *
 * Buffered, when the digests must be learnt from the file (mfb push, a
 * resume without a seal record):
 *
 *   producer ──seal(X)/finish(S)──▶ reader ──chunk buffers──▶ N workers ──▶ receiver
 *                                     ▲                          │
 *                                     └──────── free buffers ◀───┘
 *
 * - The producer (an archive writer, or `mfb push` for a finished file)
 *   says which prefix of the file is final: uploader_seal(X) means bytes
 *   [0, X) will never change again; uploader_finish(S) means the file is
 *   complete at S bytes. Sealed bytes must not be rewritten afterwards.
 * - The reader thread waits until a whole chunk is sealed (or the file is
 *   finished), preads it into a free buffer and feeds the bytes to the
 *   whole-file SHA-256 as they arrive, in order. It is the only thread that
 *   touches the file in the normal path, and it reads every byte once.
 * - N worker threads, each with its own curl handle and so its own
 *   kept-alive connection, hash their chunk (the Content-Digest header goes
 *   before the body) and PUT it, retrying under the client's policy. N
 *   blocking threads rather than one curl multi handle: TLS encryption and
 *   chunk hashing then run on several cores, each worker's backoff is a
 *   plain interruptible sleep, and the code reads top to bottom.
 * - Memory is N+1 chunk buffers, allocated once: the reader can fill one
 *   while N are on the wire. No allocation per chunk.
 *
 * Streamed, when the digests are known before the file is read: a
 * producer that hashed the bytes as it wrote them (a chunk_record) passes
 * each chunk's digest with uploader_seal_chunk and the file's with
 * uploader_finish_digest (producer_digests), or a resume passes the
 * file's seal record (config.record).
 * - The reader reads nothing: it hands each sealed chunk (index, length,
 *   expected digest) to the workers, at most N+1 ahead.
 * - A worker PUTs the chunk with a body curl pulls in pieces of its upload
 *   buffer, pread from the file into that buffer and hashed there; the
 *   piece that completes the chunk goes only if the chunk's digest is the
 *   expected one. A chunk that changed on the disk between the write and
 *   the read fails the upload (MFB_ERR_CHANGED, naming the chunk and its
 *   bytes) before the receiver has all of it, so nothing of it is stored;
 *   the receiver checks the same digest, so the check runs end to end.
 * - Memory does not grow with the chunk size: curl's buffers per
 *   connection, 32 bytes per chunk digest, and with a resume plan a
 *   256 KiB piece per worker to check a chunk the receiver holds.
 *
 * Resume: given the receiver's chunk list (a resume_plan), a worker compares
 * each chunk's fresh digest with the receiver's and skips the PUT when they
 * match; a chunk stored with another digest or size is deleted on the
 * receiver and sent again. So verifying a resume costs one read of the
 * local file, which the whole-file digest needs anyway (requirement 5.4).
 *
 * Failure: the first error wins and stops everything (the token is
 * cancelled, queues closed); uploader_wait returns it. Cancellation from
 * the caller's token or uploader_cancel aborts requests in flight.
 */
#ifndef MFB_TRANSFER_UPLOADER_H
#define MFB_TRANSFER_UPLOADER_H

#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/digest.h"
#include "common/status.h"
#include "transfer/chunk_record.h"
#include "transfer/https.h"
#include "transfer/observer.h"
#include "transfer/plan.h"

struct uploader_config {
    const struct transfer_peer *client;
    const char *upload_id;
    uint64_t chunk_size;
    size_t connections;                /* parallel connections, >= 1 */
    int fd;                            /* read with pread; the caller keeps and closes it */
    const char *path;                  /* for messages */
    const struct resume_plan *resume;  /* the receiver's chunks, or NULL */
    const struct chunk_record *record; /* the file's seal record (ended), or NULL */
    bool producer_digests; /* digests come from uploader_seal_chunk / uploader_finish_digest */
    struct cancel_token *cancel; /* the caller's token, or NULL */
    const struct transfer_observer *observers;
    size_t observer_count;
};

struct upload_result {
    uint64_t size;
    uint8_t sha256[SHA256_LEN];
    uint64_t chunks;          /* in the file */
    uint64_t chunks_sent;     /* uploaded now, replacements included */
    uint64_t chunks_verified; /* already on the receiver with the same digest */
    uint64_t chunks_replaced; /* on the receiver with another digest, sent again */
    uint64_t bytes_sent;      /* chunk bytes acknowledged in this run */
    uint64_t retries;
};

struct uploader;

/* Starts the reader and the workers. Allocates; uploader_free releases. */
mfb_status uploader_start(const struct uploader_config *config, struct uploader **uploader,
                          struct mfb_error *err);

/* Bytes [0, offset) of the file are final. Offsets only grow. */
void uploader_seal(struct uploader *u, uint64_t offset);

/* With producer_digests: chunk `index` has this SHA-256. Chunks are given
 * in order, each before the uploader_seal (or finish) that covers it. */
void uploader_seal_chunk(struct uploader *u, uint64_t index, const uint8_t sha256[SHA256_LEN]);

/* The file is complete at size bytes. */
void uploader_finish(struct uploader *u, uint64_t size);

/* The same, with producer_digests: the whole file's SHA-256. */
void uploader_finish_digest(struct uploader *u, uint64_t size, const uint8_t sha256[SHA256_LEN]);

/* Stops the upload from any thread; uploader_wait then returns cancelled. */
void uploader_cancel(struct uploader *u);

/* Waits until every chunk is on the receiver (or the upload failed) and
 * fills result. The whole-file digest in result is valid only on MFB_OK. */
mfb_status uploader_wait(struct uploader *u, struct upload_result *result, struct mfb_error *err);

void uploader_free(struct uploader *u);

/* The SHA-256 of the first size bytes of fd, read in order. For a resume
 * that finds the upload already complete: only the whole-file digest is
 * needed to ask the receiver (idempotently) for the backup it became. */
mfb_status upload_hash_file(int fd, const char *path, uint64_t size, uint8_t sha256[SHA256_LEN],
                            struct mfb_error *err);

#endif
