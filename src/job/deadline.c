/*
 * deadline.c - step timeouts (see deadline.h).
 */
#include "job/deadline.h"

#include <string.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "transfer/backoff.h"

/* The watcher: one per running step. */
static void *watch(void *arg)
{
    struct step_deadline *d = arg;
    for (;;) {
        if (cancel_token_requested(&d->quit))
            break;
        if (cancel_token_requested(d->parent)) {
            cancel_token_request(&d->token);
            break;
        }
        uint64_t now = clock_now_ms();
        if (now >= d->deadline_ms) {
            atomic_store(&d->expired, true);
            cancel_token_request(&d->token);
            break;
        }
        uint64_t left = d->deadline_ms - now;
        cancel_token_sleep(&d->quit, left < STEP_DEADLINE_POLL_MS ? left : STEP_DEADLINE_POLL_MS);
    }
    return NULL;
}

mfb_status step_deadline_start(struct step_deadline *d, const struct cancel_token *parent,
                               uint64_t timeout_ms, struct mfb_error *err)
{
    memset(d, 0, sizeof(*d));
    cancel_token_init(&d->token, parent);
    cancel_token_init(&d->quit, NULL);
    atomic_init(&d->expired, false);
    d->parent = parent;
    uint64_t now = clock_now_ms();
    d->deadline_ms = timeout_ms > UINT64_MAX - now ? UINT64_MAX : now + timeout_ms;
    int rc = pthread_create(&d->thread, NULL, watch, d);
    if (rc != 0) {
        cancel_token_destroy(&d->token);
        cancel_token_destroy(&d->quit);
        memset(d, 0, sizeof(*d));
        return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start a thread");
    }
    d->started = true;
    return MFB_OK;
}

void step_deadline_stop(struct step_deadline *d)
{
    if (!d->started)
        return;
    cancel_token_request(&d->quit);
    pthread_join(d->thread, NULL);
    cancel_token_destroy(&d->token);
    cancel_token_destroy(&d->quit);
    d->started = false;
}

bool step_deadline_expired(struct step_deadline *d)
{
    return atomic_load(&d->expired);
}

const atomic_bool *step_deadline_flag(const struct step_deadline *d)
{
    return &d->token.requested;
}
