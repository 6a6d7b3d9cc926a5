/*
 * command.c - one external command with a timeout and the end of its output
 * (see command.h).
 *
 * The wait loop polls the output pipe and, where the kernel has it, a pidfd
 * of the child, so an exit is seen at once rather than at the next tick;
 * without pidfds it falls back to checking every few milliseconds. Killing
 * goes to the process group (the child leads a new session), and SIGKILL is
 * sent while the leader is still an unreaped zombie, so the group id cannot
 * have been recycled under us.
 */
#include "mysql/command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"

extern char **environ;

#define FALLBACK_TICK_MS 5

const char *mysql_command_display(const char *const argv[], char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (argv[0] != NULL && argv[1] != NULL && argv[2] != NULL && strcmp(argv[0], "/bin/sh") == 0 &&
        strcmp(argv[1], "-c") == 0) {
        snprintf(buf, len, "%s", argv[2]);
        return buf;
    }
    size_t used = 0;
    for (size_t i = 0; argv[i] != NULL && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i > 0 ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

const char *mysql_command_last_lines(const char *output, size_t max_lines, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    /* Walk backwards collecting up to max_lines non-empty lines. */
    const char *starts[16];
    size_t lens[16];
    size_t count = 0;
    if (max_lines > 16)
        max_lines = 16;
    const char *end = output + strlen(output);
    while (end > output && count < max_lines) {
        const char *line_end = end;
        const char *p = end;
        while (p > output && p[-1] != '\n')
            p--;
        end = p > output ? p - 1 : output;
        const char *s = p;
        const char *e = line_end;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
            e--;
        if (e > s) {
            starts[count] = s;
            lens[count] = (size_t)(e - s);
            count++;
        }
        if (p == output)
            break;
    }
    size_t used = 0;
    for (size_t i = count; i > 0 && used + 1 < len; i--) {
        int n = snprintf(buf + used, len - used, "%s%.*s", used > 0 ? " | " : "", (int)lens[i - 1],
                         starts[i - 1]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* Keeps the last MYSQL_COMMAND_TAIL - 1 bytes of everything appended. */
static void tail_append(char *tail, size_t *tail_len, const char *data, size_t n)
{
    const size_t cap = MYSQL_COMMAND_TAIL - 1;
    if (n >= cap) {
        memcpy(tail, data + (n - cap), cap);
        *tail_len = cap;
    } else {
        if (*tail_len + n > cap) {
            size_t drop = *tail_len + n - cap;
            memmove(tail, tail + drop, *tail_len - drop);
            *tail_len -= drop;
        }
        memcpy(tail + *tail_len, data, n);
        *tail_len += n;
    }
    tail[*tail_len] = '\0';
}

/* Reads what the pipe has now, at most 64 KiB (a background process may
 * write without end); closes it (*fd = -1) at end of file. */
static void drain_pipe(int *fd, struct mysql_command_result *res, size_t *tail_len)
{
    char buf[4096];
    for (int reads = 0; *fd >= 0 && reads < 16; reads++) {
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n > 0) {
            tail_append(res->output, tail_len, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(*fd);
            *fd = -1;
        }
        return;
    }
}

/* True once the child has exited (not reaped: WNOWAIT keeps it a zombie). */
static bool child_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD;
    return info.si_pid == pid;
}

/* SIGTERM to the group, up to the grace period for the leader to exit, then
 * SIGKILL to whatever of the group is left. The leader stays unreaped. */
static void kill_group(pid_t pid)
{
    kill(-pid, SIGTERM);
    uint64_t deadline = clock_now_ms() + MYSQL_COMMAND_KILL_GRACE_MS;
    while (!child_exited(pid) && clock_left_ms(deadline) > 0)
        clock_sleep_ms(FALLBACK_TICK_MS, NULL);
    kill(-pid, SIGKILL);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -1 : (int)fd;
#else
    (void)pid;
    return -1;
#endif
}

bool mysql_command_which(const char *name, char *out, size_t len)
{
    if (strchr(name, '/') != NULL) {
        struct stat sb;
        if (stat(name, &sb) != 0 || !S_ISREG(sb.st_mode) || access(name, X_OK) != 0)
            return false;
        return (size_t)snprintf(out, len, "%s", name) < len;
    }
    const char *path = getenv("PATH");
    if (path == NULL || path[0] == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t dir_len = end != NULL ? (size_t)(end - p) : strlen(p);
        int n = snprintf(out, len, "%.*s/%s", (int)dir_len, dir_len > 0 ? p : ".", name);
        struct stat sb;
        if (n > 0 && (size_t)n < len && stat(out, &sb) == 0 && S_ISREG(sb.st_mode) &&
            access(out, X_OK) == 0)
            return true;
        if (end == NULL)
            return false;
        p = end + 1;
    }
}

/* In the child, between fork and exec: only async-signal-safe calls. Any
 * failure is written to report_fd as an errno and the child exits. */
static void child_exec(const char *program, const char *const argv[], int devnull, int out_fd,
                       int report_fd)
{
    setsid();
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
    const int reset[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        sigaction(reset[i], &dfl, NULL);
    /* Ignored, and so inherited by whatever the command leaves running:
     * such a process may write to the pipe after mfb stopped reading it. */
    sigaction(SIGPIPE, &ign, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int e = 0;
    if (dup2(report_fd, 3) < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
        dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0) {
        e = errno;
    } else {
        report_fd = 3;
        fcntl(3, F_SETFD, FD_CLOEXEC);
        close_range(4, ~0U, 0);
        execve(program, (char *const *)argv, environ);
        e = errno;
    }
    while (write(report_fd, &e, sizeof(e)) < 0 && errno == EINTR) {
    }
    _exit(127);
}

static mfb_status spawn_child(const char *const argv[], const char *what, const char *shown,
                              pid_t *pid, int *out_fd, struct mfb_error *err)
{
    int out[2] = {-1, -1}, report[2] = {-1, -1};
    int devnull = -1;
    mfb_status st = MFB_OK;
    char program[4096];

    if (!mysql_command_which(argv[0], program, sizeof(program))) {
        st = mfb_error_errno(err, ENOENT, MFB_ERR_NOT_FOUND, "cannot run %s '%s': '%s'", what,
                             shown, argv[0]);
        goto done;
    }
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0 ||
        (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot run %s '%s'", what, shown);
        goto done;
    }
    *pid = fork();
    if (*pid < 0) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot run %s '%s'", what, shown);
        goto done;
    }
    if (*pid == 0)
        child_exec(program, argv, devnull, out[1], report[1]);
    close(report[1]);
    report[1] = -1;
    /* The report pipe closes at exec (success) or carries an errno. */
    int child_errno = 0;
    ssize_t n;
    while ((n = read(report[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR) {
    }
    if (n == (ssize_t)sizeof(child_errno)) {
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
        }
        st = mfb_error_errno(err, child_errno, MFB_ERR_IO, "cannot run %s '%s'", what, shown);
        goto done;
    }
    if (fcntl(out[0], F_SETFL, O_NONBLOCK) != 0) {
        /* Cannot happen on a fresh pipe; without it a drain could block. */
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the output of %s '%s'", what,
                             shown);
        kill_group(*pid);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
        }
        goto done;
    }
    *out_fd = out[0];
    out[0] = -1;
done:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (report[i] >= 0)
            close(report[i]);
    }
    if (devnull >= 0)
        close(devnull);
    return st;
}

/* Sets the error for a command that ended (or was ended) unsuccessfully. */
static mfb_status report_failure(const struct mysql_command_result *res, const char *what,
                                 const char *shown, uint64_t timeout_ms, struct mfb_error *err)
{
    char lines[512];
    mysql_command_last_lines(res->output, 5, lines, sizeof(lines));
    char said[540];
    said[0] = '\0';
    if (lines[0] != '\0')
        snprintf(said, sizeof(said), "; its last output: %s", lines);

    if (res->timed_out) {
        char dur[32];
        return mfb_error_set(err, MFB_ERR_TIMEOUT,
                             "%s '%s' did not finish within %s and was killed%s", what, shown,
                             format_duration_ms(timeout_ms, dur, sizeof(dur)), said);
    }
    if (res->cancelled)
        return mfb_error_set(err, MFB_ERR_CANCELLED, "%s '%s' was cancelled and killed%s", what,
                             shown, said);
    if (res->term_signal != 0)
        return mfb_error_set(err, MFB_ERR_MYSQL, "%s '%s' was killed by signal %d (%s)%s", what,
                             shown, res->term_signal, strsignal(res->term_signal), said);
    if (lines[0] != '\0')
        snprintf(said, sizeof(said), ": %s", lines);
    if (res->exit_code == 127)
        return mfb_error_set(err, MFB_ERR_NOT_FOUND,
                             "%s '%s' failed with exit status 127 (command not found)%s", what,
                             shown, said);
    if (res->exit_code == 126)
        return mfb_error_set(err, MFB_ERR_PERMISSION,
                             "%s '%s' failed with exit status 126 (not executable)%s", what, shown,
                             said);
    return mfb_error_set(err, MFB_ERR_MYSQL, "%s '%s' failed with exit status %d%s", what, shown,
                         res->exit_code, said);
}

mfb_status mysql_command_run(const char *const argv[], const char *what, uint64_t timeout_ms,
                             const atomic_bool *cancel, struct mysql_command_result *res,
                             struct mfb_error *err)
{
    struct mysql_command_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;

    char shown[256];
    mysql_command_display(argv, shown, sizeof(shown));
    if (cancel_flag_raised(cancel))
        return mfb_error_set(err, MFB_ERR_CANCELLED, "%s '%s' was not run: cancelled", what, shown);

    uint64_t start = clock_now_ms();
    uint64_t deadline = start + timeout_ms;
    pid_t pid = -1;
    int out_fd = -1;
    mfb_status st = spawn_child(argv, what, shown, &pid, &out_fd, err);
    if (st != MFB_OK)
        return st;
    int pidfd = open_pidfd(pid);
    size_t tail_len = 0;

    /* Wait for the exit, the deadline or a cancel, reading output meanwhile. */
    for (;;) {
        if (child_exited(pid))
            break;
        if (cancel_flag_raised(cancel)) {
            res->cancelled = true;
            kill_group(pid);
            break;
        }
        uint64_t left = clock_left_ms(deadline);
        if (left == 0) {
            res->timed_out = true;
            kill_group(pid);
            break;
        }
        uint64_t tick = pidfd >= 0 ? left : FALLBACK_TICK_MS;
        if (cancel != NULL && tick > CLOCK_CANCEL_POLL_MS)
            tick = CLOCK_CANCEL_POLL_MS;
        if (tick > left)
            tick = left;
        if (tick > 1000)
            tick = 1000;
        struct pollfd pfd[2];
        nfds_t n = 0;
        if (out_fd >= 0)
            pfd[n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
        if (pidfd >= 0)
            pfd[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        if (poll(pfd, n, (int)tick) < 0 && errno != EINTR)
            clock_sleep_ms(FALLBACK_TICK_MS, NULL);
        drain_pipe(&out_fd, res, &tail_len);
    }

    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    drain_pipe(&out_fd, res, &tail_len);
    if (out_fd >= 0)
        close(out_fd);
    if (pidfd >= 0)
        close(pidfd);
    res->elapsed_ms = clock_now_ms() - start;
    if (reaped != pid) /* someone else reaped it (SIGCHLD ignored?) */
        return mfb_error_errno(err, errno, MFB_ERR_INTERNAL, "cannot learn how %s '%s' ended", what,
                               shown);
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->term_signal = WTERMSIG(status);
    }
    log_debug("mysql_command", "what=\"%s\" exit=%d signal=%d timed_out=%d elapsed_ms=%llu", what,
              res->exit_code, res->term_signal, res->timed_out,
              (unsigned long long)res->elapsed_ms);
    if (!res->timed_out && !res->cancelled && res->exit_code == 0)
        return MFB_OK;
    return report_failure(res, what, shown, timeout_ms, err);
}

mfb_status mysql_command_run_shell(const char *command, const char *what, uint64_t timeout_ms,
                                   const atomic_bool *cancel, struct mysql_command_result *res,
                                   struct mfb_error *err)
{
    const char *argv[] = {"/bin/sh", "-c", command, NULL};
    return mysql_command_run(argv, what, timeout_ms, cancel, res, err);
}
