/*
 * upload_resume.h - sending a finished file to an upload the receiver
 * already has open: a new one, one interrupted before (a resume), or one
 * completed before whose answer was lost. The one implementation of that
 * flow, used by `mfb push` (cli/cmd_push.c) and `mfb resume`
 * (job/backup/resume.c), which add only their policy: where the upload id comes
 * from, what to log, and what to check before the receiver publishes.
 *
 *   state.complete   completing again is idempotent and returns the
 *                    backup the upload became, if the file is the same: only
 *                    the file's SHA-256 is needed (the seal record's, or one
 *                    read of the file)
 *   resuming         the receiver's chunk list is matched to the file
 *                    (plan_resume); the uploader reads every chunk, sends
 *                    what is missing or different and skips what the
 *                    receiver holds with the same digest (requirement 5.4)
 *   otherwise        every chunk is sent
 *
 * then, unless the caller's last check refuses, complete: the receiver
 * checks the whole file's SHA-256 and publishes. With a seal record
 * (chunk_record.h) no chunk that differs from it is sent, and no chunk of
 * the receiver's is replaced by one (uploader.h).
 */
#ifndef MFB_TRANSFER_UPLOAD_RESUME_H
#define MFB_TRANSFER_UPLOAD_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "transfer/chunk_record.h"
#include "transfer/plan.h"
#include "transfer/receiver_api.h"
#include "transfer/uploader.h"

struct upload_resume_config {
    const struct transfer_peer *client;
    struct transfer_conn *conn;       /* for the control requests (complete) */
    const struct upload_state *state; /* from receiver_upload_get, or _create for a new one */
    bool resuming;                    /* match state's chunk list against the file */
    int fd;                           /* the file, read with pread; the caller closes it */
    const char *path;                 /* for messages */
    uint64_t size;
    size_t connections;
    const struct chunk_record *record; /* the file's seal record, or NULL */
    struct cancel_token *cancel;       /* may be NULL */
    const struct transfer_observer *observers;
    size_t observer_count;
    /* Told what the receiver holds before any data moves (plan NULL when
     * the upload was completed already). May be NULL. */
    void (*on_plan)(void *ctx, const struct resume_plan *plan);
    /* The caller's last check before the receiver publishes; an error
     * stops the upload there. May be NULL. */
    mfb_status (*before_complete)(void *ctx, struct mfb_error *err);
    void *ctx;
};

/* Runs the flow above. On MFB_OK, backup is what the receiver stored and
 * result counts what moved (all zero but size when it was complete). */
mfb_status upload_resume_run(const struct upload_resume_config *c, struct upload_result *result,
                             struct backup_info *backup, struct mfb_error *err);

#endif
