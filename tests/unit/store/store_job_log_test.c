/*
 * store_job_log_test.c - tests of src/store/job_log.c: job records and
 * their events, the job enumerations' words, listing with filters and
 * full-text search, orphan detection and pruning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config_fixture.h"

/* ---- jobs ---- */

static void test_orphans(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    struct job_record job;
    assert_int_equal(job_log_create(db, "prod", "t", "backup", &job, &err), MFB_OK);
    /* a process that has exited and been reaped */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE jobs SET pid = %d WHERE id = %lld", (int)child,
             (long long)job.id);
    raw_sql(f->path, sql);
    size_t orphans = 0;
    assert_int_equal(job_log_fail_orphans(db, &orphans, &err), MFB_OK);
    assert_int_equal(orphans, 1);
    struct job_record got;
    assert_int_equal(job_log_get(db, job.id, &got, &err), MFB_OK);
    assert_int_equal(got.status, JOB_STATUS_FAILED);
    assert_true(got.ended_ms > 0);
    char expected[128];
    snprintf(expected, sizeof(expected), "interrupted: the process that ran it (pid %d) is gone",
             (int)child);
    assert_string_equal(got.error, expected);
    assert_non_null(strstr(got.hint, "whether the backup reached the receiver ('mfb list')"));
    job_record_free(&got);
    job_record_free(&job);
}

static void test_job_enum_parsing(void **state)
{
    enum job_status s;
    assert_true(job_status_parse("pending_upload", &s));
    assert_int_equal(s, JOB_STATUS_PENDING_UPLOAD);
    const char *words[] = {"running", "ok", "failed", "pending_upload", "cancelled", "critical"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        assert_true(job_status_parse(words[i], &s));
        assert_string_equal(job_status_str(s), words[i]);
    }
    assert_false(job_status_parse("done", &s));
    assert_false(job_status_parse("succeeded", &s)); /* the old word, before schema 3 */
    enum job_step step;
    assert_true(job_step_parse("snapshot", &step));
    assert_string_equal(job_step_name(step), "snapshot");
}

static void test_job_record(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    struct job_record job, got;
    assert_int_equal(job_log_create(db, "prod", "offsite", "backup", &job, &err), MFB_OK);
    assert_int_equal(job.status, JOB_STATUS_RUNNING);
    assert_int_equal(job.pid, getpid());
    char host[256] = "";
    gethostname(host, sizeof(host));
    assert_string_equal(job.host, host);
    assert_int_equal(job.step_ms[JOB_STEP_STOP], -1);
    job.step_ms[JOB_STEP_PREFLIGHT] = 120;
    job.step_ms[JOB_STEP_STOP] = 200;
    job.step_ms[JOB_STEP_ARCHIVE] = 0;
    job.downtime_ms = 2300;
    job.bytes_in = 5ULL << 32;
    job.bytes_out = 1ULL << 33;
    job.chunks = 512;
    job.retries = 3;
    job.status = JOB_STATUS_PENDING_UPLOAD;
    job.ended_ms = job.started_ms + 2500;
    snprintf(job.upload_id, sizeof(job.upload_id), "u_9f2c");
    snprintf(job.backup_name, sizeof(job.backup_name), "prod_20261125-193000.zip");
    job.error = strdup("cannot reach the receiver: connection refused");
    job.hint = strdup("run 'mfb resume'");
    snprintf(job.error_step, sizeof(job.error_step), "upload");
    job.backtrace = strdup("mfb(mfb_error_set+0x9f) [0x1]\nmfb(backup_run+0x2c4) [0x2]");
    job.system_state = strdup("spool_free=1.0 GiB load=0.10/0.20/0.30");
    assert_int_equal(job_log_save(db, &job, &err), MFB_OK);
    assert_int_equal(job_log_get(db, job.id, &got, &err), MFB_OK);
    assert_string_equal(got.instance, "prod");
    assert_string_equal(got.target, "offsite");
    assert_string_equal(got.kind, "backup");
    assert_int_equal(got.status, JOB_STATUS_PENDING_UPLOAD);
    assert_int_equal(got.started_ms, job.started_ms);
    assert_int_equal(got.ended_ms, job.ended_ms);
    assert_int_equal(got.step_ms[JOB_STEP_PREFLIGHT], 120);
    assert_int_equal(got.step_ms[JOB_STEP_STOP], 200);
    assert_int_equal(got.step_ms[JOB_STEP_ARCHIVE], 0);
    assert_int_equal(got.step_ms[JOB_STEP_UPLOAD], -1);
    assert_int_equal(got.downtime_ms, 2300);
    assert_int_equal(got.bytes_in, 5ULL << 32);
    assert_int_equal(got.bytes_out, 1ULL << 33);
    assert_int_equal(got.chunks, 512);
    assert_int_equal(got.retries, 3);
    assert_string_equal(got.host, host);
    assert_string_equal(got.upload_id, "u_9f2c");
    assert_string_equal(got.backup_name, "prod_20261125-193000.zip");
    assert_string_equal(got.backup_id, "");
    assert_string_equal(got.error, "cannot reach the receiver: connection refused");
    assert_string_equal(got.hint, "run 'mfb resume'");
    assert_string_equal(got.error_step, "upload");
    assert_string_equal(got.backtrace,
                        "mfb(mfb_error_set+0x9f) [0x1]\nmfb(backup_run+0x2c4) [0x2]");
    assert_string_equal(got.system_state, "spool_free=1.0 GiB load=0.10/0.20/0.30");
    job_record_free(&got);
    job_record_free(&job);
    assert_int_equal(job_log_get(db, 9999, &got, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "no job #9999");

    /* events, oldest first */
    int64_t id = add_job(db, "prod", NULL, JOB_STATUS_OK, 1, NULL);
    assert_int_equal(job_log_event(db, id, JOB_LEVEL_INFO, "stop", "stopped in 0.2s", NULL),
                     MFB_OK);
    assert_int_equal(job_log_event(db, id, JOB_LEVEL_WARN, NULL, "spool is 91% full", NULL),
                     MFB_OK);
    struct job_log_event *events = NULL;
    size_t count = 0;
    assert_int_equal(job_log_events(db, id, &events, &count, &err), MFB_OK);
    assert_int_equal(count, 2);
    assert_string_equal(events[0].step, "stop");
    assert_int_equal(events[0].level, JOB_LEVEL_INFO);
    assert_string_equal(events[0].message, "stopped in 0.2s");
    assert_string_equal(events[1].step, "");
    assert_int_equal(events[1].level, JOB_LEVEL_WARN);
    assert_true(events[1].time_ms >= events[0].time_ms);
    job_log_events_free(events, count);
}

static size_t list_count(struct config_db *db, const struct job_log_filter *filter,
                         int64_t *first_id)
{
    struct job_record *list = NULL;
    size_t count = 0;
    struct mfb_error err = {0};
    if (job_log_list(db, filter, &list, &count, &err) != MFB_OK)
        fail_msg("job_log_list: %s", err.message);
    if (first_id)
        *first_id = count ? list[0].id : 0;
    job_log_list_free(list, count);
    return count;
}

static void test_job_list_and_search(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    int64_t a = add_job(db, "prod", "offsite", JOB_STATUS_OK, 10, NULL);
    int64_t b = add_job(db, "prod", "local", JOB_STATUS_FAILED, 20,
                        "archive failed: the spool disk is full");
    int64_t c = add_job(db, "test", "offsite", JOB_STATUS_OK, 30, NULL);
    assert_int_equal(job_log_event(db, a, JOB_LEVEL_INFO, "upload",
                                   "uploaded 2.4 GiB to \"offsite\" in 41s", NULL),
                     MFB_OK);
    assert_int_equal(job_log_event(db, c, JOB_LEVEL_ERROR, "verify",
                                   "SELECT 1 failed twice; server answered after retry", NULL),
                     MFB_OK);

    int64_t first = 0;
    assert_int_equal(list_count(db, NULL, &first), 3);
    assert_int_equal(first, c); /* newest first */
    struct job_log_filter fl = {.instance = "prod"};
    assert_int_equal(list_count(db, &fl, NULL), 2);
    fl = (struct job_log_filter){.target = "offsite"};
    assert_int_equal(list_count(db, &fl, NULL), 2);
    fl = (struct job_log_filter){.by_status = true, .status = JOB_STATUS_FAILED};
    assert_int_equal(list_count(db, &fl, &first), 1);
    assert_int_equal(first, b);
    fl = (struct job_log_filter){.limit = 2};
    assert_int_equal(list_count(db, &fl, NULL), 2);
    fl = (struct job_log_filter){.since_ms = INT64_MAX};
    assert_int_equal(list_count(db, &fl, NULL), 0);

    /* full-text search in events and in the job's error */
    fl = (struct job_log_filter){.search = "uploaded"};
    assert_int_equal(list_count(db, &fl, &first), 1);
    assert_int_equal(first, a);
    fl = (struct job_log_filter){.search = "disk full"}; /* both words, any order */
    assert_int_equal(list_count(db, &fl, &first), 1);
    assert_int_equal(first, b);
    fl = (struct job_log_filter){.search = "full disk spool"};
    assert_int_equal(list_count(db, &fl, NULL), 1);
    fl = (struct job_log_filter){.search = "disk missing"};
    assert_int_equal(list_count(db, &fl, NULL), 0);
    /* query syntax in the text is taken literally, never as FTS5 syntax */
    fl = (struct job_log_filter){.search = "\"offsite\" OR NEAR( -x *"};
    assert_int_equal(list_count(db, &fl, NULL), 0);
    fl = (struct job_log_filter){.search = "\"offsite\""}; /* an event, and two targets */
    assert_int_equal(list_count(db, &fl, NULL), 2);
    fl = (struct job_log_filter){.search = "SELECT 1"};
    assert_int_equal(list_count(db, &fl, &first), 1);
    assert_int_equal(first, c);
    fl = (struct job_log_filter){.search = "   "}; /* no words: no filter */
    assert_int_equal(list_count(db, &fl, NULL), 3);
    fl = (struct job_log_filter){.search = "full", .instance = "test"};
    assert_int_equal(list_count(db, &fl, NULL), 0);
}

static void test_job_prune(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    int64_t old_ok = add_job(db, "prod", "t", JOB_STATUS_OK, 1000, NULL);
    int64_t old_pending = add_job(db, "prod", "t", JOB_STATUS_PENDING_UPLOAD, 1000, NULL);
    int64_t recent = add_job(db, "prod", "t", JOB_STATUS_FAILED, 5000, "recent failure");
    struct job_record running;
    assert_int_equal(job_log_create(db, "prod", "t", "backup", &running, NULL), MFB_OK);
    assert_int_equal(job_log_event(db, old_ok, JOB_LEVEL_INFO, "stop", "gone soon", NULL), MFB_OK);
    size_t deleted = 0;
    struct mfb_error err = {0};
    assert_int_equal(job_log_prune(db, 2000, &deleted, &err), MFB_OK);
    assert_int_equal(deleted, 1);
    struct job_record got;
    assert_int_equal(job_log_get(db, old_ok, &got, NULL), MFB_ERR_NOT_FOUND);
    assert_int_equal(job_log_get(db, old_pending, &got, NULL), MFB_OK);
    job_record_free(&got);
    assert_int_equal(job_log_get(db, recent, &got, NULL), MFB_OK);
    job_record_free(&got);
    assert_int_equal(job_log_get(db, running.id, &got, NULL), MFB_OK);
    job_record_free(&got);
    /* the pruned job's events left the search index too */
    struct job_log_filter fl = {.search = "gone"};
    assert_int_equal(list_count(db, &fl, NULL), 0);
    job_record_free(&running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
        cmocka_unit_test(test_job_enum_parsing),
        cmocka_unit_test_setup_teardown(test_job_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_list_and_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
