/*
 * stopped.c - pid files, process liveness and socket probes (see
 * stopped.h).
 */
#include "mysql/stopped.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "mysql/connection.h"
#include "mysql/probe.h"

#define PROCESS_TICK_MS 10
#define PROBE_TICK_MS 50
#define TCP_PROBE_MS 200

mfb_status mysql_pid_file_read(const char *path, pid_t *pid, struct mfb_error *err)
{
    *pid = 0;
    char *text = NULL;
    size_t len = 0;
    mfb_status st = fs_read_file(path, 64, &text, &len, err);
    if (st == MFB_ERR_NOT_FOUND)
        return st;
    if (st != MFB_OK) {
        mfb_error_hint(err, "run mfb as root or as the user the server runs as");
        return st;
    }
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    while (end != NULL && isspace((unsigned char)*end))
        end++;
    if (errno != 0 || end == text || *end != '\0' || value <= 0 || value > INT32_MAX)
        st = mfb_error_set(err, MFB_ERR_INVALID, "pid file '%s' does not hold a process id", path);
    else
        *pid = (pid_t)value;
    free(text);
    return st;
}

/* The state letter and start time of a process from /proc; false when it
 * does not exist (or /proc cannot say). */
static bool proc_stat(pid_t pid, char *state, uint64_t *start_time)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parens */
    if (p == NULL || p[1] != ' ')
        return false;
    p += 2;
    *state = *p;
    *start_time = 0;
    /* Field 22 (starttime) is the 20th after the name. */
    for (int field = 0; field < 19 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    if (p != NULL)
        *start_time = strtoull(p, NULL, 10);
    return true;
}

static bool process_alive(const struct mysql_stop_watch *w)
{
    if (w->pid <= 0)
        return false;
    if (kill(w->pid, 0) != 0 && errno == ESRCH)
        return false;
    char state;
    uint64_t start;
    if (!proc_stat(w->pid, &state, &start))
        return true; /* no /proc: trust kill() */
    if (state == 'Z' || state == 'X')
        return false;
    return w->pid_start_time == 0 || start == w->pid_start_time;
}

mfb_status mysql_stop_watch_init(struct mysql_stop_watch *watch, const char *pid_file,
                                 const char *socket, const char *host, unsigned port,
                                 struct mfb_error *err)
{
    memset(watch, 0, sizeof(*watch));
    watch->pid_file = pid_file;
    watch->socket = socket;
    watch->host = host;
    watch->port = port;
    if (pid_file == NULL)
        return MFB_OK;
    struct mfb_error e = {0};
    mfb_status st = mysql_pid_file_read(pid_file, &watch->pid, &e);
    if (st == MFB_ERR_NOT_FOUND)
        return MFB_OK;
    if (st != MFB_OK)
        return mysql_error_forward(err, &e);
    char state;
    if (!proc_stat(watch->pid, &state, &watch->pid_start_time))
        watch->pid_start_time = 0;
    return MFB_OK;
}

void mysql_server_presence(const struct mysql_stop_watch *watch,
                           struct mysql_server_presence *presence)
{
    memset(presence, 0, sizeof(*presence));
    presence->process = process_alive(watch);
    presence->pid_file = watch->pid_file != NULL && access(watch->pid_file, F_OK) == 0;
    presence->socket = watch->socket != NULL && mysql_probe_unix(watch->socket) == 0;
    if (watch->host != NULL) {
        /* A listener with a full backlog lets a connect time out: it is
         * still there. Only a refusal means nothing listens. */
        int e = mysql_probe_tcp(watch->host, watch->port, TCP_PROBE_MS);
        presence->tcp = e == 0 || e == ETIMEDOUT;
    }
}

bool mysql_server_gone(const struct mysql_server_presence *p)
{
    return !p->process && !p->pid_file && !p->socket && !p->tcp;
}

/* "process 123 is still running, pid file '/x' still exists, ..." */
static void describe_presence(const struct mysql_stop_watch *w,
                              const struct mysql_server_presence *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (used < len) {                                                                          \
            int n_ = snprintf(buf + used, len - used, "%s", used > 0 ? ", " : "");                 \
            used += n_ > 0 ? (size_t)n_ : 0;                                                       \
        }                                                                                          \
        if (used < len) {                                                                          \
            int n_ = snprintf(buf + used, len - used, __VA_ARGS__);                                \
            used += n_ > 0 ? (size_t)n_ : 0;                                                       \
        }                                                                                          \
    } while (0)
    if (p->process)
        ADD("process %d is still running", (int)w->pid);
    if (p->pid_file)
        ADD("pid file '%s' still exists", w->pid_file);
    if (p->socket)
        ADD("socket '%s' still accepts connections", w->socket);
    if (p->tcp)
        ADD("%s:%u still accepts connections", w->host, w->port);
#undef ADD
}

/* The error once waiting has ended with the server still (partly) there. */
static mfb_status report_left(const struct mysql_stop_watch *watch, mfb_status st,
                              uint64_t timeout_ms, bool process_exited,
                              const struct mysql_server_presence *p, struct mfb_error *err)
{
    char what[1024], dur[32];
    describe_presence(watch, p, what, sizeof(what));
    if (st == MFB_ERR_CANCELLED)
        return mfb_error_set(err, st, "cancelled while waiting for the server to stop: %s", what);
    if (process_exited)
        mfb_error_set(err, st, "the server did not stop cleanly: its process %d has exited, but %s",
                      (int)watch->pid, what);
    else
        mfb_error_set(err, st, "the server did not stop within %s: %s",
                      format_duration_ms(timeout_ms, dur, sizeof(dur)), what);
    if (!p->process && (p->socket || p->tcp))
        mfb_error_hint(err, "another server process answers in its place: is a supervisor "
                            "(mysqld_safe, systemd's Restart=) starting it again?");
    else if (!p->process && p->pid_file)
        mfb_error_hint(err, "the process is gone but left its pid file: it did not shut down "
                            "cleanly; read its error log before removing the pid file");
    else
        mfb_error_hint(err, "a large buffer pool can take long to flush; read the server's error "
                            "log, and raise the stop timeout if it needs longer");
    return st;
}

mfb_status mysql_wait_stopped(const struct mysql_stop_watch *watch, uint64_t timeout_ms,
                              const atomic_bool *cancel, uint64_t *elapsed_ms,
                              struct mfb_error *err)
{
    uint64_t start = clock_now_ms();
    uint64_t deadline = start + timeout_ms;
    uint64_t exited_at = 0; /* when the known process was first seen gone */
    bool early = false;
    struct mysql_server_presence p;
    mfb_status st = MFB_OK;
    for (;;) {
        /* The cheap check first: while the process lives, nothing else. */
        if (process_alive(watch)) {
            p = (struct mysql_server_presence){.process = true};
        } else {
            mysql_server_presence(watch, &p);
            if (mysql_server_gone(&p))
                break;
            /* Its process is gone: what is left will not go by waiting. */
            if (watch->pid > 0 && exited_at == 0)
                exited_at = clock_now_ms();
            if (exited_at != 0 && clock_now_ms() - exited_at >= MYSQL_STOPPED_GRACE_MS) {
                st = MFB_ERR_TIMEOUT;
                early = true;
                break;
            }
        }
        if (clock_left_ms(deadline) == 0) {
            st = MFB_ERR_TIMEOUT;
            break;
        }
        uint64_t tick = p.process ? PROCESS_TICK_MS : PROBE_TICK_MS;
        uint64_t left = clock_left_ms(deadline);
        if (!clock_sleep_ms(tick < left ? tick : left, cancel)) {
            st = MFB_ERR_CANCELLED;
            break;
        }
    }
    uint64_t elapsed = clock_now_ms() - start;
    if (elapsed_ms != NULL)
        *elapsed_ms = elapsed;
    if (st != MFB_OK) {
        mysql_server_presence(watch, &p);
        if (!mysql_server_gone(&p)) /* else it went in the last instant */
            return report_left(watch, st, timeout_ms, early && !p.process, &p, err);
    }
    log_info("mysql_stopped", "pid=%d elapsed_ms=%llu", (int)watch->pid,
             (unsigned long long)elapsed);
    return MFB_OK;
}
