/*
 * srv_init.c - placeholder for 'init' until its module lands; it only says so.
 */
#include "cli/commands.h"

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "'%s' is not implemented yet", args->path);
}

const struct cli_command srv_init = {
    .name = "init",
    .usage = "...",
    .summary = "create the receiver's database, storage and TLS certificate",
    .max_args = -1,
    .run = run};
