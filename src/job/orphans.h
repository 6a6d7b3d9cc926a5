/*
 * orphans.h - jobs left "running" by a process that is gone (a crash, an
 * out-of-memory kill, a kill -9) and what they left in the spool.
 *
 * Every job command settles them before it takes the instance lock
 * (job/lock.c), `mfb resume` before it looks for pending uploads, and
 * `mfb logs` before it lists, so no dead job is ever shown as running and
 * no dead job's files fill the spool:
 *
 * - a backup whose Data.zip was sealed (published under its final name,
 *   which happens only once the archive is complete) becomes
 *   pending_upload: the file is made durable and `mfb resume` sends it;
 *   the rest of its spool directory (snapshot copy, temporary files) goes;
 * - any other dead job becomes failed ("interrupted"), and a backup's
 *   spool directory (partial Data.zip, snapshot copy) is removed.
 *
 * A job whose guardian took it over (job/backup/guardian.h) has the guardian's
 * pid, which is alive: it is left to the guardian, which records the
 * outcome itself (docs/backup.md, "The guardian").
 */
#ifndef MFB_JOB_ORPHANS_H
#define MFB_JOB_ORPHANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/job_log.h"

/* Settles every orphan as above; *count (may be NULL) says how many. */
mfb_status job_orphans_settle(struct config_db *db, size_t *count, struct mfb_error *err);

/* Whether backup job_id of the instance whose spool is spool left a sealed
 * Data.zip; its path goes to zip (size len) either way. */
bool job_orphan_sealed(const char *spool, int64_t job_id, char *zip, size_t len);

/* Makes a sealed Data.zip durable (fsync of the file and its directory)
 * and removes the rest of the job's spool directory. */
mfb_status job_orphan_keep_zip(const char *spool, int64_t job_id, struct mfb_error *err);

/* Removes the job's spool directory (a partial Data.zip, a snapshot). */
void job_orphan_remove_files(const char *spool, int64_t job_id);

#endif
