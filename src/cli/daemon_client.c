/*
 * daemon_client.c - requests to the daemon's control API over its UNIX
 * socket (see daemon_client.h).
 */
#include "cli/daemon_client.h"

#include <curl/curl.h>
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
