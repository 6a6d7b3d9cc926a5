/*
 * clock.h - the one monotonic clock of mfb, deadlines, cancellable sleeps,
 * and wall-clock milliseconds for records.
 *
 * Every duration mfb reports (the downtime above all) and every wait it
 * bounds (a command, a stop, a pre-flush, a ping, a retry pause) is measured
 * on CLOCK_MONOTONIC through clock_now_ms, so a wall-clock jump can neither
 * cut a wait short nor stretch a figure. Wall-clock time (clock_wall_ms) is
 * only for timestamps that people read or that are stored.
 *
 * clock_sleep_ms takes an optional cancel flag (see common/cancel.h) and
 * wakes at least every CLOCK_CANCEL_POLL_MS to look at it, which bounds how
 * late a cancel is noticed.
 */
#ifndef MFB_COMMON_CLOCK_H
#define MFB_COMMON_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CLOCK_CANCEL_POLL_MS 20

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin). */
uint64_t clock_now_ms(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now, as a timespec: the
 * deadline of a pthread_cond_timedwait on a condition variable created with
 * pthread_condattr_setclock(CLOCK_MONOTONIC). */
struct timespec clock_deadline_ts(uint64_t ms);

/* Milliseconds left until deadline (0 once it has passed). */
uint64_t clock_left_ms(uint64_t deadline_ms);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): timestamps only. */
int64_t clock_wall_ms(void);

/* Sleeps ms milliseconds, or less when cancel is set meanwhile. Returns false
 * when it was cancelled. */
bool clock_sleep_ms(uint64_t ms, const atomic_bool *cancel);

#endif
