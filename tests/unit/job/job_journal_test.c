/*
 * job_journal_test.c - tests of the job-log retention of src/job/journal.c
 * (journal_prune) over a real configuration database: jobs older than
 * log_retention_days go, only the newest log_retention_count finished jobs
 * stay, and running jobs and jobs waiting to resume an upload are kept
 * whatever their age or number.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "unit.h"

#include "job/journal.h"
#include "scratch.h"
#include "store/config_db.h"
#include "store/config_records.h"
#include "store/job_log.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A finished job of instance "db" with this status, ended ago_ms ago. */
static int64_t add_job(struct config_db *db, enum job_status status, int64_t ago_ms)
{
    struct job_record job;
    struct mfb_error err = {0};
    assert_int_equal(job_log_create(db, "db", "box", "backup", &job, &err), MFB_OK);
    assert_int_equal(job_log_event(db, job.id, JOB_LEVEL_INFO, "stop", "zebra stopped", &err),
                     MFB_OK);
    if (status != JOB_STATUS_RUNNING) {
        job.status = status;
        job.ended_ms = wall_ms() - ago_ms;
        assert_int_equal(job_log_save(db, &job, &err), MFB_OK);
    }
    int64_t id = job.id;
    job_record_free(&job);
    return id;
}

static bool exists(struct config_db *db, int64_t id)
{
    struct job_record job;
    struct mfb_error err = {0};
    mfb_status st = job_log_get(db, id, &job, &err);
    if (st == MFB_OK)
        job_record_free(&job);
    return st == MFB_OK;
}

static void test_prune(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16];
    assert_true(unit_scratch_dir("job-journal", dir, sizeof(dir)));
    snprintf(path, sizeof(path), "%s/mfb.db", dir);
    struct config_db *db = NULL;
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(path, true, &db, NULL, &err), MFB_OK);

    const int64_t day = 86400000;
    int64_t old_ok = add_job(db, JOB_STATUS_OK, 100 * day);
    int64_t old_pending = add_job(db, JOB_STATUS_PENDING_UPLOAD, 100 * day);
    int64_t old_failed = add_job(db, JOB_STATUS_FAILED, 95 * day);
    int64_t recent[4];
    for (int i = 0; i < 4; i++)
        recent[i] = add_job(db, i == 1 ? JOB_STATUS_FAILED : JOB_STATUS_OK, day);
    int64_t running = add_job(db, JOB_STATUS_RUNNING, 0);

    /* The defaults (90 days, 10000 jobs): only the old finished ones go. */
    journal_prune(db);
    assert_false(exists(db, old_ok));
    assert_false(exists(db, old_failed));
    assert_true(exists(db, old_pending));
    for (int i = 0; i < 4; i++)
        assert_true(exists(db, recent[i]));
    assert_true(exists(db, running));
    struct job_log_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(job_log_events(db, old_ok, &ev, &n, &err), MFB_OK);
    assert_int_equal(n, 0);
    job_log_events_free(ev, n);

    /* By count: the newest two finished jobs stay, beside the pending and
     * running ones, which do not count. */
    assert_int_equal(config_setting_set(db, "log_retention_count", "2", &err), MFB_OK);
    journal_prune(db);
    assert_false(exists(db, recent[0]));
    assert_false(exists(db, recent[1]));
    assert_true(exists(db, recent[2]));
    assert_true(exists(db, recent[3]));
    assert_true(exists(db, old_pending));
    assert_true(exists(db, running));
    struct job_log_filter f = {.search = "zebra"};
    struct job_record *list = NULL;
    assert_int_equal(job_log_list(db, &f, &list, &n, &err), MFB_OK);
    assert_int_equal(n, 4); /* the FTS index lost the deleted jobs' events */
    job_log_list_free(list, n);

    /* By age, from the setting. */
    assert_int_equal(config_setting_set(db, "log_retention_count", NULL, &err), MFB_OK);
    assert_int_equal(config_setting_set(db, "log_retention_days", "0", &err), MFB_OK);
    journal_prune(db); /* 0: off */
    assert_true(exists(db, recent[2]));
    assert_int_equal(config_setting_set(db, "log_retention_days", "-3", &err), MFB_OK);
    journal_prune(db); /* not a number: the default */
    assert_true(exists(db, recent[2]));

    config_db_close(db);
    assert_int_equal(unit_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
