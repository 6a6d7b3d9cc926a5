/*
 * daemon.h - the core of `mfb daemon` (docs/daemon.md): the worker pool
 * that runs the persistent queue (store/job_queue.h), and what the control
 * API (daemon/api.h) asks of it: queue a job, cancel one, and a snapshot of
 * what runs, with its live progress.
 *
 * Threads. Each worker thread takes a runnable entry from the queue and
 * runs backup_run on it, the same function `mfb backup` uses; the queue
 * never hands out two entries of one instance at once, and the instance
 * lock (job/lock.h) keeps a foreground `mfb backup` out. The workers share
 * one struct config_db, which serialises its connection itself
 * (store/config_db.h). A worker's slot holds its job's cancel token and a
 * copy of the job's last progress report: the job's progress hub calls the
 * slot's observer (under the hub's own lock), which copies the figures
 * into the slot under the daemon's lock; the API reads them under the same
 * lock, never from the job's own state. Lock order: hub, then daemon,
 * then the event hub (daemon/events.h): the observer also publishes the
 * figures to the live event stream, as the worker publishes an entry's
 * start and end and daemon_enqueue / daemon_cancel its queueing and
 * cancel (daemon_api_publish_*).
 *
 * The scheduler thread (daemon/scheduler.h) queues the stored schedules
 * runs through daemon_enqueue, as the API does.
 *
 * Upload retries. A backup that ends pending_upload (Data.zip sealed, the
 * database up again) gets a `retry` entry naming its job, due after the
 * backoff (settings retry_initial doubling to retry_max, plus up to a
 * tenth of random jitter). A worker runs a retry with resume_run, the
 * code of `mfb resume`, for one attempt; if the job is still pending the
 * same entry goes back to the queue for the next step of the backoff,
 * until the upload completes, the kept archive is refused as damaged, or
 * a person cancels the entry. At start, daemon_start queues a retry for
 * every pending_upload job of the daemon's that has none (a daemon that
 * died after the archive was sealed: job/orphans.h made it pending).
 *
 * Cancels. A person's cancel (daemon_cancel) records the step the job was
 * in; the entry ends `cancelled` with that step. A job cancelled after
 * Data.zip was sealed stays pending_upload in the job log with its
 * archive kept (`mfb resume JOB` sends it later; no automatic retry),
 * unless the cancel asked to discard it: then its spool directory goes
 * and the job becomes cancelled.
 *
 * The expectation checker thread (daemon/expect.h) sends the silence
 * alarms; like the scheduler it sleeps on the wake condition, so a job
 * that ends wakes it for a recovery notice.
 *
 * Stopping: daemon_stop cancels every running job through its cancel token
 * (the safe path of backup_run: a database that was stopped is started
 * and verified before the job ends), and joins the workers. That is not a
 * person's cancel: a job it leaves pending_upload gets its retry.
 */
#ifndef MFB_DAEMON_DAEMON_H
#define MFB_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "job/progress.h"
#include "store/config_db.h"
#include "store/job_queue.h"

struct event_hub;

#define DAEMON_WORKERS_MAX 64

/* What a running job last reported (job/progress.h), copied for readers. */
struct daemon_progress {
    int64_t queue_id;
    int64_t job_id; /* 0 until the job is recorded */
    char instance[CONFIG_NAME_BUF];
    enum job_step step;
    uint64_t elapsed_ms;
    uint64_t bytes_done, bytes_total;
    double rate;
    int64_t eta_ms;
    bool server_down;
    uint64_t downtime_ms;
    bool cancel_requested;
};

struct daemon_slot {
    struct daemon *daemon;
    pthread_t thread;
    bool started;
    bool busy;                /* a job runs: progress, entry and cancel are valid */
    struct queue_entry entry; /* the running entry, for its progress events */
    struct daemon_progress progress;
    bool discard;               /* the person's cancel asked to discard the kept archive */
    char cancel_step[32];       /* the step the job was in when a person cancelled it */
    struct cancel_token cancel; /* child of the daemon's stop token */
};

struct daemon {
    struct config_db *db; /* borrowed */
    unsigned workers;
    struct daemon_slot *slots;
    struct event_hub *events; /* the live event stream (daemon/events.h) */
    pthread_mutex_t lock;     /* slots' busy/progress, stopping */
    pthread_cond_t wake;      /* something was queued, or stop */
    bool stopping;
    struct cancel_token stop;
    int64_t started_ms;
    bool no_alerts;
    unsigned max_drills;     /* restore drills run at once (docs/drill.md); 0: 1 */
    const char *socket_path; /* for health; borrowed */
    /* The scheduler thread (daemon/scheduler.h); it sleeps on wake too. */
    pthread_t sched_thread;
    bool sched_started;
    bool sched_reload; /* re-read the schedules at once (under lock) */
    /* The silence alarms' checker thread (daemon/expect.h); wake too. */
    pthread_t expect_thread;
    bool expect_started;
};

/* Prepares a daemon over db with `workers` slots; starts no thread (the
 * API's unit tests drive one without workers). Release with
 * daemon_destroy. */
mfb_status daemon_init(struct daemon *d, struct config_db *db, unsigned workers,
                       struct mfb_error *err);

/* Starts the worker threads and the scheduler. */
mfb_status daemon_start(struct daemon *d, struct mfb_error *err);

/* Cancels running jobs and waits for every worker and the scheduler to
 * end. Idempotent. */
void daemon_stop(struct daemon *d);
void daemon_destroy(struct daemon *d);

/* Queues a job of kind "backup" or "drill" (docs/drill.md) of instance
 * (checked to exist, as target is when given) and wakes a worker.
 * schedule: the schedule whose run this is (on time or catch-up), whose
 * last run its job becomes; NULL for any other trigger. */
mfb_status daemon_enqueue(struct daemon *d, const char *instance, const char *target,
                          const char *kind, const char *trigger, const char *schedule, int64_t *id,
                          bool *existed, struct mfb_error *err);

/* Cancels queue entry id: a queued one ends at once, a running one is
 * cancelled through its job's token (it ends once the job has taken the
 * safe path). discard: a sealed Data.zip the job (or the retry's job)
 * keeps is removed too. *state gets the state it was in.
 * MFB_ERR_NOT_FOUND for an unknown id. */
mfb_status daemon_cancel(struct daemon *d, int64_t id, bool discard, enum queue_state *state,
                         struct mfb_error *err);

/* The wait before retry number `attempt` (1 = the first) of an upload:
 * initial_ms doubling up to max_ms (at least initial_ms), plus up to a
 * tenth of it from random. Pure, for the unit tests. */
uint64_t daemon_retry_delay_ms(uint64_t initial_ms, uint64_t max_ms, unsigned attempt,
                               uint64_t random);

/* The progress of queue entry id if it runs now (copied under the lock). */
bool daemon_running(struct daemon *d, int64_t id, struct daemon_progress *out);

/* How many jobs run now. */
unsigned daemon_busy(struct daemon *d);

#endif
