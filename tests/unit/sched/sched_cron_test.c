/*
 * sched_cron_test.c - cron expressions of the daemon's schedules
 * (sched/cron.h) and the time zones they are evaluated in
 * (sched/tzfile.h): the syntax and every error message, next runs across
 * month and year ends and leap days, the daylight-saving rule of
 * docs/schedules.md in Europe/Berlin and America/New_York (2026 from the
 * files' transitions, 2040 from their POSIX footer rules), and the zone
 * offsets checked against the C library's localtime_r.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/civil.h"
#include "sched/cron.h"
#include "sched/tzfile.h"

/* Unix seconds of a UTC date and time. */
static int64_t utc(int64_t y, int mo, int d, int h, int mi)
{
    struct civil_time c = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
    return civil_to_seconds(&c);
}

static struct cron_expr parse_ok(const char *text)
{
    struct cron_expr e;
    struct mfb_error err = {0};
    if (cron_parse(text, &e, &err) != MFB_OK)
        fail_msg("'%s': %s", text, err.message);
    return e;
}

static uint64_t bits(const int *values, int n)
{
    uint64_t b = 0;
    for (int i = 0; i < n; i++)
        b |= 1ULL << values[i];
    return b;
}

static int64_t next_ok(const char *expr, const char *tz, int64_t after)
{
    struct mfb_error err = {0};
    int64_t next = 0;
    if (cron_next(expr, tz, after, &next, &err) != MFB_OK)
        fail_msg("'%s' in %s: %s", expr, tz, err.message);
    return next;
}

/* ---- syntax --------------------------------------------------------------- */

static void test_fields_lists_ranges_steps(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("*/15 1-5 1,15,30 10-12 *");
    assert_true(e.minutes == bits((int[]){0, 15, 30, 45}, 4));
    assert_true(e.hours == bits((int[]){1, 2, 3, 4, 5}, 5));
    assert_true(e.days == bits((int[]){1, 15, 30}, 3));
    assert_true(e.months == bits((int[]){10, 11, 12}, 3));
    assert_true(e.wdays == 0x7f);
    assert_true(e.days_any == false && e.wdays_any == true);

    e = parse_ok("10-50/10 */6 */10 */5 1-5/2");
    assert_true(e.minutes == bits((int[]){10, 20, 30, 40, 50}, 5));
    assert_true(e.hours == bits((int[]){0, 6, 12, 18}, 4));
    assert_true(e.days == bits((int[]){1, 11, 21, 31}, 4));
    assert_true(e.months == bits((int[]){1, 6, 11}, 3));
    assert_true(e.wdays == bits((int[]){1, 3, 5}, 3));
    assert_true(e.days_any && !e.wdays_any);

    e = parse_ok("  0\t0,12   * * *  "); /* any blanks between fields */
    assert_true(e.minutes == 1 && e.hours == bits((int[]){0, 12}, 2));
}

static void test_names_and_sunday(void **state)
{
    (void)state;
    struct cron_expr e = parse_ok("0 9 * JAN MON-FRI");
    assert_true(e.months == bits((int[]){1}, 1));
    assert_true(e.wdays == bits((int[]){1, 2, 3, 4, 5}, 5));
    e = parse_ok("0 9 * jan-mar,Dec sun,sat");
    assert_true(e.months == bits((int[]){1, 2, 3, 12}, 4));
    assert_true(e.wdays == bits((int[]){0, 6}, 2));
    assert_true(parse_ok("0 0 * * 0").wdays == 1);
    assert_true(parse_ok("0 0 * * 7").wdays == 1);
    assert_true(parse_ok("0 0 * * 5-7").wdays == bits((int[]){0, 5, 6}, 3));
    assert_true(parse_ok("0 0 * * */2").wdays == bits((int[]){0, 2, 4, 6}, 4));
    assert_true(parse_ok("0 0 * feb-apr/2 *").months == bits((int[]){2, 4}, 2));
}

static void test_shortcuts(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}, {" @DAILY ", "0 0 * * *"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct cron_expr a = parse_ok(pairs[i][0]), b = parse_ok(pairs[i][1]);
        assert_memory_equal(&a, &b, sizeof(a));
    }
    assert_false(parse_ok("@hourly").wall_time);
    assert_true(parse_ok("@daily").wall_time);
    assert_true(parse_ok("30 2 * * *").wall_time);
    assert_true(parse_ok("0,30 1-3 * * *").wall_time);
    assert_false(parse_ok("*/15 2 * * *").wall_time);
    assert_false(parse_ok("30 * * * *").wall_time);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"61 * * * *", "minute 61 is out of range 0-59"},
        {"* 24 * * *", "hour 24 is out of range 0-23"},
        {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
        {"* * 32 * *", "day-of-month 32 is out of range 1-31"},
        {"* * * 13 *", "month 13 is out of range 1-12"},
        {"* * * 0 *", "month 0 is out of range 1-12"},
        {"* * * * 8", "day-of-week 8 is out of range 0-7"},
        {"1-99999999999 * * * *", "minute 99999999999 is out of range 0-59"},
        {"", "expected 5 fields (minute hour day-of-month month day-of-week), found 0"},
        {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
        {"0 0 * * * /backup",
         "expected 5 fields (minute hour day-of-month month day-of-week), found 6"},
        {"* * * foo *", "month 'foo' is not a number or a month name"},
        {"* * * january *", "month 'january' is not a number or a month name"},
        {"* * * * funday", "day-of-week 'funday' is not a number or a day name"},
        {"* mon * * *", "hour 'mon' is not a number"},
        {"*/0 * * * *", "minute step 0 is out of range 1-59"},
        {"*/60 * * * *", "minute step 60 is out of range 1-59"},
        {"* * * * */7", "day-of-week step 7 is out of range 1-6"},
        {"* */x * * *", "hour step 'x' is not a number"},
        {"* 5-2 * * *", "hour range 5-2 is reversed"},
        {"* * * * fri-mon", "day-of-week range fri-mon is reversed"},
        {"1,,2 * * * *", "minute list '1,,2' has an empty item"},
        {",1 * * * *", "minute list ',1' has an empty item"},
        {"1, * * * *", "minute list '1,' has an empty item"},
        {"5x * * * *", "minute '5x' is not a number"},
        {"5-10x * * * *", "minute '10x' is not a number"},
        {"1- * * * *", "minute range '1-' has no end"},
        {"1-2-3 * * * *", "minute item '1-2-3' is not valid"},
        {"*5 * * * *", "minute item '*5' is not valid"},
        {"5/10 * * * *", "minute step '5/10' needs a range or '*' before the '/'"},
        {"@reboot", "unknown shortcut '@reboot'"},
        {"@daily 0", "unexpected '0' after @daily"},
        {"0 0 30 2 *", "day-of-month '30' never occurs in month '2'"},
        {"0 0 31 apr,jun *", "day-of-month '31' never occurs in month 'apr,jun'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cron_expr e;
        struct mfb_error err = {0};
        assert_int_equal(cron_parse(cases[i][0], &e, &err), MFB_ERR_INVALID);
        char want[512];
        snprintf(want, sizeof(want), "cron expression '%s': %s", cases[i][0], cases[i][1]);
        assert_string_equal(err.message, want);
        assert_true(err.hint[0] != '\0');
    }
    /* OR of the day fields, or a month that has the day: these do run. */
    parse_ok("0 0 30 2 1");
    parse_ok("0 0 29 2 *");
    parse_ok("0 0 31 apr,may *");
}

static void test_error_is_one_line(void **state)
{
    (void)state;
    struct cron_expr e;
    struct mfb_error err = {0};
    assert_int_equal(cron_parse("0 0 * * *\n/bin/sh", &e, &err), MFB_ERR_INVALID);
    assert_null(strchr(err.message, '\n'));
    assert_string_equal(err.message, "cron expression '0 0 * * * /bin/sh': expected 5 fields "
                                     "(minute hour day-of-month month day-of-week), found 6");
}

static void test_zone_errors(void **state)
{
    (void)state;
    static const char *const names[] = {"Europe/Nowhere", "../../etc/passwd", "",
                                        "/etc/passwd",    "Europe",           "zone.tab"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mfb_error err = {0};
        int64_t next;
        assert_int_equal(cron_next("0 0 * * *", names[i], 0, &next, &err), MFB_ERR_INVALID);
        char want[300];
        snprintf(want, sizeof(want), "unknown time zone '%s'", names[i]);
        assert_string_equal(err.message, want);
        assert_true(err.hint[0] != '\0');
    }
    struct mfb_error err = {0};
    int64_t out[2];
    assert_int_equal(cron_next_n("0 0 * * *", "UTC", 0, 0, out, &err), MFB_ERR_USAGE);
}

/* ---- next runs in UTC ---------------------------------------------------- */

static void test_next_month_ends_and_rollover(void **state)
{
    (void)state;
    assert_true(next_ok("0 0 1 * *", "UTC", utc(2026, 1, 31, 12, 0)) == utc(2026, 2, 1, 0, 0));
    /* February has no 31st; April none either */
    assert_true(next_ok("0 12 31 * *", "UTC", utc(2026, 1, 31, 13, 0)) == utc(2026, 3, 31, 12, 0));
    assert_true(next_ok("0 12 31 * *", "UTC", utc(2026, 3, 31, 12, 0)) == utc(2026, 5, 31, 12, 0));
    assert_true(next_ok("0 0 1 1 *", "UTC", utc(2026, 6, 1, 0, 0)) == utc(2027, 1, 1, 0, 0));
    assert_true(next_ok("*/30 * * * *", "UTC", utc(2026, 12, 31, 23, 45)) == utc(2027, 1, 1, 0, 0));
    assert_true(next_ok("59 23 31 12 *", "UTC", utc(2026, 12, 31, 23, 59)) ==
                utc(2027, 12, 31, 23, 59));
    /* strictly after, and seconds within the minute do not count */
    assert_true(next_ok("* * * * *", "UTC", utc(2026, 5, 5, 5, 5)) == utc(2026, 5, 5, 5, 6));
    assert_true(next_ok("* * * * *", "UTC", utc(2026, 5, 5, 5, 5) + 59) == utc(2026, 5, 5, 5, 6));
    assert_true(next_ok("0 9 * jan-mar MON-FRI", "UTC", utc(2026, 3, 27, 9, 0)) ==
                utc(2026, 3, 30, 9, 0)); /* Friday, then Monday */
    assert_true(next_ok("0 9 * jan-mar MON-FRI", "UTC", utc(2026, 3, 31, 9, 0)) ==
                utc(2027, 1, 1, 9, 0)); /* 2027-01-01 is a Friday */
}

static void test_next_leap_days(void **state)
{
    (void)state;
    assert_true(next_ok("0 0 * * *", "UTC", utc(2028, 2, 28, 0, 0)) == utc(2028, 2, 29, 0, 0));
    assert_true(next_ok("0 0 * * *", "UTC", utc(2026, 2, 28, 0, 0)) == utc(2026, 3, 1, 0, 0));
    assert_true(next_ok("0 0 29 2 *", "UTC", utc(2026, 1, 1, 0, 0)) == utc(2028, 2, 29, 0, 0));
    assert_true(next_ok("0 0 29 2 *", "UTC", utc(2028, 2, 29, 0, 0)) == utc(2032, 2, 29, 0, 0));
    /* 2100 is not a leap year */
    assert_true(next_ok("0 0 29 2 *", "UTC", utc(2096, 3, 1, 0, 0)) == utc(2104, 2, 29, 0, 0));
}

static void test_next_day_fields_or_and(void **state)
{
    (void)state;
    /* both restricted: the 10th OR any Friday (2026-02-01 is a Sunday) */
    int64_t out[4];
    struct mfb_error err = {0};
    assert_int_equal(cron_next_n("0 0 10 * 5", "UTC", utc(2026, 2, 1, 0, 0), 4, out, &err), MFB_OK);
    assert_true(out[0] == utc(2026, 2, 6, 0, 0));
    assert_true(out[1] == utc(2026, 2, 10, 0, 0));
    assert_true(out[2] == utc(2026, 2, 13, 0, 0));
    assert_true(out[3] == utc(2026, 2, 20, 0, 0));
    /* one starts with '*': both must match, Mondays that are odd days */
    assert_int_equal(cron_next_n("0 0 */2 * mon", "UTC", utc(2026, 2, 1, 0, 0), 3, out, &err),
                     MFB_OK);
    assert_true(out[0] == utc(2026, 2, 9, 0, 0));
    assert_true(out[1] == utc(2026, 2, 23, 0, 0));
    assert_true(out[2] == utc(2026, 3, 9, 0, 0));
    /* '13 * 5' is not Friday the 13th: it runs on the next Friday */
    assert_true(next_ok("0 0 13 * 5", "UTC", utc(2026, 2, 14, 0, 0)) == utc(2026, 2, 20, 0, 0));
}

/* ---- daylight-saving time ------------------------------------------------- */

struct dst_case {
    const char *zone, *expr;
    int64_t after, want[3];
};

static void test_fixed_time_runs_once_across_dst(void **state)
{
    (void)state;
    const struct dst_case cases[] = {
        /* spring forward: 02:30 does not exist, runs at 03:00 local */
        {"Europe/Berlin",
         "30 2 * * *",
         utc(2026, 3, 28, 12, 0),
         {utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)}},
        {"Europe/Berlin",
         "30 2 * * *",
         utc(2040, 3, 24, 12, 0),
         {utc(2040, 3, 25, 1, 0), utc(2040, 3, 26, 0, 30), utc(2040, 3, 27, 0, 30)}},
        {"America/New_York",
         "30 2 * * *",
         utc(2026, 3, 7, 12, 0),
         {utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)}},
        {"America/New_York",
         "30 2 * * *",
         utc(2040, 3, 10, 12, 0),
         {utc(2040, 3, 11, 7, 0), utc(2040, 3, 12, 6, 30), utc(2040, 3, 13, 6, 30)}},
        /* several skipped times still run once */
        {"Europe/Berlin",
         "0,30 2 * * *",
         utc(2026, 3, 28, 23, 30),
         {utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 0), utc(2026, 3, 30, 0, 30)}},
        /* fall back: 02:30 (Berlin), 01:30 (New York) happen twice, run once */
        {"Europe/Berlin",
         "30 2 * * *",
         utc(2026, 10, 24, 12, 0),
         {utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)}},
        {"Europe/Berlin",
         "30 2 * * *",
         utc(2040, 10, 27, 12, 0),
         {utc(2040, 10, 28, 0, 30), utc(2040, 10, 29, 1, 30), utc(2040, 10, 30, 1, 30)}},
        {"America/New_York",
         "30 1 * * *",
         utc(2026, 10, 31, 12, 0),
         {utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)}},
        {"America/New_York",
         "30 1 * * *",
         utc(2040, 11, 3, 12, 0),
         {utc(2040, 11, 4, 5, 30), utc(2040, 11, 5, 6, 30), utc(2040, 11, 6, 6, 30)}},
        /* asked between the two passes: the second is not a run */
        {"America/New_York",
         "30 1 * * *",
         utc(2026, 11, 1, 6, 0),
         {utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30), utc(2026, 11, 4, 6, 30)}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t out[3];
        struct mfb_error err = {0};
        assert_int_equal(cron_next_n(cases[i].expr, cases[i].zone, cases[i].after, 3, out, &err),
                         MFB_OK);
        for (int k = 0; k < 3; k++) {
            if (out[k] != cases[i].want[k])
                fail_msg("case %zu (%s, '%s') run %d: got %lld, want %lld", i, cases[i].zone,
                         cases[i].expr, k, (long long)out[k], (long long)cases[i].want[k]);
        }
    }
}

static void test_wildcards_follow_real_minutes(void **state)
{
    (void)state;
    const struct {
        const char *zone;
        int64_t change;
    } changes[] = {
        {"Europe/Berlin", utc(2026, 3, 29, 1, 0)},    {"Europe/Berlin", utc(2026, 10, 25, 1, 0)},
        {"Europe/Berlin", utc(2040, 3, 25, 1, 0)},    {"Europe/Berlin", utc(2040, 10, 28, 1, 0)},
        {"America/New_York", utc(2026, 3, 8, 7, 0)},  {"America/New_York", utc(2026, 11, 1, 6, 0)},
        {"America/New_York", utc(2040, 3, 11, 7, 0)}, {"America/New_York", utc(2040, 11, 4, 6, 0)},
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        int64_t out[24];
        struct mfb_error err = {0};
        int64_t from = changes[i].change - 3 * 3600;
        assert_int_equal(cron_next_n("*/15 * * * *", changes[i].zone, from, 24, out, &err), MFB_OK);
        for (int k = 0; k < 24; k++)
            assert_true(out[k] == from + 900 * (k + 1));
        assert_int_equal(cron_next_n("0 * * * *", changes[i].zone, from, 6, out, &err), MFB_OK);
        for (int k = 0; k < 6; k++)
            assert_true(out[k] == from + 3600 * (k + 1));
    }
}

/* Minute-by-minute oracle: the first real minute after `after` whose wall
 * time matches. The rule for wildcard expressions, literally. */
static int64_t brute_next(const struct cron_expr *e, const struct tz_zone *z, int64_t after)
{
    for (int64_t u = civil_floor_div(after, 60) * 60 + 60;; u += 60)
        if (cron_matches(e, u + tz_zone_offset(z, u)))
            return u;
}

static void test_wildcards_match_oracle(void **state)
{
    (void)state;
    static const char *const exprs[] = {"*/7 1-3 * * *", "5,55 * * * *", "*/20 */2 * * *",
                                        "0-59/13 * * * sun"};
    const struct {
        const char *zone;
        int64_t change;
    } changes[] = {
        {"Europe/Berlin", utc(2026, 3, 29, 1, 0)},
        {"Europe/Berlin", utc(2026, 10, 25, 1, 0)},
        {"America/New_York", utc(2040, 3, 11, 7, 0)},
        {"America/New_York", utc(2040, 11, 4, 6, 0)},
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        struct tz_zone *z = NULL;
        assert_int_equal(tz_zone_load(changes[i].zone, &z, NULL), MFB_OK);
        for (size_t x = 0; x < sizeof(exprs) / sizeof(exprs[0]); x++) {
            struct cron_expr e = parse_ok(exprs[x]);
            for (int64_t after = changes[i].change - 4 * 3600; after < changes[i].change + 4 * 3600;
                 after += 420) {
                int64_t got = 0;
                assert_int_equal(cron_expr_next(&e, z, after, &got, NULL), MFB_OK);
                int64_t want = brute_next(&e, z, after);
                if (got != want)
                    fail_msg("%s '%s' after %lld: got %lld, want %lld", changes[i].zone, exprs[x],
                             (long long)after, (long long)got, (long long)want);
            }
        }
        tz_zone_free(z);
    }
}

static void test_resolve(void **state)
{
    (void)state;
    struct tz_zone *z = NULL;
    assert_int_equal(tz_zone_load("Europe/Berlin", &z, NULL), MFB_OK);
    int64_t at[2];
    assert_int_equal(tz_zone_resolve(z, utc(2026, 3, 29, 2, 30), at), 0);
    assert_true(at[0] == utc(2026, 3, 29, 1, 0));
    assert_int_equal(tz_zone_resolve(z, utc(2026, 10, 25, 2, 30), at), 2);
    assert_true(at[0] == utc(2026, 10, 25, 0, 30) && at[1] == utc(2026, 10, 25, 1, 30));
    assert_int_equal(tz_zone_resolve(z, utc(2026, 7, 1, 12, 0), at), 1);
    assert_true(at[0] == utc(2026, 7, 1, 10, 0));
    assert_string_equal(tz_zone_name(z), "Europe/Berlin");
    tz_zone_free(z);
}

/* ---- zone offsets against the C library ----------------------------------- */

/* Sets TZ for this (single-threaded) test process only: the module itself
 * never does, which is its point. */
static void compare_with_libc(const char *tz_env, struct tz_zone *z)
{
    setenv("TZ", tz_env, 1);
    tzset();
    int checked = 0;
    int64_t from = utc(1970, 1, 1, 0, 0), to = utc(2051, 1, 1, 0, 0);
    for (int64_t t = from; t < to; t += 2 * 86400 + 3607) {
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(localtime_r(&tt, &tm));
        if (tm.tm_gmtoff != tz_zone_offset(z, t))
            fail_msg("%s at %lld: libc %ld, ours %d", tz_env, (long long)t, tm.tm_gmtoff,
                     tz_zone_offset(z, t));
        checked++;
    }
    /* every hour of a year within the file's transitions and two beyond */
    const int64_t years[] = {2026, 2040, 2050};
    for (size_t y = 0; y < 3; y++) {
        for (int64_t t = utc(years[y], 1, 1, 0, 0); t < utc(years[y] + 1, 1, 1, 0, 0); t += 1800) {
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            if (tm.tm_gmtoff != tz_zone_offset(z, t))
                fail_msg("%s at %lld: libc %ld, ours %d", tz_env, (long long)t, tm.tm_gmtoff,
                         tz_zone_offset(z, t));
            checked++;
        }
    }
    assert_true(checked > 60000);
    unsetenv("TZ");
    tzset();
}

static void test_offsets_match_libc(void **state)
{
    (void)state;
    static const char *const zones[] = {
        "Europe/Berlin",    "America/New_York",  "Australia/Sydney", "Australia/Lord_Howe",
        "Europe/Dublin",    "America/Sao_Paulo", "Asia/Kolkata",     "Pacific/Chatham",
        "America/Nuuk",     "Africa/Casablanca", "Pacific/Apia",     "Asia/Tehran",
        "America/Santiago", "Europe/London",     "America/St_Johns", "UTC",
    };
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        struct tz_zone *z = NULL;
        struct mfb_error err = {0};
        if (tz_zone_load(zones[i], &z, &err) != MFB_OK)
            fail_msg("%s: %s", zones[i], err.message);
        compare_with_libc(zones[i], z);
        tz_zone_free(z);
    }
}

static void test_posix_rules_match_libc(void **state)
{
    (void)state;
    static const char *const rules[] = {
        "EST5EDT,M3.2.0,M11.1.0",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        "IST-1GMT0,M10.5.0,M3.5.0/1",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
        "CST6CDT,M4.1.0,M10.5.0",
        "XXX3YYY,J60/2,300/25",
        "<+05>-5",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        struct tz_zone *z = NULL;
        struct mfb_error err = {0};
        if (tz_zone_from_posix(rules[i], &z, &err) != MFB_OK)
            fail_msg("%s: %s", rules[i], err.message);
        compare_with_libc(rules[i], z);
        tz_zone_free(z);
    }
    /* A daylight name without dates takes today's United States rule (the C
     * library would read the posixrules file instead: not compared). */
    struct tz_zone *a = NULL, *b = NULL;
    assert_int_equal(tz_zone_from_posix("EST5EDT", &a, NULL), MFB_OK);
    assert_int_equal(tz_zone_from_posix("EST5EDT,M3.2.0,M11.1.0", &b, NULL), MFB_OK);
    for (int64_t t = utc(2000, 1, 1, 0, 0); t < utc(2060, 1, 1, 0, 0); t += 86400 + 1801)
        assert_int_equal(tz_zone_offset(a, t), tz_zone_offset(b, t));
    tz_zone_free(a);
    tz_zone_free(b);

    struct tz_zone *z = NULL;
    struct mfb_error err = {0};
    assert_int_equal(tz_zone_from_posix("CET-1CEST,M13.5.0,M10.5.0", &z, &err), MFB_ERR_INVALID);
    assert_string_equal(err.message, "'CET-1CEST,M13.5.0,M10.5.0' is not a POSIX TZ rule");
}

static void test_local_zone(void **state)
{
    (void)state;
    struct tz_zone *z = NULL;
    setenv("TZ", "America/New_York", 1);
    assert_int_equal(tz_zone_load("local", &z, NULL), MFB_OK);
    assert_int_equal(tz_zone_offset(z, utc(2026, 7, 1, 0, 0)), -4 * 3600);
    assert_string_equal(tz_zone_name(z), "local");
    tz_zone_free(z);
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    assert_int_equal(tz_zone_load("local", &z, NULL), MFB_OK);
    assert_int_equal(tz_zone_offset(z, utc(2026, 7, 1, 0, 0)), 2 * 3600);
    tz_zone_free(z);
    unsetenv("TZ");
    assert_int_equal(tz_zone_load("local", &z, NULL), MFB_OK); /* /etc/localtime, or UTC */
    tz_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_lists_ranges_steps),
        cmocka_unit_test(test_names_and_sunday),
        cmocka_unit_test(test_shortcuts),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_is_one_line),
        cmocka_unit_test(test_zone_errors),
        cmocka_unit_test(test_next_month_ends_and_rollover),
        cmocka_unit_test(test_next_leap_days),
        cmocka_unit_test(test_next_day_fields_or_and),
        cmocka_unit_test(test_fixed_time_runs_once_across_dst),
        cmocka_unit_test(test_wildcards_follow_real_minutes),
        cmocka_unit_test(test_wildcards_match_oracle),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_offsets_match_libc),
        cmocka_unit_test(test_posix_rules_match_libc),
        cmocka_unit_test(test_local_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
