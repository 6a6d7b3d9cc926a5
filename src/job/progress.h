/*
 * progress.h - what a running job tells anyone who watches it: the step it
 * is in, bytes done and total, rate, ETA, whether the server is down and
 * for how long, messages, and the end (requirement 4.4, 6.3).
 *
 * The job layer knows nothing about terminals or JSON: it reports to a list
 * of job_observers (the terminal line and the --progress=json stream of
 * `mfb backup` are two; the daemon's web UI will be another). Reports come
 * from the job's thread (steps, archive and snapshot bytes) and from the
 * uploader's threads (bytes sent); the hub serialises them under a mutex,
 * so an observer is never called from two threads at once, and throttles
 * byte updates to one per JOB_PROGRESS_INTERVAL_MS. Step changes, the
 * server going down or answering again, messages and the end are always
 * delivered. Rate and ETA are computed here, over
 * the last few seconds, so every observer shows the same figures.
 * Observers must return quickly and must not call back into the job.
 */
#ifndef MFB_JOB_PROGRESS_H
#define MFB_JOB_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rate.h"
#include "store/job_log.h"

#define JOB_PROGRESS_INTERVAL_MS 250
#define JOB_PROGRESS_WINDOW_MS 5000

enum job_progress_kind {
    JOB_PROGRESS_STEP,    /* a step began (step) or ended (step_done) */
    JOB_PROGRESS_BYTES,   /* bytes moved in the current step */
    JOB_PROGRESS_MESSAGE, /* something worth showing: level, message */
    JOB_PROGRESS_DONE,    /* the job ended: status, error */
};

struct job_progress {
    enum job_progress_kind kind;
    int64_t job_id;
    const char *instance;
    enum job_step step; /* the current step */
    bool step_done;     /* STEP: the step ended (step_ms is its duration) */
    uint64_t step_ms;
    uint64_t elapsed_ms; /* since the job began */
    /* The current step's work: archive and snapshot count bytes read from
     * the server's files, upload counts bytes of Data.zip sent. */
    uint64_t bytes_done;
    uint64_t bytes_total;  /* 0 when unknown */
    uint64_t upload_bytes; /* sent so far, also while the archive is written */
    double rate;           /* bytes/s of bytes_done over the last seconds; 0 unknown */
    int64_t eta_ms;        /* -1 unknown */
    bool server_down;
    uint64_t downtime_ms; /* so far, or in all once the server answers again */
    /* MESSAGE */
    enum job_level level;
    const char *message;
    /* DONE */
    enum job_status status;
    const char *error;
    const char *hint;
};

struct job_observer {
    void (*notify)(void *ctx, const struct job_progress *p);
    void *ctx;
};

struct job_progress_hub {
    const struct job_observer *observers;
    size_t count;
    pthread_mutex_t lock;
    int64_t job_id;
    char instance[CONFIG_NAME_BUF];
    uint64_t started_ms;
    enum job_step step;
    uint64_t step_started_ms;
    uint64_t bytes_done;
    uint64_t bytes_total;
    uint64_t upload_bytes;
    bool down;
    uint64_t down_since_ms;
    uint64_t downtime_ms;
    uint64_t last_emit_ms;
    struct rate_window rate; /* of the current step's bytes */
};

/* observers may be NULL with count 0. */
void job_progress_init(struct job_progress_hub *hub, const struct job_observer *observers,
                       size_t count, const char *instance);
void job_progress_destroy(struct job_progress_hub *hub);
void job_progress_set_job(struct job_progress_hub *hub, int64_t job_id);

/* A step begins (resets the byte counters; total 0 when unknown). */
void job_progress_step_begin(struct job_progress_hub *hub, enum job_step step, uint64_t total);
/* The current step ended after step_ms. */
void job_progress_step_end(struct job_progress_hub *hub, enum job_step step, uint64_t step_ms);
/* Bytes done in the current step (throttled). */
void job_progress_bytes(struct job_progress_hub *hub, uint64_t done, uint64_t total);
/* Bytes of Data.zip sent (throttled); in the upload step they are its bytes. */
void job_progress_upload(struct job_progress_hub *hub, uint64_t sent);
/* The server went down (the stop command was issued) or answers again;
 * a change is delivered at once (a BYTES report with the new state). */
void job_progress_server(struct job_progress_hub *hub, bool down);
void job_progress_message(struct job_progress_hub *hub, enum job_level level, const char *message);
void job_progress_done(struct job_progress_hub *hub, enum job_status status, const char *error,
                       const char *hint);

/* The downtime so far (or in all). */
uint64_t job_progress_downtime(struct job_progress_hub *hub);

#endif
