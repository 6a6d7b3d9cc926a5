/*
 * api_report.c - the web UI's report (GET /v1/ui/report, docs/ui.md): the
 * figures of `mfb report` for a period (job/report.h builds them, from the
 * same jobs: backups, not restores or resumes), plus one point per job for
 * the page's charts (start, status, duration, downtime, stored size).
 *
 * ?since= and ?until= bound the period (Unix ms or "30d"; default the last
 * 30 days), ?instance= keeps one instance, ?format=csv answers the CSV of
 * `mfb report --csv` (same header and columns) as a download.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/api_ui.h"
#include "daemon/daemon.h"
#include "job/report.h"

#define DEFAULT_PERIOD_MS (30LL * 86400000)

static json_t *instance_json(const struct report_instance *x)
{
    json_t *failures = json_array();
    for (size_t i = 0; failures && i < x->cause_count; i++)
        json_array_append_new(failures, json_pack("{s:s, s:I}", "cause", x->causes[i].cause,
                                                  "count", (json_int_t)x->causes[i].count));
    return json_pack(
        "{s:s, s:I, s:I, s:f, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o?, s:[]}", "instance",
        x->instance, "jobs", (json_int_t)x->jobs, "ok", (json_int_t)x->ok, "success_rate",
        x->success_rate, "last_success_ms",
        x->last_success_ms > 0 ? json_integer(x->last_success_ms) : json_null(), "avg_duration_ms",
        (json_int_t)x->avg_duration_ms, "max_duration_ms", (json_int_t)x->max_duration_ms,
        "avg_downtime_ms", (json_int_t)x->avg_downtime_ms, "max_downtime_ms",
        (json_int_t)x->max_downtime_ms, "avg_size", (json_int_t)x->avg_size, "total_size",
        (json_int_t)x->total_size, "growth", (json_int_t)x->growth, "failures", failures, "points");
}

static json_t *point_json(const struct job_record *j)
{
    return json_pack("{s:I, s:I, s:s, s:o, s:o, s:I}", "job_id", (json_int_t)j->id, "started_ms",
                     (json_int_t)j->started_ms, "status", job_status_str(j->status), "duration_ms",
                     j->ended_ms > 0 ? json_integer(j->ended_ms - j->started_ms) : json_null(),
                     "downtime_ms",
                     j->downtime_ms >= 0 ? json_integer(j->downtime_ms) : json_null(), "size",
                     (json_int_t)(j->status == JOB_STATUS_OK ? j->bytes_out : 0));
}

/* `mfb report --csv`'s text (cli/cmd_report.c), allocated. */
static char *csv_text(const struct report_instance *list, size_t count)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fprintf(f, "instance,jobs,ok,success_rate,last_success,avg_duration_ms,max_duration_ms,"
               "avg_downtime_ms,max_downtime_ms,avg_size,total_size,growth,failures\n");
    for (size_t i = 0; i < count; i++) {
        const struct report_instance *x = &list[i];
        char t[32] = "";
        if (x->last_success_ms > 0) {
            time_t s = (time_t)(x->last_success_ms / 1000);
            struct tm tm;
            gmtime_r(&s, &tm);
            strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        fprintf(f,
                "%s,%zu,%zu,%.4f,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRIu64
                ",%" PRIu64 ",%" PRId64 ",",
                x->instance, x->jobs, x->ok, x->success_rate, t, x->avg_duration_ms,
                x->max_duration_ms, x->avg_downtime_ms, x->max_downtime_ms, x->avg_size,
                x->total_size, x->growth);
        for (size_t c = 0; c < x->cause_count; c++)
            fprintf(f, "%s%s=%zu", c ? ";" : "", x->causes[c].cause, x->causes[c].count);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void api_report(struct api_ui_call *c, struct daemon_api_response *r)
{
    char instance[CONFIG_NAME_BUF], format[8];
    struct job_log_filter f = {0};
    if (!api_ui_arg_time(c, "since", &f.since_ms) || !api_ui_arg_time(c, "until", &f.until_ms)) {
        api_ui_error(r, 400, "bad_request",
                     "since and until take Unix ms or a number of days "
                     "(7d) or hours (12h)",
                     NULL);
        return;
    }
    if (f.since_ms == 0)
        f.since_ms = clock_wall_ms() - DEFAULT_PERIOD_MS;
    if (api_ui_arg(c, "instance", instance, sizeof(instance)))
        f.instance = instance;
    bool csv = api_ui_arg(c, "format", format, sizeof(format)) && strcmp(format, "csv") == 0;

    struct job_record *jobs = NULL;
    size_t count = 0, n = 0, out_count = 0;
    struct report_input *in = NULL;
    char(*steps)[32] = NULL;
    struct report_instance *out = NULL;
    struct mfb_error err = {0};
    mfb_status st = job_log_list(c->d->db, &f, &jobs, &count, &err);
    if (st == MFB_OK) {
        in = calloc(count + 1, sizeof(*in));
        steps = calloc(count + 1, sizeof(*steps));
        if (in == NULL || steps == NULL)
            st = mfb_error_set(&err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    /* as `mfb report` does (cli/cmd_report.c): backups only, failing step */
    for (size_t i = 0; st == MFB_OK && i < count; i++) {
        if (!report_counts_kind(jobs[i].kind))
            continue;
        if (jobs[i].error_step[0])
            snprintf(steps[n], sizeof(steps[n]), "%s", jobs[i].error_step);
        else if (jobs[i].status != JOB_STATUS_OK && jobs[i].status != JOB_STATUS_RUNNING)
            st = job_log_error_step(c->d->db, jobs[i].id, steps[n], sizeof(steps[n]), &err);
        in[n].job = &jobs[i];
        in[n].failed_step = steps[n];
        n++;
    }
    if (st == MFB_OK)
        st = report_build(in, n, &out, &out_count, &err);
    if (st != MFB_OK) {
        api_ui_mfb_error(r, &err);
    } else if (csv) {
        r->status = 200;
        r->body = csv_text(out, out_count);
        r->body_len = r->body ? strlen(r->body) : 0;
        r->content_type = "text/csv; charset=utf-8";
        if (r->body == NULL)
            api_ui_error(r, 500, "internal", "out of memory", NULL);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < out_count; i++) {
            json_t *o = instance_json(&out[i]);
            json_t *points = json_object_get(o, "points");
            /* oldest first, finished backups only, as the figures count them */
            for (size_t k = n; k-- > 0;)
                if (in[k].job->status != JOB_STATUS_RUNNING &&
                    strcmp(in[k].job->instance, out[i].instance) == 0)
                    json_array_append_new(points, point_json(in[k].job));
            json_array_append_new(arr, o);
        }
        api_ui_json(r, 200,
                    json_pack("{s:I, s:I, s:o?}", "since_ms", (json_int_t)f.since_ms, "until_ms",
                              (json_int_t)(f.until_ms ? f.until_ms : clock_wall_ms()), "instances",
                              arr));
    }
    report_free(out, out_count);
    free(in);
    free(steps);
    job_log_list_free(jobs, count);
}
