/*
 * control.h - stops and starts a server with its configured method
 * (method.h), each bounded by a timeout (requirement 9.5).
 *
 * Stopping only asks the server to stop; mysql_wait_stopped (stopped.h)
 * then decides when it is really gone. A typical caller:
 *
 *     mysql_stop_watch_init(&watch, info->pid_file, info->socket, NULL, 0, err);
 *     mysql_control_stop(&method, client, stop_ms, cancel, &res, err);
 *     mysql_wait_stopped(&watch, stop_ms, cancel, &waited_ms, err);
 *     ... archive ...
 *     mysql_control_start(&method, start_ms, &res, err);
 *     mysql_conn_ping_until(&endpoint, start_ms, 0, NULL, &ping, err);
 *
 * Trade-offs:
 * - A stop may be cancelled (the command is killed); a start never is: it
 *   takes no cancel flag, because a second Ctrl-C must not leave the
 *   database down (docs/mysql.md, timeouts).
 * - A failed or timed-out command's error quotes its last output lines and
 *   names the method's own diagnostics (systemctl status, journalctl) in the
 *   hint. Whether to retry, restart or alert is the job layer's decision.
 * - With shutdown-sql, a connection dropped by SHUTDOWN counts as success:
 *   the server closing it is the expected effect.
 */
#ifndef MFB_MYSQL_CONTROL_H
#define MFB_MYSQL_CONTROL_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/status.h"
#include "mysql/command.h"
#include "mysql/connection.h"
#include "mysql/method.h"

/* Asks the server to stop. client is needed by shutdown-sql only (and is
 * unusable afterwards); cancel and res may be NULL. res->output holds the
 * command's last output. */
mfb_status mysql_control_stop(const struct mysql_method *method, struct mysql_conn *client,
                              uint64_t timeout_ms, const atomic_bool *cancel,
                              struct mysql_command_result *res, struct mfb_error *err);

/* Runs the start command of the method. Not cancellable. res may be NULL. */
mfb_status mysql_control_start(const struct mysql_method *method, uint64_t timeout_ms,
                               struct mysql_command_result *res, struct mfb_error *err);

#endif
