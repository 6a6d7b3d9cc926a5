/*
 * run.h - private to src/job/restore/: the state one restore run carries
 * from step to step (struct run, with a struct root_state per root of the
 * plan), and the small helpers every step uses. restore.c orders the
 * steps; each other file holds one concept of them, and its header (also
 * private) what it offers the others: source.h, preflight.h,
 * staging_record.h, roots.h, downtime.h, report.h. Nothing outside this
 * folder includes them: the restore's interface is restore.h.
 */
#ifndef MFB_JOB_RESTORE_RUN_H
#define MFB_JOB_RESTORE_RUN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "archive/manifest.h"
#include "archive/reader.h"
#include "common/cancel.h"
#include "common/status.h"
#include "job/journal.h"
#include "job/lock.h"
#include "job/restore/fetch.h"
#include "job/restore/ownership.h"
#include "job/restore/plan.h"
#include "job/restore/restore.h"
#include "job/restore/resume.h"
#include "job/restore/stage.h"
#include "mysql/discover.h"

#define CONNECT_MS 10000 /* the first look at the server */
#define VERSION_MS 10000 /* `mariadbd --version` */
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

/* One restore, from restore_run's start to its end; grouped by what each
 * part of the pipeline reads and writes. */
struct run {
    /* what was asked, and where the outcome goes */
    const struct restore_options *o;
    const struct config_instance *inst;
    struct restore_result *res;
    const char *target; /* its name */
    const struct transfer_peer *client;
    /* the backup (source.c) and the plan for its roots (preflight.c) */
    struct archive_reader *reader;
    bool streaming; /* staged: reader is on the tail, the download runs behind it (stream.h) */
    struct manifest manifest;
    const json_t *metadata;
    struct restore_tops tops;
    struct restore_plan plan;
    struct root_state *roots;
    /* the server (preflight.c, downtime.c) */
    const struct mysql_method *method;
    const struct mysql_endpoint *ep;
    struct mysql_server_info *info; /* when the server ran */
    bool was_running;
    struct ownership server_user; /* who the server ran as, when it ran */
    bool started;                 /* a start command ran after the stop */
    uint64_t stop_begin_ms;
    /* the job's record and lock, and the names they give (report.c) */
    struct job_journal jr;
    bool have_job;
    struct job_lock lock;
    const char *lock_dir; /* the instance lock's directory, also the swap journal's */
    char stamp[48];
    const char *step; /* "preflight", "stop", "extract", "start": the job's
                         error_step when it fails (the first error wins) */
    /* the swap journal (roots.c), kept when the way back failed (downtime.c) */
    bool critical;          /* the way back failed: the swap journal stays */
    char journal[PATH_MAX]; /* the swap journal ("" in place or --to) */
    /* the staging record (resume.h, staging_record.c): staged restores only */
    char record[PATH_MAX + 64]; /* "" when there is none to keep */
    struct resume_writer writer;
    struct resume_record adopted; /* the interrupted run's, when adopted */
    bool *reuse;                  /* per archive entry: staged by it and unchanged */
    uint64_t reused_entries, reused_bytes;
};

/* ---- the small helpers every step uses ---- */

static inline bool run_cancelled(const struct run *r)
{
    return cancel_token_requested(r->o->cancel);
}

static inline mfb_status run_cancel_error(struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_CANCELLED, "restore cancelled");
}

static inline uint64_t run_timeout(const struct run *r, enum config_timeout t)
{
    return r->inst->timeout_ms[t] ? r->inst->timeout_ms[t] : config_timeout_default(t);
}

#endif
