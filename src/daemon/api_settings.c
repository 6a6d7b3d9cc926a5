/*
 * api_settings.c - the stored instances, targets and alert channels for
 * the web UI's settings page (docs/ui.md), and its buttons: the checks of
 * `mfb instance check` and `mfb target check` (job/validate.h), and the
 * test alert of `mfb alert test`.
 *
 * Never a secret: an instance's password, a target's token and a
 * channel's secret show only as "set" or not, and a webhook's URL only by
 * scheme and host, since many webhook URLs carry their token in the path.
 *
 * The checks and the test run in the request, on the UI's HTTP thread:
 * they take at most their own timeouts (seconds), during which the UI's
 * other requests wait; the daemon's jobs and its socket are not held up.
 */
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "daemon/api_ui.h"
#include "daemon/daemon.h"
#include "job/validate.h"
#include "store/config_records.h"

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static json_t *instance_json(const struct config_instance *x)
{
    char control[CONFIG_NAME_BUF + 64];
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:i, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:s}", "name", x->name, "socket",
        str_or_null(x->socket), "host", str_or_null(x->host), "port", (int)x->port, "user",
        str_or_null(x->user), "password_set", x->password != NULL, "control",
        config_control_format(x->control, x->service, control, sizeof(control)), "start_cmd",
        str_or_null(x->start_cmd), "stop_cmd", str_or_null(x->stop_cmd), "datadir",
        str_or_null(x->datadir), "spool", str_or_null(x->spool), "restart_after",
        config_restart_after_str(x->restart_after));
    json_t *t = json_object();
    for (int i = 0; o && t && i < CONFIG_TIMEOUT_COUNT; i++)
        json_object_set_new(t, config_timeout_name((enum config_timeout)i),
                            json_integer((json_int_t)x->timeout_ms[i]));
    if (o)
        json_object_set_new(o, "timeouts_ms", t ? t : json_null());
    return o;
}

static json_t *target_json(const struct config_target *x)
{
    return json_pack("{s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:I, s:i}", "name", x->name, "url",
                     str_or_null(x->url), "token_set", x->token != NULL, "fingerprint",
                     str_or_null(x->fingerprint), "ca_file", str_or_null(x->ca_file), "directory",
                     str_or_null(x->directory), "naming", str_or_null(x->naming), "chunk_size",
                     (json_int_t)x->chunk_size, "connections", (int)x->connections);
}

/* "https://hooks.example" of "https://hooks.example/T0/B1/secret". */
static json_t *url_origin(const char *url)
{
    if (url == NULL)
        return json_null();
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t n = (size_t)(host - url) + strcspn(host, "/?#");
    return json_stringn(url, n);
}

static json_t *channel_json(const struct config_alert *x)
{
    bool webhook = x->kind == CONFIG_ALERT_WEBHOOK;
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:o}", "name", x->name, "kind",
        config_alert_kind_str(x->kind), "min_severity", config_severity_str(x->min_severity), "url",
        webhook ? url_origin(x->url) : str_or_null(x->url), "secret_set", x->secret != NULL,
        "smtp_user", str_or_null(x->smtp_user), "mail_from", str_or_null(x->mail_from), "mail_to",
        str_or_null(x->mail_to), "command", str_or_null(x->command));
}

void api_settings_get(struct api_ui_call *c, struct daemon_api_response *r)
{
    struct config_instance *insts = NULL;
    struct config_target *targets = NULL;
    struct config_alert *alerts = NULL;
    size_t ni = 0, nt = 0, na = 0;
    struct mfb_error err = {0};
    if (config_instance_list(c->d->db, &insts, &ni, &err) != MFB_OK ||
        config_target_list(c->d->db, &targets, &nt, &err) != MFB_OK ||
        config_alert_list(c->d->db, &alerts, &na, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        goto done;
    }
    json_t *ji = json_array(), *jt = json_array(), *ja = json_array();
    for (size_t i = 0; ji && i < ni; i++)
        json_array_append_new(ji, instance_json(&insts[i]));
    for (size_t i = 0; jt && i < nt; i++)
        json_array_append_new(jt, target_json(&targets[i]));
    for (size_t i = 0; ja && i < na; i++)
        json_array_append_new(ja, channel_json(&alerts[i]));
    api_ui_json(r, 200,
                json_pack("{s:o?, s:o?, s:o?}", "instances", ji, "targets", jt, "alerts", ja));
done:
    config_instance_list_free(insts, ni);
    config_target_list_free(targets, nt);
    config_alert_list_free(alerts, na);
}

static json_t *report_json(const struct validate_report *rep)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < rep->count; i++) {
        const struct validate_check *k = &rep->checks[i];
        json_t *o = json_pack("{s:s, s:b}", "name", k->name, "ok", k->ok);
        json_object_set_new(o, "detail", k->ok ? json_string(k->detail) : json_null());
        json_object_set_new(o, "message", k->ok ? json_null() : json_string(k->error.message));
        json_object_set_new(o, "hint",
                            !k->ok && k->error.hint[0] ? json_string(k->error.hint) : json_null());
        json_array_append_new(arr, o);
    }
    return json_pack("{s:b, s:o?}", "ok", rep->failed == 0, "checks", arr);
}

void api_settings_check_instance(struct api_ui_call *c, const char *name,
                                 struct daemon_api_response *r)
{
    struct config_instance inst;
    struct mfb_error err = {0};
    if (config_instance_get(c->d->db, name, &inst, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        return;
    }
    struct validate_report *rep = calloc(1, sizeof(*rep));
    if (rep == NULL) {
        config_instance_free(&inst);
        api_ui_error(r, 500, "internal", "out of memory", NULL);
        return;
    }
    if (validate_instance_record(&inst, &err) != MFB_OK) {
        api_ui_json(r, 200,
                    json_pack("{s:b, s:[{s:s, s:b, s:s, s:s}]}", "ok", 0, "checks", "name",
                              "record", "ok", 0, "message", err.message, "hint", err.hint));
    } else {
        validate_instance_live(&inst, rep);
        api_ui_json(r, 200, report_json(rep));
    }
    free(rep);
    config_instance_free(&inst);
}

void api_settings_check_target(struct api_ui_call *c, const char *name,
                               struct daemon_api_response *r)
{
    struct config_target t;
    struct mfb_error err = {0};
    if (config_target_get(c->d->db, name, &t, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        return;
    }
    struct validate_report *rep = calloc(1, sizeof(*rep));
    if (rep == NULL) {
        config_target_free(&t);
        api_ui_error(r, 500, "internal", "out of memory", NULL);
        return;
    }
    validate_target_live(&t, rep);
    api_ui_json(r, 200, report_json(rep));
    free(rep);
    config_target_free(&t);
}

void api_settings_test_alert(struct api_ui_call *c, const char *name, struct daemon_api_response *r)
{
    struct config_alert *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    if (config_alert_list(c->d->db, &list, &n, &err) != MFB_OK) {
        api_ui_mfb_error(r, &err);
        return;
    }
    const struct config_alert *ch = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            ch = &list[i];
    if (ch == NULL) {
        api_ui_error(r, 404, "not_found", "no such alert channel", NULL);
    } else {
        /* the same test alert as `mfb alert test` (cli/cmd_alert.c) */
        struct alert a = {
            .severity = CONFIG_SEVERITY_CRITICAL,
            .event = "test",
            .subject = "test alert from mfb",
            .text = "This is a test alert sent from the mfb web UI. Nothing is wrong.\n",
        };
        if (alert_send(ch, &a, &err) == MFB_OK)
            api_ui_json(r, 200, json_pack("{s:s, s:b}", "name", name, "sent", 1));
        else
            api_ui_json(r, 200,
                        json_pack("{s:s, s:b, s:s, s:s}", "name", name, "sent", 0, "message",
                                  err.message, "hint", err.hint));
    }
    config_alert_list_free(list, n);
}
