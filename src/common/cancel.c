/*
 * cancel.c - the cancellation token (see cancel.h).
 */
#include "common/cancel.h"

#include "common/clock.h"

#include <time.h>

void cancel_token_init(struct cancel_token *c, const struct cancel_token *parent)
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

void cancel_token_destroy(struct cancel_token *c)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
}

void cancel_token_request(struct cancel_token *c)
{
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->requested, true);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

bool cancel_token_requested(const struct cancel_token *c)
{
    for (; c != NULL; c = c->parent) {
        if (atomic_load(&c->requested))
            return true;
    }
    return false;
}

bool cancel_flag_raised(const atomic_bool *flag)
{
    return flag != NULL && atomic_load(flag);
}

bool cancel_token_sleep(struct cancel_token *c, uint64_t ms)
{
    if (c == NULL) {
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
        return true;
    }
    struct timespec end = clock_deadline_ts(ms);
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (cancel_token_requested(c))
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        /* Wake at least every 100 ms to look at the parent. */
        struct timespec slice = clock_deadline_ts(100);
        if (slice.tv_sec > end.tv_sec ||
            (slice.tv_sec == end.tv_sec && slice.tv_nsec > end.tv_nsec))
            slice = end;
        pthread_cond_timedwait(&c->cond, &c->lock, &slice);
    }
    pthread_mutex_unlock(&c->lock);
    return !cancel_token_requested(c);
}
