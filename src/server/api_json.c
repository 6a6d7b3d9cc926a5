/*
 * api_json.c - the JSON of the receiver's API: every answer and error a
 * handler gives, and the members it reads from a JSON request body (see
 * docs/protocol.md for the shapes).
 *
 * An error answer is always {"error": code, "message": text} with the
 * status the protocol gives the code (proto/proto.h). An internal failure
 * (api_fail_status) tells the client only what the receiver was doing:
 * its details, which may name paths on the receiver, go to the log.
 */
#include "server/api_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

void api_set_json(struct api_call *c, unsigned status, json_t *obj)
{
    api_response_release(&c->resp);
    c->resp.status = status;
    c->resp.body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    c->resp.body_len = c->resp.body ? strlen(c->resp.body) : 0;
    c->resp.content_type = "application/json";
    c->decided = true;
    json_decref(obj);
}

void api_fail(struct api_call *c, enum proto_error e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->error_code = proto_error_code(e);
    api_set_json(c, proto_error_status(e),
                 json_pack("{s:s, s:s}", "error", c->error_code, "message", msg));
}

/* An internal failure: the message goes to the log, the client gets a generic one. */
void api_fail_status(struct api_call *c, mfb_status st, const struct mfb_error *err,
                     const char *what)
{
    if (st == MFB_ERR_NO_SPACE) {
        api_fail(c, PROTO_INSUFFICIENT_STORAGE, "the receiver's disk is full while %s", what);
        return;
    }
    if (st == MFB_ERR_NETWORK) { /* the S3 storage cannot be reached: nothing was recorded */
        log_warn("storage-unavailable", "what=\"%s\" error=%s", what,
                 LOG_Q(err && err->message[0] ? err->message : "-"));
        c->resp.retry_after = 5;
        api_fail(c, PROTO_UNAVAILABLE, "the receiver's storage is unreachable while %s; retry",
                 what);
        return;
    }
    if (st == MFB_ERR_BUSY) {
        c->resp.retry_after = 1;
        api_fail(c, PROTO_UNAVAILABLE, "the receiver is busy while %s; retry", what);
        return;
    }
    log_error("request-failed", "what=\"%s\" status=%s error=%s", what, mfb_status_str(st),
              LOG_Q(err && err->message[0] ? err->message : "-"));
    api_fail(c, PROTO_INTERNAL, "internal error while %s", what);
}

void api_response_release(struct api_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (resp->fd >= 0)
        close(resp->fd);
    resp->fd = -1;
    if (resp->read_close != NULL)
        resp->read_close(resp->read_ctx);
    resp->read = NULL;
    resp->read_close = NULL;
    resp->read_ctx = NULL;
}

/* Parses the JSON body into an object, answering 400 when it is not one. */
json_t *api_json_body(struct api_call *c)
{
    json_error_t jerr;
    json_t *root = c->json ? json_loadb(c->json, c->json_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (root == NULL) {
        api_fail(c, PROTO_INVALID_JSON, "body is not valid JSON: %s",
                 c->json ? jerr.text : "empty body");
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        api_fail(c, PROTO_INVALID_JSON, "body must be a JSON object");
        return NULL;
    }
    return root;
}

/* An optional non-negative integer member. */
bool api_json_size(struct api_call *c, json_t *root, const char *key, bool required, bool *present,
                   uint64_t *value)
{
    json_t *v = json_object_get(root, key);
    *present = v != NULL && !json_is_null(v);
    if (!*present) {
        if (required)
            api_fail(c, PROTO_BAD_REQUEST, "'%s' is required", key);
        return !required;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        api_fail(c, PROTO_BAD_REQUEST, "'%s' must be a non-negative integer", key);
        return false;
    }
    *value = (uint64_t)json_integer_value(v);
    return true;
}

/* A required name member, checked by the protocol's rules. */
const char *api_json_name(struct api_call *c, json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v)) {
        api_fail(c, PROTO_BAD_REQUEST, "'%s' must be a string", key);
        return NULL;
    }
    const char *s = json_string_value(v);
    char why[128];
    const char *problem = NULL;
    if (strlen(s) != json_string_length(v))
        problem = "name must not contain NUL";
    else if (!proto_name_valid(s, why, sizeof(why)))
        problem = why;
    if (problem != NULL) {
        api_fail(c, PROTO_INVALID_NAME, "%s: %s", key, problem);
        return NULL;
    }
    return s;
}
