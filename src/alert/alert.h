/*
 * alert.h - telling people when a backup needs them (requirement 9.4,
 * 9.6): a webhook (JSON POST, optionally signed with HMAC-SHA256), an
 * e-mail (SMTP with STARTTLS, through libcurl), or a command (the alert in
 * its environment). Channels are stored in the configuration database
 * (`mfb alert add|list|remove|test`); each gets the alerts at or above its
 * minimum severity.
 *
 * Rules:
 * - An alert never fails a backup, and never delays a restart: the job
 *   sends its alerts at its end, after the server was started again.
 * - A channel that fails is tried ALERT_ATTEMPTS times with a growing pause
 *   (1 s, 2 s, ...), then logged (error level, with the reason) and given
 *   up; the other channels are tried regardless.
 * - Every attempt is bounded (ALERT_TIMEOUT_MS), so a dead mail server
 *   costs seconds.
 * - The text is plain and complete: a person reading only the alert knows
 *   what happened, what state the server is in and what to do (for a
 *   server that did not come back, the recovery steps of recovery.h).
 *
 * Formats are in docs/alerts.md. alert_json is the webhook body and the
 * command's MFB_ALERT_JSON, so the two never drift apart.
 */
#ifndef MFB_ALERT_ALERT_H
#define MFB_ALERT_ALERT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_records.h"
#include "store/job_log.h"

#define ALERT_ATTEMPTS 3
#define ALERT_RETRY_BASE_MS 1000
#define ALERT_TIMEOUT_MS 20000
#define ALERT_SIGNATURE_HEADER "X-Mfb-Signature"
#define ALERT_EVENT_HEADER "X-Mfb-Event"

/* One alert; strings are borrowed, any of the optional ones may be NULL. */
struct alert {
    enum config_severity severity;
    const char *event;   /* "backup_failed", "server_down", "upload_pending", "test", ... */
    const char *subject; /* one line */
    const char *text;    /* the full text, with what to do */
    const char *instance;
    int64_t job_id; /* 0 when none */
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

/* One attempt on one channel. */
mfb_status alert_send(const struct config_alert *channel, const struct alert *a,
                      struct mfb_error *err);

/* alert_send with the retries above; the first error is reported with the
 * number of attempts. retry_base_ms 0 means ALERT_RETRY_BASE_MS. */
mfb_status alert_send_retry(const struct config_alert *channel, const struct alert *a,
                            unsigned attempts, uint64_t retry_base_ms, struct mfb_error *err);

/* Sends a to every stored channel whose minimum severity it reaches.
 * Never fails: problems are logged. sent and failed (may be NULL) count
 * channels. */
void alert_dispatch(struct config_db *db, const struct alert *a, size_t *sent, size_t *failed);

/* Whether a webhook may be sent to url: https://, or plain http:// to this
 * host only (localhost, 127.0.0.0/8, [::1]; docs/alerts.md). */
bool alert_webhook_url_allowed(const char *url);

/* The channel kinds (webhook.c, email.c, command.c). */
mfb_status alert_webhook_send(const struct config_alert *channel, const struct alert *a,
                              struct mfb_error *err);
mfb_status alert_email_send(const struct config_alert *channel, const struct alert *a,
                            struct mfb_error *err);
mfb_status alert_command_send(const struct config_alert *channel, const struct alert *a,
                              struct mfb_error *err);

/* HMAC-SHA256 of body under key, as "sha256=<hex>" (the signature header's
 * value). out must hold 7 + 64 + 1 bytes. */
mfb_status alert_signature(const char *key, const char *body, size_t len, char *out, size_t cap,
                           struct mfb_error *err);

/* Whether libcurl is ready (alerts may be the first thing to use it). */
mfb_status alert_curl_init(struct mfb_error *err);

#endif
