/*
 * config_rows.c - the generic row helpers the client database's modules
 * share (see config_db_internal.h): reading rows into growing lists,
 * getting and saving a named record, the errors for a taken or a missing
 * name, and ending a transaction.
 */
#include "store/config_db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlutil.h"

int config_rows_lookup(const char *const *names, size_t count, const char *text)
{
    for (size_t i = 0; text && i < count; i++) {
        if (strcmp(names[i], text) == 0)
            return (int)i;
    }
    return -1;
}

const char *config_rows_name(const char *const *names, size_t count, unsigned value)
{
    return value < count ? names[value] : "?";
}

int config_rows_parse(const struct config_words *words, const char *text, struct mfb_error *err)
{
    int i = config_rows_lookup(words->names, words->count, text);
    if (i < 0) {
        mfb_error_set(err, MFB_ERR_USAGE, "%s '%s'", words->what, text ? text : "");
        mfb_error_hint(err, "%s", words->hint);
    }
    return i;
}

bool config_rows_is_duplicate(struct config_db *db)
{
    return sqlite3_extended_errcode(db->sql) == SQLITE_CONSTRAINT_UNIQUE;
}

mfb_status config_rows_not_found(struct mfb_error *err, const char *group, const char *name)
{
    mfb_error_set(err, MFB_ERR_NOT_FOUND, "no %s named '%s'", group, name);
    mfb_error_hint(err, "'mfb %s list' shows the configured %ss", group, group);
    return MFB_ERR_NOT_FOUND;
}

mfb_status config_rows_exists(struct mfb_error *err, const char *group, const char *name)
{
    mfb_error_set(err, MFB_ERR_EXISTS, "%s '%s' already exists", group, name);
    mfb_error_hint(err, "change it with 'mfb %s set %s ...', or choose another name", group, name);
    return MFB_ERR_EXISTS;
}

mfb_status config_rows_grow(void **list, size_t *count, size_t *cap, size_t size,
                            struct mfb_error *err)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *n = realloc(*list, ncap * size);
        if (n == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        *list = n;
        *cap = ncap;
    }
    memset((char *)*list + *count * size, 0, size);
    return MFB_OK;
}

mfb_status config_rows_read(sqlite3 *sql, sqlite3_stmt *stmt, size_t size, row_reader read,
                            row_dropper drop, void **list, size_t *count, const char *what,
                            struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    size_t cap = 0;
    mfb_status st = MFB_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        st = config_rows_grow(list, count, &cap, size, err);
        if (st == MFB_OK)
            st = read(stmt, (char *)*list + *count * size, err);
        if (st != MFB_OK)
            break;
        (*count)++;
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = sqlutil_fail(sql, what, err);
    sqlite3_finalize(stmt);
    if (st != MFB_OK) {
        for (size_t i = 0; drop && i < *count; i++)
            drop((char *)*list + i * size);
        free(*list);
        *list = NULL;
        *count = 0;
    }
    return st;
}

mfb_status config_rows_list_locked(sqlite3 *db, pthread_mutex_t *lock, const char *sql, size_t size,
                                   row_reader read, row_dropper drop, void **list, size_t *count,
                                   const char *what, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(lock);
    mfb_status st = sqlutil_prepare(db, sql, &stmt, err);
    if (st == MFB_OK)
        st = config_rows_read(db, stmt, size, read, drop, list, count, what, err);
    pthread_mutex_unlock(lock);
    return st;
}

mfb_status config_rows_list_all(struct config_db *db, const char *sql, size_t size, row_reader read,
                                row_dropper drop, void **list, size_t *count, const char *what,
                                struct mfb_error *err)
{
    return config_rows_list_locked(db->sql, &db->lock, sql, size, read, drop, list, count, what,
                                   err);
}

mfb_status config_rows_get_named(struct config_db *db, const char *sql, const char *name,
                                 row_reader read, void *out, const char *group,
                                 struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        st = read(stmt, out, err);
    } else if (rc == SQLITE_DONE) {
        st = config_rows_not_found(err, group, name);
    } else {
        char what[64];
        snprintf(what, sizeof(what), "read the %s", group);
        st = sqlutil_fail(db->sql, what, err);
    }
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_rows_save_named(struct config_db *db, const char *sql, row_binder bind,
                                  const void *rec, const char *group, const char *name, int64_t *id,
                                  struct mfb_error *err)
{
    char what[64];
    snprintf(what, sizeof(what), "save the %s", group);
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = sqlutil_prepare(db->sql, sql, &stmt, err);
    if (st != MFB_OK)
        goto done;
    bind(stmt, rec);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        st = config_rows_is_duplicate(db) ? config_rows_exists(err, group, name)
                                          : sqlutil_fail(db->sql, what, err);
    else if (id != NULL)
        *id = sqlite3_last_insert_rowid(db->sql);
    else if (sqlite3_changes(db->sql) == 0)
        st = config_rows_not_found(err, group, name);
done:
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status config_rows_finish_tx(struct config_db *db, mfb_status st, struct mfb_error *err)
{
    if (st == MFB_OK)
        return sqlutil_exec(db->sql, "COMMIT", "commit", err);
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return st;
}
