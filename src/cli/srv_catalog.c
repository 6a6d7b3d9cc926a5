/*
 * srv_catalog.c - `mfb-server catalog rebuild`: reconstructs the catalog's
 * record of published backups from the storage itself (each backup's .json,
 * catalog.h). For a receiver that joins a bucket others already fill, or
 * one whose catalog was lost: backups found are adopted, records of
 * backups no longer stored are dropped. Clients and their tokens are not in
 * the storage: `mfb-server client import` brings them.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "server/catalog.h"
#include "server/server.h"

static const struct cli_option rebuild_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static mfb_status run_rebuild(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    struct server srv;
    bool opened = false;
    struct server_config cfg;
    struct catalog_report r = {0};
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_config_load(db, &cfg, err);
    if (st == MFB_OK) {
        st = server_open(&srv, db, &cfg, 0, err);
        opened = st == MFB_OK;
    }
    if (st == MFB_OK)
        st = catalog_sync(db, srv.store, INT64_MAX, &r, err);
    if (opened)
        server_close(&srv);
    server_db_close(db);
    if (st != MFB_OK)
        return st;
    if (cli_flag(args, "json"))
        srv_print_json(json_pack("{s:I, s:I, s:I, s:I}", "listed", (json_int_t)r.listed, "added",
                                 (json_int_t)r.added, "removed", (json_int_t)r.removed, "skipped",
                                 (json_int_t)r.skipped));
    else
        printf("listed %zu backups: %zu added, %zu records removed, %zu skipped (see the log)\n",
               r.listed, r.added, r.removed, r.skipped);
    return MFB_OK;
}

static const struct cli_command catalog_rebuild = {
    .name = "rebuild",
    .usage = "[--json]",
    .summary = "reconstruct the catalog of backups from the storage",
    .options = rebuild_options,
    .max_args = 0,
    .run = run_rebuild};

static const struct cli_command *const subcommands[] = {&catalog_rebuild, NULL};

const struct cli_command srv_catalog = {.name = "catalog",
                                        .summary = "rebuild the catalog from the storage",
                                        .subcommands = subcommands};
