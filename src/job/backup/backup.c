/*
 * backup.c - the backup pipeline (see backup.h and docs/backup.md).
 *
 * The order of the steps is the design's, and the rule behind every branch
 * is the same: before the stop, any failure ends the job with no downtime;
 * after the stop command was issued, every path - failure, timeout,
 * cancel - goes through restart_server, which cannot be cancelled. The
 * three restart policies differ only in where restart_server is called:
 *
 *   upload    stop → archive ∥ upload → restart → verify → complete
 *   archive   stop → archive ∥ upload → restart → verify, upload goes on → complete
 *   snapshot  stop → copy → restart → verify → archive ∥ upload → complete
 *
 * Archive and upload run together: the archive writer's sink writes
 * Data.zip and tells the uploader, after every write, how much of the file
 * is final (uploader_seal); the uploader sends each chunk as soon as it is
 * sealed, over the target's parallel connections, each streaming its chunk
 * from the spool file in small pieces (no chunk is held in memory). The
 * sink hashes the bytes as they pass, in one pass for each chunk's digest
 * and the file's (transfer/chunk_record.h): each chunk's digest goes to the
 * uploader, which checks the bytes it reads back against it before the
 * chunk's last byte is sent and fails the job if they changed on the disk;
 * it is also the chunk's Content-Digest, which the receiver checks, so the
 * check runs from the bytes the writer produced to the bytes stored. The
 * record is kept beside a Data.zip that waits for `mfb resume`. If the
 * receiver goes away, the archive is still finished, so that the complete
 * Data.zip is kept and `mfb resume` can send it later (the job becomes
 * pending_upload).
 *
 * Downtime is measured from the moment the stop command is issued to the
 * first successful query after the start, on the monotonic clock.
 */
#include "job/backup/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/file_sink.h"
#include "archive/writer.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/backup/alerts.h"
#include "job/backup/guardian.h"
#include "job/backup/naming.h"
#include "job/backup/recovery.h"
#include "job/backup/snapshot.h"
#include "job/config_map.h"
#include "job/deadline.h"
#include "job/endpoints.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/server_start.h"
#include "job/spool.h"
#include "mysql/command.h"
#include "mysql/control.h"
#include "mysql/discover.h"
#include "mysql/preflush.h"
#include "mysql/stopped.h"
#include "transfer/backoff.h"
#include "transfer/receiver_api.h"
#include "transfer/uploader.h"

#define CONNECT_TIMEOUT_MS 30000      /* the preflight's connection */
#define METHOD_CHECK_TIMEOUT_MS 10000 /* systemctl cat, ... */
#define QUICK_PING_MS 3000            /* "does it still answer?" after a failed stop */
#define SECOND_PING_DELAY_MS 500
#define QUICK_ATTEMPTS 3 /* receiver requests around the job: opening, abandoning */
#define QUICK_RETRY_MS 30000
#define QUICK_STALL_MS 15000

/* Where restart_server is called from archive_and_upload. */
enum restart_point {
    RESTART_AFTER_ARCHIVE,
    RESTART_AFTER_UPLOAD,
    RESTART_ALREADY, /* snapshot: the server runs again before the archive */
};

struct backup {
    const struct backup_options *opt;
    struct backup_result *res;
    struct job_instance inst;
    struct job_target tgt;
    struct transfer_peer *quick; /* few retries: opening and abandoning the upload */
    struct job_lock lock;
    struct guardian guard; /* restarts the server if this process dies while it is down */
    struct job_progress_hub hub;
    struct job_journal jr; /* begun when the phase leaves SETUP */
    atomic_bool never;     /* the cancel flag when the caller gave no token */
    const atomic_bool *cancel_flag;
    /* preflight */
    struct mysql_conn *client;
    struct mysql_server_info *info;
    struct mysql_stop_watch watch;
    struct transfer_conn *conn;
    struct upload_state upload;
    bool upload_open;
    json_t *metadata;
    uint64_t estimate;
    char job_dir[PATH_MAX];
    char zip_path[PATH_MAX];
    char snap_dir[PATH_MAX];
    /* the server: the job's phase (res->phase) says what the job does, this
     * what the server does (job/backup/phase.h) */
    enum backup_server server;
    uint64_t stop_issued_ms;
    char failed_command[1024]; /* when it is LOST: for the recovery steps */
    char failure[1536];
    /* the archive and the upload: facts, once true they stay so */
    bool sealed; /* Data.zip is complete on the local disk */
    uint64_t archive_size;
    struct chunk_record record; /* Data.zip's digests, taken as it was written */
    bool chunks_done;           /* every chunk is on the receiver */
    struct upload_result upres;
    bool stored; /* the receiver checked and stored it */
    struct backup_info backup;
};

/* Copies text into a fixed buffer, cutting it to fit. */
static void set_text(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A duration for messages: "250ms" below a second, else "1.5s", "2m". */
static const char *duration(uint64_t ms, char *buf, size_t len)
{
    if (ms < 1000) {
        snprintf(buf, len, "%" PRIu64 "ms", ms);
        return buf;
    }
    return format_duration_ms(ms, buf, len);
}

static bool cancelled(const struct backup *b)
{
    return cancel_token_requested(b->opt->cancel);
}

static uint64_t timeout_of(const struct backup *b, enum config_timeout t)
{
    return server_start_timeout(&b->inst, t);
}

/* ---- phases (job/backup/phase.h) ---- */

static enum backup_phase phase_now(const struct backup *b)
{
    return backup_result_phase(b->res);
}

/* The one place the job changes phase. */
static void phase_move(struct backup *b, enum backup_phase to)
{
    backup_phase_move(&b->res->phase, to);
}

/* The server went down, came back or was lost. */
static void server_now(struct backup *b, enum backup_server to)
{
    backup_server_move(&b->server, to);
}

/* ---- progress adapters ---- */

static void on_archive_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct backup *b = ctx;
    job_progress_bytes(&b->hub, done, total);
}

static void on_snapshot_progress(void *ctx, uint64_t bytes)
{
    struct backup *b = ctx;
    job_progress_bytes(&b->hub, bytes, 0);
}

/* Called from the uploader's threads (serialised by its observer hub). */
static void on_upload_event(void *ctx, const struct transfer_event *ev)
{
    struct backup *b = ctx;
    if (ev->type == TRANSFER_EVENT_PROGRESS || ev->type == TRANSFER_EVENT_CHUNK)
        job_progress_upload(&b->hub, ev->bytes_done);
    else if (ev->type == TRANSFER_EVENT_RETRY) {
        char msg[512];
        snprintf(msg, sizeof(msg), "upload: attempt %u failed (%s); retrying in %.1fs", ev->attempt,
                 ev->reason ? ev->reason : "?", (double)ev->delay_ms / 1000.0);
        job_progress_message(&b->hub, JOB_LEVEL_WARN, msg);
    }
}

/* ---- the archive sink: Data.zip, sealed for the uploader as it grows ---- */

struct seal_sink {
    struct archive_sink inner; /* the file */
    struct uploader *up;
    struct chunk_record *record; /* hashed here, from the writer's buffer */
    uint64_t written;
    uint64_t chunks_given; /* record's chunks passed to the uploader */
    /* Tests only (BACKUP_TEST_FLIP_ENV): the byte at flip_at is changed in
     * the file after it was written and hashed, before it is sealed. */
    int flip_fd;
    bool flip;
    uint64_t flip_at;
};

/* The test hook: a bit going bad on the spool's disk between the write and
 * the upload, at a known offset. */
static void seal_test_flip(struct seal_sink *s, const void *buf, size_t len)
{
    if (!s->flip || s->flip_at < s->written || s->flip_at - s->written >= len)
        return;
    uint8_t bad = ((const uint8_t *)buf)[s->flip_at - s->written] ^ 0x20;
    bool done = pwrite(s->flip_fd, &bad, 1, (off_t)s->flip_at) == 1;
    log_warn("archive", "note=%s offset=%" PRIu64 " env=%s",
             done ? "test_byte_changed_in_the_spool" : "test_flip_failed", s->flip_at,
             BACKUP_TEST_FLIP_ENV);
}

/* Hands the uploader the chunk digests it does not have yet. */
static void seal_give_chunks(struct seal_sink *s)
{
    for (; s->up && s->chunks_given < s->record->count; s->chunks_given++)
        uploader_seal_chunk(s->up, s->chunks_given, s->record->chunks[s->chunks_given]);
}

static mfb_status seal_write(void *ctx, const void *buf, size_t len, struct mfb_error *err)
{
    struct seal_sink *s = ctx;
    mfb_status st = s->inner.write(s->inner.ctx, buf, len, err);
    /* The digests are of the bytes the writer meant, taken from its
     * buffer: never from the file read back. */
    if (st == MFB_OK)
        st = chunk_record_update(s->record, buf, len, err);
    if (st != MFB_OK)
        return st;
    seal_test_flip(s, buf, len);
    s->written += len;
    seal_give_chunks(s);
    if (s->up)
        uploader_seal(s->up, s->written);
    return MFB_OK;
}

/* Data.zip is complete at size bytes: the last chunk's and the file's
 * digests go to the uploader. */
static mfb_status seal_end(struct seal_sink *s, uint64_t size, struct mfb_error *err)
{
    mfb_status st = chunk_record_end(s->record, err);
    if (st == MFB_OK && s->record->size != size)
        st = mfb_error_set(err, MFB_ERR_INTERNAL,
                           "the archive has %" PRIu64 " bytes but %" PRIu64 " were written", size,
                           s->record->size);
    if (st != MFB_OK)
        return st;
    seal_give_chunks(s);
    uploader_finish_digest(s->up, size, s->record->sha256);
    return MFB_OK;
}

/* ---- the server: restart and verify ---- */

/* The server answers again: the guardian stands down (job/backup/guardian.h). */
static void server_answers(struct backup *b)
{
    b->jr.on_step = NULL;
    guardian_stand_down(&b->guard);
}

/* Starts the server when it may be down and waits until it answers
 * (job/server_start.h, the code the guardian runs too). Never cancelled.
 * On failure remembers what failed for the recovery steps. Once the server
 * answers, the guardian is no longer needed. */
static mfb_status restart_server(struct backup *b, struct mfb_error *err)
{
    if (b->server == BACKUP_SERVER_LOST) /* tried once: the recovery steps take over */
        return MFB_ERR_MYSQL;
    if (b->server != BACKUP_SERVER_DOWN)
        return MFB_OK;
    phase_move(b, BACKUP_PHASE_RESTARTING);
    struct server_start ss;
    mfb_status st = server_start_verify(&b->jr, &b->inst, &ss, err);
    if (st == MFB_OK) {
        server_now(b, BACKUP_SERVER_BACK);
        server_answers(b);
        journal_defer(&b->jr, false);
        b->jr.job.downtime_ms = (int64_t)(ss.up_ms - b->stop_issued_ms);
        b->res->downtime_ms = b->jr.job.downtime_ms;
        job_progress_server(&b->hub, false);
        char d[32];
        journal_event(&b->jr, JOB_LEVEL_INFO, "verify",
                      "the server answers again (after %u attempts); downtime %s", ss.attempts,
                      format_duration_ms((uint64_t)b->jr.job.downtime_ms, d, sizeof(d)));
        journal_save(&b->jr);
        return MFB_OK;
    }
    server_now(b, BACKUP_SERVER_LOST);
    set_text(b->failed_command, sizeof(b->failed_command), ss.failed_command);
    set_text(b->failure, sizeof(b->failure), ss.failure);
    return st;
}

/* After a stop that failed, timed out or was cancelled: the server must be
 * left running. If the stop half-worked, start it again. */
static mfb_status ensure_running(struct backup *b, struct mfb_error *err)
{
    struct mysql_ping_result ping = {0};
    /* Twice, a moment apart: a server that is shutting down still answers
     * for a short while. */
    if (mysql_conn_ping_until(&b->inst.endpoint, QUICK_PING_MS, 0, NULL, &ping, NULL) == MFB_OK &&
        clock_sleep_ms(SECOND_PING_DELAY_MS, NULL) &&
        mysql_conn_ping_until(&b->inst.endpoint, QUICK_PING_MS, 0, NULL, &ping, NULL) == MFB_OK) {
        server_now(b, BACKUP_SERVER_BACK);
        server_answers(b);
        journal_defer(&b->jr, false);
        job_progress_server(&b->hub, false);
        journal_event(&b->jr, JOB_LEVEL_INFO, "stop",
                      "the server still runs and answers; nothing was archived");
        return MFB_OK;
    }
    struct mysql_server_presence p;
    mysql_server_presence(&b->watch, &p);
    if (p.process) {
        /* Shutting down after all: let it finish before starting again. */
        journal_event(&b->jr, JOB_LEVEL_WARN, "stop",
                      "the server does not answer but its process is still there; waiting for "
                      "it to exit before starting it again");
        struct mfb_error we = {0};
        if (mysql_wait_stopped(&b->watch, timeout_of(b, CONFIG_TIMEOUT_STOP), NULL, NULL, &we) !=
            MFB_OK) {
            server_now(b, BACKUP_SERVER_LOST);
            snprintf(b->failed_command, sizeof(b->failed_command), "the stop method (%s)",
                     config_control_kind_str(b->inst.record.control));
            snprintf(b->failure, sizeof(b->failure), "the server neither answers nor exits: %s",
                     we.message);
            journal_error(&b->jr, "stop", &we);
            return mfb_error_set(err, MFB_ERR_TIMEOUT, "%s", b->failure);
        }
    }
    journal_event(&b->jr, JOB_LEVEL_WARN, "stop",
                  "the stop half-worked: the server is down; starting it again");
    return restart_server(b, err);
}

/* ---- preflight ---- */

static mfb_status job_name(struct backup *b, char *name, size_t len, struct mfb_error *err)
{
    uint64_t seq = 0;
    mfb_status st = config_name_seq_next(b->opt->db, b->inst.record.name, &seq, err);
    if (st != MFB_OK)
        return st;
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    time_t now = (time_t)(b->jr.job.started_ms / 1000);
    struct tm tm;
    localtime_r(&now, &tm);
    struct naming_vars vars = {
        .instance = b->inst.record.name, .host = host, .type = "full", .time = &tm, .seq = seq};
    const char *pattern = b->tgt.record.naming ? b->tgt.record.naming : CONFIG_DEFAULT_NAMING;
    st = naming_expand(pattern, &vars, name, len, err);
    if (st != MFB_OK)
        mfb_error_hint(err, "fix the pattern with 'mfb target set %s --naming PATTERN'",
                       b->tgt.record.name);
    return st;
}

/* The job's part of the manifest metadata and of the receiver's NAME.json. */
static json_t *job_json(const struct backup *b, const char *name)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "instance", b->inst.record.name,
                     "job_id", (json_int_t)b->jr.job.id, "name", name, "host", host,
                     "restart_after", config_restart_after_str(b->inst.record.restart_after),
                     "control", config_control_kind_str(b->inst.record.control), "tool",
                     "mfb " MFB_VERSION);
}

/* The receiver keeps a summary beside the backup (NAME.json); the archive's
 * manifest holds everything (b->metadata). */
static json_t *upload_metadata(const struct backup *b, const char *name)
{
    json_t *m = json_object();
    json_object_set_new(m, "job", job_json(b, name));
    const char *keys[] = {"flavour", "version", "server_uuid", "roots"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(b->info->json, keys[i]);
        if (v)
            json_object_set(m, keys[i], v);
    }
    return m;
}

static mfb_status check_spool(struct backup *b, struct mfb_error *err)
{
    const char *spool = b->inst.record.spool;
    mfb_status st = fs_mkdir_p(spool, 0700, err);
    if (st != MFB_OK)
        return st;
    char real[PATH_MAX];
    if (realpath(spool, real) == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot resolve the spool '%s'", spool);
    for (size_t i = 0; i < b->info->roots.count; i++) {
        const struct mysql_root *r = &b->info->roots.roots[i];
        if (mysql_path_contains(r->path, real)) {
            mfb_error_set(err, MFB_ERR_INVALID,
                          "the spool '%s' is inside the server's directory '%s' (%s)", spool,
                          r->path, r->name);
            mfb_error_hint(err,
                           "the backup would archive itself; choose a spool outside the "
                           "server's directories with 'mfb instance set %s --spool DIR'",
                           b->inst.record.name);
            return MFB_ERR_INVALID;
        }
    }
    uint64_t avail = 0;
    st = spool_free_bytes(spool, &avail, err);
    if (st != MFB_OK)
        return st;
    bool snapshot = b->inst.record.restart_after == CONFIG_RESTART_AFTER_SNAPSHOT;
    /* A snapshot needs room for the copy and for the archive made of it. */
    uint64_t need = spool_with_margin(snapshot ? 2 * b->estimate : b->estimate);
    char a[32], n[32], e[32];
    if (avail < need) {
        mfb_error_set(
            err, MFB_ERR_NO_SPACE,
            "the spool '%s' has %s free; the backup needs about %s (%s of server files%s, "
            "plus a margin)",
            spool, format_size(avail, a, sizeof(a)), format_size(need, n, sizeof(n)),
            format_size(b->estimate, e, sizeof(e)),
            snapshot ? ", twice: the snapshot copy and the archive" : "");
        mfb_error_hint(err,
                       "free space there, or choose a larger spool with 'mfb instance set "
                       "%s --spool DIR'",
                       b->inst.record.name);
        return MFB_ERR_NO_SPACE;
    }
    journal_event(&b->jr, JOB_LEVEL_INFO, "preflight", "spool %s: %s free, about %s needed", spool,
                  format_size(avail, a, sizeof(a)), format_size(need, n, sizeof(n)));
    return MFB_OK;
}

static mfb_status preflight(struct backup *b, struct mfb_error *err)
{
    struct job_instance *inst = &b->inst;
    mfb_status st = mysql_method_check(&inst->method, METHOD_CHECK_TIMEOUT_MS, err);
    if (st == MFB_OK)
        st = mysql_conn_connect(&inst->endpoint, CONNECT_TIMEOUT_MS, &b->client, err);
    if (st == MFB_OK)
        st = mysql_discover(b->client, &b->info, err);
    if (st != MFB_OK)
        return st;
    journal_event(&b->jr, JOB_LEVEL_INFO, "preflight", "%s %s, data directory %s, %zu root%s",
                  mysql_flavour_str(b->info->flavour), b->info->version, b->info->datadir,
                  b->info->roots.count, b->info->roots.count == 1 ? "" : "s");
    char real[PATH_MAX];
    if (realpath(inst->record.datadir, real) == NULL || strcmp(real, b->info->datadir) != 0)
        journal_event(&b->jr, JOB_LEVEL_WARN, "preflight",
                      "the configured data directory %s is not the server's (%s); backing up "
                      "what the server uses",
                      inst->record.datadir, b->info->datadir);
    if (b->info->innodb_fast_shutdown == 2)
        journal_event(&b->jr, JOB_LEVEL_WARN, "preflight",
                      "innodb_fast_shutdown=2: the files will need crash recovery after a "
                      "restore");

    b->estimate = 0;
    for (size_t i = 0; i < b->info->roots.count; i++) {
        uint64_t bytes = 0;
        st = spool_tree_bytes(b->info->roots.roots[i].path, &bytes, err);
        if (st != MFB_OK)
            return st;
        b->estimate += bytes;
        journal_event(&b->jr, JOB_LEVEL_INFO, "preflight", "root %s: %s (%" PRIu64 " bytes)",
                      b->info->roots.roots[i].name, b->info->roots.roots[i].path, bytes);
    }
    st = check_spool(b, err);
    if (st != MFB_OK)
        return st;

    /* What tells us the server is really gone, read while it runs. */
    st = mysql_stop_watch_init(&b->watch, b->info->pid_file, b->info->socket,
                               inst->record.host ? inst->record.host : NULL,
                               inst->record.host ? b->info->port : 0, err);
    if (st != MFB_OK)
        return st;
    if (b->watch.pid == 0)
        journal_event(&b->jr, JOB_LEVEL_WARN, "preflight",
                      "no pid file at %s: the stop is judged by the socket alone",
                      b->info->pid_file ? b->info->pid_file : "(none)");

    char name[NAMING_BUF];
    st = job_name(b, name, sizeof(name), err);
    if (st != MFB_OK)
        return st;
    b->metadata = json_deep_copy(b->info->json);
    if (b->metadata == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    json_object_set_new(b->metadata, "job", job_json(b, name));

    /* The receiver says now whether it can take the backup (507: no). */
    struct transfer_conn *conn = NULL;
    st = transfer_conn_open(b->quick, b->opt->cancel, &conn, err);
    if (st != MFB_OK)
        return st;
    json_t *meta = upload_metadata(b, name);
    struct upload_request req = {
        .instance = inst->record.name,
        .name = name,
        .directory = b->tgt.record.directory,
        .chunk_size =
            b->tgt.record.chunk_size ? b->tgt.record.chunk_size : CONFIG_DEFAULT_CHUNK_SIZE,
        .expected_size = b->estimate,
        .metadata = meta,
    };
    st = receiver_upload_create(conn, &req, &b->upload, err);
    json_decref(meta);
    transfer_conn_close(conn);
    if (st != MFB_OK)
        return st;
    b->upload_open = true;
    snprintf(b->jr.job.upload_id, sizeof(b->jr.job.upload_id), "%s", b->upload.upload_id);
    snprintf(b->jr.job.backup_name, sizeof(b->jr.job.backup_name), "%s", name);
    snprintf(b->res->upload_id, sizeof(b->res->upload_id), "%s", b->upload.upload_id);
    journal_event(&b->jr, JOB_LEVEL_INFO, "preflight", "receiver %s accepted upload %s for '%s'",
                  b->tgt.record.name, b->upload.upload_id, name);
    journal_save(&b->jr);

    st = spool_job_dir(inst->record.spool, b->jr.job.id, b->job_dir, sizeof(b->job_dir), err);
    if (st == MFB_OK)
        st =
            spool_data_zip(inst->record.spool, b->jr.job.id, b->zip_path, sizeof(b->zip_path), err);
    if (st == MFB_OK)
        st = spool_snapshot_dir(inst->record.spool, b->jr.job.id, b->snap_dir, sizeof(b->snap_dir),
                                err);
    if (st == MFB_OK && mkdir(b->job_dir, 0700) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", b->job_dir);
    return st;
}

/* ---- pre-flush and stop ---- */

static mfb_status preflush(struct backup *b, struct mfb_error *err)
{
    journal_step_begin(&b->jr, JOB_STEP_PREFLUSH, 0);
    struct mysql_preflush_options o = {
        .dirty_pages_target = MYSQL_PREFLUSH_DEFAULT_TARGET,
        .timeout_ms = timeout_of(b, CONFIG_TIMEOUT_PREFLUSH),
        .cancel = b->cancel_flag,
    };
    struct mysql_preflush_result r = {0};
    struct mfb_error e = {0};
    mfb_status st = mysql_preflush(b->client, &o, &r, &e);
    journal_step_end(&b->jr, JOB_STEP_PREFLUSH);
    if (st == MFB_ERR_CANCELLED)
        return mfb_error_set(err, st, "cancelled during the pre-flush; the server was not stopped");
    if (st != MFB_OK) {
        /* The pre-flush only shortens the stop; without it the shutdown
         * flushes the pages itself. */
        journal_event(&b->jr, JOB_LEVEL_WARN, "preflush", "pre-flush skipped: %s%s%s", e.message,
                      e.hint[0] ? " (hint: " : "", e.hint[0] ? e.hint : "");
        if (r.changed && !r.restored)
            journal_event(&b->jr, JOB_LEVEL_ERROR, "preflush",
                          "server variables were not put back: %s", e.message);
        return MFB_OK;
    }
    journal_event(&b->jr, r.reached ? JOB_LEVEL_INFO : JOB_LEVEL_WARN, "preflush",
                  "dirty pages %" PRIu64 " -> %" PRIu64 "%s", r.pages_before, r.pages_after,
                  r.reached ? "" : " (timeout: the shutdown flushes the rest)");
    return MFB_OK;
}

static mfb_status stop_server(struct backup *b, struct mfb_error *err)
{
    /* The final GTID position, as close to the stop as it gets. */
    json_t *gtid = NULL;
    struct mfb_error ge = {0};
    if (mysql_gtid_read(b->client, &gtid, &ge) == MFB_OK)
        json_object_set_new(b->metadata, "gtid", gtid);
    else
        journal_event(&b->jr, JOB_LEVEL_WARN, "stop", "cannot read the final GTID position: %s",
                      ge.message);

    uint64_t limit = timeout_of(b, CONFIG_TIMEOUT_STOP);
    journal_step_begin(&b->jr, JOB_STEP_STOP, 0);
    journal_defer(&b->jr, true); /* no fsync of the job log while the server is down */
    phase_move(b, BACKUP_PHASE_STOPPING);
    server_now(b, BACKUP_SERVER_DOWN);
    b->stop_issued_ms = clock_now_ms();
    guardian_server_down(&b->guard, b->stop_issued_ms);
    job_progress_server(&b->hub, true);
    struct mysql_command_result cres;
    mfb_status st =
        mysql_control_stop(&b->inst.method, b->client, limit, b->cancel_flag, &cres, err);
    mysql_conn_close(b->client); /* SHUTDOWN made it unusable; nothing else needs it */
    b->client = NULL;
    uint64_t waited = 0;
    if (st == MFB_OK) {
        uint64_t spent = clock_now_ms() - b->stop_issued_ms;
        st = mysql_wait_stopped(&b->watch, spent < limit ? limit - spent : 1, b->cancel_flag,
                                &waited, err);
    }
    journal_step_end(&b->jr, JOB_STEP_STOP);
    if (st == MFB_OK)
        journal_event(&b->jr, JOB_LEVEL_INFO, "stop", "the server is gone (%" PRIu64 " ms)",
                      clock_now_ms() - b->stop_issued_ms);
    return st;
}

/* ---- snapshot ---- */

static mfb_status take_snapshot(struct backup *b, struct mfb_error *err)
{
    phase_move(b, BACKUP_PHASE_SNAPSHOT);
    journal_step_begin(&b->jr, JOB_STEP_SNAPSHOT, b->estimate);
    struct step_deadline dl;
    mfb_status st =
        step_deadline_start(&dl, b->opt->cancel, timeout_of(b, CONFIG_TIMEOUT_ARCHIVE), err);
    struct snapshot_stats stats = {0};
    if (st == MFB_OK && mkdir(b->snap_dir, 0700) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", b->snap_dir);
    struct snapshot_options so = {
        .cancel = step_deadline_flag(&dl), .progress = on_snapshot_progress, .progress_ctx = b};
    for (size_t i = 0; st == MFB_OK && i < b->info->roots.count; i++) {
        char dst[PATH_MAX + CONFIG_NAME_BUF + 2];
        snprintf(dst, sizeof(dst), "%s/%s", b->snap_dir, b->info->roots.roots[i].name);
        st = snapshot_copy_tree(b->info->roots.roots[i].path, dst, &so, &stats, err);
    }
    if (st == MFB_ERR_CANCELLED && step_deadline_expired(&dl)) {
        char d[32];
        mfb_error_clear(err);
        st = mfb_error_set(err, MFB_ERR_TIMEOUT, "the snapshot did not finish within %s",
                           duration(timeout_of(b, CONFIG_TIMEOUT_ARCHIVE), d, sizeof(d)));
        mfb_error_hint(err, "raise it with 'mfb instance set %s --archive-timeout DURATION'",
                       b->inst.record.name);
    }
    step_deadline_stop(&dl);
    journal_step_end(&b->jr, JOB_STEP_SNAPSHOT);
    if (st == MFB_OK) {
        char s[32];
        journal_event(&b->jr, JOB_LEVEL_INFO, "snapshot",
                      "copied %" PRIu64 " files, %s (%" PRIu64 " cloned)", stats.files,
                      format_size(stats.bytes, s, sizeof(s)), stats.cloned);
    }
    return st;
}

/* ---- archive and upload ---- */

static mfb_status deadline_error(struct backup *b, struct mfb_error *err, const char *what,
                                 enum config_timeout t)
{
    char d[32];
    mfb_error_clear(err);
    mfb_error_set(err, MFB_ERR_TIMEOUT, "the %s did not finish within %s", what,
                  duration(timeout_of(b, t), d, sizeof(d)));
    mfb_error_hint(err, "raise it with 'mfb instance set %s --%s-timeout DURATION'",
                   b->inst.record.name, config_timeout_name(t));
    return MFB_ERR_TIMEOUT;
}

static mfb_status archive_and_upload(struct backup *b, enum restart_point rp, struct mfb_error *err)
{
    bool from_snapshot = rp == RESTART_ALREADY;
    struct step_deadline adl = {0}, udl = {0};
    struct archive_writer *w = NULL;
    struct file_sink fs = {0};
    struct uploader *up = NULL;
    int up_fd = -1;
    struct mfb_error aerr = {0}, uerr = {0};
    struct seal_sink seal = {.record = &b->record};
    chunk_record_free(&b->record);
    chunk_record_begin(&b->record, b->upload.chunk_size);
    struct archive_sink sink = {.write = seal_write, .ctx = &seal};
    struct transfer_observer obs = {.notify = on_upload_event, .ctx = b};
    phase_move(b, BACKUP_PHASE_ARCHIVING);

    mfb_status st =
        step_deadline_start(&adl, b->opt->cancel, timeout_of(b, CONFIG_TIMEOUT_ARCHIVE), &aerr);
    if (st == MFB_OK)
        st = step_deadline_start(&udl, b->opt->cancel, timeout_of(b, CONFIG_TIMEOUT_UPLOAD), &aerr);
    struct archive_writer_options wo = {
        .threads = b->opt->threads,
        .level = b->opt->level,
        .cancel = step_deadline_flag(&adl),
        .progress = on_archive_progress,
        .progress_ctx = b,
    };
    if (st == MFB_OK)
        st = archive_writer_open(&wo, &sink, &w, &aerr);
    for (size_t i = 0; st == MFB_OK && i < b->info->roots.count; i++) {
        const struct mysql_root *r = &b->info->roots.roots[i];
        char src[PATH_MAX + CONFIG_NAME_BUF + 2];
        snprintf(src, sizeof(src), "%s/%s", b->snap_dir, r->name);
        st = archive_writer_add_tree(w, from_snapshot ? src : r->path, r->name, &aerr);
    }
    if (st == MFB_OK) {
        archive_writer_set_metadata(w, b->metadata);
        st = file_sink_open(&fs, b->zip_path, &seal.inner, &aerr);
        /* Data.zip is made durable only if it has to wait for a resume
         * (sync_data_zip), after the server was started again. */
        fs.defer_sync = true;
        const char *flip = getenv(BACKUP_TEST_FLIP_ENV);
        seal.flip_fd = fs.fd;
        seal.flip = flip && parse_uint(flip, 0, UINT64_MAX, &seal.flip_at, NULL) == MFB_OK;
    }
    /* The uploader reads through a descriptor of its own: the sink's is
     * write-only and is closed when the archive is published. */
    if (st == MFB_OK && (up_fd = open(fs.tmp_path, O_RDONLY | O_CLOEXEC)) < 0)
        st = mfb_error_errno(&aerr, errno, MFB_ERR_IO, "cannot open '%s'", fs.tmp_path);
    if (st == MFB_OK) {
        struct uploader_config uc = {
            .client = b->tgt.client,
            .upload_id = b->upload.upload_id,
            .chunk_size = b->upload.chunk_size,
            .connections =
                b->tgt.record.connections ? b->tgt.record.connections : CONFIG_DEFAULT_CONNECTIONS,
            .fd = up_fd,
            .path = b->zip_path,
            .producer_digests = true,
            .cancel = &udl.token,
            .observers = &obs,
            .observer_count = 1,
        };
        st = uploader_start(&uc, &up, &aerr);
        seal.up = up;
    }

    /* The archive: while the server is stopped, unless from a snapshot. */
    if (st == MFB_OK) {
        journal_step_mark(&b->jr, JOB_STEP_UPLOAD);
        journal_step_begin(&b->jr, JOB_STEP_ARCHIVE, archive_writer_planned_bytes(w));
        struct archive_summary sum = {0};
        st = archive_writer_finish(w, &sum, &aerr);
        if (st == MFB_OK)
            st = file_sink_publish(&fs, &aerr);
        if (st == MFB_OK)
            st = seal_end(&seal, sum.output_bytes, &aerr);
        if (st == MFB_OK) {
            b->sealed = true;
            b->archive_size = sum.output_bytes;
            b->jr.job.bytes_in = sum.input_bytes;
            b->res->bytes_in = sum.input_bytes;
            b->res->archive_bytes = sum.output_bytes;
        }
        journal_step_end(&b->jr, JOB_STEP_ARCHIVE);
        if (st == MFB_ERR_CANCELLED && step_deadline_expired(&adl))
            st = deadline_error(b, &aerr, "archive", CONFIG_TIMEOUT_ARCHIVE);
        if (st == MFB_OK) {
            char in[32], out[32];
            journal_event(&b->jr, JOB_LEVEL_INFO, "archive",
                          "Data.zip sealed: %" PRIu64 " entries, %s of files in %s", sum.entries,
                          format_size(sum.input_bytes, in, sizeof(in)),
                          format_size(sum.output_bytes, out, sizeof(out)));
        }
    }
    step_deadline_stop(&adl);
    if (from_snapshot)
        spool_remove_tree(b->snap_dir, NULL); /* archived, or useless */
    if (st != MFB_OK) {
        if (up)
            uploader_cancel(up);
        if (up)
            uploader_wait(up, &b->upres, NULL);
        journal_error(&b->jr, "archive", &aerr);
        if (mfb_error_copy(err, &aerr) == MFB_OK) /* every failure above fills aerr */
            mfb_error_set(err, st, "the archive failed (%s)", mfb_status_str(st));
        goto done;
    }
    if (rp == RESTART_AFTER_ARCHIVE)
        restart_server(b, err); /* the upload goes on meanwhile */

    phase_move(b, BACKUP_PHASE_UPLOADING);
    job_progress_step_begin(&b->hub, JOB_STEP_UPLOAD, b->archive_size);
    st = uploader_wait(up, &b->upres, &uerr);
    if (st == MFB_ERR_CANCELLED && step_deadline_expired(&udl))
        st = deadline_error(b, &uerr, "upload", CONFIG_TIMEOUT_UPLOAD);
    b->jr.job.bytes_out = b->upres.bytes_sent;
    b->jr.job.chunks = b->upres.chunks;
    b->jr.job.retries = b->upres.retries;
    journal_step_end(&b->jr, JOB_STEP_UPLOAD);
    if (st == MFB_OK) {
        b->chunks_done = true;
        char s[32];
        journal_event(&b->jr, JOB_LEVEL_INFO, "upload",
                      "%" PRIu64 " chunks on the receiver (%s, %" PRIu64 " retries)",
                      b->upres.chunks, format_size(b->upres.size, s, sizeof(s)), b->upres.retries);
    } else {
        journal_error(&b->jr, "upload", &uerr);
        mfb_error_copy(err, &uerr);
        /* Data.zip changed on the disk after it was written: it is not the
         * archive any more, and a resume would only refuse it. The job
         * fails and the spool is cleaned instead of keeping it. */
        if (st == MFB_ERR_CHANGED)
            b->sealed = false;
    }
    if (rp == RESTART_AFTER_UPLOAD)
        restart_server(b, err);
done:
    step_deadline_stop(&udl);
    uploader_free(up);
    archive_writer_free(w);
    file_sink_close(&fs); /* removes a partial archive */
    if (up_fd >= 0)
        close(up_fd);
    return st;
}

/* ---- finishing ---- */

static mfb_status complete_upload(struct backup *b, struct mfb_error *err)
{
    phase_move(b, BACKUP_PHASE_COMPLETING);
    journal_step_begin(&b->jr, JOB_STEP_FINISH, 0);
    mfb_status st = transfer_conn_open(b->tgt.client, b->opt->cancel, &b->conn, err);
    if (st == MFB_OK)
        st = receiver_upload_complete(b->conn, b->upload.upload_id, b->upres.size, b->upres.sha256,
                                      &b->backup, err);
    if (st == MFB_OK) {
        b->stored = true;
        snprintf(b->jr.job.backup_id, sizeof(b->jr.job.backup_id), "%s", b->backup.backup_id);
        set_text(b->jr.job.backup_name, sizeof(b->jr.job.backup_name), b->backup.name);
        journal_event(&b->jr, JOB_LEVEL_INFO, "finish",
                      "the receiver checked the SHA-256 and stored %s (%s)", b->backup.path,
                      b->backup.backup_id);
        struct mfb_error re = {0};
        if (spool_remove_tree(b->job_dir, &re) != MFB_OK)
            journal_event(&b->jr, JOB_LEVEL_WARN, "finish", "cannot remove %s: %s", b->job_dir,
                          re.message);
    }
    journal_step_end(&b->jr, JOB_STEP_FINISH);
    return st;
}

/* Makes a Data.zip that waits for `mfb resume` durable, with its seal
 * record beside it, before the job is recorded as pending_upload: a resume
 * must never read a torn file, and checks every byte against the record. */
static mfb_status sync_data_zip(struct backup *b, struct mfb_error *err)
{
    mfb_status rs = spool_record_write(b->inst.record.spool, b->jr.job.id, &b->record, err);
    if (rs != MFB_OK)
        return rs;
    int fd = open(b->zip_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", b->zip_path);
    mfb_status st = MFB_OK;
    if (fsync(fd) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync '%s'", b->zip_path);
    close(fd);
    if (st == MFB_OK)
        st = fs_fsync_dir_of(b->zip_path, false, err);
    return st;
}

/* Gives up the receiver's upload after a job that will not finish it
 * (best effort, a few quick retries: the receiver keeps it otherwise
 * until it expires). */
static void abandon_upload(struct backup *b)
{
    if (!b->upload_open || b->quick == NULL)
        return;
    struct transfer_conn *conn = NULL;
    struct mfb_error e = {0};
    if (transfer_conn_open(b->quick, NULL, &conn, &e) == MFB_OK &&
        receiver_upload_abandon(conn, b->upload.upload_id, &e) == MFB_OK) {
        b->upload_open = false;
        journal_event(&b->jr, JOB_LEVEL_INFO, NULL, "upload %s abandoned on the receiver",
                      b->upload.upload_id);
    } else {
        journal_event(&b->jr, JOB_LEVEL_WARN, NULL,
                      "cannot abandon upload %s on the receiver (it expires there): %s",
                      b->upload.upload_id, e.message);
    }
    transfer_conn_close(conn);
}

static void send_alert(struct backup *b, enum job_status status)
{
    if (b->opt->no_alerts)
        return;
    struct backup_alert f = {
        .instance = b->inst.record.name,
        .job_id = b->jr.job.id,
        .status = status,
        .error = b->jr.job.error,
        .hint = b->jr.job.hint,
        .datadir = b->info ? b->info->datadir : b->inst.record.datadir,
        .backup_name = b->jr.job.backup_name[0] ? b->jr.job.backup_name : NULL,
        .upload_id = b->jr.job.upload_id[0] ? b->jr.job.upload_id : NULL,
        .stopped = b->server != BACKUP_SERVER_RUNNING,
        .downtime_ms = b->jr.job.downtime_ms,
        .data_zip = b->zip_path,
        .recovery = b->res->recovery,
    };
    backup_alert_send(b->opt->db, &f);
}

static void build_recovery(struct backup *b)
{
    const char *names[64], *paths[64];
    size_t n = 0;
    for (size_t i = 0; b->info && i < b->info->roots.count && n < 64; i++, n++) {
        names[n] = b->info->roots.roots[i].name;
        paths[n] = b->info->roots.roots[i].path;
    }
    const char *log_error = b->info ? mysql_rows_lookup(b->info->variables, "log_error") : NULL;
    char log_path[PATH_MAX];
    if (log_error && log_error[0] && strcmp(log_error, "stderr") != 0) {
        if (log_error[0] == '/')
            snprintf(log_path, sizeof(log_path), "%s", log_error);
        else
            snprintf(log_path, sizeof(log_path), "%s/%s", b->info->datadir,
                     log_error[0] == '.' && log_error[1] == '/' ? log_error + 2 : log_error);
        log_error = log_path;
    } else {
        log_error = NULL;
    }
    struct recovery_facts f = {
        .instance = b->inst.record.name,
        .datadir = b->info ? b->info->datadir : b->inst.record.datadir,
        .root_names = names,
        .root_paths = paths,
        .root_count = n,
        .method = &b->inst.method,
        .failed_command = b->failed_command[0] ? b->failed_command : NULL,
        .failure = b->failure[0] ? b->failure : NULL,
        .error_log = log_error,
        .socket = b->inst.record.socket,
        .host = b->inst.record.host,
        .port = b->inst.record.port,
        .backup_name = b->stored ? b->backup.name : NULL,
        .backup_id = b->stored ? b->backup.backup_id : NULL,
        .data_zip = b->sealed && !b->stored ? b->zip_path : NULL,
    };
    b->res->recovery = recovery_text(&f);
}

/* The job's final error, worded for its outcome. */
static void final_error(struct backup *b, enum job_status status, struct mfb_error *err)
{
    struct mfb_error first = *err;
    if (b->server == BACKUP_SERVER_LOST) {
        mfb_error_clear(err);
        mfb_error_set(err, MFB_ERR_MYSQL, "the server did not start again: %s", b->failure);
        mfb_error_hint(err,
                       "follow the recovery steps above (also sent to the alert channels); "
                       "the data directory is %s",
                       b->info ? b->info->datadir : b->inst.record.datadir);
    } else if (status == JOB_STATUS_PENDING_UPLOAD) {
        mfb_error_clear(err);
        if (first.status == MFB_ERR_CANCELLED) /* not a failure that came before it */
            mfb_error_set(err, MFB_ERR_CANCELLED,
                          "backup archived but not uploaded: the upload was cancelled");
        else
            mfb_error_set(err, first.status ? first.status : MFB_ERR_NETWORK,
                          "backup archived but not uploaded: %s", first.message);
        mfb_error_hint(err,
                       "the server runs again and %s is kept; 'mfb resume %" PRId64
                       "' completes the upload",
                       b->zip_path, b->jr.job.id);
    } else if (status == JOB_STATUS_CANCELLED && b->server != BACKUP_SERVER_RUNNING) {
        mfb_error_clear(err);
        mfb_error_set(err, MFB_ERR_CANCELLED, "backup cancelled; the server runs again");
    }
}

mfb_status backup_run(const struct backup_options *opt, struct backup_result *res,
                      struct mfb_error *err)
{
    memset(res, 0, sizeof(*res));
    res->downtime_ms = -1;
    struct backup *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    b->opt = opt;
    b->res = res;
    b->lock.fd = -1;
    b->guard = (struct guardian)GUARDIAN_NONE;
    atomic_init(&b->never, false);
    b->cancel_flag = opt->cancel ? &opt->cancel->requested : &b->never;
    job_progress_init(&b->hub, opt->observers, opt->observer_count, opt->instance);
    enum job_status status = JOB_STATUS_FAILED;
    struct mfb_error local = {0};
    if (err == NULL)
        err = &local;

    /* Before the job exists: configuration and the lock. */
    mfb_status st = job_instance_load(opt->db, opt->instance, &b->inst, err);
    if (st == MFB_OK)
        st = job_target_load(opt->db, opt->target, opt->transfer, &b->tgt, err);
    if (st == MFB_OK) {
        struct transfer_target tt;
        config_map_target(&b->tgt.record, &tt);
        /* Opening and abandoning the upload must not hold the job up for
         * the full retry policy: a few attempts, within half a minute. */
        struct transfer_settings quick = opt->transfer ? *opt->transfer : TRANSFER_SETTINGS_DEFAULT;
        if (quick.retry.max_attempts > QUICK_ATTEMPTS)
            quick.retry.max_attempts = QUICK_ATTEMPTS;
        if (quick.retry.max_total_ms > QUICK_RETRY_MS)
            quick.retry.max_total_ms = QUICK_RETRY_MS;
        if (quick.stall_timeout_ms > QUICK_STALL_MS)
            quick.stall_timeout_ms = QUICK_STALL_MS;
        st = transfer_peer_create(&tt, &quick, &b->quick, err);
    }
    if (st == MFB_OK)
        st =
            job_lock_acquire(opt->db, b->inst.record.spool, opt->instance, "backup", &b->lock, err);
    if (st == MFB_OK)
        st = journal_begin(&b->jr, opt->db, &b->hub, opt->instance, b->tgt.record.name, "backup",
                           err);
    if (st != MFB_OK)
        goto done;
    phase_move(b, BACKUP_PHASE_PREFLIGHT);
    res->job_id = b->jr.job.id;
    job_lock_set_job(&b->lock, b->jr.job.id);
    journal_event(&b->jr, JOB_LEVEL_INFO, NULL,
                  "backup of '%s' to '%s' (restart after %s), pid %ld", opt->instance,
                  b->tgt.record.name, config_restart_after_str(b->inst.record.restart_after),
                  (long)getpid());

    /* 1. Preflight: any failure here costs no downtime. */
    journal_step_begin(&b->jr, JOB_STEP_PREFLIGHT, 0);
    st = preflight(b, err);
    if (st == MFB_OK && cancelled(b))
        st = mfb_error_set(err, MFB_ERR_CANCELLED, "cancelled before the server was stopped");
    journal_step_end(&b->jr, JOB_STEP_PREFLIGHT);
    if (st != MFB_OK) {
        journal_error(&b->jr, "preflight", err);
        journal_event(&b->jr, JOB_LEVEL_INFO, "preflight",
                      "the server was not stopped: no downtime");
        goto end;
    }

    /* 2. Pre-flush, 3. stop. */
    phase_move(b, BACKUP_PHASE_PREFLUSH);
    st = preflush(b, err);
    if (st == MFB_OK && cancelled(b))
        st = mfb_error_set(err, MFB_ERR_CANCELLED, "cancelled before the server was stopped");
    if (st != MFB_OK) {
        journal_error(&b->jr, "preflush", err);
        goto end;
    }
    /* The guardian starts the server again should this process die while
     * it is down; no guardian, no stop. */
    st = guardian_start(&b->guard, opt->db, b->jr.job.id, opt->instance, opt->no_alerts, err);
    if (st != MFB_OK) {
        journal_error(&b->jr, "stop", err);
        journal_event(&b->jr, JOB_LEVEL_INFO, "stop", "the server was not stopped: no downtime");
        goto end;
    }
    b->jr.on_step = guardian_on_step;
    b->jr.on_step_ctx = &b->guard;
    st = stop_server(b, err);
    if (st != MFB_OK) {
        journal_error(&b->jr, "stop", err);
        ensure_running(b, err);
        goto end;
    }

    /* 4. and 5.: archive and upload, with the restart where the policy says. */
    switch (b->inst.record.restart_after) {
    case CONFIG_RESTART_AFTER_SNAPSHOT:
        st = take_snapshot(b, err);
        if (st != MFB_OK)
            journal_error(&b->jr, "snapshot", err);
        restart_server(b, err);
        if (st != MFB_OK) {
            spool_remove_tree(b->snap_dir, NULL);
            break;
        }
        st = archive_and_upload(b, RESTART_ALREADY, err);
        break;
    case CONFIG_RESTART_AFTER_ARCHIVE:
        st = archive_and_upload(b, RESTART_AFTER_ARCHIVE, err);
        break;
    default:
        st = archive_and_upload(b, RESTART_AFTER_UPLOAD, err);
    }
    /* Whatever happened, the server runs again (or the failure is known). */
    restart_server(b, err);

    /* 7. Complete: even when the server did not come back, a stored backup
     * is the way out. */
    if (b->chunks_done) {
        struct mfb_error ce = {0};
        st = complete_upload(b, &ce);
        if (st != MFB_OK) {
            journal_error(&b->jr, "finish", &ce);
            mfb_error_copy(err, &ce);
        }
    }

end:
    journal_defer(&b->jr, false);
    struct backup_outcome outcome = {
        .server = b->server, .sealed = b->sealed, .stored = b->stored, .cancelled = cancelled(b)};
    status = backup_phase_status(phase_now(b), &outcome);
    phase_move(b, BACKUP_PHASE_ENDING);
    if (status == JOB_STATUS_PENDING_UPLOAD) {
        struct mfb_error se = {0};
        if (sync_data_zip(b, &se) != MFB_OK) {
            /* Not kept durably: a resume could read a torn file. */
            journal_error(&b->jr, "upload", &se);
            status = JOB_STATUS_FAILED;
        } else {
            snprintf(res->data_zip, sizeof(res->data_zip), "%s", b->zip_path);
        }
    }
    bool lost = b->server == BACKUP_SERVER_LOST;
    if (lost && b->sealed && !b->stored)
        sync_data_zip(b, NULL); /* the recovery steps point at it */
    if (status != JOB_STATUS_PENDING_UPLOAD && !b->stored) {
        abandon_upload(b);
        if (b->job_dir[0] && !(lost && b->sealed))
            spool_remove_tree(b->job_dir, NULL);
    }
    if (lost) {
        build_recovery(b);
        res->server_down = true;
        /* The full steps go to the job log; the terminal gets them once,
         * from the command, and the alert channels from send_alert. */
        journal_event(&b->jr, JOB_LEVEL_ERROR, "start",
                      "the server did not start again: manual recovery needed");
        struct mfb_error e = {0};
        if (res->recovery)
            job_log_event(opt->db, b->jr.job.id, JOB_LEVEL_ERROR, "start", res->recovery, &e);
    }
    final_error(b, status, err);
    if (status != JOB_STATUS_OK && (b->jr.job.error == NULL || lost)) {
        free(b->jr.job.error);
        free(b->jr.job.hint);
        b->jr.job.error = strdup(err->message);
        b->jr.job.hint = err->hint[0] ? strdup(err->hint) : NULL;
        if (b->jr.job.backtrace == NULL)
            b->jr.job.backtrace = mfb_error_backtrace(err);
    }
    if (status != JOB_STATUS_OK)
        journal_system_state(&b->jr, b->inst.record.spool, b->inst.record.datadir);
    journal_end(&b->jr, status);
    b->jr.on_step = NULL;
    guardian_release(&b->guard); /* the job's own account is recorded */
    send_alert(b, status);
    st = status == JOB_STATUS_OK ? MFB_OK : (err->status ? err->status : MFB_ERR_INTERNAL);

done:
    guardian_release(&b->guard);
    bool recorded = phase_now(b) != BACKUP_PHASE_SETUP;
    if (!recorded) /* the configuration or the lock refused the job */
        status = backup_phase_status(BACKUP_PHASE_SETUP, &(struct backup_outcome){0});
    phase_move(b, BACKUP_PHASE_DONE);
    res->status = status;
    res->downtime_ms = b->jr.job.downtime_ms;
    if (b->stored) {
        set_text(res->backup_name, sizeof(res->backup_name), b->backup.name);
        snprintf(res->backup_id, sizeof(res->backup_id), "%s", b->backup.backup_id);
    }
    if (!recorded && st == MFB_OK)
        st = MFB_ERR_INTERNAL;
    job_lock_release(&b->lock);
    if (recorded)
        journal_free(&b->jr);
    json_decref(b->metadata);
    upload_state_free(&b->upload);
    transfer_conn_close(b->conn);
    transfer_peer_free(b->quick);
    mysql_conn_close(b->client);
    mysql_server_info_free(b->info);
    job_target_free(&b->tgt);
    job_instance_free(&b->inst);
    job_progress_destroy(&b->hub);
    chunk_record_free(&b->record);
    free(b);
    return st;
}

enum backup_phase backup_result_phase(const struct backup_result *res)
{
    return (enum backup_phase)atomic_load(&res->phase);
}

void backup_result_free(struct backup_result *res)
{
    free(res->recovery);
    res->recovery = NULL;
}
