/*
 * job_progress.h - how `mfb backup` and `mfb resume` show a running job:
 * the terminal display (current step, bytes done and total, rate, ETA,
 * downtime so far, one line per finished step) and --progress=json (one
 * JSON object per update on stdout, for other programs). Both are
 * job_observers (job/progress.h); neither knows anything about the job.
 */
#ifndef MFB_CLI_JOB_PROGRESS_H
#define MFB_CLI_JOB_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/status.h"
#include "job/progress.h"

enum job_progress_mode { JOB_PROGRESS_NONE, JOB_PROGRESS_TTY, JOB_PROGRESS_JSON };

/* Parses --progress: auto (a terminal on stderr gets the display, else
 * nothing), tty, json, none. */
mfb_status job_progress_mode_parse(const char *text, enum job_progress_mode *mode,
                                   struct mfb_error *err);

struct job_display {
    enum job_progress_mode mode;
    FILE *out;
    bool line_open; /* a progress line is drawn and not ended */
};

/* The observer for mode; count is 0 for none. */
void job_display_init(struct job_display *d, enum job_progress_mode mode);
size_t job_display_observer(struct job_display *d, struct job_observer *obs);

/* The progress line for an event (exposed for tests). */
void job_display_format(const struct job_progress *p, char *buf, size_t len);

/* The event as one line of JSON (exposed for tests). Allocates. */
char *job_progress_json(const struct job_progress *p);

#endif
