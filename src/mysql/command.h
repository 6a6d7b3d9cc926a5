/*
 * command.h - runs one external command (a stop or start command, systemctl,
 * service) with a timeout, and keeps the end of what it printed.
 *
 * The command gets stdin from /dev/null and one pipe for stdout and stderr,
 * and runs in a session of its own (setsid), so the terminal's Ctrl-C never
 * reaches it. At the deadline, or on cancel, the whole process group gets
 * SIGTERM, then SIGKILL a second later: a hung `sh -c 'a | b'` leaves
 * nothing behind. fork and exec are done by hand rather than with
 * posix_spawn, because the child must start with SIGPIPE *ignored* (which
 * posix_spawn cannot set); between the two only async-signal-safe calls are
 * made, so this is safe in a threaded program.
 *
 * Trade-offs:
 * - mfb waits for the command to exit, not for the pipe to close: a start
 *   command that leaves the server running in the background (`mariadbd &`)
 *   keeps the pipe open forever. What such a background process writes
 *   after the command exited is lost: it gets EPIPE. That is why SIGPIPE is
 *   ignored: mariadbd writes a warning to stderr before it opens its error
 *   log, and with SIGPIPE at its default it died of it.
 * - Only the last MYSQL_COMMAND_TAIL bytes are kept: what a person needs
 *   from a failed command is its last lines, and memory stays bounded.
 * - No hints: the caller knows what the command was for and says what to do.
 */
#ifndef MFB_MYSQL_COMMAND_H
#define MFB_MYSQL_COMMAND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define MYSQL_COMMAND_TAIL 2048
/* How long a process group has between SIGTERM and SIGKILL. */
#define MYSQL_COMMAND_KILL_GRACE_MS 1000

struct mysql_command_result {
    int exit_code;   /* its exit status, or -1 when a signal ended it */
    int term_signal; /* the signal that ended it, else 0 */
    bool timed_out;  /* mfb killed it at the deadline */
    bool cancelled;  /* mfb killed it because cancel was set */
    uint64_t elapsed_ms;
    char output[MYSQL_COMMAND_TAIL]; /* the end of its stdout and stderr */
};

/* Runs argv (argv[0] is looked up in PATH) and waits at most timeout_ms for
 * it to exit; cancel may be NULL. `what` names the command in messages
 * ("stop command"). Returns MFB_OK only for exit status 0; otherwise the
 * error says how it ended and quotes its last output lines: MFB_ERR_TIMEOUT,
 * MFB_ERR_CANCELLED, MFB_ERR_NOT_FOUND (exit 127 or no such program),
 * MFB_ERR_PERMISSION (exit 126), else MFB_ERR_MYSQL. res may be NULL. */
mfb_status mysql_command_run(const char *const argv[], const char *what, uint64_t timeout_ms,
                             const atomic_bool *cancel, struct mysql_command_result *res,
                             struct mfb_error *err);

/* Runs `/bin/sh -c command`, as mysql_command_run. */
mfb_status mysql_command_run_shell(const char *command, const char *what, uint64_t timeout_ms,
                                   const atomic_bool *cancel, struct mysql_command_result *res,
                                   struct mfb_error *err);

/* The last max_lines non-empty lines of output, trimmed and joined with
 * " | " on one line, cut to fit len. Returns buf. */
const char *mysql_command_last_lines(const char *output, size_t max_lines, char *buf, size_t len);

/* Finds a program as execvp would: a name with a slash as it is, else in
 * PATH. Writes the path to out; false when there is no executable file. */
bool mysql_command_which(const char *name, char *out, size_t len);

/* The command as a person would type it: the script of `/bin/sh -c SCRIPT`,
 * else the words joined by spaces. Returns buf. */
const char *mysql_command_display(const char *const argv[], char *buf, size_t len);

#endif
