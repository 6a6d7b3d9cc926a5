/*
 * cmd_list.c - `mfb list [INSTANCE]`: the backups a receiver holds for
 * this client (GET /v1/backups), newest first: id, name, time, size and
 * SHA-256, as a table or as JSON. The id or the name is what
 * `mfb restore INSTANCE BACKUP` takes.
 *
 * The instance is only a filter on the receiver's catalog; it need not be
 * configured here (the backups of a retired instance can still be listed
 * and restored elsewhere).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/transfer_opts.h"
#include "common/parse.h"
#include "job/endpoints.h"
#include "transfer/backup_list.h"

static const struct cli_option options[] = {
    {.name = "target",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the receiver to ask",
     .def_doc = "the only one"},
    {.name = "json", .type = CLI_FLAG, .help = "print a JSON array"},
    TRANSFER_RETRY_OPTIONS,
    CLI_OPTIONS_END,
};

static json_t *entry_json(const struct backup_entry *e)
{
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(e->info.sha256, hex);
    json_t *o =
        json_pack("{s:s, s:o, s:s, s:o, s:o, s:I, s:s}", "backup_id", e->info.backup_id, "instance",
                  config_cli_json_str(e->instance[0] ? e->instance : NULL), "name", e->info.name,
                  "path", config_cli_json_str(e->info.path[0] ? e->info.path : NULL), "created",
                  config_cli_json_str(e->created[0] ? e->created : NULL), "size",
                  (json_int_t)e->info.size, "sha256", hex);
    if (o != NULL)
        json_object_set(o, "verification", e->verification ? e->verification : json_null());
    return o;
}

/* The VERIFIED column: the newest restore drill's result and time
 * (docs/drill.md), "-" for a backup never drilled. */
static const char *verified_cell(const struct backup_entry *e, char *buf, size_t len)
{
    const char *result = json_string_value(json_object_get(e->verification, "result"));
    const char *when = json_string_value(json_object_get(e->verification, "time"));
    if (result == NULL)
        return NULL;
    snprintf(buf, len, "%s %s", result, when ? when : "");
    return buf;
}

static mfb_status print_json(const struct backup_list *list, struct mfb_error *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < list->count; i++)
        if (json_array_append_new(arr, entry_json(&list->entries[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    return config_cli_print_json(arr, err);
}

#define COLUMNS 7

static mfb_status print_table(const struct backup_list *list, struct mfb_error *err)
{
    static const char *const header[COLUMNS] = {"ID",   "INSTANCE", "NAME",    "CREATED",
                                                "SIZE", "SHA256",   "VERIFIED"};
    const char **cells = calloc(list->count * COLUMNS + 1, sizeof(*cells));
    char(*sizes)[32] = calloc(list->count + 1, sizeof(*sizes));
    char(*hexes)[SHA256_HEX_LEN + 1] = calloc(list->count + 1, sizeof(*hexes));
    char(*verified)[96] = calloc(list->count + 1, sizeof(*verified));
    if (cells == NULL || sizes == NULL || hexes == NULL || verified == NULL) {
        free(cells);
        free(sizes);
        free(hexes);
        free(verified);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < list->count; i++) {
        const struct backup_entry *e = &list->entries[i];
        const char **row = &cells[i * COLUMNS];
        format_size(e->info.size, sizes[i], sizeof(sizes[i]));
        digest_to_hex(e->info.sha256, hexes[i]);
        row[0] = e->info.backup_id;
        row[1] = e->instance[0] ? e->instance : NULL;
        row[2] = e->info.name;
        row[3] = e->created[0] ? e->created : NULL;
        row[4] = sizes[i];
        row[5] = hexes[i];
        row[6] = verified_cell(e, verified[i], sizeof(verified[i]));
    }
    config_cli_table(header, COLUMNS, cells, list->count);
    free(cells);
    free(sizes);
    free(hexes);
    free(verified);
    return MFB_OK;
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    const char *instance = args->positional_count > 0 ? args->positional[0] : NULL;
    struct config_db *db = NULL;
    struct job_target target = {0};
    struct transfer_conn *conn = NULL;
    struct backup_list list = {0};
    struct transfer_settings settings;
    mfb_status st = transfer_opts_settings(args, &settings, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = job_target_load(db, cli_string(args, "target"), &settings, &target, err);
    if (st == MFB_OK)
        st = transfer_conn_open(target.client, NULL, &conn, err);
    if (st == MFB_OK)
        st = receiver_backup_list(conn, instance, &list, err);
    if (st == MFB_OK) {
        if (cli_flag(args, "json"))
            st = print_json(&list, err);
        else if (list.count == 0 && instance != NULL)
            printf("target '%s' holds no backup of instance '%s'\n", target.record.name, instance);
        else if (list.count == 0)
            printf("target '%s' holds no backups of this client\n", target.record.name);
        else
            st = print_table(&list, err);
    }
    backup_list_free(&list);
    transfer_conn_close(conn);
    job_target_free(&target);
    config_db_close(db);
    return st;
}

const struct cli_command cmd_list = {
    .name = "list",
    .usage = "[INSTANCE] [--target T] [--json]",
    .summary = "list the backups on a receiver: id, name, time, size, SHA-256 and last drill",
    .options = options,
    .min_args = 0,
    .max_args = 1,
    .run = run,
};
