/*
 * reader.h - reading ZIP archives: mfb's own and Info-ZIP's (stored or
 * deflated entries, with or without data descriptors, Zip64).
 *
 * archive_reader_open reads the end of central directory record (and the
 * Zip64 one), then the whole central directory into memory, and checks its
 * structure. Entry data is read on demand with archive_reader_read, which
 * also checks that the local header agrees with the central directory and
 * that the data has the recorded CRC-32 and sizes; every other operation
 * (test, extract, list) is built on it, so they all verify as they go.
 *
 * mfb writes the CRC-32 of its central directory into the archive comment
 * ("mfb cd-crc32=xxxxxxxx"), because the central directory has no checksum
 * of its own. `test` uses it to catch any changed byte there; the
 * entry-by-entry comparisons (local header, descriptor, manifest) name the
 * entry that is wrong.
 */
#ifndef MFB_ARCHIVE_READER_H
#define MFB_ARCHIVE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/status.h"

enum archive_entry_type { ARCHIVE_ENTRY_FILE, ARCHIVE_ENTRY_DIR, ARCHIVE_ENTRY_SYMLINK };

struct archive_entry {
    char *name; /* as stored; directories end with '/' */
    size_t name_len;
    enum archive_entry_type type;
    bool has_mode; /* made on Unix with a mode in the external attributes */
    uint32_t mode; /* permission bits (07777) */
    uint64_t size;
    uint64_t csize;
    uint32_t crc;
    uint16_t method;
    uint16_t flags;
    uint16_t version_made_by;
    uint16_t version_needed;
    uint16_t dos_time;
    uint16_t dos_date;
    uint16_t internal_attr;
    uint16_t comment_len;
    uint32_t disk;
    uint32_t external_attr;
    int64_t mtime;
    bool has_ut_mtime; /* mtime came from the extended timestamp field */
    bool has_owner;
    uint32_t uid;
    uint32_t gid;
    uint32_t extra_crc; /* of its extra fields but zip64 (zip_extra_crc) */
    uint64_t local_offset;
    uint64_t record_offset; /* of its central directory record, for messages */
};

struct archive_reader;

/* Opens an archive and loads its central directory. Allocates. */
mfb_status archive_reader_open(const char *path, struct archive_reader **out,
                               struct mfb_error *err);

/*
 * Reading an archive while it downloads (docs/restore.md, "Extracting while
 * downloading"). A ZIP's directory is at its end, so the restore first
 * fetches the archive's tail (the end records, the central directory and
 * the manifest, the last entry) and opens a reader on that copy:
 * archive_reader_open_tail. Everything that needs only the directory and
 * the manifest (test_structure, list, the restore's plan) works at once.
 * Then archive_reader_attach_source gives it the file the download is
 * writing, and a wait function; every read of bytes before the tail first
 * waits until the download has written them, so the extraction (and its
 * CRC checks) follows the download byte for byte, each byte read once, and
 * the same ZIP code serves both ways.
 */

/* Blocks until bytes [0, end) are in the file, or fails (the download
 * stopped). */
typedef mfb_status (*archive_wait_fn)(void *ctx, uint64_t end, struct mfb_error *err);

/* Opens a reader on tail, a copy of the archive's last tail_len bytes
 * (file_size in all; name is used in messages). When the tail does not
 * reach back far enough (the central directory or the manifest's local
 * header starts before it), returns MFB_OK with *out NULL and *need_from
 * the offset the tail must start at. Allocates; copies tail. */
mfb_status archive_reader_open_tail(const char *name, const uint8_t *tail, size_t tail_len,
                                    uint64_t file_size, struct archive_reader **out,
                                    uint64_t *need_from, struct mfb_error *err);

/* Gives a tail reader the file being downloaded (the reader closes fd) and
 * the wait that says how far it is written. */
void archive_reader_attach_source(struct archive_reader *r, int fd, archive_wait_fn wait,
                                  void *ctx);

/* Checks that two readers of the same archive hold the same central
 * directory: the entries' names, sizes, CRC-32s, offsets and metadata, and
 * the directory's own CRC. The restore compares the directory it staged
 * from (the tail's) with the one of the finished, SHA-256-checked file. */
mfb_status archive_reader_same_directory(const struct archive_reader *a,
                                         const struct archive_reader *b, struct mfb_error *err);
void archive_reader_free(struct archive_reader *r);

size_t archive_reader_count(const struct archive_reader *r);
const struct archive_entry *archive_reader_entry(const struct archive_reader *r, size_t index);

/* Whether the archive was written by mfb (it carries the central directory CRC). */
bool archive_reader_is_mfb(const struct archive_reader *r);

/* Index of the manifest entry (the last one, when named mfb-manifest.json),
 * or SIZE_MAX. */
size_t archive_reader_manifest_index(const struct archive_reader *r);

/* Receives an entry's data in order; an error stops the read. */
typedef mfb_status (*archive_data_fn)(void *ctx, const uint8_t *buf, size_t len,
                                      struct mfb_error *err);

/* Streams one entry's data to fn (which may be NULL), checking the local
 * header, the compressed stream, the sizes, the CRC-32 and the data
 * descriptor. Errors name the entry. */
mfb_status archive_reader_read(struct archive_reader *r, size_t index, archive_data_fn fn,
                               void *ctx, struct mfb_error *err);

/* Reads a small entry (a symlink's target, the manifest) into memory,
 * NUL-terminated, refusing more than max bytes. Allocates *data. */
mfb_status archive_reader_read_alloc(struct archive_reader *r, size_t index, size_t max,
                                     char **data, size_t *len, struct mfb_error *err);

struct archive_test_summary {
    uint64_t entries;
    uint64_t bytes; /* uncompressed */
    bool manifest_checked;
};

/* Verifies every entry, the manifest (when there is one) and, for mfb's
 * archives, the central directory's CRC. */
mfb_status archive_reader_test(struct archive_reader *r, struct archive_test_summary *summary,
                               struct mfb_error *err);

/* The same without reading the entries' data: the central directory
 * (loaded and checked by archive_reader_open), each record's fixed fields,
 * the manifest against it and, for mfb's archives, the central directory's
 * CRC. For an archive whose bytes are known to be the ones written (a
 * resume checks them against the seal record), this tests its structure
 * with a read of its end only. */
mfb_status archive_reader_test_structure(struct archive_reader *r,
                                         struct archive_test_summary *summary,
                                         struct mfb_error *err);

/* Prints one line per entry (mode, size, compressed size, mtime, name, and
 * "-> target" for symlinks), or a JSON array. */
mfb_status archive_reader_list(struct archive_reader *r, FILE *out, bool json,
                               struct mfb_error *err);

#endif
