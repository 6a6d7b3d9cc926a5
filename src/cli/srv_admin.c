/*
 * srv_admin.c - `mfb-server admin passwd` (docs/server.md, "The
 * dashboard"): the operator's password for the receiver's dashboard.
 *
 * The password is read from standard input or a file of mode 0600, never
 * from the command line (where ps would show it), and only its scrypt hash
 * goes into the catalog (server/dashboard.h, by the client UI's password
 * code). A running `serve` reads it at the next login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/fsutil.h"
#include "server/dashboard.h"

static const struct cli_option passwd_options[] = {
    {.name = "password-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "read the password from FILE (mode 0600) instead of standard input"},
    CLI_OPTIONS_END,
};

static mfb_status run_passwd(struct cli_args *args, struct mfb_error *err)
{
    const char *file = cli_string(args, "password-file");
    char *password = NULL;
    struct server_db *db = NULL;
    mfb_status st = fs_read_secret(file ? file : "-", &password, err);
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = dashboard_password_set(db, password, err);
    if (st == MFB_OK)
        printf("dashboard password set; sessions start at the next login\n");
    fs_free_secret(password);
    server_db_close(db);
    return st;
}

static const struct cli_command admin_passwd = {
    .name = "passwd",
    .summary = "set the dashboard's password (from standard input or --password-file)",
    .options = passwd_options,
    .run = run_passwd,
};

static const struct cli_command *const admin_commands[] = {&admin_passwd, NULL};

const struct cli_command srv_admin = {.name = "admin",
                                      .summary = "the operator's password for the dashboard",
                                      .subcommands = admin_commands};
