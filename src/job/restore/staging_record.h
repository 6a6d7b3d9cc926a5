/*
 * staging_record.h - private to src/job/restore/: the staging record
 * (resume.h) as a restore run adopts, writes, keeps and drops it
 * (staging_record.c).
 */
#ifndef MFB_JOB_RESTORE_STAGING_RECORD_H
#define MFB_JOB_RESTORE_STAGING_RECORD_H

#include "job/restore/run.h"

/* --to and --in-place stage nothing: drops a record of this backup. */
void staging_record_discard_unused(struct run *r, const char *why);
/* Adopts an interrupted run's record of this backup, or discards it. */
mfb_status staging_record_adopt(struct run *r, struct mfb_error *err);
/* Writes this run's record before anything is staged. */
void staging_record_open(struct run *r);
/* The extraction's hooks: a file staged (ctx: the run), and a wait for
 * the download (ctx: the writer). */
void staging_record_on_file(void *ctx, size_t index, const struct stat *sb);
void staging_record_on_idle(void *ctx);
/* Whether a failure with st keeps the staging and its record. */
bool staging_record_keep(const struct run *r, mfb_status st);
/* Removes what is left of this run's staged trees (never an old tree) and
 * their record. */
void staging_record_drop(struct run *r);

#endif
