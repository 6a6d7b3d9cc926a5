/*
 * cmd_report.c - `mfb report [--period 30d] [--instance I] [--json|--csv]`:
 * per instance, how the backups of a period went (requirement 7.6,
 * docs/logs.md).
 *
 * Reads the period's jobs with job_log_list (backups only:
 * report_counts_kind), the failing step of each failed one (its
 * error_step, else the step of its first error event), and
 * hands them to report_build; this file only prints. CSV has a header line
 * and one line per instance; its failures column is "cause=count" pairs
 * joined with ';'.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/clock.h"
#include "common/parse.h"
#include "job/report.h"
#include "store/config_db.h"
#include "store/job_log.h"

static const struct cli_option report_options[] = {
    {.name = "period",
     .short_name = 'p',
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "the period up to now",
     .def = "30d"},
    {.name = "instance",
     .short_name = 'i',
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "only this instance"},
    {.name = "json", .type = CLI_FLAG, .help = "print JSON"},
    {.name = "csv", .type = CLI_FLAG, .help = "print CSV with a header line"},
    CLI_OPTIONS_END,
};

static const char *time_text(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0)
        return "";
    return config_cli_time(ms / 1000, buf, len);
}

static json_t *report_json(const struct report_instance *r)
{
    json_t *failures = json_array();
    for (size_t i = 0; i < r->cause_count; i++)
        json_array_append_new(failures, json_pack("{s:s, s:I}", "cause", r->causes[i].cause,
                                                  "count", (json_int_t)r->causes[i].count));
    return json_pack(
        "{s:s, s:I, s:I, s:f, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "instance",
        r->instance, "jobs", (json_int_t)r->jobs, "ok", (json_int_t)r->ok, "success_rate",
        r->success_rate, "last_success",
        r->last_success_ms > 0 ? config_cli_json_time(r->last_success_ms / 1000) : json_null(),
        "avg_duration_ms", (json_int_t)r->avg_duration_ms, "max_duration_ms",
        (json_int_t)r->max_duration_ms, "avg_downtime_ms", (json_int_t)r->avg_downtime_ms,
        "max_downtime_ms", (json_int_t)r->max_downtime_ms, "avg_size", (json_int_t)r->avg_size,
        "total_size", (json_int_t)r->total_size, "growth", (json_int_t)r->growth, "failures",
        failures);
}

static void print_csv(const struct report_instance *list, size_t count)
{
    printf("instance,jobs,ok,success_rate,last_success,avg_duration_ms,max_duration_ms,"
           "avg_downtime_ms,max_downtime_ms,avg_size,total_size,growth,failures\n");
    for (size_t i = 0; i < count; i++) {
        const struct report_instance *r = &list[i];
        char t[32];
        printf("%s,%zu,%zu,%.4f,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRIu64
               ",%" PRIu64 ",%" PRId64 ",",
               r->instance, r->jobs, r->ok, r->success_rate,
               time_text(r->last_success_ms, t, sizeof(t)), r->avg_duration_ms, r->max_duration_ms,
               r->avg_downtime_ms, r->max_downtime_ms, r->avg_size, r->total_size, r->growth);
        for (size_t c = 0; c < r->cause_count; c++)
            printf("%s%s=%zu", c ? ";" : "", r->causes[c].cause, r->causes[c].count);
        printf("\n");
    }
}

static void print_text(const struct report_instance *list, size_t count, const char *period)
{
    char buf[64], buf2[64];
    printf("report over the last %s\n", period);
    for (size_t i = 0; i < count; i++) {
        const struct report_instance *r = &list[i];
        printf("\ninstance %s\n", r->instance);
        printf("  jobs:          %zu, %zu ok (%.1f%%)\n", r->jobs, r->ok, r->success_rate * 100.0);
        printf("  last success:  %s\n",
               r->last_success_ms > 0 ? time_text(r->last_success_ms, buf, sizeof(buf)) : "never");
        printf("  duration:      avg %s, max ",
               format_duration_ms((uint64_t)r->avg_duration_ms, buf, sizeof(buf)));
        printf("%s\n", format_duration_ms((uint64_t)r->max_duration_ms, buf2, sizeof(buf2)));
        printf("  downtime:      avg %s, max ",
               format_duration_ms((uint64_t)r->avg_downtime_ms, buf, sizeof(buf)));
        printf("%s\n", format_duration_ms((uint64_t)r->max_downtime_ms, buf2, sizeof(buf2)));
        printf("  stored size:   avg %s, total ", format_size(r->avg_size, buf, sizeof(buf)));
        printf("%s\n", format_size(r->total_size, buf2, sizeof(buf2)));
        uint64_t g = r->growth < 0 ? (uint64_t)(-r->growth) : (uint64_t)r->growth;
        printf("  growth:        %s%s\n", r->growth < 0 ? "-" : "+",
               format_size(g, buf, sizeof(buf)));
        printf("  failures:     ");
        for (size_t c = 0; c < r->cause_count; c++)
            printf(" %s x%zu%s", r->causes[c].cause, r->causes[c].count,
                   c + 1 < r->cause_count ? "," : "");
        printf("%s\n", r->cause_count ? "" : " none");
    }
    if (count == 0)
        printf("no jobs in this period\n");
}

static mfb_status run_report(struct cli_args *args, struct mfb_error *err)
{
    struct config_db *db = NULL;
    struct job_record *jobs = NULL;
    size_t job_count = 0, n = 0, out_count = 0;
    struct report_input *in = NULL;
    char(*steps)[32] = NULL;
    struct report_instance *out = NULL;
    uint64_t period = 0;
    if (cli_flag(args, "json") && cli_flag(args, "csv")) {
        mfb_error_set(err, MFB_ERR_USAGE, "give only one of --json and --csv");
        return MFB_ERR_USAGE;
    }
    mfb_status st = cli_duration_ms(args, "period", &period, err);
    if (st != MFB_OK)
        return st;
    struct job_log_filter f = {
        .instance = cli_string(args, "instance"),
        .since_ms = clock_wall_ms() - (int64_t)period,
    };
    st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = job_log_list(db, &f, &jobs, &job_count, err);
    if (st == MFB_OK) {
        in = calloc(job_count + 1, sizeof(*in));
        steps = calloc(job_count + 1, sizeof(*steps));
        if (in == NULL || steps == NULL)
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; st == MFB_OK && i < job_count; i++) {
        if (!report_counts_kind(jobs[i].kind))
            continue;
        if (jobs[i].error_step[0])
            snprintf(steps[n], sizeof(steps[n]), "%s", jobs[i].error_step);
        else if (jobs[i].status != JOB_STATUS_OK && jobs[i].status != JOB_STATUS_RUNNING)
            st = job_log_error_step(db, jobs[i].id, steps[n], sizeof(steps[n]), err);
        in[n].job = &jobs[i];
        in[n].failed_step = steps[n];
        n++;
    }
    if (st == MFB_OK)
        st = report_build(in, n, &out, &out_count, err);
    if (st == MFB_OK && cli_flag(args, "json")) {
        json_t *array = json_array();
        for (size_t i = 0; i < out_count; i++)
            json_array_append_new(array, report_json(&out[i]));
        st = config_cli_print_json(array, err);
    } else if (st == MFB_OK && cli_flag(args, "csv")) {
        print_csv(out, out_count);
    } else if (st == MFB_OK) {
        print_text(out, out_count, cli_string(args, "period"));
    }
    report_free(out, out_count);
    free(in);
    free(steps);
    job_log_list_free(jobs, job_count);
    config_db_close(db);
    return st;
}

const struct cli_command cmd_report = {.name = "report",
                                       .summary = "per instance: job count, success rate, "
                                                  "durations, downtime, sizes, growth, failures",
                                       .options = report_options,
                                       .max_args = 0,
                                       .run = run_report};
