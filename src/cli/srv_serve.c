/*
 * srv_serve.c - placeholder for 'serve' until its module lands; it only says so.
 */
#include "cli/commands.h"

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "'%s' is not implemented yet", args->path);
}

const struct cli_command srv_serve = {.name = "serve",
                                      .usage = "...",
                                      .summary = "serve uploads over HTTPS",
                                      .max_args = -1,
                                      .run = run};
