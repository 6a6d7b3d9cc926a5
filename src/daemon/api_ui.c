/*
 * api_ui.c - routing of the web UI's /v1/ui/ routes, the helpers their
 * handlers share, and the dashboard's instance list (see api_ui.h).
 *
 * The dashboard's live part (queued, running, progress) comes from
 * GET /v1/jobs or the event stream; this list adds what only the stored
 * configuration and job log know: the last job, the last success, the
 * next scheduled run, and whether a scheduled run was missed (overdue: a
 * run time of an active schedule passed more than an hour ago without a
 * successful backup since).
 */
#include "daemon/api_ui.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/daemon.h"
#include "sched/cron.h"
#include "store/config_records.h"
#include "store/schedules.h"

#define OVERDUE_GRACE_S 3600

struct api_ui_call *api_ui_begin(struct daemon *d, const char *method, const char *url)
{
    struct api_ui_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->d = d;
    c->post = strcmp(method, "POST") == 0;
    const char *rest = url + 6; /* "/v1/ui" */
    size_t n = strcspn(rest, "?");
    c->path = strndup(rest, n);
    c->query = strdup(rest[n] == '?' ? rest + n + 1 : "");
    if (c->path == NULL || c->query == NULL) {
        api_ui_free(c);
        return NULL;
    }
    return c;
}

void api_ui_free(struct api_ui_call *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->query);
    free(c);
}

void api_ui_json(struct daemon_api_response *r, unsigned status, json_t *o)
{
    r->status = status;
    r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    r->body_len = r->body ? strlen(r->body) : 0;
    if (r->body == NULL)
        r->status = 500;
    json_decref(o);
}

void api_ui_error(struct daemon_api_response *r, unsigned status, const char *code,
                  const char *message, const char *hint)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
    if (o && hint && hint[0])
        json_object_set_new(o, "hint", json_string(hint));
    api_ui_json(r, status, o);
}

void api_ui_mfb_error(struct daemon_api_response *r, const struct mfb_error *err)
{
    unsigned status = 500;
    const char *code = "internal";
    if (err->status == MFB_ERR_NOT_FOUND)
        status = 404, code = "not_found";
    else if (err->status == MFB_ERR_INVALID || err->status == MFB_ERR_USAGE)
        status = 400, code = "bad_request";
    else if (err->status == MFB_ERR_BUSY)
        status = 409, code = "busy";
    api_ui_error(r, status, code, err->message, err->hint);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool api_ui_arg(const struct api_ui_call *c, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = c->query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1; i < n; i++) {
                char ch = p[i];
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
                           hexval(p[i + 2]) >= 0) {
                    ch = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
                    i += 2;
                }
                if (o + 1 >= len || ch == '\0')
                    return false;
                out[o++] = ch;
            }
            out[o] = '\0';
            return o > 0;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

bool api_ui_arg_time(const struct api_ui_call *c, const char *name, int64_t *ms)
{
    char v[32];
    *ms = 0;
    if (!api_ui_arg(c, name, v, sizeof(v)))
        return true;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (end == v || n < 0)
        return false;
    if (*end == '\0')
        *ms = n;
    else if (strcmp(end, "d") == 0)
        *ms = clock_wall_ms() - n * 86400000LL;
    else if (strcmp(end, "h") == 0)
        *ms = clock_wall_ms() - n * 3600000LL;
    else
        return false;
    return true;
}

static json_t *opt_ms(int64_t ms)
{
    return ms > 0 ? json_integer(ms) : json_null();
}

static json_t *opt_str(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

json_t *api_ui_job_json(const struct job_record *j)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I}", "id", (json_int_t)j->id,
                  "instance", j->instance, "kind", j->kind, "status", job_status_str(j->status),
                  "started_ms", opt_ms(j->started_ms), "ended_ms", opt_ms(j->ended_ms), "bytes_in",
                  (json_int_t)j->bytes_in, "bytes_out", (json_int_t)j->bytes_out, "chunks",
                  (json_int_t)j->chunks, "retries", (json_int_t)j->retries);
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "target", opt_str(j->target));
    json_object_set_new(o, "host", opt_str(j->host));
    json_object_set_new(o, "downtime_ms",
                        j->downtime_ms >= 0 ? json_integer(j->downtime_ms) : json_null());
    json_object_set_new(o, "duration_ms",
                        j->ended_ms > 0 ? json_integer(j->ended_ms - j->started_ms) : json_null());
    json_t *steps = json_object();
    for (int s = 0; steps && s < JOB_STEP_COUNT; s++)
        if (j->step_ms[s] >= 0)
            json_object_set_new(steps, job_step_name((enum job_step)s),
                                json_integer(j->step_ms[s]));
    json_object_set_new(o, "steps", steps ? steps : json_null());
    json_object_set_new(o, "backup_name", opt_str(j->backup_name));
    json_object_set_new(o, "backup_id", opt_str(j->backup_id));
    json_object_set_new(o, "error", opt_str(j->error));
    json_object_set_new(o, "hint", opt_str(j->hint));
    json_object_set_new(o, "error_step", opt_str(j->error_step));
    return o;
}

/* The earliest next run of the instance's active schedules (Unix s, 0:
 * none) and whether one of them missed a run since the last success. */
static void next_run(const struct config_schedule *list, size_t count, const char *instance,
                     int64_t last_ok_ms, int64_t *next_s, bool *overdue, const char **name)
{
    int64_t now = clock_wall_ms() / 1000;
    *next_s = 0;
    *overdue = false;
    *name = NULL;
    for (size_t i = 0; i < count; i++) {
        const struct config_schedule *s = &list[i];
        if (s->paused || strcmp(s->instance, instance) != 0)
            continue;
        int64_t next = 0, due = 0;
        struct mfb_error err = {0};
        if (cron_next(s->cron, s->tz, now, &next, &err) != MFB_OK)
            continue;
        if (*next_s == 0 || next < *next_s) {
            *next_s = next;
            *name = s->name;
        }
        /* since the last success, or since the schedule was made or changed */
        int64_t from = last_ok_ms / 1000 > s->updated ? last_ok_ms / 1000 : s->updated;
        if (cron_next(s->cron, s->tz, from, &due, &err) == MFB_OK && due + OVERDUE_GRACE_S < now)
            *overdue = true;
    }
}

void api_ui_instances(struct api_ui_call *c, struct daemon_api_response *r)
{
    struct config_db *db = c->d->db;
    struct config_instance *insts = NULL;
    struct config_schedule *scheds = NULL;
    size_t ninst = 0, nsched = 0;
    struct mfb_error err = {0};
    if (config_instance_list(db, &insts, &ninst, &err) != MFB_OK ||
        config_schedule_list(db, &scheds, &nsched, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        goto done;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < ninst; i++) {
        const char *name = insts[i].name;
        json_t *o = json_pack("{s:s}", "name", name);
        struct job_record *jobs = NULL;
        size_t n = 0;
        struct job_log_filter f = {.instance = name, .limit = 1};
        if (job_log_list(db, &f, &jobs, &n, &err) == MFB_OK && n > 0)
            json_object_set_new(o, "last", api_ui_job_json(&jobs[0]));
        else
            json_object_set_new(o, "last", json_null());
        job_log_list_free(jobs, n);
        jobs = NULL, n = 0;
        int64_t last_ok_ms = 0;
        struct job_log_filter fo = {
            .instance = name, .by_status = true, .status = JOB_STATUS_OK, .limit = 1};
        if (job_log_list(db, &fo, &jobs, &n, &err) == MFB_OK && n > 0) {
            last_ok_ms = jobs[0].ended_ms;
            json_object_set_new(o, "last_ok", api_ui_job_json(&jobs[0]));
        } else {
            json_object_set_new(o, "last_ok", json_null());
        }
        job_log_list_free(jobs, n);
        int64_t next_s = 0;
        bool overdue = false;
        const char *sched = NULL;
        next_run(scheds, nsched, name, last_ok_ms, &next_s, &overdue, &sched);
        json_object_set_new(o, "next_run_ms",
                            next_s > 0 ? json_integer(next_s * 1000) : json_null());
        json_object_set_new(o, "schedule", opt_str(sched));
        json_object_set_new(o, "overdue", json_boolean(overdue));
        json_array_append_new(arr, o);
    }
    api_ui_json(r, 200, json_pack("{s:o?}", "instances", arr));
done:
    config_instance_list_free(insts, ninst);
    config_schedule_list_free(scheds, nsched);
}

/* "/jobs/12" -> 12; 0 when path is not that. */
static int64_t path_id(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || path[n] == '\0' || strlen(path + n) > 18)
        return 0;
    int64_t v = 0;
    for (const char *p = path + n; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

void api_ui_finish(struct api_ui_call *c, const char *body, size_t len,
                   struct daemon_api_response *r)
{
    memset(r, 0, sizeof(*r));
    if (c == NULL) {
        api_ui_error(r, 500, "internal", "out of memory", NULL);
        return;
    }
    const char *p = c->path;
    int64_t id = path_id(p, "/jobs/");
    const char *sched = strncmp(p, "/schedules/", 11) == 0 ? p + 11 : NULL;
    const char *slash = sched ? strchr(sched, '/') : NULL;
    bool get_route = strcmp(p, "/instances") == 0 || strcmp(p, "/jobs") == 0 || id > 0 ||
                     strcmp(p, "/report") == 0 || strcmp(p, "/cron") == 0 ||
                     strcmp(p, "/schedules") == 0 || strcmp(p, "/settings") == 0;
    if (slash && (strcmp(slash, "/pause") == 0 || strcmp(slash, "/resume") == 0)) {
        if (!c->post) {
            r->allow = "POST";
            api_ui_error(r, 405, "method_not_allowed", "this path does not take that method", NULL);
            return;
        }
        char name[CONFIG_NAME_BUF];
        snprintf(name, sizeof(name), "%.*s", (int)(slash - sched), sched);
        api_schedules_pause(c, name, strcmp(slash, "/pause") == 0, r);
        return;
    }
    static const struct {
        const char *prefix, *suffix;
        void (*run)(struct api_ui_call *, const char *, struct daemon_api_response *);
    } actions[] = {
        {"/instances/", "/check", api_settings_check_instance},
        {"/targets/", "/check", api_settings_check_target},
        {"/alerts/", "/test", api_settings_test_alert},
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        size_t pn = strlen(actions[i].prefix), sn = strlen(actions[i].suffix), n = strlen(p);
        if (strncmp(p, actions[i].prefix, pn) != 0 || n <= pn + sn ||
            strcmp(p + n - sn, actions[i].suffix) != 0)
            continue;
        if (!c->post) {
            r->allow = "POST";
            api_ui_error(r, 405, "method_not_allowed", "this path does not take that method", NULL);
            return;
        }
        char name[CONFIG_NAME_BUF];
        snprintf(name, sizeof(name), "%.*s", (int)(n - pn - sn), p + pn);
        actions[i].run(c, name, r);
        return;
    }
    if (c->post && (strcmp(p, "/schedules") == 0 || (sched && slash == NULL && sched[0]))) {
        char name[CONFIG_NAME_BUF];
        snprintf(name, sizeof(name), "%s", sched ? sched : "");
        api_schedules_save(c, sched ? name : NULL, body, len, r);
        return;
    }
    if (!get_route) {
        api_ui_error(r, 404, "not_found", "no such path", NULL);
        return;
    }
    if (c->post) {
        r->allow = "GET";
        api_ui_error(r, 405, "method_not_allowed", "this path does not take that method", NULL);
        return;
    }
    if (strcmp(p, "/instances") == 0)
        api_ui_instances(c, r);
    else if (strcmp(p, "/jobs") == 0)
        api_joblog_list(c, r);
    else if (id > 0)
        api_joblog_get(c, id, r);
    else if (strcmp(p, "/report") == 0)
        api_report(c, r);
    else if (strcmp(p, "/cron") == 0)
        api_schedules_cron(c, r);
    else if (strcmp(p, "/settings") == 0)
        api_settings_get(c, r);
    else
        api_schedules_list(c, r);
}
