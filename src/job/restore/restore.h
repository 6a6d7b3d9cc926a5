/*
 * restore.h - putting a backup back (docs/restore.md): the orchestration
 * of download, verification, compatibility check, stop, move aside,
 * extraction, ownership, start and verify, and the way back when any of it
 * fails.
 *
 *   1. Find the backup on the receiver (by id, by name, or "latest").
 *   2. Download it into the spool with Range resume, check its SHA-256
 *      against the receiver's (fetch.h), then test the whole ZIP
 *      (every entry's CRC-32 and size, the manifest) before anything else
 *      is touched. A staged restore that has to download reads only the
 *      archive's end here (its structure is tested), and downloads the
 *      rest during step 5's staging, which checks each entry as it
 *      arrives; the SHA-256 and the finished file's directory are checked
 *      when the staging ends, before the stop (stream.h).
 *   3. With --to DIR: extract everything into DIR (each root under
 *      DIR/<root>) and stop there. The server is not touched.
 *   4. Otherwise plan where each root goes (plan.h), put right a swap a
 *      killed restore left (stage.h), refuse a backup of another flavour
 *      or a newer release (compat.h) unless forced, and check every
 *      destination (can be moved aside, has room) - all while the server
 *      still runs.
 *   5. Staged (the default): extract each root into a staging directory
 *      beside it and give it its owner (ownership.h), the server still
 *      running; then stop the server and swap each staged root in
 *      (stage.h: the old one goes to "<dir>.mfb-before-restore-<stamp>",
 *      never deleted) under the swap journal; start the server and wait
 *      until it answers SELECT 1.
 *      --in-place: stop the server; move every destination that exists
 *      aside (swap.h); extract each root into its place; give the trees to
 *      their owner with mode 0750 on the datadir; start and wait.
 *   6. If any step of 5 after the stop fails, or the user cancels: stop whatever was
 *      started, move the half-restored directories to
 *      "<dir>.mfb-failed-restore-<stamp>", put the old directories back,
 *      and start the server again. The first error is what is reported.
 *
 * Nothing here does byte-level work; each step is one call into
 * src/archive, src/transfer, src/mysql or the helpers beside this file.
 * Every step is reported to a callback as one line for people, and
 * recorded in the job log (journal.h, kind "restore"), which also logs it.
 * A restore holds the instance's job lock (lock.h): it never runs beside a
 * backup or another restore of the same instance. An in-place restore that
 * stopped the server ends with an alert (alert.h): restore_succeeded
 * (info), restore_failed (error: the old data is back) or server_down
 * (critical).
 */
#ifndef MFB_JOB_RESTORE_RESTORE_H
#define MFB_JOB_RESTORE_RESTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "job/endpoints.h"
#include "job/restore/plan.h"
#include "store/job_log.h"
#include "transfer/https.h"
#include "transfer/observer.h"
#include "transfer/receiver_api.h"

struct restore_options {
    struct config_db *db; /* the job log, alerts, and the instance lock's second witness */
    const struct job_instance *instance;
    const struct job_target *target;
    const char *backup; /* backup id, name, or "latest" */
    const char *to_dir; /* --to: only extract there; NULL: in place */
    const struct restore_map *maps;
    size_t map_count;
    bool force;                  /* skip the flavour and version check */
    bool in_place;               /* stop first, then extract into place (else: staged) */
    bool keep_download;          /* keep the downloaded file after a success */
    const char *spool;           /* NULL: the instance's spool */
    struct cancel_token *cancel; /* may be NULL */
    const struct transfer_observer *observers; /* download progress */
    size_t observer_count;
    void (*report)(void *ctx, const char *line); /* one line per step; may be NULL */
    void *report_ctx;
    /* Tests only: "extract:ROOT" makes the extraction of ROOT fail after
     * its directory was created, to exercise the way back. NULL normally. */
    const char *fault;
};

struct restore_moved {
    char root[128];
    char dir[PATH_MAX];
    char aside[PATH_MAX];
};

struct restore_result {
    struct backup_info backup;
    char file[PATH_MAX]; /* the downloaded backup */
    bool file_kept;
    uint64_t entries; /* extracted */
    uint64_t bytes;
    bool stopped;                /* the server was stopped by the restore */
    int64_t downtime_ms;         /* from the stop to the first answer; -1 if not stopped */
    bool rolled_back;            /* a failure put the old directories back */
    bool server_answers;         /* at the end: the server answered SELECT 1 */
    struct restore_moved *moved; /* the directories moved aside and kept */
    size_t moved_count;
    int64_t job_id; /* 0 without a database */
};

mfb_status restore_run(const struct restore_options *o, struct restore_result *result,
                       struct mfb_error *err);

void restore_result_free(struct restore_result *result);

#endif
