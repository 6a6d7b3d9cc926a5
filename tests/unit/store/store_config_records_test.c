/*
 * store_config_records_test.c - tests of src/store/config_records.c: the
 * CRUD of instances, targets and settings, removal refused while a job
 * runs, the backup-name sequence, the enumerations' words and the secret
 * helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"

/* ---- instances ---- */

static void test_instance_crud(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    struct config_instance a, b, got;
    fill_instance(&a, "prod");
    a.timeout_ms[CONFIG_TIMEOUT_STOP] = 30000;
    a.restart_after = CONFIG_RESTART_AFTER_SNAPSHOT;
    assert_int_equal(config_instance_add(db, &a, &err), MFB_OK);
    assert_true(a.id > 0);
    assert_true(a.created > 0);

    fill_instance(&b, "prod");
    assert_int_equal(config_instance_check_new(db, "prod", &err), MFB_ERR_EXISTS);
    mfb_error_clear(&err);
    assert_int_equal(config_instance_add(db, &b, &err), MFB_ERR_EXISTS);
    assert_string_equal(err.message, "instance 'prod' already exists");
    assert_string_equal(err.hint,
                        "change it with 'mfb instance set prod ...', or choose another name");
    config_instance_free(&b);
    mfb_error_clear(&err);

    assert_int_equal(config_instance_get(db, "prod", &got, &err), MFB_OK);
    assert_string_equal(got.name, "prod");
    assert_string_equal(got.socket, "/run/mysqld/mysqld.sock");
    assert_null(got.host);
    assert_string_equal(got.user, "mfb");
    assert_string_equal(got.password, "s3cret");
    assert_int_equal(got.control, CONFIG_CONTROL_SYSTEMD);
    assert_string_equal(got.service, "mariadb");
    assert_null(got.start_cmd);
    assert_int_equal(got.restart_after, CONFIG_RESTART_AFTER_SNAPSHOT);
    assert_int_equal(got.timeout_ms[CONFIG_TIMEOUT_STOP], 30000);
    assert_int_equal(got.timeout_ms[CONFIG_TIMEOUT_PREFLUSH],
                     config_timeout_default(CONFIG_TIMEOUT_PREFLUSH));
    assert_int_equal(got.id, a.id);

    /* update: switch to TCP and custom commands */
    assert_int_equal(config_str_set(&got.socket, NULL, &err), MFB_OK);
    assert_int_equal(config_str_set(&got.host, "db.example", &err), MFB_OK);
    got.port = 3307;
    got.control = CONFIG_CONTROL_COMMAND;
    assert_int_equal(config_str_set(&got.service, NULL, &err), MFB_OK);
    assert_int_equal(config_str_set(&got.start_cmd, "start-db", &err), MFB_OK);
    assert_int_equal(config_str_set(&got.stop_cmd, "stop-db", &err), MFB_OK);
    assert_int_equal(config_str_set(&got.password, NULL, &err), MFB_OK);
    assert_int_equal(config_instance_update(db, &got, &err), MFB_OK);
    config_instance_free(&got);
    assert_int_equal(config_instance_get(db, "prod", &got, &err), MFB_OK);
    assert_null(got.socket);
    assert_string_equal(got.host, "db.example");
    assert_int_equal(got.port, 3307);
    assert_int_equal(got.control, CONFIG_CONTROL_COMMAND);
    assert_string_equal(got.stop_cmd, "stop-db");
    assert_null(got.password);
    config_instance_free(&got);

    /* list is by name */
    fill_instance(&b, "alpha");
    assert_int_equal(config_instance_add(db, &b, &err), MFB_OK);
    struct config_instance *list = NULL;
    size_t count = 0;
    assert_int_equal(config_instance_list(db, &list, &count, &err), MFB_OK);
    assert_int_equal(count, 2);
    assert_string_equal(list[0].name, "alpha");
    assert_string_equal(list[1].name, "prod");
    config_instance_list_free(list, count);

    /* remove, then it is gone */
    assert_int_equal(config_instance_remove(db, "alpha", &err), MFB_OK);
    assert_int_equal(config_instance_remove(db, "alpha", &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "no instance named 'alpha'");
    assert_string_equal(err.hint, "'mfb instance list' shows the configured instances");
    mfb_error_clear(&err);
    assert_int_equal(config_instance_get(db, "alpha", &got, &err), MFB_ERR_NOT_FOUND);
    assert_int_equal(config_instance_update(db, &b, NULL), MFB_ERR_NOT_FOUND);
    config_instance_free(&b);
    config_instance_free(&a);
}

static void test_instance_constraints(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct config_instance a;
    fill_instance(&a, "both");
    /* socket and host together violate the table's CHECK */
    assert_int_equal(config_str_set(&a.host, "h", NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(config_instance_add(db, &a, &err), MFB_ERR_DATABASE);
    assert_non_null(strstr(err.message, "cannot save the instance"));
    config_instance_free(&a);
}

static void test_remove_refused_while_running(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    struct config_instance a;
    fill_instance(&a, "prod");
    assert_int_equal(config_instance_add(db, &a, &err), MFB_OK);
    config_instance_free(&a);
    struct job_record job;
    assert_int_equal(job_log_create(db, "prod", NULL, "backup", &job, &err), MFB_OK);
    assert_int_equal(config_instance_remove(db, "prod", &err), MFB_ERR_BUSY);
    char expected[128];
    snprintf(expected, sizeof(expected), "instance 'prod' has a running job (#%lld)",
             (long long)job.id);
    assert_string_equal(err.message, expected);
    mfb_error_clear(&err);
    /* our own process is alive: not an orphan */
    size_t orphans = 9;
    assert_int_equal(job_log_fail_orphans(db, &orphans, &err), MFB_OK);
    assert_int_equal(orphans, 0);
    job.status = JOB_STATUS_OK;
    job.ended_ms = job.started_ms + 1000;
    assert_int_equal(job_log_save(db, &job, &err), MFB_OK);
    assert_int_equal(config_instance_remove(db, "prod", &err), MFB_OK);
    /* the history stays */
    struct job_record again;
    assert_int_equal(job_log_get(db, job.id, &again, &err), MFB_OK);
    assert_string_equal(again.instance, "prod");
    job_record_free(&again);
    job_record_free(&job);
}

/* ---- targets and settings ---- */

static void test_target_crud(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    struct config_target t, got;
    fill_target(&t, "offsite");
    assert_int_equal(config_str_set(&t.directory, "nightly/eu", NULL), MFB_OK);
    t.chunk_size = 32 << 20;
    t.connections = 8;
    assert_int_equal(config_target_add(db, &t, &err), MFB_OK);
    assert_int_equal(config_target_add(db, &t, &err), MFB_ERR_EXISTS);
    assert_string_equal(err.message, "target 'offsite' already exists");
    mfb_error_clear(&err);
    assert_int_equal(config_target_check_new(db, "offsite", NULL), MFB_ERR_EXISTS);
    assert_int_equal(config_target_check_new(db, "other", NULL), MFB_OK);

    assert_int_equal(config_target_get(db, "offsite", &got, &err), MFB_OK);
    assert_string_equal(got.url, "https://backup.example:8443");
    assert_string_equal(got.token, "0123abcd");
    assert_null(got.fingerprint);
    assert_string_equal(got.ca_file, "/etc/mfb/ca.pem");
    assert_string_equal(got.directory, "nightly/eu");
    assert_string_equal(got.naming, CONFIG_DEFAULT_NAMING);
    assert_int_equal(got.chunk_size, 32 << 20);
    assert_int_equal(got.connections, 8);

    assert_int_equal(config_str_set(&got.ca_file, NULL, NULL), MFB_OK);
    assert_int_equal(config_str_set(&got.fingerprint, "AA:BB", NULL), MFB_OK);
    assert_int_equal(config_str_set(&got.directory, NULL, NULL), MFB_OK);
    assert_int_equal(config_target_update(db, &got, &err), MFB_OK);
    config_target_free(&got);
    assert_int_equal(config_target_get(db, "offsite", &got, &err), MFB_OK);
    assert_string_equal(got.fingerprint, "AA:BB");
    assert_null(got.ca_file);
    assert_null(got.directory);
    config_target_free(&got);

    struct config_target *list = NULL;
    size_t count = 0;
    assert_int_equal(config_target_list(db, &list, &count, &err), MFB_OK);
    assert_int_equal(count, 1);
    config_target_list_free(list, count);

    /* an upload waiting to resume there protects it, unless forced */
    struct job_record job;
    assert_int_equal(job_log_create(db, "prod", "offsite", "backup", &job, &err), MFB_OK);
    assert_int_equal(config_target_remove(db, "offsite", true, &err), MFB_ERR_BUSY);
    mfb_error_clear(&err);
    job.status = JOB_STATUS_PENDING_UPLOAD;
    job.ended_ms = job.started_ms + 5;
    snprintf(job.upload_id, sizeof(job.upload_id), "u_0123");
    assert_int_equal(job_log_save(db, &job, &err), MFB_OK);
    assert_int_equal(config_target_remove(db, "offsite", false, &err), MFB_ERR_BUSY);
    char expected[128];
    snprintf(expected, sizeof(expected),
             "target 'offsite' has an upload waiting to be resumed (job #%lld)", (long long)job.id);
    assert_string_equal(err.message, expected);
    assert_string_equal(err.hint, "run 'mfb resume' first, or pass --force to give it up");
    assert_int_equal(config_target_remove(db, "offsite", true, NULL), MFB_OK);
    assert_int_equal(config_target_get(db, "offsite", &got, NULL), MFB_ERR_NOT_FOUND);
    job_record_free(&job);
    config_target_free(&t);
}

static void test_settings(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    char *v = (char *)"x";
    assert_int_equal(config_setting_get(db, "spool", &v, &err), MFB_OK);
    assert_null(v);
    assert_int_equal(config_setting_set(db, "spool", "/a", &err), MFB_OK);
    assert_int_equal(config_setting_set(db, "spool", "/b", &err), MFB_OK);
    assert_int_equal(config_setting_get(db, "spool", &v, &err), MFB_OK);
    assert_string_equal(v, "/b");
    free(v);
    assert_int_equal(config_setting_set(db, "spool", NULL, &err), MFB_OK);
    assert_int_equal(config_setting_get(db, "spool", &v, &err), MFB_OK);
    assert_null(v);
}

static void test_enum_parsing(void **state)
{
    enum config_control c;
    char *service = NULL;
    struct mfb_error err = {0};
    assert_int_equal(config_control_parse("systemd:mariadb.service", &c, &service, &err), MFB_OK);
    assert_int_equal(c, CONFIG_CONTROL_SYSTEMD);
    assert_string_equal(service, "mariadb.service");
    char buf[64];
    assert_string_equal(config_control_format(c, service, buf, sizeof(buf)),
                        "systemd:mariadb.service");
    free(service);
    assert_int_equal(config_control_parse("command", &c, &service, &err), MFB_OK);
    assert_int_equal(c, CONFIG_CONTROL_COMMAND);
    assert_null(service);
    assert_int_equal(config_control_parse("shutdown-sql", &c, &service, &err), MFB_OK);
    assert_int_equal(c, CONFIG_CONTROL_SHUTDOWN_SQL);
    const char *bad[] = {"systemd", "systemd:", "sysv", "command:x", "init.d:mysql", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mfb_error_clear(&err);
        assert_int_equal(config_control_parse(bad[i], &c, &service, &err), MFB_ERR_USAGE);
        assert_string_equal(err.hint, "use systemd:UNIT, sysv:NAME, shutdown-sql or command");
    }
    enum config_restart_after r;
    assert_int_equal(config_restart_after_parse("archive", &r, NULL), MFB_OK);
    assert_int_equal(r, CONFIG_RESTART_AFTER_ARCHIVE);
    mfb_error_clear(&err);
    assert_int_equal(config_restart_after_parse("never", &r, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "invalid restart policy 'never'");
    assert_string_equal(config_timeout_name(CONFIG_TIMEOUT_VERIFY), "verify");
}

/* {seq} counts per instance and never goes back, not even when log
 * retention removes the jobs that used the numbers. */
static void test_name_seq_never_repeats(void **state)
{
    struct fixture *f = *state;
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    uint64_t seq = 0;
    for (uint64_t want = 1; want <= 3; want++) {
        assert_int_equal(config_name_seq_next(db, "prod", &seq, &err), MFB_OK);
        assert_int_equal(seq, want);
    }
    assert_int_equal(config_name_seq_next(db, "test", &seq, &err), MFB_OK);
    assert_int_equal(seq, 1);
    add_job(db, "prod", NULL, JOB_STATUS_OK, 1000, NULL);
    raw_sql(f->path, "DELETE FROM jobs");
    assert_int_equal(config_name_seq_next(db, "prod", &seq, &err), MFB_OK);
    assert_int_equal(seq, 4);
}

static void test_secret_helpers(void **state)
{
    char *s = NULL;
    assert_int_equal(config_str_set(&s, "password", NULL), MFB_OK);
    assert_string_equal(s, "password");
    assert_int_equal(config_str_set(&s, "other", NULL), MFB_OK);
    assert_string_equal(s, "other");
    assert_int_equal(config_str_set(&s, NULL, NULL), MFB_OK);
    assert_null(s);
    config_secret_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_seq_never_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_refused_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test(test_enum_parsing),
        cmocka_unit_test(test_secret_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
