/*
 * storage.h - where the receiver's bytes live: the local partial files of
 * open uploads (the same for every driver), and, behind one interface, the
 * published backups with their .sha256 and .json companions (a directory,
 * or an S3 bucket: see "the storage driver" below).
 *
 * Layout under the storage root (file driver; for S3 the root is the local
 * staging directory and the published keys are alike, docs/server.md):
 *   .partial/<upload_id>.part      an open upload, written at chunk offsets
 *   <layout dir>/<name>            a published backup, mode 0440
 *   <layout dir>/<name>.sha256     "<hex>  <name>", for sha256sum -c
 *   <layout dir>/<name>.json       the backup's metadata
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

/* ---- the storage driver ----
 *
 * Where published backups live is behind one interface, so that the rest
 * of the receiver does not know whether it talks to a directory or to an
 * S3-compatible bucket. Both drivers take an open upload's chunks through
 * the local partial file above (the staging area: a chunk is hashed and
 * written there as it arrives, and out-of-order chunks are hashed from it,
 * session.h); what a driver adds is where a verified chunk goes, how a
 * verified upload is published, and how published backups are read,
 * listed and deleted.
 *
 *   file (storage_file.c)  the storage directory: the partial file is
 *                          renamed into place (today's behaviour, default)
 *   s3 (storage_s3.c)      a bucket: each verified chunk becomes a part of
 *                          a multipart upload, complete makes the object
 *                          (docs/server.md, "S3 storage")
 */

/* Settings of the S3 driver, from `mfb-server init` (the secrets stay in
 * their 0600 files, read when the driver opens: never in the catalog). */
struct storage_s3_config {
    char url[1024];      /* s3://BUCKET/PREFIX */
    char endpoint[1024]; /* https://host:port */
    char region[64];
    char key_file[PATH_MAX];
    char secret_file[PATH_MAX];
    char ca_file[PATH_MAX]; /* "" for the system's CAs */
    bool path_style;
};

struct storage_config {
    const char *root; /* the storage directory (file), or the local staging directory (s3) */
    const struct storage_s3_config *s3; /* NULL: the file driver */
};

struct storage;

/* A published backup opened for reading: read() fills buf with up to len
 * bytes at offset off and returns how many (0 at the end) or -1. */
struct storage_read {
    uint64_t size;
    int fd; /* >= 0: a local file the caller may send directly */
    void *ctx;
    long (*read)(void *ctx, uint64_t off, char *buf, size_t len);
    void (*close)(void *ctx);
};

/* Called for each published backup a listing finds (rel_path of the file). */
typedef void (*storage_list_fn)(void *ctx, const char *rel_path, uint64_t size);

/* Opens the driver the config names (allocated; storage_close frees it). */
mfb_status storage_open(const struct storage_config *cfg, struct storage **out,
                        struct mfb_error *err);
void storage_close(struct storage *st);

/* "file" or "s3". */
const char *storage_kind(const struct storage *st);

/* Checks that the storage is there and writable (init, serve). */
mfb_status storage_probe(struct storage *st, struct mfb_error *err);

/* Chunk limits of the driver: each chunk but the last at least min_chunk
 * bytes, at most max_chunks chunks (0: no limit). */
void storage_chunk_limits(const struct storage *st, uint64_t *min_chunk, uint64_t *max_chunks);

/* A new upload: its empty partial file, and what the driver needs. */
mfb_status storage_upload_open(struct storage *st, const char *upload_id, struct mfb_error *err);

/* A chunk [off, off + len) with digest sha256 is stored in the partial
 * file and verified: the driver makes it durable its own way before the
 * chunk is acknowledged. MFB_ERR_NETWORK: the storage cannot be reached
 * (the client retries). */
mfb_status storage_chunk_commit(struct storage *st, const char *upload_id, uint64_t index,
                                uint64_t off, uint64_t len, const uint8_t *sha256,
                                struct mfb_error *err);

/* An abandoned upload: its partial file and whatever the driver keeps. */
void storage_upload_abort(struct storage *st, const char *upload_id);

/* Whether the upload's data has already left its partial file (a publish
 * that a crash interrupted). */
bool storage_upload_published(struct storage *st, const char *upload_id);

/* Publishes a verified upload of size bytes into reldir under a unique
 * variant of name. Fills rel_path (storage-relative) and final_name. hook
 * may be NULL. Does not write the companions. */
mfb_status storage_publish(struct storage *st, const char *upload_id, uint64_t size,
                           const char *reldir, const char *name, storage_publish_hook hook,
                           void *ctx, char *rel_path, size_t rel_len, char *final_name,
                           size_t final_len, struct mfb_error *err);

/* Writes <file>.sha256 and <file>.json next to the published file (mode 0440). */
mfb_status storage_write_companions(struct storage *st, const char *rel_path,
                                    const char *final_name, const char *sha256_hex,
                                    const char *json, bool replace, struct mfb_error *err);

/* Deletes a published backup and its companions (and, for the file
 * driver, directories left empty). A backup already gone is fine. */
mfb_status storage_delete_backup(struct storage *st, const char *rel_path, struct mfb_error *err);

/* Before a backup is deleted: claims its deletion, so that of several
 * receivers on one storage running retention at once only one deletes
 * it. MFB_ERR_EXISTS: another receiver claimed it (drop the record only).
 * The file driver has one receiver per directory: always MFB_OK. */
mfb_status storage_claim_delete(struct storage *st, const char *backup_id, struct mfb_error *err);

/* Whether a receiver has claimed the backup's deletion: its objects may
 * still be listed while they are being deleted, and must not be adopted
 * again (catalog.h). MFB_OK: *claimed says; otherwise the store did not
 * answer. The file driver never has claims. */
mfb_status storage_delete_claimed(struct storage *st, const char *backup_id, bool *claimed,
                                  struct mfb_error *err);

/* Whether several receivers may share the storage (S3): they then learn of
 * each other's backups by listing it (catalog.h). */
bool storage_shared(const struct storage *st);

/* Opens a published backup for reading (storage_read_close releases it). */
mfb_status storage_read_open(struct storage *st, const char *rel_path, struct storage_read *r,
                             struct mfb_error *err);
void storage_read_close(struct storage_read *r);

/* Lists the published backups (files with their .json beside them). */
mfb_status storage_list(struct storage *st, storage_list_fn fn, void *ctx, struct mfb_error *err);

/* Reads a published companion (rel_path + ".json") into *text (allocated). */
mfb_status storage_read_json(struct storage *st, const char *rel_path, char **text,
                             struct mfb_error *err);

/* Bytes available to the receiver (a bucket has no such limit: UINT64_MAX / 2). */
mfb_status storage_free_bytes(struct storage *st, uint64_t *avail, uint64_t *total,
                              struct mfb_error *err);

/* Bytes available where open uploads are received: the file system of the
 * root's partial files. Every driver holds an open upload whole there
 * until it is published (S3 sends each part from it, and out-of-order
 * chunks are hashed from it), so an upload needs this room whichever the
 * driver: for the file driver it is the storage's own free space, for S3
 * the staging directory's, which a bucket's lack of a limit says nothing
 * about. */
mfb_status storage_upload_room(struct storage *st, uint64_t *avail, uint64_t *total,
                               struct mfb_error *err);

/* The largest file the storage can hold: for a directory no more than the
 * file system's size (a file cannot be completed past it), nor than its
 * largest file (FILESIZEBITS; ext4, for one, stops at 16 TiB). */
mfb_status storage_max_file_bytes(struct storage *st, uint64_t *max, struct mfb_error *err);

#endif
