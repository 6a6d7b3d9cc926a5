/*
 * job_cli.h - what the job commands (backup, resume) share: the transfer
 * retry options, the progress display option, and quieting the log while
 * a terminal display runs.
 */
#ifndef MFB_CLI_JOB_CLI_H
#define MFB_CLI_JOB_CLI_H

#include <stdbool.h>

#include "cli/job_progress.h"
#include "cli/options.h"
#include "cli/transfer_opts.h"
#include "common/cancel.h"
#include "store/config_db.h"
#include "transfer/https.h"

extern const char *const job_cli_progress_modes[];

#define JOB_CLI_OPTIONS                                                                            \
    {.name = "progress",                                                                           \
     .type = CLI_ENUM,                                                                             \
     .metavar = "MODE",                                                                            \
     .help =                                                                                       \
         "auto (a display on a terminal), tty, json (one object per update on stdout) or none",    \
     .def = "auto",                                                                                \
     .values = job_cli_progress_modes},                                                            \
        TRANSFER_RETRY_OPTIONS

/* What a job command sets up before it runs a job, and takes down after. */
struct job_cli {
    struct config_db *db;
    struct transfer_settings settings;
    enum job_progress_mode mode;
    struct cancel_token cancel; /* Ctrl-C and SIGTERM */
    struct interrupt_watch watch;
    struct job_display display;
    struct job_observer observer;
    size_t observer_count; /* 0 or 1 */
    bool begun;
};

/* Parses the shared options, opens the configuration database, prepares
 * the display and starts the signal watch (patient: a second signal is
 * only logged, with patient_note). Release with job_cli_end, also after a
 * failure, and on a zeroed struct. */
mfb_status job_cli_begin(const struct cli_args *args, bool patient, const char *patient_note,
                         struct job_cli *jc, struct mfb_error *err);
void job_cli_end(struct job_cli *jc);

/* Parses --progress and, for the terminal display, lowers the log to
 * errors unless --log-level was given (log lines would tear the display). */
mfb_status job_cli_progress(const struct cli_args *args, enum job_progress_mode *mode,
                            struct mfb_error *err);

#endif
