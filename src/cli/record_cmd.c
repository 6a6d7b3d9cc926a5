/*
 * record_cmd.c - add, set, check, show, list and remove of a kind of
 * configuration record, written once for instances, targets and schedules
 * (see record_cmd.h).
 */
#include "cli/record_cmd.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config_cli.h"
#include "job/orphans.h"

const struct cli_option record_cmd_json_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

/* The kind the running command manages: a record command without one in
 * its data is a bug in its table. */
static const struct record_kind *kind_of(const struct cli_args *args)
{
    const struct record_kind *kind = args->command->data;
    assert(kind != NULL);
    return kind;
}

/* Prints each check (passed ones on stdout, failures as error + HINT lines
 * on stderr), and turns failures into the command's error:
 * "<group> '<name>' <outcome>: N of M checks failed". */
static mfb_status report(const struct validate_report *r, const char *group, const char *name,
                         const char *outcome, struct mfb_error *err)
{
    mfb_status first = MFB_OK;
    for (size_t i = 0; i < r->count; i++) {
        const struct validate_check *c = &r->checks[i];
        if (c->ok) {
            printf("check %s: ok%s%s%s\n", c->name, c->detail[0] ? " (" : "", c->detail,
                   c->detail[0] ? ")" : "");
        } else {
            mfb_error_print(&c->error, "mfb");
            if (first == MFB_OK)
                first = c->error.status;
        }
    }
    fflush(stdout);
    if (r->failed == 0)
        return MFB_OK;
    mfb_error_set(err, first, "%s '%s' %s: %zu of %zu checks failed", group, name, outcome,
                  r->failed, r->count);
    mfb_error_hint(err, "fix the problems above, or pass --no-check to save it anyway");
    return first;
}

/* The record checks, then the live ones unless --no-check. */
static mfb_status check(const struct record_kind *kind, void *rec, bool live, const char *outcome,
                        struct mfb_error *err)
{
    mfb_status st = kind->check_record(rec, err);
    if (st != MFB_OK || !live || kind->check_live == NULL)
        return st;
    struct validate_report r;
    kind->check_live(rec, &r);
    return report(&r, kind->group, kind->name(rec), outcome, err);
}

/* Whether add and set run the live checks: a kind without any has no
 * --no-check to read. */
static bool live_checks(const struct cli_args *args, const struct record_kind *kind)
{
    return kind->check_live != NULL && !cli_flag(args, "no-check");
}

/* After a save: what happened, and the warning when checks were skipped. */
static void saved(const struct cli_args *args, const struct record_kind *kind, const char *verb,
                  const void *rec)
{
    const char *name = kind->name((void *)rec);
    printf("%s %s '%s'\n", verb, kind->group, name);
    if (kind->print_saved)
        kind->print_saved(rec);
    if (kind->check_live && cli_flag(args, "no-check"))
        fprintf(stderr,
                "mfb: warning: %s '%s' was saved without checking it (--no-check)\n"
                "HINT: run 'mfb %s check %s' once it is reachable\n",
                kind->group, name, kind->group, name);
}

/* Allocates and initialises a record; release with drop_record. */
static void *new_record(const struct record_kind *kind, struct mfb_error *err)
{
    void *rec = malloc(kind->size);
    if (rec == NULL)
        mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    else
        kind->init(rec);
    return rec;
}

static void drop_record(const struct record_kind *kind, void *rec)
{
    if (rec) {
        kind->free(rec);
        free(rec);
    }
}

/* Opens the database and reads the record named by the first argument.
 * On failure *db and *rec may still be set: release them as usual. */
static mfb_status load(const struct cli_args *args, const struct record_kind *kind,
                       struct config_db **db, void **rec, struct mfb_error *err)
{
    *db = NULL;
    *rec = new_record(kind, err);
    if (*rec == NULL)
        return MFB_ERR_NO_MEMORY;
    mfb_status st = config_cli_open(args, false, db, NULL, err);
    if (st == MFB_OK)
        st = kind->get(*db, args->positional[0], *rec, err);
    return st;
}

mfb_status record_cmd_add(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    const char *name = args->positional[0];
    if (strlen(name) >= kind->name_size) {
        mfb_error_set(err, MFB_ERR_USAGE, "%s name '%s' is too long", kind->group, name);
        mfb_error_hint(err, "names have at most %zu bytes", kind->name_size - 1);
        return MFB_ERR_USAGE;
    }
    struct config_db *db = NULL;
    void *rec = new_record(kind, err);
    if (rec == NULL)
        return MFB_ERR_NO_MEMORY;
    snprintf(kind->name(rec), kind->name_size, "%s", name);
    mfb_status st = kind->apply(args, rec, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    /* A taken name is refused before the slower live checks run. */
    if (st == MFB_OK)
        st = kind->check_new(db, name, err);
    if (st == MFB_OK)
        st = check(kind, rec, live_checks(args, kind), "not added", err);
    if (st == MFB_OK)
        st = kind->add(db, rec, err);
    if (st == MFB_OK)
        saved(args, kind, "added", rec);
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

mfb_status record_cmd_set(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    struct config_db *db = NULL;
    void *rec = NULL;
    mfb_status st = load(args, kind, &db, &rec, err);
    if (st == MFB_OK)
        st = kind->apply(args, rec, err);
    if (st == MFB_OK)
        st = check(kind, rec, live_checks(args, kind), "not changed", err);
    if (st == MFB_OK)
        st = kind->update(db, rec, err);
    if (st == MFB_OK)
        saved(args, kind, "updated", rec);
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

mfb_status record_cmd_check(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    struct config_db *db = NULL;
    void *rec = NULL;
    mfb_status st = load(args, kind, &db, &rec, err);
    if (st == MFB_OK) {
        st = check(kind, rec, true, "has problems", err);
        if (st != MFB_OK)
            mfb_error_hint(err, "fix them with 'mfb %s set %s ...'", kind->group, kind->name(rec));
    }
    if (st == MFB_OK)
        printf("%s '%s' is ready\n", kind->group, kind->name(rec));
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

mfb_status record_cmd_show(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    struct config_db *db = NULL;
    void *rec = NULL;
    mfb_status st = load(args, kind, &db, &rec, err);
    if (st == MFB_OK && cli_flag(args, "json"))
        st = config_cli_print_json(kind->json(rec), err);
    else if (st == MFB_OK)
        kind->print(rec);
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

/* The list as a JSON array of kind->json objects. */
static mfb_status print_list_json(const struct record_kind *kind, const void *list, size_t count,
                                  struct mfb_error *err)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++)
        json_array_append_new(array, kind->json((const char *)list + i * kind->size));
    return config_cli_print_json(array, err);
}

/* The list as a table with kind's columns, or the way to add a first
 * record when there is none. */
static mfb_status print_list_table(const struct record_kind *kind, const void *list, size_t count,
                                   struct mfb_error *err)
{
    size_t columns = kind->column_count;
    assert(columns > 0 && columns <= RECORD_MAX_COLUMNS);
    if (count == 0) {
        /* The kinds' words take a plain "s": "no instances", "no schedules". */
        printf("no %ss; add one with 'mfb %s add NAME ...'\n", kind->group, kind->group);
        return MFB_OK;
    }
    mfb_status st = MFB_OK;
    const char **cells = calloc(count * columns, sizeof(*cells));
    char(*text)[RECORD_CELL_TEXT] = calloc(count * columns, sizeof(*text));
    if (cells == NULL || text == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    } else {
        for (size_t i = 0; i < count; i++)
            kind->row((const char *)list + i * kind->size, cells + i * columns, text + i * columns);
        config_cli_table(kind->columns, columns, cells, count);
    }
    free(text);
    free(cells);
    return st;
}

mfb_status record_cmd_list(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    struct config_db *db = NULL;
    void *list = NULL;
    size_t count = 0;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = kind->list(db, &list, &count, err);
    if (st == MFB_OK && cli_flag(args, "json"))
        st = print_list_json(kind, list, count, err);
    else if (st == MFB_OK)
        st = print_list_table(kind, list, count, err);
    kind->list_free(list, count);
    config_db_close(db);
    return st;
}

mfb_status record_cmd_remove(struct cli_args *args, struct mfb_error *err)
{
    const struct record_kind *kind = kind_of(args);
    const char *name = args->positional[0];
    struct config_db *db = NULL;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    /* A job left "running" by a killed process must not block the removal. */
    if (st == MFB_OK)
        st = job_orphans_settle(db, NULL, err);
    if (st == MFB_OK)
        st = kind->remove(db, name, args, err);
    if (st == MFB_OK)
        printf("removed %s '%s'\n", kind->group, name);
    config_db_close(db);
    return st;
}
