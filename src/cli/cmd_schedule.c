/*
 * cmd_schedule.c - `mfb schedule add|list|show|set|remove|pause|resume`:
 * the schedules `mfb daemon` runs backups on (docs/schedules.md).
 *
 * Same shape as cmd_target.c, over record_cmd.h's flow: add and set share
 * the option table and the function that applies it. A schedule has
 * nothing to reach, so it has no live checks and no --no-check; its record
 * check parses the expression and loads the zone with the cron module
 * (sched/cron.h), whose messages are the command's, and the store refuses
 * an unknown instance or target as it saves. add, set, show and list show
 * the next three run times, in the schedule's zone, as ISO 8601 with the
 * UTC offset in effect then, so a daylight-saving change is visible; they
 * and the JSON come from daemon/schedule_view.h, which the daemon's
 * GET /v1/schedules uses too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/record_cmd.h"
#include "common/parse.h"
#include "daemon/schedule_view.h"
#include "sched/cron.h"
#include "sched/tzfile.h"
#include "store/config_db.h"
#include "store/schedules.h"

static const char *const catch_up_values[] = {"once", "skip", NULL};
static const char *const kind_values[] = {"backup", "drill", NULL};

static const struct cli_option edit_options[] = {
    {.name = "instance",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the instance to back up (required for add)"},
    {.name = "target",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the target to send the backups to ('' for the only one)",
     .def_doc = "the only one"},
    {.name = "cron",
     .type = CLI_STRING,
     .metavar = "EXPR",
     .help = "when to run: 'MIN HOUR DOM MON DOW' or @daily, @hourly, ... (required for add)"},
    {.name = "tz",
     .type = CLI_STRING,
     .metavar = "ZONE",
     .help = "the expression's time zone: an IANA name, UTC or local",
     .def = CONFIG_SCHEDULE_DEFAULT_TZ},
    {.name = "catch-up",
     .type = CLI_ENUM,
     .metavar = "WHEN",
     .help = "runs missed while the daemon was down: run once, or skip them",
     .def = "once",
     .values = catch_up_values},
    {.name = "jitter",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "start each run up to this much later, at random",
     .def = "0s"},
    {.name = "kind",
     .type = CLI_ENUM,
     .metavar = "KIND",
     .help = "what the schedule runs: a backup, or a drill of the latest backup",
     .def = "backup",
     .values = kind_values},
    CLI_OPTIONS_END,
};

/* Replaces a fixed-size name field, refusing a name that does not fit. */
static mfb_status set_name(char *field, size_t size, const char *option, const char *value,
                           struct mfb_error *err)
{
    if (strlen(value) >= size) {
        mfb_error_set(err, MFB_ERR_USAGE, "--%s: name '%s' is too long", option, value);
        mfb_error_hint(err, "names have at most %zu bytes", size - 1);
        return MFB_ERR_USAGE;
    }
    snprintf(field, size, "%s", value);
    return MFB_OK;
}

/* Applies every option given to the schedule (add: over the defaults;
 * set: over the stored record). */
static mfb_status apply_options(const struct cli_args *args, void *rec, struct mfb_error *err)
{
    struct config_schedule *s = rec;
    mfb_status st = MFB_OK;
    const char *v;
    if ((v = cli_string(args, "instance")) != NULL)
        st = set_name(s->instance, sizeof(s->instance), "instance", v, err);
    if (st == MFB_OK && (v = cli_string(args, "target")) != NULL)
        st = config_str_set(&s->target, *v ? v : NULL, err);
    if (st == MFB_OK && (v = cli_string(args, "cron")) != NULL)
        st = config_str_set(&s->cron, v, err);
    if (st == MFB_OK && (v = cli_string(args, "tz")) != NULL)
        st = config_str_set(&s->tz, v, err);
    if (st == MFB_OK && s->tz == NULL)
        st = config_str_set(&s->tz, CONFIG_SCHEDULE_DEFAULT_TZ, err);
    if (st == MFB_OK && (v = cli_string(args, "catch-up")) != NULL)
        st = config_catch_up_parse(v, &s->catch_up, err);
    if (st == MFB_OK && (v = cli_string(args, "kind")) != NULL)
        st = config_schedule_kind_parse(v, &s->kind, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "jitter", &s->jitter_ms, err);
    if (st != MFB_OK)
        return st;
    if (s->instance[0] == '\0') {
        mfb_error_set(err, MFB_ERR_USAGE, "no instance given");
        mfb_error_hint(err, "pass --instance NAME ('mfb instance list' shows them)");
        return MFB_ERR_USAGE;
    }
    if (s->cron == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "no cron expression given");
        mfb_error_hint(err, "pass --cron 'MIN HOUR DOM MON DOW', for example --cron '0 3 * * *'");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

/* The record check: the expression parses and the zone loads (the cron
 * module's messages), by computing the next run once. */
static mfb_status check_schedule(void *rec, struct mfb_error *err)
{
    const struct config_schedule *s = rec;
    int64_t next = 0;
    return cron_next(s->cron, s->tz, (int64_t)time(NULL), &next, err);
}

static void print_saved(const void *rec)
{
    struct schedule_next_runs n;
    schedule_view_next_runs(rec, (int64_t)time(NULL), &n);
    for (int i = 0; i < n.count; i++)
        printf("next run: %s\n", n.when[i]);
}

/* "#12 failed", or "none yet" (also when the job was pruned from the log). */
static const char *last_run_text(const struct config_schedule *s, char *buf, size_t len)
{
    if (s->last_run_job_id == 0)
        snprintf(buf, len, "none yet");
    else if (s->last_run_status[0] == '\0')
        snprintf(buf, len, "#%lld (no longer in the job log)", (long long)s->last_run_job_id);
    else
        snprintf(buf, len, "#%lld %s", (long long)s->last_run_job_id, s->last_run_status);
    return buf;
}

/* The same JSON as the daemon's GET /v1/schedules (daemon/schedule_view.h). */
static json_t *schedule_json(const void *rec)
{
    return schedule_view_json(rec, (int64_t)time(NULL));
}

static void print_schedule(const void *rec)
{
    const struct config_schedule *s = rec;
    char buf[256], when[64];
    printf("name: %s\n", s->name);
    printf("instance: %s\n", s->instance);
    printf("target: %s\n", s->target ? s->target : "(the only one)");
    printf("kind: %s\n", config_schedule_kind_str(s->kind));
    printf("cron: %s\n", s->cron);
    printf("time zone: %s\n", s->tz);
    printf("catch up: %s\n", config_catch_up_str(s->catch_up));
    printf("jitter: %s\n", format_duration_ms(s->jitter_ms, buf, sizeof(buf)));
    printf("paused: %s\n", s->paused ? "yes" : "no");
    struct schedule_next_runs n;
    schedule_view_next_runs(s, (int64_t)time(NULL), &n);
    for (int i = 0; i < n.count; i++)
        printf("next run: %s\n", n.when[i]);
    if (n.count == 0)
        printf("next run: (%s)\n", n.problem);
    printf("last run: %s", last_run_text(s, buf, sizeof(buf)));
    if (s->last_run_started)
        printf(", started %s", config_cli_time(s->last_run_started, when, sizeof(when)));
    printf("\n");
    printf("created: %s\n", config_cli_time(s->created, when, sizeof(when)));
    printf("updated: %s\n", config_cli_time(s->updated, when, sizeof(when)));
}

/* The list's columns. */
static const char *const columns[] = {"NAME", "INSTANCE", "TARGET",    "CRON",
                                      "TZ",   "PAUSED",   "NEXT RUNS", "LAST RUN"};

static void schedule_row(const void *rec, const char **cells, char (*text)[RECORD_CELL_TEXT])
{
    const struct config_schedule *s = rec;
    cells[0] = s->name;
    cells[1] = s->instance;
    cells[2] = s->target;
    cells[3] = s->cron;
    cells[4] = s->tz;
    cells[5] = s->paused ? "yes" : "no";
    struct schedule_next_runs n;
    schedule_view_next_runs(s, (int64_t)time(NULL), &n);
    if (n.count == 0)
        snprintf(text[6], RECORD_CELL_TEXT, "(%s)", n.problem);
    else
        snprintf(text[6], RECORD_CELL_TEXT, "%s, %s, %s", n.when[0], n.when[1], n.when[2]);
    cells[6] = text[6];
    cells[7] = last_run_text(s, text[7], RECORD_CELL_TEXT);
}

static mfb_status remove_schedule(struct config_db *db, const char *name,
                                  const struct cli_args *args, struct mfb_error *err)
{
    (void)args;
    return config_schedule_remove(db, name, err);
}

/* The schedule as a kind of record for record_cmd.h's flow: the store's
 * adapters, and this file's check (no live one). */
RECORD_KIND_STORE_ADAPTERS(schedule)

static const struct record_kind kind = {
    .group = "schedule",
    RECORD_KIND_STORE_BIND(schedule),
    .check_record = check_schedule,
    .print_saved = print_saved,
    .remove = remove_schedule,
    .apply = apply_options,
    .json = schedule_json,
    .print = print_schedule,
    .columns = columns,
    .column_count = sizeof(columns) / sizeof(columns[0]),
    .row = schedule_row,
};

/* pause and resume: one flag of the stored schedule. */
static mfb_status set_paused(struct cli_args *args, bool paused, struct mfb_error *err)
{
    const char *name = args->positional[0];
    struct config_db *db = NULL;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = config_schedule_set_paused(db, name, paused, err);
    if (st == MFB_OK)
        printf("%s schedule '%s'\n", paused ? "paused" : "resumed", name);
    config_db_close(db);
    return st;
}

static mfb_status run_pause(struct cli_args *args, struct mfb_error *err)
{
    return set_paused(args, true, err);
}

static mfb_status run_resume(struct cli_args *args, struct mfb_error *err)
{
    return set_paused(args, false, err);
}

static const struct cli_command schedule_add = {
    RECORD_CMD_ADD(kind),
    .usage = "NAME --instance NAME --cron EXPR [--target NAME] [--tz ZONE] ...",
    .summary = "add a schedule and print its next three run times", .options = edit_options};
static const struct cli_command schedule_set = {
    RECORD_CMD_SET(kind),
    .summary = "change a schedule: the options of 'add'; only those given change",
    .options = edit_options};
static const struct cli_command schedule_list = {
    RECORD_CMD_LIST(kind), .summary = "list the schedules with their next and last runs"};
static const struct cli_command schedule_show = {RECORD_CMD_SHOW(kind),
                                                 .summary = "show a schedule"};
static const struct cli_command schedule_remove = {RECORD_CMD_REMOVE(kind),
                                                   .summary = "remove a schedule"};
static const struct cli_command schedule_pause = {.name = "pause",
                                                  .usage = "NAME",
                                                  .summary = "stop running a schedule until "
                                                             "'resume'",
                                                  .min_args = 1,
                                                  .max_args = 1,
                                                  .run = run_pause};
static const struct cli_command schedule_resume = {.name = "resume",
                                                   .usage = "NAME",
                                                   .summary = "run a paused schedule again",
                                                   .min_args = 1,
                                                   .max_args = 1,
                                                   .run = run_resume};

static const struct cli_command *const schedule_commands[] = {
    &schedule_add,    &schedule_list,  &schedule_show,   &schedule_set,
    &schedule_remove, &schedule_pause, &schedule_resume, NULL,
};

const struct cli_command cmd_schedule = {.name = "schedule",
                                         .summary = "add, list, show, change, pause or remove "
                                                    "the schedules 'mfb daemon' runs backups on",
                                         .subcommands = schedule_commands};
