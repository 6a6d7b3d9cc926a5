/*
 * guardian.h - the backup's guardian: a small process that starts the
 * database server again if the backup's own process dies (kill -9, the
 * out-of-memory killer, a crash) while the server is stopped
 * (docs/backup.md, "The guardian"; docs/recovery.md).
 *
 * The job starts it just before the stop: fork, then, in the child, a new
 * session (so a terminal's Ctrl-C or a supervisor's kill of the job's
 * process group does not reach it), every descriptor closed but one end of
 * a socket pair, and exec of the mfb binary itself (/proc/self/exe) with
 * the hidden command GUARDIAN_COMMAND. Nothing of the job's state crosses:
 * the guardian opens the configuration database and loads the instance on
 * its own, and never touches the job's SQLite handle, MySQL connection,
 * receiver sockets or libcurl state. What it needs comes over the socket,
 * one line each, never on its command line:
 *
 *   job ID / alerts 0|1 / log LEVEL / instance NAME / db PATH   the header
 *   ready | error MESSAGE      the guardian's answer (it loaded the instance)
 *   down MS                    the stop was issued at MS (monotonic clock)
 *   begin STEP / end STEP      the job's steps, to name the one it died in
 *   up                         the job started the server itself: exit
 *   done                       the job ended with its own account: exit
 *
 * End of file on the socket without "up" or "done", after "down", means
 * the job died with the server down. The guardian then takes the
 * instance lock (the job's went with its process) and the job's row (its
 * pid, so no other command takes the job for an orphan meanwhile), starts
 * the server the way the job would (job/server_start.h), and records the
 * outcome in the job log: failed ("mfb was killed during STEP; the guardian
 * restarted the server (downtime N)"), pending_upload when Data.zip was
 * sealed, or critical with the recovery steps and the critical alert when
 * the start fails.
 */
#ifndef MFB_JOB_BACKUP_GUARDIAN_H
#define MFB_JOB_BACKUP_GUARDIAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"
#include "common/status.h"
#include "store/config_records.h"
#include "store/job_log.h"

/* The hidden command of mfb that runs the guardian (cli/main_mfb.c). */
#define GUARDIAN_COMMAND "__guardian"

/* The job's side. */
struct guardian {
    pid_t pid; /* 0: none */
    int fd;    /* the job's end of the socket; -1: none */
};

#define GUARDIAN_NONE                                                                              \
    {                                                                                              \
        .pid = 0, .fd = -1                                                                         \
    }

/* Starts the guardian of backup job_id of instance and waits until it has
 * loaded the instance (so a guardian that cannot work is known before the
 * stop). */
mfb_status guardian_start(struct guardian *g, struct config_db *db, int64_t job_id,
                          const char *instance, bool no_alerts, struct mfb_error *err);

/* The stop command is being issued (stop_issued_ms: clock_now_ms). */
void guardian_server_down(struct guardian *g, uint64_t stop_issued_ms);

/* A step began or ended: struct job_journal's on_step, ctx a guardian. */
void guardian_on_step(void *ctx, enum job_step step, bool begin);

/* The server answers again (the job started it, or it never went down):
 * the guardian exits. Waits for it. A no-op without a guardian. */
void guardian_stand_down(struct guardian *g);

/* The job ends and records its own outcome (the server may be down after a
 * failed start: the job's recovery steps and alert cover it): the guardian
 * exits. Waits for it. A no-op without a guardian. */
void guardian_release(struct guardian *g);

/* The guardian itself (`mfb __guardian`, the socket on descriptor 0).
 * Returns the exit code. */
int guardian_main(void);

#endif
