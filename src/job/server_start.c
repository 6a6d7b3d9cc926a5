/*
 * server_start.c - start the server again and verify it (see
 * server_start.h).
 */
#include "job/server_start.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "mysql/command.h"
#include "mysql/control.h"
#include "transfer/backoff.h"

#define QUICK_PING_MS 3000    /* after a failed start: does it answer anyway? */
#define VERIFY_INTERVAL_MS 25 /* between connection attempts after a start */

uint64_t server_start_timeout(const struct job_instance *inst, enum config_timeout t)
{
    uint64_t ms = inst->record.timeout_ms[t];
    return ms ? ms : config_timeout_default(t);
}

const char *server_start_command(const struct job_instance *inst, char *buf, size_t len)
{
    const char *argv[6];
    mysql_method_argv(&inst->method, MYSQL_ACTION_START, argv);
    if (argv[0] == NULL)
        snprintf(buf, len, "(none)");
    else
        mysql_command_display(argv, buf, len);
    return buf;
}

mfb_status server_start_verify(struct job_journal *j, const struct job_instance *inst,
                               struct server_start *out, struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    struct mfb_error e = {0};
    journal_step_begin(j, JOB_STEP_START, 0);
    struct mysql_command_result cres;
    mfb_status st = mysql_control_start(
        &inst->method, server_start_timeout(inst, CONFIG_TIMEOUT_START), &cres, &e);
    journal_step_end(j, JOB_STEP_START);
    bool start_ok = st == MFB_OK;
    if (!start_ok) {
        server_start_command(inst, out->failed_command, sizeof(out->failed_command));
        snprintf(out->failure, sizeof(out->failure), "%s", e.message);
        journal_error(j, "start", &e);
        mfb_error_copy(err, &e);
    }
    journal_step_begin(j, JOB_STEP_VERIFY, 0);
    struct mysql_ping_result ping = {0};
    struct mfb_error pe = {0};
    mfb_status ps = mysql_conn_ping_until(
        &inst->endpoint,
        start_ok ? server_start_timeout(inst, CONFIG_TIMEOUT_VERIFY) : QUICK_PING_MS,
        VERIFY_INTERVAL_MS, NULL, &ping, &pe);
    out->up_ms = clock_now_ms();
    journal_step_end(j, JOB_STEP_VERIFY);
    if (ps == MFB_OK) {
        out->up = true;
        out->attempts = ping.attempts;
        out->failed_command[0] = out->failure[0] = '\0';
        return MFB_OK;
    }
    if (start_ok) {
        server_start_command(inst, out->failed_command, sizeof(out->failed_command));
        snprintf(out->failure, sizeof(out->failure), "the start command succeeded, but %s",
                 pe.message);
        journal_error(j, "verify", &pe);
        mfb_error_copy(err, &pe);
    }
    return start_ok ? ps : st;
}
