/*
 * job_recovery_test.c - the manual recovery steps (job/backup/recovery.c) name the
 * data directory, every other root, the command that failed and what it
 * said, the error log, the commands to try for the method in use, and the
 * backup that is safe.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "job/backup/recovery.h"

static void test_command_method(void **state)
{
    struct mysql_method m = {.kind = MYSQL_METHOD_SHUTDOWN_SQL,
                             .start_cmd = "mariadbd --defaults-file=/etc/my.cnf &"};
    const char *names[] = {"datadir", "binlog"};
    const char *paths[] = {"/var/lib/mysql", "/srv/binlog"};
    struct recovery_facts f = {
        .instance = "prod",
        .datadir = "/var/lib/mysql",
        .root_names = names,
        .root_paths = paths,
        .root_count = 2,
        .method = &m,
        .failed_command = "mariadbd --defaults-file=/etc/my.cnf &",
        .failure = "the start command succeeded, but the server did not answer within 5m",
        .error_log = "/var/log/mysql/error.log",
        .socket = "/run/mysqld/mysqld.sock",
        .backup_name = "prod_20261125-193000.zip",
        .backup_id = "b_1",
    };
    char *t = recovery_text(&f);
    assert_non_null(t);
    const char *want =
        "MySQL instance 'prod' did not start again after its backup: the database server is "
        "DOWN.\n"
        "mfb only read its files; it changed none of them.\n\n"
        "Data directory: /var/lib/mysql\n"
        "Also holds server files: /srv/binlog (binlog)\n"
        "The command that failed: mariadbd --defaults-file=/etc/my.cnf &\n"
        "What happened: the start command succeeded, but the server did not answer within 5m\n"
        "Error log to read: /var/log/mysql/error.log\n"
        "The backup taken just before is safe on the receiver: prod_20261125-193000.zip (id b_1)\n"
        "\nWhat to try, in this order:\n"
        "  1. read why it stopped or failed to start: tail -n 100 '/var/log/mysql/error.log'\n"
        "  2. run the start command by hand and read what it prints: mariadbd "
        "--defaults-file=/etc/my.cnf &\n"
        "  3. check that nothing else holds the data directory (a half-stopped server): fuser -v "
        "'/var/lib/mysql'/ibdata1; ls -l '/var/lib/mysql'/*.pid\n"
        "  4. check that the files are still owned by the server's user and that the disk is not "
        "full: ls -ld '/var/lib/mysql'; df -h '/var/lib/mysql'\n"
        "  5. when it runs, check that it answers: mariadb --socket='/run/mysqld/mysqld.sock' -e "
        "'SELECT 1'\n"
        "  6. only if the files are damaged: restore the backup with 'mfb restore prod "
        "prod_20261125-193000.zip'\n"
        "  7. once the server answers, run 'mfb instance check prod'\n";
    assert_string_equal(t, want);
    free(t);
}

static void test_systemd_without_log_or_backup(void **state)
{
    struct mysql_method m = {.kind = MYSQL_METHOD_SYSTEMD, .name = "mariadb.service"};
    struct recovery_facts f = {
        .instance = "db2",
        .datadir = "/data",
        .method = &m,
        .failed_command = "systemctl start mariadb.service",
        .host = "10.0.0.5",
        .data_zip = "/spool/job-3/Data.zip",
    };
    char *t = recovery_text(&f);
    assert_non_null(strstr(t, "Error log to read: (the server logs to its standard error or the "
                              "journal)\n"));
    assert_non_null(strstr(t, "The backup taken just before is complete on this machine: "
                              "/spool/job-3/Data.zip\n"));
    assert_non_null(strstr(t, "  1. look at the unit: systemctl status mariadb.service; "
                              "journalctl -u mariadb.service -n 100\n"
                              "  2. start it: systemctl start mariadb.service\n"));
    assert_non_null(strstr(t, "mariadb -h 10.0.0.5 -P 3306 -e 'SELECT 1'"));
    assert_non_null(strstr(t, "the archive /spool/job-3/Data.zip holds them all"));
    assert_null(strstr(t, "tail -n"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_method),
        cmocka_unit_test(test_systemd_without_log_or_backup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
