/*
 * metrics.c - the receiver's metrics page and counters (see metrics.h).
 *
 * The page is computed on each scrape from the catalog: the backups are
 * grouped by client and instance here, from the one listing the catalog
 * already gives (server_db_backup_list), rather than by a query of their
 * own; a catalog holds thousands of backups at most, so a scrape stays in
 * the milliseconds. The drills' verdicts come from the verifications
 * table, of which only the newest passed one per client and instance
 * matters. Labels are the client and the instance, never an upload or
 * backup id.
 */
#include "server/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "server/server.h"
#include "server/session.h"
#include "server/storage.h"

void server_metrics_count(struct server_counters *c, unsigned status, uint64_t bytes_in)
{
    atomic_fetch_add_explicit(&c->requests[status < SERVER_METRICS_CODES ? status : 0], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&c->received_bytes, bytes_in, memory_order_relaxed);
}

/* Backups of one client and instance. */
struct group {
    const char *client, *instance; /* borrowed from the backup list */
    int64_t last;
    uint64_t count;
};

static int group_cmp(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    int c = strcmp(x->client, y->client);
    return c ? c : strcmp(x->instance, y->instance);
}

/* Groups list by client and instance into *out (allocated), sorted. */
static mfb_status group_backups(const struct srv_backup *list, size_t n, struct group **out,
                                size_t *count, struct mfb_error *err)
{
    *out = NULL;
    *count = 0;
    if (n == 0)
        return MFB_OK;
    struct group *g = calloc(n, sizeof(*g));
    if (g == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k &&
               (strcmp(g[j].client, list[i].client) || strcmp(g[j].instance, list[i].instance)))
            j++;
        if (j == k) {
            g[k].client = list[i].client;
            g[k].instance = list[i].instance;
            k++;
        }
        g[j].count++;
        if (list[i].created > g[j].last)
            g[j].last = list[i].created;
    }
    qsort(g, k, sizeof(*g), group_cmp);
    *out = g;
    *count = k;
    return MFB_OK;
}

static void write_backups(struct metrics_writer *w, const struct group *g, size_t n)
{
    metrics_family(w, "mfb_receiver_last_backup_timestamp_seconds", METRICS_GAUGE,
                   "when the newest complete backup of a client's instance was stored (Unix "
                   "seconds)");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = {"client", g[i].client, "instance", g[i].instance, NULL};
        metrics_sample(w, labels, (double)g[i].last);
    }
    metrics_family(w, "mfb_receiver_backups", METRICS_GAUGE,
                   "complete backups stored for a client's instance");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = {"client", g[i].client, "instance", g[i].instance, NULL};
        metrics_sample(w, labels, (double)g[i].count);
    }
}

static void write_verified(struct metrics_writer *w, const struct srv_verified *v, size_t n)
{
    metrics_family(w, "mfb_receiver_verified_last_timestamp_seconds", METRICS_GAUGE,
                   "when a restore drill last proved a stored backup of a client's instance "
                   "restorable (Unix seconds)");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = {"client", v[i].client, "instance", v[i].instance, NULL};
        metrics_sample(w, labels, (double)v[i].last);
    }
}

static void write_counters(struct metrics_writer *w, struct server_counters *c)
{
    metrics_family(w, "mfb_receiver_received_bytes_total", METRICS_COUNTER,
                   "request body bytes received since the receiver started");
    metrics_sample(w, NULL, (double)atomic_load(&c->received_bytes));
    metrics_family(w, "mfb_receiver_requests_total", METRICS_COUNTER,
                   "requests answered since the receiver started, by HTTP status code");
    for (unsigned code = 100; code < SERVER_METRICS_CODES; code++) {
        uint64_t v = atomic_load(&c->requests[code]);
        if (v == 0)
            continue;
        char text[8];
        snprintf(text, sizeof(text), "%u", code);
        metrics_sample1(w, "code", text, (double)v);
    }
}

mfb_status server_metrics_page(struct server *srv, char **out, size_t *len, struct mfb_error *err)
{
    struct metrics_writer w;
    metrics_init(&w);
    struct srv_backup *backups = NULL;
    size_t nb = 0, ng = 0, nc = 0;
    struct group *groups = NULL;
    struct srv_client *clients = NULL;
    struct srv_verified *verified = NULL;
    size_t nv = 0;
    uint64_t avail = 0, total = 0;
    mfb_status st = server_db_backup_list(srv->db, 0, NULL, &backups, &nb, err);
    if (st == MFB_OK)
        st = group_backups(backups, nb, &groups, &ng, err);
    if (st == MFB_OK)
        st = server_db_client_list(srv->db, &clients, &nc, err);
    if (st == MFB_OK)
        st = server_db_verified_last(srv->db, &verified, &nv, err);
    if (st == MFB_OK)
        st = storage_free_bytes(srv->store, &avail, &total, err);
    if (st != MFB_OK)
        goto done;
    write_backups(&w, groups, ng);
    write_verified(&w, verified, nv);
    metrics_family(&w, "mfb_receiver_stored_bytes", METRICS_GAUGE,
                   "bytes a client's complete backups take");
    for (size_t i = 0; i < nc; i++)
        if (clients[i].active)
            metrics_sample1(&w, "client", clients[i].name, (double)clients[i].stored_bytes);
    /* A bucket has no free space to tell (storage.h). */
    if (!srv->cfg.s3) {
        metrics_family(&w, "mfb_receiver_free_bytes", METRICS_GAUGE,
                       "bytes free for the receiver on the storage's file system");
        metrics_sample(&w, NULL, (double)avail);
    }
    metrics_family(&w, "mfb_receiver_uploads_in_progress", METRICS_GAUGE,
                   "upload sessions open in this receiver process");
    metrics_sample(&w, NULL, (double)session_count(srv->sessions));
    write_counters(&w, &srv->counters);
    metrics_family(&w, "mfb_build_info", METRICS_GAUGE, "the version of mfb, as a label");
    metrics_sample1(&w, "version", MFB_VERSION, 1);
    st = metrics_take(&w, out, len, err);
done:
    metrics_discard(&w);
    free(groups);
    free(clients);
    free(verified);
    server_db_backup_list_free(backups, nb);
    return st;
}
