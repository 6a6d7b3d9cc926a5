/*
 * cron.h - cron expressions of the daemon's schedules: parsing, and the
 * next run times in a named time zone (docs/schedules.md).
 *
 * The syntax is the five standard fields `MIN HOUR DOM MON DOW` with
 * lists, ranges, steps and English names, plus the @-shortcuts (@hourly,
 * @daily, ...). Day-of-month and day-of-week combine as in Vixie cron:
 * when both are restricted a day matches if either matches.
 *
 * Next-run computation works on wall-clock time and maps each candidate to
 * real time through the zone (sched/tzfile.h), never through the
 * process's TZ, so it is safe on any thread. The daylight-saving rule is
 * cronie's and systemd's: an expression whose minute and hour fields are
 * both fixed (neither starts with '*') names a time of day, which runs
 * once a day even when the clocks change: a time skipped by the spring
 * change runs at the first instant after the gap, a time repeated by the
 * autumn change runs at its first occurrence only. An expression with a
 * wildcard minute or hour (every 15 minutes, `0 * * * *`) instead follows
 * real minutes: it fires whenever the wall clock shows a matching time, so
 * every 15 minutes stays every 15 minutes of real time through both changes.
 *
 * All functions are reentrant; a struct cron_expr and a loaded zone are
 * plain values that threads may share read-only.
 */
#ifndef MFB_SCHED_CRON_H
#define MFB_SCHED_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "sched/tzfile.h"

/* The most run times cron_next_n computes in one call. */
#define CRON_NEXT_MAX 100

/* A parsed expression: one bit per allowed value of each field. */
struct cron_expr {
    uint64_t minutes; /* bits 0-59 */
    uint32_t hours;   /* bits 0-23 */
    uint32_t days;    /* bits 1-31, day of month */
    uint16_t months;  /* bits 1-12 */
    uint8_t wdays;    /* bits 0-6, Sunday 0 (7 is folded into 0) */
    bool days_any;    /* the day-of-month field starts with '*' */
    bool wdays_any;   /* the day-of-week field starts with '*' */
    bool wall_time;   /* minute and hour both fixed: a time of day (see above) */
};

/* Parses text into *out. A bad expression is MFB_ERR_INVALID with a
 * one-line message naming the expression, the field and its allowed range
 * ("cron expression '61 * * * *': minute 61 is out of range 0-59") and a
 * hint. */
mfb_status cron_parse(const char *text, struct cron_expr *out, struct mfb_error *err);

/* Whether the expression matches a wall-clock minute (civil seconds, see
 * sched/civil.h). */
bool cron_matches(const struct cron_expr *expr, int64_t wall);

/* The first run strictly after the instant after (Unix seconds), in zone,
 * into *next. MFB_ERR_INTERNAL only if no run is found within the search
 * bound of 50 years, which cron_parse's checks make impossible. */
mfb_status cron_expr_next(const struct cron_expr *expr, const struct tz_zone *zone, int64_t after,
                          int64_t *next, struct mfb_error *err);

/* cron_expr_next from text: parses expr and loads the zone tz (an IANA
 * name, "UTC" or "local"; see tz_zone_load) on each call. */
mfb_status cron_next(const char *expr, const char *tz, int64_t after, int64_t *next,
                     struct mfb_error *err);

/* The next n runs after the instant after, in ascending order, into out[0..n-1]
 * (for "the next three runs" of `mfb schedule list`). n is 1..CRON_NEXT_MAX. */
mfb_status cron_next_n(const char *expr, const char *tz, int64_t after, size_t n, int64_t *out,
                       struct mfb_error *err);

#endif
