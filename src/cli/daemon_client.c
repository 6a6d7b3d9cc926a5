/*
 * daemon_client.c - requests to the daemon's control API over its UNIX
 * socket (see daemon_client.h), and the event stream read as it comes.
 *
 * The stream's parser keeps what arrived after the last complete event
 * (an event ends at a blank line, docs/daemon.md) and hands each event on
 * at once: the daemon writes one event per chunk, but nothing here relies
 * on where chunks or reads end.
 */
#include "cli/daemon_client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/curl_init.h"
#include "store/config_db.h"
#include "store/db_path.h"

mfb_status daemon_client_socket(const struct cli_args *args, char *buf, size_t len,
                                struct mfb_error *err)
{
    const char *given = NULL;
    for (const struct cli_option *o = args->command->options; o && o->name; o++)
        if (strcmp(o->name, "socket") == 0)
            given = cli_string(args, "socket");
    if (given != NULL) {
        if ((size_t)snprintf(buf, len, "%s", given) >= len)
            return mfb_error_set(err, MFB_ERR_USAGE, "--socket is too long");
        return MFB_OK;
    }
    char db[PATH_MAX];
    mfb_status st = store_db_path(args->db_path, CONFIG_DB_FILE, db, sizeof(db), err);
    if (st != MFB_OK)
        return st;
    if ((size_t)snprintf(buf, len, "%s/%s", dirname(db), DAEMON_SOCKET_FILE) >= len)
        return mfb_error_set(err, MFB_ERR_USAGE, "the socket path is too long");
    return MFB_OK;
}

struct reply_buf {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
    struct reply_buf *b = ud;
    size_t add = size * n;
    if (b->len + add > (1u << 24))
        return 0;
    char *p = realloc(b->data, b->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, ptr, add);
    b->data = p;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

mfb_status daemon_client_call(const char *socket, const char *method, const char *path,
                              const char *body, long *status, json_t **reply, struct mfb_error *err)
{
    *status = 0;
    *reply = NULL;
    mfb_status st = curl_init_once(err);
    if (st != MFB_OK)
        return st;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    char url[512];
    snprintf(url, sizeof(url), "http://localhost%s", path);
    struct reply_buf b = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        mfb_error_set(err, MFB_ERR_NETWORK, "no daemon answers on %s", socket);
        mfb_error_hint(err, "run 'mfb backup INSTANCE' in the foreground, or start the daemon: "
                            "mfb daemon");
        st = MFB_ERR_NETWORK;
    } else if (rc != CURLE_OK) {
        mfb_error_set(err, MFB_ERR_NETWORK, "the daemon on %s did not answer: %s", socket,
                      curl_easy_strerror(rc));
        st = MFB_ERR_NETWORK;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (b.len > 0)
            *reply = json_loadb(b.data, b.len, 0, NULL);
        if (*reply == NULL) {
            mfb_error_set(err, MFB_ERR_PROTOCOL, "the daemon on %s answered %ld without JSON",
                          socket, *status);
            st = MFB_ERR_PROTOCOL;
        }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    free(b.data);
    return st;
}

/* The client's side of the stream's keepalive (EVENT_KEEPALIVE_MS, 15 s):
 * nothing for twice as long is a daemon gone. */
#define FOLLOW_SILENCE_S 30L

struct follow {
    CURL *curl;
    daemon_event_fn fn;
    void *ctx;
    const atomic_bool *stop;
    struct reply_buf buf; /* the bytes after the last complete event */
    long status;          /* the HTTP status, read at the first bytes */
    bool ended_by_fn;
};

/* Hands every complete event in f->buf to f->fn; false to stop. */
static bool follow_events(struct follow *f)
{
    if (f->buf.data == NULL)
        return true;
    char *start = f->buf.data;
    char *end;
    bool go_on = true;
    while (go_on && (end = strstr(start, "\n\n")) != NULL) {
        *end = '\0';
        char event[32] = "message";
        const char *data = NULL;
        for (char *line = start; line != NULL;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (strncmp(line, "event: ", 7) == 0)
                snprintf(event, sizeof(event), "%s", line + 7);
            else if (strncmp(line, "data: ", 6) == 0)
                data = line + 6;
            line = nl ? nl + 1 : NULL;
        }
        if (data != NULL) { /* a comment (": keepalive") has none */
            json_t *o = json_loads(data, 0, NULL);
            if (o != NULL)
                go_on = f->fn(f->ctx, event, o);
            json_decref(o);
        }
        start = end + 2;
    }
    size_t rest = f->buf.len - (size_t)(start - f->buf.data);
    memmove(f->buf.data, start, rest + 1);
    f->buf.len = rest;
    return go_on;
}

static size_t on_stream(char *ptr, size_t size, size_t n, void *ud)
{
    struct follow *f = ud;
    if (f->status == 0)
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
    size_t got = on_data(ptr, size, n, &f->buf);
    if (got == 0 || f->status != 200)
        return got; /* an error answer: kept whole for its message */
    if (!follow_events(f)) {
        f->ended_by_fn = true;
        return 0;
    }
    return got;
}

static int on_tick(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    const struct follow *f = ud;
    return f->stop != NULL && atomic_load(f->stop) ? 1 : 0;
}

mfb_status daemon_client_follow(const char *socket, daemon_event_fn fn, void *ctx,
                                const atomic_bool *stop, struct mfb_error *err)
{
    mfb_status st = curl_init_once(err);
    if (st != MFB_OK)
        return st;
    struct follow f = {.curl = curl_easy_init(), .fn = fn, .ctx = ctx, .stop = stop};
    if (f.curl == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    CURL *c = f.curl;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/events");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, FOLLOW_SILENCE_S);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_tick);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        mfb_error_set(err, MFB_ERR_NETWORK, "no daemon answers on %s", socket);
        mfb_error_hint(err, "start the daemon: mfb daemon");
        st = MFB_ERR_NETWORK;
    } else if (f.status != 0 && f.status != 200) {
        json_t *reply = f.buf.len ? json_loadb(f.buf.data, f.buf.len, 0, NULL) : NULL;
        st = daemon_client_error(f.status, reply, err);
        json_decref(reply);
    } else if (f.ended_by_fn || rc == CURLE_ABORTED_BY_CALLBACK) {
        st = MFB_OK;
    } else {
        mfb_error_set(err, MFB_ERR_NETWORK, "the daemon on %s ended the event stream%s%s", socket,
                      rc == CURLE_OK ? "" : ": ", rc == CURLE_OK ? "" : curl_easy_strerror(rc));
        mfb_error_hint(err, "'mfb daemon status' says whether it still runs");
        st = MFB_ERR_NETWORK;
    }
    curl_easy_cleanup(c);
    free(f.buf.data);
    return st;
}

mfb_status daemon_client_error(long status, const json_t *reply, struct mfb_error *err)
{
    const char *msg = json_string_value(json_object_get(reply, "message"));
    const char *hint = json_string_value(json_object_get(reply, "hint"));
    mfb_status st = status == 404  ? MFB_ERR_NOT_FOUND
                    : status < 500 ? MFB_ERR_INVALID
                                   : MFB_ERR_INTERNAL;
    mfb_error_set(err, st, "%s", msg ? msg : "the daemon refused the request");
    if (hint)
        mfb_error_hint(err, "%s", hint);
    return st;
}
