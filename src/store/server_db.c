/*
 * server_db.c - every SQL statement of the receiver's catalog (see
 * server_db.h). Statements are prepared per call: the receiver runs a few
 * dozen per second, and this keeps each function self-contained.
 */
#include "store/server_db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "store/migrate.h"
#include "store/server_db_internal.h"
#include "store/sqlutil.h"

/* PRAGMA application_id of a receiver database ("mfbs"): the client's
 * configuration database has another, so neither program can migrate the
 * other's file when --db or $MFB_DB points at the wrong one. */
#define SERVER_DB_APPLICATION_ID 0x6d666273

static const struct migration migrations[] = {
    {1, "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE clients ("
        "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  token_sha256 BLOB UNIQUE, quota INTEGER NOT NULL DEFAULT 0,"
        "  active INTEGER NOT NULL DEFAULT 1, created INTEGER NOT NULL);"
        "CREATE TABLE uploads ("
        "  id TEXT PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES clients(id),"
        "  instance TEXT NOT NULL, name TEXT NOT NULL, directory TEXT NOT NULL DEFAULT '',"
        "  size INTEGER, chunk_size INTEGER NOT NULL, metadata TEXT,"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
        "  complete INTEGER NOT NULL DEFAULT 0, backup_id TEXT, publish_path TEXT);"
        "CREATE INDEX uploads_by_client ON uploads(client_id);"
        "CREATE TABLE chunks ("
        "  upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,"
        "  idx INTEGER NOT NULL, size INTEGER NOT NULL, sha256 BLOB NOT NULL,"
        "  PRIMARY KEY (upload_id, idx)) WITHOUT ROWID;"
        "CREATE TABLE backups ("
        "  id TEXT PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES clients(id),"
        "  instance TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,"
        "  size INTEGER NOT NULL, sha256 TEXT NOT NULL, created INTEGER NOT NULL,"
        "  metadata TEXT, upload_id TEXT NOT NULL);"
        "CREATE INDEX backups_by_instance ON backups(client_id, instance, created);"
        "CREATE TABLE retention ("
        "  client_id INTEGER NOT NULL REFERENCES clients(id), instance TEXT NOT NULL,"
        "  keep_last INTEGER NOT NULL DEFAULT -1, max_age_s INTEGER NOT NULL DEFAULT -1,"
        "  max_bytes INTEGER NOT NULL DEFAULT -1, PRIMARY KEY (client_id, instance));"},
    /* Restore drills (docs/drill.md): who proved a backup restorable (or
     * not), when, and how. Removed with their backup, by retention too. */
    {2, "CREATE TABLE verifications ("
        "  id INTEGER PRIMARY KEY,"
        "  backup_id TEXT NOT NULL REFERENCES backups(id) ON DELETE CASCADE,"
        "  client_id INTEGER NOT NULL, verified_by TEXT NOT NULL, host TEXT,"
        "  time INTEGER NOT NULL, result TEXT NOT NULL CHECK (result IN ('passed', 'failed')),"
        "  tables INTEGER NOT NULL DEFAULT 0, detail TEXT);"
        "CREATE INDEX verifications_by_backup ON verifications(backup_id, id);"},
    /* The receiver's silence alarms and the channels they go to
     * (docs/monitoring.md, store/server_monitor.h): the columns of the
     * client's alert channels, and per client and instance how often a
     * complete backup is expected, with the alarm that fires now. */
    {3, "CREATE TABLE alert_channels ("
        "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email', 'command')),"
        "  min_severity TEXT NOT NULL DEFAULT 'warning'"
        "    CHECK (min_severity IN ('info', 'warning', 'error', 'critical')),"
        "  url TEXT, secret TEXT, smtp_user TEXT, mail_from TEXT, mail_to TEXT,"
        "  ca_file TEXT, command TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
        "CREATE TABLE expectations ("
        "  client_id INTEGER NOT NULL REFERENCES clients(id), instance TEXT NOT NULL,"
        "  every_s INTEGER NOT NULL CHECK (every_s > 0), created INTEGER NOT NULL,"
        "  alarm_since INTEGER, alarm_sent INTEGER,"
        "  PRIMARY KEY (client_id, instance));"},
};

/* Sets err from the connection's last error. */
static mfb_status db_fail(struct server_db *db, struct mfb_error *err, const char *what)
{
    int code = sqlite3_errcode(db->sql);
    if (code == SQLITE_FULL)
        return mfb_error_set(err, MFB_ERR_NO_SPACE, "cannot %s: the disk is full", what);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return mfb_error_set(err, MFB_ERR_BUSY, "cannot %s: database is locked", what);
    mfb_status st =
        mfb_error_set(err, MFB_ERR_DATABASE, "cannot %s: %s", what, sqlite3_errmsg(db->sql));
    sqlutil_hint(db->sql, err);
    return st;
}

static mfb_status prepare(struct server_db *db, const char *sql, sqlite3_stmt **stmt,
                          struct mfb_error *err)
{
    if (sqlite3_prepare_v2(db->sql, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_fail(db, err, "prepare a query");
    return MFB_OK;
}

/* Runs a statement that returns no rows; finalizes it. */
static mfb_status run_done(struct server_db *db, sqlite3_stmt *stmt, const char *what,
                           struct mfb_error *err)
{
    int rc = sqlite3_step(stmt);
    mfb_status st = rc == SQLITE_DONE ? MFB_OK : db_fail(db, err, what);
    sqlite3_finalize(stmt);
    return st;
}

/* Steps stmt for its one row, if any, read into elem by read; finalizes
 * stmt. *found says whether there was a row (the caller words "not found"). */
static mfb_status read_one_row(struct server_db *db, sqlite3_stmt *stmt,
                               void (*read)(sqlite3_stmt *stmt, void *elem), void *elem,
                               bool *found, const char *what, struct mfb_error *err)
{
    int rc = sqlite3_step(stmt);
    *found = rc == SQLITE_ROW;
    if (*found)
        read(stmt, elem);
    mfb_status st = rc == SQLITE_ROW || rc == SQLITE_DONE ? MFB_OK : db_fail(db, err, what);
    sqlite3_finalize(stmt);
    return st;
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static char *dup_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? strdup((const char *)t) : NULL;
}

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, col, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, col);
}

/* Steps stmt to the end, appending one element of elem_size per row, filled
 * by read. Finalizes stmt. On failure *list is freed (elements that own
 * memory are released by the caller's free_elem, if any). */
static mfb_status collect_rows(struct server_db *db, sqlite3_stmt *stmt, void **list, size_t *count,
                               size_t elem_size, void (*read)(sqlite3_stmt *stmt, void *elem),
                               void (*free_elem)(void *elem), const char *what,
                               struct mfb_error *err)
{
    mfb_status st = MFB_OK;
    size_t cap = 0;
    int rc;
    *list = NULL;
    *count = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(*list, cap * elem_size);
            if (grown == NULL) {
                st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
                break;
            }
            *list = grown;
        }
        read(stmt, (char *)*list + (*count)++ * elem_size);
    }
    if (st == MFB_OK && rc != SQLITE_DONE)
        st = db_fail(db, err, what);
    sqlite3_finalize(stmt);
    if (st != MFB_OK) {
        for (size_t i = 0; free_elem && i < *count; i++)
            free_elem((char *)*list + i * elem_size);
        free(*list);
        *list = NULL;
        *count = 0;
    }
    return st;
}

/* Every row of a query without parameters, under the lock: collect_rows
 * over a statement it prepares. */
static mfb_status list_all(struct server_db *db, const char *sql, void **list, size_t *count,
                           size_t elem_size, void (*read)(sqlite3_stmt *stmt, void *elem),
                           const char *what, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, sql, &stmt, err);
    if (st == MFB_OK)
        st = collect_rows(db, stmt, list, count, elem_size, read, NULL, what, err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_open(const char *path, bool create, struct server_db **out,
                          struct mfb_error *err)
{
    *out = NULL;
    bool made = false;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (!create) {
            mfb_error_set(err, MFB_ERR_NOT_FOUND, "no receiver database at '%s'", path);
            mfb_error_hint(err, "run 'mfb-server init --storage DIR' first, or pass --db PATH");
            return MFB_ERR_NOT_FOUND;
        }
        mfb_status st = sqlutil_create_private(path, err);
        if (st != MFB_OK)
            return st;
        made = true;
    }
    struct server_db *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&db->lock, NULL);
    snprintf(db->path, sizeof(db->path), "%s", path);
    mfb_status st = sqlutil_open(path, "receiver database", SERVER_DB_APPLICATION_ID, migrations,
                                 sizeof(migrations) / sizeof(migrations[0]), &db->sql, err);
    if (st != MFB_OK) {
        server_db_close(db);
        if (made)
            unlink(path);
        return st;
    }
    *out = db;
    return MFB_OK;
}

void server_db_close(struct server_db *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->sql);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

/* ---- settings ---- */

static void read_setting(sqlite3_stmt *stmt, void *elem)
{
    *(char **)elem = dup_text(stmt, 0);
}

mfb_status server_db_setting_get(struct server_db *db, const char *key, char **value,
                                 struct mfb_error *err)
{
    *value = NULL;
    sqlite3_stmt *stmt;
    bool found;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, "SELECT value FROM settings WHERE key = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        st = read_one_row(db, stmt, read_setting, value, &found, "read a setting", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_setting_set(struct server_db *db, const char *key, const char *value,
                                 struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO settings(key, value) VALUES(?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
        st = run_done(db, stmt, "save a setting", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- clients ---- */

#define CLIENT_COLUMNS "id, name, quota, active, created"

static void read_client(sqlite3_stmt *stmt, void *elem)
{
    struct srv_client *c = elem;
    memset(c, 0, sizeof(*c));
    c->id = sqlite3_column_int64(stmt, 0);
    copy_text(c->name, sizeof(c->name), stmt, 1);
    c->quota = (uint64_t)sqlite3_column_int64(stmt, 2);
    c->active = sqlite3_column_int(stmt, 3) != 0;
    c->created = sqlite3_column_int64(stmt, 4);
}

mfb_status server_db_client_add(struct server_db *db, const char *name,
                                const uint8_t token_hash[SHA256_LEN], uint64_t quota,
                                struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    /* A removed client's name may be added again: it gets a new token and keeps its backups. */
    mfb_status st = prepare(db,
                            "INSERT INTO clients(name, token_sha256, quota, active, created) "
                            "VALUES(?1, ?2, ?3, 1, ?4) ON CONFLICT(name) DO UPDATE SET "
                            "token_sha256 = ?2, quota = ?3, active = 1 WHERE active = 0",
                            &stmt, err);
    if (st != MFB_OK)
        goto done;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, token_hash, SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)quota);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)time(NULL));
    st = run_done(db, stmt, "add the client", err);
    if (st == MFB_OK && sqlite3_changes(db->sql) == 0) {
        st = mfb_error_set(err, MFB_ERR_EXISTS, "client '%s' already exists", name);
        mfb_error_hint(err, "remove it first to issue a new token, or choose another name");
    }
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

static mfb_status client_update(struct server_db *db, const char *sql, const char *name,
                                uint64_t value, bool bind_value, struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, sql, &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        if (bind_value)
            sqlite3_bind_int64(stmt, 2, (sqlite3_int64)value);
        st = run_done(db, stmt, "update the client", err);
        if (st == MFB_OK && sqlite3_changes(db->sql) == 0) {
            st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no client named '%s'", name);
            mfb_error_hint(err, "'mfb-server client list' shows the clients");
        }
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_client_remove(struct server_db *db, const char *name, struct mfb_error *err)
{
    return client_update(db,
                         "UPDATE clients SET active = 0, token_sha256 = NULL "
                         "WHERE name = ?1 AND active = 1",
                         name, 0, false, err);
}

mfb_status server_db_client_set_quota(struct server_db *db, const char *name, uint64_t quota,
                                      struct mfb_error *err)
{
    return client_update(db, "UPDATE clients SET quota = ?2 WHERE name = ?1", name, quota, true,
                         err);
}

static mfb_status client_one(struct server_db *db, const char *sql, const void *key, int key_len,
                             struct srv_client *out, struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    bool found;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, sql, &stmt, err);
    if (st == MFB_OK) {
        if (key_len < 0)
            sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        else
            sqlite3_bind_blob(stmt, 1, key, key_len, SQLITE_STATIC);
        st = read_one_row(db, stmt, read_client, out, &found, "look up a client", err);
    }
    if (st == MFB_OK && !found)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no such client");
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_client_by_token(struct server_db *db, const uint8_t token_hash[SHA256_LEN],
                                     struct srv_client *out, struct mfb_error *err)
{
    return client_one(
        db, "SELECT " CLIENT_COLUMNS " FROM clients WHERE token_sha256 = ? AND active = 1",
        token_hash, SHA256_LEN, out, err);
}

mfb_status server_db_client_by_name(struct server_db *db, const char *name, struct srv_client *out,
                                    struct mfb_error *err)
{
    mfb_status st =
        client_one(db, "SELECT " CLIENT_COLUMNS " FROM clients WHERE name = ?", name, -1, out, err);
    if (st == MFB_ERR_NOT_FOUND && err) {
        mfb_error_clear(err);
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no client named '%s'", name);
        mfb_error_hint(err, "'mfb-server client list' shows the clients");
    }
    return st;
}

static void read_client_usage(sqlite3_stmt *stmt, void *elem)
{
    struct srv_client *c = elem;
    read_client(stmt, c);
    c->stored_bytes = (uint64_t)sqlite3_column_int64(stmt, 5);
    c->backups = (uint64_t)sqlite3_column_int64(stmt, 6);
}

mfb_status server_db_client_list(struct server_db *db, struct srv_client **list, size_t *count,
                                 struct mfb_error *err)
{
    return list_all(db,
                    "SELECT c.id, c.name, c.quota, c.active, c.created, "
                    "  COALESCE(SUM(b.size), 0), COUNT(b.id) "
                    "FROM clients c LEFT JOIN backups b ON b.client_id = c.id "
                    "GROUP BY c.id ORDER BY c.name",
                    (void **)list, count, sizeof(**list), read_client_usage, "list clients", err);
}

/* ---- uploads and chunks ---- */

mfb_status server_db_upload_create(struct server_db *db, const struct srv_upload *u,
                                   struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO uploads(id, client_id, instance, name, directory, size, "
                            "chunk_size, metadata, created, updated) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, u->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, u->client_id);
        sqlite3_bind_text(stmt, 3, u->instance, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, u->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, u->directory, -1, SQLITE_STATIC);
        if (u->size_known)
            sqlite3_bind_int64(stmt, 6, (sqlite3_int64)u->size);
        else
            sqlite3_bind_null(stmt, 6);
        sqlite3_bind_int64(stmt, 7, (sqlite3_int64)u->chunk_size);
        bind_text_or_null(stmt, 8, u->metadata);
        sqlite3_bind_int64(stmt, 9, u->created);
        sqlite3_bind_int64(stmt, 10, u->updated);
        st = run_done(db, stmt, "record the upload", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void read_upload(sqlite3_stmt *stmt, void *elem)
{
    struct srv_upload *u = elem;
    copy_text(u->id, sizeof(u->id), stmt, 0);
    u->client_id = sqlite3_column_int64(stmt, 1);
    copy_text(u->instance, sizeof(u->instance), stmt, 2);
    copy_text(u->name, sizeof(u->name), stmt, 3);
    copy_text(u->directory, sizeof(u->directory), stmt, 4);
    u->size_known = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
    u->size = (uint64_t)sqlite3_column_int64(stmt, 5);
    u->chunk_size = (uint64_t)sqlite3_column_int64(stmt, 6);
    u->metadata = dup_text(stmt, 7);
    u->created = sqlite3_column_int64(stmt, 8);
    u->updated = sqlite3_column_int64(stmt, 9);
    u->complete = sqlite3_column_int(stmt, 10) != 0;
    copy_text(u->backup_id, sizeof(u->backup_id), stmt, 11);
    u->publish_path = dup_text(stmt, 12);
}

mfb_status server_db_upload_get(struct server_db *db, const char *id, int64_t client_id,
                                struct srv_upload *u, struct mfb_error *err)
{
    memset(u, 0, sizeof(*u));
    sqlite3_stmt *stmt;
    bool found;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "SELECT id, client_id, instance, name, directory, size, chunk_size, "
                            "metadata, created, updated, complete, backup_id, publish_path "
                            "FROM uploads WHERE id = ?1 AND (?2 = 0 OR client_id = ?2)",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, client_id);
        st = read_one_row(db, stmt, read_upload, u, &found, "look up the upload", err);
    }
    if (st == MFB_OK && !found)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no upload '%s'", id);
    pthread_mutex_unlock(&db->lock);
    return st;
}

void server_db_upload_free(struct srv_upload *u)
{
    if (u == NULL)
        return;
    free(u->metadata);
    free(u->publish_path);
    u->metadata = u->publish_path = NULL;
}

static void read_chunk(sqlite3_stmt *stmt, void *elem)
{
    struct srv_chunk *c = elem;
    c->index = (uint64_t)sqlite3_column_int64(stmt, 0);
    c->size = (uint64_t)sqlite3_column_int64(stmt, 1);
    memset(c->sha256, 0, SHA256_LEN);
    if (sqlite3_column_bytes(stmt, 2) == SHA256_LEN)
        memcpy(c->sha256, sqlite3_column_blob(stmt, 2), SHA256_LEN);
}

mfb_status server_db_upload_chunks(struct server_db *db, const char *id, struct srv_chunk **chunks,
                                   size_t *count, struct mfb_error *err)
{
    *chunks = NULL;
    *count = 0;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(
        db, "SELECT idx, size, sha256 FROM chunks WHERE upload_id = ? ORDER BY idx", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        st = collect_rows(db, stmt, (void **)chunks, count, sizeof(**chunks), read_chunk, NULL,
                          "list the chunks", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Runs sql, a statement that takes one text key (?1) and returns no rows
 * (lock held). */
static mfb_status run_with_key_locked(struct server_db *db, const char *sql, const char *key,
                                      const char *what, struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    mfb_status st = prepare(db, sql, &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        st = run_done(db, stmt, what, err);
    }
    return st;
}

/* Runs the statements of a transaction body with the lock held. */
static mfb_status exec_locked(struct server_db *db, const char *sql, const char *what,
                              struct mfb_error *err)
{
    if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, what);
    return MFB_OK;
}

/* Ends the transaction that BEGIN IMMEDIATE opened (lock held): commits it
 * when st is MFB_OK, else rolls it back. Returns the outcome. */
static mfb_status end_transaction_locked(struct server_db *db, mfb_status st, const char *what,
                                         struct mfb_error *err)
{
    if (st == MFB_OK)
        st = exec_locked(db, "COMMIT", what, err);
    if (st != MFB_OK)
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Marks an upload active now (lock held). */
static mfb_status touch_locked(struct server_db *db, const char *id, const char *what,
                               struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    mfb_status st = prepare(db, "UPDATE uploads SET updated = ? WHERE id = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
        st = run_done(db, stmt, what, err);
    }
    return st;
}

mfb_status server_db_chunk_insert(struct server_db *db, const char *upload_id,
                                  const struct srv_chunk *chunk, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = exec_locked(db, "BEGIN IMMEDIATE", "record the chunk", err);
    if (st != MFB_OK)
        goto done;
    st = prepare(db, "INSERT INTO chunks(upload_id, idx, size, sha256) VALUES(?, ?, ?, ?)", &stmt,
                 err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)chunk->index);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)chunk->size);
        sqlite3_bind_blob(stmt, 4, chunk->sha256, SHA256_LEN, SQLITE_STATIC);
        st = run_done(db, stmt, "record the chunk", err);
    }
    if (st == MFB_OK)
        st = touch_locked(db, upload_id, "record the chunk", err);
    st = end_transaction_locked(db, st, "record the chunk", err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_chunk_delete(struct server_db *db, const char *upload_id, uint64_t index,
                                  struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = exec_locked(db, "BEGIN IMMEDIATE", "forget the chunk", err);
    if (st != MFB_OK)
        goto done;
    st = prepare(db, "DELETE FROM chunks WHERE upload_id = ? AND idx = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)index);
        st = run_done(db, stmt, "forget the chunk", err);
    }
    if (st == MFB_OK && sqlite3_changes(db->sql) == 0)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no chunk %llu in upload '%s'",
                           (unsigned long long)index, upload_id);
    if (st == MFB_OK)
        st = touch_locked(db, upload_id, "forget the chunk", err);
    st = end_transaction_locked(db, st, "forget the chunk", err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_upload_touch(struct server_db *db, const char *id, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st = touch_locked(db, id, "touch the upload", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_upload_set_publish_path(struct server_db *db, const char *id, const char *path,
                                             struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, "SELECT 1 FROM backups WHERE path = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, path, -1, SQLITE_STATIC);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            st = mfb_error_set(err, MFB_ERR_EXISTS, "the catalog has a backup at '%s'", path);
        else if (rc != SQLITE_DONE)
            st = db_fail(db, err, "look up a backup path");
        sqlite3_finalize(stmt);
    }
    if (st == MFB_OK)
        st = prepare(db, "UPDATE uploads SET publish_path = ? WHERE id = ?", &stmt, err);
    if (st == MFB_OK) {
        bind_text_or_null(stmt, 1, path);
        sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
        st = run_done(db, stmt, "record the publish path", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Binds a backup's row for "INSERT INTO backups(id, client_id, instance,
 * name, path, size, sha256, created, metadata, upload_id)": a finished
 * upload's, or one adopted from the shared storage. */
static void bind_backup(sqlite3_stmt *stmt, const struct srv_backup *b, const char *upload_id)
{
    sqlite3_bind_text(stmt, 1, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, b->client_id);
    sqlite3_bind_text(stmt, 3, b->instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, b->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, b->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)b->size);
    sqlite3_bind_text(stmt, 7, b->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, b->created);
    bind_text_or_null(stmt, 9, b->metadata);
    sqlite3_bind_text(stmt, 10, upload_id, -1, SQLITE_STATIC);
}

mfb_status server_db_upload_finish(struct server_db *db, const char *upload_id,
                                   const struct srv_backup *b, struct mfb_error *err)
{
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&db->lock);
    mfb_status st = exec_locked(db, "BEGIN IMMEDIATE", "record the backup", err);
    if (st != MFB_OK)
        goto done;
    st = prepare(db,
                 "INSERT INTO backups(id, client_id, instance, name, path, size, sha256, created, "
                 "metadata, upload_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 &stmt, err);
    if (st == MFB_OK) {
        bind_backup(stmt, b, upload_id);
        st = run_done(db, stmt, "record the backup", err);
    }
    if (st == MFB_OK)
        st = prepare(db, "UPDATE uploads SET complete = 1, backup_id = ?, updated = ? WHERE id = ?",
                     &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, b->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(stmt, 3, upload_id, -1, SQLITE_STATIC);
        st = run_done(db, stmt, "record the backup", err);
    }
    if (st == MFB_OK)
        st = run_with_key_locked(db, "DELETE FROM chunks WHERE upload_id = ?1", upload_id,
                                 "record the backup", err);
    st = end_transaction_locked(db, st, "record the backup", err);
done:
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_upload_delete(struct server_db *db, const char *id, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        run_with_key_locked(db, "DELETE FROM uploads WHERE id = ?1", id, "delete the upload", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void read_id(sqlite3_stmt *stmt, void *elem)
{
    copy_text(elem, SRV_ID_BUF, stmt, 0);
}

mfb_status server_db_uploads_stale(struct server_db *db, int64_t before, char (**ids)[SRV_ID_BUF],
                                   size_t *count, struct mfb_error *err)
{
    *ids = NULL;
    *count = 0;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        prepare(db, "SELECT id FROM uploads WHERE updated < ? ORDER BY updated", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, before);
        st = collect_rows(db, stmt, (void **)ids, count, sizeof(**ids), read_id, NULL,
                          "list stale uploads", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

static mfb_status sum_query(struct server_db *db, const char *sql, int64_t arg, bool bind,
                            uint64_t *out, struct mfb_error *err)
{
    *out = 0;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db, sql, &stmt, err);
    if (st == MFB_OK) {
        if (bind)
            sqlite3_bind_int64(stmt, 1, arg);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            sqlite3_int64 v = sqlite3_column_int64(stmt, 0);
            *out = v > 0 ? (uint64_t)v : 0;
        } else {
            st = db_fail(db, err, "sum up stored bytes");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_pending_bytes(struct server_db *db, uint64_t *bytes, struct mfb_error *err)
{
    return sum_query(db,
                     "SELECT COALESCE(SUM(MAX(u.size - COALESCE((SELECT SUM(c.size) FROM chunks c "
                     "WHERE c.upload_id = u.id), 0), 0)), 0) FROM uploads u "
                     "WHERE u.complete = 0 AND u.size IS NOT NULL",
                     0, false, bytes, err);
}

mfb_status server_db_client_usage(struct server_db *db, int64_t client_id, uint64_t *bytes,
                                  struct mfb_error *err)
{
    return sum_query(db,
                     "SELECT (SELECT COALESCE(SUM(size), 0) FROM backups WHERE client_id = ?1) + "
                     "(SELECT COALESCE(SUM(COALESCE(u.size, (SELECT SUM(c.size) FROM chunks c "
                     "WHERE c.upload_id = u.id), 0)), 0) FROM uploads u "
                     "WHERE u.client_id = ?1 AND u.complete = 0)",
                     client_id, true, bytes, err);
}

/* ---- backups ---- */

#define BACKUP_COLUMNS                                                                             \
    "b.id, b.client_id, c.name, b.instance, b.name, b.path, b.size, b.sha256, b.created, "         \
    "b.metadata, b.upload_id FROM backups b JOIN clients c ON c.id = b.client_id"

static void read_backup(sqlite3_stmt *stmt, void *elem)
{
    struct srv_backup *b = elem;
    memset(b, 0, sizeof(*b));
    copy_text(b->id, sizeof(b->id), stmt, 0);
    b->client_id = sqlite3_column_int64(stmt, 1);
    copy_text(b->client, sizeof(b->client), stmt, 2);
    copy_text(b->instance, sizeof(b->instance), stmt, 3);
    copy_text(b->name, sizeof(b->name), stmt, 4);
    b->path = dup_text(stmt, 5);
    b->size = (uint64_t)sqlite3_column_int64(stmt, 6);
    copy_text(b->sha256, sizeof(b->sha256), stmt, 7);
    b->created = sqlite3_column_int64(stmt, 8);
    b->metadata = dup_text(stmt, 9);
    copy_text(b->upload_id, sizeof(b->upload_id), stmt, 10);
}

void server_db_backup_free(struct srv_backup *b)
{
    if (b == NULL)
        return;
    free(b->path);
    free(b->metadata);
    b->path = b->metadata = NULL;
}

void server_db_backup_list_free(struct srv_backup *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        server_db_backup_free(&list[i]);
    free(list);
}

mfb_status server_db_backup_get(struct server_db *db, const char *id, int64_t client_id,
                                struct srv_backup *out, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt;
    bool found;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        prepare(db, "SELECT " BACKUP_COLUMNS " WHERE b.id = ?1 AND (?2 = 0 OR b.client_id = ?2)",
                &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, client_id);
        st = read_one_row(db, stmt, read_backup, out, &found, "look up the backup", err);
    }
    if (st == MFB_OK && !found)
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no backup '%s'", id);
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void free_backup_elem(void *elem)
{
    server_db_backup_free(elem);
}

mfb_status server_db_backup_list(struct server_db *db, int64_t client_id, const char *instance,
                                 struct srv_backup **list, size_t *count, struct mfb_error *err)
{
    *list = NULL;
    *count = 0;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "SELECT " BACKUP_COLUMNS " WHERE (?1 = 0 OR b.client_id = ?1) "
                            "AND (?2 IS NULL OR b.instance = ?2) "
                            "ORDER BY b.created DESC, b.rowid DESC",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, client_id);
        bind_text_or_null(stmt, 2, instance);
        st = collect_rows(db, stmt, (void **)list, count, sizeof(**list), read_backup,
                          free_backup_elem, "list backups", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_backup_delete(struct server_db *db, const char *id, struct mfb_error *err)
{
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        run_with_key_locked(db, "DELETE FROM backups WHERE id = ?1", id, "delete the backup", err);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- several receivers on one storage ---- */

mfb_status server_db_backup_adopt(struct server_db *db, const struct srv_backup *b, bool *added,
                                  struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    *added = false;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO backups(id, client_id, instance, name, path, size, "
                            "sha256, created, metadata, upload_id) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            &stmt, err);
    if (st == MFB_OK) {
        bind_backup(stmt, b, b->upload_id);
        st = run_done(db, stmt, "record the backup", err);
        *added = st == MFB_OK && sqlite3_changes(db->sql) > 0;
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_client_ensure(struct server_db *db, const char *name, int64_t *id,
                                   struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO clients(name, token_sha256, quota, active, created) "
                            "VALUES(?1, NULL, 0, 0, ?2) ON CONFLICT(name) DO NOTHING",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL));
        st = run_done(db, stmt, "add the client", err);
    }
    pthread_mutex_unlock(&db->lock);
    struct srv_client c;
    if (st == MFB_OK)
        st = server_db_client_by_name(db, name, &c, err);
    if (st == MFB_OK)
        *id = c.id;
    return st;
}

static void read_secret(sqlite3_stmt *stmt, void *elem)
{
    struct {
        uint8_t *hash;
        uint64_t *quota;
        bool *active;
        bool has_token;
    } *out = elem;
    const void *blob = sqlite3_column_blob(stmt, 0);
    out->has_token = blob != NULL && sqlite3_column_bytes(stmt, 0) == SHA256_LEN;
    if (out->has_token)
        memcpy(out->hash, blob, SHA256_LEN);
    *out->quota = (uint64_t)sqlite3_column_int64(stmt, 1);
    *out->active = sqlite3_column_int(stmt, 2) != 0;
}

mfb_status server_db_client_secret(struct server_db *db, const char *name,
                                   uint8_t token_hash[SHA256_LEN], uint64_t *quota, bool *active,
                                   struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    bool found = false;
    struct {
        uint8_t *hash;
        uint64_t *quota;
        bool *active;
        bool has_token;
    } out = {token_hash, quota, active, false};
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        prepare(db, "SELECT token_sha256, quota, active FROM clients WHERE name = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        st = read_one_row(db, stmt, read_secret, &out, &found, "read the client", err);
    }
    pthread_mutex_unlock(&db->lock);
    if (st == MFB_OK && (!found || !out.has_token)) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no client named '%s' with a token", name);
        mfb_error_hint(err, "'mfb-server client list' shows the clients");
        st = MFB_ERR_NOT_FOUND;
    }
    return st;
}

mfb_status server_db_client_import(struct server_db *db, const char *name,
                                   const uint8_t token_hash[SHA256_LEN], uint64_t quota,
                                   struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO clients(name, token_sha256, quota, active, created) "
                            "VALUES(?1, ?2, ?3, 1, ?4) ON CONFLICT(name) DO UPDATE SET "
                            "token_sha256 = ?2, quota = ?3, active = 1",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 2, token_hash, SHA256_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)quota);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)time(NULL));
        st = run_done(db, stmt, "import the client", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* ---- retention policies ---- */

mfb_status server_db_policy_set(struct server_db *db, const struct srv_policy *p,
                                struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        prepare(db,
                "INSERT INTO retention(client_id, instance, keep_last, max_age_s, max_bytes) "
                "VALUES(?1, ?2, MAX(?3, -1), MAX(?4, -1), MAX(?5, -1)) ON CONFLICT(client_id, "
                "instance) DO UPDATE SET "
                "keep_last = CASE ?3 WHEN -1 THEN keep_last WHEN -2 THEN -1 ELSE ?3 END, "
                "max_age_s = CASE ?4 WHEN -1 THEN max_age_s WHEN -2 THEN -1 ELSE ?4 END, "
                "max_bytes = CASE ?5 WHEN -1 THEN max_bytes WHEN -2 THEN -1 ELSE ?5 END",
                &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, p->client_id);
        sqlite3_bind_text(stmt, 2, p->instance, -1, SQLITE_STATIC);
        /* A new row stores "clear" (-2) as "unset" (-1). */
        sqlite3_bind_int64(stmt, 3, p->keep_last);
        sqlite3_bind_int64(stmt, 4, p->max_age_s);
        sqlite3_bind_int64(stmt, 5, p->max_bytes);
        st = run_done(db, stmt, "save the retention policy", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

#define POLICY_COLUMNS                                                                             \
    "r.client_id, c.name, r.instance, r.keep_last, r.max_age_s, r.max_bytes "                      \
    "FROM retention r JOIN clients c ON c.id = r.client_id"

static void read_policy(sqlite3_stmt *stmt, void *elem)
{
    struct srv_policy *p = elem;
    memset(p, 0, sizeof(*p));
    p->client_id = sqlite3_column_int64(stmt, 0);
    copy_text(p->client, sizeof(p->client), stmt, 1);
    copy_text(p->instance, sizeof(p->instance), stmt, 2);
    p->keep_last = sqlite3_column_int64(stmt, 3);
    p->max_age_s = sqlite3_column_int64(stmt, 4);
    p->max_bytes = sqlite3_column_int64(stmt, 5);
}

mfb_status server_db_policy_get(struct server_db *db, int64_t client_id, const char *instance,
                                struct srv_policy *out, bool *found, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    out->client_id = client_id;
    snprintf(out->instance, sizeof(out->instance), "%s", instance);
    out->keep_last = out->max_age_s = out->max_bytes = -1;
    *found = false;
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(
        db, "SELECT " POLICY_COLUMNS " WHERE r.client_id = ? AND r.instance = ?", &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_int64(stmt, 1, client_id);
        sqlite3_bind_text(stmt, 2, instance, -1, SQLITE_STATIC);
        st = read_one_row(db, stmt, read_policy, out, found, "read the retention policy", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

mfb_status server_db_policy_list(struct server_db *db, struct srv_policy **list, size_t *count,
                                 struct mfb_error *err)
{
    return list_all(db, "SELECT " POLICY_COLUMNS " ORDER BY c.name, r.instance", (void **)list,
                    count, sizeof(**list), read_policy, "list retention policies", err);
}

/* ---- verifications (restore drills) ---- */

mfb_status server_db_verification_add(struct server_db *db, const struct srv_verification *v,
                                      struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    pthread_mutex_lock(&db->lock);
    mfb_status st = prepare(db,
                            "INSERT INTO verifications (backup_id, client_id, verified_by, host, "
                            "time, result, tables, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, v->backup_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, v->client_id);
        sqlite3_bind_text(stmt, 3, v->verified_by, -1, SQLITE_STATIC);
        sqlutil_bind_text(stmt, 4, v->host[0] ? v->host : NULL);
        sqlite3_bind_int64(stmt, 5, v->time);
        sqlite3_bind_text(stmt, 6, v->result, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 7, v->tables);
        sqlutil_bind_text(stmt, 8, v->detail[0] ? v->detail : NULL);
        st = run_done(db, stmt, "record the verification", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void read_verification(sqlite3_stmt *stmt, void *elem)
{
    struct srv_verification *v = elem;
    memset(v, 0, sizeof(*v));
    copy_text(v->backup_id, sizeof(v->backup_id), stmt, 0);
    v->client_id = sqlite3_column_int64(stmt, 1);
    copy_text(v->verified_by, sizeof(v->verified_by), stmt, 2);
    copy_text(v->host, sizeof(v->host), stmt, 3);
    v->time = sqlite3_column_int64(stmt, 4);
    copy_text(v->result, sizeof(v->result), stmt, 5);
    v->tables = sqlite3_column_int64(stmt, 6);
    copy_text(v->detail, sizeof(v->detail), stmt, 7);
}

mfb_status server_db_verification_last(struct server_db *db, const char *backup_id,
                                       struct srv_verification *out, bool *found,
                                       struct mfb_error *err)
{
    sqlite3_stmt *stmt;
    *found = false;
    pthread_mutex_lock(&db->lock);
    mfb_status st =
        prepare(db,
                "SELECT backup_id, client_id, verified_by, host, time, result, tables, "
                "detail FROM verifications WHERE backup_id = ?1 ORDER BY id DESC LIMIT 1",
                &stmt, err);
    if (st == MFB_OK) {
        sqlite3_bind_text(stmt, 1, backup_id, -1, SQLITE_STATIC);
        st = read_one_row(db, stmt, read_verification, out, found, "read the verification", err);
    }
    pthread_mutex_unlock(&db->lock);
    return st;
}

static void read_verified(sqlite3_stmt *stmt, void *elem)
{
    struct srv_verified *v = elem;
    memset(v, 0, sizeof(*v));
    copy_text(v->client, sizeof(v->client), stmt, 0);
    copy_text(v->instance, sizeof(v->instance), stmt, 1);
    v->last = sqlite3_column_int64(stmt, 2);
}

mfb_status server_db_verified_last(struct server_db *db, struct srv_verified **list, size_t *count,
                                   struct mfb_error *err)
{
    /* Through backups: a verification goes with its backup (ON DELETE
     * CASCADE), so only stored backups count, under the backup's client
     * and instance rather than anything the drill's client said. */
    return list_all(db,
                    "SELECT c.name, b.instance, MAX(v.time) FROM verifications v "
                    "JOIN backups b ON b.id = v.backup_id "
                    "JOIN clients c ON c.id = b.client_id "
                    "WHERE v.result = 'passed' GROUP BY c.name, b.instance "
                    "ORDER BY c.name, b.instance",
                    (void **)list, count, sizeof(**list), read_verified, "read the verifications",
                    err);
}
