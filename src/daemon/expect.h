/*
 * expect.h - the daemon's silence alarms (docs/monitoring.md): a thread
 * that checks each instance's expectations (`mfb instance set NAME
 * --expect-every D [--expect-drill-every D]`) against the job log and
 * raises a critical alert through the configured channels when the last
 * good backup (drill) is older than expected, repeats it at a bounded rate
 * while it lasts, and sends a recovery notice when a good one arrives.
 *
 * A job that fails already alerts at its end (job/backup/alerts.c); this
 * catches what no job reports: a paused or deleted schedule, a stopped
 * daemon's queue, a job that never starts. The alarm's state is kept in
 * the database (store/expect_alarms.h).
 */
#ifndef MFB_DAEMON_EXPECT_H
#define MFB_DAEMON_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

/* How often a firing alarm is sent again: a quarter of the expectation,
 * at least a minute and at most an hour apart. */
#define EXPECT_REPEAT_MIN_MS 60000
#define EXPECT_REPEAT_MAX_MS 3600000
/* The longest the checker sleeps between two looks. */
#define EXPECT_POLL_MAX_MS 30000
#define EXPECT_POLL_MIN_MS 500

enum expect_action {
    EXPECT_NOTHING, /* on time, or firing and sent recently */
    EXPECT_FIRE,    /* overdue now: send the alarm */
    EXPECT_REPEAT,  /* still overdue: send it again */
    EXPECT_RECOVER, /* was firing, a good one arrived: send the recovery */
};

/* The decision for one expectation of every_ms, when the last good one
 * ended at last_ms (0: never; then the count starts at base_ms, when the
 * instance was added), at now_ms, given whether its alarm fires and when
 * it was last sent. */
enum expect_action expect_decide(uint64_t every_ms, int64_t last_ms, int64_t base_ms,
                                 int64_t now_ms, bool firing, int64_t last_sent_ms);

/* The repeat interval of an expectation (see EXPECT_REPEAT_*). */
uint64_t expect_repeat_ms(uint64_t every_ms);

struct daemon;

/* Starts and stops the checker thread of d (daemon_start and daemon_stop
 * call these). */
mfb_status expect_start(struct daemon *d, struct mfb_error *err);
void expect_stop(struct daemon *d);

#endif
