/*
 * job_report_test.c - tests of src/job/report.c: per-instance grouping,
 * success rate, averages and maxima, growth between the first and last
 * success, failures grouped by cause, and running jobs left out.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "job/report.h"

static struct job_record make_job(int64_t id, const char *instance, enum job_status status,
                                  int64_t started, int64_t duration, int64_t downtime,
                                  uint64_t size)
{
    struct job_record j;
    memset(&j, 0, sizeof(j));
    j.id = id;
    snprintf(j.instance, sizeof(j.instance), "%s", instance);
    snprintf(j.kind, sizeof(j.kind), "backup");
    j.status = status;
    j.started_ms = started;
    j.ended_ms = status == JOB_STATUS_RUNNING ? 0 : started + duration;
    j.downtime_ms = downtime;
    j.bytes_out = size;
    return j;
}

static void test_aggregates(void **state)
{
    (void)state;
    struct job_record jobs[] = {
        /* out of order on purpose: growth follows the start times */
        make_job(3, "db1", JOB_STATUS_OK, 3000000, 4000, 1000, 1300),
        make_job(1, "db1", JOB_STATUS_OK, 1000000, 2000, 500, 1000),
        make_job(2, "db1", JOB_STATUS_FAILED, 2000000, 6000, -1, 0),
        make_job(4, "db1", JOB_STATUS_FAILED, 4000000, 1000, 300, 0),
        make_job(5, "db1", JOB_STATUS_PENDING_UPLOAD, 5000000, 1000, 200, 0),
        make_job(6, "db1", JOB_STATUS_RUNNING, 6000000, 0, -1, 0),
        make_job(7, "alpha", JOB_STATUS_FAILED, 1000, 10, -1, 0),
    };
    struct report_input in[] = {
        {&jobs[0], ""},       {&jobs[1], NULL}, {&jobs[2], "upload"}, {&jobs[3], "upload"},
        {&jobs[4], "upload"}, {&jobs[5], NULL}, {&jobs[6], NULL},
    };
    struct report_instance *out = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    assert_int_equal(report_build(in, 7, &out, &n, &err), MFB_OK);
    assert_int_equal(n, 2);

    assert_string_equal(out[0].instance, "alpha");
    assert_int_equal(out[0].jobs, 1);
    assert_int_equal(out[0].ok, 0);
    assert_true(out[0].success_rate == 0.0);
    assert_int_equal(out[0].last_success_ms, 0);
    assert_int_equal(out[0].cause_count, 1);
    assert_string_equal(out[0].causes[0].cause, "- failed");
    assert_int_equal(out[0].avg_downtime_ms, 0);
    assert_int_equal(out[0].growth, 0);

    const struct report_instance *r = &out[1];
    assert_string_equal(r->instance, "db1");
    assert_int_equal(r->jobs, 5); /* the running job is not counted */
    assert_int_equal(r->ok, 2);
    assert_true(r->success_rate > 0.399 && r->success_rate < 0.401);
    assert_int_equal(r->last_success_ms, 3004000);
    assert_int_equal(r->avg_duration_ms, (2000 + 6000 + 4000 + 1000 + 1000) / 5);
    assert_int_equal(r->max_duration_ms, 6000);
    assert_int_equal(r->avg_downtime_ms, (1000 + 500 + 300 + 200) / 4);
    assert_int_equal(r->max_downtime_ms, 1000);
    assert_int_equal(r->total_size, 2300);
    assert_int_equal(r->avg_size, 1150);
    assert_int_equal(r->growth, 300);
    assert_int_equal(r->cause_count, 2);
    assert_string_equal(r->causes[0].cause, "upload failed");
    assert_int_equal(r->causes[0].count, 2);
    assert_string_equal(r->causes[1].cause, "upload pending_upload");
    assert_int_equal(r->causes[1].count, 1);
    report_free(out, n);
}

static void test_shrinking_and_empty(void **state)
{
    (void)state;
    struct job_record jobs[] = {
        make_job(1, "db", JOB_STATUS_OK, 1000, 10, 5, 5000),
        make_job(2, "db", JOB_STATUS_OK, 2000, 30, 7, 4000),
    };
    struct report_input in[] = {{&jobs[0], NULL}, {&jobs[1], NULL}};
    struct report_instance *out = NULL;
    size_t n = 0;
    assert_int_equal(report_build(in, 2, &out, &n, NULL), MFB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].growth, -1000);
    assert_true(out[0].success_rate == 1.0);
    assert_int_equal(out[0].avg_duration_ms, 20);
    assert_int_equal(out[0].avg_downtime_ms, 6);
    assert_int_equal(out[0].cause_count, 0);
    report_free(out, n);

    assert_int_equal(report_build(in, 0, &out, &n, NULL), MFB_OK);
    assert_null(out);
    assert_int_equal(n, 0);
}

/* The report is about backups: a restore drill is not one (its size and
 * duration would be charted as a backup's), nor a restore or a resume. */
static void test_counts_backups_only(void **state)
{
    assert_true(report_counts_kind("backup"));
    assert_false(report_counts_kind("drill"));
    assert_false(report_counts_kind("restore"));
    assert_false(report_counts_kind("resume"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_shrinking_and_empty),
        cmocka_unit_test(test_counts_backups_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
