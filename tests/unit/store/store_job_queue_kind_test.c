/*
 * store_job_queue_kind_test.c - the queue's kinds (store/job_queue.h,
 * migration 9; docs/drill.md): a backup and a drill of one instance may
 * both wait, each kind at most once; entries of one instance never run
 * at once whatever their kinds; job_queue_take_limited leaves drills
 * queued while max_drills of them run; an unknown kind is refused.
 */
#include "config_fixture.h"
#include "store/job_queue.h"

static int64_t enqueue(struct config_db *db, const char *instance, const char *kind, bool *existed)
{
    int64_t id = 0;
    struct mfb_error err = {0};
    assert_int_equal(
        job_queue_enqueue_for(db, instance, NULL, kind, "api", NULL, &id, existed, &err), MFB_OK);
    assert_true(id > 0);
    return id;
}

static bool take(struct config_db *db, uint32_t max_drills, struct queue_entry *e)
{
    bool found = false;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_take_limited(db, INT64_MAX, max_drills, e, &found, &err), MFB_OK);
    return found;
}

static void test_one_waiting_entry_per_kind(void **state)
{
    struct config_db *db = open_db(*state);
    bool existed = true;
    int64_t backup = enqueue(db, "prod", "backup", &existed);
    assert_false(existed);
    int64_t drill = enqueue(db, "prod", "drill", &existed);
    assert_false(existed);
    assert_int_not_equal(backup, drill);
    assert_int_equal(enqueue(db, "prod", "drill", &existed), drill);
    assert_true(existed);
    /* the old call queues a backup */
    int64_t id = 0;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_enqueue(db, "prod", NULL, "api", &id, &existed, &err), MFB_OK);
    assert_int_equal(id, backup);
    assert_true(existed);
    struct queue_entry e;
    assert_int_equal(job_queue_get(db, drill, &e, &err), MFB_OK);
    assert_string_equal(e.kind, "drill");
}

static void test_never_two_of_one_instance_and_max_drills(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t a = enqueue(db, "prod", "drill", NULL);
    int64_t b = enqueue(db, "prod", "backup", NULL);
    int64_t c = enqueue(db, "shop", "drill", NULL);
    int64_t d = enqueue(db, "web", "backup", NULL);
    struct queue_entry e;
    assert_true(take(db, 1, &e));
    assert_int_equal(e.id, a);
    /* prod's backup waits for prod's drill; shop's drill for the limit */
    assert_true(take(db, 1, &e));
    assert_int_equal(e.id, d);
    assert_false(take(db, 1, &e));
    /* a limit of two lets shop's drill run beside prod's */
    assert_true(take(db, 2, &e));
    assert_int_equal(e.id, c);
    assert_int_equal(job_queue_done(db, a, NULL, &err), MFB_OK);
    assert_true(take(db, 1, &e));
    assert_int_equal(e.id, b);
}

static void test_unknown_kind_refused(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t id = 0;
    assert_int_equal(
        job_queue_enqueue_for(db, "prod", NULL, "restore", "api", NULL, &id, NULL, &err),
        MFB_ERR_INVALID);
    assert_string_equal(err.message, "unknown job kind 'restore'");
    assert_int_equal(id, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_waiting_entry_per_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_two_of_one_instance_and_max_drills, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_kind_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
