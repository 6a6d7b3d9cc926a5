/*
 * catalog.c - adopting backups from the storage (see catalog.h).
 *
 * A backup is adopted only from a complete publish: its file and its .json
 * are both listed (the .json is written after the file), the .json's size
 * matches the file's, and its names pass the protocol's rules, so a stray
 * or hostile object in the bucket cannot smuggle a path into the catalog.
 * A backup whose upload is still open here is this receiver's own publish
 * in progress: its record is about to be written, so it is left alone.
 */
#include "server/catalog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/digest.h"
#include "common/log.h"
#include "proto/proto.h"

struct listing {
    char **paths;
    uint64_t *sizes;
    size_t n, cap;
    bool failed;
};

static void collect(void *ctx, const char *rel_path, uint64_t size)
{
    struct listing *l = ctx;
    if (l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **p = realloc(l->paths, cap * sizeof(*p));
        if (p)
            l->paths = p;
        uint64_t *s = p ? realloc(l->sizes, cap * sizeof(*s)) : NULL;
        if (s)
            l->sizes = s;
        if (p == NULL || s == NULL) {
            l->failed = true;
            return;
        }
        l->cap = cap;
    }
    if ((l->paths[l->n] = strdup(rel_path)) == NULL) {
        l->failed = true;
        return;
    }
    l->sizes[l->n++] = size;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static bool parse_time(const char *text, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* Reads the .json of a listed backup into b (b->path borrowed, metadata
 * allocated); false when it is unreadable or does not match the file. */
static bool read_companion(struct server_db *db, struct storage *st, const char *path,
                           uint64_t size, struct srv_backup *b, char *client, size_t client_len)
{
    char *text = NULL;
    struct mfb_error err = {0};
    if (storage_read_json(st, path, &text, &err) != MFB_OK) {
        log_warn("catalog-skip", "path=%s error=%s", LOG_Q(path), LOG_Q(err.message));
        return false;
    }
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    char why[128];
    const char *slash = strrchr(path, '/');
    const char *file = slash ? slash + 1 : path;
    bool ok = o != NULL && json_is_object(o);
    if (ok) {
        snprintf(b->id, sizeof(b->id), "%s", jstr(o, "backup_id"));
        snprintf(client, client_len, "%s", jstr(o, "client"));
        snprintf(b->instance, sizeof(b->instance), "%s", jstr(o, "instance"));
        snprintf(b->name, sizeof(b->name), "%s", file);
        snprintf(b->sha256, sizeof(b->sha256), "%s", jstr(o, "sha256"));
        snprintf(b->upload_id, sizeof(b->upload_id), "%s", jstr(o, "upload_id"));
        uint8_t d[SHA256_LEN];
        json_t *sz = json_object_get(o, "size");
        ok = strncmp(b->id, "b_", 2) == 0 && strlen(b->id) == strlen(jstr(o, "backup_id")) &&
             proto_name_valid(client, why, sizeof(why)) &&
             proto_name_valid(b->instance, why, sizeof(why)) && digest_from_hex(b->sha256, d) &&
             json_is_integer(sz) && (uint64_t)json_integer_value(sz) == size &&
             parse_time(jstr(o, "created"), &b->created);
        b->size = size;
        json_t *meta = json_object_get(o, "metadata");
        b->metadata = ok && json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
    }
    json_decref(o);
    if (!ok) {
        log_warn("catalog-skip", "path=%s error=\"the .json does not describe the file\"",
                 LOG_Q(path));
        return false;
    }
    /* This receiver's own publish in progress: its record is on the way. */
    struct srv_upload u;
    if (b->upload_id[0] && server_db_upload_get(db, b->upload_id, 0, &u, NULL) == MFB_OK) {
        bool mine = !u.complete;
        server_db_upload_free(&u);
        if (mine) {
            free(b->metadata);
            b->metadata = NULL;
            return false;
        }
    }
    return true;
}

/* A backup whose deletion a receiver has claimed is still listed until its
 * objects are gone; adopting it then would bring back a record that the
 * receiver which deleted it (or this one's retention, since the listing)
 * has just dropped. A store that does not answer: not adopted this time. */
static bool being_deleted(struct storage *st, const char *backup_id, const char *path)
{
    bool claimed = false;
    struct mfb_error err = {0};
    if (storage_delete_claimed(st, backup_id, &claimed, &err) != MFB_OK) {
        log_warn("catalog-skip", "backup=%s path=%s error=%s", backup_id, LOG_Q(path),
                 LOG_Q(err.message));
        return true;
    }
    if (claimed)
        log_info("catalog-skip", "backup=%s path=%s reason=being-deleted", backup_id, LOG_Q(path));
    return claimed;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mfb_status catalog_sync(struct server_db *db, struct storage *st, int64_t prune_before,
                        struct catalog_report *report, struct mfb_error *err)
{
    memset(report, 0, sizeof(*report));
    struct listing l = {0};
    struct srv_backup *known = NULL;
    size_t nknown = 0;
    char **known_paths = NULL;
    mfb_status s = storage_list(st, collect, &l, err);
    if (s == MFB_OK && l.failed)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (s == MFB_OK)
        s = server_db_backup_list(db, 0, NULL, &known, &nknown, err);
    if (s == MFB_OK && (known_paths = calloc(nknown ? nknown : 1, sizeof(*known_paths))) == NULL)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (s != MFB_OK)
        goto done;
    report->listed = l.n;
    for (size_t i = 0; i < nknown; i++)
        known_paths[i] = known[i].path;
    if (nknown > 0)
        qsort(known_paths, nknown, sizeof(*known_paths), cmp_path);
    for (size_t i = 0; i < l.n && s == MFB_OK; i++) {
        if (bsearch(&l.paths[i], known_paths, nknown, sizeof(*known_paths), cmp_path) != NULL)
            continue;
        struct srv_backup b = {0};
        char client[SRV_NAME_BUF];
        if (!read_companion(db, st, l.paths[i], l.sizes[i], &b, client, sizeof(client)) ||
            being_deleted(st, b.id, l.paths[i])) {
            free(b.metadata);
            report->skipped++;
            continue;
        }
        b.path = l.paths[i];
        snprintf(b.client, sizeof(b.client), "%s", client);
        bool added = false;
        s = server_db_client_ensure(db, client, &b.client_id, err);
        if (s == MFB_OK)
            s = server_db_backup_adopt(db, &b, &added, err);
        if (s == MFB_OK && added) {
            report->added++;
            log_info("catalog-adopted", "backup=%s client=%s instance=%s path=%s bytes=%llu", b.id,
                     client, LOG_Q(b.instance), LOG_Q(b.path), (unsigned long long)b.size);
        }
        free(b.metadata);
    }
    if (l.n > 0) /* qsort and bsearch want a list, even an empty one */
        qsort(l.paths, l.n, sizeof(*l.paths), cmp_path);
    for (size_t i = 0; i < nknown && s == MFB_OK; i++) {
        const struct srv_backup *b = &known[i];
        if (b->created >= prune_before ||
            (l.n > 0 && bsearch(&b->path, l.paths, l.n, sizeof(*l.paths), cmp_path) != NULL))
            continue;
        s = server_db_backup_delete(db, b->id, err);
        if (s == MFB_OK) {
            report->removed++;
            log_info("catalog-dropped", "backup=%s client=%s path=%s reason=gone-from-storage",
                     b->id, b->client, LOG_Q(b->path));
        }
    }
done:
    free(known_paths);
    server_db_backup_list_free(known, nknown);
    for (size_t i = 0; i < l.n; i++)
        free(l.paths[i]);
    free(l.paths);
    free(l.sizes);
    return s;
}
