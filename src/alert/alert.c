/*
 * alert.c - alert JSON, dispatch to the stored channels, retries (see
 * alert.h). The channel kinds live in webhook.c, email.c and
 * command.c.
 */
#include "alert/alert.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

mfb_status alert_curl_init(struct mfb_error *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot initialise libcurl: %s",
                             curl_easy_strerror(curl_init_result));
    return MFB_OK;
}

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

mfb_status alert_signature(const char *key, const char *body, size_t len, char *out, size_t cap,
                           struct mfb_error *err)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, len, mac,
             &mac_len) == NULL ||
        mac_len != SHA256_LEN)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot compute the HMAC-SHA256 signature");
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(mac, hex);
    snprintf(out, cap, "sha256=%s", hex);
    OPENSSL_cleanse(mac, sizeof(mac));
    return MFB_OK;
}

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
            uint64_t ms = retry_base_ms << (i - 1);
            struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                                  .tv_nsec = (long)(ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
    }
    mfb_error_set(err, first.status, "%s (%u attempts)", first.message, attempts);
    if (first.hint[0])
        mfb_error_hint(err, "%s", first.hint);
    return st;
}

void alert_dispatch(struct config_db *db, const struct alert *a, size_t *sent, size_t *failed)
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
    for (size_t i = 0; i < count; i++) {
        if (a->severity < list[i].min_severity)
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
