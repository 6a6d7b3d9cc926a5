/*
 * scheduler.c - the daemon's scheduler thread and its decision (see
 * scheduler.h).
 *
 * Each round re-reads the schedules, so an added, changed, paused or
 * removed schedule takes effect at the next round without a restart; the
 * thread sleeps until the earliest next run time or a jittered entry is
 * due, at most SCHED_POLL_MAX_MS, and daemon_stop wakes it at once. The
 * per-schedule state (its start point and a jittered entry that waits) is
 * the thread's own; only the queue is shared with the workers.
 */
#include "daemon/scheduler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "store/job_queue.h"

mfb_status sched_decide(const struct cron_expr *expr, const struct tz_zone *zone,
                        enum config_catch_up policy, int64_t last, int64_t now,
                        struct sched_decision *out, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    if (last > now)
        last = now;
    int64_t first = 0;
    mfb_status st = cron_expr_next(expr, zone, last, &first, err);
    if (st != MFB_OK)
        return st;
    if (first > now) {
        out->action = SCHED_NOTHING;
        out->last = last;
        out->next = first;
        return MFB_OK;
    }
    /* The run time within the grace window, if any: it is on time. The
     * window is shorter than a minute's step, so it holds at most one. */
    int64_t recent = 0;
    st = cron_expr_next(expr, zone, now - SCHED_GRACE_S, &recent, err);
    if (st != MFB_OK)
        return st;
    bool on_time = recent <= now;
    bool missed = first <= now - SCHED_GRACE_S;
    if (!missed)
        out->action = SCHED_FIRE;
    else if (policy == CONFIG_CATCH_UP_ONCE)
        out->action = SCHED_CATCH_UP; /* one entry for all missed runs, the due one too */
    else
        out->action = on_time ? SCHED_FIRE : SCHED_NOTHING;
    out->last = now;
    return cron_expr_next(expr, zone, now, &out->next, err);
}

/* What the thread remembers of one schedule. */
struct sched_state {
    int64_t id;
    int64_t updated;
    int64_t last;              /* start point, Unix seconds */
    enum sched_action pending; /* an entry delayed by the jitter */
    int64_t pending_ms;        /* when to queue it (wall ms) */
    bool seen;                 /* still stored, this round */
};

struct sched_thread {
    struct daemon *d;
    struct sched_state *states;
    size_t count, cap;
    uint64_t rng;
};

static uint64_t next_random(struct sched_thread *t)
{
    /* xorshift64: the jitter only spreads runs, it needs no strength. */
    uint64_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return x;
}

static struct sched_state *state_of(struct sched_thread *t, const struct config_schedule *s)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->states[i].id == s->id)
            return &t->states[i];
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct sched_state *n = realloc(t->states, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        t->states = n;
        t->cap = cap;
    }
    struct sched_state *st = &t->states[t->count++];
    memset(st, 0, sizeof(*st));
    st->id = s->id;
    st->updated = s->updated;
    /* Missed runs are those after the last fire, and never before the
     * schedule (or its last change) existed. */
    st->last = s->created > s->updated ? s->created : s->updated;
    int64_t fired_ms = 0;
    struct mfb_error err = {0};
    if (config_schedule_last_fired(t->d->db, s, &fired_ms, &err) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-schedule", "schedule=%s error=%s", s->name, err.message);
    if (fired_ms / 1000 > st->last)
        st->last = fired_ms / 1000;
    return st;
}

static void enqueue(struct sched_thread *t, const struct config_schedule *s, enum sched_action a)
{
    char trigger[QUEUE_TRIGGER_BUF];
    if (a == SCHED_CATCH_UP)
        snprintf(trigger, sizeof(trigger), "catch-up");
    else
        snprintf(trigger, sizeof(trigger), "schedule:%s", s->name);
    int64_t id = 0;
    bool existed = false;
    struct mfb_error err = {0};
    if (daemon_enqueue(t->d, s->instance, s->target, config_schedule_kind_str(s->kind), trigger,
                       s->name, &id, &existed, &err) != MFB_OK)
        mfb_log(MFB_LOG_ERROR, "daemon-schedule", "schedule=%s instance=%s error=%s", s->name,
                s->instance, err.message);
    else
        mfb_log(MFB_LOG_INFO, "daemon-schedule", "schedule=%s trigger=%s queue_id=%" PRId64,
                s->name, trigger, id);
}

static int64_t earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* One schedule's turn; lowers *wake_ms to when it needs the next look. */
static void round_one(struct sched_thread *t, const struct config_schedule *s, int64_t now_ms,
                      int64_t *wake_ms)
{
    struct sched_state *st = state_of(t, s);
    if (st == NULL) {
        mfb_log(MFB_LOG_ERROR, "daemon-schedule", "schedule=%s error=out of memory", s->name);
        return;
    }
    st->seen = true;
    if (st->updated != s->updated) {
        /* Changed or resumed: runs before the change were not missed. */
        st->updated = s->updated;
        if (s->updated > st->last)
            st->last = s->updated;
    }
    if (st->pending != SCHED_NOTHING) {
        if (now_ms < st->pending_ms) {
            *wake_ms = earlier(*wake_ms, st->pending_ms);
            return;
        }
        enqueue(t, s, st->pending);
        st->pending = SCHED_NOTHING;
    }
    struct cron_expr expr;
    struct tz_zone *zone = NULL;
    struct sched_decision dec;
    struct mfb_error err = {0};
    if (cron_parse(s->cron, &expr, &err) != MFB_OK || tz_zone_load(s->tz, &zone, &err) != MFB_OK ||
        sched_decide(&expr, zone, s->catch_up, st->last, now_ms / 1000, &dec, &err) != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-schedule", "schedule=%s error=%s", s->name, err.message);
        tz_zone_free(zone);
        return;
    }
    tz_zone_free(zone);
    st->last = dec.last;
    *wake_ms = earlier(*wake_ms, dec.next * 1000);
    if (dec.action == SCHED_NOTHING)
        return;
    uint64_t delay = s->jitter_ms ? next_random(t) % (s->jitter_ms + 1) : 0;
    if (delay == 0) {
        enqueue(t, s, dec.action);
        return;
    }
    st->pending = dec.action;
    st->pending_ms = now_ms + (int64_t)delay;
    *wake_ms = earlier(*wake_ms, st->pending_ms);
    mfb_log(MFB_LOG_INFO, "daemon-schedule", "schedule=%s jitter_ms=%" PRIu64, s->name, delay);
}

/* One round over the stored schedules; returns when to look again. */
static int64_t round_all(struct sched_thread *t)
{
    int64_t now_ms = clock_wall_ms();
    int64_t wake_ms = now_ms + SCHED_POLL_MAX_MS;
    struct config_schedule *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    if (config_schedule_list(t->d->db, &list, &n, &err) != MFB_OK) {
        mfb_log(MFB_LOG_ERROR, "daemon-schedule", "error=%s", err.message);
        return wake_ms;
    }
    for (size_t i = 0; i < t->count; i++)
        t->states[i].seen = false;
    for (size_t i = 0; i < n; i++)
        if (!list[i].paused)
            round_one(t, &list[i], now_ms, &wake_ms);
    config_schedule_list_free(list, n);
    /* Forget removed and paused schedules (with a delayed entry): a
     * resumed one starts again from its resume time. */
    size_t k = 0;
    for (size_t i = 0; i < t->count; i++)
        if (t->states[i].seen)
            t->states[k++] = t->states[i];
    t->count = k;
    return wake_ms;
}

static void *scheduler_main(void *arg)
{
    struct daemon *d = arg;
    struct sched_thread t = {.d = d};
    t.rng = (uint64_t)clock_wall_ms() * 0x9E3779B97F4A7C15ull | 1;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        bool stopping = d->stopping;
        d->sched_reload = false;
        pthread_mutex_unlock(&d->lock);
        if (stopping)
            break;
        int64_t wake_ms = round_all(&t);
        int64_t wait_ms = wake_ms - clock_wall_ms();
        if (wait_ms < 10)
            wait_ms = 10; /* never spin, even if the wall clock stalls */
        if (wait_ms > SCHED_POLL_MAX_MS)
            wait_ms = SCHED_POLL_MAX_MS;
        pthread_mutex_lock(&d->lock);
        if (!d->stopping && !d->sched_reload) {
            struct timespec until = clock_deadline_ts((uint64_t)wait_ms);
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
        }
        pthread_mutex_unlock(&d->lock);
    }
    free(t.states);
    return NULL;
}

mfb_status scheduler_start(struct daemon *d, struct mfb_error *err)
{
    int rc = pthread_create(&d->sched_thread, NULL, scheduler_main, d);
    if (rc != 0)
        return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start the scheduler thread");
    d->sched_started = true;
    return MFB_OK;
}

void scheduler_stop(struct daemon *d)
{
    /* daemon_stop has set stopping and woken everyone. */
    if (d->sched_started)
        pthread_join(d->sched_thread, NULL);
    d->sched_started = false;
}

void scheduler_reload(struct daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->sched_reload = true;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
}
