/*
 * restore.c - the restore pipeline (see restore.h for the steps).
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

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "archive/extract.h"
#include "archive/manifest.h"
#include "archive/reader.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/restore/compat.h"
#include "job/restore/fetch.h"
#include "job/restore/ownership.h"
#include "job/restore/resume.h"
#include "job/restore/stage.h"
#include "job/restore/stream.h"
#include "job/restore/swap.h"
#include "job/spool.h"
#include "mysql/connection.h"
#include "mysql/control.h"
#include "mysql/discover.h"
#include "mysql/stopped.h"
#include "proto/proto.h"
#include "transfer/backup_list.h"

#define CONNECT_MS 10000           /* the first look at the server */
#define VERSION_MS 10000           /* `mariadbd --version` */
#define MANIFEST_MAX (1024u << 20) /* the manifest of a few million files */
#define DATADIR_MODE 0750
#define ENTRY_OVERHEAD 4096 /* bytes a file or directory may cost beyond its data */

struct root_state {
    const struct restore_root *plan;
    char place[PATH_MAX]; /* the directory replaced: dest, or where its link points */
    bool is_link;         /* dest is a symbolic link to place (staged restores) */
    char aside[PATH_MAX];
    char staging[PATH_MAX]; /* staged restores: its staging directory */
    bool staging_new;       /* the staging directory may hold (part of) the new tree */
    bool adopted;           /* staging is an interrupted run's, adopted from its record */
    uint64_t reused_bytes;  /* of the entries it holds already */
    char detail[256];       /* "209 entries, 2.4 GiB, owner ..., mode 0750" */
    struct stage_root sr;   /* the staged tree, as the swap journal has it */
    bool existed;           /* the destination was there before */
    mode_t old_mode;
    bool moved;   /* it is at aside now */
    bool touched; /* the restore created the destination */
    bool failed;  /* the restored files were moved to failed[] */
    char failed_dir[PATH_MAX];
};

struct run {
    const struct restore_options *o;
    const struct config_instance *inst;
    struct restore_result *res;
    struct job_journal jr;
    bool have_job;
    struct job_lock lock;
    struct archive_reader *reader;
    bool streaming; /* staged: reader is on the tail, the download runs behind it (stream.h) */
    struct manifest manifest;
    const json_t *metadata;
    struct restore_tops tops;
    struct restore_plan plan;
    struct root_state *roots;
    const struct mysql_method *method;
    const struct mysql_endpoint *ep;
    const char *target;   /* its name */
    const char *lock_dir; /* the instance lock's directory, also the swap journal's */
    const struct transfer_peer *client;
    struct mysql_server_info *info; /* when the server ran */
    bool was_running;
    struct ownership server_user; /* who the server ran as, when it ran */
    bool started;                 /* a start command ran after the stop */
    bool critical;                /* the way back failed: the swap journal stays */
    char journal[PATH_MAX];       /* the swap journal ("" in place or --to) */
    char stamp[48];
    uint64_t stop_begin_ms;
    const char *step; /* "preflight", "stop", "extract", "start": the job's
                         error_step when it fails (the first error wins) */
    /* the staging record (resume.h): staged restores only */
    char record[PATH_MAX + 64]; /* "" when there is none to keep */
    struct resume_writer writer;
    struct resume_record adopted; /* the interrupted run's, when adopted */
    bool *reuse;                  /* per archive entry: staged by it and unchanged */
    uint64_t reused_entries, reused_bytes;
};

/* ---- reporting ---- */

/* An event of the job log (and so of stderr's log), or only the log
 * before the job exists. step is a config_step name or NULL. */
static void job_event(struct run *r, enum job_level level, const char *step, const char *text)
{
    if (r->have_job)
        journal_event(&r->jr, level, step, "%s", text);
    else
        mfb_log(level == JOB_LEVEL_ERROR  ? MFB_LOG_ERROR
                : level == JOB_LEVEL_WARN ? MFB_LOG_WARN
                                          : MFB_LOG_INFO,
                "restore", "step=%s message=\"%s\"", step ? step : "-", text);
}

/* Replaces the hint (a cut-off is fine: the full text is logged too). */
static void set_hint(struct mfb_error *err, const char *text)
{
    snprintf(err->hint, sizeof(err->hint), "%.*s", (int)sizeof(err->hint) - 1, text);
    err->hint_is_generic = false;
}

/* One line for people, the log and the job log. */
__attribute__((format(printf, 3, 4))) static void say(struct run *r, const char *step,
                                                      const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    job_event(r, JOB_LEVEL_INFO, step, line);
    if (r->o->report)
        r->o->report(r->o->report_ctx, line);
}

static bool cancelled(const struct run *r)
{
    return cancel_token_requested(r->o->cancel);
}

static mfb_status cancel_error(struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_CANCELLED, "restore cancelled");
}

static uint64_t timeout(const struct run *r, enum config_timeout t)
{
    return r->inst->timeout_ms[t] ? r->inst->timeout_ms[t] : config_timeout_default(t);
}

/* ---- 1. the backup ---- */

static mfb_status find_backup(struct run *r, struct mfb_error *err)
{
    const struct restore_options *o = r->o;
    struct transfer_conn *conn = NULL;
    struct backup_list list = {0};
    mfb_status st = transfer_conn_open(r->client, o->cancel, &conn, err);
    if (st == MFB_OK)
        st = receiver_backup_list(conn, r->inst->name, &list, err);
    const struct backup_entry *e = st == MFB_OK ? backup_list_find(&list, o->backup) : NULL;
    if (e != NULL) {
        r->res->backup = e->info;
    } else if (st == MFB_OK && proto_id_valid(o->backup, 'b')) {
        /* an id of another instance's backup: cloning one server onto another */
        struct mfb_error local = {0};
        st = receiver_backup_get(conn, o->backup, &r->res->backup, &local);
        if (st != MFB_OK && local.status != MFB_ERR_NOT_FOUND)
            mysql_error_forward(err, &local);
    } else if (st == MFB_OK) {
        st = MFB_ERR_NOT_FOUND;
    }
    if (st == MFB_ERR_NOT_FOUND && !mfb_error_is_set(err)) {
        if (list.count == 0)
            mfb_error_set(err, st, "target '%s' holds no backup of instance '%s'", r->target,
                          r->inst->name);
        else
            mfb_error_set(err, st, "target '%s' holds no backup '%s' of instance '%s'", r->target,
                          o->backup, r->inst->name);
        mfb_error_hint(err,
                       "'mfb list %s --target %s' shows the backups there; give an id, a "
                       "name or 'latest'",
                       r->inst->name, r->target);
    }
    backup_list_free(&list);
    transfer_conn_close(conn);
    if (st == MFB_OK) {
        char size[32], hex[SHA256_HEX_LEN + 1];
        digest_to_hex(r->res->backup.sha256, hex);
        say(r, "preflight", "backup %s: %s, %s, sha256 %s", r->res->backup.backup_id,
            r->res->backup.name, format_size(r->res->backup.size, size, sizeof(size)), hex);
        snprintf(r->jr.job.backup_id, sizeof(r->jr.job.backup_id), "%s", r->res->backup.backup_id);
        snprintf(r->jr.job.backup_name, sizeof(r->jr.job.backup_name), "%.*s",
                 (int)sizeof(r->jr.job.backup_name) - 1, r->res->backup.name);
    }
    return st;
}

static mfb_status fetch_params(const struct run *r, struct restore_fetch *f, struct mfb_error *err)
{
    const struct restore_options *o = r->o;
    *f = (struct restore_fetch){.client = r->client,
                                .backup = &r->res->backup,
                                .spool = o->spool ? o->spool : r->inst->spool,
                                .cancel = o->cancel,
                                .observers = o->observers,
                                .observer_count = o->observer_count};
    if (f->spool == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "instance '%s' has no spool directory", r->inst->name);
        mfb_error_hint(err, "give one with --spool DIR");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

/* The line saying how the download went (after it, or after a staging
 * that ran behind it). */
static void say_downloaded(struct run *r, const struct restore_fetch_result *fr)
{
    const char *behind = r->streaming ? ", every entry extracted as it arrived" : "";
    if (fr->reused)
        say(r, "preflight", "using the earlier download %s (SHA-256 checked again)", fr->path);
    else if (fr->resumed_from > 0)
        say(r, "preflight", "downloaded %s (resumed at byte %" PRIu64 "); SHA-256 matches%s",
            fr->path, fr->resumed_from, behind);
    else
        say(r, "preflight", "downloaded %s; SHA-256 matches the receiver's%s", fr->path, behind);
}

/* A disk that filled up before the stop, in the spool (the download) or
 * beside a directory (its staging): nothing is lost and the same command
 * goes on once there is room (docs/restore.md, "A full disk"). A refusal
 * of the room counted beforehand keeps its own hint (the numbers). */
static void no_space_hint(struct mfb_error *err, const char *changed, bool spool,
                          const char *download)
{
    char hint[PATH_MAX + 1024]; /* set_hint keeps what fits */
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
    set_hint(err, hint);
}

static mfb_status fetch(struct run *r, struct mfb_error *err)
{
    struct restore_fetch f;
    if (fetch_params(r, &f, err) != MFB_OK)
        return MFB_ERR_USAGE;
    struct restore_fetch_result fr;
    mfb_status st = restore_fetch_run(&f, &fr, err);
    if (st != MFB_OK) {
        /* no file yet (at most its .part, which the hint names): none is "kept" */
        if (st == MFB_ERR_CANCELLED || st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT)
            mfb_error_hint(err,
                           "nothing was changed; '%s.part' is kept and the same command "
                           "continues the download",
                           fr.path);
        else if (st == MFB_ERR_NO_SPACE && fr.path[0] != '\0')
            no_space_hint(err, "nothing was changed", true, fr.path);
        return st;
    }
    snprintf(r->res->file, sizeof(r->res->file), "%s", fr.path);
    say_downloaded(r, &fr);
    return MFB_OK;
}

/* A staged restore whose backup is not in the spool yet reads the
 * archive's end first, and downloads the rest while it stages (stream.h);
 * any other restore downloads first. A receiver that cannot serve the end
 * alone (no Range) gets the whole download, as before. */
static mfb_status fetch_or_read_ahead(struct run *r, struct mfb_error *err)
{
    struct restore_fetch f;
    char done[PATH_MAX + 64];
    struct stat sb;
    if (r->o->to_dir != NULL || r->o->in_place)
        return fetch(r, err);
    if (fetch_params(r, &f, err) != MFB_OK)
        return MFB_ERR_USAGE;
    snprintf(done, sizeof(done), "%s/restore-%s.zip", f.spool, r->res->backup.backup_id);
    if (stat(done, &sb) == 0)
        return fetch(r, err); /* a complete earlier download: checked and used */
    struct mfb_error local = {0};
    mfb_status st = restore_stream_tail(&f, &r->reader, &local);
    if (st == MFB_ERR_UNSUPPORTED) {
        log_info("restore", "backup=%s note=download_before_staging reason=\"%s\"",
                 r->res->backup.backup_id, local.message);
        return fetch(r, err);
    }
    if (st != MFB_OK) {
        if (err)
            *err = local;
        if (err && err->hint[0] == '\0')
            mfb_error_hint(err, "nothing was changed; run the same command again");
        return st;
    }
    r->streaming = true;
    say(r, "preflight",
        "read the archive's directory from the receiver; its files are staged as the download "
        "brings them");
    return MFB_OK;
}

/* `mfb archive test`, then the manifest's metadata. A staged restore
 * tests only the structure here (the central directory, its CRC, the
 * manifest against it): its extraction checks every entry's CRC-32 and
 * sizes as it stages, before the server is stopped, so reading every
 * entry twice would only make it slower. */
static mfb_status verify_archive(struct run *r, struct mfb_error *err)
{
    struct mfb_error local = {0};
    struct archive_test_summary sum = {0};
    bool staged = r->o->to_dir == NULL && !r->o->in_place;
    mfb_status st = r->reader ? MFB_OK : archive_reader_open(r->res->file, &r->reader, &local);
    if (st == MFB_OK)
        st = staged ? archive_reader_test_structure(r->reader, &sum, &local)
                    : archive_reader_test(r->reader, &sum, &local);
    if (st != MFB_OK) {
        mfb_error_set(err, st, "backup %s failed its check: %s", r->res->backup.backup_id,
                      local.message);
        if (r->streaming)
            mfb_error_hint(err, "nothing was changed; the end of the archive the receiver sent is "
                                "damaged, so its stored copy most likely is ('sha256sum -c' its "
                                ".sha256 file there tells): restore another backup");
        else
            mfb_error_hint(err, "nothing was changed; the file matches the receiver's SHA-256, so "
                                "the stored backup itself is damaged: restore another one");
        return st;
    }
    size_t idx = archive_reader_manifest_index(r->reader);
    if (idx != SIZE_MAX) {
        char *text = NULL;
        size_t len = 0;
        st = archive_reader_read_alloc(r->reader, idx, MANIFEST_MAX, &text, &len, err);
        if (st == MFB_OK)
            st = manifest_parse(text, len, &r->manifest, err);
        free(text);
        if (st != MFB_OK)
            return st;
        json_t *meta = json_object_get(r->manifest.root, "metadata");
        r->metadata = json_is_object(meta) ? meta : NULL;
    }
    st = restore_tops_read(r->reader, &r->tops, err);
    if (st != MFB_OK)
        return st;
    char size[32];
    say(r, "preflight", "archive ok: %" PRIu64 " entries, %s, manifest %s%s", sum.entries,
        format_size(sum.bytes, size, sizeof(size)), sum.manifest_checked ? "checked" : "absent",
        staged ? "; every entry's CRC-32 is checked as it is staged" : "");
    return MFB_OK;
}

/* ---- 2. --to DIR ---- */

static void discard_unused_record(struct run *r, const char *why);

/* Before the download: DIR is new or empty. */
static mfb_status check_to_dir(const char *dir, struct mfb_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return MFB_OK;
    if (!S_ISDIR(sb.st_mode))
        return mfb_error_set(err, MFB_ERR_INVALID, "--to '%s' is not a directory", dir);
    if (!swap_dir_is_empty(dir)) {
        mfb_error_set(err, MFB_ERR_EXISTS, "--to '%s' is not empty", dir);
        mfb_error_hint(err, "give a new or empty directory; mfb never overwrites files");
        return MFB_ERR_EXISTS;
    }
    return MFB_OK;
}

static mfb_status extract_to(struct run *r, struct mfb_error *err)
{
    const char *dir = r->o->to_dir;
    discard_unused_record(r, "as this restore is --to a directory");
    mfb_status st = check_to_dir(dir, err); /* again: time has passed */
    if (st != MFB_OK)
        return st;
    uint64_t need = 0, dev = 0, avail = 0;
    for (size_t i = 0; i < r->tops.count; i++)
        need += r->tops.items[i].bytes + r->tops.items[i].entries * ENTRY_OVERHEAD;
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%s/x", dir);
    st = swap_free_space(probe, &dev, &avail, err);
    if (st == MFB_OK && need > avail) {
        char a[32], b[32];
        st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                           "not enough room in '%s': the backup needs %s, %s are free", dir,
                           format_size(need, a, sizeof(a)), format_size(avail, b, sizeof(b)));
    }
    struct archive_extract_summary sum = {0};
    struct archive_extract_options xo = {.threads = archive_extract_default_threads()};
    if (st == MFB_OK)
        st = archive_extract(r->reader, dir, &xo, &sum, err);
    if (st != MFB_OK)
        return st;
    r->res->entries = sum.entries;
    r->res->bytes = sum.bytes;
    char size[32];
    say(r, NULL, "extracted %" PRIu64 " entries (%s) into %s; the server was not touched",
        sum.entries, format_size(sum.bytes, size, sizeof(size)), dir);
    for (size_t i = 0; i < r->tops.count; i++)
        if (r->tops.items[i].is_dir)
            say(r, NULL, "  root %s -> %s/%s", r->tops.items[i].name, dir, r->tops.items[i].name);
    return MFB_OK;
}

/* ---- 3. checks while the server runs ---- */

static mfb_status make_plan(struct run *r, struct mfb_error *err)
{
    struct restore_plan_input in = {.metadata = r->metadata,
                                    .tops = &r->tops,
                                    .instance = r->inst->name,
                                    .instance_datadir = r->inst->datadir,
                                    .maps = r->o->maps,
                                    .map_count = r->o->map_count};
    mfb_status st = restore_plan_build(&in, &r->plan, err);
    if (st != MFB_OK)
        return st;
    r->roots = calloc(r->plan.count, sizeof(*r->roots));
    if (r->roots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < r->plan.count; i++) {
        r->roots[i].plan = &r->plan.roots[i];
        snprintf(r->roots[i].place, sizeof(r->roots[i].place), "%s", r->plan.roots[i].dest);
    }
    return MFB_OK;
}

/* Is the server up? If so, what is it and where are its pid file and socket. */
static mfb_status inspect_server(struct run *r, struct mfb_error *err)
{
    struct mysql_conn *c = NULL;
    struct mfb_error local = {0};
    mfb_status st = mysql_conn_connect(r->ep, CONNECT_MS, &c, &local);
    if (st == MFB_ERR_NETWORK) {
        r->was_running = false;
        say(r, "preflight", "the server of instance '%s' is not running (%s)", r->inst->name,
            local.message);
        return MFB_OK;
    }
    if (st != MFB_OK)
        return mysql_error_forward(err, &local);
    st = mysql_discover(c, &r->info, err);
    mysql_conn_close(c);
    if (st != MFB_OK)
        return st;
    r->was_running = true;
    pid_t pid = 0;
    if (r->info->pid_file != NULL && mysql_pid_file_read(r->info->pid_file, &pid, NULL) == MFB_OK)
        ownership_of_process(pid, &r->server_user);
    char *want = NULL;
    st = mysql_path_resolve(NULL, r->inst->datadir, &want, err);
    if (st == MFB_OK && strcmp(want, r->info->datadir) != 0) {
        st = mfb_error_set(err, MFB_ERR_INVALID,
                           "instance '%s' is configured with the data directory '%s', but its "
                           "server uses '%s'",
                           r->inst->name, r->inst->datadir, r->info->datadir);
        mfb_error_hint(err, "fix the configuration first: mfb instance set %s --datadir %s",
                       r->inst->name, r->info->datadir);
    }
    free(want);
    return st;
}

static mfb_status check_compat(struct run *r, struct mfb_error *err)
{
    struct server_identity backup, server;
    struct mfb_error local = {0};
    mfb_status st = compat_from_metadata(r->metadata, &backup, &local);
    if (st == MFB_OK) {
        if (r->was_running) {
            if (!compat_parse_version(r->info->version, &server))
                st = mfb_error_set(&local, MFB_ERR_PROTOCOL,
                                   "cannot read the server's version "
                                   "'%s'",
                                   r->info->version);
        } else {
            st = compat_installed(VERSION_MS, &server, &local);
        }
    }
    if (st == MFB_OK)
        st = compat_check(&backup, &server, r->inst->name, &local);
    if (st == MFB_OK) {
        char a[160], b[160];
        say(r, "preflight", "the backup was made by %s; the server is %s",
            compat_describe(&backup, a, sizeof(a)), compat_describe(&server, b, sizeof(b)));
        return MFB_OK;
    }
    if (r->o->force) {
        log_warn("restore", "compat=ignored reason=\"%s\"", local.message);
        job_event(r, JOB_LEVEL_WARN, "preflight", local.message);
        if (r->o->report) {
            char line[1400];
            snprintf(line, sizeof(line), "warning: %s; restoring anyway (--force)", local.message);
            r->o->report(r->o->report_ctx, line);
        }
        return MFB_OK;
    }
    mysql_error_forward(err, &local);
    if (st == MFB_ERR_NOT_FOUND)
        mfb_error_hint(err, "without them the backup cannot be checked against the server: pass "
                            "--force to restore it anyway, or extract it with --to DIR");
    return st;
}

/* ---- the staging record (resume.h) ---- */

static const char *spool_dir(const struct run *r)
{
    return r->o->spool ? r->o->spool : r->inst->spool;
}

/* "<spool>/restore-<id>.zip.staged"; false without a spool. */
static bool record_path(const struct run *r, char *out, size_t len)
{
    const char *spool = spool_dir(r);
    int n = spool ? snprintf(out, len, "%s/restore-%s.zip%s", spool, r->res->backup.backup_id,
                             RESUME_SUFFIX)
                  : -1;
    return n > 0 && (size_t)n < len;
}

/* Drops a record and the staging directories it names (only staging
 * directories: whatever a record says, nothing else is removed). */
static void discard_record(struct run *r, const char *path, const struct resume_record *rec,
                           const char *why)
{
    int removed = 0;
    for (size_t i = 0; rec != NULL && i < rec->head.root_count; i++) {
        const char *dir = rec->head.roots[i].staging;
        struct stat sb;
        struct mfb_error e = {0};
        const char *base = strrchr(dir, '/');
        /* ".<name>.mfb-staging-<tag>", a directory */
        if (base == NULL || base[1] != '.' || strstr(base, STAGE_SUFFIX) == NULL ||
            lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (spool_remove_tree(dir, &e) != MFB_OK)
            log_warn("restore", "staging=\"%s\" error=\"%s\"", dir, e.message);
        else
            removed++;
    }
    struct mfb_error e = {0};
    if (resume_record_remove(path, &e) != MFB_OK)
        log_warn("restore", "staging_record=\"%s\" error=\"%s\"", path, e.message);
    say(r, "preflight",
        "discarded the staging record of an interrupted restore, %s: %s (%d staging "
        "director%s removed)",
        why, path, removed, removed == 1 ? "y" : "ies");
}

/* The records of other backups of this instance: the run that left one
 * was interrupted, and this one restores something else (the lock says no
 * other restore of the instance runs). */
static void discard_other_records(struct run *r, const char *mine)
{
    const char *spool = spool_dir(r);
    DIR *d = spool ? opendir(spool) : NULL;
    if (d == NULL)
        return;
    const char *tail = ".zip" RESUME_SUFFIX;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), tl = strlen(tail);
        if (strncmp(de->d_name, "restore-", 8) != 0 || n <= tl + 8 ||
            strcmp(de->d_name + n - tl, tail) != 0)
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", spool, de->d_name);
        if (mine != NULL && strcmp(path, mine) == 0)
            continue;
        struct resume_record rec;
        struct mfb_error e = {0};
        mfb_status st = resume_record_read(path, &rec, &e);
        if (st == MFB_OK && strcmp(rec.head.instance, r->inst->name) != 0) {
            resume_record_free(&rec);
            continue;
        }
        char why[300];
        if (st == MFB_OK)
            snprintf(why, sizeof(why), "of backup %.200s (this restore is of another one)",
                     rec.head.backup_id);
        else
            snprintf(why, sizeof(why), "which cannot be read");
        discard_record(r, path, st == MFB_OK ? &rec : NULL, why);
        resume_record_free(&rec);
    }
    closedir(d);
}

/* --to and --in-place stage nothing: a record of this backup is of no use. */
static void discard_unused_record(struct run *r, const char *why)
{
    char path[PATH_MAX + 64];
    struct resume_record rec;
    struct mfb_error e = {0};
    if (!record_path(r, path, sizeof(path)))
        return;
    mfb_status st = resume_record_read(path, &rec, &e);
    if (st == MFB_ERR_NOT_FOUND)
        return;
    discard_record(r, path, st == MFB_OK ? &rec : NULL, why);
    resume_record_free(&rec);
}

/* The head this run writes (and compares a record with); strings point
 * into r, roots is allocated. */
static mfb_status make_head(struct run *r, struct resume_head *h, struct mfb_error *err)
{
    memset(h, 0, sizeof(*h));
    h->instance = (char *)r->inst->name;
    h->backup_id = r->res->backup.backup_id;
    digest_to_hex(r->res->backup.sha256, h->sha256);
    resume_directory_digest(r->reader, h->directory);
    h->roots = calloc(r->plan.count ? r->plan.count : 1, sizeof(*h->roots));
    if (h->roots == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    h->root_count = r->plan.count;
    for (size_t i = 0; i < r->plan.count; i++) {
        h->roots[i].name = (char *)r->roots[i].plan->name;
        h->roots[i].place = r->roots[i].place;
        h->roots[i].staging = r->roots[i].staging;
    }
    return MFB_OK;
}

/* The root an entry name is under, and its path in that root's staging. */
static struct root_state *entry_root(struct run *r, const char *name, char *path, size_t len)
{
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        size_t n = strlen(rs->plan->name);
        if (strncmp(name, rs->plan->name, n) != 0 || name[n] != '/' || name[n + 1] == '\0')
            continue;
        int k = snprintf(path, len, "%s/%s", rs->staging, name + n + 1);
        return k > 0 && (size_t)k < len ? rs : NULL;
    }
    return NULL;
}

/* Which recorded entries are still as the record says: those are reused,
 * the others extracted again (and named in the log). */
static void check_recorded(struct run *r, struct resume_record *rec)
{
    size_t count = archive_reader_count(r->reader), kept = 0, changed = 0;
    for (size_t i = 0; i < rec->count; i++) {
        struct resume_entry *re = &rec->entries[i];
        const struct archive_entry *e =
            re->index < count ? archive_reader_entry(r->reader, re->index) : NULL;
        char path[2 * PATH_MAX], why[256] = "it is not in the archive's directory as recorded";
        struct root_state *rs = NULL;
        bool ok = e != NULL && e->type == ARCHIVE_ENTRY_FILE && e->size == re->size &&
                  e->crc == re->crc && e->name_len == strlen(re->name) &&
                  memcmp(e->name, re->name, e->name_len) == 0 && !r->reuse[re->index] &&
                  (rs = entry_root(r, re->name, path, sizeof(path))) != NULL &&
                  resume_entry_unchanged(re, path, why, sizeof(why));
        if (!ok) {
            changed++;
            log_info("restore", "staged_entry=\"%s\" note=extracted_again reason=\"%s\"", re->name,
                     why);
            free(re->name);
            continue;
        }
        r->reuse[re->index] = true;
        rs->reused_bytes += re->size;
        rec->entries[kept++] = *re;
    }
    rec->count = kept;
    if (changed > 0)
        say(r, "preflight",
            "%zu entr%s staged by the interrupted restore changed since (or are gone): extracted "
            "again",
            changed, changed == 1 ? "y" : "ies");
}

/* Whether the record holds an entry of root. */
static bool recorded_under(const struct resume_record *rec, const char *root)
{
    size_t n = strlen(root);
    for (size_t i = 0; i < rec->count; i++)
        if (strncmp(rec->entries[i].name, root, n) == 0 && rec->entries[i].name[n] == '/')
            return true;
    return false;
}

/* A record of this backup, left by an interrupted staged restore to the
 * same places: its staging directories are adopted and the entries it
 * recorded, still unchanged, reused. Anything else is discarded, with its
 * staging. Never fails the restore: at worst everything is staged afresh. */
static mfb_status adopt_record(struct run *r, struct mfb_error *err)
{
    if (!record_path(r, r->record, sizeof(r->record))) {
        r->record[0] = '\0';
        return MFB_OK;
    }
    discard_other_records(r, r->record);
    struct resume_record rec;
    struct mfb_error e = {0};
    mfb_status st = resume_record_read(r->record, &rec, &e);
    if (st == MFB_ERR_NOT_FOUND)
        return MFB_OK;
    if (st != MFB_OK) {
        discard_record(r, r->record, NULL, "which cannot be read");
        return MFB_OK;
    }
    for (size_t i = 0; i < r->plan.count && st == MFB_OK; i++) {
        struct root_state *rs = &r->roots[i];
        st = stage_place(rs->plan->dest, rs->place, sizeof(rs->place), &rs->is_link, err);
    }
    struct resume_head want;
    if (st == MFB_OK)
        st = make_head(r, &want, err);
    if (st != MFB_OK) {
        resume_record_free(&rec);
        return st;
    }
    char why[2400];
    bool ok = resume_head_matches(&rec.head, &want, why, sizeof(why));
    free(want.roots);
    for (size_t i = 0; ok && i < rec.head.root_count; i++) {
        const char *dir = rec.head.roots[i].staging;
        char beside[PATH_MAX];
        struct stat sb;
        /* the one place a staging directory of this root may be */
        if (stage_dir_name(r->roots[i].place, "", beside, sizeof(beside), NULL) != MFB_OK ||
            strncmp(dir, beside, strlen(beside)) != 0 || strchr(dir + strlen(beside), '/')) {
            snprintf(why, sizeof(why), "its staging directory '%.1000s' is not beside '%.1000s'",
                     dir, r->roots[i].place);
            ok = false;
        } else if (lstat(dir, &sb) == 0 ? !S_ISDIR(sb.st_mode)
                                        : recorded_under(&rec, rec.head.roots[i].name)) {
            /* (a root the interrupted run had not begun has none yet) */
            snprintf(why, sizeof(why), "its staging directory '%.2000s' is gone", dir);
            ok = false;
        }
    }
    if (!ok) {
        char text[sizeof(why) + 16];
        snprintf(text, sizeof(text), "as %s", why);
        discard_record(r, r->record, &rec, text);
        resume_record_free(&rec);
        return MFB_OK;
    }
    r->reuse = calloc(archive_reader_count(r->reader) + 1, sizeof(*r->reuse));
    if (r->reuse == NULL) {
        resume_record_free(&rec);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        snprintf(rs->staging, sizeof(rs->staging), "%s", rec.head.roots[i].staging);
        rs->adopted = true;
    }
    check_recorded(r, &rec);
    uint64_t bytes = 0;
    for (size_t i = 0; i < rec.count; i++)
        bytes += rec.entries[i].size;
    char size[32];
    say(r, "preflight",
        "adopted the staging of an interrupted restore of this backup (%s%s): %zu entries (%s) "
        "it had staged and checked are unchanged and reused",
        r->roots[0].staging, r->plan.count > 1 ? ", ..." : "", rec.count,
        format_size(bytes, size, sizeof(size)));
    r->adopted = rec;
    return MFB_OK;
}

/* The record of this run's staging: written before anything is staged,
 * with the entries it reuses; a record that cannot be written only costs
 * the resume (logged). */
static void open_record(struct run *r)
{
    struct resume_head head;
    struct mfb_error e = {0};
    if (r->record[0] == '\0' || make_head(r, &head, &e) != MFB_OK)
        return;
    if (resume_writer_open(&r->writer, r->record, &head, r->adopted.entries, r->adopted.count,
                           &e) != MFB_OK)
        log_warn("restore", "staging_record=\"%s\" error=\"%s\" note=no_resume", r->record,
                 e.message);
    free(head.roots);
}

static void record_file(void *ctx, size_t index, const struct stat *sb)
{
    struct run *r = ctx;
    resume_writer_add(&r->writer, index, archive_reader_entry(r->reader, index), sb);
}

static void record_idle(void *ctx)
{
    resume_writer_flush(ctx);
}

/* Every destination can be moved aside and has room. A staged restore
 * swaps the directory a symbolic link points to (the link stays), and
 * needs the room beside each place (the staging directory is there). */
static mfb_status check_places(struct run *r, bool staged, struct mfb_error *err)
{
    mfb_status st = staged ? adopt_record(r, err) : MFB_OK;
    size_t n = r->plan.count;
    uint64_t *dev = calloc(n, sizeof(*dev)), *avail = calloc(n, sizeof(*avail));
    if (dev == NULL || avail == NULL)
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        struct root_state *rs = &r->roots[i];
        const char *dest = rs->plan->dest;
        char what[200];
        snprintf(what, sizeof(what), "root '%s'", rs->plan->name);
        struct swap_state state;
        if (staged) {
            st = stage_place(dest, rs->place, sizeof(rs->place), &rs->is_link, err);
            if (st == MFB_OK)
                dest = rs->place;
        }
        /* before the room is counted: what a killed staged restore left
         * takes room too, and is of no use (but the staging this run
         * adopted from its record) */
        int removed = 0;
        if (st == MFB_OK)
            st = stage_remove_stale(dest, rs->adopted ? rs->staging : NULL, &removed, err);
        if (removed > 0)
            say(r, "preflight",
                "removed %d staging director%s an interrupted restore left beside %s", removed,
                removed == 1 ? "y" : "ies", dest);
        if (st == MFB_OK)
            st =
                swap_sibling(dest, SWAP_BEFORE_SUFFIX, r->stamp, rs->aside, sizeof(rs->aside), err);
        if (st == MFB_OK)
            st = swap_check(dest, rs->aside, what, &state, err);
        char real[PATH_MAX], hint[4 * PATH_MAX + 200];
        struct stat lsb;
        if (st == MFB_ERR_UNSUPPORTED && lstat(dest, &lsb) == 0 && S_ISLNK(lsb.st_mode) &&
            realpath(dest, real) != NULL) {
            /* the exact option, for a DBA who has to type it */
            snprintf(hint, sizeof(hint),
                     "nothing was changed; '%s' points to '%s': restore into that directory "
                     "with --map %s=%s, and the link stays as it is",
                     dest, real, rs->plan->name, real);
            set_hint(err, hint);
        }
        if (st == MFB_OK && state.exists) {
            struct stat sb;
            rs->existed = true;
            rs->old_mode = stat(dest, &sb) == 0 ? (sb.st_mode & 07777) : DATADIR_MODE;
        }
        if (st == MFB_OK)
            st = swap_free_space(dest, &dev[i], &avail[i], err);
    }
    /* the old files stay where they are: the restored ones need room of their own */
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        uint64_t need = 0;
        for (size_t j = 0; j < n; j++)
            if (dev[j] == dev[i])
                need += r->plan.roots[j].bytes + r->plan.roots[j].entries * ENTRY_OVERHEAD -
                        r->roots[j].reused_bytes; /* staged already */
        if (need > avail[i]) {
            char a[32], b[32];
            format_size(need, a, sizeof(a));
            format_size(avail[i], b, sizeof(b));
            if (staged) {
                st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                                   "not enough room to stage root '%s' beside '%s': it needs "
                                   "%s, %s are free",
                                   r->plan.roots[i].name, r->roots[i].place, a, b);
                mfb_error_hint(err, "nothing was changed; free that much space, restore elsewhere "
                                    "with --map or --to, or use --in-place (the server stays down "
                                    "during the whole extraction, and needs the same room: the old "
                                    "files are kept either way)");
            } else {
                st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                                   "not enough room to restore root '%s' into '%s': it needs "
                                   "%s, %s are free",
                                   r->plan.roots[i].name, r->plan.roots[i].dest, a, b);
                mfb_error_hint(err, "nothing was changed; the old files are kept beside the new "
                                    "ones, so free that much space or restore elsewhere with "
                                    "--map or --to");
            }
        }
    }
    free(dev);
    free(avail);
    return st;
}

/* ---- 4. the stopped part ---- */

static mfb_status watch_init(struct run *r, struct mysql_stop_watch *w, struct mfb_error *err)
{
    const char *pid_file = r->info ? r->info->pid_file : NULL;
    const char *socket = r->info && r->info->socket ? r->info->socket : r->inst->socket;
    unsigned port = r->info ? r->info->port : r->inst->port;
    return mysql_stop_watch_init(w, pid_file, socket, r->inst->host, r->inst->host ? port : 0, err);
}

/* The configured stop, then the wait until the server is really gone. */
static mfb_status stop_now(struct run *r, const atomic_bool *cancel, uint64_t *waited_ms,
                           struct mfb_error *err)
{
    struct mysql_stop_watch watch;
    mfb_status st = watch_init(r, &watch, err);
    struct mysql_conn *c = NULL;
    uint64_t deadline = clock_now_ms() + timeout(r, CONFIG_TIMEOUT_STOP);
    if (st == MFB_OK && r->method->kind == MYSQL_METHOD_SHUTDOWN_SQL)
        st = mysql_conn_connect(r->ep, CONNECT_MS, &c, err);
    if (st == MFB_OK)
        st = mysql_control_stop(r->method, c, clock_left_ms(deadline), cancel, NULL, err);
    mysql_conn_close(c);
    if (st == MFB_OK)
        st = mysql_wait_stopped(&watch, clock_left_ms(deadline), cancel, waited_ms, err);
    return st;
}

static bool server_gone(struct run *r)
{
    struct mysql_stop_watch watch;
    if (watch_init(r, &watch, NULL) != MFB_OK)
        return false;
    struct mysql_server_presence p;
    mysql_server_presence(&watch, &p);
    return mysql_server_gone(&p);
}

static mfb_status stop_server(struct run *r, struct mfb_error *err)
{
    r->stop_begin_ms = clock_now_ms();
    if (!r->was_running)
        return MFB_OK;
    char method[300];
    mysql_method_str(r->method, method, sizeof(method));
    uint64_t begin = clock_now_ms();
    journal_step_begin(&r->jr, JOB_STEP_STOP, 0);
    /* Not cancelled: a stop once asked for goes on without mfb (a SHUTDOWN
     * sent, a systemd job queued), so giving up the wait would leave the
     * server going down while mfb reports it running. A cancel is seen
     * after it, and the way back starts the server again. */
    mfb_status st = stop_now(r, NULL, NULL, err);
    journal_step_end(&r->jr, JOB_STEP_STOP);
    r->res->stopped = true;
    if (st == MFB_OK) {
        char took[32];
        say(r, "stop", "stopped the server (%s) in %s", method,
            format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));
    }
    return st;
}

static mfb_status move_aside(struct run *r, struct mfb_error *err)
{
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        if (cancelled(r))
            return cancel_error(err);
        if (!rs->existed)
            continue;
        mfb_status st = swap_move(rs->place, rs->aside, err);
        if (st != MFB_OK)
            return st;
        rs->moved = true;
        say(r, NULL, "moved %s aside to %s", rs->place, rs->aside);
    }
    return MFB_OK;
}

/* tests: "extract:ROOT" */
static bool fault_at(const struct run *r, const char *root)
{
    const char *f = r->o->fault;
    return f != NULL && strncmp(f, "extract:", 8) == 0 && strcmp(f + 8, root) == 0;
}

/* The test-only pause (JOURNAL_TEST_PAUSE_ENV, docs/testing.md) at the
 * staged restore's own points: "staging" once the first root is staged
 * (the server still runs), "swap" once the first root is swapped (the
 * server is down, the roots a mix). The restore stays there until killed. */
static void test_pause(const struct run *r, const char *point)
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

/* Extracts every root: into its place (in place, the server stopped and
 * the old directory moved aside), or into its staging directory (staged,
 * the server running and the old directory still in place). */
static mfb_status extract_roots(struct run *r, bool staged, struct mfb_error *err)
{
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        const struct restore_root *p = rs->plan;
        const char *dir = staged ? rs->staging : rs->place;
        if (cancelled(r))
            return cancel_error(err);
        if (!staged)
            rs->touched = true;
        /* the old tree: still in place while staging, aside in place */
        const char *old = staged ? (rs->existed ? rs->place : NULL) : rs->moved ? rs->aside : NULL;
        struct ownership own;
        ownership_decide(OWNERSHIP_USER, &r->server_user, old, &own);
        /* each file gets its owner as it is written (a staged file is then
         * not changed again: its record stays true, resume.h); the
         * walk below finds only the directories the archive does not list */
        struct archive_extract_options xo = {.prefix = p->name,
                                             .threads = archive_extract_default_threads(),
                                             .has_owner = own.set,
                                             .uid = own.uid,
                                             .gid = own.gid};
        if (staged) {
            xo.reuse = r->reuse;
            xo.replace = rs->adopted;
            xo.on_file = r->writer.open ? record_file : NULL;
            xo.on_file_ctx = r;
        }
        struct archive_extract_summary sum = {0};
        mfb_status st;
        if (fault_at(r, p->name)) {
            mkdir(dir, 0700);
            st = mfb_error_set(err, MFB_ERR_IO, "root '%s': injected extraction failure", p->name);
        } else {
            st = archive_extract(r->reader, dir, &xo, &sum, err);
        }
        if (staged)
            resume_writer_flush(&r->writer); /* what is staged so far, even on a failure */
        mode_t mode = strcmp(p->name, RESTORE_DATADIR_ROOT) == 0 ? DATADIR_MODE
                      : rs->existed                              ? rs->old_mode
                      : p->has_mode                              ? (mode_t)p->mode
                                                                 : DATADIR_MODE;
        if (st == MFB_OK)
            st = ownership_apply(dir, &own, mode, err);
        if (st != MFB_OK)
            return st;
        r->res->entries += sum.entries;
        r->res->bytes += sum.bytes;
        r->reused_entries += sum.reused_entries;
        r->reused_bytes += sum.reused_bytes;
        char size[32];
        snprintf(rs->detail, sizeof(rs->detail), "%" PRIu64 " entries, %s, owner %s, mode %04o",
                 sum.entries, format_size(sum.bytes, size, sizeof(size)),
                 own.set ? own.why : "as archived", (unsigned)mode);
        say(r, NULL, "%s root %s %s %s: %s", staged ? "staged" : "restored", p->name,
            staged ? "in" : "into", dir, rs->detail);
        if (staged)
            test_pause(r, "staging");
    }
    return MFB_OK;
}

/* The staging with the download running ahead of it (stream.h): every
 * entry's CRC-32 as it is staged, then the download's SHA-256 and the
 * finished file's directory, all before the stop. */
static mfb_status stage_while_downloading(struct run *r, struct mfb_error *err)
{
    struct restore_fetch f;
    struct restore_stream s;
    struct restore_fetch_result fr;
    mfb_status st = fetch_params(r, &f, err);
    if (st == MFB_OK)
        st = restore_stream_begin(&s, &f, r->reader, err);
    if (st != MFB_OK)
        return st;
    /* an extraction thread waiting on the download records what is staged */
    s.idle = r->writer.open ? record_idle : NULL;
    s.idle_ctx = &r->writer;
    mfb_status xst = extract_roots(r, true, err);
    st = restore_stream_end(&s, xst, r->reader, &fr, err);
    if (st == MFB_OK) {
        snprintf(r->res->file, sizeof(r->res->file), "%s", fr.path);
        say_downloaded(r, &fr);
        return MFB_OK;
    }
    if (st == MFB_ERR_NO_SPACE)
        no_space_hint(err, "nothing was changed, the server still runs", s.download_failed,
                      fr.path);
    else if (st == MFB_ERR_CORRUPT && !s.download_failed)
        set_hint(err, "nothing was changed, the server still runs; the receiver sent damaged "
                      "data (the partial download was removed), so its stored copy most likely "
                      "is damaged ('sha256sum -c' its .sha256 file there tells): restore another "
                      "backup");
    else if (s.download_failed && err->hint[0] != '\0' && st != MFB_ERR_CANCELLED &&
             st != MFB_ERR_NETWORK && st != MFB_ERR_TIMEOUT) {
        char hint[sizeof(err->hint)];
        snprintf(hint, sizeof(hint), "nothing was changed, the server still runs; %.*s",
                 (int)sizeof(hint) - 64, err->hint);
        set_hint(err, hint);
    } else if (st == MFB_ERR_CANCELLED || st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT)
        mfb_error_hint(err,
                       "nothing was changed, the server still runs; '%s.part' is kept and the "
                       "same command continues the download",
                       fr.path);
    else if (err->hint[0] == '\0')
        mfb_error_hint(err, "nothing was changed; the server still runs");
    return st;
}

/* Start, then SELECT 1 until it answers. Never cancelled. */
static mfb_status start_server(struct run *r, const char *step, struct mfb_error *err)
{
    uint64_t begin = clock_now_ms();
    r->started = true;
    journal_step_begin(&r->jr, JOB_STEP_START, 0);
    mfb_status st = mysql_control_start(r->method, timeout(r, CONFIG_TIMEOUT_START), NULL, err);
    journal_step_end(&r->jr, JOB_STEP_START);
    struct mysql_ping_result ping = {0};
    if (st == MFB_OK) {
        journal_step_begin(&r->jr, JOB_STEP_VERIFY, 0);
        st = mysql_conn_ping_until(r->ep, timeout(r, CONFIG_TIMEOUT_VERIFY), 0, NULL, &ping, err);
        journal_step_end(&r->jr, JOB_STEP_VERIFY);
    }
    if (st == MFB_OK) {
        char took[32];
        say(r, step, "started the server; it answers (after %s)",
            format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));
        r->res->server_answers = true;
    }
    return st;
}

/* ---- 5. the way back ---- */

/* The server's error log as a path ("" when it logs elsewhere). */
static void error_log_path(const struct run *r, char *out, size_t len)
{
    const char *log = r->info ? mysql_rows_lookup(r->info->variables, "log_error") : NULL;
    out[0] = '\0';
    if (log == NULL || log[0] == '\0' || strcmp(log, "stderr") == 0)
        return;
    if (log[0] == '/')
        snprintf(out, len, "%s", log);
    else /* relative to the datadir, as the server resolves it */
        snprintf(out, len, "%s/%s", r->info->datadir,
                 log[0] == '.' && log[1] == '/' ? log + 2 : log);
}

/* The way back failed: what is where, and the commands that finish it. */
static void critical(struct run *r, struct mfb_error *err, const char *what)
{
    char text[8 * PATH_MAX + 1600];
    size_t len =
        (size_t)snprintf(text, sizeof(text), "CRITICAL: %.*s. Recover by hand:", 1000, what);
    bool moves = false;
    for (size_t i = 0; i < r->plan.count && len < sizeof(text); i++) {
        const struct root_state *rs = &r->roots[i];
        if (!rs->moved)
            continue;
        struct stat sb;
        char failed[PATH_MAX];
        if (!moves)
            len += (size_t)snprintf(text + len, sizeof(text) - len, " stop the server");
        moves = true;
        if (len < sizeof(text) && lstat(rs->place, &sb) == 0 &&
            swap_sibling(rs->place, SWAP_FAILED_SUFFIX, r->stamp, failed, sizeof(failed), NULL) ==
                MFB_OK)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "; mv '%.*s' '%.*s'",
                                    PATH_MAX / 2, rs->place, PATH_MAX / 2, failed);
        if (len < sizeof(text))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "; mv '%.*s' '%.*s'",
                                    PATH_MAX / 2, rs->aside, PATH_MAX / 2, rs->place);
    }
    char log[PATH_MAX];
    error_log_path(r, log, sizeof(log));
    if (len < sizeof(text))
        snprintf(text + len, sizeof(text) - len, "%sstart the server and read its error log%s%s",
                 moves ? "; " : " ", log[0] ? " " : "", log);
    set_hint(err, text);
    r->critical = true;
    log_error("restore", "critical=\"%s\"", text);
    job_event(r, JOB_LEVEL_ERROR, NULL, text);
}

static void roll_back(struct run *r, struct mfb_error *err)
{
    struct mfb_error e = {0};
    bool tried_restored = r->started; /* a server was started on the restored files */
    r->res->rolled_back = true;
    bool changed = false;
    for (size_t i = 0; i < r->plan.count; i++)
        changed |= r->roots[i].moved || r->roots[i].touched;
    say(r, NULL, "restore failed (%s); %s", err->message,
        changed          ? "putting the old directories back"
        : r->was_running ? "starting the server again"
                         : "the server was not running and stays stopped");
    if (tried_restored) {
        /* a server on the restored files may run, or half run: it must go first */
        if (!server_gone(r) && stop_now(r, NULL, NULL, &e) != MFB_OK && !server_gone(r)) {
            critical(r, err,
                     "a server started on the restored files would not stop, so the old "
                     "directories were not put back");
            return;
        }
    }
    for (size_t i = r->plan.count; i-- > 0;) {
        struct root_state *rs = &r->roots[i];
        struct stat sb;
        if (rs->touched && lstat(rs->place, &sb) == 0) {
            if (swap_sibling(rs->place, SWAP_FAILED_SUFFIX, r->stamp, rs->failed_dir,
                             sizeof(rs->failed_dir), &e) != MFB_OK ||
                swap_move(rs->place, rs->failed_dir, &e) != MFB_OK) {
                critical(r, err, e.message);
                return;
            }
            rs->failed = true;
            say(r, NULL, "moved the partly restored %s to %s", rs->place, rs->failed_dir);
        }
        if (rs->moved) {
            if (swap_move(rs->aside, rs->place, &e) != MFB_OK) {
                critical(r, err, e.message);
                return;
            }
            rs->moved = false;
            say(r, NULL, "put %s back", rs->place);
        }
    }
    /* the server as it was: one that was down before the restore stays
     * down (its old files may be why it is restored) */
    if (r->was_running && start_server(r, "restore", &e) != MFB_OK) {
        char why[1200];
        snprintf(why, sizeof(why),
                 "the old directories are back in place, but the server did not start: %s",
                 e.message);
        critical(r, err, why);
        return;
    }
    char hint[sizeof(err->hint) + 2 * PATH_MAX];
    const char *what = changed ? "the old directories were put back" : "nothing was changed";
    const char *server = r->was_running ? " and the server answers"
                                        : "; the server was not running before the restore, so "
                                          "it was left stopped";
    size_t len = (size_t)snprintf(hint, sizeof(hint), "%s%s", what, server);
    for (size_t i = 0; i < r->plan.count && len < sizeof(hint); i++)
        if (r->roots[i].failed)
            len +=
                (size_t)snprintf(hint + len, sizeof(hint) - len, "; the restored files are in %.*s",
                                 PATH_MAX / 2, r->roots[i].failed_dir);
    char log[PATH_MAX];
    error_log_path(r, log, sizeof(log));
    if (len < sizeof(hint) && tried_restored && log[0] != '\0')
        len += (size_t)snprintf(hint + len, sizeof(hint) - len,
                                "; the server's error log %.*s says why they would not start",
                                PATH_MAX / 2, log);
    else if (len < sizeof(hint) && err->hint[0])
        snprintf(hint + len, sizeof(hint) - len, "; %s", err->hint);
    set_hint(err, hint);
}

/* ---- the job ---- */

static void record_moved(struct run *r)
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

/* ---- 6. the staged restore ---- */

/* A swap a killed restore left is put right before anything else
 * (stage.h): the server then runs, or can run, on one consistent set. */
static mfb_status recover_swap(struct run *r, struct mfb_error *err)
{
    mfb_status st =
        stage_journal_path(r->lock_dir, r->inst->name, r->journal, sizeof(r->journal), err);
    enum stage_recovery what = STAGE_RECOVERY_NONE;
    char detail[2048];
    if (st == MFB_OK)
        st = stage_recover(r->journal, !r->was_running, r->stamp, &what, detail, sizeof(detail),
                           err);
    if (st != MFB_OK)
        return st;
    if (what == STAGE_RECOVERY_FINISHED)
        say(r, "preflight",
            "an interrupted restore had swapped every root; its swap was finished: %s", detail);
    else if (what == STAGE_RECOVERY_UNDONE)
        say(r, "preflight",
            "an interrupted restore had swapped only part of the roots; the old directories "
            "are back: %s",
            detail);
    return MFB_OK;
}

/* Each root's staging directory (check_places removed the stale ones). */
static mfb_status name_staging(struct run *r, struct mfb_error *err)
{
    char tag[32];
    if (r->have_job)
        snprintf(tag, sizeof(tag), "%" PRId64, r->jr.job.id);
    else
        snprintf(tag, sizeof(tag), "%s", r->stamp);
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        if (rs->adopted) { /* named by the run that began it */
            rs->staging_new = true;
            continue;
        }
        mfb_status st = stage_dir_name(rs->place, tag, rs->staging, sizeof(rs->staging), err);
        if (st != MFB_OK)
            return st;
        rs->staging_new = true;
    }
    return MFB_OK;
}

/* Removes what is left of the staged trees (never an old tree), and the
 * record of them. */
static void remove_staging(struct run *r)
{
    struct mfb_error re = {0};
    resume_writer_close(&r->writer);
    if (r->record[0] != '\0' && resume_record_remove(r->record, &re) != MFB_OK)
        log_warn("restore", "staging_record=\"%s\" error=\"%s\"", r->record, re.message);
    for (size_t i = 0; r->roots != NULL && i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        struct mfb_error e = {0};
        if (!rs->staging_new || rs->staging[0] == '\0')
            continue;
        if (spool_remove_tree(rs->staging, &e) != MFB_OK)
            log_warn("restore", "staging=\"%s\" error=\"%s\"", rs->staging, e.message);
        rs->staging_new = false;
    }
}

/* The swap journal first, then each root swapped in (stage.h). */
static mfb_status swap_roots(struct run *r, struct mfb_error *err)
{
    size_t n = r->plan.count;
    struct stage_root *all = calloc(n ? n : 1, sizeof(*all));
    if (all == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status st = MFB_OK;
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        struct root_state *rs = &r->roots[i];
        struct stage_root *sr = &rs->sr;
        struct stat sb;
        if (lstat(rs->staging, &sb) != 0) {
            st = mfb_error_errno(err, errno, MFB_ERR_IO, "root '%s': the staged tree '%s' is gone",
                                 rs->plan->name, rs->staging);
            break;
        }
        snprintf(sr->place, sizeof(sr->place), "%s", rs->place);
        snprintf(sr->staging, sizeof(sr->staging), "%s", rs->staging);
        snprintf(sr->aside, sizeof(sr->aside), "%s", rs->aside);
        sr->existed = rs->existed;
        sr->staged_dev = (uint64_t)sb.st_dev;
        sr->staged_ino = (uint64_t)sb.st_ino;
        all[i] = *sr;
    }
    if (st == MFB_OK)
        st = stage_journal_write(r->journal, r->jr.job.id, all, n, err);
    free(all);
    /* the staged trees are the swap journal's now: no run adopts them again */
    struct mfb_error re = {0};
    if (st == MFB_OK && r->record[0] != '\0' && resume_record_remove(r->record, &re) != MFB_OK)
        log_warn("restore", "staging_record=\"%s\" error=\"%s\"", r->record, re.message);
    for (size_t i = 0; i < n && st == MFB_OK; i++) {
        struct root_state *rs = &r->roots[i];
        if (cancelled(r))
            return cancel_error(err);
        bool in_place = false, aside = false, old_at_staging = false;
        st = stage_swap(&rs->sr, &in_place, &aside, &old_at_staging, err);
        if (in_place) {
            rs->touched = true;
            rs->staging_new = false;
        }
        if (aside)
            rs->moved = true;
        if (old_at_staging) { /* the way back finds the old tree there */
            rs->moved = true;
            snprintf(rs->aside, sizeof(rs->aside), "%s", rs->staging);
        }
        if (st != MFB_OK)
            return st;
        if (rs->existed)
            say(r, NULL, "moved %s aside to %s", rs->place, rs->aside);
        if (rs->is_link)
            say(r, NULL, "restored root %s into %s: %s (the link %s stays)", rs->plan->name,
                rs->place, rs->detail, rs->plan->dest);
        else
            say(r, NULL, "restored root %s into %s: %s", rs->plan->name, rs->place, rs->detail);
        test_pause(r, "swap");
    }
    return st;
}

/* Stops the server (the same way in both methods); MFB_OK to go on. */
static mfb_status stop_for_restore(struct run *r, struct mfb_error *err)
{
    journal_step_end(&r->jr, JOB_STEP_PREFLIGHT);
    r->step = "stop";
    mfb_status st = stop_server(r, err);
    if (st != MFB_OK) {
        if (!server_gone(r)) {
            mfb_error_hint(err, "nothing was changed; the server still ran when mfb gave up "
                                "the stop (if it goes down after all, start it again)");
            return st;
        }
        roll_back(r, err); /* nothing moved yet: this starts the server again */
    }
    return st;
}

/* From the files in place to a server that answers; the way back on failure. */
static mfb_status start_or_roll_back(struct run *r, mfb_status st, struct mfb_error *err)
{
    if (st == MFB_OK && cancelled(r)) /* the last chance: from here on it is done */
        st = cancel_error(err);
    if (st == MFB_OK) {
        r->step = "start";
        st = start_server(r, "start", err);
        if (st == MFB_OK && cancelled(r))
            say(r, NULL,
                "the cancel came once the files were in place and the server was "
                "starting: the restore was finished instead");
    }
    if (st != MFB_OK) {
        roll_back(r, err);
        return st;
    }
    r->res->downtime_ms = (int64_t)(clock_now_ms() - r->stop_begin_ms);
    r->jr.job.downtime_ms = r->res->stopped ? r->res->downtime_ms : -1;
    record_moved(r);
    return MFB_OK;
}

/* An interruption that leaves the download to be continued (a download
 * error, Ctrl-C or SIGTERM) keeps the staging and its record for the next
 * run; a damaged entry, a SHA-256 or directory mismatch, or any other
 * failure drops them. */
static bool keep_staging(const struct run *r, mfb_status st)
{
    return r->record[0] != '\0' && r->writer.path[0] != '\0' && !r->writer.broken &&
           (st == MFB_ERR_CANCELLED || st == MFB_ERR_NETWORK || st == MFB_ERR_TIMEOUT);
}

/* The restore into the instance's own directories: staged (the default) or
 * --in-place; both share the checks, the stop, the start and the way back. */
static mfb_status restore_into_instance(struct run *r, struct mfb_error *err)
{
    bool staged = !r->o->in_place;
    mfb_status st = make_plan(r, err);
    if (st == MFB_OK)
        st = inspect_server(r, err);
    if (st == MFB_OK)
        st = recover_swap(r, err);
    if (st == MFB_OK)
        st = check_compat(r, err);
    if (st == MFB_OK)
        st = check_places(r, staged, err);
    if (st == MFB_OK && staged)
        st = name_staging(r, err);
    if (st == MFB_OK && !staged)
        discard_unused_record(r, "as this restore is --in-place");
    if (st == MFB_OK && cancelled(r))
        st = cancel_error(err);
    if (st == MFB_OK && staged) {
        /* the whole extraction while the server still runs */
        r->step = "extract";
        uint64_t begin = clock_now_ms();
        open_record(r);
        st = r->streaming ? stage_while_downloading(r, err) : extract_roots(r, true, err);
        if (st == MFB_OK && cancelled(r))
            st = cancel_error(err);
        resume_writer_close(&r->writer);
        if (st != MFB_OK && keep_staging(r, st)) {
            say(r, NULL,
                "the staged entries are kept for the next run (recorded in %s); the same "
                "command reuses them",
                r->record);
            if (err->hint[0] == '\0') /* (a streamed one's says the .part is kept) */
                mfb_error_hint(err, "nothing was changed, the server still runs; the staged files "
                                    "are kept and the same command reuses them");
            return st;
        } else if (st != MFB_OK) {
            remove_staging(r);
            /* (stage_while_downloading gave its own hints: what arrived
             * damaged, or the download's error) */
            if (!r->streaming && st == MFB_ERR_CORRUPT)
                set_hint(err, "nothing was changed, the server still runs; the file matches the "
                              "receiver's SHA-256, so the stored backup itself is damaged: "
                              "restore another one");
            else if (!r->streaming && st == MFB_ERR_NO_SPACE)
                no_space_hint(err, "nothing was changed, the server still runs", false,
                              r->res->file);
            else if (err->hint[0] == '\0')
                mfb_error_hint(err, "nothing was changed; the server still runs");
            return st;
        }
        char took[32], size[32];
        if (r->reused_entries > 0)
            say(r, NULL,
                "staged %" PRIu64 " entries in %s while the server ran; %" PRIu64
                " of them (%s) reused from the interrupted restore",
                r->res->entries, format_duration_ms(clock_now_ms() - begin, took, sizeof(took)),
                r->reused_entries, format_size(r->reused_bytes, size, sizeof(size)));
        else
            say(r, NULL, "staged %" PRIu64 " entries in %s while the server ran", r->res->entries,
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
    st = stop_for_restore(r, err);
    if (st != MFB_OK) {
        remove_staging(r);
        return st;
    }
    r->step = "extract";
    if (staged) {
        st = swap_roots(r, err);
    } else {
        st = move_aside(r, err);
        if (st == MFB_OK)
            st = extract_roots(r, false, err);
    }
    st = start_or_roll_back(r, st, err);
    remove_staging(r);
    struct mfb_error e = {0};
    if (staged && !r->critical && stage_journal_remove(r->journal, &e) != MFB_OK)
        log_warn("restore", "journal=\"%s\" error=\"%s\"", r->journal, e.message);
    return st;
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

static void finish_job(struct run *r, mfb_status st, const struct mfb_error *err)
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
        job_event(&r, JOB_LEVEL_INFO, NULL,
                  o->to_dir ? "restore into a directory" : "restore in place");
    }
    if (st == MFB_OK && o->to_dir)
        st = check_to_dir(o->to_dir, e);
    if (st == MFB_OK)
        st = find_backup(&r, e);
    if (st == MFB_OK)
        st = fetch_or_read_ahead(&r, e);
    if (st == MFB_OK)
        st = verify_archive(&r, e);
    if (st == MFB_OK && cancelled(&r)) {
        st = cancel_error(e);
        mfb_error_hint(e, "nothing was changed");
    }
    if (st == MFB_OK)
        st = o->to_dir ? (r.step = "extract", extract_to(&r, e)) : restore_into_instance(&r, e);

    /* the download goes once it served; a failed restore keeps it for the retry */
    result->file_kept = result->file[0] != '\0' && (st != MFB_OK || o->keep_download);
    if (st == MFB_OK && !o->keep_download && result->file[0] != '\0' && unlink(result->file) != 0)
        log_warn("restore", "file=\"%s\" error=\"cannot remove: %s\"", result->file,
                 strerror(errno));
    journal_step_end(&r.jr, JOB_STEP_PREFLIGHT); /* --to, or a refusal */
    finish_job(&r, st, e);
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
