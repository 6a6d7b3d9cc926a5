/*
 * srv_expect.c - `mfb-server expect set|list|remove`: how often each
 * client's instance must store a complete backup, else `serve` alerts
 * (docs/monitoring.md). The receiver notices what the client cannot say:
 * a client host that is dead, or cut off from the receiver.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/srv_common.h"
#include "common/parse.h"
#include "store/server_monitor.h"

static const struct cli_option set_options[] = {
    {.name = "every",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "alert when the newest complete backup is older than this (required)"},
    CLI_OPTIONS_END,
};

static const struct cli_option list_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static mfb_status run_set(struct cli_args *args, struct mfb_error *err)
{
    const char *client = args->positional[0], *instance = args->positional[1];
    uint64_t every_ms = 0;
    mfb_status st = srv_check_name("client", client, err);
    if (st == MFB_OK)
        st = srv_check_name("instance", instance, err);
    if (st == MFB_OK && !cli_given(args, "every")) {
        mfb_error_set(err, MFB_ERR_USAGE, "--every is required");
        mfb_error_hint(err, "for a nightly backup, --every 26h leaves two hours of slack");
        return MFB_ERR_USAGE;
    }
    if (st == MFB_OK)
        st = cli_duration_ms(args, "every", &every_ms, err);
    if (st == MFB_OK && every_ms < 1000) {
        mfb_error_set(err, MFB_ERR_USAGE, "--every must be at least 1s");
        return MFB_ERR_USAGE;
    }
    struct server_db *db = NULL;
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_expect_set(db, client, instance, (int64_t)(every_ms / 1000), err);
    server_db_close(db);
    char d[32];
    if (st == MFB_OK)
        printf("expecting a complete backup of %s/%s every %s; 'mfb-server serve' alerts "
               "through 'mfb-server alert' channels\n",
               client, instance, format_duration_ms(every_ms / 1000 * 1000, d, sizeof(d)));
    return st;
}

static mfb_status run_remove(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_expect_remove(db, args->positional[0], args->positional[1], err);
    server_db_close(db);
    if (st == MFB_OK)
        printf("expectation for %s/%s removed\n", args->positional[0], args->positional[1]);
    return st;
}

static mfb_status run_list(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    struct srv_expect *list = NULL;
    size_t n = 0;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_expect_list(db, &list, &n, err);
    server_db_close(db);
    if (st == MFB_OK && cli_flag(args, "json")) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                a,
                json_pack(
                    "{s:s, s:s, s:I, s:o, s:o, s:b}", "client", list[i].client, "instance",
                    list[i].instance, "every_s", (json_int_t)list[i].every_s, "last_backup",
                    list[i].last_backup ? config_cli_json_time(list[i].last_backup) : json_null(),
                    "alarm_since",
                    list[i].alarm_since ? config_cli_json_time(list[i].alarm_since) : json_null(),
                    "client_active", list[i].client_active));
        st = config_cli_print_json(a, err);
    } else if (st == MFB_OK && n == 0) {
        printf("no expectations; set one with 'mfb-server expect set CLIENT INSTANCE --every "
               "26h'\n");
    } else if (st == MFB_OK) {
        enum { COLS = 5 };
        static const char *const header[COLS] = {"CLIENT", "INSTANCE", "EVERY", "LAST BACKUP",
                                                 "ALARM"};
        const char **cells = calloc(n * COLS + 1, sizeof(*cells));
        char(*text)[3][64] = calloc(n + 1, sizeof(*text));
        if (cells == NULL || text == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                const char **row = cells + i * COLS;
                row[0] = list[i].client;
                row[1] = list[i].instance;
                row[2] = format_duration_ms((uint64_t)list[i].every_s * 1000, text[i][0],
                                            sizeof(text[i][0]));
                row[3] = list[i].last_backup
                             ? config_cli_time(list[i].last_backup, text[i][1], sizeof(text[i][1]))
                             : "never";
                row[4] = list[i].alarm_since
                             ? config_cli_time(list[i].alarm_since, text[i][2], sizeof(text[i][2]))
                             : "-";
            }
            config_cli_table(header, COLS, cells, n);
        }
        free(cells);
        free(text);
    }
    free(list);
    return st;
}

static const struct cli_command expect_set = {
    .name = "set",
    .usage = "CLIENT INSTANCE --every DURATION",
    .summary = "alert when the instance stores no complete backup for DURATION",
    .options = set_options,
    .min_args = 2,
    .max_args = 2,
    .run = run_set};
static const struct cli_command expect_list = {.name = "list",
                                               .summary = "list the expectations and alarms",
                                               .options = list_options,
                                               .max_args = 0,
                                               .run = run_list};
static const struct cli_command expect_remove = {.name = "remove",
                                                 .usage = "CLIENT INSTANCE",
                                                 .summary = "remove an expectation",
                                                 .min_args = 2,
                                                 .max_args = 2,
                                                 .run = run_remove};

static const struct cli_command *const subcommands[] = {&expect_set, &expect_list, &expect_remove,
                                                        NULL};

const struct cli_command srv_expect = {.name = "expect",
                                       .summary = "set, list or remove how often a client's "
                                                  "instance must store a backup",
                                       .subcommands = subcommands};
