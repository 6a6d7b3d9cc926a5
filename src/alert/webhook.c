/*
 * webhook.c - the webhook channel: the alert's JSON (alert_json) in
 * one POST. With a secret, the body is signed: the X-Mfb-Signature header
 * carries "sha256=" and the hex HMAC-SHA256 of the exact body bytes under
 * the secret, as GitHub and Stripe webhooks do, so the receiving end can
 * check that the alert came from this mfb. The body carries the time, so a
 * replayed alert shows its age. Any 2xx answer is success; TLS is verified
 * against the channel's CA file or the system's store, never switched off.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/channel.h"
#include "common/curl_init.h"
#include "common/digest.h"

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
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

bool alert_webhook_url_allowed(const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return true;
    if (strncmp(url, "http://", 7) != 0)
        return false;
    bool loopback = false;
    char *host = NULL;
    struct in_addr v4;
    CURLU *u = curl_url();
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        loopback = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
                   (inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
    curl_free(host);
    curl_url_cleanup(u);
    return loopback;
}

mfb_status alert_webhook_send(const struct config_alert *channel, const struct alert *a,
                              struct mfb_error *err)
{
    mfb_status st = curl_init_once(err);
    if (st != MFB_OK)
        return st;
    if (channel->url == NULL)
        return mfb_error_set(err, MFB_ERR_INVALID, "webhook '%s' has no URL", channel->name);
    if (!alert_webhook_url_allowed(channel->url)) { /* stored before add refused it */
        mfb_error_set(err, MFB_ERR_INVALID,
                      "webhook '%s' is plain http to another host; alerts are not sent in clear",
                      channel->name);
        mfb_error_hint(err, "give it an https:// URL: 'mfb alert remove %s', then add it again",
                       channel->name);
        return MFB_ERR_INVALID;
    }
    json_t *body_json = alert_json(a);
    char *body = body_json ? json_dumps(body_json, JSON_COMPACT) : NULL;
    json_decref(body_json);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (body == NULL || curl == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    char line[256];
    headers = curl_slist_append(headers, "Content-Type: application/json");
    snprintf(line, sizeof(line), "%s: %s", ALERT_EVENT_HEADER, a->event ? a->event : "alert");
    headers = curl_slist_append(headers, line);
    if (channel->secret && channel->secret[0]) {
        char sig[128];
        st = alert_signature(channel->secret, body, strlen(body), sig, sizeof(sig), err);
        if (st != MFB_OK)
            goto done;
        snprintf(line, sizeof(line), "%s: %s", ALERT_SIGNATURE_HEADER, sig);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(curl, CURLOPT_URL, channel->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mfb/" MFB_VERSION);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)ALERT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ALERT_TIMEOUT_MS / 2);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    if (channel->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, channel->ca_file);
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        st = mfb_error_set(err, rc == CURLE_OPERATION_TIMEDOUT ? MFB_ERR_TIMEOUT : MFB_ERR_NETWORK,
                           "webhook '%s': %s", channel->name, curl_easy_strerror(rc));
        mfb_error_hint(err, "check that %s is reachable from this machine", channel->url);
    } else if (code < 200 || code > 299) {
        st = mfb_error_set(err, MFB_ERR_PROTOCOL, "webhook '%s' answered HTTP %ld", channel->name,
                           code);
    }
done:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    free(body);
    return st;
}
