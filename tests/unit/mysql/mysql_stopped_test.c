/*
 * mysql_stopped_test.c - tests of src/mysql/stopped.c: pid files and the
 * decision that a server is really gone (process, pid file, socket).
 *
 * A fake server stands in for mariadbd: a child process that sleeps, a pid
 * file naming it, and a listening unix socket (and TCP port) held by the
 * test. Each part is taken away separately to see that the wait notices
 * exactly what is left. The real server is in mysql_server_test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "mysql/stopped.h"
#include "scratch.h"

struct fake {
    char dir[256];
    char pid_file[300];
    char socket[300];
    pid_t child;
    int listen_fd;
    int tcp_fd;
    unsigned tcp_port;
    struct mysql_stop_watch watch;
};

static int fake_setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->listen_fd = f->tcp_fd = -1;
    /* $MFB_TEST_TMP is short: a unix socket path must fit in 108 bytes. */
    if (!unit_scratch_dir("stopped", f->dir, sizeof(f->dir)))
        return -1;
    snprintf(f->pid_file, sizeof(f->pid_file), "%s/server.pid", f->dir);
    snprintf(f->socket, sizeof(f->socket), "%s/server.sock", f->dir);

    f->child = fork();
    if (f->child == 0) {
        for (;;)
            pause();
    }
    char text[32];
    int n = snprintf(text, sizeof(text), "%d\n", (int)f->child);
    if (fs_write_file_atomic(f->pid_file, text, (size_t)n, 0644, false, NULL) != MFB_OK)
        return -1;

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, f->socket, strlen(f->socket) + 1);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(f->listen_fd, 16) != 0)
        return -1;

    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    f->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(f->tcp_fd, (struct sockaddr *)&in, sizeof(in)) != 0 || listen(f->tcp_fd, 16) != 0 ||
        getsockname(f->tcp_fd, (struct sockaddr *)&in, &len) != 0)
        return -1;
    f->tcp_port = ntohs(in.sin_port);

    if (mysql_stop_watch_init(&f->watch, f->pid_file, f->socket, NULL, 0, NULL) != MFB_OK)
        return -1;
    *state = f;
    return 0;
}

/* The parts of the fake server, taken away one by one. */
static void kill_process(struct fake *f)
{
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
        f->child = 0;
    }
}

static void close_socket(struct fake *f)
{
    if (f->listen_fd >= 0) {
        close(f->listen_fd);
        f->listen_fd = -1;
    }
}

static int fake_teardown(void **state)
{
    struct fake *f = *state;
    kill_process(f);
    close_socket(f);
    if (f->tcp_fd >= 0)
        close(f->tcp_fd);
    unlink(f->socket);
    unlink(f->pid_file);
    unit_rmtree(f->dir);
    free(f);
    return 0;
}

static void test_pid_file(void **state)
{
    struct fake *f = *state;
    pid_t pid = 0;
    assert_int_equal(mysql_pid_file_read(f->pid_file, &pid, NULL), MFB_OK);
    assert_int_equal(pid, f->child);
    assert_int_equal(f->watch.pid, f->child);
    assert_true(f->watch.pid_start_time > 0);

    char bad[400];
    snprintf(bad, sizeof(bad), "%s/bad.pid", f->dir);
    assert_int_equal(fs_write_file_atomic(bad, "12ab\n", 5, 0644, false, NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(mysql_pid_file_read(bad, &pid, &err), MFB_ERR_INVALID);
    char expect[500];
    snprintf(expect, sizeof(expect), "pid file '%s' does not hold a process id", bad);
    assert_string_equal(err.message, expect);
    unlink(bad);
    assert_int_equal(mysql_pid_file_read(bad, &pid, NULL), MFB_ERR_NOT_FOUND);

    /* No pid file yet: the watch just has no process to look at. */
    struct mysql_stop_watch w;
    assert_int_equal(mysql_stop_watch_init(&w, bad, f->socket, NULL, 0, NULL), MFB_OK);
    assert_int_equal(w.pid, 0);
}

static void test_timeout_names_what_is_left(void **state)
{
    struct fake *f = *state;
    struct mfb_error err = {0};
    uint64_t elapsed = 0;
    assert_int_equal(mysql_wait_stopped(&f->watch, 200, NULL, &elapsed, &err), MFB_ERR_TIMEOUT);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "the server did not stop within 0.2s: process %d is still running, pid file '%s' "
             "still exists, socket '%s' still accepts connections",
             (int)f->child, f->pid_file, f->socket);
    assert_string_equal(err.message, expect);

    /* The process exited without a clean shutdown: pid file and socket file stay,
     * but nobody listens any more. */
    kill_process(f);
    close_socket(f);
    mfb_error_clear(&err);
    assert_int_equal(mysql_wait_stopped(&f->watch, 100, NULL, NULL, &err), MFB_ERR_TIMEOUT);
    snprintf(expect, sizeof(expect),
             "the server did not stop within 0.1s: pid file '%s' still "
             "exists",
             f->pid_file);
    assert_string_equal(err.message, expect);
    assert_string_equal(err.hint, "the process is gone but left its pid file: it did not shut "
                                  "down cleanly; read its error log before removing the pid file");
    /* With a long timeout, the wait ends soon after the process is gone:
     * a pid file left behind will not go away by waiting. */
    mfb_error_clear(&err);
    assert_int_equal(mysql_wait_stopped(&f->watch, 600000, NULL, NULL, &err), MFB_ERR_TIMEOUT);
    snprintf(expect, sizeof(expect),
             "the server did not stop cleanly: its process %d has exited, but pid file '%s' "
             "still exists",
             (int)f->watch.pid, f->pid_file);
    assert_string_equal(err.message, expect);

    /* A socket answering after the process exited: someone started it again. */
    close(f->listen_fd);
    f->listen_fd = -1;
    unlink(f->pid_file);
    struct mysql_stop_watch tcp_watch = f->watch;
    tcp_watch.host = "127.0.0.1";
    tcp_watch.port = f->tcp_port;
    mfb_error_clear(&err);
    assert_int_equal(mysql_wait_stopped(&tcp_watch, 600000, NULL, NULL, &err), MFB_ERR_TIMEOUT);
    snprintf(expect, sizeof(expect),
             "the server did not stop cleanly: its process %d has exited, but 127.0.0.1:%u still "
             "accepts connections",
             (int)f->watch.pid, f->tcp_port);
    assert_string_equal(err.message, expect);
    assert_string_equal(err.hint, "another server process answers in its place: is a supervisor "
                                  "(mysqld_safe, systemd's Restart=) starting it again?");

    assert_int_equal(mysql_wait_stopped(&f->watch, 100, NULL, NULL, NULL), MFB_OK);
}

static void *stop_later(void *arg)
{
    struct fake *f = arg;
    clock_sleep_ms(100, NULL);
    kill(f->child, SIGTERM); /* left a zombie: a zombie counts as gone */
    clock_sleep_ms(50, NULL);
    close_socket(f);
    unlink(f->pid_file);
    return NULL;
}

static void test_waits_until_gone(void **state)
{
    struct fake *f = *state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, f), 0);
    struct mfb_error err = {0};
    assert_int_equal(mysql_wait_stopped(&f->watch, 20000, NULL, NULL, &err), MFB_OK);
    pthread_join(t, NULL);
    struct mysql_server_presence p;
    mysql_server_presence(&f->watch, &p);
    assert_true(mysql_server_gone(&p));
    kill_process(f);
}

static void test_recycled_pid(void **state)
{
    struct fake *f = *state;
    struct mysql_server_presence p;
    struct mysql_stop_watch w = {.pid = f->child};
    mysql_server_presence(&w, &p);
    assert_true(p.process);
    /* The same pid with another start time is another process. */
    w.pid_start_time = f->watch.pid_start_time + 1;
    mysql_server_presence(&w, &p);
    assert_false(p.process);
}

static void test_tcp_and_cancel(void **state)
{
    struct fake *f = *state;
    struct mysql_stop_watch w = {.host = "127.0.0.1", .port = f->tcp_port};
    struct mysql_server_presence p;
    mysql_server_presence(&w, &p);
    assert_true(p.tcp);
    assert_false(p.process || p.pid_file || p.socket);

    atomic_bool cancel = true;
    struct mfb_error err = {0};
    assert_int_equal(mysql_wait_stopped(&w, 20000, &cancel, NULL, &err), MFB_ERR_CANCELLED);
    char expect[256];
    snprintf(expect, sizeof(expect),
             "cancelled while waiting for the server to stop: 127.0.0.1:%u still accepts "
             "connections",
             f->tcp_port);
    assert_string_equal(err.message, expect);

    close(f->tcp_fd);
    f->tcp_fd = -1;
    mysql_server_presence(&w, &p);
    assert_false(p.tcp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pid_file, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_names_what_is_left, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_waits_until_gone, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_recycled_pid, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_tcp_and_cancel, fake_setup, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
