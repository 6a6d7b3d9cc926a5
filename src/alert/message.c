/*
 * message.c - an alert as JSON (see message.h).
 */
#include "alert/message.h"

#include <time.h>
#include <unistd.h>

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *alert_json(const struct alert *a)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    time_t t = a->time ? (time_t)a->time : time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(a->event ? a->event : "alert"));
    json_object_set_new(o, "severity", json_string(config_severity_str(a->severity)));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "host", json_string(host));
    json_object_set_new(o, "instance", str_or_null(a->instance));
    if (a->client) /* only the receiver's alerts name a client */
        json_object_set_new(o, "client", json_string(a->client));
    json_object_set_new(o, "job_id", a->job_id ? json_integer(a->job_id) : json_null());
    json_object_set_new(o, "job_status", str_or_null(a->job_status));
    json_object_set_new(o, "subject", str_or_null(a->subject));
    json_object_set_new(o, "text", str_or_null(a->text));
    json_object_set_new(o, "error", str_or_null(a->error));
    json_object_set_new(o, "hint", str_or_null(a->hint));
    json_object_set_new(o, "datadir", str_or_null(a->datadir));
    json_object_set_new(o, "backup_name", str_or_null(a->backup_name));
    json_object_set_new(o, "upload_id", str_or_null(a->upload_id));
    return o;
}
