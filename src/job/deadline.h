/*
 * deadline.h - the timeout of one step of a job (requirement 9.5), merged
 * with the job's own cancellation.
 *
 * Some steps can only be stopped, not given a timeout: the archive writer
 * and the uploader watch one cancellation flag. A step_deadline gives such a
 * step a token of its own (a child of the job's token) and a small watcher
 * thread that cancels it when the deadline passes or when the job is
 * cancelled (a child token is not set by its parent, and the archive writer
 * and the mysql module read a bare atomic_bool, so the watcher propagates
 * the parent's state by hand, within STEP_DEADLINE_POLL_MS). Afterwards
 * step_deadline_expired tells a timeout from a cancel, so the job can
 * report "archive did not finish within 6h" rather than "cancelled".
 */
#ifndef MFB_JOB_DEADLINE_H
#define MFB_JOB_DEADLINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/status.h"

#define STEP_DEADLINE_POLL_MS 50

struct step_deadline {
    struct cancel_token token; /* what the step watches */
    struct cancel_token quit;  /* ends the watcher */
    const struct cancel_token *parent;
    uint64_t deadline_ms; /* monotonic, clock_now_ms() */
    atomic_bool expired;
    pthread_t thread;
    bool started;
};

/* Starts the watcher: token is cancelled after timeout_ms, or as soon as
 * parent (may be NULL) is. */
mfb_status step_deadline_start(struct step_deadline *d, const struct cancel_token *parent,
                               uint64_t timeout_ms, struct mfb_error *err);

/* Stops the watcher and releases the tokens. Safe on a zeroed struct. */
void step_deadline_stop(struct step_deadline *d);

/* True when the deadline (not the parent) cancelled the token. */
bool step_deadline_expired(struct step_deadline *d);

/* The flag the step watches (the token's). */
const atomic_bool *step_deadline_flag(const struct step_deadline *d);

#endif
