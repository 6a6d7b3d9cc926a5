/*
 * mysql_server_test.c - src/mysql/ against a real MariaDB server: connect,
 * discovery, pre-flush, and stopping and starting it with each method that
 * can run without systemd (shutdown-sql and command), including the failure
 * paths of docs/mysql.md (timeouts and cancellation).
 *
 * The server comes from tests/integration/mysql_server.py, which starts a
 * throwaway MariaDB with the harness (tests/lib/mariadb.py) and runs this
 * program with the harness's MFB_MARIADB_* variables set. Run alone (as
 * CTest's unit pass does) there is no server, and every test is skipped.
 *
 * Every test leaves the server running and answering (the teardown starts
 * it again if a test stopped it), so the tests do not depend on each other;
 * the Python side stops it at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "mysql_unit.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "mysql/connection.h"
#include "mysql/control.h"
#include "mysql/discover.h"
#include "mysql/preflush.h"
#include "mysql/stopped.h"

#define CONNECT_MS 10000
#define START_MS 120000

struct server {
    const char *socket;
    unsigned port;
    const char *user;
    char *password;
    const char *pid_file;
    const char *datadir;
    const char *binlog_dir; /* where the wrapper put the binary logs, or NULL */
    char start_cmd[1024];
    struct mysql_endpoint ep;
};

static int group_setup(void **state)
{
    *state = NULL;
    const char *socket = getenv("MFB_MARIADB_SOCKET");
    if (socket == NULL)
        return 0; /* no server: each test skips */
    struct server *s = calloc(1, sizeof(*s));
    s->socket = socket;
    s->port = (unsigned)atoi(getenv("MFB_MARIADB_PORT"));
    s->user = getenv("MFB_MARIADB_USER");
    s->pid_file = getenv("MFB_MARIADB_PID_FILE");
    s->datadir = getenv("MFB_MARIADB_DATADIR");
    s->binlog_dir = getenv("MFB_TEST_MYSQL_BINLOG_DIR");
    snprintf(s->start_cmd, sizeof(s->start_cmd), "mariadbd --defaults-file=%s &",
             getenv("MFB_MARIADB_SERVER_CNF"));
    struct mfb_error err = {0};
    if (fs_read_secret(getenv("MFB_MARIADB_PASSWORD_FILE"), &s->password, &err) != MFB_OK) {
        mfb_error_print(&err, "mysql_server_test");
        return -1;
    }
    s->ep = (struct mysql_endpoint){.socket = s->socket, .user = s->user, .password = s->password};
    *state = s;
    return 0;
}

static int group_teardown(void **state)
{
    struct server *s = *state;
    if (s != NULL) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
        free(s);
    }
    return 0;
}

static struct server *need_server(void **state)
{
    if (*state == NULL)
        skip();
    return *state;
}

static struct mysql_conn *connect_ok(struct server *s)
{
    struct mysql_conn *c = NULL;
    struct mfb_error err = {0};
    if (mysql_conn_connect(&s->ep, CONNECT_MS, &c, &err) != MFB_OK)
        fail_msg("connect: %s", err.message);
    return c;
}

static void exec_ok(struct mysql_conn *c, const char *sql)
{
    struct mfb_error err = {0};
    if (mysql_conn_exec(c, sql, &err) != MFB_OK)
        fail_msg("%s", err.message);
}

/* Teardown of the tests that stop the server: start it again if it does
 * not answer, so the next test (and the harness) find it running. */
static int ensure_running(void **state)
{
    struct server *s = *state;
    if (s == NULL)
        return 0;
    if (mysql_conn_ping_until(&s->ep, 500, 100, NULL, NULL, NULL) == MFB_OK)
        return 0;
    struct mfb_error err = {0};
    if (mysql_command_run_shell(s->start_cmd, "start command", START_MS, NULL, NULL, &err) !=
            MFB_OK ||
        mysql_conn_ping_until(&s->ep, START_MS, 100, NULL, NULL, &err) != MFB_OK) {
        mfb_error_print(&err, "mysql_server_test");
        return -1;
    }
    return 0;
}

static void test_connect_and_query(void **state)
{
    struct server *s = need_server(state);
    struct mysql_conn *c = connect_ok(s);
    struct mfb_error err = {0};
    char *v = NULL;
    assert_int_equal(mysql_conn_query_value(c, "SELECT 40 + 2", &v, NULL), MFB_OK);
    assert_string_equal(v, "42");
    free(v);
    assert_int_equal(mysql_conn_query_value(c, "SELECT NULL", &v, NULL), MFB_OK);
    assert_null(v);

    struct mysql_rows *rows = NULL;
    assert_int_equal(mysql_conn_query(c, "SELECT 1, 'a' UNION ALL SELECT 2, NULL", &rows, NULL),
                     MFB_OK);
    assert_int_equal(rows->count, 2);
    assert_int_equal(rows->columns, 2);
    assert_string_equal(mysql_rows_cell(rows, 1, 0), "2");
    assert_null(mysql_rows_cell(rows, 1, 1));
    mysql_rows_free(rows);

    assert_int_equal(mysql_conn_query_row(c, "SELECT 1 FROM DUAL WHERE 0", &rows, &err),
                     MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "'SELECT 1 FROM DUAL WHERE 0' returned no row");

    mfb_error_clear(&err);
    assert_int_equal(mysql_conn_exec(c, "SELEC 1", &err), MFB_ERR_MYSQL);
    char prefix[300];
    snprintf(prefix, sizeof(prefix),
             "'SELEC 1' failed at socket '%s': You have an error in your "
             "SQL syntax",
             s->socket);
    assert_memory_equal(err.message, prefix, strlen(prefix));
    assert_non_null(strstr(err.message, "(error 1064)"));
    assert_false(mysql_conn_lost(c));
    mysql_conn_close(c);

    /* The same server over TCP. */
    struct mysql_endpoint tcp = s->ep;
    tcp.host = "127.0.0.1";
    tcp.port = s->port;
    assert_int_equal(mysql_conn_connect(&tcp, CONNECT_MS, &c, &err), MFB_OK);
    char where[64];
    snprintf(where, sizeof(where), "127.0.0.1:%u", s->port);
    assert_string_equal(mysql_conn_where(c), where);
    mysql_conn_close(c);
}

static void test_wrong_password(void **state)
{
    struct server *s = need_server(state);
    struct mysql_endpoint ep = s->ep;
    ep.password = "not-the-password";
    struct mysql_conn *c = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_conn_connect(&ep, CONNECT_MS, &c, &err), MFB_ERR_AUTH);
    assert_null(c);
    char expect[300];
    snprintf(expect, sizeof(expect), "access denied for user '%s' at socket '%s'", s->user,
             s->socket);
    assert_string_equal(err.message, expect);
    snprintf(expect, sizeof(expect),
             "check the password in the file given with --password-file, and that the user '%s' "
             "exists for the host mfb connects from (SELECT user, host FROM mysql.user)",
             s->user);
    assert_string_equal(err.hint, expect);

    /* Refused credentials end the availability check at once. */
    mfb_error_clear(&err);
    struct mysql_ping_result ping;
    assert_int_equal(mysql_conn_ping_until(&ep, 30000, 100, NULL, &ping, &err), MFB_ERR_AUTH);
    assert_int_equal(ping.attempts, 1);
}

struct ext_dirs {
    struct server *s;
    char innodb[512]; /* DATA DIRECTORY of an InnoDB table */
    char aria[512];   /* DATA DIRECTORY of an Aria table: symlinks in the datadir */
};

static int ext_setup(void **state)
{
    struct server *s = *state;
    if (s == NULL)
        return 0;
    struct ext_dirs *x = calloc(1, sizeof(*x));
    x->s = s;
    if (!unit_scratch_dir("mysql_ext", x->innodb, sizeof(x->innodb)) ||
        !unit_scratch_dir("mysql_aria", x->aria, sizeof(x->aria)))
        return -1;
    *state = x;
    return 0;
}

static int ext_teardown(void **state)
{
    struct ext_dirs *x = *state;
    if (x == NULL || x->s == NULL)
        return 0;
    struct mysql_conn *c = NULL;
    if (mysql_conn_connect(&x->s->ep, CONNECT_MS, &c, NULL) == MFB_OK) {
        mysql_conn_exec(c, "DROP DATABASE IF EXISTS mfb_disc", NULL);
        mysql_conn_exec(c, "DROP USER IF EXISTS 'mfb_noproc'@'localhost'", NULL);
    }
    mysql_conn_close(c);
    unit_rmtree(x->innodb);
    unit_rmtree(x->aria);
    *state = x->s;
    free(x);
    return 0;
}

static const struct mysql_root *root_named(const struct mysql_server_info *info, const char *name)
{
    for (size_t i = 0; i < info->roots.count; i++)
        if (strcmp(info->roots.roots[i].name, name) == 0)
            return &info->roots.roots[i];
    return NULL;
}

static const struct mysql_root *root_at(const struct mysql_server_info *info, const char *path)
{
    for (size_t i = 0; i < info->roots.count; i++)
        if (strcmp(info->roots.roots[i].path, path) == 0)
            return &info->roots.roots[i];
    return NULL;
}

static void test_discovery(void **state)
{
    if (*state == NULL)
        skip();
    struct ext_dirs *x = *state;
    struct server *s = x->s;
    struct mysql_conn *c = connect_ok(s);
    char sql[1200];
    exec_ok(c, "CREATE DATABASE mfb_disc");
    snprintf(sql, sizeof(sql),
             "CREATE TABLE mfb_disc.t (id INT PRIMARY KEY) ENGINE=InnoDB DATA DIRECTORY='%s'",
             x->innodb);
    exec_ok(c, sql);
    exec_ok(c, "INSERT INTO mfb_disc.t VALUES (1), (2)");
    snprintf(sql, sizeof(sql), "CREATE TABLE mfb_disc.a (id INT) ENGINE=Aria DATA DIRECTORY='%s'",
             x->aria);
    exec_ok(c, sql);

    struct mysql_server_info *info = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_discover(c, &info, &err), MFB_OK);
    assert_int_equal(info->flavour, MYSQL_FLAVOUR_MARIADB);
    assert_non_null(strstr(info->version, "MariaDB"));
    assert_true(info->version_major >= 10);
    assert_null(info->server_uuid);
    assert_true(info->innodb_fast_shutdown >= 0 && info->innodb_fast_shutdown <= 2);
    assert_string_equal(info->socket, s->socket);
    assert_int_equal(info->port, s->port);
    char *canon = NULL;
    assert_int_equal(mysql_path_resolve(NULL, s->pid_file, &canon, NULL), MFB_OK);
    assert_string_equal(info->pid_file, canon);
    free(canon);

    /* The datadir, as its own root. */
    assert_int_equal(mysql_path_resolve(NULL, s->datadir, &canon, NULL), MFB_OK);
    assert_string_equal(info->datadir, canon);
    const struct mysql_root *r = root_named(info, "datadir");
    assert_non_null(r);
    assert_string_equal(r->path, canon);
    free(canon);

    /* The binary logs, kept outside the datadir by the wrapper. */
    if (s->binlog_dir != NULL) {
        assert_true(info->log_bin);
        assert_int_equal(mysql_path_resolve(NULL, s->binlog_dir, &canon, NULL), MFB_OK);
        r = root_named(info, "binlog");
        assert_non_null(r);
        assert_string_equal(r->path, canon);
        free(canon);
        /* Writes happened, so the GTID position is not empty. */
        assert_true(strlen(info->gtid) > 0);
    }

    /* The InnoDB table's directory, from INFORMATION_SCHEMA and the .isl file. */
    char want[600];
    assert_int_equal(mysql_path_resolve(NULL, x->innodb, &canon, NULL), MFB_OK);
    snprintf(want, sizeof(want), "%s/mfb_disc", canon);
    free(canon);
    r = root_at(info, want);
    assert_non_null(r);
    assert_memory_equal(r->name, "tablespace-", 11);
    assert_non_null(strstr(r->why, "information_schema.INNODB_SYS_TABLESPACES: mfb_disc/t"));
    bool isl_seen = false;
    for (size_t i = 0; i < info->roots.location_count; i++)
        isl_seen |= strstr(info->roots.locations[i].why, "mfb_disc/t.isl") != NULL;
    /* The same kind and path found again is not listed twice. */
    assert_false(isl_seen);

    /* The Aria table's directory, through the symbolic links in the datadir. */
    assert_int_equal(mysql_path_resolve(NULL, x->aria, &canon, NULL), MFB_OK);
    r = root_at(info, canon);
    free(canon);
    assert_non_null(r);
    assert_memory_equal(r->why, "symbolic link mfb_disc/a.MA", 27);

    /* The manifest metadata says the same. */
    json_t *j = info->json;
    assert_string_equal(json_string_value(json_object_get(j, "flavour")), "mariadb");
    assert_string_equal(json_string_value(json_object_get(j, "version")), info->version);
    assert_true(json_is_null(json_object_get(j, "server_uuid")));
    assert_true(json_is_string(json_object_get(json_object_get(j, "gtid"), "gtid_current_pos")));
    assert_int_equal(json_integer_value(json_object_get(j, "innodb_fast_shutdown")),
                     info->innodb_fast_shutdown);
    assert_int_equal(json_array_size(json_object_get(j, "roots")), info->roots.count);
    assert_int_equal(json_array_size(json_object_get(j, "locations")), info->roots.location_count);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "variables"), "datadir")),
        mysql_rows_lookup(info->variables, "datadir"));
    mysql_server_info_free(info);

    /* Without the PROCESS privilege discovery fails rather than miss files. */
    exec_ok(c, "CREATE USER 'mfb_noproc'@'localhost' IDENTIFIED BY 'noproc-pw'");
    exec_ok(c, "GRANT SELECT ON *.* TO 'mfb_noproc'@'localhost'");
    mysql_conn_close(c);
    struct mysql_endpoint weak = {
        .socket = s->socket, .user = "mfb_noproc", .password = "noproc-pw"};
    assert_int_equal(mysql_conn_connect(&weak, CONNECT_MS, &c, NULL), MFB_OK);
    assert_int_equal(mysql_discover(c, &info, &err), MFB_ERR_AUTH);
    assert_null(info);
    assert_string_equal(err.message,
                        "the server refused 'SELECT NAME, FILENAME FROM "
                        "information_schema.INNODB_SYS_TABLESPACES WHERE NAME <> "
                        "'innodb_temporary'' for user 'mfb_noproc': Access denied; you need (at "
                        "least one of) the PROCESS privilege(s) for this operation");
    assert_string_equal(err.hint, "grant the user the PROCESS privilege: mfb reads "
                                  "information_schema.INNODB_SYS_TABLESPACES to find the "
                                  "tablespaces outside the data directory");
    mysql_conn_close(c);
}

struct tunables {
    char io[32], io_max[32], pct[32], lwm[32];
};

static void read_tunables(struct mysql_conn *c, struct tunables *t)
{
    struct mysql_rows *row = NULL;
    assert_int_equal(mysql_conn_query_row(c,
                                          "SELECT @@innodb_io_capacity, "
                                          "@@innodb_io_capacity_max, "
                                          "@@innodb_max_dirty_pages_pct, "
                                          "@@innodb_max_dirty_pages_pct_lwm",
                                          &row, NULL),
                     MFB_OK);
    snprintf(t->io, sizeof(t->io), "%s", mysql_rows_cell(row, 0, 0));
    snprintf(t->io_max, sizeof(t->io_max), "%s", mysql_rows_cell(row, 0, 1));
    snprintf(t->pct, sizeof(t->pct), "%s", mysql_rows_cell(row, 0, 2));
    snprintf(t->lwm, sizeof(t->lwm), "%s", mysql_rows_cell(row, 0, 3));
    mysql_rows_free(row);
}

static void assert_tunables(struct mysql_conn *c, const struct tunables *want)
{
    struct tunables now;
    read_tunables(c, &now);
    assert_string_equal(now.io, want->io);
    assert_string_equal(now.io_max, want->io_max);
    assert_string_equal(now.pct, want->pct);
    assert_string_equal(now.lwm, want->lwm);
}

/* Keeps writing, so that there are always dirty pages. */
struct writer {
    struct server *s;
    atomic_bool stop;
    unsigned rows;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct mysql_conn *c = NULL;
    if (mysql_conn_connect(&w->s->ep, CONNECT_MS, &c, NULL) != MFB_OK)
        return NULL;
    while (!atomic_load(&w->stop) &&
           mysql_conn_exec(c,
                           "INSERT INTO mfb_flush.t (v) SELECT REPEAT('x', 200) FROM "
                           "mfb_flush.seq_1_to_500",
                           NULL) == MFB_OK)
        w->rows += 500;
    mysql_conn_close(c);
    return NULL;
}

static void *cancel_later(void *arg)
{
    clock_sleep_ms(300, NULL);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

static void test_preflush(void **state)
{
    struct server *s = need_server(state);
    struct mysql_conn *c = connect_ok(s);
    /* Settings that are not the defaults, so a restore cannot pass by luck. */
    exec_ok(c, "SET GLOBAL innodb_io_capacity = 300");
    exec_ok(c, "SET GLOBAL innodb_io_capacity_max = 2500");
    exec_ok(c, "SET GLOBAL innodb_max_dirty_pages_pct = 75.5");
    exec_ok(c, "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 10");
    const struct tunables custom = {"300", "2500", "75.500000", "10.000000"};
    assert_tunables(c, &custom);
    exec_ok(c, "CREATE DATABASE mfb_flush");
    exec_ok(c, "CREATE TABLE mfb_flush.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(250))");
    exec_ok(c, "INSERT INTO mfb_flush.t (v) SELECT REPEAT('x', 200) FROM mfb_flush.seq_1_to_20000");

    /* 1. Flush to zero, at innodb_io_capacity_max. */
    struct mysql_preflush_options opt = {.dirty_pages_target = 0, .timeout_ms = 60000};
    struct mysql_preflush_result res;
    struct mfb_error err = {0};
    assert_int_equal(mysql_preflush(c, &opt, &res, &err), MFB_OK);
    assert_true(res.reached);
    assert_int_equal(res.pages_after, 0);
    assert_true(res.changed && res.restored);
    assert_int_equal(res.io_capacity_used, 2500);
    assert_string_equal(res.old_io_capacity, "300");
    assert_string_equal(res.old_io_capacity_max, "2500");
    assert_string_equal(res.old_max_dirty_pages_pct, "75.500000");
    assert_string_equal(res.old_max_dirty_pages_pct_lwm, "10.000000");
    assert_tunables(c, &custom);

    /* 2. A rate above the maximum raises the maximum too; the timeout
     * passes while a writer keeps pages dirty (or the target is reached
     * anyway): either way everything is put back. */
    struct writer w = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
    clock_sleep_ms(200, NULL);
    opt = (struct mysql_preflush_options){
        .io_capacity = 5000, .dirty_pages_target = 0, .timeout_ms = 300, .poll_interval_ms = 50};
    assert_int_equal(mysql_preflush(c, &opt, &res, &err), MFB_OK);
    assert_int_equal(res.io_capacity_used, 5000);
    assert_true(res.restored);
    assert_tunables(c, &custom);

    /* 3. Cancelled while waiting: still put back. */
    atomic_bool cancel = false;
    pthread_t canceller;
    assert_int_equal(pthread_create(&canceller, NULL, cancel_later, &cancel), 0);
    opt = (struct mysql_preflush_options){
        .dirty_pages_target = 0, .timeout_ms = 60000, .poll_interval_ms = 20, .cancel = &cancel};
    mfb_status st = mysql_preflush(c, &opt, &res, &err);
    pthread_join(canceller, NULL);
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    assert_true(w.rows > 0);
    assert_true(st == MFB_ERR_CANCELLED || (st == MFB_OK && res.reached));
    if (st == MFB_ERR_CANCELLED)
        assert_memory_equal(err.message, "pre-flush cancelled with ", 25);
    assert_true(res.restored);
    assert_tunables(c, &custom);

    /* 4. Cancelled before it began: nothing is touched. */
    mfb_error_clear(&err);
    assert_int_equal(mysql_preflush(c, &opt, &res, &err), MFB_ERR_CANCELLED);
    assert_string_equal(err.message, "pre-flush cancelled before it began");
    assert_false(res.changed);

    mysql_conn_close(c);
}

/* Puts the server as the harness made it, whatever test_preflush did. */
static int preflush_teardown(void **state)
{
    struct server *s = *state;
    struct mysql_conn *c = NULL;
    if (s == NULL || mysql_conn_connect(&s->ep, CONNECT_MS, &c, NULL) != MFB_OK)
        return 0;
    const char *sql[] = {
        "DROP DATABASE IF EXISTS mfb_flush", "SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0",
        "SET GLOBAL innodb_max_dirty_pages_pct = 90", "SET GLOBAL innodb_io_capacity = 200",
        "SET GLOBAL innodb_io_capacity_max = 2000"};
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        mysql_conn_exec(c, sql[i], NULL);
    mysql_conn_close(c);
    return 0;
}

/* Stops the server with a method, waits until it is gone, starts it with
 * the same method and waits until it answers. */
static void stop_wait_start(struct server *s, const struct mysql_method *m)
{
    struct mysql_conn *c = connect_ok(s);
    struct mysql_server_info *info = NULL;
    struct mfb_error err = {0};
    assert_int_equal(mysql_discover(c, &info, &err), MFB_OK);
    struct mysql_stop_watch watch;
    assert_int_equal(
        mysql_stop_watch_init(&watch, info->pid_file, info->socket, "127.0.0.1", info->port, &err),
        MFB_OK);
    assert_true(watch.pid > 0);
    struct mysql_server_presence p;
    mysql_server_presence(&watch, &p);
    assert_true(p.process && p.pid_file && p.socket && p.tcp);

    struct mysql_command_result res;
    if (mysql_control_stop(m, c, 60000, NULL, &res, &err) != MFB_OK)
        fail_msg("stop: %s", err.message);
    mysql_conn_close(c);
    uint64_t waited = 0;
    if (mysql_wait_stopped(&watch, 120000, NULL, &waited, &err) != MFB_OK)
        fail_msg("wait: %s", err.message);
    mysql_server_presence(&watch, &p);
    assert_true(mysql_server_gone(&p));
    assert_int_equal(mysql_conn_connect(&s->ep, 1000, &c, NULL), MFB_ERR_NETWORK);

    if (mysql_control_start(m, START_MS, &res, &err) != MFB_OK)
        fail_msg("start: %s", err.message);
    struct mysql_ping_result ping;
    if (mysql_conn_ping_until(&s->ep, START_MS, 50, NULL, &ping, &err) != MFB_OK)
        fail_msg("ping: %s", err.message);
    assert_true(ping.attempts >= 1);
    mysql_server_info_free(info);

    /* A new process: its pid file names another pid. */
    pid_t pid = 0;
    assert_int_equal(mysql_pid_file_read(s->pid_file, &pid, NULL), MFB_OK);
    assert_true(pid != watch.pid);
}

static void test_stop_shutdown_sql(void **state)
{
    struct server *s = need_server(state);
    struct mysql_method m;
    assert_int_equal(mysql_method_parse("shutdown-sql", s->start_cmd, NULL, &m, NULL), MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, NULL), MFB_OK);
    stop_wait_start(s, &m);
    mysql_method_free(&m);
}

static void test_stop_command(void **state)
{
    struct server *s = need_server(state);
    char stop[600];
    snprintf(stop, sizeof(stop), "kill $(cat '%s')", s->pid_file); /* SIGTERM: clean shutdown */
    struct mysql_method m;
    assert_int_equal(mysql_method_parse("command", s->start_cmd, stop, &m, NULL), MFB_OK);
    assert_int_equal(mysql_method_check(&m, 10000, NULL), MFB_OK);
    stop_wait_start(s, &m);
    mysql_method_free(&m);
}

static void assert_still_answers(struct server *s)
{
    struct mysql_ping_result ping;
    struct mfb_error err = {0};
    if (mysql_conn_ping_until(&s->ep, 10000, 100, NULL, &ping, &err) != MFB_OK)
        fail_msg("the server should still run: %s", err.message);
    assert_int_equal(ping.attempts, 1);
}

static void test_stop_command_fails(void **state)
{
    struct server *s = need_server(state);
    struct mysql_method m;
    assert_int_equal(mysql_method_parse("command", s->start_cmd,
                                        "echo 'stopping mariadb'; echo 'permission denied' >&2; "
                                        "exit 4",
                                        &m, NULL),
                     MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(mysql_control_stop(&m, NULL, 10000, NULL, NULL, &err), MFB_ERR_MYSQL);
    assert_string_equal(err.message, "stop command 'echo 'stopping mariadb'; echo 'permission "
                                     "denied' >&2; exit 4' failed with exit status 4: stopping "
                                     "mariadb | permission denied");
    assert_string_equal(err.hint, "run the stop command by hand to see all it prints, read the "
                                  "server's error log, and correct it with --stop-cmd");
    assert_still_answers(s);
    mysql_method_free(&m);
}

static void test_stop_command_hangs(void **state)
{
    struct server *s = need_server(state);
    struct mysql_method m;
    assert_int_equal(mysql_method_parse("command", s->start_cmd, "sleep 60", &m, NULL), MFB_OK);
    struct mfb_error err = {0};
    struct mysql_command_result res;
    assert_int_equal(mysql_control_stop(&m, NULL, 500, NULL, &res, &err), MFB_ERR_TIMEOUT);
    assert_true(res.timed_out);
    assert_string_equal(err.message, "stop command 'sleep 60' did not finish within 0.5s and was "
                                     "killed");
    assert_string_equal(err.hint, "the stop command hangs: run it by hand to see why, or raise "
                                  "the stop timeout");
    assert_still_answers(s);
    mysql_method_free(&m);
}

static void test_broken_start(void **state)
{
    struct server *s = need_server(state);
    struct mysql_conn *c = connect_ok(s);
    struct mysql_stop_watch watch;
    struct mfb_error err = {0};
    assert_int_equal(mysql_stop_watch_init(&watch, s->pid_file, s->socket, NULL, 0, &err), MFB_OK);
    struct mysql_method m;
    assert_int_equal(mysql_method_parse("shutdown-sql", "/nonexistent/mariadbd --defaults-file=x",
                                        NULL, &m, NULL),
                     MFB_OK);
    assert_int_equal(mysql_control_stop(&m, c, 10000, NULL, NULL, &err), MFB_OK);
    mysql_conn_close(c);
    assert_int_equal(mysql_wait_stopped(&watch, 120000, NULL, NULL, &err), MFB_OK);

    /* A start command that cannot run. */
    assert_int_equal(mysql_control_start(&m, 10000, NULL, &err), MFB_ERR_NOT_FOUND);
    const char *prefix = "start command '/nonexistent/mariadbd --defaults-file=x' failed with exit "
                         "status 127 (command not found): ";
    assert_memory_equal(err.message, prefix, strlen(prefix));
    assert_non_null(strstr(err.message, "/nonexistent/mariadbd: not found"));
    assert_string_equal(err.hint, "run the start command by hand to see all it prints, read the "
                                  "server's error log, and correct it with --start-cmd");
    mysql_method_free(&m);

    /* A start command that succeeds without starting anything: the check
     * after the start says so. */
    assert_int_equal(mysql_method_parse("shutdown-sql", "true", NULL, &m, NULL), MFB_OK);
    assert_int_equal(mysql_control_start(&m, 10000, NULL, NULL), MFB_OK);
    mfb_error_clear(&err);
    struct mysql_ping_result ping;
    assert_int_equal(mysql_conn_ping_until(&s->ep, 1000, 100, NULL, &ping, &err), MFB_ERR_TIMEOUT);
    char expect[600];
    snprintf(expect, sizeof(expect),
             "the server at socket '%s' did not answer within 1.0s (%u attempts); last error: "
             "cannot connect to the server at socket '%s': No such file or directory",
             s->socket, ping.attempts, s->socket);
    assert_string_equal(err.message, expect);
    mysql_method_free(&m);
    /* ensure_running starts it again. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_query),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test_setup_teardown(test_discovery, ext_setup, ext_teardown),
        cmocka_unit_test_teardown(test_preflush, preflush_teardown),
        cmocka_unit_test_teardown(test_stop_shutdown_sql, ensure_running),
        cmocka_unit_test_teardown(test_stop_command, ensure_running),
        cmocka_unit_test_teardown(test_stop_command_fails, ensure_running),
        cmocka_unit_test_teardown(test_stop_command_hangs, ensure_running),
        cmocka_unit_test_teardown(test_broken_start, ensure_running),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
