/*
 * server_monitor.h - the receiver's silence alarms in its catalog
 * (docs/monitoring.md; migration 2 of server_db.c): the alert channels the
 * receiver sends to (the client's channel record, store/config_records.h,
 * so one sender serves both: alert/alert.h), and per client and instance
 * how often a complete backup is expected, with the alarm that fires now;
 * and, for the receiver's dashboard (server/dashboard.h), the uploads in
 * progress with the bytes their durably stored chunks hold.
 *
 * Times are Unix seconds, as everywhere in the catalog.
 */
#ifndef MFB_STORE_SERVER_MONITOR_H
#define MFB_STORE_SERVER_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_records.h"
#include "store/server_db.h"

/* ---- alert channels ---- */

/* MFB_ERR_EXISTS when the name is taken. Sets created, updated and id. */
mfb_status server_db_alert_add(struct server_db *db, struct config_alert *a, struct mfb_error *err);
/* Every channel, by name. *list is allocated; config_alert_list_free. */
mfb_status server_db_alert_list(struct server_db *db, struct config_alert **list, size_t *count,
                                struct mfb_error *err);
/* MFB_ERR_NOT_FOUND when there is none. */
mfb_status server_db_alert_remove(struct server_db *db, const char *name, struct mfb_error *err);

/* ---- expectations ---- */

struct srv_expect {
    int64_t client_id;
    char client[SRV_NAME_BUF];
    char instance[SRV_NAME_BUF];
    int64_t every_s;
    int64_t created;     /* when the expectation was set first */
    int64_t alarm_since; /* 0: the alarm does not fire */
    int64_t alarm_sent;  /* when it was last sent */
    int64_t last_backup; /* when the newest complete backup was stored; 0: none */
    bool client_active;
};

/* Sets (or changes) the expectation of client's instance; a firing
 * alarm's state is kept. MFB_ERR_NOT_FOUND for an unknown client. */
mfb_status server_db_expect_set(struct server_db *db, const char *client, const char *instance,
                                int64_t every_s, struct mfb_error *err);
/* MFB_ERR_NOT_FOUND when there is none. */
mfb_status server_db_expect_remove(struct server_db *db, const char *client, const char *instance,
                                   struct mfb_error *err);
/* Every expectation with its last complete backup, by client and
 * instance. *list is allocated (free()). */
mfb_status server_db_expect_list(struct server_db *db, struct srv_expect **list, size_t *count,
                                 struct mfb_error *err);
/* Records the alarm's state: since 0 clears it. */
mfb_status server_db_expect_alarm(struct server_db *db, int64_t client_id, const char *instance,
                                  int64_t since, int64_t sent, struct mfb_error *err);

/* ---- uploads in progress ---- */

struct srv_upload_progress {
    char id[SRV_ID_BUF];
    char client[SRV_NAME_BUF];
    char instance[SRV_NAME_BUF];
    char name[SRV_NAME_BUF];
    bool size_known;
    uint64_t size;     /* declared size; 0 when not known */
    uint64_t received; /* bytes of the chunks recorded so far */
    int64_t created;
    int64_t updated; /* last chunk or other activity */
};

/* Every open (not yet complete) upload, oldest first. *list is allocated
 * (free()). */
mfb_status server_db_upload_progress(struct server_db *db, struct srv_upload_progress **list,
                                     size_t *count, struct mfb_error *err);

#endif
