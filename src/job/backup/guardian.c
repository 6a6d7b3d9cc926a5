/*
 * guardian.c - the backup's guardian (see guardian.h): the job's side
 * (start it, tell it, stand it down) and the guardian's own main.
 */
#include "job/backup/guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/backup/alerts.h"
#include "job/backup/recovery.h"
#include "job/endpoints.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/orphans.h"
#include "job/server_start.h"
#include "transfer/backoff.h"

#define READY_TIMEOUT_MS 15000 /* the guardian opens the database and loads the instance */
#define REAP_TIMEOUT_MS 5000   /* a guardian told to exit does so at once */
#define LOCK_WAIT_MS 10000     /* another command may hold the lock a moment */
#define LOCK_RETRY_MS 100
#define LINE_MAX_LEN 8192

/* ---- the job's side ---- */

/* One line to the guardian; a guardian that is gone is not an error here
 * (MSG_NOSIGNAL: no SIGPIPE for the job). */
static void tell(struct guardian *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tell(struct guardian *g, const char *fmt, ...)
{
    if (g == NULL || g->fd < 0)
        return;
    char line[LINE_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = send(g->fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

/* Reads one line from fd (poll with timeout_ms; -1: no limit) into buf,
 * without the newline. Returns 1 for a line, 0 for end of file, -1 for an
 * error or the timeout. Bytes after the line stay in *pending. */
struct line_reader {
    char buf[LINE_MAX_LEN];
    size_t len;
};

static int read_line(int fd, struct line_reader *r, int timeout_ms, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - r->buf);
            snprintf(out, cap, "%.*s", (int)n, r->buf);
            memmove(r->buf, nl + 1, r->len - n - 1);
            r->len -= n + 1;
            return 1;
        }
        if (r->len == sizeof(r->buf))
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        r->len += (size_t)n;
    }
}

static void reap(struct guardian *g)
{
    uint64_t until = clock_now_ms() + REAP_TIMEOUT_MS;
    while (g->pid > 0) {
        pid_t w = waitpid(g->pid, NULL, WNOHANG);
        if (w == g->pid || (w < 0 && errno != EINTR))
            break;
        if (clock_now_ms() >= until) {
            log_warn("guardian", "pid=%ld note=did_not_exit_when_told", (long)g->pid);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    g->pid = 0;
}

static void finish(struct guardian *g, const char *word)
{
    if (g == NULL || g->fd < 0)
        return;
    tell(g, "%s\n", word);
    close(g->fd);
    g->fd = -1;
    reap(g);
}

static int log_level_now(void)
{
    return mfb_log_enabled(MFB_LOG_DEBUG)  ? MFB_LOG_DEBUG
           : mfb_log_enabled(MFB_LOG_INFO) ? MFB_LOG_INFO
           : mfb_log_enabled(MFB_LOG_WARN) ? MFB_LOG_WARN
                                           : MFB_LOG_ERROR;
}

mfb_status guardian_start(struct guardian *g, struct config_db *db, int64_t job_id,
                          const char *instance, bool no_alerts, struct mfb_error *err)
{
    g->pid = 0;
    g->fd = -1;
    const char *db_path = config_db_path(db);
    if (strchr(db_path, '\n') || strchr(instance, '\n'))
        return mfb_error_set(err, MFB_ERR_INVALID, "cannot start the guardian: a newline in '%s'",
                             strchr(db_path, '\n') ? db_path : instance);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot start the guardian: socketpair");
    /* Everything the child needs is ready before the fork: between fork and
     * exec only async-signal-safe calls (the job has threads). */
    char *const argv[] = {(char *)"mfb", (char *)GUARDIAN_COMMAND, NULL};
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536)
        max_fd = 65536;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return mfb_error_errno(err, e, MFB_ERR_IO, "cannot start the guardian: fork");
    }
    if (pid == 0) {
        setsid();
        if (dup2(sv[1], 0) != 0)
            _exit(126);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0 && nul != 1) {
            dup2(nul, 1);
            close(nul);
        }
        for (int fd = 3; fd < (int)max_fd; fd++) /* the job's connections, lock, SQLite */
            close(fd);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(sv[1]);
    g->pid = pid;
    g->fd = sv[0];
    tell(g, "job %" PRId64 "\nalerts %d\nlog %d\ninstance %s\ndb %s\n", job_id, no_alerts ? 0 : 1,
         log_level_now(), instance, db_path);
    struct line_reader r = {.len = 0};
    char line[LINE_MAX_LEN];
    int rc = read_line(g->fd, &r, READY_TIMEOUT_MS, line, sizeof(line));
    if (rc == 1 && strcmp(line, "ready") == 0) {
        log_debug("guardian", "job=%" PRId64 " pid=%ld note=ready", job_id, (long)pid);
        return MFB_OK;
    }
    kill(pid, SIGKILL);
    close(g->fd);
    g->fd = -1;
    reap(g);
    mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the guardian: %s",
                  rc == 1 && strncmp(line, "error ", 6) == 0 ? line + 6
                  : rc == 0                                  ? "it exited at once"
                                                             : "it did not answer");
    mfb_error_hint(err, "the server was not stopped; the guardian restarts it should mfb die "
                        "while it is down (docs/backup.md), and a backup does not stop the "
                        "server without one");
    return MFB_ERR_INTERNAL;
}

void guardian_server_down(struct guardian *g, uint64_t stop_issued_ms)
{
    tell(g, "down %" PRIu64 "\n", stop_issued_ms);
}

void guardian_on_step(void *ctx, enum job_step step, bool begin)
{
    tell(ctx, "%s %s\n", begin ? "begin" : "end", job_step_name(step));
}

void guardian_stand_down(struct guardian *g)
{
    finish(g, "up");
}

void guardian_release(struct guardian *g)
{
    finish(g, "done");
}

/* ---- the guardian ---- */

struct watch {
    int64_t job_id;
    bool alerts;
    char instance[CONFIG_NAME_BUF];
    char db_path[PATH_MAX];
    struct config_db *db;
    struct job_instance inst;
    bool down;
    uint64_t stop_ms;
    /* The steps the job is in: the one begun last that has not ended is
     * the one it died in. */
    uint64_t begun[JOB_STEP_COUNT]; /* order of the begin; 0: not running */
    uint64_t order;
    char last_ended[32];
};

static const char *dying_step(const struct watch *w)
{
    int best = -1;
    for (int i = 0; i < JOB_STEP_COUNT; i++)
        if (w->begun[i] && (best < 0 || w->begun[i] > w->begun[best]))
            best = i;
    if (best >= 0)
        return job_step_name((enum job_step)best);
    return w->last_ended[0] ? w->last_ended : "stop";
}

static void on_line(struct watch *w, const char *line, bool *exit_now)
{
    if (strcmp(line, "up") == 0 || strcmp(line, "done") == 0) {
        *exit_now = true;
    } else if (strncmp(line, "down ", 5) == 0) {
        w->down = true;
        w->stop_ms = strtoull(line + 5, NULL, 10);
    } else if (strncmp(line, "begin ", 6) == 0 || strncmp(line, "end ", 4) == 0) {
        bool begin = line[0] == 'b';
        enum job_step s;
        if (!job_step_parse(line + (begin ? 6 : 4), &s))
            return;
        if (begin) {
            w->begun[s] = ++w->order;
        } else {
            w->begun[s] = 0;
            snprintf(w->last_ended, sizeof(w->last_ended), "%s", job_step_name(s));
        }
    }
}

/* Copies a header value; false when it does not fit. */
static bool copy_value(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* The header, the database and the instance; answers "ready" or "error". */
static mfb_status setup(struct watch *w, struct line_reader *r, struct mfb_error *err)
{
    char line[LINE_MAX_LEN];
    bool have_db = false, bad = false;
    while (!have_db) {
        if (read_line(0, r, READY_TIMEOUT_MS, line, sizeof(line)) != 1)
            return mfb_error_set(err, MFB_ERR_PROTOCOL, "the job sent no header");
        if (strncmp(line, "job ", 4) == 0)
            w->job_id = strtoll(line + 4, NULL, 10);
        else if (strncmp(line, "alerts ", 7) == 0)
            w->alerts = line[7] == '1';
        else if (strncmp(line, "log ", 4) == 0)
            mfb_log_init((enum mfb_log_level)atoi(line + 4), NULL);
        else if (strncmp(line, "instance ", 9) == 0)
            bad = !copy_value(w->instance, sizeof(w->instance), line + 9) || bad;
        else if (strncmp(line, "db ", 3) == 0) {
            bad = !copy_value(w->db_path, sizeof(w->db_path), line + 3) || bad;
            have_db = true;
        }
    }
    if (bad)
        return mfb_error_set(err, MFB_ERR_INVALID, "a name or path in the header is too long");
    mfb_status st = config_db_open(w->db_path, false, &w->db, NULL, err);
    if (st == MFB_OK)
        st = job_instance_load(w->db, w->instance, &w->inst, err);
    return st;
}

/* The job's alert (job/backup/alerts.h), for the outcome the guardian
 * recorded in the job's place. */
static void send_alert(const struct watch *w, const struct job_record *job, enum job_status status,
                       const char *recovery, const char *zip)
{
    if (!w->alerts)
        return;
    struct backup_alert f = {
        .instance = w->instance,
        .job_id = w->job_id,
        .status = status,
        .error = job->error,
        .hint = job->hint,
        .datadir = w->inst.record.datadir,
        .backup_name = job->backup_name[0] ? job->backup_name : NULL,
        .upload_id = job->upload_id[0] ? job->upload_id : NULL,
        .stopped = true,
        .downtime_ms = job->downtime_ms,
        .data_zip = zip,
        .recovery = recovery,
    };
    backup_alert_send(w->db, &f);
}

/* The job died with the server down: start it, and record what happened. */
static void take_over(struct watch *w)
{
    const char *step = dying_step(w);
    log_error("guardian", "job=%" PRId64 " instance=%s step=%s note=job_died_server_down",
              w->job_id, w->instance, step);
    struct job_lock lock = {.fd = -1};
    struct mfb_error e = {0};
    uint64_t until = clock_now_ms() + LOCK_WAIT_MS;
    for (;;) {
        mfb_error_clear(&e);
        if (job_lock_acquire(NULL, w->inst.record.spool, w->instance, "guardian", &lock, &e) ==
                MFB_OK ||
            e.status != MFB_ERR_BUSY || clock_now_ms() >= until)
            break;
        struct timespec ts = {0, LOCK_RETRY_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (lock.fd < 0) /* the server comes first: go on without it */
        log_warn("guardian", "job=%" PRId64 " note=no_instance_lock error=\"%s\"", w->job_id,
                 e.message);
    else
        job_lock_set_job(&lock, w->job_id);
    mfb_error_clear(&e);
    if (job_log_take_over(w->db, w->job_id, (int64_t)getpid(), &e) != MFB_OK)
        log_warn("guardian", "job=%" PRId64 " note=cannot_take_over_job error=\"%s\"", w->job_id,
                 e.message);
    struct job_record job;
    struct job_journal jr;
    mfb_error_clear(&e);
    if (job_log_get(w->db, w->job_id, &job, &e) != MFB_OK) {
        /* The record is gone; the server still matters. */
        log_warn("guardian", "job=%" PRId64 " note=cannot_read_job error=\"%s\"", w->job_id,
                 e.message);
        memset(&job, 0, sizeof(job));
        job.id = w->job_id;
        job.downtime_ms = -1;
        for (int i = 0; i < JOB_STEP_COUNT; i++)
            job.step_ms[i] = -1;
    }
    journal_attach(&jr, w->db, &job);
    journal_event(&jr, JOB_LEVEL_ERROR, "guardian",
                  "mfb was killed during %s while the server was down; its guardian (pid %ld) "
                  "starts the server again",
                  step, (long)getpid());

    struct server_start ss;
    struct mfb_error se = {0};
    server_start_verify(&jr, &w->inst, &ss, &se);
    char zip[PATH_MAX] = "";
    bool sealed =
        jr.job.upload_id[0] && job_orphan_sealed(w->inst.record.spool, w->job_id, zip, sizeof(zip));
    enum job_status status;
    char msg[2048], hint[PATH_MAX + 1024], d[32] = "?";
    char *recovery = NULL;
    if (ss.up) {
        uint64_t down_ms = ss.up_ms > w->stop_ms ? ss.up_ms - w->stop_ms : 0;
        jr.job.downtime_ms = (int64_t)down_ms;
        format_duration_ms(down_ms, d, sizeof(d));
        journal_event(&jr, JOB_LEVEL_INFO, "verify",
                      "the server answers again (after %u attempts); downtime %s", ss.attempts, d);
        snprintf(msg, sizeof(msg),
                 "mfb was killed during %s; the guardian restarted the server (downtime %s)", step,
                 d);
        struct mfb_error ke = {0};
        if (sealed && job_orphan_keep_zip(w->inst.record.spool, w->job_id, &ke) == MFB_OK) {
            status = JOB_STATUS_PENDING_UPLOAD;
            snprintf(hint, sizeof(hint),
                     "Data.zip was sealed before and is kept at %s; 'mfb resume %" PRId64
                     "' completes the upload",
                     zip, w->job_id);
        } else {
            if (sealed)
                journal_error(&jr, "upload", &ke);
            status = JOB_STATUS_FAILED;
            job_orphan_remove_files(w->inst.record.spool, w->job_id);
            snprintf(hint, sizeof(hint),
                     "find out what killed it (the system log: an out-of-memory kill, a "
                     "supervisor's timeout), then run the backup again ('mfb backup %s')",
                     w->instance);
        }
    } else {
        status = JOB_STATUS_CRITICAL;
        snprintf(msg, sizeof(msg),
                 "mfb was killed during %s, and the guardian could not start the server again: "
                 "%s",
                 step, ss.failure);
        snprintf(hint, sizeof(hint),
                 "follow the recovery steps in 'mfb logs show %" PRId64
                 "' (also sent to the alert channels); the data directory is %s",
                 w->job_id, w->inst.record.datadir);
        if (sealed) /* the recovery steps point at it */
            job_orphan_keep_zip(w->inst.record.spool, w->job_id, NULL);
        else
            job_orphan_remove_files(w->inst.record.spool, w->job_id);
        struct recovery_facts f = {
            .instance = w->instance,
            .datadir = w->inst.record.datadir,
            .method = &w->inst.method,
            .failed_command = ss.failed_command[0] ? ss.failed_command : NULL,
            .failure = ss.failure[0] ? ss.failure : NULL,
            .socket = w->inst.record.socket,
            .host = w->inst.record.host,
            .port = w->inst.record.port,
            .data_zip = sealed ? zip : NULL,
        };
        recovery = recovery_text(&f);
        journal_event(&jr, JOB_LEVEL_ERROR, "start",
                      "the server did not start again: manual recovery needed");
        if (recovery)
            journal_event(&jr, JOB_LEVEL_ERROR, "start", "%s", recovery);
    }
    journal_event(&jr, status == JOB_STATUS_CRITICAL ? JOB_LEVEL_ERROR : JOB_LEVEL_WARN, "guardian",
                  "%s", msg);
    /* The guardian's account replaces whatever the job recorded last: it is
     * what a person needs to know first. */
    free(jr.job.error);
    free(jr.job.hint);
    jr.job.error = strdup(msg);
    jr.job.hint = strdup(hint);
    snprintf(jr.job.error_step, sizeof(jr.job.error_step), "%s", step);
    journal_system_state(&jr, w->inst.record.spool, w->inst.record.datadir);
    journal_end(&jr, status);
    send_alert(w, &jr.job, status, recovery, sealed ? zip : NULL);
    free(recovery);
    journal_free(&jr);
    job_lock_release(&lock);
}

int guardian_main(void)
{
    /* Its own session already; a closed terminal or log pipe must not end
     * it either. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    unsetenv(JOURNAL_TEST_PAUSE_ENV);
    struct watch *w = calloc(1, sizeof(*w));
    struct line_reader *r = calloc(1, sizeof(*r));
    int code = 1;
    if (w == NULL || r == NULL)
        goto done;
    struct mfb_error err = {0};
    if (setup(w, r, &err) != MFB_OK) {
        char line[1200];
        int n = snprintf(line, sizeof(line), "error %s\n", err.message);
        if (n > 0 && write(0, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
            log_error("guardian", "note=cannot_answer error=\"%s\"", strerror(errno));
        goto done;
    }
    if (write(0, "ready\n", 6) != 6)
        goto done;
    log_debug("guardian", "job=%" PRId64 " pid=%ld note=watching", w->job_id, (long)getpid());
    char line[LINE_MAX_LEN];
    bool exit_now = false;
    while (!exit_now && read_line(0, r, -1, line, sizeof(line)) == 1)
        on_line(w, line, &exit_now);
    code = 0;
    if (!exit_now && w->down)
        take_over(w);
done:
    if (w != NULL) {
        job_instance_free(&w->inst);
        config_db_close(w->db);
    }
    free(w);
    free(r);
    return code;
}
