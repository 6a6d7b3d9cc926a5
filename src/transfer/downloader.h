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
    /* Called after every write into OUT.part with the bytes it holds now
     * (also at the start, with what a resumed .part held, and with 0 when
     * it starts over), from the thread that runs download_backup; may be
     * NULL. The restore extracts behind it (common/watermark.h). */
    void (*written)(void *ctx, uint64_t bytes);
    void *written_ctx;
};

struct download_result {
    struct backup_info backup;
    uint64_t resumed_from; /* bytes already in OUT.part at the start */
    uint64_t bytes_received;
    uint64_t retries;
};

mfb_status download_backup(const struct download_config *config, struct download_result *result,
                           struct mfb_error *err);

/* Fetches the backup's last `want` bytes (all of it when smaller) into
 * memory with a Range request, retried like the download; out_path is not
 * used. The restore reads the archive's directory and manifest from them
 * before the rest arrives. *backup is the receiver's record. Allocates
 * *data. A receiver that answers with the whole file is refused
 * (MFB_ERR_UNSUPPORTED): the caller then downloads it the usual way. */
mfb_status download_tail(const struct download_config *config, uint64_t want, uint8_t **data,
                         size_t *len, struct backup_info *backup, struct mfb_error *err);

#endif
