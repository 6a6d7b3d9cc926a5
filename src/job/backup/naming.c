/*
 * naming.c - naming pattern expansion (see naming.h).
 *
 * One left-to-right pass copies literal text and replaces each {...} as it
 * is met, into a buffer far larger than a valid name, so that an over-long
 * result is reported by its length rather than silently cut; the receiver's
 * own rule (proto_name_valid) then judges the whole name.
 */
#include "job/backup/naming.h"

#include "common/parse.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"

#define NAMING_WORK 1024 /* room for any result we might report on */
#define NAMING_PLACEHOLDERS "{instance}, {host}, {type}, {time:FMT} or {seq}"

struct out_buf {
    char text[NAMING_WORK];
    size_t len;
    bool overflow;
};

static void append(struct out_buf *b, const char *s, size_t n)
{
    if (b->len + n >= sizeof(b->text)) {
        b->overflow = true;
        n = sizeof(b->text) - 1 - b->len;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static mfb_status bad_pattern(struct mfb_error *err, const char *pattern, const char *what,
                              const char *hint)
{
    mfb_error_set(err, MFB_ERR_INVALID, "naming pattern '%s': %s", pattern, what);
    mfb_error_hint(err, "%s", hint);
    return MFB_ERR_INVALID;
}

/* Expands one placeholder: key is the text between the braces. */
static mfb_status expand_one(const char *pattern, const char *key, size_t key_len,
                             const struct naming_vars *v, struct out_buf *b, struct mfb_error *err)
{
    const char *colon = memchr(key, ':', key_len);
    size_t name_len = colon ? (size_t)(colon - key) : key_len;
    char arg[NAMING_WORK];
    size_t arg_len = colon ? key_len - name_len - 1 : 0;
    if (arg_len >= sizeof(arg))
        return bad_pattern(err, pattern, "a placeholder is too long", "shorten it");
    memcpy(arg, colon ? colon + 1 : "", arg_len);
    arg[arg_len] = '\0';
#define IS(word) (name_len == strlen(word) && strncmp(key, word, name_len) == 0)
    const char *value = NULL;
    if (IS("instance"))
        value = v->instance;
    else if (IS("host"))
        value = v->host;
    else if (IS("type"))
        value = v->type;
    if (value != NULL || IS("instance") || IS("host") || IS("type")) {
        if (colon)
            return bad_pattern(err, pattern, "only {time:FMT} and {seq:N} take an argument",
                               "write {instance}, {host} or {type} without ':'");
        value = value ? value : "";
        append(b, value, strlen(value));
        return MFB_OK;
    }
    if (IS("time")) {
        const char *fmt = colon ? arg : NAMING_TIME_DEFAULT;
        if (*fmt == '\0')
            return bad_pattern(err, pattern, "{time:} needs a strftime format",
                               "for example {time:%Y%m%d-%H%M%S}");
        char text[256];
        size_t n = v->time ? strftime(text, sizeof(text), fmt, v->time) : 0;
        if (n == 0) {
            char what[NAMING_WORK + 64];
            snprintf(what, sizeof(what), "time format '%s' gives an empty or over-long text", fmt);
            return bad_pattern(err, pattern, what, "see strftime(3) for the % conversions");
        }
        append(b, text, n);
        return MFB_OK;
    }
    if (IS("seq")) {
        unsigned width = 0;
        if (colon) {
            uint64_t w = 0;
            if (parse_uint(arg, 1, 20, &w, NULL) != MFB_OK)
                return bad_pattern(err, pattern, "{seq:N} needs a width N from 1 to 20",
                                   "for example {seq:4} gives 0001, 0002, ...");
            width = (unsigned)w;
        }
        char text[32];
        int n = snprintf(text, sizeof(text), "%0*" PRIu64, (int)width, v->seq);
        append(b, text, (size_t)n);
        return MFB_OK;
    }
#undef IS
    char what[NAMING_WORK + 64];
    snprintf(what, sizeof(what), "unknown placeholder '{%.*s}'", (int)key_len, key);
    return bad_pattern(err, pattern, what,
                       "use " NAMING_PLACEHOLDERS "; write {{ and }} for literal braces");
}

mfb_status naming_expand(const char *pattern, const struct naming_vars *vars, char *out, size_t len,
                         struct mfb_error *err)
{
    if (len > 0)
        out[0] = '\0';
    if (pattern == NULL || *pattern == '\0')
        return bad_pattern(err, "", "the pattern is empty",
                           "the default is {instance}_{time:%Y%m%d-%H%M%S}.zip");
    struct out_buf b = {.len = 0};
    b.text[0] = '\0';
    const char *p = pattern;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            append(&b, "{", 1);
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            append(&b, "}", 1);
            p += 2;
        } else if (*p == '}') {
            return bad_pattern(err, pattern, "a '}' without its '{'",
                               "write }} for a literal brace");
        } else if (*p == '{') {
            const char *close = strchr(p + 1, '}');
            const char *open = strchr(p + 1, '{');
            if (close == NULL || (open != NULL && open < close))
                return bad_pattern(err, pattern, "a '{' without its '}'",
                                   "close the placeholder, or write {{ for a literal brace");
            mfb_status st = expand_one(pattern, p + 1, (size_t)(close - p - 1), vars, &b, err);
            if (st != MFB_OK)
                return st;
            p = close + 1;
        } else {
            size_t n = strcspn(p, "{}");
            append(&b, p, n);
            p += n;
        }
    }
    char why[160];
    if (b.overflow || b.len > PROTO_NAME_MAX) {
        /* Quote only the start of a pattern and name this long. */
        mfb_error_set(err, MFB_ERR_INVALID,
                      "naming pattern '%.40s%s' gives a name of %s%zu bytes, which the receiver "
                      "refuses: name must be at most %d bytes",
                      pattern, strlen(pattern) > 40 ? "..." : "", b.overflow ? "over " : "", b.len,
                      PROTO_NAME_MAX);
        mfb_error_hint(err, "shorten the pattern or its time format");
        return MFB_ERR_INVALID;
    }
    if (!proto_name_valid(b.text, why, sizeof(why))) {
        mfb_error_set(err, MFB_ERR_INVALID,
                      "naming pattern '%s' gives the name '%s', which the receiver refuses: %s",
                      pattern, b.text, why);
        mfb_error_hint(err,
                       "names must be 1-%d bytes without '/', '\\' or control characters, "
                       "and must not start with '.'",
                       PROTO_NAME_MAX);
        return MFB_ERR_INVALID;
    }
    if (b.len >= len)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "naming: output buffer too small");
    memcpy(out, b.text, b.len + 1);
    return MFB_OK;
}

mfb_status naming_check(const char *pattern, const char *instance, char *example, size_t len,
                        struct mfb_error *err)
{
    char host[256] = "host";
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    struct naming_vars v = {.instance = instance ? instance : "instance",
                            .host = host,
                            .type = "full",
                            .time = &tm,
                            .seq = 1};
    char name[NAMING_BUF];
    mfb_status st = naming_expand(pattern, &v, name, sizeof(name), err);
    if (st == MFB_OK && example != NULL)
        snprintf(example, len, "%s", name);
    return st;
}
