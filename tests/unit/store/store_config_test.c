/*
 * store_config_test.c - tests of src/store/config_db.c and db_path.c: the
 * file's creation mode and the refusal of a readable one, migrations, the
 * CRUD of instances, targets and settings, and the job log with its
 * full-text search, orphan detection and pruning.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "store/config_db.h"
#include "store/db_path.h"
#include "store/server_db.h"

struct fixture {
    char dir[PATH_MAX / 2];
    char path[PATH_MAX];
    struct config_db *db;
};

static void remove_tree(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *base = getenv("MFB_TEST_TMP");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    mkdir(base, 0700);
    snprintf(f->dir, sizeof(f->dir), "%s/store-config-XXXXXX", base);
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/a/b/mfb.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_db_close(f->db);
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* Opens (creating) the fixture's database. */
static struct config_db *open_db(struct fixture *f)
{
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, true, &f->db, NULL, &err), MFB_OK);
    return f->db;
}

/* Runs SQL directly on the file, as another program would. */
static void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void fill_instance(struct config_instance *inst, const char *name)
{
    config_instance_init(inst);
    snprintf(inst->name, sizeof(inst->name), "%s", name);
    assert_int_equal(config_str_set(&inst->socket, "/run/mysqld/mysqld.sock", NULL), MFB_OK);
    assert_int_equal(config_str_set(&inst->user, "mfb", NULL), MFB_OK);
    assert_int_equal(config_str_set(&inst->password, "s3cret", NULL), MFB_OK);
    inst->control = CONFIG_CONTROL_SYSTEMD;
    assert_int_equal(config_str_set(&inst->service, "mariadb", NULL), MFB_OK);
    assert_int_equal(config_str_set(&inst->datadir, "/var/lib/mysql", NULL), MFB_OK);
    assert_int_equal(config_str_set(&inst->spool, "/var/spool/mfb", NULL), MFB_OK);
}

static void fill_target(struct config_target *t, const char *name)
{
    config_target_init(t);
    snprintf(t->name, sizeof(t->name), "%s", name);
    assert_int_equal(config_str_set(&t->url, "https://backup.example:8443", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->token, "0123abcd", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->ca_file, "/etc/mfb/ca.pem", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->naming, CONFIG_DEFAULT_NAMING, NULL), MFB_OK);
}

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
    assert_int_equal(version, 4); /* 4: the {seq} counters */
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
    const char *tables[] = {"settings",   "instances",      "targets", "jobs",
                            "job_events", "job_events_fts", "jobs_fts"};
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
                                     "than this program knows (4)");
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
    assert_string_equal(config_timeout_name(CONFIG_TIMEOUT_VERIFY), "verify");
}

/* ---- jobs ---- */

static int64_t add_job(struct config_db *db, const char *instance, const char *target,
                       enum job_status status, int64_t ended_ms, const char *error)
{
    struct job_record job;
    assert_int_equal(job_log_create(db, instance, target, "backup", &job, NULL), MFB_OK);
    job.status = status;
    job.ended_ms = ended_ms;
    if (error)
        job.error = strdup(error);
    assert_int_equal(job_log_save(db, &job, NULL), MFB_OK);
    int64_t id = job.id;
    job_record_free(&job);
    return id;
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
            "DROP TABLE jobs; DROP TABLE name_seq;"
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
    assert_int_equal(version, 4);
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
        cmocka_unit_test_setup_teardown(test_create_mode_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_group_or_other_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_to_final_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_seq_never_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_kind_of_database_refused, setup, teardown),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test_setup_teardown(test_instance_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_refused_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test(test_enum_parsing),
        cmocka_unit_test_setup_teardown(test_job_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_list_and_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_prune, setup, teardown),
        cmocka_unit_test(test_secret_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
