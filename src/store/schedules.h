/*
 * schedules.h - the daemon's backup schedules in the client's configuration
 * database (store/config_db.h, docs/schedules.md): a cron expression and
 * its time zone, the instance and target to back up, what to do about runs
 * missed while the daemon was down, a random delay, and the last job run.
 *
 * A schedule names its instance and target by name, as the job log does;
 * NULL target means "the only stored target", the rule of `mfb backup`,
 * applied when the schedule runs. Adding or changing a schedule refuses an
 * instance or a named target that does not exist, and removing an instance
 * or a target that a schedule uses is refused (config_instance_remove,
 * config_target_remove), so a stored schedule never names a missing one.
 *
 * The expression and the zone are stored as text; checking them is the
 * cron module's job (sched/cron.h), which the commands call before saving.
 * Times: created/updated are Unix seconds.
 */
#ifndef MFB_STORE_SCHEDULES_H
#define MFB_STORE_SCHEDULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

#define CONFIG_SCHEDULE_DEFAULT_TZ "UTC"

/* What a schedule runs: a backup, or a restore drill of the instance's
 * latest backup (docs/drill.md). */
enum config_schedule_kind {
    CONFIG_SCHEDULE_BACKUP,
    CONFIG_SCHEDULE_DRILL,
};

/* What the daemon does about runs it missed while it was not running. */
enum config_catch_up {
    CONFIG_CATCH_UP_ONCE, /* run once for all of them (the default) */
    CONFIG_CATCH_UP_SKIP, /* wait for the next run time */
};

struct config_schedule {
    int64_t id;
    char name[CONFIG_NAME_BUF];
    char instance[CONFIG_NAME_BUF];
    char *target; /* NULL: the only stored target */
    enum config_schedule_kind kind;
    char *cron; /* "MIN HOUR DOM MON DOW" or an @-shortcut */
    char *tz;   /* IANA name, "UTC" or "local" */
    enum config_catch_up catch_up;
    uint64_t jitter_ms;
    bool paused;
    int64_t created;
    int64_t updated;
    int64_t last_run_job_id; /* 0: never run */
    /* Read from the job log with the schedule (never stored by add or
     * update): the last run's status ("ok", "failed", ...) and start, or ""
     * and 0 when it has not run or its job was pruned. */
    char last_run_status[32];
    int64_t last_run_started;
};

/* "backup". */
const char *config_schedule_kind_str(enum config_schedule_kind k);
mfb_status config_schedule_kind_parse(const char *text, enum config_schedule_kind *k,
                                      struct mfb_error *err);
/* "once", "skip". */
const char *config_catch_up_str(enum config_catch_up c);
mfb_status config_catch_up_parse(const char *text, enum config_catch_up *c, struct mfb_error *err);

/* Zeroes s and sets the defaults (backup, UTC, catch up once). */
void config_schedule_init(struct config_schedule *s);
/* Frees the strings; s may be reused after init. */
void config_schedule_free(struct config_schedule *s);

/* MFB_ERR_EXISTS, with a hint, when a schedule has this name. */
mfb_status config_schedule_check_new(struct config_db *db, const char *name, struct mfb_error *err);
/* Stores a new schedule: MFB_ERR_EXISTS when the name is taken,
 * MFB_ERR_NOT_FOUND when its instance or named target does not exist.
 * Sets id, created and updated. */
mfb_status config_schedule_add(struct config_db *db, struct config_schedule *s,
                               struct mfb_error *err);
/* MFB_ERR_NOT_FOUND, with a hint, when there is none. Fills *out
 * (allocated strings; config_schedule_free). */
mfb_status config_schedule_get(struct config_db *db, const char *name, struct config_schedule *out,
                               struct mfb_error *err);
/* Every schedule, by name. *list is allocated; config_schedule_list_free. */
mfb_status config_schedule_list(struct config_db *db, struct config_schedule **list, size_t *count,
                                struct mfb_error *err);
void config_schedule_list_free(struct config_schedule *list, size_t count);
/* Replaces the stored schedule of the same name with s (not its last run);
 * the instance and target are checked as in add. Sets updated. */
mfb_status config_schedule_update(struct config_db *db, struct config_schedule *s,
                                  struct mfb_error *err);
/* Pauses or resumes a schedule; MFB_ERR_NOT_FOUND when there is none. */
mfb_status config_schedule_set_paused(struct config_db *db, const char *name, bool paused,
                                      struct mfb_error *err);
/* Records the job a schedule's last run started (for the daemon). */
mfb_status config_schedule_set_last_run(struct config_db *db, const char *name, int64_t job_id,
                                        struct mfb_error *err);
/* When the daemon last fired schedule s, from the queue (store/job_queue.h):
 * the enqueue time (Unix ms) of the newest entry with trigger
 * schedule:NAME, or of a catch-up entry of its instance; 0 when none. */
mfb_status config_schedule_last_fired(struct config_db *db, const struct config_schedule *s,
                                      int64_t *at_ms, struct mfb_error *err);
/* Removes a schedule; the jobs it ran stay in the log. */
mfb_status config_schedule_remove(struct config_db *db, const char *name, struct mfb_error *err);

#endif
