/*
 * common_rate_test.c - the rate over a window of samples and the time left
 * (common/rate.h).
 */
#include "unit.h"

#include "common/rate.h"

static void test_no_rate_from_one_sample(void **state)
{
    (void)state;
    struct rate_window w;
    rate_window_reset(&w, 0);
    assert_true(rate_window_rate(&w) == 0.0);
    rate_window_add(&w, 1000, 500);
    assert_true(rate_window_rate(&w) == 0.0);
}

static void test_rate_over_all_samples(void **state)
{
    (void)state;
    struct rate_window w;
    rate_window_reset(&w, 0);
    rate_window_add(&w, 0, 0);
    rate_window_add(&w, 1000, 1000);
    rate_window_add(&w, 2000, 4000);
    assert_true(rate_window_rate(&w) == 2000.0); /* 4000 bytes in 2 s */
}

static void test_window_drops_old_samples(void **state)
{
    (void)state;
    struct rate_window w;
    rate_window_reset(&w, 1000);
    rate_window_add(&w, 0, 0);         /* outside the window at the end */
    rate_window_add(&w, 9000, 1000);   /* a stall, then */
    rate_window_add(&w, 10000, 11000); /* 10000 bytes in the last second */
    assert_true(rate_window_rate(&w) == 10000.0);
}

static void test_ring_wraps(void **state)
{
    (void)state;
    struct rate_window w;
    rate_window_reset(&w, 0);
    for (uint64_t i = 0; i < 3 * RATE_SAMPLES; i++)
        rate_window_add(&w, i * 100, i * 10);
    assert_int_equal(w.count, RATE_SAMPLES);
    assert_true(rate_window_rate(&w) == 100.0); /* 10 bytes per 100 ms */
}

static void test_counter_going_back_gives_no_rate(void **state)
{
    (void)state;
    struct rate_window w;
    rate_window_reset(&w, 0);
    rate_window_add(&w, 0, 5000);
    rate_window_add(&w, 1000, 100);
    assert_true(rate_window_rate(&w) == 0.0);
}

static void test_eta(void **state)
{
    (void)state;
    assert_int_equal(rate_eta_ms(1000.0, 0, 5000), 5000);
    assert_int_equal(rate_eta_ms(0.0, 0, 5000), -1);
    assert_int_equal(rate_eta_ms(1000.0, 10, 0), -1);
    assert_int_equal(rate_eta_ms(1000.0, 6000, 5000), -1);
    assert_int_equal(rate_eta_ms(1000.0, 5000, 5000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_rate_from_one_sample),
        cmocka_unit_test(test_rate_over_all_samples),
        cmocka_unit_test(test_window_drops_old_samples),
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test(test_counter_going_back_gives_no_rate),
        cmocka_unit_test(test_eta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
