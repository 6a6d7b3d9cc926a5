/*
 * backup.h - one managed cold backup of an instance: preflight, pre-flush,
 * stop, archive and upload, restart, verify, finish (docs/backup.md).
 *
 * backup_run is the orchestration and nothing else: it calls the mysql
 * module to talk to and stop and start the server, the archive writer to
 * make Data.zip, the uploader to send it, snapshot.c to copy files, and
 * records everything through journal.c. It never touches a byte of data.
 *
 * It runs on the caller's thread (the CLI's main thread, later a daemon
 * worker) and is cancelled through a cancel_token (common/cancel.h) from any other
 * thread. Cancelling takes the same safe path as a failure (6.5): once the
 * server was stopped it is always started again and verified, and neither
 * the start nor the verification can be cancelled, so a second Ctrl-C
 * cannot leave the database down.
 */
#ifndef MFB_JOB_BACKUP_BACKUP_H
#define MFB_JOB_BACKUP_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "job/backup/phase.h"
#include "job/progress.h"
#include "store/job_log.h"
#include "transfer/https.h"

/* The test-only environment variable that changes one byte of Data.zip on
 * the spool (value: its offset) after the archive writer wrote and hashed
 * it and before the uploader may read it: a disk going bad between the
 * write and the upload, which the upload must refuse (docs/testing.md).
 * Never set it in production. */
#define BACKUP_TEST_FLIP_ENV "MFB_TEST_SPOOL_FLIP"

struct backup_options {
    struct config_db *db;
    const char *instance;
    const char *target; /* NULL: the only target */
    const struct job_observer *observers;
    size_t observer_count;
    struct cancel_token *cancel;              /* may be NULL */
    const struct transfer_settings *transfer; /* NULL: TRANSFER_SETTINGS_DEFAULT */
    unsigned threads;                         /* compression threads; 0: the cores */
    int level;                                /* deflate level; -1: the archive default */
    bool no_alerts;                           /* do not send alerts (tests, `--no-alerts`) */
};

struct backup_result {
    int64_t job_id;
    enum job_status status;
    atomic_int phase;    /* enum backup_phase, as the job moves: read it with backup_result_phase */
    bool server_down;    /* the server did not come back: see recovery */
    char *recovery;      /* manual recovery steps when server_down; allocated */
    int64_t downtime_ms; /* -1 when the server was not stopped */
    uint64_t bytes_in;
    uint64_t archive_bytes;
    char backup_name[CONFIG_NAME_BUF];
    char backup_id[CONFIG_ID_BUF];
    char upload_id[CONFIG_ID_BUF];
    char data_zip[4096]; /* kept for a pending upload, else "" */
};

/* Runs one backup. MFB_OK only when the backup is stored on the receiver
 * and the server answers; otherwise err holds the job's first error and res
 * says what state everything is in. res is always filled (job_id 0 when
 * the job could not even be recorded). Release res with
 * backup_result_free. */
mfb_status backup_run(const struct backup_options *opt, struct backup_result *res,
                      struct mfb_error *err);

void backup_result_free(struct backup_result *res);

/* The phase the job is in (job/backup/phase.h; DONE once backup_run has
 * returned); safe to call from another thread while backup_run runs. */
enum backup_phase backup_result_phase(const struct backup_result *res);

#endif
