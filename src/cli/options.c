/*
 * options.c - table-driven parsing, getters and --help (see options.h).
 */
#include "cli/options.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "store/db_path.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

const struct cli_option cli_global_options[] = {
    {.name = "db",
     .type = CLI_PATH,
     .metavar = "PATH",
     .help = "the database",
     .def_doc = "$MFB_DB, else in " STORE_SYSTEM_DIR " as root, ~/" STORE_USER_DIR " otherwise"},
    {.name = "log-level",
     .type = CLI_ENUM,
     .metavar = "LEVEL",
     .help = "what to log",
     .def = "info",
     .values = log_levels},
    {.name = "help", .short_name = 'h', .type = CLI_FLAG, .help = "show this help"},
    CLI_OPTIONS_END,
};
#define global_options cli_global_options

const char *cli_option_default_text(const struct cli_option *o, char *buf, size_t len)
{
    if (o->def_doc && o->def)
        snprintf(buf, len, "%s, else %s", o->def_doc, o->def);
    else if (o->def_doc || o->def)
        snprintf(buf, len, "%s", o->def_doc ? o->def_doc : o->def);
    else
        return NULL;
    return buf;
}

/* What --help adds after an option's help, all from its declaration:
 * "(values: a, b; range: 1-64; default: 2; may be repeated)". */
static void describe_option(const struct cli_option *o, bool keeps_values, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
#define ADD(...)                                                                                   \
    (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__), n = n < len ? n : len)
    if (o->values) {
        ADD("%svalues: ", n ? "; " : "");
        for (const char *const *v = o->values; *v; v++)
            ADD("%s%s", v == o->values ? "" : ", ", *v);
    }
    if (o->min || o->max)
        ADD("%srange: %s-%s", n ? "; " : "", o->min ? o->min : "0", o->max ? o->max : "");
    char def[160];
    if (keeps_values && o->type != CLI_FLAG)
        ADD("%sdefault: unchanged", n ? "; " : "");
    else if (cli_option_default_text(o, def, sizeof(def)))
        ADD("%sdefault: %s", n ? "; " : "", def);
    if (o->repeated)
        ADD("%smay be repeated", n ? "; " : "");
#undef ADD
}

static void print_option_table(FILE *out, const struct cli_option *options, bool keeps_values)
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
        char more[512];
        describe_option(o, keeps_values, more, sizeof(more));
        fprintf(out, "  %-28s %s%s%s%s\n", left, o->help, more[0] ? " (" : "", more,
                more[0] ? ")" : "");
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
            print_option_table(out, cmd->options, cmd->keeps_values);
        }
        return;
    }
    fprintf(out, "usage: %s [OPTIONS]%s%s\n\n%s\n", path, cmd->usage ? " " : "",
            cmd->usage ? cmd->usage : "", cmd->summary);
    if (cmd->options && cmd->options->name) {
        fprintf(out, "\noptions:\n");
        print_option_table(out, cmd->options, cmd->keeps_values);
    }
    fprintf(out, "\nglobal options:\n");
    print_option_table(out, global_options, false);
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
        if (opt->type != CLI_FLAG) {
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
        if (opt->repeated) {
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
    if (opt == NULL || opt->type == CLI_FLAG)
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

static const char *const type_names[] = {
    [CLI_FLAG] = "flag",         [CLI_STRING] = "string", [CLI_PATH] = "path", [CLI_SIZE] = "size",
    [CLI_DURATION] = "duration", [CLI_UINT] = "uint",     [CLI_ENUM] = "enum",
};

static json_t *options_json(const struct cli_option *options)
{
    json_t *list = json_array();
    for (const struct cli_option *o = options; o && o->name; o++) {
        char def[160];
        json_t *values = json_null();
        if (o->values) {
            values = json_array();
            for (const char *const *v = o->values; *v; v++)
                json_array_append_new(values, json_string(*v));
        }
        json_array_append_new(
            list, json_pack("{s:s, s:s?, s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:o}", "name", o->name,
                            "short", o->short_name ? (char[]){o->short_name, 0} : NULL, "type",
                            type_names[o->type], "repeated", o->repeated, "metavar", o->metavar,
                            "default", cli_option_default_text(o, def, sizeof(def)), "min", o->min,
                            "max", o->max, "values", values));
    }
    return list;
}

/* Appends every command under cmd (its path being path) to list. */
static void commands_json(json_t *list, const char *path, const struct cli_command *const *commands)
{
    for (const struct cli_command *const *c = commands; c && *c; c++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s %s", path, (*c)->name);
        if ((*c)->run)
            json_array_append_new(list, json_pack("{s:s, s:b, s:o}", "command", sub, "keeps_values",
                                                  (*c)->keeps_values, "options",
                                                  options_json((*c)->options)));
        commands_json(list, sub, (*c)->subcommands);
    }
}

/* The hidden "--options-json": every command's options as declared, for
 * tests/integration/docs_options.py. */
static int dump_options(const char *program, const struct cli_command *const *commands)
{
    json_t *list = json_array();
    commands_json(list, program, commands);
    json_t *root = json_pack("{s:s, s:o, s:o}", "program", program, "global",
                             options_json(cli_global_options), "commands", list);
    char *text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    if (text == NULL)
        return 1;
    puts(text);
    free(text);
    return 0;
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
    if (argc == 2 && strcmp(argv[1], "--options-json") == 0)
        return dump_options(program, commands);
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

/* The declaration of a command's option, checked to have the type the
 * getter expects (a mismatch is a bug in the command). */
static const struct cli_option *declared(const struct cli_args *args, const char *name,
                                         enum cli_type type, int *index)
{
    *index = option_index(args, name);
    const struct cli_option *o = &args->command->options[*index];
    bool ok = type == o->type || (type == CLI_STRING && o->type != CLI_FLAG) ||
              (type == CLI_FLAG && o->type == CLI_FLAG);
    if (!ok) {
        fprintf(stderr, "%s: internal error: option --%s is read with the wrong type\n",
                args->program, name);
        abort();
    }
    return o;
}

bool cli_flag(const struct cli_args *args, const char *name)
{
    int index;
    declared(args, name, CLI_FLAG, &index);
    return args->values[index] != NULL;
}

bool cli_given(const struct cli_args *args, const char *name)
{
    return args->values[option_index(args, name)] != NULL;
}

const char *cli_string(const struct cli_args *args, const char *name)
{
    int index;
    const struct cli_option *o = declared(args, name, CLI_STRING, &index);
    const char *v = args->values[index];
    if (v == NULL && !args->command->keeps_values)
        v = o->def;
    return v;
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

/* Parses text as an option of type o->type into *value, within o's range. */
static mfb_status parse_typed(const struct cli_option *o, const char *text, uint64_t *value,
                              struct mfb_error *err)
{
    switch (o->type) {
    case CLI_SIZE:
        return parse_size(text, value, err);
    case CLI_DURATION:
        return parse_duration_ms(text, value, err);
    case CLI_UINT: {
        uint64_t min = 0, max = UINT64_MAX;
        mfb_status st = MFB_OK;
        if (o->min)
            st = parse_uint(o->min, 0, UINT64_MAX, &min, err);
        if (st == MFB_OK && o->max)
            st = parse_uint(o->max, 0, UINT64_MAX, &max, err);
        return st == MFB_OK ? parse_uint(text, min, max, value, err) : st;
    }
    default:
        return mfb_error_set(err, MFB_ERR_INTERNAL, "option --%s has no numeric type", o->name);
    }
}

static mfb_status get_number(const struct cli_args *args, const char *name, enum cli_type type,
                             uint64_t *value, struct mfb_error *err)
{
    int index;
    const struct cli_option *o = declared(args, name, type, &index);
    const char *v = args->values[index];
    if (v == NULL && !args->command->keeps_values)
        v = o->def;
    if (v == NULL)
        return MFB_OK; /* the caller's run-time default, or the stored value */
    struct mfb_error local = {0};
    return option_error(name, parse_typed(o, v, value, &local), &local, err);
}

mfb_status cli_size(const struct cli_args *args, const char *name, uint64_t *value,
                    struct mfb_error *err)
{
    return get_number(args, name, CLI_SIZE, value, err);
}

mfb_status cli_uint(const struct cli_args *args, const char *name, uint64_t *value,
                    struct mfb_error *err)
{
    return get_number(args, name, CLI_UINT, value, err);
}

mfb_status cli_duration_ms(const struct cli_args *args, const char *name, uint64_t *value,
                           struct mfb_error *err)
{
    return get_number(args, name, CLI_DURATION, value, err);
}

mfb_status cli_option_table_check(const struct cli_option *options, struct mfb_error *err)
{
    for (const struct cli_option *o = options; o && o->name; o++) {
        for (const struct cli_option *p = options; p != o; p++) {
            if (strcmp(p->name, o->name) == 0 || (o->short_name && p->short_name == o->short_name))
                return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s is declared twice", o->name);
        }
        for (const struct cli_option *g = cli_global_options;
             options != cli_global_options && g->name; g++) {
            if (strcmp(g->name, o->name) == 0 || (o->short_name && g->short_name == o->short_name))
                return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s hides a global option", o->name);
        }
        if (o->help == NULL || (o->type == CLI_FLAG) != (o->metavar == NULL))
            return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: help or metavar wrong", o->name);
        if (o->type == CLI_FLAG && (o->def || o->def_doc || o->repeated))
            return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: a flag with a default", o->name);
        if ((o->min || o->max) && o->type != CLI_UINT)
            return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: a range on a non-number", o->name);
        if ((o->type == CLI_ENUM) != (o->values != NULL && o->values[0] != NULL))
            return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: enum without values", o->name);
        struct mfb_error local = {0};
        uint64_t v = 0;
        if (o->type == CLI_UINT && (o->min || o->max) &&
            parse_typed(o, o->min ? o->min : "0", &v, &local) != MFB_OK)
            return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: bad range: %s", o->name,
                                 local.message);
        if (o->def == NULL)
            continue;
        if (o->type == CLI_SIZE || o->type == CLI_DURATION || o->type == CLI_UINT) {
            if (parse_typed(o, o->def, &v, &local) != MFB_OK)
                return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: bad default: %s", o->name,
                                     local.message);
        } else if (o->type == CLI_ENUM) {
            const char *const *e = o->values;
            while (*e && strcmp(*e, o->def) != 0)
                e++;
            if (*e == NULL)
                return mfb_error_set(err, MFB_ERR_INTERNAL, "--%s: default %s is not a value",
                                     o->name, o->def);
        }
    }
    return MFB_OK;
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
