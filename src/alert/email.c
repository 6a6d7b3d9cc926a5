/*
 * email.c - the e-mail channel: one plain-text message through
 * libcurl's SMTP client.
 *
 * TLS is required: smtp:// URLs must upgrade with STARTTLS
 * (CURLUSESSL_ALL: a server that does not offer it is an error, not a
 * reason to send the alert, and perhaps a password, in clear), smtps:// is
 * TLS from the first byte. The certificate is verified against the
 * channel's CA file or the system's store. A password, when set, is the
 * channel's secret and goes only to libcurl. The message is built here
 * with CRLF line ends; libcurl does the SMTP dot-stuffing.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/channel.h"
#include "common/curl_init.h"

struct reader {
    const char *data;
    size_t len;
    size_t pos;
};

static size_t read_message(char *buf, size_t size, size_t n, void *ctx)
{
    struct reader *r = ctx;
    size_t room = size * n;
    size_t left = r->len - r->pos;
    size_t take = left < room ? left : room;
    memcpy(buf, r->data + r->pos, take);
    r->pos += take;
    return take;
}

/* Appends text to the message with every line ending in CRLF. */
static void append_crlf(char **msg, size_t *len, size_t *cap, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*len + 3 >= *cap) {
            size_t ncap = *cap ? *cap * 2 : 4096;
            char *n = realloc(*msg, ncap);
            if (n == NULL)
                return;
            *msg = n;
            *cap = ncap;
        }
        if (*p == '\r')
            continue;
        if (*p == '\n')
            (*msg)[(*len)++] = '\r';
        (*msg)[(*len)++] = *p;
    }
    if (*msg)
        (*msg)[*len] = '\0';
}

/* The message, headers and body. Allocates. */
static char *build_message(const struct config_alert *channel, const struct alert *a,
                           size_t *len_out)
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[64];
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    char head[2048];
    snprintf(head, sizeof(head),
             "Date: %s\nFrom: %s\nTo: %s\nSubject: [mfb] %s: %s\n"
             "Message-ID: <mfb-%lld-%ld@%s>\nMIME-Version: 1.0\n"
             "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
             "X-Mfb-Event: %s\n\n",
             date, channel->mail_from ? channel->mail_from : "mfb", channel->mail_to,
             config_severity_str(a->severity), a->subject ? a->subject : "alert", (long long)t,
             (long)getpid(), host, a->event ? a->event : "alert");
    char *msg = NULL;
    size_t len = 0, cap = 0;
    append_crlf(&msg, &len, &cap, head);
    append_crlf(&msg, &len, &cap, a->text ? a->text : (a->subject ? a->subject : ""));
    append_crlf(&msg, &len, &cap, "\n");
    *len_out = len;
    return msg;
}

mfb_status alert_email_send(const struct config_alert *channel, const struct alert *a,
                            struct mfb_error *err)
{
    mfb_status st = curl_init_once(err);
    if (st != MFB_OK)
        return st;
    if (channel->url == NULL || channel->mail_to == NULL || channel->mail_from == NULL)
        return mfb_error_set(err, MFB_ERR_INVALID,
                             "e-mail channel '%s' lacks its server, sender or recipient",
                             channel->name);
    size_t len = 0;
    char *msg = build_message(channel, a, &len);
    CURL *curl = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    char *to = strdup(channel->mail_to);
    if (msg == NULL || curl == NULL || to == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    char *save = NULL;
    for (char *tok = strtok_r(to, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok)
            rcpt = curl_slist_append(rcpt, tok);
    }
    struct reader r = {.data = msg, .len = len};
    curl_easy_setopt(curl, CURLOPT_URL, channel->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, channel->mail_from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(curl, CURLOPT_READDATA, &r);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)ALERT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ALERT_TIMEOUT_MS / 2);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (channel->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, channel->ca_file);
    if (channel->smtp_user)
        curl_easy_setopt(curl, CURLOPT_USERNAME, channel->smtp_user);
    if (channel->secret)
        curl_easy_setopt(curl, CURLOPT_PASSWORD, channel->secret);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        mfb_status code = MFB_ERR_NETWORK;
        if (rc == CURLE_OPERATION_TIMEDOUT)
            code = MFB_ERR_TIMEOUT;
        else if (rc == CURLE_LOGIN_DENIED)
            code = MFB_ERR_AUTH;
        else if (rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_CONNECT_ERROR ||
                 rc == CURLE_PEER_FAILED_VERIFICATION)
            code = MFB_ERR_TLS;
        st = mfb_error_set(err, code, "e-mail channel '%s': %s", channel->name,
                           curl_easy_strerror(rc));
        if (rc == CURLE_USE_SSL_FAILED)
            mfb_error_hint(err, "the mail server does not offer STARTTLS; mfb sends alerts only "
                                "over TLS");
    }
done:
    curl_slist_free_all(rcpt);
    if (curl)
        curl_easy_cleanup(curl);
    free(to);
    free(msg);
    return st;
}
