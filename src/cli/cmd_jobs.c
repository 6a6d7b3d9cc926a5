/*
 * cmd_jobs.c - the commands that talk to a running daemon through its
 * control API (docs/daemon.md): `mfb run INSTANCE [--target T] [--wait]`,
 * `mfb jobs [--json]` and `mfb cancel JOB`. JOB is the queue id that
 * `mfb run` prints and `mfb jobs` lists.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/daemon_client.h"
#include "common/clock.h"
#include "common/parse.h"

#define RUN_POLL_MS 500

#define SOCKET_OPTION                                                                              \
    {                                                                                              \
        .name = "socket", .type = CLI_PATH, .metavar = "PATH", .help = "the daemon's UNIX socket", \
        .def_doc = "mfb.sock beside the database"                                                  \
    }

static const char *const run_kinds[] = {"backup", "drill", NULL};

static const struct cli_option run_options[] = {
    {.name = "target",
     .type = CLI_STRING,
     .metavar = "NAME",
     .help = "the receiver to send it to",
     .def_doc = "the only one"},
    {.name = "wait", .type = CLI_FLAG, .help = "wait for the job to end; exit 0 only when ok"},
    {.name = "kind",
     .type = CLI_ENUM,
     .metavar = "KIND",
     .help = "what to run: a backup, or a drill of the latest backup",
     .def = "backup",
     .values = run_kinds},
    SOCKET_OPTION,
    CLI_OPTIONS_END,
};

static const struct cli_option jobs_options[] = {
    {.name = "json", .type = CLI_FLAG, .help = "print the daemon's answer as JSON"},
    SOCKET_OPTION,
    CLI_OPTIONS_END,
};

static const struct cli_option cancel_options[] = {
    SOCKET_OPTION,
    CLI_OPTIONS_END,
};

/* One request; an error answer becomes err. *reply is the caller's. */
static mfb_status call(const struct cli_args *args, const char *method, const char *path,
                       const char *body, json_t **reply, struct mfb_error *err)
{
    char sock[4096];
    long status = 0;
    *reply = NULL;
    mfb_status st = daemon_client_socket(args, sock, sizeof(sock), err);
    if (st == MFB_OK)
        st = daemon_client_call(sock, method, path, body, &status, reply, err);
    if (st == MFB_OK && status >= 400)
        st = daemon_client_error(status, *reply, err);
    return st;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static mfb_status wait_for(const struct cli_args *args, int64_t id, struct mfb_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/jobs/%" PRId64, id);
    for (;;) {
        json_t *e = NULL;
        mfb_status st = call(args, "GET", path, NULL, &e, err);
        if (st != MFB_OK) {
            json_decref(e);
            return st;
        }
        if (strcmp(str(e, "state"), "done") == 0) {
            const char *status = str(e, "status");
            json_int_t job = json_integer_value(json_object_get(e, "job_id"));
            printf("queue %" PRId64 ": job %" JSON_INTEGER_FORMAT " %s", id, job, status);
            if (json_is_string(json_object_get(e, "backup_name")))
                printf(", backup %s", str(e, "backup_name"));
            printf("\n");
            if (strcmp(status, "ok") != 0) {
                mfb_error_set(err, MFB_ERR_INVALID, "job %" JSON_INTEGER_FORMAT " ended %s: %s",
                              job, status, str(e, "error"));
                mfb_error_hint(err, "'mfb logs show %" JSON_INTEGER_FORMAT "' tells more", job);
                st = MFB_ERR_INVALID;
            }
            json_decref(e);
            return st;
        }
        json_decref(e);
        clock_sleep_ms(RUN_POLL_MS, NULL);
    }
}

static mfb_status run_run(struct cli_args *args, struct mfb_error *err)
{
    const char *kind = cli_string(args, "kind");
    json_t *req =
        json_pack("{s:s, s:s?, s:s, s:s}", "instance", args->positional[0], "target",
                  cli_string(args, "target"), "trigger", "cli", "kind", kind ? kind : "backup");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    json_t *reply = NULL;
    mfb_status st = call(args, "POST", "/v1/jobs", body, &reply, err);
    free(body);
    int64_t id = (int64_t)json_integer_value(json_object_get(reply, "id"));
    if (st == MFB_OK) {
        bool again = json_is_true(json_object_get(reply, "already_queued"));
        printf("queue %" PRId64 ": %s%s%s %s\n", id, args->positional[0],
               kind && strcmp(kind, "drill") == 0 ? " " : "",
               kind && strcmp(kind, "drill") == 0 ? "drill" : "",
               again ? "was already queued" : "queued");
        fflush(stdout);
    }
    json_decref(reply);
    if (st == MFB_OK && cli_flag(args, "wait"))
        st = wait_for(args, id, err);
    return st;
}

static mfb_status run_jobs(struct cli_args *args, struct mfb_error *err)
{
    json_t *reply = NULL;
    mfb_status st = call(args, "GET", "/v1/jobs", NULL, &reply, err);
    if (st != MFB_OK) {
        json_decref(reply);
        return st;
    }
    if (cli_flag(args, "json"))
        return config_cli_print_json(reply, err);
    json_t *jobs = json_object_get(reply, "jobs");
    size_t n = json_array_size(jobs);
    const char *header[] = {"QUEUE", "INSTANCE", "STATUS", "JOB", "STEP", "PROGRESS", "TRIGGER"};
    enum { COLS = 7 };
    char(*text)[COLS][80] = calloc(n ? n : 1, sizeof(*text));
    const char **cells = calloc(n ? n * COLS : 1, sizeof(*cells));
    if (text == NULL || cells == NULL) {
        free(text);
        free(cells);
        json_decref(reply);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(jobs, i);
        json_t *p = json_object_get(e, "progress");
        snprintf(text[i][0], 80, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(e, "id")));
        snprintf(text[i][1], 80, "%s", str(e, "instance"));
        snprintf(text[i][2], 80, "%s", str(e, "status"));
        json_t *job = json_object_get(e, "job_id");
        if (json_is_integer(job))
            snprintf(text[i][3], 80, "%" JSON_INTEGER_FORMAT, json_integer_value(job));
        else
            snprintf(text[i][3], 80, "-");
        snprintf(text[i][4], 80, "%s", p ? str(p, "step") : "-");
        if (p) {
            char a[32], b[32];
            format_size((uint64_t)json_integer_value(json_object_get(p, "bytes_done")), a,
                        sizeof(a));
            format_size((uint64_t)json_integer_value(json_object_get(p, "bytes_total")), b,
                        sizeof(b));
            snprintf(text[i][5], 80, "%s/%s", a, b);
        } else {
            snprintf(text[i][5], 80, "-");
        }
        snprintf(text[i][6], 80, "%s", str(e, "trigger"));
        for (int c = 0; c < COLS; c++)
            cells[i * COLS + (size_t)c] = text[i][c];
    }
    config_cli_table(header, COLS, cells, n);
    free(text);
    free(cells);
    json_decref(reply);
    return MFB_OK;
}

static mfb_status run_cancel(struct cli_args *args, struct mfb_error *err)
{
    uint64_t id = 0;
    const char *arg = args->positional[0];
    char *end = NULL;
    id = strtoull(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || id == 0) {
        mfb_error_set(err, MFB_ERR_USAGE, "'%s' is not a queue id", arg);
        mfb_error_hint(err, "'mfb jobs' lists them");
        return MFB_ERR_USAGE;
    }
    char path[64];
    snprintf(path, sizeof(path), "/v1/jobs/%" PRIu64 "/cancel", id);
    json_t *reply = NULL;
    mfb_status st = call(args, "POST", path, NULL, &reply, err);
    if (st == MFB_OK)
        printf("queue %" PRIu64 ": %s\n", id,
               strcmp(str(reply, "was"), "running") == 0
                   ? "cancelling (the job restarts the database if it was stopped)"
                   : "cancelled");
    json_decref(reply);
    return st;
}

const struct cli_command cmd_run = {
    .name = "run",
    .usage = "INSTANCE [--target NAME] [--kind backup|drill] [--wait]",
    .summary = "queue a backup (or a restore drill) on the running daemon",
    .options = run_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_run,
};

const struct cli_command cmd_jobs = {
    .name = "jobs",
    .summary = "the daemon's queued, running and last ended jobs",
    .options = jobs_options,
    .run = run_jobs,
};

const struct cli_command cmd_cancel = {
    .name = "cancel",
    .usage = "JOB",
    .summary = "cancel a queued or running job of the daemon (its queue id)",
    .options = cancel_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_cancel,
};
