/*
 * gate.c - the web UI's login, session and CSRF checks in front of the
 * daemon's API, and its static assets (see gate.h).
 */
#include "ui/gate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "metrics/bearer.h"
#include "ui/assets.h"
#include "ui/password.h"

const char *const ui_security_headers[] = {
    "Content-Security-Policy",
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "X-Frame-Options",
    "DENY",
    NULL,
};

static const char no_password_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>mfb: set a password</title></head><body><main>"
    "<h1>The mfb web UI has no password yet</h1>"
    "<p>On the machine that runs <code>mfb daemon</code>, as its user, set one:</p>"
    "<pre>mfb ui passwd</pre>"
    "<p>It reads the password from standard input (or <code>--password-file FILE</code>, "
    "mode 0600), never from the command line. Then reload this page.</p>"
    "</main></body></html>";

void ui_init(struct ui *ui, struct config_db *db, bool tls)
{
    memset(ui, 0, sizeof(*ui));
    ui->db = db;
    ui->tls = tls;
    ui_sessions_init(&ui->sessions, UI_SESSION_IDLE_MS);
}

void ui_destroy(struct ui *ui)
{
    ui_sessions_destroy(&ui->sessions);
}

void ui_answer_free(struct ui_answer *a)
{
    free(a->owned);
    a->owned = NULL;
}

static void set_static(struct ui_answer *a, unsigned status, const char *type, const char *text)
{
    a->status = status;
    a->content_type = type;
    a->data = text;
    a->len = strlen(text);
}

/* A JSON answer {"error": code, "message": .., "hint": ..}. */
static void set_error(struct ui_answer *a, unsigned status, const char *code, const char *message,
                      const char *hint)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
    if (o && hint)
        json_object_set_new(o, "hint", json_string(hint));
    a->owned = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    a->status = a->owned ? status : 500;
    a->content_type = "application/json";
    a->data = a->owned ? a->owned : "";
    a->len = a->owned ? strlen(a->owned) : 0;
}

static void set_json(struct ui_answer *a, unsigned status, json_t *o)
{
    a->owned = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (a->owned == NULL) {
        set_error(a, 500, "internal", "out of memory", NULL);
        return;
    }
    a->status = status;
    a->content_type = "application/json";
    a->data = a->owned;
    a->len = strlen(a->owned);
}

static void set_cookie(struct ui *ui, struct ui_answer *a, const char *id)
{
    /* Max-Age=0 clears it at logout. */
    snprintf(a->set_cookie, sizeof(a->set_cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
             UI_COOKIE_NAME, id ? id : "", ui->tls ? "; Secure" : "", id ? "" : "; Max-Age=0");
}

enum ui_verdict ui_begin(struct ui *ui, const struct ui_request *req, struct ui_answer *a)
{
    memset(a, 0, sizeof(*a));
    const char *path = req->path ? req->path : "";
    const char *method = req->method ? req->method : "";
    bool api = strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/ui/", 4) == 0;
    bool reads = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (strcmp(path, "/metrics") == 0) {
        if (ui->loopback || metrics_bearer_ok(req->authorization, ui->metrics_token))
            return UI_PASS;
        set_error(a, 401, "unauthorized",
                  "the metrics need a bearer token on an address other than loopback",
                  "start mfb daemon with --metrics-token-file FILE and give Prometheus the same "
                  "token");
        return UI_ANSWER;
    }
    char *stored = NULL;
    struct mfb_error err = {0};
    if (ui_password_get(ui->db, &stored, &err) != MFB_OK) {
        set_error(a, 500, "internal", err.message, NULL);
        return UI_ANSWER;
    }
    bool has_password = stored != NULL;
    free(stored);
    if (!has_password) {
        if (api)
            set_error(a, 503, "no_password", "the web UI has no password yet",
                      "run 'mfb ui passwd' as the daemon's user");
        else
            set_static(a, 503, "text/html; charset=utf-8", no_password_page);
        return UI_ANSWER;
    }

    if (strcmp(path, "/ui/login") == 0) {
        if (strcmp(method, "POST") != 0) {
            set_error(a, 405, "method_not_allowed", "this path does not take that method", NULL);
            return UI_ANSWER;
        }
        return UI_NEEDS_BODY;
    }
    if (ui_asset_is_public(path) && reads) {
        const struct ui_asset *asset = ui_asset_find(path);
        if (asset == NULL) {
            set_error(a, 404, "not_found", "no such path", NULL);
            return UI_ANSWER;
        }
        a->status = 200;
        a->content_type = asset->type;
        a->data = asset->data;
        a->len = asset->len;
        a->cacheable = true;
        return UI_ANSWER;
    }

    int64_t now = clock_wall_ms();
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF];
    if (!ui_cookie_session(req->cookie, id) || !ui_session_check(&ui->sessions, id, now, csrf)) {
        if (!api && ui_asset_is_page(path)) {
            a->status = 303;
            a->location = "/login.html";
            set_static(a, 303, "text/plain; charset=utf-8", "log in at /login.html\n");
        } else {
            set_error(a, 401, "unauthorized", "log in first", "open /login.html");
        }
        return UI_ANSWER;
    }
    if (!reads && !ui_session_csrf_ok(&ui->sessions, id, req->csrf, now)) {
        set_error(a, 403, "csrf", "the request lacks this session's CSRF token",
                  "reload the page; a change must carry the X-CSRF-Token header");
        return UI_ANSWER;
    }
    if (strcmp(path, "/ui/session") == 0) {
        set_json(a, 200, json_pack("{s:s}", "csrf", csrf));
        return UI_ANSWER;
    }
    if (strcmp(path, "/ui/logout") == 0) {
        if (reads) {
            set_error(a, 405, "method_not_allowed", "this path does not take that method", NULL);
            return UI_ANSWER;
        }
        ui_session_end(&ui->sessions, id);
        set_cookie(ui, a, NULL);
        set_json(a, 200, json_pack("{s:b}", "logged_out", 1));
        mfb_log(MFB_LOG_INFO, "ui-logout", "session=ended");
        return UI_ANSWER;
    }
    if (strncmp(path, "/v1/", 4) == 0)
        return UI_PASS;
    const struct ui_asset *asset = reads ? ui_asset_find(path) : NULL;
    if (asset == NULL) {
        set_error(a, 404, "not_found", "no such path", NULL);
        return UI_ANSWER;
    }
    a->status = 200;
    a->content_type = asset->type;
    a->data = asset->data;
    a->len = asset->len;
    return UI_ANSWER;
}

void ui_finish(struct ui *ui, const struct ui_request *req, const char *body, size_t len,
               struct ui_answer *a)
{
    memset(a, 0, sizeof(*a));
    int64_t now = clock_wall_ms();
    int64_t wait = ui_login_wait_ms(&ui->sessions, now);
    if (wait > 0) {
        set_error(a, 429, "slow_down", "too many failed logins: wait before trying again",
                  "wait the seconds Retry-After says");
        a->retry_after_s = (unsigned)((wait + 999) / 1000);
        return;
    }
    const char *type = req->content_type ? req->content_type : "";
    if (strncmp(type, "application/json", 16) != 0) {
        set_error(a, 415, "bad_type", "the login takes a JSON body", NULL);
        return;
    }
    json_error_t jerr;
    json_t *in = body ? json_loadb(body, len, 0, &jerr) : NULL;
    json_t *pw = json_object_get(in, "password");
    if (!json_is_string(pw)) {
        json_decref(in);
        set_error(a, 400, "bad_request", "the body must be {\"password\": \"...\"}", NULL);
        return;
    }
    char *stored = NULL;
    struct mfb_error err = {0};
    if (ui_password_get(ui->db, &stored, &err) != MFB_OK || stored == NULL) {
        json_decref(in);
        set_error(a, 500, "internal", stored ? err.message : "no password is set", NULL);
        return;
    }
    bool ok = ui_password_verify(json_string_value(pw), stored);
    free(stored);
    json_decref(in);
    if (!ok) {
        ui_login_failed(&ui->sessions, now);
        mfb_log(MFB_LOG_WARN, "ui-login", "result=refused");
        set_error(a, 401, "wrong_password", "wrong password", NULL);
        return;
    }
    ui_login_succeeded(&ui->sessions);
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF];
    if (ui_session_create(&ui->sessions, now, id, csrf, &err) != MFB_OK) {
        set_error(a, 500, "internal", err.message, NULL);
        return;
    }
    set_cookie(ui, a, id);
    mfb_log(MFB_LOG_INFO, "ui-login", "result=ok");
    set_json(a, 200, json_pack("{s:s}", "csrf", csrf));
}
