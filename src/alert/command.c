/*
 * command.c - the command channel: `/bin/sh -c COMMAND` with the
 * alert in environment variables (MFB_ALERT_SEVERITY, MFB_ALERT_EVENT,
 * MFB_ALERT_SUBJECT, MFB_ALERT_TEXT, MFB_ALERT_JSON, MFB_INSTANCE,
 * MFB_JOB_ID, MFB_JOB_STATUS, MFB_ERROR, MFB_HINT, MFB_DATADIR,
 * MFB_BACKUP_NAME, MFB_UPLOAD_ID, MFB_HOST). Values are never put into the
 * command text, so no quoting can go wrong.
 *
 * The command runs through mysql_command_run (a timeout, its own process
 * group, the end of its output kept for the error), with `env NAME=VALUE
 * ... /bin/sh -c COMMAND` as its argv: env(1) sets the variables, so the
 * runner needs no environment parameter. Exit status 0 is success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/channel.h"
#include "mysql/command.h"

#define MAX_VARS 16

struct envs {
    char *items[MAX_VARS];
    size_t count;
};

static void add(struct envs *e, const char *name, const char *value)
{
    if (e->count >= MAX_VARS)
        return;
    size_t len = strlen(name) + 1 + (value ? strlen(value) : 0) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return;
    snprintf(s, len, "%s=%s", name, value ? value : "");
    e->items[e->count++] = s;
}

mfb_status alert_command_send(const struct config_alert *channel, const struct alert *a,
                              struct mfb_error *err)
{
    if (channel->command == NULL || channel->command[0] == '\0')
        return mfb_error_set(err, MFB_ERR_INVALID, "command channel '%s' has no command",
                             channel->name);
    struct envs e = {0};
    char job[32] = "", host[256] = "";
    if (a->job_id)
        snprintf(job, sizeof(job), "%lld", (long long)a->job_id);
    gethostname(host, sizeof(host) - 1);
    json_t *j = alert_json(a);
    char *json = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    add(&e, "MFB_ALERT_SEVERITY", config_severity_str(a->severity));
    add(&e, "MFB_ALERT_EVENT", a->event);
    add(&e, "MFB_ALERT_SUBJECT", a->subject);
    add(&e, "MFB_ALERT_TEXT", a->text);
    add(&e, "MFB_ALERT_JSON", json);
    add(&e, "MFB_INSTANCE", a->instance);
    add(&e, "MFB_JOB_ID", job);
    add(&e, "MFB_JOB_STATUS", a->job_status);
    add(&e, "MFB_ERROR", a->error);
    add(&e, "MFB_HINT", a->hint);
    add(&e, "MFB_DATADIR", a->datadir);
    add(&e, "MFB_BACKUP_NAME", a->backup_name);
    add(&e, "MFB_UPLOAD_ID", a->upload_id);
    add(&e, "MFB_HOST", host);
    free(json);

    const char *argv[MAX_VARS + 6];
    size_t n = 0;
    argv[n++] = "env";
    for (size_t i = 0; i < e.count; i++)
        argv[n++] = e.items[i];
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = channel->command;
    argv[n] = NULL;
    /* The runner's own message would quote the whole argv, alert text
     * included; the message is built here from the result instead. */
    struct mysql_command_result res;
    struct mfb_error run_err = {0};
    mfb_status st =
        mysql_command_run(argv, "alert command", ALERT_TIMEOUT_MS, NULL, &res, &run_err);
    if (st != MFB_OK) {
        char lines[512];
        mysql_command_last_lines(res.output, 3, lines, sizeof(lines));
        if (res.timed_out)
            mfb_error_set(err, st, "alert command of channel '%s' did not finish within %ds",
                          channel->name, ALERT_TIMEOUT_MS / 1000);
        else if (res.exit_code >= 0 || res.term_signal > 0)
            mfb_error_set(err, st, "alert command of channel '%s' failed with %s %d%s%s",
                          channel->name, res.term_signal ? "signal" : "exit status",
                          res.term_signal ? res.term_signal : res.exit_code, lines[0] ? ": " : "",
                          lines);
        else
            mfb_error_set(err, st, "alert command of channel '%s' could not run: %s", channel->name,
                          run_err.message);
        mfb_error_hint(err, "run the command by hand: %s", channel->command);
    }
    for (size_t i = 0; i < e.count; i++)
        free(e.items[i]);
    return st;
}
