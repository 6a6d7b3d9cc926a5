/*
 * fuzz_ui.c - libFuzzer target for the web UI's HTTP handling (docs/ui.md):
 * the gate (ui/gate.h: the password page, login with its JSON body and
 * slowing, the session cookie, the CSRF token, logout, the assets) and,
 * for what it passes on, the daemon's API with the UI's own routes
 * (/v1/ui/...: instances, the job log's filters and search, report, cron,
 * schedules, settings, checks), driven as daemon/http.c's UI listener
 * drives them, without sockets.
 *
 * Input format (what the seed corpus uses):
 *   METHOD SP PATH[?QUERY] LF
 *   COOKIE LF          Cookie header; "@" is the live session's, "" none
 *   CSRF LF            X-CSRF-Token header; "@" is the live session's
 *   CONTENT-TYPE LF
 *   BODY
 * The password is set (at a low scrypt cost, so a login is quick) and "@"
 * names a live session (a new one when a fuzzed logout ended it). Every gate answer has a status
 * and a type; a refusal (4xx/5xx) of an API path is {"error", "message"};
 * a redirect goes to the login page; a request with neither a live
 * session nor the public pages' paths never reaches the API (aborts
 * otherwise); what passes is checked as daemon_fixture.h checks it.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon_fixture.h"
#include "store/config_records.h"
#include "ui/gate.h"
#include "ui/password.h"

static struct ui ui;
static char session_id[UI_TOKEN_BUF], cookie[UI_TOKEN_BUF + 32], csrf[UI_TOKEN_BUF];

/* A live session for "@": a fuzzed logout ends one, so make another. */
static void keep_session(void)
{
    if (session_id[0] && ui_session_check(&ui.sessions, session_id, clock_wall_ms(), NULL))
        return;
    if (ui_session_create(&ui.sessions, clock_wall_ms(), session_id, csrf, NULL) != MFB_OK)
        abort();
    snprintf(cookie, sizeof(cookie), "%s=%s", UI_COOKIE_NAME, session_id);
}

static void setup(void)
{
    struct config_db *db = NULL;
    fuzz_daemon(&db);
    char hash[UI_HASH_BUF];
    if (ui_password_hash_cost("fuzz password", 4, hash, sizeof(hash), NULL) != MFB_OK ||
        config_setting_set(db, UI_PASSWORD_KEY, hash, NULL) != MFB_OK)
        abort();
    ui_init(&ui, db, false);
}

/* The next line of *p (cut at LF), or NULL when there is none. */
static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL)
        return NULL;
    *nl = '\0';
    char *line = *p;
    *p = nl + 1;
    return line;
}

static void check_gate_answer(const struct ui_request *r, const struct ui_answer *a)
{
    if (a->status < 200 || a->status > 599 || a->content_type == NULL ||
        (a->len > 0 && a->data == NULL))
        abort();
    if (a->status == 303 && (a->location == NULL || strcmp(a->location, "/login.html") != 0))
        abort();
    bool api = strncmp(r->path, "/v1/", 4) == 0 || strncmp(r->path, "/ui/", 4) == 0;
    if (api && a->status >= 400) {
        json_t *o = json_loadb(a->data, a->len, 0, NULL);
        const char *code = json_string_value(json_object_get(o, "error"));
        const char *msg = json_string_value(json_object_get(o, "message"));
        if (code == NULL || msg == NULL || msg[0] == '\0')
            abort();
        json_decref(o);
    }
    if (a->status == 429 && a->retry_after_s == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    keep_session();
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf, *end = buf + size;
    char *first = next_line(&p, end);
    char *ck = next_line(&p, end), *tok = next_line(&p, end), *type = next_line(&p, end);
    char *space = first ? strchr(first, ' ') : NULL;
    if (space == NULL || type == NULL) {
        free(buf);
        return 0;
    }
    *space = '\0';
    const char *method = first, *url = space + 1;
    /* libmicrohttpd hands the gate the path without its query */
    char *path = strndup(url, strcspn(url, "?"));
    if (path == NULL) {
        free(buf);
        return 0;
    }
    struct ui_request r = {
        .method = method,
        .path = path,
        .cookie = strcmp(ck, "@") == 0 ? cookie
                  : ck[0]              ? ck
                                       : NULL,
        .csrf = strcmp(tok, "@") == 0 ? csrf
                : tok[0]              ? tok
                                      : NULL,
        .content_type = type[0] ? type : NULL,
    };
    const char *body = p;
    size_t body_len = (size_t)(end - p);
    struct ui_answer a;
    enum ui_verdict v = ui_begin(&ui, &r, &a);
    if (v == UI_ANSWER) {
        check_gate_answer(&r, &a);
        ui_answer_free(&a);
    } else if (v == UI_NEEDS_BODY) {
        ui_finish(&ui, &r, body_len <= UI_LOGIN_BODY_MAX ? body : NULL, body_len, &a);
        check_gate_answer(&r, &a);
        ui_answer_free(&a);
    } else {
        /* only a live session's API path gets past the gate */
        if (strncmp(path, "/v1/", 4) != 0 || r.cookie == NULL)
            abort();
        fuzz_daemon_request(fuzz_daemon(NULL), method, url, body, body_len);
    }
    free(path);
    free(buf);
    return 0;
}
