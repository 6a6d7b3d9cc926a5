/*
 * watermark.h - how far a file being written has got, for the threads that
 * read it behind the writer.
 *
 * The restore's download thread writes the backup into its .part file and
 * raises the mark after each write; the extraction threads read the same
 * file and wait on the mark before each read, so they follow the download
 * byte for byte (docs/restore.md, "Extracting while downloading"). The
 * writer may also lower it (the receiver ignored a Range and the file
 * starts over), and ends it either way: done (every byte is there) or
 * failed with its status, which every waiter then returns.
 */
#ifndef MFB_COMMON_WATERMARK_H
#define MFB_COMMON_WATERMARK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

struct watermark {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t mark;     /* bytes [0, mark) are written */
    mfb_status failed; /* MFB_OK while the writer goes on */
    uint64_t waits;    /* how often a reader had to wait (for the log) */
    uint64_t wanted;   /* the lowest end a reader waits for: the writer wakes
                          them only once the mark reaches it, not on every
                          write of a few KB */
};

void watermark_init(struct watermark *w);
void watermark_destroy(struct watermark *w);

/* The writer: bytes [0, mark) are written now. */
void watermark_set(struct watermark *w, uint64_t mark);

/* The writer stopped: waiters get status (not MFB_OK) and a message saying
 * the download stopped. */
void watermark_fail(struct watermark *w, mfb_status status);

/* Blocks until [0, end) is written, or the writer failed. */
mfb_status watermark_wait(struct watermark *w, uint64_t end, struct mfb_error *err);

/* The same, calling idle(ctx) (without the lock held) each time idle_ms
 * pass with the mark still short: a reader that has caught up with the
 * writer does its deferred work then, not while the bytes flow. idle NULL:
 * watermark_wait. */
mfb_status watermark_wait_idle(struct watermark *w, uint64_t end, unsigned idle_ms,
                               void (*idle)(void *ctx), void *ctx, struct mfb_error *err);

#endif
