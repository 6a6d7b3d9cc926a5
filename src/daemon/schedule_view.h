/*
 * schedule_view.h - a stored schedule as people and clients see it
 * (docs/schedules.md): its next run times in its own zone, and its JSON,
 * the same for `mfb schedule list --json` and the daemon's
 * GET /v1/schedules, so that the two never disagree.
 *
 * The next run times are ISO 8601 in the schedule's zone with the UTC
 * offset in effect then ("2026-03-29T03:00:00+02:00"), so a
 * daylight-saving change is visible.
 */
#ifndef MFB_DAEMON_SCHEDULE_VIEW_H
#define MFB_DAEMON_SCHEDULE_VIEW_H

#include <jansson.h>
#include <stdint.h>

#include "store/schedules.h"

/* How many next run times are shown. */
#define SCHEDULE_VIEW_RUNS 3

/* The next run times after now (Unix seconds), or the reason there are
 * none (a zone removed from the system since the schedule was saved). */
struct schedule_next_runs {
    int count;
    int64_t at[SCHEDULE_VIEW_RUNS]; /* Unix seconds */
    char when[SCHEDULE_VIEW_RUNS][48];
    char problem[256];
};

void schedule_view_next_runs(const struct config_schedule *s, int64_t now,
                             struct schedule_next_runs *out);

/* {"name", "instance", "target", "kind", "cron", "tz", "catch_up",
 * "jitter_ms", "paused", "next_runs": [..], "last_run": {"job_id",
 * "status", "started"} or null, "created", "updated"}. New reference or
 * NULL. */
json_t *schedule_view_json(const struct config_schedule *s, int64_t now);

#endif
