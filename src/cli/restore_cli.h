/*
 * restore_cli.h - what `mfb restore` and `mfb drill` share (cmd_restore.c,
 * cmd_drill.c): both get a backup from a receiver and put it somewhere, so
 * both take the receiver option, load the instance and the target the same
 * way, turn Ctrl-C and SIGTERM into a cancel, show the download's progress
 * bar and print each step's line on stdout. Written once here so that the
 * two commands never set up their jobs differently.
 */
#ifndef MFB_CLI_RESTORE_CLI_H
#define MFB_CLI_RESTORE_CLI_H

#include "cli/options.h"
#include "cli/progress.h"
#include "cli/transfer_opts.h"
#include "common/cancel.h"
#include "common/status.h"
#include "job/endpoints.h"
#include "store/config_db.h"
#include "transfer/observer.h"

/* --target: the receiver holding the backup. */
#define RESTORE_CLI_TARGET_OPTION                                                                  \
    {                                                                                              \
        .name = "target", .type = CLI_STRING, .metavar = "NAME",                                   \
        .help = "the receiver holding the backup", .def_doc = "the only one"                       \
    }

/* What the command holds around its job. Set watch.patient (and its note)
 * before restore_cli_open when a second signal must not end the process. */
struct restore_cli {
    struct config_db *db;
    struct job_instance inst;
    struct job_target target;
    struct transfer_settings settings;
    struct cancel_token cancel;
    struct interrupt_watch watch;
    struct progress_bar bar;
    struct transfer_observer observer; /* the bar's: c must not move once begun */
};

/* First thing in the command: the cancel and the progress bar set up, the
 * log quieted on a terminal (the steps shown on stdout would repeat it),
 * and the transfer options read into c->settings. End with restore_cli_end
 * whatever it returns. */
mfb_status restore_cli_begin(struct restore_cli *c, const struct cli_args *args,
                             struct mfb_error *err);

/* Once the command's own options are read: the configuration database
 * opened, the instance (the first argument) and the target (--target)
 * loaded, and the signals watched. */
mfb_status restore_cli_open(struct restore_cli *c, const struct cli_args *args,
                            struct mfb_error *err);

/* Stops the watch and releases what begin and open took. */
void restore_cli_end(struct restore_cli *c);

/* The job's report callback: each line on stdout, as it happens. */
void restore_cli_print_line(void *ctx, const char *line);

#endif
