/*
 * expect.c - the receiver's silence alarms (see expect.h).
 *
 * The checker sleeps a quarter of the shortest expectation
 * (SILENCE_POLL_MIN_MS to SILENCE_POLL_MAX_MS). Channels are read from the
 * catalog only when there is something to send, so `mfb-server alert add`
 * takes effect without a restart. A removed client's expectations are not
 * checked: its token no longer works, so silence is expected.
 */
#include "server/expect.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "alert/silence.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "server/server.h"
#include "store/server_monitor.h"

struct server_expect {
    struct server *srv;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

static const char *utc_time(int64_t s, char *buf, size_t len)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static void send_alarm(struct server_db *db, const struct srv_expect *e, enum silence_action act,
                       int64_t now)
{
    int64_t from = e->last_backup > 0 ? e->last_backup : e->created;
    char age[64], every[64], last[32] = "never", since[32], host[256] = "";
    gethostname(host, sizeof(host) - 1);
    format_duration_ms((uint64_t)(now > from ? now - from : 0) * 1000, age, sizeof(age));
    format_duration_ms((uint64_t)e->every_s * 1000, every, sizeof(every));
    char subject[512], text[2048];
    struct alert a = {
        .instance = e->instance, .client = e->client, .subject = subject, .text = text};
    if (act == SILENCE_RECOVER) {
        a.event = "receiver_backup_overdue_resolved";
        a.severity = CONFIG_SEVERITY_INFO;
        snprintf(subject, sizeof(subject), "mfb-server: %s/%s stored a backup again", e->client,
                 e->instance);
        snprintf(text, sizeof(text),
                 "Instance '%s' of client '%s' is within its expectation on the receiver %s "
                 "again: its newest complete backup was stored at %s, and one is expected every "
                 "%s. The alarm raised at %s is over.\n",
                 e->instance, e->client, host,
                 e->last_backup > 0 ? utc_time(e->last_backup, last, sizeof(last)) : "(never)",
                 every, utc_time(e->alarm_since, since, sizeof(since)));
        log_info("expect-recovered", "client=%s instance=%s last=%s", e->client, e->instance, last);
    } else {
        a.event = "receiver_backup_overdue";
        a.severity = CONFIG_SEVERITY_CRITICAL;
        a.hint = "check the client host: is it up, does its daemon run (mfb daemon status), "
                 "and what does its job log say (mfb logs)";
        snprintf(subject, sizeof(subject),
                 "mfb-server: no complete backup of %s/%s for %s (expected every %s)", e->client,
                 e->instance, age, every);
        char lastline[160];
        if (e->last_backup > 0)
            snprintf(lastline, sizeof(lastline), "The newest one was stored at %s.",
                     utc_time(e->last_backup, last, sizeof(last)));
        else
            snprintf(lastline, sizeof(lastline),
                     "It has stored none since the expectation was set at %s.",
                     utc_time(e->created, last, sizeof(last)));
        snprintf(text, sizeof(text),
                 "The receiver %s has had no complete backup of instance '%s' from client '%s' "
                 "for %s; one is expected every %s (mfb-server expect set). %s\n\n"
                 "The client host may be down, its daemon stopped, its schedule paused, or its "
                 "uploads failing: check the client (mfb daemon status, mfb logs --instance %s) "
                 "and this receiver's log.%s\n",
                 host, e->instance, e->client, age, every, lastline, e->instance,
                 act == SILENCE_REPEAT ? "\n\nThis alarm repeats while it lasts." : "");
        log_warn("expect-overdue", "client=%s instance=%s age=%s every=%s repeat=%s", e->client,
                 e->instance, age, every, act == SILENCE_REPEAT ? "yes" : "no");
    }
    struct config_alert *list = NULL;
    size_t n = 0, sent = 0, failed = 0;
    struct mfb_error err = {0};
    if (server_db_alert_list(db, &list, &n, &err) != MFB_OK) {
        log_error("alert", "event=%s error=%s", a.event, LOG_Q(err.message));
        return;
    }
    if (n == 0)
        log_warn("alert",
                 "event=%s note=no_alert_channel_configured hint=\"mfb-server alert "
                 "add\"",
                 a.event);
    alert_dispatch_list(list, n, &a, CONFIG_SEVERITY_CRITICAL, &sent, &failed);
    config_alert_list_free(list, n);
}

/* Checks every expectation; returns how long to sleep. */
static uint64_t check_all(struct server *srv)
{
    uint64_t poll = SILENCE_POLL_MAX_MS;
    struct srv_expect *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    if (server_db_expect_list(srv->db, &list, &n, &err) != MFB_OK) {
        log_error("expect", "error=%s", LOG_Q(err.message));
        return poll;
    }
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const struct srv_expect *e = &list[i];
        if (!e->client_active)
            continue;
        uint64_t every_ms = (uint64_t)e->every_s * 1000;
        poll = silence_poll_ms(every_ms, poll);
        enum silence_action act =
            silence_decide(every_ms, e->last_backup * 1000, e->created * 1000, now * 1000,
                           e->alarm_since > 0, e->alarm_sent * 1000);
        if (act == SILENCE_NOTHING)
            continue;
        send_alarm(srv->db, e, act, now);
        int64_t since = act == SILENCE_RECOVER ? 0 : act == SILENCE_FIRE ? now : e->alarm_since;
        if (server_db_expect_alarm(srv->db, e->client_id, e->instance, since, now, &err) != MFB_OK)
            log_error("expect", "client=%s instance=%s error=%s", e->client, e->instance,
                      LOG_Q(err.message));
    }
    free(list);
    return poll;
}

/* The checker thread: checks, then sleeps until the next look or the
 * stop. */
static void *expect_main(void *arg)
{
    struct server_expect *x = arg;
    for (;;) {
        uint64_t sleep_ms = check_all(x->srv);
        pthread_mutex_lock(&x->lock);
        if (!x->stopping) {
            struct timespec until = clock_deadline_ts(sleep_ms);
            pthread_cond_timedwait(&x->wake, &x->lock, &until);
        }
        bool stopping = x->stopping;
        pthread_mutex_unlock(&x->lock);
        if (stopping)
            break;
    }
    return NULL;
}

mfb_status server_expect_start(struct server *srv, struct server_expect **out,
                               struct mfb_error *err)
{
    *out = NULL;
    struct server_expect *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    x->srv = srv;
    pthread_mutex_init(&x->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->wake, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&x->thread, NULL, expect_main, x);
    if (rc != 0) {
        pthread_cond_destroy(&x->wake);
        pthread_mutex_destroy(&x->lock);
        free(x);
        return mfb_error_errno(err, rc, MFB_ERR_INTERNAL, "cannot start the expectation checker");
    }
    *out = x;
    return MFB_OK;
}

void server_expect_stop(struct server_expect *x)
{
    if (x == NULL)
        return;
    pthread_mutex_lock(&x->lock);
    x->stopping = true;
    pthread_cond_broadcast(&x->wake);
    pthread_mutex_unlock(&x->lock);
    pthread_join(x->thread, NULL);
    pthread_cond_destroy(&x->wake);
    pthread_mutex_destroy(&x->lock);
    free(x);
}
