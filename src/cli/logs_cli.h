/*
 * logs_cli.h - what `mfb logs` and `mfb report` share: a point in time
 * from an option (a duration ago or a UTC date) and a job as JSON.
 */
#ifndef MFB_CLI_LOGS_CLI_H
#define MFB_CLI_LOGS_CLI_H

#include <jansson.h>
#include <stdint.h>

#include "cli/options.h"
#include "store/job_log.h"

/* The value of a --since/--until style option as Unix ms: "7d" is seven
 * days ago, "2026-11-25" or "2026-11-25T19:30:00Z" a UTC time; 0 when the
 * option is absent. */
mfb_status logs_cli_when(const struct cli_args *args, const char *option, int64_t *ms,
                         struct mfb_error *err);

/* Every field of a job as a JSON object. */
json_t *logs_cli_job_json(const struct job_record *j);

#endif
