/*
 * snapshot.h - restart_after=snapshot: while the server is stopped, copy
 * its files into the spool, so it can be started again at once and the
 * copy archived and uploaded with the server running (docs/backup.md, the snapshot policy).
 *
 * Each regular file is first cloned with the FICLONE ioctl (what
 * `cp --reflink` does): on XFS, Btrfs and other reflink filesystems the
 * copy shares the source's blocks and costs neither time nor space until
 * one side is written. Where cloning is refused (another filesystem, ext4,
 * tmpfs), the bytes are copied by the kernel with copy_file_range in large
 * steps, and with read/write in 4 MiB blocks where even that is refused.
 * Metadata is kept: mode, owner, and access and modification times (the
 * archive manifest records mtimes, and a restored datadir should look like
 * the original), for files, directories and symbolic links. Symbolic links
 * are copied as links, never followed; sockets, FIFOs and devices are
 * skipped, as the archive scan skips them; hard links become separate
 * files.
 *
 * The copy is only ever made into a new, empty directory, and a failed copy
 * is the caller's to remove (spool_remove_tree). Progress is reported per
 * block, cancel is checked per block.
 */
#ifndef MFB_JOB_BACKUP_SNAPSHOT_H
#define MFB_JOB_BACKUP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"

#define SNAPSHOT_BLOCK (4u << 20)          /* read/write fallback */
#define SNAPSHOT_KERNEL_STEP (64ull << 20) /* one copy_file_range call */

struct snapshot_stats {
    uint64_t files;
    uint64_t dirs;
    uint64_t symlinks;
    uint64_t skipped; /* sockets, FIFOs, devices */
    uint64_t bytes;   /* of regular files */
    uint64_t cloned;  /* files cloned with FICLONE */
};

struct snapshot_options {
    const atomic_bool *cancel; /* may be NULL */
    /* Called after each file or block with the bytes copied so far. */
    void (*progress)(void *ctx, uint64_t bytes);
    void *progress_ctx;
    bool no_clone; /* never try FICLONE (tests of the fallback) */
};

/* Copies the tree src into dst, which must not exist yet (its parent must).
 * stats accumulate over calls (zero it first). options may be NULL. */
mfb_status snapshot_copy_tree(const char *src, const char *dst,
                              const struct snapshot_options *options, struct snapshot_stats *stats,
                              struct mfb_error *err);

#endif
