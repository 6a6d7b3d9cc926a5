/*
 * job_queue.h - the daemon's persistent queue of jobs in the client's
 * database (store/config_db.h, migrations 6 and 8; docs/daemon.md).
 *
 * An entry is queued (by the API, the CLI, a schedule, a catch-up or an
 * upload retry), then running once a worker took it, then done; a retry
 * whose receiver still does not answer goes back to queued with a later
 * next_attempt (job_queue_requeue), so one entry counts the attempts. The
 * queue keeps its rows after they ran: the job log (store/job_log.h) holds
 * the outcome of an entry that ran (job_id), and the entry itself says why
 * one ended without a job (error: cancelled while queued, an instance
 * that no longer exists, a daemon that died while it ran).
 *
 * The rules live here, in SQL, so no caller can break them:
 * - an instance is queued at most once per kind (backup, drill):
 *   enqueueing an instance that already waits gives the waiting entry's
 *   id (a UNIQUE index on the queued rows backs it); retries are apart (a
 *   retry waiting half an hour must not swallow a scheduled backup), one
 *   queued retry per pending_upload job;
 * - job_queue_take never hands out an entry of an instance that has one
 *   running, so the daemon's workers never run one instance twice (the
 *   instance lock, job/lock.h, still guards against a foreground
 *   `mfb backup`), nor one whose target already runs its max_jobs
 *   (`mfb target set --max-jobs`; an entry without a target counts
 *   against the only stored target, the one its job will use).
 * Taking is one IMMEDIATE transaction, so two workers (or two daemons on
 * one file) never take the same entry. Times are Unix milliseconds.
 */
#ifndef MFB_STORE_JOB_QUEUE_H
#define MFB_STORE_JOB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

enum queue_state { QUEUE_QUEUED, QUEUE_RUNNING, QUEUE_DONE };

#define QUEUE_TRIGGER_BUF (CONFIG_NAME_BUF + 16) /* "schedule:NAME" */

struct queue_entry {
    int64_t id;
    char instance[CONFIG_NAME_BUF];
    char target[CONFIG_NAME_BUF]; /* "" for the only target */
    char kind[16];                /* "backup" or "drill" (docs/drill.md) */
    char trigger[QUEUE_TRIGGER_BUF];
    enum queue_state state;
    int64_t job_id;                   /* 0 until it runs */
    int64_t enqueued, started, ended; /* 0 when not yet */
    int attempts;
    int64_t next_attempt;           /* 0: as soon as possible */
    bool cancelled;                 /* cancelled by a person, queued or running */
    char error[256];                /* why it ended without a job, else "" */
    int64_t resume_job;             /* a retry: the pending_upload job it resumes; else 0 */
    char cancelled_step[32];        /* "queued" or the job step it was cancelled in, else "" */
    char schedule[CONFIG_NAME_BUF]; /* the schedule it runs for (on time or catch-up), else "" */
};

/* A pending_upload backup job of the daemon's that no retry names yet. */
struct queue_pending {
    int64_t job_id;
    char instance[CONFIG_NAME_BUF];
    char target[CONFIG_NAME_BUF];
};

/* "queued", "running", "done". */
const char *queue_state_str(enum queue_state s);

/* Whether trigger is one the queue takes: api, cli, retry, catch-up or
 * schedule:NAME. */
bool job_queue_trigger_valid(const char *trigger);

/* Queues a backup of instance (target NULL: the only one). When the
 * instance already waits, nothing is added and *id is the waiting entry's
 * (*existed true). existed may be NULL. */
mfb_status job_queue_enqueue(struct config_db *db, const char *instance, const char *target,
                             const char *trigger, int64_t *id, bool *existed,
                             struct mfb_error *err);

/* job_queue_enqueue for a job of kind "backup" or "drill" (an instance
 * waits at most once per kind), and for a schedule's run: the entry names
 * the schedule (a schedule:NAME trigger names it anyway; a catch-up needs
 * it; NULL for other triggers), so its job becomes the schedule's last run
 * and its catch-up counts for it alone. */
mfb_status job_queue_enqueue_for(struct config_db *db, const char *instance, const char *target,
                                 const char *kind, const char *trigger, const char *schedule,
                                 int64_t *id, bool *existed, struct mfb_error *err);

/* Queues a retry of the pending_upload job resume_job (of instance, to
 * target) that may not start before next_attempt. When one already waits
 * for that job, nothing is added and *id is its (*existed true; existed
 * may be NULL). */
mfb_status job_queue_enqueue_retry(struct config_db *db, const char *instance, const char *target,
                                   int64_t resume_job, int64_t next_attempt, int64_t *id,
                                   bool *existed, struct mfb_error *err);

/* Puts a running entry back in the queue, to be taken again at
 * next_attempt (a retry whose receiver did not answer). */
mfb_status job_queue_requeue(struct config_db *db, int64_t id, int64_t next_attempt,
                             struct mfb_error *err);

/* Takes the oldest runnable entry (queued, next_attempt passed, no entry
 * of its instance running, and its target below its max_jobs) and marks
 * it running, in one transaction. *found false when there is none. */
mfb_status job_queue_take(struct config_db *db, int64_t now_ms, struct queue_entry *out,
                          bool *found, struct mfb_error *err);
/* The same, leaving the drills queued while max_drills of them run
 * (`mfb daemon --max-drills`). */
mfb_status job_queue_take_limited(struct config_db *db, int64_t now_ms, uint32_t max_drills,
                                  struct queue_entry *out, bool *found, struct mfb_error *err);

/* Records the job log row of a running entry. */
mfb_status job_queue_set_job(struct config_db *db, int64_t id, int64_t job_id,
                             struct mfb_error *err);

/* Marks an entry done; error (may be NULL) says why it ended without a
 * job. */
mfb_status job_queue_done(struct config_db *db, int64_t id, const char *error,
                          struct mfb_error *err);

/* Marks a running entry done and cancelled by a person, in step (a job
 * step name, docs/logs.md). */
mfb_status job_queue_done_cancelled(struct config_db *db, int64_t id, const char *step,
                                    struct mfb_error *err);

/* Cancels a queued entry: it becomes done, cancelled (step "queued"). *was_queued false
 * (and nothing changes) when it no longer waits; MFB_ERR_NOT_FOUND for an
 * unknown id. */
mfb_status job_queue_cancel_queued(struct config_db *db, int64_t id, bool *was_queued,
                                   struct mfb_error *err);

/* Entries left running by a daemon that is gone become done with the
 * error "interrupted" (their jobs are settled by job/orphans.h). */
mfb_status job_queue_settle_running(struct config_db *db, size_t *count, struct mfb_error *err);

/* The daemon's backup jobs (entries not cancelled by a person) that are
 * pending_upload in the job log and that no retry entry names: a daemon
 * that died after the archive was sealed, or before it queued the retry.
 * Allocates *list (free). */
mfb_status job_queue_unretried(struct config_db *db, struct queue_pending **list, size_t *count,
                               struct mfb_error *err);

/* One entry; MFB_ERR_NOT_FOUND when there is none. */
mfb_status job_queue_get(struct config_db *db, int64_t id, struct queue_entry *out,
                         struct mfb_error *err);

/* The entries in order of id: the queued and running ones, and with
 * with_done also the last `done_limit` done ones. Allocates *list (free). */
mfb_status job_queue_list(struct config_db *db, bool with_done, size_t done_limit,
                          struct queue_entry **list, size_t *count, struct mfb_error *err);

#endif
