/*
 * connection.h - a connection to a MySQL or MariaDB server, the few ways mfb
 * runs SQL on it, and the "does it answer?" check used after a start.
 *
 * This is the only file that includes libmariadb's <mysql.h>; the rest of
 * mfb sees an opaque struct mysql_conn and results copied into plain C
 * strings (struct mysql_rows), so no MYSQL_RES ever escapes and a caller
 * cannot forget to free one.
 *
 * Trade-offs:
 * - libmariadb's timeouts are whole seconds, so a timeout_ms is rounded up
 *   to the next second (at least 1): a wait can overrun by under a second.
 *   One timeout bounds the connect and then every read and write on the
 *   connection; mfb's statements are all short.
 * - No option files are read (my.cnf): what the configuration database says
 *   is exactly what is used. A socket endpoint always uses the socket, a
 *   host always TCP (libmariadb would otherwise turn "localhost" into the
 *   default socket).
 * - The client keeps a copy of the password, wiped on close, so that
 *   mysql_conn_reconnect can put back server variables after a dropped
 *   connection (the pre-flush must always restore them).
 * - Errors are mapped to mfb_status by what a person must do about them:
 *   refused credentials are MFB_ERR_AUTH, a missing privilege too (with the
 *   privilege to grant), an unreachable server MFB_ERR_NETWORK naming the
 *   socket or host:port, anything else the server says MFB_ERR_MYSQL.
 */
#ifndef MFB_MYSQL_CONNECTION_H
#define MFB_MYSQL_CONNECTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define MYSQL_DEFAULT_PORT 3306

/* Where and as whom to connect. Strings are borrowed for the call. */
struct mysql_endpoint {
    const char *socket;   /* unix socket path, used when host is NULL or "" */
    const char *host;     /* TCP host name or address */
    unsigned port;        /* TCP port; 0 means 3306 */
    const char *user;     /* NULL means the OS user name, as libmariadb does */
    const char *password; /* NULL or "" means none */
    /* Where the password comes from, for the hint when it is refused: NULL
     * for "the file given with --password-file" (a command given it), or
     * the stored instance's name, whose hint says how to update it. */
    const char *stored_as;
};

/* "socket '/run/mysqld/mysqld.sock'" or "127.0.0.1:3306", for messages. */
const char *mysql_endpoint_describe(const struct mysql_endpoint *ep, char *buf, size_t len);

struct mysql_conn;

/* Connects within timeout_ms; every later read and write on the connection
 * has the same timeout. Allocates *client; release with mysql_conn_close. */
mfb_status mysql_conn_connect(const struct mysql_endpoint *ep, uint64_t timeout_ms,
                              struct mysql_conn **client, struct mfb_error *err);

/* Closes the connection and wipes the password copy. NULL is a no-op. */
void mysql_conn_close(struct mysql_conn *client);

/* Drops the connection and connects again to the same endpoint. */
mfb_status mysql_conn_reconnect(struct mysql_conn *client, struct mfb_error *err);

/* The endpoint as mysql_endpoint_describe put it. */
const char *mysql_conn_where(const struct mysql_conn *client);

/* True when the last failed call failed because the connection dropped
 * (server gone or lost), as opposed to the server refusing the statement. */
bool mysql_conn_lost(const struct mysql_conn *client);

/* Runs a statement and discards any result. */
mfb_status mysql_conn_exec(struct mysql_conn *client, const char *sql, struct mfb_error *err);

/* The result of a query, copied: cells[row * columns + column], NULL for
 * SQL NULL. */
struct mysql_rows {
    size_t count;
    size_t columns;
    char **cells;
};

/* Runs a query and copies all its rows. Allocates *rows (also when there
 * are none); release with mysql_rows_free. */
mfb_status mysql_conn_query(struct mysql_conn *client, const char *sql, struct mysql_rows **rows,
                            struct mfb_error *err);

/* Like mysql_conn_query, but the query must return exactly one row
 * (MFB_ERR_NOT_FOUND when it returns none, MFB_ERR_PROTOCOL for more). */
mfb_status mysql_conn_query_row(struct mysql_conn *client, const char *sql, struct mysql_rows **row,
                                struct mfb_error *err);

/* The first column of the one row a query returns. Allocates *value, which
 * is NULL for SQL NULL; the caller frees it. */
mfb_status mysql_conn_query_value(struct mysql_conn *client, const char *sql, char **value,
                                  struct mfb_error *err);

/* The cell at row, column, or NULL (SQL NULL or out of range). */
const char *mysql_rows_cell(const struct mysql_rows *rows, size_t row, size_t column);

/* For name/value results (SHOW VARIABLES, SHOW STATUS): the value of the row
 * whose first column equals name (case-insensitively), or NULL. */
const char *mysql_rows_lookup(const struct mysql_rows *rows, const char *name);

void mysql_rows_free(struct mysql_rows *rows);

/* Passes on an error that was recorded on the side (to look at it before
 * deciding): its status, message and hint go to err as mfb_error_set would
 * put them, so an error already in err still wins. Returns from->status. */
mfb_status mysql_error_forward(struct mfb_error *err, const struct mfb_error *from);

struct mysql_ping_result {
    uint64_t elapsed_ms; /* from the call until the server answered (or gave up) */
    unsigned attempts;   /* connection attempts made */
};

/* Connects and runs SELECT 1, again every interval_ms (0: 100 ms) until it
 * answers or timeout_ms has passed: the check after a start (requirement
 * 3.5). Refused credentials end it at once (a server that is up and says no
 * will not change its mind). On timeout MFB_ERR_TIMEOUT quotes the last
 * error. cancel may be NULL; res may be NULL. */
mfb_status mysql_conn_ping_until(const struct mysql_endpoint *ep, uint64_t timeout_ms,
                                 uint64_t interval_ms, const atomic_bool *cancel,
                                 struct mysql_ping_result *res, struct mfb_error *err);

#endif
