/*
 * receiver_api.h - the client's side of each endpoint in docs/protocol.md:
 * build the request, call it with retries, check and parse the answer.
 *
 * Everything above this file (uploader, downloader, commands) speaks in C
 * structs; everything below (https.c) speaks HTTP. Ids from the receiver
 * or the user are checked before they go into a URL path.
 */
#ifndef MFB_TRANSFER_RECEIVER_API_H
#define MFB_TRANSFER_RECEIVER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"
#include "proto/proto.h"
#include "transfer/https.h"
#include "transfer/plan.h"

#define RECEIVER_ID_MAX (PROTO_ID_LEN + 1)
#define RECEIVER_TEXT_MAX 1024

struct upload_request {
    const char *instance;
    const char *name;
    const char *directory; /* NULL for none */
    bool size_known;
    uint64_t size;
    uint64_t chunk_size;
    /* When size is not known yet: an estimate the receiver checks its free
     * space against (507 when it has no room), binding nothing; 0 for none. */
    uint64_t expected_size;
    const json_t *metadata; /* stored beside the backup (NAME.json); may be NULL */
};

struct upload_state {
    char upload_id[RECEIVER_ID_MAX];
    char instance[RECEIVER_TEXT_MAX];
    char name[RECEIVER_TEXT_MAX];
    uint64_t chunk_size;
    bool size_known;
    uint64_t size;
    bool complete;                   /* completed already (its chunks are gone) */
    char backup_id[RECEIVER_ID_MAX]; /* the backup it became, when complete */
    struct remote_chunk *chunks;     /* allocated; upload_state_free */
    size_t chunk_count;
};

struct backup_info {
    char backup_id[RECEIVER_ID_MAX];
    char name[RECEIVER_TEXT_MAX];
    char path[RECEIVER_TEXT_MAX];
    uint64_t size;
    uint8_t sha256[SHA256_LEN];
};

/* POST /v1/uploads. Fills state (no chunks) from the answer. */
mfb_status receiver_upload_create(struct transfer_conn *conn, const struct upload_request *req,
                                  struct upload_state *state, struct mfb_error *err);

/* GET /v1/uploads/{id}. Allocates state->chunks. */
mfb_status receiver_upload_get(struct transfer_conn *conn, const char *upload_id,
                               struct upload_state *state, struct mfb_error *err);
void upload_state_free(struct upload_state *state);

/* PUT /v1/uploads/{id}/chunks/{index}. on_sent reports body bytes sent. */
mfb_status receiver_chunk_put(struct transfer_conn *conn, const char *upload_id, uint64_t index,
                              const void *data, size_t len, const uint8_t sha256[SHA256_LEN],
                              void (*on_sent)(void *ctx, uint64_t sent), void *sent_ctx,
                              struct mfb_error *err);

/* The same, with the len body bytes pulled from a source in pieces as
 * they are sent (http_request.body_read): a chunk never needs to be held
 * whole in memory. A failing source ends the PUT, unfinished, with its
 * error: the receiver keeps nothing of it. */
mfb_status receiver_chunk_put_from(struct transfer_conn *conn, const char *upload_id,
                                   uint64_t index, size_t len, const uint8_t sha256[SHA256_LEN],
                                   mfb_status (*body_read)(void *ctx, uint64_t pos, void *dst,
                                                           size_t len, size_t *got,
                                                           struct mfb_error *err),
                                   void *body_ctx, void (*on_sent)(void *ctx, uint64_t sent),
                                   void *sent_ctx, struct mfb_error *err);

/* DELETE /v1/uploads/{id}/chunks/{index}: forget a chunk whose stored copy
 * differs from the local file, so it can be sent again. A 404 (not stored)
 * is success. */
mfb_status receiver_chunk_delete(struct transfer_conn *conn, const char *upload_id, uint64_t index,
                                 struct mfb_error *err);

/* DELETE /v1/uploads/{id}: give up an upload and free its space on the
 * receiver. A 404 (already gone) is success. */
mfb_status receiver_upload_abandon(struct transfer_conn *conn, const char *upload_id,
                                   struct mfb_error *err);

/* POST /v1/uploads/{id}/complete. */
mfb_status receiver_upload_complete(struct transfer_conn *conn, const char *upload_id,
                                    uint64_t size, const uint8_t sha256[SHA256_LEN],
                                    struct backup_info *backup, struct mfb_error *err);

/* GET /v1/backups/{id}. */
mfb_status receiver_backup_get(struct transfer_conn *conn, const char *backup_id,
                               struct backup_info *backup, struct mfb_error *err);

/* What a restore drill found (docs/drill.md). Strings are borrowed;
 * host and detail may be NULL. detail is cut to what the receiver keeps. */
struct receiver_verification {
    bool passed;
    uint64_t tables; /* tables checked */
    const char *host;
    const char *detail;
};

/* POST /v1/backups/{id}/verifications. */
mfb_status receiver_verification_post(struct transfer_conn *conn, const char *backup_id,
                                      const struct receiver_verification *v, struct mfb_error *err);

#endif
