/*
 * api_backups.c - the published backups of the v1 protocol: list, get,
 * delete, and download (GET .../content, with Range and Repr-Digest) (see
 * docs/protocol.md).
 *
 * A client sees only its own backups: every lookup is by backup id and
 * client id together, and a backup of another client is answered 404 like
 * one that does not exist. A download is answered with the open file and
 * the range to send; the HTTP layer sends it without copying it through
 * memory.
 */
#include "server/api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/log.h"
#include "server/storage.h"

static json_t *backup_json(const struct srv_backup *b)
{
    char created[32];
    server_format_time(b->created, created, sizeof(created));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "backup_id", b->id, "instance",
                          b->instance, "name", b->name, "path", b->path, "size",
                          (json_int_t)b->size, "sha256", b->sha256, "created", created);
    json_t *meta = b->metadata ? json_loads(b->metadata, 0, NULL) : NULL;
    if (meta)
        json_object_set_new(o, "metadata", meta);
    return o;
}

void api_backup_list(struct api_call *c)
{
    const char *instance = c->req->query ? c->req->query(c->req->ctx, "instance") : NULL;
    struct srv_backup *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    mfb_status st = server_db_backup_list(c->srv->db, c->client.id, instance, &list, &n, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "listing backups");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = backup_json(&list[i]);
        api_verification_attach(c, o, list[i].id);
        json_array_append_new(arr, o);
    }
    server_db_backup_list_free(list, n);
    api_set_json(c, 200, json_pack("{s:o}", "backups", arr));
}

static bool load_backup(struct api_call *c, struct srv_backup *b)
{
    struct mfb_error err = {0};
    mfb_status st = server_db_backup_get(c->srv->db, c->id, c->client.id, b, &err);
    if (st == MFB_ERR_NOT_FOUND && storage_shared(c->srv->store)) {
        /* Another receiver on the same bucket may have published it. */
        server_catalog_refresh(c->srv, 0);
        mfb_error_clear(&err);
        st = server_db_backup_get(c->srv->db, c->id, c->client.id, b, &err);
    }
    if (st == MFB_ERR_NOT_FOUND)
        api_fail(c, PROTO_NOT_FOUND, "no backup '%s'", c->id);
    else if (st != MFB_OK)
        api_fail_status(c, st, &err, "looking up the backup");
    return st == MFB_OK;
}

void api_backup_get_or_delete(struct api_call *c, bool delete)
{
    struct srv_backup b;
    if (!load_backup(c, &b))
        return;
    if (!delete) {
        json_t *o = backup_json(&b);
        api_verification_attach(c, o, b.id);
        api_set_json(c, 200, o);
    } else {
        struct mfb_error err = {0};
        mfb_status st = storage_claim_delete(c->srv->store, b.id, &err);
        bool elsewhere = st == MFB_ERR_EXISTS; /* another receiver deletes it */
        if (elsewhere) {
            mfb_error_clear(&err);
            st = MFB_OK;
        }
        if (st == MFB_OK)
            st = server_db_backup_delete(c->srv->db, b.id, &err);
        if (st == MFB_OK && !elsewhere)
            st = storage_delete_backup(c->srv->store, b.path, &err);
        if (st != MFB_OK) {
            api_fail_status(c, st, &err, "deleting the backup");
        } else {
            log_info("backup-deleted", "client=%s backup=%s path=%s", c->client.name, b.id,
                     LOG_Q(b.path));
            api_set_json(c, 204, NULL);
        }
    }
    server_db_backup_free(&b);
}

bool api_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *len,
                     bool *satisfiable)
{
    *satisfiable = false;
    if (strncasecmp(header, "bytes=", 6) != 0)
        return false;
    const char *p = header + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ',') != NULL)
        return false; /* several ranges: answered with the whole file */
    const char *dash = strchr(p, '-');
    if (dash == NULL)
        return false;
    const char *end = dash + 1 + strlen(dash + 1);
    while (end > dash + 1 && end[-1] == ' ')
        end--;
    uint64_t a = 0, b = 0;
    bool has_a = dash > p, has_b = end > dash + 1;
    if ((has_a && !api_parse_u64(p, (size_t)(dash - p), &a)) ||
        (has_b && !api_parse_u64(dash + 1, (size_t)(end - dash - 1), &b)) || (!has_a && !has_b))
        return false;
    if (!has_a) { /* the last b bytes */
        if (b == 0 || size == 0)
            return true;
        *start = b >= size ? 0 : size - b;
        *len = size - *start;
        *satisfiable = true;
        return true;
    }
    if (has_b && b < a)
        return false;
    if (a >= size)
        return true;
    uint64_t last = has_b && b < size - 1 ? b : size - 1;
    *start = a;
    *len = last - a + 1;
    *satisfiable = true;
    return true;
}

void api_backup_content(struct api_call *c)
{
    struct srv_backup b;
    if (!load_backup(c, &b))
        return;
    struct storage_read rd;
    struct mfb_error err = {0};
    mfb_status st = storage_read_open(c->srv->store, b.path, &rd, &err);
    if (st != MFB_OK) {
        api_fail_status(c, st == MFB_ERR_NO_SPACE ? MFB_ERR_IO : st, &err, "reading the backup");
        server_db_backup_free(&b);
        return;
    }
    uint64_t size = rd.size, start = 0, len = size;
    const char *range = api_header(c, "Range");
    bool satisfiable = false;
    api_response_release(&c->resp);
    c->resp.status = 200;
    if (range != NULL && api_parse_range(range, size, &start, &len, &satisfiable)) {
        if (!satisfiable) {
            storage_read_close(&rd);
            api_fail(c, PROTO_RANGE_NOT_SATISFIABLE, "range '%s' is outside the %llu-byte file",
                     range, (unsigned long long)size);
            snprintf(c->resp.content_range, sizeof(c->resp.content_range), "bytes */%llu",
                     (unsigned long long)size);
            server_db_backup_free(&b);
            return;
        }
        c->resp.status = 206;
        snprintf(c->resp.content_range, sizeof(c->resp.content_range), "bytes %llu-%llu/%llu",
                 (unsigned long long)start, (unsigned long long)(start + len - 1),
                 (unsigned long long)size);
    }
    uint8_t digest[SHA256_LEN];
    if (digest_from_hex(b.sha256, digest))
        content_digest_format(digest, c->resp.repr_digest, sizeof(c->resp.repr_digest));
    c->resp.fd = rd.fd;
    c->resp.read = rd.read;
    c->resp.read_close = rd.close;
    c->resp.read_ctx = rd.ctx;
    c->resp.offset = start;
    c->resp.length = len;
    c->resp.content_type = "application/octet-stream";
    c->resp.accept_ranges = true;
    c->decided = true;
    server_db_backup_free(&b);
}
