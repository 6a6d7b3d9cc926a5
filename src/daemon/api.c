/*
 * api.c - the daemon's control API handlers (see api.h): routing, the
 * small JSON bodies, and the JSON of a queue entry.
 *
 * An entry's "status" is the one word a caller waits on: "queued" and
 * "running" while it is in the queue, then the job log's final status
 * (ok, failed, pending_upload, cancelled, critical: docs/logs.md), or
 * "cancelled" / "failed" for an entry that ended without a job.
 *
 * The event stream's JSON is rendered here too, so that a state or
 * progress event carries exactly the entry GET /v1/jobs/{id} gives: the
 * publishers render once per event, only when someone subscribes, and
 * the hub (daemon/events.h) copies the text to each subscriber.
 */
#include "daemon/api.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/api_metrics.h"
#include "daemon/api_ui.h"
#include "daemon/overview.h"
#include "job/progress.h"
#include "store/job_log.h"

enum route {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_JOBS,
    ROUTE_JOB,
    ROUTE_CANCEL,
    ROUTE_EVENTS,
    ROUTE_INSTANCES,
    ROUTE_SCHEDULES,
    ROUTE_SCHEDULE_PAUSE,
    ROUTE_SCHEDULE_RESUME,
    ROUTE_METRICS,
    ROUTE_UI,
};

struct daemon_api_call {
    struct daemon *d;
    enum route route;
    bool post;
    int64_t id;
    char name[CONFIG_NAME_BUF]; /* a schedule's */
    unsigned status;            /* a decided error, else 0 */
    const char *code, *message, *allow;
    char *body;
    size_t len;
    bool oom;
    struct api_ui_call *ui; /* ROUTE_UI: the web UI's own routes (api_ui.h) */
};

/* Parses a queue id: digits only, 1 or more, no overflow. */
static bool parse_id(const char *s, size_t n, int64_t *id)
{
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *id = v;
    return v > 0;
}

static void decide(struct daemon_api_call *c, unsigned status, const char *code,
                   const char *message)
{
    c->status = status;
    c->code = code;
    c->message = message;
}

static void route(struct daemon_api_call *c, const char *method, const char *url)
{
    bool get = strcmp(method, "GET") == 0;
    c->post = strcmp(method, "POST") == 0;
    const char *allow = NULL;
    if (strncmp(url, "/v1/ui/", 7) == 0) {
        c->route = ROUTE_UI;
        c->ui = api_ui_begin(c->d, method, url);
        return;
    }
    char path[1024]; /* routes other than the UI's take no query */
    snprintf(path, sizeof(path), "%.*s", (int)strcspn(url, "?"), url);
    url = path;
    if (strcmp(url, "/v1/health") == 0) {
        c->route = ROUTE_HEALTH;
        allow = get ? NULL : "GET";
    } else if (strcmp(url, "/v1/instances") == 0) {
        c->route = ROUTE_INSTANCES;
        allow = get ? NULL : "GET";
    } else if (strcmp(url, "/v1/schedules") == 0) {
        c->route = ROUTE_SCHEDULES;
        allow = get ? NULL : "GET";
    } else if (strncmp(url, "/v1/schedules/", 14) == 0) {
        const char *rest = url + 14;
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        if (n == 0 || n >= sizeof(c->name) || slash == NULL) {
            decide(c, 404, "not_found", "no such path");
            return;
        }
        memcpy(c->name, rest, n);
        c->name[n] = '\0';
        /* a name that is not UTF-8 names no schedule, and could not be
         * told back in the JSON of the answer */
        json_t *probe = json_string(c->name);
        json_decref(probe);
        if (probe == NULL) {
            decide(c, 404, "not_found", "no such schedule");
            return;
        }
        if (strcmp(slash, "/pause") == 0)
            c->route = ROUTE_SCHEDULE_PAUSE;
        else if (strcmp(slash, "/resume") == 0)
            c->route = ROUTE_SCHEDULE_RESUME;
        else {
            decide(c, 404, "not_found", "no such path");
            return;
        }
        allow = c->post ? NULL : "POST";
    } else if (strcmp(url, "/v1/events") == 0) {
        c->route = ROUTE_EVENTS;
        allow = get ? NULL : "GET";
    } else if (strcmp(url, "/metrics") == 0) {
        c->route = ROUTE_METRICS;
        allow = get ? NULL : "GET";
    } else if (strcmp(url, "/v1/jobs") == 0) {
        c->route = ROUTE_JOBS;
        allow = get || c->post ? NULL : "GET, POST";
    } else if (strncmp(url, "/v1/jobs/", 9) == 0) {
        const char *rest = url + 9;
        const char *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        if (!parse_id(rest, n, &c->id)) {
            decide(c, 404, "not_found", "no such job");
            return;
        }
        if (slash == NULL) {
            c->route = ROUTE_JOB;
            allow = get ? NULL : "GET";
        } else if (strcmp(slash, "/cancel") == 0) {
            c->route = ROUTE_CANCEL;
            allow = c->post ? NULL : "POST";
        } else {
            decide(c, 404, "not_found", "no such path");
            return;
        }
    } else {
        decide(c, 404, "not_found", "no such path");
        return;
    }
    if (allow != NULL) {
        c->allow = allow;
        decide(c, 405, "method_not_allowed", "this path does not take that method");
    }
}

struct daemon_api_call *daemon_api_begin(struct daemon *d, const char *method, const char *url,
                                         bool *decided)
{
    static struct daemon_api_call oom_call = {.oom = true};
    struct daemon_api_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        *decided = true;
        return &oom_call;
    }
    c->d = d;
    route(c, method ? method : "", url ? url : "");
    /* Only POST /v1/jobs, a cancel and the UI's posts read a body; the
     * others are decided now. */
    *decided = c->status != 0 || !(((c->route == ROUTE_JOBS || c->route == ROUTE_UI) && c->post) ||
                                   c->route == ROUTE_CANCEL);
    return c;
}

bool daemon_api_body(struct daemon_api_call *c, const char *data, size_t len)
{
    if (c->oom || c->status != 0)
        return c->len < DAEMON_API_BODY_MAX * 4 && (c->len += len, true);
    if (c->len + len > DAEMON_API_BODY_MAX) {
        decide(c, 413, "too_large", "the request body is too large");
        c->len += len;
        return true;
    }
    char *n = realloc(c->body, c->len + len + 1);
    if (n == NULL) {
        decide(c, 500, "internal", "out of memory");
        return true;
    }
    c->body = n;
    memcpy(c->body + c->len, data, len);
    c->len += len;
    c->body[c->len] = '\0';
    return true;
}

/* o NULL (it could not be built: out of memory, or text that is not
 * UTF-8) is a 500 that still carries the documented error JSON. */
static void answer(struct daemon_api_response *r, unsigned status, json_t *o)
{
    r->status = status;
    r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (r->body == NULL) {
        r->status = 500;
        r->body = strdup("{\"error\":\"internal\",\"message\":\"the answer could not be made\"}");
    }
    r->body_len = r->body ? strlen(r->body) : 0;
}

static void answer_error(struct daemon_api_response *r, unsigned status, const char *code,
                         const char *message)
{
    answer(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

static void answer_mfb_error(struct daemon_api_response *r, const struct mfb_error *err)
{
    unsigned status = 500;
    const char *code = "internal";
    switch (err->status) {
    case MFB_ERR_NOT_FOUND:
        status = 404, code = "not_found";
        break;
    case MFB_ERR_INVALID:
    case MFB_ERR_USAGE:
        status = 400, code = "bad_request";
        break;
    case MFB_ERR_BUSY:
        status = 503, code = "busy";
        break;
    default:
        break;
    }
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", err->message);
    if (o && err->hint[0])
        json_object_set_new(o, "hint", json_string(err->hint));
    answer(r, status, o);
}

static json_t *progress_json(const struct daemon_progress *p)
{
    json_t *o = json_pack(
        "{s:s, s:I, s:I, s:I, s:f, s:b, s:I, s:b}", "step", job_step_name(p->step), "elapsed_ms",
        (json_int_t)p->elapsed_ms, "bytes_done", (json_int_t)p->bytes_done, "bytes_total",
        (json_int_t)p->bytes_total, "rate", p->rate, "server_down", p->server_down, "downtime_ms",
        (json_int_t)p->downtime_ms, "cancel_requested", p->cancel_requested);
    if (o)
        json_object_set_new(o, "eta_ms", p->eta_ms >= 0 ? json_integer(p->eta_ms) : json_null());
    return o;
}

static json_t *opt_time(int64_t ms)
{
    return ms > 0 ? json_integer(ms) : json_null();
}

json_t *daemon_api_entry_json(struct daemon *d, const struct queue_entry *e,
                              const struct daemon_progress *given)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)e->id, "instance", e->instance,
                  "kind", e->kind, "trigger", e->trigger, "state", queue_state_str(e->state));
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "target", e->target[0] ? json_string(e->target) : json_null());
    json_object_set_new(o, "enqueued_ms", opt_time(e->enqueued));
    json_object_set_new(o, "started_ms", opt_time(e->started));
    json_object_set_new(o, "ended_ms", opt_time(e->ended));
    json_object_set_new(o, "attempts", json_integer(e->attempts));
    json_object_set_new(o, "next_attempt_ms",
                        e->state == QUEUE_QUEUED ? opt_time(e->next_attempt) : json_null());
    json_object_set_new(o, "retry_of",
                        e->resume_job > 0 ? json_integer(e->resume_job) : json_null());
    json_object_set_new(o, "cancelled_step",
                        e->cancelled_step[0] ? json_string(e->cancelled_step) : json_null());
    int64_t job_id = e->job_id;
    const char *status = queue_state_str(e->state);
    json_t *error = e->error[0] ? json_string(e->error) : json_null();
    struct daemon_progress p;
    if (e->state == QUEUE_RUNNING && given != NULL)
        p = *given;
    if (e->state == QUEUE_RUNNING && (given != NULL || daemon_running(d, e->id, &p))) {
        if (p.job_id > 0)
            job_id = p.job_id;
        json_object_set_new(o, "progress", progress_json(&p));
    } else if (e->state == QUEUE_DONE) {
        status = e->cancelled ? "cancelled" : "failed";
        struct job_record job;
        struct mfb_error err = {0};
        if (job_id > 0 && job_log_get(d->db, job_id, &job, &err) == MFB_OK) {
            /* A person's cancel is the entry's status, whatever the job
             * left (a kept archive stays pending_upload: job_status). */
            json_object_set_new(
                o, "status", json_string(e->cancelled ? "cancelled" : job_status_str(job.status)));
            json_object_set_new(o, "job_status", json_string(job_status_str(job.status)));
            if (job.error) {
                json_decref(error);
                error = json_string(job.error);
            }
            if (job.downtime_ms >= 0)
                json_object_set_new(o, "downtime_ms", json_integer(job.downtime_ms));
            if (job.backup_name[0])
                json_object_set_new(o, "backup_name", json_string(job.backup_name));
            job_record_free(&job);
        }
    }
    if (json_object_get(o, "status") == NULL)
        json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "job_id", job_id > 0 ? json_integer(job_id) : json_null());
    json_object_set_new(o, "error", error);
    return o;
}

static void do_health(struct daemon_api_call *c, struct daemon_api_response *r)
{
    answer(r, 200,
           json_pack("{s:s, s:s, s:i, s:i, s:I, s:i}", "status", "ok", "version", MFB_VERSION,
                     "workers", (int)c->d->workers, "running", (int)daemon_busy(c->d), "uptime_ms",
                     (json_int_t)(clock_wall_ms() - c->d->started_ms), "event_clients",
                     (int)(c->d->events ? event_hub_subscribers(c->d->events) : 0)));
}

/* GET /v1/jobs, and the stream's snapshot. */
static json_t *jobs_json(struct daemon *d, struct mfb_error *err)
{
    struct queue_entry *list = NULL;
    size_t count = 0;
    if (job_queue_list(d->db, true, 20, &list, &count, err) != MFB_OK)
        return NULL;
    json_t *jobs = json_array();
    for (size_t i = 0; jobs && i < count; i++)
        json_array_append_new(jobs, daemon_api_entry_json(d, &list[i], NULL));
    free(list);
    json_t *o = json_pack("{s:o?}", "jobs", jobs);
    if (o == NULL)
        mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    return o;
}

static void do_list(struct daemon_api_call *c, struct daemon_api_response *r)
{
    struct mfb_error err = {0};
    json_t *o = jobs_json(c->d, &err);
    if (o == NULL) {
        answer_mfb_error(r, &err);
        return;
    }
    answer(r, 200, o);
}

static void do_overview(struct daemon_api_call *c, struct daemon_api_response *r)
{
    struct mfb_error err = {0};
    json_t *o = c->route == ROUTE_INSTANCES ? overview_instances_json(c->d, &err)
                                            : overview_schedules_json(c->d, &err);
    if (o == NULL) {
        answer_mfb_error(r, &err);
        return;
    }
    answer(r, 200, o);
}

static void do_pause(struct daemon_api_call *c, struct daemon_api_response *r)
{
    struct mfb_error err = {0};
    json_t *o = NULL;
    if (overview_schedule_pause(c->d, c->name, c->route == ROUTE_SCHEDULE_PAUSE, &o, &err) !=
        MFB_OK) {
        answer_mfb_error(r, &err);
        return;
    }
    answer(r, 200, o);
}

static void do_events(struct daemon_api_call *c, struct daemon_api_response *r)
{
    r->events = c->d->events ? event_hub_subscribe(c->d->events) : NULL;
    if (r->events == NULL) {
        /* the hub's bound: each subscriber holds a connection's thread */
        answer_error(r, 503, "busy", "too many clients follow the event stream");
        return;
    }
    r->status = 200;
}

char *daemon_api_event_text(struct daemon *d, const struct event *ev)
{
    json_t *o = NULL;
    const char *data = ev->data;
    char *rendered = NULL;
    if (ev->kind == EVENT_SNAPSHOT) {
        struct mfb_error err = {0};
        o = jobs_json(d, &err);
        rendered = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (rendered == NULL)
            return NULL;
        data = rendered;
    }
    /* JSON_COMPACT text has no newline (strings escape theirs), so one
     * data: line carries it whole. */
    const char *name = event_kind_name(ev->kind);
    size_t n = strlen(name) + strlen(data) + 32;
    char *text = malloc(n);
    if (text != NULL)
        snprintf(text, n, "event: %s\ndata: %s\n\n", name, data);
    free(rendered);
    return text;
}

static void publish(struct daemon *d, enum event_kind kind, int64_t id, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text != NULL)
        event_hub_publish(d->events, kind, id, text);
    free(text);
}

void daemon_api_publish_state(struct daemon *d, int64_t id)
{
    if (d->events == NULL || event_hub_subscribers(d->events) == 0)
        return;
    struct queue_entry e;
    struct mfb_error err = {0};
    if (job_queue_get(d->db, id, &e, &err) != MFB_OK)
        return;
    publish(d, EVENT_STATE, id, daemon_api_entry_json(d, &e, NULL));
}

void daemon_api_publish_progress(struct daemon *d, const struct queue_entry *e,
                                 const struct daemon_progress *p)
{
    if (d->events == NULL || event_hub_subscribers(d->events) == 0)
        return;
    publish(d, EVENT_PROGRESS, e->id, daemon_api_entry_json(d, e, p));
}

static void do_get(struct daemon_api_call *c, struct daemon_api_response *r)
{
    struct queue_entry e;
    struct mfb_error err = {0};
    if (job_queue_get(c->d->db, c->id, &e, &err) != MFB_OK) {
        answer_mfb_error(r, &err);
        return;
    }
    answer(r, 200, daemon_api_entry_json(c->d, &e, NULL));
}

static void do_enqueue(struct daemon_api_call *c, struct daemon_api_response *r)
{
    json_error_t jerr;
    json_t *in = c->body ? json_loadb(c->body, c->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    const char *instance = NULL, *target = NULL;
    if (in == NULL || !json_is_object(in)) {
        json_decref(in);
        answer_error(r, 400, "bad_json", "the body must be a JSON object");
        return;
    }
    json_t *ji = json_object_get(in, "instance"), *jt = json_object_get(in, "target");
    if (!json_is_string(ji) || (jt != NULL && !json_is_null(jt) && !json_is_string(jt))) {
        json_decref(in);
        answer_error(r, 400, "bad_request",
                     "\"instance\" must be a string, and \"target\" a string or null");
        return;
    }
    /* who asked: "api" unless the CLI says it is the CLI (store/job_queue.h) */
    json_t *jg = json_object_get(in, "trigger");
    const char *trigger = json_is_string(jg) ? json_string_value(jg) : "api";
    if ((jg != NULL && !json_is_string(jg)) ||
        (strcmp(trigger, "api") != 0 && strcmp(trigger, "cli") != 0)) {
        json_decref(in);
        answer_error(r, 400, "bad_request", "\"trigger\" may only be \"api\" or \"cli\"");
        return;
    }
    /* what to run: a backup unless told "drill" (docs/drill.md) */
    json_t *jk = json_object_get(in, "kind");
    const char *kind = json_is_string(jk) ? json_string_value(jk) : "backup";
    if ((jk != NULL && !json_is_string(jk)) ||
        (strcmp(kind, "backup") != 0 && strcmp(kind, "drill") != 0)) {
        json_decref(in);
        answer_error(r, 400, "bad_request", "\"kind\" may only be \"backup\" or \"drill\"");
        return;
    }
    instance = json_string_value(ji);
    target = json_is_string(jt) ? json_string_value(jt) : NULL;
    int64_t id = 0;
    bool existed = false;
    struct mfb_error err = {0};
    if (daemon_enqueue(c->d, instance, target, kind, trigger, NULL, &id, &existed, &err) !=
        MFB_OK) {
        json_decref(in);
        answer_mfb_error(r, &err);
        return;
    }
    json_decref(in);
    answer(r, existed ? 200 : 201,
           json_pack("{s:I, s:b}", "id", (json_int_t)id, "already_queued", existed));
}

static void do_cancel(struct daemon_api_call *c, struct daemon_api_response *r)
{
    enum queue_state was = QUEUE_DONE;
    struct mfb_error err = {0};
    bool discard = false;
    if (c->len > 0) { /* optional {"discard":true} */
        json_t *in = json_loadb(c->body, c->len, 0, NULL);
        json_t *jd = json_object_get(in, "discard");
        if (!json_is_object(in) || (jd != NULL && !json_is_boolean(jd))) {
            json_decref(in);
            answer_error(r, 400, "bad_json", "the body must be {\"discard\": true|false}");
            return;
        }
        discard = json_is_true(jd);
        json_decref(in);
    }
    if (daemon_cancel(c->d, c->id, discard, &was, &err) != MFB_OK) {
        answer_mfb_error(r, &err);
        return;
    }
    if (was == QUEUE_DONE) {
        answer_error(r, 409, "not_running", "the job has already ended");
        return;
    }
    answer(r, 202, json_pack("{s:I, s:s}", "id", (json_int_t)c->id, "was", queue_state_str(was)));
}

void daemon_api_finish(struct daemon_api_call *c, struct daemon_api_response *r)
{
    memset(r, 0, sizeof(*r));
    if (c->oom) {
        answer_error(r, 500, "internal", "out of memory");
        return;
    }
    if (c->status != 0) {
        r->allow = c->allow;
        answer_error(r, c->status, c->code, c->message);
        return;
    }
    switch (c->route) {
    case ROUTE_HEALTH:
        do_health(c, r);
        break;
    case ROUTE_JOBS:
        if (c->post)
            do_enqueue(c, r);
        else
            do_list(c, r);
        break;
    case ROUTE_JOB:
        do_get(c, r);
        break;
    case ROUTE_CANCEL:
        do_cancel(c, r);
        break;
    case ROUTE_EVENTS:
        do_events(c, r);
        break;
    case ROUTE_INSTANCES:
    case ROUTE_SCHEDULES:
        do_overview(c, r);
        break;
    case ROUTE_SCHEDULE_PAUSE:
    case ROUTE_SCHEDULE_RESUME:
        do_pause(c, r);
        break;
    case ROUTE_METRICS:
        daemon_api_metrics(c->d, r);
        break;
    case ROUTE_UI:
        api_ui_finish(c->ui, c->body, c->len, r);
        break;
    case ROUTE_NONE:
        answer_error(r, 404, "not_found", "no such path");
        break;
    }
}

void daemon_api_call_free(struct daemon_api_call *c)
{
    if (c == NULL || c->oom)
        return;
    api_ui_free(c->ui);
    free(c->body);
    free(c);
}
