/*
 * server_start.h - starting a stopped server again and waiting until it
 * answers: the one way mfb does it, used by the backup job after the
 * archive or the upload (job/backup/backup.c) and by its guardian when the job's
 * process died while the server was down (job/backup/guardian.c), so that both
 * run the same start command with the same timeouts and judge "it is up"
 * the same way (docs/backup.md, "Restart and verify").
 *
 * Neither the start nor the verification can be cancelled: once a server
 * was stopped, it is always started again.
 */
#ifndef MFB_JOB_SERVER_START_H
#define MFB_JOB_SERVER_START_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/status.h"
#include "job/endpoints.h"
#include "job/journal.h"

struct server_start {
    bool up;           /* the server answers */
    unsigned attempts; /* connection attempts until it answered */
    uint64_t up_ms;    /* monotonic time of the first answer (clock_now_ms) */
    /* When it did not come back: for the recovery steps (recovery.h). */
    char failed_command[1024];
    char failure[1536];
};

/* The instance's timeout t, or its default when unset. */
uint64_t server_start_timeout(const struct job_instance *inst, enum config_timeout t);

/* The start command as a person would type it ("(none)" without one). */
const char *server_start_command(const struct job_instance *inst, char *buf, size_t len);

/* Runs the instance's start method, then - even after a failed start
 * command, since a unit may come up late - waits until the server answers.
 * Records the steps start and verify and any error in j. MFB_OK when the
 * server answers (out->up; err keeps a failed start command's error);
 * otherwise err says why and out holds what failed. */
mfb_status server_start_verify(struct job_journal *j, const struct job_instance *inst,
                               struct server_start *out, struct mfb_error *err);

#endif
