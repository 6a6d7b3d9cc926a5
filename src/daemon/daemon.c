/*
 * daemon.c - the daemon's worker pool over the persistent queue (see
 * daemon.h).
 *
 * A worker that finds nothing runnable sleeps on the wake condition:
 * daemon_enqueue and a finished job signal it (a finished job may make a
 * waiting entry of the same instance runnable), and it looks again every
 * second anyway, for entries whose next attempt has come.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/expect.h"
#include "daemon/scheduler.h"
#include "job/backup/backup.h"
#include "store/config_records.h"
#include "store/schedules.h"

#define DAEMON_IDLE_POLL_MS 1000

mfb_status daemon_init(struct daemon *d, struct config_db *db, unsigned workers,
                       struct mfb_error *err)
{
    memset(d, 0, sizeof(*d));
    if (workers == 0 || workers > DAEMON_WORKERS_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "the daemon needs 1 to %d workers", DAEMON_WORKERS_MAX);
        return MFB_ERR_USAGE;
    }
    d->slots = calloc(workers, sizeof(*d->slots));
    if (d->slots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
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
 * the API shows into the slot, under the daemon's lock. */
static void slot_notify(void *ctx, const struct job_progress *p)
{
    struct daemon_slot *s = ctx;
    pthread_mutex_lock(&s->daemon->lock);
    struct daemon_progress *g = &s->progress;
    if (p->job_id > 0)
        g->job_id = p->job_id;
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
    pthread_mutex_unlock(&s->daemon->lock);
}

static void run_entry(struct daemon_slot *s, const struct queue_entry *e)
{
    struct daemon *d = s->daemon;
    pthread_mutex_lock(&d->lock);
    memset(&s->progress, 0, sizeof(s->progress));
    s->progress.queue_id = e->id;
    s->progress.eta_ms = -1;
    snprintf(s->progress.instance, sizeof(s->progress.instance), "%s", e->instance);
    /* A fresh token per job: a cancel of the previous job must not carry
     * over. It stays a child of the stop token. */
    cancel_token_destroy(&s->cancel);
    cancel_token_init(&s->cancel, &d->stop);
    s->busy = true;
    pthread_mutex_unlock(&d->lock);

    mfb_log(MFB_LOG_INFO, "daemon-job", "queue_id=%" PRId64 " instance=%s trigger=%s step=begin",
            e->id, e->instance, e->trigger);
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
    struct mfb_error err = {0};
    mfb_status st = backup_run(&opt, &res, &err);
    struct mfb_error qerr = {0};
    if (res.job_id > 0 && job_queue_set_job(d->db, e->id, res.job_id, &qerr) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id,
                qerr.message);
    /* `mfb schedule list` shows a schedule's last run from its job. */
    if (res.job_id > 0 && strncmp(e->trigger, "schedule:", 9) == 0 &&
        config_schedule_set_last_run(d->db, e->trigger + 9, res.job_id, &qerr) != MFB_OK)
        mfb_log(MFB_LOG_WARN, "daemon-schedule", "schedule=%s error=%s", e->trigger + 9,
                qerr.message);
    if (job_queue_done(d->db, e->id, res.job_id > 0 ? NULL : err.message, &qerr) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-queue", "queue_id=%" PRId64 " error=%s", e->id,
                qerr.message);
    mfb_log(st == MFB_OK ? MFB_LOG_INFO : MFB_LOG_WARN, "daemon-job",
            "queue_id=%" PRId64 " instance=%s job=%" PRId64 " status=%s", e->id, e->instance,
            res.job_id, res.job_id > 0 ? job_status_str(res.status) : "failed");
    backup_result_free(&res);

    pthread_mutex_lock(&d->lock);
    s->busy = false;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
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
        if (job_queue_take(d->db, clock_wall_ms(), &e, &found, &err) != MFB_OK)
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

mfb_status daemon_start(struct daemon *d, struct mfb_error *err)
{
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
    cancel_token_destroy(&d->stop);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
}

mfb_status daemon_enqueue(struct daemon *d, const char *instance, const char *target,
                          const char *trigger, int64_t *id, bool *existed, struct mfb_error *err)
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
    st = job_queue_enqueue(d->db, instance, target, trigger, id, existed, err);
    if (st != MFB_OK)
        return st;
    mfb_log(MFB_LOG_INFO, "daemon-queue", "queue_id=%" PRId64 " instance=%s trigger=%s%s", *id,
            instance, trigger, existed && *existed ? " already_queued=1" : "");
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    return MFB_OK;
}

mfb_status daemon_cancel(struct daemon *d, int64_t id, enum queue_state *state,
                         struct mfb_error *err)
{
    bool was_queued = false;
    mfb_status st = job_queue_cancel_queued(d->db, id, &was_queued, err);
    if (st != MFB_OK)
        return st;
    if (was_queued) {
        *state = QUEUE_QUEUED;
        mfb_log(MFB_LOG_INFO, "daemon-cancel", "queue_id=%" PRId64 " state=queued", id);
        return MFB_OK;
    }
    *state = QUEUE_DONE;
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->workers; i++) {
        struct daemon_slot *s = &d->slots[i];
        if (s->busy && s->progress.queue_id == id) {
            s->progress.cancel_requested = true;
            cancel_token_request(&s->cancel);
            *state = QUEUE_RUNNING;
        }
    }
    pthread_mutex_unlock(&d->lock);
    if (*state == QUEUE_RUNNING)
        mfb_log(MFB_LOG_INFO, "daemon-cancel", "queue_id=%" PRId64 " state=running", id);
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
