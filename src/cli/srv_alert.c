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

static const struct cli_command alert_add =
    ALERT_CMD_ADD(store, "add a channel for the receiver's alarms");
static const struct cli_command alert_list =
    ALERT_CMD_LIST(store, "list the receiver's alert channels");
static const struct cli_command alert_remove = ALERT_CMD_REMOVE(store);
static const struct cli_command alert_test = ALERT_CMD_TEST(store);

static const struct cli_command *const subcommands[] = {
    &alert_add, &alert_list, &alert_remove, &alert_test, NULL,
};

const struct cli_command srv_alert = {.name = "alert",
                                      .summary = "add, list, remove or test the channels the "
                                                 "receiver's alarms go to",
                                      .subcommands = subcommands};
