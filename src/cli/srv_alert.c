/*
 * srv_alert.c - `mfb-server alert add|list|remove|test`: the channels the
 * receiver's silence alarms go to (docs/monitoring.md), kept in its
 * catalog. The options, checks and output are `mfb alert`'s
 * (cli/alert_cmd.h); only the store differs.
 */
#include "cli/alert_cmd.h"
#include "cli/commands.h"
#include "cli/srv_common.h"
#include "store/server_monitor.h"

static mfb_status store_open(struct cli_args *args, void **db, struct mfb_error *err)
{
    return srv_open_db(args, (struct server_db **)db, err);
}

static void store_close(void *db)
{
    server_db_close(db);
}

static mfb_status store_add(void *db, struct config_alert *a, struct mfb_error *err)
{
    return server_db_alert_add(db, a, err);
}

static mfb_status store_list(void *db, struct config_alert **list, size_t *count,
                             struct mfb_error *err)
{
    return server_db_alert_list(db, list, count, err);
}

static mfb_status store_remove(void *db, const char *name, struct mfb_error *err)
{
    return server_db_alert_remove(db, name, err);
}

static const struct alert_store store = {.program = "mfb-server",
                                         .open = store_open,
                                         .close = store_close,
                                         .add = store_add,
                                         .list = store_list,
                                         .remove = store_remove};

static mfb_status run_add(struct cli_args *args, struct mfb_error *err)
{
    return alert_cmd_add(&store, args, err);
}

static mfb_status run_list(struct cli_args *args, struct mfb_error *err)
{
    return alert_cmd_list(&store, args, err);
}

static mfb_status run_remove(struct cli_args *args, struct mfb_error *err)
{
    return alert_cmd_remove(&store, args, err);
}

static mfb_status run_test(struct cli_args *args, struct mfb_error *err)
{
    return alert_cmd_test(&store, args, err);
}

static const struct cli_command alert_add = {
    .name = "add",
    .usage = "NAME (--webhook URL | --email TO --smtp-url URL --from ADDR | --command CMD)",
    .summary = "add a channel for the receiver's alarms",
    .options = alert_cmd_add_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_add};
static const struct cli_command alert_list = {.name = "list",
                                              .summary = "list the receiver's alert channels",
                                              .options = alert_cmd_json_options,
                                              .max_args = 0,
                                              .run = run_list};
static const struct cli_command alert_remove = {.name = "remove",
                                                .usage = "NAME",
                                                .summary = "remove an alert channel",
                                                .min_args = 1,
                                                .max_args = 1,
                                                .run = run_remove};
static const struct cli_command alert_test = {
    .name = "test",
    .usage = "[NAME]",
    .summary = "send a test alert through one channel, or all of them",
    .options = alert_cmd_test_options,
    .min_args = 0,
    .max_args = 1,
    .run = run_test};

static const struct cli_command *const subcommands[] = {
    &alert_add, &alert_list, &alert_remove, &alert_test, NULL,
};

const struct cli_command srv_alert = {.name = "alert",
                                      .summary = "add, list, remove or test the channels the "
                                                 "receiver's alarms go to",
                                      .subcommands = subcommands};
