/*
 * metrics.h - the receiver's Prometheus metrics (docs/monitoring.md): the
 * counters the request path bumps (requests by status code, bytes
 * received), the page computed from the catalog, the storage and those
 * counters, and the small listener of `mfb-server serve --metrics-listen`.
 *
 * The listener is its own libmicrohttpd daemon, not a route of the upload
 * API: the API's port authenticates clients by their upload tokens, and a
 * scraper is no client; a separate address lets the firewall keep the two
 * apart. On a loopback address it serves plain HTTP and needs no token
 * (whoever is on the host can read the catalog's figures anyway); on any
 * other address a bearer token, read from a 0600 file, is required, and
 * the page is served over TLS with the receiver's certificate (unless the
 * receiver itself runs --plaintext, for tests).
 */
#ifndef MFB_SERVER_METRICS_H
#define MFB_SERVER_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* HTTP status codes counted one by one; others count as 0 (never sent). */
#define SERVER_METRICS_CODES 600

struct server_counters {
    atomic_uint_least64_t requests[SERVER_METRICS_CODES];
    atomic_uint_least64_t received_bytes;
};

/* One finished request (server/http.c): its status and the body bytes it
 * brought. Lock-free, from any request thread. */
void server_metrics_count(struct server_counters *c, unsigned status, uint64_t bytes_in);

struct server;

/* The page: catalog figures per client and instance, free space, open
 * upload sessions and the counters. *out is allocated (free()). */
mfb_status server_metrics_page(struct server *srv, char **out, size_t *len, struct mfb_error *err);

struct metrics_listener_options {
    const char *listen;     /* ADDR:PORT */
    const char *token_file; /* NULL: no token (loopback only) */
    const char *cert_pem;   /* TLS off a loopback address; NULL: plain HTTP */
    const char *key_pem;
};

struct metrics_listener;

/* Whether the ADDR of ADDR:PORT is a loopback address (127.0.0.0/8, ::1). */
bool server_metrics_loopback(const char *listen);

/* Starts serving GET /metrics of srv. Refuses a non-loopback address
 * without a token file. Allocates; stop with server_metrics_stop. */
mfb_status server_metrics_start(struct server *srv, const struct metrics_listener_options *o,
                                struct metrics_listener **out, struct mfb_error *err);
/* The port actually bound. */
uint16_t server_metrics_port(const struct metrics_listener *l);
void server_metrics_stop(struct metrics_listener *l);

#endif
