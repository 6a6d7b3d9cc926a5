/*
 * srv_list.c - `mfb-server list`: the backups the receiver holds, newest
 * first, for every client or one.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/parse.h"
#include "server/server.h"

static const struct cli_option options[] = {
    {.name = "client", .type = CLI_STRING, .metavar = "NAME", .help = "only this client's backups"},
    {.name = "instance",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "only this instance's backups"},
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    const char *client = cli_string(args, "client");
    const char *instance = cli_string(args, "instance");
    struct server_db *db = NULL;
    struct srv_backup *list = NULL;
    size_t n = 0;
    struct srv_client c = {0};
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK && client)
        st = server_db_client_by_name(db, client, &c, err);
    if (st == MFB_OK)
        st = server_db_backup_list(db, c.id, instance, &list, &n, err);
    server_db_close(db);
    if (st != MFB_OK)
        return st;
    if (cli_flag(args, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            char created[32];
            server_format_time(list[i].created, created, sizeof(created));
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "backup_id",
                                  list[i].id, "client", list[i].client, "instance",
                                  list[i].instance, "name", list[i].name, "path", list[i].path,
                                  "size", (json_int_t)list[i].size, "sha256", list[i].sha256,
                                  "created", created, "upload_id", list[i].upload_id);
            json_t *meta = list[i].metadata ? json_loads(list[i].metadata, 0, NULL) : NULL;
            if (meta)
                json_object_set_new(o, "metadata", meta);
            json_array_append_new(arr, o);
        }
        json_t *o = json_pack("{s:o}", "backups", arr);
        srv_print_json(o);
    } else {
        printf("%-34s %-16s %-16s %10s  %-20s  %s\n", "BACKUP", "CLIENT", "INSTANCE", "SIZE",
               "CREATED", "PATH");
        for (size_t i = 0; i < n; i++) {
            char created[32], size[32];
            server_format_time(list[i].created, created, sizeof(created));
            format_size(list[i].size, size, sizeof(size));
            printf("%-34s %-16s %-16s %10s  %-20s  %s\n", list[i].id, list[i].client,
                   list[i].instance, size, created, list[i].path);
        }
    }
    server_db_backup_list_free(list, n);
    return MFB_OK;
}

const struct cli_command srv_list = {.name = "list",
                                     .usage = "[--client NAME] [--instance NAME] [--json]",
                                     .summary = "list stored backups, newest first",
                                     .options = options,
                                     .max_args = 0,
                                     .run = run};
