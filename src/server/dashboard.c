/*
 * dashboard.c - the receiver dashboard's password, assets and data (see
 * dashboard.h); its routes and login are in api_dashboard.c.
 *
 * The overview is computed on each request from the catalog, like the
 * metrics page (metrics.c): a catalog holds thousands of backups at most.
 * The instances shown are those with backups and those with an
 * expectation (an instance expected but never seen is the most overdue of
 * all). Whether one is overdue is the silence alarms' decision
 * (silence_decide); what retention deletes is retention_plan's, the same
 * plan `retention apply` acts on.
 */
#include "server/dashboard.h"

#include <stdlib.h>
#include <string.h>

#include "alert/silence.h"
#include "server/retention.h"
#include "server/server.h"
#include "server/storage.h"
#include "store/server_monitor.h"
#include "ui/password.h"

/* How many of an instance's backups, newest first, are searched for the
 * newest restore drill. */
#define DRILL_SEARCH_MAX 50

void dashboard_init(struct dashboard *d)
{
    memset(d, 0, sizeof(*d));
    ui_sessions_init(&d->sessions, UI_SESSION_IDLE_MS);
    pthread_mutex_init(&d->login_lock, NULL);
    d->secure = true;
}

void dashboard_destroy(struct dashboard *d)
{
    ui_sessions_destroy(&d->sessions);
    pthread_mutex_destroy(&d->login_lock);
}

const struct ui_asset *dash_asset_find(const char *path)
{
    return ui_asset_lookup(dash_assets, path);
}

mfb_status dashboard_password_set(struct server_db *db, const char *password, struct mfb_error *err)
{
    mfb_status st = ui_password_check(password, err);
    if (st != MFB_OK)
        return st;
    char hash[UI_HASH_BUF];
    st = ui_password_hash(password, hash, sizeof(hash), err);
    if (st == MFB_OK)
        st = server_db_setting_set(db, DASH_PASSWORD_KEY, hash, err);
    memset(hash, 0, sizeof(hash));
    return st;
}

/* One client's instance on the page. */
struct row {
    int64_t client_id;
    const char *client, *instance; /* borrowed from the lists below */
    bool client_active;
    const struct srv_expect *expect; /* NULL: none */
};

struct lists {
    struct srv_client *clients;
    size_t nclients;
    struct srv_backup *backups; /* newest first */
    size_t nbackups;
    struct srv_expect *expects;
    size_t nexpects;
    struct row *rows;
    size_t nrows;
};

static void lists_free(struct lists *l)
{
    free(l->clients);
    server_db_backup_list_free(l->backups, l->nbackups);
    free(l->expects);
    free(l->rows);
}

static bool client_active(const struct lists *l, int64_t id)
{
    for (size_t i = 0; i < l->nclients; i++)
        if (l->clients[i].id == id)
            return l->clients[i].active;
    return false;
}

static struct row *row_find(struct lists *l, int64_t client_id, const char *instance)
{
    for (size_t i = 0; i < l->nrows; i++)
        if (l->rows[i].client_id == client_id && strcmp(l->rows[i].instance, instance) == 0)
            return &l->rows[i];
    return NULL;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->client, y->client);
    return c ? c : strcmp(x->instance, y->instance);
}

static mfb_status load_lists(struct server *srv, struct lists *l, struct mfb_error *err)
{
    memset(l, 0, sizeof(*l));
    mfb_status st = server_db_client_list(srv->db, &l->clients, &l->nclients, err);
    if (st == MFB_OK)
        st = server_db_backup_list(srv->db, 0, NULL, &l->backups, &l->nbackups, err);
    if (st == MFB_OK)
        st = server_db_expect_list(srv->db, &l->expects, &l->nexpects, err);
    if (st != MFB_OK)
        return st;
    size_t most = l->nbackups + l->nexpects;
    l->rows = calloc(most ? most : 1, sizeof(*l->rows));
    if (l->rows == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < l->nbackups; i++) {
        const struct srv_backup *b = &l->backups[i];
        if (row_find(l, b->client_id, b->instance) == NULL)
            l->rows[l->nrows++] = (struct row){b->client_id, b->client, b->instance,
                                               client_active(l, b->client_id), NULL};
    }
    for (size_t i = 0; i < l->nexpects; i++) {
        const struct srv_expect *e = &l->expects[i];
        struct row *r = row_find(l, e->client_id, e->instance);
        if (r == NULL) {
            r = &l->rows[l->nrows++];
            *r = (struct row){e->client_id, e->client, e->instance, e->client_active, NULL};
        }
        r->expect = e;
    }
    qsort(l->rows, l->nrows, sizeof(*l->rows), row_cmp);
    return MFB_OK;
}

static json_t *backup_brief(const struct srv_backup *b)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "id", b->id, "name", b->name, "created",
                     (json_int_t)b->created, "size", (json_int_t)b->size);
}

/* The newest restore drill of the row's backups (list: newest first). */
static mfb_status drill_json(struct server *srv, const struct lists *l, const struct row *r,
                             json_t *out, struct mfb_error *err)
{
    size_t seen = 0;
    bool latest = true;
    for (size_t i = 0; i < l->nbackups && seen < DRILL_SEARCH_MAX; i++) {
        const struct srv_backup *b = &l->backups[i];
        if (b->client_id != r->client_id || strcmp(b->instance, r->instance) != 0)
            continue;
        seen++;
        struct srv_verification v;
        bool found = false;
        mfb_status st = server_db_verification_last(srv->db, b->id, &v, &found, err);
        if (st != MFB_OK)
            return st;
        if (found) {
            json_object_set_new(out, "drill",
                                json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s}", "backup_id",
                                          b->id, "backup_name", b->name, "result", v.result, "time",
                                          (json_int_t)v.time, "tables", (json_int_t)v.tables,
                                          "verified_by", v.verified_by, "of_latest", latest,
                                          "detail", v.detail));
            return MFB_OK;
        }
        latest = false;
    }
    json_object_set_new(out, "drill", json_null());
    return MFB_OK;
}

static json_t *limit_or_null(int64_t v, bool positive_only)
{
    if (v < 0 || (positive_only && v == 0))
        return json_null();
    return json_integer((json_int_t)v);
}

/* The instance's policy, what goes now and what goes at the next backup. */
static mfb_status retention_json(struct server *srv, const struct row *r, int64_t now, json_t *out,
                                 struct mfb_error *err)
{
    struct retention_plan plan;
    mfb_status st = retention_plan(srv->db, srv->store, r->client_id, r->instance, now, &plan, err);
    if (st != MFB_OK)
        return st;
    json_t *due = json_array(), *next = json_array();
    for (size_t i = 0; i < plan.count; i++) {
        const char *reason = plan.items[i].reason ? plan.items[i].reason : plan.next[i];
        if (reason == NULL)
            continue;
        json_t *b = backup_brief(&plan.list[i]);
        json_object_set_new(b, "reason", json_string(reason));
        json_array_append_new(plan.items[i].reason ? due : next, b);
    }
    json_object_set_new(out, "retention",
                        json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "policy", plan.any, "keep_last",
                                  limit_or_null(plan.limits.keep_last, true), "max_age_s",
                                  limit_or_null(plan.limits.max_age_s, false), "max_bytes",
                                  limit_or_null(plan.limits.max_bytes, false), "due_now", due,
                                  "at_next_backup", next));
    retention_plan_free(&plan);
    return MFB_OK;
}

static mfb_status row_json(struct server *srv, const struct lists *l, const struct row *r,
                           int64_t now, json_t **out, struct mfb_error *err)
{
    const struct srv_backup *newest = NULL;
    uint64_t stored = 0, count = 0;
    for (size_t i = 0; i < l->nbackups; i++) {
        const struct srv_backup *b = &l->backups[i];
        if (b->client_id != r->client_id || strcmp(b->instance, r->instance) != 0)
            continue;
        if (newest == NULL || b->created > newest->created)
            newest = b;
        stored += b->size;
        count++;
    }
    json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:I}", "client", r->client, "instance", r->instance,
                          "client_active", r->client_active, "backups", (json_int_t)count,
                          "stored_bytes", (json_int_t)stored);
    json_object_set_new(o, "last_backup", newest ? backup_brief(newest) : json_null());
    json_object_set_new(o, "age_s",
                        newest ? json_integer((json_int_t)(now - newest->created)) : json_null());
    if (r->expect != NULL) {
        const struct srv_expect *e = r->expect;
        int64_t last = newest ? newest->created : 0;
        uint64_t every_ms = (uint64_t)e->every_s * 1000;
        enum silence_action act =
            silence_decide(every_ms, last * 1000, e->created * 1000, now * 1000, false, 0);
        /* A removed client's silence is expected: the checker skips it
         * (server/expect.c), and so does the mark. */
        bool overdue = e->client_active && act == SILENCE_FIRE;
        json_object_set_new(o, "expect",
                            json_pack("{s:I, s:b, s:b, s:I}", "every_s", (json_int_t)e->every_s,
                                      "checked", e->client_active, "overdue", overdue, "since",
                                      (json_int_t)(last > 0 ? last : e->created)));
    } else {
        json_object_set_new(o, "expect", json_null());
    }
    mfb_status st = drill_json(srv, l, r, o, err);
    if (st == MFB_OK)
        st = retention_json(srv, r, now, o, err);
    if (st != MFB_OK) {
        json_decref(o);
        return st;
    }
    *out = o;
    return MFB_OK;
}

static mfb_status uploads_json(struct server *srv, json_t *out, struct mfb_error *err)
{
    struct srv_upload_progress *list = NULL;
    size_t n = 0;
    mfb_status st = server_db_upload_progress(srv->db, &list, &n, err);
    if (st != MFB_OK)
        return st;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct srv_upload_progress *u = &list[i];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "id", u->id, "client",
                         u->client, "instance", u->instance, "name", u->name, "size",
                         u->size_known ? json_integer((json_int_t)u->size) : json_null(),
                         "received", (json_int_t)u->received, "created", (json_int_t)u->created,
                         "updated", (json_int_t)u->updated));
    }
    json_object_set_new(out, "uploads", a);
    free(list);
    return MFB_OK;
}

static mfb_status storage_json(struct server *srv, const struct lists *l, json_t *out,
                               struct mfb_error *err)
{
    uint64_t used = 0, avail = 0, total = 0;
    for (size_t i = 0; i < l->nbackups; i++)
        used += l->backups[i].size;
    mfb_status st = storage_free_bytes(srv->store, &avail, &total, err);
    if (st != MFB_OK)
        return st;
    /* A bucket has no free space to tell (storage.h). */
    bool bucket = srv->cfg.s3;
    json_object_set_new(out, "storage",
                        json_pack("{s:s, s:I, s:o, s:o}", "kind", storage_kind(srv->store),
                                  "backup_bytes", (json_int_t)used, "free_bytes",
                                  bucket ? json_null() : json_integer((json_int_t)avail),
                                  "total_bytes",
                                  bucket ? json_null() : json_integer((json_int_t)total)));
    return MFB_OK;
}

mfb_status dashboard_overview(struct server *srv, int64_t now, json_t **out, struct mfb_error *err)
{
    *out = NULL;
    struct lists l;
    json_t *o = json_pack("{s:I, s:s}", "now", (json_int_t)now, "version", MFB_VERSION);
    json_t *rows = json_array(), *clients = json_array();
    json_object_set_new(o, "instances", rows);
    json_object_set_new(o, "clients", clients);
    mfb_status st = load_lists(srv, &l, err);
    for (size_t i = 0; st == MFB_OK && i < l.nrows; i++) {
        json_t *r = NULL;
        st = row_json(srv, &l, &l.rows[i], now, &r, err);
        if (st == MFB_OK)
            json_array_append_new(rows, r);
    }
    for (size_t i = 0; st == MFB_OK && i < l.nclients; i++) {
        const struct srv_client *c = &l.clients[i];
        json_array_append_new(
            clients,
            json_pack("{s:s, s:b, s:I, s:I, s:o}", "name", c->name, "active", c->active, "backups",
                      (json_int_t)c->backups, "stored_bytes", (json_int_t)c->stored_bytes, "quota",
                      c->quota ? json_integer((json_int_t)c->quota) : json_null()));
    }
    if (st == MFB_OK)
        st = uploads_json(srv, o, err);
    if (st == MFB_OK)
        st = storage_json(srv, &l, o, err);
    lists_free(&l);
    if (st != MFB_OK) {
        json_decref(o);
        return st;
    }
    *out = o;
    return MFB_OK;
}
