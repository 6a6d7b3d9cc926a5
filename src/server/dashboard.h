/*
 * dashboard.h - the receiver's read-only dashboard (docs/server.md,
 * "The dashboard"): a page at GET / on the receiver's own HTTPS listener
 * that shows, per client and instance, the newest complete backup and its
 * age, the overdue marks of the expectations (`mfb-server expect`), the
 * restore drills' outcomes, the stored size, the retention policy and what
 * it would delete next, the uploads in progress, and the storage's free
 * and used space.
 *
 * An operator logs in with the one password `mfb-server admin passwd`
 * sets. The rules are the client's web UI's, by the same code: the scrypt
 * hash of ui/password.h (kept in the catalog's settings under
 * DASH_PASSWORD_KEY), the sessions, CSRF tokens and slowed failed logins
 * of ui/session.h, the security headers of ui/gate.h. The session cookie
 * has a name of its own, so that a browser logged in to a client's UI on
 * the same host keeps both sessions.
 *
 * Two worlds that never meet: the /v1/ API only ever looks at a client's
 * bearer token, the dashboard's paths (everything outside /v1/) only ever
 * at the session cookie (api_dashboard.c). A client's token opens no page,
 * and a session cookie authorises no API call.
 *
 * The page's data is GET /ui/overview, built here by dashboard_overview
 * from the catalog, the retention module's own plan (retention.h) and the
 * silence alarms' own decision (alert/silence.h): nothing is decided twice.
 */
#ifndef MFB_SERVER_DASHBOARD_H
#define MFB_SERVER_DASHBOARD_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "store/server_db.h"
#include "ui/assets.h"
#include "ui/session.h"

#define DASH_PASSWORD_KEY "admin_password"
#define DASH_COOKIE_NAME "mfb_receiver_session"

/* The dashboard's state in a running receiver (struct server). */
struct dashboard {
    struct ui_sessions sessions;
    /* One password check at a time: a check costs 32 MiB and tens of
     * milliseconds (ui/password.c), and guesses sent on many connections
     * at once must wait their turn behind the slowing of failures. */
    pthread_mutex_t login_lock;
    bool secure; /* cookies get Secure (false only with serve --plaintext) */
};

void dashboard_init(struct dashboard *d);
void dashboard_destroy(struct dashboard *d);

/* The dashboard's HTML, CSS, JavaScript and SVG (ui-server/), compiled in
 * by cmake/embed_assets.cmake; the last has path NULL. */
extern const struct ui_asset dash_assets[];

/* The asset at path ("/" is /index.html), or NULL. */
const struct ui_asset *dash_asset_find(const char *path);

/* Checks the password's length (ui_password_check) and stores its scrypt
 * hash in the catalog; sessions start at the next login. */
mfb_status dashboard_password_set(struct server_db *db, const char *password,
                                  struct mfb_error *err);

struct server;

/* The dashboard's data at time now (Unix seconds), as GET /ui/overview
 * answers it (docs/server.md says each member). *out is the caller's. */
mfb_status dashboard_overview(struct server *srv, int64_t now, json_t **out, struct mfb_error *err);

#endif
