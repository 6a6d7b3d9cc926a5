/*
 * expect.c - the daemon's silence alarms (see expect.h and
 * docs/monitoring.md).
 *
 * The checker thread looks at every instance with an expectation, then
 * sleeps a quarter of the shortest one (SILENCE_POLL_MIN_MS to
 * SILENCE_POLL_MAX_MS), or until the daemon's wake condition is signalled:
 * a job that just ended then gets its recovery notice at once. Every figure
 * comes from the job log (store/job_stats.h), so a foreground `mfb backup`
 * counts as much as a job of the daemon.
 */
#include "daemon/expect.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "daemon/daemon.h"
#include "store/config_records.h"
#include "store/expect_alarms.h"
#include "store/job_stats.h"

static const char *utc_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* One expectation of one instance. */
struct check {
    const char *instance;
    enum expect_what what;
    uint64_t every_ms;
    int64_t last_ms; /* the last good one's end, 0: never */
    int64_t base_ms; /* when the instance was added */
};

static void send_alarm(struct daemon *d, const struct check *c, enum silence_action act,
                       int64_t now_ms, const struct expect_alarm *alarm)
{
    const char *what = expect_what_str(c->what);
    int64_t from = c->last_ms > 0 ? c->last_ms : c->base_ms;
    char age[64], every[64], last[32] = "never", since[32], host[256] = "";
    gethostname(host, sizeof(host) - 1);
    format_duration_ms((uint64_t)(now_ms > from ? now_ms - from : 0), age, sizeof(age));
    format_duration_ms(c->every_ms, every, sizeof(every));
    const char *option = c->what == EXPECT_DRILL ? "--expect-drill-every" : "--expect-every";
    char subject[512], text[2048], event[48];
    struct alert a = {.instance = c->instance, .subject = subject, .text = text, .event = event};
    if (act == SILENCE_RECOVER) {
        snprintf(event, sizeof(event), "%s_overdue_resolved", what);
        a.severity = CONFIG_SEVERITY_INFO;
        snprintf(subject, sizeof(subject), "mfb: instance %s has a good %s again", c->instance,
                 what);
        snprintf(text, sizeof(text),
                 "Instance '%s' on %s is within its expectation again: its last good %s ended "
                 "at %s, and one is expected every %s. The alarm raised at %s is over.\n",
                 c->instance, host, what,
                 c->last_ms > 0 ? utc_time(c->last_ms, last, sizeof(last)) : "(never)", every,
                 utc_time(alarm->since_ms, since, sizeof(since)));
    } else {
        snprintf(event, sizeof(event), "%s_overdue", what);
        a.severity = CONFIG_SEVERITY_CRITICAL;
        a.hint = "check that the daemon runs (mfb daemon status), that the instance's schedule "
                 "is not paused (mfb schedule list), and the job log (mfb logs)";
        snprintf(subject, sizeof(subject), "mfb: no good %s of %s for %s (expected every %s)", what,
                 c->instance, age, every);
        char lastline[160];
        if (c->last_ms > 0)
            snprintf(lastline, sizeof(lastline), "Its last good %s ended at %s.", what,
                     utc_time(c->last_ms, last, sizeof(last)));
        else
            snprintf(lastline, sizeof(lastline), "It has never had a good %s; it was added at %s.",
                     what, utc_time(c->base_ms, last, sizeof(last)));
        snprintf(text, sizeof(text),
                 "Instance '%s' on %s has had no good %s for %s; one is expected every %s "
                 "(mfb instance set %s %s). %s\n\n"
                 "A failed job sends its own alert, so %ss may not be running at all: check "
                 "that the daemon runs (mfb daemon status), that the instance's schedule is "
                 "not paused (mfb schedule list), and the job log (mfb logs --instance %s).%s\n",
                 c->instance, host, what, age, every, c->instance, option, lastline, what,
                 c->instance,
                 act == SILENCE_REPEAT ? "\n\nThis alarm repeats while it lasts." : "");
    }
    if (act == SILENCE_RECOVER)
        log_info("expect-recovered", "instance=%s what=%s last=%s", c->instance, what, last);
    else
        log_warn("expect-overdue", "instance=%s what=%s age=%s every=%s repeat=%s", c->instance,
                 what, age, every, act == SILENCE_REPEAT ? "yes" : "no");
    if (!d->no_alerts)
        alert_dispatch_as(d->db, &a, CONFIG_SEVERITY_CRITICAL, NULL, NULL);
}

static void check_one(struct daemon *d, const struct check *c, int64_t now_ms)
{
    struct expect_alarm alarm = {0};
    bool firing = false;
    struct mfb_error err = {0};
    if (expect_alarm_get(d->db, c->instance, c->what, &alarm, &firing, &err) != MFB_OK) {
        log_error("expect", "instance=%s error=%s", c->instance, LOG_Q(err.message));
        return;
    }
    enum silence_action act =
        silence_decide(c->every_ms, c->last_ms, c->base_ms, now_ms, firing, alarm.last_sent_ms);
    if (act == SILENCE_NOTHING)
        return;
    send_alarm(d, c, act, now_ms, &alarm);
    mfb_status st;
    if (act == SILENCE_RECOVER) {
        st = expect_alarm_clear(d->db, c->instance, c->what, &err);
    } else {
        struct expect_alarm next = {.since_ms = act == SILENCE_FIRE ? now_ms : alarm.since_ms,
                                    .last_sent_ms = now_ms};
        st = expect_alarm_set(d->db, c->instance, c->what, &next, &err);
    }
    if (st != MFB_OK)
        log_error("expect", "instance=%s error=%s", c->instance, LOG_Q(err.message));
}

/* Checks every expectation; returns how long to sleep. */
static uint64_t check_all(struct daemon *d)
{
    uint64_t poll = SILENCE_POLL_MAX_MS;
    struct config_instance *list = NULL;
    struct job_stats *stats = NULL;
    size_t n = 0, ns = 0;
    struct mfb_error err = {0};
    if (config_instance_list(d->db, &list, &n, &err) != MFB_OK) {
        log_error("expect", "error=%s", LOG_Q(err.message));
        goto done;
    }
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= list[i].expect_every_ms > 0 || list[i].expect_drill_every_ms > 0;
    /* the prune also ends alarms whose expectation was removed */
    if (expect_alarm_prune(d->db, &err) != MFB_OK ||
        (any && job_stats_instances(d->db, &stats, &ns, &err) != MFB_OK)) {
        log_error("expect", "error=%s", LOG_Q(err.message));
        goto done;
    }
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < n; i++) {
        const struct job_stats *s = NULL;
        for (size_t k = 0; k < ns && s == NULL; k++)
            if (strcmp(stats[k].instance, list[i].name) == 0)
                s = &stats[k];
        struct check c = {.instance = list[i].name, .base_ms = list[i].created * 1000};
        if (list[i].expect_every_ms > 0) {
            c.what = EXPECT_BACKUP;
            c.every_ms = list[i].expect_every_ms;
            c.last_ms = s ? s->last_ok_ms : 0;
            check_one(d, &c, now);
            poll = silence_poll_ms(c.every_ms, poll);
        }
        if (list[i].expect_drill_every_ms > 0) {
            c.what = EXPECT_DRILL;
            c.every_ms = list[i].expect_drill_every_ms;
            c.last_ms = s ? s->last_drill_ok_ms : 0;
            check_one(d, &c, now);
            poll = silence_poll_ms(c.every_ms, poll);
        }
    }
done:
    config_instance_list_free(list, n);
    free(stats);
    return poll;
}

/* The checker thread: checks, then sleeps until the next look, a wake
 * (a job ended) or the daemon's stop. */
static void *expect_main(void *arg)
{
    struct daemon *d = arg;
    for (;;) {
        uint64_t sleep_ms = check_all(d);
        pthread_mutex_lock(&d->lock);
        if (!d->stopping) {
            struct timespec until = clock_deadline_ts(sleep_ms);
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
        }
        bool stopping = d->stopping;
        pthread_mutex_unlock(&d->lock);
        if (stopping)
            break;
    }
    return NULL;
}

mfb_status expect_start(struct daemon *d, struct mfb_error *err)
{
    int rc = pthread_create(&d->expect_thread, NULL, expect_main, d);
    if (rc != 0)
        return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start the expectation checker");
    d->expect_started = true;
    return MFB_OK;
}

void expect_stop(struct daemon *d)
{
    if (!d->expect_started)
        return;
    pthread_join(d->expect_thread, NULL);
    d->expect_started = false;
}
