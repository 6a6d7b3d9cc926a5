/*
 * conn_guard.c - the slow-client guard (see conn_guard.h).
 *
 * A list under one mutex: connections come and go a few times per
 * request at most, and the check walks it once per second, so a list is
 * cheaper than anything cleverer at the receiver's few hundred
 * connections. The socket is shut down with the mutex held, and removal
 * takes the same mutex, so a descriptor is never touched after its
 * connection has left the list.
 */
#include "server/conn_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

#define CHECK_EVERY_MS 1000

struct conn_guard_entry {
    struct conn_guard_entry *prev, *next;
    int fd;
    uint64_t since_ms; /* on the clock since */
    bool on_clock;
    bool cut;
};

struct conn_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    struct conn_guard_entry *head;
    uint64_t deadline_ms;
    unsigned count;                /* guarded connections */
    unsigned pressure_at;          /* from this many on (0: never) ... */
    uint64_t pressure_deadline_ms; /* ... this deadline applies */
    unsigned long cut_count;
    bool stopping;
};

static bool under_pressure(const struct conn_guard *g)
{
    return g->pressure_at > 0 && g->count >= g->pressure_at;
}

/* The deadline that applies now. Lock held. */
static uint64_t deadline(const struct conn_guard *g)
{
    return under_pressure(g) && g->pressure_deadline_ms < g->deadline_ms ? g->pressure_deadline_ms
                                                                         : g->deadline_ms;
}

/* Shuts down what is past its deadline; returns how many. Lock held. */
static unsigned cut_overdue(struct conn_guard *g, uint64_t now)
{
    unsigned cut = 0;
    uint64_t limit = deadline(g);
    for (struct conn_guard_entry *e = g->head; e != NULL; e = e->next) {
        if (!e->on_clock || e->cut || now - e->since_ms < limit)
            continue;
        shutdown(e->fd, SHUT_RDWR);
        e->cut = true;
        cut++;
    }
    g->cut_count += cut;
    return cut;
}

static void *guard_main(void *arg)
{
    struct conn_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        struct timespec until = clock_deadline_ts(CHECK_EVERY_MS);
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
        if (g->stopping)
            break;
        bool pressure = under_pressure(g);
        uint64_t limit = deadline(g);
        unsigned open = g->count;
        unsigned cut = cut_overdue(g, clock_now_ms());
        if (cut > 0)
            log_warn("slow-client-cut",
                     "connections=%u open=%u pressure=%s reason=\"no authenticated request "
                     "within %llu ms\"",
                     cut, open, pressure ? "yes" : "no", (unsigned long long)limit);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

mfb_status conn_guard_start(unsigned deadline_ms, struct conn_guard **out, struct mfb_error *err)
{
    *out = NULL;
    struct conn_guard *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    g->deadline_ms = deadline_ms;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, &attr);
    pthread_condattr_destroy(&attr);
    int rc = pthread_create(&g->thread, NULL, guard_main, g);
    if (rc != 0) {
        pthread_cond_destroy(&g->wake);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start the connection guard");
    }
    *out = g;
    return MFB_OK;
}

void conn_guard_set_pressure(struct conn_guard *g, unsigned connections, unsigned deadline_ms)
{
    pthread_mutex_lock(&g->lock);
    g->pressure_at = connections;
    g->pressure_deadline_ms = deadline_ms;
    pthread_mutex_unlock(&g->lock);
}

void conn_guard_stop(struct conn_guard *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

struct conn_guard_entry *conn_guard_add(struct conn_guard *g, int fd)
{
    struct conn_guard_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->fd = fd;
    e->on_clock = true;
    pthread_mutex_lock(&g->lock);
    e->since_ms = clock_now_ms();
    e->next = g->head;
    if (g->head)
        g->head->prev = e;
    g->head = e;
    g->count++;
    pthread_mutex_unlock(&g->lock);
    return e;
}

void conn_guard_remove(struct conn_guard *g, struct conn_guard_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    if (e->prev)
        e->prev->next = e->next;
    else
        g->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    g->count--;
    pthread_mutex_unlock(&g->lock);
    free(e);
}

void conn_guard_clock(struct conn_guard *g, struct conn_guard_entry *e, bool on)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    e->on_clock = on;
    if (on)
        e->since_ms = clock_now_ms();
    pthread_mutex_unlock(&g->lock);
}

unsigned long conn_guard_cut_count(struct conn_guard *g)
{
    pthread_mutex_lock(&g->lock);
    unsigned long n = g->cut_count;
    pthread_mutex_unlock(&g->lock);
    return n;
}
