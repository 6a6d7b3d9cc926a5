/*
 * mysql_conn_test.c - tests of src/mysql/connection.c that need no server:
 * how endpoints are described, and the exact errors when nothing listens.
 * Everything that needs a real server is in mysql_server_test.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "mysql/connection.h"

#define NO_SOCKET "/nonexistent-mfb-client-test/mysqld.sock"

static void test_describe(void **state)
{
    char buf[128];
    struct mysql_endpoint sock = {.socket = "/run/mysqld/mysqld.sock"};
    assert_string_equal(mysql_endpoint_describe(&sock, buf, sizeof(buf)),
                        "socket '/run/mysqld/mysqld.sock'");
    struct mysql_endpoint tcp = {.host = "db1.example", .port = 3307};
    assert_string_equal(mysql_endpoint_describe(&tcp, buf, sizeof(buf)), "db1.example:3307");
    struct mysql_endpoint dflt = {.host = "10.0.0.5", .socket = "/ignored"};
    assert_string_equal(mysql_endpoint_describe(&dflt, buf, sizeof(buf)), "10.0.0.5:3306");
    struct mysql_endpoint v6 = {.host = "::1", .port = 3306};
    assert_string_equal(mysql_endpoint_describe(&v6, buf, sizeof(buf)), "[::1]:3306");
}

static void test_no_server_socket(void **state)
{
    struct mysql_endpoint ep = {.socket = NO_SOCKET, .user = "mfb", .password = "secret"};
    struct mysql_conn *c = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_conn_connect(&ep, 2000, &c, &err), MFB_ERR_NETWORK);
    assert_null(c);
    assert_string_equal(err.message, "cannot connect to the server at socket '" NO_SOCKET
                                     "': No such file or directory");
    assert_string_equal(err.hint, "is the server running? compare the socket path (--socket) "
                                  "with the server's @@socket, and read the server's error log");
    assert_null(strstr(err.message, "secret"));
}

/* A TCP port on 127.0.0.1 where nothing listens (bound, then released). */
static unsigned closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
    close(fd);
    return ntohs(in.sin_port);
}

static void test_no_server_tcp(void **state)
{
    unsigned port = closed_port();
    struct mysql_endpoint ep = {.host = "127.0.0.1", .port = port, .user = "mfb"};
    struct mysql_conn *c = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_conn_connect(&ep, 2000, &c, &err), MFB_ERR_NETWORK);
    char expect[128];
    snprintf(expect, sizeof(expect),
             "cannot connect to the server at 127.0.0.1:%u: Connection refused", port);
    assert_string_equal(err.message, expect);
    assert_string_equal(err.hint, "is the server running and listening there? check --host and "
                                  "--port against the server's bind_address and port, and read "
                                  "its error log");
}

static void test_ping_gives_up(void **state)
{
    struct mysql_endpoint ep = {.socket = NO_SOCKET, .user = "mfb"};
    struct mysql_ping_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_conn_ping_until(&ep, 300, 50, NULL, &res, &err), MFB_ERR_TIMEOUT);
    assert_true(res.attempts >= 2);
    char expect[512];
    snprintf(expect, sizeof(expect),
             "the server at socket '" NO_SOCKET "' did not answer within 0.3s (%u attempts); "
             "last error: cannot connect to the server at socket '" NO_SOCKET
             "': No such file or directory",
             res.attempts);
    assert_string_equal(err.message, expect);
    assert_string_equal(err.hint, "read the server's error log to see why it is not up");

    atomic_bool cancel = true;
    mfb_error_clear(&err);
    assert_int_equal(mysql_conn_ping_until(&ep, 5000, 50, &cancel, &res, &err), MFB_ERR_CANCELLED);
    assert_string_equal(err.message, "cancelled while waiting for the server at socket '" NO_SOCKET
                                     "' to answer");
}

static void test_nowhere(void **state)
{
    struct mysql_endpoint ep = {.user = "mfb"};
    struct mysql_conn *c = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_conn_connect(&ep, 1000, &c, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "no socket and no host to connect to");
}

static void test_rows_helpers(void **state)
{
    char *cells[] = {"datadir", "/var/lib/mysql/", "log_bin", NULL};
    struct mysql_rows rows = {.count = 2, .columns = 2, .cells = cells};
    assert_string_equal(mysql_rows_lookup(&rows, "DATADIR"), "/var/lib/mysql/");
    assert_null(mysql_rows_lookup(&rows, "log_bin")); /* SQL NULL */
    assert_null(mysql_rows_lookup(&rows, "socket"));
    assert_string_equal(mysql_rows_cell(&rows, 1, 0), "log_bin");
    assert_null(mysql_rows_cell(&rows, 2, 0));
    assert_null(mysql_rows_cell(&rows, 0, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),      cmocka_unit_test(test_no_server_socket),
        cmocka_unit_test(test_no_server_tcp), cmocka_unit_test(test_ping_gives_up),
        cmocka_unit_test(test_nowhere),       cmocka_unit_test(test_rows_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
