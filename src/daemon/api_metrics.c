/*
 * api_metrics.c - the daemon's GET /metrics (see api_metrics.h and
 * docs/monitoring.md).
 *
 * Every figure is read from the configuration database at the request, not
 * kept in the daemon: a foreground `mfb backup` or a job run by another
 * daemon process shows up too, and a restart of the daemon loses nothing.
 * Labels are the instance (and the schedule, the status); never a job id,
 * which would make a new series per job.
 */
#include "daemon/api_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "metrics/metrics.h"
#include "sched/cron.h"
#include "store/job_stats.h"
#include "store/schedules.h"

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

static void write_instances(struct metrics_writer *w, const struct job_stats *s, size_t n)
{
    metrics_family(w, "mfb_backup_last_success_timestamp_seconds", METRICS_GAUGE,
                   "when the instance's last good backup ended (Unix seconds)");
    for (size_t i = 0; i < n; i++)
        if (s[i].last_ok_ms > 0)
            metrics_sample1(w, "instance", s[i].instance, seconds(s[i].last_ok_ms));
    metrics_family(w, "mfb_backup_last_status", METRICS_GAUGE,
                   "1 for the status of the instance's last finished backup, 0 for the others");
    for (size_t i = 0; i < n; i++) {
        if (!s[i].has_last)
            continue;
        for (int k = JOB_STATUS_OK; k < JOB_STATUS_COUNT; k++) {
            const char *labels[] = {"instance", s[i].instance, "status",
                                    job_status_str((enum job_status)k), NULL};
            metrics_sample(w, labels, s[i].last_status == (enum job_status)k ? 1 : 0);
        }
    }
    metrics_family(w, "mfb_backup_last_duration_seconds", METRICS_GAUGE,
                   "how long the instance's last finished backup took");
    for (size_t i = 0; i < n; i++)
        if (s[i].has_last && s[i].last_ended_ms >= s[i].last_started_ms)
            metrics_sample1(w, "instance", s[i].instance,
                            seconds(s[i].last_ended_ms - s[i].last_started_ms));
    metrics_family(w, "mfb_backup_last_downtime_seconds", METRICS_GAUGE,
                   "how long the database server was down in the last finished backup");
    for (size_t i = 0; i < n; i++)
        if (s[i].has_last && s[i].last_downtime_ms >= 0)
            metrics_sample1(w, "instance", s[i].instance, seconds(s[i].last_downtime_ms));
    metrics_family(w, "mfb_backup_last_size_bytes", METRICS_GAUGE,
                   "the size of the instance's last good backup (Data.zip)");
    for (size_t i = 0; i < n; i++)
        if (s[i].last_ok_ms > 0)
            metrics_sample1(w, "instance", s[i].instance, (double)s[i].last_ok_bytes);
    metrics_family(w, "mfb_backups_total", METRICS_COUNTER,
                   "finished backups by result, as the job log holds them");
    for (size_t i = 0; i < n; i++) {
        for (int k = JOB_STATUS_OK; k < JOB_STATUS_COUNT; k++) {
            const char *labels[] = {"instance", s[i].instance, "result",
                                    job_status_str((enum job_status)k), NULL};
            metrics_sample(w, labels, (double)s[i].finished[k]);
        }
    }
    metrics_family(w, "mfb_drill_last_success_timestamp_seconds", METRICS_GAUGE,
                   "when the instance's last good restore drill ended (Unix seconds)");
    for (size_t i = 0; i < n; i++)
        if (s[i].last_drill_ok_ms > 0)
            metrics_sample1(w, "instance", s[i].instance, seconds(s[i].last_drill_ok_ms));
    metrics_family(w, "mfb_upload_retries_total", METRICS_COUNTER,
                   "chunk uploads retried, as the job log holds them");
    for (size_t i = 0; i < n; i++)
        metrics_sample1(w, "instance", s[i].instance, (double)s[i].retries);
}

static mfb_status write_schedules(struct metrics_writer *w, struct config_db *db, int64_t now_s,
                                  struct mfb_error *err)
{
    struct config_schedule *list = NULL;
    size_t n = 0;
    mfb_status st = config_schedule_list(db, &list, &n, err);
    if (st != MFB_OK)
        return st;
    metrics_family(w, "mfb_schedule_next_run_timestamp_seconds", METRICS_GAUGE,
                   "the next run time of each schedule that is not paused (Unix seconds)");
    for (size_t i = 0; i < n; i++) {
        int64_t next = 0;
        struct mfb_error ignored = {0};
        /* A schedule whose zone cannot be read has no next run: the
         * scheduler logs it; the page leaves it out. */
        if (list[i].paused || cron_next(list[i].cron, list[i].tz, now_s, &next, &ignored) != MFB_OK)
            continue;
        const char *labels[] = {"schedule", list[i].name, "instance", list[i].instance, NULL};
        metrics_sample(w, labels, (double)next);
    }
    config_schedule_list_free(list, n);
    return MFB_OK;
}

mfb_status daemon_metrics_page(struct config_db *db, int64_t now_s, char **out, size_t *len,
                               struct mfb_error *err)
{
    struct metrics_writer w;
    metrics_init(&w);
    struct job_stats *stats = NULL;
    size_t n = 0;
    struct job_queue_stats q;
    mfb_status st = job_stats_instances(db, &stats, &n, err);
    if (st == MFB_OK)
        st = job_stats_queue(db, &q, err);
    if (st == MFB_OK) {
        write_instances(&w, stats, n);
        metrics_family(&w, "mfb_jobs", METRICS_GAUGE,
                       "jobs queued, running, and waiting to resume their upload");
        metrics_sample1(&w, "state", "queued", (double)q.queued);
        metrics_sample1(&w, "state", "running", (double)q.running);
        metrics_sample1(&w, "state", "pending_upload", (double)q.pending_upload);
        st = write_schedules(&w, db, now_s, err);
    }
    if (st == MFB_OK) {
        metrics_family(&w, "mfb_build_info", METRICS_GAUGE, "the version of mfb, as a label");
        metrics_sample1(&w, "version", MFB_VERSION, 1);
        st = metrics_take(&w, out, len, err);
    }
    metrics_discard(&w);
    free(stats);
    return st;
}

void daemon_api_metrics(struct daemon *d, struct daemon_api_response *r)
{
    char *page = NULL;
    size_t len = 0;
    struct mfb_error err = {0};
    memset(r, 0, sizeof(*r));
    if (daemon_metrics_page(d->db, clock_wall_ms() / 1000, &page, &len, &err) != MFB_OK) {
        /* Prometheus shows a failed scrape (up == 0); the reason is in the
         * body for a person with curl. */
        mfb_log(MFB_LOG_ERROR, "daemon-metrics", "error=%s", LOG_Q(err.message));
        r->status = 500;
        r->body = strdup("{\"error\":\"internal\",\"message\":\"cannot read the metrics\"}");
        r->body_len = r->body ? strlen(r->body) : 0;
        return;
    }
    r->status = 200;
    r->body = page;
    r->body_len = len;
    r->content_type = METRICS_CONTENT_TYPE;
}
