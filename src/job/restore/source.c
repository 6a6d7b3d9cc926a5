/*
 * source.c - the backup a restore puts back (restore.h, steps 1 and 2):
 * found on the receiver, downloaded into the spool (fetch.h) or, for a
 * staged restore that downloads, only its end read ahead (stream.h), then
 * its archive tested and its manifest read. All of it runs before
 * anything is changed, so a failure here costs nothing but the time.
 */
#include "job/restore/source.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/parse.h"
#include "job/restore/report.h"
#include "job/restore/stream.h"
#include "mysql/connection.h"

static mfb_status find_backup(struct run *r, struct mfb_error *err)
{
    const struct restore_options *o = r->o;
    struct mfb_error by_id = {0};
    size_t listed = 0;
    mfb_status st = restore_fetch_find(r->client, o->cancel, r->inst->name, o->backup,
                                       &r->res->backup, &listed, &by_id, err);
    /* a lookup by id that failed says why, but for an id the receiver does
     * not know either: the message below says that */
    if (st != MFB_OK && by_id.status != MFB_ERR_NOT_FOUND)
        mysql_error_forward(err, &by_id);
    if (st == MFB_ERR_NOT_FOUND && !mfb_error_is_set(err)) {
        if (listed == 0)
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
    if (st == MFB_OK) {
        char size[32], hex[SHA256_HEX_LEN + 1];
        digest_to_hex(r->res->backup.sha256, hex);
        report_say(r, "preflight", "backup %s: %s, %s, sha256 %s", r->res->backup.backup_id,
                   r->res->backup.name, format_size(r->res->backup.size, size, sizeof(size)), hex);
        snprintf(r->jr.job.backup_id, sizeof(r->jr.job.backup_id), "%s", r->res->backup.backup_id);
        snprintf(r->jr.job.backup_name, sizeof(r->jr.job.backup_name), "%.*s",
                 (int)sizeof(r->jr.job.backup_name) - 1, r->res->backup.name);
    }
    return st;
}

mfb_status source_fetch_params(const struct run *r, struct restore_fetch *f, struct mfb_error *err)
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
void source_say_downloaded(struct run *r, const struct restore_fetch_result *fr)
{
    char line[2048]; /* as long as report_say's */
    restore_fetch_describe(fr, r->streaming ? ", every entry extracted as it arrived" : "", line,
                           sizeof(line));
    report_say(r, "preflight", "%s", line);
}

static mfb_status fetch(struct run *r, struct mfb_error *err)
{
    struct restore_fetch f;
    if (source_fetch_params(r, &f, err) != MFB_OK)
        return MFB_ERR_USAGE;
    struct restore_fetch_result fr;
    mfb_status st = restore_fetch_run(&f, &fr, err);
    if (st != MFB_OK) {
        /* no file yet (at most its .part, which the hint names): none is "kept" */
        if (restore_fetch_interrupted(st))
            restore_fetch_hint_part_kept(err, "nothing was changed; ", fr.path, "the same command");
        else if (st == MFB_ERR_NO_SPACE && fr.path[0] != '\0')
            report_no_space_hint(err, "nothing was changed", true, fr.path);
        return st;
    }
    snprintf(r->res->file, sizeof(r->res->file), "%s", fr.path);
    source_say_downloaded(r, &fr);
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
    if (source_fetch_params(r, &f, err) != MFB_OK)
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
    report_say(
        r, "preflight",
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
        st = manifest_read(r->reader, idx, &r->manifest, &r->metadata, err);
        if (st != MFB_OK)
            return st;
    }
    st = restore_tops_read(r->reader, &r->tops, err);
    if (st != MFB_OK)
        return st;
    char size[32];
    report_say(r, "preflight", "archive ok: %" PRIu64 " entries, %s, manifest %s%s", sum.entries,
               format_size(sum.bytes, size, sizeof(size)),
               sum.manifest_checked ? "checked" : "absent",
               staged ? "; every entry's CRC-32 is checked as it is staged" : "");
    return MFB_OK;
}

mfb_status source_get(struct run *r, struct mfb_error *err)
{
    mfb_status st = find_backup(r, err);
    if (st == MFB_OK)
        st = fetch_or_read_ahead(r, err);
    if (st == MFB_OK)
        st = verify_archive(r, err);
    return st;
}
