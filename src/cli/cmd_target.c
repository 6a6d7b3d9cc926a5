/*
 * cmd_target.c - `mfb target add|list|show|set|remove|check`: the receivers
 * (mfb-server) backups are sent to.
 *
 * Same shape as cmd_instance.c: add and set share the option table and the
 * function that applies it, and the flow is record_cmd.h's. A target pins the receiver's
 * certificate by its fingerprint (what 'mfb-server init' prints) or trusts a CA file, exactly one
 * of the two; giving one in `set` drops the other. The token comes from --token-file or standard
 * input and is never printed: "token: (set)".
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/record_cmd.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "job/validate.h"
#include "store/config_db.h"
#include "store/config_records.h"

static const struct cli_option edit_options[] = {
    {.name = "url",
     .type = CLI_STRING,
     .metavar = "URL",
     .help = "the receiver, https://HOST:PORT"},
    {.name = "token-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "file holding this client's token (mode 0600), or - for standard input"},
    {.name = "fingerprint",
     .type = CLI_STRING,
     .metavar = "SHA256",
     .help = "pin the receiver's certificate by its SHA-256 fingerprint (AA:BB:...)"},
    {.name = "ca-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "verify the receiver's certificate with this CA instead"},
    {.name = "directory",
     .type = CLI_STRING,
     .metavar = "SUBDIR",
     .help = "sub-directory of this client's space on the receiver ('' for none)"},
    {.name = "naming",
     .type = CLI_STRING,
     .metavar = "PATTERN",
     .help = "backup file names (default {instance}_{time:%Y%m%d-%H%M%S}.zip)",
     .def_doc = CONFIG_DEFAULT_NAMING},
    {.name = "chunk-size",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "upload chunk size, a power of two",
     .def = "16M"},
    {.name = "connections",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "parallel upload connections",
     .def = CLI_STR(CONFIG_DEFAULT_CONNECTIONS),
     .min = "1",
     .max = CLI_STR(VALIDATE_CONNECTIONS_MAX)},
    {.name = "max-jobs",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "the daemon's jobs that may send to this target at once",
     .def = CLI_STR(CONFIG_DEFAULT_MAX_JOBS),
     .min = "1",
     .max = "64"},
    {.name = "no-check",
     .type = CLI_FLAG,
     .help = "save without checking that the receiver answers"},
    CLI_OPTIONS_END,
};

static const struct cli_option remove_options[] = {
    {.name = "force",
     .type = CLI_FLAG,
     .help = "remove it even though an upload waits to be resumed there"},
    CLI_OPTIONS_END,
};

/* Applies every option given to t; the token is read last. */
static mfb_status apply_options(const struct cli_args *args, void *rec, struct mfb_error *err)
{
    struct config_target *t = rec;
    mfb_status st = MFB_OK;
    const char *v;
    const char *fingerprint = cli_string(args, "fingerprint");
    const char *ca_file = cli_string(args, "ca-file");
    if (fingerprint && ca_file) {
        mfb_error_set(err, MFB_ERR_USAGE, "--fingerprint and --ca-file exclude each other");
        mfb_error_hint(err, "pin the certificate or name a CA file, not both");
        return MFB_ERR_USAGE;
    }
    if ((v = cli_string(args, "url")) != NULL)
        st = config_str_set(&t->url, v, err);
    if (st == MFB_OK && fingerprint) {
        st = config_str_set(&t->fingerprint, fingerprint, err);
        if (st == MFB_OK)
            st = config_str_set(&t->ca_file, NULL, err);
    }
    if (st == MFB_OK && ca_file) {
        st = config_cli_set_path(&t->ca_file, "ca-file", ca_file, err);
        if (st == MFB_OK)
            st = config_str_set(&t->fingerprint, NULL, err);
    }
    if (st == MFB_OK && (v = cli_string(args, "directory")) != NULL)
        st = config_str_set(&t->directory, *v ? v : NULL, err);
    if (st == MFB_OK && (v = cli_string(args, "naming")) != NULL)
        st = config_str_set(&t->naming, *v ? v : CONFIG_DEFAULT_NAMING, err);
    if (st == MFB_OK && t->naming == NULL)
        st = config_str_set(&t->naming, CONFIG_DEFAULT_NAMING, err);
    if (st == MFB_OK)
        st = cli_size(args, "chunk-size", &t->chunk_size, err);
    uint64_t connections = t->connections;
    if (st == MFB_OK)
        st = cli_uint(args, "connections", &connections, err);
    t->connections = (unsigned)connections;
    uint64_t max_jobs = t->max_jobs;
    if (st == MFB_OK)
        st = cli_uint(args, "max-jobs", &max_jobs, err);
    t->max_jobs = (unsigned)max_jobs;
    if (st == MFB_OK && t->url == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "no receiver URL given");
        mfb_error_hint(err, "pass --url https://HOST:PORT");
        return MFB_ERR_USAGE;
    }
    const char *token_file = cli_string(args, "token-file");
    if (st == MFB_OK && token_file) {
        char *secret = NULL;
        st = fs_read_secret(token_file, &secret, err);
        if (st == MFB_OK)
            st = config_str_set(&t->token, secret, err);
        config_secret_free(secret);
    }
    if (st == MFB_OK && t->token == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "no token given");
        mfb_error_hint(err, "pass --token-file FILE (or - for standard input) with the token "
                            "'mfb-server client add' printed");
        return MFB_ERR_USAGE;
    }
    return st;
}

/* The JSON of a target, without its token. */
static json_t *target_json(const void *rec)
{
    const struct config_target *t = rec;
    return json_pack("{s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:I, s:i, s:i, s:o, s:o}", "name",
                     t->name, "url", config_cli_json_str(t->url), "token_set", t->token != NULL,
                     "fingerprint", config_cli_json_str(t->fingerprint), "ca_file",
                     config_cli_json_str(t->ca_file), "directory",
                     config_cli_json_str(t->directory), "naming", config_cli_json_str(t->naming),
                     "chunk_size", (json_int_t)t->chunk_size, "connections", (int)t->connections,
                     "max_jobs", (int)t->max_jobs, "created", config_cli_json_time(t->created),
                     "updated", config_cli_json_time(t->updated));
}

static const char *verify_text(const struct config_target *t, char *buf, size_t len)
{
    if (t->fingerprint)
        snprintf(buf, len, "pin %s", t->fingerprint);
    else
        snprintf(buf, len, "ca %s", t->ca_file ? t->ca_file : "?");
    return buf;
}

static void print_target(const void *rec)
{
    const struct config_target *t = rec;
    char buf[600], when[64];
    printf("name: %s\n", t->name);
    printf("url: %s\n", t->url);
    printf("token: %s\n", t->token ? "(set)" : "(none)");
    printf("certificate: %s\n", verify_text(t, buf, sizeof(buf)));
    printf("directory: %s\n", t->directory ? t->directory : "-");
    printf("naming: %s\n", t->naming);
    printf("chunk size: %s\n", format_size(t->chunk_size, buf, sizeof(buf)));
    printf("connections: %u\n", t->connections);
    printf("max jobs: %u\n", t->max_jobs);
    printf("created: %s\n", config_cli_time(t->created, when, sizeof(when)));
    printf("updated: %s\n", config_cli_time(t->updated, when, sizeof(when)));
}

/* The list's columns. */
static const char *const columns[] = {"NAME", "URL", "DIRECTORY", "NAMING", "MAX-JOBS"};

static void target_row(const void *rec, const char **cells, char (*text)[RECORD_CELL_TEXT])
{
    const struct config_target *t = rec;
    cells[0] = t->name;
    cells[1] = t->url;
    cells[2] = t->directory;
    cells[3] = t->naming;
    snprintf(text[4], RECORD_CELL_TEXT, "%u", t->max_jobs);
    cells[4] = text[4];
}

/* Refused while a job using the target runs, and, unless --force, while
 * an upload waits to be resumed there (store/config_records.h). */
static mfb_status remove_target(struct config_db *db, const char *name, const struct cli_args *args,
                                struct mfb_error *err)
{
    return config_target_remove(db, name, cli_flag(args, "force"), err);
}

/* The target as a kind of record for record_cmd.h's flow; the adapters
 * call config_target_* and validate_target_*. */
RECORD_KIND_ADAPTERS(target)

static const struct record_kind kind = {
    .group = "target",
    RECORD_KIND_BIND(target),
    .remove = remove_target,
    .apply = apply_options,
    .json = target_json,
    .print = print_target,
    .columns = columns,
    .column_count = sizeof(columns) / sizeof(columns[0]),
    .row = target_row,
};

static const struct cli_command target_add = {
    RECORD_CMD_ADD(kind),
    .usage = "NAME --url URL --token-file FILE (--fingerprint SHA256 | --ca-file FILE) ...",
    .summary = "add a receiver, after checking that it answers and accepts the token",
    .options = edit_options};
static const struct cli_command target_set = {
    RECORD_CMD_SET(kind),
    .summary = "change a target: the options of 'add'; only those given change",
    .options = edit_options};
static const struct cli_command target_list = {RECORD_CMD_LIST(kind),
                                               .summary = "list the targets"};
static const struct cli_command target_show = {RECORD_CMD_SHOW(kind), .summary = "show a target"};
static const struct cli_command target_remove = {
    RECORD_CMD_REMOVE(kind), .summary = "remove a target", .options = remove_options};
static const struct cli_command target_check = {
    RECORD_CMD_CHECK(kind), .summary = "check a saved target: health, certificate, token"};

static const struct cli_command *const target_commands[] = {
    &target_add, &target_list, &target_show, &target_set, &target_remove, &target_check, NULL,
};

const struct cli_command cmd_target = {.name = "target",
                                       .summary = "add, list, show, change or remove the "
                                                  "receivers backups are sent to",
                                       .subcommands = target_commands};
