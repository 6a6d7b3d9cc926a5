/*
 * cmd_backup.c - `mfb backup INSTANCE [--target T]`: one managed cold
 * backup, now, with its progress (docs/backup.md).
 *
 * The command only wires things up: the configuration database, the
 * progress display, and the signal watcher that turns Ctrl-C or SIGTERM
 * into a cancel of the job (the same safe path as a failure; a second
 * signal is only logged, so it cannot skip the restart). The job itself is
 * job/backup/backup.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/writer.h"
#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/job_cli.h"
#include "common/parse.h"
#include "job/backup/backup.h"

static const struct cli_option options[] = {
    {.name = "target",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the receiver to send it to",
     .def_doc = "the only one"},
    JOB_CLI_OPTIONS,
    {.name = "threads",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "compression threads, 0 for the number of cores",
     .def_doc = "the number of cores",
     .min = "0",
     .max = CLI_STR(ARCHIVE_THREADS_MAX)},
    {.name = "level",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "deflate level, 0 (store) to 9",
     .def = CLI_STR(ARCHIVE_LEVEL_DEFAULT),
     .min = "0",
     .max = "9"},
    {.name = "no-alerts", .type = CLI_FLAG, .help = "do not send alerts for this run"},
    {.name = "json", .type = CLI_FLAG, .help = "print the result as JSON"},
    CLI_OPTIONS_END,
};

/* With --progress=json, standard output holds one JSON object per line:
 * the events, then with --json the result on one line; the two summary
 * lines are left out, as 'mfb resume' leaves out its own. */
static void print_result(const struct cli_args *args, enum job_progress_mode mode,
                         const struct backup_result *r)
{
    char d[32] = "-", s[32];
    if (r->downtime_ms >= 0)
        format_duration_ms((uint64_t)r->downtime_ms, d, sizeof(d));
    if (cli_flag(args, "json")) {
        json_t *o =
            json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:b}", "job_id",
                      (json_int_t)r->job_id, "status", job_status_str(r->status), "backup_name",
                      r->backup_name[0] ? r->backup_name : NULL, "backup_id",
                      r->backup_id[0] ? r->backup_id : NULL, "upload_id",
                      r->upload_id[0] ? r->upload_id : NULL, "downtime_ms",
                      (json_int_t)r->downtime_ms, "bytes_in", (json_int_t)r->bytes_in,
                      "archive_bytes", (json_int_t)r->archive_bytes, "server_down", r->server_down);
        if (o && r->data_zip[0])
            json_object_set_new(o, "data_zip", json_string(r->data_zip));
        if (mode == JOB_PROGRESS_JSON && o != NULL) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        } else {
            config_cli_print_json(o, NULL);
        }
        return;
    }
    if (r->status == JOB_STATUS_OK && mode != JOB_PROGRESS_JSON)
        printf("backup stored: %s (%s)\njob %" PRId64 ": downtime %s, Data.zip %s\n",
               r->backup_name, r->backup_id, r->job_id, d,
               format_size(r->archive_bytes, s, sizeof(s)));
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct job_cli jc;
    uint64_t threads = 0, level = 0;
    mfb_status st = cli_uint(args, "threads", &threads, err);
    if (st == MFB_OK)
        st = cli_uint(args, "level", &level, err);
    if (st == MFB_OK)
        st = job_cli_begin(args, true, "cancelling_already:_the_server_is_being_restarted", &jc,
                           err);
    else
        memset(&jc, 0, sizeof(jc));
    if (st != MFB_OK)
        goto done;
    struct backup_options opt = {
        .db = jc.db,
        .instance = args->positional[0],
        .target = cli_string(args, "target"),
        .observers = &jc.observer,
        .observer_count = jc.observer_count,
        .cancel = &jc.cancel,
        .transfer = &jc.settings,
        .threads = (unsigned)threads,
        .level = (int)level,
        .no_alerts = cli_flag(args, "no-alerts"),
    };
    struct backup_result res;
    st = backup_run(&opt, &res, err);
    if (res.job_id > 0 || st == MFB_OK)
        print_result(args, jc.mode, &res);
    if (res.server_down && res.recovery)
        fprintf(stderr, "\n%s\n", res.recovery);
    backup_result_free(&res);
done:
    job_cli_end(&jc);
    return st;
}

const struct cli_command cmd_backup = {
    .name = "backup",
    .usage = "INSTANCE [--target NAME] [--progress auto|tty|json|none]",
    .summary = "back up an instance now: stop, archive, upload, restart, verify",
    .options = options,
    .min_args = 1,
    .max_args = 1,
    .run = run,
};
