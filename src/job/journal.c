/*
 * journal.c - the job's row, events, log lines and progress (see journal.h).
 */
#include "job/journal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "job/settings.h"
#include "job/sysstate.h"
#include "transfer/backoff.h"

struct journal_deferred {
    int64_t time_ms;
    enum job_level level;
    char step[32];
    char *message;
};

static void db_failed(struct job_journal *j, const struct mfb_error *e)
{
    if (j->db_broken)
        return;
    j->db_broken = true;
    log_error("job", "id=%" PRId64 " note=cannot_write_job_log error=\"%s\" hint=\"%s\"", j->job.id,
              e->message,
              e->hint[0] ? e->hint : "the job's record in 'mfb logs' will be incomplete");
}

mfb_status journal_begin(struct job_journal *j, struct config_db *db, struct job_progress_hub *hub,
                         const char *instance, const char *target, const char *kind,
                         struct mfb_error *err)
{
    memset(j, 0, sizeof(*j));
    j->db = db;
    j->hub = hub;
    mfb_status st = job_log_create(db, instance, target, kind, &j->job, err);
    if (st == MFB_OK && hub)
        job_progress_set_job(hub, j->job.id);
    if (st == MFB_OK)
        log_info("job", "id=%" PRId64 " kind=%s instance=%s target=%s", j->job.id, kind, instance,
                 target && target[0] ? target : "-");
    return st;
}

void journal_attach(struct job_journal *j, struct config_db *db, struct job_record *job)
{
    memset(j, 0, sizeof(*j));
    j->db = db;
    j->job = *job;
    job->error = job->hint = job->backtrace = job->system_state = NULL;
}

/* The test-only pause (JOURNAL_TEST_PAUSE_ENV): the job stays here until
 * it is killed. */
static void test_pause(struct job_journal *j, enum job_step step)
{
    const char *at = getenv(JOURNAL_TEST_PAUSE_ENV);
    if (at == NULL || strcmp(at, job_step_name(step)) != 0)
        return;
    log_warn("job-step", "id=%" PRId64 " step=%s note=test_pause_until_killed env=%s", j->job.id,
             job_step_name(step), JOURNAL_TEST_PAUSE_ENV);
    for (;;)
        pause();
}

void journal_save(struct job_journal *j)
{
    if (j->deferring) {
        j->row_dirty = true;
        return;
    }
    struct mfb_error e = {0};
    if (job_log_save(j->db, &j->job, &e) != MFB_OK)
        db_failed(j, &e);
}

void journal_step_begin(struct job_journal *j, enum job_step step, uint64_t total)
{
    assert((unsigned)step < JOB_STEP_COUNT);
    j->step_started_ms[step] = clock_now_ms();
    log_info("job-step", "id=%" PRId64 " step=%s begin=yes", j->job.id, job_step_name(step));
    if (j->on_step)
        j->on_step(j->on_step_ctx, step, true);
    if (j->hub)
        job_progress_step_begin(j->hub, step, total);
    test_pause(j, step);
}

void journal_step_mark(struct job_journal *j, enum job_step step)
{
    assert((unsigned)step < JOB_STEP_COUNT);
    j->step_started_ms[step] = clock_now_ms();
    if (j->on_step)
        j->on_step(j->on_step_ctx, step, true);
}

void journal_step_end(struct job_journal *j, enum job_step step)
{
    assert((unsigned)step < JOB_STEP_COUNT);
    if (j->step_started_ms[step] == 0)
        return;
    uint64_t ms = clock_now_ms() - j->step_started_ms[step];
    j->step_started_ms[step] = 0;
    if (j->on_step)
        j->on_step(j->on_step_ctx, step, false);
    j->job.step_ms[step] = (j->job.step_ms[step] < 0 ? 0 : j->job.step_ms[step]) + (int64_t)ms;
    log_info("job-step", "id=%" PRId64 " step=%s elapsed_ms=%" PRIu64, j->job.id,
             job_step_name(step), ms);
    if (j->hub)
        job_progress_step_end(j->hub, step, ms);
    journal_save(j);
}

enum mfb_log_level journal_log_level(enum job_level level)
{
    return level == JOB_LEVEL_ERROR  ? MFB_LOG_ERROR
           : level == JOB_LEVEL_WARN ? MFB_LOG_WARN
           : level == JOB_LEVEL_INFO ? MFB_LOG_INFO
                                     : MFB_LOG_DEBUG;
}

static void event_v(struct job_journal *j, enum job_level level, const char *step, const char *fmt,
                    va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    struct mfb_error e = {0};
    if (j->deferring) {
        if (j->deferred_count == j->deferred_cap) {
            size_t cap = j->deferred_cap ? j->deferred_cap * 2 : 16;
            struct journal_deferred *d = realloc(j->deferred, cap * sizeof(*d));
            if (d != NULL) {
                j->deferred = d;
                j->deferred_cap = cap;
            }
        }
        char *copy = strdup(msg);
        if (j->deferred_count < j->deferred_cap && copy != NULL) {
            struct journal_deferred *d = &j->deferred[j->deferred_count++];
            d->time_ms = clock_wall_ms();
            d->level = level;
            snprintf(d->step, sizeof(d->step), "%s", step ? step : "");
            d->message = copy;
        } else {
            free(copy);
        }
    } else if (job_log_event(j->db, j->job.id, level, step ? step : "", msg, &e) != MFB_OK) {
        db_failed(j, &e);
    }
    mfb_log(journal_log_level(level), "job-event", "id=%" PRId64 " step=%s message=\"%s\"",
            j->job.id, step ? step : "-", msg);
    if (j->hub && level != JOB_LEVEL_DEBUG)
        job_progress_message(j->hub, level, msg);
}

void journal_event(struct job_journal *j, enum job_level level, const char *step, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    event_v(j, level, step, fmt, ap);
    va_end(ap);
}

void journal_defer(struct job_journal *j, bool on)
{
    if (on) {
        j->deferring = true;
        return;
    }
    if (!j->deferring)
        return;
    j->deferring = false;
    for (size_t i = 0; i < j->deferred_count; i++) {
        struct journal_deferred *d = &j->deferred[i];
        struct mfb_error e = {0};
        if (job_log_event_at(j->db, j->job.id, d->time_ms, d->level, d->step, d->message, &e) !=
            MFB_OK)
            db_failed(j, &e);
        free(d->message);
    }
    j->deferred_count = 0;
    if (j->row_dirty) {
        j->row_dirty = false;
        journal_save(j);
    }
}

void journal_error(struct job_journal *j, const char *step, const struct mfb_error *e)
{
    if (j->job.error == NULL) {
        j->job.error = strdup(e->message);
        j->job.hint = e->hint[0] ? strdup(e->hint) : NULL;
        snprintf(j->job.error_step, sizeof(j->job.error_step), "%s", step ? step : "");
    }
    if (j->job.backtrace == NULL)
        j->job.backtrace = mfb_error_backtrace(e);
    if (e->hint[0])
        journal_event(j, JOB_LEVEL_ERROR, step, "%s (hint: %s)", e->message, e->hint);
    else
        journal_event(j, JOB_LEVEL_ERROR, step, "%s", e->message);
}

void journal_system_state(struct job_journal *j, const char *spool, const char *datadir)
{
    char state[512];
    sysstate_describe(spool, datadir, state, sizeof(state));
    free(j->job.system_state);
    j->job.system_state = strdup(state);
    journal_event(j, JOB_LEVEL_INFO, "finish", "system state: %s", state);
}

void journal_prune(struct config_db *db)
{
    uint64_t days = job_setting_u64(db, "log_retention_days");
    uint64_t keep = job_setting_u64(db, "log_retention_count");
    size_t by_age = 0, by_count = 0;
    struct mfb_error e = {0};
    if (days > 0 &&
        job_log_prune(db, clock_wall_ms() - (int64_t)days * 86400000, &by_age, &e) != MFB_OK)
        log_warn("job-log", "note=cannot_prune error=\"%s\"", e.message);
    if (keep > 0 && job_log_prune_count(db, (size_t)keep, &by_count, &e) != MFB_OK)
        log_warn("job-log", "note=cannot_prune error=\"%s\"", e.message);
    if (by_age + by_count > 0)
        log_info("job-log", "pruned=%zu older_than_days=%" PRIu64 " keep=%" PRIu64,
                 by_age + by_count, days, keep);
}

void journal_end(struct job_journal *j, enum job_status status)
{
    journal_defer(j, false);
    j->job.status = status;
    j->job.ended_ms = clock_wall_ms();
    journal_save(j);
    log_info("job",
             "id=%" PRId64 " status=%s downtime_ms=%" PRId64 " bytes_in=%" PRIu64
             " bytes_out=%" PRIu64 " backup=%s",
             j->job.id, job_status_str(status), j->job.downtime_ms, j->job.bytes_in,
             j->job.bytes_out, j->job.backup_name[0] ? j->job.backup_name : "-");
    if (!j->db_broken)
        journal_prune(j->db);
    if (j->hub)
        job_progress_done(j->hub, status, j->job.error, j->job.hint);
}

void journal_free(struct job_journal *j)
{
    for (size_t i = 0; i < j->deferred_count; i++)
        free(j->deferred[i].message);
    free(j->deferred);
    j->deferred = NULL;
    j->deferred_count = j->deferred_cap = 0;
    job_record_free(&j->job);
}
