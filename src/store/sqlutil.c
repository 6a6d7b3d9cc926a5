/*
 * sqlutil.c - SQLite idioms shared by the store modules (see sqlutil.h).
 */
#include "store/sqlutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

mfb_status sqlutil_create_private(const char *path, struct mfb_error *err)
{
    char dir[4096];
    if (!fs_dirname(path, dir, sizeof(dir)))
        return mfb_error_set(err, MFB_ERR_INVALID, "the path '%s' is too long", path);
    mfb_status st = fs_mkdir_p(dir, 0700, err);
    if (st != MFB_OK)
        return st;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", path);
    /* A umask such as 0277 would leave it unwritable: 0600 exactly. */
    int rc = fchmod(fd, 0600);
    int saved = errno;
    close(fd);
    if (rc != 0)
        return mfb_error_errno(err, saved, MFB_ERR_IO, "cannot set the mode of '%s'", path);
    return MFB_OK;
}

void sqlutil_hint(sqlite3 *db, struct mfb_error *err)
{
    if (db == NULL || err == NULL || err->hint[0] != '\0')
        return;
    const char *path = sqlite3_db_filename(db, "main");
    if (path == NULL || path[0] == '\0')
        return;
    switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        mfb_error_hint(err,
                       "the file '%s' is damaged: restore it from a copy (sqlite3 '%s' 'PRAGMA "
                       "integrity_check' shows what is wrong)",
                       path, path);
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR: {
        /* SQLite's own errno is that of its last system call, often not
         * the cause: ask the file and its directory. */
        char dir[4096] = ".";
        fs_dirname(path, dir, sizeof(dir));
        const char *bad = access(path, W_OK) != 0 ? path : access(dir, W_OK) != 0 ? dir : NULL;
        if (bad != NULL)
            mfb_error_hint(err,
                           "'%s' is not writable (%s); the file and its directory must be "
                           "writable: SQLite keeps its -wal and -shm files beside it",
                           bad, strerror(errno));
        else if ((sqlite3_errcode(db) & 0xff) == SQLITE_IOERR)
            mfb_error_hint(err, "the disk holding '%s' failed a read or write: check it (dmesg)",
                           path);
        else
            mfb_error_hint(err,
                           "the file '%s' and its directory must be writable: SQLite keeps its "
                           "-wal and -shm files beside it",
                           path);
        break;
    }
    case SQLITE_FULL:
        mfb_error_hint(err, "free space on the file system of '%s'", path);
        break;
    default:
        break;
    }
}

/* Reads an integer PRAGMA. */
static int pragma_int(sqlite3 *db, const char *sql, int *value)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *value = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Refuses a database of another kind; stamps a new one. */
static mfb_status check_application_id(sqlite3 *db, const char *path, const char *what,
                                       int32_t expected, struct mfb_error *err)
{
    int id = 0, version = 0;
    if (pragma_int(db, "PRAGMA application_id", &id) != SQLITE_OK ||
        pragma_int(db, "PRAGMA user_version", &version) != SQLITE_OK)
        return mfb_error_set(err, MFB_ERR_DATABASE, "cannot open '%s': %s", path,
                             sqlite3_errmsg(db));
    if (id == expected)
        return MFB_OK;
    if (id != 0 || version != 0) {
        mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not an mfb %s", path, what);
        mfb_error_hint(err, "it belongs to another program (mfb and mfb-server each have their "
                            "own); pass --db with the right path");
        return MFB_ERR_INVALID;
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", (int)expected);
    return sqlutil_exec(db, sql, "set up the database", err);
}

mfb_status sqlutil_open(const char *path, const char *what, int32_t application_id,
                        const struct migration *migrations, size_t count, sqlite3 **out,
                        struct mfb_error *err)
{
    sqlite3 *db = NULL;
    mfb_status st = MFB_OK;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        st = mfb_error_set(err, MFB_ERR_DATABASE, "cannot open '%s': %s", path,
                           db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     "PRAGMA foreign_keys=ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        st = mfb_error_set(err, MFB_ERR_DATABASE, "cannot open '%s': %s", path,
                           msg ? msg : sqlite3_errmsg(db));
        if (sqlite3_errcode(db) == SQLITE_NOTADB)
            mfb_error_hint(err, "it is not the %s; pass --db with the right path", what);
        sqlite3_free(msg);
        goto done;
    }
    if (application_id != 0)
        st = check_application_id(db, path, what, application_id, err);
    if (st == MFB_OK)
        st = migrate_run(db, what, migrations, count, err);
done:
    if (st != MFB_OK) {
        sqlutil_hint(db, err);
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return MFB_OK;
}

mfb_status sqlutil_fail(sqlite3 *db, const char *what, struct mfb_error *err)
{
    int code = sqlite3_errcode(db) & 0xff;
    mfb_status st;
    if (code == SQLITE_FULL) {
        st = mfb_error_set(err, MFB_ERR_NO_SPACE, "cannot %s: the disk is full", what);
    } else if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        mfb_error_set(err, MFB_ERR_BUSY, "cannot %s: the database is locked", what);
        mfb_error_hint(err, "another mfb process holds it; try again when it is done");
        return MFB_ERR_BUSY;
    } else {
        st = mfb_error_set(err, MFB_ERR_DATABASE, "cannot %s: %s", what, sqlite3_errmsg(db));
    }
    sqlutil_hint(db, err);
    return st;
}

mfb_status sqlutil_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, struct mfb_error *err)
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
