/*
 * method.h - how mfb stops and starts a server: the four methods of the
 * configuration (`--control`), what each one runs, and the check that it
 * can work (requirement 2.4), made before anything is saved or stopped.
 *
 *   systemd:UNIT   systemctl stop UNIT / systemctl start UNIT
 *   sysv:NAME      service NAME stop / service NAME start
 *   shutdown-sql   the SHUTDOWN statement / the --start-cmd command
 *   command        the --stop-cmd command / the --start-cmd command
 *
 * systemctl and service get their arguments as an argv (a unit name needs
 * no shell quoting); configured commands run through `/bin/sh -c`, so they
 * may use the shell's syntax. Commands are run by command.c.
 *
 * Trade-offs of the check:
 * - The systemd unit must be known to systemctl (`systemctl cat UNIT`), a
 *   SysV service must have an executable script in /etc/init.d.
 * - For a shell command only its first word can be checked (after any
 *   VAR=value prefixes): a path must be an executable file, a bare name
 *   must be found in PATH, a shell builtin is accepted. A first word with
 *   shell syntax in it ($, quotes, ...) cannot be checked without running
 *   it, and is accepted.
 */
#ifndef MFB_MYSQL_METHOD_H
#define MFB_MYSQL_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define MYSQL_INITD_DIR "/etc/init.d"

enum mysql_method_kind {
    MYSQL_METHOD_SYSTEMD,
    MYSQL_METHOD_SYSV,
    MYSQL_METHOD_SHUTDOWN_SQL,
    MYSQL_METHOD_COMMAND,
};

enum mysql_action { MYSQL_ACTION_STOP, MYSQL_ACTION_START };

struct mysql_method {
    enum mysql_method_kind kind;
    char *name;      /* the systemd unit or SysV service; NULL for the others */
    char *start_cmd; /* shell command: shutdown-sql and command */
    char *stop_cmd;  /* shell command: command only */
};

/* Parses a --control value with its --start-cmd and --stop-cmd (either may
 * be NULL). Refuses a missing command and a command the method does not
 * use, so a mistake shows at once. Fills *method; release with
 * mysql_method_free. */
mfb_status mysql_method_parse(const char *spec, const char *start_cmd, const char *stop_cmd,
                              struct mysql_method *method, struct mfb_error *err);

void mysql_method_free(struct mysql_method *method);

/* The method as --control spells it ("systemd:mariadb"). Returns buf. */
const char *mysql_method_str(const struct mysql_method *method, char *buf, size_t len);

/* "stop" or "start". */
const char *mysql_action_str(enum mysql_action action);

/* The argv that performs action, NULL-terminated and pointing into method
 * or at constants; argv[0] is NULL when the action is the SHUTDOWN
 * statement instead. */
void mysql_method_argv(const struct mysql_method *method, enum mysql_action action,
                       const char *argv[6]);

/* Checks that the method can work on this machine (see above); commands it
 * runs (systemctl cat) are bounded by timeout_ms. */
mfb_status mysql_method_check(const struct mysql_method *method, uint64_t timeout_ms,
                              struct mfb_error *err);

/* Checks the first word of a shell command; what names it in messages
 * ("start command"). */
mfb_status mysql_method_check_shell(const char *command, const char *what, struct mfb_error *err);

#endif
