/*
 * restore.c - the restore pipeline (see restore.h for the steps): the
 * order of the steps and what each outcome leaves behind. The steps live
 * beside it, one concept a file, sharing the run's state (run.h): the
 * backup (source.c), the checks while the server runs (preflight.c), the
 * staging record (staging_record.c), the roots' extraction and swap
 * (roots.c), the stop, start and way back (downtime.c), and the lines,
 * job record and alert (report.c).
 *
 * Design notes:
 * - Everything that can be checked is checked while the server still
 *   runs: the download and its SHA-256, the whole archive, the plan, the
 *   flavour and release, each destination (movable, writable, room). Only
 *   then is the server stopped, so most failures cost no downtime at all.
 * - The staged restore (the default) also extracts while the server runs,
 *   into a staging directory beside each root (stage.h): the downtime is
 *   the stop, a rename or two per root and the start. When it downloads,
 *   it reads the archive's end first and stages each entry as its bytes
 *   arrive (stream.h); the SHA-256 of the whole file is still checked
 *   before the stop. --in-place keeps
 *   the older way (stop, move aside, extract) for whoever asks for it;
 *   mfb never switches between them on its own.
 * - From the stop on, every failure takes one path, roll_back: whatever
 *   server the restore started is stopped, what was restored is moved to
 *   "<dir>.mfb-failed-restore-<stamp>", the old directories are renamed
 *   back, and the server is started. Cancellation takes the same path; the
 *   start and the check that it answers are never cancelled.
 * - Nothing is deleted but the downloaded file after a success (unless
 *   --keep-download): the old directories stay beside their place, named
 *   in the output, for the operator to remove when satisfied.
 */
#include "job/restore/restore.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/restore/downtime.h"
#include "job/restore/preflight.h"
#include "job/restore/report.h"
#include "job/restore/roots.h"
#include "job/restore/source.h"
#include "job/restore/staging_record.h"
#include "job/restore/swap.h"

/* The restore into the instance's own directories: staged (the default) or
 * --in-place; both share the checks, the stop, the start and the way back. */
static mfb_status restore_into_instance(struct run *r, struct mfb_error *err)
{
    bool staged = !r->o->in_place;
    mfb_status st = preflight_plan(r, err);
    if (st == MFB_OK)
        st = preflight_inspect_server(r, err);
    if (st == MFB_OK)
        st = roots_recover_swap(r, err);
    if (st == MFB_OK)
        st = preflight_compat(r, err);
    if (st == MFB_OK)
        st = preflight_places(r, staged, err);
    if (st == MFB_OK && staged)
        st = roots_name_staging(r, err);
    if (st == MFB_OK && !staged)
        staging_record_discard_unused(r, "as this restore is --in-place");
    if (st == MFB_OK && run_cancelled(r))
        st = run_cancel_error(err);
    if (st == MFB_OK && staged) {
        /* the whole extraction while the server still runs */
        r->step = "extract";
        uint64_t begin = clock_now_ms();
        staging_record_open(r);
        st = roots_stage(r, err);
        if (st == MFB_OK && run_cancelled(r))
            st = run_cancel_error(err);
        resume_writer_close(&r->writer);
        if (st != MFB_OK && staging_record_keep(r, st)) {
            report_say(r, NULL,
                       "the staged entries are kept for the next run (recorded in %s); the same "
                       "command reuses them",
                       r->record);
            if (err->hint[0] == '\0') /* (a streamed one's says the .part is kept) */
                mfb_error_hint(err, "nothing was changed, the server still runs; the staged files "
                                    "are kept and the same command reuses them");
            return st;
        } else if (st != MFB_OK) {
            staging_record_drop(r);
            /* (a staging behind the download gave its own hints: what arrived
             * damaged, or the download's error) */
            if (!r->streaming && st == MFB_ERR_CORRUPT)
                report_set_hint(err,
                                "nothing was changed, the server still runs; the file matches the "
                                "receiver's SHA-256, so the stored backup itself is damaged: "
                                "restore another one");
            else if (!r->streaming && st == MFB_ERR_NO_SPACE)
                report_no_space_hint(err, "nothing was changed, the server still runs", false,
                                     r->res->file);
            else if (err->hint[0] == '\0')
                mfb_error_hint(err, "nothing was changed; the server still runs");
            return st;
        }
        char took[32], size[32];
        if (r->reused_entries > 0)
            report_say(r, NULL,
                       "staged %" PRIu64 " entries in %s while the server ran; %" PRIu64
                       " of them (%s) reused from the interrupted restore",
                       r->res->entries,
                       format_duration_ms(clock_now_ms() - begin, took, sizeof(took)),
                       r->reused_entries, format_size(r->reused_bytes, size, sizeof(size)));
        else
            report_say(r, NULL, "staged %" PRIu64 " entries in %s while the server ran",
                       r->res->entries,
                       format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));
        log_info("restore",
                 "step=stage entries=%" PRIu64 " reused_entries=%" PRIu64 " reused_bytes=%" PRIu64,
                 r->res->entries, r->reused_entries, r->reused_bytes);
    }
    if (st != MFB_OK) {
        if (!mfb_error_is_set(err) || err->hint[0] == '\0')
            mfb_error_hint(err, "nothing was changed");
        return st;
    }
    st = downtime_stop(r, err);
    if (st != MFB_OK) {
        staging_record_drop(r);
        return st;
    }
    r->step = "extract";
    st = roots_put_in_place(r, staged, err);
    st = downtime_start_or_roll_back(r, st, err);
    staging_record_drop(r);
    struct mfb_error e = {0};
    if (staged && !r->critical && stage_journal_remove(r->journal, &e) != MFB_OK)
        log_warn("restore", "journal=\"%s\" error=\"%s\"", r->journal, e.message);
    return st;
}

mfb_status restore_run(const struct restore_options *o, struct restore_result *result,
                       struct mfb_error *err)
{
    memset(result, 0, sizeof(*result));
    result->downtime_ms = -1;
    struct mfb_error local = {0};
    struct mfb_error *e = err ? err : &local;
    struct run r = {.o = o,
                    .lock_dir = o->instance->record.spool ? o->instance->record.spool : o->spool,
                    .inst = &o->instance->record,
                    .method = &o->instance->method,
                    .ep = &o->instance->endpoint,
                    .target = o->target->record.name,
                    .client = o->target->client,
                    .res = result,
                    .step = "preflight"};
    swap_stamp(time(NULL), r.stamp, sizeof(r.stamp));
    r.lock.fd = -1;
    const char *lock_dir = r.lock_dir;
    mfb_status st = MFB_OK;
    if (lock_dir == NULL) {
        st = mfb_error_set(e, MFB_ERR_USAGE, "instance '%s' has no spool directory", r.inst->name);
        mfb_error_hint(e, "give one with --spool DIR");
    }
    if (st == MFB_OK)
        st = job_lock_acquire(o->db, lock_dir, r.inst->name, "restore", &r.lock, e);
    if (st == MFB_OK) {
        st = journal_begin(&r.jr, o->db, NULL, r.inst->name, r.target, "restore", e);
        r.have_job = st == MFB_OK;
        result->job_id = r.jr.job.id;
        job_lock_set_job(&r.lock, r.jr.job.id);
        /* The job's id makes the names of what is moved aside unique: two
         * restores within one second must not meet at one name. */
        size_t n = strlen(r.stamp);
        snprintf(r.stamp + n, sizeof(r.stamp) - n, "-job%" PRId64, r.jr.job.id);
    }
    if (st == MFB_OK) {
        journal_step_begin(&r.jr, JOB_STEP_PREFLIGHT, 0);
        report_event(&r, JOB_LEVEL_INFO, NULL,
                     o->to_dir ? "restore into a directory" : "restore in place");
    }
    if (st == MFB_OK && o->to_dir)
        st = preflight_to_dir(o->to_dir, e);
    if (st == MFB_OK)
        st = source_get(&r, e);
    if (st == MFB_OK && run_cancelled(&r)) {
        st = run_cancel_error(e);
        mfb_error_hint(e, "nothing was changed");
    }
    if (st == MFB_OK)
        st = o->to_dir ? (r.step = "extract", roots_extract_to(&r, e))
                       : restore_into_instance(&r, e);

    /* the download goes once it served; a failed restore keeps it for the retry */
    result->file_kept = result->file[0] != '\0' && (st != MFB_OK || o->keep_download);
    if (st == MFB_OK && !o->keep_download && result->file[0] != '\0' && unlink(result->file) != 0)
        log_warn("restore", "file=\"%s\" error=\"cannot remove: %s\"", result->file,
                 strerror(errno));
    journal_step_end(&r.jr, JOB_STEP_PREFLIGHT); /* --to, or a refusal */
    report_finish_job(&r, st, e);
    job_lock_release(&r.lock);
    resume_writer_close(&r.writer);
    resume_record_free(&r.adopted);
    free(r.reuse);
    archive_reader_free(r.reader);
    manifest_free(&r.manifest);
    restore_tops_free(&r.tops);
    restore_plan_free(&r.plan);
    free(r.roots);
    mysql_server_info_free(r.info);
    return st;
}

void restore_result_free(struct restore_result *result)
{
    if (result == NULL)
        return;
    free(result->moved);
    result->moved = NULL;
    result->moved_count = 0;
}
