/*
 * fetch.h - the first step of a restore: the backup found on the receiver,
 * and its file in the local spool, complete and with the SHA-256 the
 * receiver recorded. A restore drill (job/drill/) gets its backup the same
 * way.
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

/* Looks key (a backup id, a name or "latest") up among the backups of
 * instance on the receiver into *out. An id that is not among them is
 * asked for on its own (another instance's backup: cloning one server onto
 * another), and that request's error goes to by_id_err. MFB_ERR_NOT_FOUND
 * with err untouched when key names none of them and is no id; *listed is
 * how many backups of instance the receiver listed, for the caller's
 * message. */
mfb_status restore_fetch_find(const struct transfer_peer *client, struct cancel_token *cancel,
                              const char *instance, const char *key, struct backup_info *out,
                              size_t *listed, struct mfb_error *by_id_err, struct mfb_error *err);

mfb_status restore_fetch_run(const struct restore_fetch *f, struct restore_fetch_result *res,
                             struct mfb_error *err);

/* Whether a download that failed with st stopped part way (cancelled, the
 * network, a timeout): its .part file is kept and the same command
 * continues it. */
bool restore_fetch_interrupted(mfb_status st);

/* The hint of such a download: "<before>'<path>.part' is kept and <who>
 * continues the download". */
void restore_fetch_hint_part_kept(struct mfb_error *err, const char *before, const char *path,
                                  const char *who);

/* The line that says how a download went, into out: the earlier download
 * used, or a new one (resumed or not) whose SHA-256 matches, then tail
 * ("" for none). */
void restore_fetch_describe(const struct restore_fetch_result *fr, const char *tail, char *out,
                            size_t len);

/* Before a download into path (the .part beside it may hold a part): the
 * spool has room for what is still to come. */
mfb_status restore_fetch_check_room(const struct restore_fetch *f, const char *path,
                                    struct mfb_error *err);

/* SHA-256 of a whole file, read in 1 MiB blocks. */
mfb_status restore_fetch_hash_file(const char *path, uint8_t out[SHA256_LEN], uint64_t *size,
                                   struct mfb_error *err);

#endif
