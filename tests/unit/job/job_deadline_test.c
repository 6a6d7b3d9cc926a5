/*
 * job_deadline_test.c - step timeouts (job/deadline.c): the deadline cancels
 * the step's token and says so; the job's cancel reaches the step without
 * counting as a timeout; stopping early cancels nothing.
 */
#include "common/cancel.h"
#include "unit.h"

#include <time.h>

#include "job/deadline.h"

static void wait_flag(const atomic_bool *flag)
{
    for (int i = 0; i < 2000 && !atomic_load(flag); i++) {
        struct timespec ts = {.tv_nsec = 5000000};
        nanosleep(&ts, NULL);
    }
}

static void test_deadline_expires(void **state)
{
    struct step_deadline d;
    assert_int_equal(step_deadline_start(&d, NULL, 20, NULL), MFB_OK);
    wait_flag(step_deadline_flag(&d));
    assert_true(atomic_load(step_deadline_flag(&d)));
    assert_true(step_deadline_expired(&d));
    step_deadline_stop(&d);
    assert_true(step_deadline_expired(&d));
}

static void test_parent_cancel_is_not_a_timeout(void **state)
{
    struct cancel_token job;
    cancel_token_init(&job, NULL);
    struct step_deadline d;
    assert_int_equal(step_deadline_start(&d, &job, 3600000, NULL), MFB_OK);
    cancel_token_request(&job);
    wait_flag(step_deadline_flag(&d));
    assert_true(atomic_load(step_deadline_flag(&d)));
    assert_false(step_deadline_expired(&d));
    step_deadline_stop(&d);
    cancel_token_destroy(&job);
}

static void test_stop_before_anything(void **state)
{
    struct step_deadline d;
    assert_int_equal(step_deadline_start(&d, NULL, 3600000, NULL), MFB_OK);
    assert_false(atomic_load(step_deadline_flag(&d)));
    step_deadline_stop(&d);
    assert_false(step_deadline_expired(&d));
    struct step_deadline zero = {0};
    step_deadline_stop(&zero); /* safe */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_expires),
        cmocka_unit_test(test_parent_cancel_is_not_a_timeout),
        cmocka_unit_test(test_stop_before_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
