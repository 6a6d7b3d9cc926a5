/*
 * http.h - the receiver's HTTP(S) front end over libmicrohttpd.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION), bounded by
 * --max-connections: a chunk ends with an fsync and a catalog commit, and a
 * thread that blocks there must not hold up other connections, which an
 * event-loop pool would. Idle connections are closed after --idle-timeout.
 * Each connection's buffer (MHD_OPTION_CONNECTION_MEMORY_LIMIT) bounds the
 * request headers; larger headers get libmicrohttpd's own 431 answer and
 * the connection is closed. TLS is GnuTLS (libmicrohttpd's), restricted to
 * TLS 1.2 and 1.3.
 *
 * Everything protocol related is in api.c; this file only moves bytes
 * between libmicrohttpd and it, and writes one log line per request.
 */
#ifndef MFB_SERVER_HTTP_H
#define MFB_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "server/server.h"

#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct http_options {
    const char *listen; /* "ADDR:PORT", "[V6ADDR]:PORT"; port 0 picks a free one */
    bool plaintext;
    const char *cert_pem; /* PEM text; unused with plaintext */
    const char *key_pem;
    unsigned idle_timeout_s;
    unsigned max_connections;
    size_t memory_limit; /* per connection; bounds the headers */
};

struct http_server;

/* Parses "ADDR:PORT" into a socket address. */
mfb_status http_parse_listen(const char *listen, void *sockaddr_storage, unsigned *len,
                             struct mfb_error *err);

/* Starts serving srv. Allocates; stop with http_stop. */
mfb_status http_start(struct server *srv, const struct http_options *opts, struct http_server **out,
                      struct mfb_error *err);

/* The port actually bound. */
uint16_t http_port(const struct http_server *h);

/* Stops accepting, gives requests in progress up to grace_ms to finish,
 * then closes every connection and frees h. */
void http_stop(struct http_server *h, unsigned grace_ms);

#endif
