/*
 * message.h - what an alert says: its severity, event, subject, full text
 * and the facts of the job it is about, and the one JSON form of it
 * (docs/alerts.md) that the webhook sends as its body and the command gets
 * as MFB_ALERT_JSON, so the two never drift apart.
 */
#ifndef MFB_ALERT_MESSAGE_H
#define MFB_ALERT_MESSAGE_H

#include <jansson.h>
#include <stdint.h>

#include "store/config_records.h"

/* One alert; strings are borrowed, any of the optional ones may be NULL. */
struct alert {
    enum config_severity severity;
    const char *event;   /* "backup_failed", "server_down", "upload_pending", "test", ... */
    const char *subject; /* one line */
    const char *text;    /* the full text, with what to do */
    const char *instance;
    const char *client; /* the receiver's alerts: the client host; else NULL */
    int64_t job_id;     /* 0 when none */
    const char *job_status;
    const char *error;
    const char *hint;
    const char *datadir;
    const char *backup_name;
    const char *upload_id;
    int64_t time; /* Unix seconds; 0: now */
};

/* The alert as JSON (see docs/alerts.md). Returns a new reference. */
json_t *alert_json(const struct alert *a);

#endif
