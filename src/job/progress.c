/*
 * progress.c - the job's progress hub (see progress.h).
 */
#include "job/progress.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "transfer/backoff.h"

void job_progress_init(struct job_progress_hub *hub, const struct job_observer *observers,
                       size_t count, const char *instance)
{
    memset(hub, 0, sizeof(*hub));
    hub->observers = observers;
    hub->count = count;
    pthread_mutex_init(&hub->lock, NULL);
    snprintf(hub->instance, sizeof(hub->instance), "%s", instance ? instance : "");
    hub->started_ms = clock_now_ms();
    hub->step = JOB_STEP_PREFLIGHT;
    hub->step_started_ms = hub->started_ms;
}

void job_progress_destroy(struct job_progress_hub *hub)
{
    pthread_mutex_destroy(&hub->lock);
}

void job_progress_set_job(struct job_progress_hub *hub, int64_t job_id)
{
    pthread_mutex_lock(&hub->lock);
    hub->job_id = job_id;
    pthread_mutex_unlock(&hub->lock);
}

static uint64_t downtime_locked(const struct job_progress_hub *hub, uint64_t now)
{
    return hub->downtime_ms + (hub->down ? now - hub->down_since_ms : 0);
}

/* Fills the common fields; the caller holds the lock. */
static void fill(const struct job_progress_hub *hub, struct job_progress *p,
                 enum job_progress_kind kind, uint64_t now)
{
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->job_id = hub->job_id;
    p->instance = hub->instance;
    p->step = hub->step;
    p->elapsed_ms = now - hub->started_ms;
    p->bytes_done = hub->bytes_done;
    p->bytes_total = hub->bytes_total;
    p->upload_bytes = hub->upload_bytes;
    p->server_down = hub->down;
    p->downtime_ms = downtime_locked(hub, now);
    p->rate = rate_window_rate(&hub->rate);
    p->eta_ms = rate_eta_ms(p->rate, p->bytes_done, p->bytes_total);
}

static void emit(const struct job_progress_hub *hub, const struct job_progress *p)
{
    for (size_t i = 0; i < hub->count; i++)
        hub->observers[i].notify(hub->observers[i].ctx, p);
}

static void sample(struct job_progress_hub *hub, uint64_t now)
{
    rate_window_add(&hub->rate, now, hub->bytes_done);
}

void job_progress_step_begin(struct job_progress_hub *hub, enum job_step step, uint64_t total)
{
    pthread_mutex_lock(&hub->lock);
    uint64_t now = clock_now_ms();
    hub->step = step;
    hub->step_started_ms = now;
    hub->bytes_done = step == JOB_STEP_UPLOAD ? hub->upload_bytes : 0;
    hub->bytes_total = total;
    rate_window_reset(&hub->rate, JOB_PROGRESS_WINDOW_MS);
    sample(hub, now);
    struct job_progress p;
    fill(hub, &p, JOB_PROGRESS_STEP, now);
    emit(hub, &p);
    hub->last_emit_ms = now;
    pthread_mutex_unlock(&hub->lock);
}

void job_progress_step_end(struct job_progress_hub *hub, enum job_step step, uint64_t step_ms)
{
    pthread_mutex_lock(&hub->lock);
    uint64_t now = clock_now_ms();
    struct job_progress p;
    fill(hub, &p, JOB_PROGRESS_STEP, now);
    p.step = step;
    p.step_done = true;
    p.step_ms = step_ms;
    emit(hub, &p);
    pthread_mutex_unlock(&hub->lock);
}

/* Emits a BYTES event when one is due; the caller holds the lock. */
static void bytes_due(struct job_progress_hub *hub, bool force)
{
    uint64_t now = clock_now_ms();
    if (!force && now - hub->last_emit_ms < JOB_PROGRESS_INTERVAL_MS)
        return;
    sample(hub, now);
    hub->last_emit_ms = now;
    struct job_progress p;
    fill(hub, &p, JOB_PROGRESS_BYTES, now);
    emit(hub, &p);
}

void job_progress_bytes(struct job_progress_hub *hub, uint64_t done, uint64_t total)
{
    pthread_mutex_lock(&hub->lock);
    hub->bytes_done = done;
    if (total > 0)
        hub->bytes_total = total;
    bytes_due(hub, total > 0 && done == total);
    pthread_mutex_unlock(&hub->lock);
}

void job_progress_upload(struct job_progress_hub *hub, uint64_t sent)
{
    pthread_mutex_lock(&hub->lock);
    if (sent > hub->upload_bytes)
        hub->upload_bytes = sent;
    if (hub->step == JOB_STEP_UPLOAD)
        hub->bytes_done = hub->upload_bytes;
    bytes_due(hub, false);
    pthread_mutex_unlock(&hub->lock);
}

void job_progress_server(struct job_progress_hub *hub, bool down)
{
    pthread_mutex_lock(&hub->lock);
    uint64_t now = clock_now_ms();
    bool changed = down != hub->down;
    if (down && !hub->down) {
        hub->down = true;
        hub->down_since_ms = now;
    } else if (!down && hub->down) {
        hub->downtime_ms += now - hub->down_since_ms;
        hub->down = false;
    }
    /* Delivered at once: a watcher's downtime clock (the dashboard's
     * "database stopped for N s") starts when the stop is issued, not at
     * the step's next byte, which a long stop never has. */
    if (changed)
        bytes_due(hub, true);
    pthread_mutex_unlock(&hub->lock);
}

void job_progress_message(struct job_progress_hub *hub, enum job_level level, const char *message)
{
    pthread_mutex_lock(&hub->lock);
    struct job_progress p;
    fill(hub, &p, JOB_PROGRESS_MESSAGE, clock_now_ms());
    p.level = level;
    p.message = message;
    emit(hub, &p);
    pthread_mutex_unlock(&hub->lock);
}

void job_progress_done(struct job_progress_hub *hub, enum job_status status, const char *error,
                       const char *hint)
{
    pthread_mutex_lock(&hub->lock);
    struct job_progress p;
    fill(hub, &p, JOB_PROGRESS_DONE, clock_now_ms());
    p.status = status;
    p.error = error;
    p.hint = hint;
    emit(hub, &p);
    pthread_mutex_unlock(&hub->lock);
}

uint64_t job_progress_downtime(struct job_progress_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    uint64_t d = downtime_locked(hub, clock_now_ms());
    pthread_mutex_unlock(&hub->lock);
    return d;
}
