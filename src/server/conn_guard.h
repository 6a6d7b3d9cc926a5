/*
 * conn_guard.h - cuts connections that hold a slot without identifying
 * themselves: the slow-loris guard of the receiver's HTTP front end.
 *
 * libmicrohttpd's --idle-timeout closes a connection only when it sends
 * nothing at all, so a client sending one header byte every few seconds
 * keeps its connection (and thread) forever, and enough of them lock
 * every other client out. The guard gives each connection a deadline
 * while it is "on the clock": from its opening, or its previous answer,
 * until a request has been authenticated (for a request that never is,
 * until it is answered). A connection past its deadline is shut down
 * (shutdown(2): its own thread sees the end of the stream and closes it).
 * Authenticated requests are off the clock: a chunk upload over a slow
 * link may take long, and only the idle timeout applies to it.
 *
 * Under pressure (so many connections open that the limit is near), the
 * deadline is much shorter: otherwise a flood of connections that open and
 * then send nothing (not even a TLS handshake) holds every slot until the
 * normal deadline, and every other client is locked out that long. A
 * client that means to send a request does so within moments of
 * connecting, so only those that hold a slot without using it are cut;
 * authenticated requests are still never cut.
 *
 * One thread checks every second. The caller registers each connection
 * with its socket and removes it before the socket is closed, so the
 * guard never touches a descriptor reused by another connection.
 * Thread-safe.
 */
#ifndef MFB_SERVER_CONN_GUARD_H
#define MFB_SERVER_CONN_GUARD_H

#include <stdbool.h>

#include "common/status.h"

struct conn_guard;
struct conn_guard_entry;

/* Starts the guard with a deadline of deadline_ms. Allocates. */
mfb_status conn_guard_start(unsigned deadline_ms, struct conn_guard **out, struct mfb_error *err);
/* From `connections` guarded connections on (0: never), connections on
 * the clock are cut after deadline_ms instead. */
void conn_guard_set_pressure(struct conn_guard *g, unsigned connections, unsigned deadline_ms);
/* Stops the thread and frees the guard; every entry must be removed. */
void conn_guard_stop(struct conn_guard *g);

/* A new connection on socket fd, on the clock from now. NULL (unguarded)
 * when out of memory. */
struct conn_guard_entry *conn_guard_add(struct conn_guard *g, int fd);
/* Before the socket is closed. NULL is a no-op. */
void conn_guard_remove(struct conn_guard *g, struct conn_guard_entry *e);
/* Off the clock (a request authenticated), or on it again from now (an
 * answer sent). NULL is a no-op. */
void conn_guard_clock(struct conn_guard *g, struct conn_guard_entry *e, bool on);
/* How many connections the guard has cut so far. */
unsigned long conn_guard_cut_count(struct conn_guard *g);

#endif
