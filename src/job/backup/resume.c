/*
 * resume.c - completing pending uploads (see resume.h).
 */
#include "job/backup/resume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/alert.h"
#include "archive/reader.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/endpoints.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/spool.h"
#include "transfer/receiver_api.h"
#include "transfer/upload_resume.h"

struct resume {
    const struct resume_options *opt;
    struct job_record *pending; /* the original job */
    struct config_instance inst;
    struct job_target tgt;
    struct job_lock lock;
    struct job_progress_hub hub;
    struct job_journal jr;
    char zip_path[PATH_MAX];
    int fd;
    uint64_t size;
    struct chunk_record record; /* what was written, when the job kept one */
    bool has_record;
    bool damaged; /* the kept file is not what was written: refuse it */
    struct backup_info backup;
    uint64_t bytes_sent;
    uint64_t chunks, retries; /* of the file; retried chunk uploads over the attempts */
};

static void on_upload_event(void *ctx, const struct transfer_event *ev)
{
    struct resume *r = ctx;
    if (ev->type == TRANSFER_EVENT_PROGRESS || ev->type == TRANSFER_EVENT_CHUNK)
        job_progress_upload(&r->hub, ev->bytes_done);
}

/* Whether trying again later may help. */
static bool retryable(mfb_status st)
{
    return st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT || st == MFB_ERR_NO_SPACE ||
           st == MFB_ERR_BUSY;
}

/* A new upload for the same file when the receiver forgot the old one. */
static mfb_status reopen(struct resume *r, struct transfer_conn *conn, struct upload_state *state,
                         struct mfb_error *err)
{
    struct upload_request req = {
        .instance = r->pending->instance,
        .name = r->pending->backup_name[0] ? r->pending->backup_name : "Data.zip",
        .directory = r->tgt.record.directory,
        .size_known = true,
        .size = r->size,
        /* The record's digests are of its chunks: keep their size. */
        .chunk_size = r->has_record              ? r->record.chunk_size
                      : r->tgt.record.chunk_size ? r->tgt.record.chunk_size
                                                 : CONFIG_DEFAULT_CHUNK_SIZE,
    };
    mfb_status st = receiver_upload_create(conn, &req, state, err);
    if (st != MFB_OK)
        return st;
    journal_event(&r->jr, JOB_LEVEL_WARN, "upload",
                  "the receiver no longer knows upload %s; sending the whole file as upload %s",
                  r->pending->upload_id, state->upload_id);
    snprintf(r->pending->upload_id, sizeof(r->pending->upload_id), "%s", state->upload_id);
    snprintf(r->jr.job.upload_id, sizeof(r->jr.job.upload_id), "%s", state->upload_id);
    struct mfb_error e = {0};
    job_log_save(r->opt->db, r->pending, &e);
    journal_save(&r->jr);
    return MFB_OK;
}

static void on_plan(void *ctx, const struct resume_plan *plan)
{
    struct resume *r = ctx;
    if (plan == NULL)
        return;
    char h[32];
    journal_event(&r->jr, JOB_LEVEL_INFO, "upload",
                  "the receiver holds %" PRIu64 " of %" PRIu64 " chunks (%s); checking "
                  "them and sending the rest",
                  plan->held_count, plan->chunk_count, format_size(plan->held_bytes, h, sizeof(h)));
}

/* The archive's structure, before the receiver publishes it. With a seal
 * record every byte was just checked against what the writer wrote, so
 * the central directory, the manifest and the directory's CRC are what is
 * left to test (a read of the file's end); without one, the whole archive
 * was tested before the upload (test_whole_archive). */
static mfb_status before_complete(void *ctx, struct mfb_error *err)
{
    struct resume *r = ctx;
    struct archive_reader *ar = NULL;
    mfb_status st = archive_reader_open(r->zip_path, &ar, err);
    if (st == MFB_OK)
        st = archive_reader_test_structure(ar, NULL, err);
    archive_reader_free(ar);
    if (st == MFB_ERR_CORRUPT)
        r->damaged = true;
    return st;
}

/* Checks the kept Data.zip before anything is sent. With its seal record,
 * only the size here: every chunk is compared with the record as the
 * upload reads it. Without one (the job was kept by an mfb from before
 * seal records), the whole archive is tested, every entry's data against
 * its CRC-32, the manifest and the central directory, before a byte goes
 * out: the only record of what was written is then the archive's own. */
static mfb_status check_kept_file(struct resume *r, struct mfb_error *err)
{
    mfb_status st = spool_record_read(r->inst.spool, r->pending->id, r->size, &r->record, err);
    if (st == MFB_OK) {
        r->has_record = true;
        if (r->record.size != r->size) {
            r->damaged = true;
            return mfb_error_set(err, MFB_ERR_CHANGED,
                                 "'%s' no longer matches its seal record: it has %" PRIu64
                                 " bytes, %" PRIu64 " were written",
                                 r->zip_path, r->size, r->record.size);
        }
        return MFB_OK;
    }
    if (st != MFB_ERR_NOT_FOUND) {
        r->damaged = st == MFB_ERR_CORRUPT;
        return st;
    }
    mfb_error_clear(err);
    journal_event(&r->jr, JOB_LEVEL_INFO, "upload",
                  "%s has no seal record (kept by an earlier mfb): testing the whole archive "
                  "before sending it",
                  r->zip_path);
    struct archive_reader *ar = NULL;
    st = archive_reader_open(r->zip_path, &ar, err);
    if (st == MFB_OK)
        st = archive_reader_test(ar, NULL, err);
    archive_reader_free(ar);
    if (st == MFB_ERR_CORRUPT)
        r->damaged = true;
    return st;
}

/* One attempt: ask, check, send what is missing, complete. */
static mfb_status attempt(struct resume *r, struct mfb_error *err)
{
    struct transfer_conn *conn = NULL;
    struct upload_state state = {0};
    mfb_status st = transfer_conn_open(r->tgt.client, r->opt->cancel, &conn, err);
    if (st != MFB_OK)
        goto done;
    struct mfb_error ge = {0};
    bool resuming = true;
    st = receiver_upload_get(conn, r->pending->upload_id, &state, &ge);
    if (st == MFB_ERR_NOT_FOUND) {
        upload_state_free(&state);
        st = reopen(r, conn, &state, err);
        resuming = false;
    } else if (st != MFB_OK) {
        mfb_error_copy(err, &ge);
    }
    if (st != MFB_OK)
        goto done;
    struct transfer_observer obs = {.notify = on_upload_event, .ctx = r};
    struct upload_resume_config uc = {
        .client = r->tgt.client,
        .conn = conn,
        .state = &state,
        .resuming = resuming,
        .fd = r->fd,
        .path = r->zip_path,
        .size = r->size,
        .connections =
            r->tgt.record.connections ? r->tgt.record.connections : CONFIG_DEFAULT_CONNECTIONS,
        .record = r->has_record ? &r->record : NULL,
        .cancel = r->opt->cancel,
        .observers = &obs,
        .observer_count = 1,
        .on_plan = on_plan,
        .before_complete = before_complete,
        .ctx = r,
    };
    if (!state.complete)
        job_progress_step_begin(&r->hub, JOB_STEP_UPLOAD, r->size);
    struct upload_result res;
    st = upload_resume_run(&uc, &res, &r->backup, err);
    if (state.complete) {
        r->chunks = res.chunks;
        goto done;
    }
    r->bytes_sent += res.bytes_sent;
    r->retries += res.retries;
    if (st == MFB_OK || res.chunks > 0)
        r->chunks = res.chunks;
    if (st == MFB_OK)
        journal_event(&r->jr, JOB_LEVEL_INFO, "upload",
                      "%" PRIu64 " chunks sent, %" PRIu64 " verified on the receiver, %" PRIu64
                      " replaced",
                      res.chunks_sent, res.chunks_verified, res.chunks_replaced);
done:
    upload_state_free(&state);
    transfer_conn_close(conn);
    return st;
}

/* Marks the original job stored. */
static void finish_original(struct resume *r)
{
    struct job_record *p = r->pending;
    p->status = JOB_STATUS_OK;
    snprintf(p->backup_id, sizeof(p->backup_id), "%s", r->backup.backup_id);
    size_t n = strlen(r->backup.name);
    if (n >= sizeof(p->backup_name))
        n = sizeof(p->backup_name) - 1;
    memcpy(p->backup_name, r->backup.name, n);
    p->backup_name[n] = '\0';
    p->bytes_out += r->bytes_sent;
    if (r->chunks > 0)
        p->chunks = r->chunks;
    p->retries += r->retries;
    free(p->error);
    free(p->hint);
    p->error = p->hint = NULL;
    struct mfb_error e = {0};
    char msg[2400];
    snprintf(msg, sizeof(msg), "upload completed by resume job %" PRId64 ": stored as %s (%s)",
             r->jr.job.id, r->backup.path, r->backup.backup_id);
    if (job_log_save(r->opt->db, p, &e) != MFB_OK ||
        job_log_event(r->opt->db, p->id, JOB_LEVEL_INFO, "finish", msg, &e) != MFB_OK)
        log_error("resume", "job=%" PRId64 " note=cannot_update_job error=\"%s\"", p->id,
                  e.message);
}

/* The kept Data.zip is not what was written: the original job fails, for
 * good (a resume would only refuse it again), and its spool directory is
 * kept for inspection. The receiver's upload is left as it is: what it
 * holds was checked when it was sent, and it expires there. */
static void refuse_original(struct resume *r, const struct mfb_error *err)
{
    struct job_record *p = r->pending;
    p->status = JOB_STATUS_FAILED;
    free(p->error);
    free(p->hint);
    p->error = strdup(err->message);
    p->hint = err->hint[0] ? strdup(err->hint) : NULL;
    struct mfb_error e = {0};
    char msg[PATH_MAX + 100];
    snprintf(msg, sizeof(msg), "%s is not what was written; the job failed and the file is kept",
             r->zip_path);
    if (job_log_save(r->opt->db, p, &e) != MFB_OK ||
        job_log_event(r->opt->db, p->id, JOB_LEVEL_ERROR, "upload", msg, &e) != MFB_OK)
        log_error("resume", "job=%" PRId64 " note=cannot_update_job error=\"%s\"", p->id,
                  e.message);
}

static void alert_outcome(struct resume *r, bool ok)
{
    if (r->opt->no_alerts)
        return;
    char subject[512], text[8192];
    struct alert a = {
        .severity = ok ? CONFIG_SEVERITY_INFO : CONFIG_SEVERITY_WARNING,
        .event = ok ? "resume_succeeded" : "resume_failed",
        .instance = r->pending->instance,
        .job_id = r->pending->id,
        .job_status = job_status_str(r->pending->status),
        .error = r->jr.job.error,
        .hint = r->jr.job.hint,
        .backup_name = r->pending->backup_name,
        .upload_id = r->pending->upload_id,
        .subject = subject,
        .text = text,
    };
    if (ok) {
        snprintf(subject, sizeof(subject), "pending upload of '%s' completed",
                 r->pending->instance);
        snprintf(text, sizeof(text), "Job %" PRId64 " of '%s' is now stored as %s (%s).\n",
                 r->pending->id, r->pending->instance, r->backup.name, r->backup.backup_id);
    } else {
        snprintf(subject, sizeof(subject), "pending upload of '%s' still not completed",
                 r->pending->instance);
        snprintf(text, sizeof(text),
                 "Resuming the upload of job %" PRId64 " failed: %s\n%s is kept; run 'mfb resume "
                 "%" PRId64 "' again.\n",
                 r->pending->id, r->jr.job.error ? r->jr.job.error : "?", r->zip_path,
                 r->pending->id);
    }
    alert_dispatch(r->opt->db, &a, NULL, NULL);
}

static mfb_status resume_one(const struct resume_options *opt, struct job_record *pending,
                             struct mfb_error *err)
{
    struct resume *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    r->opt = opt;
    r->pending = pending;
    r->fd = -1;
    r->lock.fd = -1;
    config_instance_init(&r->inst);
    job_progress_init(&r->hub, opt->observers, opt->observer_count, pending->instance);
    bool journal = false;
    mfb_status st = config_instance_get(opt->db, pending->instance, &r->inst, err);
    if (st == MFB_ERR_NOT_FOUND)
        mfb_error_hint(err,
                       "the instance was removed, so mfb no longer knows its spool; upload "
                       "SPOOL/job-%" PRId64 "/Data.zip with 'mfb push --resume %s'",
                       pending->id, pending->upload_id);
    if (st == MFB_OK)
        st = job_target_load(opt->db, pending->target[0] ? pending->target : NULL, opt->transfer,
                             &r->tgt, err);
    if (st == MFB_OK)
        st = job_lock_acquire(opt->db, r->inst.spool, pending->instance, "resume", &r->lock, err);
    if (st == MFB_OK)
        st = journal_begin(&r->jr, opt->db, &r->hub, pending->instance, r->tgt.record.name,
                           "resume", err);
    if (st != MFB_OK)
        goto done;
    journal = true;
    job_lock_set_job(&r->lock, r->jr.job.id);
    snprintf(r->jr.job.upload_id, sizeof(r->jr.job.upload_id), "%s", pending->upload_id);
    snprintf(r->jr.job.backup_name, sizeof(r->jr.job.backup_name), "%s", pending->backup_name);
    journal_event(&r->jr, JOB_LEVEL_INFO, NULL, "resuming upload %s of job %" PRId64,
                  pending->upload_id, pending->id);

    st = spool_data_zip(r->inst.spool, pending->id, r->zip_path, sizeof(r->zip_path), err);
    if (st == MFB_OK) {
        r->fd = open(r->zip_path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (r->fd < 0 || fstat(r->fd, &sb) != 0) {
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open the kept archive '%s'",
                                 r->zip_path);
            mfb_error_hint(err,
                           "without it the upload cannot be completed; run a new 'mfb "
                           "backup %s'",
                           pending->instance);
        } else {
            r->size = (uint64_t)sb.st_size;
            st = check_kept_file(r, err);
        }
    }

    journal_step_begin(&r->jr, JOB_STEP_UPLOAD, r->size);
    struct backoff bo;
    backoff_start(&bo, &opt->policy, clock_now_ms(), backoff_seed());
    while (st == MFB_OK) {
        struct mfb_error e = {0};
        unsigned failed_attempt = bo.attempts;
        mfb_status a = attempt(r, &e);
        if (a == MFB_OK)
            break;
        if (a == MFB_ERR_CHANGED) /* the file differs from what was written or uploaded */
            r->damaged = true;
        if (r->damaged) {
            st = mfb_error_copy(err, &e);
            break;
        }
        if (cancel_token_requested(opt->cancel)) {
            st = mfb_error_set(err, MFB_ERR_CANCELLED, "resume cancelled; %s is kept", r->zip_path);
            break;
        }
        uint64_t delay = 0;
        if (!retryable(a) || !backoff_next(&bo, clock_now_ms(), 0, &delay)) {
            st = mfb_error_set(err, a, "%s%s", e.message,
                               retryable(a) ? " (giving up after the retries)" : "");
            if (e.hint[0])
                mfb_error_hint(err, "%s", e.hint);
            break;
        }
        char d[32];
        journal_event(&r->jr, JOB_LEVEL_WARN, "upload", "attempt %u failed: %s; next in %s",
                      failed_attempt, e.message, format_duration_ms(delay, d, sizeof(d)));
        cancel_token_sleep(opt->cancel, delay);
    }
    journal_step_end(&r->jr, JOB_STEP_UPLOAD);
    r->jr.job.bytes_out = r->bytes_sent;
    r->jr.job.chunks = r->chunks;
    r->jr.job.retries = r->retries;
    if (st == MFB_OK) {
        snprintf(r->jr.job.backup_id, sizeof(r->jr.job.backup_id), "%s", r->backup.backup_id);
        journal_event(&r->jr, JOB_LEVEL_INFO, "finish",
                      "the receiver checked the SHA-256 and stored %s (%s)", r->backup.path,
                      r->backup.backup_id);
        finish_original(r);
        char dir[PATH_MAX];
        if (spool_job_dir(r->inst.spool, pending->id, dir, sizeof(dir), NULL) == MFB_OK)
            spool_remove_tree(dir, NULL);
    } else {
        if (r->damaged) {
            err->hint[0] = '\0'; /* this hint, not a lower layer's */
            mfb_error_hint(err,
                           "nothing damaged was sent or published; %s is kept for inspection "
                           "(check the disk and memory of this host), and a new 'mfb backup %s' "
                           "makes a good backup",
                           r->zip_path, pending->instance);
        }
        journal_error(&r->jr, "upload", err);
        struct mfb_error e = {0};
        char msg[1400];
        snprintf(msg, sizeof(msg), "resume job %" PRId64 " failed: %s", r->jr.job.id, err->message);
        job_log_event(opt->db, pending->id, JOB_LEVEL_WARN, "upload", msg, &e);
        if (r->damaged)
            refuse_original(r, err);
    }
    journal_end(&r->jr, st == MFB_OK              ? JOB_STATUS_OK
                        : st == MFB_ERR_CANCELLED ? JOB_STATUS_CANCELLED
                                                  : JOB_STATUS_FAILED);
    alert_outcome(r, st == MFB_OK);
done:
    if (r->fd >= 0)
        close(r->fd);
    chunk_record_free(&r->record);
    job_lock_release(&r->lock);
    if (journal)
        journal_free(&r->jr);
    job_target_free(&r->tgt);
    config_instance_free(&r->inst);
    job_progress_destroy(&r->hub);
    free(r);
    return st;
}

static bool matches(const struct job_record *job, const char *selector)
{
    if (selector == NULL)
        return true;
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, job->id);
    return strcmp(selector, id) == 0 || strcmp(selector, job->upload_id) == 0;
}

mfb_status resume_run(const struct resume_options *opt, struct resume_summary *summary,
                      struct mfb_error *err)
{
    memset(summary, 0, sizeof(*summary));
    struct job_log_filter f = {.by_status = true, .status = JOB_STATUS_PENDING_UPLOAD};
    struct job_record *jobs = NULL;
    size_t count = 0;
    mfb_status st = job_log_list(opt->db, &f, &jobs, &count, err);
    if (st != MFB_OK)
        return st;
    mfb_status first = MFB_OK;
    /* Oldest first: the list is newest first. */
    for (size_t k = count; k-- > 0;) {
        if (!matches(&jobs[k], opt->selector))
            continue;
        summary->pending++;
        if (cancel_token_requested(opt->cancel))
            break;
        struct mfb_error e = {0};
        mfb_status s = resume_one(opt, &jobs[k], &e);
        if (s == MFB_OK) {
            summary->completed++;
            log_info("resume", "job=%" PRId64 " status=succeeded backup=%s", jobs[k].id,
                     jobs[k].backup_id);
        } else {
            summary->failed++;
            log_error("resume", "job=%" PRId64 " error=\"%s\"", jobs[k].id, e.message);
            if (first == MFB_OK) {
                first = s;
                mfb_error_set(err, s, "job %" PRId64 ": %s", jobs[k].id, e.message);
                if (e.hint[0])
                    mfb_error_hint(err, "%s", e.hint);
            }
        }
    }
    job_log_list_free(jobs, count);
    if (opt->selector && summary->pending == 0) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "no job waiting to resume its upload matches '%s'",
                      opt->selector);
        mfb_error_hint(err, "'mfb logs --status pending_upload' lists them");
        return MFB_ERR_NOT_FOUND;
    }
    return first;
}
