/*
 * roots.h - private to src/job/restore/: each root's restored tree into
 * its place, extracted, staged or swapped (roots.c).
 */
#ifndef MFB_JOB_RESTORE_ROOTS_H
#define MFB_JOB_RESTORE_ROOTS_H

#include "job/restore/run.h"

/* --to: every root extracted under the directory; the server untouched. */
mfb_status roots_extract_to(struct run *r, struct mfb_error *err);
/* Puts right a swap a killed restore left (stage.h). */
mfb_status roots_recover_swap(struct run *r, struct mfb_error *err);
/* Each root's staging directory: an adopted one, or a new name. */
mfb_status roots_name_staging(struct run *r, struct mfb_error *err);
/* Staged, the server running: every root into its staging directory, its
 * entries checked as they are written (behind the download when it runs:
 * stream.h). */
mfb_status roots_stage(struct run *r, struct mfb_error *err);
/* The server stopped: the staged roots swapped in under the swap journal,
 * or (in place) each old directory moved aside and the root extracted into
 * its place. */
mfb_status roots_put_in_place(struct run *r, bool staged, struct mfb_error *err);

#endif
