/*
 * drill.h - the restore drill (docs/drill.md): proves a backup restorable
 * by restoring it beside the real server and asking a server to read it.
 *
 *   1. preflight: take the instance's job lock (a drill never runs beside
 *      a backup or a restore of the instance), remove what a killed drill
 *      left behind, find the backup on the receiver, choose the server
 *      program (same program and release as the instance: scratch.h),
 *      download the backup into the spool (resumable, SHA-256 checked:
 *      restore/fetch.h) and test the whole ZIP.
 *   2. archive: extract every root into the scratch directory, with the
 *      paths that pointed outside the datadir (redo log, undo, tablespaces
 *      with DATA DIRECTORY) remapped into it.
 *   3. start: a throwaway server on the scratch copy (scratch.h): no
 *      network, its own socket, pid file and my.cnf, no binary log, no
 *      event scheduler, a small buffer pool.
 *   4. verify: CHECK TABLE on every table, the tables and databases
 *      counted against the backup's manifest, each table's row count.
 *   5. stop: the throwaway server goes (killed if it will not), and the
 *      scratch directory and the download are removed whatever happened.
 *   6. finish: the verdict is told to the receiver (POST
 *      /v1/backups/{id}/verifications); a backup found not restorable is
 *      a critical alert (drill_failed), a drill that could not decide an
 *      error alert (drill_error).
 *
 * The instance's own server is only ever asked `SELECT @@version,
 * @@basedir, @@pid_file`; it is never stopped, and no file of its is opened.
 * The job is recorded in the job log with kind "drill".
 */
#ifndef MFB_JOB_DRILL_DRILL_H
#define MFB_JOB_DRILL_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "job/endpoints.h"
#include "job/progress.h"
#include "transfer/observer.h"
#include "transfer/receiver_api.h"

struct drill_options {
    struct config_db *db;
    const struct job_instance *instance;
    const struct job_target *target;
    const char *backup;     /* id, name, or "latest" */
    const char *scratch;    /* NULL: SPOOL/drill-<instance> */
    const char *server_bin; /* NULL: the instance's own server program */
    struct cancel_token *cancel;
    struct job_progress_hub *hub; /* may be NULL */
    const struct transfer_observer *observers;
    size_t observer_count;
    bool no_alerts;
    void (*report)(void *ctx, const char *line); /* one line per step; may be NULL */
    void *report_ctx;
};

enum drill_verdict {
    DRILL_UNDECIDED, /* the drill itself failed (network, version, cancel): nothing proven */
    DRILL_PASSED,
    DRILL_FAILED, /* the backup is not restorable */
};

struct drill_result {
    struct backup_info backup;
    enum drill_verdict verdict;
    int64_t job_id;
    uint64_t tables_checked;
    uint64_t tables_failed;
    uint64_t databases;
    uint64_t rows; /* summed over the tables */
    bool receiver_told;
};

/* Runs the drill. MFB_OK only when the backup passed; a backup found not
 * restorable is MFB_ERR_CORRUPT with the table and the server's message. */
mfb_status drill_run(const struct drill_options *o, struct drill_result *result,
                     struct mfb_error *err);

const char *drill_verdict_str(enum drill_verdict v);

/* A drill of an instance's latest backup as the daemon's queue runs it
 * (queued.c): the records by name, progress to the worker's observers. */
struct drill_queued {
    struct config_db *db;
    const char *instance;
    const char *target; /* NULL: the only one */
    const struct job_observer *observers;
    size_t observer_count;
    struct cancel_token *cancel;
    bool no_alerts;
};

mfb_status drill_run_queued(const struct drill_queued *q, struct drill_result *result,
                            struct mfb_error *err);

#endif
