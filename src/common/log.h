/*
 * log.h - one-line, key=value event logging to stderr.
 *
 * A line looks like
 *   2026-11-25T19:30:00.123Z info archive entries=12 bytes=4096
 * so a person can read it and a machine can split it. Levels are error,
 * warn, info and debug; the threshold is process-wide and set once at start
 * (the only mutable global besides the sink). Lines are written with one
 * fprintf under the stream lock, so threads never interleave within a line.
 * Never pass a secret (password, token) to these functions.
 *
 * A value someone else chose (a client's instance or file name, a path
 * built from them, an error message naming such a path) may hold spaces,
 * '=', quotes or line breaks, and written as is it would add fields or
 * lines of its own ("name=a.bin client=other"). Such values go through
 * log_quote (or LOG_Q), which writes them as one double-quoted field.
 */
#ifndef MFB_COMMON_LOG_H
#define MFB_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum mfb_log_level { MFB_LOG_ERROR = 0, MFB_LOG_WARN, MFB_LOG_INFO, MFB_LOG_DEBUG };

/* Sets the threshold and the stream (NULL means stderr). */
void mfb_log_init(enum mfb_log_level level, FILE *stream);

/* Parses "error", "warn", "info" or "debug". */
bool mfb_log_level_parse(const char *text, enum mfb_log_level *level);

bool mfb_log_enabled(enum mfb_log_level level);

/* Logs one event: `event` is a short word ("archive", "upload"), fmt the
 * key=value fields. */
void mfb_log(enum mfb_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Room for one quoted value (log_quote): a name of 128 bytes with every
 * byte escaped, or a path of a few hundred bytes. */
#define LOG_QUOTE_BUF 1024

/* Writes value between double quotes into buf (size bytes): '"' and '\'
 * are escaped with a backslash, control bytes and DEL as \xNN, so the
 * value can end neither its field nor the line. Other bytes (UTF-8) are
 * kept. A value too long for buf is cut, and ends in "..." inside the
 * quotes. NULL is written as "-" without quotes. Returns buf. */
const char *log_quote(const char *value, char *buf, size_t size);

/* log_quote into a buffer that lives until the end of the enclosing
 * block, for use in a log call's arguments:
 *   log_info("upload-open", "name=%s", LOG_Q(u->name)); */
#define LOG_Q(value) log_quote((value), (char[LOG_QUOTE_BUF]){0}, LOG_QUOTE_BUF)

#define log_error(event, ...) mfb_log(MFB_LOG_ERROR, event, __VA_ARGS__)
#define log_warn(event, ...) mfb_log(MFB_LOG_WARN, event, __VA_ARGS__)
#define log_info(event, ...) mfb_log(MFB_LOG_INFO, event, __VA_ARGS__)
#define log_debug(event, ...)                                                                      \
    do {                                                                                           \
        if (mfb_log_enabled(MFB_LOG_DEBUG))                                                        \
            mfb_log(MFB_LOG_DEBUG, event, __VA_ARGS__);                                            \
    } while (0)

#endif
