/*
 * job_lock_test.c - one job per instance (job/lock.c): a second lock of the
 * same instance is refused at once with the holder's job and pid, another
 * instance is not affected, a released lock can be taken again, and a job
 * recorded as running by another live process refuses the lock too, until
 * that process is gone.
 */
#include "unit.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/lock.h"
#include "job/spool.h"
#include "scratch.h"

static char dir[PATH_MAX];
static char spool[PATH_MAX + 16];
static char dbpath[PATH_MAX + 16];

static int setup(void **state)
{
    assert_true(unit_scratch_dir("job-lock", dir, sizeof(dir)));
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    snprintf(dbpath, sizeof(dbpath), "%s/mfb.db", dir);
    return 0;
}

static int teardown(void **state)
{
    return spool_remove_tree(dir, NULL) == MFB_OK ? 0 : -1;
}

static void test_second_lock_is_refused(void **state)
{
    struct job_lock a, b, c;
    assert_int_equal(job_lock_acquire(NULL, spool, "prod", "backup", &a, NULL), MFB_OK);
    job_lock_set_job(&a, 45);
    struct stat sb;
    assert_int_equal(stat(spool, &sb), 0); /* made, 0700 */
    assert_int_equal(sb.st_mode & 0777, 0700);
    struct mfb_error err = {0};
    assert_int_equal(job_lock_acquire(NULL, spool, "prod", "resume", &b, &err), MFB_ERR_BUSY);
    char want[256];
    snprintf(want, sizeof(want), "instance 'prod' is busy: backup job 45 (pid %ld) is running",
             (long)getpid());
    assert_string_equal(err.message, want);
    assert_string_equal(err.hint, "two jobs of one instance never run at once; wait until it "
                                  "has finished ('mfb logs --instance prod')");
    assert_int_equal(b.fd, -1);
    /* Another instance in the same spool is independent. */
    assert_int_equal(job_lock_acquire(NULL, spool, "other", "backup", &c, NULL), MFB_OK);
    job_lock_release(&c);
    job_lock_release(&a);
    job_lock_release(&a); /* twice is fine */
    assert_int_equal(job_lock_acquire(NULL, spool, "prod", "backup", &b, NULL), MFB_OK);
    job_lock_release(&b);
}

static void test_running_job_of_another_process(void **state)
{
    struct config_db *db = NULL;
    assert_int_equal(config_db_open(dbpath, true, &db, NULL, NULL), MFB_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        /* Another process records a running backup and stays alive. */
        struct config_db *cdb = NULL;
        struct job_record job;
        if (config_db_open(dbpath, false, &cdb, NULL, NULL) != MFB_OK ||
            job_log_create(cdb, "prod", "rx", "backup", &job, NULL) != MFB_OK)
            _exit(1);
        int64_t id = job.id;
        if (write(fds[1], &id, sizeof(id)) != sizeof(id))
            _exit(1);
        pause();
        _exit(0);
    }
    int64_t id = 0;
    assert_int_equal(read(fds[0], &id, sizeof(id)), sizeof(id));
    struct job_lock l;
    struct mfb_error err = {0};
    assert_int_equal(job_lock_acquire(db, spool, "prod", "backup", &l, &err), MFB_ERR_BUSY);
    char want[256];
    snprintf(want, sizeof(want),
             "instance 'prod' is busy: backup job %" PRId64 " (pid %ld) is running", id,
             (long)child);
    assert_string_equal(err.message, want);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* Its process is gone: the job is an orphan, marked failed, and the
     * lock is free. */
    assert_int_equal(job_lock_acquire(db, spool, "prod", "backup", &l, NULL), MFB_OK);
    job_lock_release(&l);
    struct job_record job;
    assert_int_equal(job_log_get(db, id, &job, NULL), MFB_OK);
    assert_int_equal(job.status, JOB_STATUS_FAILED);
    job_record_free(&job);
    close(fds[0]);
    close(fds[1]);
    config_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_lock_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_job_of_another_process, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
