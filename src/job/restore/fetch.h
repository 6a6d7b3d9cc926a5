/*
 * fetch.h - the first step of a restore: the backup's file in the
 * local spool, complete and with the SHA-256 the receiver recorded.
 *
 * The file is SPOOL/restore-<backup_id>.zip. A name fixed by the backup id
 * makes a second run pick up where the first stopped: the downloader
 * resumes its .part file with a Range request, and a complete file kept by
 * an earlier run (--keep-download, or a restore that failed later) is
 * checked again, by reading it once through SHA-256, and used without
 * downloading it again. A kept file that does not match is removed and
 * downloaded afresh.
 */
#ifndef MFB_JOB_RESTORE_FETCH_H
#define MFB_JOB_RESTORE_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cancel.h"
#include "common/status.h"
#include "transfer/downloader.h"
#include "transfer/https.h"
#include "transfer/receiver_api.h"

struct restore_fetch {
    const struct transfer_peer *client;
    const struct backup_info *backup; /* id, size and SHA-256 from the receiver's list */
    const char *spool;                /* created (0700) when missing */
    struct cancel_token *cancel;      /* may be NULL */
    const struct transfer_observer *observers;
    size_t observer_count;
};

struct restore_fetch_result {
    char path[4096];
    bool reused;           /* a complete earlier download was used */
    uint64_t resumed_from; /* bytes an earlier .part already held */
    uint64_t received;     /* bytes that came over the network now */
};

mfb_status restore_fetch_run(const struct restore_fetch *f, struct restore_fetch_result *res,
                             struct mfb_error *err);

/* Before a download into path (the .part beside it may hold a part): the
 * spool has room for what is still to come. */
mfb_status restore_fetch_check_room(const struct restore_fetch *f, const char *path,
                                    struct mfb_error *err);

/* SHA-256 of a whole file, read in 1 MiB blocks. */
mfb_status restore_fetch_hash_file(const char *path, uint8_t out[SHA256_LEN], uint64_t *size,
                                   struct mfb_error *err);

#endif
