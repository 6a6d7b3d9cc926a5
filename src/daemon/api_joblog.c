/*
 * api_joblog.c - the job log for the web UI (GET /v1/ui/jobs and
 * /v1/ui/jobs/{id}, docs/ui.md): what `mfb logs` shows, as JSON.
 *
 * Filters: instance, kind (backup, resume, drill, restore), status,
 * trigger, since/until (Unix ms or "7d"), q
 * (words that must all appear in one event of the job or in its error:
 * the job log's full-text index, store/job_log.h). Pages of per (default
 * 50) jobs, newest first; "more" says whether an older page exists. The
 * trigger (who queued the job: api, cli, schedule:NAME, ...) lives in the
 * daemon's queue, not in the job log: a job without a queue entry was run
 * in the foreground (`mfb backup`) and has trigger "foreground".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api_ui.h"
#include "daemon/daemon.h"
#include "store/job_queue.h"

#define PER_PAGE_DEFAULT 50
#define PER_PAGE_MAX 500
#define SCAN_MAX 5000 /* jobs read to filter by trigger or kind */

/* The trigger of job id among the queue's entries. */
static const char *trigger_of(const struct queue_entry *q, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (q[i].job_id == id)
            return q[i].trigger;
    return "foreground";
}

static bool trigger_matches(const char *want, const char *have)
{
    if (strcmp(want, "schedule") == 0)
        return strncmp(have, "schedule:", 9) == 0;
    return strcmp(want, have) == 0;
}

void api_joblog_list(struct api_ui_call *c, struct daemon_api_response *r)
{
    char instance[CONFIG_NAME_BUF], status[32], trigger[QUEUE_TRIGGER_BUF], q[512], num[16];
    char kind[sizeof(((struct job_record *)0)->kind)];
    struct job_log_filter f = {0};
    if (api_ui_arg(c, "instance", instance, sizeof(instance)))
        f.instance = instance;
    if (api_ui_arg(c, "status", status, sizeof(status))) {
        if (!job_status_parse(status, &f.status)) {
            api_ui_error(r, 400, "bad_request", "unknown status",
                         "one of running, ok, failed, pending_upload, cancelled, critical");
            return;
        }
        f.by_status = true;
    }
    if (api_ui_arg(c, "q", q, sizeof(q)))
        f.search = q;
    if (!api_ui_arg_time(c, "since", &f.since_ms) || !api_ui_arg_time(c, "until", &f.until_ms)) {
        api_ui_error(r, 400, "bad_request",
                     "since and until take Unix ms or a number of days "
                     "(7d) or hours (12h)",
                     NULL);
        return;
    }
    bool by_trigger = api_ui_arg(c, "trigger", trigger, sizeof(trigger));
    bool by_kind = api_ui_arg(c, "kind", kind, sizeof(kind));
    size_t page = 1, per = PER_PAGE_DEFAULT;
    if (api_ui_arg(c, "page", num, sizeof(num)))
        page = (size_t)strtoul(num, NULL, 10);
    if (api_ui_arg(c, "per", num, sizeof(num)))
        per = (size_t)strtoul(num, NULL, 10);
    if (page < 1 || page > 100000 || per < 1 || per > PER_PAGE_MAX) {
        api_ui_error(r, 400, "bad_request", "page must be 1 or more and per 1 to 500", NULL);
        return;
    }
    f.limit = by_trigger || by_kind ? SCAN_MAX : page * per + 1;

    struct job_record *jobs = NULL;
    struct queue_entry *entries = NULL;
    size_t n = 0, ne = 0;
    struct mfb_error err = {0};
    if (job_log_list(c->d->db, &f, &jobs, &n, &err) != MFB_OK ||
        job_queue_list(c->d->db, true, SCAN_MAX, &entries, &ne, &err) != MFB_OK) {
        /* a search the full-text index cannot parse is the caller's */
        if (err.status == MFB_ERR_DATABASE && f.search)
            api_ui_error(r, 400, "bad_search", err.message,
                         "search for plain words; quote a phrase with \"...\"");
        else
            api_ui_mfb_error(r, &err);
        goto done;
    }
    json_t *arr = json_array();
    size_t matched = 0;
    bool more = false;
    for (size_t i = 0; arr && i < n; i++) {
        const char *trig = trigger_of(entries, ne, jobs[i].id);
        if ((by_trigger && !trigger_matches(trigger, trig)) ||
            (by_kind && strcmp(kind, jobs[i].kind) != 0))
            continue;
        matched++;
        if (matched <= (page - 1) * per)
            continue;
        if (matched > page * per) {
            more = true;
            break;
        }
        json_t *o = api_ui_job_json(&jobs[i]);
        json_object_set_new(o, "trigger", json_string(trig));
        json_array_append_new(arr, o);
    }
    api_ui_json(r, 200,
                json_pack("{s:o?, s:I, s:I, s:b}", "jobs", arr, "page", (json_int_t)page, "per",
                          (json_int_t)per, "more", more));
done:
    job_log_list_free(jobs, n);
    free(entries);
}

void api_joblog_get(struct api_ui_call *c, int64_t id, struct daemon_api_response *r)
{
    struct job_record job;
    struct job_log_event *ev = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    if (job_log_get(c->d->db, id, &job, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        return;
    }
    json_t *o = api_ui_job_json(&job);
    json_object_set_new(o, "backtrace", job.backtrace ? json_string(job.backtrace) : json_null());
    json_object_set_new(o, "system_state",
                        job.system_state ? json_string(job.system_state) : json_null());
    if (job_log_events(c->d->db, id, &ev, &n, &err) != MFB_OK) {
        json_decref(o);
        job_record_free(&job);
        api_ui_mfb_error(r, &err);
        return;
    }
    json_t *events = json_array();
    for (size_t i = 0; events && i < n; i++)
        json_array_append_new(events, json_pack("{s:I, s:s, s:s, s:s}", "time_ms",
                                                (json_int_t)ev[i].time_ms, "level",
                                                job_level_str(ev[i].level), "step", ev[i].step,
                                                "message", ev[i].message ? ev[i].message : ""));
    json_object_set_new(o, "events", events ? events : json_array());
    job_log_events_free(ev, n);
    job_record_free(&job);
    api_ui_json(r, 200, o);
}
