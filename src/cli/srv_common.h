/*
 * srv_common.h - what the mfb-server commands share: opening the catalog
 * named by --db (or the default path), and JSON/table output helpers.
 */
#ifndef MFB_CLI_SRV_COMMON_H
#define MFB_CLI_SRV_COMMON_H

#include <stdbool.h>

#include "cli/options.h"
#include "store/server_db.h"

/* The catalog path from --db, $MFB_DB or the default. */
void srv_db_path(const struct cli_args *args, char *buf, size_t len);

/* Opens the existing catalog. */
mfb_status srv_open_db(const struct cli_args *args, struct server_db **db, struct mfb_error *err);

struct json_t;

/* Prints a JSON value compactly on one line of standard output and releases it. */
void srv_print_json(struct json_t *value);

/* Checks a name given on the command line by the protocol's rules. */
mfb_status srv_check_name(const char *what, const char *name, struct mfb_error *err);

#endif
