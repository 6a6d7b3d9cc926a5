/*
 * alert.c - dispatch to the stored channels and retries (see alert.h);
 * the channel kinds are behind channel.h.
 */
#include "alert/alert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alert/channel.h"
#include "common/clock.h"
#include "common/log.h"

mfb_status alert_send(const struct config_alert *channel, const struct alert *a,
                      struct mfb_error *err)
{
    switch (channel->kind) {
    case CONFIG_ALERT_WEBHOOK:
        return alert_webhook_send(channel, a, err);
    case CONFIG_ALERT_EMAIL:
        return alert_email_send(channel, a, err);
    case CONFIG_ALERT_COMMAND:
        return alert_command_send(channel, a, err);
    }
    return mfb_error_set(err, MFB_ERR_INTERNAL, "unknown alert channel kind");
}

mfb_status alert_send_retry(const struct config_alert *channel, const struct alert *a,
                            unsigned attempts, uint64_t retry_base_ms, struct mfb_error *err)
{
    if (attempts == 0)
        attempts = 1;
    if (retry_base_ms == 0)
        retry_base_ms = ALERT_RETRY_BASE_MS;
    struct mfb_error first = {0};
    mfb_status st = MFB_OK;
    for (unsigned i = 1; i <= attempts; i++) {
        struct mfb_error e = {0};
        st = alert_send(channel, a, &e);
        if (st == MFB_OK)
            return MFB_OK;
        if (i == 1)
            first = e;
        log_warn("alert", "channel=%s kind=%s attempt=%u of=%u error=\"%s\"", channel->name,
                 config_alert_kind_str(channel->kind), i, attempts, e.message);
        if (i < attempts) {
            clock_sleep_ms(retry_base_ms << (i - 1), NULL);
        }
    }
    mfb_error_set(err, first.status, "%s (%u attempts)", first.message, attempts);
    if (first.hint[0])
        mfb_error_hint(err, "%s", first.hint);
    return st;
}

void alert_dispatch(struct config_db *db, const struct alert *a, size_t *sent, size_t *failed)
{
    alert_dispatch_as(db, a, a->severity, sent, failed);
}

void alert_dispatch_as(struct config_db *db, const struct alert *a, enum config_severity reach,
                       size_t *sent, size_t *failed)
{
    size_t ok = 0, bad = 0;
    struct config_alert *list = NULL;
    size_t count = 0;
    struct mfb_error err = {0};
    if (db == NULL || config_alert_list(db, &list, &count, &err) != MFB_OK) {
        if (db != NULL)
            log_error("alert", "event=%s error=\"cannot read the alert channels: %s\"",
                      a->event ? a->event : "", err.message);
        goto done;
    }
    alert_dispatch_list(list, count, a, reach, &ok, &bad);
    if (count == 0 && a->severity >= CONFIG_SEVERITY_ERROR)
        log_warn("alert", "event=%s note=no_alert_channel_configured hint=\"mfb alert add\"",
                 a->event ? a->event : "");
done:
    config_alert_list_free(list, count);
    if (sent)
        *sent = ok;
    if (failed)
        *failed = bad;
}

void alert_dispatch_list(const struct config_alert *list, size_t count, const struct alert *a,
                         enum config_severity reach, size_t *sent, size_t *failed)
{
    size_t ok = 0, bad = 0;
    for (size_t i = 0; i < count; i++) {
        if (reach < list[i].min_severity)
            continue;
        struct mfb_error e = {0};
        if (alert_send_retry(&list[i], a, ALERT_ATTEMPTS, 0, &e) == MFB_OK) {
            ok++;
            log_info("alert", "channel=%s kind=%s event=%s severity=%s sent=yes", list[i].name,
                     config_alert_kind_str(list[i].kind), a->event ? a->event : "",
                     config_severity_str(a->severity));
        } else {
            bad++;
            log_error("alert", "channel=%s kind=%s event=%s sent=no error=\"%s\"", list[i].name,
                      config_alert_kind_str(list[i].kind), a->event ? a->event : "", e.message);
        }
    }
    *sent = ok;
    *failed = bad;
}
