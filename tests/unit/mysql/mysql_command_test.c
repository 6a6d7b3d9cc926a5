/*
 * mysql_command_test.c - tests of src/mysql/command.c: running stop and
 * start commands with a timeout, killing whole process groups, keeping the
 * end of the output, and not waiting for (or killing) what a start command
 * leaves running in the background.
 *
 * No assertion is about timing: a command that would make the runner wait
 * too long is given a timeout it would hit, so the status tells.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "mysql_unit.h"

#include "common/clock.h"
#include "mysql/command.h"
#include "mysql/stopped.h"

struct scratch {
    char dir[512];
    char pid_file[600];
    pid_t background; /* a process a test started and must not leave behind */
};

static int scratch_setup(void **state)
{
    struct scratch *s = calloc(1, sizeof(*s));
    if (!unit_scratch_dir("mysql_command", s->dir, sizeof(s->dir)))
        return -1;
    snprintf(s->pid_file, sizeof(s->pid_file), "%s/pid", s->dir);
    *state = s;
    return 0;
}

static int scratch_teardown(void **state)
{
    struct scratch *s = *state;
    if (s->background > 0)
        kill(s->background, SIGKILL);
    unit_rmtree(s->dir);
    free(s);
    return 0;
}

/* The pid a command wrote to the scratch pid file. */
static pid_t read_pid(struct scratch *s)
{
    pid_t pid = 0;
    assert_int_equal(mysql_pid_file_read(s->pid_file, &pid, NULL), MFB_OK);
    return pid;
}

static bool alive(pid_t pid)
{
    struct mysql_stop_watch w = {.pid = pid};
    struct mysql_server_presence p;
    mysql_server_presence(&w, &p);
    return p.process;
}

/* A killed process needs a moment to be gone, longer on a loaded machine:
 * true if it is still there after 5 s. */
static bool still_alive_after_kill(pid_t pid)
{
    for (int i = 0; i < 500 && alive(pid); i++)
        usleep(10000);
    return alive(pid);
}

static void test_success_output(void **state)
{
    struct mysql_command_result res;
    struct mfb_error err = {0};
    /* stdin is /dev/null: `read` sees end of file instead of waiting. */
    assert_int_equal(mysql_command_run_shell("echo hello; echo world >&2; read x || echo eof",
                                             "start command", 5000, NULL, &res, &err),
                     MFB_OK);
    assert_int_equal(res.exit_code, 0);
    assert_false(res.timed_out);
    assert_string_equal(res.output, "hello\nworld\neof\n");
}

static void test_failure_quotes_output(void **state)
{
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell("echo boom; echo '  second line  ' >&2; exit 3",
                                             "stop command", 5000, NULL, &res, &err),
                     MFB_ERR_MYSQL);
    assert_int_equal(res.exit_code, 3);
    assert_string_equal(err.message, "stop command 'echo boom; echo '  second line  ' >&2; exit 3' "
                                     "failed with exit status 3: boom | second line");
    assert_string_equal(err.hint, ""); /* the caller gives the advice */
}

static void test_not_found(void **state)
{
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell("/nonexistent/mariadbd --x", "start command", 5000,
                                             NULL, &res, &err),
                     MFB_ERR_NOT_FOUND);
    assert_int_equal(res.exit_code, 127);
    const char *prefix = "start command '/nonexistent/mariadbd --x' failed with exit status 127 "
                         "(command not found): ";
    assert_memory_equal(err.message, prefix, strlen(prefix));
    assert_non_null(strstr(err.message, "/nonexistent/mariadbd: not found"));

    const char *argv[] = {"no-such-program-mfb", "stop", NULL};
    struct mfb_error err2 = {0};
    assert_int_equal(mysql_command_run(argv, "stop command", 5000, NULL, &res, &err2),
                     MFB_ERR_NOT_FOUND);
    assert_string_equal(err2.message, "cannot run stop command 'no-such-program-mfb stop': "
                                      "'no-such-program-mfb': No such file or directory");
}

static void test_timeout_kills_group(void **state)
{
    struct scratch *s = *state;
    char cmd[1024];
    /* A grandchild in the background, a foreground sleep: both must die. */
    snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; echo started; sleep 60", s->pid_file);
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell(cmd, "stop command", 300, NULL, &res, &err),
                     MFB_ERR_TIMEOUT);
    assert_true(res.timed_out);
    assert_int_equal(res.term_signal, SIGTERM);
    char expect[1200];
    snprintf(expect, sizeof(expect),
             "stop command '%s' did not finish within 0.3s and was killed; its last output: "
             "started",
             cmd);
    assert_string_equal(err.message, expect);
    s->background = read_pid(s);
    assert_false(still_alive_after_kill(s->background));
}

static void test_timeout_sigkill(void **state)
{
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell("trap '' TERM; echo stubborn; while :; do sleep 1; "
                                             "done",
                                             "stop command", 1500, NULL, &res, &err),
                     MFB_ERR_TIMEOUT);
    assert_int_equal(res.term_signal, SIGKILL);
    assert_string_equal(res.output, "stubborn\n");
}

static void test_background_survives(void **state)
{
    struct scratch *s = *state;
    char cmd[1024];
    /* Like `mariadbd &`: holds the output pipe open and writes to it after
     * the command has exited. It must neither be waited for nor die of
     * SIGPIPE, and is not killed when the command succeeds. */
    snprintf(cmd, sizeof(cmd),
             "(sleep 2; echo late; echo late >&2; exec sleep 60) & "
             "echo $! > %s; echo launched",
             s->pid_file);
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell(cmd, "start command", 20000, NULL, &res, &err),
                     MFB_OK);
    assert_string_equal(res.output, "launched\n");
    s->background = read_pid(s);
    clock_sleep_ms(2600, NULL); /* past its late writes */
    assert_true(alive(s->background));
}

static void *cancel_later(void *arg)
{
    clock_sleep_ms(100, NULL);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

static void test_cancel(void **state)
{
    atomic_bool cancel = true;
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(
        mysql_command_run_shell("sleep 60", "stop command", 20000, &cancel, &res, &err),
        MFB_ERR_CANCELLED);
    assert_string_equal(err.message, "stop command 'sleep 60' was not run: cancelled");

    atomic_store(&cancel, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &cancel), 0);
    mfb_error_clear(&err);
    assert_int_equal(
        mysql_command_run_shell("echo going; sleep 60", "stop command", 20000, &cancel, &res, &err),
        MFB_ERR_CANCELLED);
    pthread_join(t, NULL);
    assert_true(res.cancelled);
    assert_string_equal(err.message,
                        "stop command 'echo going; sleep 60' was cancelled and killed; its last "
                        "output: going");
}

static void test_no_inherited_fds(void **state)
{
    /* An fd of mfb's (a socket, the SQLite file) without O_CLOEXEC must not
     * leak into a server started by a start command. */
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 100), 100);
    close(fd);
    struct mysql_command_result res;
    struct mfb_error err = {0};
    mfb_status st = mysql_command_run_shell(
        "if [ -e /proc/self/fd/100 ]; then echo leaked; else echo closed; fi", "command", 5000,
        NULL, &res, &err);
    close(100);
    assert_int_equal(st, MFB_OK);
    assert_string_equal(res.output, "closed\n");
}

static void test_large_output_tail(void **state)
{
    struct mysql_command_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_command_run_shell("i=0; while [ $i -lt 5000 ]; do echo line $i; "
                                             "i=$((i+1)); done; exit 1",
                                             "stop command", 20000, NULL, &res, &err),
                     MFB_ERR_MYSQL);
    assert_int_equal(strlen(res.output), MYSQL_COMMAND_TAIL - 1);
    const char *end = "line 4998\nline 4999\n";
    assert_string_equal(res.output + strlen(res.output) - strlen(end), end);
    assert_non_null(strstr(err.message, ": line 4995 | line 4996 | line 4997 | line 4998 | "
                                        "line 4999"));
}

static void test_helpers(void **state)
{
    char buf[64];
    assert_string_equal(mysql_command_last_lines("a\n\n  b  \r\nc\n", 2, buf, sizeof(buf)),
                        "b | c");
    assert_string_equal(mysql_command_last_lines("", 5, buf, sizeof(buf)), "");
    assert_string_equal(mysql_command_last_lines("only", 5, buf, sizeof(buf)), "only");
    assert_string_equal(mysql_command_last_lines("x\ny\nz", 5, buf, 6), "x | y");

    const char *shell[] = {"/bin/sh", "-c", "kill $(cat /x.pid)", NULL};
    assert_string_equal(mysql_command_display(shell, buf, sizeof(buf)), "kill $(cat /x.pid)");
    const char *plain[] = {"systemctl", "stop", "mariadb", NULL};
    assert_string_equal(mysql_command_display(plain, buf, sizeof(buf)), "systemctl stop mariadb");

    char path[4096];
    assert_true(mysql_command_which("sh", path, sizeof(path)));
    assert_true(path[0] == '/');
    assert_true(mysql_command_which("/bin/sh", path, sizeof(path)));
    assert_false(mysql_command_which("no-such-program-mfb", path, sizeof(path)));
    assert_false(mysql_command_which("/etc/passwd", path, sizeof(path))); /* not executable */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_output),
        cmocka_unit_test(test_failure_quotes_output),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test_setup_teardown(test_timeout_kills_group, scratch_setup, scratch_teardown),
        cmocka_unit_test(test_timeout_sigkill),
        cmocka_unit_test_setup_teardown(test_background_survives, scratch_setup, scratch_teardown),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_no_inherited_fds),
        cmocka_unit_test(test_large_output_tail),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
