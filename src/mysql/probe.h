/*
 * probe.h - "does something accept connections there?", asked without
 * speaking the MySQL protocol: a bare connect() to a unix socket or a TCP
 * port, closed at once.
 *
 * stopped.c uses it to see that a stopped server's socket is closed;
 * connection.c uses it to name the real cause of a failed TCP connect, which
 * libmariadb reports only as "(115)" (EINPROGRESS, from its non-blocking
 * connect) whatever really happened.
 */
#ifndef MFB_MYSQL_PROBE_H
#define MFB_MYSQL_PROBE_H

#include <stdint.h>

/* 0 when something accepts on the unix socket at path, else the errno of
 * the attempt (ENOENT, ECONNREFUSED, ...). EAGAIN (backlog full) counts as
 * accepting. */
int mysql_probe_unix(const char *path);

/* 0 when host:port accepts a TCP connection within timeout_ms, else the
 * errno of the last address tried (ETIMEDOUT when it did not answer). */
int mysql_probe_tcp(const char *host, unsigned port, uint64_t timeout_ms);

#endif
