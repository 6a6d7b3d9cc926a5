/*
 * job_queue.c - the daemon's persistent queue (see job_queue.h): its SQL.
 *
 * Every public function takes db->lock for the whole of its work, as the
 * other store modules do, so the daemon's workers and its API threads may
 * share one struct config_db.
 */
#include "store/job_queue.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "store/config_db_internal.h"
#include "store/sqlutil.h"

static const char *const state_names[] = {"queued", "running", "done"};

const char *queue_state_str(enum queue_state s)
{
    return (unsigned)s < COUNT_OF(state_names) ? state_names[s] : "unknown";
}

bool job_queue_trigger_valid(const char *trigger)
{
    if (trigger == NULL)
        return false;
    if (strcmp(trigger, "api") == 0 || strcmp(trigger, "cli") == 0 ||
        strcmp(trigger, "retry") == 0 || strcmp(trigger, "catch-up") == 0)
        return true;
    return strncmp(trigger, "schedule:", 9) == 0 && trigger[9] != '\0' &&
           strlen(trigger) < QUEUE_TRIGGER_BUF;
}

#define QUEUE_COLUMNS                                                                              \
    "id, instance, target, kind, trigger, state, job_id, enqueued, started, ended, attempts,"      \
    " next_attempt, cancelled, error, resume_job, cancelled_step, schedule"

static void read_entry(sqlite3_stmt *stmt, struct queue_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(e->instance, sizeof(e->instance), stmt, 1);
    sqlutil_copy_text(e->target, sizeof(e->target), stmt, 2);
    sqlutil_copy_text(e->kind, sizeof(e->kind), stmt, 3);
    sqlutil_copy_text(e->trigger, sizeof(e->trigger), stmt, 4);
    int s = config_rows_lookup(state_names, COUNT_OF(state_names),
                               (const char *)sqlite3_column_text(stmt, 5));
    e->state = s < 0 ? QUEUE_DONE : (enum queue_state)s;
    e->job_id = sqlite3_column_int64(stmt, 6);
    e->enqueued = sqlite3_column_int64(stmt, 7);
    e->started = sqlite3_column_int64(stmt, 8);
    e->ended = sqlite3_column_int64(stmt, 9);
    e->attempts = sqlite3_column_int(stmt, 10);
    e->next_attempt = sqlite3_column_int64(stmt, 11);
    e->cancelled = sqlite3_column_int(stmt, 12) != 0;
    sqlutil_copy_text(e->error, sizeof(e->error), stmt, 13);
    e->resume_job = sqlite3_column_int64(stmt, 14);
    sqlutil_copy_text(e->cancelled_step, sizeof(e->cancelled_step), stmt, 15);
    sqlutil_copy_text(e->schedule, sizeof(e->schedule), stmt, 16);
}

/* read_entry as a row_reader, for config_rows_read. */
static mfb_status entry_row(sqlite3_stmt *stmt, void *out, struct mfb_error *err)
{
    (void)err;
    read_entry(stmt, out);
    return MFB_OK;
}

/* The id of the queued entry of instance and kind, or 0. Expects the lock. */
static mfb_status find_queued(struct config_db *db, const char *instance, const char *kind,
                              int64_t *id, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *id = 0;
    mfb_status st =
        sqlutil_prepare(db->sql,
                        "SELECT id FROM queue WHERE instance = ? AND kind = ? AND state = 'queued'"
                        " AND trigger <> 'retry'",
                        &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read the queue", err);
    sqlite3_finalize(stmt);
    return st;
}

mfb_status job_queue_enqueue(struct config_db *db, const char *instance, const char *target,
                             const char *trigger, int64_t *id, bool *existed, struct mfb_error *err)
{
    return job_queue_enqueue_for(db, instance, target, "backup", trigger, NULL, id, existed, err);
}

mfb_status job_queue_enqueue_for(struct config_db *db, const char *instance, const char *target,
                                 const char *kind, const char *trigger, const char *schedule,
                                 int64_t *id, bool *existed, struct mfb_error *err)
{
    *id = 0;
    if (existed)
        *existed = false;
    if (!job_queue_trigger_valid(trigger)) {
        mfb_error_set(err, MFB_ERR_INVALID, "unknown queue trigger '%s'", trigger ? trigger : "");
        mfb_error_hint(err, "a trigger is api, cli, retry, catch-up or schedule:NAME");
        return MFB_ERR_INVALID;
    }
    if (kind == NULL || (strcmp(kind, "backup") != 0 && strcmp(kind, "drill") != 0)) {
        mfb_error_set(err, MFB_ERR_INVALID, "unknown job kind '%s'", kind ? kind : "");
        mfb_error_hint(err, "the daemon runs jobs of kind backup or drill");
        return MFB_ERR_INVALID;
    }
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "queue a job", err);
    if (st != MFB_OK)
        goto unlock;
    st = find_queued(db, instance, kind, id, err);
    if (st != MFB_OK || *id != 0) {
        if (st == MFB_OK && existed)
            *existed = true;
        goto finish;
    }
    st = sqlutil_prepare(db->sql,
                         "INSERT INTO queue (instance, target, kind, trigger, state, enqueued,"
                         " schedule) VALUES (?1, ?2, ?5, ?3, 'queued', ?4, ?6)",
                         &stmt, err);
    if (st != MFB_OK)
        goto finish;
    sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 2, target && target[0] ? target : NULL);
    sqlite3_bind_text(stmt, 3, trigger, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, clock_wall_ms());
    sqlite3_bind_text(stmt, 5, kind, -1, SQLITE_STATIC);
    if (schedule == NULL && strncmp(trigger, "schedule:", 9) == 0)
        schedule = trigger + 9;
    sqlutil_bind_text(stmt, 6, schedule && schedule[0] ? schedule : NULL);
    st = sqlutil_run(db->sql, stmt, "queue a job", err);
    if (st == MFB_OK)
        *id = sqlite3_last_insert_rowid(db->sql);
finish:
    st = config_rows_finish_tx(db, st, err);
unlock:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_queue_enqueue_retry(struct config_db *db, const char *instance, const char *target,
                                   int64_t resume_job, int64_t next_attempt, int64_t *id,
                                   bool *existed, struct mfb_error *err)
{
    *id = 0;
    if (existed)
        *existed = false;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "queue a retry", err);
    if (st != MFB_OK)
        goto unlock;
    st = sqlutil_prepare(db->sql,
                         "SELECT id FROM queue WHERE resume_job = ? AND state = 'queued'"
                         " AND trigger = 'retry'",
                         &stmt, err);
    if (st != MFB_OK)
        goto finish;
    sqlite3_bind_int64(stmt, 1, resume_job);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read the queue", err);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (st != MFB_OK || *id != 0) {
        if (st == MFB_OK && existed)
            *existed = true;
        goto finish;
    }
    st = sqlutil_prepare(db->sql,
                         "INSERT INTO queue (instance, target, kind, trigger, state, enqueued,"
                         " next_attempt, resume_job) VALUES (?, ?, 'backup', 'retry', 'queued', ?,"
                         " ?, ?)",
                         &stmt, err);
    if (st != MFB_OK)
        goto finish;
    sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 2, target && target[0] ? target : NULL);
    sqlite3_bind_int64(stmt, 3, clock_wall_ms());
    sqlite3_bind_int64(stmt, 4, next_attempt);
    sqlite3_bind_int64(stmt, 5, resume_job);
    st = sqlutil_run(db->sql, stmt, "queue a retry", err);
    if (st == MFB_OK)
        *id = sqlite3_last_insert_rowid(db->sql);
finish:
    st = config_rows_finish_tx(db, st, err);
unlock:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* The target an entry's job will use: its own, else the only stored one
 * (NULL when there are several: the job fails on its own). */
#define QUEUE_TARGET_OF(alias)                                                                     \
    "COALESCE(" alias ".target, (SELECT name FROM targets"                                         \
    " WHERE (SELECT COUNT(*) FROM targets) = 1))"

/* The oldest runnable entry: queued, its time come (?1), no entry of its
 * instance running, its target below max_jobs, and a drill only while
 * fewer than ?2 drills run. */
/* clang-format off */
#define TAKE_SQL                                                                                   \
    "SELECT " QUEUE_COLUMNS " FROM queue q WHERE state = 'queued'"                                 \
    " AND (next_attempt IS NULL OR next_attempt <= ?1)"                                            \
    " AND NOT EXISTS (SELECT 1 FROM queue r"                                                       \
    "   WHERE r.instance = q.instance AND r.state = 'running')"                                    \
    " AND (SELECT COUNT(*) FROM queue r WHERE r.state = 'running'"                                 \
    "   AND " QUEUE_TARGET_OF("r") " = " QUEUE_TARGET_OF("q") ")"                                  \
    "   < COALESCE((SELECT t.max_jobs FROM targets t"                                              \
    "     WHERE t.name = " QUEUE_TARGET_OF("q") "), 1000000)"                                      \
    " AND (q.kind <> 'drill' OR (SELECT COUNT(*) FROM queue d"                                     \
    "   WHERE d.kind = 'drill' AND d.state = 'running') < ?2)"                                     \
    " ORDER BY id LIMIT 1"
/* clang-format on */

mfb_status job_queue_take(struct config_db *db, int64_t now_ms, struct queue_entry *out,
                          bool *found, struct mfb_error *err)
{
    return job_queue_take_limited(db, now_ms, UINT32_MAX, out, found, err);
}

mfb_status job_queue_take_limited(struct config_db *db, int64_t now_ms, uint32_t max_drills,
                                  struct queue_entry *out, bool *found, struct mfb_error *err)
{
    *found = false;
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "take a queued job", err);
    if (st != MFB_OK)
        goto unlock;
    st = sqlutil_prepare(db->sql, TAKE_SQL, &stmt, err);
    if (st != MFB_OK)
        goto finish;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int64(stmt, 2, max_drills);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read_entry(stmt, out);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read the queue", err);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (st != MFB_OK || rc != SQLITE_ROW)
        goto finish;
    int64_t started = clock_wall_ms();
    st = sqlutil_prepare(db->sql,
                         "UPDATE queue SET state = 'running', started = ?, attempts = attempts + 1"
                         " WHERE id = ?",
                         &stmt, err);
    if (st != MFB_OK)
        goto finish;
    sqlite3_bind_int64(stmt, 1, started);
    sqlite3_bind_int64(stmt, 2, out->id);
    st = sqlutil_run(db->sql, stmt, "take a queued job", err);
    if (st == MFB_OK) {
        out->state = QUEUE_RUNNING;
        out->started = started;
        out->attempts++;
        *found = true;
    }
finish:
    st = config_rows_finish_tx(db, st, err);
    if (st != MFB_OK)
        *found = false;
unlock:
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Runs one UPDATE with an id at ?1 and an optional text at ?2; *changed
 * gets the number of rows it changed. */
static mfb_status update_one(struct config_db *db, const char *sql, int64_t id, int64_t value,
                             const char *text, int *changed, const char *what,
                             struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, value);
        if (sqlite3_bind_parameter_count(stmt) >= 3)
            sqlutil_bind_text(stmt, 3, text);
        st = sqlutil_run(db->sql, stmt, what, err);
        if (changed)
            *changed = st == MFB_OK ? sqlite3_changes(db->sql) : 0;
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_queue_set_job(struct config_db *db, int64_t id, int64_t job_id,
                             struct mfb_error *err)
{
    return update_one(db, "UPDATE queue SET job_id = ?2 WHERE id = ?1", id, job_id, NULL, NULL,
                      "record the queued job's job", err);
}

mfb_status job_queue_done(struct config_db *db, int64_t id, const char *error,
                          struct mfb_error *err)
{
    return update_one(db, "UPDATE queue SET state = 'done', ended = ?2, error = ?3 WHERE id = ?1",
                      id, clock_wall_ms(), error, NULL, "end a queued job", err);
}

mfb_status job_queue_requeue(struct config_db *db, int64_t id, int64_t next_attempt,
                             struct mfb_error *err)
{
    return update_one(db,
                      "UPDATE queue SET state = 'queued', next_attempt = ?2"
                      " WHERE id = ?1 AND state = 'running'",
                      id, next_attempt, NULL, NULL, "queue a retry again", err);
}

mfb_status job_queue_done_cancelled(struct config_db *db, int64_t id, const char *step,
                                    struct mfb_error *err)
{
    return update_one(db,
                      "UPDATE queue SET state = 'done', ended = ?2, cancelled = 1,"
                      " cancelled_step = ?3 WHERE id = ?1",
                      id, clock_wall_ms(), step, NULL, "end a cancelled job", err);
}

mfb_status job_queue_cancel_queued(struct config_db *db, int64_t id, bool *was_queued,
                                   struct mfb_error *err)
{
    *was_queued = false;
    int changed = 0;
    mfb_status st = update_one(db,
                               "UPDATE queue SET state = 'done', ended = ?2, cancelled = 1,"
                               " error = ?3, cancelled_step = 'queued'"
                               " WHERE id = ?1 AND state = 'queued'",
                               id, clock_wall_ms(), "cancelled while queued", &changed,
                               "cancel a queued job", err);
    if (st != MFB_OK)
        return st;
    if (changed > 0) {
        *was_queued = true;
        return MFB_OK;
    }
    struct queue_entry e;
    return job_queue_get(db, id, &e, err);
}

mfb_status job_queue_settle_running(struct config_db *db, size_t *count, struct mfb_error *err)
{
    int changed = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "UPDATE queue SET state = 'done', ended = ?,"
                                    " error = 'interrupted' WHERE state = 'running'",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, clock_wall_ms());
        st = sqlutil_run(db->sql, stmt, "settle the queue", err);
        changed = st == MFB_OK ? sqlite3_changes(db->sql) : 0;
    }
    pthread_mutex_unlock(&db->lock);
    if (count)
        *count = (size_t)changed;
    return st;
}

/* A pending upload: the job and where it goes. */
static mfb_status pending_row(sqlite3_stmt *stmt, void *out, struct mfb_error *err)
{
    (void)err;
    struct queue_pending *p = out;
    p->job_id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(p->instance, sizeof(p->instance), stmt, 1);
    sqlutil_copy_text(p->target, sizeof(p->target), stmt, 2);
    return MFB_OK;
}

mfb_status job_queue_unretried(struct config_db *db, struct queue_pending **list, size_t *count,
                               struct mfb_error *err)
{
    /* A done retry that was not cancelled and whose job is still pending
     * was interrupted: it does not count as one. */
    return config_rows_list_all(
        db,
        "SELECT j.id, j.instance, j.target FROM jobs j"
        " WHERE j.status = 'pending_upload' AND j.kind = 'backup'"
        " AND j.id IN (SELECT job_id FROM queue WHERE trigger <> 'retry' AND cancelled = 0"
        "   AND job_id IS NOT NULL"
        "   UNION SELECT resume_job FROM queue WHERE trigger = 'retry' AND resume_job IS NOT NULL)"
        " AND NOT EXISTS (SELECT 1 FROM queue r WHERE r.resume_job = j.id"
        "   AND (r.state <> 'done' OR r.cancelled = 1))"
        " ORDER BY j.id",
        sizeof(**list), pending_row, NULL, (void **)list, count, "read the pending uploads", err);
}

mfb_status job_queue_get(struct config_db *db, int64_t id, struct queue_entry *out,
                         struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT " QUEUE_COLUMNS " FROM queue WHERE id = ?", &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        read_entry(stmt, out);
    } else if (rc == SQLITE_DONE) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no queued job #%lld", (long long)id);
        mfb_error_hint(err, "'mfb jobs' lists the daemon's jobs");
        st = MFB_ERR_NOT_FOUND;
    } else {
        st = sqlutil_fail(db->sql, "read the queue", err);
    }
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_queue_list(struct config_db *db, bool with_done, size_t done_limit,
                          struct queue_entry **list, size_t *count, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        "SELECT " QUEUE_COLUMNS " FROM queue WHERE state <> 'done'"
        " OR (?1 AND id IN (SELECT id FROM queue WHERE state = 'done' ORDER BY id DESC LIMIT ?2))"
        " ORDER BY id",
        &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int(stmt, 1, with_done ? 1 : 0);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)done_limit);
        st = config_rows_read(db->sql, stmt, sizeof(**list), entry_row, NULL, (void **)list, count,
                              "list the queue", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}
