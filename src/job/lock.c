/*
 * lock.c - the per-instance job lock (see lock.h).
 */
#include "job/lock.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "job/orphans.h"

static void write_owner(struct job_lock *lock, int64_t job_id)
{
    char text[256];
    int n = snprintf(text, sizeof(text), "pid=%ld job=%" PRId64 " kind=%s started=%lld\n",
                     (long)getpid(), job_id, lock->kind, (long long)time(NULL));
    if (ftruncate(lock->fd, 0) != 0 || pwrite(lock->fd, text, (size_t)n, 0) != (ssize_t)n)
        log_warn("job-lock", "path=%s note=cannot_record_owner error=\"%s\"", lock->path,
                 strerror(errno));
}

/* The holder as the lock file describes it: "backup job 45 (pid 123)". */
static void describe_holder(int fd, char *buf, size_t len)
{
    char text[256] = "";
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    long pid = 0;
    long long job = 0;
    char kind[32] = "";
    const char *p = strstr(text, "pid=");
    if (p)
        sscanf(p, "pid=%ld", &pid);
    p = strstr(text, "job=");
    if (p)
        sscanf(p, "job=%lld", &job);
    p = strstr(text, "kind=");
    if (p)
        sscanf(p, "kind=%31s", kind);
    if (pid > 0 && job > 0)
        snprintf(buf, len, "%s job %lld (pid %ld)", kind[0] ? kind : "a", job, pid);
    else if (pid > 0)
        snprintf(buf, len, "a %s job (pid %ld)", kind[0] ? kind : "", pid);
    else
        snprintf(buf, len, "another job");
}

/* A job of the instance recorded as running by another live process. */
static mfb_status check_jobs_table(struct config_db *db, const char *instance,
                                   struct mfb_error *err)
{
    mfb_status st = job_orphans_settle(db, NULL, err);
    if (st != MFB_OK)
        return st;
    struct job_log_filter filter = {
        .instance = instance, .by_status = true, .status = JOB_STATUS_RUNNING};
    struct job_record *jobs = NULL;
    size_t count = 0;
    st = job_log_list(db, &filter, &jobs, &count, err);
    if (st != MFB_OK)
        return st;
    for (size_t i = 0; i < count; i++) {
        if (jobs[i].pid == (int64_t)getpid() || jobs[i].pid <= 0)
            continue;
        if (kill((pid_t)jobs[i].pid, 0) == 0 || errno == EPERM) {
            st = mfb_error_set(err, MFB_ERR_BUSY,
                               "instance '%s' is busy: %s job %" PRId64 " (pid %" PRId64
                               ") is running",
                               instance, jobs[i].kind, jobs[i].id, jobs[i].pid);
            mfb_error_hint(err, "wait until it has finished ('mfb logs --instance %s')", instance);
            break;
        }
    }
    job_log_list_free(jobs, count);
    return st;
}

mfb_status job_lock_acquire(struct config_db *db, const char *spool, const char *instance,
                            const char *kind, struct job_lock *lock, struct mfb_error *err)
{
    memset(lock, 0, sizeof(*lock));
    lock->fd = -1;
    snprintf(lock->instance, sizeof(lock->instance), "%s", instance);
    snprintf(lock->kind, sizeof(lock->kind), "%s", kind);
    mfb_status st = fs_mkdir_p(spool, 0700, err);
    if (st != MFB_OK) {
        mfb_error_hint(err,
                       "create the spool directory or change it with 'mfb instance set %s "
                       "--spool DIR'",
                       instance);
        return st;
    }
    int n = snprintf(lock->path, sizeof(lock->path), "%s/.mfb-%s.lock", spool, instance);
    if (n < 0 || (size_t)n >= sizeof(lock->path))
        return mfb_error_set(err, MFB_ERR_INVALID, "spool path '%s' is too long", spool);
    int fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open the job lock '%s'", lock->path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            char holder[128];
            describe_holder(fd, holder, sizeof(holder));
            mfb_error_set(err, MFB_ERR_BUSY, "instance '%s' is busy: %s is running", instance,
                          holder);
            mfb_error_hint(err,
                           "two jobs of one instance never run at once; wait until it has "
                           "finished ('mfb logs --instance %s')",
                           instance);
            close(fd);
            return MFB_ERR_BUSY;
        }
        close(fd);
        return mfb_error_errno(err, e, MFB_ERR_IO, "cannot lock '%s'", lock->path);
    }
    lock->fd = fd;
    if (db != NULL) {
        st = check_jobs_table(db, instance, err);
        if (st != MFB_OK) {
            job_lock_release(lock);
            return st;
        }
    }
    write_owner(lock, 0);
    return MFB_OK;
}

void job_lock_set_job(struct job_lock *lock, int64_t job_id)
{
    assert(lock->fd >= 0); /* only the holder names the job in the lock file */
    if (lock->fd >= 0)
        write_owner(lock, job_id);
}

void job_lock_release(struct job_lock *lock)
{
    if (lock->fd < 0)
        return;
    if (ftruncate(lock->fd, 0) != 0)
        log_debug("job-lock", "path=%s note=cannot_clear", lock->path);
    flock(lock->fd, LOCK_UN);
    close(lock->fd);
    lock->fd = -1;
}
