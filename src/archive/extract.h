/*
 * extract.h - restoring an archive into a directory, safely.
 *
 * Nothing is written outside the target directory: before anything is
 * written, every name is checked (no absolute paths, no '..' components, no
 * path that goes through a symlink the archive itself creates), and while
 * writing, each directory on a path is opened relative to its parent with
 * O_NOFOLLOW, so a symlink already present (or planted) on the way is never
 * followed. Files are created with O_EXCL: an existing file is an error,
 * never overwritten. Symlinks are restored as symlinks, whatever they point
 * to; they are just never written through.
 *
 * Modes, times and (when running as root) owners are restored; directories
 * get theirs after all files are in place, so a read-only directory can
 * still be filled. Data is verified (CRC-32, sizes) as it is written; a file
 * that fails is removed and the extraction stops with the entry's name. The
 * manifest entry is not extracted: it describes the archive, not the data.
 */
#ifndef MFB_ARCHIVE_EXTRACT_H
#define MFB_ARCHIVE_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "archive/reader.h"
#include "common/status.h"

struct archive_extract_options {
    bool no_owner; /* do not restore owners even when running as root */
    /* Extract only the entries under this top-level directory of the
     * archive ("datadir"), written with it stripped: "datadir/db/t.ibd"
     * becomes DIR/db/t.ibd. NULL or "" extracts everything. The restore of
     * a backup uses it to put each root in its own place. */
    const char *prefix;
    /* Files are written by this many threads at once (0 or 1: by the
     * caller's thread alone), each inflating and checking its own entries
     * from the same archive: on a machine with cores to spare the
     * extraction goes about that much faster. Directories are made first,
     * and get their metadata last, by the caller's thread. When entries
     * fail, the one with the lowest index is reported. */
    unsigned threads;
    /* Every entry's owner (when owners are restored: as root, without
     * no_owner) instead of the archived one, set as each entry is written:
     * the restore gives its trees to the server's user this way, so a
     * staged file is not changed again once it is written (its ctime is
     * what the staging record keeps, job/restore/resume.h). */
    bool has_owner;
    uint32_t uid;
    uint32_t gid;
    /* Resuming an interrupted staging (docs/restore.md, "A staging
     * interrupted with its download"): reuse, when not NULL, holds one
     * flag per entry of the archive; a flagged file is already in dir,
     * written and checked by an earlier run, and is neither read nor
     * written again (it counts in the summary, and in reused_*). With
     * replace, dir may also hold files that run left behind unfinished or
     * changed since: a file or symlink that is not reused is removed
     * before it is written. */
    const bool *reuse;
    bool replace;
    /* Called, from the extraction's threads, for each regular file once it
     * is written, its CRC-32 and size checked and its owner, mode and
     * times set: sb is its fstat at that point. */
    void (*on_file)(void *ctx, size_t index, const struct stat *sb);
    void *on_file_ctx;
};

struct archive_extract_summary {
    uint64_t entries; /* reused ones included */
    uint64_t bytes;
    uint64_t reused_entries;
    uint64_t reused_bytes;
};

/* Extracts every entry into dir (created if missing). options may be NULL. */
mfb_status archive_extract(struct archive_reader *r, const char *dir,
                           const struct archive_extract_options *options,
                           struct archive_extract_summary *summary, struct mfb_error *err);

/* The threads an extraction of a whole backup should use: one per core,
 * up to 4 (beyond that the disk, not the inflate and CRC, is what it waits
 * for). */
unsigned archive_extract_default_threads(void);

/* Checks one entry name for extraction: relative, no '..' component. */
bool archive_name_safe(const char *name, size_t len);

#endif
