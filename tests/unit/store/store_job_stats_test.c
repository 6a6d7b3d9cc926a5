/*
 * store_job_stats_test.c - the figures behind the daemon's metrics and
 * silence alarms (store/job_stats.h): per configured instance its last
 * good backup, its last finished one, counts by status and retries (a
 * running job counts nowhere, a drill only as a drill), the queue's
 * counts, and the instances' expectations kept through an update.
 */
#include "config_fixture.h"
#include "store/expect_alarms.h"
#include "store/job_queue.h"
#include "store/job_stats.h"

static void add_instance(struct config_db *db, const char *name)
{
    struct config_instance inst;
    fill_instance(&inst, name);
    assert_int_equal(config_instance_add(db, &inst, NULL), MFB_OK);
    config_instance_free(&inst);
}

static void test_per_instance_figures(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_instance(db, "prod");
    add_instance(db, "idle");
    add_job(db, "prod", NULL, JOB_STATUS_OK, 5000000, NULL);
    raw_sql(f->path, "UPDATE jobs SET bytes_out = 1234, retries = 2, downtime_ms = 700");
    add_job(db, "prod", NULL, JOB_STATUS_FAILED, 6000000, "refused");
    add_job(db, "gone", NULL, JOB_STATUS_OK, 7000000, NULL); /* not configured */
    struct job_record running;
    assert_int_equal(job_log_create(db, "prod", NULL, "backup", &running, NULL), MFB_OK);
    job_record_free(&running);
    struct job_record drill;
    assert_int_equal(job_log_create(db, "prod", NULL, "drill", &drill, NULL), MFB_OK);
    drill.status = JOB_STATUS_OK;
    drill.ended_ms = 8000000;
    assert_int_equal(job_log_save(db, &drill, NULL), MFB_OK);
    job_record_free(&drill);

    struct job_stats *s = NULL;
    size_t n = 0;
    assert_int_equal(job_stats_instances(db, &s, &n, NULL), MFB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].instance, "idle");
    assert_int_equal(s[0].last_ok_ms, 0);
    assert_false(s[0].has_last);
    assert_string_equal(s[1].instance, "prod");
    assert_int_equal(s[1].last_ok_ms, 5000000);
    assert_int_equal(s[1].last_ok_bytes, 1234);
    assert_int_equal(s[1].last_drill_ok_ms, 8000000);
    assert_true(s[1].has_last);
    assert_int_equal(s[1].last_status, JOB_STATUS_FAILED);
    assert_int_equal(s[1].last_ended_ms, 6000000);
    assert_int_equal(s[1].finished[JOB_STATUS_OK], 1);
    assert_int_equal(s[1].finished[JOB_STATUS_FAILED], 1);
    assert_int_equal(s[1].finished[JOB_STATUS_RUNNING], 0);
    assert_int_equal(s[1].retries, 2);
    free(s);
}

static void test_queue_counts(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_instance(db, "a");
    add_instance(db, "b");
    int64_t id = 0;
    assert_int_equal(job_queue_enqueue(db, "a", NULL, "cli", &id, NULL, NULL), MFB_OK);
    assert_int_equal(job_queue_enqueue(db, "b", NULL, "cli", &id, NULL, NULL), MFB_OK);
    struct queue_entry e;
    bool found = false;
    assert_int_equal(job_queue_take(db, INT64_MAX / 2, &e, &found, NULL), MFB_OK);
    assert_true(found);
    add_job(db, "a", NULL, JOB_STATUS_PENDING_UPLOAD, 1000, NULL);
    struct job_queue_stats q;
    assert_int_equal(job_stats_queue(db, &q, NULL), MFB_OK);
    assert_int_equal(q.queued, 1);
    assert_int_equal(q.running, 1);
    assert_int_equal(q.pending_upload, 1);
}

static void test_expectations_and_alarms(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_instance(db, "prod");
    struct config_instance inst;
    assert_int_equal(config_instance_get(db, "prod", &inst, NULL), MFB_OK);
    assert_int_equal(inst.expect_every_ms, 0);
    inst.expect_every_ms = 26ULL * 3600 * 1000;
    assert_int_equal(config_instance_update(db, &inst, NULL), MFB_OK);
    config_instance_free(&inst);
    assert_int_equal(config_instance_get(db, "prod", &inst, NULL), MFB_OK);
    assert_int_equal(inst.expect_every_ms, 26ULL * 3600 * 1000);
    assert_int_equal(inst.expect_drill_every_ms, 0);

    struct expect_alarm a = {.since_ms = 10, .last_sent_ms = 20}, got;
    bool found = true;
    assert_int_equal(expect_alarm_get(db, "prod", EXPECT_BACKUP, &got, &found, NULL), MFB_OK);
    assert_false(found);
    assert_int_equal(expect_alarm_set(db, "prod", EXPECT_BACKUP, &a, NULL), MFB_OK);
    assert_int_equal(expect_alarm_set(db, "prod", EXPECT_DRILL, &a, NULL), MFB_OK);
    /* the drill has no expectation: its alarm goes with the prune */
    assert_int_equal(expect_alarm_prune(db, NULL), MFB_OK);
    assert_int_equal(expect_alarm_get(db, "prod", EXPECT_BACKUP, &got, &found, NULL), MFB_OK);
    assert_true(found);
    assert_int_equal(got.last_sent_ms, 20);
    assert_int_equal(expect_alarm_get(db, "prod", EXPECT_DRILL, &got, &found, NULL), MFB_OK);
    assert_false(found);
    /* the expectation removed: its alarm goes too */
    inst.expect_every_ms = 0;
    assert_int_equal(config_instance_update(db, &inst, NULL), MFB_OK);
    config_instance_free(&inst);
    assert_int_equal(expect_alarm_prune(db, NULL), MFB_OK);
    assert_int_equal(expect_alarm_get(db, "prod", EXPECT_BACKUP, &got, &found, NULL), MFB_OK);
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_per_instance_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expectations_and_alarms, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
