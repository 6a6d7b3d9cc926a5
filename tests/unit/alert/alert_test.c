/*
 * job_alert_test.c - alerts without a network: the HMAC-SHA256 signature
 * (RFC 4231 test case 2), the JSON body, the command channel (the alert in
 * its environment, a failing command's message), the retries of a failing
 * channel, and the errors of a webhook and a mail server that are not
 * there. The real listeners are in tests/integration/job_alerts.py.
 */
#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/alert.h"
#include "alert/channel.h"
#include "scratch.h"

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
    return unit_scratch_dir("alert", tmpdir, sizeof(tmpdir)) ? 0 : -1;
}

static int teardown(void **state)
{
    return unit_rmtree(tmpdir);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const struct alert sample = {
    .severity = CONFIG_SEVERITY_CRITICAL,
    .event = "server_down",
    .subject = "instance 'prod' is DOWN",
    .text = "line one\nline 'two' with $HOME and `quotes`\n",
    .instance = "prod",
    .job_id = 42,
    .job_status = "failed",
    .error = "start command failed",
    .datadir = "/var/lib/mysql",
    .time = 1764099000,
};

static void test_signature_rfc4231(void **state)
{
    char sig[128];
    assert_int_equal(
        alert_signature("Jefe", "what do ya want for nothing?", 28, sig, sizeof(sig), NULL),
        MFB_OK);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_json(void **state)
{
    json_t *j = alert_json(&sample);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "server_down");
    assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2025-11-25T19:30:00Z");
    assert_int_equal(json_integer_value(json_object_get(j, "job_id")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "datadir")), "/var/lib/mysql");
    assert_true(json_is_null(json_object_get(j, "hint")));
    assert_true(json_is_null(json_object_get(j, "backup_name")));
    assert_non_null(json_string_value(json_object_get(j, "host")));
    json_decref(j);
}

static void test_command_channel_environment(void **state)
{
    char out[PATH_MAX + 32], cmd[PATH_MAX * 3];
    snprintf(out, sizeof(out), "%s/env.txt", tmpdir);
    snprintf(cmd, sizeof(cmd),
             "printf '%%s\\n' \"$MFB_ALERT_SEVERITY\" \"$MFB_ALERT_EVENT\" \"$MFB_INSTANCE\" "
             "\"$MFB_JOB_ID\" \"$MFB_DATADIR\" \"$MFB_ERROR\" \"$MFB_ALERT_TEXT\" > '%s'",
             out);
    struct config_alert ch = {.name = "cmd", .kind = CONFIG_ALERT_COMMAND, .command = cmd};
    struct mfb_error err = {0};
    assert_int_equal(alert_send(&ch, &sample, &err), MFB_OK);
    assert_string_equal(slurp(out), "critical\nserver_down\nprod\n42\n/var/lib/mysql\nstart "
                                    "command failed\nline one\nline 'two' with $HOME and "
                                    "`quotes`\n\n");
}

static void test_command_channel_failure(void **state)
{
    struct config_alert ch = {.name = "bad",
                              .kind = CONFIG_ALERT_COMMAND,
                              .command = "echo 'no route to pager' >&2; exit 5"};
    struct mfb_error err = {0};
    assert_int_equal(alert_send(&ch, &sample, &err), MFB_ERR_MYSQL);
    assert_string_equal(err.message, "alert command of channel 'bad' failed with exit status 5: "
                                     "no route to pager");
    assert_string_equal(err.hint, "run the command by hand: echo 'no route to pager' >&2; exit 5");
}

static void test_retries_then_gives_up(void **state)
{
    char out[PATH_MAX + 32], cmd[PATH_MAX * 3];
    snprintf(out, sizeof(out), "%s/tries.txt", tmpdir);
    snprintf(cmd, sizeof(cmd), "echo try >> '%s'; exit 1", out);
    struct config_alert ch = {.name = "flaky", .kind = CONFIG_ALERT_COMMAND, .command = cmd};
    struct mfb_error err = {0};
    assert_int_equal(alert_send_retry(&ch, &sample, 3, 1, &err), MFB_ERR_MYSQL);
    assert_string_equal(slurp(out), "try\ntry\ntry\n");
    assert_string_equal(err.message, "alert command of channel 'flaky' failed with exit status 1 "
                                     "(3 attempts)");
    /* Succeeding on the second attempt is success. */
    snprintf(cmd, sizeof(cmd), "echo again >> '%s'; [ $(wc -l < '%s') -ge 5 ]", out, out);
    assert_int_equal(alert_send_retry(&ch, &sample, 3, 1, NULL), MFB_OK);
}

static void test_unreachable_webhook_and_mail(void **state)
{
    struct config_alert hook = {
        .name = "hook", .kind = CONFIG_ALERT_WEBHOOK, .url = "https://127.0.0.1:1/x"};
    struct mfb_error err = {0};
    assert_int_equal(alert_send(&hook, &sample, &err), MFB_ERR_NETWORK);
    assert_non_null(strstr(err.message, "webhook 'hook': "));
    assert_string_equal(err.hint,
                        "check that https://127.0.0.1:1/x is reachable from this machine");
    struct config_alert mail = {.name = "mail",
                                .kind = CONFIG_ALERT_EMAIL,
                                .url = "smtp://127.0.0.1:1",
                                .mail_from = "mfb@example.com",
                                .mail_to = "dba@example.com"};
    mfb_error_clear(&err);
    assert_int_equal(alert_send(&mail, &sample, &err), MFB_ERR_NETWORK);
    assert_non_null(strstr(err.message, "e-mail channel 'mail': "));
    struct config_alert incomplete = {.name = "m2", .kind = CONFIG_ALERT_EMAIL};
    mfb_error_clear(&err);
    assert_int_equal(alert_send(&incomplete, &sample, &err), MFB_ERR_INVALID);
    assert_string_equal(err.message, "e-mail channel 'm2' lacks its server, sender or recipient");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_rfc4231),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_command_channel_environment),
        cmocka_unit_test(test_command_channel_failure),
        cmocka_unit_test(test_retries_then_gives_up),
        cmocka_unit_test(test_unreachable_webhook_and_mail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
