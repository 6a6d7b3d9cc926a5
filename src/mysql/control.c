/*
 * control.c - stop and start through the configured method (see
 * control.h).
 */
#include "mysql/control.h"

#include <stdio.h>
#include <string.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "mysql/sql.h"

/* Advice for a stop or start that failed, by method. */
static void hint_for(const struct mysql_method *m, enum mysql_action action, mfb_status st,
                     struct mfb_error *err)
{
    const char *verb = mysql_action_str(action);
    if (st == MFB_ERR_CANCELLED)
        return;
    if (st == MFB_ERR_TIMEOUT) {
        mfb_error_hint(err,
                       "the %s command hangs: run it by hand to see why, or raise the %s "
                       "timeout",
                       verb, verb);
        return;
    }
    switch (m->kind) {
    case MYSQL_METHOD_SYSTEMD:
        mfb_error_hint(err, "see why with: systemctl status %s; journalctl -u %s", m->name,
                       m->name);
        break;
    case MYSQL_METHOD_SYSV:
        mfb_error_hint(err, "see why with: service %s status, and read the server's error log",
                       m->name);
        break;
    default:
        mfb_error_hint(err,
                       "run the %s command by hand to see all it prints, read the server's "
                       "error log, and correct it with --%s-cmd",
                       verb, verb);
        break;
    }
}

static mfb_status run_action(const struct mysql_method *m, enum mysql_action action,
                             uint64_t timeout_ms, const atomic_bool *cancel,
                             struct mysql_command_result *res, struct mfb_error *err)
{
    const char *argv[6];
    mysql_method_argv(m, action, argv);
    char method[300];
    mysql_method_str(m, method, sizeof(method));
    const char *what = action == MYSQL_ACTION_STOP ? "stop command" : "start command";
    mfb_status st = mysql_command_run(argv, what, timeout_ms, cancel, res, err);
    log_info("mysql_control", "action=%s method=%s status=%s elapsed_ms=%llu",
             mysql_action_str(action), method, mfb_status_str(st),
             (unsigned long long)res->elapsed_ms);
    if (st != MFB_OK)
        hint_for(m, action, st, err);
    return st;
}

static mfb_status shutdown_sql(struct mysql_conn *client, const atomic_bool *cancel,
                               struct mysql_command_result *res, struct mfb_error *err)
{
    if (client == NULL)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "shutdown-sql needs a connection");
    if (cancel_flag_raised(cancel))
        return mfb_error_set(err, MFB_ERR_CANCELLED, "SHUTDOWN was not sent: cancelled");
    uint64_t start = clock_now_ms();
    struct mfb_error e = {0};
    mfb_status st = mysql_conn_exec(client, MYSQL_SQL_SHUTDOWN, &e);
    res->elapsed_ms = clock_now_ms() - start;
    res->exit_code = st == MFB_OK ? 0 : -1;
    if (st != MFB_OK && mysql_conn_lost(client))
        st = MFB_OK; /* the server hung up on its way down */
    log_info("mysql_control", "action=stop method=shutdown-sql status=%s elapsed_ms=%llu",
             mfb_status_str(st), (unsigned long long)res->elapsed_ms);
    if (st == MFB_ERR_AUTH)
        snprintf(e.hint, sizeof(e.hint),
                 "grant the user the SHUTDOWN privilege, or choose "
                 "another --control method");
    if (st != MFB_OK)
        mysql_error_forward(err, &e);
    return st;
}

mfb_status mysql_control_stop(const struct mysql_method *method, struct mysql_conn *client,
                              uint64_t timeout_ms, const atomic_bool *cancel,
                              struct mysql_command_result *res, struct mfb_error *err)
{
    struct mysql_command_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    if (method->kind == MYSQL_METHOD_SHUTDOWN_SQL)
        return shutdown_sql(client, cancel, res, err);
    return run_action(method, MYSQL_ACTION_STOP, timeout_ms, cancel, res, err);
}

mfb_status mysql_control_start(const struct mysql_method *method, uint64_t timeout_ms,
                               struct mysql_command_result *res, struct mfb_error *err)
{
    struct mysql_command_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    return run_action(method, MYSQL_ACTION_START, timeout_ms, NULL, res, err);
}
