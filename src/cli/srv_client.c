/*
 * srv_client.c - `mfb-server client add|list|remove|set`: the clients
 * allowed to store backups, each with its own token and namespace.
 *
 * add prints the new token once, alone on standard output (so it can go
 * straight into a 0600 file); the catalog keeps only its SHA-256. remove
 * revokes the token but keeps the client's backups and their record; adding
 * the same name again issues a new token for the same namespace.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/digest.h"
#include "common/parse.h"
#include "server/server.h"

static const struct cli_option add_options[] = {
    {.name = "quota",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "most bytes the client may hold",
     .def_doc = "no quota"},
    CLI_OPTIONS_END,
};

static mfb_status run_add(struct cli_args *args, struct mfb_error *err)
{
    const char *name = args->positional[0];
    uint64_t quota = 0;
    mfb_status st = srv_check_name("client name", name, err);
    if (st == MFB_OK)
        st = cli_size(args, "quota", &quota, err);
    if (st != MFB_OK)
        return st;
    unsigned char raw[PROTO_TOKEN_HEX / 2];
    char token[PROTO_TOKEN_HEX + 1];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "the random number generator failed");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    uint8_t hash[SHA256_LEN];
    sha256_buffer(token, PROTO_TOKEN_HEX, hash);
    struct server_db *db = NULL;
    st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_add(db, name, hash, quota, err);
    server_db_close(db);
    if (st == MFB_OK) {
        printf("%s\n", token);
        fflush(stdout);
        fprintf(stderr,
                "client '%s' added. Its token is printed above, once: store it in a file with "
                "mode 0600 on the client (mfb ... --token-file FILE).\n",
                name);
    }
    OPENSSL_cleanse(token, sizeof(token));
    OPENSSL_cleanse(raw, sizeof(raw));
    return st;
}

static const struct cli_option list_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static mfb_status run_list(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    struct srv_client *list = NULL;
    size_t n = 0;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_list(db, &list, &n, err);
    server_db_close(db);
    if (st != MFB_OK)
        return st;
    if (cli_flag(args, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            char created[32];
            server_format_time(list[i].created, created, sizeof(created));
            json_array_append_new(
                arr, json_pack("{s:s, s:b, s:I, s:I, s:I, s:s}", "name", list[i].name, "active",
                               list[i].active, "quota", (json_int_t)list[i].quota, "backups",
                               (json_int_t)list[i].backups, "stored_bytes",
                               (json_int_t)list[i].stored_bytes, "created", created));
        }
        json_t *o = json_pack("{s:o}", "clients", arr);
        srv_print_json(o);
    } else {
        printf("%-24s %-8s %8s %12s %12s  %s\n", "NAME", "STATE", "BACKUPS", "STORED", "QUOTA",
               "CREATED");
        for (size_t i = 0; i < n; i++) {
            char created[32], stored[32], quota[32];
            server_format_time(list[i].created, created, sizeof(created));
            format_size(list[i].stored_bytes, stored, sizeof(stored));
            if (list[i].quota)
                format_size(list[i].quota, quota, sizeof(quota));
            else
                snprintf(quota, sizeof(quota), "-");
            printf("%-24s %-8s %8llu %12s %12s  %s\n", list[i].name,
                   list[i].active ? "active" : "removed", (unsigned long long)list[i].backups,
                   stored, quota, created);
        }
    }
    free(list);
    return MFB_OK;
}

static mfb_status run_remove(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_remove(db, args->positional[0], err);
    server_db_close(db);
    if (st == MFB_OK)
        fprintf(stderr, "client '%s' removed: its token no longer works; its backups are kept.\n",
                args->positional[0]);
    return st;
}

static const struct cli_option set_options[] = {
    {.name = "quota",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "most bytes the client may hold (0: no quota)"},
    CLI_OPTIONS_END,
};

static mfb_status run_set(struct cli_args *args, struct mfb_error *err)
{
    uint64_t quota;
    if (!cli_given(args, "quota")) {
        mfb_error_set(err, MFB_ERR_USAGE, "nothing to set");
        mfb_error_hint(err, "give --quota SIZE");
        return MFB_ERR_USAGE;
    }
    mfb_status st = cli_size(args, "quota", &quota, err);
    struct server_db *db = NULL;
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_set_quota(db, args->positional[0], quota, err);
    server_db_close(db);
    return st;
}

static const struct cli_command client_add = {.name = "add",
                                              .usage = "NAME [--quota SIZE]",
                                              .summary = "add a client and print its token once",
                                              .options = add_options,
                                              .min_args = 1,
                                              .max_args = 1,
                                              .run = run_add};
static const struct cli_command client_list = {.name = "list",
                                               .usage = "[--json]",
                                               .summary = "list clients",
                                               .options = list_options,
                                               .max_args = 0,
                                               .run = run_list};
static const struct cli_command client_remove = {
    .name = "remove",
    .usage = "NAME",
    .summary = "revoke a client's token (its backups are kept)",
    .min_args = 1,
    .max_args = 1,
    .run = run_remove};
static const struct cli_command client_set = {.name = "set",
                                              .usage = "NAME --quota SIZE",
                                              .summary = "change a client's quota",
                                              .options = set_options,
                                              .min_args = 1,
                                              .max_args = 1,
                                              .run = run_set};

static const struct cli_command *const subcommands[] = {&client_add, &client_list, &client_remove,
                                                        &client_set, NULL};

const struct cli_command srv_client = {
    .name = "client", .summary = "add, list, remove or change clients", .subcommands = subcommands};
