/*
 * orphans.c - settling jobs whose process is gone (see orphans.h).
 */
#include "job/orphans.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "job/spool.h"
#include "store/config_records.h"

bool job_orphan_sealed(const char *spool, int64_t job_id, char *zip, size_t len)
{
    struct stat sb;
    return spool_data_zip(spool, job_id, zip, len, NULL) == MFB_OK && lstat(zip, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

mfb_status job_orphan_keep_zip(const char *spool, int64_t job_id, struct mfb_error *err)
{
    char dir[PATH_MAX], zip[PATH_MAX];
    mfb_status st = spool_job_dir(spool, job_id, dir, sizeof(dir), err);
    if (st == MFB_OK)
        st = spool_data_zip(spool, job_id, zip, sizeof(zip), err);
    if (st != MFB_OK)
        return st;
    /* A resume must never read a torn file: the dead job deferred this
     * fsync until after the restart, which it did not reach. */
    int fd = open(zip, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", zip);
    if (fsync(fd) != 0)
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot fsync '%s'", zip);
    close(fd);
    if (st == MFB_OK)
        st = fs_fsync_dir_of(zip, false, err);
    if (st != MFB_OK)
        return st;
    DIR *d = opendir(dir);
    if (d == NULL)
        return MFB_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, SPOOL_DATA_ZIP) == 0)
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        spool_remove_tree(path, NULL);
    }
    closedir(d);
    return MFB_OK;
}

void job_orphan_remove_files(const char *spool, int64_t job_id)
{
    char dir[PATH_MAX];
    struct mfb_error e = {0};
    if (spool_job_dir(spool, job_id, dir, sizeof(dir), NULL) == MFB_OK &&
        spool_remove_tree(dir, &e) != MFB_OK)
        log_warn("job", "id=%" PRId64 " note=cannot_remove_leftovers path=%s error=\"%s\"", job_id,
                 dir, e.message);
}

/* One dead backup: pending_upload with its sealed Data.zip, else failed;
 * its leftover files go once the job is settled (not before: a guardian
 * may have taken it over meanwhile). */
static mfb_status settle_backup(struct config_db *db, const struct job_record *job, bool *settled,
                                struct mfb_error *err)
{
    *settled = false;
    struct config_instance inst;
    config_instance_init(&inst);
    struct mfb_error ie = {0};
    if (config_instance_get(db, job->instance, &inst, &ie) != MFB_OK) {
        config_instance_free(&inst);
        return MFB_OK; /* no spool known: job_log_fail_orphans marks it */
    }
    char zip[PATH_MAX], msg[512], hint[PATH_MAX + 512];
    mfb_status st = MFB_OK;
    struct mfb_error ke = {0};
    if (job->upload_id[0] && job_orphan_sealed(inst.spool, job->id, zip, sizeof(zip)) &&
        job_orphan_keep_zip(inst.spool, job->id, &ke) == MFB_OK) {
        snprintf(msg, sizeof(msg),
                 "interrupted after Data.zip was sealed: the process that ran it (pid %" PRId64
                 ") is gone",
                 job->pid);
        snprintf(hint, sizeof(hint),
                 "%s is kept; 'mfb resume %" PRId64
                 "' completes the upload; check that the database server is running (its log "
                 "tells whether mfb stopped it)",
                 zip, job->id);
        st = job_log_settle_orphan(db, job->id, job->pid, JOB_STATUS_PENDING_UPLOAD, msg, hint,
                                   settled, err);
    } else {
        if (ke.message[0])
            log_warn("job", "id=%" PRId64 " note=cannot_keep_data_zip error=\"%s\"", job->id,
                     ke.message);
        snprintf(msg, sizeof(msg), "interrupted: the process that ran it (pid %" PRId64 ") is gone",
                 job->pid);
        st = job_log_settle_orphan(
            db, job->id, job->pid, JOB_STATUS_FAILED, msg,
            "check that the database server is running (its log tells whether mfb stopped it) "
            "and whether the backup reached the receiver ('mfb list'): a job whose last record "
            "could not be saved (a full disk) may have finished",
            settled, err);
        if (st == MFB_OK && *settled)
            job_orphan_remove_files(inst.spool, job->id);
    }
    if (st == MFB_OK && *settled)
        log_warn("job", "id=%" PRId64 " note=interrupted pid=%" PRId64 " now=%s", job->id, job->pid,
                 msg);
    config_instance_free(&inst);
    return st;
}

mfb_status job_orphans_settle(struct config_db *db, size_t *count, struct mfb_error *err)
{
    if (count)
        *count = 0;
    struct job_record *list = NULL;
    size_t n = 0;
    mfb_status st = job_log_orphans(db, &list, &n, err);
    for (size_t i = 0; st == MFB_OK && i < n; i++) {
        if (strcmp(list[i].kind, "backup") != 0)
            continue;
        bool settled = false;
        st = settle_backup(db, &list[i], &settled, err);
        if (settled && count)
            (*count)++;
    }
    job_log_list_free(list, n);
    size_t rest = 0;
    if (st == MFB_OK)
        st = job_log_fail_orphans(db, &rest, err);
    if (count)
        *count += rest;
    return st;
}
