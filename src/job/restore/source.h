/*
 * source.h - private to src/job/restore/: the backup a restore run puts
 * back (source.c): found on the receiver, downloaded or its end read ahead,
 * its archive tested.
 */
#ifndef MFB_JOB_RESTORE_SOURCE_H
#define MFB_JOB_RESTORE_SOURCE_H

#include "job/restore/run.h"

/* Steps 1 and 2 of restore.h: the backup found on the receiver,
 * downloaded (or, staged, only its end read ahead: stream.h), its archive
 * tested and its manifest and top-level entries read. */
mfb_status source_get(struct run *r, struct mfb_error *err);
/* What the download needs; MFB_ERR_USAGE without a spool. */
mfb_status source_fetch_params(const struct run *r, struct restore_fetch *f, struct mfb_error *err);
/* The line saying how the download went. */
void source_say_downloaded(struct run *r, const struct restore_fetch_result *fr);

#endif
