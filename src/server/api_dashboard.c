/*
 * api_dashboard.c - the operator's dashboard on the receiver's listener
 * (see dashboard.h): every path outside /v1/, with a session cookie and
 * never a bearer token.
 *
 * The order of checks is the client UI's gate (ui/gate.h), by the same
 * session code: until a password is set (`mfb-server admin passwd`) every
 * path answers how to set one. The login page and its assets are public;
 * POST /ui/login takes {"password": ..} as JSON (a form of another site
 * cannot send that type without the browser asking first) and sets the
 * session cookie. Anything else needs a live session: without one a page
 * is redirected to /login.html and anything else answers 401. The
 * dashboard is read-only, so the only request that changes something
 * besides the login is POST /ui/logout, which needs the session's CSRF
 * token in X-CSRF-Token (GET /ui/session gives the page its token).
 * GET /ui/overview is the page's data (dashboard_overview).
 */
#include "server/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/dashboard.h"
#include "ui/assets.h"
#include "ui/gate.h"
#include "ui/password.h"

static const char no_password_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>mfb-server: set a password</title></head><body><main>"
    "<h1>The receiver's dashboard has no password yet</h1>"
    "<p>On the receiver, as the user that runs <code>mfb-server serve</code>, set one:</p>"
    "<pre>mfb-server admin passwd</pre>"
    "<p>It reads the password from standard input (or <code>--password-file FILE</code>, "
    "mode 0600), never from the command line. Then reload this page.</p>"
    "</main></body></html>";

/* A body of static or transient text, copied: the answer owns its body. */
static void answer_text(struct api_call *c, unsigned status, const char *type, const void *data,
                        size_t len)
{
    api_response_release(&c->resp);
    c->resp.body = malloc(len + 1);
    if (c->resp.body == NULL) {
        api_fail(c, PROTO_INTERNAL, "out of memory");
        c->resp.page = true;
        return;
    }
    memcpy(c->resp.body, data, len);
    c->resp.body[len] = '\0';
    c->resp.body_len = len;
    c->resp.status = status;
    c->resp.content_type = type;
    c->resp.page = true;
    c->decided = true;
}

static void answer_json(struct api_call *c, unsigned status, json_t *o)
{
    api_set_json(c, o ? status : 500, o);
    c->resp.page = true;
}

/* {"error": code, "message": .., "hint": ..}, as the client UI's gate. */
static void answer_error(struct api_call *c, unsigned status, const char *code, const char *message,
                         const char *hint)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
    if (o && hint)
        json_object_set_new(o, "hint", json_string(hint));
    c->error_code = code;
    answer_json(c, status, o);
}

static void answer_asset(struct api_call *c, const struct ui_asset *a, bool cacheable)
{
    answer_text(c, 200, a->type, a->data, a->len);
    c->resp.cacheable = cacheable;
}

static void set_cookie(struct api_call *c, const char *id)
{
    /* Max-Age=0 clears it at logout. */
    snprintf(c->resp.set_cookie, sizeof(c->resp.set_cookie),
             "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", DASH_COOKIE_NAME, id ? id : "",
             c->srv->dash.secure ? "; Secure" : "", id ? "" : "; Max-Age=0");
}

/* Whether an operator password is set; false with the answer made when
 * the catalog cannot say. */
static bool password_stored(struct api_call *c, char **stored)
{
    struct mfb_error err = {0};
    mfb_status st = server_db_setting_get(c->srv->db, DASH_PASSWORD_KEY, stored, &err);
    if (st != MFB_OK) {
        log_error("request-failed", "what=\"reading the dashboard password\" error=%s",
                  LOG_Q(err.message));
        answer_error(c, 500, "internal", "internal error while reading the password", NULL);
        return false;
    }
    return true;
}

void api_dashboard_begin(struct api_call *c)
{
    const char *path = c->req->url ? c->req->url : "";
    bool reads = strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0;
    bool api = strncmp(path, "/ui/", 4) == 0;
    /* Only the fixed paths count as named: the request log then cuts long
     * hex runs from any other, as it does for the API (http.c). */
    c->routed = strcmp(path, "/") == 0 || dash_asset_find(path) != NULL ||
                strcmp(path, "/ui/login") == 0 || strcmp(path, "/ui/logout") == 0 ||
                strcmp(path, "/ui/session") == 0 || strcmp(path, "/ui/overview") == 0;

    char *stored = NULL;
    if (!password_stored(c, &stored))
        return;
    bool has_password = stored != NULL;
    free(stored);
    if (!has_password) {
        if (api)
            answer_error(c, 503, "no_password", "the receiver's dashboard has no password yet",
                         "run 'mfb-server admin passwd' on the receiver");
        else
            answer_text(c, 503, "text/html; charset=utf-8", no_password_page,
                        strlen(no_password_page));
        return;
    }

    if (strcmp(path, "/ui/login") == 0) {
        if (strcmp(c->method, "POST") != 0) {
            c->resp.allow = "POST";
            answer_error(c, 405, "method_not_allowed", "use POST", NULL);
            return;
        }
        uint64_t length;
        if (api_content_length(c, &length) && length > UI_LOGIN_BODY_MAX)
            answer_error(c, 413, "too_large", "the login body is too large", NULL);
        else
            c->mode = BODY_JSON; /* api_dashboard_finish checks it */
        return;
    }
    if (ui_asset_is_public(path) && reads) {
        const struct ui_asset *a = dash_asset_find(path);
        if (a != NULL)
            answer_asset(c, a, true);
        else
            answer_error(c, 404, "not_found", "no such path", NULL);
        return;
    }

    int64_t now = clock_wall_ms();
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF];
    if (!ui_cookie_value(api_header(c, "Cookie"), DASH_COOKIE_NAME, id) ||
        !ui_session_check(&c->srv->dash.sessions, id, now, csrf)) {
        if (!api && ui_asset_is_page(path) && reads) {
            static const char moved[] = "log in at /login.html\n";
            answer_text(c, 303, "text/plain; charset=utf-8", moved, strlen(moved));
            c->resp.location = "/login.html";
        } else {
            answer_error(c, 401, "unauthorized", "log in first", "open /login.html");
        }
        return;
    }
    c->operator_session = true;
    if (strcmp(path, "/ui/logout") == 0) {
        if (strcmp(c->method, "POST") != 0) {
            c->resp.allow = "POST";
            answer_error(c, 405, "method_not_allowed", "use POST", NULL);
            return;
        }
        if (!ui_session_csrf_ok(&c->srv->dash.sessions, id, api_header(c, "X-CSRF-Token"), now)) {
            answer_error(c, 403, "csrf", "the request lacks this session's CSRF token",
                         "reload the page; a change must carry the X-CSRF-Token header");
            return;
        }
        ui_session_end(&c->srv->dash.sessions, id);
        answer_json(c, 200, json_pack("{s:b}", "logged_out", 1));
        set_cookie(c, NULL);
        log_info("dashboard-logout", "session=ended");
        return;
    }
    if (!reads) {
        /* Read-only: nothing else takes a change. */
        c->resp.allow = "GET, HEAD";
        answer_error(c, 405, "method_not_allowed", "the dashboard is read-only", NULL);
        return;
    }
    if (strcmp(path, "/ui/session") == 0) {
        answer_json(c, 200, json_pack("{s:s}", "csrf", csrf));
        return;
    }
    if (strcmp(path, "/ui/overview") == 0) {
        json_t *o = NULL;
        struct mfb_error err = {0};
        mfb_status st = dashboard_overview(c->srv, now / 1000, &o, &err);
        if (st != MFB_OK) {
            api_fail_status(c, st, &err, "building the dashboard");
            c->resp.page = true;
            return;
        }
        answer_json(c, 200, o);
        return;
    }
    const struct ui_asset *a = api ? NULL : dash_asset_find(path);
    if (a == NULL) {
        answer_error(c, 404, "not_found", "no such path", NULL);
        return;
    }
    answer_asset(c, a, false);
}

void api_dashboard_finish(struct api_call *c)
{
    struct dashboard *d = &c->srv->dash;
    int64_t now = clock_wall_ms();
    const char *type = api_header(c, "Content-Type");
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0) {
        answer_error(c, 415, "bad_type", "the login takes a JSON body", NULL);
        return;
    }
    json_error_t jerr;
    json_t *in = c->json ? json_loadb(c->json, c->json_len, 0, &jerr) : NULL;
    json_t *pw = json_object_get(in, "password");
    if (!json_is_string(pw)) {
        json_decref(in);
        answer_error(c, 400, "bad_request", "the body must be {\"password\": \"...\"}", NULL);
        return;
    }
    /* One check at a time, the wait decided under the same lock, so that
     * guesses sent in parallel are slowed like guesses in a row. */
    pthread_mutex_lock(&d->login_lock);
    int64_t wait = ui_login_wait_ms(&d->sessions, now);
    char *stored = NULL;
    bool ok = false, answered = false;
    if (wait > 0) {
        c->resp.retry_after = (unsigned)((wait + 999) / 1000);
        answer_error(c, 429, "slow_down", "too many failed logins: wait before trying again",
                     "wait the seconds Retry-After says");
        answered = true;
    } else if (!password_stored(c, &stored)) {
        answered = true;
    } else if (stored == NULL) {
        answer_error(c, 503, "no_password", "the receiver's dashboard has no password yet",
                     "run 'mfb-server admin passwd' on the receiver");
        answered = true;
    } else {
        ok = ui_password_verify(json_string_value(pw), stored);
        if (ok)
            ui_login_succeeded(&d->sessions);
        else
            ui_login_failed(&d->sessions, clock_wall_ms());
    }
    pthread_mutex_unlock(&d->login_lock);
    free(stored);
    json_decref(in);
    if (answered)
        return;
    if (!ok) {
        log_warn("dashboard-login", "result=refused");
        answer_error(c, 401, "wrong_password", "wrong password", NULL);
        return;
    }
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF];
    struct mfb_error err = {0};
    if (ui_session_create(&d->sessions, now, id, csrf, &err) != MFB_OK) {
        api_fail_status(c, MFB_ERR_INTERNAL, &err, "starting a session");
        c->resp.page = true;
        return;
    }
    c->operator_session = true;
    log_info("dashboard-login", "result=ok");
    answer_json(c, 200, json_pack("{s:s}", "csrf", csrf));
    set_cookie(c, id);
}
