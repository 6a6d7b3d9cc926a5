/*
 * job_cli.c - options shared by the job commands (see job_cli.h).
 */
#include "cli/job_cli.h"

#include "cli/config_cli.h"

#include <string.h>

#include "common/cancel.h"
#include "common/log.h"

const char *const job_cli_progress_modes[] = {"auto", "tty", "json", "none", NULL};

mfb_status job_cli_progress(const struct cli_args *args, enum job_progress_mode *mode,
                            struct mfb_error *err)
{
    mfb_status st = job_progress_mode_parse(cli_string(args, "progress"), mode, err);
    if (st == MFB_OK && *mode == JOB_PROGRESS_TTY && args->log_level == NULL)
        mfb_log_init(MFB_LOG_ERROR, NULL);
    return st;
}

mfb_status job_cli_begin(const struct cli_args *args, bool patient, const char *patient_note,
                         struct job_cli *jc, struct mfb_error *err)
{
    memset(jc, 0, sizeof(*jc));
    cancel_token_init(&jc->cancel, NULL);
    jc->begun = true;
    jc->watch.patient = patient;
    jc->watch.patient_note = patient_note;
    mfb_status st = transfer_opts_settings(args, &jc->settings, err);
    if (st == MFB_OK)
        st = job_cli_progress(args, &jc->mode, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &jc->db, NULL, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&jc->watch, &jc->cancel, err);
    if (st == MFB_OK) {
        job_display_init(&jc->display, jc->mode);
        jc->observer_count = job_display_observer(&jc->display, &jc->observer);
    }
    return st;
}

void job_cli_end(struct job_cli *jc)
{
    if (!jc->begun)
        return;
    interrupt_watch_stop(&jc->watch);
    cancel_token_destroy(&jc->cancel);
    config_db_close(jc->db);
    jc->db = NULL;
    jc->begun = false;
}
