/*
 * cmd_init.c - `mfb init`: creates the configuration database (mode 0600,
 * in a 0700 directory) or brings an existing one up to the current schema.
 *
 * Running it again is harmless: it only migrates. Which file is used
 * follows the one rule of store/db_path.h (--db, $MFB_DB, the default).
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "store/config_db.h"

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    bool created = false;
    int version = 0;
    mfb_status st = config_cli_open(args, true, &db, &created, err);
    if (st == MFB_OK)
        st = config_db_schema_version(db, &version, err);
    if (st == MFB_OK && created)
        printf("created configuration database %s (schema version %d)\n", config_db_path(db),
               version);
    else if (st == MFB_OK)
        printf("configuration database %s is up to date (schema version %d)\n", config_db_path(db),
               version);
    if (st == MFB_OK && created)
        printf("next: 'mfb instance add NAME ...' and 'mfb target add NAME ...'\n");
    config_db_close(db);
    return st;
}

const struct cli_command cmd_init = {.name = "init",
                                     .summary =
                                         "create the configuration database, or update its schema",
                                     .max_args = 0,
                                     .run = run};
