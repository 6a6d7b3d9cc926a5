/*
 * mysql_method_test.c - tests of src/mysql/method.c: parsing --control with
 * its commands, what each method runs, and the checks made before a
 * configuration is saved (requirement 2.4).
 *
 * No systemd runs where the tests run, so systemd and SysV are tested for
 * the commands they build and for the "not known" checks; they are run for
 * real only through the command and shutdown-sql methods (mysql_server_test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "mysql/command.h"
#include "mysql/method.h"

static void assert_argv(const char *const argv[6], const char *const expect[])
{
    size_t i = 0;
    for (; expect[i] != NULL; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], expect[i]);
    }
    assert_null(argv[i]);
}

static void test_parse_systemd_sysv(void **state)
{
    struct mysql_method m;
    const char *argv[6];
    char buf[64];
    assert_int_equal(mysql_method_parse("systemd:mariadb.service", NULL, NULL, &m, NULL), MFB_OK);
    assert_int_equal(m.kind, MYSQL_METHOD_SYSTEMD);
    assert_string_equal(mysql_method_str(&m, buf, sizeof(buf)), "systemd:mariadb.service");
    mysql_method_argv(&m, MYSQL_ACTION_STOP, argv);
    assert_argv(
        argv, (const char *[]){"systemctl", "--no-ask-password", "stop", "mariadb.service", NULL});
    mysql_method_argv(&m, MYSQL_ACTION_START, argv);
    assert_argv(
        argv, (const char *[]){"systemctl", "--no-ask-password", "start", "mariadb.service", NULL});
    mysql_method_free(&m);

    assert_int_equal(mysql_method_parse("systemd:mysql@replica-2", "", NULL, &m, NULL), MFB_OK);
    assert_string_equal(m.name, "mysql@replica-2");
    mysql_method_free(&m);

    assert_int_equal(mysql_method_parse("sysv:mysql", NULL, NULL, &m, NULL), MFB_OK);
    assert_int_equal(m.kind, MYSQL_METHOD_SYSV);
    mysql_method_argv(&m, MYSQL_ACTION_STOP, argv);
    assert_argv(argv, (const char *[]){"service", "mysql", "stop", NULL});
    mysql_method_argv(&m, MYSQL_ACTION_START, argv);
    assert_argv(argv, (const char *[]){"service", "mysql", "start", NULL});
    assert_string_equal(mysql_method_str(&m, buf, sizeof(buf)), "sysv:mysql");
    mysql_method_free(&m);
}

static void test_parse_commands(void **state)
{
    struct mysql_method m;
    const char *argv[6];
    assert_int_equal(
        mysql_method_parse("shutdown-sql", "mariadbd --defaults-file=/x &", NULL, &m, NULL),
        MFB_OK);
    assert_int_equal(m.kind, MYSQL_METHOD_SHUTDOWN_SQL);
    mysql_method_argv(&m, MYSQL_ACTION_STOP, argv);
    assert_null(argv[0]); /* the SHUTDOWN statement */
    mysql_method_argv(&m, MYSQL_ACTION_START, argv);
    assert_argv(argv, (const char *[]){"/bin/sh", "-c", "mariadbd --defaults-file=/x &", NULL});
    mysql_method_free(&m);

    assert_int_equal(mysql_method_parse("command", "start-it", "stop-it", &m, NULL), MFB_OK);
    mysql_method_argv(&m, MYSQL_ACTION_STOP, argv);
    assert_argv(argv, (const char *[]){"/bin/sh", "-c", "stop-it", NULL});
    mysql_method_argv(&m, MYSQL_ACTION_START, argv);
    assert_argv(argv, (const char *[]){"/bin/sh", "-c", "start-it", NULL});
    mysql_method_free(&m);
}

static void expect_usage(const char *spec, const char *start, const char *stop, const char *message,
                         const char *hint)
{
    struct mysql_method m;
    struct mfb_error err = {0};
    assert_int_equal(mysql_method_parse(spec, start, stop, &m, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, message);
    assert_string_equal(err.hint, hint);
    assert_null(m.name);
    assert_null(m.start_cmd);
    assert_null(m.stop_cmd);
}

static void test_parse_errors(void **state)
{
    expect_usage("upstart:mysql", NULL, NULL, "unknown stop/start method 'upstart:mysql'",
                 "use systemd:UNIT, sysv:NAME, shutdown-sql or command");
    expect_usage(NULL, NULL, NULL, "no stop/start method given",
                 "use systemd:UNIT, sysv:NAME, shutdown-sql or command");
    expect_usage("systemd:", NULL, NULL, "invalid systemd unit name in the stop/start method",
                 "give the unit's name, as in systemd:mariadb");
    expect_usage("systemd:a b", NULL, NULL, "invalid systemd unit name in the stop/start method",
                 "give the unit's name, as in systemd:mariadb");
    expect_usage("sysv:../x", NULL, NULL, "invalid SysV service name in the stop/start method",
                 "give the script's name in /etc/init.d, as in sysv:mysql");
    expect_usage("shutdown-sql", NULL, NULL,
                 "the stop/start method shutdown-sql needs a start command",
                 "give the command that starts the server with --start-cmd");
    expect_usage("command", "start-it", "  ", "the stop/start method command needs a stop command",
                 "give the command that stops the server with --stop-cmd");
    expect_usage("systemd:mariadb", "x", NULL,
                 "the stop/start method systemd:mariadb does not use a start command",
                 "leave out --start-cmd, or use --control shutdown-sql or command");
    expect_usage("shutdown-sql", "x", "y",
                 "the stop/start method shutdown-sql does not use a stop command",
                 "leave out --stop-cmd, or use --control command");
}

static void test_check_systemd_sysv(void **state)
{
    struct mysql_method m;
    struct mfb_error err = {0};
    char path[4096];
    assert_int_equal(mysql_method_parse("systemd:nosuch-mfb-test.service", NULL, NULL, &m, NULL),
                     MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, &err), MFB_ERR_NOT_FOUND);
    if (mysql_command_which("systemctl", path, sizeof(path))) {
        const char *prefix = "systemd unit 'nosuch-mfb-test.service' is not known: ";
        assert_memory_equal(err.message, prefix, strlen(prefix));
        assert_true(strlen(err.message) > strlen(prefix)); /* systemctl's own words follow */
        assert_string_equal(err.hint, "list the server's units with: systemctl list-unit-files "
                                      "| grep -i -e mysql -e mariadb");
    } else {
        assert_string_equal(err.message, "systemctl is not installed, so the systemd unit "
                                         "'nosuch-mfb-test.service' cannot be used");
    }
    mysql_method_free(&m);

    mfb_error_clear(&err);
    assert_int_equal(mysql_method_parse("sysv:nosuch-mfb-test", NULL, NULL, &m, NULL), MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "SysV service 'nosuch-mfb-test' is not known: "
                                     "/etc/init.d/nosuch-mfb-test is not an executable script");
    assert_string_equal(err.hint, "list the services with: ls /etc/init.d");
    mysql_method_free(&m);
}

static void test_check_commands(void **state)
{
    struct mysql_method m;
    struct mfb_error err = {0};
    assert_int_equal(mysql_method_parse("command", "/nonexistent/mariadbd --defaults-file=/x",
                                        "kill $(cat /run/x.pid)", &m, NULL),
                     MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message,
                        "the start command '/nonexistent/mariadbd --defaults-file=/x' cannot run: "
                        "'/nonexistent/mariadbd': No such file or directory");
    assert_string_equal(err.hint, "correct the path of the program in the start command");
    mysql_method_free(&m);

    assert_int_equal(mysql_method_parse("shutdown-sql", "sh -c 'mariadbd &'", NULL, &m, NULL),
                     MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, NULL), MFB_OK);
    mysql_method_free(&m);
}

static void test_check_shell_first_word(void **state)
{
    struct mfb_error err = {0};
    assert_int_equal(mysql_method_check_shell("LANG=C TZ=UTC sh -c true", "stop command", NULL),
                     MFB_OK);
    assert_int_equal(mysql_method_check_shell("  /bin/sh -c true", "stop command", NULL), MFB_OK);
    assert_int_equal(mysql_method_check_shell("exec mariadbd", "start command", NULL), MFB_OK);
    /* Shell syntax in the first word: cannot be judged without running it. */
    assert_int_equal(mysql_method_check_shell("\"$HOME/bin/start db\"", "start command", NULL),
                     MFB_OK);

    assert_int_equal(
        mysql_method_check_shell("A=1 no-such-program-mfb --now", "stop command", &err),
        MFB_ERR_NOT_FOUND);
    const char *prefix = "the stop command 'A=1 no-such-program-mfb --now' cannot run: "
                         "'no-such-program-mfb' is not found in PATH (";
    assert_memory_equal(err.message, prefix, strlen(prefix));
    assert_string_equal(err.hint, "give the full path of the program, or install it");

    mfb_error_clear(&err);
    assert_int_equal(mysql_method_check_shell("/etc/passwd x", "stop command", &err),
                     MFB_ERR_PERMISSION);
    assert_string_equal(err.message, "the stop command '/etc/passwd x' cannot run: "
                                     "'/etc/passwd' is not an executable file");
    mfb_error_clear(&err);
    assert_int_equal(mysql_method_check_shell("   ", "stop command", &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "the stop command is empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_systemd_sysv), cmocka_unit_test(test_parse_commands),
        cmocka_unit_test(test_parse_errors),       cmocka_unit_test(test_check_systemd_sysv),
        cmocka_unit_test(test_check_commands),     cmocka_unit_test(test_check_shell_first_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
