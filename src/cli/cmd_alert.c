/*
 * cmd_alert.c - `mfb alert add|list|remove|test`: the channels that tell
 * people when a backup needs them (docs/alerts.md).
 *
 *   mfb alert add NAME --webhook URL [--secret-file F]
 *   mfb alert add NAME --email TO --smtp-url smtp://HOST:587 --from ADDR
 *                      [--smtp-user U --smtp-password-file F]
 *   mfb alert add NAME --command CMD
 *   (each with [--min-severity info|warning|error|critical] [--ca-file F])
 *
 * Secrets (the webhook's HMAC key, the SMTP password) come from files or
 * standard input and are shown as "(set)". `test` sends one alert through
 * a channel (or all of them) once, without retries, and says what each
 * answered, so a new channel can be checked before a night needs it.
 *
 * The flow is written once for both programs (cli/alert_cmd.h): the
 * receiver's `mfb-server alert` (srv_alert.c) runs the same functions over
 * the channels in its catalog.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/channel.h"
#include "cli/alert_cmd.h"
#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/fsutil.h"
#include "mysql/method.h"
#include "proto/proto.h"
#include "store/config_db.h"
#include "store/config_records.h"

static const char *const severities[] = {"info", "warning", "error", "critical", NULL};

const struct cli_option alert_cmd_add_options[] = {
    {.name = "webhook",
     .type = CLI_STRING,
     .metavar = "URL",
     .help = "POST the alert as JSON to this https:// URL (http:// only to this host)"},
    {.name = "secret-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "webhook: sign the body with HMAC-SHA256 under the key in FILE (or - for stdin)"},
    {.name = "email",
     .type = CLI_STRING,
     .metavar = "TO",
     .help = "mail the alert to these addresses (comma-separated)"},
    {.name = "smtp-url",
     .type = CLI_STRING,
     .metavar = "URL",
     .help = "email: the mail server, smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT"},
    {.name = "from", .type = CLI_STRING, .metavar = "ADDR", .help = "email: the sender address"},
    {.name = "smtp-user", .type = CLI_STRING, .metavar = "USER", .help = "email: log in as USER"},
    {.name = "smtp-password-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "email: the password (or - for stdin)"},
    {.name = "command",
     .type = CLI_STRING,
     .metavar = "CMD",
     .help = "run CMD through /bin/sh with the alert in MFB_* environment variables"},
    {.name = "ca-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "verify the webhook's or mail server's TLS with this CA"},
    {.name = "min-severity",
     .type = CLI_ENUM,
     .metavar = "LEVEL",
     .help = "send alerts of this severity and worse",
     .def = "warning",
     .values = severities},
    CLI_OPTIONS_END,
};

const struct cli_option alert_cmd_json_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

const struct cli_option alert_cmd_test_options[] = {
    {.name = "severity",
     .type = CLI_ENUM,
     .metavar = "LEVEL",
     .help = "the test alert's severity",
     .def = "critical",
     .values = severities},
    CLI_OPTIONS_END,
};

static mfb_status read_secret_option(const struct cli_args *args, const char *option, char **field,
                                     struct mfb_error *err)
{
    const char *file = cli_string(args, option);
    if (file == NULL)
        return MFB_OK;
    char *secret = NULL;
    mfb_status st = fs_read_secret(file, &secret, err);
    if (st != MFB_OK)
        return st;
    config_secret_free(*field);
    *field = secret;
    return MFB_OK;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Builds the channel from the options, refusing mixtures of kinds. */
static mfb_status build(const struct cli_args *args, struct config_alert *a, struct mfb_error *err)
{
    const char *webhook = cli_string(args, "webhook");
    const char *email = cli_string(args, "email");
    const char *command = cli_string(args, "command");
    int kinds = (webhook != NULL) + (email != NULL) + (command != NULL);
    if (kinds != 1) {
        mfb_error_set(err, MFB_ERR_USAGE,
                      kinds ? "give only one of --webhook, --email, --command"
                            : "no channel given");
        mfb_error_hint(err, "a channel is one of --webhook URL, --email TO or --command CMD");
        return MFB_ERR_USAGE;
    }
    char why[128];
    const char *name = args->positional[0];
    if (!proto_name_valid(name, why, sizeof(why)) || strlen(name) >= sizeof(a->name)) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid channel name '%s': %s", name, why);
        return MFB_ERR_USAGE;
    }
    snprintf(a->name, sizeof(a->name), "%s", name);
    mfb_status st = MFB_OK;
    const char *sev = cli_string(args, "min-severity");
    if (sev)
        st = config_severity_parse(sev, &a->min_severity, err);
    const char *ca = cli_string(args, "ca-file");
    if (st == MFB_OK && ca)
        st = config_cli_set_path(&a->ca_file, "ca-file", ca, err);
    if (st != MFB_OK)
        return st;
    if (webhook) {
        a->kind = CONFIG_ALERT_WEBHOOK;
        if (!has_prefix(webhook, "https://") && !has_prefix(webhook, "http://")) {
            mfb_error_set(err, MFB_ERR_USAGE, "invalid webhook URL '%s'", webhook);
            mfb_error_hint(err, "use https://HOST[:PORT]/PATH");
            return MFB_ERR_USAGE;
        }
        if (!alert_webhook_url_allowed(webhook)) {
            mfb_error_set(err, MFB_ERR_USAGE, "webhook URL '%s' is plain http to another host",
                          webhook);
            mfb_error_hint(err, "use https:// (plain http:// only to this host: localhost, "
                                "127.0.0.1 or [::1])");
            return MFB_ERR_USAGE;
        }
        st = config_str_set(&a->url, webhook, err);
        if (st == MFB_OK)
            st = read_secret_option(args, "secret-file", &a->secret, err);
    } else if (email) {
        a->kind = CONFIG_ALERT_EMAIL;
        const char *url = cli_string(args, "smtp-url");
        const char *from = cli_string(args, "from");
        if (!has_prefix(url, "smtp://") && !has_prefix(url, "smtps://")) {
            mfb_error_set(err, MFB_ERR_USAGE, url ? "invalid --smtp-url '%s'" : "no --smtp-url%s",
                          url ? url : "");
            mfb_error_hint(err, "use smtp://HOST:587 (STARTTLS) or smtps://HOST:465");
            return MFB_ERR_USAGE;
        }
        if (from == NULL || strchr(from, '@') == NULL || strchr(email, '@') == NULL) {
            mfb_error_set(err, MFB_ERR_USAGE, "an e-mail channel needs --email TO and --from ADDR");
            mfb_error_hint(err, "for example --email dba@example.com --from mfb@example.com");
            return MFB_ERR_USAGE;
        }
        st = config_str_set(&a->url, url, err);
        if (st == MFB_OK)
            st = config_str_set(&a->mail_to, email, err);
        if (st == MFB_OK)
            st = config_str_set(&a->mail_from, from, err);
        if (st == MFB_OK)
            st = config_str_set(&a->smtp_user, cli_string(args, "smtp-user"), err);
        if (st == MFB_OK)
            st = read_secret_option(args, "smtp-password-file", &a->secret, err);
    } else {
        a->kind = CONFIG_ALERT_COMMAND;
        st = mysql_method_check_shell(command, "alert command", err);
        if (st == MFB_OK)
            st = config_str_set(&a->command, command, err);
    }
    if (st == MFB_OK && a->kind != CONFIG_ALERT_WEBHOOK && cli_string(args, "secret-file")) {
        mfb_error_set(err, MFB_ERR_USAGE, "--secret-file is for webhooks");
        return MFB_ERR_USAGE;
    }
    return st;
}

mfb_status alert_cmd_add(struct cli_args *args, struct mfb_error *err)
{
    const struct alert_store *store = args->command->data;
    void *db = NULL;
    struct config_alert a;
    config_alert_init(&a);
    mfb_status st = build(args, &a, err);
    if (st == MFB_OK)
        st = store->open(args, &db, err);
    if (st == MFB_OK)
        st = store->add(db, &a, err);
    if (st == MFB_OK)
        printf("alert channel '%s' added (%s, %s and worse); try it with '%s alert test %s'\n",
               a.name, config_alert_kind_str(a.kind), config_severity_str(a.min_severity),
               store->program, a.name);
    config_alert_free(&a);
    if (db)
        store->close(db);
    return st;
}

/* Where a channel sends to, for people. */
static const char *destination(const struct config_alert *a, char *buf, size_t len)
{
    if (a->kind == CONFIG_ALERT_EMAIL)
        snprintf(buf, len, "%s via %s", a->mail_to ? a->mail_to : "?", a->url ? a->url : "?");
    else if (a->kind == CONFIG_ALERT_WEBHOOK)
        snprintf(buf, len, "%s", a->url ? a->url : "?");
    else
        snprintf(buf, len, "%s", a->command ? a->command : "?");
    return buf;
}

static json_t *alert_channel_json(const struct config_alert *a)
{
    return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}", "name",
                     a->name, "kind", config_alert_kind_str(a->kind), "min_severity",
                     config_severity_str(a->min_severity), "url", a->url, "mail_to", a->mail_to,
                     "mail_from", a->mail_from, "smtp_user", a->smtp_user, "ca_file", a->ca_file,
                     "command", a->command, "secret", a->secret ? "(set)" : NULL, "created",
                     config_cli_json_time(a->created));
}

mfb_status alert_cmd_list(struct cli_args *args, struct mfb_error *err)
{
    const struct alert_store *store = args->command->data;
    void *db = NULL;
    struct config_alert *list = NULL;
    size_t count = 0;
    mfb_status st = store->open(args, &db, err);
    if (st == MFB_OK)
        st = store->list(db, &list, &count, err);
    if (st == MFB_OK && cli_flag(args, "json")) {
        json_t *array = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(array, alert_channel_json(&list[i]));
        st = config_cli_print_json(array, err);
    } else if (st == MFB_OK && count == 0) {
        printf("no alert channels; add one with '%s alert add NAME --webhook URL | --email TO "
               "... | --command CMD'\n",
               store->program);
    } else if (st == MFB_OK) {
        enum { COLS = 5 };
        static const char *const header[COLS] = {"NAME", "KIND", "MIN SEVERITY", "TO", "SECRET"};
        const char **cells = calloc(count * COLS + 1, sizeof(*cells));
        char(*dest)[512] = calloc(count + 1, sizeof(*dest));
        if (cells == NULL || dest == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        } else {
            for (size_t i = 0; i < count; i++) {
                const char **row = cells + i * COLS;
                row[0] = list[i].name;
                row[1] = config_alert_kind_str(list[i].kind);
                row[2] = config_severity_str(list[i].min_severity);
                row[3] = destination(&list[i], dest[i], sizeof(dest[i]));
                row[4] = list[i].secret ? "(set)" : "-";
            }
            config_cli_table(header, COLS, cells, count);
        }
        free(cells);
        free(dest);
    }
    config_alert_list_free(list, count);
    if (db)
        store->close(db);
    return st;
}

mfb_status alert_cmd_remove(struct cli_args *args, struct mfb_error *err)
{
    const struct alert_store *store = args->command->data;
    void *db = NULL;
    mfb_status st = store->open(args, &db, err);
    if (st == MFB_OK)
        st = store->remove(db, args->positional[0], err);
    if (st == MFB_OK)
        printf("alert channel '%s' removed\n", args->positional[0]);
    if (db)
        store->close(db);
    return st;
}

mfb_status alert_cmd_test(struct cli_args *args, struct mfb_error *err)
{
    const struct alert_store *store = args->command->data;
    void *db = NULL;
    struct config_alert *list = NULL;
    size_t count = 0, tried = 0, failed = 0;
    enum config_severity sev = CONFIG_SEVERITY_CRITICAL;
    const char *name = args->positional_count > 0 ? args->positional[0] : NULL;
    mfb_status st = config_severity_parse(cli_string(args, "severity"), &sev, err);
    if (st == MFB_OK)
        st = store->open(args, &db, err);
    if (st == MFB_OK)
        st = store->list(db, &list, &count, err);
    char subject[64], text[128];
    snprintf(subject, sizeof(subject), "test alert from %s", store->program);
    snprintf(text, sizeof(text),
             "This is a test alert sent by '%s alert test'. Nothing is wrong.\n", store->program);
    struct alert a = {
        .severity = sev,
        .event = "test",
        .subject = subject,
        .text = text,
    };
    for (size_t i = 0; st == MFB_OK && i < count; i++) {
        if (name && strcmp(name, list[i].name) != 0)
            continue;
        tried++;
        struct mfb_error e = {0};
        if (alert_send(&list[i], &a, &e) == MFB_OK) {
            printf("%s: sent\n", list[i].name);
        } else {
            failed++;
            fprintf(stderr, "%s: failed: %s\n", list[i].name, e.message);
            if (e.hint[0])
                fprintf(stderr, "HINT: %s\n", e.hint);
        }
    }
    if (st == MFB_OK && tried == 0) {
        if (name) {
            mfb_error_set(err, MFB_ERR_NOT_FOUND, "no alert channel named '%s'", name);
            mfb_error_hint(err, "'%s alert list' shows the configured alerts", store->program);
            st = MFB_ERR_NOT_FOUND;
        } else {
            printf("no alert channels to test\n");
        }
    }
    if (st == MFB_OK && failed > 0)
        st = mfb_error_set(err, MFB_ERR_NETWORK, "%zu of %zu alert channels failed", failed, tried);
    config_alert_list_free(list, count);
    if (db)
        store->close(db);
    return st;
}

/* ---- the client's channels, in its configuration database ---- */

static mfb_status client_open(struct cli_args *args, void **db, struct mfb_error *err)
{
    return config_cli_open(args, false, (struct config_db **)db, NULL, err);
}

static void client_close(void *db)
{
    config_db_close(db);
}

static mfb_status client_add(void *db, struct config_alert *a, struct mfb_error *err)
{
    return config_alert_add(db, a, err);
}

static mfb_status client_list(void *db, struct config_alert **list, size_t *count,
                              struct mfb_error *err)
{
    return config_alert_list(db, list, count, err);
}

static mfb_status client_remove(void *db, const char *name, struct mfb_error *err)
{
    return config_alert_remove(db, name, err);
}

static const struct alert_store client_store = {.program = "mfb",
                                                .open = client_open,
                                                .close = client_close,
                                                .add = client_add,
                                                .list = client_list,
                                                .remove = client_remove};

static const struct cli_command alert_add = ALERT_CMD_ADD(client_store, "add an alert channel");
static const struct cli_command alert_list =
    ALERT_CMD_LIST(client_store, "list the alert channels");
static const struct cli_command alert_remove = ALERT_CMD_REMOVE(client_store);
static const struct cli_command alert_test = ALERT_CMD_TEST(client_store);

static const struct cli_command *const alert_commands[] = {
    &alert_add, &alert_list, &alert_remove, &alert_test, NULL,
};

const struct cli_command cmd_alert = {.name = "alert",
                                      .summary = "add, list, remove or test the channels that "
                                                 "tell people when a backup needs them",
                                      .subcommands = alert_commands};
