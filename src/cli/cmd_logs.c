/*
 * cmd_logs.c - `mfb logs` and `mfb logs show JOB`: the job log of the
 * configuration database (requirement 7, docs/logs.md).
 *
 *   mfb logs [--instance I] [--status S] [--since 7d] [--until DATE|7d]
 *            [--search TEXT] [--limit N] [--json]
 *   mfb logs show JOB [--json]
 *
 * Filtering, including the full-text --search over events and errors
 * (FTS5), is job_log_list's; this file turns options into its filter
 * and records into a table or JSON. Times in JSON are ISO 8601 UTC with
 * milliseconds dropped; durations are milliseconds (null: did not happen).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/logs_cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/orphans.h"
#include "store/config_db.h"
#include "store/job_log.h"

static const struct cli_option logs_options[] = {
    {.name = "instance",
     .short_name = 'i',
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "only this instance's jobs"},
    {.name = "status",
     .short_name = 's',
     .type = CLI_STRING,
     .metavar = "STATUS",
     .help =
         "only jobs with this status: ok, failed, critical, pending_upload, cancelled, running"},
    {.name = "since",
     .type = CLI_STRING,
     .metavar = "WHEN",
     .help = "jobs started since: a duration ago (7d, 12h) or a date"},
    {.name = "until",
     .type = CLI_STRING,
     .metavar = "WHEN",
     .help = "jobs started before: a duration ago or a date"},
    {.name = "search",
     .type = CLI_STRING,
     .metavar = "TEXT",
     .help = "jobs whose events or error contain all these words"},
    {.name = "limit",
     .short_name = 'n',
     .type = CLI_UINT,
     .metavar = "N",
     .help = "at most N jobs, newest first",
     .def = "50",
     .min = "1",
     .max = "1000000"},
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

mfb_status logs_cli_when(const struct cli_args *args, const char *option, int64_t *ms,
                         struct mfb_error *err)
{
    *ms = 0;
    const char *v = cli_string(args, option);
    if (v == NULL)
        return MFB_OK;
    uint64_t ago = 0;
    struct mfb_error local = {0};
    if (parse_duration_ms(v, &ago, &local) == MFB_OK) {
        *ms = clock_wall_ms() - (int64_t)ago;
        return MFB_OK;
    }
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(v, formats[i], &tm);
        if (end != NULL && *end == '\0') {
            *ms = (int64_t)timegm(&tm) * 1000;
            return MFB_OK;
        }
    }
    mfb_error_set(err, MFB_ERR_USAGE, "invalid --%s '%s'", option, v);
    mfb_error_hint(err, "give a duration ago (30m, 12h, 7d) or a UTC date (2026-11-25 or "
                        "2026-11-25T19:30:00Z)");
    return MFB_ERR_USAGE;
}

static json_t *ms_or_null(int64_t ms)
{
    return ms < 0 ? json_null() : json_integer(ms);
}

static json_t *time_ms_json(int64_t ms)
{
    return ms > 0 ? config_cli_json_time(ms / 1000) : json_null();
}

/* The backtrace text, one frame a line, as a JSON array (null: none). */
static json_t *backtrace_json(const char *text)
{
    if (text == NULL)
        return json_null();
    json_t *frames = json_array();
    while (*text) {
        size_t n = strcspn(text, "\n");
        json_array_append_new(frames, json_stringn(text, n));
        text += n + (text[n] == '\n');
    }
    return frames;
}

json_t *logs_cli_job_json(const struct job_record *j)
{
    json_t *steps = json_object();
    for (int s = 0; s < JOB_STEP_COUNT; s++)
        json_object_set_new(steps, job_step_name((enum job_step)s), ms_or_null(j->step_ms[s]));
    json_t *o =
        json_pack("{s:I, s:s, s:o, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, "
                  "s:o, s:o, s:o, s:o}",
                  "id", (json_int_t)j->id, "instance", j->instance, "target",
                  config_cli_json_str(j->target[0] ? j->target : NULL), "kind", j->kind, "status",
                  job_status_str(j->status), "pid", (json_int_t)j->pid, "started",
                  time_ms_json(j->started_ms), "ended", time_ms_json(j->ended_ms), "duration_ms",
                  j->ended_ms > 0 ? json_integer(j->ended_ms - j->started_ms) : json_null(),
                  "downtime_ms", ms_or_null(j->downtime_ms), "steps_ms", steps, "bytes_in",
                  (json_int_t)j->bytes_in, "bytes_out", (json_int_t)j->bytes_out, "backup_name",
                  config_cli_json_str(j->backup_name[0] ? j->backup_name : NULL), "backup_id",
                  config_cli_json_str(j->backup_id[0] ? j->backup_id : NULL), "upload_id",
                  config_cli_json_str(j->upload_id[0] ? j->upload_id : NULL), "error",
                  config_cli_json_str(j->error), "hint", config_cli_json_str(j->hint));
    json_object_set_new(o, "error_step",
                        config_cli_json_str(j->error_step[0] ? j->error_step : NULL));
    json_object_set_new(o, "backtrace", backtrace_json(j->backtrace));
    json_object_set_new(o, "system_state", config_cli_json_str(j->system_state));
    json_object_set_new(o, "host", config_cli_json_str(j->host[0] ? j->host : NULL));
    json_object_set_new(o, "chunks", json_integer((json_int_t)j->chunks));
    json_object_set_new(o, "retries", json_integer((json_int_t)j->retries));
    return o;
}

static mfb_status build_filter(const struct cli_args *args, struct job_log_filter *f,
                               struct mfb_error *err)
{
    memset(f, 0, sizeof(*f));
    f->instance = cli_string(args, "instance");
    f->search = cli_string(args, "search");
    const char *status = cli_string(args, "status");
    if (status) {
        if (!job_status_parse(status, &f->status)) {
            mfb_error_set(err, MFB_ERR_USAGE, "invalid --status '%s'", status);
            mfb_error_hint(err, "use ok, failed, critical, pending_upload, cancelled or running");
            return MFB_ERR_USAGE;
        }
        f->by_status = true;
    }
    uint64_t limit = 50;
    mfb_status st = cli_uint(args, "limit", &limit, err);
    f->limit = (size_t)limit;
    if (st == MFB_OK)
        st = logs_cli_when(args, "since", &f->since_ms, err);
    if (st == MFB_OK)
        st = logs_cli_when(args, "until", &f->until_ms, err);
    return st;
}

/* The table row's short texts for one job, in fixed buffers. */
struct job_row {
    char id[24], start[32], duration[32], downtime[32], size[32], message[80];
};

static void fill_row(const struct job_record *j, struct job_row *r)
{
    snprintf(r->id, sizeof(r->id), "%" PRId64, j->id);
    config_cli_time(j->started_ms / 1000, r->start, sizeof(r->start));
    if (j->ended_ms > 0)
        format_duration_ms((uint64_t)(j->ended_ms - j->started_ms), r->duration,
                           sizeof(r->duration));
    else
        snprintf(r->duration, sizeof(r->duration), "-");
    if (j->downtime_ms >= 0)
        format_duration_ms((uint64_t)j->downtime_ms, r->downtime, sizeof(r->downtime));
    else
        snprintf(r->downtime, sizeof(r->downtime), "-");
    if (j->bytes_out > 0)
        format_size(j->bytes_out, r->size, sizeof(r->size));
    else
        snprintf(r->size, sizeof(r->size), "-");
    const char *msg = j->error ? j->error : j->backup_name[0] ? j->backup_name : "-";
    size_t n = strlen(msg), cap = sizeof(r->message) - 1;
    if (n > cap) {
        memcpy(r->message, msg, cap - 3);
        memcpy(r->message + cap - 3, "...", 4);
    } else {
        memcpy(r->message, msg, n + 1);
    }
}

static mfb_status print_table(const struct job_record *list, size_t count, struct mfb_error *err)
{
    enum { COLS = 9 };
    static const char *const header[COLS] = {"ID",       "INSTANCE", "KIND", "STATUS", "START",
                                             "DURATION", "DOWNTIME", "SIZE", "MESSAGE"};
    const char **cells = calloc(count * COLS + 1, sizeof(*cells));
    struct job_row *rows = calloc(count + 1, sizeof(*rows));
    mfb_status st = MFB_OK;
    if (cells == NULL || rows == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        fill_row(&list[i], &rows[i]);
        const char **c = cells + i * COLS;
        c[0] = rows[i].id;
        c[1] = list[i].instance;
        c[2] = list[i].kind;
        c[3] = job_status_str(list[i].status);
        c[4] = rows[i].start;
        c[5] = rows[i].duration;
        c[6] = rows[i].downtime;
        c[7] = rows[i].size;
        c[8] = rows[i].message;
    }
    config_cli_table(header, COLS, cells, count);
done:
    free(cells);
    free(rows);
    return st;
}

/* A job whose process is gone is never shown as running: it is settled
 * first, as every job command does (job/orphans.h). Listing still works
 * when that fails (a read-only copy of the database). */
static void settle_orphans(struct config_db *db)
{
    struct mfb_error e = {0};
    if (job_orphans_settle(db, NULL, &e) != MFB_OK)
        log_warn("logs", "note=cannot_settle_interrupted_jobs error=\"%s\"", e.message);
}

static mfb_status run_logs(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    struct job_record *list = NULL;
    size_t count = 0;
    struct job_log_filter f;
    mfb_status st = build_filter(args, &f, err);
    if (st == MFB_OK)
        st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK) {
        settle_orphans(db);
        st = job_log_list(db, &f, &list, &count, err);
    }
    if (st == MFB_OK && cli_flag(args, "json")) {
        json_t *array = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(array, logs_cli_job_json(&list[i]));
        st = config_cli_print_json(array, err);
    } else if (st == MFB_OK && count == 0) {
        printf("no jobs match\n");
    } else if (st == MFB_OK) {
        st = print_table(list, count, err);
    }
    job_log_list_free(list, count);
    config_db_close(db);
    return st;
}

static void print_job(const struct job_record *j, const struct job_log_event *ev, size_t n)
{
    struct job_row r;
    fill_row(j, &r);
    char ended[32], buf[32];
    printf("job %" PRId64 "\n", j->id);
    printf("  instance:  %s\n  target:    %s\n  host:      %s (pid %" PRId64 ")\n", j->instance,
           j->target[0] ? j->target : "-", j->host[0] ? j->host : "-", j->pid);
    printf("  kind:      %s\n  status:    %s\n", j->kind, job_status_str(j->status));
    printf("  started:   %s\n  ended:     %s\n  duration:  %s\n  downtime:  %s\n", r.start,
           j->ended_ms > 0 ? config_cli_time(j->ended_ms / 1000, ended, sizeof(ended)) : "-",
           r.duration, r.downtime);
    printf("  read:      %s\n", format_size(j->bytes_in, buf, sizeof(buf)));
    printf("  stored:    %s in %" PRIu64 " chunks, %" PRIu64 " retries\n",
           format_size(j->bytes_out, buf, sizeof(buf)), j->chunks, j->retries);
    printf("  backup:    %s%s%s%s\n", j->backup_name[0] ? j->backup_name : "-",
           j->backup_id[0] ? " (id " : "", j->backup_id, j->backup_id[0] ? ")" : "");
    if (j->upload_id[0])
        printf("  upload id: %s\n", j->upload_id);
    printf("  steps:    ");
    for (int s = 0; s < JOB_STEP_COUNT; s++)
        if (j->step_ms[s] >= 0)
            printf(" %s=%s", job_step_name((enum job_step)s),
                   format_duration_ms((uint64_t)j->step_ms[s], buf, sizeof(buf)));
    printf("\n");
    if (j->error)
        printf("  error:     %s\n", j->error);
    if (j->hint)
        printf("  hint:      %s\n", j->hint);
    if (j->error_step[0])
        printf("  step:      %s\n", j->error_step);
    if (j->system_state)
        printf("  system:    %s\n", j->system_state);
    if (j->backtrace) {
        printf("  backtrace: (the failing thread, where the first error was set)\n");
        for (const char *f = j->backtrace; *f;) {
            size_t len = strcspn(f, "\n");
            printf("    %.*s\n", (int)len, f);
            f += len + (f[len] == '\n');
        }
    }
    printf("events:\n");
    for (size_t i = 0; i < n; i++) {
        char t[32];
        config_cli_time(ev[i].time_ms / 1000, t, sizeof(t));
        printf("  %s %-5s %-9s %s\n", t, job_level_str(ev[i].level),
               ev[i].step[0] ? ev[i].step : "-", ev[i].message);
    }
    if (n == 0)
        printf("  (none)\n");
}

static mfb_status run_show(struct cli_args *args, struct mfb_error *err)
{
    const char *id_text = args->positional[0];
    char *end = NULL;
    long long id = strtoll(id_text, &end, 10);
    if (end == id_text || *end != '\0' || id <= 0) {
        mfb_error_set(err, MFB_ERR_USAGE, "invalid job id '%s'", id_text);
        mfb_error_hint(err, "'mfb logs' lists the jobs with their ids");
        return MFB_ERR_USAGE;
    }
    struct config_db *db = NULL;
    struct job_record job;
    memset(&job, 0, sizeof(job));
    struct job_log_event *ev = NULL;
    size_t n = 0;
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK) {
        settle_orphans(db);
        st = job_log_get(db, (int64_t)id, &job, err);
    }
    if (st == MFB_OK)
        st = job_log_events(db, job.id, &ev, &n, err);
    if (st == MFB_OK && cli_flag(args, "json")) {
        json_t *o = logs_cli_job_json(&job);
        json_t *events = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                events, json_pack("{s:I, s:o, s:s, s:o, s:s}", "id", (json_int_t)ev[i].id, "time",
                                  time_ms_json(ev[i].time_ms), "level", job_level_str(ev[i].level),
                                  "step", config_cli_json_str(ev[i].step[0] ? ev[i].step : NULL),
                                  "message", ev[i].message));
        json_object_set_new(o, "events", events);
        st = config_cli_print_json(o, err);
    } else if (st == MFB_OK) {
        print_job(&job, ev, n);
    }
    job_log_events_free(ev, n);
    job_record_free(&job);
    config_db_close(db);
    return st;
}

static const struct cli_option show_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    CLI_OPTIONS_END,
};

static const struct cli_command logs_show = {.name = "show",
                                             .usage = "JOB",
                                             .summary = "show one job with all its events",
                                             .options = show_options,
                                             .min_args = 1,
                                             .max_args = 1,
                                             .run = run_show};

static const struct cli_command *const logs_commands[] = {&logs_show, NULL};

const struct cli_command cmd_logs = {.name = "logs",
                                     .summary = "the job log: list jobs (filters, full-text "
                                                "search) or show one with its events",
                                     .usage = "[show JOB]",
                                     .options = logs_options,
                                     .max_args = 0,
                                     .subcommands = logs_commands,
                                     .run = run_logs};
