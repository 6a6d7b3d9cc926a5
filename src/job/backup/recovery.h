/*
 * recovery.h - the manual recovery steps for a server that did not come
 * back after a backup (requirement 9.4), as plain text for the alert, the
 * terminal and the job log.
 *
 * Written for the person woken at night: it says that the server is down,
 * that mfb only read its files, where they are (every root, the data
 * directory first), the exact command that failed and what it printed, the
 * error log to read, and the commands to try, in order, for the method the
 * instance uses. If the backup just made is safe (stored on the receiver,
 * or complete in the spool), it says where, since that is the way back if
 * the files themselves turn out to be damaged.
 */
#ifndef MFB_JOB_BACKUP_RECOVERY_H
#define MFB_JOB_BACKUP_RECOVERY_H

#include <stddef.h>

#include "mysql/method.h"

struct recovery_facts {
    const char *instance;
    const char *datadir;
    const char *const *root_names; /* other directories of the server, may be NULL */
    const char *const *root_paths;
    size_t root_count;
    const struct mysql_method *method;
    const char *failed_command; /* as run */
    const char *failure;        /* the error, with the command's last output */
    const char *error_log;      /* the server's error log, or NULL when unknown */
    const char *socket;         /* to test with the client, or NULL */
    const char *host;
    unsigned port;
    const char *backup_name; /* stored on the receiver, or NULL */
    const char *backup_id;
    const char *data_zip; /* complete local archive, or NULL */
};

/* The text. Allocates; the caller frees it. NULL when out of memory. */
char *recovery_text(const struct recovery_facts *f);

#endif
