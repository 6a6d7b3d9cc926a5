/*
 * gate.h - what the web UI's TCP listener does before the daemon's API
 * sees a request (docs/ui.md), without sockets: the HTTP layer
 * (daemon/http.c) hands it the method, path and three headers, and either
 * passes the request on to the same API handlers as the UNIX socket
 * (daemon/api.h) or sends the answer the gate made.
 *
 * In order: until a password is set (`mfb ui passwd`) every path answers
 * a page saying how to set one. The login page and its assets are public;
 * POST /ui/login takes {"password": ..} as JSON (a form of another site
 * cannot send that type without the browser asking first) and sets the
 * session cookie. Anything else needs a live session: without one a page
 * is redirected to /login.html and an API path answers 401. A request that
 * changes something (any method but GET and HEAD) needs the session's
 * CSRF token in X-CSRF-Token, else 403. GET /ui/session gives the page
 * its token; POST /ui/logout ends the session. /v1/... passes to the API;
 * other paths are the compiled-in assets (ui/assets.h).
 */
#ifndef MFB_UI_GATE_H
#define MFB_UI_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/config_db.h"
#include "ui/session.h"

#define UI_LOGIN_BODY_MAX 4096

struct ui {
    struct config_db *db; /* borrowed */
    bool tls;             /* cookies get Secure */
    /* GET /metrics (docs/monitoring.md) needs no session: on loopback it
     * is open, as the receiver's metrics listener is; elsewhere it needs
     * "Authorization: Bearer metrics_token" (borrowed; NULL: refused). */
    bool loopback;
    const char *metrics_token;
    struct ui_sessions sessions;
};

struct ui_request {
    const char *method;
    const char *path;
    const char *cookie;        /* Cookie header, or NULL */
    const char *csrf;          /* X-CSRF-Token header, or NULL */
    const char *content_type;  /* Content-Type header, or NULL */
    const char *authorization; /* Authorization header, or NULL */
};

struct ui_answer {
    unsigned status;
    const char *content_type;
    const void *data; /* the body: static, or owned below */
    size_t len;
    char *owned; /* allocated body, freed by ui_answer_free */
    char set_cookie[192];
    const char *location;   /* for a redirect */
    unsigned retry_after_s; /* 429 */
    bool cacheable;         /* a static asset; everything else is no-store */
};

enum ui_verdict {
    UI_PASS,      /* an API path of a logged-in session: the API answers */
    UI_ANSWER,    /* the answer is in *a */
    UI_NEEDS_BODY /* read the body (at most UI_LOGIN_BODY_MAX), then ui_finish */
};

/* Headers every answer of the UI listener carries (name, value pairs,
 * ending with NULL). */
extern const char *const ui_security_headers[];

void ui_init(struct ui *ui, struct config_db *db, bool tls);
void ui_destroy(struct ui *ui);

enum ui_verdict ui_begin(struct ui *ui, const struct ui_request *req, struct ui_answer *a);
/* For UI_NEEDS_BODY: body is the whole body (NULL when it was too large). */
void ui_finish(struct ui *ui, const struct ui_request *req, const char *body, size_t len,
               struct ui_answer *a);
void ui_answer_free(struct ui_answer *a);

#endif
