/*
 * job_log.c - the SQL of the job log (see job_log.h): jobs, their events,
 * listing and full-text search, orphan detection and pruning.
 *
 * Search. job_events_fts and jobs_fts are FTS5 indexes with external
 * content (the rows stay in job_events and jobs; triggers keep the indexes
 * in step; config_db.c's migrations make them), so `mfb logs --search` is
 * an index lookup, not a LIKE scan of every message. Each word the user
 * types becomes one quoted FTS5 phrase, so punctuation in a search never
 * turns into query syntax.
 */
#include "store/job_log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "store/config_db_internal.h"
#include "store/sqlutil.h"

/* ---- names of the enumerations ---- */

static const char *const status_names[JOB_STATUS_COUNT] = {
    "running", "ok", "failed", "pending_upload", "cancelled", "critical",
};
static const char *const step_names[JOB_STEP_COUNT] = {
    "preflight", "preflush", "stop", "snapshot", "archive", "upload", "start", "verify", "finish",
};
static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *job_status_str(enum job_status s)
{
    return config_rows_name(status_names, JOB_STATUS_COUNT, (unsigned)s);
}

bool job_status_parse(const char *text, enum job_status *s)
{
    int i = config_rows_lookup(status_names, JOB_STATUS_COUNT, text);
    if (i >= 0)
        *s = (enum job_status)i;
    return i >= 0;
}

const char *job_step_name(enum job_step s)
{
    return config_rows_name(step_names, JOB_STEP_COUNT, (unsigned)s);
}

bool job_step_parse(const char *text, enum job_step *s)
{
    int i = config_rows_lookup(step_names, JOB_STEP_COUNT, text);
    if (i >= 0)
        *s = (enum job_step)i;
    return i >= 0;
}

const char *job_level_str(enum job_level l)
{
    return config_rows_name(level_names, COUNT_OF(level_names), (unsigned)l);
}

/* ---- jobs ---- */

#define JOB_COLUMNS                                                                                \
    "id, instance, target, kind, status, pid, started, ended, preflight_ms, preflush_ms, "         \
    "stop_ms, snapshot_ms, archive_ms, upload_ms, start_ms, verify_ms, finish_ms, downtime_ms, "   \
    "bytes_in, bytes_out, upload_id, backup_name, backup_id, error, hint, error_step, backtrace, " \
    "system_state, host, chunks, retries"
#define JOB_STEP_COLUMN 8 /* preflight_ms, in the order of enum job_step */

static void job_reset(struct job_record *job)
{
    memset(job, 0, sizeof(*job));
    for (int i = 0; i < JOB_STEP_COUNT; i++)
        job->step_ms[i] = -1;
    job->downtime_ms = -1;
}

void job_record_free(struct job_record *job)
{
    if (job == NULL)
        return;
    free(job->error);
    free(job->hint);
    free(job->backtrace);
    free(job->system_state);
    job->error = job->hint = job->backtrace = job->system_state = NULL;
}

static int64_t column_or(sqlite3_stmt *stmt, int col, int64_t fallback)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL ? fallback
                                                         : sqlite3_column_int64(stmt, col);
}

static mfb_status read_job(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct job_record *out = row;
    job_reset(out);
    int oom = 0;
    out->id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(out->instance, sizeof(out->instance), stmt, 1);
    sqlutil_copy_text(out->target, sizeof(out->target), stmt, 2);
    sqlutil_copy_text(out->kind, sizeof(out->kind), stmt, 3);
    int status = config_rows_lookup(status_names, JOB_STATUS_COUNT,
                                    (const char *)sqlite3_column_text(stmt, 4));
    out->pid = sqlite3_column_int64(stmt, 5);
    out->started_ms = sqlite3_column_int64(stmt, 6);
    out->ended_ms = column_or(stmt, 7, 0);
    for (int i = 0; i < JOB_STEP_COUNT; i++)
        out->step_ms[i] = column_or(stmt, JOB_STEP_COLUMN + i, -1);
    out->downtime_ms = column_or(stmt, 17, -1);
    out->bytes_in = (uint64_t)sqlite3_column_int64(stmt, 18);
    out->bytes_out = (uint64_t)sqlite3_column_int64(stmt, 19);
    sqlutil_copy_text(out->upload_id, sizeof(out->upload_id), stmt, 20);
    sqlutil_copy_text(out->backup_name, sizeof(out->backup_name), stmt, 21);
    sqlutil_copy_text(out->backup_id, sizeof(out->backup_id), stmt, 22);
    out->error = sqlutil_dup_text(stmt, 23, &oom);
    out->hint = sqlutil_dup_text(stmt, 24, &oom);
    sqlutil_copy_text(out->error_step, sizeof(out->error_step), stmt, 25);
    out->backtrace = sqlutil_dup_text(stmt, 26, &oom);
    out->system_state = sqlutil_dup_text(stmt, 27, &oom);
    sqlutil_copy_text(out->host, sizeof(out->host), stmt, 28);
    out->chunks = (uint64_t)sqlite3_column_int64(stmt, 29);
    out->retries = (uint64_t)sqlite3_column_int64(stmt, 30);
    out->status = status < 0 ? JOB_STATUS_FAILED : (enum job_status)status;
    if (oom) {
        job_record_free(out);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    return MFB_OK;
}

static void drop_job(void *row)
{
    job_record_free(row);
}

static const char *empty_to_null(const char *s)
{
    return s && *s ? s : NULL;
}

mfb_status job_log_create(struct config_db *db, const char *instance, const char *target,
                          const char *kind, struct job_record *job, struct mfb_error *err)
{
    job_reset(job);
    snprintf(job->instance, sizeof(job->instance), "%s", instance);
    snprintf(job->target, sizeof(job->target), "%s", target ? target : "");
    snprintf(job->kind, sizeof(job->kind), "%s", kind);
    job->status = JOB_STATUS_RUNNING;
    job->pid = (int64_t)getpid();
    job->started_ms = clock_wall_ms();
    if (gethostname(job->host, sizeof(job->host)) != 0)
        job->host[0] = '\0';
    job->host[sizeof(job->host) - 1] = '\0';
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO jobs (instance, target, kind, status, pid, "
                                    "started, host) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, job->instance, -1, SQLITE_STATIC);
    sqlutil_bind_text(stmt, 2, empty_to_null(job->target));
    sqlite3_bind_text(stmt, 3, job->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, job->pid);
    sqlite3_bind_int64(stmt, 5, job->started_ms);
    sqlutil_bind_text(stmt, 6, empty_to_null(job->host));
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "record the job", err);
    else
        job->id = sqlite3_last_insert_rowid(db->sql);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void bind_or_null(sqlite3_stmt *stmt, int col, int64_t value, int64_t null_value)
{
    if (value == null_value)
        sqlite3_bind_null(stmt, col);
    else
        sqlite3_bind_int64(stmt, col, value);
}

mfb_status job_log_save(struct config_db *db, const struct job_record *job, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        "UPDATE jobs SET target = ?2, status = ?3, ended = ?4, preflight_ms = ?5, "
        "preflush_ms = ?6, stop_ms = ?7, snapshot_ms = ?8, archive_ms = ?9, upload_ms = ?10, "
        "start_ms = ?11, verify_ms = ?12, finish_ms = ?13, downtime_ms = ?14, bytes_in = ?15, "
        "bytes_out = ?16, upload_id = ?17, backup_name = ?18, backup_id = ?19, error = ?20, "
        "hint = ?21, error_step = ?22, backtrace = ?23, system_state = ?24, chunks = ?25, "
        "retries = ?26 WHERE id = ?1",
        &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, job->id);
    sqlutil_bind_text(stmt, 2, empty_to_null(job->target));
    sqlutil_bind_text(stmt, 3, job_status_str(job->status));
    bind_or_null(stmt, 4, job->ended_ms, 0);
    for (int i = 0; i < JOB_STEP_COUNT; i++)
        bind_or_null(stmt, 5 + i, job->step_ms[i], -1);
    bind_or_null(stmt, 14, job->downtime_ms, -1);
    sqlite3_bind_int64(stmt, 15, (sqlite3_int64)job->bytes_in);
    sqlite3_bind_int64(stmt, 16, (sqlite3_int64)job->bytes_out);
    sqlutil_bind_text(stmt, 17, empty_to_null(job->upload_id));
    sqlutil_bind_text(stmt, 18, empty_to_null(job->backup_name));
    sqlutil_bind_text(stmt, 19, empty_to_null(job->backup_id));
    sqlutil_bind_text(stmt, 20, job->error);
    sqlutil_bind_text(stmt, 21, job->hint);
    sqlutil_bind_text(stmt, 22, empty_to_null(job->error_step));
    sqlutil_bind_text(stmt, 23, job->backtrace);
    sqlutil_bind_text(stmt, 24, job->system_state);
    sqlite3_bind_int64(stmt, 25, (sqlite3_int64)job->chunks);
    sqlite3_bind_int64(stmt, 26, (sqlite3_int64)job->retries);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "save the job", err);
    else if (sqlite3_changes(db->sql) == 0)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)job->id);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_log_get(struct config_db *db, int64_t id, struct job_record *out,
                       struct mfb_error *err)
{
    job_reset(out);
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?", &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        st = read_job(stmt, out, err);
    } else if (rc == SQLITE_DONE) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)id);
        mfb_error_hint(err, "'mfb logs' lists the jobs");
        st = MFB_ERR_NOT_FOUND;
    } else {
        st = sqlutil_fail(db->sql, "read the job", err);
    }
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_log_event(struct config_db *db, int64_t job_id, enum job_level level,
                         const char *step, const char *message, struct mfb_error *err)
{
    return job_log_event_at(db, job_id, clock_wall_ms(), level, step, message, err);
}

mfb_status job_log_event_at(struct config_db *db, int64_t job_id, int64_t time_ms,
                            enum job_level level, const char *step, const char *message,
                            struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO job_events (job_id, time, level, step, message) "
                                    "VALUES (?, ?, ?, ?, ?)",
                                    &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_int64(stmt, 1, job_id);
    sqlite3_bind_int64(stmt, 2, time_ms);
    sqlite3_bind_text(stmt, 3, job_level_str(level), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, step ? step : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, message, -1, SQLITE_STATIC);
    st = sqlutil_run(db->sql, stmt, "record a job event", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static mfb_status read_event(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    struct job_log_event *e = row;
    int oom = 0;
    e->id = sqlite3_column_int64(stmt, 0);
    e->job_id = sqlite3_column_int64(stmt, 1);
    e->time_ms = sqlite3_column_int64(stmt, 2);
    int level = config_rows_lookup(level_names, COUNT_OF(level_names),
                                   (const char *)sqlite3_column_text(stmt, 3));
    e->level = level < 0 ? JOB_LEVEL_INFO : (enum job_level)level;
    sqlutil_copy_text(e->step, sizeof(e->step), stmt, 4);
    e->message = sqlutil_dup_text(stmt, 5, &oom);
    if (oom)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    return MFB_OK;
}

static void drop_event(void *row)
{
    free(((struct job_log_event *)row)->message);
}

mfb_status job_log_events(struct config_db *db, int64_t job_id, struct job_log_event **list,
                          size_t *count, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "SELECT id, job_id, time, level, step, message "
                                    "FROM job_events WHERE job_id = ? ORDER BY id",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, job_id);
        st = config_rows_read(db->sql, stmt, sizeof(**list), read_event, drop_event, (void **)list,
                              count, "read the job's events", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

void job_log_events_free(struct job_log_event *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i].message);
    free(list);
}

/* Turns the words a person typed into an FTS5 query in which every word is
 * a quoted phrase, all of which must match: `disk "full"` becomes
 * `"disk" """full"""`. Allocates; NULL when there is no word. */
static char *fts_query(const char *text, int *oom)
{
    size_t len = strlen(text);
    char *q = malloc(len * 5 + 4); /* each byte doubled, plus quotes and blanks */
    if (q == NULL) {
        *oom = 1;
        return NULL;
    }
    size_t n = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        if (n > 0)
            q[n++] = ' ';
        q[n++] = '"';
        for (; *p && *p != ' ' && *p != '\t' && *p != '\n'; p++) {
            if (*p == '"')
                q[n++] = '"';
            q[n++] = *p;
        }
        q[n++] = '"';
    }
    q[n] = '\0';
    if (n == 0) {
        free(q);
        return NULL;
    }
    return q;
}

mfb_status job_log_list(struct config_db *db, const struct job_log_filter *filter,
                        struct job_record **list, size_t *count, struct mfb_error *err)
{
    static const struct job_log_filter all = {0};
    const struct job_log_filter *f = filter ? filter : &all;
    *list = NULL;
    *count = 0;
    int oom = 0;
    char *query = f->search ? fts_query(f->search, &oom) : NULL;
    if (oom)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        query ? "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR instance = ?1) "
                "AND (?2 IS NULL OR target = ?2) AND (?3 IS NULL OR status = ?3) "
                "AND started >= ?4 AND (?7 <= 0 OR started < ?7) "
                "AND (id IN (SELECT e.job_id FROM job_events e "
                "JOIN job_events_fts ON job_events_fts.rowid = e.id "
                "WHERE job_events_fts MATCH ?6) "
                "OR id IN (SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH ?6)) "
                "ORDER BY started DESC, id DESC LIMIT ?5"
              : "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR instance = ?1) "
                "AND (?2 IS NULL OR target = ?2) AND (?3 IS NULL OR status = ?3) "
                "AND started >= ?4 AND (?7 <= 0 OR started < ?7) "
                "ORDER BY started DESC, id DESC LIMIT ?5",
        &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlutil_bind_text(stmt, 1, f->instance);
    sqlutil_bind_text(stmt, 2, f->target);
    sqlutil_bind_text(stmt, 3, f->by_status ? job_status_str(f->status) : NULL);
    sqlite3_bind_int64(stmt, 4, f->since_ms);
    sqlite3_bind_int64(stmt, 5, f->limit ? (sqlite3_int64)f->limit : -1);
    if (query)
        sqlite3_bind_text(stmt, 6, query, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 7, f->until_ms);
    st = config_rows_read(db->sql, stmt, sizeof(**list), read_job, drop_job, (void **)list, count,
                          "list the jobs", err);
    stmt = NULL;
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    free(query);
    return st;
}

void job_log_list_free(struct job_record *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        job_record_free(&list[i]);
    free(list);
}

/* True when no process has this pid (so the job it ran cannot be running). */
static bool process_gone(int64_t pid)
{
    if (pid <= 0 || pid == (int64_t)getpid())
        return pid <= 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

mfb_status job_log_fail_orphans(struct config_db *db, size_t *count, struct mfb_error *err)
{
    if (count)
        *count = 0;
    sqlite3_stmt *stmt = NULL;
    sqlite3_stmt *upd = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "check running jobs", err);
    if (st != MFB_OK)
        goto done;
    st = sqlutil_prepare(db->sql, "SELECT id, pid FROM jobs WHERE status = 'running'", &stmt, err);
    if (st == MFB_OK)
        st = sqlutil_prepare(db->sql,
                             "UPDATE jobs SET status = 'failed', ended = ?2, "
                             "error = 'interrupted: the process that ran it (pid ' || ?3 || "
                             "') is gone', hint = ?4 WHERE id = ?1 AND status = 'running'",
                             &upd, err);
    int rc = SQLITE_DONE;
    while (st == MFB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(stmt, 1);
        if (!process_gone(pid))
            continue;
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(stmt, 0));
        sqlite3_bind_int64(upd, 2, clock_wall_ms());
        sqlite3_bind_int64(upd, 3, pid);
        sqlite3_bind_text(upd, 4,
                          "check that the database server is running (its log tells whether "
                          "mfb stopped it) and whether the backup reached the receiver ('mfb "
                          "list'): a job whose last record could not be saved (a full disk) "
                          "may have finished",
                          -1, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "mark an interrupted job", err);
        else if (count)
            (*count)++;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "check running jobs", err);
    sqlite3_finalize(stmt);
    sqlite3_finalize(upd);
    st = config_rows_finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_log_orphans(struct config_db *db, struct job_record **list, size_t *count,
                           struct mfb_error *err)
{
    struct job_log_filter f = {.by_status = true, .status = JOB_STATUS_RUNNING};
    struct job_record *all = NULL;
    size_t n = 0;
    *list = NULL;
    *count = 0;
    mfb_status st = job_log_list(db, &f, &all, &n, err);
    if (st != MFB_OK)
        return st;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!process_gone(all[i].pid))
            job_record_free(&all[i]);
        else
            all[kept++] = all[i];
    }
    *list = all;
    *count = kept;
    return MFB_OK;
}

mfb_status job_log_settle_orphan(struct config_db *db, int64_t id, int64_t pid,
                                 enum job_status status, const char *error, const char *hint,
                                 bool *settled, struct mfb_error *err)
{
    if (settled)
        *settled = false;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "UPDATE jobs SET status = ?3, ended = ?4, error = ?5, "
                                    "hint = ?6 WHERE id = ?1 AND pid = ?2 AND status = 'running'",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, pid);
        sqlite3_bind_text(stmt, 3, job_status_str(status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 4, clock_wall_ms());
        sqlutil_bind_text(stmt, 5, error);
        sqlutil_bind_text(stmt, 6, hint);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "mark an interrupted job", err);
        else if (settled)
            *settled = sqlite3_changes(db->sql) > 0;
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_log_take_over(struct config_db *db, int64_t id, int64_t pid, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, "UPDATE jobs SET pid = ?2 WHERE id = ?1", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, pid);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "take over a job", err);
        else if (sqlite3_changes(db->sql) == 0)
            st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job #%lld", (long long)id);
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Deletes the jobs whose ids `ids` (SQL with one parameter, ?1 = param)
 * selects, events first, explicitly: the FTS delete trigger needs each row. */
#define DELETE_JOBS(ids)                                                                           \
    "DELETE FROM job_events WHERE job_id IN (" ids ")", "DELETE FROM jobs WHERE id IN (" ids ")"

static mfb_status delete_jobs(struct config_db *db, const char *events_sql, const char *jobs_sql,
                              int64_t param, size_t *deleted, struct mfb_error *err)
{
    if (deleted)
        *deleted = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_exec(db->sql, "BEGIN IMMEDIATE", "prune the job log", err);
    if (st != MFB_OK)
        goto done;
    const char *const sql[2] = {events_sql, jobs_sql};
    for (int i = 0; i < 2 && st == MFB_OK; i++) {
        st = sqlutil_prepare(db->sql, sql[i], &stmt, err);
        if (st != MFB_OK)
            break;
        sqlite3_bind_int64(stmt, 1, param);
        st = sqlutil_run(db->sql, stmt, "prune the job log", err);
        if (st == MFB_OK && i == 1 && deleted)
            *deleted = (size_t)sqlite3_changes(db->sql);
    }
    st = config_rows_finish_tx(db, st, err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status job_log_prune(struct config_db *db, int64_t before_ms, size_t *deleted,
                         struct mfb_error *err)
{
    return delete_jobs(db,
                       DELETE_JOBS("SELECT id FROM jobs WHERE ended IS NOT NULL AND ended < ?1 "
                                   "AND status NOT IN ('running', 'pending_upload')"),
                       before_ms, deleted, err);
}

mfb_status job_log_prune_count(struct config_db *db, size_t keep, size_t *deleted,
                               struct mfb_error *err)
{
    /* The finished jobs beyond the newest keep ones. */
    return delete_jobs(db,
                       DELETE_JOBS("SELECT id FROM jobs WHERE ended IS NOT NULL "
                                   "AND status NOT IN ('running', 'pending_upload') "
                                   "ORDER BY started DESC, id DESC LIMIT -1 OFFSET ?1"),
                       (int64_t)keep, deleted, err);
}

mfb_status job_log_error_step(struct config_db *db, int64_t job_id, char *step, size_t len,
                              struct mfb_error *err)
{
    step[0] = '\0';
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "SELECT step FROM job_events WHERE job_id = ? "
                                    "AND level = 'error' ORDER BY id LIMIT 1",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, job_id);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            sqlutil_copy_text(step, len, stmt, 0);
        else if (rc != SQLITE_DONE)
            st = sqlutil_fail(db->sql, "read the job's events", err);
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}
