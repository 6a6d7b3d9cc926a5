/*
 * srv_retention.c - `mfb-server retention set|show|apply`: retention
 * policies per client and instance (see server/retention.h for the rules).
 *
 * set changes only the limits it is given ("none" clears one); without
 * --instance it sets the client-wide default that instances inherit limit
 * by limit. apply runs what `serve` runs after each backup and on its
 * timer; --dry-run lists what would go without deleting anything.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/parse.h"
#include "server/retention.h"
#include "server/server.h"

static const struct cli_option set_options[] = {
    {.name = "client", .type = CLI_STRING, .metavar = "NAME", .help = "the client (required)"},
    {.name = "instance",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "one instance",
     .def_doc = "the client-wide default"},
    {.name = "keep-last",
     .type = CLI_UINT,
     .metavar = "N|none",
     .help = "keep at most the last N backups",
     .min = "1",
     .max = "1000000"},
    {.name = "max-age",
     .type = CLI_DURATION,
     .metavar = "DURATION|none",
     .help = "delete backups older than this (30d, 12w)"},
    {.name = "max-bytes",
     .type = CLI_SIZE,
     .metavar = "SIZE|none",
     .help = "cap the instance's backups at this many bytes"},
    CLI_OPTIONS_END,
};

/* Reads one limit: absent -1 (unchanged), "none" -2 (cleared), else the value. */
static mfb_status limit_option(struct cli_args *args, const char *name, int kind, int64_t *out,
                               struct mfb_error *err)
{
    const char *v = cli_string(args, name);
    *out = -1;
    if (v == NULL)
        return MFB_OK;
    if (strcmp(v, "none") == 0) {
        *out = -2;
        return MFB_OK;
    }
    uint64_t n = 0;
    mfb_status st;
    if (kind == 0)
        st = cli_uint(args, name, &n, err);
    else if (kind == 1)
        st = cli_duration_ms(args, name, &n, err);
    else
        st = cli_size(args, name, &n, err);
    if (kind == 1)
        n /= 1000;
    *out = (int64_t)n;
    return st;
}

static mfb_status run_set(struct cli_args *args, struct mfb_error *err)
{
    const char *client = cli_string(args, "client");
    const char *instance = cli_string(args, "instance");
    if (instance == NULL)
        instance = ""; /* the client-wide default */
    if (client == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "--client NAME is required");
        return MFB_ERR_USAGE;
    }
    struct srv_policy p = {0};
    mfb_status st = limit_option(args, "keep-last", 0, &p.keep_last, err);
    if (st == MFB_OK)
        st = limit_option(args, "max-age", 1, &p.max_age_s, err);
    if (st == MFB_OK)
        st = limit_option(args, "max-bytes", 2, &p.max_bytes, err);
    if (st == MFB_OK && p.keep_last == -1 && p.max_age_s == -1 && p.max_bytes == -1) {
        mfb_error_set(err, MFB_ERR_USAGE, "nothing to set");
        mfb_error_hint(err, "give --keep-last, --max-age or --max-bytes");
        return MFB_ERR_USAGE;
    }
    if (st == MFB_OK && instance[0])
        st = srv_check_name("instance name", instance, err);
    struct server_db *db = NULL;
    struct srv_client c;
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_by_name(db, client, &c, err);
    if (st == MFB_OK) {
        p.client_id = c.id;
        snprintf(p.instance, sizeof(p.instance), "%s", instance);
        st = server_db_policy_set(db, &p, err);
    }
    server_db_close(db);
    return st;
}

static const struct cli_option show_options[] = {
    {.name = "client",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "only this client's policies"},
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static void limit_text(int64_t v, int kind, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else if (kind == 0)
        snprintf(buf, len, "%lld", (long long)v);
    else if (kind == 1)
        format_duration_ms((uint64_t)v * 1000, buf, len);
    else
        format_size((uint64_t)v, buf, len);
}

static mfb_status run_show(struct cli_args *args, struct mfb_error *err)
{
    const char *client = cli_string(args, "client");
    struct server_db *db = NULL;
    struct srv_policy *list = NULL;
    size_t n = 0;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_policy_list(db, &list, &n, err);
    server_db_close(db);
    if (st != MFB_OK)
        return st;
    bool json = cli_flag(args, "json");
    json_t *arr = json_array();
    if (!json)
        printf("%-24s %-24s %10s %12s %12s\n", "CLIENT", "INSTANCE", "KEEP-LAST", "MAX-AGE",
               "MAX-BYTES");
    for (size_t i = 0; i < n; i++) {
        const struct srv_policy *p = &list[i];
        if (client && strcmp(client, p->client) != 0)
            continue;
        if (json) {
            json_t *o = json_pack("{s:s, s:s}", "client", p->client, "instance", p->instance);
            json_object_set_new(o, "keep_last",
                                p->keep_last >= 0 ? json_integer(p->keep_last) : json_null());
            json_object_set_new(o, "max_age_s",
                                p->max_age_s >= 0 ? json_integer(p->max_age_s) : json_null());
            json_object_set_new(o, "max_bytes",
                                p->max_bytes >= 0 ? json_integer(p->max_bytes) : json_null());
            json_array_append_new(arr, o);
        } else {
            char k[32], a[32], b[32];
            limit_text(p->keep_last, 0, k, sizeof(k));
            limit_text(p->max_age_s, 1, a, sizeof(a));
            limit_text(p->max_bytes, 2, b, sizeof(b));
            printf("%-24s %-24s %10s %12s %12s\n", p->client,
                   p->instance[0] ? p->instance : "(default)", k, a, b);
        }
    }
    if (json) {
        json_t *o = json_pack("{s:O}", "policies", arr);
        srv_print_json(o);
    }
    json_decref(arr);
    free(list);
    return MFB_OK;
}

static const struct cli_option apply_options[] = {
    {.name = "client", .type = CLI_STRING, .metavar = "NAME", .help = "only this client"},
    {.name = "instance",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "only this instance (with --client)"},
    {.name = "dry-run",
     .short_name = 'n',
     .type = CLI_FLAG,
     .help = "show what would be deleted, delete nothing"},
    CLI_OPTIONS_END,
};

static void print_deleted(void *ctx, const struct srv_backup *b, const char *reason, bool dry_run)
{
    char created[32];
    server_format_time(b->created, created, sizeof(created));
    printf("%s %s %s/%s %s %s (%s)\n", dry_run ? "would delete" : "deleted", b->id, b->client,
           b->instance, created, b->path, reason);
}

static mfb_status run_apply(struct cli_args *args, struct mfb_error *err)
{
    const char *client = cli_string(args, "client");
    const char *instance = cli_string(args, "instance");
    bool dry_run = cli_flag(args, "dry-run");
    if (instance && !client) {
        mfb_error_set(err, MFB_ERR_USAGE, "--instance needs --client");
        return MFB_ERR_USAGE;
    }
    struct server_db *db = NULL;
    struct server srv = {0};
    bool opened = false;
    struct server_config cfg;
    struct srv_client c = {0};
    struct retention_report report = {0};
    size_t expired = 0;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_config_load(db, &cfg, err);
    if (st == MFB_OK && client)
        st = server_db_client_by_name(db, client, &c, err);
    if (st == MFB_OK) {
        st = server_open(&srv, db, &cfg, 0, err);
        opened = st == MFB_OK;
    }
    if (st == MFB_OK) /* on a shared bucket: every receiver's backups count */
        server_catalog_refresh(&srv, 0);
    if (st == MFB_OK)
        st = retention_apply(db, srv.store, c.id, instance, dry_run, print_deleted, NULL, &report,
                             err);
    if (st == MFB_OK && !dry_run)
        st = server_expire_uploads(&srv, (int64_t)time(NULL), &expired, err);
    if (opened)
        server_close(&srv);
    server_db_close(db);
    if (st == MFB_OK) {
        char size[32];
        format_size(report.bytes, size, sizeof(size));
        printf("%s %zu backup(s), %s; %zu abandoned upload(s) expired\n",
               dry_run ? "would delete" : "deleted", report.deleted, size, expired);
    }
    return st;
}

static const struct cli_command retention_set = {
    .name = "set",
    .usage = "--client NAME [--instance NAME] [--keep-last N] [--max-age D] [--max-bytes SIZE]",
    .summary = "set retention limits for a client or one of its instances",
    .options = set_options,
    .max_args = 0,
    .run = run_set};
static const struct cli_command retention_show = {.name = "show",
                                                  .usage = "[--client NAME] [--json]",
                                                  .summary = "show retention policies",
                                                  .options = show_options,
                                                  .max_args = 0,
                                                  .run = run_show};
static const struct cli_command retention_apply_cmd = {
    .name = "apply",
    .usage = "[--client NAME [--instance NAME]] [--dry-run]",
    .summary = "apply retention now (serve also does after each backup and hourly)",
    .options = apply_options,
    .max_args = 0,
    .run = run_apply};

static const struct cli_command *const subcommands[] = {&retention_set, &retention_show,
                                                        &retention_apply_cmd, NULL};

const struct cli_command srv_retention = {.name = "retention",
                                          .summary = "set, show or apply retention policies",
                                          .subcommands = subcommands};
