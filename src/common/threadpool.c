/*
 * threadpool.c - fixed worker threads over a bounded queue (see threadpool.h).
 */
#include "common/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct task {
    threadpool_fn fn;
    void *arg;
};

struct threadpool {
    struct queue tasks;
    pthread_t *workers;
    size_t started;
};

/* Worker thread: runs tasks until the queue is closed and drained. */
static void *worker_main(void *arg)
{
    struct threadpool *pool = arg;
    void *item;
    while (queue_pop(&pool->tasks, &item)) {
        struct task *task = item;
        task->fn(task->arg);
        free(task);
    }
    return NULL;
}

mfb_status threadpool_create(size_t threads, size_t queue_capacity, struct threadpool **out,
                             struct mfb_error *err)
{
    *out = NULL;
    if (threads == 0)
        threads = 1;
    struct threadpool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL || queue_init(&pool->tasks, queue_capacity) != 0) {
        free(pool);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "cannot allocate a thread pool");
    }
    pool->workers = calloc(threads, sizeof(pthread_t));
    if (pool->workers == NULL) {
        threadpool_destroy(pool);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "cannot allocate a thread pool");
    }
    for (size_t i = 0; i < threads; i++) {
        int rc = pthread_create(&pool->workers[i], NULL, worker_main, pool);
        if (rc != 0) {
            threadpool_destroy(pool);
            return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start worker thread");
        }
        pool->started++;
    }
    *out = pool;
    return MFB_OK;
}

mfb_status threadpool_submit(struct threadpool *pool, threadpool_fn fn, void *arg)
{
    struct task *task = malloc(sizeof(*task));
    if (task == NULL)
        return MFB_ERR_NO_MEMORY;
    task->fn = fn;
    task->arg = arg;
    if (!queue_push(&pool->tasks, task)) {
        free(task);
        return MFB_ERR_CANCELLED;
    }
    return MFB_OK;
}

void threadpool_destroy(struct threadpool *pool)
{
    if (pool == NULL)
        return;
    queue_close(&pool->tasks);
    for (size_t i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    queue_destroy(&pool->tasks);
    free(pool);
}

size_t threadpool_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}
