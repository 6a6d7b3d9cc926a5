/*
 * channel.h - the channel kinds behind alert_send: each sends one alert
 * once (the retries are alert.c's), bounded by ALERT_TIMEOUT_MS, and fills
 * err with why it failed. webhook.c, email.c and command.c implement it;
 * only alert.c dispatches to them, by the stored channel's kind.
 */
#ifndef MFB_ALERT_CHANNEL_H
#define MFB_ALERT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "alert/message.h"
#include "common/status.h"
#include "store/config_records.h"

#define ALERT_TIMEOUT_MS 20000
#define ALERT_SIGNATURE_HEADER "X-Mfb-Signature"
#define ALERT_EVENT_HEADER "X-Mfb-Event"

/* Whether a webhook may be sent to url: https://, or plain http:// to this
 * host only (localhost, 127.0.0.0/8, [::1]; docs/alerts.md). */
bool alert_webhook_url_allowed(const char *url);

/* The channel kinds. */
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

#endif
