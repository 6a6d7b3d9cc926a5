/*
 * swap.h - moving a server's directories aside before a restore, and back
 * when the restore fails. Nothing here ever deletes a file.
 *
 * A directory is moved aside with one rename(2) to a sibling named
 * "<dir>.mfb-before-restore-<stamp>": instant whatever its size, atomic,
 * and trivially undone. That needs the sibling on the same file system,
 * so a directory that is itself a mount point (a datadir on its own
 * volume) cannot be moved this way: swap_check says so before the server
 * is stopped, and names the way out (--map to a new place, or --to).
 * Nothing is copied as a fallback: a silent copy of a large datadir would
 * double the downtime and need the space twice.
 *
 * Each rename is made durable (the parent directory is fsynced), so after
 * a crash the directories are under one name or the other, never lost.
 */
#ifndef MFB_JOB_RESTORE_SWAP_H
#define MFB_JOB_RESTORE_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/status.h"

#define SWAP_BEFORE_SUFFIX ".mfb-before-restore-"
#define SWAP_FAILED_SUFFIX ".mfb-failed-restore-"

/* "20261125-193000" in local time, for the sibling names. */
void swap_stamp(time_t t, char *buf, size_t len);

/* dir + suffix + stamp into out. MFB_ERR_INVALID when it does not fit. */
mfb_status swap_sibling(const char *dir, const char *suffix, const char *stamp, char *out,
                        size_t len, struct mfb_error *err);

struct swap_state {
    bool exists; /* dir exists (as a directory) */
    bool empty;  /* ... and holds nothing */
};

/* Checks, before anything is changed, that dir can later be moved to
 * aside: dir is absent, or a directory (not a symlink) that is not a mount
 * point, whose parent is writable, and aside does not exist yet. A missing
 * dir needs its parent to exist or be creatable: only the parent's
 * existence is not required. what names dir in messages ("root
 * 'datadir'"). Fills *state. */
mfb_status swap_check(const char *dir, const char *aside, const char *what,
                      struct swap_state *state, struct mfb_error *err);

/* Renames from to to, never over an existing to, and fsyncs the parent. */
mfb_status swap_move(const char *from, const char *to, struct mfb_error *err);

/* The file system that would hold a new directory at path: that of the
 * nearest existing ancestor of path, which must be a writable directory.
 * Fills its device and the bytes free for unprivileged users. */
mfb_status swap_free_space(const char *path, uint64_t *dev, uint64_t *free_bytes,
                           struct mfb_error *err);

/* True when path is a directory with nothing in it. */
bool swap_dir_is_empty(const char *path);

/* True when path is a mount point (statx's STATX_ATTR_MOUNT_ROOT, else a
 * device different from its parent's). */
bool swap_is_mount_point(const char *path);

#endif
