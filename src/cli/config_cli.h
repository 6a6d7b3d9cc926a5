/*
 * config_cli.h - what the commands that use the configuration database
 * share: opening the database named by --db / $MFB_DB / the default,
 * absolute paths, JSON and table output. The one flow of
 * add, set, show, list, remove and check over instances and targets is
 * cli/record_cmd.h.
 */
#ifndef MFB_CLI_CONFIG_CLI_H
#define MFB_CLI_CONFIG_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/options.h"
#include "store/config_db.h"

/* Opens (with create: creates) the configuration database of this command
 * line. created may be NULL. Release with config_db_close. */
mfb_status config_cli_open(const struct cli_args *args, bool create, struct config_db **db,
                           bool *created, struct mfb_error *err);

/* Replaces *field with path made absolute against the working directory
 * (without resolving symbolic links), trailing slashes removed. */
mfb_status config_cli_set_path(char **field, const char *option, const char *path,
                               struct mfb_error *err);

/* Prints a JSON value on stdout, indented, and releases it. */
mfb_status config_cli_print_json(json_t *value, struct mfb_error *err);

/* JSON helpers that map NULL to null. */
json_t *config_cli_json_str(const char *s);
/* A Unix time in seconds as "2026-11-25T19:30:00Z". */
json_t *config_cli_json_time(int64_t t);
const char *config_cli_time(int64_t t, char *buf, size_t len);

/* Prints rows as a table with a header, columns padded to their widest
 * cell. cells[row * columns + col]; NULL cells print as "-". */
void config_cli_table(const char *const *header, size_t columns, const char *const *cells,
                      size_t rows);

#endif
