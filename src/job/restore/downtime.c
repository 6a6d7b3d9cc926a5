/*
 * downtime.c - the part of a restore with the server down (restore.h,
 * steps 5 and 6): the stop (the configured method, then the wait until the
 * server is really gone), the start and the check that it answers, and the
 * one way back every failure and cancellation after the stop takes
 * (roll_back): stop whatever server the restore started, move what was
 * restored aside, put the old directories back, start the server. When
 * the way back itself fails, the restore is critical and its hint says
 * what is where and the commands that finish it by hand.
 */
#include "job/restore/downtime.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/restore/report.h"
#include "job/restore/swap.h"
#include "mysql/connection.h"
#include "mysql/control.h"
#include "mysql/stopped.h"

static mfb_status watch_init(struct run *r, struct mysql_stop_watch *w, struct mfb_error *err)
{
    const char *pid_file = r->info ? r->info->pid_file : NULL;
    const char *socket = r->info && r->info->socket ? r->info->socket : r->inst->socket;
    unsigned port = r->info ? r->info->port : r->inst->port;
    return mysql_stop_watch_init(w, pid_file, socket, r->inst->host, r->inst->host ? port : 0, err);
}

/* The configured stop, then the wait until the server is really gone. */
static mfb_status stop_now(struct run *r, const atomic_bool *cancel, uint64_t *waited_ms,
                           struct mfb_error *err)
{
    struct mysql_stop_watch watch;
    mfb_status st = watch_init(r, &watch, err);
    struct mysql_conn *c = NULL;
    uint64_t deadline = clock_now_ms() + run_timeout(r, CONFIG_TIMEOUT_STOP);
    if (st == MFB_OK && r->method->kind == MYSQL_METHOD_SHUTDOWN_SQL)
        st = mysql_conn_connect(r->ep, CONNECT_MS, &c, err);
    if (st == MFB_OK)
        st = mysql_control_stop(r->method, c, clock_left_ms(deadline), cancel, NULL, err);
    mysql_conn_close(c);
    if (st == MFB_OK)
        st = mysql_wait_stopped(&watch, clock_left_ms(deadline), cancel, waited_ms, err);
    return st;
}

static bool server_gone(struct run *r)
{
    struct mysql_stop_watch watch;
    if (watch_init(r, &watch, NULL) != MFB_OK)
        return false;
    struct mysql_server_presence p;
    mysql_server_presence(&watch, &p);
    return mysql_server_gone(&p);
}

static mfb_status stop_server(struct run *r, struct mfb_error *err)
{
    r->stop_begin_ms = clock_now_ms();
    if (!r->was_running)
        return MFB_OK;
    char method[300];
    mysql_method_str(r->method, method, sizeof(method));
    uint64_t begin = clock_now_ms();
    journal_step_begin(&r->jr, JOB_STEP_STOP, 0);
    /* Not cancelled: a stop once asked for goes on without mfb (a SHUTDOWN
     * sent, a systemd job queued), so giving up the wait would leave the
     * server going down while mfb reports it running. A cancel is seen
     * after it, and the way back starts the server again. */
    mfb_status st = stop_now(r, NULL, NULL, err);
    journal_step_end(&r->jr, JOB_STEP_STOP);
    r->res->stopped = true;
    if (st == MFB_OK) {
        char took[32];
        report_say(r, "stop", "stopped the server (%s) in %s", method,
                   format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));
    }
    return st;
}

/* Start, then SELECT 1 until it answers. Never cancelled. */
static mfb_status start_server(struct run *r, const char *step, struct mfb_error *err)
{
    uint64_t begin = clock_now_ms();
    r->started = true;
    journal_step_begin(&r->jr, JOB_STEP_START, 0);
    mfb_status st = mysql_control_start(r->method, run_timeout(r, CONFIG_TIMEOUT_START), NULL, err);
    journal_step_end(&r->jr, JOB_STEP_START);
    struct mysql_ping_result ping = {0};
    if (st == MFB_OK) {
        journal_step_begin(&r->jr, JOB_STEP_VERIFY, 0);
        st = mysql_conn_ping_until(r->ep, run_timeout(r, CONFIG_TIMEOUT_VERIFY), 0, NULL, &ping,
                                   err);
        journal_step_end(&r->jr, JOB_STEP_VERIFY);
    }
    if (st == MFB_OK) {
        char took[32];
        report_say(r, step, "started the server; it answers (after %s)",
                   format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));
        r->res->server_answers = true;
    }
    return st;
}

/* The server's error log as a path ("" when it logs elsewhere). */
static void error_log_path(const struct run *r, char *out, size_t len)
{
    const char *log = r->info ? mysql_rows_lookup(r->info->variables, "log_error") : NULL;
    out[0] = '\0';
    if (log == NULL || log[0] == '\0' || strcmp(log, "stderr") == 0)
        return;
    if (log[0] == '/')
        snprintf(out, len, "%s", log);
    else /* relative to the datadir, as the server resolves it */
        snprintf(out, len, "%s/%s", r->info->datadir,
                 log[0] == '.' && log[1] == '/' ? log + 2 : log);
}

/* The way back failed: what is where, and the commands that finish it. */
static void critical(struct run *r, struct mfb_error *err, const char *what)
{
    char text[8 * PATH_MAX + 1600];
    size_t len =
        (size_t)snprintf(text, sizeof(text), "CRITICAL: %.*s. Recover by hand:", 1000, what);
    bool moves = false;
    for (size_t i = 0; i < r->plan.count && len < sizeof(text); i++) {
        const struct root_state *rs = &r->roots[i];
        if (!rs->moved)
            continue;
        struct stat sb;
        char failed[PATH_MAX];
        if (!moves)
            len += (size_t)snprintf(text + len, sizeof(text) - len, " stop the server");
        moves = true;
        if (len < sizeof(text) && lstat(rs->place, &sb) == 0 &&
            swap_sibling(rs->place, SWAP_FAILED_SUFFIX, r->stamp, failed, sizeof(failed), NULL) ==
                MFB_OK)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "; mv '%.*s' '%.*s'",
                                    PATH_MAX / 2, rs->place, PATH_MAX / 2, failed);
        if (len < sizeof(text))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "; mv '%.*s' '%.*s'",
                                    PATH_MAX / 2, rs->aside, PATH_MAX / 2, rs->place);
    }
    char log[PATH_MAX];
    error_log_path(r, log, sizeof(log));
    if (len < sizeof(text))
        snprintf(text + len, sizeof(text) - len, "%sstart the server and read its error log%s%s",
                 moves ? "; " : " ", log[0] ? " " : "", log);
    report_set_hint(err, text);
    r->critical = true;
    log_error("restore", "critical=\"%s\"", text);
    report_event(r, JOB_LEVEL_ERROR, NULL, text);
}

static void roll_back(struct run *r, struct mfb_error *err)
{
    struct mfb_error e = {0};
    bool tried_restored = r->started; /* a server was started on the restored files */
    r->res->rolled_back = true;
    bool changed = false;
    for (size_t i = 0; i < r->plan.count; i++)
        changed |= r->roots[i].moved || r->roots[i].touched;
    report_say(r, NULL, "restore failed (%s); %s", err->message,
               changed          ? "putting the old directories back"
               : r->was_running ? "starting the server again"
                                : "the server was not running and stays stopped");
    if (tried_restored) {
        /* a server on the restored files may run, or half run: it must go first */
        if (!server_gone(r) && stop_now(r, NULL, NULL, &e) != MFB_OK && !server_gone(r)) {
            critical(r, err,
                     "a server started on the restored files would not stop, so the old "
                     "directories were not put back");
            return;
        }
    }
    for (size_t i = r->plan.count; i-- > 0;) {
        struct root_state *rs = &r->roots[i];
        struct stat sb;
        if (rs->touched && lstat(rs->place, &sb) == 0) {
            if (swap_sibling(rs->place, SWAP_FAILED_SUFFIX, r->stamp, rs->failed_dir,
                             sizeof(rs->failed_dir), &e) != MFB_OK ||
                swap_move(rs->place, rs->failed_dir, &e) != MFB_OK) {
                critical(r, err, e.message);
                return;
            }
            rs->failed = true;
            report_say(r, NULL, "moved the partly restored %s to %s", rs->place, rs->failed_dir);
        }
        if (rs->moved) {
            if (swap_move(rs->aside, rs->place, &e) != MFB_OK) {
                critical(r, err, e.message);
                return;
            }
            rs->moved = false;
            report_say(r, NULL, "put %s back", rs->place);
        }
    }
    /* the server as it was: one that was down before the restore stays
     * down (its old files may be why it is restored) */
    if (r->was_running && start_server(r, "restore", &e) != MFB_OK) {
        char why[1200];
        snprintf(why, sizeof(why),
                 "the old directories are back in place, but the server did not start: %s",
                 e.message);
        critical(r, err, why);
        return;
    }
    char hint[sizeof(err->hint) + 2 * PATH_MAX];
    const char *what = changed ? "the old directories were put back" : "nothing was changed";
    const char *server = r->was_running ? " and the server answers"
                                        : "; the server was not running before the restore, so "
                                          "it was left stopped";
    size_t len = (size_t)snprintf(hint, sizeof(hint), "%s%s", what, server);
    for (size_t i = 0; i < r->plan.count && len < sizeof(hint); i++)
        if (r->roots[i].failed)
            len +=
                (size_t)snprintf(hint + len, sizeof(hint) - len, "; the restored files are in %.*s",
                                 PATH_MAX / 2, r->roots[i].failed_dir);
    char log[PATH_MAX];
    error_log_path(r, log, sizeof(log));
    if (len < sizeof(hint) && tried_restored && log[0] != '\0')
        len += (size_t)snprintf(hint + len, sizeof(hint) - len,
                                "; the server's error log %.*s says why they would not start",
                                PATH_MAX / 2, log);
    else if (len < sizeof(hint) && err->hint[0])
        snprintf(hint + len, sizeof(hint) - len, "; %s", err->hint);
    report_set_hint(err, hint);
}

/* Stops the server (the same way in both methods); MFB_OK to go on. */
mfb_status downtime_stop(struct run *r, struct mfb_error *err)
{
    journal_step_end(&r->jr, JOB_STEP_PREFLIGHT);
    r->step = "stop";
    mfb_status st = stop_server(r, err);
    if (st != MFB_OK) {
        if (!server_gone(r)) {
            mfb_error_hint(err, "nothing was changed; the server still ran when mfb gave up "
                                "the stop (if it goes down after all, start it again)");
            return st;
        }
        roll_back(r, err); /* nothing moved yet: this starts the server again */
    }
    return st;
}

/* From the files in place to a server that answers; the way back on failure. */
mfb_status downtime_start_or_roll_back(struct run *r, mfb_status st, struct mfb_error *err)
{
    if (st == MFB_OK && run_cancelled(r)) /* the last chance: from here on it is done */
        st = run_cancel_error(err);
    if (st == MFB_OK) {
        r->step = "start";
        st = start_server(r, "start", err);
        if (st == MFB_OK && run_cancelled(r))
            report_say(r, NULL,
                       "the cancel came once the files were in place and the server was "
                       "starting: the restore was finished instead");
    }
    if (st != MFB_OK) {
        roll_back(r, err);
        return st;
    }
    r->res->downtime_ms = (int64_t)(clock_now_ms() - r->stop_begin_ms);
    r->jr.job.downtime_ms = r->res->stopped ? r->res->downtime_ms : -1;
    report_moved(r);
    return MFB_OK;
}
