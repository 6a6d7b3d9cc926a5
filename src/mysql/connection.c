/*
 * connection.c - connections, statements and the availability check over
 * libmariadb (see connection.h).
 *
 * libmariadb needs mysql_library_init once before threads use it; a
 * pthread_once does that on the first connect, whichever thread comes
 * first. Connection errors name the socket or host:port as the operator
 * configured it; libmariadb's own text carries the OS errno in parentheses
 * at its end ("... (111)"), which is turned back into strerror text.
 */
#include "mysql/connection.h"

#include <ctype.h>
#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "mysql/probe.h"

struct mysql_conn {
    MYSQL *conn;
    char *socket;
    char *host;
    unsigned port;
    char *user;
    char *password;
    char *stored_as;
    unsigned timeout_s;
    bool lost;
    char where[300];
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;

static void library_init(void)
{
    library_status = mysql_library_init(0, NULL, NULL);
}

static bool uses_socket(const struct mysql_endpoint *ep)
{
    return ep->host == NULL || ep->host[0] == '\0';
}

const char *mysql_endpoint_describe(const struct mysql_endpoint *ep, char *buf, size_t len)
{
    if (uses_socket(ep))
        snprintf(buf, len, "socket '%s'", ep->socket != NULL ? ep->socket : "(default)");
    else if (strchr(ep->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%u", ep->host, ep->port ? ep->port : MYSQL_DEFAULT_PORT);
    else
        snprintf(buf, len, "%s:%u", ep->host, ep->port ? ep->port : MYSQL_DEFAULT_PORT);
    return buf;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void mysql_conn_close(struct mysql_conn *client)
{
    if (client == NULL)
        return;
    if (client->conn != NULL)
        mysql_close(client->conn);
    free(client->socket);
    free(client->host);
    free(client->user);
    free(client->stored_as);
    wipe_free(client->password);
    free(client);
}

const char *mysql_conn_where(const struct mysql_conn *client)
{
    return client->where;
}

bool mysql_conn_lost(const struct mysql_conn *client)
{
    return client->lost;
}

static bool is_connection_lost(unsigned code)
{
    return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
           code == CR_SERVER_LOST_EXTENDED || code == ER_CONNECTION_KILLED ||
           code == ER_SERVER_SHUTDOWN;
}

/* libmariadb ends socket errors with " (errno)" or ", system error: errno";
 * returns that errno or 0. */
static int os_errno_of(const char *text)
{
    const char *system_error = strstr(text, "system error: ");
    if (system_error != NULL)
        return atoi(system_error + strlen("system error: "));
    size_t n = strlen(text);
    if (n < 3 || text[n - 1] != ')')
        return 0;
    size_t i = n - 1;
    while (i > 0 && isdigit((unsigned char)text[i - 1]))
        i--;
    if (i == 0 || i == n - 1 || text[i - 1] != '(')
        return 0;
    return atoi(text + i);
}

/* The error of a failed connect. */
static mfb_status connect_error(const struct mysql_conn *c, struct mfb_error *err)
{
    unsigned code = mysql_errno(c->conn);
    const char *text = mysql_error(c->conn);
    const char *user = c->user != NULL ? c->user : "(OS user)";
    if (code == ER_ACCESS_DENIED_ERROR || code == ER_ACCESS_DENIED_NO_PASSWORD_ERROR) {
        mfb_error_set(err, MFB_ERR_AUTH, "access denied for user '%s' at %s", user, c->where);
        if (c->stored_as != NULL)
            mfb_error_hint(err,
                           "if the password changed, store the new one with 'mfb instance set "
                           "%s --password-file FILE'; check also that the user '%s' exists for "
                           "the host mfb connects from (SELECT user, host FROM mysql.user)",
                           c->stored_as, user);
        else
            mfb_error_hint(err,
                           "check the password in the file given with --password-file, and that "
                           "the user '%s' exists for the host mfb connects from "
                           "(SELECT user, host FROM mysql.user)",
                           user);
        return MFB_ERR_AUTH;
    }
    if (code == ER_NOT_SUPPORTED_AUTH_MODE) {
        mfb_error_set(err, MFB_ERR_AUTH,
                      "the server at %s asks for an authentication method "
                      "this client does not support: %s",
                      c->where, text);
        mfb_error_hint(err, "create the user with IDENTIFIED BY 'password' "
                            "(mysql_native_password or caching_sha2_password)");
        return MFB_ERR_AUTH;
    }
    if (code == CR_UNKNOWN_HOST) {
        mfb_error_set(err, MFB_ERR_NETWORK, "cannot connect to %s: unknown host '%s'", c->where,
                      c->host != NULL ? c->host : "");
        mfb_error_hint(err, "check the host name given with --host");
        return MFB_ERR_NETWORK;
    }
    int os_errno = os_errno_of(text);
    /* libmariadb's non-blocking TCP connect reports EINPROGRESS whatever
     * happened: ask again, plainly, to name the real cause. */
    if (c->host != NULL && (os_errno == EINPROGRESS || os_errno == 0) &&
        (code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR)) {
        int probed = mysql_probe_tcp(c->host, c->port, 1000);
        if (probed != 0)
            os_errno = probed;
    }
    mfb_status status = os_errno == ETIMEDOUT ? MFB_ERR_TIMEOUT : MFB_ERR_NETWORK;
    if (code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
        code == CR_SOCKET_CREATE_ERROR || code == CR_IPSOCK_ERROR || os_errno != 0) {
        if (os_errno != 0)
            mfb_error_set(err, status, "cannot connect to the server at %s: %s", c->where,
                          strerror(os_errno));
        else
            mfb_error_set(err, status, "cannot connect to the server at %s: %s", c->where, text);
    } else if (is_connection_lost(code)) {
        mfb_error_set(err, MFB_ERR_NETWORK,
                      "the server at %s closed the connection during the handshake: %s", c->where,
                      text);
    } else {
        mfb_error_set(err, MFB_ERR_MYSQL, "cannot connect to the server at %s: %s (error %u)",
                      c->where, text, code);
        return MFB_ERR_MYSQL;
    }
    if (c->host == NULL)
        mfb_error_hint(err, "is the server running? compare the socket path (--socket) with the "
                            "server's @@socket, and read the server's error log");
    else
        mfb_error_hint(err, "is the server running and listening there? check --host and --port "
                            "against the server's bind_address and port, and read its error log");
    return status;
}

/* The error of a failed statement. */
static mfb_status statement_error(struct mysql_conn *c, const char *sql, struct mfb_error *err)
{
    unsigned code = mysql_errno(c->conn);
    const char *text = mysql_error(c->conn);
    char shown[160];
    snprintf(shown, sizeof(shown), "%s", sql);
    if (strlen(sql) >= sizeof(shown))
        memcpy(shown + sizeof(shown) - 4, "...", 4);
    if (is_connection_lost(code)) {
        c->lost = true;
        return mfb_error_set(err, MFB_ERR_NETWORK,
                             "lost the connection to the server at %s "
                             "during '%s': %s",
                             c->where, shown, text);
    }
    switch (code) {
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_COLUMNACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_ACCESS_DENIED_ERROR:
        mfb_error_set(err, MFB_ERR_AUTH, "the server refused '%s' for user '%s': %s", shown,
                      c->user != NULL ? c->user : "(OS user)", text);
        mfb_error_hint(err, "grant the user the privilege the server names; docs/mysql.md lists "
                            "the privileges mfb needs");
        return MFB_ERR_AUTH;
    default:
        return mfb_error_set(err, MFB_ERR_MYSQL, "'%s' failed at %s: %s (error %u)", shown,
                             c->where, text, code);
    }
}

static mfb_status open_connection(struct mysql_conn *c, struct mfb_error *err)
{
    if (c->conn != NULL) {
        mysql_close(c->conn);
        c->conn = NULL;
    }
    c->lost = false;
    c->conn = mysql_init(NULL);
    if (c->conn == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory creating a mysql connection");
    unsigned protocol = c->host == NULL ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    unsigned infile = 0;
    mysql_optionsv(c->conn, MYSQL_OPT_CONNECT_TIMEOUT, &c->timeout_s);
    mysql_optionsv(c->conn, MYSQL_OPT_READ_TIMEOUT, &c->timeout_s);
    mysql_optionsv(c->conn, MYSQL_OPT_WRITE_TIMEOUT, &c->timeout_s);
    mysql_optionsv(c->conn, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_optionsv(c->conn, MYSQL_OPT_LOCAL_INFILE, &infile);
    mysql_optionsv(c->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *password = c->password != NULL && c->password[0] != '\0' ? c->password : NULL;
    if (mysql_real_connect(c->conn, c->host, c->user, password, NULL, c->port, c->socket, 0) ==
        NULL)
        return connect_error(c, err);
    return MFB_OK;
}

mfb_status mysql_conn_connect(const struct mysql_endpoint *ep, uint64_t timeout_ms,
                              struct mysql_conn **client, struct mfb_error *err)
{
    *client = NULL;
    pthread_once(&library_once, library_init);
    if (library_status != 0)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot initialise libmariadb");
    if (uses_socket(ep) && (ep->socket == NULL || ep->socket[0] == '\0'))
        return mfb_error_set(err, MFB_ERR_USAGE, "no socket and no host to connect to");

    struct mysql_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory creating a mysql connection");
    mysql_endpoint_describe(ep, c->where, sizeof(c->where));
    if (uses_socket(ep))
        c->socket = dup_or_null(ep->socket);
    else
        c->host = dup_or_null(ep->host);
    c->port = uses_socket(ep) ? 0 : (ep->port ? ep->port : MYSQL_DEFAULT_PORT);
    c->user = dup_or_null(ep->user);
    c->password = dup_or_null(ep->password);
    c->stored_as = dup_or_null(ep->stored_as);
    uint64_t seconds = (timeout_ms + 999) / 1000;
    c->timeout_s = seconds == 0 ? 1 : seconds > 86400 ? 86400 : (unsigned)seconds;
    if ((uses_socket(ep) ? c->socket == NULL : c->host == NULL) ||
        (ep->user != NULL && c->user == NULL) || (ep->password != NULL && c->password == NULL) ||
        (ep->stored_as != NULL && c->stored_as == NULL)) {
        mysql_conn_close(c);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory creating a mysql connection");
    }
    mfb_status st = open_connection(c, err);
    if (st != MFB_OK) {
        mysql_conn_close(c);
        return st;
    }
    log_debug("mysql_connect", "where=\"%s\" server=\"%s\"", c->where,
              mysql_get_server_info(c->conn));
    *client = c;
    return MFB_OK;
}

mfb_status mysql_conn_reconnect(struct mysql_conn *client, struct mfb_error *err)
{
    return open_connection(client, err);
}

mfb_status mysql_conn_exec(struct mysql_conn *client, const char *sql, struct mfb_error *err)
{
    client->lost = false;
    if (mysql_real_query(client->conn, sql, strlen(sql)) != 0)
        return statement_error(client, sql, err);
    /* Drain every result the statement produced. */
    do {
        MYSQL_RES *res = mysql_store_result(client->conn);
        if (res != NULL)
            mysql_free_result(res);
        else if (mysql_field_count(client->conn) != 0)
            return statement_error(client, sql, err);
    } while (mysql_next_result(client->conn) == 0);
    if (mysql_errno(client->conn) != 0)
        return statement_error(client, sql, err);
    return MFB_OK;
}

void mysql_rows_free(struct mysql_rows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->count * rows->columns; i++)
        free(rows->cells[i]);
    free(rows->cells);
    free(rows);
}

const char *mysql_rows_cell(const struct mysql_rows *rows, size_t row, size_t column)
{
    if (rows == NULL || row >= rows->count || column >= rows->columns)
        return NULL;
    return rows->cells[row * rows->columns + column];
}

const char *mysql_rows_lookup(const struct mysql_rows *rows, const char *name)
{
    if (rows == NULL || rows->columns < 2)
        return NULL;
    for (size_t r = 0; r < rows->count; r++) {
        const char *key = rows->cells[r * rows->columns];
        if (key != NULL && strcasecmp(key, name) == 0)
            return rows->cells[r * rows->columns + 1];
    }
    return NULL;
}

/* Copies a stored result into a struct mysql_rows. */
static mfb_status copy_result(MYSQL_RES *res, struct mysql_rows **out, struct mfb_error *err)
{
    struct mysql_rows *rows = calloc(1, sizeof(*rows));
    if (rows == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading a query result");
    size_t count = (size_t)mysql_num_rows(res);
    size_t columns = mysql_num_fields(res);
    if (count > 0 && columns > 0) {
        rows->cells = calloc(count * columns, sizeof(char *));
        if (rows->cells == NULL) {
            free(rows);
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory reading a query result");
        }
    }
    rows->columns = columns;
    rows->count = count;
    for (size_t r = 0; r < count; r++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        unsigned long *lengths = mysql_fetch_lengths(res);
        for (size_t col = 0; row != NULL && col < columns; col++) {
            if (row[col] == NULL)
                continue;
            char *cell = malloc(lengths[col] + 1);
            if (cell == NULL) {
                mysql_rows_free(rows);
                return mfb_error_set(err, MFB_ERR_NO_MEMORY,
                                     "out of memory reading a query result");
            }
            memcpy(cell, row[col], lengths[col]);
            cell[lengths[col]] = '\0';
            rows->cells[r * columns + col] = cell;
        }
    }
    *out = rows;
    return MFB_OK;
}

mfb_status mysql_conn_query(struct mysql_conn *client, const char *sql, struct mysql_rows **rows,
                            struct mfb_error *err)
{
    *rows = NULL;
    client->lost = false;
    if (mysql_real_query(client->conn, sql, strlen(sql)) != 0)
        return statement_error(client, sql, err);
    MYSQL_RES *res = mysql_store_result(client->conn);
    if (res == NULL) {
        if (mysql_field_count(client->conn) != 0 || mysql_errno(client->conn) != 0)
            return statement_error(client, sql, err);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "'%s' returned no result set", sql);
    }
    mfb_status st = copy_result(res, rows, err);
    mysql_free_result(res);
    /* A multi-statement or CALL may leave more results: drop them. */
    while (st == MFB_OK && mysql_next_result(client->conn) == 0) {
        res = mysql_store_result(client->conn);
        if (res != NULL)
            mysql_free_result(res);
    }
    return st;
}

mfb_status mysql_conn_query_row(struct mysql_conn *client, const char *sql, struct mysql_rows **row,
                                struct mfb_error *err)
{
    mfb_status st = mysql_conn_query(client, sql, row, err);
    if (st != MFB_OK)
        return st;
    if ((*row)->count == 1)
        return MFB_OK;
    size_t count = (*row)->count;
    mysql_rows_free(*row);
    *row = NULL;
    if (count == 0)
        return mfb_error_set(err, MFB_ERR_NOT_FOUND, "'%s' returned no row", sql);
    return mfb_error_set(err, MFB_ERR_PROTOCOL, "'%s' returned %zu rows where one was expected",
                         sql, count);
}

mfb_status mysql_conn_query_value(struct mysql_conn *client, const char *sql, char **value,
                                  struct mfb_error *err)
{
    *value = NULL;
    struct mysql_rows *row = NULL;
    mfb_status st = mysql_conn_query_row(client, sql, &row, err);
    if (st != MFB_OK)
        return st;
    if (row->columns > 0 && row->cells[0] != NULL) {
        *value = row->cells[0];
        row->cells[0] = NULL;
    }
    mysql_rows_free(row);
    return MFB_OK;
}

mfb_status mysql_error_forward(struct mfb_error *err, const struct mfb_error *from)
{
    return mfb_error_copy(err, from);
}

/* One attempt of the availability check: connect, SELECT 1, close. */
static mfb_status ping_once(const struct mysql_endpoint *ep, uint64_t timeout_ms,
                            struct mfb_error *err)
{
    struct mysql_conn *c = NULL;
    char *one = NULL;
    mfb_status st = mysql_conn_connect(ep, timeout_ms, &c, err);
    if (st == MFB_OK)
        st = mysql_conn_query_value(c, "SELECT 1", &one, err);
    if (st == MFB_OK && (one == NULL || strcmp(one, "1") != 0))
        st = mfb_error_set(err, MFB_ERR_PROTOCOL, "SELECT 1 at %s returned '%s'",
                           mysql_conn_where(c), one != NULL ? one : "NULL");
    free(one);
    mysql_conn_close(c);
    return st;
}

mfb_status mysql_conn_ping_until(const struct mysql_endpoint *ep, uint64_t timeout_ms,
                                 uint64_t interval_ms, const atomic_bool *cancel,
                                 struct mysql_ping_result *res, struct mfb_error *err)
{
    struct mysql_ping_result local;
    if (res == NULL)
        res = &local;
    memset(res, 0, sizeof(*res));
    if (interval_ms == 0)
        interval_ms = 100;
    uint64_t start = clock_now_ms();
    uint64_t deadline = start + timeout_ms;
    struct mfb_error last = {0};
    mfb_status st = MFB_ERR_TIMEOUT;
    for (;;) {
        if (cancel_flag_raised(cancel)) {
            st = MFB_ERR_CANCELLED;
            break;
        }
        uint64_t left = clock_left_ms(deadline);
        mfb_error_clear(&last);
        res->attempts++;
        st = ping_once(ep, left > 0 ? left : 1, &last);
        if (st == MFB_OK || st == MFB_ERR_AUTH)
            break;
        st = MFB_ERR_TIMEOUT;
        left = clock_left_ms(deadline);
        if (left == 0)
            break;
        if (!clock_sleep_ms(left < interval_ms ? left : interval_ms, cancel)) {
            st = MFB_ERR_CANCELLED;
            break;
        }
    }
    res->elapsed_ms = clock_now_ms() - start;
    char where[300], dur[32];
    mysql_endpoint_describe(ep, where, sizeof(where));
    switch (st) {
    case MFB_OK:
        log_debug("mysql_ping", "where=\"%s\" attempts=%u elapsed_ms=%llu", where, res->attempts,
                  (unsigned long long)res->elapsed_ms);
        return MFB_OK;
    case MFB_ERR_AUTH:
        return mysql_error_forward(err, &last);
    case MFB_ERR_CANCELLED:
        return mfb_error_set(err, MFB_ERR_CANCELLED,
                             "cancelled while waiting for the server at %s to answer", where);
    default:
        mfb_error_set(err, MFB_ERR_TIMEOUT,
                      "the server at %s did not answer within %s (%u attempts); last error: %s",
                      where, format_duration_ms(timeout_ms, dur, sizeof(dur)), res->attempts,
                      last.message);
        mfb_error_hint(err, "read the server's error log to see why it is not up");
        return MFB_ERR_TIMEOUT;
    }
}
