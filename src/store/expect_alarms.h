/*
 * expect_alarms.h - the silence alarms that fire now (docs/monitoring.md),
 * in the client's database (migration 7): per instance and kind (no good
 * backup, no good drill), since when it fires and when it was last sent.
 * The daemon's expectation checker (daemon/expect.h) is the only writer;
 * keeping the state in the database makes a restarted daemon keep the
 * repeat rate and still send the recovery notice. Times are Unix ms.
 */
#ifndef MFB_STORE_EXPECT_ALARMS_H
#define MFB_STORE_EXPECT_ALARMS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_db.h"

enum expect_what { EXPECT_BACKUP, EXPECT_DRILL };

/* "backup", "drill". */
const char *expect_what_str(enum expect_what w);

struct expect_alarm {
    int64_t since_ms;     /* when it began to fire */
    int64_t last_sent_ms; /* when it was last sent */
};

/* *found false when the alarm does not fire. */
mfb_status expect_alarm_get(struct config_db *db, const char *instance, enum expect_what what,
                            struct expect_alarm *out, bool *found, struct mfb_error *err);
/* Records that the alarm fires (since) and was sent at last_sent. */
mfb_status expect_alarm_set(struct config_db *db, const char *instance, enum expect_what what,
                            const struct expect_alarm *a, struct mfb_error *err);
/* The alarm no longer fires. */
mfb_status expect_alarm_clear(struct config_db *db, const char *instance, enum expect_what what,
                              struct mfb_error *err);
/* Forgets the alarms of instances that were removed, and of expectations
 * that were (an expectation removed while it fired ends without a notice). */
mfb_status expect_alarm_prune(struct config_db *db, struct mfb_error *err);

#endif
