/*
 * cmd_instance.c - `mfb instance add|list|show|set|remove|check`: the MySQL
 * and MariaDB servers mfb backs up.
 *
 * add and set share one option table and one function that applies the
 * options to a record: add starts from the defaults, set from the stored
 * record, so "set takes the same options as add, and only those given
 * change" holds by construction. The record is then checked
 * (job/validate.h) and saved. The password comes from --password-file
 * (or standard input with '-'), never from the command line, and no output
 * ever shows it: "password: (set)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "job/orphans.h"
#include "job/validate.h"
#include "store/config_db.h"
#include "store/config_records.h"
#include "store/job_log.h"

/* A step's bound; its default is config_timeout_default()'s (the unit
 * test holds them equal), the one a new instance gets. */
#define TIMEOUT_OPTION(step, text, default)                                                        \
    {                                                                                              \
        .name = step "-timeout", .type = CLI_DURATION, .metavar = "DURATION", .help = text,        \
        .def = default                                                                             \
    }

static const char *const restart_after_values[] = {"upload", "archive", "snapshot", NULL};

static const struct cli_option edit_options[] = {
    {.name = "socket",
     .type = CLI_PATH,
     .metavar = "PATH",
     .help = "connect through this unix socket"},
    {.name = "host",
     .type = CLI_STRING,
     .metavar = "HOST",
     .help = "connect over TCP to this host instead"},
    {.name = "port",
     .type = CLI_UINT,
     .metavar = "PORT",
     .help = "TCP port, with --host",
     .def = CLI_STR(CONFIG_DEFAULT_PORT),
     .min = "1",
     .max = "65535"},
    {.name = "user", .type = CLI_STRING, .metavar = "USER", .help = "MySQL user mfb logs in as"},
    {.name = "password-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "file holding the password (mode 0600), or - for standard input"},
    {.name = "no-password",
     .type = CLI_FLAG,
     .help = "log in without a password (unix_socket authentication)"},
    {.name = "datadir",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help = "the server's data directory (its @@datadir)"},
    {.name = "spool",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help = "directory where Data.zip is written (outside the datadir)"},
    {.name = "control",
     .type = CLI_STRING,
     .metavar = "METHOD",
     .help = "how to stop and start the server: systemd:UNIT, sysv:NAME, shutdown-sql or command"},
    {.name = "start-cmd",
     .type = CLI_STRING,
     .metavar = "CMD",
     .help = "shell command that starts the server (shutdown-sql, command)"},
    {.name = "stop-cmd",
     .type = CLI_STRING,
     .metavar = "CMD",
     .help = "shell command that stops the server (command)"},
    {.name = "restart-after",
     .type = CLI_ENUM,
     .metavar = "WHEN",
     .help = "restart after the upload, the archive, or a snapshot copy",
     .def = "upload",
     .values = restart_after_values},
    TIMEOUT_OPTION("preflush", "bound on flushing dirty pages before the stop", "5m"),
    TIMEOUT_OPTION("stop", "bound on the stop, until the server is gone", "10m"),
    TIMEOUT_OPTION("archive", "bound on writing Data.zip", "6h"),
    TIMEOUT_OPTION("upload", "bound on the upload", "12h"),
    TIMEOUT_OPTION("start", "bound on the start command", "10m"),
    TIMEOUT_OPTION("verify", "bound on the first successful query after the start", "5m"),
    {.name = "no-check",
     .type = CLI_FLAG,
     .help = "save without checking the connection, files and method"},
    CLI_OPTIONS_END,
};

static const struct cli_option json_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

/* The value of an option that names a piece of text the user may clear by
 * giving an empty value; *given says whether the option was there. */
static const char *optional_text(const struct cli_args *args, const char *name, bool *given)
{
    const char *v = cli_string(args, name);
    *given = v != NULL;
    return v && *v ? v : NULL;
}

static mfb_status usage(struct mfb_error *err, const char *hint, const char *message)
{
    mfb_error_set(err, MFB_ERR_USAGE, "%s", message);
    mfb_error_hint(err, "%s", hint);
    return MFB_ERR_USAGE;
}

/* Applies the connection options. */
static mfb_status apply_connection(const struct cli_args *args, struct config_instance *inst,
                                   struct mfb_error *err)
{
    const char *socket = cli_string(args, "socket");
    const char *host = cli_string(args, "host");
    bool has_port = cli_given(args, "port");
    if (socket && host)
        return usage(err, "give --socket PATH, or --host HOST with --port PORT",
                     "--socket and --host exclude each other");
    if (has_port && !host && !inst->host)
        return usage(err, "give --host HOST with --port PORT", "--port needs --host");
    mfb_status st = MFB_OK;
    if (socket) {
        st = config_cli_set_path(&inst->socket, "socket", socket, err);
        if (st == MFB_OK)
            st = config_str_set(&inst->host, NULL, err);
        inst->port = 0;
    } else if (host) {
        if (*host == '\0')
            return usage(err, "give the server's host name or address", "--host needs a value");
        st = config_str_set(&inst->host, host, err);
        if (st == MFB_OK)
            st = config_str_set(&inst->socket, NULL, err);
        if (inst->port == 0)
            inst->port = CONFIG_DEFAULT_PORT;
    }
    uint64_t port = inst->port;
    if (st == MFB_OK && has_port)
        st = cli_uint(args, "port", &port, err);
    inst->port = (unsigned)port;
    return st;
}

/* Applies --control, --start-cmd and --stop-cmd. A new method drops the
 * commands it does not use unless they are given again (then the method
 * check refuses them, saying why). */
static mfb_status apply_control(const struct cli_args *args, struct config_instance *inst,
                                struct mfb_error *err)
{
    mfb_status st = MFB_OK;
    const char *control = cli_string(args, "control");
    if (control) {
        char *service = NULL;
        enum config_control kind;
        st = config_control_parse(control, &kind, &service, err);
        if (st != MFB_OK)
            return st;
        free(inst->service);
        inst->service = service;
        inst->control = kind;
        if (kind != CONFIG_CONTROL_COMMAND)
            st = config_str_set(&inst->stop_cmd, NULL, err);
        if (st == MFB_OK && (kind == CONFIG_CONTROL_SYSTEMD || kind == CONFIG_CONTROL_SYSV))
            st = config_str_set(&inst->start_cmd, NULL, err);
    }
    bool given;
    const char *cmd = optional_text(args, "start-cmd", &given);
    if (st == MFB_OK && given)
        st = config_str_set(&inst->start_cmd, cmd, err);
    cmd = optional_text(args, "stop-cmd", &given);
    if (st == MFB_OK && given)
        st = config_str_set(&inst->stop_cmd, cmd, err);
    return st;
}

/* Applies every option given to inst (see the top of this file). The
 * password is read last, so that a mistake elsewhere does not consume
 * standard input. */
static mfb_status apply_options(const struct cli_args *args, void *rec, struct mfb_error *err)
{
    struct config_instance *inst = rec;
    mfb_status st = apply_connection(args, inst, err);
    const char *v;
    if (st == MFB_OK && (v = cli_string(args, "user")) != NULL)
        st = config_str_set(&inst->user, v, err);
    if (st == MFB_OK && (v = cli_string(args, "datadir")) != NULL)
        st = config_cli_set_path(&inst->datadir, "datadir", v, err);
    if (st == MFB_OK && (v = cli_string(args, "spool")) != NULL)
        st = config_cli_set_path(&inst->spool, "spool", v, err);
    if (st == MFB_OK)
        st = apply_control(args, inst, err);
    if (st == MFB_OK && (v = cli_string(args, "restart-after")) != NULL)
        st = config_restart_after_parse(v, &inst->restart_after, err);
    for (int i = 0; st == MFB_OK && i < CONFIG_TIMEOUT_COUNT; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-timeout", config_timeout_name((enum config_timeout)i));
        st = cli_duration_ms(args, name, &inst->timeout_ms[i], err);
    }
    const char *password_file = cli_string(args, "password-file");
    if (st == MFB_OK && password_file && cli_flag(args, "no-password"))
        return usage(err, "give one of them",
                     "--password-file and --no-password exclude each other");
    if (st == MFB_OK && cli_flag(args, "no-password"))
        st = config_str_set(&inst->password, NULL, err);
    if (st == MFB_OK && password_file) {
        char *secret = NULL;
        st = fs_read_secret(password_file, &secret, err);
        if (st == MFB_OK)
            st = config_str_set(&inst->password, secret, err);
        config_secret_free(secret);
    }
    return st;
}

static const char *connection_text(const struct config_instance *inst, char *buf, size_t len)
{
    if (inst->socket)
        snprintf(buf, len, "socket %s", inst->socket);
    else
        snprintf(buf, len, "%s:%u", inst->host ? inst->host : "?", inst->port);
    return buf;
}

/* The JSON of an instance, without its password. */
static json_t *instance_json(const void *rec)
{
    const struct config_instance *inst = rec;
    char control[512];
    json_t *timeouts = json_object();
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        json_object_set_new(timeouts, config_timeout_name((enum config_timeout)i),
                            json_integer((json_int_t)inst->timeout_ms[i]));
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, "
        "s:o}",
        "name", inst->name, "socket", config_cli_json_str(inst->socket), "host",
        config_cli_json_str(inst->host), "port",
        inst->host ? json_integer(inst->port) : json_null(), "user",
        config_cli_json_str(inst->user), "password_set", inst->password != NULL, "control",
        config_control_format(inst->control, inst->service, control, sizeof(control)), "start_cmd",
        config_cli_json_str(inst->start_cmd), "stop_cmd", config_cli_json_str(inst->stop_cmd),
        "datadir", config_cli_json_str(inst->datadir), "spool", config_cli_json_str(inst->spool),
        "restart_after", config_restart_after_str(inst->restart_after), "timeouts_ms", timeouts,
        "created", config_cli_json_time(inst->created), "updated",
        config_cli_json_time(inst->updated));
}

static void print_instance(const void *rec)
{
    const struct config_instance *inst = rec;
    char buf[600], when[64];
    printf("name: %s\n", inst->name);
    printf("connection: %s\n", connection_text(inst, buf, sizeof(buf)));
    printf("user: %s\n", inst->user ? inst->user : "-");
    printf("password: %s\n", inst->password ? "(set)" : "(none)");
    printf("control: %s\n", config_control_format(inst->control, inst->service, buf, sizeof(buf)));
    printf("start command: %s\n", inst->start_cmd ? inst->start_cmd : "-");
    printf("stop command: %s\n", inst->stop_cmd ? inst->stop_cmd : "-");
    printf("datadir: %s\n", inst->datadir);
    printf("spool: %s\n", inst->spool);
    printf("restart after: %s\n", config_restart_after_str(inst->restart_after));
    printf("timeouts:");
    for (int i = 0; i < CONFIG_TIMEOUT_COUNT; i++)
        printf("%s %s %s", i ? "," : "", config_timeout_name((enum config_timeout)i),
               format_duration_ms(inst->timeout_ms[i], buf, sizeof(buf)));
    printf("\ncreated: %s\n", config_cli_time(inst->created, when, sizeof(when)));
    printf("updated: %s\n", config_cli_time(inst->updated, when, sizeof(when)));
}

static mfb_status run_remove(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    /* A job left "running" by a killed process must not block the removal. */
    if (st == MFB_OK)
        st = job_orphans_settle(db, NULL, err);
    if (st == MFB_OK)
        st = config_instance_remove(db, args->positional[0], err);
    if (st == MFB_OK)
        printf("removed instance '%s'\n", args->positional[0]);
    config_db_close(db);
    return st;
}

/* The instance as a kind of record for config_cli.h's flows. */
static void kind_init(void *rec)
{
    config_instance_init(rec);
}
static void kind_free(void *rec)
{
    config_instance_free(rec);
}
static char *kind_name(void *rec)
{
    return ((struct config_instance *)rec)->name;
}
static mfb_status kind_check_record(void *rec, struct mfb_error *err)
{
    return validate_instance_record(rec, err);
}
static void kind_check_live(const void *rec, struct validate_report *report)
{
    validate_instance_live(rec, report);
}
static mfb_status kind_get(struct config_db *db, const char *name, void *rec, struct mfb_error *err)
{
    return config_instance_get(db, name, rec, err);
}
static mfb_status kind_add(struct config_db *db, void *rec, struct mfb_error *err)
{
    return config_instance_add(db, rec, err);
}
static mfb_status kind_update(struct config_db *db, void *rec, struct mfb_error *err)
{
    return config_instance_update(db, rec, err);
}

static const struct config_kind kind = {
    .group = "instance",
    .size = sizeof(struct config_instance),
    .init = kind_init,
    .free = kind_free,
    .name = kind_name,
    .name_size = CONFIG_NAME_BUF,
    .apply = apply_options,
    .check_record = kind_check_record,
    .check_live = kind_check_live,
    .check_new = config_instance_check_new,
    .get = kind_get,
    .add = kind_add,
    .update = kind_update,
    .json = instance_json,
    .print = print_instance,
};

static mfb_status run_add(struct cli_args *args, struct mfb_error *err)
{
    return config_cli_add(args, &kind, err);
}

static mfb_status run_set(struct cli_args *args, struct mfb_error *err)
{
    return config_cli_set(args, &kind, err);
}

static mfb_status run_list(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    struct config_instance *list = NULL;
    size_t count = 0;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = config_instance_list(db, &list, &count, err);
    if (st == MFB_OK && cli_flag(args, "json")) {
        st = config_cli_print_list_json(&kind, list, count, err);
    } else if (st == MFB_OK) {
        enum { COLS = 5 };
        static const char *const header[COLS] = {"NAME", "CONNECTION", "CONTROL", "DATADIR",
                                                 "RESTART"};
        char(*text)[2][600] = calloc(count ? count : 1, sizeof(*text));
        const char **cells = calloc(count * COLS + 1, sizeof(*cells));
        if (text == NULL || cells == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        } else {
            for (size_t i = 0; i < count; i++) {
                const struct config_instance *in = &list[i];
                const char **row = cells + i * COLS;
                row[0] = in->name;
                row[1] = connection_text(in, text[i][0], sizeof(text[i][0]));
                row[2] =
                    config_control_format(in->control, in->service, text[i][1], sizeof(text[i][1]));
                row[3] = in->datadir;
                row[4] = config_restart_after_str(in->restart_after);
            }
            if (count == 0)
                printf("no instances; add one with 'mfb instance add NAME ...'\n");
            else
                config_cli_table(header, COLS, cells, count);
        }
        free(text);
        free(cells);
    }
    config_instance_list_free(list, count);
    config_db_close(db);
    return st;
}

static mfb_status run_show(struct cli_args *args, struct mfb_error *err)
{
    return config_cli_show(args, &kind, err);
}

static mfb_status run_check(struct cli_args *args, struct mfb_error *err)
{
    return config_cli_check(args, &kind, err);
}

static const struct cli_command instance_add = {
    .name = "add",
    .usage = "NAME (--socket PATH | --host HOST [--port PORT]) --user USER --datadir DIR "
             "--spool DIR --control METHOD ...",
    .summary = "add a MySQL/MariaDB instance, after checking that mfb can back it up",
    .options = edit_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_add};
static const struct cli_command instance_set = {
    .name = "set",
    .usage = "NAME [OPTIONS]",
    .summary = "change an instance: the options of 'add'; only those given change",
    .options = edit_options,
    .keeps_values = true,
    .min_args = 1,
    .max_args = 1,
    .run = run_set};
static const struct cli_command instance_list = {.name = "list",
                                                 .summary = "list the instances",
                                                 .options = json_options,
                                                 .max_args = 0,
                                                 .run = run_list};
static const struct cli_command instance_show = {.name = "show",
                                                 .usage = "NAME",
                                                 .summary = "show an instance",
                                                 .options = json_options,
                                                 .min_args = 1,
                                                 .max_args = 1,
                                                 .run = run_show};
static const struct cli_command instance_remove = {
    .name = "remove",
    .usage = "NAME",
    .summary = "remove an instance (its job history is kept)",
    .min_args = 1,
    .max_args = 1,
    .run = run_remove};
static const struct cli_command instance_check = {
    .name = "check",
    .usage = "NAME",
    .summary = "check a saved instance: connection, files, stop/start method",
    .min_args = 1,
    .max_args = 1,
    .run = run_check};

static const struct cli_command *const instance_commands[] = {
    &instance_add,    &instance_list,  &instance_show, &instance_set,
    &instance_remove, &instance_check, NULL,
};

const struct cli_command cmd_instance = {.name = "instance",
                                         .summary = "add, list, show, change or remove the "
                                                    "MySQL/MariaDB instances to back up",
                                         .subcommands = instance_commands};
