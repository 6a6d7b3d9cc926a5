/*
 * schedule_view.c - a stored schedule's next runs and JSON (see
 * schedule_view.h), over the cron module (sched/cron.h) and the zone
 * reader (sched/tzfile.h).
 */
#include "daemon/schedule_view.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sched/cron.h"
#include "sched/tzfile.h"

/* Formats t as ISO 8601 local time in zone with its offset. */
static const char *iso_local(const struct tz_zone *zone, int64_t t, char *buf, size_t len)
{
    int32_t off = tz_zone_offset(zone, t);
    time_t local = (time_t)(t + off);
    struct tm tm;
    char day[32];
    if (gmtime_r(&local, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(day, sizeof(day), "%lld", (long long)t);
    int32_t a = off < 0 ? -off : off;
    snprintf(buf, len, "%s%c%02d:%02d", day, off < 0 ? '-' : '+', (int)(a / 3600),
             (int)(a % 3600 / 60));
    return buf;
}

/* The records' times (Unix seconds) as the configuration commands print
 * them: UTC, ISO 8601. */
static json_t *json_utc(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, sizeof(buf), "%lld", (long long)t);
    return json_string(buf);
}

static json_t *json_opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

void schedule_view_next_runs(const struct config_schedule *s, int64_t now,
                             struct schedule_next_runs *out)
{
    memset(out, 0, sizeof(*out));
    struct tz_zone *zone = NULL;
    struct mfb_error err = {0};
    mfb_status st = cron_next_n(s->cron, s->tz, now, SCHEDULE_VIEW_RUNS, out->at, &err);
    if (st == MFB_OK)
        st = tz_zone_load(s->tz, &zone, &err);
    if (st != MFB_OK) {
        snprintf(out->problem, sizeof(out->problem), "%.*s", (int)sizeof(out->problem) - 1,
                 err.message);
        return;
    }
    for (int i = 0; i < SCHEDULE_VIEW_RUNS; i++)
        iso_local(zone, out->at[i], out->when[i], sizeof(out->when[i]));
    out->count = SCHEDULE_VIEW_RUNS;
    tz_zone_free(zone);
}

json_t *schedule_view_json(const struct config_schedule *s, int64_t now)
{
    struct schedule_next_runs n;
    schedule_view_next_runs(s, now, &n);
    json_t *runs = json_array();
    for (int i = 0; runs && i < n.count; i++)
        json_array_append_new(runs, json_string(n.when[i]));
    json_t *last = json_null();
    if (s->last_run_job_id != 0)
        last = json_pack("{s:I, s:o, s:o}", "job_id", (json_int_t)s->last_run_job_id, "status",
                         json_opt_str(s->last_run_status[0] ? s->last_run_status : NULL), "started",
                         s->last_run_started ? json_utc(s->last_run_started) : json_null());
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:I, s:b, s:o, s:o, s:o, s:o}", "name",
                     s->name, "instance", s->instance, "target", json_opt_str(s->target), "kind",
                     config_schedule_kind_str(s->kind), "cron", s->cron, "tz", s->tz, "catch_up",
                     config_catch_up_str(s->catch_up), "jitter_ms", (json_int_t)s->jitter_ms,
                     "paused", s->paused, "next_runs", runs, "last_run", last, "created",
                     json_utc(s->created), "updated", json_utc(s->updated));
}
