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
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/progress.h"
#include "cli/transfer_opts.h"
#include "common/cancel.h"
#include "common/log.h"
#include "job/drill/drill.h"
#include "job/endpoints.h"

static const struct cli_option options[] = {
    {.name = "target",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the receiver holding the backup",
     .def_doc = "the only one"},
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

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    struct job_instance inst = {0};
    struct job_target target = {0};
    char *scratch = NULL, *server_bin = NULL;
    struct cancel_token cancel;
    cancel_token_init(&cancel, NULL);
    struct interrupt_watch watch = {0};
    struct progress_bar bar;
    progress_bar_init(&bar);
    struct transfer_observer observer = progress_bar_observer(&bar);
    struct drill_result result = {0};
    struct transfer_settings settings;

    if (isatty(STDERR_FILENO) == 1 && args->log_level == NULL)
        mfb_log_init(MFB_LOG_ERROR, NULL);
    mfb_status st = transfer_opts_settings(args, &settings, err);
    const char *v;
    if (st == MFB_OK && (v = cli_string(args, "scratch")) != NULL)
        st = config_cli_set_path(&scratch, "scratch", v, err);
    if (st == MFB_OK && (v = cli_string(args, "server-bin")) != NULL)
        st = config_cli_set_path(&server_bin, "server-bin", v, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = job_instance_load(db, args->positional[0], &inst, err);
    if (st == MFB_OK)
        st = job_target_load(db, cli_string(args, "target"), &settings, &target, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&watch, &cancel, err);
    struct drill_options o = {
        .db = db,
        .instance = &inst,
        .target = &target,
        .backup = args->positional_count > 1 ? args->positional[1] : "latest",
        .scratch = scratch,
        .server_bin = server_bin,
        .cancel = &cancel,
        .observers = &observer,
        .observer_count = 1,
        .report = print_line,
    };
    if (st == MFB_OK) {
        st = drill_run(&o, &result, err);
        if (result.verdict == DRILL_PASSED)
            printf("drill passed: backup %s of '%s' is restorable (job %lld)\n",
                   result.backup.backup_id, inst.record.name, (long long)result.job_id);
        else if (result.verdict == DRILL_FAILED)
            printf("drill FAILED: backup %s of '%s' is not restorable (job %lld)\n",
                   result.backup.backup_id, inst.record.name, (long long)result.job_id);
    }
    interrupt_watch_stop(&watch);
    cancel_token_destroy(&cancel);
    job_target_free(&target);
    job_instance_free(&inst);
    config_db_close(db);
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
