/*
 * resume.h - `mfb resume`: finish the uploads of backups whose upload
 * failed after Data.zip was complete (jobs in status pending_upload;
 * requirements 5, 8.3, 8.6, 9.3).
 *
 * The Data.zip of job N waits in SPOOL/job-N/ (spool.h) with its seal
 * record (the digests of what was written), and its resume token is the
 * upload id in the job's row. A resume asks the receiver which chunks it
 * holds and runs the flow `mfb push --resume` runs too
 * (transfer/upload_resume.h): every chunk read is checked against the
 * record before it is sent or compared with the receiver's copy, only what
 * is missing or different is sent, the archive's structure is tested, and
 * the upload is completed so the receiver checks the whole file's SHA-256.
 * If the receiver no longer knows the upload (it expired), a new one is
 * opened under the same name and the whole file is sent.
 *
 * A kept file that is no longer what was written (or, for a job kept
 * without a record, fails a test of the whole archive) is refused: the
 * original job becomes failed for good, and its spool directory is kept
 * for inspection (docs/backup.md).
 *
 * Each attempt is bounded by the transfer settings; between attempts the
 * resume waits with exponential backoff (transfer/backoff.h), so `mfb
 * resume` started while the receiver is still down completes once it is
 * back, within the policy's limits. Each resume is a job of its own (kind
 * "resume", holding the instance's lock); on success the original job
 * becomes succeeded with its backup id, and both record what happened.
 */
#ifndef MFB_JOB_BACKUP_RESUME_H
#define MFB_JOB_BACKUP_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cancel.h"
#include "common/status.h"
#include "job/progress.h"
#include "store/config_db.h"
#include "transfer/backoff.h"
#include "transfer/https.h"

/* 2 s doubling to a minute, 8 attempts, at most an hour. */
#define RESUME_POLICY_DEFAULT                                                                      \
    (struct backoff_policy)                                                                        \
    {                                                                                              \
        .base_ms = 2000, .max_delay_ms = 60000, .max_attempts = 8, .max_total_ms = 3600000         \
    }

struct resume_options {
    struct config_db *db;
    const char *selector; /* a job id, an upload id, or NULL for every pending job */
    const struct job_observer *observers;
    size_t observer_count;
    struct cancel_token *cancel;              /* may be NULL */
    const struct transfer_settings *transfer; /* per request; NULL: the default */
    struct backoff_policy policy;             /* between attempts */
    bool no_alerts;
};

struct resume_summary {
    size_t pending;   /* jobs that matched */
    size_t completed; /* now stored on the receiver */
    size_t failed;
};

/* Resumes the matching jobs, one after the other. MFB_OK when every one
 * completed (also when none was pending: summary->pending is then 0);
 * otherwise the first failure. A selector that matches no pending job is
 * MFB_ERR_NOT_FOUND. */
mfb_status resume_run(const struct resume_options *opt, struct resume_summary *summary,
                      struct mfb_error *err);

#endif
