/*
 * api.c - the three steps of a request (see api.h): routing, framing,
 * authentication, and the body's dispatch to the handlers of each
 * resource (api_internal.h says which file holds which).
 *
 * A request whose framing is in doubt, a path that names nothing, a
 * method the resource does not take and an unknown token are answered
 * here, before any handler runs. What happens to the body is decided at
 * api_begin (enum api_body_mode): a JSON body is collected (up to
 * PROTO_JSON_BODY_MAX) for the handler at api_finish, a chunk goes to the
 * chunk writer as it arrives, and after an error the rest is read and
 * dropped, up to DISCARD_LIMIT, past which the connection is closed.
 */
#include "server/api_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/digest.h"
#include "server/session.h"

/* After an error is decided mid-body, at most this much more is read and
 * dropped so the answer can still be sent; past it the connection closes. */
#define DISCARD_LIMIT (16ULL << 20)

/* ---- routing ---- */

bool api_parse_u64(const char *text, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    *out = v;
    return true;
}

/* Splits the path into at most 5 segments after "/v1". */
static enum api_route route_match(const char *url, char *id, uint64_t *index, bool *has_index,
                                  bool *bad_index)
{
    *has_index = false;
    *bad_index = false;
    if (strncmp(url, PROTO_API_PREFIX "/", 4) != 0)
        return ROUTE_NONE;
    const char *seg[5];
    size_t seglen[5];
    int n = 0;
    const char *p = url + 4;
    while (n < 5) {
        const char *slash = strchr(p, '/');
        seg[n] = p;
        seglen[n] = slash ? (size_t)(slash - p) : strlen(p);
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    if (n == 5 && strchr(p, '/') != NULL)
        return ROUTE_NONE;
#define SEG(i, s) (seglen[i] == strlen(s) && strncmp(seg[i], s, seglen[i]) == 0)
    if (n == 1 && SEG(0, "health"))
        return ROUTE_HEALTH;
    if (n == 1 && SEG(0, "whoami"))
        return ROUTE_WHOAMI;
    bool uploads = SEG(0, "uploads"), backups = SEG(0, "backups");
    if (n == 1 && uploads)
        return ROUTE_UPLOADS;
    if (n == 1 && backups)
        return ROUTE_BACKUPS;
    if (n < 2 || seglen[1] != PROTO_ID_LEN)
        return ROUTE_NONE;
    memcpy(id, seg[1], PROTO_ID_LEN);
    id[PROTO_ID_LEN] = '\0';
    if (!proto_id_valid(id, uploads ? 'u' : 'b'))
        return ROUTE_NONE;
    if (uploads && n == 2)
        return ROUTE_UPLOAD;
    if (uploads && n == 3 && SEG(2, "complete"))
        return ROUTE_COMPLETE;
    if (uploads && n == 4 && SEG(2, "chunks")) {
        *bad_index = !api_parse_u64(seg[3], seglen[3], index);
        *has_index = !*bad_index;
        return ROUTE_CHUNK;
    }
    if (backups && n == 2)
        return ROUTE_BACKUP;
    if (backups && n == 3 && SEG(2, "content"))
        return ROUTE_CONTENT;
    if (backups && n == 3 && SEG(2, "verifications"))
        return ROUTE_VERIFICATIONS;
#undef SEG
    return ROUTE_NONE;
}

static const char *route_allow(enum api_route r)
{
    switch (r) {
    case ROUTE_HEALTH:
    case ROUTE_WHOAMI:
    case ROUTE_BACKUPS:
    case ROUTE_CONTENT:
        return "GET";
    case ROUTE_UPLOADS:
    case ROUTE_COMPLETE:
    case ROUTE_VERIFICATIONS:
        return "POST";
    case ROUTE_UPLOAD:
    case ROUTE_BACKUP:
        return "GET, DELETE";
    case ROUTE_CHUNK:
        return "PUT, DELETE";
    case ROUTE_NONE:
    case ROUTE_DASHBOARD:
        break;
    }
    return "";
}

static bool method_allowed(enum api_route r, const char *method)
{
    const char *allow = route_allow(r);
    size_t len = strlen(method);
    if (len == 0)
        return false;
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += len) {
        if ((p == allow || p[-1] == ' ') && (p[len] == '\0' || p[len] == ','))
            return true;
    }
    return false;
}

/* ---- headers, framing, authentication ---- */

const char *api_header(struct api_call *c, const char *name)
{
    return c->req->header ? c->req->header(c->req->ctx, name) : NULL;
}

unsigned api_header_count(struct api_call *c, const char *name)
{
    if (c->req->header_count)
        return c->req->header_count(c->req->ctx, name);
    return api_header(c, name) != NULL;
}

/* Why the request's body cannot be framed without doubt, or NULL.
 * libmicrohttpd frames by the first Content-Length and reads a body with
 * any Transfer-Encoding but chunked up to the end of the connection; a
 * proxy in front of the receiver could frame such a request otherwise
 * (request smuggling). Such a request is answered at once, and the
 * connection closed, since where its body ends is not known. */
static const char *framing_problem(struct api_call *c)
{
    if (api_header_count(c, "Content-Length") > 1)
        return "more than one Content-Length header";
    if (api_header_count(c, "Transfer-Encoding") > 1)
        return "more than one Transfer-Encoding header";
    const char *te = api_header(c, "Transfer-Encoding");
    if (te == NULL)
        return NULL;
    if (strcasecmp(te, "chunked") != 0)
        return "Transfer-Encoding must be chunked (or absent, with Content-Length)";
    if (api_header(c, "Content-Length") != NULL)
        return "Content-Length and Transfer-Encoding must not both be sent";
    return NULL;
}

/* Content-Length as a number, if the request has one (and is not chunked). */
bool api_content_length(struct api_call *c, uint64_t *len)
{
    if (api_header(c, "Transfer-Encoding") != NULL)
        return false;
    const char *cl = api_header(c, "Content-Length");
    return cl != NULL && api_parse_u64(cl, strlen(cl), len);
}

static bool authenticate(struct api_call *c)
{
    const char *auth = api_header(c, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        api_fail(c, PROTO_UNAUTHORIZED, "missing bearer token");
        return false;
    }
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen(token);
    while (len > 0 && token[len - 1] == ' ')
        len--;
    uint8_t hash[SHA256_LEN];
    sha256_buffer(token, len, hash);
    struct mfb_error err = {0};
    mfb_status st = server_db_client_by_token(c->srv->db, hash, &c->client, &err);
    if (st == MFB_ERR_NOT_FOUND || len != PROTO_TOKEN_HEX) {
        api_fail(c, PROTO_UNAUTHORIZED, "unknown token");
        return false;
    }
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "checking the token");
        return false;
    }
    c->authed = true;
    return true;
}

/* ---- the three steps ---- */

static void handle_health(struct api_call *c)
{
    api_set_json(c, 200, json_pack("{s:s, s:s}", "status", "ok", "version", MFB_VERSION));
}

static void handle_whoami(struct api_call *c)
{
    api_set_json(c, 200, json_pack("{s:s}", "client", c->client.name));
}

static void dispatch_without_body(struct api_call *c)
{
    switch (c->route) {
    case ROUTE_HEALTH:
        handle_health(c);
        break;
    case ROUTE_WHOAMI:
        handle_whoami(c);
        break;
    case ROUTE_UPLOAD:
        if (strcmp(c->method, "GET") == 0)
            api_upload_get(c);
        else
            api_upload_delete(c);
        break;
    case ROUTE_BACKUPS:
        api_backup_list(c);
        break;
    case ROUTE_BACKUP:
        api_backup_get_or_delete(c, strcmp(c->method, "DELETE") == 0);
        break;
    case ROUTE_CONTENT:
        api_backup_content(c);
        break;
    case ROUTE_CHUNK:
        api_chunk_delete(c);
        break;
    default:
        api_fail(c, PROTO_INTERNAL, "internal error: no handler");
        break;
    }
}

/* Whether the request announces a body. */
static bool has_body(struct api_call *c)
{
    uint64_t length = 0;
    if (api_content_length(c, &length))
        return length > 0;
    return api_header(c, "Transfer-Encoding") != NULL;
}

/* Whether an answer decided from the headers should go before the body.
 * libmicrohttpd closes the connection after such an answer (it cannot
 * reuse a connection with an unread body), and a client still sending the
 * body may then see a reset instead of the answer. So the body is read and
 * dropped first, unless the client waits for "100 Continue" (as curl does
 * for large bodies), or the body is too large to be worth reading. A
 * request without a body is always answered after libmicrohttpd has seen
 * its end, which keeps the connection alive. */
static bool answer_before_body(struct api_call *c)
{
    if (!has_body(c))
        return false;
    const char *expect = api_header(c, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
        return true;
    uint64_t length = 0;
    return api_content_length(c, &length) && length > DISCARD_LIMIT;
}

struct api_call *api_begin(struct server *srv, const struct api_request *req, bool *decided)
{
    static struct api_call oom; /* never written: a call that only says 500 */
    struct api_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        *decided = true;
        return &oom;
    }
    c->srv = srv;
    c->req = req;
    c->resp.fd = -1;
    snprintf(c->method, sizeof(c->method), "%s", req->method ? req->method : "");
    bool bad_index;
    c->route = route_match(req->url ? req->url : "", c->id, &c->index, &c->has_index, &bad_index);
    c->routed = c->route != ROUTE_NONE && !bad_index;
    if (c->route == ROUTE_NONE)
        c->id[0] = '\0'; /* may hold anything, even a token: never logged */
    const char *framing = framing_problem(c);
    if (framing != NULL) {
        api_fail(c, PROTO_BAD_REQUEST, "%s", framing);
        c->mode = BODY_DISCARD;
        *decided = true;
        return c;
    }
    if (c->route == ROUTE_NONE && strncmp(req->url ? req->url : "", PROTO_API_PREFIX "/", 4) != 0) {
        /* Not the API: the operator's dashboard, which never looks at a
         * bearer token (dashboard.h). */
        c->route = ROUTE_DASHBOARD;
        api_dashboard_begin(c);
    } else if (c->route == ROUTE_NONE) {
        api_fail(c, PROTO_NOT_FOUND, "no such resource");
    } else if (!method_allowed(c->route, c->method)) {
        c->resp.allow = route_allow(c->route);
        api_fail(c, PROTO_METHOD_NOT_ALLOWED, "use %s", route_allow(c->route));
    } else if (c->route != ROUTE_HEALTH && !authenticate(c)) {
        /* answered 401 */
    } else if (bad_index) {
        api_fail(c, PROTO_BAD_REQUEST, "the chunk index must be a decimal number");
    } else if (c->route == ROUTE_UPLOADS || c->route == ROUTE_COMPLETE ||
               c->route == ROUTE_VERIFICATIONS) {
        uint64_t length;
        if (api_content_length(c, &length) && length > PROTO_JSON_BODY_MAX)
            api_fail(c, PROTO_TOO_LARGE, "JSON body larger than %d bytes", PROTO_JSON_BODY_MAX);
        else
            c->mode = BODY_JSON;
    } else if (c->route == ROUTE_CHUNK && strcmp(c->method, "PUT") == 0) {
        api_chunk_begin(c);
    } else {
        dispatch_without_body(c);
    }
    if (c->decided && c->mode == BODY_NONE)
        c->mode = BODY_DISCARD; /* a body sent anyway is dropped */
    *decided = c->decided && answer_before_body(c);
    return c;
}

bool api_body(struct api_call *c, const char *data, size_t len)
{
    if (c->srv == NULL)
        return false;
    c->bytes_in += len;
    switch (c->mode) {
    case BODY_JSON:
        if (c->json_len + len > PROTO_JSON_BODY_MAX) {
            api_fail(c, PROTO_TOO_LARGE, "JSON body larger than %d bytes", PROTO_JSON_BODY_MAX);
            c->mode = BODY_DISCARD;
            c->discarded += len;
            break;
        }
        char *grown = realloc(c->json, c->json_len + len + 1);
        if (grown == NULL) {
            api_fail(c, PROTO_INTERNAL, "out of memory");
            c->mode = BODY_DISCARD;
            break;
        }
        c->json = grown;
        memcpy(c->json + c->json_len, data, len);
        c->json_len += len;
        c->json[c->json_len] = '\0';
        break;
    case BODY_DUPLICATE:
        c->discarded += len; /* counts towards DISCARD_LIMIT should it turn out too large */
        api_chunk_body(c, data, len);
        break;
    case BODY_CHUNK:
        api_chunk_body(c, data, len);
        break;
    case BODY_NONE:
    case BODY_DISCARD:
        c->discarded += len;
        break;
    }
    return !(c->mode == BODY_DISCARD && c->discarded > DISCARD_LIMIT);
}

void api_finish(struct api_call *c, struct api_response *resp)
{
    if (c->srv == NULL) {
        memset(resp, 0, sizeof(*resp));
        resp->fd = -1;
        resp->status = 500;
        resp->content_type = "application/json";
        resp->body = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
        resp->body_len = resp->body ? strlen(resp->body) : 0;
        return;
    }
    if (c->route == ROUTE_CHUNK && (c->mode == BODY_CHUNK || c->mode == BODY_DUPLICATE))
        api_chunk_finish(c);
    else if (!c->decided && c->route == ROUTE_UPLOADS)
        api_upload_create(c);
    else if (!c->decided && c->route == ROUTE_COMPLETE)
        api_upload_complete(c);
    else if (!c->decided && c->route == ROUTE_VERIFICATIONS)
        api_verification_post(c);
    else if (!c->decided && c->route == ROUTE_DASHBOARD)
        api_dashboard_finish(c);
    else if (!c->decided)
        dispatch_without_body(c);
    *resp = c->resp;
    c->resp.body = NULL;
    c->resp.fd = -1;
    c->resp.read = NULL;
    c->resp.read_close = NULL;
    c->resp.read_ctx = NULL;
}

void api_call_free(struct api_call *c)
{
    if (c == NULL || c->srv == NULL)
        return;
    api_chunk_release(c); /* before the session it may hand a chunk back to */
    session_put(c->session);
    if (c->have_upload)
        server_db_upload_free(&c->upload);
    api_response_release(&c->resp);
    free(c->json);
    free(c);
}

void api_call_describe(const struct api_call *c, struct api_call_info *info)
{
    memset(info, 0, sizeof(*info));
    info->client = c->authed ? c->client.name : "-";
    info->authed = c->authed;
    info->id_kind = c->id[0] == 'b' ? "backup" : "upload";
    info->id = c->id[0] ? c->id : "-";
    info->has_index = c->has_index;
    info->index = c->index;
    info->routed = c->routed;
    info->bytes_in = c->bytes_in;
    info->status = c->resp.status;
    info->error = c->error_code;
    info->operator_session = c->operator_session;
    if (c->srv == NULL) {
        info->client = "-";
        info->id_kind = "upload";
        info->id = "-";
        info->status = 500;
    }
}
