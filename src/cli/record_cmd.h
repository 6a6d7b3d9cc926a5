/*
 * record_cmd.h - the one flow of the commands that manage a kind of
 * configuration record: `mfb instance ...`, `mfb target ...` and
 * `mfb schedule ...`.
 *
 * Instances, targets and schedules are managed the same way, so the flow is written
 * once, here, over a table of the record kind's functions (struct
 * record_kind):
 *   add    = defaults, apply the options, refuse a taken name, check, save;
 *   set    = load, apply the options over the stored record, check, save;
 *   check  = load, check;
 *   show   = load, print as text, or as JSON with --json;
 *   list   = every record as a table, or as a JSON array with --json;
 *   remove = settle the jobs a killed process left running, remove.
 * "check" is the record checks, then the live ones against the server or
 * the receiver (job/validate.h), which add and set skip with --no-check.
 * A kind without live checks (a schedule: nothing to reach) leaves
 * check_live NULL and has no --no-check.
 *
 * Each cmd_*.c keeps only what is its own: the options and how they apply
 * to a record, how a record prints, the list's columns, and what removing
 * one must respect. Its subcommands run the record_cmd_* functions below
 * directly and name their kind in the command's data (options.h), so the
 * flow, its messages and its exit codes exist once.
 */
#ifndef MFB_CLI_RECORD_CMD_H
#define MFB_CLI_RECORD_CMD_H

#include <jansson.h>
#include <stddef.h>

#include "cli/options.h"
#include "job/validate.h"
#include "store/config_db.h"
#include "store/config_records.h"

/* The list's table: at most this many columns, and the bytes of the text a
 * row function may write for each cell. */
#define RECORD_MAX_COLUMNS 8
#define RECORD_CELL_TEXT 600

/* One kind of configuration record. Every function gets a pointer to a
 * record of `size` bytes; a list is an array of them. */
struct record_kind {
    const char *group; /* "instance": the command group and the word in messages */
    size_t size;
    size_t name_size;

    /* The record's life and storage (store/config_records.h). */
    void (*init)(void *rec);
    void (*free)(void *rec);
    char *(*name)(void *rec); /* the record's name buffer, name_size bytes */
    mfb_status (*get)(struct config_db *db, const char *name, void *rec, struct mfb_error *err);
    mfb_status (*check_new)(struct config_db *db, const char *name, struct mfb_error *err);
    mfb_status (*add)(struct config_db *db, void *rec, struct mfb_error *err);
    mfb_status (*update)(struct config_db *db, void *rec, struct mfb_error *err);
    mfb_status (*list)(struct config_db *db, void **list, size_t *count, struct mfb_error *err);
    void (*list_free)(void *list, size_t count);
    /* Removes the record of this name; the command line may say how (a
     * target's --force). */
    mfb_status (*remove)(struct config_db *db, const char *name, const struct cli_args *args,
                         struct mfb_error *err);

    /* The checks (job/validate.h): of the record alone, and live (NULL:
     * none, and then the kind's add and set have no --no-check). */
    mfb_status (*check_record)(void *rec, struct mfb_error *err);
    void (*check_live)(const void *rec, struct validate_report *report);
    /* Optional: what add and set print after the record was saved, below
     * "added <group> 'NAME'" (a schedule's next run times). */
    void (*print_saved)(const void *rec);

    /* The command line and the output. apply applies the options of add
     * and set to the record. json is the record's JSON object, never with
     * its secret; print its text form for show. */
    mfb_status (*apply)(const struct cli_args *args, void *rec, struct mfb_error *err);
    json_t *(*json)(const void *rec);
    void (*print)(const void *rec);

    /* list's table: the header of each column, and a record's cells; a
     * cell that is not a string of the record is written in text[column]
     * (RECORD_CELL_TEXT bytes). A NULL cell prints as "-". */
    const char *const *columns;
    size_t column_count; /* at most RECORD_MAX_COLUMNS */
    void (*row)(const void *rec, const char **cells, char (*text)[RECORD_CELL_TEXT]);
};

/*
 * The store (config_<word>_init, _free, _get, _check_new, _add, _update,
 * _list, _list_free) and job/validate.h (validate_<word>_record, _live)
 * give each kind the same functions over its own record type. These two
 * macros write their adapters to struct record_kind's void * once, instead
 * of in each cmd_*.c: RECORD_KIND_ADAPTERS(word) at file scope defines
 * them, RECORD_KIND_BIND(word) in the struct record_kind's initialiser
 * names them (with the size and the name's size). A kind whose checks are
 * not job/validate.h's uses the _STORE_ halves and names its own.
 */
#define RECORD_KIND_STORE_ADAPTERS(word)                                                           \
    static void word##_kind_init(void *rec)                                                        \
    {                                                                                              \
        config_##word##_init(rec);                                                                 \
    }                                                                                              \
    static void word##_kind_free(void *rec)                                                        \
    {                                                                                              \
        config_##word##_free(rec);                                                                 \
    }                                                                                              \
    static char *word##_kind_name(void *rec)                                                       \
    {                                                                                              \
        return ((struct config_##word *)rec)->name;                                                \
    }                                                                                              \
    static mfb_status word##_kind_get(struct config_db *db, const char *name, void *rec,           \
                                      struct mfb_error *err)                                       \
    {                                                                                              \
        return config_##word##_get(db, name, rec, err);                                            \
    }                                                                                              \
    static mfb_status word##_kind_add(struct config_db *db, void *rec, struct mfb_error *err)      \
    {                                                                                              \
        return config_##word##_add(db, rec, err);                                                  \
    }                                                                                              \
    static mfb_status word##_kind_update(struct config_db *db, void *rec, struct mfb_error *err)   \
    {                                                                                              \
        return config_##word##_update(db, rec, err);                                               \
    }                                                                                              \
    static mfb_status word##_kind_list(struct config_db *db, void **list, size_t *count,           \
                                       struct mfb_error *err)                                      \
    {                                                                                              \
        struct config_##word *typed = NULL;                                                        \
        mfb_status st = config_##word##_list(db, &typed, count, err);                              \
        *list = typed;                                                                             \
        return st;                                                                                 \
    }                                                                                              \
    static void word##_kind_list_free(void *list, size_t count)                                    \
    {                                                                                              \
        config_##word##_list_free(list, count);                                                    \
    }

#define RECORD_KIND_ADAPTERS(word)                                                                 \
    RECORD_KIND_STORE_ADAPTERS(word)                                                               \
    static mfb_status word##_kind_check_record(void *rec, struct mfb_error *err)                   \
    {                                                                                              \
        return validate_##word##_record(rec, err);                                                 \
    }                                                                                              \
    static void word##_kind_check_live(const void *rec, struct validate_report *report)            \
    {                                                                                              \
        validate_##word##_live(rec, report);                                                       \
    }

#define RECORD_KIND_STORE_BIND(word)                                                               \
    .size = sizeof(struct config_##word), .name_size = sizeof(((struct config_##word *)0)->name),  \
    .init = word##_kind_init, .free = word##_kind_free, .name = word##_kind_name,                  \
    .get = word##_kind_get, .check_new = config_##word##_check_new, .add = word##_kind_add,        \
    .update = word##_kind_update, .list = word##_kind_list, .list_free = word##_kind_list_free

#define RECORD_KIND_BIND(word)                                                                     \
    RECORD_KIND_STORE_BIND(word), .check_record = word##_kind_check_record,                        \
                                  .check_live = word##_kind_check_live

/* The commands' run functions (struct cli_command's run, with the kind in
 * its data). The record's name is args->positional[0]. */
mfb_status record_cmd_add(struct cli_args *args, struct mfb_error *err);
mfb_status record_cmd_set(struct cli_args *args, struct mfb_error *err);
mfb_status record_cmd_check(struct cli_args *args, struct mfb_error *err);
mfb_status record_cmd_show(struct cli_args *args, struct mfb_error *err);
mfb_status record_cmd_list(struct cli_args *args, struct mfb_error *err);
mfb_status record_cmd_remove(struct cli_args *args, struct mfb_error *err);

/* The options of show and list: --json. */
extern const struct cli_option record_cmd_json_options[];

/*
 * What each subcommand of a record kind's group is in the flow: its name,
 * its arguments (the flow reads the record's name from the first), its
 * run function and the kind it serves. The kind's file adds its own words
 * (.summary; add's .usage) and options (add and set: the kind's table;
 * remove: the kind's, if any):
 *   static const struct cli_command instance_show = {
 *       RECORD_CMD_SHOW(kind), .summary = "show an instance"};
 */
#define RECORD_CMD_ADD(k)                                                                          \
    .name = "add", .min_args = 1, .max_args = 1, .run = record_cmd_add, .data = &(k)
#define RECORD_CMD_SET(k)                                                                          \
    .name = "set", .usage = "NAME [OPTIONS]", .keeps_values = true, .min_args = 1, .max_args = 1,  \
    .run = record_cmd_set, .data = &(k)
#define RECORD_CMD_LIST(k)                                                                         \
    .name = "list", .options = record_cmd_json_options, .max_args = 0, .run = record_cmd_list,     \
    .data = &(k)
#define RECORD_CMD_SHOW(k)                                                                         \
    .name = "show", .usage = "NAME", .options = record_cmd_json_options, .min_args = 1,            \
    .max_args = 1, .run = record_cmd_show, .data = &(k)
#define RECORD_CMD_REMOVE(k)                                                                       \
    .name = "remove", .usage = "NAME", .min_args = 1, .max_args = 1, .run = record_cmd_remove,     \
    .data = &(k)
#define RECORD_CMD_CHECK(k)                                                                        \
    .name = "check", .usage = "NAME", .min_args = 1, .max_args = 1, .run = record_cmd_check,       \
    .data = &(k)

#endif
