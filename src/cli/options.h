/*
 * options.h - table-driven command lines.
 *
 * Each command declares its options once, in a table of struct cli_option;
 * that table drives parsing, the typed getters' validation and --help.
 * Commands nest ("mfb archive create"): a struct cli_command either has
 * subcommands or a run function. Global options (--db, --log-level, --help)
 * are accepted anywhere after the program name.
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

enum cli_arg { CLI_FLAG, CLI_VALUE, CLI_REPEATED };

struct cli_option {
    const char *name;    /* long name without dashes: "threads" */
    char short_name;     /* 0 for none */
    enum cli_arg arg;    /* flag, one value, or a value that may repeat */
    const char *metavar; /* "N", "PATTERN"; NULL for flags */
    const char *help;
};

#define CLI_OPTIONS_END                                                                            \
    {                                                                                              \
        NULL, 0, CLI_FLAG, NULL, NULL                                                              \
    }
#define CLI_MAX_OPTIONS 64
#define CLI_MAX_VALUES 256

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
    int max_args;                                 /* -1: no limit */
    const struct cli_command *const *subcommands; /* NULL-terminated list, for groups */
    /* run: the command; a group may have one too, run when no subcommand
     * follows ("mfb logs --json" next to "mfb logs show 3"). */
    mfb_status (*run)(struct cli_args *args, struct mfb_error *err);
};

/* Parses argv[0..] (argv[0] being the program) against a table of top-level
 * commands, then runs the command. Prints the error and returns the exit code. */
int cli_main(const char *program, const char *about, const struct cli_command *const *commands,
             int argc, char **argv);

/* Getters. The name must be in the command's table (a bug otherwise). */
bool cli_flag(const struct cli_args *args, const char *name);
const char *cli_string(const struct cli_args *args, const char *name, const char *fallback);
mfb_status cli_size(const struct cli_args *args, const char *name, uint64_t fallback,
                    uint64_t *value, struct mfb_error *err);
mfb_status cli_uint(const struct cli_args *args, const char *name, uint64_t fallback, uint64_t min,
                    uint64_t max, uint64_t *value, struct mfb_error *err);
mfb_status cli_duration_ms(const struct cli_args *args, const char *name, uint64_t fallback,
                           uint64_t *value, struct mfb_error *err);
/* Every value given for a CLI_REPEATED option, in order; returns the count. */
size_t cli_all(const struct cli_args *args, const char *name, const char **values, size_t max);

#endif
