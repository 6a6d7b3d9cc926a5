/*
 * retention.h - which backups to delete, and deleting them.
 *
 * Policies are per client and instance, with a client-wide default
 * (instance ""): an instance's own limits override the default limit by
 * limit. Limits: keep the last N, keep for at most an age, cap the total
 * bytes of an instance's backups. A backup goes when any limit says so,
 * except that the newest complete backup of an instance is never deleted,
 * whatever the limits. Retention only ever looks at published backups, so
 * an upload in progress cannot be touched; abandoned uploads are expired
 * separately, by age of their last activity.
 *
 * retention_select is a pure function over a list, so the rules are tested
 * without a database or a disk; retention_plan applies it to one
 * instance's backups (what goes now, and what would go once the next
 * backup arrives: the receiver's dashboard shows both), and
 * retention_apply does the deleting, from the same plan.
 */
#ifndef MFB_SERVER_RETENTION_H
#define MFB_SERVER_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/server_db.h"

struct storage;

struct retention_limits {
    int64_t keep_last; /* -1 or 0: no limit */
    int64_t max_age_s; /* -1: no limit */
    int64_t max_bytes; /* -1: no limit */
};

struct retention_item {
    int64_t created;
    uint64_t size;
    const char *reason; /* set by retention_select when the item is to go: "keep-last", ... */
};

/* The limits for an instance: its own policy over the client default. */
void retention_merge(const struct srv_policy *instance, const struct srv_policy *client_default,
                     struct retention_limits *out);

bool retention_limits_any(const struct retention_limits *l);

/* items: one instance's backups, newest first. Sets reason on each to
 * delete (NULL on those kept) and returns how many go. items[0] always stays. */
size_t retention_select(struct retention_item *items, size_t count,
                        const struct retention_limits *limits, int64_t now);

/* One instance's backups under its limits. */
struct retention_plan {
    struct retention_limits limits;
    bool any;                     /* a limit applies; else the rest is empty */
    struct srv_backup *list;      /* newest first, as retention ranks them */
    struct retention_item *items; /* items[i].reason: why list[i] goes now (NULL: it stays) */
    const char **next;            /* why list[i] goes once the next backup arrives, or NULL */
    size_t count;
    size_t due; /* how many go now */
};

/* The plan for client_id's instance at time now (Unix seconds). Release
 * with retention_plan_free. */
mfb_status retention_plan(struct server_db *db, struct storage *storage, int64_t client_id,
                          const char *instance, int64_t now, struct retention_plan *plan,
                          struct mfb_error *err);
void retention_plan_free(struct retention_plan *plan);

struct retention_report {
    size_t deleted;
    uint64_t bytes;
};

/* Called for each backup that goes (or would go, with dry_run). */
typedef void (*retention_fn)(void *ctx, const struct srv_backup *b, const char *reason,
                             bool dry_run);

/* Applies the policies of one client (client_id > 0) or of all (0), to one
 * instance (instance non-NULL) or all. With dry_run nothing is deleted but
 * each backup that would go is reported and counted. on_delete may be NULL. */
mfb_status retention_apply(struct server_db *db, struct storage *storage, int64_t client_id,
                           const char *instance, bool dry_run, retention_fn on_delete, void *ctx,
                           struct retention_report *report, struct mfb_error *err);

#endif
