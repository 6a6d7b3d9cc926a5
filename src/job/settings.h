/*
 * settings.h - the client's tunable settings: the keys of the settings
 * table that mfb reads, with their defaults, their valid range and what
 * they do. One table, so `mfb settings` (cli/cmd_settings.c) validates and
 * documents exactly what the code that reads them (job/journal.c, the
 * daemon's upload retries in daemon/daemon.c) uses.
 *
 * Every setting today is a non-negative integer, 0 turning its feature
 * off. A value stored by hand (sqlite3) that does not parse or is out of
 * range is ignored in favour of the default, with a warning in the log:
 * a typo must not switch job-log retention off silently.
 */
#ifndef MFB_JOB_SETTINGS_H
#define MFB_JOB_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

/* The daemon's automatic upload retries (docs/daemon.md): 30 s doubling
 * to 30 minutes. */
#define SETTINGS_RETRY_INITIAL_S 30
#define SETTINGS_RETRY_MAX_S 1800

struct job_setting {
    const char *name;  /* the key: "log_retention_days" */
    uint64_t fallback; /* the default, used while the key is unset */
    uint64_t max;      /* the largest valid value; the smallest is 0 (off) */
    const char *unit;  /* "days", "jobs" */
    const char *help;  /* one line for `mfb settings` */
};

/* Every setting, in display order; *count gets their number. */
const struct job_setting *job_settings(size_t *count);

/* The setting called name, or NULL (MFB_ERR_USAGE in err, with a hint
 * listing the known names). */
const struct job_setting *job_setting_find(const char *name, struct mfb_error *err);

/* Checks text as a value of s ("90"), storing the number in *value. */
mfb_status job_setting_parse(const struct job_setting *s, const char *text, uint64_t *value,
                             struct mfb_error *err);

/* The value in effect: the stored one, else the default. *is_set (may be
 * NULL) says whether a valid value is stored. Never fails: an unreadable
 * or invalid stored value is logged and the default used. */
uint64_t job_setting_value(struct config_db *db, const struct job_setting *s, int *is_set);

/* job_setting_value by name; the name must be in the table (a bug otherwise). */
uint64_t job_setting_u64(struct config_db *db, const char *name);

#endif
