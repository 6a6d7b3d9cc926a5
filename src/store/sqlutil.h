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
#include <stdint.h>

#include "common/status.h"
#include "store/migrate.h"

/* Creates an empty database file for a program's private use: the missing
 * parent directories with mode 0700, the file itself with mode 0600
 * exactly (whatever the umask), never replacing an existing file. SQLite
 * gives the -wal and -shm files the same mode. */
mfb_status sqlutil_create_private(const char *path, struct mfb_error *err);

/* Opens an existing database the way every mfb database is used: one
 * serialized connection, extended result codes, a 10 s busy timeout, WAL
 * with synchronous=FULL, foreign keys on; then migrates it. `what` names it
 * in messages ("configuration database").
 *
 * application_id (PRAGMA application_id), when not 0, says which kind of
 * mfb database this is: a new database gets it, and one with another id,
 * or with a schema but no id, is refused (MFB_ERR_INVALID) before any
 * migration touches it, so that a --db or $MFB_DB pointing at the other
 * program's database cannot damage it. Allocates *db (sqlite3_close). */
mfb_status sqlutil_open(const char *path, const char *what, int32_t application_id,
                        const struct migration *migrations, size_t count, sqlite3 **db,
                        struct mfb_error *err);

/* Adds to err, unless it has one, the hint for the connection's last
 * error when the file is the cause: damaged (restore it from a copy), not
 * writable (what SQLite needs to write), full (free space). */
void sqlutil_hint(sqlite3 *db, struct mfb_error *err);

/* Sets err from the connection's last error; what is "save the instance".
 * A full disk, a damaged or unwritable file get a hint (sqlutil_hint). */
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
