/*
 * stage.h - the staged restore's file-system work (docs/restore.md,
 * "Staged restore"): where each root is staged, the swap of a staged root
 * with the live one, and the swap journal that lets the next run put an
 * interrupted swap right.
 *
 * A root is extracted, while the server still runs, into a staging
 * directory beside the directory it replaces ("place"):
 *
 *     /var/lib/.mysql.mfb-staging-<job>      (place /var/lib/mysql)
 *
 * on the same file system, so that the swap is a rename. A root that is a
 * symbolic link is staged beside, and swapped with, the directory the link
 * points to: the link stays. Once the server is stopped, each root is
 * swapped: renameat2(RENAME_EXCHANGE) of staging and place, then the old
 * tree (now under the staging name) renamed aside to
 * "<place>.mfb-before-restore-<stamp>"; on a file system without
 * RENAME_EXCHANGE, two renames (place aside, staging into place).
 *
 * The swap journal (one small JSON file per instance, in the spool beside
 * the instance's lock) is written durably before the first rename and
 * removed once the server answers on the restored files or the way back
 * is done. It records, for each root, its place, staging and aside names
 * and the inode of the staged tree. That inode says which tree is where
 * after a kill at any point of the swap, so the next restore of the
 * instance (stage_recover) can make the set consistent: every root
 * swapped: the swap is finished (the renames aside); otherwise every
 * swapped root is put back, so the server runs on the old files or on the
 * new ones, never on a mix.
 */
#ifndef MFB_JOB_RESTORE_STAGE_H
#define MFB_JOB_RESTORE_STAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define STAGE_SUFFIX ".mfb-staging-"

/* The directory a root really replaces: dest itself, or, for a symbolic
 * link to a directory, the directory it points to (realpath). */
mfb_status stage_place(const char *dest, char *place, size_t len, bool *is_link,
                       struct mfb_error *err);

/* "<dir of place>/.<base of place>.mfb-staging-<tag>". */
mfb_status stage_dir_name(const char *place, const char *tag, char *out, size_t len,
                          struct mfb_error *err);

/* Removes every staging directory a killed restore left beside place
 * (".<base>.mfb-staging-*") but keep (NULL: none), the one this run adopts
 * from its staging record (resume.h); *removed counts them. */
mfb_status stage_remove_stale(const char *place, const char *keep, int *removed,
                              struct mfb_error *err);

/* One root in the swap journal. */
struct stage_root {
    char place[PATH_MAX];
    char staging[PATH_MAX];
    char aside[PATH_MAX];
    bool existed;        /* place held the old tree when the swap began */
    uint64_t staged_dev; /* the staged tree's identity */
    uint64_t staged_ino;
};

/* The journal's path for an instance: "<spool>/.mfb-<instance>.restore-swap". */
mfb_status stage_journal_path(const char *spool, const char *instance, char *out, size_t len,
                              struct mfb_error *err);

/* Writes the journal durably (temporary file, fsync, rename). */
mfb_status stage_journal_write(const char *path, int64_t job_id, const struct stage_root *roots,
                               size_t count, struct mfb_error *err);

/* Removes it (and fsyncs its directory); absent is fine. */
mfb_status stage_journal_remove(const char *path, struct mfb_error *err);

/* Swaps the staged tree into place (see above). *moved_aside says the old
 * tree is at root->aside now; *in_place says the staged tree is at
 * root->place. On an error after the exchange, the old tree may still be
 * under the staging name: then *moved_aside is false and *old_at_staging
 * true. */
mfb_status stage_swap(const struct stage_root *root, bool *in_place, bool *moved_aside,
                      bool *old_at_staging, struct mfb_error *err);

/* What stage_recover did, for the report. */
enum stage_recovery {
    STAGE_RECOVERY_NONE,     /* no journal */
    STAGE_RECOVERY_FINISHED, /* every root had been swapped: the swap was finished */
    STAGE_RECOVERY_UNDONE,   /* some or none were: the old trees are back (none
                                at all: whatever the server does, only the
                                journal is removed) */
};

/* Puts right a swap a killed restore left (see above). server_down says
 * the instance's server is not running: undoing needs that (its files
 * are renamed), finishing does not. The restored trees an undo takes out
 * of place go to "<place>.mfb-failed-restore-<stamp>". Removes the
 * journal when done. */
mfb_status stage_recover(const char *journal, bool server_down, const char *stamp,
                         enum stage_recovery *what, char *detail, size_t detail_len,
                         struct mfb_error *err);

#endif
