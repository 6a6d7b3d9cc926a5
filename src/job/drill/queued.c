/*
 * queued.c - a restore drill as the daemon's queue runs it (docs/drill.md,
 * docs/daemon.md): the instance and target by name, the latest backup, the
 * worker's observers and cancel token. `mfb drill` builds the same options
 * from its command line instead.
 */
#include "job/drill/drill.h"

#include <string.h>

#include "transfer/https.h"

mfb_status drill_run_queued(const struct drill_queued *q, struct drill_result *result,
                            struct mfb_error *err)
{
    memset(result, 0, sizeof(*result));
    struct job_instance inst = {0};
    struct job_target target = {0};
    struct job_progress_hub hub;
    job_progress_init(&hub, q->observers, q->observer_count, q->instance);
    struct transfer_settings settings = TRANSFER_SETTINGS_DEFAULT;
    mfb_status st = job_instance_load(q->db, q->instance, &inst, err);
    if (st == MFB_OK)
        st = job_target_load(q->db, q->target, &settings, &target, err);
    if (st == MFB_OK) {
        struct drill_options o = {.db = q->db,
                                  .instance = &inst,
                                  .target = &target,
                                  .backup = "latest",
                                  .cancel = q->cancel,
                                  .hub = &hub,
                                  .no_alerts = q->no_alerts};
        st = drill_run(&o, result, err);
    }
    job_target_free(&target);
    job_instance_free(&inst);
    job_progress_destroy(&hub);
    return st;
}
