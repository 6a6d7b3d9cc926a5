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
 * GET /v1/jobs/{id}; POST /v1/jobs/{id}/cancel; GET /v1/instances and
 * GET /v1/schedules (daemon/overview.h); POST /v1/schedules/{name}/pause
 * and /resume; GET /metrics (the Prometheus text of daemon/api_metrics.h);
 * GET /v1/events (the live stream, daemon/events.h: the answer carries a
 * subscriber that the transport drives). Errors are JSON
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

#include <jansson.h>

#include "daemon/daemon.h"
#include "daemon/events.h"

#define DAEMON_API_BODY_MAX 65536

struct daemon_api_response {
    unsigned status;
    char *body; /* allocated JSON, may be NULL */
    size_t body_len;
    const char *allow;        /* for 405 */
    const char *content_type; /* NULL: application/json */
    /* GET /v1/events: a subscriber of the daemon's event hub, the caller's
     * to drive (daemon_api_event_text) and to unsubscribe; status 200,
     * no body. NULL for every other answer. */
    struct event_sub *events;
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

/* The JSON of a queue entry, as GET /v1/jobs/{id} gives it (reads the job
 * log for an ended one). p: the progress of a running entry when the
 * caller has it, else NULL (it is looked up). New reference or NULL. */
json_t *daemon_api_entry_json(struct daemon *d, const struct queue_entry *e,
                              const struct daemon_progress *p);

/* The SSE text of one event of the stream ("event: NAME\ndata: JSON\n\n");
 * a snapshot is rendered now, as GET /v1/jobs. Allocates; NULL when it
 * cannot be rendered (out of memory, the database failed). */
char *daemon_api_event_text(struct daemon *d, const struct event *ev);

/* The stream's publishers: the daemon calls them where an entry changes
 * (queued, started, ended) and where a running job reports progress.
 * They render nothing when no one subscribes. */
void daemon_api_publish_state(struct daemon *d, int64_t id);
void daemon_api_publish_progress(struct daemon *d, const struct queue_entry *e,
                                 const struct daemon_progress *p);

#endif
