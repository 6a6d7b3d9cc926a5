/*
 * migrate.h - numbered schema migrations for any mfb SQLite database.
 *
 * A database records the last migration applied in PRAGMA user_version.
 * Opening runs every newer migration in order, each in its own IMMEDIATE
 * transaction together with the user_version bump, so a crash leaves the
 * schema at a whole step. A database newer than the program is refused
 * rather than guessed at. Migrations are only ever appended, never edited.
 */
#ifndef MFB_STORE_MIGRATE_H
#define MFB_STORE_MIGRATE_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/status.h"

struct migration {
    int version;     /* 1, 2, 3 ... with no gaps */
    const char *sql; /* one or more statements */
};

/* Brings db up to the last of `count` migrations. `what` names the database
 * in messages ("receiver database"). */
mfb_status migrate_run(sqlite3 *db, const char *what, const struct migration *migrations,
                       size_t count, struct mfb_error *err);

/* The schema version recorded in db (0 for a new database). */
mfb_status migrate_version(sqlite3 *db, int *version, struct mfb_error *err);

#endif
