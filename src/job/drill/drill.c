/*
 * drill.c - the restore drill's steps (see drill.h and docs/drill.md).
 *
 * Design notes:
 * - Two kinds of failure are kept apart, because they call for different
 *   people: a backup found not restorable (the archive fails its test, the
 *   server will not start on it, a table fails CHECK TABLE, a table or
 *   database is missing) is the verdict "failed", told to the receiver and
 *   raised as a critical alert; a drill that could not decide (the
 *   receiver is down, no server program of the right release, cancelled)
 *   proves nothing about the backup and is an error alert only.
 * - The scratch copy is made safe before the server sees it: every path
 *   of the backup's manifest that pointed outside the datadir (redo log,
 *   undo, Aria log, tablespaces with DATA DIRECTORY through their .isl
 *   files or symbolic links) is remapped into the scratch directory. A path that cannot be
 *   remapped stops the drill: the throwaway server must never open a file
 *   of the real one.
 * - Cleanup is one path whatever happened: stop (or kill) the throwaway
 *   server, remove the scratch directory and the download.
 */
#include "job/drill/drill.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert/alert.h"
#include "archive/extract.h"
#include "archive/manifest.h"
#include "archive/reader.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/drill/remap.h"
#include "job/drill/scratch.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/restore/compat.h"
#include "job/restore/fetch.h"
#include "job/restore/swap.h"
#include "mysql/command.h"
#include "mysql/connection.h"

#define CONNECT_MS 10000
#define VERSION_MS 10000
#define QUERY_MS (6ull * 3600 * 1000) /* CHECK TABLE of a large table takes long */
#define STOP_MS 120000
#define FAILURES_SHOWN 20
#define ENTRY_OVERHEAD 4096 /* bytes a file or directory may cost beyond its data */
/* What the throwaway server writes beside the files as it starts and
 * checks: InnoDB's temporary tablespace (ibtmp1, 12 MiB), its error log,
 * Aria's log, CHECK TABLE's temporary files */
#define SERVER_HEADROOM (32u << 20)

struct run {
    const struct drill_options *o;
    const struct config_instance *inst;
    struct drill_result *res;
    struct job_journal jr;
    bool have_job;
    struct job_lock lock;
    struct scratch scratch;
    char download[PATH_MAX];
    struct archive_reader *reader;
    struct manifest manifest;
    const json_t *metadata;
    char bin[PATH_MAX];
    struct server_identity server;
    const char *step;
    char scratch_dir[PATH_MAX];
    char first_failure[2048]; /* the first table that failed, with the server's message */
    uint64_t failures;        /* tables and counts */
};

/* ---- reporting ---- */

__attribute__((format(printf, 4, 5))) static void say_level(struct run *r, enum job_level level,
                                                            const char *step, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (r->have_job)
        journal_event(&r->jr, level, step, "%s", line);
    else
        mfb_log(journal_log_level(level), "drill", "message=%s", LOG_Q(line));
    if (r->o->report)
        r->o->report(r->o->report_ctx, line);
}

#define say(r, step, ...) say_level((r), JOB_LEVEL_INFO, (step), __VA_ARGS__)

const char *drill_verdict_str(enum drill_verdict v)
{
    return v == DRILL_PASSED ? "passed" : v == DRILL_FAILED ? "failed" : "undecided";
}

static uint64_t timeout(const struct run *r, enum config_timeout t)
{
    return r->inst->timeout_ms[t] ? r->inst->timeout_ms[t] : config_timeout_default(t);
}

static bool cancelled(const struct run *r)
{
    return cancel_token_requested(r->o->cancel);
}

/* ---- 1. preflight ---- */

static mfb_status find_backup(struct run *r, struct mfb_error *err)
{
    const struct drill_options *o = r->o;
    const char *target = o->target->record.name;
    size_t listed = 0;
    mfb_status st = restore_fetch_find(o->target->client, o->cancel, r->inst->name, o->backup,
                                       &r->res->backup, &listed, err, err);
    if (st == MFB_ERR_NOT_FOUND && !mfb_error_is_set(err)) {
        if (listed == 0)
            mfb_error_set(err, st, "target '%s' holds no backup of instance '%s'", target,
                          r->inst->name);
        else
            mfb_error_set(err, st, "target '%s' holds no backup '%s' of instance '%s'", target,
                          o->backup, r->inst->name);
        mfb_error_hint(err, "'mfb list %s --target %s' shows the backups there", r->inst->name,
                       target);
    }
    if (st != MFB_OK)
        return st;
    char size[32];
    say(r, "preflight", "backup %s: %s, %s", r->res->backup.backup_id, r->res->backup.name,
        format_size(r->res->backup.size, size, sizeof(size)));
    snprintf(r->jr.job.backup_id, sizeof(r->jr.job.backup_id), "%s", r->res->backup.backup_id);
    snprintf(r->jr.job.backup_name, sizeof(r->jr.job.backup_name), "%.*s",
             (int)sizeof(r->jr.job.backup_name) - 1, r->res->backup.name);
    return MFB_OK;
}

/* The program the instance's server runs: /proc/PID/exe when its pid file
 * is readable here, else BASEDIR/{sbin,bin,libexec}/{mariadbd,mysqld}. */
static bool program_of_running_server(struct run *r, char *out, size_t len)
{
    struct mysql_conn *c = NULL;
    struct mysql_rows *row = NULL;
    struct mfb_error e = {0};
    bool found = false;
    if (mysql_conn_connect(&r->o->instance->endpoint, CONNECT_MS, &c, &e) != MFB_OK)
        return false;
    if (mysql_conn_query_row(c, "SELECT @@basedir, @@pid_file", &row, &e) == MFB_OK &&
        row->count == 1) {
        const char *basedir = mysql_rows_cell(row, 0, 0);
        const char *pid_file = mysql_rows_cell(row, 0, 1);
        char *text = NULL;
        size_t n = 0;
        if (pid_file && pid_file[0] == '/' && fs_read_file(pid_file, 64, &text, &n, &e) == MFB_OK) {
            char exe[64];
            snprintf(exe, sizeof(exe), "/proc/%ld/exe", strtol(text, NULL, 10));
            ssize_t k = readlink(exe, out, len - 1);
            if (k > 0) {
                out[k] = '\0';
                found = access(out, X_OK) == 0;
            }
        }
        free(text);
        static const char *const dirs[] = {"sbin", "bin", "libexec"};
        static const char *const names[] = {"mariadbd", "mysqld"};
        for (size_t i = 0; !found && basedir && basedir[0] && i < 3; i++)
            for (size_t j = 0; !found && j < 2; j++) {
                snprintf(out, len, "%s/%s/%s", basedir, dirs[i], names[j]);
                found = access(out, X_OK) == 0;
            }
    }
    mysql_rows_free(row);
    mysql_conn_close(c);
    return found;
}

/* Chooses the server program and checks it is of the backup's flavour and
 * release (major.minor): a drill under another release would prove
 * nothing about a restore onto this instance. */
static mfb_status choose_server(struct run *r, struct mfb_error *err)
{
    const char *how = "--server-bin";
    if (r->o->server_bin) {
        snprintf(r->bin, sizeof(r->bin), "%s", r->o->server_bin);
    } else if (program_of_running_server(r, r->bin, sizeof(r->bin))) {
        how = "the instance's running server";
    } else if (mysql_command_which("mariadbd", r->bin, sizeof(r->bin)) ||
               mysql_command_which("mysqld", r->bin, sizeof(r->bin))) {
        how = "PATH (the instance's server did not say)";
    } else {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "cannot find the server program for the drill");
        mfb_error_hint(err, "give it with --server-bin PATH (the instance's mariadbd or mysqld)");
        return MFB_ERR_NOT_FOUND;
    }
    const char *argv[] = {r->bin, "--no-defaults", "--version", NULL};
    struct mysql_command_result out;
    struct mfb_error local = {0};
    if (mysql_command_run(argv, "server version command", VERSION_MS, NULL, &out, &local) != MFB_OK)
        return mysql_error_forward(err, &local);
    if (!compat_parse_version_output(out.output, &r->server)) {
        mfb_error_set(err, MFB_ERR_PROTOCOL,
                      "cannot read a version in the output of '%s --version'", r->bin);
        mfb_error_hint(err, "give the server program with --server-bin PATH");
        return MFB_ERR_PROTOCOL;
    }
    char have[160];
    compat_describe(&r->server, have, sizeof(have));
    say(r, "preflight", "server program %s (%s), from %s", r->bin, have, how);
    return MFB_OK;
}

static mfb_status check_release(struct run *r, struct mfb_error *err)
{
    struct server_identity backup;
    struct mfb_error local = {0};
    if (r->metadata == NULL || compat_from_metadata(r->metadata, &backup, &local) != MFB_OK) {
        say_level(r, JOB_LEVEL_WARN, "preflight",
                  "the backup does not record its server's version: the release is not checked");
        return MFB_OK;
    }
    if (backup.flavour == r->server.flavour && backup.major == r->server.major &&
        backup.minor == r->server.minor)
        return MFB_OK;
    char b[160], s[160];
    mfb_error_set(
        err, MFB_ERR_UNSUPPORTED, "the backup was made by %s, the drill's server program %s is %s",
        compat_describe(&backup, b, sizeof(b)), r->bin, compat_describe(&r->server, s, sizeof(s)));
    mfb_error_hint(err, "a drill runs the backup's own release: give that server program with "
                        "--server-bin PATH");
    return MFB_ERR_UNSUPPORTED;
}

static mfb_status fetch(struct run *r, struct mfb_error *err)
{
    const struct drill_options *o = r->o;
    struct restore_fetch f = {.client = o->target->client,
                              .backup = &r->res->backup,
                              .spool = r->inst->spool,
                              .cancel = o->cancel,
                              .observers = o->observers,
                              .observer_count = o->observer_count};
    struct restore_fetch_result fr = {0};
    mfb_status st = restore_fetch_run(&f, &fr, err);
    if (st == MFB_ERR_CORRUPT && fr.resumed_from == 0) {
        /* a whole download over TLS that does not match the SHA-256 the
         * receiver recorded at upload: the stored copy is damaged */
        r->res->verdict = DRILL_FAILED;
        /* replaces the downloader's hint, which is about running it again */
        snprintf(err->hint, sizeof(err->hint), "%s",
                 "the copy on the receiver does not match what was uploaded: check it there "
                 "('sha256sum -c' its .sha256 file) and make a new backup");
        err->hint_is_generic = false;
        return st;
    }
    if (st != MFB_OK) {
        if (restore_fetch_interrupted(st))
            restore_fetch_hint_part_kept(err, "", fr.path, "the next drill of this backup");
        else if (st == MFB_ERR_NO_SPACE && fr.path[0] != '\0')
            restore_fetch_hint_part_kept(err, "the spool's disk is full: free space there; ",
                                         fr.path, "the next drill of this backup");
        return st;
    }
    snprintf(r->download, sizeof(r->download), "%s", fr.path);
    char line[2048]; /* as long as say's */
    restore_fetch_describe(&fr, "", line, sizeof(line));
    say(r, "preflight", "%s", line);
    return MFB_OK;
}

/* The verdict on a backup whose bytes are the receiver's (the SHA-256
 * matched) but whose archive is damaged: the stored backup itself is bad. */
static mfb_status archive_damaged(struct run *r, const struct mfb_error *why, struct mfb_error *err)
{
    r->res->verdict = DRILL_FAILED;
    mfb_error_set(err, MFB_ERR_CORRUPT, "backup %s failed its archive check: %s",
                  r->res->backup.backup_id, why->message);
    mfb_error_hint(err, "the file matches the receiver's SHA-256, so the stored backup "
                        "itself is damaged: make a new backup");
    return MFB_ERR_CORRUPT;
}

/* Opens the archive (its directory is checked whole) and reads the
 * manifest. The entries' data is checked as it is extracted (every CRC-32
 * and size): a separate test first would inflate the whole backup twice. */
static mfb_status open_archive(struct run *r, struct mfb_error *err)
{
    struct mfb_error local = {0};
    mfb_status st = archive_reader_open(r->download, &r->reader, &local);
    if (st != MFB_OK)
        return archive_damaged(r, &local, err);
    size_t idx = archive_reader_manifest_index(r->reader);
    if (idx == SIZE_MAX) {
        r->res->verdict = DRILL_FAILED;
        mfb_error_set(err, MFB_ERR_CORRUPT, "backup %s has no manifest", r->res->backup.backup_id);
        mfb_error_hint(err, "it was not made by mfb backup; a drill needs the manifest to know "
                            "what the backup holds");
        return MFB_ERR_CORRUPT;
    }
    st = manifest_read(r->reader, idx, &r->manifest, &r->metadata, err);
    if (st != MFB_OK)
        return st;
    say(r, "preflight", "archive directory ok: %zu entries", archive_reader_count(r->reader));
    return MFB_OK;
}

/* ---- 2. extract and remap ---- */

static bool remap(const struct run *r, const char *path, char *out, size_t len)
{
    return drill_remap_path(r->metadata, r->scratch.files, path, out, len);
}

/* A server variable the manifest recorded, or NULL. A value with a line
 * break or another control character is left out: it goes into my.cnf,
 * one option a line. */
static const char *var(const struct run *r, const char *name)
{
    const char *v =
        json_string_value(json_object_get(json_object_get(r->metadata, "variables"), name));
    if (v == NULL || v[0] == '\0')
        return NULL;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            log_warn("drill", "variable=%s note=ignored_control_characters", name);
            return NULL;
        }
    return v;
}

/* .isl files name the absolute path of a tablespace created with DATA
 * DIRECTORY (DATADIR/db/table.isl): each is rewritten to the scratch copy
 * of that path, or the server would follow it into the real server's
 * files (it is replaced, not written through: fs_write_file_atomic). */
static mfb_status rewrite_isl(struct run *r, const char *path, struct mfb_error *err)
{
    char *text = NULL, to[PATH_MAX];
    size_t len = 0;
    mfb_status st = fs_read_file(path, PATH_MAX, &text, &len, err);
    if (st != MFB_OK)
        return st;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (text[0] != '/' || !remap(r, text, to, sizeof(to))) {
        st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                           "cannot remap a tablespace into the scratch copy: '%s' points to '%s', "
                           "outside the backup",
                           path, text);
        mfb_error_hint(err, "the drill never lets its server open the real server's files");
    }
    free(text);
    if (st == MFB_OK)
        st = fs_write_file_atomic(path, to, strlen(to), 0640, false, err);
    return st;
}

/* A symbolic link of the datadir (a MyISAM table or a system tablespace
 * file with DATA DIRECTORY on another disk) made to point into the
 * scratch copy, for the same reason. */
static mfb_status relink(struct run *r, const char *path, struct mfb_error *err)
{
    char target[PATH_MAX], to[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the link '%s'", path);
    target[n] = '\0';
    bool ok = target[0] == '/' ? remap(r, target, to, sizeof(to))
                               : strstr(target, "..") == NULL; /* stays beside it */
    if (!ok) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "cannot remap into the scratch copy: the link '%s' points to '%s', outside "
                      "the backup",
                      path, target);
        mfb_error_hint(err, "the drill never lets its server open the real server's files");
        return MFB_ERR_UNSUPPORTED;
    }
    if (target[0] != '/')
        return MFB_OK;
    if (unlink(path) != 0 || symlink(to, path) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot point '%s' to '%s'", path, to);
    return MFB_OK;
}

/* One entry of the datadir or of a database directory in it. */
static mfb_status remap_entry(struct run *r, const char *path, const char *name,
                              struct mfb_error *err)
{
    struct stat sb;
    size_t n = strlen(name);
    if (lstat(path, &sb) != 0)
        return MFB_OK;
    if (S_ISLNK(sb.st_mode))
        return relink(r, path, err);
    if (S_ISREG(sb.st_mode) && n > 4 && strcmp(name + n - 4, ".isl") == 0)
        return rewrite_isl(r, path, err);
    return MFB_OK;
}

/* Every .isl file and symbolic link in the datadir and its databases. */
static mfb_status remap_datadir(struct run *r, struct mfb_error *err)
{
    DIR *top = opendir(r->scratch.datadir);
    if (top == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", r->scratch.datadir);
    mfb_status st = MFB_OK;
    struct dirent *db;
    while (st == MFB_OK && (db = readdir(top)) != NULL) {
        char dir[PATH_MAX];
        if (strcmp(db->d_name, ".") == 0 || strcmp(db->d_name, "..") == 0 ||
            snprintf(dir, sizeof(dir), "%s/%s", r->scratch.datadir, db->d_name) >= (int)sizeof(dir))
            continue;
        st = remap_entry(r, dir, db->d_name, err);
        struct stat sb;
        if (st != MFB_OK || lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        DIR *d = opendir(dir);
        struct dirent *f;
        while (st == MFB_OK && d != NULL && (f = readdir(d)) != NULL) {
            char path[PATH_MAX];
            if (f->d_name[0] != '.' &&
                snprintf(path, sizeof(path), "%s/%s", dir, f->d_name) < (int)sizeof(path))
                st = remap_entry(r, path, f->d_name, err);
        }
        if (d != NULL)
            closedir(d);
    }
    closedir(top);
    return st;
}

/* The scratch directory must hold the whole backup unpacked, and what
 * the server writes as it starts: a drill that runs out of room there
 * would prove nothing either way. */
static mfb_status check_room(struct run *r, struct mfb_error *err)
{
    uint64_t need = SERVER_HEADROOM, dev = 0, avail = 0;
    for (size_t i = 0; i < r->manifest.count; i++)
        need += r->manifest.files[i].size + ENTRY_OVERHEAD;
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%.*s/x", PATH_MAX - 8, r->scratch.files);
    mfb_status st = swap_free_space(probe, &dev, &avail, err);
    if (st == MFB_OK && need > avail) {
        char a[32], b[32];
        st = mfb_error_set(err, MFB_ERR_NO_SPACE,
                           "not enough room in '%s' for the drill: the backup unpacked and its "
                           "server need %s, %s are free",
                           r->scratch.dir, format_size(need, a, sizeof(a)),
                           format_size(avail, b, sizeof(b)));
        mfb_error_hint(err, "this says nothing about the backup: free some space, or give a "
                            "scratch directory on a larger file system with --scratch DIR");
    }
    return st;
}

static mfb_status extract(struct run *r, struct mfb_error *err)
{
    struct archive_extract_summary sum = {0};
    mfb_status st = check_room(r, err);
    if (st != MFB_OK)
        return st;
    struct archive_extract_options xo = {.threads = archive_extract_default_threads()};
    struct mfb_error local = {0};
    st = archive_extract(r->reader, r->scratch.files, &xo, &sum, &local);
    if (st == MFB_ERR_CORRUPT)
        return archive_damaged(r, &local, err);
    if (st != MFB_OK)
        return mfb_error_copy(err, &local);
    char size[32];
    say(r, "archive", "extracted %" PRIu64 " entries (%s) into %s", sum.entries,
        format_size(sum.bytes, size, sizeof(size)), r->scratch.files);
    r->jr.job.bytes_in = sum.bytes;
    return remap_datadir(r, err);
}

/* The [mysqld] options of the throwaway server that depend on the backup. */
static mfb_status server_options(struct run *r, char **out, struct mfb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    const char *datadir = r->scratch.datadir;
    fprintf(f, "datadir=%s\n", datadir);
    struct stat sb;
    if (geteuid() == 0 && stat(datadir, &sb) == 0) {
        /* a server run by root must be told so; else it runs as the files' owner */
        struct passwd *pw = getpwuid(sb.st_uid);
        fprintf(f, "user=%s\n", pw ? pw->pw_name : "root");
    }
    /* directories of the backed-up server: in the scratch copy now */
    static const char *const dirs[] = {"innodb_data_home_dir", "innodb_log_group_home_dir",
                                       "innodb_undo_directory", "aria_log_dir_path",
                                       "innodb_doublewrite_dir"};
    mfb_status st = MFB_OK;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && st == MFB_OK; i++) {
        const char *v = var(r, dirs[i]);
        char to[PATH_MAX];
        if (v == NULL)
            continue;
        if (v[0] != '/')
            fprintf(f, "loose-%s=%s\n", dirs[i], v); /* relative to the (new) datadir */
        else if (remap(r, v, to, sizeof(to)))
            fprintf(f, "loose-%s=%s\n", dirs[i], to);
        else {
            st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                               "the backup's %s '%s' lies outside every root of the backup",
                               dirs[i], v);
            mfb_error_hint(err, "the drill never lets its server open the real server's files");
        }
    }
    const char *data_path = var(r, "innodb_data_file_path");
    if (st == MFB_OK && data_path && strchr(data_path, '/') != NULL) {
        st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                           "the backup's innodb_data_file_path '%s' names absolute paths, which a "
                           "drill cannot remap yet",
                           data_path);
        mfb_error_hint(err, "restore it with 'mfb restore --to DIR' and start a server by hand");
    } else if (data_path) {
        fprintf(f, "innodb_data_file_path=%s\n", data_path);
    }
    /* what the files were made with: a server must read them the same way */
    static const char *const same[] = {"innodb_page_size",          "lower_case_table_names",
                                       "innodb_checksum_algorithm", "innodb_undo_tablespaces",
                                       "innodb_log_file_size",      "innodb_file_per_table"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        const char *v = var(r, same[i]);
        if (v)
            fprintf(f, "loose-%s=%s\n", same[i], v);
    }
    if (fclose(f) != 0) {
        free(text);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    if (st != MFB_OK)
        free(text);
    else
        *out = text;
    return st;
}

/* ---- 4. checks ---- */

/* `name` as an SQL identifier. */
static void quote_ident(const char *name, char *out, size_t len)
{
    size_t o = 0;
    if (len < 3) {
        out[0] = '\0';
        return;
    }
    out[o++] = '`';
    for (const char *p = name; *p && o + 3 < len; p++) {
        if (*p == '`')
            out[o++] = '`';
        out[o++] = *p;
    }
    out[o++] = '`';
    out[o] = '\0';
}

/* A table that failed (table NULL: the backup as a whole, as a count). */
static void note_failure(struct run *r, const char *table, const char *text)
{
    char message[1024];
    drill_one_line(text, message, sizeof(message));
    if (table != NULL)
        r->res->tables_failed++;
    r->failures++;
    if (r->first_failure[0] == '\0')
        snprintf(r->first_failure, sizeof(r->first_failure), "%s%s%s%s", table ? "table " : "",
                 table ? table : "", table ? ": " : "", message);
    if (r->failures <= FAILURES_SHOWN)
        say_level(r, JOB_LEVEL_ERROR, "verify", "%s%s%s%s", table ? "table " : "",
                  table ? table : "", table ? " FAILED: " : "", message);
}

/* CHECK TABLE: any "error" row, or a final status other than OK, fails. */
static mfb_status check_table(struct run *r, struct mysql_conn *c, const char *db,
                              const char *table, const char *type, struct mfb_error *err)
{
    char qd[3 * 200], qt[3 * 200], sql[2 * sizeof(qd) + 64], name[512];
    quote_ident(db, qd, sizeof(qd));
    quote_ident(table, qt, sizeof(qt));
    snprintf(name, sizeof(name), "%s.%s", db, table);
    if (strcmp(type, "VIEW") == 0) {
        r->res->tables_checked++;
        return MFB_OK; /* a view holds no data of its own: its tables are checked */
    }
    snprintf(sql, sizeof(sql), "CHECK TABLE %s.%s", qd, qt);
    struct mysql_rows *rows = NULL;
    struct mfb_error local = {0};
    mfb_status st = mysql_conn_query(c, sql, &rows, &local);
    r->res->tables_checked++;
    if (st != MFB_OK) {
        if (!scratch_server_alive(&r->scratch) || mysql_conn_lost(c)) {
            char tail[1024];
            uint64_t avail = 0;
            scratch_error_tail(&r->scratch, tail, sizeof(tail));
            if (!scratch_server_alive(&r->scratch) && scratch_disk_full(&r->scratch, &avail)) {
                /* the scratch disk, not the table: no verdict on the backup */
                mysql_rows_free(rows);
                mfb_error_set(err, MFB_ERR_NO_SPACE,
                              "the drill's server died checking table %s: the disk of the "
                              "scratch directory '%s' is full: %s",
                              name, r->scratch.dir, tail[0] ? tail : local.message);
                mfb_error_hint(err, "this says nothing about the backup: free space there, or "
                                    "give a scratch directory on a larger file system with "
                                    "--scratch DIR");
                return MFB_ERR_NO_SPACE;
            }
            char msg[2048];
            snprintf(msg, sizeof(msg), "the server died checking it: %s",
                     tail[0] ? tail : local.message);
            note_failure(r, name, msg);
            mysql_rows_free(rows);
            mfb_error_set(err, MFB_ERR_CORRUPT, "%s", r->first_failure);
            return MFB_ERR_CORRUPT; /* no server left to ask about the others */
        }
        note_failure(r, name, local.message);
        mysql_rows_free(rows);
        return MFB_OK;
    }
    const char *bad = NULL, *last_status = NULL, *warning = NULL;
    for (size_t i = 0; rows && i < rows->count; i++) {
        const char *type_ = mysql_rows_cell(rows, i, 2);
        const char *text = mysql_rows_cell(rows, i, 3);
        if (type_ && strcasecmp(type_, "error") == 0 && bad == NULL)
            bad = text;
        if (type_ && strcasecmp(type_, "status") == 0)
            last_status = text;
        if (type_ && strcasecmp(type_, "warning") == 0 && warning == NULL && text && text[0])
            warning = text;
    }
    if (bad == NULL && last_status && strcasecmp(last_status, "OK") != 0 &&
        strcasecmp(last_status, "Table is already up to date") != 0)
        bad = last_status;
    if (bad != NULL && warning != NULL && strcasecmp(bad, "Corrupt") == 0) {
        /* InnoDB says what is wrong in a warning ("InnoDB: The B-tree of
         * index PRIMARY is corrupted.") and only "Corrupt" as the error:
         * the failure quotes both, so the operator knows where to look. */
        char both[1024];
        snprintf(both, sizeof(both), "%s (%s)", bad, warning);
        note_failure(r, name, both);
    } else if (bad != NULL) {
        note_failure(r, name, bad);
    } else {
        char *count = NULL;
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s.%s", qd, qt);
        if (mysql_conn_query_value(c, sql, &count, &local) == MFB_OK) {
            uint64_t n = strtoull(count ? count : "0", NULL, 10);
            r->res->rows += n;
            journal_event(&r->jr, JOB_LEVEL_INFO, "verify", "table %s ok rows=%" PRIu64, name, n);
        } else {
            note_failure(r, name, local.message);
        }
        free(count);
    }
    mysql_rows_free(rows);
    return MFB_OK;
}

static mfb_status check_all(struct run *r, struct mfb_error *err)
{
    struct mysql_endpoint ep = {.socket = r->scratch.socket, .user = "root"};
    struct mysql_conn *c = NULL;
    struct mysql_rows *tables = NULL, *dbs = NULL;
    mfb_status st = mysql_conn_connect(&ep, QUERY_MS, &c, err);
    if (st == MFB_OK)
        st = mysql_conn_query(c,
                              "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE "
                              "SCHEMA_NAME NOT IN ('information_schema', 'performance_schema') "
                              "AND SCHEMA_NAME NOT LIKE '#mysql50#%'",
                              &dbs, err);
    if (st == MFB_OK)
        st = mysql_conn_query(c,
                              "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM "
                              "information_schema.TABLES WHERE TABLE_SCHEMA NOT IN "
                              "('information_schema', 'performance_schema') AND TABLE_SCHEMA "
                              "NOT LIKE '#mysql50#%' ORDER BY 1, 2",
                              &tables, err);
    for (size_t i = 0; st == MFB_OK && i < tables->count; i++) {
        if (cancelled(r)) {
            st = mfb_error_set(err, MFB_ERR_CANCELLED, "drill cancelled");
            break;
        }
        const char *type = mysql_rows_cell(tables, i, 2);
        st = check_table(r, c, mysql_rows_cell(tables, i, 0), mysql_rows_cell(tables, i, 1),
                         type ? type : "", err);
    }
    uint64_t want_dbs = 0, want_tables = 0;
    if (st == MFB_OK)
        st = drill_manifest_counts(&r->manifest, &want_dbs, &want_tables, err);
    if (st == MFB_OK) {
        r->res->databases = dbs->count;
        say(r, "verify",
            "%" PRIu64 " tables checked in %zu databases, %" PRIu64 " failed, %" PRIu64
            " rows; the manifest lists %" PRIu64 " tables in %" PRIu64 " databases",
            r->res->tables_checked, dbs->count, r->res->tables_failed, r->res->rows, want_tables,
            want_dbs);
        char msg[256];
        if (want_tables > 0 && want_tables != tables->count) {
            snprintf(msg, sizeof(msg),
                     "the server sees %zu tables, the backup's manifest lists %" PRIu64,
                     tables->count, want_tables);
            note_failure(r, NULL, msg);
        }
        if (want_dbs != dbs->count) {
            snprintf(msg, sizeof(msg),
                     "the server sees %zu databases, the backup's manifest lists %" PRIu64,
                     dbs->count, want_dbs);
            note_failure(r, NULL, msg);
        }
        if (want_tables == 0)
            say(r, "verify",
                "the manifest lists no .frm files (a MySQL 8 data dictionary): "
                "tables are not counted against it");
    }
    mysql_rows_free(tables);
    mysql_rows_free(dbs);
    mysql_conn_close(c);
    if (st == MFB_OK && r->failures > 0) {
        st = mfb_error_set(err, MFB_ERR_CORRUPT, "%s", r->first_failure);
    }
    return st;
}

/* ---- the job ---- */

static void post_verification(struct run *r)
{
    if (r->res->verdict == DRILL_UNDECIDED)
        return;
    char host[256] = "", detail[1000];
    gethostname(host, sizeof(host) - 1);
    if (r->res->verdict == DRILL_PASSED)
        snprintf(detail, sizeof(detail),
                 "job %" PRId64 ": %" PRIu64 " tables in %" PRIu64 " databases checked, %" PRIu64
                 " rows",
                 r->jr.job.id, r->res->tables_checked, r->res->databases, r->res->rows);
    else
        snprintf(detail, sizeof(detail), "job %" PRId64 ": %.900s", r->jr.job.id,
                 r->jr.job.error ? r->jr.job.error : "failed");
    struct receiver_verification v = {.passed = r->res->verdict == DRILL_PASSED,
                                      .tables = r->res->tables_checked,
                                      .host = host,
                                      .detail = detail};
    struct transfer_conn *conn = NULL;
    struct mfb_error e = {0};
    mfb_status st = transfer_conn_open(r->o->target->client, NULL, &conn, &e);
    if (st == MFB_OK)
        st = receiver_verification_post(conn, r->res->backup.backup_id, &v, &e);
    transfer_conn_close(conn);
    r->res->receiver_told = st == MFB_OK;
    if (st == MFB_OK)
        say(r, "finish", "the receiver recorded the verification of %s: %s",
            r->res->backup.backup_id, drill_verdict_str(r->res->verdict));
    else
        say_level(r, JOB_LEVEL_WARN, "finish", "the receiver was not told the verdict: %s",
                  e.message);
}

static void send_alert(struct run *r, mfb_status st, const struct mfb_error *e)
{
    if (r->o->no_alerts || !r->have_job || st == MFB_OK || st == MFB_ERR_CANCELLED)
        return;
    char subject[512], text[4096];
    bool failed = r->res->verdict == DRILL_FAILED;
    struct alert a = {.severity = failed ? CONFIG_SEVERITY_CRITICAL : CONFIG_SEVERITY_ERROR,
                      .event = failed ? "drill_failed" : "drill_error",
                      .instance = r->inst->name,
                      .job_id = r->jr.job.id,
                      .job_status = job_status_str(r->jr.job.status),
                      .error = e->message,
                      .hint = e->hint[0] ? e->hint : NULL,
                      .datadir = r->inst->datadir,
                      .backup_name = r->res->backup.name[0] ? r->res->backup.name : NULL,
                      .subject = subject,
                      .text = text};
    if (failed)
        snprintf(subject, sizeof(subject), "backup %s of '%s' is NOT restorable",
                 r->res->backup.backup_id, r->inst->name);
    else
        snprintf(subject, sizeof(subject), "restore drill of '%s' could not run", r->inst->name);
    snprintf(text, sizeof(text), "%s (job %" PRId64 ", backup %s).\nReason: %s\n%s%s%s", subject,
             r->jr.job.id, r->res->backup.name[0] ? r->res->backup.name : "?", e->message,
             e->hint[0] ? "Hint: " : "", e->hint, e->hint[0] ? "\n" : "");
    alert_dispatch(r->o->db, &a, NULL, NULL);
}

/* Is a inside b (or b itself), by whole path components? */
static bool path_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    while (n > 1 && b[n - 1] == '/')
        n--;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The scratch directory: --scratch or SPOOL/drill-INSTANCE, never in
 * the instance's datadir nor holding it. */
static mfb_status choose_scratch(struct run *r, struct mfb_error *err)
{
    if (r->o->scratch)
        snprintf(r->scratch_dir, sizeof(r->scratch_dir), "%s", r->o->scratch);
    else
        snprintf(r->scratch_dir, sizeof(r->scratch_dir), "%.*s/drill-%s", PATH_MAX - 256,
                 r->inst->spool, r->inst->name);
    if (!path_within(r->scratch_dir, r->inst->datadir) &&
        !path_within(r->inst->datadir, r->scratch_dir))
        return MFB_OK;
    /* the real server would see the copy as a database of its own */
    mfb_error_set(err, MFB_ERR_USAGE,
                  "scratch directory '%s' overlaps the data directory '%s' of instance '%s'",
                  r->scratch_dir, r->inst->datadir, r->inst->name);
    mfb_error_hint(err, "give a scratch directory outside it with --scratch DIR");
    return MFB_ERR_USAGE;
}

static mfb_status drill_steps(struct run *r, struct mfb_error *err)
{
    journal_step_begin(&r->jr, JOB_STEP_PREFLIGHT, 0);
    mfb_status st = scratch_prepare(&r->scratch, r->scratch_dir, err);
    if (st == MFB_OK)
        st = find_backup(r, err);
    if (st == MFB_OK)
        st = choose_server(r, err);
    if (st == MFB_OK)
        st = fetch(r, err);
    if (st == MFB_OK)
        st = open_archive(r, err);
    if (st == MFB_OK)
        st = check_release(r, err);
    journal_step_end(&r->jr, JOB_STEP_PREFLIGHT);
    if (st == MFB_OK && cancelled(r))
        st = mfb_error_set(err, MFB_ERR_CANCELLED, "drill cancelled");
    if (st != MFB_OK)
        return st;

    r->step = "archive";
    journal_step_begin(&r->jr, JOB_STEP_ARCHIVE, r->res->backup.size);
    st = extract(r, err);
    char *options = NULL;
    if (st == MFB_OK)
        st = server_options(r, &options, err);
    if (st == MFB_OK)
        st = scratch_write_cnf(&r->scratch, options, err);
    free(options);
    journal_step_end(&r->jr, JOB_STEP_ARCHIVE);
    if (st == MFB_OK && cancelled(r))
        st = mfb_error_set(err, MFB_ERR_CANCELLED, "drill cancelled");
    if (st != MFB_OK)
        return st;

    r->step = "start";
    journal_step_begin(&r->jr, JOB_STEP_START, 0);
    uint64_t begin = clock_now_ms();
    st = scratch_server_start(&r->scratch, r->bin, timeout(r, CONFIG_TIMEOUT_START), r->o->cancel,
                              err);
    journal_step_end(&r->jr, JOB_STEP_START);
    if (st == MFB_ERR_CORRUPT)
        r->res->verdict = DRILL_FAILED;
    if (st != MFB_OK)
        return st;
    char took[32];
    say(r, "start", "the drill's server answers on %s (after %s)", r->scratch.socket,
        format_duration_ms(clock_now_ms() - begin, took, sizeof(took)));

    r->step = "verify";
    journal_step_begin(&r->jr, JOB_STEP_VERIFY, 0);
    st = check_all(r, err);
    journal_step_end(&r->jr, JOB_STEP_VERIFY);
    if (st == MFB_OK)
        r->res->verdict = DRILL_PASSED;
    else if (st == MFB_ERR_CORRUPT)
        r->res->verdict = DRILL_FAILED;
    if (st == MFB_ERR_CORRUPT)
        mfb_error_hint(err, "the backup is not restorable as it is: repair the table on the "
                            "instance (CHECK TABLE / REPAIR TABLE there) and make a new backup");
    return st;
}

mfb_status drill_run(const struct drill_options *o, struct drill_result *result,
                     struct mfb_error *err)
{
    memset(result, 0, sizeof(*result));
    struct mfb_error local = {0};
    struct mfb_error *e = err ? err : &local;
    struct run r = {.o = o, .inst = &o->instance->record, .res = result, .step = "preflight"};
    r.lock.fd = -1;
    mfb_status st = MFB_OK;
    if (r.inst->spool == NULL) {
        st = mfb_error_set(e, MFB_ERR_USAGE, "instance '%s' has no spool directory", r.inst->name);
        mfb_error_hint(e, "set one: mfb instance set %s --spool DIR", r.inst->name);
    }
    if (st == MFB_OK)
        st = choose_scratch(&r, e);
    if (st == MFB_OK)
        st = job_lock_acquire(o->db, r.inst->spool, r.inst->name, "drill", &r.lock, e);
    if (st == MFB_OK) {
        st = journal_begin(&r.jr, o->db, o->hub, r.inst->name, o->target->record.name, "drill", e);
        r.have_job = st == MFB_OK;
        result->job_id = r.jr.job.id;
        job_lock_set_job(&r.lock, r.jr.job.id);
    }
    if (st == MFB_OK)
        st = drill_steps(&r, e);

    /* whatever happened: the throwaway server goes, and everything it had */
    if (r.scratch.pid > 0) {
        /* a clean shutdown, unless cancelled: then at once */
        journal_step_begin(&r.jr, JOB_STEP_STOP, 0);
        scratch_server_stop(&r.scratch, st == MFB_ERR_CANCELLED ? 0 : STOP_MS);
        journal_step_end(&r.jr, JOB_STEP_STOP);
    }
    if (r.have_job)
        journal_step_begin(&r.jr, JOB_STEP_FINISH, 0);
    scratch_remove(&r.scratch);
    archive_reader_free(r.reader);
    r.reader = NULL;
    if (r.download[0] && unlink(r.download) != 0)
        log_warn("drill", "file=%s error=%s", LOG_Q(r.download), LOG_Q(strerror(errno)));

    if (r.have_job) {
        enum job_status status = JOB_STATUS_OK;
        if (st != MFB_OK) {
            journal_error(&r.jr, r.step, e);
            status = st == MFB_ERR_CANCELLED ? JOB_STATUS_CANCELLED : JOB_STATUS_FAILED;
        }
        if (result->verdict != DRILL_UNDECIDED)
            say(&r, "finish", "drill of backup %s: %s", result->backup.backup_id,
                result->verdict == DRILL_PASSED ? "passed, the backup is restorable"
                                                : "FAILED, the backup is not restorable");
        post_verification(&r);
        journal_step_end(&r.jr, JOB_STEP_FINISH);
        journal_end(&r.jr, status);
        send_alert(&r, st, e);
        journal_free(&r.jr);
    }
    job_lock_release(&r.lock);
    manifest_free(&r.manifest);
    return st;
}
