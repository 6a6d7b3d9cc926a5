/*
 * alert_cmd.h - the `alert add|list|remove|test` flow that `mfb alert`
 * (cmd_alert.c, the client's configuration database) and `mfb-server
 * alert` (srv_alert.c, the receiver's catalog) share: the same options,
 * checks and output over a store of channels each program provides.
 */
#ifndef MFB_CLI_ALERT_CMD_H
#define MFB_CLI_ALERT_CMD_H

#include <stddef.h>

#include "cli/options.h"
#include "common/status.h"
#include "store/config_records.h"

/* Where a program keeps its channels. */
struct alert_store {
    const char *program; /* "mfb", "mfb-server": for the hints */
    mfb_status (*open)(struct cli_args *args, void **db, struct mfb_error *err);
    void (*close)(void *db);
    mfb_status (*add)(void *db, struct config_alert *a, struct mfb_error *err);
    mfb_status (*list)(void *db, struct config_alert **list, size_t *count, struct mfb_error *err);
    mfb_status (*remove)(void *db, const char *name, struct mfb_error *err);
};

extern const struct cli_option alert_cmd_add_options[];
extern const struct cli_option alert_cmd_json_options[];
extern const struct cli_option alert_cmd_test_options[];

/* The subcommands' runs: each finds its program's store in the command's
 * data (options.h), so both programs run the same functions. */
mfb_status alert_cmd_add(struct cli_args *args, struct mfb_error *err);
mfb_status alert_cmd_list(struct cli_args *args, struct mfb_error *err);
mfb_status alert_cmd_remove(struct cli_args *args, struct mfb_error *err);
mfb_status alert_cmd_test(struct cli_args *args, struct mfb_error *err);

/* The subcommands themselves, over a program's store (a struct alert_store
 * object, not a pointer): a program only words the summaries of add and
 * list its own way ("the receiver's alert channels"). */
#define ALERT_CMD_ADD(store_, summary_)                                                            \
    {                                                                                              \
        .name = "add",                                                                             \
        .usage = "NAME (--webhook URL | --email TO --smtp-url URL --from ADDR | --command CMD)",   \
        .summary = (summary_), .options = alert_cmd_add_options, .min_args = 1, .max_args = 1,     \
        .run = alert_cmd_add, .data = &(store_)                                                    \
    }
#define ALERT_CMD_LIST(store_, summary_)                                                           \
    {                                                                                              \
        .name = "list", .summary = (summary_), .options = alert_cmd_json_options, .max_args = 0,   \
        .run = alert_cmd_list, .data = &(store_)                                                   \
    }
#define ALERT_CMD_REMOVE(store_)                                                                   \
    {                                                                                              \
        .name = "remove", .usage = "NAME", .summary = "remove an alert channel", .min_args = 1,    \
        .max_args = 1, .run = alert_cmd_remove, .data = &(store_)                                  \
    }
#define ALERT_CMD_TEST(store_)                                                                     \
    {                                                                                              \
        .name = "test", .usage = "[NAME]",                                                         \
        .summary = "send a test alert through one channel, or all of them",                        \
        .options = alert_cmd_test_options, .min_args = 0, .max_args = 1, .run = alert_cmd_test,    \
        .data = &(store_)                                                                          \
    }

#endif
