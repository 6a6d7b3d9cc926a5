/*
 * log.c - the key=value event logger (see log.h).
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum mfb_log_level log_threshold = MFB_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void mfb_log_init(enum mfb_log_level level, FILE *stream)
{
    log_threshold = level;
    log_stream = stream;
}

bool mfb_log_level_parse(const char *text, enum mfb_log_level *level)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (enum mfb_log_level)i;
            return true;
        }
    }
    return false;
}

bool mfb_log_enabled(enum mfb_log_level level)
{
    return level <= log_threshold;
}

void mfb_log(enum mfb_log_level level, const char *event, const char *fmt, ...)
{
    if (!mfb_log_enabled(level))
        return;
    char fields[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    FILE *out = log_stream ? log_stream : stderr;
    fprintf(out, "%s.%03ldZ %s %s%s%s\n", stamp, now.tv_nsec / 1000000, level_names[level], event,
            fields[0] ? " " : "", fields);
    fflush(out);
}

const char *log_quote(const char *value, char *buf, size_t size)
{
    if (size < 8) { /* room for at least "..." with its quotes */
        if (size > 0)
            buf[0] = '\0';
        return buf;
    }
    if (value == NULL) {
        snprintf(buf, size, "-");
        return buf;
    }
    /* The longest escape (\xNN) plus the closing quote, "..." and NUL. */
    const size_t tail = 4 + 5 + 1;
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (o + tail > size) {
            /* No half UTF-8 character before the cut. */
            size_t lead = o;
            while (lead > 1 && ((unsigned char)buf[lead - 1] & 0xC0) == 0x80)
                lead--;
            unsigned char b = lead > 1 ? (unsigned char)buf[lead - 1] : 0;
            size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (b >= 0xC0 && o - (lead - 1) < need)
                o = lead - 1;
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02X", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
