/*
 * api_ui.c - routing of the web UI's /v1/ui/ routes, the helpers their
 * handlers share, and the dashboard's instance list (see api_ui.h).
 *
 * The dashboard's live part (queued, running, progress) comes from
 * GET /v1/jobs or the event stream; its list of instances is
 * GET /v1/instances's (daemon/overview.h: state, step, last job, next
 * run) with the instance's expectations added (`mfb instance set
 * --expect-every`, `--expect-drill-every`): the last good backup and
 * drill, and whether each is overdue, decided as the silence alarms
 * decide it (daemon/expect.h).
 */
#include "daemon/api_ui.h"

#include <stdlib.h>
#include <string.h>

#include "alert/silence.h"
#include "common/clock.h"
#include "daemon/daemon.h"
#include "daemon/overview.h"
#include "store/config_records.h"
#include "store/job_stats.h"

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
    json_decref(o);
    if (r->body == NULL) {
        /* An answer that cannot be built (out of memory, or text that is
         * not UTF-8, which JSON cannot hold) is still an error of the
         * API's form, as daemon/api.c answers its own. */
        r->status = 500;
        r->body = strdup("{\"error\":\"internal\",\"message\":\"the answer cannot be built\"}");
    }
    r->body_len = r->body ? strlen(r->body) : 0;
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

/* The instance's figures the expectation check uses (daemon/expect.h),
 * with the same decision (alert/silence.h), so that the dashboard marks an
 * instance overdue exactly when the silence alarm fires for it. */
static void add_expectation(json_t *o, const struct config_instance *inst,
                            const struct job_stats *s, int64_t now_ms)
{
    int64_t base_ms = inst->created * 1000;
    int64_t last_ok = s ? s->last_ok_ms : 0, last_drill = s ? s->last_drill_ok_ms : 0;
    bool overdue =
        inst->expect_every_ms > 0 &&
        silence_decide(inst->expect_every_ms, last_ok, base_ms, now_ms, false, 0) == SILENCE_FIRE;
    bool drill_overdue = inst->expect_drill_every_ms > 0 &&
                         silence_decide(inst->expect_drill_every_ms, last_drill, base_ms, now_ms,
                                        false, 0) == SILENCE_FIRE;
    json_object_set_new(o, "last_ok_ms", opt_ms(last_ok));
    json_object_set_new(o, "last_drill_ok_ms", opt_ms(last_drill));
    json_object_set_new(o, "expect_every_ms", opt_ms((int64_t)inst->expect_every_ms));
    json_object_set_new(o, "expect_drill_every_ms", opt_ms((int64_t)inst->expect_drill_every_ms));
    json_object_set_new(o, "overdue", json_boolean(overdue));
    json_object_set_new(o, "drill_overdue", json_boolean(drill_overdue));
}

void api_ui_instances(struct api_ui_call *c, struct daemon_api_response *r)
{
    struct config_instance *insts = NULL;
    struct job_stats *stats = NULL;
    size_t ninst = 0, nstats = 0;
    struct mfb_error err = {0};
    /* state, step, last job and next run: what GET /v1/instances says */
    json_t *out = overview_instances_json(c->d, &err);
    if (out == NULL || config_instance_list(c->d->db, &insts, &ninst, &err) != MFB_OK ||
        job_stats_instances(c->d->db, &stats, &nstats, &err) != MFB_OK) {
        json_decref(out);
        api_ui_mfb_error(r, &err);
        goto done;
    }
    int64_t now_ms = clock_wall_ms();
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(out, "instances"), i, o)
    {
        const char *name = json_string_value(json_object_get(o, "name"));
        const struct config_instance *inst = NULL;
        const struct job_stats *s = NULL;
        for (size_t k = 0; name && k < ninst && inst == NULL; k++)
            if (strcmp(insts[k].name, name) == 0)
                inst = &insts[k];
        for (size_t k = 0; name && k < nstats && s == NULL; k++)
            if (strcmp(stats[k].instance, name) == 0)
                s = &stats[k];
        if (inst != NULL) /* else added between the two reads: no figures yet */
            add_expectation(o, inst, s, now_ms);
    }
    api_ui_json(r, 200, out);
done:
    config_instance_list_free(insts, ninst);
    free(stats);
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
