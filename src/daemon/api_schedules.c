/*
 * api_schedules.c - schedules for the web UI (docs/ui.md, docs/schedules.md):
 * a cron expression checked as it is typed (GET /v1/ui/cron?expr=&tz=: the
 * parser's own message when it is wrong, else the next five runs), and
 * adding or changing a schedule. The list and pause/resume are those of
 * GET /v1/schedules and POST /v1/schedules/{name}/pause|resume
 * (daemon/overview.h), so the page, `mfb schedule list --json` and the
 * API never disagree on a schedule's next runs.
 *
 * A change takes effect in the daemon at once: the scheduler is told to
 * re-read the schedules, as SIGHUP does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/api_ui.h"
#include "daemon/daemon.h"
#include "daemon/overview.h"
#include "daemon/scheduler.h"
#include "sched/cron.h"
#include "store/config_records.h"
#include "store/schedules.h"

#define NEXT_RUNS 5

static json_t *next_runs(const char *expr, const char *tz, struct mfb_error *err)
{
    int64_t at[NEXT_RUNS];
    if (cron_next_n(expr, tz, clock_wall_ms() / 1000, NEXT_RUNS, at, err) != MFB_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < NEXT_RUNS; i++)
        json_array_append_new(arr, json_integer(at[i] * 1000));
    return arr;
}

void api_schedules_list(struct api_ui_call *c, struct daemon_api_response *r)
{
    struct mfb_error err = {0};
    json_t *o = overview_schedules_json(c->d, &err);
    if (o == NULL)
        api_ui_mfb_error(r, &err);
    else
        api_ui_json(r, 200, o);
}

void api_schedules_cron(struct api_ui_call *c, struct daemon_api_response *r)
{
    char expr[256], tz[128];
    if (!api_ui_arg(c, "expr", expr, sizeof(expr))) {
        api_ui_error(r, 400, "bad_request", "give the expression in expr=", NULL);
        return;
    }
    if (!api_ui_arg(c, "tz", tz, sizeof(tz)))
        snprintf(tz, sizeof(tz), "%s", CONFIG_SCHEDULE_DEFAULT_TZ);
    /* The parser's message quotes them, and JSON holds only UTF-8. */
    json_t *e = json_string(expr), *z = json_string(tz);
    bool text = e != NULL && z != NULL;
    json_decref(e);
    json_decref(z);
    if (!text) {
        api_ui_error(r, 400, "bad_request", "expr and tz must be UTF-8 text",
                     "type the expression as five fields, e.g. 30 2 * * *");
        return;
    }
    struct mfb_error err = {0};
    json_t *next = next_runs(expr, tz, &err);
    if (next == NULL) {
        api_ui_json(
            r, 200,
            json_pack("{s:b, s:s, s:s}", "valid", 0, "message", err.message, "hint", err.hint));
        return;
    }
    api_ui_json(r, 200, json_pack("{s:b, s:o}", "valid", 1, "next_runs", next));
}

void api_schedules_pause(struct api_ui_call *c, const char *name, bool pause,
                         struct daemon_api_response *r)
{
    struct mfb_error err = {0};
    json_t *o = NULL;
    if (overview_schedule_pause(c->d, name, pause, &o, &err) != MFB_OK)
        api_ui_mfb_error(r, &err);
    else
        api_ui_json(r, 200, o);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CONFIG_NAME_BUF || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

void api_schedules_save(struct api_ui_call *c, const char *name, const char *body, size_t len,
                        struct daemon_api_response *r)
{
    json_error_t jerr;
    json_t *in = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    const char *jname = json_string_value(json_object_get(in, "name"));
    const char *inst = json_string_value(json_object_get(in, "instance"));
    const char *cron = json_string_value(json_object_get(in, "cron"));
    const char *tz = json_string_value(json_object_get(in, "tz"));
    char name_buf[CONFIG_NAME_BUF * 2];
    snprintf(name_buf, sizeof(name_buf), "%s", name ? name : jname ? jname : "");
    name = name_buf; /* kept after the body's JSON is freed */
    if (inst == NULL || cron == NULL) {
        json_decref(in);
        api_ui_error(r, 400, "bad_request",
                     "the body must be {\"name\", \"instance\", \"cron\", \"tz\"} strings", NULL);
        return;
    }
    if (!name_ok(name)) {
        json_decref(in);
        api_ui_error(r, 400, "bad_request", "a schedule name has letters, digits, '-', '_', '.'",
                     "for example nightly-prod");
        return;
    }
    struct config_schedule s;
    struct mfb_error err = {0};
    bool edit = c->path[strlen("/schedules")] == '/';
    mfb_status st = MFB_OK;
    if (edit) {
        st = config_schedule_get(c->d->db, name, &s, &err);
    } else {
        config_schedule_init(&s);
        snprintf(s.name, sizeof(s.name), "%s", name);
    }
    int64_t next = 0;
    if (st == MFB_OK) {
        snprintf(s.instance, sizeof(s.instance), "%s", inst);
        st = config_str_set(&s.cron, cron, &err);
        if (st == MFB_OK)
            st = config_str_set(&s.tz, tz && tz[0] ? tz : CONFIG_SCHEDULE_DEFAULT_TZ, &err);
        /* the expression and zone are checked as `mfb schedule add` does */
        if (st == MFB_OK)
            st = cron_next(s.cron, s.tz, clock_wall_ms() / 1000, &next, &err);
        if (st == MFB_OK)
            st = edit ? config_schedule_update(c->d->db, &s, &err)
                      : config_schedule_add(c->d->db, &s, &err);
        config_schedule_free(&s);
    }
    json_decref(in);
    if (st != MFB_OK) {
        if (st == MFB_ERR_EXISTS)
            api_ui_error(r, 409, "exists", err.message, err.hint);
        else
            api_ui_mfb_error(r, &err);
        return;
    }
    scheduler_reload(c->d);
    api_ui_json(r, edit ? 200 : 201, json_pack("{s:s, s:b}", "name", name, "saved", 1));
}
