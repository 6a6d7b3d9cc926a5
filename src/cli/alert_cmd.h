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

mfb_status alert_cmd_add(const struct alert_store *store, struct cli_args *args,
                         struct mfb_error *err);
mfb_status alert_cmd_list(const struct alert_store *store, struct cli_args *args,
                          struct mfb_error *err);
mfb_status alert_cmd_remove(const struct alert_store *store, struct cli_args *args,
                            struct mfb_error *err);
mfb_status alert_cmd_test(const struct alert_store *store, struct cli_args *args,
                          struct mfb_error *err);

#endif
