/*
 * downloader.h - fetches a stored backup to a local file, resumably.
 *
 * Bytes go to OUT.part and are hashed as they are written. A network
 * failure is retried with a Range request from the current length, so a
 * retry never re-downloads what is on disk; so is a later run of the same
 * command, which first re-reads OUT.part to rebuild the digest (reading back
 * is what resuming costs; the normal path hashes in passing). At the end
 * the SHA-256 must equal the receiver's (backup metadata, and Repr-Digest
 * when sent); then OUT.part is fsynced and renamed to OUT, never over an
 * existing file. One connection: a single TLS stream outruns the disk on
 * the machines we target, and Range resume keeps it simple.
 */
#ifndef MFB_TRANSFER_DOWNLOADER_H
#define MFB_TRANSFER_DOWNLOADER_H

#include <stddef.h>
#include <stdint.h>

#include "common/cancel.h"
#include "common/status.h"
#include "transfer/https.h"
#include "transfer/observer.h"
#include "transfer/receiver_api.h"

struct download_config {
    const struct transfer_peer *client;
    const char *backup_id;
    const char *out_path;
    struct cancel_token *cancel; /* may be NULL */
    const struct transfer_observer *observers;
    size_t observer_count;
};

struct download_result {
    struct backup_info backup;
    uint64_t resumed_from; /* bytes already in OUT.part at the start */
    uint64_t bytes_received;
    uint64_t retries;
};

mfb_status download_backup(const struct download_config *config, struct download_result *result,
                           struct mfb_error *err);

#endif
