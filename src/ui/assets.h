/*
 * assets.h - the web UI's HTML, CSS and JavaScript (ui/), compiled into the
 * binary by cmake/embed_assets.cmake: the daemon never reads them from
 * disk, so an installed mfb cannot serve files other than its own.
 */
#ifndef MFB_UI_ASSETS_H
#define MFB_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Every asset; the last has path NULL. */
extern const struct ui_asset ui_assets[];

/* The asset at path ("/" is /index.html), or NULL. */
const struct ui_asset *ui_asset_find(const char *path);

#endif
