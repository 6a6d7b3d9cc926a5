/*
 * daemon_expect_test.c - the silence alarms' decision (alert/silence.h)
 * without a clock: on time, overdue, repeated at the bounded rate,
 * recovered; an instance that never had a good backup counts from when it
 * was added.
 */
#include "unit.h"

#include "alert/silence.h"

#define S 1000
#define H (3600 * S)

static void test_on_time_and_overdue(void **state)
{
    (void)state;
    /* last good at 100 s, expected every 26 h */
    assert_int_equal(silence_decide(26 * H, 100 * S, 0, 100 * S + 26 * H, false, 0),
                     SILENCE_NOTHING);
    assert_int_equal(silence_decide(26 * H, 100 * S, 0, 100 * S + 26 * H + 1, false, 0),
                     SILENCE_FIRE);
}

static void test_repeat_is_bounded(void **state)
{
    (void)state;
    int64_t now = 200 * H;
    /* 26 h / 4 is past the hour: hourly */
    assert_int_equal(silence_repeat_ms(26 * H), H);
    assert_int_equal(silence_decide(26 * H, 1, 0, now, true, now - H + 1), SILENCE_NOTHING);
    assert_int_equal(silence_decide(26 * H, 1, 0, now, true, now - H), SILENCE_REPEAT);
    /* 5 s / 4 is under a minute: once a minute */
    assert_int_equal(silence_repeat_ms(5 * S), 60 * S);
    assert_int_equal(silence_repeat_ms(2 * H), 30 * 60 * S);
    /* a clock that went back does not repeat */
    assert_int_equal(silence_decide(26 * H, 1, 0, now, true, now + H), SILENCE_NOTHING);
}

static void test_recovery(void **state)
{
    (void)state;
    assert_int_equal(silence_decide(26 * H, 50 * H, 0, 51 * H, true, 40 * H), SILENCE_RECOVER);
}

static void test_never_counts_from_the_instance(void **state)
{
    (void)state;
    assert_int_equal(silence_decide(H, 0, 10 * H, 10 * H + H, false, 0), SILENCE_NOTHING);
    assert_int_equal(silence_decide(H, 0, 10 * H, 11 * H + 1, false, 0), SILENCE_FIRE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_time_and_overdue),
        cmocka_unit_test(test_repeat_is_bounded),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_never_counts_from_the_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
