/*
 * job_stats.c - the aggregate queries behind GET /metrics and the
 * expectation checks (see job_stats.h). One query per figure, under the
 * database's lock for the whole call, so one scrape sees one state.
 */
#include "store/job_stats.h"

#include <stdlib.h>
#include <string.h>

#include "store/config_db_internal.h"
#include "store/sqlutil.h"

#define BACKUP_KINDS "kind IN ('backup', 'resume')"

static mfb_status list_instances(struct config_db *db, struct job_stats **list, size_t *count,
                                 struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    mfb_status st = sqlutil_prepare(
        db->sql,
        "SELECT i.name,"
        " (SELECT MAX(ended) FROM jobs j WHERE j.instance = i.name AND j." BACKUP_KINDS
        "   AND j.status = 'ok'),"
        " (SELECT MAX(ended) FROM jobs j WHERE j.instance = i.name AND j.kind = 'drill'"
        "   AND j.status = 'ok'),"
        " (SELECT COALESCE(SUM(retries), 0) FROM jobs j WHERE j.instance = i.name)"
        " FROM instances i ORDER BY i.name",
        &stmt, err);
    int rc;
    while (st == MFB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        st = config_rows_grow((void **)list, count, &cap, sizeof(**list), err);
        if (st != MFB_OK)
            break;
        struct job_stats *s = &(*list)[(*count)++];
        sqlutil_copy_text(s->instance, sizeof(s->instance), stmt, 0);
        s->last_ok_ms = sqlite3_column_int64(stmt, 1);
        s->last_drill_ok_ms = sqlite3_column_int64(stmt, 2);
        s->retries = (uint64_t)sqlite3_column_int64(stmt, 3);
        s->last_downtime_ms = -1;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read the instances' backups", err);
    sqlite3_finalize(stmt);
    return st;
}

/* The last finished backup of s->instance, and the size of its last good one. */
static mfb_status read_last(struct config_db *db, struct job_stats *s, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(
        db->sql,
        "SELECT status, started, ended, downtime_ms FROM jobs WHERE instance = ?1 AND " BACKUP_KINDS
        " AND status <> 'running' ORDER BY ended DESC, id DESC LIMIT 1",
        &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, s->instance, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        s->has_last = job_status_parse((const char *)sqlite3_column_text(stmt, 0), &s->last_status);
        s->last_started_ms = sqlite3_column_int64(stmt, 1);
        s->last_ended_ms = sqlite3_column_int64(stmt, 2);
        if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
            s->last_downtime_ms = sqlite3_column_int64(stmt, 3);
    } else if (rc != SQLITE_DONE) {
        st = sqlutil_fail(db->sql, "read the last backup", err);
    }
    sqlite3_finalize(stmt);
    if (st != MFB_OK || s->last_ok_ms == 0)
        return st;
    st = sqlutil_prepare(db->sql,
                         "SELECT bytes_out FROM jobs WHERE instance = ?1 AND " BACKUP_KINDS
                         " AND status = 'ok' ORDER BY ended DESC, id DESC LIMIT 1",
                         &stmt, err);
    if (st != MFB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, s->instance, -1, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        s->last_ok_bytes = (uint64_t)sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "read the last good backup", err);
    sqlite3_finalize(stmt);
    return st;
}

static mfb_status count_finished(struct config_db *db, struct job_stats *list, size_t count,
                                 struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    mfb_status st =
        sqlutil_prepare(db->sql,
                        "SELECT instance, status, COUNT(*) FROM jobs WHERE " BACKUP_KINDS
                        " AND status <> 'running' GROUP BY instance, status",
                        &stmt, err);
    int rc;
    while (st == MFB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *instance = (const char *)sqlite3_column_text(stmt, 0);
        enum job_status status;
        if (instance == NULL ||
            !job_status_parse((const char *)sqlite3_column_text(stmt, 1), &status))
            continue;
        for (size_t i = 0; i < count; i++)
            if (strcmp(list[i].instance, instance) == 0)
                list[i].finished[status] = (uint64_t)sqlite3_column_int64(stmt, 2);
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "count the backups", err);
    sqlite3_finalize(stmt);
    return st;
}

mfb_status job_stats_instances(struct config_db *db, struct job_stats **list, size_t *count,
                               struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    pthread_mutex_lock(&db->lock);
    mfb_status st = list_instances(db, list, count, err);
    for (size_t i = 0; st == MFB_OK && i < *count; i++)
        st = read_last(db, &(*list)[i], err);
    if (st == MFB_OK)
        st = count_finished(db, *list, *count, err);
    pthread_mutex_unlock(&db->lock);
    if (st != MFB_OK) {
        free(*list);
        *list = NULL;
        *count = 0;
    }
    return st;
}

/* The single integer that sql yields. */
static mfb_status count_one(struct config_db *db, const char *sql, uint64_t *out,
                            struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        return st;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(stmt, 0);
    else
        st = sqlutil_fail(db->sql, "count the jobs", err);
    sqlite3_finalize(stmt);
    return st;
}

mfb_status job_stats_queue(struct config_db *db, struct job_queue_stats *out, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        count_one(db, "SELECT COUNT(*) FROM queue WHERE state = 'queued'", &out->queued, err);
    if (st == MFB_OK)
        st =
            count_one(db, "SELECT COUNT(*) FROM queue WHERE state = 'running'", &out->running, err);
    if (st == MFB_OK)
        st = count_one(db, "SELECT COUNT(*) FROM jobs WHERE status = 'pending_upload'",
                       &out->pending_upload, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}
