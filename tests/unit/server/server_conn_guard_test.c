/*
 * server_conn_guard_test.c - the slow-client guard on socket pairs: a
 * connection on the clock past its deadline is shut down (its peer reads
 * the end of the stream), one taken off the clock is left alone, one put
 * back on the clock gets a fresh deadline, and removal before close leaves
 * the descriptor untouched; near the connection limit the deadline is
 * short (a flood of idle connections). Waits are bounded by polling, never timed.
 */
#include "unit.h"

#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conn_guard.h"

/* Whether the guard has shut down the socket whose peer is fd: the peer
 * reads the end of the stream. Waits up to wait_ms. */
static bool peer_sees_end(int fd, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) != 1)
        return false;
    char c;
    return read(fd, &c, 1) == 0;
}

static void test_cut_after_deadline_unless_off_clock(void **state)
{
    (void)state;
    struct conn_guard *g;
    assert_int_equal(conn_guard_start(100, &g, NULL), MFB_OK);
    int slow[2], authed[2], back[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, slow), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, authed), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, back), 0);
    struct conn_guard_entry *es = conn_guard_add(g, slow[0]);
    struct conn_guard_entry *ea = conn_guard_add(g, authed[0]);
    struct conn_guard_entry *eb = conn_guard_add(g, back[0]);
    assert_non_null(es);
    assert_non_null(ea);
    assert_non_null(eb);
    conn_guard_clock(g, ea, false); /* an authenticated request */
    conn_guard_clock(g, eb, false);
    assert_true(peer_sees_end(slow[1], 10000));
    assert_int_equal(conn_guard_cut_count(g), 1);
    /* The guard checks once a second: after the slow one was cut, at least
     * one more check passes before these are looked at. */
    assert_false(peer_sees_end(authed[1], 2500));
    conn_guard_clock(g, eb, true); /* answered: on the clock again */
    assert_true(peer_sees_end(back[1], 10000));
    assert_int_equal(conn_guard_cut_count(g), 2);
    assert_false(peer_sees_end(authed[1], 0));
    conn_guard_remove(g, es);
    conn_guard_remove(g, ea);
    conn_guard_remove(g, eb);
    conn_guard_remove(g, NULL);
    conn_guard_clock(g, NULL, true);
    conn_guard_stop(g);
    for (int i = 0; i < 2; i++) {
        close(slow[i]);
        close(authed[i]);
        close(back[i]);
    }
}

static void test_removed_before_deadline_is_untouched(void **state)
{
    (void)state;
    struct conn_guard *g;
    assert_int_equal(conn_guard_start(100, &g, NULL), MFB_OK);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn_guard_remove(g, conn_guard_add(g, sv[0]));
    assert_false(peer_sees_end(sv[1], 1500));
    assert_int_equal(conn_guard_cut_count(g), 0);
    conn_guard_stop(g);
    close(sv[0]);
    close(sv[1]);
}

/* Under pressure (from 2 connections here) the short deadline applies:
 * below it, the long one. Authenticated connections are never cut. */
static void test_pressure_shortens_deadline(void **state)
{
    (void)state;
    struct conn_guard *g;
    assert_int_equal(conn_guard_start(600000, &g, NULL), MFB_OK);
    conn_guard_set_pressure(g, 3, 100);
    int idle[2], authed[2], flood[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, idle), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, authed), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, flood), 0);
    struct conn_guard_entry *ei = conn_guard_add(g, idle[0]);
    struct conn_guard_entry *ea = conn_guard_add(g, authed[0]);
    conn_guard_clock(g, ea, false);
    /* Two connections: no pressure, the long deadline holds. */
    assert_false(peer_sees_end(idle[1], 2500));
    struct conn_guard_entry *ef = conn_guard_add(g, flood[0]);
    assert_true(peer_sees_end(idle[1], 10000));
    assert_true(peer_sees_end(flood[1], 10000));
    assert_int_equal(conn_guard_cut_count(g), 2);
    assert_false(peer_sees_end(authed[1], 0));
    conn_guard_remove(g, ei);
    conn_guard_remove(g, ea);
    conn_guard_remove(g, ef);
    conn_guard_stop(g);
    for (int i = 0; i < 2; i++) {
        close(idle[i]);
        close(authed[i]);
        close(flood[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_after_deadline_unless_off_clock),
        cmocka_unit_test(test_removed_before_deadline_is_untouched),
        cmocka_unit_test(test_pressure_shortens_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
