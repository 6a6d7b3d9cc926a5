/*
 * cmd_ui.c - `mfb ui passwd` and `mfb ui init` (docs/ui.md): the web UI's
 * login password, and a self-signed TLS pair for a UI that listens off
 * loopback.
 *
 * passwd reads the password from standard input or a file of mode 0600
 * (never from the command line, where ps would show it) and stores its
 * scrypt hash (ui/password.h) in the configuration database; a running
 * daemon reads it at the next login. init writes ui-key.pem (0600) and
 * ui-cert.pem beside the database with the receiver's code (server/tls.h)
 * and prints the certificate's SHA-256 fingerprint, to compare with what
 * the browser shows the first time.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/fsutil.h"
#include "server/tls.h"
#include "ui/password.h"
#include "ui/tls_files.h"

static const struct cli_option passwd_options[] = {
    {.name = "password-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "read the password from FILE (mode 0600) instead of standard input"},
    CLI_OPTIONS_END,
};

static const struct cli_option init_options[] = {
    CLI_OPTIONS_END,
};

static mfb_status run_passwd(struct cli_args *args, struct mfb_error *err)
{
    const char *file = cli_string(args, "password-file");
    char *password = NULL;
    struct config_db *db = NULL;
    mfb_status st = fs_read_secret(file ? file : "-", &password, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = ui_password_set(db, password, err);
    if (st == MFB_OK)
        printf("web UI password set; sessions start at the next login\n");
    fs_free_secret(password);
    config_db_close(db);
    return st;
}

static mfb_status run_init(struct cli_args *args, struct mfb_error *err)
{
    char key[PATH_MAX], cert[PATH_MAX], fp[TLS_FINGERPRINT_LEN];
    mfb_status st = ui_tls_default_paths(args->db_path, key, cert, sizeof(key), err);
    if (st == MFB_OK)
        st = tls_generate_self_signed(key, cert, err);
    if (st == MFB_OK)
        st = tls_cert_fingerprint(cert, fp, sizeof(fp), err);
    if (st != MFB_OK)
        return st;
    printf("key:         %s\ncertificate: %s\nSHA-256 fingerprint: %s\n", key, cert, fp);
    printf("the daemon uses this pair when --ui-listen is not a loopback address\n");
    return MFB_OK;
}

static const struct cli_command ui_passwd = {
    .name = "passwd",
    .summary = "set the web UI's password (from standard input or --password-file)",
    .options = passwd_options,
    .run = run_passwd,
};

static const struct cli_command ui_init = {
    .name = "init",
    .summary = "make a self-signed TLS key and certificate for the web UI",
    .options = init_options,
    .run = run_init,
};

static const struct cli_command *const ui_commands[] = {&ui_passwd, &ui_init, NULL};

const struct cli_command cmd_ui = {.name = "ui",
                                   .summary = "the web UI's password and TLS certificate",
                                   .subcommands = ui_commands};
