/*
 * config_cli.h - what the configuration commands (init, instance, target)
 * share: opening the database named by --db / $MFB_DB / the default,
 * absolute paths, JSON and table output, and the one flow of add, set,
 * show, list, remove and check.
 *
 * Instances and targets are managed the same way, so that flow is written
 * once, over a small table of the record kind's functions (struct
 * config_kind): add = defaults, apply the options, refuse a taken name,
 * check, save; set = load, apply, check, save; check = load, check. Each
 * cmd_*.c keeps only what is its own: the options, how they apply to a
 * record, and how a record is printed.
 */
#ifndef MFB_CLI_CONFIG_CLI_H
#define MFB_CLI_CONFIG_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/options.h"
#include "job/validate.h"
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

/* One kind of configuration record. Every function gets a pointer to a
 * record of `size` bytes. */
struct config_kind {
    const char *group; /* "instance": the command group and the word in messages */
    size_t size;
    void (*init)(void *rec);
    void (*free)(void *rec);
    char *(*name)(void *rec); /* the record's name buffer */
    size_t name_size;
    /* Applies the command line's options to the record. */
    mfb_status (*apply)(const struct cli_args *args, void *rec, struct mfb_error *err);
    mfb_status (*check_record)(void *rec, struct mfb_error *err);
    void (*check_live)(const void *rec, struct validate_report *report);
    mfb_status (*check_new)(struct config_db *db, const char *name, struct mfb_error *err);
    mfb_status (*get)(struct config_db *db, const char *name, void *rec, struct mfb_error *err);
    mfb_status (*add)(struct config_db *db, void *rec, struct mfb_error *err);
    mfb_status (*update)(struct config_db *db, void *rec, struct mfb_error *err);
    /* Output: the JSON object of a record (never with its secret), and its
     * text form for show. */
    json_t *(*json)(const void *rec);
    void (*print)(const void *rec);
};

/* The commands, for a kind; the record's name is args->positional[0]. */
mfb_status config_cli_add(const struct cli_args *args, const struct config_kind *kind,
                          struct mfb_error *err);
mfb_status config_cli_set(const struct cli_args *args, const struct config_kind *kind,
                          struct mfb_error *err);
mfb_status config_cli_check(const struct cli_args *args, const struct config_kind *kind,
                            struct mfb_error *err);
/* show NAME [--json]. */
mfb_status config_cli_show(const struct cli_args *args, const struct config_kind *kind,
                           struct mfb_error *err);
/* Prints a list as a JSON array of kind->json objects. */
mfb_status config_cli_print_list_json(const struct config_kind *kind, const void *list,
                                      size_t count, struct mfb_error *err);

#endif
