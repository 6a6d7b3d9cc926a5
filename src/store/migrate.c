/*
 * migrate.c - the migration runner (see migrate.h).
 */
#include "store/migrate.h"

#include <stdio.h>

mfb_status migrate_version(sqlite3 *db, int *version, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    *version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
        return mfb_error_set(err, MFB_ERR_DATABASE, "cannot read the schema version: %s",
                             sqlite3_errmsg(db));
    mfb_status st = MFB_OK;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *version = sqlite3_column_int(stmt, 0);
    else
        st = mfb_error_set(err, MFB_ERR_DATABASE, "cannot read the schema version: %s",
                           sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return st;
}

mfb_status migrate_run(sqlite3 *db, const char *what, const struct migration *migrations,
                       size_t count, struct mfb_error *err)
{
    int version;
    mfb_status st = migrate_version(db, &version, err);
    if (st != MFB_OK)
        return st;
    int latest = count > 0 ? migrations[count - 1].version : 0;
    if (version > latest) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "the %s has schema version %d, newer than this program knows (%d)", what,
                      version, latest);
        mfb_error_hint(err, "use the mfb release that created it, or a newer one");
        return MFB_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < count; i++) {
        const struct migration *m = &migrations[i];
        if (m->version <= version)
            continue;
        char *msg = NULL;
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            mfb_error_set(err, MFB_ERR_DATABASE, "cannot migrate the %s to version %d: %s", what,
                          m->version, msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return MFB_ERR_DATABASE;
        }
    }
    return MFB_OK;
}
