/*
 * cmd_fetch.c - placeholder for 'fetch' until its module lands; it only says so.
 */
#include "cli/commands.h"

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "'%s' is not implemented yet", args->path);
}

const struct cli_command cmd_fetch = {.name = "fetch",
                                      .usage = "...",
                                      .summary = "download a backup from a receiver",
                                      .max_args = -1,
                                      .run = run};
