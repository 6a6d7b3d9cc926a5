/*
 * storage.h - the receiver's files: partial files of open uploads, the
 * durable publish of a finished one, its .sha256 and .json companions, and
 * free-space checks.
 *
 * Layout under the storage root:
 *   .partial/<upload_id>.part      an open upload, written at chunk offsets
 *   <layout dir>/<name>            a published backup, mode 0440
 *   <layout dir>/<name>.sha256     "<hex>  <name>", for sha256sum -c
 *   <layout dir>/<name>.json       the backup's metadata
 * The partial file lives on the same file system as the published files,
 * so publishing is a rename, never a copy: the partial file is already
 * fsynced chunk by chunk; it is made read-only, renamed without replacing
 * anything (a -1, -2 ... suffix before the extension if the name is
 * taken), and the directories are fsynced.
 */
#ifndef MFB_SERVER_STORAGE_H
#define MFB_SERVER_STORAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define STORAGE_PARTIAL_DIR ".partial"
#define STORAGE_FILE_MODE 0440
#define STORAGE_DIR_MODE 0750

/* Creates the root and its .partial directory. */
mfb_status storage_init(const char *root, struct mfb_error *err);

/* Checks that root is a storage directory that init made (it holds
 * .partial/): `serve` refuses to start without it rather than write
 * backups under the mount point of a disk that is not mounted. */
mfb_status storage_check(const char *root, struct mfb_error *err);

/* root/.partial/<upload_id>.part */
void storage_partial_path(const char *root, const char *upload_id, char *buf, size_t len);

/* Creates the empty partial file of a new upload (mode 0600). */
mfb_status storage_partial_create(const char *root, const char *upload_id, struct mfb_error *err);

/* Removes a partial file; a missing one is fine. */
void storage_partial_remove(const char *root, const char *upload_id);

/* The name to try for attempt n: "a.zip", "a-1.zip", "a-2.zip" ... (the
 * suffix goes before the last extension; a leading-dot-free name without
 * an extension gets it at the end). */
void storage_candidate_name(const char *name, unsigned attempt, char *buf, size_t len);

/* Called with each storage-relative path just before the rename to it is
 * tried; MFB_ERR_EXISTS from it means the name is taken: try the next. */
typedef mfb_status (*storage_publish_hook)(void *ctx, const char *rel_path, struct mfb_error *err);

/* Publishes the file at `from` into root/reldir under a unique variant of
 * name. Fills rel_path (storage-relative path of the file) and final_name.
 * Does not write the companions. hook may be NULL. */
mfb_status storage_publish(const char *root, const char *reldir, const char *name, const char *from,
                           storage_publish_hook hook, void *ctx, char *rel_path, size_t rel_len,
                           char *final_name, size_t final_len, struct mfb_error *err);

/* Writes <file>.sha256 and <file>.json next to the published file (mode 0440). */
mfb_status storage_write_companions(const char *root, const char *rel_path, const char *final_name,
                                    const char *sha256_hex, const char *json, bool replace,
                                    struct mfb_error *err);

/* Deletes a published backup and its companions, then any directories
 * left empty between it and the root. */
mfb_status storage_delete_backup(const char *root, const char *rel_path, struct mfb_error *err);

/* Bytes available to the receiver on the root's file system. */
mfb_status storage_free_bytes(const char *root, uint64_t *avail, uint64_t *total,
                              struct mfb_error *err);

/* The largest file the root's file system can hold: no more than the file
 * system's size (a file cannot be completed past it), nor than its
 * largest file (FILESIZEBITS; ext4, for one, stops at 16 TiB). */
mfb_status storage_max_file_bytes(const char *root, uint64_t *max, struct mfb_error *err);

#endif
