/*
 * sql.h - every SQL statement mfb sends to a MySQL or MariaDB server, in one
 * place, so the differences between the flavours and versions can be read
 * side by side and checked against their documentation.
 *
 * Only read-only statements, SET GLOBAL of the pre-flush variables, and
 * SHUTDOWN. SHOW GLOBAL VARIABLES ... WHERE ... IN (...) is used instead of
 * SELECT @@x because it simply leaves out a variable the server does not
 * have (server_uuid on MariaDB, gtid_current_pos on MySQL), where @@x would
 * fail the whole statement.
 *
 * Tested against MariaDB 10.11 (what Debian 12 ships). The MySQL 8.0 and
 * MySQL 5.7 / MariaDB 10.5 variants follow those servers' documentation and
 * are not exercised by the test suite.
 */
#ifndef MFB_MYSQL_SQL_H
#define MFB_MYSQL_SQL_H

/* The server variables discovery reads and the manifest records. */
#define MYSQL_SQL_DISCOVERY_VARIABLES                                                              \
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ("                                               \
    "'version', 'version_comment', 'hostname', 'port', 'socket', 'pid_file', 'server_id', "        \
    "'log_error', "                                                                                \
    "'server_uuid', 'datadir', 'innodb_data_home_dir', 'innodb_data_file_path', "                  \
    "'innodb_log_group_home_dir', 'innodb_undo_directory', 'innodb_undo_tablespaces', "            \
    "'innodb_doublewrite_dir', 'innodb_directories', 'innodb_temp_data_file_path', "               \
    "'aria_log_dir_path', 'log_bin', 'log_bin_basename', 'log_bin_index', 'relay_log', "           \
    "'relay_log_basename', 'relay_log_index', 'innodb_fast_shutdown', 'innodb_page_size', "        \
    "'innodb_file_per_table', 'innodb_log_file_size', 'innodb_checksum_algorithm', "               \
    "'lower_case_table_names', 'character_set_server', 'collation_server', "                       \
    "'default_storage_engine', 'gtid_mode', 'gtid_executed', 'gtid_purged', "                      \
    "'gtid_current_pos', 'gtid_binlog_pos', 'gtid_slave_pos', 'gtid_domain_id')"

/* The GTID position alone, to read again just before a stop. */
#define MYSQL_SQL_GTID_VARIABLES                                                                   \
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('gtid_mode', 'gtid_executed', "                 \
    "'gtid_purged', 'gtid_current_pos', 'gtid_binlog_pos', 'gtid_slave_pos')"

/* InnoDB tablespace files: two columns, a name and a file path (relative
 * paths are relative to the datadir). The temporary tablespace is left out:
 * the server recreates it at every start. */
/* MariaDB 10.6 and later: INNODB_SYS_DATAFILES is gone, the path is here. */
#define MYSQL_SQL_TABLESPACES_MARIADB                                                              \
    "SELECT NAME, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES "                        \
    "WHERE NAME <> 'innodb_temporary'"
/* MariaDB 10.5 and earlier, MySQL 5.7. */
#define MYSQL_SQL_TABLESPACES_SYS_DATAFILES                                                        \
    "SELECT t.NAME, d.PATH FROM information_schema.INNODB_SYS_TABLESPACES t "                      \
    "JOIN information_schema.INNODB_SYS_DATAFILES d ON d.SPACE = t.SPACE"
/* MySQL 8.0: INFORMATION_SCHEMA.FILES lists every InnoDB data file,
 * including undo tablespaces and general tablespaces. */
#define MYSQL_SQL_TABLESPACES_MYSQL8                                                               \
    "SELECT TABLESPACE_NAME, FILE_NAME FROM information_schema.FILES "                             \
    "WHERE ENGINE = 'InnoDB' AND FILE_TYPE <> 'TEMPORARY' AND FILE_NAME IS NOT NULL"

/* The pre-flush. */
#define MYSQL_SQL_PREFLUSH_VARIABLES                                                               \
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_io_capacity', "                         \
    "'innodb_io_capacity_max', 'innodb_max_dirty_pages_pct', 'innodb_max_dirty_pages_pct_lwm')"
#define MYSQL_SQL_DIRTY_PAGES "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'"
/* printf formats; the value is always a number checked by the caller. */
#define MYSQL_SQL_SET_GLOBAL "SET GLOBAL %s = %s"

/* Stops the server (MySQL 5.7.9+, MariaDB 10.0.4+). */
#define MYSQL_SQL_SHUTDOWN "SHUTDOWN"

#endif
