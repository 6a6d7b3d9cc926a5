/*
 * store_job_queue_test.c - the daemon's persistent queue
 * (store/job_queue.h): an instance is queued once, entries are taken in
 * order but never two of one instance at once, cancelling and settling,
 * and workers taking at once never share an entry.
 */
#include <pthread.h>

#include "config_fixture.h"
#include "store/job_queue.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
