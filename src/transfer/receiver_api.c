/*
 * receiver_api.c - requests and answers of the v1 protocol, client side (see
 * receiver.h). JSON through jansson; every field of an answer is checked
 * for type and range before use, since a receiver can be wrong too.
 */
#include "transfer/receiver_api.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids go into URL paths: only the protocol's form is accepted. */
static mfb_status check_id(const char *id, char prefix, struct mfb_error *err)
{
    if (proto_id_valid(id, prefix))
        return MFB_OK;
    mfb_error_set(err, MFB_ERR_USAGE, "'%s' is not a valid %s id", id,
                  prefix == 'u' ? "upload" : "backup");
    mfb_error_hint(err, "use the id 'mfb push' printed: %c_ and 32 hex digits", prefix);
    return MFB_ERR_USAGE;
}

static mfb_status bad_answer(const char *what, const char *field, struct mfb_error *err)
{
    return mfb_error_set(err, MFB_ERR_PROTOCOL, "%s: the receiver's answer has no valid '%s'", what,
                         field);
}

static mfb_status parse_answer(const char *what, const struct http_response *resp, json_t **root,
                               struct mfb_error *err)
{
    json_error_t jerr;
    *root = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return mfb_error_set(err, MFB_ERR_PROTOCOL,
                             "%s: the receiver's answer is not a JSON "
                             "object",
                             what);
    }
    return MFB_OK;
}

static bool get_u64(json_t *obj, const char *key, uint64_t *value)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *value = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_text(json_t *obj, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL || strlen(s) >= cap)
        return false;
    snprintf(out, cap, "%s", s);
    return true;
}

static bool get_id(json_t *obj, const char *key, char prefix, char out[RECEIVER_ID_MAX])
{
    return get_text(obj, key, out, RECEIVER_ID_MAX) && proto_id_valid(out, prefix);
}

static bool get_sha256(json_t *obj, const char *key, uint8_t out[SHA256_LEN])
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && digest_from_hex(s, out);
}

/* Optional size: absent or null means unknown. */
static bool get_size(json_t *obj, bool *known, uint64_t *size)
{
    json_t *v = json_object_get(obj, "size");
    *known = false;
    *size = 0;
    if (v == NULL || json_is_null(v))
        return true;
    *known = true;
    return get_u64(obj, "size", size);
}

static mfb_status call_json(struct transfer_conn *conn, struct http_request *req, json_t *body,
                            json_t **answer, struct mfb_error *err)
{
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        req->body = text;
        req->body_len = strlen(text);
        req->content_type = "application/json";
    }
    struct http_response resp = {0};
    mfb_status st = transfer_conn_call(conn, req, &resp, err);
    if (st == MFB_OK && answer)
        st = parse_answer(req->what, &resp, answer, err);
    http_response_free(&resp);
    free(text);
    return st;
}

mfb_status receiver_upload_create(struct transfer_conn *conn, const struct upload_request *ureq,
                                  struct upload_state *state, struct mfb_error *err)
{
    memset(state, 0, sizeof(*state));
    json_t *body = json_object();
    json_object_set_new(body, "instance", json_string(ureq->instance));
    json_object_set_new(body, "name", json_string(ureq->name));
    if (ureq->directory)
        json_object_set_new(body, "directory", json_string(ureq->directory));
    json_object_set_new(body, "size",
                        ureq->size_known ? json_integer((json_int_t)ureq->size) : json_null());
    json_object_set_new(body, "chunk_size", json_integer((json_int_t)ureq->chunk_size));
    if (!ureq->size_known && ureq->expected_size > 0)
        json_object_set_new(body, "expected_size", json_integer((json_int_t)ureq->expected_size));
    if (ureq->metadata)
        json_object_set(body, "metadata", (json_t *)ureq->metadata);
    struct http_request req = {
        .method = "POST", .path = "/v1/uploads", .what = "cannot open the upload"};
    json_t *answer = NULL;
    mfb_status st = call_json(conn, &req, body, &answer, err);
    json_decref(body);
    if (st != MFB_OK)
        return st;
    if (!get_id(answer, "upload_id", 'u', state->upload_id))
        st = bad_answer(req.what, "upload_id", err);
    else if (!get_u64(answer, "chunk_size", &state->chunk_size) ||
             plan_check_chunk_size(state->chunk_size, NULL) != MFB_OK)
        st = bad_answer(req.what, "chunk_size", err);
    else if (!get_size(answer, &state->size_known, &state->size))
        st = bad_answer(req.what, "size", err);
    if (st == MFB_OK) {
        snprintf(state->instance, sizeof(state->instance), "%s", ureq->instance);
        snprintf(state->name, sizeof(state->name), "%s", ureq->name);
    }
    json_decref(answer);
    return st;
}

mfb_status receiver_upload_get(struct transfer_conn *conn, const char *upload_id,
                               struct upload_state *state, struct mfb_error *err)
{
    memset(state, 0, sizeof(*state));
    char path[256], what[256];
    if (check_id(upload_id, 'u', err) != MFB_OK)
        return MFB_ERR_USAGE;
    proto_path_upload(path, sizeof(path), upload_id);
    snprintf(what, sizeof(what), "cannot read the state of upload %s", upload_id);
    struct http_request req = {.method = "GET", .path = path, .what = what};
    json_t *answer = NULL;
    mfb_status st = call_json(conn, &req, NULL, &answer, err);
    if (st != MFB_OK) {
        if (st == MFB_ERR_NOT_FOUND)
            mfb_error_hint(err, "the upload may have completed, expired or been removed on the "
                                "receiver; start a new push without --resume");
        return st;
    }
    json_t *chunks = json_object_get(answer, "chunks");
    snprintf(state->upload_id, sizeof(state->upload_id), "%s", upload_id);
    if (!get_u64(answer, "chunk_size", &state->chunk_size) ||
        plan_check_chunk_size(state->chunk_size, NULL) != MFB_OK)
        st = bad_answer(what, "chunk_size", err);
    else if (!get_size(answer, &state->size_known, &state->size))
        st = bad_answer(what, "size", err);
    else if (!json_is_array(chunks))
        st = bad_answer(what, "chunks", err);
    if (st == MFB_OK) {
        get_text(answer, "instance", state->instance, sizeof(state->instance));
        get_text(answer, "name", state->name, sizeof(state->name));
        state->complete = json_is_true(json_object_get(answer, "complete"));
        if (state->complete && !get_id(answer, "backup_id", 'b', state->backup_id))
            st = bad_answer(what, "backup_id", err);
    }
    if (st == MFB_OK) {
        size_t n = json_array_size(chunks);
        state->chunks = n ? calloc(n, sizeof(*state->chunks)) : NULL;
        if (n && state->chunks == NULL)
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        for (size_t i = 0; st == MFB_OK && i < n; i++) {
            json_t *c = json_array_get(chunks, i);
            struct remote_chunk *rc = &state->chunks[i];
            if (!json_is_object(c) || !get_u64(c, "index", &rc->index) ||
                !get_u64(c, "size", &rc->size) || !get_sha256(c, "sha256", rc->sha256))
                st = bad_answer(what, "chunks", err);
            else
                state->chunk_count++;
        }
    }
    json_decref(answer);
    if (st != MFB_OK)
        upload_state_free(state);
    return st;
}

void upload_state_free(struct upload_state *state)
{
    free(state->chunks);
    state->chunks = NULL;
    state->chunk_count = 0;
}

mfb_status receiver_chunk_put(struct transfer_conn *conn, const char *upload_id, uint64_t index,
                              const void *data, size_t len, const uint8_t sha256[SHA256_LEN],
                              void (*on_sent)(void *ctx, uint64_t sent), void *sent_ctx,
                              struct mfb_error *err)
{
    char path[256], what[256], digest[80];
    proto_path_chunk(path, sizeof(path), upload_id, index);
    snprintf(what, sizeof(what), "cannot upload chunk %" PRIu64, index);
    content_digest_format(sha256, digest, sizeof(digest));
    /* A zero-length body still needs a non-NULL pointer to be sent as a body. */
    struct http_request req = {.method = "PUT",
                               .path = path,
                               .what = what,
                               .content_type = "application/octet-stream",
                               .content_digest = digest,
                               .body = data ? data : "",
                               .body_len = len,
                               .chunk_put = true,
                               .on_sent = on_sent,
                               .sent_ctx = sent_ctx};
    return call_json(conn, &req, NULL, NULL, err);
}

mfb_status receiver_chunk_put_from(struct transfer_conn *conn, const char *upload_id,
                                   uint64_t index, size_t len, const uint8_t sha256[SHA256_LEN],
                                   mfb_status (*body_read)(void *ctx, uint64_t pos, void *dst,
                                                           size_t len, size_t *got,
                                                           struct mfb_error *err),
                                   void *body_ctx, void (*on_sent)(void *ctx, uint64_t sent),
                                   void *sent_ctx, struct mfb_error *err)
{
    char path[256], what[256], digest[80];
    proto_path_chunk(path, sizeof(path), upload_id, index);
    snprintf(what, sizeof(what), "cannot upload chunk %" PRIu64, index);
    content_digest_format(sha256, digest, sizeof(digest));
    struct http_request req = {.method = "PUT",
                               .path = path,
                               .what = what,
                               .content_type = "application/octet-stream",
                               .content_digest = digest,
                               .body = "", /* marks a body; its bytes come from body_read */
                               .body_len = len,
                               .body_read = body_read,
                               .body_ctx = body_ctx,
                               .chunk_put = true,
                               .on_sent = on_sent,
                               .sent_ctx = sent_ctx};
    return call_json(conn, &req, NULL, NULL, err);
}

mfb_status receiver_chunk_delete(struct transfer_conn *conn, const char *upload_id, uint64_t index,
                                 struct mfb_error *err)
{
    char path[256], what[256];
    proto_path_chunk(path, sizeof(path), upload_id, index);
    snprintf(what, sizeof(what), "cannot replace chunk %" PRIu64 " on the receiver", index);
    struct http_request req = {.method = "DELETE", .path = path, .what = what};
    struct mfb_error local = {0};
    struct http_response resp = {0};
    mfb_status st = transfer_conn_call(conn, &req, &resp, &local);
    long status = resp.status;
    http_response_free(&resp);
    if (st == MFB_ERR_NOT_FOUND && status == 404)
        return MFB_OK;
    if (status == 405) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                      "the receiver holds chunk %" PRIu64 " with another digest than the local "
                      "file and cannot replace it (it does not support DELETE of a chunk)",
                      index);
        mfb_error_hint(err, "start a new upload without --resume, or upgrade the receiver");
        return MFB_ERR_UNSUPPORTED;
    }
    if (st != MFB_OK)
        mfb_error_copy(err, &local);
    return st;
}

mfb_status receiver_upload_abandon(struct transfer_conn *conn, const char *upload_id,
                                   struct mfb_error *err)
{
    mfb_status st = check_id(upload_id, 'u', err);
    if (st != MFB_OK)
        return st;
    char path[256];
    proto_path_upload(path, sizeof(path), upload_id);
    struct http_request req = {
        .method = "DELETE", .path = path, .what = "cannot abandon the upload"};
    struct http_response resp = {0};
    struct mfb_error local = {0};
    st = transfer_conn_call(conn, &req, &resp, &local);
    long status = resp.status;
    http_response_free(&resp);
    if (st == MFB_ERR_NOT_FOUND && status == 404)
        return MFB_OK;
    if (st != MFB_OK)
        mfb_error_copy(err, &local);
    return st;
}

static mfb_status parse_backup(const char *what, json_t *answer, struct backup_info *backup,
                               struct mfb_error *err)
{
    if (!get_id(answer, "backup_id", 'b', backup->backup_id))
        return bad_answer(what, "backup_id", err);
    if (!get_u64(answer, "size", &backup->size))
        return bad_answer(what, "size", err);
    if (!get_sha256(answer, "sha256", backup->sha256))
        return bad_answer(what, "sha256", err);
    get_text(answer, "name", backup->name, sizeof(backup->name));
    get_text(answer, "path", backup->path, sizeof(backup->path));
    return MFB_OK;
}

mfb_status receiver_upload_complete(struct transfer_conn *conn, const char *upload_id,
                                    uint64_t size, const uint8_t sha256[SHA256_LEN],
                                    struct backup_info *backup, struct mfb_error *err)
{
    memset(backup, 0, sizeof(*backup));
    char path[256], what[256], hex[SHA256_HEX_LEN + 1];
    proto_path_complete(path, sizeof(path), upload_id);
    snprintf(what, sizeof(what), "cannot complete upload %s", upload_id);
    digest_to_hex(sha256, hex);
    json_t *body = json_object();
    json_object_set_new(body, "size", json_integer((json_int_t)size));
    json_object_set_new(body, "sha256", json_string(hex));
    struct http_request req = {.method = "POST", .path = path, .what = what};
    json_t *answer = NULL;
    mfb_status st = call_json(conn, &req, body, &answer, err);
    json_decref(body);
    if (st != MFB_OK)
        return st;
    st = parse_backup(what, answer, backup, err);
    json_decref(answer);
    if (st == MFB_OK && (backup->size != size || memcmp(backup->sha256, sha256, SHA256_LEN) != 0))
        st = mfb_error_set(err, MFB_ERR_PROTOCOL,
                           "%s: the receiver recorded a size or SHA-256 other than the file's",
                           what);
    return st;
}

mfb_status receiver_backup_get(struct transfer_conn *conn, const char *backup_id,
                               struct backup_info *backup, struct mfb_error *err)
{
    memset(backup, 0, sizeof(*backup));
    char path[256], what[256];
    if (check_id(backup_id, 'b', err) != MFB_OK)
        return MFB_ERR_USAGE;
    proto_path_backup(path, sizeof(path), backup_id);
    snprintf(what, sizeof(what), "cannot read backup %s", backup_id);
    struct http_request req = {.method = "GET", .path = path, .what = what};
    json_t *answer = NULL;
    mfb_status st = call_json(conn, &req, NULL, &answer, err);
    if (st != MFB_OK)
        return st;
    st = parse_backup(what, answer, backup, err);
    json_decref(answer);
    return st;
}

mfb_status receiver_verification_post(struct transfer_conn *conn, const char *backup_id,
                                      const struct receiver_verification *v, struct mfb_error *err)
{
    mfb_status st = check_id(backup_id, 'b', err);
    if (st != MFB_OK)
        return st;
    char path[256], what[256];
    proto_path_backup(path, sizeof(path), backup_id);
    snprintf(path + strlen(path), sizeof(path) - strlen(path), "/verifications");
    snprintf(what, sizeof(what), "cannot record the verification of backup %s", backup_id);
    json_t *body = json_pack("{s:s, s:I}", "result", v->passed ? "passed" : "failed", "tables",
                             (json_int_t)v->tables);
    if (body == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    if (v->host && v->host[0])
        json_object_set_new(body, "host", json_string(v->host));
    if (v->detail && v->detail[0])
        json_object_set_new(body, "detail", json_string(v->detail));
    struct http_request req = {.method = "POST", .path = path, .what = what};
    st = call_json(conn, &req, body, NULL, err);
    json_decref(body);
    return st;
}
