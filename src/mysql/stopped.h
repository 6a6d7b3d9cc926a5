/*
 * stopped.h - deciding that a server has really stopped, which is what
 * makes it safe to archive its files (requirement 9.1: never archive a
 * running server).
 *
 * A stop command returning is not proof: `kill` returns at once, and even
 * SHUTDOWN only starts the shutdown. A server is gone when all three hold:
 * - its process has exited (kill(pid, 0) fails with ESRCH, or the process
 *   is a zombie). The pid is read from the pid file *before* the stop,
 *   together with the process's start time, so a recycled pid is never
 *   mistaken for the server;
 * - its pid file has been removed (the server does that last, on a clean
 *   shutdown: a pid file left behind by a crashed server also keeps this
 *   from passing, and the message says so);
 * - its socket (and, when given, its TCP port) no longer accepts
 *   connections.
 * Once the process has exited, the rest has MYSQL_STOPPED_GRACE_MS to go:
 * a pid file left by a crash, or a socket that answers because a supervisor
 * started the server again, will not go away by waiting, so the wait ends
 * there rather than at its timeout.
 * While the process lives it is polled every 10 ms (a signal-0 kill, no
 * I/O); the socket is tried only once the process is gone or unknown, so
 * the server's log does not fill with aborted connections.
 */
#ifndef MFB_MYSQL_STOPPED_H
#define MFB_MYSQL_STOPPED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/status.h"

#define MYSQL_STOPPED_GRACE_MS 2000

/* What to watch. Strings are borrowed; NULL means "not checked". */
struct mysql_stop_watch {
    pid_t pid;               /* 0 when unknown */
    uint64_t pid_start_time; /* /proc start time of pid (0: not compared) */
    const char *pid_file;
    const char *socket;
    const char *host; /* TCP host; NULL: not checked */
    unsigned port;
};

/* What is still there. */
struct mysql_server_presence {
    bool process;
    bool pid_file;
    bool socket;
    bool tcp;
};

/* Fills a watch: reads the pid and its start time from pid_file (a missing
 * pid file leaves pid 0; an unreadable or malformed one is an error). Call
 * it before stopping the server. */
mfb_status mysql_stop_watch_init(struct mysql_stop_watch *watch, const char *pid_file,
                                 const char *socket, const char *host, unsigned port,
                                 struct mfb_error *err);

/* Reads a pid file: MFB_ERR_NOT_FOUND when it does not exist,
 * MFB_ERR_INVALID when it holds no process id. */
mfb_status mysql_pid_file_read(const char *path, pid_t *pid, struct mfb_error *err);

/* Looks once at what remains of the server. */
void mysql_server_presence(const struct mysql_stop_watch *watch,
                           struct mysql_server_presence *presence);

/* True when none of it remains. */
bool mysql_server_gone(const struct mysql_server_presence *presence);

/* Waits until the server is gone, at most timeout_ms (less when its
 * process has exited; see above). MFB_ERR_TIMEOUT names what is still there; MFB_ERR_CANCELLED when
 * cancel (may be NULL) is set. elapsed_ms may be NULL. */
mfb_status mysql_wait_stopped(const struct mysql_stop_watch *watch, uint64_t timeout_ms,
                              const atomic_bool *cancel, uint64_t *elapsed_ms,
                              struct mfb_error *err);

#endif
