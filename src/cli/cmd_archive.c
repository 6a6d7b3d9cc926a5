/*
 * cmd_archive.c - placeholder for 'archive' until its module lands; it only says so.
 */
#include "cli/commands.h"

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "'%s' is not implemented yet", args->path);
}

const struct cli_command cmd_archive = {.name = "archive",
                                        .usage = "...",
                                        .summary = "create, test, extract or list ZIP archives",
                                        .max_args = -1,
                                        .run = run};
