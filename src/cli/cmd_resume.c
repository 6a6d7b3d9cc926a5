/*
 * cmd_resume.c - `mfb resume [JOB|UPLOAD_ID]`: complete the uploads that
 * failed after Data.zip was made (jobs in status pending_upload), all of
 * them or the one named, retrying with exponential backoff while the
 * receiver is unreachable (job/resume.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/job_cli.h"
#include "cli/transfer_opts.h"
#include "job/resume.h"

static const struct cli_option options[] = {
    JOB_CLI_OPTIONS,
    {"attempts", 0, CLI_VALUE, "N", "attempts of each resume before giving up (default 8)"},
    {"max-time", 0, CLI_VALUE, "DURATION", "stop retrying a resume after this long (default 1h)"},
    {"no-alerts", 0, CLI_FLAG, NULL, "do not send alerts for this run"},
    CLI_OPTIONS_END,
};

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    struct transfer_settings settings;
    enum job_progress_mode mode;
    struct transfer_cancel cancel;
    transfer_cancel_init(&cancel, NULL);
    struct interrupt_watch watch = {0};
    struct resume_options opt = {.policy = RESUME_POLICY_DEFAULT};
    uint64_t attempts = 0, max_time = 0;
    mfb_status st = job_cli_settings(args, &settings, err);
    if (st == MFB_OK)
        st = job_cli_progress(args, &mode, err);
    if (st == MFB_OK)
        st = cli_uint(args, "attempts", opt.policy.max_attempts, 1, 1000, &attempts, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "max-time", opt.policy.max_total_ms, &max_time, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&watch, &cancel, err);
    if (st != MFB_OK)
        goto done;
    struct job_display display;
    job_display_init(&display, mode);
    struct job_observer obs;
    opt.db = db;
    opt.selector = args->positional_count > 0 ? args->positional[0] : NULL;
    opt.observers = &obs;
    opt.observer_count = job_display_observer(&display, &obs);
    opt.cancel = &cancel;
    opt.transfer = &settings;
    opt.policy.max_attempts = (unsigned)attempts;
    opt.policy.max_total_ms = max_time;
    opt.no_alerts = cli_flag(args, "no-alerts");
    struct resume_summary sum;
    st = resume_run(&opt, &sum, err);
    if (mode != JOB_PROGRESS_JSON) {
        if (sum.pending == 0 && st == MFB_OK)
            printf("no upload waits to be resumed\n");
        else
            printf("%zu pending, %zu completed, %zu failed\n", sum.pending, sum.completed,
                   sum.failed);
    }
done:
    interrupt_watch_stop(&watch);
    transfer_cancel_destroy(&cancel);
    config_db_close(db);
    return st;
}

const struct cli_command cmd_resume = {
    .name = "resume",
    .usage = "[JOB | UPLOAD_ID]",
    .summary = "complete backups whose upload was interrupted (all pending ones by default)",
    .options = options,
    .min_args = 0,
    .max_args = 1,
    .run = run,
};
