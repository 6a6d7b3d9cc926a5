/*
 * store_schedules_test.c - tests of src/store/schedules.c: the CRUD of the
 * daemon's schedules, their defaults and constraints, the refusal of an
 * unknown instance or target, the last run read from the job log, and the
 * refusal to remove an instance or a target that a schedule uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"
#include "store/schedules.h"

/* An instance "prod" and targets "offsite" and "second". */
static void add_records(struct config_db *db)
{
    struct config_instance inst;
    fill_instance(&inst, "prod");
    assert_int_equal(config_instance_add(db, &inst, NULL), MFB_OK);
    config_instance_free(&inst);
    const char *names[] = {"offsite", "second"};
    for (size_t i = 0; i < 2; i++) {
        struct config_target t;
        fill_target(&t, names[i]);
        assert_int_equal(config_target_add(db, &t, NULL), MFB_OK);
        config_target_free(&t);
    }
}

static void fill_schedule(struct config_schedule *s, const char *name, const char *target)
{
    config_schedule_init(s);
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->instance, sizeof(s->instance), "prod");
    assert_int_equal(config_str_set(&s->target, target, NULL), MFB_OK);
    assert_int_equal(config_str_set(&s->cron, "0 3 * * *", NULL), MFB_OK);
}

static void test_schedule_crud(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_records(db);
    struct config_schedule s;
    fill_schedule(&s, "nightly", "offsite");
    assert_int_equal(config_str_set(&s.tz, "Europe/Berlin", NULL), MFB_OK);
    s.jitter_ms = 60000;
    struct mfb_error err = {0};
    assert_int_equal(config_schedule_check_new(db, "nightly", &err), MFB_OK);
    assert_int_equal(config_schedule_add(db, &s, &err), MFB_OK);
    assert_true(s.id > 0);
    config_schedule_free(&s);

    assert_int_equal(config_schedule_check_new(db, "nightly", &err), MFB_ERR_EXISTS);
    assert_string_equal(err.message, "schedule 'nightly' already exists");
    fill_schedule(&s, "nightly", NULL);
    assert_int_equal(config_schedule_add(db, &s, &err), MFB_ERR_EXISTS);
    config_schedule_free(&s);

    /* A schedule without zone or target: UTC and the only target (NULL). */
    fill_schedule(&s, "hourly", NULL);
    assert_int_equal(config_str_set(&s.cron, "@hourly", NULL), MFB_OK);
    s.catch_up = CONFIG_CATCH_UP_SKIP;
    assert_int_equal(config_schedule_add(db, &s, &err), MFB_OK);
    config_schedule_free(&s);

    struct config_schedule got;
    assert_int_equal(config_schedule_get(db, "nightly", &got, &err), MFB_OK);
    assert_string_equal(got.instance, "prod");
    assert_string_equal(got.target, "offsite");
    assert_string_equal(got.cron, "0 3 * * *");
    assert_string_equal(got.tz, "Europe/Berlin");
    assert_int_equal(got.kind, CONFIG_SCHEDULE_BACKUP);
    assert_int_equal(got.catch_up, CONFIG_CATCH_UP_ONCE);
    assert_int_equal(got.jitter_ms, 60000);
    assert_false(got.paused);
    assert_int_equal(got.last_run_job_id, 0);
    assert_string_equal(got.last_run_status, "");
    assert_true(got.created > 0);

    /* update keeps the name, changes the rest */
    assert_int_equal(config_str_set(&got.cron, "30 4 * * 1-5", NULL), MFB_OK);
    assert_int_equal(config_str_set(&got.target, "second", NULL), MFB_OK);
    assert_int_equal(config_schedule_update(db, &got, &err), MFB_OK);
    config_schedule_free(&got);
    assert_int_equal(config_schedule_get(db, "nightly", &got, &err), MFB_OK);
    assert_string_equal(got.cron, "30 4 * * 1-5");
    assert_string_equal(got.target, "second");
    config_schedule_free(&got);

    /* pause, resume */
    assert_int_equal(config_schedule_set_paused(db, "nightly", true, &err), MFB_OK);
    assert_int_equal(config_schedule_get(db, "nightly", &got, &err), MFB_OK);
    assert_true(got.paused);
    config_schedule_free(&got);
    assert_int_equal(config_schedule_set_paused(db, "nightly", false, &err), MFB_OK);
    struct mfb_error err2 = {0};
    assert_int_equal(config_schedule_set_paused(db, "nope", true, &err2), MFB_ERR_NOT_FOUND);
    assert_string_equal(err2.message, "no schedule named 'nope'");

    /* list, by name */
    struct config_schedule *list = NULL;
    size_t count = 0;
    assert_int_equal(config_schedule_list(db, &list, &count, &err), MFB_OK);
    assert_int_equal(count, 2);
    assert_string_equal(list[0].name, "hourly");
    assert_null(list[0].target);
    assert_string_equal(list[0].tz, "UTC");
    assert_int_equal(list[0].catch_up, CONFIG_CATCH_UP_SKIP);
    assert_false(list[1].paused);
    config_schedule_list_free(list, count);

    /* remove */
    assert_int_equal(config_schedule_remove(db, "hourly", &err), MFB_OK);
    assert_int_equal(config_schedule_remove(db, "hourly", NULL), MFB_ERR_NOT_FOUND);
    struct mfb_error err3 = {0};
    assert_int_equal(config_schedule_get(db, "hourly", &got, &err3), MFB_ERR_NOT_FOUND);
    assert_string_equal(err3.message, "no schedule named 'hourly'");
}

static void test_unknown_instance_or_target_refused(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_records(db);
    struct config_schedule s;
    fill_schedule(&s, "nightly", "offsite");
    snprintf(s.instance, sizeof(s.instance), "ghost");
    struct mfb_error err = {0};
    assert_int_equal(config_schedule_add(db, &s, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "no instance named 'ghost'");
    snprintf(s.instance, sizeof(s.instance), "prod");
    assert_int_equal(config_str_set(&s.target, "nowhere", NULL), MFB_OK);
    struct mfb_error err2 = {0};
    assert_int_equal(config_schedule_add(db, &s, &err2), MFB_ERR_NOT_FOUND);
    assert_string_equal(err2.message, "no target named 'nowhere'");
    assert_int_equal(config_str_set(&s.target, "offsite", NULL), MFB_OK);
    assert_int_equal(config_schedule_add(db, &s, NULL), MFB_OK);
    /* the same check on update */
    assert_int_equal(config_str_set(&s.target, "nowhere", NULL), MFB_OK);
    assert_int_equal(config_schedule_update(db, &s, NULL), MFB_ERR_NOT_FOUND);
    config_schedule_free(&s);
}

static void test_constraints(void **state)
{
    struct fixture *f = *state;
    open_db(f);
    config_db_close(f->db);
    f->db = NULL;
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    const char *bad[] = {
        "INSERT INTO schedules (name, instance, kind, cron, created, updated)"
        " VALUES ('a', 'prod', 'restore', '* * * * *', 0, 0)",
        "INSERT INTO schedules (name, instance, catch_up, cron, created, updated)"
        " VALUES ('a', 'prod', 'all', '* * * * *', 0, 0)",
        "INSERT INTO schedules (name, instance, jitter_ms, cron, created, updated)"
        " VALUES ('a', 'prod', -1, '* * * * *', 0, 0)",
        "INSERT INTO schedules (name, instance, created, updated) VALUES ('a', 'prod', 0, 0)",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(sqlite3_exec(raw, bad[i], NULL, NULL, NULL), SQLITE_OK);
    /* the defaults */
    assert_int_equal(sqlite3_exec(raw,
                                  "INSERT INTO schedules (name, instance, cron, created, updated)"
                                  " VALUES ('a', 'prod', '* * * * *', 0, 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT kind, tz, catch_up, jitter_ms, paused,"
                                        " last_run_job_id IS NULL FROM schedules",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "backup");
    assert_string_equal((const char *)sqlite3_column_text(stmt, 1), "UTC");
    assert_string_equal((const char *)sqlite3_column_text(stmt, 2), "once");
    assert_int_equal(sqlite3_column_int(stmt, 3), 0);
    assert_int_equal(sqlite3_column_int(stmt, 4), 0);
    assert_int_equal(sqlite3_column_int(stmt, 5), 1);
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
}

static void test_last_run_from_the_job_log(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_records(db);
    struct config_schedule s;
    fill_schedule(&s, "nightly", NULL);
    assert_int_equal(config_schedule_add(db, &s, NULL), MFB_OK);
    config_schedule_free(&s);
    int64_t job = add_job(db, "prod", "offsite", JOB_STATUS_FAILED, 1000, "boom");
    assert_int_equal(config_schedule_set_last_run(db, "nightly", job, NULL), MFB_OK);
    assert_int_equal(config_schedule_get(db, "nightly", &s, NULL), MFB_OK);
    assert_int_equal(s.last_run_job_id, job);
    assert_string_equal(s.last_run_status, "failed");
    assert_true(s.last_run_started > 0);
    config_schedule_free(&s);
}

static void test_remove_of_a_used_instance_or_target_refused(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    add_records(db);
    struct config_schedule s;
    fill_schedule(&s, "nightly", "second");
    assert_int_equal(config_schedule_add(db, &s, NULL), MFB_OK);
    config_schedule_free(&s);

    struct mfb_error err = {0};
    assert_int_equal(config_instance_remove(db, "prod", &err), MFB_ERR_BUSY);
    assert_string_equal(err.message, "instance 'prod' is used by schedule 'nightly'");
    assert_string_equal(err.hint, "remove the schedule first ('mfb schedule remove nightly'), or "
                                  "give it another instance ('mfb schedule set nightly "
                                  "--instance NAME')");
    struct mfb_error err2 = {0};
    assert_int_equal(config_target_remove(db, "second", false, &err2), MFB_ERR_BUSY);
    assert_string_equal(err2.message, "target 'second' is used by schedule 'nightly'");
    struct mfb_error err3 = {0};
    assert_int_equal(config_target_remove(db, "second", true, &err3), MFB_ERR_BUSY);

    /* A schedule without a target uses the only one left: removing
     * "offsite" is fine while "second" exists, not once it is the last. */
    fill_schedule(&s, "any", NULL);
    assert_int_equal(config_schedule_add(db, &s, NULL), MFB_OK);
    config_schedule_free(&s);
    assert_int_equal(config_schedule_remove(db, "nightly", NULL), MFB_OK);
    assert_int_equal(config_target_remove(db, "offsite", false, NULL), MFB_OK);
    struct mfb_error err4 = {0};
    assert_int_equal(config_target_remove(db, "second", false, &err4), MFB_ERR_BUSY);
    assert_string_equal(err4.message, "target 'second' is used by schedule 'any'");

    /* Once the schedules are gone, both go. */
    assert_int_equal(config_schedule_remove(db, "any", NULL), MFB_OK);
    assert_int_equal(config_target_remove(db, "second", false, NULL), MFB_OK);
    assert_int_equal(config_instance_remove(db, "prod", NULL), MFB_OK);
}

static void test_enum_words(void **state)
{
    (void)state;
    enum config_catch_up c;
    enum config_schedule_kind k;
    struct mfb_error err = {0};
    assert_int_equal(config_catch_up_parse("skip", &c, NULL), MFB_OK);
    assert_int_equal(c, CONFIG_CATCH_UP_SKIP);
    assert_string_equal(config_catch_up_str(CONFIG_CATCH_UP_ONCE), "once");
    assert_int_equal(config_catch_up_parse("all", &c, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "unknown catch-up 'all'");
    assert_int_equal(config_schedule_kind_parse("backup", &k, NULL), MFB_OK);
    assert_int_equal(config_schedule_kind_parse("restore", &k, NULL), MFB_ERR_USAGE);
    assert_string_equal(config_schedule_kind_str(CONFIG_SCHEDULE_BACKUP), "backup");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schedule_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_instance_or_target_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_run_from_the_job_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_of_a_used_instance_or_target_refused, setup,
                                        teardown),
        cmocka_unit_test(test_enum_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
