/*
 * compat.h - may a backup be restored under this server? (docs/restore.md, compatibility)
 *
 * A cold backup is a copy of the server's own files, and a server reads
 * only files of its own flavour and of its own or an older release: MySQL
 * cannot start on a MariaDB datadir and vice versa, and MariaDB 10.6
 * refuses (or worse, half reads) the redo log of 10.11. So restore compares
 * the flavour and version the backup's manifest recorded with the
 * installed server's, and refuses another flavour or a newer release.
 *
 * "Release" is major.minor (10.11, 8.0, 8.4): that is what both vendors
 * call a major version, and files move freely between patch levels of one
 * release. An older backup is allowed; the server upgrades it on start
 * (MariaDB; MySQL 8 does too, mysql_upgrade may be needed for older ones),
 * which restore does not hide: it logs the difference.
 *
 * The installed server is asked when it runs (its @@version, from
 * discovery); when it is down, its binary is: `mariadbd --version`, else
 * `mysqld --version`, as found in PATH.
 */
#ifndef MFB_JOB_RESTORE_COMPAT_H
#define MFB_JOB_RESTORE_COMPAT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/status.h"
#include "mysql/discover.h"

struct server_identity {
    enum mysql_flavour flavour;
    unsigned major, minor, patch;
    char version[128]; /* as reported: "10.11.6-MariaDB-0+deb12u1" */
};

/* "MariaDB 10.11.6" (flavour and number, for messages). Returns buf. */
const char *compat_describe(const struct server_identity *id, char *buf, size_t len);

/* From a version string (@@version or a --version line's version word). A
 * string naming MariaDB is MariaDB, anything else MySQL. false when it has
 * no "X.Y" number. */
bool compat_parse_version(const char *version, struct server_identity *id);

/* From a manifest's metadata object: "flavour" ("mysql"/"mariadb") and
 * "version". MFB_ERR_NOT_FOUND when they are missing. */
mfb_status compat_from_metadata(const json_t *metadata, struct server_identity *id,
                                struct mfb_error *err);

/* From the output of `mariadbd --version` / `mysqld --version`:
 * "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64". */
bool compat_parse_version_output(const char *output, struct server_identity *id);

/* Asks the installed server binary (see above), within timeout_ms. */
mfb_status compat_installed(uint64_t timeout_ms, struct server_identity *id, struct mfb_error *err);

/* MFB_ERR_UNSUPPORTED, with a message naming both and a hint (--to, --force),
 * when backup cannot go under server; instance names the instance. */
mfb_status compat_check(const struct server_identity *backup, const struct server_identity *server,
                        const char *instance, struct mfb_error *err);

#endif
