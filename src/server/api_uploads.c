/*
 * api_uploads.c - the open uploads of the v1 protocol: create (with the
 * space and quota checks), get (what a resuming client needs), abandon
 * (DELETE) and complete, which checks the whole file against its SHA-256
 * and publishes it (see docs/protocol.md and docs/server.md).
 *
 * An upload's bytes are in its partial file until complete renames it into
 * place. Each name is recorded in the catalog before the rename is tried,
 * so a receiver that crashes in the middle of a publish finds the file
 * again under that name (data_path) and a repeated complete finishes the
 * job rather than failing. complete and DELETE first close the upload's
 * session (session_close_begin), so that no chunk is being written while
 * the file is hashed, published or removed; a chunk in flight makes them
 * answer 503 with Retry-After.
 */
#include "server/api_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/log.h"
#include "server/layout.h"
#include "server/retention.h"
#include "server/session.h"
#include "server/storage.h"

static json_t *upload_json(const struct srv_upload *u)
{
    char created[32];
    server_format_time(u->created, created, sizeof(created));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:s}", "upload_id", u->id, "instance", u->instance, "name",
                  u->name, "chunk_size", (json_int_t)u->chunk_size, "created", created);
    json_object_set_new(o, "size", u->size_known ? json_integer((json_int_t)u->size) : json_null());
    if (u->directory[0])
        json_object_set_new(o, "directory", json_string(u->directory));
    return o;
}

/* Whether the declared size fits the disk that receives uploads (less the
 * reserve and what open uploads still expect: with S3 that is the staging
 * directory, storage.h) and the client's quota; answers 507 if not. */
static bool check_space(struct api_call *c, bool size_known, uint64_t size)
{
    struct server *srv = c->srv;
    struct mfb_error err = {0};
    uint64_t avail, total, pending, usage;
    mfb_status st = storage_upload_room(srv->store, &avail, &total, &err);
    if (st == MFB_OK)
        st = server_db_pending_bytes(srv->db, &pending, &err);
    if (st == MFB_OK)
        st = server_db_client_usage(srv->db, c->client.id, &usage, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "checking free space");
        return false;
    }
    uint64_t reserve =
        srv->cfg.reserve_percent ? total / 100 * srv->cfg.reserve_percent : srv->cfg.reserve_bytes;
    uint64_t room = avail > reserve + pending ? avail - reserve - pending : 0;
    uint64_t need = size_known ? size : 1;
    if (need > room) {
        api_fail(c, PROTO_INSUFFICIENT_STORAGE,
                 "not enough space: %llu bytes needed, %llu available after the reserve and open "
                 "uploads",
                 (unsigned long long)need, (unsigned long long)room);
        return false;
    }
    bool over_quota = size_known ? usage + size > c->client.quota : usage >= c->client.quota;
    if (c->client.quota > 0 && over_quota) {
        api_fail(c, PROTO_INSUFFICIENT_STORAGE,
                 "quota exceeded: client '%s' holds %llu of %llu bytes and asks for %llu more",
                 c->client.name, (unsigned long long)usage, (unsigned long long)c->client.quota,
                 (unsigned long long)(size_known ? size : 0));
        return false;
    }
    return true;
}

/* The storage's chunk limits (an S3 part is at least 5 MiB but for the
 * last, and an upload has at most 10,000): the chunk size told to the
 * client is raised to fit them, by powers of two, up to --max-chunk. False
 * (answered 413) when a file of the declared size cannot fit. */
static bool fit_chunk_size(struct api_call *c, struct srv_upload *u)
{
    uint64_t min_chunk, max_chunks, max = c->srv->cfg.max_chunk;
    storage_chunk_limits(c->srv->store, &min_chunk, &max_chunks);
    while (u->chunk_size < min_chunk && u->chunk_size < max)
        u->chunk_size *= 2;
    if (max_chunks > 0 && u->size_known)
        while (proto_chunk_count(u->size, u->chunk_size) > max_chunks && u->chunk_size < max)
            u->chunk_size *= 2;
    if (u->chunk_size < min_chunk || (max_chunks > 0 && u->size_known &&
                                      proto_chunk_count(u->size, u->chunk_size) > max_chunks)) {
        api_fail(c, PROTO_TOO_LARGE,
                 "the receiver's storage takes at most %llu chunks of %llu to %llu bytes: a file "
                 "of %llu bytes does not fit; its operator can raise --max-chunk",
                 (unsigned long long)max_chunks, (unsigned long long)min_chunk,
                 (unsigned long long)max, (unsigned long long)u->size);
        return false;
    }
    return true;
}

void api_upload_create(struct api_call *c)
{
    json_t *root = api_json_body(c);
    if (root == NULL)
        return;
    struct srv_upload u = {0};
    bool size_present = false, cs_present = false;
    const char *instance = api_json_name(c, root, "instance");
    const char *name = instance ? api_json_name(c, root, "name") : NULL;
    if (name == NULL)
        goto done;
    json_t *dir = json_object_get(root, "directory");
    if (dir != NULL && !json_is_null(dir)) {
        char why[128];
        if (!json_is_string(dir)) {
            api_fail(c, PROTO_BAD_REQUEST, "'directory' must be a string");
            goto done;
        }
        const char *d = json_string_value(dir);
        /* Each check names its own reason: why[] is filled only by the
         * check that failed. */
        const char *problem = NULL;
        if (strlen(d) != json_string_length(dir))
            problem = "name must not contain NUL";
        else if (!proto_directory_valid(d, why, sizeof(why)))
            problem = why;
        else if (strlen(d) >= sizeof(u.directory))
            problem = "directory is too long";
        if (problem != NULL) {
            api_fail(c, PROTO_INVALID_NAME, "directory: %s", problem);
            goto done;
        }
        snprintf(u.directory, sizeof(u.directory), "%s", d);
    }
    if (!api_json_size(c, root, "size", false, &size_present, &u.size) ||
        !api_json_size(c, root, "chunk_size", true, &cs_present, &u.chunk_size))
        goto done;
    if (!proto_chunk_size_valid(u.chunk_size, c->srv->cfg.max_chunk)) {
        api_fail(c, u.chunk_size > c->srv->cfg.max_chunk ? PROTO_TOO_LARGE : PROTO_BAD_REQUEST,
                 "chunk_size must be a power of two from 1048576 to %llu",
                 (unsigned long long)c->srv->cfg.max_chunk);
        goto done;
    }
    if (size_present && u.size > API_MAX_FILE_BYTES) {
        api_fail(c, PROTO_TOO_LARGE, "size is larger than the receiver accepts");
        goto done;
    }
    u.size_known = size_present;
    if (!fit_chunk_size(c, &u))
        goto done;
    json_t *meta = json_object_get(root, "metadata");
    if (meta != NULL && !json_is_null(meta) && !json_is_object(meta)) {
        api_fail(c, PROTO_BAD_REQUEST, "'metadata' must be an object");
        goto done;
    }
    /* Without a size, an optional expected_size (an estimate that binds
     * nothing) is what the free space is checked against. */
    bool expected_present = false;
    uint64_t expected = 0;
    if (!size_present &&
        !api_json_size(c, root, "expected_size", false, &expected_present, &expected))
        goto done;
    if (!check_space(c, size_present || expected_present, size_present ? u.size : expected))
        goto done;
    struct mfb_error err = {0};
    mfb_status st = server_new_id('u', u.id, &err);
    u.client_id = c->client.id;
    snprintf(u.instance, sizeof(u.instance), "%s", instance);
    snprintf(u.name, sizeof(u.name), "%s", name);
    u.size_known = size_present;
    u.metadata = meta && json_is_object(meta) ? json_dumps(meta, JSON_COMPACT) : NULL;
    u.created = u.updated = (int64_t)time(NULL);
    if (st == MFB_OK)
        st = storage_upload_open(c->srv->store, u.id, &err);
    if (st == MFB_OK) {
        st = server_db_upload_create(c->srv->db, &u, &err);
        if (st != MFB_OK)
            storage_upload_abort(c->srv->store, u.id);
    }
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "opening the upload");
    } else {
        snprintf(c->id, sizeof(c->id), "%s", u.id);
        log_info("upload-open", "client=%s upload=%s instance=%s name=%s size=%lld chunk_size=%llu",
                 c->client.name, u.id, LOG_Q(u.instance), LOG_Q(u.name),
                 u.size_known ? (long long)u.size : -1LL, (unsigned long long)u.chunk_size);
        api_set_json(c, 201, upload_json(&u));
    }
    free(u.metadata);
done:
    json_decref(root);
}

/* Loads the caller's upload c->id into c->upload; 404 otherwise. */
bool api_upload_load(struct api_call *c)
{
    struct mfb_error err = {0};
    mfb_status st = server_db_upload_get(c->srv->db, c->id, c->client.id, &c->upload, &err);
    if (st == MFB_ERR_NOT_FOUND) {
        api_fail(c, PROTO_NOT_FOUND, "no upload '%s'", c->id);
        return false;
    }
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "looking up the upload");
        return false;
    }
    c->have_upload = true;
    return true;
}

/* The file that holds an open upload's bytes: its partial file, or, after
 * a crash in the middle of a publish, the published file. */
static void data_path(struct api_call *c, char *buf, size_t len)
{
    storage_partial_path(c->srv->cfg.storage, c->upload.id, buf, len);
    struct stat sb;
    if (stat(buf, &sb) != 0 && c->upload.publish_path != NULL)
        if (snprintf(buf, len, "%s/%s", c->srv->cfg.storage, c->upload.publish_path) >= (int)len)
            buf[0] = '\0';
}

bool api_upload_session(struct api_call *c)
{
    char path[PATH_MAX];
    data_path(c, path, sizeof(path));
    struct mfb_error err = {0};
    mfb_status st = session_get(c->srv->sessions, c->srv->db, &c->upload, path, &c->session, &err);
    if (st != MFB_OK)
        api_fail_status(c, st, &err, "loading the upload");
    return st == MFB_OK;
}

void api_upload_get(struct api_call *c)
{
    if (!api_upload_load(c))
        return;
    json_t *o = upload_json(&c->upload);
    json_t *chunks = json_array();
    uint64_t received = 0;
    if (c->upload.complete) {
        json_object_set_new(o, "complete", json_true());
        json_object_set_new(o, "backup_id", json_string(c->upload.backup_id));
    } else {
        struct srv_chunk *list = NULL;
        size_t n = 0;
        struct mfb_error err = {0};
        server_db_upload_touch(c->srv->db, c->id, NULL); /* a resuming client is active */
        mfb_status st = server_db_upload_chunks(c->srv->db, c->id, &list, &n, &err);
        if (st != MFB_OK) {
            json_decref(o);
            json_decref(chunks);
            api_fail_status(c, st, &err, "listing chunks");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(chunks, api_chunk_json(&list[i]));
            received += list[i].size;
        }
        free(list);
        json_object_set_new(o, "complete", json_false());
    }
    json_object_set_new(o, "chunks", chunks);
    json_object_set_new(o, "received_bytes", json_integer((json_int_t)received));
    api_set_json(c, 200, o);
}

void api_upload_delete(struct api_call *c)
{
    if (!api_upload_load(c))
        return;
    if (!c->upload.complete) {
        if (!api_upload_session(c))
            return;
        if (!session_close_begin(c->session)) {
            c->resp.retry_after = 1;
            api_fail(c, PROTO_UNAVAILABLE, "chunks of upload '%s' are being received; retry",
                     c->id);
            return;
        }
    }
    struct mfb_error err = {0};
    mfb_status st = server_db_upload_delete(c->srv->db, c->id, &err);
    if (st != MFB_OK) {
        if (c->session)
            session_close_abort(c->session);
        api_fail_status(c, st, &err, "deleting the upload");
        return;
    }
    if (!c->upload.complete) {
        storage_upload_abort(c->srv->store, c->id);
        session_forget(c->srv->sessions, c->id);
    }
    log_info("upload-deleted", "client=%s upload=%s", c->client.name, c->id);
    api_set_json(c, 204, NULL);
}

/* The answer to complete for a published backup. */
static void answer_backup(struct api_call *c, unsigned status, const struct srv_backup *b)
{
    api_set_json(c, status,
                 json_pack("{s:s, s:s, s:s, s:I, s:s}", "backup_id", b->id, "name", b->name, "path",
                           b->path, "size", (json_int_t)b->size, "sha256", b->sha256));
}

static char *companion_json(const struct api_call *c, const struct srv_backup *b,
                            const char *original_name)
{
    char created[32], started[32];
    server_format_time(b->created, created, sizeof(created));
    server_format_time(c->upload.created, started, sizeof(started));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "backup_id",
                  b->id, "client", c->client.name, "instance", b->instance, "name", b->name,
                  "original_name", original_name, "path", b->path, "size", (json_int_t)b->size,
                  "sha256", b->sha256, "created", created, "upload_started", started, "upload_id",
                  c->upload.id, "chunk_size", (json_int_t)c->upload.chunk_size);
    if (c->upload.directory[0])
        json_object_set_new(o, "directory", json_string(c->upload.directory));
    json_t *meta = b->metadata ? json_loads(b->metadata, 0, NULL) : NULL;
    if (meta)
        json_object_set_new(o, "metadata", meta);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (with_nl == NULL) {
        free(text);
        return NULL;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    return with_nl;
}

/* storage_publish's hook: remembers the name about to be taken. */
static mfb_status record_path(void *ctx, const char *rel_path, struct mfb_error *err)
{
    struct api_call *c = ctx;
    return server_db_upload_set_publish_path(c->srv->db, c->upload.id, rel_path, err);
}

/* Publishes a verified upload: rename into place, companions, catalog. */
static void publish(struct api_call *c, uint64_t size, const char *sha_hex)
{
    struct server *srv = c->srv;
    struct mfb_error err = {0};
    struct srv_backup b = {0};
    char reldir[PATH_MAX], rel[PATH_MAX], final_name[PATH_MAX];
    char *json = NULL;
    mfb_status st = server_new_id('b', b.id, &err);
    struct layout_vars vars = {c->client.name, c->upload.instance, c->upload.directory,
                               (time_t)c->upload.created};
    if (st == MFB_OK)
        st = layout_expand(srv->cfg.layout, &vars, reldir, sizeof(reldir), &err);
    bool recovered =
        c->upload.publish_path != NULL && storage_upload_published(srv->store, c->upload.id);
    if (st == MFB_OK && !recovered) {
        /* Each name is recorded before it is taken, so a crash in between
         * leaves the catalog pointing at the file. */
        st = storage_publish(srv->store, c->upload.id, size, reldir, c->upload.name, record_path, c,
                             rel, sizeof(rel), final_name, sizeof(final_name), &err);
        if (st == MFB_OK)
            st = server_db_upload_set_publish_path(srv->db, c->upload.id, rel, &err);
    } else if (st == MFB_OK) {
        snprintf(rel, sizeof(rel), "%s", c->upload.publish_path);
        const char *slash = strrchr(rel, '/');
        snprintf(final_name, sizeof(final_name), "%s", slash ? slash + 1 : rel);
        log_warn("upload-publish-recovered", "upload=%s path=%s", c->upload.id, LOG_Q(rel));
    }
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "publishing the backup");
        return;
    }
    b.client_id = c->client.id;
    snprintf(b.client, sizeof(b.client), "%s", c->client.name);
    snprintf(b.instance, sizeof(b.instance), "%s", c->upload.instance);
    if (snprintf(b.name, sizeof(b.name), "%s", final_name) >= (int)sizeof(b.name))
        log_warn("backup-name-truncated", "upload=%s", c->upload.id);
    b.path = rel;
    b.size = size;
    snprintf(b.sha256, sizeof(b.sha256), "%s", sha_hex);
    b.created = (int64_t)time(NULL);
    b.metadata = c->upload.metadata;
    snprintf(b.upload_id, sizeof(b.upload_id), "%s", c->upload.id);
    json = companion_json(c, &b, c->upload.name);
    if (json == NULL)
        st = mfb_error_set(&err, MFB_ERR_NO_MEMORY, "out of memory");
    if (st == MFB_OK)
        st = storage_write_companions(srv->store, rel, final_name, sha_hex, json, recovered, &err);
    if (st == MFB_OK)
        st = server_db_upload_finish(srv->db, c->upload.id, &b, &err);
    free(json);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "recording the backup");
        return;
    }
    session_forget(srv->sessions, c->upload.id);
    log_info("backup-published",
             "client=%s upload=%s backup=%s instance=%s path=%s bytes=%llu sha256=%s",
             c->client.name, c->upload.id, b.id, LOG_Q(b.instance), LOG_Q(rel),
             (unsigned long long)size, sha_hex);
    answer_backup(c, 201, &b);
    struct retention_report report;
    struct mfb_error rerr = {0};
    if (retention_apply(srv->db, srv->store, c->client.id, c->upload.instance, false, NULL, NULL,
                        &report, &rerr) != MFB_OK)
        log_error("retention-failed", "client=%s instance=%s error=%s", c->client.name,
                  LOG_Q(c->upload.instance), LOG_Q(rerr.message));
}

void api_upload_complete(struct api_call *c)
{
    json_t *root = api_json_body(c);
    if (root == NULL)
        return;
    uint64_t size = 0;
    bool present;
    json_t *sha = json_object_get(root, "sha256");
    uint8_t want[SHA256_LEN];
    char want_hex[SHA256_HEX_LEN + 1];
    if (!api_json_size(c, root, "size", true, &present, &size))
        goto done;
    if (!json_is_string(sha) || !digest_from_hex(json_string_value(sha), want)) {
        api_fail(c, PROTO_BAD_REQUEST, "'sha256' must be 64 hex digits");
        goto done;
    }
    digest_to_hex(want, want_hex);
    if (!api_upload_load(c))
        goto done;
    if (c->upload.complete) {
        struct srv_backup b;
        struct mfb_error err = {0};
        mfb_status st =
            server_db_backup_get(c->srv->db, c->upload.backup_id, c->client.id, &b, &err);
        if (st == MFB_ERR_NOT_FOUND)
            api_fail(c, PROTO_CONFLICT, "upload '%s' was completed and its backup since deleted",
                     c->id);
        else if (st != MFB_OK)
            api_fail_status(c, st, &err, "looking up the backup");
        else if (b.size != size || strcmp(b.sha256, want_hex) != 0)
            api_fail(c, PROTO_CONFLICT, "upload '%s' was completed with another size or sha256",
                     c->id);
        else
            answer_backup(c, 201, &b);
        server_db_backup_free(&b);
        goto done;
    }
    if (c->upload.size_known && c->upload.size != size) {
        api_fail(c, PROTO_CONFLICT, "size %llu differs from the declared size %llu",
                 (unsigned long long)size, (unsigned long long)c->upload.size);
        goto done;
    }
    if (!api_upload_session(c))
        goto done;
    if (!session_close_begin(c->session)) {
        c->resp.retry_after = 1;
        api_fail(c, PROTO_UNAVAILABLE, "chunks of upload '%s' are still being received; retry",
                 c->id);
        goto done;
    }
    char why[256];
    uint8_t got[SHA256_LEN];
    uint64_t prefix = 0;
    struct mfb_error err = {0};
    if (!session_covers(c->session, size, why, sizeof(why))) {
        api_fail(c, PROTO_CONFLICT, "upload is not complete: %s", why);
    } else if (session_digest(c->session, got, &prefix, &err) != MFB_OK) {
        if (err.status == MFB_ERR_CORRUPT) /* retrying cannot help: say so, with a 4xx */
            api_fail(c, PROTO_CONFLICT,
                     "the receiver cannot read back the chunks stored for this upload (its log "
                     "says why); start a new upload");
        else
            api_fail_status(c, err.status, &err, "hashing the upload");
    } else if (prefix != size) {
        api_fail(c, PROTO_INTERNAL, "internal error: hashed %llu of %llu bytes",
                 (unsigned long long)prefix, (unsigned long long)size);
    } else if (memcmp(got, want, SHA256_LEN) != 0) {
        char got_hex[SHA256_HEX_LEN + 1];
        digest_to_hex(got, got_hex);
        api_fail(c, PROTO_CHECKSUM_MISMATCH, "the received file has sha256 %s, not %s", got_hex,
                 want_hex);
    } else {
        publish(c, size, want_hex);
    }
    if (c->resp.status != 201)
        session_close_abort(c->session);
done:
    json_decref(root);
}
