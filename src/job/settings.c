/*
 * settings.c - the table of the client's settings and their checks (see
 * settings.h).
 */
#include "job/settings.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "job/journal.h"
#include "store/config_records.h"

static const struct job_setting settings[] = {
    {"log_retention_days", JOURNAL_RETENTION_DAYS, 36500, "days",
     "after each job, delete finished jobs (and their events) older than this; 0: keep all"},
    {"log_retention_count", JOURNAL_RETENTION_COUNT, 100000000, "jobs",
     "after each job, keep only this many newest finished jobs; 0: no limit"},
    {"retry_initial", SETTINGS_RETRY_INITIAL_S, 86400, "seconds",
     "the daemon retries a pending_upload job after this long, doubling each time; 0: no "
     "automatic retry"},
    {"retry_max", SETTINGS_RETRY_MAX_S, 86400, "seconds",
     "the longest wait between two automatic retries of an upload (at least retry_initial)"},
};

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

const struct job_setting *job_settings(size_t *count)
{
    *count = SETTING_COUNT;
    return settings;
}

const struct job_setting *job_setting_find(const char *name, struct mfb_error *err)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    mfb_error_set(err, MFB_ERR_USAGE, "unknown setting '%s'", name);
    mfb_error_hint(err, "the settings are log_retention_days, log_retention_count, "
                        "retry_initial and retry_max; 'mfb settings' shows them");
    return NULL;
}

mfb_status job_setting_parse(const struct job_setting *s, const char *text, uint64_t *value,
                             struct mfb_error *err)
{
    struct mfb_error local = {0};
    if (parse_uint(text, 0, s->max, value, &local) == MFB_OK)
        return MFB_OK;
    mfb_error_set(err, MFB_ERR_USAGE, "invalid value '%s' for %s", text, s->name);
    mfb_error_hint(err, "give a whole number of %s from 0 (off) to %llu", s->unit,
                   (unsigned long long)s->max);
    return MFB_ERR_USAGE;
}

uint64_t job_setting_value(struct config_db *db, const struct job_setting *s, int *is_set)
{
    char *text = NULL;
    struct mfb_error e = {0};
    uint64_t v = s->fallback;
    if (is_set)
        *is_set = 0;
    if (config_setting_get(db, s->name, &text, &e) != MFB_OK) {
        log_warn("settings", "name=%s note=cannot_read error=\"%s\" using=%llu", s->name, e.message,
                 (unsigned long long)v);
    } else if (text != NULL && job_setting_parse(s, text, &v, &e) != MFB_OK) {
        v = s->fallback;
        log_warn("settings", "name=%s note=invalid_stored_value value=\"%s\" using=%llu", s->name,
                 text, (unsigned long long)v);
    } else if (text != NULL && is_set) {
        *is_set = 1;
    }
    free(text);
    return v;
}

uint64_t job_setting_u64(struct config_db *db, const char *name)
{
    const struct job_setting *s = job_setting_find(name, NULL);
    return s ? job_setting_value(db, s, NULL) : 0;
}
