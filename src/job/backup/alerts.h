/*
 * alerts.h - the alert a backup job sends at its end, worded once for the
 * job itself (backup.c) and for its guardian when the job's process died
 * (guardian.c), so the two never tell the same outcome differently
 * (docs/alerts.md, "The message").
 */
#ifndef MFB_JOB_BACKUP_ALERTS_H
#define MFB_JOB_BACKUP_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/config_db.h"
#include "store/job_log.h"

/* The facts of the job's end; strings are borrowed, optional ones NULL. */
struct backup_alert {
    const char *instance;
    int64_t job_id;
    enum job_status status; /* ok, failed, pending_upload, cancelled or critical */
    const char *error;
    const char *hint;
    const char *datadir;
    const char *backup_name;
    const char *upload_id;
    bool stopped;         /* the stop command was issued (and, unless critical, it runs again) */
    int64_t downtime_ms;  /* -1: not stopped, or not known */
    const char *data_zip; /* pending_upload: where Data.zip is kept */
    const char *recovery; /* critical: the manual recovery steps (job/backup/recovery.h) */
};

/* Words the alert (severity, event, subject, text) and sends it to the
 * channels (alert_dispatch: never fails, problems are logged). */
void backup_alert_send(struct config_db *db, const struct backup_alert *f);

#endif
