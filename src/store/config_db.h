/*
 * config_db.h - the client's configuration database (SQLite): the handle,
 * opening, closing and the schema. What it holds has its own headers:
 * store/config_records.h (the MySQL instances to back up, the receivers
 * ("targets") to send backups to, settings, alert channels) and
 * store/job_log.h (the job log with its events).
 *
 * All of the client's SQL lives in store/ (config_db.c with the
 * migrations, config_records.c, job_log.c); the rest of mfb sees typed
 * records. The schema is versioned with numbered migrations
 * (store/migrate.h) and only ever grows.
 *
 * Secrets. MySQL passwords and receiver tokens are stored here in clear
 * text: mfb must present them, so a hash would be useless, and encrypting
 * them would only move the problem to where the key is kept. The file is
 * therefore the secret: it is created with mode 0600 (its -wal and -shm
 * files inherit that mode), and config_db_open refuses a database that
 * group or others may read or write, with the chmod that fixes it.
 *
 * Concurrency. One connection per struct config_db, in WAL mode with a
 * busy timeout, so the CLI, a running backup and later the daemon can use
 * the file at once. A mutex serialises the connection's multi-statement
 * work, so one struct config_db may be shared by the daemon's worker
 * threads. synchronous=FULL: a job's resume token must survive a power
 * cut, and writes here are few.
 */
#ifndef MFB_STORE_CONFIG_DB_H
#define MFB_STORE_CONFIG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "proto/proto.h"

#define CONFIG_DB_FILE "mfb.db" /* file name under the default directories */
#define CONFIG_NAME_BUF (PROTO_NAME_MAX + 1)

struct config_db;

/* Opens the database at path and brings its schema up to date. With create,
 * makes the file (mode 0600, parent directories 0700) when it is missing;
 * without, a missing file is MFB_ERR_NOT_FOUND with a hint to run
 * 'mfb init'. A file that group or others may access is refused
 * (MFB_ERR_PERMISSION), and so is another kind of database, such as the
 * receiver's catalog (MFB_ERR_INVALID). *created says whether the file was made now (may be
 * NULL). Allocates *db; release with config_db_close. */
mfb_status config_db_open(const char *path, bool create, struct config_db **db, bool *created,
                          struct mfb_error *err);
void config_db_close(struct config_db *db);

/* The path it was opened with. */
const char *config_db_path(const struct config_db *db);

/* The schema version (the number of the last migration applied). */
mfb_status config_db_schema_version(struct config_db *db, int *version, struct mfb_error *err);

#endif
