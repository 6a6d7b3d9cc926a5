/*
 * schedules.c - the SQL of the daemon's schedules (see schedules.h).
 *
 * Saving a schedule checks its instance and target in the same
 * transaction as the write, and removing an instance or a target asks
 * config_schedule_refuse_user (config_db_internal.h) inside its own, so a
 * schedule can never be left naming a record that is gone. The last run's
 * status is read from the job log with a join, so `mfb schedule list`
 * shows what the log says even after the log was pruned (then: none).
 */
#include "store/schedules.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "store/config_db_internal.h"
#include "store/sqlutil.h"

static const char *const kind_names[] = {"backup", "drill"};
static const char *const catch_up_names[] = {"once", "skip"};
static const struct config_words catch_up_words = {catch_up_names, COUNT_OF(catch_up_names),
                                                   "unknown catch-up", "use 'once' or 'skip'"};
static const struct config_words kind_words = {
    kind_names, COUNT_OF(kind_names), "unknown schedule kind",
    "a schedule's kind is 'backup' or 'drill' (docs/drill.md)"};

const char *config_schedule_kind_str(enum config_schedule_kind k)
{
    return config_rows_name(kind_names, COUNT_OF(kind_names), (unsigned)k);
}

mfb_status config_schedule_kind_parse(const char *text, enum config_schedule_kind *k,
                                      struct mfb_error *err)
{
    int i = config_rows_parse(&kind_words, text, err);
    if (i >= 0)
        *k = (enum config_schedule_kind)i;
    return i >= 0 ? MFB_OK : MFB_ERR_USAGE;
}

const char *config_catch_up_str(enum config_catch_up c)
{
    return config_rows_name(catch_up_names, COUNT_OF(catch_up_names), (unsigned)c);
}

mfb_status config_catch_up_parse(const char *text, enum config_catch_up *c, struct mfb_error *err)
{
    int i = config_rows_parse(&catch_up_words, text, err);
    if (i >= 0)
        *c = (enum config_catch_up)i;
    return i >= 0 ? MFB_OK : MFB_ERR_USAGE;
}

void config_schedule_init(struct config_schedule *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = CONFIG_SCHEDULE_BACKUP;
    s->catch_up = CONFIG_CATCH_UP_ONCE;
}

void config_schedule_free(struct config_schedule *s)
{
    if (s == NULL)
        return;
    free(s->target);
    free(s->cron);
    free(s->tz);
    memset(s, 0, sizeof(*s));
}

/* The stored columns, then the last run's from the job log (j). */
#define SCHEDULE_SELECT                                                                            \
    "SELECT s.id, s.name, s.instance, s.target, s.kind, s.cron, s.tz, s.catch_up, s.jitter_ms, "   \
    "s.paused, s.created, s.updated, s.last_run_job_id, j.status, j.started "                      \
    "FROM schedules s LEFT JOIN jobs j ON j.id = s.last_run_job_id "

static void bind_schedule(sqlite3_stmt *stmt, const struct config_schedule *s)
{
    sqlite3_bind_text(stmt, 2, s->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, s->instance, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 4, s->target);
    sqlite3_bind_text(stmt, 5, config_schedule_kind_str(s->kind), -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 6, s->cron);
    sqlite3_bind_text(stmt, 7, s->tz ? s->tz : CONFIG_SCHEDULE_DEFAULT_TZ, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, config_catch_up_str(s->catch_up), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 9, (sqlite3_int64)s->jitter_ms);
    sqlite3_bind_int(stmt, 10, s->paused ? 1 : 0);
    sqlite3_bind_int64(stmt, 11, s->created);
    sqlite3_bind_int64(stmt, 12, s->updated);
}

static mfb_status read_schedule(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct config_schedule *out = row;
    config_schedule_init(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->name, sizeof(out->name), stmt, 1);
    sqlutil_copy_text(out->instance, sizeof(out->instance), stmt, 2);
    out->target = sqlutil_dup_text(stmt, 3, &oom);
    int kind = config_rows_lookup(kind_names, COUNT_OF(kind_names),
                                  (const char *)sqlite3_column_text(stmt, 4));
    out->cron = sqlutil_dup_text(stmt, 5, &oom);
    out->tz = sqlutil_dup_text(stmt, 6, &oom);
    int catch_up = config_rows_lookup(catch_up_names, COUNT_OF(catch_up_names),
                                      (const char *)sqlite3_column_text(stmt, 7));
    out->jitter_ms = (uint64_t)sqlite3_column_int64(stmt, 8);
    out->paused = sqlite3_column_int(stmt, 9) != 0;
    out->created = sqlite3_column_int64(stmt, 10);
    out->updated = sqlite3_column_int64(stmt, 11);
    out->last_run_job_id = sqlite3_column_int64(stmt, 12);
    sqlutil_copy_text(out->last_run_status, sizeof(out->last_run_status), stmt, 13);
    out->last_run_started = sqlite3_column_int64(stmt, 14);
    if (oom) {
        config_schedule_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    /* The CHECK constraints keep other words out: one here is a damaged file. */
    if (kind < 0 || catch_up < 0) {
        mfb_error_set(err, MFB_ERR_CORRUPT, "schedule '%s' has an unknown kind or catch-up",
                      out->name);
        mfb_error_hint(err, "fix it with 'mfb schedule set %s ...'", out->name);
        config_schedule_free(out);
        return MFB_ERR_CORRUPT;
    }
    out->kind = (enum config_schedule_kind)kind;
    out->catch_up = (enum config_catch_up)catch_up;
    return MFB_OK;
}

/* Whether sql (one parameter, name) returns a row; the lock is held. */
static mfb_status exists(struct config_db *db, const char *sql, const char *name, bool *found,
                         struct mfb_error *err)
{
    *found = false;
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *found = true;
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "look up the name", err);
    sqlite3_finalize(stmt);
    return st;
}

mfb_status config_schedule_check_new(struct config_db *db, const char *name, struct mfb_error *err)
{
    bool found = false;
    pthread_mutex_lock(&db->lock);
    mfb_status st = exists(db, "SELECT 1 FROM schedules WHERE name = ?", name, &found, err);
    pthread_mutex_unlock(&db->lock);
    if (st == MFB_OK && found)
        st = config_rows_exists(err, "schedule", name);
    return st;
}

/* The schedule's instance and named target exist; the lock is held. */
static mfb_status check_refs(struct config_db *db, const struct config_schedule *s,
                             struct mfb_error *err)
{
    bool found = false;
    mfb_status st = exists(db, "SELECT 1 FROM instances WHERE name = ?", s->instance, &found, err);
    if (st == MFB_OK && !found)
        st = config_rows_not_found(err, "instance", s->instance);
    if (st == MFB_OK && s->target != NULL) {
        st = exists(db, "SELECT 1 FROM targets WHERE name = ?", s->target, &found, err);
        if (st == MFB_OK && !found)
            st = config_rows_not_found(err, "target", s->target);
    }
    return st;
}

/* Checks the references and runs the INSERT (id != NULL) or UPDATE in
 * one transaction. */
static mfb_status save(struct config_db *db, const char *sql, const struct config_schedule *s,
                       int64_t *id, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "save the schedule", err);
    if (st != MFB_OK)
        goto done;
    st = check_refs(db, s, err);
    if (st == MFB_OK)
        st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st == MFB_OK) {
        bind_schedule(stmt, s);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = config_rows_is_duplicate(db) ? config_rows_exists(err, "schedule", s->name)
                                              : sqlutil_fail(db->sql, "save the schedule", err);
        else if (id != NULL)
            *id = sqlite3_last_insert_rowid(db->sql);
        else if (sqlite3_changes(db->sql) == 0)
            st = config_rows_not_found(err, "schedule", s->name);
    }
    sqlite3_finalize(stmt);
    st = config_rows_finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_schedule_add(struct config_db *db, struct config_schedule *s,
                               struct mfb_error *err)
{
    s->created = s->updated = clock_wall_ms() / 1000;
    return save(db,
                "INSERT INTO schedules (id, name, instance, target, kind, cron, tz, catch_up, "
                "jitter_ms, paused, created, updated) "
                "VALUES (NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                s, &s->id, err);
}

mfb_status config_schedule_update(struct config_db *db, struct config_schedule *s,
                                  struct mfb_error *err)
{
    s->updated = clock_wall_ms() / 1000;
    return save(db,
                "UPDATE schedules SET instance = ?3, target = ?4, kind = ?5, cron = ?6, tz = ?7, "
                "catch_up = ?8, jitter_ms = ?9, paused = ?10, updated = ?12 WHERE name = ?2",
                s, NULL, err);
}

mfb_status config_schedule_get(struct config_db *db, const char *name, struct config_schedule *out,
                               struct mfb_error *err)
{
    config_schedule_init(out);
    return config_rows_get_named(db, SCHEDULE_SELECT "WHERE s.name = ?", name, read_schedule, out,
                                 "schedule", err);
}

static void drop_schedule(void *row)
{
    config_schedule_free(row);
}

mfb_status config_schedule_list(struct config_db *db, struct config_schedule **list, size_t *count,
                                struct mfb_error *err)
{
    return config_rows_list_all(db, SCHEDULE_SELECT "ORDER BY s.name", sizeof(**list),
                                read_schedule, drop_schedule, (void **)list, count,
                                "list the schedules", err);
}

void config_schedule_list_free(struct config_schedule *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        config_schedule_free(&list[i]);
    free(list);
}

/* Runs sql (?1 the name, ?2 an integer, ?3 if any the time) on the
 * schedule called name. */
static mfb_status set_column(struct config_db *db, const char *sql, const char *name, int64_t value,
                             struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, value);
        if (sqlite3_bind_parameter_count(stmt) >= 3)
            sqlite3_bind_int64(stmt, 3, clock_wall_ms() / 1000);
        st = sqlutil_run(db->sql, stmt, "save the schedule", err);
        if (st == MFB_OK && sqlite3_changes(db->sql) == 0)
            st = config_rows_not_found(err, "schedule", name);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_schedule_set_paused(struct config_db *db, const char *name, bool paused,
                                      struct mfb_error *err)
{
    return set_column(db, "UPDATE schedules SET paused = ?2, updated = ?3 WHERE name = ?1", name,
                      paused ? 1 : 0, err);
}

mfb_status config_schedule_set_last_run(struct config_db *db, const char *name, int64_t job_id,
                                        struct mfb_error *err)
{
    /* A run is not a change of the schedule: its updated time stays. */
    return set_column(db, "UPDATE schedules SET last_run_job_id = ?2 WHERE name = ?1", name, job_id,
                      err);
}

mfb_status config_schedule_last_fired(struct config_db *db, const struct config_schedule *s,
                                      int64_t *at_ms, struct mfb_error *err)
{
    /* The queue keeps its rows after they ran, so it remembers the daemon's
     * fires across restarts without a column of its own. A catch-up entry
     * names its schedule; one queued before it did (migration 8) names
     * none and counts for every schedule of its instance. */
    *at_ms = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "SELECT COALESCE(MAX(enqueued), 0) FROM queue"
                                    " WHERE trigger = 'schedule:' || ?1"
                                    " OR (trigger = 'catch-up' AND (schedule = ?1"
                                    "   OR (schedule IS NULL AND instance = ?2)))",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, s->instance, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            *at_ms = sqlite3_column_int64(stmt, 0);
        else
            st = sqlutil_fail(db->sql, "read the schedule's last run", err);
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_schedule_remove(struct config_db *db, const char *name, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, "DELETE FROM schedules WHERE name = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        st = sqlutil_run(db->sql, stmt, "remove the schedule", err);
        if (st == MFB_OK && sqlite3_changes(db->sql) == 0)
            st = config_rows_not_found(err, "schedule", name);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_schedule_refuse_user(struct config_db *db, const char *group, const char *name,
                                       struct mfb_error *err)
{
    /* A schedule without a target uses the only stored target, so that
     * one cannot go while such a schedule exists. */
    const char *sql = strcmp(group, "instance") == 0
                          ? "SELECT name FROM schedules WHERE instance = ?1 ORDER BY name LIMIT 1"
                          : "SELECT name FROM schedules WHERE target = ?1 OR (target IS NULL AND "
                            "(SELECT COUNT(*) FROM targets) = 1) ORDER BY name LIMIT 1";
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        char schedule[CONFIG_NAME_BUF];
        sqlutil_copy_text(schedule, sizeof(schedule), stmt, 0);
        mfb_error_set(err, MFB_ERR_BUSY, "%s '%s' is used by schedule '%s'", group, name, schedule);
        mfb_error_hint(err,
                       "remove the schedule first ('mfb schedule remove %s'), or give it "
                       "another %s ('mfb schedule set %s --%s NAME')",
                       schedule, group, schedule, group);
        st = MFB_ERR_BUSY;
    } else if (rc != SQLITE_DONE) {
        st = sqlutil_fail(db->sql, "look for schedules", err);
    }
    sqlite3_finalize(stmt);
    return st;
}
