/*
 * report.h - the per-instance summary of a period's jobs (`mfb report`,
 * requirement 7.6): counts, success rate, durations, downtime, stored sizes,
 * growth, and the failures grouped by cause.
 *
 * A pure aggregation over job records already read from the configuration
 * database, so it is tested without SQLite. The cause of a failure is its
 * failing step (the step of its first error event, given by the caller) and
 * its status, e.g. "upload failed"; a job without an error event counts
 * under "- failed".
 */
#ifndef MFB_JOB_REPORT_H
#define MFB_JOB_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/job_log.h"

/* One job of the period and the step it failed in ("" or NULL: unknown). */
struct report_input {
    const struct job_record *job;
    const char *failed_step;
};

struct report_cause {
    char cause[64]; /* "STEP STATUS" */
    size_t count;
};

struct report_instance {
    char instance[CONFIG_NAME_BUF];
    size_t jobs;             /* finished jobs (running ones are not counted) */
    size_t ok;               /* finished with status ok */
    double success_rate;     /* ok / jobs, 0..1 (0 when no job) */
    int64_t last_success_ms; /* end of the newest success; 0: none */
    int64_t avg_duration_ms, max_duration_ms;
    int64_t avg_downtime_ms, max_downtime_ms; /* over jobs that stopped the server */
    uint64_t avg_size, total_size;            /* stored bytes of the successful jobs */
    int64_t growth;                           /* last success's size - first's */
    struct report_cause *causes;              /* most frequent first */
    size_t cause_count;
};

/* Whether the report counts a job of this kind (store/job_log.h): it is
 * about backups, so restores and restore drills are left out, and so are
 * resumes, whose outcome is the backup job's own (it turns ok, with its
 * size, when a resume completes it: counting both would count one backup
 * twice). `mfb report` and the web UI's report ask the same. */
bool report_counts_kind(const char *kind);

/* Aggregates jobs (any order) per instance, sorted by instance name.
 * *out is allocated; release with report_free. */
mfb_status report_build(const struct report_input *jobs, size_t count, struct report_instance **out,
                        size_t *out_count, struct mfb_error *err);
void report_free(struct report_instance *list, size_t count);

#endif
