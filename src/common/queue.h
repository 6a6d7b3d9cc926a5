/*
 * queue.h - a bounded, blocking, multi-producer multi-consumer queue of
 * pointers.
 *
 * The bound is what keeps memory flat in mfb's pipelines: a producer that
 * runs ahead of its consumers blocks in queue_push instead of allocating.
 * Closing the queue wakes everyone: pushes fail, pops drain what is left
 * and then report the end.
 */
#ifndef MFB_COMMON_QUEUE_H
#define MFB_COMMON_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    void **items;
    size_t capacity;
    size_t head;
    size_t count;
    bool closed;
};

/* Initialises a queue holding at most capacity items (>= 1). Allocates. */
int queue_init(struct queue *q, size_t capacity);
void queue_destroy(struct queue *q);

/* Blocks while full. Returns false (and does not take item) once closed. */
bool queue_push(struct queue *q, void *item);

/* Blocks while empty. Returns false when the queue is closed and drained. */
bool queue_pop(struct queue *q, void **item);

/* No more pushes; waiting threads wake up. Idempotent. */
void queue_close(struct queue *q);

#endif
