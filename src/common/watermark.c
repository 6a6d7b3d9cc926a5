/*
 * watermark.c - a byte mark one thread raises and others wait for (see
 * watermark.h).
 */
#include "common/watermark.h"

void watermark_init(struct watermark *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
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
    pthread_mutex_lock(&w->lock);
    if (w->mark < end && w->failed == MFB_OK)
        w->waits++;
    while (w->mark < end && w->failed == MFB_OK) {
        if (end < w->wanted)
            w->wanted = end;
        pthread_cond_wait(&w->cond, &w->lock);
    }
    mfb_status st = w->mark >= end ? MFB_OK : w->failed;
    pthread_mutex_unlock(&w->lock);
    if (st != MFB_OK)
        mfb_error_set(err, st, "the download stopped before byte %llu", (unsigned long long)end);
    return st;
}
