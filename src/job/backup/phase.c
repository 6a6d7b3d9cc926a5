/*
 * phase.c - the backup job's phases, their transition table, and the
 * final status derived from them (see phase.h and docs/backup.md).
 */
#include "job/backup/phase.h"

#include <assert.h>

#include "common/log.h"

static const char *const names[BACKUP_PHASE_COUNT] = {
    [BACKUP_PHASE_SETUP] = "setup",
    [BACKUP_PHASE_PREFLIGHT] = "preflight",
    [BACKUP_PHASE_PREFLUSH] = "preflush",
    [BACKUP_PHASE_STOPPING] = "stopping",
    [BACKUP_PHASE_SNAPSHOT] = "snapshot",
    [BACKUP_PHASE_ARCHIVING] = "archiving",
    [BACKUP_PHASE_UPLOADING] = "uploading",
    [BACKUP_PHASE_RESTARTING] = "restarting",
    [BACKUP_PHASE_COMPLETING] = "completing",
    [BACKUP_PHASE_ENDING] = "ending",
    [BACKUP_PHASE_DONE] = "done",
};

/* next[from][to]: the moves the pipeline takes (phase.h draws the three
 * restart policies). Every phase after PREFLIGHT may end the job, except
 * those that only run while the server is down (SNAPSHOT): from there a
 * failure always goes through RESTARTING. */
static const bool next[BACKUP_PHASE_COUNT][BACKUP_PHASE_COUNT] = {
    /* The job is recorded, or the configuration or the lock refused it. */
    [BACKUP_PHASE_SETUP] = {[BACKUP_PHASE_PREFLIGHT] = true, [BACKUP_PHASE_DONE] = true},
    /* Any failure before the stop ends the job with no downtime. */
    [BACKUP_PHASE_PREFLIGHT] = {[BACKUP_PHASE_PREFLUSH] = true, [BACKUP_PHASE_ENDING] = true},
    [BACKUP_PHASE_PREFLUSH] = {[BACKUP_PHASE_STOPPING] = true, [BACKUP_PHASE_ENDING] = true},
    /* A failed stop: the server still answers (ENDING), or it half-stopped
     * and is started again (RESTARTING). */
    [BACKUP_PHASE_STOPPING] = {[BACKUP_PHASE_SNAPSHOT] = true,
                               [BACKUP_PHASE_ARCHIVING] = true,
                               [BACKUP_PHASE_RESTARTING] = true,
                               [BACKUP_PHASE_ENDING] = true},
    [BACKUP_PHASE_SNAPSHOT] = {[BACKUP_PHASE_RESTARTING] = true},
    /* Sealed: the upload goes on, with the server down (upload) or after
     * the start (archive); failed: the start if the server is down, else
     * the end (snapshot). */
    [BACKUP_PHASE_ARCHIVING] = {[BACKUP_PHASE_UPLOADING] = true,
                                [BACKUP_PHASE_RESTARTING] = true,
                                [BACKUP_PHASE_ENDING] = true},
    [BACKUP_PHASE_UPLOADING] = {[BACKUP_PHASE_RESTARTING] = true,
                                [BACKUP_PHASE_COMPLETING] = true,
                                [BACKUP_PHASE_ENDING] = true},
    /* Whether the server came back or not, the job goes on with what it
     * can still save: the archive (snapshot), the upload (archive), the
     * completion (upload). */
    [BACKUP_PHASE_RESTARTING] = {[BACKUP_PHASE_ARCHIVING] = true,
                                 [BACKUP_PHASE_UPLOADING] = true,
                                 [BACKUP_PHASE_COMPLETING] = true,
                                 [BACKUP_PHASE_ENDING] = true},
    [BACKUP_PHASE_COMPLETING] = {[BACKUP_PHASE_ENDING] = true},
    [BACKUP_PHASE_ENDING] = {[BACKUP_PHASE_DONE] = true},
};

const char *backup_phase_name(enum backup_phase p)
{
    return (unsigned)p < BACKUP_PHASE_COUNT ? names[p] : "?";
}

bool backup_phase_allowed(enum backup_phase from, enum backup_phase to)
{
    return (unsigned)from < BACKUP_PHASE_COUNT && (unsigned)to < BACKUP_PHASE_COUNT &&
           next[from][to];
}

bool backup_phase_move(atomic_int *phase, enum backup_phase to)
{
    enum backup_phase from = (enum backup_phase)atomic_load(phase);
    bool ok = backup_phase_allowed(from, to);
    if (!ok)
        log_error("backup", "phase=%s next=%s note=transition_not_allowed", backup_phase_name(from),
                  backup_phase_name(to));
    /* The table is the pipeline's own invariant: a move outside it is a
     * bug in backup.c, found by the integration tests in debug builds. */
    assert(ok);
    atomic_store(phase, (int)to);
    return ok;
}

const char *backup_server_name(enum backup_server s)
{
    static const char *const server_names[] = {"running", "down", "back", "lost"};
    return (unsigned)s < sizeof(server_names) / sizeof(server_names[0]) ? server_names[s] : "?";
}

bool backup_server_allowed(enum backup_server from, enum backup_server to)
{
    switch (from) {
    case BACKUP_SERVER_RUNNING:
        return to == BACKUP_SERVER_DOWN;
    case BACKUP_SERVER_DOWN:
        return to == BACKUP_SERVER_BACK || to == BACKUP_SERVER_LOST;
    default: /* BACK and LOST are final: the job stops the server once */
        return false;
    }
}

bool backup_server_move(enum backup_server *server, enum backup_server to)
{
    bool ok = backup_server_allowed(*server, to);
    if (!ok)
        log_error("backup", "server=%s next=%s note=transition_not_allowed",
                  backup_server_name(*server), backup_server_name(to));
    assert(ok);
    *server = to;
    return ok;
}

enum job_status backup_phase_status(enum backup_phase ended_in, const struct backup_outcome *o)
{
    if (ended_in == BACKUP_PHASE_SETUP)
        return JOB_STATUS_FAILED;
    if (o->server == BACKUP_SERVER_LOST)
        return JOB_STATUS_CRITICAL;
    if (o->stored)
        return JOB_STATUS_OK;
    if (o->sealed)
        return JOB_STATUS_PENDING_UPLOAD;
    return o->cancelled ? JOB_STATUS_CANCELLED : JOB_STATUS_FAILED;
}
