/*
 * phase.h - where a backup job is (its phase), the transitions between
 * phases that the pipeline may take, and the job's final status derived
 * from where it ended and a few facts (docs/backup.md, "Phases").
 *
 * The phase is the job's own position in the pipeline; what the database
 * server is doing is a second, smaller machine (enum backup_server),
 * because the same phase runs with the server down or up depending on the
 * restart policy (the archive is written while it is down under `upload`
 * and `archive`, after it runs again under `snapshot`):
 *
 *   upload    PREFLIGHT → PREFLUSH → STOPPING → ARCHIVING → UPLOADING → RESTARTING → COMPLETING
 *   archive   PREFLIGHT → PREFLUSH → STOPPING → ARCHIVING → RESTARTING → UPLOADING → COMPLETING
 *   snapshot  PREFLIGHT → PREFLUSH → STOPPING → SNAPSHOT → RESTARTING → ARCHIVING → UPLOADING
 *             → COMPLETING
 *
 * and then ENDING (the outcome is recorded) and DONE. A failure or a
 * cancel before the stop goes straight to ENDING; after the stop it goes
 * through RESTARTING while the server is down (a stop that failed but left
 * the server answering goes from STOPPING to ENDING). Before the job is
 * recorded the phase is SETUP, which ends in DONE when the configuration
 * or the lock refuses it.
 *
 * A move the table does not allow is a bug in the pipeline: it is
 * asserted in debug and sanitizer builds; a release build logs an error
 * line and moves anyway, since the job must go on to start the server.
 */
#ifndef MFB_JOB_BACKUP_PHASE_H
#define MFB_JOB_BACKUP_PHASE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "store/job_log.h"

enum backup_phase {
    BACKUP_PHASE_SETUP,      /* configuration and the lock; no job recorded yet */
    BACKUP_PHASE_PREFLIGHT,  /* checks, discovery, the receiver opens the upload */
    BACKUP_PHASE_PREFLUSH,   /* dirty pages flushed, the guardian started */
    BACKUP_PHASE_STOPPING,   /* the stop command was issued: downtime runs */
    BACKUP_PHASE_SNAPSHOT,   /* snapshot policy: the files copied to the spool */
    BACKUP_PHASE_ARCHIVING,  /* Data.zip written, each chunk sent as it is sealed */
    BACKUP_PHASE_UPLOADING,  /* Data.zip sealed; the rest of the chunks are sent */
    BACKUP_PHASE_RESTARTING, /* the start command and the first query; never cancelled */
    BACKUP_PHASE_COMPLETING, /* every chunk sent: the receiver checks and stores it */
    BACKUP_PHASE_ENDING,     /* the outcome is recorded: Data.zip kept or removed, alerts */
    BACKUP_PHASE_DONE,
    BACKUP_PHASE_COUNT
};

/* The database server, as the job has left it so far:
 * RUNNING → DOWN (the stop command is issued) → BACK or LOST. */
enum backup_server {
    BACKUP_SERVER_RUNNING, /* never stopped by this job */
    BACKUP_SERVER_DOWN,    /* the stop command was issued; it has not answered since */
    BACKUP_SERVER_BACK,    /* it answers again after the stop */
    BACKUP_SERVER_LOST,    /* it did not start again: manual recovery (critical) */
};

/* What the final status depends on besides the phase. */
struct backup_outcome {
    enum backup_server server;
    bool sealed;    /* Data.zip is complete on the local disk */
    bool stored;    /* the receiver checked its SHA-256 and stored it */
    bool cancelled; /* a cancel was asked (Ctrl-C, SIGTERM) */
};

/* "setup", "preflight", ..., "done"; "?" for a value out of range. */
const char *backup_phase_name(enum backup_phase p);

/* Whether the pipeline may move from one phase to the other. */
bool backup_phase_allowed(enum backup_phase from, enum backup_phase to);

/* Moves *phase to `to` (an atomic: another thread, the daemon's or the web
 * UI's, may read it). Returns false for a move the table does not allow
 * (see above: asserted in debug builds, logged in release builds). */
bool backup_phase_move(atomic_int *phase, enum backup_phase to);

/* "running", "down", "back", "lost"; "?" out of range. */
const char *backup_server_name(enum backup_server s);

/* Whether the server may go from one state to the other. */
bool backup_server_allowed(enum backup_server from, enum backup_server to);

/* Moves *server to `to`, checked as backup_phase_move checks a phase. */
bool backup_server_move(enum backup_server *server, enum backup_server to);

/* The job's final status, from the phase it ended in (before ENDING) and
 * the outcome:
 *   - never recorded (SETUP): failed;
 *   - the server did not start again: critical, whatever else happened;
 *   - stored by the receiver: ok;
 *   - Data.zip sealed: pending_upload, even on a cancel (a sealed archive
 *     is never thrown away; `mfb resume` sends it);
 *   - otherwise cancelled when a cancel was asked, else failed. */
enum job_status backup_phase_status(enum backup_phase ended_in, const struct backup_outcome *o);

#endif
