/*
 * metrics.h - a small writer of the Prometheus text exposition format
 * (version 0.0.4), shared by the daemon's GET /metrics and the receiver's
 * --metrics-listen (docs/monitoring.md).
 *
 * The writer builds the whole page in memory: a page is a few kilobytes,
 * computed from the databases on each scrape, so there is nothing to
 * stream. It holds the format's rules in one place, so no caller can
 * break them:
 * - a family's # HELP and # TYPE lines come once, before its first
 *   sample, and only when it has one (a family with nothing to say, such
 *   as the drill metrics before any drill ran, is left out);
 * - a family's samples are contiguous: the caller writes one family at a
 *   time (metrics_family, then its samples);
 * - label values are escaped (backslash, double quote, newline), as is
 *   the help text (backslash, newline); names are checked against the
 *   format's grammar (an assert: they are constants in the code);
 * - values are integers when they are whole, else shortest round-trip
 *   decimals, and NaN/+Inf/-Inf as the format spells them.
 * Out of memory is remembered and reported once, by metrics_take.
 */
#ifndef MFB_METRICS_METRICS_H
#define MFB_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* The Content-Type of a page. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type { METRICS_GAUGE, METRICS_COUNTER };

struct metrics_writer {
    char *buf;
    size_t len, cap;
    bool oom;
    const char *family; /* the family being written (borrowed) */
    const char *help;
    enum metrics_type type;
    bool header_done; /* its # HELP / # TYPE lines are out */
};

void metrics_init(struct metrics_writer *w);
/* Starts a family: name (a counter's ends in _total), its type and a
 * one-line help. Its header is written with its first sample. Strings are
 * borrowed until the next metrics_family. */
void metrics_family(struct metrics_writer *w, const char *name, enum metrics_type type,
                    const char *help);
/* One sample of the current family: labels are name/value pairs ending
 * with NULL (labels may be NULL for none). */
void metrics_sample(struct metrics_writer *w, const char *const *labels, double value);
/* The same with one label, the common case. */
void metrics_sample1(struct metrics_writer *w, const char *label, const char *value, double v);
/* Hands over the page (*out allocated, NUL-terminated; free()) and resets
 * w. MFB_ERR_NO_MEMORY when any write failed. */
mfb_status metrics_take(struct metrics_writer *w, char **out, size_t *len, struct mfb_error *err);
/* Frees what w holds (after an error path). */
void metrics_discard(struct metrics_writer *w);

/* Whether name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), and a
 * valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __). */
bool metrics_name_valid(const char *name);
bool metrics_label_name_valid(const char *name);

#endif
