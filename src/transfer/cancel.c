/*
 * cancel.c - the cancellation token (see cancel.h).
 */
#include "transfer/cancel.h"

#include <time.h>

void transfer_cancel_init(struct transfer_cancel *c, const struct transfer_cancel *parent)
{
    atomic_init(&c->requested, false);
    c->parent = parent;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &attr);
    pthread_condattr_destroy(&attr);
}

void transfer_cancel_destroy(struct transfer_cancel *c)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
}

void transfer_cancel_request(struct transfer_cancel *c)
{
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->requested, true);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

bool transfer_cancel_requested(const struct transfer_cancel *c)
{
    for (; c != NULL; c = c->parent) {
        if (atomic_load(&c->requested))
            return true;
    }
    return false;
}

static struct timespec deadline_after(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool transfer_cancel_sleep(struct transfer_cancel *c, uint64_t ms)
{
    if (c == NULL) {
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
        return true;
    }
    struct timespec end = deadline_after(ms);
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (transfer_cancel_requested(c))
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        /* Wake at least every 100 ms to look at the parent. */
        struct timespec slice = deadline_after(100);
        if (slice.tv_sec > end.tv_sec ||
            (slice.tv_sec == end.tv_sec && slice.tv_nsec > end.tv_nsec))
            slice = end;
        pthread_cond_timedwait(&c->cond, &c->lock, &slice);
    }
    pthread_mutex_unlock(&c->lock);
    return !transfer_cancel_requested(c);
}
