/*
 * retention.c - the selection rules and their application (see retention.h).
 */
#include "server/retention.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/storage.h"

void retention_merge(const struct srv_policy *instance, const struct srv_policy *client_default,
                     struct retention_limits *out)
{
    out->keep_last = out->max_age_s = out->max_bytes = -1;
    const struct srv_policy *layers[2] = {client_default, instance};
    for (int i = 0; i < 2; i++) {
        const struct srv_policy *p = layers[i];
        if (p == NULL)
            continue;
        if (p->keep_last >= 0)
            out->keep_last = p->keep_last;
        if (p->max_age_s >= 0)
            out->max_age_s = p->max_age_s;
        if (p->max_bytes >= 0)
            out->max_bytes = p->max_bytes;
    }
}

bool retention_limits_any(const struct retention_limits *l)
{
    return l->keep_last > 0 || l->max_age_s >= 0 || l->max_bytes >= 0;
}

size_t retention_select(struct retention_item *items, size_t count,
                        const struct retention_limits *limits, int64_t now)
{
    size_t deleted = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        struct retention_item *it = &items[i];
        it->reason = NULL;
        total += it->size;
        if (i == 0)
            continue; /* the newest backup of an instance is never deleted */
        if (limits->keep_last > 0 && (int64_t)i >= limits->keep_last)
            it->reason = "keep-last";
        else if (limits->max_age_s >= 0 && now - it->created > limits->max_age_s)
            it->reason = "max-age";
        else if (limits->max_bytes >= 0 && total > (uint64_t)limits->max_bytes)
            it->reason = "max-bytes";
        if (it->reason != NULL) {
            deleted++;
            total -= it->size; /* a deleted backup no longer counts against the cap */
        }
    }
    return deleted;
}

/* Newest first by publish time, then by id: on a shared storage every
 * receiver must rank the same backups the same way, or two receivers could
 * each keep a different "newest" of two backups published in the same
 * second and delete the other's (the catalog's own order breaks such ties
 * by insertion order, which differs between receivers). */
static int newest_first(const void *a, const void *b)
{
    const struct srv_backup *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return -strcmp(x->id, y->id);
}

mfb_status retention_plan(struct server_db *db, struct storage *storage, int64_t client_id,
                          const char *instance, int64_t now, struct retention_plan *plan,
                          struct mfb_error *err)
{
    memset(plan, 0, sizeof(*plan));
    struct srv_policy own, dflt;
    bool have_own, have_default;
    mfb_status st = server_db_policy_get(db, client_id, instance, &own, &have_own, err);
    if (st == MFB_OK)
        st = server_db_policy_get(db, client_id, "", &dflt, &have_default, err);
    if (st != MFB_OK)
        return st;
    retention_merge(have_own ? &own : NULL, have_default ? &dflt : NULL, &plan->limits);
    plan->any = retention_limits_any(&plan->limits);
    if (!plan->any)
        return MFB_OK;

    st = server_db_backup_list(db, client_id, instance, &plan->list, &plan->count, err);
    if (st != MFB_OK)
        return st;
    if (storage_shared(storage))
        qsort(plan->list, plan->count, sizeof(*plan->list), newest_first);
    /* items[0] is the next backup, as if it arrived now: selecting over
     * it says what goes then (next[]); items + 1 is the list as it is. */
    struct retention_item *items = calloc(plan->count + 1, sizeof(*items));
    plan->next = calloc(plan->count ? plan->count : 1, sizeof(*plan->next));
    plan->items = calloc(plan->count ? plan->count : 1, sizeof(*plan->items));
    if (items == NULL || plan->next == NULL || plan->items == NULL) {
        free(items);
        retention_plan_free(plan);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    items[0].created = now;
    items[0].size = plan->count ? plan->list[0].size : 0;
    for (size_t i = 0; i < plan->count; i++) {
        plan->items[i].created = items[i + 1].created = plan->list[i].created;
        plan->items[i].size = items[i + 1].size = plan->list[i].size;
    }
    plan->due = retention_select(plan->items, plan->count, &plan->limits, now);
    retention_select(items, plan->count + 1, &plan->limits, now);
    for (size_t i = 0; i < plan->count; i++)
        plan->next[i] = items[i + 1].reason;
    free(items);
    return MFB_OK;
}

void retention_plan_free(struct retention_plan *plan)
{
    server_db_backup_list_free(plan->list, plan->count);
    free(plan->items);
    free(plan->next);
    memset(plan, 0, sizeof(*plan));
}

/* Applies the limits to the backups of one client and instance. */
static mfb_status apply_instance(struct server_db *db, struct storage *storage, int64_t client_id,
                                 const char *instance, bool dry_run, retention_fn on_delete,
                                 void *ctx, struct retention_report *report, struct mfb_error *err)
{
    struct retention_plan plan;
    mfb_status st =
        retention_plan(db, storage, client_id, instance, (int64_t)time(NULL), &plan, err);
    if (st != MFB_OK)
        return st;
    for (size_t i = 0; i < plan.count && st == MFB_OK; i++) {
        if (plan.items[i].reason == NULL)
            continue;
        const struct srv_backup *b = &plan.list[i];
        if (!dry_run) {
            /* Several receivers on one bucket may pick the same backup at
             * once: only the one whose claim wins deletes it. */
            struct mfb_error claim = {0};
            st = storage_claim_delete(storage, b->id, &claim);
            if (st == MFB_ERR_EXISTS) {
                st = server_db_backup_delete(db, b->id, err);
                log_info("retention-skipped",
                         "client=%s instance=%s backup=%s reason=deleted-by-another-receiver",
                         b->client, LOG_Q(b->instance), b->id);
                continue;
            }
            if (st != MFB_OK) {
                mfb_error_copy(err, &claim);
                break;
            }
            st = server_db_backup_delete(db, b->id, err);
            if (st == MFB_OK)
                st = storage_delete_backup(storage, b->path, err);
        }
        if (st != MFB_OK)
            break;
        log_info("retention", "%s client=%s instance=%s backup=%s path=%s bytes=%llu reason=%s",
                 dry_run ? "would-delete" : "deleted", b->client, LOG_Q(b->instance), b->id,
                 LOG_Q(b->path), (unsigned long long)b->size, plan.items[i].reason);
        if (on_delete)
            on_delete(ctx, b, plan.items[i].reason, dry_run);
        if (report) {
            report->deleted++;
            report->bytes += b->size;
        }
    }
    retention_plan_free(&plan);
    return st;
}

mfb_status retention_apply(struct server_db *db, struct storage *storage, int64_t client_id,
                           const char *instance, bool dry_run, retention_fn on_delete, void *ctx,
                           struct retention_report *report, struct mfb_error *err)
{
    if (report)
        memset(report, 0, sizeof(*report));
    if (client_id > 0 && instance != NULL)
        return apply_instance(db, storage, client_id, instance, dry_run, on_delete, ctx, report,
                              err);
    /* Every (client, instance) pair that has backups. */
    struct srv_backup *list = NULL;
    size_t count = 0;
    mfb_status st = server_db_backup_list(db, client_id, instance, &list, &count, err);
    if (st != MFB_OK)
        return st;
    struct pair {
        int64_t client_id;
        const char *instance;
    } *pairs = calloc(count ? count : 1, sizeof(*pairs));
    size_t npairs = 0;
    if (pairs == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        bool seen = false;
        for (size_t j = 0; j < npairs && !seen; j++)
            seen = pairs[j].client_id == list[i].client_id &&
                   strcmp(pairs[j].instance, list[i].instance) == 0;
        if (!seen)
            pairs[npairs++] = (struct pair){list[i].client_id, list[i].instance};
    }
    struct retention_report sub;
    for (size_t j = 0; j < npairs && st == MFB_OK; j++) {
        memset(&sub, 0, sizeof(sub));
        st = apply_instance(db, storage, pairs[j].client_id, pairs[j].instance, dry_run, on_delete,
                            ctx, &sub, err);
        if (report) {
            report->deleted += sub.deleted;
            report->bytes += sub.bytes;
        }
    }
done:
    free(pairs);
    server_db_backup_list_free(list, count);
    return st;
}
