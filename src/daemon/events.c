/*
 * events.c - the daemon's broadcast hub for the live event stream (see
 * events.h for what a slow subscriber loses and what it never loses).
 *
 * A subscriber's ring is a plain array in order of publication: it holds
 * at most EVENT_RING events and at most one progress event per job, so
 * the linear scans and the memmove that keep it in order stay tiny, and
 * taking an event from its middle (a paced progress event lets a later
 * event of another job pass) needs no bookkeeping. One condition variable
 * for the whole hub wakes every waiting subscriber on a publication: at
 * EVENT_SUBSCRIBERS_MAX subscribers that is cheaper than it is complex.
 */
#include "daemon/events.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

/* When a subscriber last sent a progress event of a job (pacing). */
struct event_paced {
    int64_t id;
    uint64_t at_ms;
};

struct event_sub {
    struct event_hub *hub;
    struct event_sub *next;
    struct event ring[EVENT_RING];
    size_t count;
    bool resync; /* the next event is a snapshot */
    unsigned overflows;
    struct event_paced paced[EVENT_RING];
    size_t paced_next; /* the slot a new job's pacing replaces */
};

struct event_hub {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an event came, or the hub closes */
    struct event_sub *subs;
    unsigned count, max;
    bool closing;
};

const char *event_kind_name(enum event_kind kind)
{
    switch (kind) {
    case EVENT_SNAPSHOT:
        return "snapshot";
    case EVENT_PROGRESS:
        return "progress";
    case EVENT_STATE:
        return "state";
    }
    return "unknown";
}

struct event_hub *event_hub_new(unsigned max_subscribers)
{
    struct event_hub *hub = calloc(1, sizeof(*hub));
    if (hub == NULL)
        return NULL;
    hub->max = max_subscribers;
    pthread_mutex_init(&hub->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->changed, &ca);
    pthread_condattr_destroy(&ca);
    return hub;
}

void event_hub_free(struct event_hub *hub)
{
    if (hub == NULL)
        return;
    pthread_cond_destroy(&hub->changed);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

void event_hub_close(struct event_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->closing = true;
    pthread_cond_broadcast(&hub->changed);
    pthread_mutex_unlock(&hub->lock);
}

unsigned event_hub_subscribers(struct event_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    unsigned n = hub->count;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

static void ring_remove(struct event_sub *s, size_t i)
{
    free(s->ring[i].data);
    memmove(&s->ring[i], &s->ring[i + 1], (s->count - i - 1) * sizeof(s->ring[0]));
    s->count--;
}

static void ring_clear(struct event_sub *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->ring[i].data);
    s->count = 0;
}

/* Puts one event in one subscriber's ring (the hub's lock is held). */
static void sub_push(struct event_sub *s, enum event_kind kind, int64_t id, const char *json)
{
    if (s->resync)
        return; /* the snapshot it gets next already holds this */
    /* A waiting progress event of this job is out of date either way. */
    for (size_t i = 0; i < s->count; i++) {
        if (s->ring[i].kind == EVENT_PROGRESS && s->ring[i].id == id) {
            if (kind == EVENT_PROGRESS) {
                char *copy = strdup(json);
                if (copy == NULL)
                    goto lost;
                free(s->ring[i].data);
                s->ring[i].data = copy;
                return;
            }
            ring_remove(s, i);
            break;
        }
    }
    if (s->count == EVENT_RING) {
        /* Full: the oldest progress event goes first; a ring of state
         * events only cannot keep them all, and a snapshot says it all. */
        size_t i = 0;
        while (i < s->count && s->ring[i].kind != EVENT_PROGRESS)
            i++;
        if (i == s->count)
            goto lost;
        ring_remove(s, i);
    }
    char *copy = strdup(json);
    if (copy == NULL)
        goto lost;
    s->ring[s->count++] = (struct event){.kind = kind, .id = id, .data = copy};
    return;
lost:
    ring_clear(s);
    s->resync = true;
    s->overflows++;
}

void event_hub_publish(struct event_hub *hub, enum event_kind kind, int64_t id, const char *json)
{
    pthread_mutex_lock(&hub->lock);
    for (struct event_sub *s = hub->subs; s; s = s->next)
        sub_push(s, kind, id, json);
    if (hub->subs)
        pthread_cond_broadcast(&hub->changed);
    pthread_mutex_unlock(&hub->lock);
}

struct event_sub *event_hub_subscribe(struct event_hub *hub)
{
    struct event_sub *s = NULL;
    pthread_mutex_lock(&hub->lock);
    if (!hub->closing && hub->count < hub->max && (s = calloc(1, sizeof(*s))) != NULL) {
        s->hub = hub;
        s->resync = true;
        s->next = hub->subs;
        hub->subs = s;
        hub->count++;
    }
    pthread_mutex_unlock(&hub->lock);
    return s;
}

void event_hub_unsubscribe(struct event_sub *sub)
{
    if (sub == NULL)
        return;
    struct event_hub *hub = sub->hub;
    pthread_mutex_lock(&hub->lock);
    for (struct event_sub **p = &hub->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            hub->count--;
            break;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    ring_clear(sub);
    free(sub);
}

static struct event_paced *paced_find(struct event_sub *s, int64_t id)
{
    for (size_t i = 0; i < EVENT_RING; i++)
        if (s->paced[i].id == id)
            return &s->paced[i];
    return NULL;
}

/* The hub's lock is held. */
static enum event_take take_locked(struct event_sub *s, uint64_t now_ms, struct event *out,
                                   uint64_t *wait_ms)
{
    *wait_ms = UINT64_MAX;
    if (s->hub->closing)
        return EVENT_CLOSED;
    if (s->resync) {
        /* Everything in the ring predates the snapshot the caller renders
         * now; what comes after it follows it. */
        ring_clear(s);
        s->resync = false;
        *out = (struct event){.kind = EVENT_SNAPSHOT};
        return EVENT_TAKEN;
    }
    for (size_t i = 0; i < s->count; i++) {
        struct event *e = &s->ring[i];
        if (e->kind == EVENT_PROGRESS) {
            struct event_paced *p = paced_find(s, e->id);
            if (p != NULL && now_ms < p->at_ms + EVENT_PROGRESS_INTERVAL_MS) {
                uint64_t left = p->at_ms + EVENT_PROGRESS_INTERVAL_MS - now_ms;
                if (left < *wait_ms)
                    *wait_ms = left;
                continue;
            }
            if (p == NULL) {
                p = &s->paced[s->paced_next];
                s->paced_next = (s->paced_next + 1) % EVENT_RING;
            }
            p->id = e->id;
            p->at_ms = now_ms;
        }
        *out = *e;
        memmove(&s->ring[i], &s->ring[i + 1], (s->count - i - 1) * sizeof(s->ring[0]));
        s->count--;
        *wait_ms = 0;
        return EVENT_TAKEN;
    }
    return EVENT_NONE;
}

enum event_take event_sub_take(struct event_sub *sub, uint64_t now_ms, struct event *out,
                               uint64_t *wait_ms)
{
    pthread_mutex_lock(&sub->hub->lock);
    enum event_take r = take_locked(sub, now_ms, out, wait_ms);
    pthread_mutex_unlock(&sub->hub->lock);
    return r;
}

enum event_take event_sub_wait(struct event_sub *sub, uint64_t timeout_ms, struct event *out)
{
    struct event_hub *hub = sub->hub;
    uint64_t deadline = clock_now_ms() + timeout_ms;
    pthread_mutex_lock(&hub->lock);
    enum event_take r;
    for (;;) {
        uint64_t now = clock_now_ms(), wait = 0;
        r = take_locked(sub, now, out, &wait);
        if (r != EVENT_NONE || now >= deadline)
            break;
        if (wait > deadline - now)
            wait = deadline - now;
        struct timespec until = clock_deadline_ts(wait);
        pthread_cond_timedwait(&hub->changed, &hub->lock, &until);
    }
    pthread_mutex_unlock(&hub->lock);
    return r;
}

unsigned event_sub_overflows(struct event_sub *sub)
{
    pthread_mutex_lock(&sub->hub->lock);
    unsigned n = sub->overflows;
    pthread_mutex_unlock(&sub->hub->lock);
    return n;
}
