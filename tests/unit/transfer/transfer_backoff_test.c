/*
 * transfer_backoff_test.c - the retry schedule: exponential growth, jitter
 * bounds, the cap, Retry-After, and both limits (attempts and total time).
 */
#include "unit.h"

#include "transfer/backoff.h"

static const struct backoff_policy policy = {
    .base_ms = 500, .max_delay_ms = 60000, .max_attempts = 5, .max_total_ms = 10000};

static void test_delay_grows_with_equal_jitter(void **state)
{
    /* retry n waits within [d/2, d], d = 500 * 2^(n-1) */
    assert_int_equal(backoff_delay_ms(&policy, 1, 0), 250);
    assert_int_equal(backoff_delay_ms(&policy, 1, 250), 500);
    assert_int_equal(backoff_delay_ms(&policy, 1, 251), 250); /* random wraps within the half */
    assert_int_equal(backoff_delay_ms(&policy, 2, 0), 500);
    assert_int_equal(backoff_delay_ms(&policy, 2, 500), 1000);
    assert_int_equal(backoff_delay_ms(&policy, 3, 0), 1000);
    assert_int_equal(backoff_delay_ms(&policy, 0, 12345), 0);
    for (uint64_t r = 0; r < 2000; r += 37) {
        uint64_t d = backoff_delay_ms(&policy, 4, r * 7919);
        assert_true(d >= 2000 && d <= 4000);
    }
}

static void test_delay_is_capped(void **state)
{
    /* 500 * 2^7 = 64000 > 60000: capped before the jitter */
    assert_int_equal(backoff_delay_ms(&policy, 8, 0), 30000);
    assert_int_equal(backoff_delay_ms(&policy, 8, 30000), 60000);
    assert_int_equal(backoff_delay_ms(&policy, 200, 0), 30000); /* no overflow */
}

static void test_attempts_bound(void **state)
{
    struct backoff b;
    struct backoff_policy p = policy;
    p.max_total_ms = 1000000;
    backoff_start(&b, &p, 0, 42);
    uint64_t delay, now = 0;
    for (int i = 0; i < 4; i++) {
        assert_true(backoff_next(&b, now, 0, &delay));
        assert_true(delay > 0);
        now += delay;
    }
    assert_int_equal(b.attempts, 5);
    assert_false(backoff_next(&b, now, 0, &delay)); /* 5 attempts made */
}

static void test_total_time_bound(void **state)
{
    struct backoff b;
    backoff_start(&b, &policy, 1000, 7);
    uint64_t delay;
    assert_true(backoff_next(&b, 1000, 0, &delay)); /* 250..500 ms, within 10 s */
    /* 9.8 s later, even the smallest next delay (500 ms) would pass 10 s */
    assert_false(backoff_next(&b, 1000 + 9800, 0, &delay));
    backoff_reset(&b, 20000);
    assert_true(backoff_next(&b, 20000, 0, &delay));
}

static void test_retry_after(void **state)
{
    struct backoff b;
    struct backoff_policy p = policy;
    p.max_total_ms = 1000000;
    p.max_delay_ms = 5000;
    backoff_start(&b, &p, 0, 1);
    uint64_t delay;
    assert_true(backoff_next(&b, 0, 3000, &delay));
    assert_int_equal(delay, 3000); /* raised to the server's wish */
    assert_true(backoff_next(&b, 0, 90000, &delay));
    assert_int_equal(delay, 5000); /* never beyond the cap */
    assert_int_equal(backoff_parse_retry_after("120"), 120000);
    assert_int_equal(backoff_parse_retry_after(" 2 \r\n"), 2000);
    assert_int_equal(backoff_parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), 0);
    assert_int_equal(backoff_parse_retry_after("-1"), 0);
    assert_int_equal(backoff_parse_retry_after("5x"), 0);
    assert_int_equal(backoff_parse_retry_after(NULL), 0);
}

static void test_which_statuses_retry(void **state)
{
    assert_true(backoff_http_retryable(408, false));
    assert_true(backoff_http_retryable(429, false));
    assert_true(backoff_http_retryable(500, false));
    assert_true(backoff_http_retryable(502, false));
    assert_true(backoff_http_retryable(503, true));
    assert_true(backoff_http_retryable(507, true));   /* disk full during a chunk: wait */
    assert_false(backoff_http_retryable(507, false)); /* no room for the upload at all */
    assert_false(backoff_http_retryable(400, true));
    assert_false(backoff_http_retryable(401, true));
    assert_false(backoff_http_retryable(404, false));
    assert_false(backoff_http_retryable(409, true));
    assert_false(backoff_http_retryable(413, true));
    assert_false(backoff_http_retryable(422, true));
    assert_false(backoff_http_retryable(200, false));
}

static void test_seeds_differ(void **state)
{
    struct backoff a, b;
    backoff_start(&a, &policy, 0, 1);
    backoff_start(&b, &policy, 0, 2);
    uint64_t da, db;
    int same = 0;
    for (int i = 0; i < 4; i++) {
        backoff_next(&a, 0, 0, &da);
        backoff_next(&b, 0, 0, &db);
        same += da == db;
    }
    assert_true(same < 4); /* two connections do not retry in lockstep */
    assert_true(backoff_seed() != backoff_seed() || backoff_seed() != backoff_seed());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_grows_with_equal_jitter),
        cmocka_unit_test(test_delay_is_capped),
        cmocka_unit_test(test_attempts_bound),
        cmocka_unit_test(test_total_time_bound),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_which_statuses_retry),
        cmocka_unit_test(test_seeds_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
