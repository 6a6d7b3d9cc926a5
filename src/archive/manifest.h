/*
 * manifest.h - mfb-manifest.json: what the archive should hold, written as
 * the archive's last entry and checked by `mfb archive test`.
 *
 *   {"format":1,"created":"2026-11-25T19:30:00Z","tool":"mfb 0.1.0",
 *    "files":[
 *   {"path":"db/t1.ibd","type":"file","size":98304,"crc32":"1a2b3c4d",
 *    "mode":"0640","mtime":1764099000,"uid":27,"gid":27},
 *   ...],
 *    "metadata":{...}}
 *
 * It comes last because sizes and CRCs are known only once every file has
 * streamed through the writer, which never seeks back. It is generated a
 * record at a time into the writer's blocks, so a manifest for a million
 * files never sits whole in memory on the writing side. "files" lists every
 * other entry (directories and symlinks too) in archive order; "created" is
 * the newest mtime of the input unless the caller gives a time, so the
 * archive depends only on its input; a name that
 * is not UTF-8 is given as "path_hex" instead of "path". "metadata" is the
 * caller's object (the backup job's server version, variables, sources).
 */
#ifndef MFB_ARCHIVE_MANIFEST_H
#define MFB_ARCHIVE_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/scan.h"
#include "common/status.h"

#define MANIFEST_FORMAT 1

struct manifest_gen;

/* Starts generating the manifest of list->entries[0..count) (sizes and CRCs
 * must be final). metadata may be NULL. Allocates. */
mfb_status manifest_gen_create(const struct scan_list *list, size_t count, const json_t *metadata,
                               int64_t created, struct manifest_gen **out, struct mfb_error *err);

/* Fills buf with up to cap bytes of the manifest; *done tells whether these
 * were the last. */
mfb_status manifest_gen_fill(struct manifest_gen *g, uint8_t *buf, size_t cap, size_t *len,
                             bool *done, struct mfb_error *err);

void manifest_gen_free(struct manifest_gen *g);

/* An upper bound of the manifest's size, to decide on Zip64 before it is written. */
uint64_t manifest_size_bound(const struct scan_list *list, size_t count, const json_t *metadata);

/* One file as the manifest lists it. */
struct manifest_file {
    char *path; /* decoded from "path" or "path_hex" */
    size_t path_len;
    const char *type; /* "file", "dir", "symlink" */
    uint64_t size;
    uint32_t crc;
    uint32_t mode; /* permission bits */
    int64_t mtime;
    bool has_owner;
    uint32_t uid;
    uint32_t gid;
};

struct manifest {
    json_t *root; /* the document; its "files" may be empty (see files[]), its "metadata" is kept */
    struct manifest_file *files;
    size_t count;
};

/* Parses and validates manifest text. Fills m; free with manifest_free. */
mfb_status manifest_parse(const char *text, size_t len, struct manifest *m, struct mfb_error *err);
void manifest_free(struct manifest *m);

/* The most an archive's manifest is read into memory for: that of a few
 * million files. */
#define MANIFEST_READ_MAX (1024u << 20)

struct archive_reader;

/* Reads the manifest entry idx of an archive (archive_reader_manifest_index)
 * and parses it into m (free with manifest_free); *metadata is then its
 * "metadata" object, or NULL when it has none (left as it was on a
 * failure). What a restore and a restore drill both read first. */
mfb_status manifest_read(struct archive_reader *reader, size_t idx, struct manifest *m,
                         const json_t **metadata, struct mfb_error *err);

#endif
