/*
 * staging_record.c - the staging record (resume.h) as the restore uses
 * it: adopted at the start of a staged restore when an interrupted run of
 * the same backup to the same places left one (its unchanged entries are
 * reused), written as this run stages, kept when the run is interrupted
 * in a way the same command can continue, and discarded with its staging
 * directories when it is of no use (another backup, --to, --in-place, a
 * record that does not match).
 */
#include "job/restore/staging_record.h"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/parse.h"
#include "job/restore/report.h"
#include "job/spool.h"

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
    report_say(r, "preflight",
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
void staging_record_discard_unused(struct run *r, const char *why)
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
        report_say(
            r, "preflight",
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
mfb_status staging_record_adopt(struct run *r, struct mfb_error *err)
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
    report_say(
        r, "preflight",
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
void staging_record_open(struct run *r)
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

void staging_record_on_file(void *ctx, size_t index, const struct stat *sb)
{
    struct run *r = ctx;
    resume_writer_add(&r->writer, index, archive_reader_entry(r->reader, index), sb);
}

void staging_record_on_idle(void *ctx)
{
    resume_writer_flush(ctx);
}

/* An interruption that leaves the download to be continued (a download
 * error, Ctrl-C or SIGTERM) keeps the staging and its record for the next
 * run; a damaged entry, a SHA-256 or directory mismatch, or any other
 * failure drops them. */
bool staging_record_keep(const struct run *r, mfb_status st)
{
    return r->record[0] != '\0' && r->writer.path[0] != '\0' && !r->writer.broken &&
           restore_fetch_interrupted(st);
}

/* Removes what is left of the staged trees (never an old tree), and the
 * record of them. */
void staging_record_drop(struct run *r)
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
