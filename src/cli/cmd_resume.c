/*
 * cmd_resume.c - `mfb resume [JOB|UPLOAD_ID]`: complete the uploads that
 * failed after Data.zip was made (jobs in status pending_upload), all of
 * them or the one named, retrying with exponential backoff while the
 * receiver is unreachable (job/backup/resume.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/job_cli.h"
#include "job/backup/resume.h"
#include "job/orphans.h"

static const struct cli_option options[] = {
    JOB_CLI_OPTIONS,
    {.name = "attempts",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "attempts of each resume before giving up",
     .def = "8",
     .min = "1",
     .max = "1000"},
    {.name = "max-time",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "stop retrying a resume after this long",
     .def = "1h"},
    {.name = "no-alerts", .type = CLI_FLAG, .help = "do not send alerts for this run"},
    CLI_OPTIONS_END,
};

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct job_cli jc;
    struct resume_options opt = {.policy = RESUME_POLICY_DEFAULT};
    uint64_t attempts = 0, max_time = 0;
    mfb_status st = cli_uint(args, "attempts", &attempts, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "max-time", &max_time, err);
    if (st == MFB_OK)
        st = job_cli_begin(args, false, NULL, &jc, err);
    else
        memset(&jc, 0, sizeof(jc));
    /* A backup killed after sealing Data.zip becomes pending here, and the
     * leftovers of dead jobs go (job/orphans.h). */
    if (st == MFB_OK)
        st = job_orphans_settle(jc.db, NULL, err);
    if (st != MFB_OK)
        goto done;
    opt.db = jc.db;
    opt.selector = args->positional_count > 0 ? args->positional[0] : NULL;
    opt.observers = &jc.observer;
    opt.observer_count = jc.observer_count;
    opt.cancel = &jc.cancel;
    opt.transfer = &jc.settings;
    opt.policy.max_attempts = (unsigned)attempts;
    opt.policy.max_total_ms = max_time;
    opt.no_alerts = cli_flag(args, "no-alerts");
    struct resume_summary sum;
    st = resume_run(&opt, &sum, err);
    if (jc.mode != JOB_PROGRESS_JSON) {
        if (sum.pending == 0 && st == MFB_OK)
            printf("no upload waits to be resumed\n");
        else
            printf("%zu pending, %zu completed, %zu failed\n", sum.pending, sum.completed,
                   sum.failed);
    }
done:
    job_cli_end(&jc);
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
