/*
 * overview.h - what the daemon's monitoring clients see of the
 * configuration (docs/daemon.md, GET /v1/instances and GET /v1/schedules):
 * each instance with what the daemon does with it now, its last job and
 * its next scheduled run; each schedule as `mfb schedule list --json`
 * shows it (daemon/schedule_view.h). Built from the store (config
 * records, schedules, the job log, the queue) and, for a running entry's
 * step, the daemon's copy of its progress under the daemon's lock.
 */
#ifndef MFB_DAEMON_OVERVIEW_H
#define MFB_DAEMON_OVERVIEW_H

#include <jansson.h>

#include "common/status.h"
#include "daemon/daemon.h"

/* {"instances": [{"name", "state": "idle"|"queued"|"running", "queue_id",
 * "step", "last_job": {..} or null, "next_run": {..} or null}, ..]}.
 * New reference, or NULL and err. */
json_t *overview_instances_json(struct daemon *d, struct mfb_error *err);

/* {"schedules": [schedule_view_json, ..]}. New reference, or NULL and err. */
json_t *overview_schedules_json(struct daemon *d, struct mfb_error *err);

/* Pauses or resumes schedule name and has the scheduler re-read the
 * schedules at once; *out is its JSON as it is now. MFB_ERR_NOT_FOUND
 * for an unknown name. */
mfb_status overview_schedule_pause(struct daemon *d, const char *name, bool paused, json_t **out,
                                   struct mfb_error *err);

#endif
