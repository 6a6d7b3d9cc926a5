/*
 * scratch.h - the throwaway server of a restore drill (docs/drill.md) and
 * its scratch directory.
 *
 * The scratch directory holds everything the drill makes: a marker file
 * (so that mfb only ever removes a directory it made), the extracted
 * roots under files/, the server's generated my.cnf, its error log, pid
 * file and socket (in a private directory under /tmp when the scratch path
 * is too long for a UNIX socket's 107 bytes). The server reads only that
 * my.cnf (--defaults-file: no /etc/my.cnf, no ~/.my.cnf) and is started
 * with skip-networking, skip-grant-tables (it can only be reached through
 * its own socket, in a 0700 directory), no binary log, no event scheduler
 * and no replica threads, so it can never be mistaken for the real server,
 * take its port, or write anywhere but the scratch directory.
 *
 * The server is a child of the drill with PR_SET_PDEATHSIG: a drill killed
 * with -9 takes its server with it. The next drill of the instance finds
 * the scratch directory, kills a server still named in its pid file (only
 * a process whose command line names that directory) and removes it all.
 */
#ifndef MFB_JOB_DRILL_SCRATCH_H
#define MFB_JOB_DRILL_SCRATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cancel.h"
#include "common/status.h"

struct scratch {
    char dir[PATH_MAX];
    char files[PATH_MAX];   /* DIR/files: the extracted roots */
    char datadir[PATH_MAX]; /* DIR/files/datadir: the datadir root */
    char cnf[PATH_MAX];
    char error_log[PATH_MAX];
    char pid_file[PATH_MAX];
    char socket_dir[PATH_MAX]; /* "" when the socket is in DIR */
    char socket[PATH_MAX];
    bool made;
    pid_t pid; /* the running throwaway server, 0 when none */
};

/* Removes what an earlier drill left in dir (killing its server), then
 * makes dir afresh (0700) with its marker. A directory without the marker
 * that is not empty is refused: mfb never removes what it did not make. */
mfb_status scratch_prepare(struct scratch *s, const char *dir, struct mfb_error *err);

/* Removes the scratch directory (and the socket's directory); the server
 * must be gone. Failures are logged: cleanup never fails a drill. */
void scratch_remove(struct scratch *s);

/* Writes my.cnf (mode 0600) from text: the [mysqld] options the drill
 * chose, followed by the fixed ones described above. */
mfb_status scratch_write_cnf(struct scratch *s, const char *options, struct mfb_error *err);

/* Starts `bin --defaults-file=DIR/my.cnf` and waits, at most timeout_ms,
 * until it answers SELECT 1 on its socket. A server that exits first is an
 * error quoting the last lines of its error log: MFB_ERR_NO_SPACE when the
 * scratch directory's disk was full (scratch_disk_full), else
 * MFB_ERR_CORRUPT (the backup's files are what it refused). cancel (may be NULL) ends the wait
 * with MFB_ERR_CANCELLED; the caller stops the server. */
mfb_status scratch_server_start(struct scratch *s, const char *bin, uint64_t timeout_ms,
                                struct cancel_token *cancel, struct mfb_error *err);

/* Is the throwaway server still running? (it may die on a damaged page) */
bool scratch_server_alive(struct scratch *s);

/* SIGTERM, then SIGKILL after timeout_ms; waits until it is gone. */
void scratch_server_stop(struct scratch *s, uint64_t timeout_ms);

/* The last lines of the server's error log on one line ("" when none). */
const char *scratch_error_tail(const struct scratch *s, char *buf, size_t len);

/* After the server exited: was the scratch directory's disk full? Its
 * error log says so (error 28, "No space left on device", "out of disk
 * space"), or less than SCRATCH_FULL_BELOW is free. A full disk says
 * nothing about the backup, so the drill must not call it "not
 * restorable" (docs/drill.md, "The verdict"). *avail gets what is free. */
#define SCRATCH_FULL_BELOW (1u << 20)
bool scratch_disk_full(const struct scratch *s, uint64_t *avail);

#endif
