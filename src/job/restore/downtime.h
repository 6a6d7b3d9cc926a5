/*
 * downtime.h - private to src/job/restore/: the stop, the start, and the
 * way back when anything fails after the stop (downtime.c).
 */
#ifndef MFB_JOB_RESTORE_DOWNTIME_H
#define MFB_JOB_RESTORE_DOWNTIME_H

#include "job/restore/run.h"

/* Stops the server; on a failure after which it is gone, takes the way back. */
mfb_status downtime_stop(struct run *r, struct mfb_error *err);
/* With the files in place (st MFB_OK): starts the server and waits until
 * it answers; on any failure (st or the start's) takes the way back. */
mfb_status downtime_start_or_roll_back(struct run *r, mfb_status st, struct mfb_error *err);

#endif
