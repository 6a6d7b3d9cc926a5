/*
 * api_internal.h - what the pieces of the receiver's request handling
 * share, private to src/server/ (the HTTP layer, the fuzzer and the tests
 * see only api.h).
 *
 * A request is one struct api_call from api_begin to api_call_free. api.c
 * routes and authenticates it and drives the three steps; the handlers
 * that answer it live by resource: api_uploads.c (open uploads: create,
 * get, complete, abandon), api_backups.c (published backups: list, get,
 * download, delete), api_chunk.c (a chunk's body: PUT and DELETE, the
 * chunk writer) and api_dashboard.c (the operator's pages, outside /v1/). Every answer goes through
 * the helpers of api_json.c, so that an error always has the same shape and an internal failure
 * never reaches the client with its details.
 */
#ifndef MFB_SERVER_API_INTERNAL_H
#define MFB_SERVER_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "proto/proto.h"
#include "server/api.h"
#include "server/server.h"

/* Largest file offset an upload of unknown size may reach (1 PiB). */
#define API_MAX_FILE_BYTES (1ULL << 50)

enum api_route {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_WHOAMI,
    ROUTE_UPLOADS,
    ROUTE_UPLOAD,
    ROUTE_CHUNK,
    ROUTE_COMPLETE,
    ROUTE_BACKUPS,
    ROUTE_BACKUP,
    ROUTE_CONTENT,
    ROUTE_VERIFICATIONS,
    ROUTE_DASHBOARD, /* any path outside /v1/: api_dashboard.c */
};

/* What api_body does with the body's bytes. BODY_DUPLICATE: the repeat
 * of a chunk stored with the same digest, read and dropped, then answered
 * as stored; BODY_DISCARD: the answer is decided, the rest is dropped. */
enum api_body_mode { BODY_NONE, BODY_JSON, BODY_CHUNK, BODY_DUPLICATE, BODY_DISCARD };

/* The chunk writer's state (api_chunk.c): allocated by api_chunk_begin,
 * for a chunk PUT only. */
struct api_chunk;

struct api_call {
    struct server *srv;
    const struct api_request *req;
    enum api_route route;
    bool routed; /* route matched, index (if any) valid */
    char method[16];
    struct srv_client client;
    bool authed;
    bool operator_session; /* the dashboard's: a live operator session */
    char id[SRV_ID_BUF];
    uint64_t index;
    bool has_index;
    bool decided;
    struct api_response resp;
    const char *error_code;
    enum api_body_mode mode;
    uint64_t bytes_in;
    uint64_t discarded;
    /* BODY_JSON */
    char *json;
    size_t json_len;
    /* the upload c->id, for the upload and chunk routes */
    struct srv_upload upload;
    bool have_upload;
    struct session *session;
    /* A pointer rather than an embedded struct: the writer's fields stay
     * private to api_chunk.c, and the other requests do not carry its
     * path buffer and hash states (over 4 KiB) through their lives. */
    struct api_chunk *chunk;
};

/* ---- the request (api.c) ---- */

/* A header's value (the first of repeated ones), or NULL. */
const char *api_header(struct api_call *c, const char *name);
/* How many times the header is sent. */
unsigned api_header_count(struct api_call *c, const char *name);
/* Content-Length as a number, if the request has one (and is not chunked). */
bool api_content_length(struct api_call *c, uint64_t *len);
/* A decimal number of 1 to 19 digits, nothing else. */
bool api_parse_u64(const char *text, size_t len, uint64_t *out);

/* ---- answers and JSON bodies (api_json.c) ---- */

/* Answers status with obj (taken; NULL: no body). */
void api_set_json(struct api_call *c, unsigned status, json_t *obj);
/* Answers with the protocol error e and a message for the client. */
void api_fail(struct api_call *c, enum proto_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An internal failure while doing what: 507 for a full disk, 503 when
 * busy, else 500 with a generic message (the details go to the log). */
void api_fail_status(struct api_call *c, mfb_status st, const struct mfb_error *err,
                     const char *what);
/* The JSON body as an object (the caller's), or NULL, answered 400. */
json_t *api_json_body(struct api_call *c);
/* An optional (or required) non-negative integer member; false when
 * answered 400. */
bool api_json_size(struct api_call *c, json_t *root, const char *key, bool required, bool *present,
                   uint64_t *value);
/* A required name member, checked by the protocol's rules; NULL when
 * answered 400. */
const char *api_json_name(struct api_call *c, json_t *root, const char *key);

/* ---- open uploads (api_uploads.c) ---- */

void api_upload_create(struct api_call *c);   /* POST /v1/uploads */
void api_upload_get(struct api_call *c);      /* GET /v1/uploads/{id} */
void api_upload_delete(struct api_call *c);   /* DELETE /v1/uploads/{id} */
void api_upload_complete(struct api_call *c); /* POST /v1/uploads/{id}/complete */
/* Loads the caller's upload c->id into c->upload; false when answered. */
bool api_upload_load(struct api_call *c);
/* Takes c->session for the loaded upload; false when answered. */
bool api_upload_session(struct api_call *c);

/* ---- published backups (api_backups.c) ---- */

void api_backup_list(struct api_call *c);                  /* GET /v1/backups */
void api_backup_get_or_delete(struct api_call *c, bool d); /* GET, DELETE /v1/backups/{id} */
void api_backup_content(struct api_call *c);               /* GET /v1/backups/{id}/content */

/* ---- restore drills' outcomes (api_verifications.c) ---- */

void api_verification_post(struct api_call *c); /* POST /v1/backups/{id}/verifications */
/* Adds the newest verification of backup_id to backup (a backup's JSON). */
void api_verification_attach(struct api_call *c, json_t *backup, const char *backup_id);

/* ---- the operator's dashboard (api_dashboard.c) ---- */

/* Every path outside /v1/: answers, or sets BODY_JSON for the login. */
void api_dashboard_begin(struct api_call *c);
/* The login's body has arrived (POST /ui/login). */
void api_dashboard_finish(struct api_call *c);

/* ---- chunks (api_chunk.c) ---- */

/* PUT /v1/uploads/{id}/chunks/{index}, in the three steps. */
void api_chunk_begin(struct api_call *c);
void api_chunk_body(struct api_call *c, const char *data, size_t len);
void api_chunk_finish(struct api_call *c);
/* DELETE /v1/uploads/{id}/chunks/{index}. */
void api_chunk_delete(struct api_call *c);
/* Releases c->chunk, rolling back a chunk claimed and not recorded. */
void api_chunk_release(struct api_call *c);
/* A chunk as the protocol shows it. */
json_t *api_chunk_json(const struct srv_chunk *ch);

#endif
