/*
 * layout.h - where a published backup goes: the directory pattern.
 *
 * A pattern such as "{client}/{instance}/{time:%Y}/{time:%m}/" is expanded
 * with the client's name, the instance, the client's optional
 * sub-directory ({dir}) and the upload's creation time (UTC, through
 * strftime). Values from clients were checked by proto_name_valid before
 * they get here, so an expansion cannot climb out of the storage root;
 * the pattern itself is checked when an operator sets it, and the result is
 * checked again (no absolute path, no "." or ".." component) because
 * strftime formats are free text.
 */
#ifndef MFB_SERVER_LAYOUT_H
#define MFB_SERVER_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/status.h"

#define LAYOUT_DEFAULT "{client}/{instance}/{time:%Y}/{time:%m}/"

struct layout_vars {
    const char *client;
    const char *instance;
    const char *dir; /* "" or NULL when the client gave none */
    time_t time;
};

/* Checks that a pattern only uses known placeholders and is relative. */
mfb_status layout_check(const char *pattern, struct mfb_error *err);

/* Expands pattern into a storage-relative directory without leading or
 * trailing '/' and without empty components ("db1/prod/2026/11"); an empty
 * result means the storage root itself. */
mfb_status layout_expand(const char *pattern, const struct layout_vars *vars, char *out,
                         size_t out_len, struct mfb_error *err);

#endif
