/*
 * silence.h - the decision behind the silence alarms (docs/monitoring.md),
 * shared by the client's daemon (daemon/expect.h) and the receiver
 * (server/expect.h): given how often a good backup is expected, when the
 * last one was, and whether the alarm fires, what to send now. Pure, so
 * the unit tests drive it without a clock.
 */
#ifndef MFB_ALERT_SILENCE_H
#define MFB_ALERT_SILENCE_H

#include <stdbool.h>
#include <stdint.h>

/* How often a firing alarm is sent again: a quarter of the expectation,
 * at least a minute and at most an hour apart. */
#define SILENCE_REPEAT_MIN_MS 60000
#define SILENCE_REPEAT_MAX_MS 3600000
/* How often a checker looks: a quarter of the shortest expectation,
 * within these bounds. */
#define SILENCE_POLL_MAX_MS 10000
#define SILENCE_POLL_MIN_MS 500

enum silence_action {
    SILENCE_NOTHING, /* on time, or firing and sent recently */
    SILENCE_FIRE,    /* overdue now: send the alarm */
    SILENCE_REPEAT,  /* still overdue: send it again */
    SILENCE_RECOVER, /* was firing, a good one arrived: send the recovery */
};

/* The decision for an expectation of every_ms, when the last good one
 * ended at last_ms (0: never; then the count starts at base_ms, when the
 * expectation or the instance was made), at now_ms, given whether its
 * alarm fires and when it was last sent. All times in the same clock. */
enum silence_action silence_decide(uint64_t every_ms, int64_t last_ms, int64_t base_ms,
                                   int64_t now_ms, bool firing, int64_t last_sent_ms);

/* The repeat interval of an expectation (see SILENCE_REPEAT_*). */
uint64_t silence_repeat_ms(uint64_t every_ms);

/* The checker's next sleep, given the current one and an expectation. */
uint64_t silence_poll_ms(uint64_t every_ms, uint64_t current);

#endif
