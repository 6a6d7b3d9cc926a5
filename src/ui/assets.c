/*
 * assets.c - finding a compiled-in asset of the web UI (ui/, ui-common/),
 * and which paths the web UI and the receiver's dashboard serve before a
 * login (see assets.h).
 */
#include "ui/assets.h"

#include <string.h>

const struct ui_asset *ui_asset_lookup(const struct ui_asset *table, const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (const struct ui_asset *a = table; a->path; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

const struct ui_asset *ui_asset_find(const char *path)
{
    return ui_asset_lookup(ui_assets, path);
}

bool ui_asset_is_public(const char *path)
{
    return strcmp(path, "/login.html") == 0 || strcmp(path, "/login.js") == 0 ||
           strcmp(path, "/style.css") == 0 || strcmp(path, "/base.css") == 0 ||
           strcmp(path, "/favicon.svg") == 0;
}

bool ui_asset_is_page(const char *path)
{
    size_t n = strlen(path);
    return strcmp(path, "/") == 0 || (n > 5 && strcmp(path + n - 5, ".html") == 0);
}
