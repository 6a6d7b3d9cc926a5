/*
 * expect_alarms.c - the SQL of the silence alarms' state (see
 * expect_alarms.h).
 */
#include "store/expect_alarms.h"

#include "store/config_db_internal.h"
#include "store/sqlutil.h"

const char *expect_what_str(enum expect_what w)
{
    return w == EXPECT_DRILL ? "drill" : "backup";
}

mfb_status expect_alarm_get(struct config_db *db, const char *instance, enum expect_what what,
                            struct expect_alarm *out, bool *found, struct mfb_error *err)
{
    *found = false;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql, "SELECT since, last_sent FROM expect_alarms WHERE instance = ?1 AND what = ?2",
        &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, expect_what_str(what), -1, SQLITE_STATIC);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            out->since_ms = sqlite3_column_int64(stmt, 0);
            out->last_sent_ms = sqlite3_column_int64(stmt, 1);
            *found = true;
        } else if (rc != SQLITE_DONE) {
            st = sqlutil_fail(db->sql, "read an alarm", err);
        }
    }
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status expect_alarm_set(struct config_db *db, const char *instance, enum expect_what what,
                            const struct expect_alarm *a, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql,
        "INSERT INTO expect_alarms (instance, what, since, last_sent) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (instance, what) DO UPDATE SET since = ?3, last_sent = ?4",
        &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, expect_what_str(what), -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, a->since_ms);
        sqlite3_bind_int64(stmt, 4, a->last_sent_ms);
        st = sqlutil_run(db->sql, stmt, "record an alarm", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status expect_alarm_clear(struct config_db *db, const char *instance, enum expect_what what,
                              struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(
        db->sql, "DELETE FROM expect_alarms WHERE instance = ?1 AND what = ?2", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, expect_what_str(what), -1, SQLITE_STATIC);
        st = sqlutil_run(db->sql, stmt, "clear an alarm", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status expect_alarm_prune(struct config_db *db, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        sqlutil_exec(db->sql,
                     "DELETE FROM expect_alarms WHERE NOT EXISTS (SELECT 1 FROM instances i"
                     " WHERE i.name = expect_alarms.instance AND ((expect_alarms.what = 'backup'"
                     " AND i.expect_every_ms > 0) OR (expect_alarms.what = 'drill'"
                     " AND i.expect_drill_every_ms > 0)))",
                     "forget the alarms of removed instances and expectations", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}
