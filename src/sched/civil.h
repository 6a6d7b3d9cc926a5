/*
 * civil.h - proleptic Gregorian calendar arithmetic on 64-bit seconds, for
 * the scheduler's cron matching (sched/cron.c) and time-zone rules
 * (sched/tzfile.c).
 *
 * A "civil second" count is a wall-clock date and time written as if it
 * were UTC: seconds since 1970-01-01 00:00 on the local calendar. The
 * scheduler searches wall-clock times in this form and only then maps them
 * to real instants through a zone (tz_zone_resolve), so nothing here knows
 * about zones, and nothing here calls the C library's time functions, whose
 * local-time side depends on the process's TZ (see docs/schedules.md).
 * Day/date conversion is H. Hinnant's days_from_civil/civil_from_days: exact
 * for every year an int64 of seconds can hold, with no tables.
 */
#ifndef MFB_SCHED_CIVIL_H
#define MFB_SCHED_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

struct civil_time {
    int64_t year;
    int month;  /* 1-12 */
    int day;    /* 1-31 */
    int hour;   /* 0-23 */
    int minute; /* 0-59 */
    int second; /* 0-59 */
    int wday;   /* 0-6, Sunday 0 */
};

/* a / b rounded towards minus infinity (b > 0). */
static inline int64_t civil_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static inline bool civil_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static inline int civil_month_days(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && civil_is_leap(year) ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of year-month-day. */
static inline int64_t civil_days_from_ymd(int64_t year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Day of the week of a day count, Sunday 0 (1970-01-01 was a Thursday). */
static inline int civil_wday(int64_t days)
{
    return (int)((days % 7 + 11) % 7);
}

static inline struct civil_time civil_from_seconds(int64_t secs)
{
    struct civil_time c;
    int64_t days = civil_floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    c.hour = (int)(rem / 3600);
    c.minute = (int)(rem % 3600 / 60);
    c.second = (int)(rem % 60);
    c.wday = civil_wday(days);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    return c;
}

/* Civil seconds of a date and time (wday is ignored). */
static inline int64_t civil_to_seconds(const struct civil_time *c)
{
    return civil_days_from_ymd(c->year, c->month, c->day) * 86400 + c->hour * 3600 +
           c->minute * 60 + c->second;
}

#endif
