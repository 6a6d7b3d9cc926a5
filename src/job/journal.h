/*
 * journal.h - the record of one job: its row in the jobs table (status,
 * the duration of every step, downtime, bytes, ids, the first error) and
 * its events, kept in step with the log lines on stderr and the progress
 * observers, so the three never tell different stories.
 *
 * A failing write to the configuration database never stops a job: the
 * server must be restarted whatever happens to the log. Such a failure is
 * logged once on stderr and the job goes on.
 *
 * While the database server is stopped, writes are deferred (journal_defer):
 * SQLite's fsync on a disk that has just taken a gigabyte of Data.zip can
 * stall for a second, and that second would be downtime. Events keep their
 * own time and are written, in order, when the server answers again. A
 * crash meanwhile loses those events only: the job's row, with its upload
 * id, was written before the stop, and the orphaned "running" job is marked
 * failed by the next command.
 *
 * Only the job's own thread uses a journal.
 */
#ifndef MFB_JOB_JOURNAL_H
#define MFB_JOB_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "common/status.h"
#include "job/progress.h"
#include "store/job_log.h"

struct journal_deferred; /* an event waiting to be written */

struct job_journal {
    struct config_db *db;
    struct job_progress_hub *hub;
    struct job_record job;
    uint64_t step_started_ms[JOB_STEP_COUNT]; /* monotonic; 0: not running */
    bool db_broken;                           /* a write failed; logged once */
    bool deferring;                           /* writes wait for journal_defer(false) */
    bool row_dirty;                           /* the row changed while deferring */
    struct journal_deferred *deferred;
    size_t deferred_count;
    size_t deferred_cap;
    /* Told when a step begins (begin) or ends, including the steps that
     * run alongside (journal_step_mark): the backup's guardian names the
     * step the job died in (job/backup/guardian.h). NULL: nobody. */
    void (*on_step)(void *ctx, enum job_step step, bool begin);
    void *on_step_ctx;
};

/* The test-only environment variable that makes journal_step_begin stop
 * the job for good once the step has begun and been reported (value: a
 * step name, "archive"), so that a test can kill -9 it there without a
 * race (docs/testing.md). Never set it in production. */
#define JOURNAL_TEST_PAUSE_ENV "MFB_TEST_PAUSE_AT"

/* Records a new running job. hub may be NULL. */
mfb_status journal_begin(struct job_journal *j, struct config_db *db, struct job_progress_hub *hub,
                         const char *instance, const char *target, const char *kind,
                         struct mfb_error *err);

/* Carries on the record of an existing job (the guardian's, after the
 * job's process died): takes over job's allocated fields (job is left
 * empty). */
void journal_attach(struct job_journal *j, struct config_db *db, struct job_record *job);

/* A step begins; total is its byte count when known (else 0). */
void journal_step_begin(struct job_journal *j, enum job_step step, uint64_t total);
/* Starts timing a step that runs alongside the current one (the upload
 * during the archive) without telling the observers. */
void journal_step_mark(struct job_journal *j, enum job_step step);
/* The step ends: its duration is added to the job's (a step may run twice,
 * as start does after a failed stop) and the row is saved. */
void journal_step_end(struct job_journal *j, enum job_step step);

/* The log's level for an event's level (a job's events are logged too). */
enum mfb_log_level journal_log_level(enum job_level level);

/* One event: into the job's events, the log, and the observers. step may
 * be NULL. */
void journal_event(struct job_journal *j, enum job_level level, const char *step, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Keeps e as the job's error unless one is recorded already (the first
 * error is usually the informative one), with its step and the stack of
 * the thread that set it (mfb_error_backtrace), and logs it as an event. */
void journal_error(struct job_journal *j, const char *step, const struct mfb_error *e);

/* Records the state of the machine in the job (a failed job's detail:
 * free space of spool and datadir, load, memory, descriptors) and as an
 * event. Either path may be NULL. */
void journal_system_state(struct job_journal *j, const char *spool, const char *datadir);

/* Saves the row as it is now (or later, while deferring). */
void journal_save(struct job_journal *j);

/* Starts deferring the writes (on), or writes what waited and stops (off). */
void journal_defer(struct job_journal *j, bool on);

/* Job-log retention (7.5): the defaults of the settings log_retention_days
 * and log_retention_count (0 turns either off; job/settings.h, and
 * `mfb settings` to see and change them). */
#define JOURNAL_RETENTION_DAYS 90
#define JOURNAL_RETENTION_COUNT 10000

/* Deletes the finished jobs older than log_retention_days and those beyond
 * the newest log_retention_count; jobs waiting to resume an upload stay.
 * Failures are logged, never returned: retention never fails a job. */
void journal_prune(struct config_db *db);

/* Ends the job with status (ended now), saves, prunes the job log
 * (journal_prune), and tells the observers. */
void journal_end(struct job_journal *j, enum job_status status);

void journal_free(struct job_journal *j);

#endif
