/*
 * report.h - private to src/job/restore/: how a restore run tells what it
 * does (report.c): its lines for people, the job log and the log, the job's
 * record and the alert at its end.
 */
#ifndef MFB_JOB_RESTORE_REPORT_H
#define MFB_JOB_RESTORE_REPORT_H

#include "job/restore/run.h"

/* An event of the job log (and so of stderr's log), or only the log
 * before the job exists. step is a config_step name or NULL. */
void report_event(struct run *r, enum job_level level, const char *step, const char *text);
/* Replaces the hint (a cut-off is fine: the full text is logged too). */
void report_set_hint(struct mfb_error *err, const char *text);

/* A disk that filled up before the stop, in the spool (the download) or
 * beside a directory (its staging): nothing is lost and the same command
 * goes on once there is room (docs/restore.md, "A full disk"). A refusal
 * of the room counted beforehand keeps its own hint (the numbers).
 * changed: what the hint starts with; download: the spool file. */
void report_no_space_hint(struct mfb_error *err, const char *changed, bool spool,
                          const char *download);
/* One line for people, the log and the job log. */
void report_say(struct run *r, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The test-only pause (JOURNAL_TEST_PAUSE_ENV) at point; never returns
 * when it is the one asked for. */
void report_test_pause(const struct run *r, const char *point);
/* The directories moved aside, into the result (after a success). */
void report_moved(struct run *r);
/* Ends the job's record with st and sends the alert it calls for. */
void report_finish_job(struct run *r, mfb_status st, const struct mfb_error *err);

#endif
