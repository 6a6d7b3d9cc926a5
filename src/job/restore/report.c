/*
 * report.c - how a restore run tells what it does (restore.h): one line
 * per step for people (the caller's report callback), the job log and the
 * log; the job's record and its alert at the end; the directories kept
 * aside in the result; and the test-only pause (docs/testing.md). Kept
 * apart so that every step of the pipeline words its lines one way.
 */
#include "job/restore/report.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/alert.h"
#include "common/log.h"

/* An event of the job log (and so of stderr's log), or only the log
 * before the job exists. step is a config_step name or NULL. */
void report_event(struct run *r, enum job_level level, const char *step, const char *text)
{
    if (r->have_job)
        journal_event(&r->jr, level, step, "%s", text);
    else
        mfb_log(journal_log_level(level), "restore", "step=%s message=\"%s\"", step ? step : "-",
                text);
}

/* Replaces the hint (a cut-off is fine: the full text is logged too). */
void report_set_hint(struct mfb_error *err, const char *text)
{
    snprintf(err->hint, sizeof(err->hint), "%.*s", (int)sizeof(err->hint) - 1, text);
    err->hint_is_generic = false;
}

void report_no_space_hint(struct mfb_error *err, const char *changed, bool spool,
                          const char *download)
{
    char hint[PATH_MAX + 1024]; /* report_set_hint keeps what fits */
    struct stat sb;
    if (err->hint[0] != '\0' && !err->hint_is_generic)
        return;
    bool whole = stat(download, &sb) == 0;
    if (spool)
        snprintf(hint, sizeof(hint),
                 "%s; the spool's disk is full: free space there (or download elsewhere with "
                 "--spool DIR), then run the same command again: '%.*s.part' is kept and it "
                 "continues the download",
                 changed, PATH_MAX / 2, download);
    else
        snprintf(hint, sizeof(hint),
                 "%s; that disk is full: the staging directories were removed; free space there "
                 "(a staged restore needs room for the restored files beside the live data, and "
                 "--in-place the same), then run the same command again: '%.*s%s' is kept and it "
                 "%s",
                 changed, PATH_MAX / 2, download, whole ? "" : ".part",
                 whole ? "is used again" : "continues the download");
    report_set_hint(err, hint);
}

/* One line for people, the log and the job log. */
void report_say(struct run *r, const char *step, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    report_event(r, JOB_LEVEL_INFO, step, line);
    if (r->o->report)
        r->o->report(r->o->report_ctx, line);
}

/* The test-only pause (JOURNAL_TEST_PAUSE_ENV, docs/testing.md) at the
 * staged restore's own points: "staging" once the first root is staged
 * (the server still runs), "swap" once the first root is swapped (the
 * server is down, the roots a mix). The restore stays there until killed. */
void report_test_pause(const struct run *r, const char *point)
{
    const char *at = getenv(JOURNAL_TEST_PAUSE_ENV);
    if (at == NULL || strcmp(at, point) != 0)
        return;
    log_warn("restore", "id=%" PRId64 " step=%s note=test_pause_until_killed env=%s", r->jr.job.id,
             point, JOURNAL_TEST_PAUSE_ENV);
    if (r->o->report) {
        char line[128];
        snprintf(line, sizeof(line), "test pause at %s", point);
        r->o->report(r->o->report_ctx, line);
    }
    for (;;)
        pause();
}

void report_moved(struct run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->plan.count; i++)
        n += r->roots[i].moved;
    if (n == 0)
        return;
    r->res->moved = calloc(n, sizeof(*r->res->moved));
    if (r->res->moved == NULL)
        return;
    for (size_t i = 0; i < r->plan.count; i++) {
        const struct root_state *rs = &r->roots[i];
        if (!rs->moved)
            continue;
        struct restore_moved *m = &r->res->moved[r->res->moved_count++];
        snprintf(m->root, sizeof(m->root), "%s", rs->plan->name);
        snprintf(m->dir, sizeof(m->dir), "%s", rs->place);
        snprintf(m->aside, sizeof(m->aside), "%s", rs->aside);
    }
}

/* An alert for in-place restores that stopped the server, or failed after. */
static void send_alert(struct run *r, mfb_status st, const struct mfb_error *e)
{
    if (r->o->to_dir != NULL || !r->res->stopped || !r->have_job)
        return;
    char subject[512], text[4096];
    struct alert a = {.instance = r->inst->name,
                      .job_id = r->jr.job.id,
                      .datadir = r->inst->datadir,
                      .backup_name = r->res->backup.name,
                      .error = st != MFB_OK ? e->message : NULL,
                      .hint = st != MFB_OK && e->hint[0] ? e->hint : NULL};
    if (st == MFB_OK) {
        a.severity = CONFIG_SEVERITY_INFO;
        a.event = "restore_succeeded";
        snprintf(subject, sizeof(subject), "backup %s was restored into '%s'",
                 r->res->backup.backup_id, r->inst->name);
    } else if (r->res->server_answers) {
        a.severity = CONFIG_SEVERITY_ERROR;
        a.event = "restore_failed";
        snprintf(subject, sizeof(subject), "restore of '%s' failed; the old data is back",
                 r->inst->name);
    } else {
        a.severity = CONFIG_SEVERITY_CRITICAL;
        a.event = "server_down";
        snprintf(subject, sizeof(subject), "restore of '%s' failed and the server is down",
                 r->inst->name);
    }
    a.job_status = job_status_str(r->jr.job.status);
    snprintf(text, sizeof(text), "%s (job %" PRId64 ").\n%s%s%s%s%s", subject, r->jr.job.id,
             st != MFB_OK ? "Error: " : "", st != MFB_OK ? e->message : "",
             st != MFB_OK ? "\n" : "", st != MFB_OK && e->hint[0] ? "Hint: " : "",
             st != MFB_OK && e->hint[0] ? e->hint : "");
    a.subject = subject;
    a.text = text;
    alert_dispatch(r->o->db, &a, NULL, NULL);
}

void report_finish_job(struct run *r, mfb_status st, const struct mfb_error *err)
{
    if (!r->have_job)
        return;
    r->jr.job.bytes_in = r->res->bytes;
    enum job_status status = JOB_STATUS_OK;
    if (st != MFB_OK) {
        journal_error(&r->jr, r->step, err);
        journal_system_state(&r->jr, r->inst->spool ? r->inst->spool : r->o->spool,
                             r->o->to_dir ? r->o->to_dir : r->inst->datadir);
        if (r->o->to_dir == NULL && r->res->stopped && !r->res->server_answers)
            status = JOB_STATUS_CRITICAL; /* the server did not come back */
        else
            status = st == MFB_ERR_CANCELLED ? JOB_STATUS_CANCELLED : JOB_STATUS_FAILED;
    }
    journal_end(&r->jr, status);
    send_alert(r, st, err);
    journal_free(&r->jr);
}
