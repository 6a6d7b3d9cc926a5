/*
 * cmd_settings.c - `mfb settings [show] | set NAME VALUE | reset NAME`:
 * the client's tunable settings (job/settings.h): the two knobs of job-log
 * retention (requirement 7.5, docs/logs.md) and the backoff of the
 * daemon's upload retries (docs/daemon.md).
 *
 *   mfb settings [--json]              every setting: value, default, what it does
 *   mfb settings set NAME VALUE        validated against the setting's range
 *   mfb settings reset NAME            back to the default
 *
 * The retention itself runs automatically after each job (journal_prune),
 * the retries' waits are computed as each attempt ends; a changed value
 * applies from the next job on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "job/settings.h"
#include "store/config_records.h"

static const struct cli_option show_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static const struct cli_option no_options[] = {CLI_OPTIONS_END};

static mfb_status run_show(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st != MFB_OK)
        return st;
    size_t n = 0;
    const struct job_setting *s = job_settings(&n);
    if (cli_flag(args, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            int set = 0;
            uint64_t v = job_setting_value(db, &s[i], &set);
            json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:b, s:I, s:s, s:s}", "name",
                                                 s[i].name, "value", (json_int_t)v, "default",
                                                 (json_int_t)s[i].fallback, "set", set, "max",
                                                 (json_int_t)s[i].max, "unit", s[i].unit,
                                                 "description", s[i].help));
        }
        st = config_cli_print_json(arr, err);
    } else {
        enum { COLS = 4 };
        static const char *const header[COLS] = {"NAME", "VALUE", "DEFAULT", "DESCRIPTION"};
        const char **cells = calloc(n * COLS + 1, sizeof(*cells));
        char(*text)[2][48] = calloc(n + 1, sizeof(*text));
        if (cells == NULL || text == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                int set = 0;
                uint64_t v = job_setting_value(db, &s[i], &set);
                snprintf(text[i][0], sizeof(text[i][0]), "%llu %s%s%s", (unsigned long long)v,
                         s[i].unit, v == 0 ? " (off)" : "", set ? "" : " (default)");
                snprintf(text[i][1], sizeof(text[i][1]), "%llu", (unsigned long long)s[i].fallback);
                const char **c = cells + i * COLS;
                c[0] = s[i].name;
                c[1] = text[i][0];
                c[2] = text[i][1];
                c[3] = s[i].help;
            }
            config_cli_table(header, COLS, cells, n);
        }
        free(cells);
        free(text);
    }
    config_db_close(db);
    return st;
}

/* Stores text (NULL: removes the key) for the setting called name. */
static mfb_status store(struct cli_args *args, const char *name, const char *text,
                        struct mfb_error *err)
{
    const struct job_setting *s = job_setting_find(name, err);
    if (s == NULL)
        return MFB_ERR_USAGE;
    uint64_t v = s->fallback;
    mfb_status st = text ? job_setting_parse(s, text, &v, err) : MFB_OK;
    char canonical[32];
    snprintf(canonical, sizeof(canonical), "%llu", (unsigned long long)v);
    struct config_db *db = NULL;
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = config_setting_set(db, s->name, text ? canonical : NULL, err);
    if (st == MFB_OK)
        printf("%s = %s %s%s%s; applies after the next job\n", s->name, canonical, s->unit,
               v == 0 ? " (off)" : "", text ? "" : " (the default)");
    config_db_close(db);
    return st;
}

static mfb_status run_set(struct cli_args *args, struct mfb_error *err)
{
    return store(args, args->positional[0], args->positional[1], err);
}

static mfb_status run_reset(struct cli_args *args, struct mfb_error *err)
{
    return store(args, args->positional[0], NULL, err);
}

static const struct cli_command settings_show = {.name = "show",
                                                 .summary = "every setting, its value and default",
                                                 .options = show_options,
                                                 .run = run_show};
static const struct cli_command settings_set = {.name = "set",
                                                .usage = "NAME VALUE",
                                                .summary = "change a setting (validated)",
                                                .options = no_options,
                                                .min_args = 2,
                                                .max_args = 2,
                                                .run = run_set};
static const struct cli_command settings_reset = {.name = "reset",
                                                  .usage = "NAME",
                                                  .summary = "put a setting back to its default",
                                                  .options = no_options,
                                                  .min_args = 1,
                                                  .max_args = 1,
                                                  .run = run_reset};

static const struct cli_command *const settings_commands[] = {&settings_show, &settings_set,
                                                              &settings_reset, NULL};

const struct cli_command cmd_settings = {.name = "settings",
                                         .summary = "see and change the client's settings "
                                                    "(job-log retention)",
                                         .usage = "[show|set NAME VALUE|reset NAME]",
                                         .options = show_options,
                                         .max_args = 0,
                                         .subcommands = settings_commands,
                                         .run = run_show};
