/*
 * watermark.c - a byte mark one thread raises and others wait for (see
 * watermark.h).
 */
#include "common/watermark.h"

#include <errno.h>
#include <time.h>

void watermark_init(struct watermark *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the idle waits' deadlines */
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    w->mark = 0;
    w->failed = MFB_OK;
    w->waits = 0;
    w->wanted = UINT64_MAX;
}

void watermark_destroy(struct watermark *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

void watermark_set(struct watermark *w, uint64_t mark)
{
    pthread_mutex_lock(&w->lock);
    w->mark = mark;
    if (mark >= w->wanted) {
        w->wanted = UINT64_MAX; /* the woken readers still short say so again */
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
}

void watermark_fail(struct watermark *w, mfb_status status)
{
    pthread_mutex_lock(&w->lock);
    w->failed = status == MFB_OK ? MFB_ERR_INTERNAL : status;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

mfb_status watermark_wait(struct watermark *w, uint64_t end, struct mfb_error *err)
{
    return watermark_wait_idle(w, end, 0, NULL, NULL, err);
}

mfb_status watermark_wait_idle(struct watermark *w, uint64_t end, unsigned idle_ms,
                               void (*idle)(void *ctx), void *ctx, struct mfb_error *err)
{
    pthread_mutex_lock(&w->lock);
    if (w->mark < end && w->failed == MFB_OK)
        w->waits++;
    while (w->mark < end && w->failed == MFB_OK) {
        if (end < w->wanted)
            w->wanted = end;
        if (idle == NULL) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += idle_ms / 1000;
        until.tv_nsec += (long)(idle_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT) {
            /* the writer is slow or stalled: the waiter's own work meanwhile
             * (the restore makes its staging record durable), unlocked */
            pthread_mutex_unlock(&w->lock);
            idle(ctx);
            pthread_mutex_lock(&w->lock);
        }
    }
    mfb_status st = w->mark >= end ? MFB_OK : w->failed;
    pthread_mutex_unlock(&w->lock);
    if (st != MFB_OK)
        mfb_error_set(err, st, "the download stopped before byte %llu", (unsigned long long)end);
    return st;
}
