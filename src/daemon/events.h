/*
 * events.h - the daemon's live event stream (GET /v1/events,
 * docs/daemon.md): a bounded broadcast hub between the threads that change
 * what the daemon runs (workers, the scheduler, the API) and the clients
 * that watch it (the web UI, `mfb jobs --follow`).
 *
 * Publishers hand the hub an event already rendered as JSON text: a
 * "state" event when a queue entry is queued, starts or ends, a "progress"
 * event with a running entry's latest figures. Each subscriber has a small
 * ring of its own, so a slow client never holds up a publisher: publishing
 * only copies text under the hub's lock and never waits for a reader.
 *
 * What a slow subscriber loses, and what it never loses:
 * - progress events coalesce: a newer progress event of a job replaces the
 *   one still waiting in the ring (the newest figures win), and a state
 *   event of the job drops it (the entry it carries is newer still);
 * - a subscriber receives at most one progress event per job every
 *   EVENT_PROGRESS_INTERVAL_MS; one that comes sooner waits in the ring,
 *   and is replaced if a newer one comes meanwhile;
 * - a full ring drops its oldest progress event first; state events are
 *   kept, and only when the ring holds nothing but state events does the
 *   subscriber lose them: its ring is emptied and its next event is a
 *   "snapshot" (the caller renders the whole list, GET /v1/jobs), so a
 *   client is never silently out of date.
 * Every subscriber's first event is a snapshot too.
 *
 * The hub knows nothing of HTTP or of queue entries: daemon/http.c drives
 * a subscriber, daemon/api.c renders the JSON. Lock order: the job's
 * progress hub, the daemon's lock, then this hub's (a publisher may hold
 * the first two; nothing is called back under this one).
 */
#ifndef MFB_DAEMON_EVENTS_H
#define MFB_DAEMON_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_RING 32
#define EVENT_SUBSCRIBERS_MAX 32
#define EVENT_PROGRESS_INTERVAL_MS 250
#define EVENT_KEEPALIVE_MS 15000

enum event_kind { EVENT_SNAPSHOT, EVENT_PROGRESS, EVENT_STATE };

/* "snapshot", "progress", "state": the SSE event names. */
const char *event_kind_name(enum event_kind kind);

struct event {
    enum event_kind kind;
    int64_t id; /* the queue entry; 0 for a snapshot */
    char *data; /* JSON text, the taker's to free; NULL for a snapshot */
};

enum event_take {
    EVENT_TAKEN,  /* *out is an event */
    EVENT_NONE,   /* nothing to send yet */
    EVENT_CLOSED, /* the hub is closing: end the stream */
};

struct event_hub;
struct event_sub;

/* A hub for at most max_subscribers subscribers. Allocates; NULL when out
 * of memory. */
struct event_hub *event_hub_new(unsigned max_subscribers);
/* Every subscriber must have unsubscribed. NULL is a no-op. */
void event_hub_free(struct event_hub *hub);
/* The daemon stops: every waiting subscriber wakes and gets EVENT_CLOSED;
 * no new subscriber is taken. */
void event_hub_close(struct event_hub *hub);
/* How many subscribers there are: a publisher renders nothing for none. */
unsigned event_hub_subscribers(struct event_hub *hub);

/* Gives an event to every subscriber (json is copied). kind is
 * EVENT_PROGRESS or EVENT_STATE. */
void event_hub_publish(struct event_hub *hub, enum event_kind kind, int64_t id, const char *json);

/* A new subscriber, whose first event is a snapshot; NULL when the hub
 * has max_subscribers already, is closing, or memory is short. */
struct event_sub *event_hub_subscribe(struct event_hub *hub);
void event_hub_unsubscribe(struct event_sub *sub);

/* The next event due at now_ms (a monotonic time, clock_now_ms), without
 * waiting. EVENT_NONE sets *wait_ms to when one may be due (a paced
 * progress event), or UINT64_MAX. */
enum event_take event_sub_take(struct event_sub *sub, uint64_t now_ms, struct event *out,
                               uint64_t *wait_ms);
/* The same, waiting up to timeout_ms for an event to come or become due. */
enum event_take event_sub_wait(struct event_sub *sub, uint64_t timeout_ms, struct event *out);

/* Whether this subscriber has lost state events since it was last given
 * a snapshot (for tests and logs). */
unsigned event_sub_overflows(struct event_sub *sub);

#endif
