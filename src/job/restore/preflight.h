/*
 * preflight.h - private to src/job/restore/: the checks a restore run
 * makes while the server still runs (preflight.c).
 */
#ifndef MFB_JOB_RESTORE_PREFLIGHT_H
#define MFB_JOB_RESTORE_PREFLIGHT_H

#include "job/restore/run.h"

/* --to DIR is new or empty. */
mfb_status preflight_to_dir(const char *dir, struct mfb_error *err);
/* The plan of where each root goes, and r->roots from it. */
mfb_status preflight_plan(struct run *r, struct mfb_error *err);
/* Whether the server runs, what it is, and that it uses the datadir configured. */
mfb_status preflight_inspect_server(struct run *r, struct mfb_error *err);
/* The backup's flavour and release against the server's (compat.h). */
mfb_status preflight_compat(struct run *r, struct mfb_error *err);
/* Every destination can be moved aside and has room (staged: adopts a
 * staging record first, and removes the staging directories a killed
 * restore left). */
mfb_status preflight_places(struct run *r, bool staged, struct mfb_error *err);

#endif
