/*
 * job_stats.h - figures the daemon's GET /metrics and its expectation
 * checks (docs/monitoring.md) read from the client's database: per
 * configured instance, its last good backup, its last finished backup,
 * counts of finished backups by status and their upload retries, and the
 * queue's counts. Computed on each call by a few aggregate queries; the job
 * log is indexed by instance and start, so a scrape costs milliseconds.
 *
 * "Backup" here means a job of kind backup or resume (a resume that ends ok
 * is what makes a pending backup good); a drill is a job of kind drill.
 * Counts come from the job log, so log retention lowers them
 * (docs/logs.md): docs/monitoring.md says how to read them.
 * Times are Unix milliseconds; 0 means none.
 */
#ifndef MFB_STORE_JOB_STATS_H
#define MFB_STORE_JOB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"
#include "store/job_log.h"

struct job_stats {
    char instance[CONFIG_NAME_BUF];
    int64_t last_ok_ms;       /* when the last good backup ended */
    uint64_t last_ok_bytes;   /* its Data.zip's size */
    int64_t last_drill_ok_ms; /* when the last good drill ended */
    bool has_last;            /* a backup has finished: the last_* below are valid */
    enum job_status last_status;
    int64_t last_started_ms, last_ended_ms;
    int64_t last_downtime_ms;            /* -1: the server was not stopped */
    uint64_t finished[JOB_STATUS_COUNT]; /* finished backups by status */
    uint64_t retries;                    /* chunk uploads retried, all jobs */
};

/* One entry per configured instance, by name. *list is allocated (free()). */
mfb_status job_stats_instances(struct config_db *db, struct job_stats **list, size_t *count,
                               struct mfb_error *err);

struct job_queue_stats {
    uint64_t queued, running; /* queue entries */
    uint64_t pending_upload;  /* jobs whose Data.zip waits to be resumed */
};

mfb_status job_stats_queue(struct config_db *db, struct job_queue_stats *out,
                           struct mfb_error *err);

#endif
