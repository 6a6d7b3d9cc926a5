/*
 * resume.h - the staging record: what an interrupted staged restore had
 * already staged and checked, so that the next run of the same restore
 * adopts its staging directories and extracts only the rest
 * (docs/restore.md, "A staging that was interrupted").
 *
 * The record is a text file in the spool beside the download
 * ("restore-<id>.zip.staged", 0600), one JSON object per line:
 * - the first line names the instance, the backup (its id, the whole
 *   file's SHA-256 the receiver announced, a digest of the archive's
 *   central directory) and each root's place and staging directory. It is
 *   written atomically (a temporary file, fsync, rename) before anything is
 *   staged, together with the entries a resumed run keeps;
 * - each following line is one finished file: its index in the central
 *   directory, name, size, CRC-32, and the staged file's inode, size, mtime
 *   and ctime in ns once its owner, mode and times were set, which the next
 *   run compares (a cheap stat) to tell whether it was changed since.
 *
 * It never claims an entry that is not on disk: finished entries wait in
 * memory, and a flush first makes the staging file systems durable
 * (syncfs), then appends their lines and fdatasyncs the record. Flushes
 * come every RESUME_BATCH_ENTRIES entries or RESUME_BATCH_BYTES bytes,
 * when the extraction has waited a while for the download (stream.h's idle
 * hook), after each root and when the staging stops. The batches' flushes
 * run on the writer's own thread, so the extraction threads never wait for
 * a syncfs (they did: with the 2.1 GB benchmark data a staging that had
 * kept pace with the download ended 6 s after it). A kill loses at most
 * the entries since the last flush (they are extracted again). A torn last
 * line (a power cut in a write) is ignored; a line damaged before it
 * discards the record.
 */
#ifndef MFB_JOB_RESTORE_RESUME_H
#define MFB_JOB_RESTORE_RESUME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "archive/reader.h"
#include "common/digest.h"
#include "common/status.h"

#define RESUME_SUFFIX ".staged" /* after "restore-<id>.zip" */
#define RESUME_BATCH_ENTRIES 1000
#define RESUME_BATCH_BYTES (256u << 20)

struct resume_root {
    char *name;    /* "datadir" */
    char *place;   /* the directory it replaces */
    char *staging; /* its staging directory */
};

struct resume_head {
    char *instance;
    char *backup_id;
    char sha256[SHA256_HEX_LEN + 1];    /* the whole file's, as the receiver announced it */
    char directory[SHA256_HEX_LEN + 1]; /* resume_directory_digest */
    struct resume_root *roots;
    size_t root_count;
};

struct resume_entry {
    size_t index; /* in the central directory */
    char *name;
    uint64_t size;
    uint32_t crc;
    uint64_t ino;
    int64_t mtime_ns;
    int64_t ctime_ns;
};

struct resume_record {
    struct resume_head head;
    struct resume_entry *entries;
    size_t count;
};

/* A digest of the archive's central directory: every entry's name, type,
 * sizes, CRC-32, offset, mode, owner and time. */
void resume_directory_digest(const struct archive_reader *r, char hex[SHA256_HEX_LEN + 1]);

/* Reads a record. MFB_ERR_NOT_FOUND: there is none; MFB_ERR_PROTOCOL: it
 * is damaged (not its last line only). Allocates; resume_record_free. */
mfb_status resume_record_read(const char *path, struct resume_record *out, struct mfb_error *err);
void resume_record_free(struct resume_record *rec);

/* Whether a record's head is the one a run would write (same instance,
 * backup, SHA-256, directory, roots and places); if not, why says which
 * differs, for the log. */
bool resume_head_matches(const struct resume_head *have, const struct resume_head *want, char *why,
                         size_t why_len);

/* Whether the staged file at path is still the one e recorded (the same
 * inode, size, mtime and ctime); if not, why says what differs. */
bool resume_entry_unchanged(const struct resume_entry *e, const char *path, char *why,
                            size_t why_len);

/* Removes a record (none is fine) and fsyncs its directory. */
mfb_status resume_record_remove(const char *path, struct mfb_error *err);

struct resume_writer {
    pthread_mutex_t lock; /* guards everything below: the extraction threads add */
    pthread_cond_t wake;  /* the flusher: a flush was asked for, or the end */
    pthread_cond_t done;  /* resume_writer_flush: a flush ended */
    pthread_t flusher;
    bool flusher_started, stopping;
    uint64_t flush_asked, flush_done; /* flushes asked for and carried out, counted */
    int fd;                           /* the record, open for appending */
    int *sync_fds;                    /* the directory holding each staging directory */
    size_t sync_count;
    char *pending; /* lines of entries finished since the last flush */
    size_t pending_len, pending_cap, pending_entries;
    uint64_t pending_bytes;
    char *writing; /* the lines being flushed (the flusher's; swapped with pending) */
    size_t writing_cap;
    bool open;   /* resume_writer_open succeeded (a zeroed writer is closed) */
    bool broken; /* a write failed: record nothing more (the record keeps what it had) */
    char path[4200];
};

/* Writes head and the entries kept from an earlier run as a new record at
 * path, atomically, and opens it for appending. */
mfb_status resume_writer_open(struct resume_writer *w, const char *path,
                              const struct resume_head *head, const struct resume_entry *keep,
                              size_t keep_count, struct mfb_error *err);

/* A file is staged and checked (sb: its fstat after its metadata was set);
 * may ask the writer's thread for a flush, never waits for one.
 * Thread-safe. */
void resume_writer_add(struct resume_writer *w, size_t index, const struct archive_entry *e,
                       const struct stat *sb);

/* Makes the finished entries durable and appends them, and returns once
 * that is done. Thread-safe; a failure is logged and stops the recording. */
void resume_writer_flush(struct resume_writer *w);

/* Flushes and closes (the file stays). A writer never opened is fine. */
void resume_writer_close(struct resume_writer *w);

#endif
