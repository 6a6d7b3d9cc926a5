/*
 * clock.h - monotonic time, deadlines and cancellable sleeps for the
 * mysql/ module.
 *
 * Every wait in mysql/ (a command, a stop, a pre-flush, a ping) is bounded by
 * a deadline on CLOCK_MONOTONIC, so a wall-clock jump can neither cut a wait
 * short nor stretch it. Cancellation is an optional `const atomic_bool *`
 * owned by the caller (the job engine sets it from a signal handler or
 * another thread); a NULL pointer means "not cancellable". Sleeps wake at
 * least every MYSQL_CANCEL_POLL_MS to look at it, which bounds how late a
 * cancel is noticed.
 */
#ifndef MFB_MYSQL_CLOCK_H
#define MFB_MYSQL_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MYSQL_CANCEL_POLL_MS 20

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin). */
uint64_t mysql_clock_ms(void);

/* Milliseconds left until deadline (0 once it has passed). */
uint64_t mysql_clock_left(uint64_t deadline_ms);

/* True when cancel is non-NULL and set. */
bool mysql_cancelled(const atomic_bool *cancel);

/* Sleeps ms milliseconds, or less when cancel is set meanwhile. Returns false
 * when it was cancelled. */
bool mysql_sleep_ms(uint64_t ms, const atomic_bool *cancel);

#endif
