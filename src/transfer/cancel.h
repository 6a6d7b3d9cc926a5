/*
 * cancel.h - a cancellation token for transfers.
 *
 * A signal thread, a UI or a failing worker asks for cancellation from any
 * thread; the transfer notices it between requests, in curl's progress
 * callback (which aborts a request in flight) and in its waits, which are
 * cut short. A token may have a parent: cancelling the parent (the user's
 * Ctrl-C) cancels every child, while a child (one upload that failed) can
 * be cancelled alone. Waits poll the parent every 100 ms and wake at once
 * on their own token.
 */
#ifndef MFB_TRANSFER_CANCEL_H
#define MFB_TRANSFER_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct transfer_cancel {
    atomic_bool requested;
    const struct transfer_cancel *parent; /* may be NULL */
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

void transfer_cancel_init(struct transfer_cancel *c, const struct transfer_cancel *parent);
void transfer_cancel_destroy(struct transfer_cancel *c);

/* Async-signal-unsafe (it takes a lock): call it from a signal-handling
 * thread, not from a handler. */
void transfer_cancel_request(struct transfer_cancel *c);

/* True once c or an ancestor was cancelled. NULL is never cancelled. */
bool transfer_cancel_requested(const struct transfer_cancel *c);

/* Sleeps ms milliseconds; returns false early when cancelled. c may be NULL. */
bool transfer_cancel_sleep(struct transfer_cancel *c, uint64_t ms);

#endif
