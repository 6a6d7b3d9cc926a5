/*
 * store_job_queue_test.c - the daemon's persistent queue
 * (store/job_queue.h): an instance is queued once, entries are taken in
 * order but never two of one instance at once nor more than a target's
 * max_jobs, upload retries (beside a queued backup, once per job, queued
 * again with a later attempt), cancelling with the step, settling, what a
 * dead daemon left to retry, and workers taking at once never share an
 * entry.
 */
#include <pthread.h>

#include "config_fixture.h"
#include "store/job_queue.h"
#include "store/schedules.h"

static int64_t enqueue(struct config_db *db, const char *instance, bool *existed)
{
    int64_t id = 0;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_enqueue(db, instance, NULL, "api", &id, existed, &err), MFB_OK);
    assert_true(id > 0);
    return id;
}

static bool take(struct config_db *db, struct queue_entry *e)
{
    bool found = false;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_take(db, INT64_MAX, e, &found, &err), MFB_OK);
    return found;
}

static void test_an_instance_is_queued_once(void **state)
{
    struct config_db *db = open_db(*state);
    bool existed = true;
    int64_t a = enqueue(db, "prod", &existed);
    assert_false(existed);
    assert_int_equal(enqueue(db, "prod", &existed), a);
    assert_true(existed);
    int64_t b = enqueue(db, "shop", &existed);
    assert_int_not_equal(a, b);
    /* once it runs, the instance may be queued again (the next run) */
    struct queue_entry e;
    assert_true(take(db, &e));
    assert_int_equal(e.id, a);
    assert_int_equal(e.state, QUEUE_RUNNING);
    assert_int_equal(e.attempts, 1);
    int64_t c = enqueue(db, "prod", &existed);
    assert_false(existed);
    assert_true(c > b);
}

static void test_take_skips_an_instance_that_runs(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t a = enqueue(db, "prod", NULL);
    struct queue_entry e;
    assert_true(take(db, &e));
    assert_int_equal(e.id, a);
    int64_t a2 = enqueue(db, "prod", NULL);
    int64_t b = enqueue(db, "shop", NULL);
    /* prod runs: its second entry waits, shop's is next */
    assert_true(take(db, &e));
    assert_int_equal(e.id, b);
    assert_false(take(db, &e));
    assert_int_equal(job_queue_set_job(db, a, 42, &err), MFB_OK);
    assert_int_equal(job_queue_done(db, a, NULL, &err), MFB_OK);
    assert_true(take(db, &e));
    assert_int_equal(e.id, a2);
    assert_int_equal(job_queue_get(db, a, &e, &err), MFB_OK);
    assert_int_equal(e.state, QUEUE_DONE);
    assert_int_equal(e.job_id, 42);
    assert_true(e.ended > 0);
    assert_string_equal(e.error, "");
}

static void test_triggers_and_targets_are_kept(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t id = 0;
    assert_int_equal(job_queue_enqueue(db, "prod", "offsite", "schedule:nightly", &id, NULL, &err),
                     MFB_OK);
    struct queue_entry e;
    assert_int_equal(job_queue_get(db, id, &e, &err), MFB_OK);
    assert_string_equal(e.trigger, "schedule:nightly");
    assert_string_equal(e.target, "offsite");
    assert_string_equal(e.kind, "backup");
    assert_int_equal(e.state, QUEUE_QUEUED);
    assert_int_equal(job_queue_enqueue(db, "x", NULL, "schedule:", &id, NULL, &err),
                     MFB_ERR_INVALID);
    assert_int_equal(job_queue_enqueue(db, "x", NULL, "cron", &id, NULL, &err), MFB_ERR_INVALID);
    assert_int_equal(job_queue_get(db, 999, &e, &err), MFB_ERR_NOT_FOUND);
}

static void test_cancel_and_settle(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t a = enqueue(db, "prod", NULL);
    int64_t b = enqueue(db, "shop", NULL);
    struct queue_entry e;
    assert_true(take(db, &e)); /* prod runs */
    bool was = false;
    assert_int_equal(job_queue_cancel_queued(db, b, &was, &err), MFB_OK);
    assert_true(was);
    assert_int_equal(job_queue_cancel_queued(db, a, &was, &err), MFB_OK);
    assert_false(was); /* it runs: the daemon cancels the job itself */
    assert_int_equal(job_queue_cancel_queued(db, 999, &was, &err), MFB_ERR_NOT_FOUND);
    assert_int_equal(job_queue_get(db, b, &e, &err), MFB_OK);
    assert_int_equal(e.state, QUEUE_DONE);
    assert_true(e.cancelled);
    assert_false(take(db, &e));
    size_t n = 0;
    assert_int_equal(job_queue_settle_running(db, &n, &err), MFB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(job_queue_get(db, a, &e, &err), MFB_OK);
    assert_int_equal(e.state, QUEUE_DONE);
    assert_string_equal(e.error, "interrupted");
    struct queue_entry *list = NULL;
    assert_int_equal(job_queue_list(db, false, 0, &list, &n, &err), MFB_OK);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(job_queue_list(db, true, 1, &list, &n, &err), MFB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, b);
    free(list);
}

static void test_next_attempt_waits(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t a = enqueue(db, "prod", NULL);
    struct fixture *f = *state;
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE queue SET next_attempt = 5000 WHERE id = %lld",
             (long long)a);
    raw_sql(f->path, sql);
    struct queue_entry e;
    bool found = true;
    assert_int_equal(job_queue_take(db, 4999, &e, &found, &err), MFB_OK);
    assert_false(found);
    assert_int_equal(job_queue_take(db, 5000, &e, &found, &err), MFB_OK);
    assert_true(found);
}

static int64_t take_at(struct config_db *db, int64_t now, struct queue_entry *e)
{
    bool found = false;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_take(db, now, e, &found, &err), MFB_OK);
    return found ? e->id : 0;
}

static void test_max_jobs_per_target(void **state)
{
    struct config_db *db = open_db(*state);
    struct fixture *f = *state;
    struct mfb_error err = {0};
    raw_sql(f->path, "INSERT INTO targets (name, url, token, fingerprint, naming, chunk_size,"
                     " connections, created, updated) VALUES ('rx', 'https://x', 't', 'ab',"
                     " 'n', 1048576, 4, 1, 1)");
    int64_t prod = enqueue(db, "prod", NULL); /* no target: the only one, rx */
    int64_t shop = 0;
    assert_int_equal(job_queue_enqueue(db, "shop", "rx", "api", &shop, NULL, &err), MFB_OK);
    struct queue_entry e;
    assert_int_equal(take_at(db, INT64_MAX, &e), prod);
    /* rx runs its one job (max_jobs defaults to 1): shop waits */
    assert_int_equal(take_at(db, INT64_MAX, &e), 0);
    raw_sql(f->path, "UPDATE targets SET max_jobs = 2 WHERE name = 'rx'");
    assert_int_equal(take_at(db, INT64_MAX, &e), shop);
    /* a second target: an entry without one no longer counts against rx */
    raw_sql(f->path, "UPDATE targets SET max_jobs = 1 WHERE name = 'rx';"
                     "INSERT INTO targets (name, url, token, fingerprint, naming, chunk_size,"
                     " connections, created, updated) VALUES ('off', 'https://y', 't', 'ab',"
                     " 'n', 1048576, 4, 1, 1)");
    int64_t web = enqueue(db, "web", NULL);
    int64_t mail = 0;
    assert_int_equal(job_queue_enqueue(db, "mail", "rx", "api", &mail, NULL, &err), MFB_OK);
    assert_int_equal(take_at(db, INT64_MAX, &e), web);
    assert_int_equal(take_at(db, INT64_MAX, &e), 0); /* rx runs shop, its one job */
    assert_int_equal(job_queue_done(db, shop, NULL, &err), MFB_OK);
    assert_int_equal(take_at(db, INT64_MAX, &e), mail);
}

static void test_retries(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    int64_t backup = enqueue(db, "prod", NULL);
    int64_t r = 0, r2 = 0;
    bool existed = true;
    /* a retry waits beside the queued backup of its instance, once per job */
    assert_int_equal(job_queue_enqueue_retry(db, "prod", "rx", 7, 100, &r, &existed, &err), MFB_OK);
    assert_false(existed);
    assert_int_not_equal(r, backup);
    assert_int_equal(job_queue_enqueue_retry(db, "prod", "rx", 7, 500, &r2, &existed, &err),
                     MFB_OK);
    assert_true(existed);
    assert_int_equal(r2, r);
    /* a backup queued again still finds the backup, not the retry */
    assert_int_equal(enqueue(db, "prod", &existed), backup);
    assert_true(existed);
    struct queue_entry e;
    assert_int_equal(take_at(db, 50, &e), backup);
    assert_int_equal(job_queue_done(db, backup, NULL, &err), MFB_OK);
    assert_int_equal(take_at(db, 99, &e), 0); /* not due yet */
    assert_int_equal(take_at(db, 100, &e), r);
    assert_string_equal(e.trigger, "retry");
    assert_int_equal(e.resume_job, 7);
    assert_string_equal(e.target, "rx");
    assert_int_equal(e.attempts, 1);
    /* the receiver is still away: the same entry, a later attempt */
    assert_int_equal(job_queue_requeue(db, r, 300, &err), MFB_OK);
    assert_int_equal(job_queue_get(db, r, &e, &err), MFB_OK);
    assert_int_equal(e.state, QUEUE_QUEUED);
    assert_int_equal(e.next_attempt, 300);
    assert_int_equal(take_at(db, 299, &e), 0);
    assert_int_equal(take_at(db, 300, &e), r);
    assert_int_equal(e.attempts, 2);
    /* a person cancels it during the upload */
    assert_int_equal(job_queue_done_cancelled(db, r, "upload", &err), MFB_OK);
    assert_int_equal(job_queue_get(db, r, &e, &err), MFB_OK);
    assert_int_equal(e.state, QUEUE_DONE);
    assert_true(e.cancelled);
    assert_string_equal(e.cancelled_step, "upload");
    /* a cancel while queued records the step "queued" */
    int64_t q = enqueue(db, "shop", NULL);
    bool was = false;
    assert_int_equal(job_queue_cancel_queued(db, q, &was, &err), MFB_OK);
    assert_int_equal(job_queue_get(db, q, &e, &err), MFB_OK);
    assert_string_equal(e.cancelled_step, "queued");
}

static size_t unretried(struct config_db *db, int64_t *first)
{
    struct queue_pending *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    assert_int_equal(job_queue_unretried(db, &list, &n, &err), MFB_OK);
    *first = n ? list[0].job_id : 0;
    free(list);
    return n;
}

static void test_what_a_dead_daemon_left_to_retry(void **state)
{
    struct config_db *db = open_db(*state);
    struct fixture *f = *state;
    struct mfb_error err = {0};
    /* 7: a daemon's job, sealed when the daemon died; 8: one a person
     * cancelled; 9: a foreground `mfb backup`, not the daemon's */
    raw_sql(f->path, "INSERT INTO jobs (id, instance, target, kind, status, pid, started) VALUES"
                     " (7, 'prod', 'rx', 'backup', 'pending_upload', 1, 1000),"
                     " (8, 'shop', 'rx', 'backup', 'pending_upload', 1, 1000),"
                     " (9, 'web', 'rx', 'backup', 'pending_upload', 1, 1000)");
    struct queue_entry e;
    int64_t a = enqueue(db, "prod", NULL);
    int64_t b = enqueue(db, "shop", NULL);
    assert_int_equal(take_at(db, INT64_MAX, &e), a);
    assert_int_equal(take_at(db, INT64_MAX, &e), b);
    assert_int_equal(job_queue_set_job(db, a, 7, &err), MFB_OK);
    assert_int_equal(job_queue_set_job(db, b, 8, &err), MFB_OK);
    assert_int_equal(job_queue_done_cancelled(db, b, "upload", &err), MFB_OK);
    size_t n = 0;
    assert_int_equal(job_queue_settle_running(db, &n, &err), MFB_OK);
    assert_int_equal(n, 1);
    int64_t job = 0;
    assert_int_equal(unretried(db, &job), 1);
    assert_int_equal(job, 7);
    int64_t r = 0;
    assert_int_equal(job_queue_enqueue_retry(db, "prod", "rx", 7, 0, &r, NULL, &err), MFB_OK);
    assert_int_equal(unretried(db, &job), 0);
    /* the retry itself dies with its daemon: the job needs a new one */
    assert_int_equal(take_at(db, INT64_MAX, &e), r);
    assert_int_equal(job_queue_settle_running(db, &n, &err), MFB_OK);
    assert_int_equal(unretried(db, &job), 1);
    assert_int_equal(job, 7);
    /* a retry a person cancelled is not replaced */
    int64_t r2 = 0;
    assert_int_equal(job_queue_enqueue_retry(db, "prod", "rx", 7, 0, &r2, NULL, &err), MFB_OK);
    bool was = false;
    assert_int_equal(job_queue_cancel_queued(db, r2, &was, &err), MFB_OK);
    assert_true(was);
    assert_int_equal(unretried(db, &job), 0);
}

/* Two schedules on one instance: a catch-up queued for one is that
 * schedule's fire alone (the other's missed runs still count), and the
 * entry names its schedule, whose last run its job becomes. */
static void test_a_catch_up_is_its_schedules_own(void **state)
{
    struct config_db *db = open_db(*state);
    struct mfb_error err = {0};
    struct config_schedule daily = {.name = "daily", .instance = "prod"};
    struct config_schedule weekly = {.name = "weekly", .instance = "prod"};
    int64_t id = 0;
    assert_int_equal(
        job_queue_enqueue_for(db, "prod", NULL, "backup", "catch-up", "daily", &id, NULL, &err),
        MFB_OK);
    struct queue_entry e;
    assert_int_equal(job_queue_get(db, id, &e, &err), MFB_OK);
    assert_string_equal(e.schedule, "daily");
    int64_t at = 0;
    assert_int_equal(config_schedule_last_fired(db, &daily, &at, &err), MFB_OK);
    assert_int_equal(at, e.enqueued);
    assert_int_equal(config_schedule_last_fired(db, &weekly, &at, &err), MFB_OK);
    assert_int_equal(at, 0);
    /* an on-time entry names its schedule from its trigger */
    int64_t w = 0;
    assert_int_equal(job_queue_take(db, INT64_MAX, &e, &(bool){false}, &err), MFB_OK);
    assert_int_equal(job_queue_enqueue(db, "prod", NULL, "schedule:weekly", &w, NULL, &err),
                     MFB_OK);
    assert_int_equal(job_queue_get(db, w, &e, &err), MFB_OK);
    assert_string_equal(e.schedule, "weekly");
}

#define RACERS 4
#define ENTRIES 24

struct racer {
    struct config_db *db;
    int64_t taken[ENTRIES];
    size_t count;
};

/* A worker thread of the test: takes and ends entries until none is left. */
static void *race(void *arg)
{
    struct racer *r = arg;
    struct queue_entry e;
    bool found = true;
    while (found) {
        struct mfb_error err = {0};
        if (job_queue_take(r->db, INT64_MAX, &e, &found, &err) != MFB_OK)
            break;
        if (found) {
            r->taken[r->count++] = e.id;
            job_queue_done(r->db, e.id, NULL, &err);
        }
    }
    return NULL;
}

static void test_workers_never_share_an_entry(void **state)
{
    struct config_db *db = open_db(*state);
    for (int i = 0; i < ENTRIES; i++) {
        char name[16];
        snprintf(name, sizeof(name), "i%d", i);
        enqueue(db, name, NULL);
    }
    struct racer racers[RACERS] = {0};
    pthread_t threads[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i].db = db;
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    int seen[ENTRIES + 1] = {0};
    size_t total = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        for (size_t j = 0; j < racers[i].count; j++) {
            assert_true(racers[i].taken[j] >= 1 && racers[i].taken[j] <= ENTRIES);
            seen[racers[i].taken[j]]++;
        }
        total += racers[i].count;
    }
    assert_int_equal(total, ENTRIES);
    for (int i = 1; i <= ENTRIES; i++)
        assert_int_equal(seen[i], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_instance_is_queued_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_skips_an_instance_that_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_and_targets_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_settle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_attempt_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_never_share_an_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_jobs_per_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_what_a_dead_daemon_left_to_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_catch_up_is_its_schedules_own, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
