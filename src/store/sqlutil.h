/*
 * sqlutil.h - the small SQLite idioms every store module repeats: turning
 * the connection's last error into an mfb_error, preparing, running a
 * statement without rows, and copying columns out.
 *
 * Errors keep the mfb convention: a full disk is MFB_ERR_NO_SPACE, a lock
 * held too long MFB_ERR_BUSY, anything else MFB_ERR_DATABASE, with `what`
 * saying what mfb was doing ("cannot save the instance: ...").
 */
#ifndef MFB_STORE_SQLUTIL_H
#define MFB_STORE_SQLUTIL_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/status.h"

/* Sets err from the connection's last error; what is "save the instance". */
mfb_status sqlutil_fail(sqlite3 *db, const char *what, struct mfb_error *err);

/* sqlite3_prepare_v2, with the error set on failure. */
mfb_status sqlutil_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt,
                           struct mfb_error *err);

/* Steps a statement that returns no rows and finalizes it. */
mfb_status sqlutil_run(sqlite3 *db, sqlite3_stmt *stmt, const char *what, struct mfb_error *err);

/* Runs SQL text without parameters (BEGIN, COMMIT, PRAGMA ...). */
mfb_status sqlutil_exec(sqlite3 *db, const char *sql, const char *what, struct mfb_error *err);

/* Binds text, or NULL when text is NULL. The text must outlive the step. */
void sqlutil_bind_text(sqlite3_stmt *stmt, int col, const char *text);

/* Copies a text column into dst (truncating; "" for NULL). */
void sqlutil_copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col);

/* A copy of a text column, or NULL for SQL NULL. Sets *oom when the copy
 * failed (the column was not NULL), which callers turn into an error. */
char *sqlutil_dup_text(sqlite3_stmt *stmt, int col, int *oom);

#endif
