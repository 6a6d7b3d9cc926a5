/*
 * srv_client.c - `mfb-server client add|list|remove|set|export|import`:
 * the clients allowed to store backups, each with its own token and
 * namespace.
 *
 * add prints the new token once, alone on standard output (so it can go
 * straight into a 0600 file); the catalog keeps only its SHA-256. remove
 * revokes the token but keeps the client's backups and their record; adding
 * the same name again issues a new token for the same namespace.
 *
 * export and import carry a client (name, token hash, quota) from one
 * receiver to another that shares its bucket, so that one token works on
 * all of them behind a load balancer. The token hash is as good as the
 * token to whoever could plant it in a catalog, so the file is written
 * mode 0600 (never to standard output) and import refuses one that group
 * or others may read.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const struct cli_option export_options[] = {
    {.name = "output",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "new file (mode 0600) to write the client to (required)"},
    CLI_OPTIONS_END,
};

static mfb_status run_export(struct cli_args *args, struct mfb_error *err)
{
    const char *name = args->positional[0], *out = cli_string(args, "output");
    if (out == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "--output FILE is required");
        mfb_error_hint(err, "the export holds the token's hash: it goes to a new 0600 file, "
                            "never to the terminal");
        return MFB_ERR_USAGE;
    }
    uint8_t hash[SHA256_LEN];
    uint64_t quota = 0;
    bool active = false;
    struct server_db *db = NULL;
    mfb_status st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_secret(db, name, hash, &quota, &active, err);
    server_db_close(db);
    if (st == MFB_OK && !active) {
        mfb_error_set(err, MFB_ERR_INVALID, "client '%s' was removed: its token no longer works",
                      name);
        st = MFB_ERR_INVALID;
    }
    if (st != MFB_OK)
        return st;
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(hash, hex);
    json_t *o = json_pack("{s:s, s:s, s:I}", "client", name, "token_sha256", hex, "quota",
                          (json_int_t)quota);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    OPENSSL_cleanse(hex, sizeof(hex));
    if (text == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", out);
        if (errno == EEXIST)
            mfb_error_hint(err, "export never replaces a file; remove it or choose another");
    } else {
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write '%s'", out);
        close(fd);
    }
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    if (st == MFB_OK)
        fprintf(stderr,
                "client '%s' exported to '%s'. On the other receiver: mfb-server client import "
                "'%s', then delete the file.\n",
                name, out, out);
    return st;
}

static mfb_status run_import(struct cli_args *args, struct mfb_error *err)
{
    const char *path = args->positional[0];
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", path);
    if (sb.st_mode & 077) {
        mfb_error_set(err, MFB_ERR_PERMISSION, "'%s' may be read by others", path);
        mfb_error_hint(err, "it holds a client's token hash: chmod 600 '%s'", path);
        return MFB_ERR_PERMISSION;
    }
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    const char *name = o ? json_string_value(json_object_get(o, "client")) : NULL;
    const char *hex = o ? json_string_value(json_object_get(o, "token_sha256")) : NULL;
    json_t *q = o ? json_object_get(o, "quota") : NULL;
    uint8_t hash[SHA256_LEN];
    mfb_status st = MFB_OK;
    if (name == NULL || hex == NULL || !digest_from_hex(hex, hash) || !json_is_integer(q) ||
        json_integer_value(q) < 0) {
        mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not a client export", path);
        mfb_error_hint(err, "make one with 'mfb-server client export NAME --output FILE'");
        st = MFB_ERR_INVALID;
    }
    if (st == MFB_OK)
        st = srv_check_name("client name", name, err);
    struct server_db *db = NULL;
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_db_client_import(db, name, hash, (uint64_t)json_integer_value(q), err);
    server_db_close(db);
    if (st == MFB_OK)
        fprintf(stderr, "client '%s' imported: its token works on this receiver too.\n", name);
    OPENSSL_cleanse(hash, sizeof(hash));
    json_decref(o);
    return st;
}

static const struct cli_command client_export = {
    .name = "export",
    .usage = "NAME --output FILE",
    .summary = "write a client (token hash, quota) to a 0600 file for another receiver",
    .options = export_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_export};
static const struct cli_command client_import = {
    .name = "import",
    .usage = "FILE",
    .summary = "add or update a client from 'client export' (same token)",
    .min_args = 1,
    .max_args = 1,
    .run = run_import};

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

static const struct cli_command *const subcommands[] = {
    &client_add, &client_list, &client_remove, &client_set, &client_export, &client_import, NULL};

const struct cli_command srv_client = {.name = "client",
                                       .summary =
                                           "add, list, remove, change, export or import clients",
                                       .subcommands = subcommands};
