/*
 * https.h - HTTPS requests to a receiver over libcurl: connection setup,
 * certificate verification, one request, and the retry loop.
 *
 * A transfer_peer is the validated, immutable description of a receiver
 * (URL, token, how to verify it, timeouts, retry policy); any number of
 * threads share one. A transfer_conn is one curl easy handle and so one
 * kept-alive connection, used by one thread at a time; the uploader opens
 * one per parallel connection.
 *
 * Verification has two modes and no way to switch it off:
 *  - pin: the SHA-256 of the receiver's leaf certificate must equal the
 *    pinned fingerprint. An OpenSSL certificate-verify callback installed
 *    through CURLOPT_SSL_CTX_FUNCTION replaces chain building, so a
 *    self-signed receiver works and nothing else does; the host name is not
 *    checked, the pin identifies the peer. (CURLOPT_PINNEDPUBLICKEY would
 *    pin the key, not the certificate, and still want a valid chain.)
 *  - ca: ordinary verification against the given CA file only (the system
 *    store is not consulted), host name included.
 * A plain http:// URL needs allow_plaintext (the --insecure-plaintext flag
 * of the tests) and logs a warning.
 *
 * The token goes into an Authorization header and nowhere else: never into
 * a log line or an error message, and curl's verbose mode is never enabled.
 */
#ifndef MFB_TRANSFER_HTTPS_H
#define MFB_TRANSFER_HTTPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/digest.h"
#include "common/status.h"
#include "transfer/backoff.h"

struct transfer_target {
    const char *url;         /* https://HOST:PORT[/PREFIX] */
    const char *token;       /* bearer token */
    const char *fingerprint; /* pinned SHA-256 of the certificate, or NULL */
    const char *ca_file;     /* CA bundle, or NULL */
    bool allow_plaintext;    /* accept http:// (tests only) */
};

struct transfer_settings {
    struct backoff_policy retry;
    uint64_t connect_timeout_ms;
    uint64_t stall_timeout_ms; /* a request that moves no byte for this long fails */
};

#define TRANSFER_SETTINGS_DEFAULT                                                                  \
    (struct transfer_settings)                                                                     \
    {                                                                                              \
        .retry = BACKOFF_POLICY_DEFAULT, .connect_timeout_ms = 15000, .stall_timeout_ms = 60000    \
    }

struct transfer_peer;
struct transfer_conn;

/* Validates the target and copies it. Allocates; free with transfer_peer_free. */
mfb_status transfer_peer_create(const struct transfer_target *target,
                                const struct transfer_settings *settings,
                                struct transfer_peer **client, struct mfb_error *err);
void transfer_peer_free(struct transfer_peer *client);
const struct transfer_settings *transfer_peer_settings(const struct transfer_peer *client);

/* Opens a connection object (the TCP/TLS connection itself is made on the
 * first request and kept alive). cancel may be NULL. Allocates. */
mfb_status transfer_conn_open(const struct transfer_peer *client, struct cancel_token *cancel,
                              struct transfer_conn **conn, struct mfb_error *err);
void transfer_conn_close(struct transfer_conn *conn);

struct http_response {
    long status;
    char *body; /* NUL-terminated; the whole body unless a sink took it */
    size_t body_len;
    size_t body_cap;
    uint64_t retry_after_ms;
    char repr_digest[160];
    char content_range[128];
};

struct http_request {
    const char *method; /* "GET", "PUT", "POST", "DELETE" */
    const char *path;   /* appended to the base URL: "/v1/uploads" */
    const char *what;   /* for messages: "cannot open the upload" */
    const char *content_type;
    const char *content_digest; /* Content-Digest header value, or NULL */
    const void *body;           /* sent from memory; NULL for no body */
    size_t body_len;
    /* Or, with body non-NULL as a marker, the body_len bytes are pulled in
     * pieces: body_read fills dst with up to len bytes of the body from
     * offset pos (each attempt starts again at 0) and sets *got (> 0 until
     * the end). A failure ends the request with its error, without retry. */
    mfb_status (*body_read)(void *ctx, uint64_t pos, void *dst, size_t len, size_t *got,
                            struct mfb_error *err);
    void *body_ctx;
    bool has_range; /* send Range: bytes=range_start- */
    uint64_t range_start;
    bool chunk_put; /* 507 is retried */
    /* A 2xx body goes to the sink instead of memory when set. begin is
     * called once per attempt, before the first byte, with the status and
     * headers; a failing sink ends the request without retry. */
    mfb_status (*sink_begin)(void *ctx, const struct http_response *resp, struct mfb_error *err);
    mfb_status (*sink)(void *ctx, const void *data, size_t len, struct mfb_error *err);
    void *sink_ctx;
    /* Upload progress: body bytes handed to the connection in this attempt. */
    void (*on_sent)(void *ctx, uint64_t sent);
    void *sent_ctx;
};

/* Called before each retry wait. */
typedef void (*transfer_retry_hook)(void *ctx, unsigned failed_attempt, uint64_t delay_ms,
                                    const char *reason);
void transfer_conn_set_retry_hook(struct transfer_conn *conn, transfer_retry_hook hook, void *ctx);

/* One attempt. MFB_OK when the receiver answered, whatever the status;
 * otherwise the error, with *retryable saying whether trying again may help.
 * resp must be zeroed before the first use; it is reused and freed with
 * http_response_free. */
mfb_status transfer_conn_perform(struct transfer_conn *conn, const struct http_request *req,
                                 struct http_response *resp, bool *retryable,
                                 struct mfb_error *err);

/* The request with retries (network errors, 408, 429, 5xx) under the
 * client's policy. MFB_OK only for a 2xx answer; any other answer becomes an
 * error built from the receiver's JSON {error, message}. */
mfb_status transfer_conn_call(struct transfer_conn *conn, const struct http_request *req,
                              struct http_response *resp, struct mfb_error *err);

/* The error for a final non-2xx answer (exposed for the downloader). */
mfb_status transfer_http_error(const struct http_request *req, const struct http_response *resp,
                               struct mfb_error *err);

void http_response_free(struct http_response *resp);

#endif
