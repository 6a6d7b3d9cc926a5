/*
 * scheduler.h - the daemon's scheduler (docs/daemon.md, "Schedules"): a
 * thread that turns the stored schedules (store/schedules.h) into queue
 * entries at their cron run times (sched/cron.h), and the pure decision it
 * takes for one schedule, which the unit tests drive without a clock.
 *
 * A schedule's start point is the time it last fired: kept in memory while
 * the daemon runs, and at start read back from the queue (the last entry
 * the schedule queued) or, when it never fired, the schedule's created or
 * updated time, so a new or changed schedule has missed nothing.
 */
#ifndef MFB_DAEMON_SCHEDULER_H
#define MFB_DAEMON_SCHEDULER_H

#include <stdint.h>

#include "common/status.h"
#include "sched/cron.h"
#include "store/schedules.h"

/* A run time counts as on time (fired as schedule:NAME) while it is less
 * than this many seconds old; older ones were missed (the daemon was down
 * or the clock jumped forward) and follow the catch-up policy. */
#define SCHED_GRACE_S 60

/* The longest the scheduler sleeps, so new and changed schedules are
 * noticed without a signal. */
#define SCHED_POLL_MAX_MS 30000

enum sched_action {
    SCHED_NOTHING,  /* no run time has come */
    SCHED_FIRE,     /* a run time has come: queue schedule:NAME */
    SCHED_CATCH_UP, /* run times were missed: queue ONE catch-up entry */
};

struct sched_decision {
    enum sched_action action;
    int64_t last; /* the new start point (Unix seconds) */
    int64_t next; /* the first run time after last: when to look again */
};

/* What to do for a schedule of expression expr in zone with catch-up policy
 * when it last fired at `last` and it is now `now` (Unix seconds). Several
 * missed run times give one catch-up entry with `once` and nothing with
 * `skip`; with both, a run time that is due on time is not lost. A last
 * time in the future (the clock went back) counts as now. */
mfb_status sched_decide(const struct cron_expr *expr, const struct tz_zone *zone,
                        enum config_catch_up policy, int64_t last, int64_t now,
                        struct sched_decision *out, struct mfb_error *err);

struct daemon;

/* Starts and stops the scheduler thread of d (daemon_start and daemon_stop
 * call these). */
mfb_status scheduler_start(struct daemon *d, struct mfb_error *err);
void scheduler_stop(struct daemon *d);

/* Makes the scheduler re-read the schedules at once (for SIGHUP). */
void scheduler_reload(struct daemon *d);

#endif
