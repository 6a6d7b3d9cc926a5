/*
 * options.c - table-driven parsing, getters and --help (see options.h).
 */
#include "cli/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "store/db_path.h"

static const struct cli_option global_options[] = {
    {"db", 0, CLI_VALUE, "PATH",
     "the database (default: $MFB_DB, else in " STORE_SYSTEM_DIR " as root, ~/" STORE_USER_DIR
     " otherwise)"},
    {"log-level", 0, CLI_VALUE, "LEVEL", "error, warn, info (default) or debug"},
    {"help", 'h', CLI_FLAG, NULL, "show this help"},
    CLI_OPTIONS_END,
};

static void print_option_table(FILE *out, const struct cli_option *options)
{
    for (const struct cli_option *o = options; o && o->name; o++) {
        char left[64];
        int n = 0;
        if (o->short_name)
            n = snprintf(left, sizeof(left), "-%c, ", o->short_name);
        else
            n = snprintf(left, sizeof(left), "    ");
        snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s%s\n", left, o->help,
                o->arg == CLI_REPEATED ? " (may be repeated)" : "");
    }
}

static void print_help(FILE *out, const char *path, const struct cli_command *cmd,
                       const char *about)
{
    if (cmd == NULL || cmd->subcommands) {
        fprintf(out, "usage: %s COMMAND [OPTIONS] ...\n\n", path);
        if (about)
            fprintf(out, "%s\n\n", about);
        else if (cmd)
            fprintf(out, "%s\n\n", cmd->summary);
        fprintf(out, "commands:\n");
        for (const struct cli_command *const *c = cmd ? cmd->subcommands : NULL; c && *c; c++)
            fprintf(out, "  %-14s %s\n", (*c)->name, (*c)->summary);
        fprintf(out, "\nRun '%s COMMAND --help' for a command's options.\n", path);
        if (cmd && cmd->run && cmd->options && cmd->options->name) {
            fprintf(out, "\nwithout a command, %s takes these options:\n", path);
            print_option_table(out, cmd->options);
        }
        return;
    }
    fprintf(out, "usage: %s [OPTIONS]%s%s\n\n%s\n", path, cmd->usage ? " " : "",
            cmd->usage ? cmd->usage : "", cmd->summary);
    if (cmd->options && cmd->options->name) {
        fprintf(out, "\noptions:\n");
        print_option_table(out, cmd->options);
    }
    fprintf(out, "\nglobal options:\n");
    print_option_table(out, global_options);
}

static const struct cli_option *find_option(const struct cli_option *options, const char *name,
                                            size_t len, char short_name, int *index)
{
    int i = 0;
    for (const struct cli_option *o = options; o && o->name; o++, i++) {
        if (short_name ? o->short_name == short_name
                       : (strlen(o->name) == len && strncmp(o->name, name, len) == 0)) {
            *index = i;
            return o;
        }
    }
    return NULL;
}

static int option_index(const struct cli_args *args, const char *name)
{
    int i = 0;
    for (const struct cli_option *o = args->command->options; o && o->name; o++, i++) {
        if (strcmp(o->name, name) == 0)
            return i;
    }
    fprintf(stderr, "%s: internal error: option --%s is not declared\n", args->program, name);
    abort();
}

/* Parses the options and arguments of a leaf command. Sets *help when --help was given. */
static mfb_status parse_leaf(struct cli_args *args, int argc, char **argv, bool *help,
                             struct mfb_error *err)
{
    const struct cli_command *cmd = args->command;
    args->positional = calloc((size_t)argc + 1, sizeof(char *));
    if (args->positional == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            args->positional[args->positional_count++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        bool is_long = arg[1] == '-';
        const char *eq = is_long ? strchr(name, '=') : NULL;
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        char short_name = is_long ? 0 : name[0];
        if (!is_long && len != 1)
            return mfb_error_set(err, MFB_ERR_USAGE, "unknown option '%s' for '%s'", arg,
                                 args->path);
        int index = -1;
        bool global = false;
        const struct cli_option *opt = find_option(cmd->options, name, len, short_name, &index);
        if (opt == NULL) {
            opt = find_option(global_options, name, len, short_name, &index);
            global = true;
        }
        if (opt == NULL) {
            mfb_error_set(err, MFB_ERR_USAGE, "unknown option '%s' for '%s'", arg, args->path);
            mfb_error_hint(err, "run '%s --help' to see its options", args->path);
            return MFB_ERR_USAGE;
        }
        const char *value = "";
        if (opt->arg != CLI_FLAG) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return mfb_error_set(err, MFB_ERR_USAGE, "option --%s needs a value (%s)",
                                     opt->name, opt->metavar);
        } else if (eq) {
            return mfb_error_set(err, MFB_ERR_USAGE, "option --%s takes no value", opt->name);
        }
        if (global) {
            if (strcmp(opt->name, "help") == 0)
                *help = true;
            else if (strcmp(opt->name, "db") == 0)
                args->db_path = value;
            else
                args->log_level = value;
            continue;
        }
        args->values[index] = value;
        if (opt->arg == CLI_REPEATED) {
            if (args->repeated_count == CLI_MAX_VALUES)
                return mfb_error_set(err, MFB_ERR_USAGE, "too many --%s options", opt->name);
            args->repeated[args->repeated_count] = value;
            args->repeated_owner[args->repeated_count++] = index;
        }
    }
    if (*help)
        return MFB_OK;
    if (args->positional_count < cmd->min_args ||
        (cmd->max_args >= 0 && args->positional_count > cmd->max_args)) {
        mfb_error_set(err, MFB_ERR_USAGE, "wrong number of arguments for '%s'", args->path);
        mfb_error_hint(err, "usage: %s %s", args->path, cmd->usage ? cmd->usage : "");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

/* Takes a valued global option (--db, --log-level) standing before the
 * command name. Returns how many argv entries it used: 0 when argv[i] is not
 * one, -1 when its value is missing. */
static int take_global_before_command(struct cli_args *args, int argc, char **argv, int i)
{
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    int index;
    const struct cli_option *opt = find_option(global_options, arg + 2, len, 0, &index);
    if (opt == NULL || opt->arg != CLI_VALUE)
        return 0;
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (value == NULL)
        return -1;
    if (strcmp(opt->name, "db") == 0)
        args->db_path = value;
    else
        args->log_level = value;
    return eq ? 1 : 2;
}

int cli_main(const char *program, const char *about, const struct cli_command *const *commands,
             int argc, char **argv)
{
    struct mfb_error err = {0};
    struct cli_args args = {.program = program};
    char path[256];
    snprintf(path, sizeof(path), "%s", program);

    const struct cli_command group = {.name = program, .summary = about, .subcommands = commands};
    const struct cli_command *cmd = &group;
    int i = 1;
    while (cmd->subcommands) {
        if (i >= argc && cmd->run)
            break; /* a group that runs by itself too ("mfb logs") */
        if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(i >= argc ? stderr : stdout, path, cmd, cmd == &group ? about : NULL);
            return i >= argc ? 2 : 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", program, MFB_VERSION);
            return 0;
        }
        int taken = take_global_before_command(&args, argc, argv, i);
        if (taken < 0) {
            mfb_error_set(&err, MFB_ERR_USAGE, "option %s needs a value", argv[i]);
            mfb_error_print(&err, program);
            return 2;
        }
        if (taken > 0) {
            i += taken;
            continue;
        }
        const struct cli_command *next = NULL;
        for (const struct cli_command *const *c = cmd->subcommands; *c; c++) {
            if (strcmp((*c)->name, argv[i]) == 0)
                next = *c;
        }
        if (next == NULL && cmd->run)
            break; /* its own options or arguments follow */
        if (next == NULL) {
            mfb_error_set(&err, MFB_ERR_USAGE, "unknown command '%s %s'", path, argv[i]);
            mfb_error_hint(&err, "run '%s --help' to see the commands", path);
            mfb_error_print(&err, program);
            return 2;
        }
        size_t used = strlen(path);
        snprintf(path + used, sizeof(path) - used, " %s", next->name);
        cmd = next;
        i++;
    }

    args.command = cmd;
    args.path = path;
    bool help = false;
    mfb_status st = parse_leaf(&args, argc - i, argv + i, &help, &err);
    if (st == MFB_OK && help) {
        print_help(stdout, path, cmd, NULL);
    } else if (st == MFB_OK) {
        enum mfb_log_level level = MFB_LOG_INFO;
        if (args.log_level && !mfb_log_level_parse(args.log_level, &level)) {
            st = mfb_error_set(&err, MFB_ERR_USAGE, "invalid log level '%s'", args.log_level);
            mfb_error_hint(&err, "use error, warn, info or debug");
        } else {
            mfb_log_init(level, NULL);
            st = cmd->run(&args, &err);
        }
    }
    free(args.positional);
    if (st != MFB_OK) {
        if (!mfb_error_is_set(&err))
            mfb_error_set(&err, st, "%s failed (%s)", path, mfb_status_str(st));
        mfb_error_print(&err, program);
    }
    return mfb_status_exit_code(st);
}

bool cli_flag(const struct cli_args *args, const char *name)
{
    return args->values[option_index(args, name)] != NULL;
}

const char *cli_string(const struct cli_args *args, const char *name, const char *fallback)
{
    const char *v = args->values[option_index(args, name)];
    return v ? v : fallback;
}

/* Prefixes a parser's error with the option's name. */
static mfb_status option_error(const char *name, mfb_status st, const struct mfb_error *local,
                               struct mfb_error *err)
{
    if (st != MFB_OK) {
        mfb_error_set(err, st, "--%s: %s", name, local->message);
        mfb_error_hint(err, "%s", local->hint);
    }
    return st;
}

mfb_status cli_size(const struct cli_args *args, const char *name, uint64_t fallback,
                    uint64_t *value, struct mfb_error *err)
{
    const char *v = cli_string(args, name, NULL);
    *value = fallback;
    if (v == NULL)
        return MFB_OK;
    struct mfb_error local = {0};
    return option_error(name, parse_size(v, value, &local), &local, err);
}

mfb_status cli_uint(const struct cli_args *args, const char *name, uint64_t fallback, uint64_t min,
                    uint64_t max, uint64_t *value, struct mfb_error *err)
{
    const char *v = cli_string(args, name, NULL);
    *value = fallback;
    if (v == NULL)
        return MFB_OK;
    struct mfb_error local = {0};
    return option_error(name, parse_uint(v, min, max, value, &local), &local, err);
}

mfb_status cli_duration_ms(const struct cli_args *args, const char *name, uint64_t fallback,
                           uint64_t *value, struct mfb_error *err)
{
    const char *v = cli_string(args, name, NULL);
    *value = fallback;
    if (v == NULL)
        return MFB_OK;
    struct mfb_error local = {0};
    return option_error(name, parse_duration_ms(v, value, &local), &local, err);
}

size_t cli_all(const struct cli_args *args, const char *name, const char **values, size_t max)
{
    int index = option_index(args, name);
    size_t n = 0;
    for (size_t i = 0; i < args->repeated_count && n < max; i++) {
        if (args->repeated_owner[i] == index)
            values[n++] = args->repeated[i];
    }
    return n;
}
