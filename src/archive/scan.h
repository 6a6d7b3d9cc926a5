/*
 * scan.h - the plan of an archive: walks source trees and lists, in a
 * stable order, every entry the writer will store, with the metadata taken
 * at scan time.
 *
 * The scan comes before any byte is read, so the writer knows the total
 * input size (for progress) and the list of entries is what the central
 * directory and the manifest are later built from. Within a directory,
 * names are sorted bytewise, and a directory comes before its contents, so
 * the same tree always gives the same archive. Symlinks are never followed.
 * Sockets, FIFOs and devices are skipped with a warning; excluded names
 * (fnmatch(3) on the path relative to the tree, on the archive path and on
 * the base name) are skipped silently, an excluded directory with all it
 * holds.
 *
 * The metadata stored here (size, mtime, inode) is what the writer later
 * compares against while reading: a file that differs was changed while the
 * archive was being made, which in a cold backup means the database was not
 * really stopped.
 *
 * Memory: one struct scan_entry plus its name per entry, kept until the
 * archive is finished (the central directory needs them anyway).
 */
#ifndef MFB_ARCHIVE_SCAN_H
#define MFB_ARCHIVE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/status.h"

enum scan_type { SCAN_FILE, SCAN_DIR, SCAN_SYMLINK, SCAN_MANIFEST };

struct scan_entry {
    char *name; /* archive name; directories end with '/' */
    uint32_t name_len;
    uint32_t root;    /* index of the tree it came from */
    uint32_t src_off; /* name + src_off is the path relative to the tree */
    uint8_t type;     /* enum scan_type */
    uint32_t mode;    /* st_mode, type bits included */
    uint32_t uid;
    uint32_t gid;
    int64_t mtime;
    long mtime_nsec;
    uint64_t size;
    uint64_t dev;
    uint64_t ino;
    /* Filled by the writer as the entry is stored. */
    uint64_t offset; /* of the local header */
    uint64_t csize;
    uint32_t crc;
    uint16_t method;
    uint16_t flags;
    uint16_t version;
    bool zip64_local;
};

struct scan_root {
    char *dir;     /* source directory */
    char *prefix;  /* archive prefix without the trailing '/', "" for none */
    int64_t mtime; /* of the directory itself */
};

struct scan_list {
    struct scan_entry *entries;
    size_t count;
    size_t capacity;
    struct scan_root *roots;
    size_t root_count;
    uint64_t total_bytes; /* sum of regular file sizes */
};

struct scan_options {
    const char *const *excludes;
    size_t exclude_count;
    bool skip_inode; /* never archive this file (the archive being written) */
    uint64_t skip_dev;
    uint64_t skip_ino;
};

/* The patterns excluded unless the caller says otherwise: the MySQL server's
 * socket, socket lock and pid files. */
extern const char *const scan_default_excludes[];
extern const size_t scan_default_exclude_count;

/* The name of the manifest entry, reserved at the top of the archive. */
#define SCAN_MANIFEST_NAME "mfb-manifest.json"

/* Adds dir's contents to the list under prefix ("" or "NAME", in which case a
 * "NAME/" directory entry comes first). */
mfb_status scan_tree(struct scan_list *list, const char *dir, const char *prefix,
                     const struct scan_options *options, struct mfb_error *err);

/* Appends an entry without a source file (the manifest). */
mfb_status scan_add_special(struct scan_list *list, const char *name, enum scan_type type,
                            uint32_t mode, int64_t mtime, struct mfb_error *err);

/* Builds the source path of an entry into buf. */
mfb_status scan_source_path(const struct scan_list *list, const struct scan_entry *e, char *buf,
                            size_t len, struct mfb_error *err);

/* Whether path (relative to its tree, or the archive path) matches one of the patterns. */
bool scan_excluded(const char *rel, const char *archive_name, const char *const *patterns,
                   size_t count);

/* Drops the entries and roots added after the given counts (a failed scan). */
void scan_list_truncate(struct scan_list *list, size_t count, size_t root_count,
                        uint64_t total_bytes);

/* The newest mtime of the trees and everything in them (0 when empty). */
int64_t scan_newest_mtime(const struct scan_list *list);

void scan_list_free(struct scan_list *list);

/* The error for a file that changed while it was being archived, with the
 * hint that the database may still be running. */
mfb_status scan_changed(struct mfb_error *err, const char *path, const char *what);

#endif
