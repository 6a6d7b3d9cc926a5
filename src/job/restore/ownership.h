/*
 * ownership.h - who owns a restored directory tree.
 *
 * The archive records each file's owner as numbers, from the machine that
 * made the backup; the server that reads the restored files may run under
 * other numbers (a restore onto another host, a reinstalled package). So a
 * restore in place decides the owner of each restored root, and gives the
 * whole tree to it, as a DBA would with `chown -R mysql:mysql`:
 * - the user the server ran as before the stop (its process), unless root:
 *   a server run by a service account of another name must be able to
 *   read the restored files, or the restore fails on the start;
 * - otherwise the owner of the directory that was moved aside, unless root
 *   (the server ran with those files, so it can run with these);
 * - otherwise the "mysql" system user and its group, when that user exists;
 * - otherwise the owner of the directory moved aside (root);
 * - otherwise (none of these) the owners the archive recorded, which
 *   extraction already set.
 * A server running as root reads files of any owner, so it does not decide.
 * Only root may give files away; anyone else keeps the files as they were
 * extracted (their own), and the log says so. Symbolic links are changed
 * themselves (lchown), never followed.
 */
#ifndef MFB_JOB_RESTORE_OWNERSHIP_H
#define MFB_JOB_RESTORE_OWNERSHIP_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/status.h"

#define OWNERSHIP_USER "mysql"

struct ownership {
    bool set; /* false: keep what extraction wrote */
    uid_t uid;
    gid_t gid;
    const char *why; /* "user mysql", "like the moved-aside directory" */
};

/* The user and group a process runs as (its real ids, from /proc);
 * out->set is false when that cannot be read. */
void ownership_of_process(pid_t pid, struct ownership *out);

/* Decides the owner per the rules above; server is the server's user from
 * ownership_of_process (NULL or unset when it was not running); aside is
 * the moved-aside directory, or NULL when there was none. user is normally
 * OWNERSHIP_USER (a parameter for tests). */
void ownership_decide(const char *user, const struct ownership *server, const char *aside,
                      struct ownership *out);

/* Gives dir and everything below it to o (nothing when !o->set or when not
 * running as root), then sets dir's own mode. */
mfb_status ownership_apply(const char *dir, const struct ownership *o, mode_t dir_mode,
                           struct mfb_error *err);

#endif
