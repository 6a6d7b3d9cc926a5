/*
 * spool.h - the spool directory of an instance: where each job keeps its
 * files, how much room they need, and removing them.
 *
 * Each job has a directory of its own, SPOOL/job-ID, holding Data.zip,
 * once Data.zip waits for a resume its seal record (SPOOL/job-ID/
 * Data.zip.chunks.json: its size, SHA-256 and chunk digests as written,
 * transfer/chunk_record.h), and,
 * with restart_after=snapshot, the copy of the server's files
 * (SPOOL/job-ID/snapshot/ROOT). Keyed by the job id, a pending upload's
 * Data.zip is found again by `mfb resume` from the job record alone, and
 * two jobs never share a file.
 *
 * The space estimate is what the issue asks for: the archive is assumed to
 * be as large as the files it holds (deflate rarely grows data; a database
 * of compressed or encrypted pages hardly shrinks), plus a margin for the
 * ZIP's own records and the file system.
 */
#ifndef MFB_JOB_SPOOL_H
#define MFB_JOB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "transfer/chunk_record.h"

#define SPOOL_DATA_ZIP "Data.zip"
#define SPOOL_SNAPSHOT_DIR "snapshot"
#define SPOOL_RECORD "Data.zip.chunks.json"
#define SPOOL_MARGIN_MIN (64ull << 20) /* bytes */
#define SPOOL_MARGIN_PERCENT 5

/* "SPOOL/job-ID", "SPOOL/job-ID/Data.zip", "SPOOL/job-ID/snapshot". */
mfb_status spool_job_dir(const char *spool, int64_t job_id, char *buf, size_t len,
                         struct mfb_error *err);
mfb_status spool_data_zip(const char *spool, int64_t job_id, char *buf, size_t len,
                          struct mfb_error *err);
mfb_status spool_snapshot_dir(const char *spool, int64_t job_id, char *buf, size_t len,
                              struct mfb_error *err);

/* Writes the seal record of job_id's Data.zip durably (fsutil's atomic
 * write: temporary file, fsync, rename, fsync of the directory). Beside
 * the file rather than in the configuration database: it lives and dies
 * with the file it describes (spool_remove_tree takes both), and a
 * Data.zip moved elsewhere by hand takes its record with it. */
mfb_status spool_record_write(const char *spool, int64_t job_id, const struct chunk_record *r,
                              struct mfb_error *err);

/* Reads it back, for a Data.zip of zip_size bytes (which bounds the size of
 * the record). MFB_ERR_NOT_FOUND when there is none (a job from an mfb
 * before seal records); MFB_ERR_CORRUPT when it is damaged. Allocates; free
 * with chunk_record_free. */
mfb_status spool_record_read(const char *spool, int64_t job_id, uint64_t zip_size,
                             struct chunk_record *r, struct mfb_error *err);

/* Sum of the sizes of the regular files under dir (symlinks not followed). */
mfb_status spool_tree_bytes(const char *dir, uint64_t *bytes, struct mfb_error *err);

/* Bytes an unprivileged user may still write on the file system of path. */
mfb_status spool_free_bytes(const char *path, uint64_t *bytes, struct mfb_error *err);

/* The space a job needs for estimate bytes of data: estimate + margin. */
uint64_t spool_with_margin(uint64_t estimate);

/* rm -rf path (missing is fine); the first failure is returned, the rest
 * of the tree is still tried. */
mfb_status spool_remove_tree(const char *path, struct mfb_error *err);

#endif
