/*
 * job_log.h - the job log in the client's database (store/config_db.h):
 * one record per backup, resume or restore with its status, step
 * durations, byte counts and first error; its events; listing with
 * filters and full-text search; marking orphans failed; pruning.
 *
 * Times: job and event times are Unix milliseconds, since step durations
 * and downtime are measured in milliseconds.
 */
#ifndef MFB_STORE_JOB_LOG_H
#define MFB_STORE_JOB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

#define CONFIG_ID_BUF 128 /* upload and backup ids from the receiver */

/* ---- jobs ---- */

/* A job runs, then ends with one of the final statuses (docs/backup.md,
 * "What a job records"). */
enum job_status {
    JOB_STATUS_RUNNING,
    JOB_STATUS_OK,             /* done: the backup is stored (or restored) */
    JOB_STATUS_FAILED,         /* it failed; the database server runs */
    JOB_STATUS_PENDING_UPLOAD, /* the server runs again; Data.zip waits to be resumed */
    JOB_STATUS_CANCELLED,
    JOB_STATUS_CRITICAL, /* the database server did not come back: manual recovery */
    JOB_STATUS_COUNT
};

/* The steps whose duration a job records. */
enum job_step {
    JOB_STEP_PREFLIGHT,
    JOB_STEP_PREFLUSH,
    JOB_STEP_STOP,
    JOB_STEP_SNAPSHOT,
    JOB_STEP_ARCHIVE,
    JOB_STEP_UPLOAD,
    JOB_STEP_START,
    JOB_STEP_VERIFY,
    JOB_STEP_FINISH,
    JOB_STEP_COUNT
};

enum job_level { JOB_LEVEL_ERROR, JOB_LEVEL_WARN, JOB_LEVEL_INFO, JOB_LEVEL_DEBUG };

/* "running", "ok", "failed", "pending_upload", "cancelled", "critical". */
const char *job_status_str(enum job_status s);
bool job_status_parse(const char *text, enum job_status *s);
/* "preflight", "preflush", "stop", ... */
const char *job_step_name(enum job_step s);
bool job_step_parse(const char *text, enum job_step *s);
/* "error", "warn", "info", "debug". */
const char *job_level_str(enum job_level l);

struct job_record {
    int64_t id;
    char instance[CONFIG_NAME_BUF];
    char target[CONFIG_NAME_BUF]; /* "" when none */
    char kind[32];                /* "backup", "resume", "restore", ... */
    enum job_status status;
    char host[256];                  /* the machine that runs (ran) it; "" unknown */
    int64_t pid;                     /* process that runs (or ran) it */
    int64_t started_ms;              /* Unix ms */
    int64_t ended_ms;                /* 0 while running */
    int64_t step_ms[JOB_STEP_COUNT]; /* -1: the step did not run */
    int64_t downtime_ms;             /* -1: the server was not stopped */
    uint64_t bytes_in;               /* bytes read from the server's files */
    uint64_t bytes_out;              /* bytes of Data.zip sent */
    uint64_t chunks;                 /* chunks of Data.zip (0: no upload) */
    uint64_t retries;                /* chunk uploads retried */
    char upload_id[CONFIG_ID_BUF];   /* the resume token; "" when none */
    char backup_name[CONFIG_NAME_BUF];
    char backup_id[CONFIG_ID_BUF];
    char *error;         /* the first error, or NULL; allocated */
    char *hint;          /* what to do about it, or NULL; allocated */
    char error_step[32]; /* the step the first error happened in, or "" */
    char *backtrace;     /* the failing thread's stack at the first error, one
                            frame a line (mfb_error_backtrace), or NULL; allocated */
    char *system_state;  /* free space, load, memory, descriptors when the job
                            failed (job/sysstate.h), or NULL; allocated */
};

struct job_log_event {
    int64_t id;
    int64_t job_id;
    int64_t time_ms;
    enum job_level level;
    char step[32]; /* a config_step name, or "" */
    char *message; /* allocated */
};

/* Records a new running job of this process (started now). Fills job's
 * id, host, pid, started_ms and resets the rest. */
mfb_status job_log_create(struct config_db *db, const char *instance, const char *target,
                          const char *kind, struct job_record *job, struct mfb_error *err);
/* Stores every mutable field of job (status, ended, steps, downtime, bytes,
 * chunks, retries, ids, name, error, hint, error step, backtrace, system
 * state). */
mfb_status job_log_save(struct config_db *db, const struct job_record *job, struct mfb_error *err);
mfb_status job_log_get(struct config_db *db, int64_t id, struct job_record *out,
                       struct mfb_error *err);
void job_record_free(struct job_record *job);

/* Appends an event to a job's log. */
mfb_status job_log_event(struct config_db *db, int64_t job_id, enum job_level level,
                         const char *step, const char *message, struct mfb_error *err);
/* The same, for an event that happened at time_ms (Unix ms): written
 * later, as the backup job does for what it logs while the database is
 * stopped. */
mfb_status job_log_event_at(struct config_db *db, int64_t job_id, int64_t time_ms,
                            enum job_level level, const char *step, const char *message,
                            struct mfb_error *err);
/* A job's events, oldest first. *list is allocated; job_log_events_free. */
mfb_status job_log_events(struct config_db *db, int64_t job_id, struct job_log_event **list,
                          size_t *count, struct mfb_error *err);
void job_log_events_free(struct job_log_event *list, size_t count);

/* Filters for job_log_list; zero/NULL fields match everything. */
struct job_log_filter {
    const char *instance;
    const char *target;
    bool by_status;
    enum job_status status;
    int64_t since_ms;   /* started at or after */
    int64_t until_ms;   /* started before; 0: no bound */
    const char *search; /* words that must all appear in one of the job's
                           events (full-text, FTS5) or in its error */
    size_t limit;       /* 0: no limit */
};

/* Matching jobs, newest first. *list is allocated; job_log_list_free. */
mfb_status job_log_list(struct config_db *db, const struct job_log_filter *filter,
                        struct job_record **list, size_t *count, struct mfb_error *err);
void job_log_list_free(struct job_record *list, size_t count);

/* Marks as failed every running job whose process is gone (a crash or a
 * kill -9 left it "running"); *count says how many (may be NULL).
 * job/orphans.h settles them first (a sealed Data.zip, leftover files):
 * call job_orphans_settle, which ends with this. */
mfb_status job_log_fail_orphans(struct config_db *db, size_t *count, struct mfb_error *err);

/* The running jobs whose process is gone, newest first. *list is
 * allocated; job_log_list_free. */
mfb_status job_log_orphans(struct config_db *db, struct job_record **list, size_t *count,
                           struct mfb_error *err);

/* Ends orphan job id with status, error and hint, only if it is still
 * running under pid (a guardian that took it over in the meantime keeps
 * it). *settled (may be NULL) says whether it was. */
mfb_status job_log_settle_orphan(struct config_db *db, int64_t id, int64_t pid,
                                 enum job_status status, const char *error, const char *hint,
                                 bool *settled, struct mfb_error *err);

/* Records pid as the process that runs job id from now on (the backup's
 * guardian, when the job's own process died while the server was down),
 * so that the job is not taken for an orphan while the guardian works. */
mfb_status job_log_take_over(struct config_db *db, int64_t id, int64_t pid, struct mfb_error *err);

/* Deletes finished jobs (and their events) that ended before before_ms.
 * Jobs waiting to resume an upload are kept whatever their age. */
mfb_status job_log_prune(struct config_db *db, int64_t before_ms, size_t *deleted,
                         struct mfb_error *err);
/* Deletes the finished jobs (and their events) beyond the newest keep ones;
 * running jobs and jobs waiting to resume an upload are neither deleted nor
 * counted. */
mfb_status job_log_prune_count(struct config_db *db, size_t keep, size_t *deleted,
                               struct mfb_error *err);
/* The step of a job's first error event, in step (size len); "" when none. */
mfb_status job_log_error_step(struct config_db *db, int64_t job_id, char *step, size_t len,
                              struct mfb_error *err);

#endif
