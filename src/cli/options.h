/*
 * options.h - table-driven command lines.
 *
 * Each command declares its options once, in a table of struct cli_option;
 * that table drives parsing, the typed getters' validation and --help.
 * Commands nest ("mfb archive create"): a struct cli_command either has
 * subcommands or a run function. Global options (--db, --log-level, --help)
 * are accepted anywhere after the program name.
 *
 * "PROGRAM --options-json" (not in --help) prints every command's options,
 * as declared, for the test that keeps the docs true.
 *
 * Option values are kept as the strings the user typed; the getters parse
 * them (sizes, durations, counts) and fill an mfb_error naming the option
 * when a value is wrong. Secrets never come through here: commands take
 * --password-file / --token-file instead.
 */
#ifndef MFB_CLI_OPTIONS_H
#define MFB_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* What an option's value is: it decides how the getters parse it and how
 * --help and the docs describe it. */
enum cli_type {
    CLI_FLAG,     /* no value */
    CLI_STRING,   /* free text: names, URLs, commands, patterns */
    CLI_PATH,     /* a file or directory */
    CLI_SIZE,     /* bytes: "16M", "1.5GiB" (common/parse.h) */
    CLI_DURATION, /* "30s", "7d", "1h30m" */
    CLI_UINT,     /* a count or number within [min, max] */
    CLI_ENUM,     /* one of values[] */
};

/* One option, declared once (like pgBackRest's build/config.yaml): the
 * getters take its default and range from here, and --help and the option
 * tables of the docs show them (tests/integration/docs_options.py checks
 * the docs against this declaration).
 *
 * def is the default as the user would type it ("60s", "16M", "4"). A
 * default known only at run time (the number of cores, a stored target's
 * value) is described in words by def_doc, and the caller sets the value
 * before the getter, which leaves it alone when the option is absent; an
 * option may have both ("the target's, else 16M": def_doc "the target's",
 * def "16M"). min and max bound a CLI_UINT, in the option's own syntax. */
struct cli_option {
    const char *name; /* long name without dashes: "threads" */
    char short_name;  /* 0 for none */
    enum cli_type type;
    bool repeated;       /* may be given several times (cli_all) */
    const char *metavar; /* "N", "PATTERN"; NULL for flags */
    const char *help;
    const char *def;
    const char *def_doc;
    const char *min;
    const char *max;
    const char *const *values; /* CLI_ENUM: the allowed values, NULL-terminated */
};

#define CLI_OPTIONS_END                                                                            \
    {                                                                                              \
        .name = NULL                                                                               \
    }
#define CLI_MAX_OPTIONS 64
#define CLI_MAX_VALUES 256

/* Turns a numeric constant into the text a table's def, min or max needs,
 * so that a limit written as a macro still exists in one place. An
 * undefined macro comes out as its own name, which the table test rejects. */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x

struct cli_args {
    const struct cli_command *command;
    const char *program;                  /* "mfb" or "mfb-server" */
    const char *path;                     /* "mfb archive create", for messages */
    const char *values[CLI_MAX_OPTIONS];  /* last value, "" for a set flag */
    const char *repeated[CLI_MAX_VALUES]; /* every value of CLI_REPEATED options */
    int repeated_owner[CLI_MAX_VALUES];   /* index of the option each belongs to */
    size_t repeated_count;
    char **positional;
    int positional_count;
    const char *db_path;   /* --db, or NULL */
    const char *log_level; /* --log-level, or NULL */
};

struct cli_command {
    const char *name;
    const char *usage;   /* arguments after the command path: "DIR OUT.zip" */
    const char *summary; /* one line */
    const struct cli_option *options;
    int min_args;
    int max_args; /* -1: no limit */
    /* keeps_values: the command changes a stored record ("instance set"):
     * an absent option keeps the stored value instead of taking the table's
     * default, which is the one "add" uses. */
    bool keeps_values;
    const struct cli_command *const *subcommands; /* NULL-terminated list, for groups */
    /* run: the command; a group may have one too, run when no subcommand
     * follows ("mfb logs --json" next to "mfb logs show 3"). */
    mfb_status (*run)(struct cli_args *args, struct mfb_error *err);
    /* data: what a run shared by several commands needs to know which one
     * it serves (args->command->data), such as the record kind of
     * "instance add" and "target add" (cli/record_cmd.h); NULL otherwise. */
    const void *data;
};

/* --db, --log-level and --help, accepted by every command. */
extern const struct cli_option cli_global_options[];

/* Parses argv[0..] (argv[0] being the program) against a table of top-level
 * commands, then runs the command. Prints the error and returns the exit code. */
int cli_main(const char *program, const char *about, const struct cli_command *const *commands,
             int argc, char **argv);

/* Getters. The name must be in the command's table with a matching type
 * (a bug otherwise: they abort).
 *
 * When the option is absent, the valued getters use the table's default;
 * without one (or in a keeps_values command), they leave *value as the
 * caller set it: that is the run-time default the table's def_doc names. */
bool cli_flag(const struct cli_args *args, const char *name);
/* Whether the option was given on the command line. */
bool cli_given(const struct cli_args *args, const char *name);
/* The value given, else the table's default (NULL when it has none). */
const char *cli_string(const struct cli_args *args, const char *name);
mfb_status cli_size(const struct cli_args *args, const char *name, uint64_t *value,
                    struct mfb_error *err);
mfb_status cli_uint(const struct cli_args *args, const char *name, uint64_t *value,
                    struct mfb_error *err);
mfb_status cli_duration_ms(const struct cli_args *args, const char *name, uint64_t *value,
                           struct mfb_error *err);
/* Every value given for a repeated option, in order; returns the count. */
size_t cli_all(const struct cli_args *args, const char *name, const char **values, size_t max);

/* The default as --help shows it ("60s", "the number of cores, else 4"),
 * in buf; NULL when the option has none. */
const char *cli_option_default_text(const struct cli_option *o, char *buf, size_t len);

/* Checks that a table is well formed: unique names and short names, each
 * default parses with its own type and lies in the range, enum defaults are
 * among the values, flags have no metavar and valued options have one.
 * Fills err naming the first problem. */
mfb_status cli_option_table_check(const struct cli_option *options, struct mfb_error *err);

#endif
