/*
 * cmd_instance.c - `mfb instance add|list|show|set|remove|check`: the MySQL
 * and MariaDB servers mfb backs up.
 *
 * add and set share one option table and one function that applies the
 * options to a record: add starts from the defaults, set from the stored
 * record, so "set takes the same options as add, and only those given
 * change" holds by construction. The record is then checked
 * (job/validate.h) and saved by the flow all record kinds share
 * (record_cmd.h); this file holds what is the instance's own: its options,
 * how they apply, how it prints. The password comes from --password-file
 * (or standard input with '-'), never from the command line, and no output
 * ever shows it: "password: (set)".
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/record_cmd.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "store/config_db.h"
#include "store/config_records.h"

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
    {.name = "expect-every",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "the daemon alerts when the last good backup is older than this (0: never)"},
    {.name = "expect-drill-every",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "the same for the last good restore drill (0: never)"},
    {.name = "no-check",
     .type = CLI_FLAG,
     .help = "save without checking the connection, files and method"},
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
    /* silence alarms (docs/monitoring.md): checked by the daemon */
    if (st == MFB_OK && cli_given(args, "expect-every"))
        st = cli_duration_ms(args, "expect-every", &inst->expect_every_ms, err);
    if (st == MFB_OK && cli_given(args, "expect-drill-every"))
        st = cli_duration_ms(args, "expect-drill-every", &inst->expect_drill_every_ms, err);
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

/* A duration in JSON: null for 0, "not set". */
static json_t *opt_ms(uint64_t ms)
{
    return ms > 0 ? json_integer((json_int_t)ms) : json_null();
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
    json_t *j = json_pack(
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
    json_t *o = json_pack("{s:o, s:o}", "expect_every_ms", opt_ms(inst->expect_every_ms),
                          "expect_drill_every_ms", opt_ms(inst->expect_drill_every_ms));
    json_object_update(j, o);
    json_decref(o);
    return j;
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
    printf("\nexpect a good backup every: %s\n",
           inst->expect_every_ms ? format_duration_ms(inst->expect_every_ms, buf, sizeof(buf))
                                 : "-");
    printf("expect a good drill every: %s\n",
           inst->expect_drill_every_ms
               ? format_duration_ms(inst->expect_drill_every_ms, buf, sizeof(buf))
               : "-");
    printf("created: %s\n", config_cli_time(inst->created, when, sizeof(when)));
    printf("updated: %s\n", config_cli_time(inst->updated, when, sizeof(when)));
}

/* The list's columns. */
static const char *const columns[] = {"NAME", "CONNECTION", "CONTROL", "DATADIR", "RESTART"};

static void instance_row(const void *rec, const char **cells, char (*text)[RECORD_CELL_TEXT])
{
    const struct config_instance *inst = rec;
    cells[0] = inst->name;
    cells[1] = connection_text(inst, text[1], sizeof(text[1]));
    cells[2] = config_control_format(inst->control, inst->service, text[2], sizeof(text[2]));
    cells[3] = inst->datadir;
    cells[4] = config_restart_after_str(inst->restart_after);
}

/* Refused while the instance has a running job (store/config_records.h). */
static mfb_status remove_instance(struct config_db *db, const char *name,
                                  const struct cli_args *args, struct mfb_error *err)
{
    (void)args;
    return config_instance_remove(db, name, err);
}

/* The instance as a kind of record for record_cmd.h's flow; the adapters
 * call config_instance_* and validate_instance_*. */
RECORD_KIND_ADAPTERS(instance)

static const struct record_kind kind = {
    .group = "instance",
    RECORD_KIND_BIND(instance),
    .remove = remove_instance,
    .apply = apply_options,
    .json = instance_json,
    .print = print_instance,
    .columns = columns,
    .column_count = sizeof(columns) / sizeof(columns[0]),
    .row = instance_row,
};

static const struct cli_command instance_add = {
    RECORD_CMD_ADD(kind),
    .usage = "NAME (--socket PATH | --host HOST [--port PORT]) --user USER --datadir DIR "
             "--spool DIR --control METHOD ...",
    .summary = "add a MySQL/MariaDB instance, after checking that mfb can back it up",
    .options = edit_options};
static const struct cli_command instance_set = {
    RECORD_CMD_SET(kind),
    .summary = "change an instance: the options of 'add'; only those given change",
    .options = edit_options};
static const struct cli_command instance_list = {RECORD_CMD_LIST(kind),
                                                 .summary = "list the instances"};
static const struct cli_command instance_show = {RECORD_CMD_SHOW(kind),
                                                 .summary = "show an instance"};
static const struct cli_command instance_remove = {
    RECORD_CMD_REMOVE(kind), .summary = "remove an instance (its job history is kept)"};
static const struct cli_command instance_check = {
    RECORD_CMD_CHECK(kind),
    .summary = "check a saved instance: connection, files, stop/start method"};

static const struct cli_command *const instance_commands[] = {
    &instance_add,    &instance_list,  &instance_show, &instance_set,
    &instance_remove, &instance_check, NULL,
};

const struct cli_command cmd_instance = {.name = "instance",
                                         .summary = "add, list, show, change or remove the "
                                                    "MySQL/MariaDB instances to back up",
                                         .subcommands = instance_commands};
