/*
 * cmd_jobs.c - the commands that talk to a running daemon through its
 * control API (docs/daemon.md): `mfb run INSTANCE [--target T] [--wait]`,
 * `mfb jobs [--json] [--follow]` and `mfb cancel JOB`. JOB is the queue id
 * that `mfb run` prints and `mfb jobs` lists.
 *
 * `mfb jobs --follow` and `mfb run --wait` read the daemon's event stream
 * (GET /v1/events) rather than polling: the view below keeps the entries
 * that wait or run, from the snapshot and the state and progress events,
 * and shows them. On a terminal the running jobs are a block redrawn in
 * place, with a bar and the figures of `mfb backup`'s own display
 * (cli/job_progress.h); an entry that ends leaves one line above it.
 * Elsewhere (a pipe, a log) each change is one plain line: an entry
 * queued, started, a new step, ended.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/daemon_client.h"
#include "cli/job_progress.h"
#include "common/clock.h"
#include "common/parse.h"
#include "job/progress.h"

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
    {.name = "follow",
     .type = CLI_FLAG,
     .help = "show the jobs as they run, until Ctrl-C (the daemon's event stream)"},
    SOCKET_OPTION,
    CLI_OPTIONS_END,
};

static const struct cli_option cancel_options[] = {
    {.name = "discard",
     .type = CLI_FLAG,
     .help = "also remove a Data.zip the job keeps for a later upload"},
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

/* ---- the live view of the event stream ---- */

#define BAR_WIDTH 20

struct follow_view {
    FILE *out;
    bool tty;        /* redraw a block in place */
    json_t *entries; /* queue id (text) -> entry, the ones waiting or running */
    json_t *steps;   /* queue id (text) -> the step last printed (plain lines) */
    int drawn;       /* lines of the block on the screen */
    int64_t wait_id; /* run --wait: the entry waited for, else 0 */
    bool wait_over;  /* it ended, or the stream cannot tell */
    bool quiet;      /* run --wait off a terminal: only the final line */
};

/* An entry's progress object as the job's own report, for
 * job_display_format. */
static void entry_progress(const json_t *e, struct job_progress *p)
{
    const json_t *g = json_object_get(e, "progress");
    memset(p, 0, sizeof(*p));
    p->eta_ms = -1;
    if (!job_step_parse(str(g, "step"), &p->step))
        p->step = JOB_STEP_PREFLIGHT;
    p->bytes_done = (uint64_t)json_integer_value(json_object_get(g, "bytes_done"));
    p->bytes_total = (uint64_t)json_integer_value(json_object_get(g, "bytes_total"));
    p->rate = json_number_value(json_object_get(g, "rate"));
    if (json_is_integer(json_object_get(g, "eta_ms")))
        p->eta_ms = json_integer_value(json_object_get(g, "eta_ms"));
    p->server_down = json_is_true(json_object_get(g, "server_down"));
    p->downtime_ms = (uint64_t)json_integer_value(json_object_get(g, "downtime_ms"));
}

/* "queue 12 prod    archive [#######.............] 1.2 GB / 3 GB 40% ..." */
static void entry_line(const json_t *e, char *buf, size_t len)
{
    int n = snprintf(buf, len, "queue %-4" JSON_INTEGER_FORMAT " %-12s ",
                     json_integer_value(json_object_get(e, "id")), str(e, "instance"));
    if (n < 0 || (size_t)n >= len)
        return;
    if (json_object_get(e, "progress") == NULL) {
        snprintf(buf + n, len - (size_t)n, "%s", str(e, "status"));
        return;
    }
    struct job_progress p;
    entry_progress(e, &p);
    char bar[BAR_WIDTH + 4] = "";
    if (p.bytes_total > 0) {
        uint64_t done = p.bytes_done > p.bytes_total ? p.bytes_total : p.bytes_done;
        size_t fill = (size_t)(done * BAR_WIDTH / p.bytes_total);
        bar[0] = '[';
        for (size_t i = 0; i < BAR_WIDTH; i++)
            bar[1 + i] = i < fill ? '#' : '.';
        memcpy(bar + 1 + BAR_WIDTH, "] ", 3);
    }
    char figures[256];
    job_display_format(&p, figures, sizeof(figures));
    /* the step first, then the bar, then the figures after the step */
    const char *rest = figures + strcspn(figures, " ");
    rest += strspn(rest, " ");
    snprintf(buf + n, len - (size_t)n, "%-9s %s%s", job_step_name(p.step), bar, rest);
}

/* "queue 12: prod ok, job 34, backup NAME" */
static void ended_line(const json_t *e, char *buf, size_t len)
{
    int n = snprintf(buf, len, "queue %" JSON_INTEGER_FORMAT ": %s %s",
                     json_integer_value(json_object_get(e, "id")), str(e, "instance"),
                     str(e, "status"));
    if (n > 0 && (size_t)n < len && json_is_integer(json_object_get(e, "job_id")))
        n += snprintf(buf + n, len - (size_t)n, ", job %" JSON_INTEGER_FORMAT,
                      json_integer_value(json_object_get(e, "job_id")));
    if (n > 0 && (size_t)n < len && json_is_string(json_object_get(e, "backup_name")))
        snprintf(buf + n, len - (size_t)n, ", backup %s", str(e, "backup_name"));
}

static void clear_block(struct follow_view *v)
{
    if (v->tty && v->drawn > 0)
        fprintf(v->out, "\033[%dF\033[J", v->drawn);
    v->drawn = 0;
}

/* A line that stays (above the block on a terminal). */
static void emit(struct follow_view *v, const char *line)
{
    if (v->quiet)
        return;
    clear_block(v);
    fprintf(v->out, "%s\n", line);
}

static bool shown(const struct follow_view *v, const json_t *e)
{
    return v->wait_id == 0 || json_integer_value(json_object_get(e, "id")) == v->wait_id;
}

static void redraw(struct follow_view *v)
{
    if (!v->tty) {
        fflush(v->out);
        return;
    }
    clear_block(v);
    const char *key;
    json_t *e;
    char line[512];
    json_object_foreach(v->entries, key, e)
    {
        if (!shown(v, e))
            continue;
        entry_line(e, line, sizeof(line));
        fprintf(v->out, "%s\033[K\n", line);
        v->drawn++;
    }
    if (v->drawn == 0 && v->wait_id == 0) {
        fprintf(v->out, "no job waits or runs\033[K\n");
        v->drawn++;
    }
    fflush(v->out);
}

/* A plain line when an entry's step changed (not on a terminal). */
static void plain_progress(struct follow_view *v, const char *key, const json_t *e)
{
    const char *step = str(json_object_get(e, "progress"), "step");
    const char *last = json_string_value(json_object_get(v->steps, key));
    if (v->tty || !shown(v, e) || (last && strcmp(last, step) == 0))
        return;
    json_object_set_new(v->steps, key, json_string(step));
    char line[512];
    entry_line(e, line, sizeof(line));
    emit(v, line);
}

static bool on_event(void *ctx, const char *event, json_t *data)
{
    struct follow_view *v = ctx;
    char key[32], line[512];
    if (strcmp(event, "snapshot") == 0) {
        json_object_clear(v->entries);
        bool seen = false;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(data, "jobs"), i, e)
        {
            int64_t id = (int64_t)json_integer_value(json_object_get(e, "id"));
            snprintf(key, sizeof(key), "%" PRId64, id);
            bool done = strcmp(str(e, "state"), "done") == 0;
            if (id == v->wait_id) {
                seen = true;
                v->wait_over = done;
            }
            if (done)
                continue;
            json_object_set(v->entries, key, e);
            if (!v->tty && shown(v, e)) {
                entry_line(e, line, sizeof(line));
                emit(v, line);
                json_t *g = json_object_get(e, "progress");
                if (g != NULL) /* its step is told: a progress event in it is not news */
                    json_object_set_new(v->steps, key, json_string(str(g, "step")));
            }
        }
        if (v->wait_id != 0 && !seen)
            v->wait_over = true; /* not in the list: ask for the entry itself */
        redraw(v);
        return !v->wait_over;
    }
    int64_t id = (int64_t)json_integer_value(json_object_get(data, "id"));
    snprintf(key, sizeof(key), "%" PRId64, id);
    if (strcmp(event, "state") == 0) {
        if (strcmp(str(data, "state"), "done") == 0) {
            json_object_del(v->entries, key);
            json_object_del(v->steps, key);
            if (shown(v, data) && v->wait_id == 0) {
                ended_line(data, line, sizeof(line));
                emit(v, line);
            }
            if (id == v->wait_id)
                v->wait_over = true;
        } else {
            json_object_set(v->entries, key, data);
            if (!v->tty && shown(v, data)) {
                snprintf(line, sizeof(line), "queue %" PRId64 ": %s %s", id, str(data, "instance"),
                         str(data, "status"));
                emit(v, line);
            }
        }
    } else if (strcmp(event, "progress") == 0) {
        json_object_set(v->entries, key, data);
        plain_progress(v, key, data);
    }
    redraw(v);
    return !v->wait_over;
}

static mfb_status follow_stream(const struct cli_args *args, struct follow_view *v,
                                const atomic_bool *stop, struct mfb_error *err)
{
    char sock[4096];
    mfb_status st = daemon_client_socket(args, sock, sizeof(sock), err);
    v->entries = json_object();
    v->steps = json_object();
    if (st == MFB_OK && (v->entries == NULL || v->steps == NULL))
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (st == MFB_OK)
        st = daemon_client_follow(sock, on_event, v, stop, err);
    clear_block(v);
    fflush(v->out);
    json_decref(v->entries);
    json_decref(v->steps);
    return st;
}

/* Ctrl-C ends `mfb jobs --follow` (exit 0). A handler can only reach a
 * global. */
static atomic_bool follow_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    atomic_store(&follow_interrupted, true);
}

static mfb_status run_follow(const struct cli_args *args, struct mfb_error *err)
{
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct follow_view v = {.out = stdout, .tty = isatty(STDOUT_FILENO) == 1};
    return follow_stream(args, &v, &follow_interrupted, err);
}

static mfb_status wait_for(const struct cli_args *args, int64_t id, struct mfb_error *err)
{
    /* The stream says when it ends (and shows its progress on a
     * terminal); then, or when the stream cannot be had (an older daemon,
     * too many clients), the entry is asked for until it has ended. */
    struct follow_view v = {.out = stderr, .tty = isatty(STDERR_FILENO) == 1, .wait_id = id};
    v.quiet = !v.tty;
    struct mfb_error ignored = {0};
    (void)follow_stream(args, &v, NULL, &ignored);
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
    if (cli_flag(args, "follow")) {
        if (cli_flag(args, "json")) {
            mfb_error_set(err, MFB_ERR_USAGE, "--follow and --json do not go together");
            mfb_error_hint(err, "for the stream as JSON: curl -N --unix-socket SOCKET "
                                "http://localhost/v1/events");
            return MFB_ERR_USAGE;
        }
        return run_follow(args, err);
    }
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
    const char *header[] = {"QUEUE",    "INSTANCE", "STATUS",   "JOB", "STEP",
                            "PROGRESS", "TRIGGER",  "ATTEMPTS", "NEXT"};
    enum { COLS = 9 };
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
        /* A cancelled entry shows the step it was cancelled in. */
        const char *cstep = str(e, "cancelled_step");
        snprintf(text[i][4], 80, "%s", p ? str(p, "step") : cstep[0] ? cstep : "-");
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
        snprintf(text[i][7], 80, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(e, "attempts")));
        /* A retry waits for its next attempt: how long from now. */
        json_t *next = json_object_get(e, "next_attempt_ms");
        int64_t wait = json_is_integer(next) ? json_integer_value(next) - clock_wall_ms() : -1;
        if (wait > 0)
            snprintf(text[i][8], 80, "in %" PRId64 "s", (wait + 999) / 1000);
        else
            snprintf(text[i][8], 80, "%s", json_is_integer(next) ? "now" : "-");
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
    bool discard = cli_flag(args, "discard");
    mfb_status st = call(args, "POST", path, discard ? "{\"discard\":true}" : NULL, &reply, err);
    if (st == MFB_OK)
        printf("queue %" PRIu64 ": %s%s\n", id,
               strcmp(str(reply, "was"), "running") == 0
                   ? "cancelling (the job restarts the database if it was stopped)"
                   : "cancelled",
               discard ? "; a kept Data.zip is removed" : "");
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
    .usage = "JOB [--discard]",
    .summary = "cancel a queued or running job of the daemon (its queue id)",
    .options = cancel_options,
    .min_args = 1,
    .max_args = 1,
    .run = run_cancel,
};
