/*
 * scan.h - discovery's cross-check that needs no privilege: the datadir's
 * own pointers to files kept elsewhere.
 *
 * Two levels are read: the datadir itself and each database directory in
 * it. What points out of the datadir becomes a "tablespace" location:
 * - an .isl file (InnoDB's "InnoDB Symbolic Link": one line, the path of a
 *   tablespace created with DATA DIRECTORY) adds the directory of that file;
 * - a symbolic link whose target lies outside the datadir (MyISAM and Aria
 *   tables with DATA or INDEX DIRECTORY, a database directory or ibdata file
 *   moved elsewhere by hand) adds its target directory, or the directory of
 *   its target file.
 * A link that points inside the datadir, or nowhere (dangling: logged), adds
 * nothing. MySQL 8 keeps no .isl files; its remote tablespaces come from
 * INFORMATION_SCHEMA.FILES and innodb_directories (discover.c).
 */
#ifndef MFB_MYSQL_SCAN_H
#define MFB_MYSQL_SCAN_H

#include "common/status.h"
#include "mysql/roots.h"

/* Adds what datadir (canonical, absolute) points to outside itself to
 * roots. An unreadable datadir or database directory is an error: a backup
 * must not miss what it could not look at. */
mfb_status mysql_scan_datadir(const char *datadir, struct mysql_roots *roots,
                              struct mfb_error *err);

#endif
