/*
 * api.h - the receiver's request handling, without sockets.
 *
 * A request is driven in three steps, the way libmicrohttpd delivers it:
 * api_begin with the method, path and headers; api_body for each piece of
 * the body as it arrives; api_finish for the answer. Everything protocol
 * related happens behind these calls (routing, authentication, JSON,
 * Content-Digest, Range, the chunk writer: api_internal.h says which file
 * holds which), so the HTTP layer is a thin adapter and the fuzzer and
 * unit tests can drive the same code with plain buffers.
 *
 * Paths outside /v1/ are the operator's dashboard (server/dashboard.h):
 * the same three steps, a session cookie instead of a bearer token.
 *
 * Bodies are never held in memory, but for the small JSON ones: a chunk is
 * hashed and written as it arrives (api_chunk.c). Once an error is decided
 * in the middle of a body, the rest is read and dropped, up to a bound past
 * which api_body asks for the connection to be closed instead.
 */
#ifndef MFB_SERVER_API_H
#define MFB_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

/* A request as the HTTP layer sees it. Header names are matched without
 * regard to case by the lookup function, which gives the first of
 * repeated headers; header_count (optional, NULL = each header at most
 * once) says how many a request has, so that repeated framing headers can
 * be refused. */
struct api_request {
    const char *method;
    const char *url; /* the path, without the query string */
    const char *(*header)(void *ctx, const char *name);
    const char *(*query)(void *ctx, const char *name);
    void *ctx;
    unsigned (*header_count)(void *ctx, const char *name);
};

/* An answer: a JSON body, or a range of a file or of a stored backup. */
struct api_response {
    unsigned status;
    char *body; /* allocated (malloc), may be NULL */
    size_t body_len;
    int fd; /* >= 0: send [offset, offset+length) of this file, then close it */
    uint64_t offset, length;
    /* Or, when read is set: [offset, offset+length) of a stored backup that
     * is not a local file (storage.h, struct storage_read), read piece by
     * piece as it is sent; read_close releases it afterwards. */
    long (*read)(void *ctx, uint64_t off, char *buf, size_t len);
    void (*read_close)(void *ctx);
    void *read_ctx;
    const char *content_type;
    char content_range[96];
    char repr_digest[80];
    const char *allow;    /* for 405 */
    unsigned retry_after; /* seconds, for 503 and 429 */
    bool accept_ranges;
    /* Answers of the dashboard's paths (api_dashboard.c): with page set,
     * the HTTP layer adds the web UI's security headers (ui/gate.h) and
     * Cache-Control (no-store unless cacheable). */
    bool page;
    bool cacheable;
    const char *location; /* a redirect's target (static) */
    char set_cookie[192]; /* "" when none */
};

struct api_call;

/* Starts a request. Never fails: allocation failure gives a call that
 * answers 500. Returns true when the answer is already decided and can be
 * sent before any body (an error, or a request without a body). */
struct api_call *api_begin(struct server *srv, const struct api_request *req, bool *decided);

/* A piece of the body. Returns false when the connection should be dropped
 * (the body runs far past a limit after an error was decided). */
bool api_body(struct api_call *call, const char *data, size_t len);

/* The whole body has arrived: fills the answer. resp->fd is owned by the
 * caller afterwards (-1 when there is none), as is resp->body. */
void api_finish(struct api_call *call, struct api_response *resp);

/* Releases a call, finished or not (a dropped connection rolls back a
 * chunk in progress: it is never recorded). */
void api_call_free(struct api_call *call);

/* For the request log: who, what, how much. Valid until api_call_free. */
struct api_call_info {
    const char *client; /* "-" before authentication */
    bool authed;
    const char *id_kind; /* "upload" or "backup" */
    const char *id;      /* the upload or backup id, "-" when none */
    bool has_index;      /* a chunk route with a valid index */
    uint64_t index;
    bool routed; /* the path named a resource (ids and index valid) */
    uint64_t bytes_in;
    unsigned status;
    const char *error;     /* error code or NULL */
    bool operator_session; /* a dashboard request with a live operator session */
};
void api_call_describe(const struct api_call *call, struct api_call_info *info);

/* Parses "bytes=A-B", "bytes=A-" or "bytes=-N" against a file of size
 * bytes. Returns false for a header to ignore (malformed, several ranges);
 * otherwise *satisfiable says whether [*start, *start+*len) is in the file. */
bool api_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *len,
                     bool *satisfiable);

/* Releases what an answer holds (body, fd). */
void api_response_release(struct api_response *resp);

#endif
