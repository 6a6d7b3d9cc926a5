/*
 * daemon.c - the daemon's worker pool over the persistent queue (see
 * daemon.h).
 *
 * A worker that finds nothing runnable sleeps on the wake condition:
 * daemon_enqueue and a finished job signal it (a finished job may make a
 * waiting entry of the same instance runnable), and it looks again every
 * second anyway, for entries whose next attempt has come (the retries:
 * see daemon.h).
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/api.h"
#include "daemon/events.h"
#include "daemon/expect.h"
#include "daemon/scheduler.h"
#include "job/backup/backup.h"
#include "job/backup/resume.h"
#include "job/drill/drill.h"
#include "job/settings.h"
#include "job/spool.h"
#include "store/config_records.h"
#include "store/job_log.h"
#include "store/schedules.h"

#define DAEMON_IDLE_POLL_MS 1000
/* Each request of a retry's attempt: a few tries within ten seconds. */
#define RETRY_REQUEST_ATTEMPTS 3
#define RETRY_REQUEST_MS 10000

mfb_status daemon_init(struct daemon *d, struct config_db *db, unsigned workers,
                       struct mfb_error *err)
{
    memset(d, 0, sizeof(*d));
    if (workers == 0 || workers > DAEMON_WORKERS_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "the daemon needs 1 to %d workers", DAEMON_WORKERS_MAX);
        return MFB_ERR_USAGE;
    }
    d->slots = calloc(workers, sizeof(*d->slots));
    d->events = event_hub_new(EVENT_SUBSCRIBERS_MAX);
    if (d->slots == NULL || d->events == NULL) {
        free(d->slots);
        d->slots = NULL;
        event_hub_free(d->events);
        d->events = NULL;
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    d->db = db;
    d->workers = workers;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    cancel_token_init(&d->stop, NULL);
    for (unsigned i = 0; i < workers; i++) {
        d->slots[i].daemon = d;
        cancel_token_init(&d->slots[i].cancel, &d->stop);
    }
    d->started_ms = clock_wall_ms();
    return MFB_OK;
}

/* The job's progress hub reports here (under the hub's lock): copy what
 * the API shows into the slot, under the daemon's lock. The queue entry
 * learns its job as soon as the job is recorded, so that a daemon killed
 * mid-job leaves an entry that names it (daemon_start then finds a sealed
 * archive's job to retry). Lock order: hub, daemon, database. */
static void slot_notify(void *ctx, const struct job_progress *p)
{
    struct daemon_slot *s = ctx;
    int64_t recorded = 0, queue_id = 0;
    pthread_mutex_lock(&s->daemon->lock);
    struct daemon_progress *g = &s->progress;
    if (p->job_id > 0 && g->job_id != p->job_id) {
        g->job_id = p->job_id;
        recorded = p->job_id;
        queue_id = g->queue_id;
    }
    if (p->kind != JOB_PROGRESS_MESSAGE) {
        g->step = p->step;
        g->elapsed_ms = p->elapsed_ms;
        g->bytes_done = p->bytes_done;
        g->bytes_total = p->bytes_total;
        g->rate = p->rate;
        g->eta_ms = p->eta_ms;
        g->server_down = p->server_down;
        g->downtime_ms = p->downtime_ms;
    }
    struct daemon_progress copy = *g;
    pthread_mutex_unlock(&s->daemon->lock);
    struct mfb_error err = {0};
    if (recorded > 0 && job_queue_set_job(s->daemon->db, queue_id, recorded, &err) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", queue_id,
                err.message);
    /* s->entry does not change while the job runs: only this worker
     * writes it, before the job. A message moves no figure. */
    if (p->kind != JOB_PROGRESS_MESSAGE)
        daemon_api_publish_progress(s->daemon, &s->entry, &copy);
}

uint64_t daemon_retry_delay_ms(uint64_t initial_ms, uint64_t max_ms, unsigned attempt,
                               uint64_t random)
{
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    uint64_t d = initial_ms;
    for (unsigned i = 1; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    if (d > max_ms)
        d = max_ms;
    return d + (d >= 10 ? random % (d / 10 + 1) : 0);
}

/* When retry number `attempt` of an upload may start; 0 when automatic
 * retries are off (setting retry_initial 0). */
static int64_t retry_due(struct daemon *d, unsigned attempt)
{
    uint64_t initial = job_setting_u64(d->db, "retry_initial");
    if (initial == 0)
        return 0;
    uint64_t max = job_setting_u64(d->db, "retry_max");
    /* splitmix64 of the time: jitter only, no secret. */
    uint64_t z = (uint64_t)clock_now_ms() * 0x9E3779B97F4A7C15ULL + attempt;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return clock_wall_ms() + (int64_t)daemon_retry_delay_ms(initial * 1000, max * 1000, attempt, z);
}

/* Queues the first retry of job_id, which ended pending_upload. */
static void queue_retry(struct daemon *d, const char *instance, int64_t job_id, int64_t due)
{
    struct job_record job;
    struct mfb_error err = {0};
    char target[CONFIG_NAME_BUF] = "";
    if (job_log_get(d->db, job_id, &job, &err) == MFB_OK) {
        snprintf(target, sizeof(target), "%s", job.target);
        job_record_free(&job);
    }
    int64_t id = 0;
    if (job_queue_enqueue_retry(d->db, instance, target, job_id, due, &id, NULL, &err) != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-retry", "instance=%s job=%" PRId64 " error=%s", instance,
                job_id, err.message);
        return;
    }
    mfb_log(MFB_LOG_INFO, "daemon-retry",
            "queue_id=%" PRId64 " instance=%s job=%" PRId64 " next_attempt=%" PRId64, id, instance,
            job_id, due);
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    daemon_api_publish_state(d, id);
}

/* A person cancelled with --discard: the sealed Data.zip of job_id and
 * its sidecars (the whole spool directory of the job) go, and the job,
 * which waited for its upload, ends cancelled. */
static void discard_archive(struct daemon *d, int64_t job_id, int64_t queue_id)
{
    struct job_record job;
    struct mfb_error err = {0};
    if (job_log_get(d->db, job_id, &job, &err) != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-cancel", "job=%" PRId64 " error=%s", job_id, err.message);
        return;
    }
    struct config_instance inst;
    char dir[PATH_MAX];
    mfb_status st = MFB_OK;
    if (job.status != JOB_STATUS_PENDING_UPLOAD)
        goto done; /* completed or refused meanwhile: nothing waits */
    st = config_instance_get(d->db, job.instance, &inst, &err);
    if (st == MFB_OK) {
        st = spool_job_dir(inst.spool, job_id, dir, sizeof(dir), &err);
        if (st == MFB_OK)
            st = spool_remove_tree(dir, &err);
        config_instance_free(&inst);
    }
    if (st != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-cancel", "job=%" PRId64 " error=%s", job_id, err.message);
        goto done;
    }
    /* The error and hint said that `mfb resume` completes the upload:
     * no longer true. */
    job.status = JOB_STATUS_CANCELLED;
    char *error = strdup("backup cancelled after Data.zip was sealed; the archive was discarded");
    if (error != NULL) {
        free(job.error);
        free(job.hint);
        job.error = error;
        job.hint = NULL;
    }
    if (job_log_save(d->db, &job, &err) == MFB_OK) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "cancelled through the daemon (queue %" PRId64 ") with --discard: the kept "
                 "archive was removed",
                 queue_id);
        job_log_event(d->db, job_id, JOB_LEVEL_WARN, "upload", msg, &err);
    }
    mfb_log(MFB_LOG_INFO, "daemon-cancel", "queue_id=%" PRId64 " job=%" PRId64 " discarded=1",
            queue_id, job_id);
done:
    job_record_free(&job);
}

/* The job log status of job_id, or -1 when it cannot be read. */
static int job_status_of(struct daemon *d, int64_t job_id)
{
    struct job_record job;
    struct mfb_error err = {0};
    if (job_id <= 0 || job_log_get(d->db, job_id, &job, &err) != MFB_OK)
        return -1;
    int status = (int)job.status;
    job_record_free(&job);
    return status;
}

/* Whether a person cancelled the slot's job; its step and discard flag. */
static bool person_cancelled(struct daemon_slot *s, char *step, size_t len, bool *discard)
{
    pthread_mutex_lock(&s->daemon->lock);
    bool yes = s->progress.cancel_requested;
    snprintf(step, len, "%s", s->cancel_step);
    *discard = s->discard;
    pthread_mutex_unlock(&s->daemon->lock);
    return yes;
}

/* Ends an entry a person cancelled: the step goes to the queue and to the
 * job log, and with --discard a sealed archive goes. */
static void end_cancelled(struct daemon_slot *s, const struct queue_entry *e, int64_t job_id,
                          int64_t archive_job, const char *step, bool discard)
{
    struct daemon *d = s->daemon;
    struct mfb_error err = {0};
    if (job_id > 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "cancelled through the daemon (queue %" PRId64 ") in step %s",
                 e->id, step);
        job_log_event(d->db, job_id, JOB_LEVEL_WARN, step, msg, &err);
    }
    if (discard && archive_job > 0)
        discard_archive(d, archive_job, e->id);
    if (job_queue_done_cancelled(d->db, e->id, step, &err) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id, err.message);
}

/* A drill entry: drill_run_queued, the code of `mfb drill`
 * (docs/drill.md); its job and outcome in res, as a backup's. */
static mfb_status run_drill(struct daemon_slot *s, const struct queue_entry *e,
                            struct job_observer *obs, struct backup_result *res,
                            struct mfb_error *err)
{
    struct drill_queued q = {.db = s->daemon->db,
                             .instance = e->instance,
                             .target = e->target[0] ? e->target : NULL,
                             .observers = obs,
                             .observer_count = 1,
                             .cancel = &s->cancel,
                             .no_alerts = s->daemon->no_alerts};
    struct drill_result dr;
    mfb_status st = drill_run_queued(&q, &dr, err);
    res->job_id = dr.job_id;
    res->status = st == MFB_OK              ? JOB_STATUS_OK
                  : st == MFB_ERR_CANCELLED ? JOB_STATUS_CANCELLED
                                            : JOB_STATUS_FAILED;
    return st;
}

/* A backup entry (backup_run, the code of `mfb backup`) or a drill entry:
 * its job becomes the entry's and its schedule's last run; a backup left
 * pending_upload gets a retry. */
static void run_job(struct daemon_slot *s, const struct queue_entry *e)
{
    struct daemon *d = s->daemon;
    struct job_observer obs = {.notify = slot_notify, .ctx = s};
    struct backup_options opt = {
        .db = d->db,
        .instance = e->instance,
        .target = e->target[0] ? e->target : NULL,
        .observers = &obs,
        .observer_count = 1,
        .cancel = &s->cancel,
        .level = -1,
        .no_alerts = d->no_alerts,
    };
    struct backup_result res;
    memset(&res, 0, sizeof(res));
    struct mfb_error err = {0};
    mfb_status st;
    if (strcmp(e->kind, "drill") == 0)
        st = run_drill(s, e, &obs, &res, &err);
    else
        st = backup_run(&opt, &res, &err);
    struct mfb_error qerr = {0};
    if (res.job_id > 0 && job_queue_set_job(d->db, e->id, res.job_id, &qerr) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id,
                qerr.message);
    /* `mfb schedule list` shows a schedule's last run from its job, a
     * catch-up's as an on-time run's. */
    if (res.job_id > 0 && e->schedule[0] &&
        config_schedule_set_last_run(d->db, e->schedule, res.job_id, &qerr) != MFB_OK)
        mfb_log(MFB_LOG_WARN, "daemon-schedule", "schedule=%s error=%s", e->schedule, qerr.message);
    char step[32];
    bool discard = false;
    bool pending = res.job_id > 0 && res.status == JOB_STATUS_PENDING_UPLOAD;
    /* A cancel that came as the job completed is too late: it is ok. */
    if (person_cancelled(s, step, sizeof(step), &discard) && res.status != JOB_STATUS_OK) {
        end_cancelled(s, e, res.job_id, pending ? res.job_id : 0, step, discard);
    } else {
        if (job_queue_done(d->db, e->id, res.job_id > 0 ? NULL : err.message, &qerr) != MFB_OK)
            mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id,
                    qerr.message);
        int64_t due = pending ? retry_due(d, 1) : 0;
        if (due > 0)
            queue_retry(d, e->instance, res.job_id, due);
    }
    mfb_log(st == MFB_OK ? MFB_LOG_INFO : MFB_LOG_WARN, "daemon-job",
            "queue_id=%" PRId64 " instance=%s job=%" PRId64 " status=%s", e->id, e->instance,
            res.job_id, res.job_id > 0 ? job_status_str(res.status) : "failed");
    backup_result_free(&res);
}

/* A retry entry: one attempt of resume_run, the code of `mfb resume`, on
 * the pending job; the database is not touched. While the job is still
 * pending the entry goes back to the queue for the next backoff step. */
static void run_retry(struct daemon_slot *s, const struct queue_entry *e)
{
    struct daemon *d = s->daemon;
    char selector[32];
    snprintf(selector, sizeof(selector), "%" PRId64, e->resume_job);
    struct job_observer obs = {.notify = slot_notify, .ctx = s};
    /* One attempt must fail fast while the receiver is away, so that the
     * queue's backoff, visible in `mfb jobs`, is the only wait. */
    struct transfer_settings quick = TRANSFER_SETTINGS_DEFAULT;
    quick.retry.max_attempts = RETRY_REQUEST_ATTEMPTS;
    quick.retry.max_total_ms = RETRY_REQUEST_MS;
    struct resume_options opt = {
        .db = d->db,
        .selector = selector,
        .observers = &obs,
        .observer_count = 1,
        .cancel = &s->cancel,
        .transfer = &quick,
        .policy = RESUME_POLICY_DEFAULT,
        .no_alerts = d->no_alerts,
    };
    opt.policy.max_attempts = 1; /* the queue does the backoff, visibly */
    struct resume_summary sum;
    struct mfb_error err = {0};
    mfb_status st = resume_run(&opt, &sum, &err);
    pthread_mutex_lock(&d->lock);
    int64_t job_id = s->progress.job_id;
    pthread_mutex_unlock(&d->lock);
    int status = job_status_of(d, e->resume_job);
    char step[32];
    bool discard = false;
    struct mfb_error qerr = {0};
    mfb_status qs = MFB_OK;
    const char *outcome = "done";
    if (person_cancelled(s, step, sizeof(step), &discard) && status != JOB_STATUS_OK) {
        end_cancelled(s, e, job_id, status == JOB_STATUS_PENDING_UPLOAD ? e->resume_job : 0, step,
                      discard);
        outcome = "cancelled";
    } else if (status == JOB_STATUS_PENDING_UPLOAD) {
        int64_t due = retry_due(d, (unsigned)e->attempts + 1);
        if (due == 0) /* retries were switched off meanwhile */
            qs = job_queue_done(d->db, e->id, "automatic retries are off (retry_initial 0)", &qerr);
        else
            qs = job_queue_requeue(d->db, e->id, due, &qerr);
        outcome = due == 0 ? "off" : "requeued";
        mfb_log(MFB_LOG_WARN, "daemon-retry",
                "queue_id=%" PRId64 " job=%" PRId64
                " attempt=%d error=\"%s\" next_attempt=%" PRId64,
                e->id, e->resume_job, e->attempts, err.message, due);
    } else {
        /* Completed, refused as damaged, or no longer pending (resumed by
         * hand: no resume job ran, the entry shows the pending job's
         * outcome): the job log says which. */
        if (job_id == 0 && status >= 0) {
            job_id = e->resume_job;
            qs = job_queue_set_job(d->db, e->id, job_id, &qerr);
        }
        if (qs == MFB_OK)
            qs = job_queue_done(d->db, e->id, job_id > 0 ? NULL : err.message, &qerr);
    }
    if (qs != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id,
                qerr.message);
    mfb_log(st == MFB_OK ? MFB_LOG_INFO : MFB_LOG_WARN, "daemon-job",
            "queue_id=%" PRId64 " instance=%s retry_of=%" PRId64 " job=%" PRId64 " outcome=%s",
            e->id, e->instance, e->resume_job, job_id, outcome);
}

static void run_entry(struct daemon_slot *s, const struct queue_entry *e)
{
    struct daemon *d = s->daemon;
    pthread_mutex_lock(&d->lock);
    memset(&s->progress, 0, sizeof(s->progress));
    s->progress.queue_id = e->id;
    s->progress.eta_ms = -1;
    snprintf(s->progress.instance, sizeof(s->progress.instance), "%s", e->instance);
    s->entry = *e;
    s->discard = false;
    s->cancel_step[0] = '\0';
    /* A fresh token per job: a cancel of the previous job must not carry
     * over. It stays a child of the stop token. */
    cancel_token_destroy(&s->cancel);
    cancel_token_init(&s->cancel, &d->stop);
    s->busy = true;
    pthread_mutex_unlock(&d->lock);
    daemon_api_publish_state(d, e->id);

    mfb_log(MFB_LOG_INFO, "daemon-job",
            "queue_id=%" PRId64 " instance=%s trigger=%s attempt=%d step=begin", e->id, e->instance,
            e->trigger, e->attempts);
    if (strcmp(e->trigger, "retry") == 0)
        run_retry(s, e);
    else
        run_job(s, e);

    pthread_mutex_lock(&d->lock);
    s->busy = false;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    daemon_api_publish_state(d, e->id);
}

/* A worker thread: takes runnable queue entries and runs them, one at a
 * time, until the daemon stops. */
static void *worker_main(void *arg)
{
    struct daemon_slot *s = arg;
    struct daemon *d = s->daemon;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        bool stopping = d->stopping;
        pthread_mutex_unlock(&d->lock);
        if (stopping)
            break;
        struct queue_entry e;
        bool found = false;
        struct mfb_error err = {0};
        if (job_queue_take_limited(d->db, clock_wall_ms(), d->max_drills ? d->max_drills : 1, &e,
                                   &found, &err) != MFB_OK)
            mfb_log(MFB_LOG_ERROR, "daemon-queue", "error=%s", err.message);
        if (found) {
            run_entry(s, &e);
            continue;
        }
        pthread_mutex_lock(&d->lock);
        if (!d->stopping) {
            struct timespec until = clock_deadline_ts(DAEMON_IDLE_POLL_MS);
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
        }
        pthread_mutex_unlock(&d->lock);
    }
    return NULL;
}

/* Queues a retry, due now, for every pending_upload job of the daemon's
 * that has none: its daemon died after the archive was sealed (the
 * orphan recovery made the job pending), or before it queued the retry. */
static void queue_unretried(struct daemon *d)
{
    struct queue_pending *list = NULL;
    size_t count = 0;
    struct mfb_error err = {0};
    if (job_queue_unretried(d->db, &list, &count, &err) != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-retry", "error=%s", err.message);
        return;
    }
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < count; i++) {
        int64_t id = 0;
        if (job_queue_enqueue_retry(d->db, list[i].instance, list[i].target, list[i].job_id, now,
                                    &id, NULL, &err) != MFB_OK)
            mfb_log(MFB_LOG_ERROR, "daemon-retry", "job=%" PRId64 " error=%s", list[i].job_id,
                    err.message);
        else
            mfb_log(MFB_LOG_WARN, "daemon-retry",
                    "queue_id=%" PRId64 " instance=%s job=%" PRId64 " note=pending_at_start", id,
                    list[i].instance, list[i].job_id);
    }
    free(list);
}

mfb_status daemon_start(struct daemon *d, struct mfb_error *err)
{
    if (job_setting_u64(d->db, "retry_initial") > 0)
        queue_unretried(d);
    for (unsigned i = 0; i < d->workers; i++) {
        int rc = pthread_create(&d->slots[i].thread, NULL, worker_main, &d->slots[i]);
        if (rc != 0) {
            daemon_stop(d);
            return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start a worker thread");
        }
        d->slots[i].started = true;
    }
    mfb_status st = scheduler_start(d, err);
    if (st == MFB_OK)
        st = expect_start(d, err);
    if (st != MFB_OK)
        daemon_stop(d);
    return st;
}

void daemon_stop(struct daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    cancel_token_request(&d->stop);
    scheduler_stop(d);
    expect_stop(d);
    for (unsigned i = 0; i < d->workers; i++) {
        if (d->slots[i].started)
            pthread_join(d->slots[i].thread, NULL);
        d->slots[i].started = false;
    }
}

void daemon_destroy(struct daemon *d)
{
    if (d->slots == NULL)
        return;
    daemon_stop(d);
    for (unsigned i = 0; i < d->workers; i++)
        cancel_token_destroy(&d->slots[i].cancel);
    free(d->slots);
    d->slots = NULL;
    event_hub_free(d->events);
    d->events = NULL;
    cancel_token_destroy(&d->stop);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
}

mfb_status daemon_enqueue(struct daemon *d, const char *instance, const char *target,
                          const char *kind, const char *trigger, const char *schedule, int64_t *id,
                          bool *existed, struct mfb_error *err)
{
    struct config_instance inst;
    mfb_status st = config_instance_get(d->db, instance, &inst, err);
    if (st != MFB_OK)
        return st;
    config_instance_free(&inst);
    if (target != NULL && target[0] != '\0') {
        struct config_target t;
        st = config_target_get(d->db, target, &t, err);
        if (st != MFB_OK)
            return st;
        config_target_free(&t);
    }
    st = job_queue_enqueue_for(d->db, instance, target, kind, trigger, schedule, id, existed, err);
    if (st != MFB_OK)
        return st;
    mfb_log(MFB_LOG_INFO, "daemon-queue", "queue_id=%" PRId64 " instance=%s kind=%s trigger=%s%s",
            *id, instance, kind, trigger, existed && *existed ? " already_queued=1" : "");
    if (existed == NULL || !*existed)
        daemon_api_publish_state(d, *id);
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    return MFB_OK;
}

mfb_status daemon_cancel(struct daemon *d, int64_t id, bool discard, enum queue_state *state,
                         struct mfb_error *err)
{
    bool was_queued = false;
    mfb_status st = job_queue_cancel_queued(d->db, id, &was_queued, err);
    if (st != MFB_OK)
        return st;
    if (was_queued) {
        *state = QUEUE_QUEUED;
        mfb_log(MFB_LOG_INFO, "daemon-cancel", "queue_id=%" PRId64 " state=queued%s", id,
                discard ? " discard=1" : "");
        struct queue_entry e;
        struct mfb_error ge = {0};
        /* A waiting retry: its job keeps Data.zip for `mfb resume` unless
         * the archive is discarded. */
        if (discard && job_queue_get(d->db, id, &e, &ge) == MFB_OK && e.resume_job > 0)
            discard_archive(d, e.resume_job, id);
        daemon_api_publish_state(d, id);
        return MFB_OK;
    }
    *state = QUEUE_DONE;
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->workers; i++) {
        struct daemon_slot *s = &d->slots[i];
        if (s->busy && s->progress.queue_id == id) {
            if (!s->progress.cancel_requested)
                snprintf(s->cancel_step, sizeof(s->cancel_step), "%s",
                         job_step_name(s->progress.step));
            s->progress.cancel_requested = true;
            s->discard = s->discard || discard;
            cancel_token_request(&s->cancel);
            *state = QUEUE_RUNNING;
            /* Under the lock (daemon, then event hub): the worker's
             * "ended" state event cannot overtake this one. */
            daemon_api_publish_progress(d, &s->entry, &s->progress);
        }
    }
    pthread_mutex_unlock(&d->lock);
    if (*state == QUEUE_RUNNING)
        mfb_log(MFB_LOG_INFO, "daemon-cancel", "queue_id=%" PRId64 " state=running%s", id,
                discard ? " discard=1" : "");
    return MFB_OK;
}

bool daemon_running(struct daemon *d, int64_t id, struct daemon_progress *out)
{
    bool found = false;
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->workers && !found; i++) {
        if (d->slots[i].busy && d->slots[i].progress.queue_id == id) {
            *out = d->slots[i].progress;
            found = true;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return found;
}

unsigned daemon_busy(struct daemon *d)
{
    unsigned n = 0;
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->workers; i++)
        n += d->slots[i].busy ? 1 : 0;
    pthread_mutex_unlock(&d->lock);
    return n;
}
