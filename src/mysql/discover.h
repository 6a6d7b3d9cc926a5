/*
 * discover.h - asks a running server what it is and where all its files
 * are, so that a backup misses nothing (docs/mysql.md, discovery).
 *
 * The server is the authority on its own layout: mfb reads its variables
 * (datadir, the InnoDB system, redo and undo directories, the binary and
 * relay log names, MariaDB's Aria log directory, MySQL 8's doublewrite
 * directory and innodb_directories) and lists its InnoDB tablespace files
 * through INFORMATION_SCHEMA, which finds tables created with DATA
 * DIRECTORY. As a cross-check that needs no privilege, it also reads the
 * datadir itself: each .isl file (InnoDB's pointer to a remote tablespace)
 * and each symbolic link leading out of the datadir (MyISAM and Aria tables
 * with DATA/INDEX DIRECTORY, a database directory moved elsewhere) adds its
 * target. Every location lands in a struct mysql_roots (roots.h), which
 * reduces them to the few directories the archive must hold.
 *
 * Trade-offs:
 * - A root is a directory, never a single file: a table created with DATA
 *   DIRECTORY='/ext' lives in /ext/DB/ (InnoDB) or /ext (MyISAM, Aria), so
 *   that directory is archived whole, including anything else in it.
 * - The temporary tablespace (ibtmp1) and the relay log of a server that is
 *   not a replica are left out; the server recreates them.
 * - Reading INFORMATION_SCHEMA's InnoDB tables needs the PROCESS privilege;
 *   without it discovery fails rather than quietly missing tablespaces.
 * - The GTID position is the one at the time of reading; call
 *   mysql_gtid_read again just before the stop for the final one.
 * - Nothing here decides anything: it reports. What to do about
 *   innodb_fast_shutdown=2, say, is the job layer's call.
 */
#ifndef MFB_MYSQL_DISCOVER_H
#define MFB_MYSQL_DISCOVER_H

#include <jansson.h>
#include <stdbool.h>

#include "common/status.h"
#include "mysql/connection.h"
#include "mysql/roots.h"

enum mysql_flavour { MYSQL_FLAVOUR_MYSQL, MYSQL_FLAVOUR_MARIADB };

/* "mysql" or "mariadb". */
const char *mysql_flavour_str(enum mysql_flavour flavour);

struct mysql_server_info {
    enum mysql_flavour flavour;
    unsigned version_major, version_minor, version_patch;
    char *version;            /* @@version, "10.11.6-MariaDB-0+deb12u1-log" */
    char *version_comment;    /* @@version_comment */
    char *server_uuid;        /* MySQL's @@server_uuid; NULL on MariaDB */
    char *gtid;               /* gtid_current_pos (MariaDB), gtid_executed (MySQL); "" if none */
    int innodb_fast_shutdown; /* 0, 1 or 2; -1 if the server does not say */
    bool log_bin;
    char *datadir;                /* canonical, without a trailing slash */
    char *pid_file;               /* absolute; NULL if the server does not say */
    char *socket;                 /* @@socket; NULL when it has none */
    unsigned port;                /* @@port; 0 when it does not listen on TCP */
    struct mysql_rows *variables; /* name/value pairs as read; see mysql_rows_lookup */
    struct mysql_roots roots;     /* finished: roots[] and every location */
    /* For the archive manifest's metadata: flavour, version,
     * version_comment, server_uuid, gtid {...}, innodb_fast_shutdown,
     * variables {...}, roots [{name, path, why}], locations [{kind, path,
     * why, root}]. */
    json_t *json;
};

/* Reads everything above from a running server and its datadir. Allocates
 * *info; release with mysql_server_info_free. */
mfb_status mysql_discover(struct mysql_conn *client, struct mysql_server_info **info,
                          struct mfb_error *err);

void mysql_server_info_free(struct mysql_server_info *info);

/* The server's GTID state now, as a JSON object of the variables it has
 * ({"gtid_current_pos": ..., "gtid_binlog_pos": ...} on MariaDB,
 * {"gtid_mode": ..., "gtid_executed": ...} on MySQL). Allocates *gtid. */
mfb_status mysql_gtid_read(struct mysql_conn *client, json_t **gtid, struct mfb_error *err);

/* Parses the leading "X.Y.Z" of a version string. */
void mysql_version_parse(const char *version, unsigned *major, unsigned *minor, unsigned *patch);

/* Which tablespace query suits a server (one of the MYSQL_SQL_TABLESPACES_*
 * of sql.h), and the table it reads, for messages. */
const char *mysql_tablespace_query(enum mysql_flavour flavour, unsigned major, unsigned minor,
                                   const char **source);

#endif
