/*
 * session.h - the web UI's login sessions, CSRF tokens and the slowing of
 * repeated failed logins (docs/ui.md), without sockets so the unit tests
 * drive them with plain strings and a given clock.
 *
 * A session id and its CSRF token are 256 random bits each (OpenSSL's
 * RAND_bytes), in hex. The id travels only in the HttpOnly cookie; the
 * token is handed to the page by GET /ui/session and must come back in the
 * X-CSRF-Token header of every request that changes something, which a
 * page of another site cannot send. A session ends at logout, after
 * idle_ms without a request, or when the table is full and it is the
 * least recently used. Everything is under one mutex: the daemon's HTTP
 * threads, the receiver's dashboard (server/dashboard.h, one table of its
 * own) and the tests are the users.
 *
 * Failed logins: after UI_LOGIN_FREE_FAILURES failures in a row, each
 * further attempt must wait (1 s, doubling, at most 60 s) before it is
 * even checked; a success resets the count. The wait is global, not per
 * address, because a single password guards the whole UI.
 */
#ifndef MFB_UI_SESSION_H
#define MFB_UI_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

#define UI_TOKEN_HEX 64 /* 256 bits in hex */
#define UI_TOKEN_BUF (UI_TOKEN_HEX + 1)
#define UI_SESSIONS_MAX 64
#define UI_SESSION_IDLE_MS (30 * 60 * 1000)
#define UI_LOGIN_FREE_FAILURES 3
#define UI_LOGIN_MAX_WAIT_MS 60000
#define UI_COOKIE_NAME "mfb_session"

struct ui_session {
    bool used;
    char id[UI_TOKEN_BUF];
    char csrf[UI_TOKEN_BUF];
    int64_t last_ms;
};

struct ui_sessions {
    pthread_mutex_t lock;
    int64_t idle_ms;
    struct ui_session slot[UI_SESSIONS_MAX];
    unsigned failures;       /* failed logins in a row */
    int64_t locked_until_ms; /* no login is checked before this */
};

void ui_sessions_init(struct ui_sessions *s, int64_t idle_ms);
void ui_sessions_destroy(struct ui_sessions *s);

/* A new session; id and csrf (UI_TOKEN_BUF each) get its tokens. */
mfb_status ui_session_create(struct ui_sessions *s, int64_t now_ms, char *id, char *csrf,
                             struct mfb_error *err);
/* Whether id names a live session (which it keeps alive); csrf (may be
 * NULL) gets its token. */
bool ui_session_check(struct ui_sessions *s, const char *id, int64_t now_ms, char *csrf);
/* Whether token is the CSRF token of live session id. */
bool ui_session_csrf_ok(struct ui_sessions *s, const char *id, const char *token, int64_t now_ms);
/* Ends session id (logout); an unknown id is a no-op. */
void ui_session_end(struct ui_sessions *s, const char *id);

/* Milliseconds a login attempt must still wait; 0 when it may be checked. */
int64_t ui_login_wait_ms(struct ui_sessions *s, int64_t now_ms);
void ui_login_failed(struct ui_sessions *s, int64_t now_ms);
void ui_login_succeeded(struct ui_sessions *s);

/* The value of cookie UI_COOKIE_NAME in a Cookie header into id
 * (UI_TOKEN_BUF); false when absent or not UI_TOKEN_HEX hex digits. */
bool ui_cookie_session(const char *cookie_header, char *id);
/* The same for a cookie of another name: the receiver's dashboard keeps
 * its session in a cookie of its own (server/dashboard.h), so that a
 * browser logged in to both on one host keeps both sessions. */
bool ui_cookie_value(const char *cookie_header, const char *name, char *id);

#endif
