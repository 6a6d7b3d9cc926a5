/*
 * config_fixture.h - what the unit tests of the client's database share: a
 * fresh directory per test with the database path in it (the database is
 * made by open_db, closed and removed by teardown, also after a failed
 * assertion), SQL run on the file as another program would, filled-in
 * instances and targets, and a job recorded with a given outcome.
 */
#ifndef MFB_TESTS_STORE_CONFIG_FIXTURE_H
#define MFB_TESTS_STORE_CONFIG_FIXTURE_H

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

#include "scratch.h"
#include "store/config_db.h"
#include "store/config_records.h"
#include "store/job_log.h"

struct fixture {
    char dir[PATH_MAX / 2];
    char path[PATH_MAX];
    struct config_db *db;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!unit_scratch_dir("store-config", f->dir, sizeof(f->dir)))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/a/b/mfb.db", f->dir);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    config_db_close(f->db);
    assert_int_equal(unit_rmtree(f->dir), 0);
    free(f);
    return 0;
}

/* Opens (creating) the fixture's database. */
static inline struct config_db *open_db(struct fixture *f)
{
    struct mfb_error err = {0};
    assert_int_equal(config_db_open(f->path, true, &f->db, NULL, &err), MFB_OK);
    return f->db;
}

/* Runs SQL directly on the file, as another program would. */
static inline void raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static inline void fill_instance(struct config_instance *inst, const char *name)
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

static inline void fill_target(struct config_target *t, const char *name)
{
    config_target_init(t);
    snprintf(t->name, sizeof(t->name), "%s", name);
    assert_int_equal(config_str_set(&t->url, "https://backup.example:8443", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->token, "0123abcd", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->ca_file, "/etc/mfb/ca.pem", NULL), MFB_OK);
    assert_int_equal(config_str_set(&t->naming, CONFIG_DEFAULT_NAMING, NULL), MFB_OK);
}

static inline int64_t add_job(struct config_db *db, const char *instance, const char *target,
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

#endif
