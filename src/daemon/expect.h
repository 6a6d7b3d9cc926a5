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
 * the database (store/expect_alarms.h); the decision is alert/silence.h,
 * which the receiver's checker shares.
 */
#ifndef MFB_DAEMON_EXPECT_H
#define MFB_DAEMON_EXPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "alert/silence.h"
#include "common/status.h"

struct daemon;

/* Starts and stops the checker thread of d (daemon_start and daemon_stop
 * call these). */
mfb_status expect_start(struct daemon *d, struct mfb_error *err);
void expect_stop(struct daemon *d);

#endif
