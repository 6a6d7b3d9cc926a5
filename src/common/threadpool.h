/*
 * threadpool.h - a fixed set of worker threads fed by a bounded queue.
 *
 * threadpool_submit blocks when the queue is full, so a fast producer can
 * never queue more work than the bound. Tasks run in submission order of
 * pickup but finish in any order; callers that need ordered results (the
 * ZIP writer) attach a sequence number and reorder on their side.
 */
#ifndef MFB_COMMON_THREADPOOL_H
#define MFB_COMMON_THREADPOOL_H

#include <stddef.h>

#include "common/queue.h"
#include "common/status.h"

typedef void (*threadpool_fn)(void *arg);

struct threadpool;

/* Starts `threads` workers (>= 1) and a queue of `queue_capacity` tasks.
 * Allocates; release with threadpool_destroy. */
mfb_status threadpool_create(size_t threads, size_t queue_capacity, struct threadpool **pool,
                             struct mfb_error *err);

/* Queues fn(arg), blocking while the queue is full. Fails only after
 * threadpool_destroy has begun. */
mfb_status threadpool_submit(struct threadpool *pool, threadpool_fn fn, void *arg);

/* Lets queued tasks finish, joins the workers and frees the pool. NULL is a no-op. */
void threadpool_destroy(struct threadpool *pool);

/* The number of online processors, at least 1. */
size_t threadpool_default_threads(void);

#endif
