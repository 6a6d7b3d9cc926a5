/*
 * layout.c - expansion of the directory pattern (see layout.h).
 */
#include "server/layout.h"

#include <stdio.h>
#include <string.h>

/* Appends text to out, failing when out is full. */
static bool append(char *out, size_t out_len, size_t *used, const char *text, size_t len)
{
    if (*used + len >= out_len)
        return false;
    memcpy(out + *used, text, len);
    *used += len;
    out[*used] = '\0';
    return true;
}

/* Expands into raw (which may contain "//" and a trailing '/'); with vars
 * NULL it only checks the placeholders. */
static mfb_status expand_raw(const char *pattern, const struct layout_vars *vars, char *out,
                             size_t out_len, struct mfb_error *err)
{
    size_t used = 0;
    out[0] = '\0';
    if (pattern[0] == '/')
        return mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' must be relative (no leading '/')",
                             pattern);
    for (const char *p = pattern; *p;) {
        if (*p != '{') {
            if (*p == '}' || (unsigned char)*p < 0x20)
                return mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' has a stray '%c'", pattern,
                                     *p == '}' ? '}' : '?');
            if (!append(out, out_len, &used, p, 1))
                goto too_long;
            p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (close == NULL)
            return mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' has an unclosed '{'", pattern);
        size_t len = (size_t)(close - p - 1);
        const char *key = p + 1;
        const char *value = NULL;
        char stamp[256];
        if (len == 6 && strncmp(key, "client", 6) == 0) {
            value = vars ? vars->client : "";
        } else if (len == 8 && strncmp(key, "instance", 8) == 0) {
            value = vars ? vars->instance : "";
        } else if (len == 3 && strncmp(key, "dir", 3) == 0) {
            value = vars && vars->dir ? vars->dir : "";
        } else if (len > 5 && strncmp(key, "time:", 5) == 0 && len - 5 < 64) {
            char fmt[64];
            memcpy(fmt, key + 5, len - 5);
            fmt[len - 5] = '\0';
            struct tm tm;
            time_t t = vars ? vars->time : 0;
            gmtime_r(&t, &tm);
            if (strftime(stamp, sizeof(stamp), fmt, &tm) == 0)
                return mfb_error_set(err, MFB_ERR_INVALID,
                                     "layout '%s': time format '%s' gives nothing", pattern, fmt);
            value = stamp;
        } else {
            mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' has an unknown placeholder '{%.*s}'",
                          pattern, (int)len, key);
            mfb_error_hint(err, "use {client}, {instance}, {dir} and {time:FORMAT} (strftime)");
            return MFB_ERR_INVALID;
        }
        if (!append(out, out_len, &used, value, strlen(value)))
            goto too_long;
        p = close + 1;
    }
    return MFB_OK;
too_long:
    return mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' expands to a path that is too long",
                         pattern);
}

/* Drops empty components, rejects "." and ".." and control characters. */
static mfb_status normalise(const char *pattern, const char *raw, char *out, size_t out_len,
                            struct mfb_error *err)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = raw; *p;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return mfb_error_set(err, MFB_ERR_INVALID,
                                 "layout '%s' gives a '.' or '..' path component", pattern);
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return mfb_error_set(err, MFB_ERR_INVALID, "layout '%s' gives a control character",
                                     pattern);
        }
        if ((used > 0 && !append(out, out_len, &used, "/", 1)) ||
            !append(out, out_len, &used, p, len))
            return mfb_error_set(err, MFB_ERR_INVALID,
                                 "layout '%s' expands to a path that is too long", pattern);
        p += len;
    }
    return MFB_OK;
}

mfb_status layout_check(const char *pattern, struct mfb_error *err)
{
    char raw[4096];
    return expand_raw(pattern, NULL, raw, sizeof(raw), err);
}

mfb_status layout_expand(const char *pattern, const struct layout_vars *vars, char *out,
                         size_t out_len, struct mfb_error *err)
{
    char raw[4096];
    mfb_status st = expand_raw(pattern, vars, raw, sizeof(raw), err);
    if (st != MFB_OK)
        return st;
    return normalise(pattern, raw, out, out_len, err);
}
