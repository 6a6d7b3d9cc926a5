/*
 * config_db_internal.h - what the client database's modules share and
 * nothing outside store/ may use: the handle's insides (the SQLite
 * connection and the mutex that serialises it) and the generic helpers of
 * config_rows.c that read, list, get and save rows.
 *
 * The modules: config_db.c opens the file and owns the migrations,
 * config_records.c holds the configuration records (instances, targets,
 * settings, alert channels), schedules.c the daemon's schedules, job_log.c
 * the jobs and their events. Each
 * keeps its own SQL; what they would otherwise write twice lives here.
 *
 * Statements are prepared per call: the configuration is read a few times
 * per command and the job log written a few times per step, so a statement
 * cache would buy nothing and cost lifetime rules. Enumerations are stored
 * as the same words the commands and JSON use ("systemd", "pending_upload")
 * and CHECK constraints keep anything else out, so the file is readable
 * with the sqlite3 shell and a wrong value from a future bug fails loudly;
 * config_rows_lookup turns a stored word back into its enum.
 *
 * Locking: a public function takes db->lock for the whole of its work; the
 * helpers below that take the lock say so, the others expect it held.
 */
#ifndef MFB_STORE_CONFIG_DB_INTERNAL_H
#define MFB_STORE_CONFIG_DB_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

struct config_db {
    sqlite3 *sql;
    pthread_mutex_t lock;
    char path[4096];
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The index of text in names[count], or -1 (also for a NULL text). */
int config_rows_lookup(const char *const *names, size_t count, const char *text);

/* The word of an enumeration's value, names[value], or "?" outside the
 * table. */
const char *config_rows_name(const char *const *names, size_t count, unsigned value);

/* The words of an enumeration a person types (a severity, a schedule's
 * kind), with what a wrong word is called and the hint that puts it right. */
struct config_words {
    const char *const *names;
    size_t count;
    const char *what; /* "invalid severity": the message is "WHAT 'TEXT'" */
    const char *hint;
};

/* The value of the word text: its index in words->names. Otherwise -1, and
 * MFB_ERR_USAGE "WHAT 'TEXT'" ("invalid severity 'x'") with the hint. */
int config_rows_parse(const struct config_words *words, const char *text, struct mfb_error *err);

/* A failed UNIQUE constraint: the name is taken. */
bool config_rows_is_duplicate(struct config_db *db);
/* MFB_ERR_NOT_FOUND "no GROUP named 'NAME'", with the list command as hint. */
mfb_status config_rows_not_found(struct mfb_error *err, const char *group, const char *name);
/* MFB_ERR_EXISTS "GROUP 'NAME' already exists", with a hint. */
mfb_status config_rows_exists(struct mfb_error *err, const char *group, const char *name);

/* Grows *list by one zeroed element of `size` bytes. */
mfb_status config_rows_grow(void **list, size_t *count, size_t *cap, size_t size,
                            struct mfb_error *err);

/* Reads one row into a record; void * so that one list reader serves all. */
typedef mfb_status (*row_reader)(sqlite3_stmt *stmt, void *out, struct mfb_error *err);
typedef void (*row_dropper)(void *row);
/* Binds a record's columns, its name at ?2 and the rest after it. */
typedef void (*row_binder)(sqlite3_stmt *stmt, const void *rec);

/* Steps stmt (prepared on sql and bound, under the lock) and reads every
 * row into a growing array of `size`-byte records (*list, allocated);
 * finalizes stmt. On failure drops what was read (drop NULL: the records
 * own nothing) and returns an empty list. Serves the receiver's catalog
 * (server_db) too, which is why it takes the connection. */
mfb_status config_rows_read(sqlite3 *sql, sqlite3_stmt *stmt, size_t size, row_reader read,
                            row_dropper drop, void **list, size_t *count, const char *what,
                            struct mfb_error *err);
/* Every row of a query without parameters on the connection db, under
 * lock: the configuration database's lists (config_rows_list_all) and the
 * receiver catalog's (server_monitor.c) alike. */
mfb_status config_rows_list_locked(sqlite3 *db, pthread_mutex_t *lock, const char *sql, size_t size,
                                   row_reader read, row_dropper drop, void **list, size_t *count,
                                   const char *what, struct mfb_error *err);
/* Every row of a query without parameters; takes the lock. */
mfb_status config_rows_list_all(struct config_db *db, const char *sql, size_t size, row_reader read,
                                row_dropper drop, void **list, size_t *count, const char *what,
                                struct mfb_error *err);
/* The one row of `group` (instance, target) called name; sql has one
 * parameter. Takes the lock. */
mfb_status config_rows_get_named(struct config_db *db, const char *sql, const char *name,
                                 row_reader read, void *out, const char *group,
                                 struct mfb_error *err);
/* Inserts a record of `group` (insert: sql is an INSERT, *id gets the new
 * row's id) or updates the one with its name (an UPDATE ... WHERE name =
 * ?2). A taken name is MFB_ERR_EXISTS, a missing one MFB_ERR_NOT_FOUND.
 * Takes the lock. */
mfb_status config_rows_save_named(struct config_db *db, const char *sql, row_binder bind,
                                  const void *rec, const char *group, const char *name, int64_t *id,
                                  struct mfb_error *err);

/* MFB_ERR_BUSY "GROUP 'NAME' is used by schedule 'S'", with a hint, when
 * a schedule uses the instance or target (group "instance" or "target")
 * called name; for removals, inside their transaction (schedules.c). */
mfb_status config_schedule_refuse_user(struct config_db *db, const char *group, const char *name,
                                       struct mfb_error *err);

/* Ends the open transaction: COMMIT when st is MFB_OK, else ROLLBACK. */
mfb_status config_rows_finish_tx(struct config_db *db, mfb_status st, struct mfb_error *err);

/* ---- alert channels: the same columns in the client's `alerts` and the
 * receiver's `alert_channels` (store/server_monitor.h) ---- */

struct config_alert;

#define ALERT_COLUMNS                                                                              \
    "id, name, kind, min_severity, url, secret, smtp_user, mail_from, mail_to, ca_file, "          \
    "command, created, updated"

/* Lists the channels of table (ALERT_COLUMNS, by name) into *list; the
 * caller holds its database's lock. Both the client's `alerts` and the
 * receiver's `alert_channels` have these columns. */
mfb_status config_rows_list_alerts(sqlite3 *sql, const char *table, struct config_alert **list,
                                   size_t *count, struct mfb_error *err);
/* Reads one row of ALERT_COLUMNS. */
mfb_status config_rows_read_alert(sqlite3_stmt *stmt, struct config_alert *out,
                                  struct mfb_error *err);
/* Binds a channel's columns at ?2..?13 in ALERT_COLUMNS order. */
void config_rows_bind_alert(sqlite3_stmt *stmt, const struct config_alert *a);

#endif
