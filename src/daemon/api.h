/*
 * api.h - the daemon's control API, without sockets (docs/daemon.md).
 *
 * Driven in the receiver's three steps (server/api.h): daemon_api_begin
 * with the method and path, daemon_api_body for each piece of the body,
 * daemon_api_finish for the answer, so that the HTTP layer (daemon/http.c)
 * is a thin adapter and the unit tests and a fuzzer drive the same code
 * with plain buffers.
 *
 * Routes: GET /v1/health; GET /v1/jobs (queued and running entries, the
 * running ones with their live progress, and the last ended ones);
 * POST /v1/jobs {"instance": .., "target": ..} (queue a run now);
 * GET /v1/jobs/{id}; POST /v1/jobs/{id}/cancel. Errors are JSON
 * {"error": code, "message": text}: 404 for an unknown path, id or
 * instance, 405 for a method a route does not take (with Allow), 400 for a
 * body that is not the JSON asked for, 413 for a body past
 * DAEMON_API_BODY_MAX. GET|POST /v1/ui/... are the web UI's own
 * read-mostly routes (daemon/api_ui.h, docs/ui.md).
 *
 * There is no authentication: the socket's mode (0600, the daemon's user
 * only) is the access control, as the configuration database's is.
 */
#ifndef MFB_DAEMON_API_H
#define MFB_DAEMON_API_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/daemon.h"

#define DAEMON_API_BODY_MAX 65536

struct daemon_api_response {
    unsigned status;
    char *body; /* allocated JSON, may be NULL */
    size_t body_len;
    const char *allow;        /* for 405 */
    const char *content_type; /* NULL: application/json */
};

struct daemon_api_call;

/* Starts a request; never fails (out of memory gives a call that answers
 * 500). *decided: the answer is known before any body. */
struct daemon_api_call *daemon_api_begin(struct daemon *d, const char *method, const char *url,
                                         bool *decided);
/* A piece of the body; false when the connection should be dropped. */
bool daemon_api_body(struct daemon_api_call *call, const char *data, size_t len);
/* The body is complete: fills the answer (resp->body is the caller's). */
void daemon_api_finish(struct daemon_api_call *call, struct daemon_api_response *resp);
void daemon_api_call_free(struct daemon_api_call *call);

#endif
