/*
 * server_monitor.c - the SQL of the receiver's alert channels and
 * expectations (see server_monitor.h). The channels' rows are read and
 * bound by the helpers the client's `alerts` table uses
 * (config_db_internal.h): one record, two catalogs.
 */
#include "store/server_monitor.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/config_db_internal.h"
#include "store/server_db_internal.h"
#include "store/sqlutil.h"

mfb_status server_db_alert_add(struct server_db *db, struct config_alert *a, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    a->created = a->updated = (int64_t)time(NULL);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "INSERT INTO alert_channels (" ALERT_COLUMNS ") VALUES "
                                    "(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                    &stmt, err);
    if (st == MFB_OK) {
        config_rows_bind_alert(stmt, a);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE && sqlite3_extended_errcode(db->sql) == SQLITE_CONSTRAINT_UNIQUE) {
            mfb_error_set(err, MFB_ERR_EXISTS, "alert channel '%s' already exists", a->name);
            mfb_error_hint(err, "remove it first with 'mfb-server alert remove %s'", a->name);
            st = MFB_ERR_EXISTS;
        } else if (rc != SQLITE_DONE) {
            st = sqlutil_fail(db->sql, "save the alert channel", err);
        } else {
            a->id = sqlite3_last_insert_rowid(db->sql);
        }
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_alert_list(struct server_db *db, struct config_alert **list, size_t *count,
                                struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = config_rows_list_alerts(db->sql, "alert_channels", list, count, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Runs a bound DELETE (under the lock); MFB_ERR_NOT_FOUND, without a
 * message (the caller words it), when nothing matched. Finalizes stmt. */
static mfb_status delete_one(struct server_db *db, sqlite3_stmt *stmt, struct mfb_error *err)
{
    mfb_status st = MFB_OK;
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = sqlutil_fail(db->sql, "remove it", err);
    else if (sqlite3_changes(db->sql) == 0)
        st = MFB_ERR_NOT_FOUND;
    sqlite3_finalize(stmt);
    return st;
}

mfb_status server_db_alert_remove(struct server_db *db, const char *name, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_prepare(db->sql, "DELETE FROM alert_channels WHERE name = ?1", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        st = delete_one(db, stmt, err);
    }
    pthread_mutex_unlock(&db->lock);
    if (st == MFB_ERR_NOT_FOUND) {
        mfb_error_set(err, st, "no alert channel named '%s'", name);
        mfb_error_hint(err, "'mfb-server alert list' shows the channels");
    }
    return st;
}

mfb_status server_db_expect_set(struct server_db *db, const char *client, const char *instance,
                                int64_t every_s, struct mfb_error *err)
{
    struct srv_client c;
    mfb_status st = server_db_client_by_name(db, client, &c, err);
    if (st != MFB_OK)
        return st;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    st = sqlutil_prepare(db->sql,
                         "INSERT INTO expectations (client_id, instance, every_s, created) "
                         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (client_id, instance) "
                         "DO UPDATE SET every_s = ?3",
                         &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, c.id);
        sqlite3_bind_text(stmt, 2, instance, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, every_s);
        sqlite3_bind_int64(stmt, 4, (int64_t)time(NULL));
        st = sqlutil_run(db->sql, stmt, "save the expectation", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_expect_remove(struct server_db *db, const char *client, const char *instance,
                                   struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "DELETE FROM expectations WHERE instance = ?2 AND client_id = "
                                    "(SELECT id FROM clients WHERE name = ?1)",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, client, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, instance, -1, SQLITE_STATIC);
        st = delete_one(db, stmt, err);
    }
    pthread_mutex_unlock(&db->lock);
    if (st == MFB_ERR_NOT_FOUND) {
        mfb_error_set(err, st, "no expectation for instance '%s' of client '%s'", instance, client);
        mfb_error_hint(err, "'mfb-server expect list' shows the expectations");
    }
    return st;
}

static mfb_status expect_row(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    (void)err;
    struct srv_expect *e = row;
    e->client_id = sqlite3_column_int64(stmt, 0);
    sqlutil_copy_text(e->client, sizeof(e->client), stmt, 1);
    sqlutil_copy_text(e->instance, sizeof(e->instance), stmt, 2);
    e->every_s = sqlite3_column_int64(stmt, 3);
    e->created = sqlite3_column_int64(stmt, 4);
    e->alarm_since = sqlite3_column_int64(stmt, 5);
    e->alarm_sent = sqlite3_column_int64(stmt, 6);
    e->last_backup = sqlite3_column_int64(stmt, 7);
    e->client_active = sqlite3_column_int(stmt, 8) != 0;
    return MFB_OK;
}

mfb_status server_db_expect_list(struct server_db *db, struct srv_expect **list, size_t *count,
                                 struct mfb_error *err)
{
    return config_rows_list_locked(
        db->sql, &db->lock,
        "SELECT e.client_id, c.name, e.instance, e.every_s, e.created, e.alarm_since,"
        " e.alarm_sent, (SELECT MAX(b.created) FROM backups b WHERE b.client_id = e.client_id"
        "   AND b.instance = e.instance), c.active"
        " FROM expectations e JOIN clients c ON c.id = e.client_id ORDER BY c.name, e.instance",
        sizeof(**list), expect_row, NULL, (void **)list, count, "list the expectations", err);
}

mfb_status server_db_expect_alarm(struct server_db *db, int64_t client_id, const char *instance,
                                  int64_t since, int64_t sent, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql,
                                    "UPDATE expectations SET alarm_since = ?3, alarm_sent = ?4 "
                                    "WHERE client_id = ?1 AND instance = ?2",
                                    &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, client_id);
        sqlite3_bind_text(stmt, 2, instance, -1, SQLITE_STATIC);
        if (since > 0) {
            sqlite3_bind_int64(stmt, 3, since);
            sqlite3_bind_int64(stmt, 4, sent);
        }
        st = sqlutil_run(db->sql, stmt, "record the alarm", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- uploads in progress (the dashboard) ---- */

static mfb_status upload_row(sqlite3_stmt *stmt, void *row, struct mfb_error *err)
{
    (void)err;
    struct srv_upload_progress *u = row;
    sqlutil_copy_text(u->id, sizeof(u->id), stmt, 0);
    sqlutil_copy_text(u->client, sizeof(u->client), stmt, 1);
    sqlutil_copy_text(u->instance, sizeof(u->instance), stmt, 2);
    sqlutil_copy_text(u->name, sizeof(u->name), stmt, 3);
    u->size_known = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
    u->size = u->size_known ? (uint64_t)sqlite3_column_int64(stmt, 4) : 0;
    u->created = sqlite3_column_int64(stmt, 5);
    u->updated = sqlite3_column_int64(stmt, 6);
    u->received = (uint64_t)sqlite3_column_int64(stmt, 7);
    return MFB_OK;
}

mfb_status server_db_upload_progress(struct server_db *db, struct srv_upload_progress **list,
                                     size_t *count, struct mfb_error *err)
{
    return config_rows_list_locked(
        db->sql, &db->lock,
        "SELECT u.id, c.name, u.instance, u.name, u.size, u.created, u.updated,"
        " (SELECT COALESCE(SUM(k.size), 0) FROM chunks k WHERE k.upload_id = u.id)"
        " FROM uploads u JOIN clients c ON c.id = u.client_id WHERE u.complete = 0"
        " ORDER BY u.created, u.id",
        sizeof(**list), upload_row, NULL, (void **)list, count, "list the uploads in progress",
        err);
}
