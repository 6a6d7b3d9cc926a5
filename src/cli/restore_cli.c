/*
 * restore_cli.c - the set-up and take-down `mfb restore` and `mfb drill`
 * share (see restore_cli.h).
 */
#include "cli/restore_cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/config_cli.h"
#include "common/log.h"

mfb_status restore_cli_begin(struct restore_cli *c, const struct cli_args *args,
                             struct mfb_error *err)
{
    memset(c, 0, sizeof(*c));
    cancel_token_init(&c->cancel, NULL);
    progress_bar_init(&c->bar);
    c->observer = progress_bar_observer(&c->bar);
    if (isatty(STDERR_FILENO) == 1 && args->log_level == NULL)
        mfb_log_init(MFB_LOG_ERROR, NULL);
    return transfer_opts_settings(args, &c->settings, err);
}

mfb_status restore_cli_open(struct restore_cli *c, const struct cli_args *args,
                            struct mfb_error *err)
{
    mfb_status st = config_cli_open(args, false, &c->db, NULL, err);
    if (st == MFB_OK)
        st = job_instance_load(c->db, args->positional[0], &c->inst, err);
    if (st == MFB_OK)
        st = job_target_load(c->db, cli_string(args, "target"), &c->settings, &c->target, err);
    if (st == MFB_OK)
        st = interrupt_watch_start(&c->watch, &c->cancel, err);
    return st;
}

void restore_cli_end(struct restore_cli *c)
{
    interrupt_watch_stop(&c->watch);
    cancel_token_destroy(&c->cancel);
    job_target_free(&c->target);
    job_instance_free(&c->inst);
    config_db_close(c->db);
}

void restore_cli_print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}
