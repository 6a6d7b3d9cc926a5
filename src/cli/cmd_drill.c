/*
 * cmd_drill.c - `mfb drill INSTANCE [BACKUP|latest]`: prove a backup
 * restorable by restoring it into a scratch directory and checking every
 * table with a throwaway server (docs/drill.md). The drill itself is
 * src/job/drill/drill.c; this file turns options into its configuration
 * and shows each step as it happens.
 *
 * Exit status: 0 the backup passed, 1 it failed or the drill could not
 * run (the last line says which), 2 a usage error. Ctrl-C or SIGTERM
 * cancels: the throwaway server is killed and the scratch directory
 * removed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/restore_cli.h"
#include "job/drill/drill.h"

static const struct cli_option options[] = {
    RESTORE_CLI_TARGET_OPTION,
    {.name = "scratch",
     .type = CLI_PATH,
     .metavar = "DIR",
     .help = "restore into DIR (new, empty, or left by an earlier drill); removed afterwards",
     .def_doc = "SPOOL/drill-INSTANCE"},
    {.name = "server-bin",
     .type = CLI_PATH,
     .metavar = "PATH",
     .help = "the server program to run on the backup",
     .def_doc = "the instance's own"},
    TRANSFER_RETRY_OPTIONS,
    CLI_OPTIONS_END,
};

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    char *scratch = NULL, *server_bin = NULL;
    struct drill_result result = {0};
    struct restore_cli c;
    mfb_status st = restore_cli_begin(&c, args, err);
    const char *v;
    if (st == MFB_OK && (v = cli_string(args, "scratch")) != NULL)
        st = config_cli_set_path(&scratch, "scratch", v, err);
    if (st == MFB_OK && (v = cli_string(args, "server-bin")) != NULL)
        st = config_cli_set_path(&server_bin, "server-bin", v, err);
    if (st == MFB_OK)
        st = restore_cli_open(&c, args, err);
    struct drill_options o = {
        .db = c.db,
        .instance = &c.inst,
        .target = &c.target,
        .backup = args->positional_count > 1 ? args->positional[1] : "latest",
        .scratch = scratch,
        .server_bin = server_bin,
        .cancel = &c.cancel,
        .observers = &c.observer,
        .observer_count = 1,
        .report = restore_cli_print_line,
    };
    if (st == MFB_OK) {
        st = drill_run(&o, &result, err);
        if (result.verdict == DRILL_PASSED)
            printf("drill passed: backup %s of '%s' is restorable (job %lld)\n",
                   result.backup.backup_id, c.inst.record.name, (long long)result.job_id);
        else if (result.verdict == DRILL_FAILED)
            printf("drill FAILED: backup %s of '%s' is not restorable (job %lld)\n",
                   result.backup.backup_id, c.inst.record.name, (long long)result.job_id);
    }
    restore_cli_end(&c);
    free(scratch);
    free(server_bin);
    return st;
}

const struct cli_command cmd_drill = {
    .name = "drill",
    .usage = "INSTANCE [BACKUP|latest] [--target T] [--scratch DIR] [--server-bin PATH]",
    .summary = "prove a backup restorable: restore it beside the server and check every table",
    .options = options,
    .min_args = 1,
    .max_args = 2,
    .run = run,
};
