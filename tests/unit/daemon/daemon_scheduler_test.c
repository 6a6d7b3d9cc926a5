/*
 * daemon_scheduler_test.c - the scheduler's decision for one schedule
 * (daemon/scheduler.h): nothing before a run time, a run time that comes
 * fires schedule:NAME once, missed run times give ONE catch-up entry with
 * `once` and nothing with `skip` (except a run time due on time), a clock
 * that went back, and time zones.
 */
#include "unit.h"

#include <string.h>

#include "daemon/daemon.h"
#include "daemon/scheduler.h"
#include "sched/civil.h"

static int64_t utc(int64_t y, int mo, int d, int h, int mi, int s)
{
    struct civil_time c = {.year = y, .month = mo, .day = d, .hour = h, .minute = mi};
    return civil_to_seconds(&c) + s;
}

static struct sched_decision decide(const char *cron, const char *tz, enum config_catch_up p,
                                    int64_t last, int64_t now)
{
    struct cron_expr e;
    struct tz_zone *z = NULL;
    struct mfb_error err = {0};
    assert_int_equal(cron_parse(cron, &e, &err), MFB_OK);
    assert_int_equal(tz_zone_load(tz, &z, &err), MFB_OK);
    struct sched_decision d;
    assert_int_equal(sched_decide(&e, z, p, last, now, &d, &err), MFB_OK);
    tz_zone_free(z);
    return d;
}

static void test_nothing_before_the_run_time(void **state)
{
    (void)state;
    int64_t last = utc(2026, 3, 1, 1, 0, 0);
    struct sched_decision d =
        decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_ONCE, last, utc(2026, 3, 1, 1, 59, 59));
    assert_int_equal(d.action, SCHED_NOTHING);
    assert_int_equal(d.last, last);
    assert_int_equal(d.next, utc(2026, 3, 1, 2, 0, 0));
}

static void test_a_run_time_fires_once(void **state)
{
    (void)state;
    for (int p = CONFIG_CATCH_UP_ONCE; p <= CONFIG_CATCH_UP_SKIP; p++) {
        int64_t now = utc(2026, 3, 1, 2, 0, 3);
        struct sched_decision d =
            decide("0 2 * * *", "UTC", (enum config_catch_up)p, utc(2026, 3, 1, 1, 0, 0), now);
        assert_int_equal(d.action, SCHED_FIRE);
        assert_int_equal(d.last, now);
        assert_int_equal(d.next, utc(2026, 3, 2, 2, 0, 0));
        /* the next round, from the new start point, does not fire again */
        d = decide("0 2 * * *", "UTC", (enum config_catch_up)p, d.last, now + 20);
        assert_int_equal(d.action, SCHED_NOTHING);
    }
    /* every minute: exactly at the minute, and late within the grace */
    int64_t t = utc(2026, 3, 1, 10, 0, 0);
    assert_int_equal(decide("* * * * *", "UTC", CONFIG_CATCH_UP_SKIP, t - 30, t).action,
                     SCHED_FIRE);
    assert_int_equal(
        decide("* * * * *", "UTC", CONFIG_CATCH_UP_SKIP, t - 1, t + SCHED_GRACE_S - 1).action,
        SCHED_FIRE);
}

static void test_missed_runs_once_is_one_catch_up(void **state)
{
    (void)state;
    /* down for three days over a daily 02:00 */
    int64_t now = utc(2026, 3, 4, 9, 0, 0);
    struct sched_decision d =
        decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_ONCE, utc(2026, 3, 1, 1, 0, 0), now);
    assert_int_equal(d.action, SCHED_CATCH_UP);
    assert_int_equal(d.last, now);
    assert_int_equal(d.next, utc(2026, 3, 5, 2, 0, 0));
    /* and nothing more for those runs */
    assert_int_equal(decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_ONCE, d.last, now + 1).action,
                     SCHED_NOTHING);
    /* one missed run (a clock jump forward past it) is a catch-up too */
    d = decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_ONCE, utc(2026, 3, 1, 1, 59, 0),
               utc(2026, 3, 1, 2, 0, SCHED_GRACE_S));
    assert_int_equal(d.action, SCHED_CATCH_UP);
    /* a year down with an every-minute schedule: still one */
    d = decide("* * * * *", "UTC", CONFIG_CATCH_UP_ONCE, utc(2025, 3, 1, 0, 0, 0), now + 5);
    assert_int_equal(d.action, SCHED_CATCH_UP);
    assert_int_equal(d.next, now + 60);
}

static void test_missed_runs_skip_waits(void **state)
{
    (void)state;
    int64_t now = utc(2026, 3, 4, 9, 0, 0) + 30;
    struct sched_decision d =
        decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_SKIP, utc(2026, 3, 1, 1, 0, 0), now);
    assert_int_equal(d.action, SCHED_NOTHING);
    assert_int_equal(d.last, now);
    assert_int_equal(d.next, utc(2026, 3, 5, 2, 0, 0));
    /* but a run time that is due now still runs, as schedule:NAME */
    d = decide("0 * * * *", "UTC", CONFIG_CATCH_UP_SKIP, utc(2026, 3, 1, 1, 0, 0),
               utc(2026, 3, 4, 9, 0, 5));
    assert_int_equal(d.action, SCHED_FIRE);
    assert_int_equal(d.next, utc(2026, 3, 4, 10, 0, 0));
}

static void test_clock_went_back(void **state)
{
    (void)state;
    int64_t now = utc(2026, 3, 1, 1, 30, 0);
    struct sched_decision d =
        decide("0 2 * * *", "UTC", CONFIG_CATCH_UP_ONCE, utc(2026, 3, 1, 5, 0, 0), now);
    assert_int_equal(d.action, SCHED_NOTHING);
    assert_int_equal(d.last, now);
    assert_int_equal(d.next, utc(2026, 3, 1, 2, 0, 0));
}

static void test_zone(void **state)
{
    (void)state;
    /* 02:00 in Berlin (UTC+1 in March before the change) is 01:00 UTC */
    struct sched_decision d = decide("0 2 * * *", "Europe/Berlin", CONFIG_CATCH_UP_ONCE,
                                     utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 1, 1, 0, 1));
    assert_int_equal(d.action, SCHED_FIRE);
}

/* The upload retries' backoff (daemon.h): 30 s doubling to 30 minutes,
 * plus at most a tenth of jitter; a cap below the start is the start. */
static void test_retry_backoff(void **state)
{
    (void)state;
    const uint64_t s = 1000;
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 1, 0), 30 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 2, 0), 60 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 6, 0), 960 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 7, 0), 1800 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 1000, 0), 1800 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 1, 3 * s), 33 * s);
    assert_int_equal(daemon_retry_delay_ms(30 * s, 1800 * s, 1, 3 * s + 1), 30 * s);
    assert_true(daemon_retry_delay_ms(30 * s, 1800 * s, 40, UINT64_MAX) <= 1980 * s);
    assert_int_equal(daemon_retry_delay_ms(10 * s, 2 * s, 3, 0), 10 * s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_before_the_run_time),
        cmocka_unit_test(test_a_run_time_fires_once),
        cmocka_unit_test(test_missed_runs_once_is_one_catch_up),
        cmocka_unit_test(test_missed_runs_skip_waits),
        cmocka_unit_test(test_clock_went_back),
        cmocka_unit_test(test_zone),
        cmocka_unit_test(test_retry_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
