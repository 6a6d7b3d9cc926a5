/*
 * catalog.h - the catalog learned from the storage: several receivers on
 * one bucket (docs/server.md, "Several receivers on one bucket").
 *
 * Each published backup's .json holds what the catalog needs (id, client,
 * instance, name, size, SHA-256, times, metadata, upload id), so the
 * storage alone can rebuild a receiver's catalog: catalog_sync lists the
 * storage, adopts every backup it does not know (creating an inactive
 * client record for a client it has never seen: `mfb-server client import`
 * gives it its token), and drops the records of backups whose files are
 * gone (deleted by another receiver's retention). A receiver on S3 runs it
 * periodically and on a miss; `mfb-server catalog rebuild` runs it with
 * every stale record dropped.
 */
#ifndef MFB_SERVER_CATALOG_H
#define MFB_SERVER_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "server/storage.h"
#include "store/server_db.h"

struct catalog_report {
    size_t listed;  /* backups found in the storage */
    size_t added;   /* adopted into the catalog */
    size_t removed; /* records dropped: their files are gone */
    size_t skipped; /* files with an unreadable or inconsistent .json */
};

/* Brings the catalog in line with the storage. Records of backups missing
 * from the listing are dropped only when published before prune_before
 * (a backup published while the listing ran is kept); INT64_MAX drops all. */
mfb_status catalog_sync(struct server_db *db, struct storage *st, int64_t prune_before,
                        struct catalog_report *report, struct mfb_error *err);

#endif
