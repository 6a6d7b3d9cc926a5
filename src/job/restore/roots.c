/*
 * roots.c - getting each root's restored tree into its place (restore.h,
 * steps 3 and 5): with --to, everything extracted into one directory;
 * staged, each root extracted beside its place while the server runs
 * (alone, or behind the download: stream.h) and, once it is stopped,
 * swapped in under the swap journal (stage.h), after a swap a killed
 * restore left was put right; --in-place, each old directory moved aside
 * (swap.h) and the root extracted into its place. Each tree gets its owner
 * and mode (ownership.h) as it is written.
 */
#include "job/restore/roots.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/extract.h"
#include "common/log.h"
#include "common/parse.h"
#include "job/restore/preflight.h"
#include "job/restore/report.h"
#include "job/restore/source.h"
#include "job/restore/staging_record.h"
#include "job/restore/stream.h"
#include "job/restore/swap.h"
#include "job/spool.h"

mfb_status roots_extract_to(struct run *r, struct mfb_error *err)
{
    const char *dir = r->o->to_dir;
    staging_record_discard_unused(r, "as this restore is --to a directory");
    mfb_status st = preflight_to_dir(dir, err); /* again: time has passed */
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
    report_say(r, NULL, "extracted %" PRIu64 " entries (%s) into %s; the server was not touched",
               sum.entries, format_size(sum.bytes, size, sizeof(size)), dir);
    for (size_t i = 0; i < r->tops.count; i++)
        if (r->tops.items[i].is_dir)
            report_say(r, NULL, "  root %s -> %s/%s", r->tops.items[i].name, dir,
                       r->tops.items[i].name);
    return MFB_OK;
}

static mfb_status move_aside(struct run *r, struct mfb_error *err)
{
    for (size_t i = 0; i < r->plan.count; i++) {
        struct root_state *rs = &r->roots[i];
        if (run_cancelled(r))
            return run_cancel_error(err);
        if (!rs->existed)
            continue;
        mfb_status st = swap_move(rs->place, rs->aside, err);
        if (st != MFB_OK)
            return st;
        rs->moved = true;
        report_say(r, NULL, "moved %s aside to %s", rs->place, rs->aside);
    }
    return MFB_OK;
}

/* tests: "extract:ROOT" */
static bool fault_at(const struct run *r, const char *root)
{
    const char *f = r->o->fault;
    return f != NULL && strncmp(f, "extract:", 8) == 0 && strcmp(f + 8, root) == 0;
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
        if (run_cancelled(r))
            return run_cancel_error(err);
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
            xo.on_file = r->writer.open ? staging_record_on_file : NULL;
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
        report_say(r, NULL, "%s root %s %s %s: %s", staged ? "staged" : "restored", p->name,
                   staged ? "in" : "into", dir, rs->detail);
        if (staged)
            report_test_pause(r, "staging");
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
    mfb_status st = source_fetch_params(r, &f, err);
    if (st == MFB_OK)
        st = restore_stream_begin(&s, &f, r->reader, err);
    if (st != MFB_OK)
        return st;
    /* an extraction thread waiting on the download records what is staged */
    s.idle = r->writer.open ? staging_record_on_idle : NULL;
    s.idle_ctx = &r->writer;
    mfb_status xst = extract_roots(r, true, err);
    st = restore_stream_end(&s, xst, r->reader, &fr, err);
    if (st == MFB_OK) {
        snprintf(r->res->file, sizeof(r->res->file), "%s", fr.path);
        source_say_downloaded(r, &fr);
        return MFB_OK;
    }
    if (st == MFB_ERR_NO_SPACE)
        report_no_space_hint(err, "nothing was changed, the server still runs", s.download_failed,
                             fr.path);
    else if (st == MFB_ERR_CORRUPT && !s.download_failed)
        report_set_hint(err,
                        "nothing was changed, the server still runs; the receiver sent damaged "
                        "data (the partial download was removed), so its stored copy most likely "
                        "is damaged ('sha256sum -c' its .sha256 file there tells): restore another "
                        "backup");
    else if (s.download_failed && err->hint[0] != '\0' && !restore_fetch_interrupted(st)) {
        char hint[sizeof(err->hint)];
        snprintf(hint, sizeof(hint), "nothing was changed, the server still runs; %.*s",
                 (int)sizeof(hint) - 64, err->hint);
        report_set_hint(err, hint);
    } else if (restore_fetch_interrupted(st))
        restore_fetch_hint_part_kept(err, "nothing was changed, the server still runs; ", fr.path,
                                     "the same command");
    else if (err->hint[0] == '\0')
        mfb_error_hint(err, "nothing was changed; the server still runs");
    return st;
}

/* A swap a killed restore left is put right before anything else
 * (stage.h): the server then runs, or can run, on one consistent set. */
mfb_status roots_recover_swap(struct run *r, struct mfb_error *err)
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
        report_say(r, "preflight",
                   "an interrupted restore had swapped every root; its swap was finished: %s",
                   detail);
    else if (what == STAGE_RECOVERY_UNDONE)
        report_say(r, "preflight",
                   "an interrupted restore had swapped only part of the roots; the old directories "
                   "are back: %s",
                   detail);
    return MFB_OK;
}

/* Each root's staging directory (preflight_places removed the stale ones). */
mfb_status roots_name_staging(struct run *r, struct mfb_error *err)
{
    char tag[32];
    if (r->have_job)
        snprintf(tag, sizeof(tag), "%" PRId64, r->jr.job.id);
    else
        snprintf(tag, sizeof(tag), "%.*s", (int)sizeof(tag) - 1, r->stamp);
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
        if (run_cancelled(r))
            return run_cancel_error(err);
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
            report_say(r, NULL, "moved %s aside to %s", rs->place, rs->aside);
        if (rs->is_link)
            report_say(r, NULL, "restored root %s into %s: %s (the link %s stays)", rs->plan->name,
                       rs->place, rs->detail, rs->plan->dest);
        else
            report_say(r, NULL, "restored root %s into %s: %s", rs->plan->name, rs->place,
                       rs->detail);
        report_test_pause(r, "swap");
    }
    return st;
}

mfb_status roots_stage(struct run *r, struct mfb_error *err)
{
    return r->streaming ? stage_while_downloading(r, err) : extract_roots(r, true, err);
}

mfb_status roots_put_in_place(struct run *r, bool staged, struct mfb_error *err)
{
    if (staged)
        return swap_roots(r, err);
    mfb_status st = move_aside(r, err);
    if (st == MFB_OK)
        st = extract_roots(r, false, err);
    return st;
}
