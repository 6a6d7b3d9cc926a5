/*
 * config_records.c - the SQL of the client's configuration records (see
 * config_records.h): instances, targets, settings, the backup-name
 * sequence and alert channels, with the words their enumerations are
 * stored and typed as.
 *
 * Removing an instance or a target looks at the job log in the same
 * transaction (a running job, or an upload waiting to resume, refuses the
 * removal), so these few statements read the jobs table directly; so
 * does a schedule that uses it (schedules.c).
 */
#include "store/config_records.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "store/config_db_internal.h"
#include "store/schedules.h"
#include "store/sqlutil.h"

/* ---- names of the enumerations ---- */

static const char *const timeout_names[CONFIG_TIMEOUT_COUNT] = {
    "preflush", "stop", "archive", "upload", "start", "verify",
};

/* Defaults: the pre-flush is a best effort and gives up quietly; a clean
 * InnoDB shutdown after it takes seconds, but a crash-safe one of a big
 * buffer pool may take minutes; archive and upload scale with the data
 * (hours for hundreds of GB); a start includes crash recovery if any. */
static const uint64_t timeout_defaults[CONFIG_TIMEOUT_COUNT] = {
    5 * 60 * 1000ULL,    /* preflush */
    10 * 60 * 1000ULL,   /* stop */
    6 * 3600 * 1000ULL,  /* archive */
    12 * 3600 * 1000ULL, /* upload */
    10 * 60 * 1000ULL,   /* start */
    5 * 60 * 1000ULL,    /* verify */
};

static const char *const control_names[] = {"systemd", "sysv", "shutdown-sql", "command"};
static const char *const restart_names[] = {"upload", "archive", "snapshot"};
static const struct config_words restart_words = {restart_names, COUNT_OF(restart_names),
                                                  "invalid restart policy",
                                                  "use upload, archive or snapshot"};

const char *config_timeout_name(enum config_timeout t)
{
    return config_rows_name(timeout_names, CONFIG_TIMEOUT_COUNT, (unsigned)t);
}

uint64_t config_timeout_default(enum config_timeout t)
{
    return (unsigned)t < CONFIG_TIMEOUT_COUNT ? timeout_defaults[t] : 0;
}

const char *config_control_kind_str(enum config_control c)
{
    return config_rows_name(control_names, COUNT_OF(control_names), (unsigned)c);
}

const char *config_restart_after_str(enum config_restart_after r)
{
    return config_rows_name(restart_names, COUNT_OF(restart_names), (unsigned)r);
}

mfb_status config_control_parse(const char *text, enum config_control *control, char **service,
                                struct mfb_error *err)
{
    *service = NULL;
    const char *colon = strchr(text, ':');
    size_t kind_len = colon ? (size_t)(colon - text) : strlen(text);
    int kind = -1;
    for (size_t i = 0; i < COUNT_OF(control_names); i++) {
        if (strlen(control_names[i]) == kind_len && strncmp(control_names[i], text, kind_len) == 0)
            kind = (int)i;
    }
    bool needs_name = kind == CONFIG_CONTROL_SYSTEMD || kind == CONFIG_CONTROL_SYSV;
    if (kind < 0 || (needs_name && (colon == NULL || colon[1] == '\0')) ||
        (!needs_name && colon != NULL)) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid control method '%s'", text);
        mfb_error_hint(err, "use systemd:UNIT, sysv:NAME, shutdown-sql or command");
        return MFB_ERR_USAGE;
    }
    if (needs_name) {
        const char *name = colon + 1;
        *service = strdup(name);
        if (*service == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    *control = (enum config_control)kind;
    return MFB_OK;
}

const char *config_control_format(enum config_control control, const char *service, char *buf,
                                  size_t len)
{
    if (control == CONFIG_CONTROL_SYSTEMD || control == CONFIG_CONTROL_SYSV)
        snprintf(buf, len, "%s:%s", config_control_kind_str(control), service ? service : "");
    else
        snprintf(buf, len, "%s", config_control_kind_str(control));
    return buf;
}

mfb_status config_restart_after_parse(const char *text, enum config_restart_after *r,
                                      struct mfb_error *err)
{
    int i = config_rows_parse(&restart_words, text, err);
    if (i >= 0)
        *r = (enum config_restart_after)i;
    return i >= 0 ? MFB_OK : MFB_ERR_USAGE;
}

/* ---- strings and secrets ---- */

void config_secret_free(char *secret)
{
    fs_free_secret(secret);
}

mfb_status config_str_set(char **field, const char *value, struct mfb_error *err)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    config_secret_free(*field);
    *field = copy;
    return MFB_OK;
}

/* ---- instances ---- */

void config_instance_init(struct config_instance *inst)
{
    memset(inst, 0, sizeof(*inst));
    inst->control = CONFIG_CONTROL_SYSTEMD;
    inst->restart_after = CONFIG_RESTART_AFTER_UPLOAD;
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        inst->timeout_ms[i] = timeout_defaults[i];
}

void config_instance_free(struct config_instance *inst)
{
    if (inst == NULL)
        return;
    free(inst->socket);
    free(inst->host);
    free(inst->user);
    config_secret_free(inst->password);
    free(inst->service);
    free(inst->start_cmd);
    free(inst->stop_cmd);
    free(inst->datadir);
    free(inst->spool);
    memset(inst, 0, sizeof(*inst));
}

#define INSTANCE_COLUMNS                                                                           \
    "id, name, socket, host, port, user, password, control, service, start_cmd, stop_cmd, "        \
    "datadir, spool, restart_after, preflush_timeout_ms, stop_timeout_ms, archive_timeout_ms, "    \
    "upload_timeout_ms, start_timeout_ms, verify_timeout_ms, created, updated, expect_every_ms, "  \
    "expect_drill_every_ms"

/* Binds the columns after id and name (3..), in INSTANCE_COLUMNS order. */
static void bind_instance(sqlite3_stmt *stmt, const void *rec)
{
    const struct config_instance *inst = rec;
    sqlite3_bind_text(stmt, 2, inst->name, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 3, inst->socket);
    sqlutil_bind_text(stmt, 4, inst->host);
    sqlite3_bind_int64(stmt, 5, inst->port);
    sqlutil_bind_text(stmt, 6, inst->user);
    sqlutil_bind_text(stmt, 7, inst->password);
    sqlutil_bind_text(stmt, 8, config_control_kind_str(inst->control));
    sqlutil_bind_text(stmt, 9, inst->service);
    sqlutil_bind_text(stmt, 10, inst->start_cmd);
    sqlutil_bind_text(stmt, 11, inst->stop_cmd);
    sqlutil_bind_text(stmt, 12, inst->datadir);
    sqlutil_bind_text(stmt, 13, inst->spool);
    sqlutil_bind_text(stmt, 14, config_restart_after_str(inst->restart_after));
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        sqlite3_bind_int64(stmt, 15 + i, (sqlite3_int64)inst->timeout_ms[i]);
    sqlite3_bind_int64(stmt, 21, inst->created);
    sqlite3_bind_int64(stmt, 22, inst->updated);
    sqlite3_bind_int64(stmt, 23, (sqlite3_int64)inst->expect_every_ms);
    sqlite3_bind_int64(stmt, 24, (sqlite3_int64)inst->expect_drill_every_ms);
}

static mfb_status read_instance(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_instance *out = row;
    config_instance_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    out->socket = sqlutil_dup_text(stmt, 2, &oom);
    out->host = sqlutil_dup_text(stmt, 3, &oom);
    out->port = (unsigned)sqlite3_column_int64(stmt, 4);
    out->user = sqlutil_dup_text(stmt, 5, &oom);
    out->password = sqlutil_dup_text(stmt, 6, &oom);
    int control = config_rows_lookup(control_names, COUNT_OF(control_names),
                                     (const char *)sqlite3_column_text(stmt, 7));
    out->service = sqlutil_dup_text(stmt, 8, &oom);
    out->start_cmd = sqlutil_dup_text(stmt, 9, &oom);
    out->stop_cmd = sqlutil_dup_text(stmt, 10, &oom);
    out->datadir = sqlutil_dup_text(stmt, 11, &oom);
    out->spool = sqlutil_dup_text(stmt, 12, &oom);
    int restart = config_rows_lookup(restart_names, COUNT_OF(restart_names),
                                     (const char *)sqlite3_column_text(stmt, 13));
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        out->timeout_ms[i] = (uint64_t)sqlite3_column_int64(stmt, 14 + i);
    out->created = sqlite3_column_int64(stmt, 20);
    out->updated = sqlite3_column_int64(stmt, 21);
    out->expect_every_ms = (uint64_t)sqlite3_column_int64(stmt, 22);
    out->expect_drill_every_ms = (uint64_t)sqlite3_column_int64(stmt, 23);
    if (oom) {
        config_instance_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    if (control < 0 || restart < 0) {
        config_instance_free(out);
        return mfb_error_set(err, MFB_ERR_CORRUPT, "the stored instance has an unknown value");
    }
    out->control = (enum config_control)control;
    out->restart_after = (enum config_restart_after)restart;
    return MFB_OK;
}

/* MFB_ERR_EXISTS when sql (SELECT ... WHERE name = ?) finds a row. */
static mfb_status check_new(struct config_db *db, const char *sql, const char *name,
                            const char *what, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        st = config_rows_exists(err, what, name);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "look up the name", err);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_instance_check_new(struct config_db *db, const char *name, struct mfb_error *err)
{
    return check_new(db, "SELECT 1 FROM instances WHERE name = ?", name, "instance", err);
}

mfb_status config_instance_add(struct config_db *db, struct config_instance *inst,
                               struct mfb_error *err)
{
    inst->created = inst->updated = clock_wall_ms() / 1000;
    return config_rows_save_named(db,
                                  "INSERT INTO instances (" INSTANCE_COLUMNS ") VALUES "
                                  "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                  "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                                  bind_instance, inst, "instance", inst->name, &inst->id, err);
}

mfb_status config_instance_get(struct config_db *db, const char *name, struct config_instance *out,
                               struct mfb_error *err)
{
    config_instance_init(out);
    return config_rows_get_named(db, "SELECT " INSTANCE_COLUMNS " FROM instances WHERE name = ?",
                                 name, read_instance, out, "instance", err);
}

static void drop_instance(void *row)
{
    config_instance_free(row);
}

mfb_status config_instance_list(struct config_db *db, struct config_instance **list, size_t *count,
                                struct mfb_error *err)
{
    return config_rows_list_all(db, "SELECT " INSTANCE_COLUMNS " FROM instances ORDER BY name",
                                sizeof(**list), read_instance, drop_instance, (void **)list, count,
                                "list the instances", err);
}

void config_instance_list_free(struct config_instance *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_instance_free(&list[i]);
    free(list);
}

mfb_status config_instance_update(struct config_db *db, struct config_instance *inst,
                                  struct mfb_error *err)
{
    inst->updated = clock_wall_ms() / 1000;
    return config_rows_save_named(
        db,
        "UPDATE instances SET socket = ?3, host = ?4, port = ?5, user = ?6, password = ?7, "
        "control = ?8, service = ?9, start_cmd = ?10, stop_cmd = ?11, datadir = ?12, "
        "spool = ?13, restart_after = ?14, preflush_timeout_ms = ?15, stop_timeout_ms = ?16, "
        "archive_timeout_ms = ?17, upload_timeout_ms = ?18, start_timeout_ms = ?19, "
        "verify_timeout_ms = ?20, updated = ?22, expect_every_ms = ?23, "
        "expect_drill_every_ms = ?24 WHERE name = ?2",
        bind_instance, inst, "instance", inst->name, NULL, err);
}

/* Sets *job_id to a job of `column` = name with status `status`, or 0. */
static mfb_status find_job(struct config_db *db, const char *sql, const char *name, int64_t *job_id,
                           struct mfb_error *err)
{
    *job_id = 0;
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *job_id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "look for running jobs", err);
    sqlite3_finalize(stmt);
    return st;
}

/* Deletes the row called name from table inside the open transaction. */
static mfb_status delete_named(struct config_db *db, const char *sql, const char *name,
                               const char *what, const char *group, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "remove it", err);
    if (st == MFB_OK && sqlite3_changes(db->sql) == 0)
        st = config_rows_not_found(err, group, name);
    return st;
}

mfb_status config_instance_remove(struct config_db *db, const char *name, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "remove the instance", err);
    if (st != MFB_OK)
        goto done;
    int64_t job = 0;
    st = find_job(db,
                  "SELECT id FROM jobs WHERE instance = ? AND status = 'running' "
                  "ORDER BY id LIMIT 1",
                  name, &job, err);
    if (st == MFB_OK && job != 0) {
        mfb_error_set(err, MFB_ERR_BUSY, "instance '%s' has a running job (#%lld)", name,
                      (long long)job);
        mfb_error_hint(err, "wait until the job has finished, or cancel it, then remove again");
        st = MFB_ERR_BUSY;
    }
    if (st == MFB_OK)
        st = config_schedule_refuse_user(db, "instance", name, err);
    if (st == MFB_OK)
        st = delete_named(db, "DELETE FROM instances WHERE name = ?", name, "instance", "instance",
                          err);
    st = config_rows_finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- targets ---- */

void config_target_init(struct config_target *t)
{
    memset(t, 0, sizeof(*t));
    t->chunk_size = CONFIG_DEFAULT_CHUNK_SIZE;
    t->connections = CONFIG_DEFAULT_CONNECTIONS;
    t->max_jobs = CONFIG_DEFAULT_MAX_JOBS;
}

void config_target_free(struct config_target *t)
{
    if (t == NULL)
        return;
    free(t->url);
    config_secret_free(t->token);
    free(t->fingerprint);
    free(t->ca_file);
    free(t->directory);
    free(t->naming);
    memset(t, 0, sizeof(*t));
}

#define TARGET_COLUMNS                                                                             \
    "id, name, url, token, fingerprint, ca_file, directory, naming, chunk_size, connections, "     \
    "created, updated, max_jobs"

static void bind_target(sqlite3_stmt *stmt, const void *rec)
{
    const struct config_target *t = rec;
    sqlite3_bind_text(stmt, 2, t->name, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 3, t->url);
    sqlutil_bind_text(stmt, 4, t->token);
    sqlutil_bind_text(stmt, 5, t->fingerprint);
    sqlutil_bind_text(stmt, 6, t->ca_file);
    sqlutil_bind_text(stmt, 7, t->directory);
    sqlutil_bind_text(stmt, 8, t->naming ? t->naming : CONFIG_DEFAULT_NAMING);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)t->chunk_size);
    sqlite3_bind_int64(stmt, 10, t->connections);
    sqlite3_bind_int64(stmt, 11, t->created);
    sqlite3_bind_int64(stmt, 12, t->updated);
    sqlite3_bind_int64(stmt, 13, t->max_jobs ? t->max_jobs : CONFIG_DEFAULT_MAX_JOBS);
}

static mfb_status read_target(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_target *out = row;
    config_target_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    out->url = sqlutil_dup_text(stmt, 2, &oom);
    out->token = sqlutil_dup_text(stmt, 3, &oom);
    out->fingerprint = sqlutil_dup_text(stmt, 4, &oom);
    out->ca_file = sqlutil_dup_text(stmt, 5, &oom);
    out->directory = sqlutil_dup_text(stmt, 6, &oom);
    out->naming = sqlutil_dup_text(stmt, 7, &oom);
    out->chunk_size = (uint64_t)sqlite3_column_int64(stmt, 8);
    out->connections = (unsigned)sqlite3_column_int64(stmt, 9);
    out->created = sqlite3_column_int64(stmt, 10);
    out->updated = sqlite3_column_int64(stmt, 11);
    out->max_jobs = (unsigned)sqlite3_column_int64(stmt, 12);
    if (oom) {
        config_target_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    return MFB_OK;
}

mfb_status config_target_check_new(struct config_db *db, const char *name, struct mfb_error *err)
{
    return check_new(db, "SELECT 1 FROM targets WHERE name = ?", name, "target", err);
}

mfb_status config_target_add(struct config_db *db, struct config_target *t, struct mfb_error *err)
{
    t->created = t->updated = clock_wall_ms() / 1000;
    return config_rows_save_named(db,
                                  "INSERT INTO targets (" TARGET_COLUMNS ") VALUES "
                                  "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                  bind_target, t, "target", t->name, &t->id, err);
}

mfb_status config_target_get(struct config_db *db, const char *name, struct config_target *out,
                             struct mfb_error *err)
{
    config_target_init(out);
    return config_rows_get_named(db, "SELECT " TARGET_COLUMNS " FROM targets WHERE name = ?", name,
                                 read_target, out, "target", err);
}

static void drop_target(void *row)
{
    config_target_free(row);
}

mfb_status config_target_list(struct config_db *db, struct config_target **list, size_t *count,
                              struct mfb_error *err)
{
    return config_rows_list_all(db, "SELECT " TARGET_COLUMNS " FROM targets ORDER BY name",
                                sizeof(**list), read_target, drop_target, (void **)list, count,
                                "list the targets", err);
}

void config_target_list_free(struct config_target *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_target_free(&list[i]);
    free(list);
}

mfb_status config_target_update(struct config_db *db, struct config_target *t,
                                struct mfb_error *err)
{
    t->updated = clock_wall_ms() / 1000;
    return config_rows_save_named(
        db,
        "UPDATE targets SET url = ?3, token = ?4, fingerprint = ?5, ca_file = ?6, "
        "directory = ?7, naming = ?8, chunk_size = ?9, connections = ?10, "
        "updated = ?12, max_jobs = ?13 WHERE name = ?2",
        bind_target, t, "target", t->name, NULL, err);
}

mfb_status config_target_remove(struct config_db *db, const char *name, bool force,
                                struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "remove the target", err);
    if (st != MFB_OK)
        goto done;
    int64_t job = 0;
    st = find_job(db,
                  "SELECT id FROM jobs WHERE target = ? AND status = 'running' "
                  "ORDER BY id LIMIT 1",
                  name, &job, err);
    if (st == MFB_OK && job != 0) {
        mfb_error_set(err, MFB_ERR_BUSY, "target '%s' is used by a running job (#%lld)", name,
                      (long long)job);
        mfb_error_hint(err, "wait until the job has finished, or cancel it, then remove again");
        st = MFB_ERR_BUSY;
    }
    if (st == MFB_OK && !force) {
        st = find_job(db,
                      "SELECT id FROM jobs WHERE target = ? AND status = 'pending_upload' "
                      "ORDER BY id LIMIT 1",
                      name, &job, err);
        if (st == MFB_OK && job != 0) {
            mfb_error_set(err, MFB_ERR_BUSY,
                          "target '%s' has an upload waiting to be resumed (job #%lld)", name,
                          (long long)job);
            mfb_error_hint(err, "run 'mfb resume' first, or pass --force to give it up");
            st = MFB_ERR_BUSY;
        }
    }
    if (st == MFB_OK)
        st = config_schedule_refuse_user(db, "target", name, err);
    if (st == MFB_OK)
        st = delete_named(db, "DELETE FROM targets WHERE name = ?", name, "target", "target", err);
    st = config_rows_finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- settings ---- */

mfb_status config_setting_get(struct config_db *db, const char *key, char **value,
                              struct mfb_error *err)
{
    *value = NULL;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT value FROM settings WHERE key = ?", &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int oom = 0;
    if (rc == SQLITE_ROW)
        *value = sqlutil_dup_text(stmt, 0, &oom);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read a setting", err);
    if (oom)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_setting_set(struct config_db *db, const char *key, const char *value,
                              struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    value ? "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                                          : "DELETE FROM settings WHERE key = ?1",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "save a setting", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_name_seq_next(struct config_db *db, const char *instance, uint64_t *seq,
                                struct mfb_error *err)
{
    *seq = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO name_seq (instance, last) VALUES (?1, 1) "
                                    "ON CONFLICT (instance) DO UPDATE SET last = last + 1 "
                                    "RETURNING last",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(stmt, 0);
    if (rc != SQLITE_ROW || sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "number a backup name", err);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- alert channels ---- */

static const char *const alert_kind_names[] = {"webhook", "email", "command"};
static const char *const severity_names[] = {"info", "warning", "error", "critical"};
static const struct config_words severity_words = {severity_names, COUNT_OF(severity_names),
                                                   "invalid severity",
                                                   "use info, warning, error or critical"};

const char *config_alert_kind_str(enum config_alert_kind k)
{
    return config_rows_name(alert_kind_names, COUNT_OF(alert_kind_names), (unsigned)k);
}

const char *config_severity_str(enum config_severity s)
{
    return config_rows_name(severity_names, COUNT_OF(severity_names), (unsigned)s);
}

mfb_status config_severity_parse(const char *text, enum config_severity *s, struct mfb_error *err)
{
    int i = config_rows_parse(&severity_words, text, err);
    if (i >= 0)
        *s = (enum config_severity)i;
    return i >= 0 ? MFB_OK : MFB_ERR_USAGE;
}

void config_alert_init(struct config_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->min_severity = CONFIG_SEVERITY_WARNING;
}

void config_alert_free(struct config_alert *a)
{
    if (a == NULL)
        return;
    free(a->url);
    config_secret_free(a->secret);
    free(a->smtp_user);
    free(a->mail_from);
    free(a->mail_to);
    free(a->ca_file);
    free(a->command);
    memset(a, 0, sizeof(*a));
}

mfb_status config_rows_read_alert(sqlite3_stmt *stmt, struct config_alert *out,
                                  struct mfb_error *err)
{
    config_alert_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    int kind = config_rows_lookup(alert_kind_names, COUNT_OF(alert_kind_names),
                                  (const char *)sqlite3_column_text(stmt, 2));
    int sev = config_rows_lookup(severity_names, COUNT_OF(severity_names),
                                 (const char *)sqlite3_column_text(stmt, 3));
    out->url = sqlutil_dup_text(stmt, 4, &oom);
    out->secret = sqlutil_dup_text(stmt, 5, &oom);
    out->smtp_user = sqlutil_dup_text(stmt, 6, &oom);
    out->mail_from = sqlutil_dup_text(stmt, 7, &oom);
    out->mail_to = sqlutil_dup_text(stmt, 8, &oom);
    out->ca_file = sqlutil_dup_text(stmt, 9, &oom);
    out->command = sqlutil_dup_text(stmt, 10, &oom);
    out->created = sqlite3_column_int64(stmt, 11);
    out->updated = sqlite3_column_int64(stmt, 12);
    if (oom) {
        config_alert_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    if (kind < 0 || sev < 0) {
        config_alert_free(out);
        return mfb_error_set(err, MFB_ERR_CORRUPT, "the stored alert channel has an unknown value");
    }
    out->kind = (enum config_alert_kind)kind;
    out->min_severity = (enum config_severity)sev;
    return MFB_OK;
}

void config_rows_bind_alert(sqlite3_stmt *stmt, const struct config_alert *a)
{
    sqlite3_bind_text(stmt, 2, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, config_alert_kind_str(a->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, config_severity_str(a->min_severity), -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 5, a->url);
    sqlutil_bind_text(stmt, 6, a->secret);
    sqlutil_bind_text(stmt, 7, a->smtp_user);
    sqlutil_bind_text(stmt, 8, a->mail_from);
    sqlutil_bind_text(stmt, 9, a->mail_to);
    sqlutil_bind_text(stmt, 10, a->ca_file);
    sqlutil_bind_text(stmt, 11, a->command);
    sqlite3_bind_int64(stmt, 12, a->created);
    sqlite3_bind_int64(stmt, 13, a->updated);
}

mfb_status config_alert_add(struct config_db *db, struct config_alert *a, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    a->created = a->updated = clock_wall_ms() / 1000;
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO alerts (" ALERT_COLUMNS ") VALUES "
                                    "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    config_rows_bind_alert(stmt, a);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        if (config_rows_is_duplicate(db)) {
            mfb_error_set(err, MFB_ERR_EXISTS, "alert channel '%s' already exists", a->name);
            mfb_error_hint(err,
                           "remove it first with 'mfb alert remove %s', or choose another "
                           "name",
                           a->name);
            st = MFB_ERR_EXISTS;
        } else {
            st = sqlutil_fail(db->sql, "save the alert channel", err);
        }
        goto done;
    }
    a->id = sqlite3_last_insert_rowid(db->sql);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_alert_list(struct config_db *db, struct config_alert **list, size_t *count,
                             struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = config_rows_list_alerts(db->sql, "alerts", list, count, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static mfb_status alert_row(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    return config_rows_read_alert(stmt, row, err);
}

static void alert_drop(void *row)
{
    config_alert_free(row);
}

mfb_status config_rows_list_alerts(sqlite3 *sql, const char *table, struct config_alert **list,
                                   size_t *count, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    char text[256];
    snprintf(text, sizeof(text), "SELECT " ALERT_COLUMNS " FROM %s ORDER BY name", table);
    mfb_status st = sqlutil_prepare(sql, text, &stmt, err);
    if (st == MFB_OK)
        st = config_rows_read(sql, stmt, sizeof(**list), alert_row, alert_drop, (void **)list,
                              count, "list the alert channels", err);
    return st;
}

void config_alert_list_free(struct config_alert *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_alert_free(&list[i]);
    free(list);
}

mfb_status config_alert_remove(struct config_db *db, const char *name, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        delete_named(db, "DELETE FROM alerts WHERE name = ?", name, "alert channel", "alert", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}
