/*
 * lock.h - one job per instance at a time: two backups (or a backup and a
 * resume or a restore) of the same instance must never run at once.
 *
 * The lock is flock(2) on a small file in the instance's spool directory,
 * ".mfb-INSTANCE.lock". The kernel drops it when the process exits, however
 * it exits, so a crash or a kill -9 never leaves a stale lock behind, and
 * no pid has to be trusted to decide whether the lock is held. The file's
 * text says who holds it ("pid=123 job=45 kind=backup started=..."), so the
 * refusal can name the running job; the text is informative only. The file
 * stays when the lock is released (unlinking a flock file is racy).
 *
 * The jobs table is the second witness: a job recorded as running for the
 * instance, whose process is alive and not us, also refuses the lock. That
 * covers a second configuration database pointing at another spool for the
 * same instance name. Locks are per process: the daemon's worker threads
 * would each hold their own struct job_lock.
 */
#ifndef MFB_JOB_LOCK_H
#define MFB_JOB_LOCK_H

#include <stdint.h>

#include "common/status.h"
#include "store/job_log.h"

struct job_lock {
    int fd; /* -1 when not held */
    char path[4096];
    char instance[CONFIG_NAME_BUF];
    char kind[32];
};

/* Takes the lock of instance in spool (created if missing, mode 0700),
 * or fails at once with MFB_ERR_BUSY naming the job that holds it. db may
 * be NULL (no jobs-table check). */
mfb_status job_lock_acquire(struct config_db *db, const char *spool, const char *instance,
                            const char *kind, struct job_lock *lock, struct mfb_error *err);

/* Records the job id in the lock file once the job exists. */
void job_lock_set_job(struct job_lock *lock, int64_t job_id);

/* Releases the lock; a no-op when it is not held. */
void job_lock_release(struct job_lock *lock);

#endif
