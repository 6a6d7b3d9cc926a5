/*
 * store_config_test.c - tests of src/store/config_db.c and db_path.c: the
 * file's creation mode and the refusal of a readable one, migrations
 * (among them the move of an old job log to the final statuses), and the
 * refusal of another kind of database.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_fixture.h"
#include "store/db_path.h"
#include "store/server_db.h"

/* ---- the file ---- */

static void test_create_mode_0600(void **state)
{
    struct fixture *f = *state;
    struct mfb_error err = {0};
    bool created = false;
    mode_t old = umask(0);
    mfb_status st = config_db_open(f->path, true, &f->db, &created, &err);
    umask(old);
    assert_int_equal(st, MFB_OK);
    assert_true(created);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s/a/b", f->dir);
    assert_int_equal(stat(parent, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    int version = 0;
    assert_int_equal(config_db_schema_version(f->db, &version, &err), MFB_OK);
    assert_int_equal(version, 10); /* 10: the silence alarms */
    assert_string_equal(config_db_path(f->db), f->path);
    /* WAL mode: a write leaves a -wal file with the same mode while open. */
    assert_int_equal(config_setting_set(f->db, "k", "v", &err), MFB_OK);
    char wal[PATH_MAX + 8];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    config_db_close(f->db);
    f->db = NULL;
    assert_int_equal(config_db_open(f->path, true, &f->db, &created, &err), MFB_OK);
    assert_false(created);
}

static void test_open_missing(void **state)
{
    struct fixture *f = *state;
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_NOT_FOUND);
    assert_null(f->db);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof(expected), "no configuration database at '%s'", f->path);
    assert_string_equal(err.message, expected);
    assert_string_equal(err.hint, "run 'mfb init' first, or pass --db PATH");
}

static void test_refuse_group_or_other_access(void **state)
{
    struct fixture *f = *state;
    open_db(f);
    config_db_close(f->db);
    f->db = NULL;
    static const mode_t modes[] = {0644, 0660, 0604, 0640, 0602};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(f->path, modes[i]), 0);
        struct mfb_error err = {0};
        assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_PERMISSION);
        assert_null(f->db);
        char expected[PATH_MAX + 128];
        snprintf(expected, sizeof(expected),
                 "configuration database '%s' is accessible by group or others (mode %04o)",
                 f->path, (unsigned)modes[i]);
        assert_string_equal(err.message, expected);
        snprintf(expected, sizeof(expected), "it holds passwords and tokens; run: chmod 600 '%s'",
                 f->path);
        assert_string_equal(err.hint, expected);
        /* create does not bypass it */
        assert_int_equal(config_db_open(f->path, true, &f->db, NULL, NULL), MFB_ERR_PERMISSION);
    }
    assert_int_equal(chmod(f->path, 0600), 0);
    open_db(f);
}

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    snprintf(f->path, sizeof(f->path), "%s/junk.db", f->dir);
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not sqlite ", fp);
    fclose(fp);
    chmod(f->path, 0600);
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_DATABASE);
    assert_non_null(strstr(err.message, "cannot open"));
    /* a directory is not a database either */
    struct mfb_error err2 = {0};
    assert_int_equal(config_db_open(f->dir, false, &f->db, NULL, &err2), MFB_ERR_INVALID);
}

static void test_migrations(void **state)
{
    struct fixture *f = *state;
    open_db(f);
    config_db_close(f->db);
    f->db = NULL;
    /* Every table and the FTS indexes exist, in WAL mode. */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    const char *tables[] = {"settings",   "instances",      "targets",  "jobs",
                            "job_events", "job_events_fts", "jobs_fts", "schedules"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        sqlite3_stmt *stmt = NULL;
        assert_int_equal(
            sqlite3_prepare_v2(raw, "SELECT 1 FROM sqlite_master WHERE name = ?", -1, &stmt, NULL),
            SQLITE_OK);
        sqlite3_bind_text(stmt, 1, tables[i], -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_ROW)
            fail_msg("table %s is missing", tables[i]);
        sqlite3_finalize(stmt);
    }
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    /* A database from a newer mfb is refused, not guessed at. */
    raw_sql(f->path, "PRAGMA user_version = 99");
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "the configuration database has schema version 99, newer "
                                     "than this program knows (10)");
}

static void test_other_kind_of_database_refused(void **state)
{
    struct fixture *f = *state;
    /* the receiver's catalog, as a --db or $MFB_DB mistake would name it */
    snprintf(f->path, sizeof(f->path), "%s/mfb-server.db", f->dir);
    struct server_db *sdb = NULL;
    assert_int_equal(server_db_open(f->path, true, &sdb, NULL), MFB_OK);
    server_db_close(sdb);
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_INVALID);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof(expected), "'%s' is not an mfb configuration database", f->path);
    assert_string_equal(err.message, expected);
    assert_string_equal(err.hint, "it belongs to another program (mfb and mfb-server each have "
                                  "their own); pass --db with the right path");
    /* and it was left alone: the receiver still opens it */
    assert_int_equal(server_db_open(f->path, false, &sdb, NULL), MFB_OK);
    server_db_close(sdb);
    /* the other way round: the receiver refuses a configuration database */
    char config_path[PATH_MAX];
    snprintf(config_path, sizeof(config_path), "%s/mfb.db", f->dir);
    struct config_db *cdb = NULL;
    assert_int_equal(config_db_open(config_path, true, &cdb, NULL, NULL), MFB_OK);
    config_db_close(cdb);
    mfb_error_clear(&err);
    assert_int_equal(server_db_open(config_path, false, &sdb, &err), MFB_ERR_INVALID);
    snprintf(expected, sizeof(expected), "'%s' is not an mfb receiver database", config_path);
    assert_string_equal(err.message, expected);
    assert_int_equal(config_db_open(config_path, false, &cdb, NULL, NULL), MFB_OK);
    config_db_close(cdb);
    /* some other SQLite file with a schema */
    snprintf(f->path, sizeof(f->path), "%s/other.db", f->dir);
    raw_sql(f->path, "CREATE TABLE t (x); PRAGMA user_version = 3");
    chmod(f->path, 0600);
    mfb_error_clear(&err);
    assert_int_equal(config_db_open(f->path, false, &f->db, NULL, &err), MFB_ERR_INVALID);
    /* an empty SQLite file is adopted */
    snprintf(f->path, sizeof(f->path), "%s/empty.db", f->dir);
    raw_sql(f->path, "PRAGMA user_version = 0");
    chmod(f->path, 0600);
    open_db(f);
}

static void test_default_path(void **state)
{
    char buf[PATH_MAX];
    struct mfb_error err = {0};
    char *saved_db = getenv("MFB_DB") ? strdup(getenv("MFB_DB")) : NULL;
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("MFB_DB", "/env/mfb.db", 1);
    assert_int_equal(store_db_path("/explicit.db", "mfb.db", buf, sizeof(buf), &err), MFB_OK);
    assert_string_equal(buf, "/explicit.db");
    assert_int_equal(store_db_path(NULL, "mfb.db", buf, sizeof(buf), &err), MFB_OK);
    assert_string_equal(buf, "/env/mfb.db");
    setenv("MFB_DB", "", 1);
    setenv("HOME", "/home/op", 1);
    assert_int_equal(store_db_path(NULL, "mfb.db", buf, sizeof(buf), &err), MFB_OK);
    if (geteuid() == 0)
        assert_string_equal(buf, "/var/lib/mfb/mfb.db");
    else
        assert_string_equal(buf, "/home/op/.local/share/mfb/mfb.db");
    assert_int_equal(store_db_path("", "mfb.db", buf, sizeof(buf), &err), MFB_ERR_USAGE);
    char tiny[8];
    assert_int_equal(store_db_path("/a/long/path.db", "mfb.db", tiny, sizeof(tiny), NULL),
                     MFB_ERR_INVALID);
    if (saved_db)
        setenv("MFB_DB", saved_db, 1);
    else
        unsetenv("MFB_DB");
    if (saved_home)
        setenv("HOME", saved_home, 1);
    free(saved_db);
    free(saved_home);
}

/* ---- migrations of the job log ---- */

/* A database of schema 2 (jobs with 'succeeded', no detail columns) moves
 * to 3 with its history: statuses renamed, ids and events kept, the failing
 * step taken from the first error event, search and cascade still working. */
static void test_migration_to_final_statuses(void **state)
{
    struct fixture *f = *state;
    open_db(f);
    config_db_close(f->db);
    f->db = NULL;
    raw_sql(f->path,
            "PRAGMA foreign_keys = ON;"
            "DROP TABLE job_events_fts; DROP TABLE jobs_fts; DROP TABLE job_events;"
            "DROP TABLE jobs; DROP TABLE name_seq; DROP TABLE schedules; DROP TABLE queue;"
            "ALTER TABLE targets DROP COLUMN max_jobs;"
            "DROP TABLE expect_alarms; ALTER TABLE instances DROP COLUMN expect_every_ms;"
            "ALTER TABLE instances DROP COLUMN expect_drill_every_ms;"
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY, instance TEXT NOT NULL, target TEXT,"
            "  kind TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN"
            "    ('running', 'succeeded', 'failed', 'pending_upload', 'cancelled')),"
            "  pid INTEGER NOT NULL, started INTEGER NOT NULL, ended INTEGER,"
            "  preflight_ms INTEGER, preflush_ms INTEGER, stop_ms INTEGER, snapshot_ms INTEGER,"
            "  archive_ms INTEGER, upload_ms INTEGER, start_ms INTEGER, verify_ms INTEGER,"
            "  finish_ms INTEGER, downtime_ms INTEGER,"
            "  bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
            "  upload_id TEXT, backup_name TEXT, backup_id TEXT, error TEXT, hint TEXT);"
            "CREATE TABLE job_events (id INTEGER PRIMARY KEY,"
            "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
            "  time INTEGER NOT NULL, level TEXT NOT NULL, step TEXT NOT NULL DEFAULT '',"
            "  message TEXT NOT NULL);"
            "CREATE VIRTUAL TABLE job_events_fts USING fts5("
            "  step, message, content='job_events', content_rowid='id');"
            "CREATE VIRTUAL TABLE jobs_fts USING fts5("
            "  instance, target, backup_name, error, hint, content='jobs', content_rowid='id');"
            "INSERT INTO jobs (id, instance, kind, status, pid, started, ended, stop_ms,"
            "  downtime_ms, bytes_out, backup_name) VALUES"
            "  (7, 'prod', 'backup', 'succeeded', 1, 1000, 2000, 30, 400, 99, 'p.zip');"
            "INSERT INTO jobs (id, instance, kind, status, pid, started, ended, error) VALUES"
            "  (9, 'prod', 'backup', 'failed', 1, 3000, 4000, 'receiver refused');"
            "INSERT INTO job_events (id, job_id, time, level, step, message) VALUES"
            "  (1, 7, 1500, 'info', 'stop', 'stopped quickly'),"
            "  (2, 9, 3500, 'info', 'preflight', 'checking the receiver'),"
            "  (3, 9, 3600, 'error', 'upload', 'receiver refused the chunk'),"
            "  (4, 9, 3700, 'error', 'start', 'later error');"
            "INSERT INTO job_events_fts(job_events_fts) VALUES ('rebuild');"
            "INSERT INTO jobs_fts(jobs_fts) VALUES ('rebuild');"
            "PRAGMA user_version = 2;");
    struct config_db *db = open_db(f);
    struct mfb_error err = {0};
    int version = 0;
    assert_int_equal(config_db_schema_version(db, &version, &err), MFB_OK);
    assert_int_equal(version, 10);
    uint64_t seq = 0; /* numbering goes on after the two backups in the log */
    assert_int_equal(config_name_seq_next(db, "prod", &seq, &err), MFB_OK);
    assert_int_equal(seq, 3);
    struct job_record job;
    assert_int_equal(job_log_get(db, 7, &job, &err), MFB_OK);
    assert_int_equal(job.status, JOB_STATUS_OK);
    assert_int_equal(job.step_ms[JOB_STEP_STOP], 30);
    assert_int_equal(job.downtime_ms, 400);
    assert_string_equal(job.backup_name, "p.zip");
    assert_string_equal(job.error_step, "");
    job_record_free(&job);
    assert_int_equal(job_log_get(db, 9, &job, &err), MFB_OK);
    assert_int_equal(job.status, JOB_STATUS_FAILED);
    assert_string_equal(job.error_step, "upload"); /* the first error event's */
    assert_null(job.backtrace);
    job_record_free(&job);
    struct job_log_event *events = NULL;
    size_t count = 0;
    assert_int_equal(job_log_events(db, 9, &events, &count, &err), MFB_OK);
    assert_int_equal(count, 3);
    assert_string_equal(events[1].message, "receiver refused the chunk");
    job_log_events_free(events, count);
    /* the old rows are searchable, and the new statuses are accepted */
    struct job_log_filter by_text = {.search = "stopped quickly"};
    struct job_record *list = NULL;
    assert_int_equal(job_log_list(db, &by_text, &list, &count, &err), MFB_OK);
    assert_int_equal(count, 1);
    assert_int_equal(list[0].id, 7);
    job_log_list_free(list, count);
    struct job_log_filter by_status = {.by_status = true, .status = JOB_STATUS_OK};
    assert_int_equal(job_log_list(db, &by_status, &list, &count, &err), MFB_OK);
    assert_int_equal(count, 1);
    job_log_list_free(list, count);
    int64_t critical = add_job(db, "prod", NULL, JOB_STATUS_CRITICAL, 5000, "server down");
    assert_int_equal(job_log_get(db, critical, &job, &err), MFB_OK);
    assert_int_equal(job.status, JOB_STATUS_CRITICAL);
    job_record_free(&job);
    /* deleting a job still takes its events along (the foreign key) */
    size_t deleted = 0;
    assert_int_equal(job_log_prune(db, 4500, &deleted, &err), MFB_OK);
    assert_int_equal(deleted, 2);
    assert_int_equal(job_log_events(db, 9, &events, &count, &err), MFB_OK);
    assert_int_equal(count, 0);
    job_log_events_free(events, count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_mode_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_group_or_other_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_to_final_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_kind_of_database_refused, setup, teardown),
        cmocka_unit_test(test_default_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
