/*
 * cancel.h - cancellation: the token that transfers wait on, and the plain
 * flag that polling code reads.
 *
 * A signal thread, a UI or a failing worker asks for cancellation from any
 * thread; the transfer notices it between requests, in curl's progress
 * callback (which aborts a request in flight) and in its waits, which are
 * cut short. A token may have a parent: cancelling the parent (the user's
 * Ctrl-C) cancels every child, while a child (one upload that failed) can
 * be cancelled alone. Waits poll the parent every 100 ms and wake at once
 * on their own token.
 */
#ifndef MFB_COMMON_CANCEL_H
#define MFB_COMMON_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cancel_token {
    atomic_bool requested;
    const struct cancel_token *parent; /* may be NULL */
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

void cancel_token_init(struct cancel_token *c, const struct cancel_token *parent);
void cancel_token_destroy(struct cancel_token *c);

/* Async-signal-unsafe (it takes a lock): call it from a signal-handling
 * thread, not from a handler. */
void cancel_token_request(struct cancel_token *c);

/* True once c or an ancestor was cancelled. NULL is never cancelled. */
bool cancel_token_requested(const struct cancel_token *c);

/* Sleeps ms milliseconds; returns false early when cancelled. c may be NULL. */
bool cancel_token_sleep(struct cancel_token *c, uint64_t ms);

/* The plain cancel flag: an optional `const atomic_bool *` owned by the
 * caller (set from a signal-handling thread or another thread), for code
 * that polls rather than waits on a token (mysql/, the job's steps). NULL
 * is never raised. */
bool cancel_flag_raised(const atomic_bool *flag);

#endif
