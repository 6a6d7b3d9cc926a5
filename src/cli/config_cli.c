/*
 * config_cli.c - helpers of the configuration commands (see config_cli.h).
 */
#include "cli/config_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db_path.h"

mfb_status config_cli_open(const struct cli_args *args, bool create, struct config_db **db,
                           bool *created, struct mfb_error *err)
{
    char path[PATH_MAX];
    mfb_status st = store_db_path(args->db_path, CONFIG_DB_FILE, path, sizeof(path), err);
    if (st != MFB_OK)
        return st;
    return config_db_open(path, create, db, created, err);
}

mfb_status config_cli_set_path(char **field, const char *option, const char *path,
                               struct mfb_error *err)
{
    if (path[0] == '\0') {
        mfb_error_set(err, MFB_ERR_USAGE, "--%s needs a path", option);
        return MFB_ERR_USAGE;
    }
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot resolve --%s '%s'", option, path);
    char full[PATH_MAX * 2];
    int n = path[0] == '/' ? snprintf(full, sizeof(full), "%s", path)
                           : snprintf(full, sizeof(full), "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= PATH_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "--%s '%s' is too long", option, path);
        return MFB_ERR_USAGE;
    }
    while (n > 1 && full[n - 1] == '/')
        full[--n] = '\0';
    if (strncmp(full, "./", 2) == 0)
        memmove(full, full + 2, strlen(full + 2) + 1);
    return config_str_set(field, full, err);
}

mfb_status config_cli_print_json(json_t *value, struct mfb_error *err)
{
    if (value == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    int rc = json_dumpf(value, stdout, JSON_INDENT(2));
    json_decref(value);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return mfb_error_set(err, MFB_ERR_IO, "cannot write the output");
    return MFB_OK;
}

json_t *config_cli_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

const char *config_cli_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

json_t *config_cli_json_time(int64_t t)
{
    char buf[64];
    return json_string(config_cli_time(t, buf, sizeof(buf)));
}

void config_cli_table(const char *const *header, size_t columns, const char *const *cells,
                      size_t rows)
{
    size_t width[16] = {0};
    if (columns > 16)
        columns = 16;
    for (size_t c = 0; c < columns; c++) {
        width[c] = strlen(header[c]);
        for (size_t r = 0; r < rows; r++) {
            const char *cell = cells[r * columns + c];
            size_t w = strlen(cell ? cell : "-");
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r <= rows; r++) {
        for (size_t c = 0; c < columns; c++) {
            const char *cell = r == 0 ? header[c] : cells[(r - 1) * columns + c];
            if (cell == NULL)
                cell = "-";
            if (c + 1 == columns)
                printf("%s\n", cell);
            else
                printf("%-*s  ", (int)width[c], cell);
        }
    }
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
static mfb_status check(const struct config_kind *kind, void *rec, bool live, const char *outcome,
                        struct mfb_error *err)
{
    mfb_status st = kind->check_record(rec, err);
    if (st != MFB_OK || !live)
        return st;
    struct validate_report r;
    kind->check_live(rec, &r);
    return report(&r, kind->group, kind->name(rec), outcome, err);
}

/* After a save: what happened, and the warning when checks were skipped. */
static void saved(const struct cli_args *args, const struct config_kind *kind, const char *verb,
                  const char *name)
{
    printf("%s %s '%s'\n", verb, kind->group, name);
    if (cli_flag(args, "no-check"))
        fprintf(stderr,
                "mfb: warning: %s '%s' was saved without checking it (--no-check)\n"
                "HINT: run 'mfb %s check %s' once it is reachable\n",
                kind->group, name, kind->group, name);
}

/* Allocates and initialises a record. */
static void *new_record(const struct config_kind *kind, struct mfb_error *err)
{
    void *rec = malloc(kind->size);
    if (rec == NULL)
        mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    else
        kind->init(rec);
    return rec;
}

static void drop_record(const struct config_kind *kind, void *rec)
{
    if (rec) {
        kind->free(rec);
        free(rec);
    }
}

/* Opens the database and reads the record named by the first argument.
 * On failure *db and *rec may still be set: release them as usual. */
static mfb_status load(const struct cli_args *args, const struct config_kind *kind,
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

mfb_status config_cli_add(const struct cli_args *args, const struct config_kind *kind,
                          struct mfb_error *err)
{
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
        st = check(kind, rec, !cli_flag(args, "no-check"), "not added", err);
    if (st == MFB_OK)
        st = kind->add(db, rec, err);
    if (st == MFB_OK)
        saved(args, kind, "added", name);
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

mfb_status config_cli_set(const struct cli_args *args, const struct config_kind *kind,
                          struct mfb_error *err)
{
    struct config_db *db = NULL;
    void *rec = NULL;
    mfb_status st = load(args, kind, &db, &rec, err);
    if (st == MFB_OK)
        st = kind->apply(args, rec, err);
    if (st == MFB_OK)
        st = check(kind, rec, !cli_flag(args, "no-check"), "not changed", err);
    if (st == MFB_OK)
        st = kind->update(db, rec, err);
    if (st == MFB_OK)
        saved(args, kind, "updated", kind->name(rec));
    drop_record(kind, rec);
    config_db_close(db);
    return st;
}

mfb_status config_cli_check(const struct cli_args *args, const struct config_kind *kind,
                            struct mfb_error *err)
{
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

mfb_status config_cli_show(const struct cli_args *args, const struct config_kind *kind,
                           struct mfb_error *err)
{
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

mfb_status config_cli_print_list_json(const struct config_kind *kind, const void *list,
                                      size_t count, struct mfb_error *err)
{
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++)
        json_array_append_new(array, kind->json((const char *)list + i * kind->size));
    return config_cli_print_json(array, err);
}
