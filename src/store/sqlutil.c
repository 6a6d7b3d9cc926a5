/*
 * sqlutil.c - SQLite idioms shared by the store modules (see sqlutil.h).
 */
#include "store/sqlutil.h"

#include <stdlib.h>
#include <string.h>

mfb_status sqlutil_fail(sqlite3 *db, const char *what, struct mfb_error *err)
{
    int code = sqlite3_errcode(db);
    if (code == SQLITE_FULL)
        return mfb_error_set(err, MFB_ERR_NO_SPACE, "cannot %s: the disk is full", what);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        mfb_error_set(err, MFB_ERR_BUSY, "cannot %s: the database is locked", what);
        mfb_error_hint(err, "another mfb process holds it; try again when it is done");
        return MFB_ERR_BUSY;
    }
    return mfb_error_set(err, MFB_ERR_DATABASE, "cannot %s: %s", what, sqlite3_errmsg(db));
}

mfb_status sqlutil_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt,
                           struct mfb_error *err)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) != SQLITE_OK)
        return sqlutil_fail(db, "prepare a query", err);
    return MFB_OK;
}

mfb_status sqlutil_run(sqlite3 *db, sqlite3_stmt *stmt, const char *what, struct mfb_error *err)
{
    int rc = sqlite3_step(stmt);
    mfb_status st = rc == SQLITE_DONE ? MFB_OK : sqlutil_fail(db, what, err);
    sqlite3_finalize(stmt);
    return st;
}

mfb_status sqlutil_exec(sqlite3 *db, const char *sql, const char *what, struct mfb_error *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sqlutil_fail(db, what, err);
    return MFB_OK;
}

void sqlutil_bind_text(sqlite3_stmt *stmt, int col, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, col);
}

void sqlutil_copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    size_t n = t ? strlen((const char *)t) : 0;
    if (n >= len)
        n = len - 1;
    if (n > 0)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

char *sqlutil_dup_text(sqlite3_stmt *stmt, int col, int *oom)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    if (t == NULL)
        return NULL;
    char *copy = strdup((const char *)t);
    if (copy == NULL)
        *oom = 1;
    return copy;
}
