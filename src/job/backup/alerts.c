/*
 * alerts.c - the alert at the end of a backup job (see alerts.h): a
 * critical server_down with the recovery steps when the server did not
 * come back, else one of backup_succeeded, upload_pending,
 * backup_cancelled or backup_failed with a plain text that says what
 * happened, the error and its hint, what the server went through and what
 * to do.
 */
#include "job/backup/alerts.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "alert/alert.h"
#include "common/parse.h"

/* Appends to text (of cap bytes, n used so far); a text that is full
 * stays as it is. */
static void append(char *text, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *text, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(text + *n, cap - *n, fmt, ap);
    va_end(ap);
    *n = w < 0 ? cap : *n + (size_t)w;
}

void backup_alert_send(struct config_db *db, const struct backup_alert *f)
{
    char subject[512], text[8192];
    struct alert a = {
        .instance = f->instance,
        .job_id = f->job_id,
        .job_status = job_status_str(f->status),
        .error = f->error,
        .hint = f->hint,
        .datadir = f->datadir,
        .backup_name = f->backup_name,
        .upload_id = f->upload_id,
        .subject = subject,
        .text = text,
    };
    if (f->status == JOB_STATUS_CRITICAL) {
        a.severity = CONFIG_SEVERITY_CRITICAL;
        a.event = "server_down";
        snprintf(subject, sizeof(subject),
                 "instance '%s' is DOWN after its backup: manual recovery needed", f->instance);
        a.text = f->recovery ? f->recovery : f->error;
        alert_dispatch(db, &a, NULL, NULL);
        return;
    }
    switch (f->status) {
    case JOB_STATUS_OK:
        a.severity = CONFIG_SEVERITY_INFO;
        a.event = "backup_succeeded";
        snprintf(subject, sizeof(subject), "backup of '%s' stored as %s", f->instance,
                 f->backup_name ? f->backup_name : "?");
        break;
    case JOB_STATUS_PENDING_UPLOAD:
        a.severity = CONFIG_SEVERITY_WARNING;
        a.event = "upload_pending";
        snprintf(subject, sizeof(subject), "backup of '%s' archived but not uploaded", f->instance);
        break;
    case JOB_STATUS_CANCELLED:
        a.severity = CONFIG_SEVERITY_WARNING;
        a.event = "backup_cancelled";
        snprintf(subject, sizeof(subject), "backup of '%s' cancelled", f->instance);
        break;
    default:
        a.severity = CONFIG_SEVERITY_ERROR;
        a.event = "backup_failed";
        snprintf(subject, sizeof(subject), "backup of '%s' failed", f->instance);
    }
    size_t n = 0;
    text[0] = '\0';
    append(text, sizeof(text), &n, "%s (job %" PRId64 ").\n", subject, f->job_id);
    if (f->error)
        append(text, sizeof(text), &n, "Error: %s\n", f->error);
    if (f->hint)
        append(text, sizeof(text), &n, "Hint: %s\n", f->hint);
    append(text, sizeof(text), &n, "%s\n",
           f->stopped ? "The server was stopped and runs again." : "The server was not stopped.");
    if (f->downtime_ms >= 0) {
        char d[32];
        append(text, sizeof(text), &n, "Downtime: %s\n",
               format_duration_ms((uint64_t)f->downtime_ms, d, sizeof(d)));
    }
    if (f->status == JOB_STATUS_PENDING_UPLOAD && f->data_zip)
        append(text, sizeof(text), &n,
               "Data.zip is kept at %s; 'mfb resume %" PRId64 "' completes the upload.\n",
               f->data_zip, f->job_id);
    alert_dispatch(db, &a, NULL, NULL);
}
