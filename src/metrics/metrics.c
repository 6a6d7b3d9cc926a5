/*
 * metrics.c - the Prometheus text exposition writer (see metrics.h).
 */
#include "metrics/metrics.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_init(struct metrics_writer *w)
{
    memset(w, 0, sizeof(*w));
}

static bool grow(struct metrics_writer *w, size_t more)
{
    if (w->oom)
        return false;
    if (w->len + more + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *n = realloc(w->buf, cap);
    if (n == NULL) {
        w->oom = true;
        return false;
    }
    w->buf = n;
    w->cap = cap;
    return true;
}

static void put(struct metrics_writer *w, const char *s, size_t n)
{
    if (!grow(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct metrics_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Text with backslash and newline escaped, and with quote when a label
 * value is written (the format's two escaping rules). */
static void put_escaped(struct metrics_writer *w, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(w, "\\\\", 2);
        else if (*s == '\n')
            put(w, "\\n", 2);
        else if (quote && *s == '"')
            put(w, "\\\"", 2);
        else
            put(w, s, 1);
    }
}

static void put_value(struct metrics_writer *w, double v)
{
    char num[40];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact */
        snprintf(num, sizeof(num), "%lld", (long long)v);
    else
        snprintf(num, sizeof(num), "%.17g", v);
    puts_(w, num);
}

bool metrics_name_valid(const char *name)
{
    if (name == NULL || *name == '\0' || (*name >= '0' && *name <= '9'))
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ':'))
            return false;
    }
    return true;
}

bool metrics_label_name_valid(const char *name)
{
    return metrics_name_valid(name) && strchr(name, ':') == NULL && strncmp(name, "__", 2) != 0;
}

void metrics_family(struct metrics_writer *w, const char *name, enum metrics_type type,
                    const char *help)
{
    /* A counter's name ends in _total (docs/monitoring.md); names are
     * constants in the code, so a wrong one is a bug. */
    assert(metrics_name_valid(name));
    assert(type != METRICS_COUNTER ||
           (strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0));
    w->family = name;
    w->help = help;
    w->type = type;
    w->header_done = false;
}

void metrics_sample(struct metrics_writer *w, const char *const *labels, double value)
{
    assert(w->family != NULL);
    if (!w->header_done) {
        puts_(w, "# HELP ");
        puts_(w, w->family);
        puts_(w, " ");
        put_escaped(w, w->help ? w->help : "", false);
        puts_(w, "\n# TYPE ");
        puts_(w, w->family);
        puts_(w, w->type == METRICS_COUNTER ? " counter\n" : " gauge\n");
        w->header_done = true;
    }
    puts_(w, w->family);
    if (labels != NULL && labels[0] != NULL) {
        puts_(w, "{");
        for (size_t i = 0; labels[i] != NULL; i += 2) {
            assert(metrics_label_name_valid(labels[i]));
            if (i > 0)
                puts_(w, ",");
            puts_(w, labels[i]);
            puts_(w, "=\"");
            put_escaped(w, labels[i + 1] ? labels[i + 1] : "", true);
            puts_(w, "\"");
        }
        puts_(w, "}");
    }
    puts_(w, " ");
    put_value(w, value);
    puts_(w, "\n");
}

void metrics_sample1(struct metrics_writer *w, const char *label, const char *value, double v)
{
    const char *labels[] = {label, value, NULL};
    metrics_sample(w, labels, v);
}

mfb_status metrics_take(struct metrics_writer *w, char **out, size_t *len, struct mfb_error *err)
{
    *out = NULL;
    *len = 0;
    if (w->oom || !grow(w, 0)) {
        metrics_discard(w);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    *out = w->buf;
    *len = w->len;
    metrics_init(w);
    return MFB_OK;
}

void metrics_discard(struct metrics_writer *w)
{
    free(w->buf);
    metrics_init(w);
}
