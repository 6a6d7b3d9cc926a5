/*
 * assets.h - the web UI's HTML, CSS and JavaScript (ui/, with the files
 * it shares with the receiver's dashboard in ui-common/), compiled into
 * the binary by cmake/embed_assets.cmake: the daemon never reads them from
 * disk, so an installed mfb cannot serve files other than its own. The
 * receiver's dashboard (ui-server/ and ui-common/) is compiled in the same
 * way as dash_assets (server/dashboard.h).
 */
#ifndef MFB_UI_ASSETS_H
#define MFB_UI_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

struct ui_asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Every asset; the last has path NULL. */
extern const struct ui_asset ui_assets[];

/* The asset at path ("/" is /index.html) in table, or NULL. */
const struct ui_asset *ui_asset_lookup(const struct ui_asset *table, const char *path);

/* The web UI's asset at path: ui_asset_lookup(ui_assets, path). */
const struct ui_asset *ui_asset_find(const char *path);

/* Whether path is served without a session: the login page and what it
 * loads (its script, the stylesheets, the icon). The same for the web UI
 * and the receiver's dashboard, whose login pages load the same files. */
bool ui_asset_is_public(const char *path);

/* Whether path is a page ("/" or *.html): without a session a page is
 * redirected to the login page, anything else answers 401. */
bool ui_asset_is_page(const char *path);

#endif
