/*
 * api.c - routing, authentication, JSON and the handlers of the v1
 * protocol (see api.h and docs/protocol.md).
 */
#include "server/api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "proto/proto.h"
#include "server/layout.h"
#include "server/retention.h"
#include "server/storage.h"

/* After an error is decided mid-body, at most this much more is read and
 * dropped so the answer can still be sent; past it the connection closes. */
#define DISCARD_LIMIT (16ULL << 20)
/* Start write-back of a chunk's data every this many bytes, so the fsync at
 * its end has little left to do. */
#define WRITEBACK_STEP (8ULL << 20)
/* Chunk bytes are collected into writes of this size: TLS hands them over
 * 16 KiB at a time, and one write per 16 KiB cost ~10% more server CPU on
 * ext4 than one copy into this buffer (measured with 4 connections, 64 MiB
 * chunks). Allocated only while a chunk is being received. */
#define WRITE_BUFFER (256u << 10)
/* Largest file offset an upload of unknown size may reach (1 PiB). */
#define MAX_FILE_BYTES (1ULL << 50)

enum route {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_WHOAMI,
    ROUTE_UPLOADS,
    ROUTE_UPLOAD,
    ROUTE_CHUNK,
    ROUTE_COMPLETE,
    ROUTE_BACKUPS,
    ROUTE_BACKUP,
    ROUTE_CONTENT,
};

enum body_mode { BODY_NONE, BODY_JSON, BODY_CHUNK, BODY_DISCARD };

struct api_call {
    struct server *srv;
    const struct api_request *req;
    enum route route;
    bool routed; /* route matched, index (if any) valid */
    char method[16];
    struct srv_client client;
    bool authed;
    char id[SRV_ID_BUF];
    uint64_t index;
    bool has_index;
    bool decided;
    struct api_response resp;
    const char *error_code;
    enum body_mode mode;
    uint64_t bytes_in;
    uint64_t discarded;
    /* BODY_JSON */
    char *json;
    size_t json_len;
    /* BODY_CHUNK */
    struct srv_upload upload;
    bool have_upload;
    struct session *session;
    bool claimed;
    bool duplicate;
    bool inline_hash;
    struct sha256 chunk_hash, fork;
    uint8_t want[SHA256_LEN];
    int fd;
    char part_path[PATH_MAX];
    uint64_t base;      /* file offset of the chunk */
    uint64_t limit;     /* most bytes the body may have */
    uint64_t exact;     /* bytes it must have (known size), or 0 */
    uint64_t writeback; /* bytes handed to write-back so far */
    char *wbuf;         /* WRITE_BUFFER bytes collected before one pwrite */
    size_t wbuf_len;
    size_t wbuf_hashed;  /* how much of wbuf the digests have seen */
    uint64_t flushed;    /* bytes of the body written to the file */
    uint64_t quota_room; /* most bytes the body may have within the quota */
    uint64_t quota_used; /* the client's bytes when the chunk began */
};

/* ---- answers ---- */

static void set_json(struct api_call *c, unsigned status, json_t *obj)
{
    api_response_release(&c->resp);
    c->resp.status = status;
    c->resp.body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    c->resp.body_len = c->resp.body ? strlen(c->resp.body) : 0;
    c->resp.content_type = "application/json";
    c->decided = true;
    json_decref(obj);
}

static void fail(struct api_call *c, enum proto_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct api_call *c, enum proto_error e, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->error_code = proto_error_code(e);
    set_json(c, proto_error_status(e),
             json_pack("{s:s, s:s}", "error", c->error_code, "message", msg));
}

/* An internal failure: the message goes to the log, the client gets a generic one. */
static void fail_status(struct api_call *c, mfb_status st, const struct mfb_error *err,
                        const char *what)
{
    if (st == MFB_ERR_NO_SPACE) {
        fail(c, PROTO_INSUFFICIENT_STORAGE, "the receiver's disk is full while %s", what);
        return;
    }
    if (st == MFB_ERR_BUSY) {
        c->resp.retry_after = 1;
        fail(c, PROTO_UNAVAILABLE, "the receiver is busy while %s; retry", what);
        return;
    }
    log_error("request-failed", "what=\"%s\" status=%s error=%s", what, mfb_status_str(st),
              LOG_Q(err && err->message[0] ? err->message : "-"));
    fail(c, PROTO_INTERNAL, "internal error while %s", what);
}

void api_response_release(struct api_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (resp->fd >= 0)
        close(resp->fd);
    resp->fd = -1;
}

/* ---- small parsers ---- */

static bool parse_u64(const char *text, size_t len, uint64_t *out)
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
    if ((has_a && !parse_u64(p, (size_t)(dash - p), &a)) ||
        (has_b && !parse_u64(dash + 1, (size_t)(end - dash - 1), &b)) || (!has_a && !has_b))
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

/* Splits the path into at most 5 segments after "/v1". */
static enum route route_match(const char *url, char *id, uint64_t *index, bool *has_index,
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
        *bad_index = !parse_u64(seg[3], seglen[3], index);
        *has_index = !*bad_index;
        return ROUTE_CHUNK;
    }
    if (backups && n == 2)
        return ROUTE_BACKUP;
    if (backups && n == 3 && SEG(2, "content"))
        return ROUTE_CONTENT;
#undef SEG
    return ROUTE_NONE;
}

static const char *route_allow(enum route r)
{
    switch (r) {
    case ROUTE_HEALTH:
    case ROUTE_WHOAMI:
    case ROUTE_BACKUPS:
    case ROUTE_CONTENT:
        return "GET";
    case ROUTE_UPLOADS:
    case ROUTE_COMPLETE:
        return "POST";
    case ROUTE_UPLOAD:
    case ROUTE_BACKUP:
        return "GET, DELETE";
    case ROUTE_CHUNK:
        return "PUT, DELETE";
    case ROUTE_NONE:
        break;
    }
    return "";
}

static bool method_allowed(enum route r, const char *method)
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

static const char *header(struct api_call *c, const char *name)
{
    return c->req->header ? c->req->header(c->req->ctx, name) : NULL;
}

static unsigned header_count(struct api_call *c, const char *name)
{
    if (c->req->header_count)
        return c->req->header_count(c->req->ctx, name);
    return header(c, name) != NULL;
}

/* Why the request's body cannot be framed without doubt, or NULL.
 * libmicrohttpd frames by the first Content-Length and reads a body with
 * any Transfer-Encoding but chunked up to the end of the connection; a
 * proxy in front of the receiver could frame such a request otherwise
 * (request smuggling). Such a request is answered at once, and the
 * connection closed, since where its body ends is not known. */
static const char *framing_problem(struct api_call *c)
{
    if (header_count(c, "Content-Length") > 1)
        return "more than one Content-Length header";
    if (header_count(c, "Transfer-Encoding") > 1)
        return "more than one Transfer-Encoding header";
    const char *te = header(c, "Transfer-Encoding");
    if (te == NULL)
        return NULL;
    if (strcasecmp(te, "chunked") != 0)
        return "Transfer-Encoding must be chunked (or absent, with Content-Length)";
    if (header(c, "Content-Length") != NULL)
        return "Content-Length and Transfer-Encoding must not both be sent";
    return NULL;
}

/* Content-Length as a number, if the request has one (and is not chunked). */
static bool content_length(struct api_call *c, uint64_t *len)
{
    if (header(c, "Transfer-Encoding") != NULL)
        return false;
    const char *cl = header(c, "Content-Length");
    return cl != NULL && parse_u64(cl, strlen(cl), len);
}

static bool authenticate(struct api_call *c)
{
    const char *auth = header(c, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        fail(c, PROTO_UNAUTHORIZED, "missing bearer token");
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
        fail(c, PROTO_UNAUTHORIZED, "unknown token");
        return false;
    }
    if (st != MFB_OK) {
        fail_status(c, st, &err, "checking the token");
        return false;
    }
    c->authed = true;
    return true;
}

/* ---- JSON helpers ---- */

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

static json_t *chunk_json(const struct srv_chunk *ch)
{
    char hex[SHA256_HEX_LEN + 1];
    digest_to_hex(ch->sha256, hex);
    return json_pack("{s:I, s:I, s:s}", "index", (json_int_t)ch->index, "size",
                     (json_int_t)ch->size, "sha256", hex);
}

/* Parses the JSON body into an object, answering 400 when it is not one. */
static json_t *parse_body(struct api_call *c)
{
    json_error_t jerr;
    json_t *root = c->json ? json_loadb(c->json, c->json_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (root == NULL) {
        fail(c, PROTO_INVALID_JSON, "body is not valid JSON: %s",
             c->json ? jerr.text : "empty body");
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(c, PROTO_INVALID_JSON, "body must be a JSON object");
        return NULL;
    }
    return root;
}

/* An optional non-negative integer member. */
static bool get_size(struct api_call *c, json_t *root, const char *key, bool required,
                     bool *present, uint64_t *value)
{
    json_t *v = json_object_get(root, key);
    *present = v != NULL && !json_is_null(v);
    if (!*present) {
        if (required)
            fail(c, PROTO_BAD_REQUEST, "'%s' is required", key);
        return !required;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        fail(c, PROTO_BAD_REQUEST, "'%s' must be a non-negative integer", key);
        return false;
    }
    *value = (uint64_t)json_integer_value(v);
    return true;
}

/* A required name member, checked by the protocol's rules. */
static const char *get_name(struct api_call *c, json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_string(v)) {
        fail(c, PROTO_BAD_REQUEST, "'%s' must be a string", key);
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
        fail(c, PROTO_INVALID_NAME, "%s: %s", key, problem);
        return NULL;
    }
    return s;
}

/* ---- handlers ---- */

static void handle_health(struct api_call *c)
{
    set_json(c, 200, json_pack("{s:s, s:s}", "status", "ok", "version", MFB_VERSION));
}

static void handle_whoami(struct api_call *c)
{
    set_json(c, 200, json_pack("{s:s}", "client", c->client.name));
}

/* Whether the declared size fits the disk (less the reserve and what open
 * uploads still expect) and the client's quota; answers 507 if not. */
static bool check_space(struct api_call *c, bool size_known, uint64_t size)
{
    struct server *srv = c->srv;
    struct mfb_error err = {0};
    uint64_t avail, total, pending, usage;
    mfb_status st = storage_free_bytes(srv->cfg.storage, &avail, &total, &err);
    if (st == MFB_OK)
        st = server_db_pending_bytes(srv->db, &pending, &err);
    if (st == MFB_OK)
        st = server_db_client_usage(srv->db, c->client.id, &usage, &err);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "checking free space");
        return false;
    }
    uint64_t reserve =
        srv->cfg.reserve_percent ? total / 100 * srv->cfg.reserve_percent : srv->cfg.reserve_bytes;
    uint64_t room = avail > reserve + pending ? avail - reserve - pending : 0;
    uint64_t need = size_known ? size : 1;
    if (need > room) {
        fail(c, PROTO_INSUFFICIENT_STORAGE,
             "not enough space: %llu bytes needed, %llu available after the reserve and open "
             "uploads",
             (unsigned long long)need, (unsigned long long)room);
        return false;
    }
    bool over_quota = size_known ? usage + size > c->client.quota : usage >= c->client.quota;
    if (c->client.quota > 0 && over_quota) {
        fail(c, PROTO_INSUFFICIENT_STORAGE,
             "quota exceeded: client '%s' holds %llu of %llu bytes and asks for %llu more",
             c->client.name, (unsigned long long)usage, (unsigned long long)c->client.quota,
             (unsigned long long)(size_known ? size : 0));
        return false;
    }
    return true;
}

static void handle_create(struct api_call *c)
{
    json_t *root = parse_body(c);
    if (root == NULL)
        return;
    struct srv_upload u = {0};
    bool size_present = false, cs_present = false;
    const char *instance = get_name(c, root, "instance");
    const char *name = instance ? get_name(c, root, "name") : NULL;
    if (name == NULL)
        goto done;
    json_t *dir = json_object_get(root, "directory");
    if (dir != NULL && !json_is_null(dir)) {
        char why[128];
        if (!json_is_string(dir)) {
            fail(c, PROTO_BAD_REQUEST, "'directory' must be a string");
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
            fail(c, PROTO_INVALID_NAME, "directory: %s", problem);
            goto done;
        }
        snprintf(u.directory, sizeof(u.directory), "%s", d);
    }
    if (!get_size(c, root, "size", false, &size_present, &u.size) ||
        !get_size(c, root, "chunk_size", true, &cs_present, &u.chunk_size))
        goto done;
    if (!proto_chunk_size_valid(u.chunk_size, c->srv->cfg.max_chunk)) {
        fail(c, u.chunk_size > c->srv->cfg.max_chunk ? PROTO_TOO_LARGE : PROTO_BAD_REQUEST,
             "chunk_size must be a power of two from 1048576 to %llu",
             (unsigned long long)c->srv->cfg.max_chunk);
        goto done;
    }
    if (size_present && u.size > MAX_FILE_BYTES) {
        fail(c, PROTO_TOO_LARGE, "size is larger than the receiver accepts");
        goto done;
    }
    json_t *meta = json_object_get(root, "metadata");
    if (meta != NULL && !json_is_null(meta) && !json_is_object(meta)) {
        fail(c, PROTO_BAD_REQUEST, "'metadata' must be an object");
        goto done;
    }
    /* Without a size, an optional expected_size (an estimate that binds
     * nothing) is what the free space is checked against. */
    bool expected_present = false;
    uint64_t expected = 0;
    if (!size_present && !get_size(c, root, "expected_size", false, &expected_present, &expected))
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
        st = storage_partial_create(c->srv->cfg.storage, u.id, &err);
    if (st == MFB_OK) {
        st = server_db_upload_create(c->srv->db, &u, &err);
        if (st != MFB_OK)
            storage_partial_remove(c->srv->cfg.storage, u.id);
    }
    if (st != MFB_OK) {
        fail_status(c, st, &err, "opening the upload");
    } else {
        snprintf(c->id, sizeof(c->id), "%s", u.id);
        log_info("upload-open", "client=%s upload=%s instance=%s name=%s size=%lld chunk_size=%llu",
                 c->client.name, u.id, LOG_Q(u.instance), LOG_Q(u.name),
                 u.size_known ? (long long)u.size : -1LL, (unsigned long long)u.chunk_size);
        set_json(c, 201, upload_json(&u));
    }
    free(u.metadata);
done:
    json_decref(root);
}

/* Loads the caller's upload c->id into c->upload; 404 otherwise. */
static bool load_upload(struct api_call *c)
{
    struct mfb_error err = {0};
    mfb_status st = server_db_upload_get(c->srv->db, c->id, c->client.id, &c->upload, &err);
    if (st == MFB_ERR_NOT_FOUND) {
        fail(c, PROTO_NOT_FOUND, "no upload '%s'", c->id);
        return false;
    }
    if (st != MFB_OK) {
        fail_status(c, st, &err, "looking up the upload");
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

static bool get_session(struct api_call *c)
{
    char path[PATH_MAX];
    data_path(c, path, sizeof(path));
    struct mfb_error err = {0};
    mfb_status st = session_get(c->srv->sessions, c->srv->db, &c->upload, path, &c->session, &err);
    if (st != MFB_OK)
        fail_status(c, st, &err, "loading the upload");
    return st == MFB_OK;
}

static void handle_upload_get(struct api_call *c)
{
    if (!load_upload(c))
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
            fail_status(c, st, &err, "listing chunks");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(chunks, chunk_json(&list[i]));
            received += list[i].size;
        }
        free(list);
        json_object_set_new(o, "complete", json_false());
    }
    json_object_set_new(o, "chunks", chunks);
    json_object_set_new(o, "received_bytes", json_integer((json_int_t)received));
    set_json(c, 200, o);
}

static void handle_upload_delete(struct api_call *c)
{
    if (!load_upload(c))
        return;
    if (!c->upload.complete) {
        if (!get_session(c))
            return;
        if (!session_close_begin(c->session)) {
            c->resp.retry_after = 1;
            fail(c, PROTO_UNAVAILABLE, "chunks of upload '%s' are being received; retry", c->id);
            return;
        }
    }
    struct mfb_error err = {0};
    mfb_status st = server_db_upload_delete(c->srv->db, c->id, &err);
    if (st != MFB_OK) {
        if (c->session)
            session_close_abort(c->session);
        fail_status(c, st, &err, "deleting the upload");
        return;
    }
    if (!c->upload.complete) {
        storage_partial_remove(c->srv->cfg.storage, c->id);
        session_forget(c->srv->sessions, c->id);
    }
    log_info("upload-deleted", "client=%s upload=%s", c->client.name, c->id);
    set_json(c, 204, NULL);
}

/* The answer to complete for a published backup. */
static void answer_backup(struct api_call *c, unsigned status, const struct srv_backup *b)
{
    set_json(c, status,
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
    char reldir[PATH_MAX], rel[PATH_MAX], final_name[PATH_MAX], part[PATH_MAX];
    char *json = NULL;
    mfb_status st = server_new_id('b', b.id, &err);
    struct layout_vars vars = {c->client.name, c->upload.instance, c->upload.directory,
                               (time_t)c->upload.created};
    if (st == MFB_OK)
        st = layout_expand(srv->cfg.layout, &vars, reldir, sizeof(reldir), &err);
    storage_partial_path(srv->cfg.storage, c->upload.id, part, sizeof(part));
    struct stat sb;
    bool recovered = stat(part, &sb) != 0 && c->upload.publish_path != NULL;
    if (st == MFB_OK && !recovered) {
        /* Cut anything past the size (a chunk half-written before a crash). */
        if (truncate(part, (off_t)size) != 0)
            st = mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot truncate '%s'", part);
        /* Each name is recorded before the rename is tried, so a crash in
         * between leaves the catalog pointing at the file. */
        if (st == MFB_OK)
            st = storage_publish(srv->cfg.storage, reldir, c->upload.name, part, record_path, c,
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
        fail_status(c, st, &err, "publishing the backup");
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
        st = storage_write_companions(srv->cfg.storage, rel, final_name, sha_hex, json, recovered,
                                      &err);
    if (st == MFB_OK)
        st = server_db_upload_finish(srv->db, c->upload.id, &b, &err);
    free(json);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "recording the backup");
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
    if (retention_apply(srv->db, srv->cfg.storage, c->client.id, c->upload.instance, false, NULL,
                        NULL, &report, &rerr) != MFB_OK)
        log_error("retention-failed", "client=%s instance=%s error=%s", c->client.name,
                  LOG_Q(c->upload.instance), LOG_Q(rerr.message));
}

static void handle_complete(struct api_call *c)
{
    json_t *root = parse_body(c);
    if (root == NULL)
        return;
    uint64_t size = 0;
    bool present;
    json_t *sha = json_object_get(root, "sha256");
    uint8_t want[SHA256_LEN];
    char want_hex[SHA256_HEX_LEN + 1];
    if (!get_size(c, root, "size", true, &present, &size))
        goto done;
    if (!json_is_string(sha) || !digest_from_hex(json_string_value(sha), want)) {
        fail(c, PROTO_BAD_REQUEST, "'sha256' must be 64 hex digits");
        goto done;
    }
    digest_to_hex(want, want_hex);
    if (!load_upload(c))
        goto done;
    if (c->upload.complete) {
        struct srv_backup b;
        struct mfb_error err = {0};
        mfb_status st =
            server_db_backup_get(c->srv->db, c->upload.backup_id, c->client.id, &b, &err);
        if (st == MFB_ERR_NOT_FOUND)
            fail(c, PROTO_CONFLICT, "upload '%s' was completed and its backup since deleted",
                 c->id);
        else if (st != MFB_OK)
            fail_status(c, st, &err, "looking up the backup");
        else if (b.size != size || strcmp(b.sha256, want_hex) != 0)
            fail(c, PROTO_CONFLICT, "upload '%s' was completed with another size or sha256", c->id);
        else
            answer_backup(c, 201, &b);
        server_db_backup_free(&b);
        goto done;
    }
    if (c->upload.size_known && c->upload.size != size) {
        fail(c, PROTO_CONFLICT, "size %llu differs from the declared size %llu",
             (unsigned long long)size, (unsigned long long)c->upload.size);
        goto done;
    }
    if (!get_session(c))
        goto done;
    if (!session_close_begin(c->session)) {
        c->resp.retry_after = 1;
        fail(c, PROTO_UNAVAILABLE, "chunks of upload '%s' are still being received; retry", c->id);
        goto done;
    }
    char why[256];
    uint8_t got[SHA256_LEN];
    uint64_t prefix = 0;
    struct mfb_error err = {0};
    if (!session_covers(c->session, size, why, sizeof(why))) {
        fail(c, PROTO_CONFLICT, "upload is not complete: %s", why);
    } else if (session_digest(c->session, got, &prefix, &err) != MFB_OK) {
        if (err.status == MFB_ERR_CORRUPT) /* retrying cannot help: say so, with a 4xx */
            fail(c, PROTO_CONFLICT,
                 "the receiver cannot read back the chunks stored for this upload (its log "
                 "says why); start a new upload");
        else
            fail_status(c, err.status, &err, "hashing the upload");
    } else if (prefix != size) {
        fail(c, PROTO_INTERNAL, "internal error: hashed %llu of %llu bytes",
             (unsigned long long)prefix, (unsigned long long)size);
    } else if (memcmp(got, want, SHA256_LEN) != 0) {
        char got_hex[SHA256_HEX_LEN + 1];
        digest_to_hex(got, got_hex);
        fail(c, PROTO_CHECKSUM_MISMATCH, "the received file has sha256 %s, not %s", got_hex,
             want_hex);
    } else {
        publish(c, size, want_hex);
    }
    if (c->resp.status != 201)
        session_close_abort(c->session);
done:
    json_decref(root);
}

static void handle_backups(struct api_call *c)
{
    const char *instance = c->req->query ? c->req->query(c->req->ctx, "instance") : NULL;
    struct srv_backup *list = NULL;
    size_t n = 0;
    struct mfb_error err = {0};
    mfb_status st = server_db_backup_list(c->srv->db, c->client.id, instance, &list, &n, &err);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "listing backups");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, backup_json(&list[i]));
    server_db_backup_list_free(list, n);
    set_json(c, 200, json_pack("{s:o}", "backups", arr));
}

static bool load_backup(struct api_call *c, struct srv_backup *b)
{
    struct mfb_error err = {0};
    mfb_status st = server_db_backup_get(c->srv->db, c->id, c->client.id, b, &err);
    if (st == MFB_ERR_NOT_FOUND)
        fail(c, PROTO_NOT_FOUND, "no backup '%s'", c->id);
    else if (st != MFB_OK)
        fail_status(c, st, &err, "looking up the backup");
    return st == MFB_OK;
}

static void handle_backup(struct api_call *c, bool delete)
{
    struct srv_backup b;
    if (!load_backup(c, &b))
        return;
    if (!delete) {
        set_json(c, 200, backup_json(&b));
    } else {
        struct mfb_error err = {0};
        mfb_status st = server_db_backup_delete(c->srv->db, b.id, &err);
        if (st == MFB_OK)
            st = storage_delete_backup(c->srv->cfg.storage, b.path, &err);
        if (st != MFB_OK) {
            fail_status(c, st, &err, "deleting the backup");
        } else {
            log_info("backup-deleted", "client=%s backup=%s path=%s", c->client.name, b.id,
                     LOG_Q(b.path));
            set_json(c, 204, NULL);
        }
    }
    server_db_backup_free(&b);
}

static void handle_content(struct api_call *c)
{
    struct srv_backup b;
    if (!load_backup(c, &b))
        return;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", c->srv->cfg.storage, b.path) >= (int)sizeof(path))
        path[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        struct mfb_error err = {0};
        mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot open '%s'", path);
        if (fd >= 0)
            close(fd);
        fail_status(c, err.status == MFB_ERR_NO_SPACE ? MFB_ERR_IO : err.status, &err,
                    "reading the backup");
        server_db_backup_free(&b);
        return;
    }
    uint64_t size = (uint64_t)sb.st_size, start = 0, len = size;
    const char *range = header(c, "Range");
    bool satisfiable = false;
    api_response_release(&c->resp);
    c->resp.status = 200;
    if (range != NULL && api_parse_range(range, size, &start, &len, &satisfiable)) {
        if (!satisfiable) {
            close(fd);
            fail(c, PROTO_RANGE_NOT_SATISFIABLE, "range '%s' is outside the %llu-byte file", range,
                 (unsigned long long)size);
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
    c->resp.fd = fd;
    c->resp.offset = start;
    c->resp.length = len;
    c->resp.content_type = "application/octet-stream";
    c->resp.accept_ranges = true;
    c->decided = true;
    server_db_backup_free(&b);
}

/* ---- chunk PUT ---- */

/* For an upload of unknown size: whether chunk c->index can lie in a file
 * on the receiver's storage (no further than its file system's largest
 * file, nor than 1 PiB); 400 chunk_out_of_range if not. Past that, the
 * write would fail with EFBIG, or leave a huge sparse partial file that
 * could never be completed, and 507 would make the client retry for ever. */
static bool chunk_within_storage(struct api_call *c, uint64_t cs)
{
    uint64_t max = MAX_FILE_BYTES, fs_max;
    struct mfb_error err = {0};
    mfb_status st = storage_max_file_bytes(c->srv->cfg.storage, &fs_max, &err);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "checking the storage");
        return false;
    }
    if (fs_max < max)
        max = fs_max;
    if (c->index >= max / cs) {
        fail(c, PROTO_CHUNK_OUT_OF_RANGE,
             "chunk %llu is past the largest file the receiver's storage can hold (%llu bytes)",
             (unsigned long long)c->index, (unsigned long long)max);
        return false;
    }
    return true;
}

/* For an upload of unknown size, when the client has a quota: how many
 * bytes this chunk may have before the client's backups and open uploads
 * pass it (the check at creation could only see the space already used).
 * 413 when there is no room at all; chunk_data enforces the rest as the
 * body streams. Chunks received in parallel are each checked against what
 * was stored before them, so the quota may be passed by at most the
 * chunks in flight at once. */
static void chunk_quota_fail(struct api_call *c)
{
    fail(c, PROTO_TOO_LARGE,
         "quota exceeded: client '%s' holds %llu of its %llu bytes, and chunk %llu would pass "
         "it; the receiver's operator can raise the quota (mfb-server client set)",
         c->client.name, (unsigned long long)c->quota_used, (unsigned long long)c->client.quota,
         (unsigned long long)c->index);
}

static bool chunk_quota_room(struct api_call *c)
{
    c->quota_room = UINT64_MAX;
    if (c->upload.size_known || c->client.quota == 0)
        return true;
    uint64_t usage;
    struct mfb_error err = {0};
    mfb_status st = server_db_client_usage(c->srv->db, c->client.id, &usage, &err);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "checking the quota");
        return false;
    }
    c->quota_used = usage;
    c->quota_room = usage < c->client.quota ? c->client.quota - usage : 0;
    uint64_t length;
    if (c->quota_room == 0 || (content_length(c, &length) && length > c->quota_room)) {
        chunk_quota_fail(c);
        return false;
    }
    return true;
}

static void chunk_begin(struct api_call *c)
{
    if (!load_upload(c))
        return;
    const struct srv_upload *u = &c->upload;
    if (u->complete) {
        fail(c, PROTO_CONFLICT, "upload '%s' is already complete", c->id);
        return;
    }
    const char *digest = header(c, "Content-Digest");
    if (header_count(c, "Content-Digest") > 1) {
        fail(c, PROTO_BAD_DIGEST_HEADER, "send one Content-Digest header, not several");
        return;
    }
    if (digest == NULL || !content_digest_parse(digest, c->want)) {
        fail(c, PROTO_BAD_DIGEST_HEADER, "%s",
             digest ? "Content-Digest has no valid sha-256 member"
                    : "Content-Digest: sha-256=:<base64>: is required");
        return;
    }
    uint64_t cs = u->chunk_size;
    c->limit = cs < c->srv->cfg.max_chunk ? cs : c->srv->cfg.max_chunk;
    c->exact = 0;
    if (u->size_known) {
        if (c->index >= proto_chunk_count(u->size, cs)) {
            fail(c, PROTO_CHUNK_OUT_OF_RANGE,
                 "chunk %llu is past the last chunk (%llu) of %llu bytes",
                 (unsigned long long)c->index,
                 (unsigned long long)(proto_chunk_count(u->size, cs)
                                          ? proto_chunk_count(u->size, cs) - 1
                                          : 0),
                 (unsigned long long)u->size);
            return;
        }
        c->exact = proto_chunk_length(u->size, cs, c->index);
    } else if (!chunk_within_storage(c, cs)) {
        return;
    }
    uint64_t length;
    if (content_length(c, &length)) {
        if (length > c->limit) {
            fail(c, PROTO_TOO_LARGE, "chunk of %llu bytes is larger than the chunk size %llu",
                 (unsigned long long)length, (unsigned long long)c->limit);
            return;
        }
        if (c->exact && length > c->exact) {
            fail(c, PROTO_CHUNK_OUT_OF_RANGE, "chunk %llu ends past the declared size %llu",
                 (unsigned long long)c->index, (unsigned long long)u->size);
            return;
        }
    }
    if (!get_session(c))
        return;
    struct mfb_error err = {0};
    sha256_init(&c->chunk_hash);
    switch (session_chunk_begin(c->session, c->index, c->want, &c->fork, &c->inline_hash)) {
    case SESSION_WRITE:
        break;
    case SESSION_DUPLICATE:
        c->duplicate = true;
        c->mode = BODY_DISCARD;
        return;
    case SESSION_DIFFERENT:
        fail(c, PROTO_CONFLICT,
             "chunk %llu is already stored with a different digest; DELETE it to replace it",
             (unsigned long long)c->index);
        return;
    case SESSION_BUSY:
        c->resp.retry_after = 1;
        fail(c, PROTO_UNAVAILABLE, "chunk %llu is being received on another connection; retry",
             (unsigned long long)c->index);
        return;
    case SESSION_CLOSED:
    case SESSION_ABSENT: /* only for forgetting */
        fail(c, PROTO_CONFLICT, "upload '%s' is being completed or deleted", c->id);
        return;
    }
    c->claimed = true;
    if (!chunk_quota_room(c))
        return;
    c->base = c->index * cs;
    storage_partial_path(c->srv->cfg.storage, c->id, c->part_path, sizeof(c->part_path));
    c->fd = open(c->part_path, O_WRONLY | O_CLOEXEC);
    if (c->fd < 0) {
        mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot open '%s'", c->part_path);
        fail_status(c, err.status, &err, "receiving the chunk");
        return;
    }
    c->mode = BODY_CHUNK;
}

/* An error decided in the middle of a body: drop the rest. */
static void chunk_abandon(struct api_call *c)
{
    c->mode = BODY_DISCARD;
}

/* Feeds the collected bytes not yet hashed to the chunk's digest and, in
 * the same pass, to the running hash: its own bytes when the chunk is at
 * the prefix, stored bytes of the prefix otherwise (session.h). Hashing
 * whole buffers rather than each piece libmicrohttpd hands over (a TLS
 * record, 16 KiB) takes the running hash 16 times less often. */
static void chunk_hash_collected(struct api_call *c)
{
    const char *pending = c->wbuf + c->wbuf_hashed;
    size_t len = c->wbuf_len - c->wbuf_hashed;
    if (len == 0)
        return;
    if (c->inline_hash)
        sha256_update2(&c->chunk_hash, pending, &c->fork, pending, len);
    else
        session_hash_alongside(c->session, &c->chunk_hash, pending, len);
    c->wbuf_hashed = c->wbuf_len;
}

/* Hashes and writes the collected bytes at their offset; false (answer
 * set) on error. */
static bool chunk_flush(struct api_call *c)
{
    if (c->wbuf_len == 0)
        return true;
    chunk_hash_collected(c);
    struct mfb_error err = {0};
    mfb_status st =
        fs_pwrite_all(c->fd, c->wbuf, c->wbuf_len, c->base + c->flushed, c->part_path, &err);
    if (st != MFB_OK) {
        if (st == MFB_ERR_NO_SPACE)
            fail(c, PROTO_INSUFFICIENT_STORAGE,
                 "the receiver's disk is full; chunks already stored are kept, retry later");
        else if (st == MFB_ERR_UNSUPPORTED) /* EFBIG: no retry can help */
            fail(c, PROTO_CHUNK_OUT_OF_RANGE,
                 "chunk %llu is past the largest file the receiver's storage can hold",
                 (unsigned long long)c->index);
        else
            fail_status(c, st, &err, "writing the chunk");
        chunk_abandon(c);
        return false;
    }
    c->flushed += c->wbuf_len;
    c->wbuf_len = 0;
    c->wbuf_hashed = 0;
    if (c->flushed - c->writeback >= WRITEBACK_STEP) {
        sync_file_range(c->fd, (off_t)(c->base + c->writeback), (off_t)(c->flushed - c->writeback),
                        SYNC_FILE_RANGE_WRITE);
        c->writeback = c->flushed;
    }
    return true;
}

static void chunk_data(struct api_call *c, const char *data, size_t len)
{
    if (c->bytes_in > c->limit || (c->exact && c->bytes_in > c->exact)) {
        if (c->bytes_in > c->limit)
            fail(c, PROTO_TOO_LARGE, "chunk is larger than the chunk size %llu",
                 (unsigned long long)c->limit);
        else
            fail(c, PROTO_CHUNK_OUT_OF_RANGE, "chunk %llu ends past the declared size %llu",
                 (unsigned long long)c->index, (unsigned long long)c->upload.size);
        chunk_abandon(c);
        return;
    }
    if (c->bytes_in > c->quota_room) {
        chunk_quota_fail(c);
        chunk_abandon(c);
        return;
    }
    if (c->wbuf == NULL && (c->wbuf = malloc(WRITE_BUFFER)) == NULL) {
        fail(c, PROTO_INTERNAL, "out of memory");
        chunk_abandon(c);
        return;
    }
    while (len > 0) {
        size_t n = WRITE_BUFFER - c->wbuf_len < len ? WRITE_BUFFER - c->wbuf_len : len;
        memcpy(c->wbuf + c->wbuf_len, data, n);
        c->wbuf_len += n;
        data += n;
        len -= n;
        if (c->wbuf_len == WRITE_BUFFER && !chunk_flush(c))
            return;
    }
}

static void chunk_finish(struct api_call *c)
{
    if (c->decided) /* an error was decided while the body arrived */
        return;
    struct srv_chunk ch = {.index = c->index, .size = c->bytes_in};
    if (c->duplicate) {
        if (!session_chunk_get(c->session, c->index, &ch)) {
            c->resp.retry_after = 1;
            fail(c, PROTO_UNAVAILABLE, "chunk %llu changed meanwhile; retry",
                 (unsigned long long)c->index);
            return;
        }
        server_db_upload_touch(c->srv->db, c->id, NULL); /* a resuming client is active */
        set_json(c, 200, chunk_json(&ch));
        return;
    }
    if (c->exact && c->bytes_in != c->exact) {
        fail(c, PROTO_BAD_REQUEST, "chunk %llu must have %llu bytes, not %llu",
             (unsigned long long)c->index, (unsigned long long)c->exact,
             (unsigned long long)c->bytes_in);
        return;
    }
    if (c->bytes_in == 0) {
        fail(c, PROTO_BAD_REQUEST, "chunk %llu is empty", (unsigned long long)c->index);
        return;
    }
    chunk_hash_collected(c);
    sha256_final(&c->chunk_hash, ch.sha256);
    if (memcmp(ch.sha256, c->want, SHA256_LEN) != 0) {
        char got[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
        digest_to_hex(ch.sha256, got);
        digest_to_hex(c->want, want);
        fail(c, PROTO_DIGEST_MISMATCH, "chunk %llu has sha256 %s, Content-Digest says %s",
             (unsigned long long)c->index, got, want);
        return;
    }
    if (!chunk_flush(c))
        return;
    struct mfb_error err = {0};
    mfb_status st = MFB_OK;
    if (fdatasync(c->fd) != 0)
        st = mfb_error_errno(&err, errno, MFB_ERR_IO, "cannot fsync '%s'", c->part_path);
    if (st == MFB_OK)
        st = server_db_chunk_insert(c->srv->db, c->id, &ch, &err);
    if (st != MFB_OK) {
        fail_status(c, st, &err, "storing the chunk");
        return;
    }
    session_chunk_end(c->session, c->index, true, ch.size, ch.sha256, c->inline_hash, &c->fork);
    c->claimed = false;
    set_json(c, 201, chunk_json(&ch));
}

/* ---- chunk DELETE ---- */

/* Forgets a stored chunk so that a resuming client can send it again
 * (its stored digest differs from the client's file). */
static void handle_chunk_delete(struct api_call *c)
{
    if (!load_upload(c))
        return;
    if (c->upload.complete) {
        fail(c, PROTO_CONFLICT, "upload '%s' is already complete", c->id);
        return;
    }
    if (!get_session(c))
        return;
    switch (session_chunk_forget_begin(c->session, c->index)) {
    case SESSION_WRITE:
        break;
    case SESSION_ABSENT:
        fail(c, PROTO_NOT_FOUND, "chunk %llu of upload '%s' is not stored",
             (unsigned long long)c->index, c->id);
        return;
    case SESSION_BUSY:
        c->resp.retry_after = 1;
        fail(c, PROTO_UNAVAILABLE, "chunk %llu is being received on another connection; retry",
             (unsigned long long)c->index);
        return;
    case SESSION_CLOSED:
    case SESSION_DUPLICATE: /* only for PUTs */
    case SESSION_DIFFERENT:
        fail(c, PROTO_CONFLICT, "upload '%s' is being completed or deleted", c->id);
        return;
    }
    struct mfb_error err = {0};
    mfb_status st = server_db_chunk_delete(c->srv->db, c->id, c->index, &err);
    /* NOT_FOUND cannot happen while the session holds the chunk; if the
     * catalog was changed behind its back, the chunk is gone all the same. */
    session_chunk_forget_end(c->session, c->index, st == MFB_OK || st == MFB_ERR_NOT_FOUND);
    if (st != MFB_OK && st != MFB_ERR_NOT_FOUND) {
        fail_status(c, st, &err, "forgetting the chunk");
        return;
    }
    log_info("chunk-forgotten", "client=%s upload=%s index=%llu", c->client.name, c->id,
             (unsigned long long)c->index);
    set_json(c, 204, NULL);
}

/* ---- the three steps ---- */

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
            handle_upload_get(c);
        else
            handle_upload_delete(c);
        break;
    case ROUTE_BACKUPS:
        handle_backups(c);
        break;
    case ROUTE_BACKUP:
        handle_backup(c, strcmp(c->method, "DELETE") == 0);
        break;
    case ROUTE_CONTENT:
        handle_content(c);
        break;
    case ROUTE_CHUNK:
        handle_chunk_delete(c);
        break;
    default:
        fail(c, PROTO_INTERNAL, "internal error: no handler");
        break;
    }
}

/* Whether the request announces a body. */
static bool has_body(struct api_call *c)
{
    uint64_t length = 0;
    if (content_length(c, &length))
        return length > 0;
    return header(c, "Transfer-Encoding") != NULL;
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
    const char *expect = header(c, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
        return true;
    uint64_t length = 0;
    return content_length(c, &length) && length > DISCARD_LIMIT;
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
    c->fd = -1;
    c->resp.fd = -1;
    snprintf(c->method, sizeof(c->method), "%s", req->method ? req->method : "");
    bool bad_index;
    c->route = route_match(req->url ? req->url : "", c->id, &c->index, &c->has_index, &bad_index);
    c->routed = c->route != ROUTE_NONE && !bad_index;
    if (c->route == ROUTE_NONE)
        c->id[0] = '\0'; /* may hold anything, even a token: never logged */
    const char *framing = framing_problem(c);
    if (framing != NULL) {
        fail(c, PROTO_BAD_REQUEST, "%s", framing);
        c->mode = BODY_DISCARD;
        *decided = true;
        return c;
    }
    if (c->route == ROUTE_NONE) {
        fail(c, PROTO_NOT_FOUND, "no such resource");
    } else if (!method_allowed(c->route, c->method)) {
        c->resp.allow = route_allow(c->route);
        fail(c, PROTO_METHOD_NOT_ALLOWED, "use %s", route_allow(c->route));
    } else if (c->route != ROUTE_HEALTH && !authenticate(c)) {
        /* answered 401 */
    } else if (bad_index) {
        fail(c, PROTO_BAD_REQUEST, "the chunk index must be a decimal number");
    } else if (c->route == ROUTE_UPLOADS || c->route == ROUTE_COMPLETE) {
        uint64_t length;
        if (content_length(c, &length) && length > PROTO_JSON_BODY_MAX)
            fail(c, PROTO_TOO_LARGE, "JSON body larger than %d bytes", PROTO_JSON_BODY_MAX);
        else
            c->mode = BODY_JSON;
    } else if (c->route == ROUTE_CHUNK && strcmp(c->method, "PUT") == 0) {
        chunk_begin(c);
    } else {
        dispatch_without_body(c);
    }
    if (c->decided && c->mode == BODY_NONE)
        c->mode = BODY_DISCARD; /* a body sent anyway is dropped */
    *decided = c->decided && !c->duplicate && answer_before_body(c);
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
            fail(c, PROTO_TOO_LARGE, "JSON body larger than %d bytes", PROTO_JSON_BODY_MAX);
            c->mode = BODY_DISCARD;
            c->discarded += len;
            break;
        }
        char *grown = realloc(c->json, c->json_len + len + 1);
        if (grown == NULL) {
            fail(c, PROTO_INTERNAL, "out of memory");
            c->mode = BODY_DISCARD;
            break;
        }
        c->json = grown;
        memcpy(c->json + c->json_len, data, len);
        c->json_len += len;
        c->json[c->json_len] = '\0';
        break;
    case BODY_CHUNK:
        chunk_data(c, data, len);
        break;
    case BODY_NONE:
    case BODY_DISCARD:
        c->discarded += len;
        if (c->duplicate && c->bytes_in > c->limit) {
            c->duplicate = false; /* a repeat cannot be larger than the chunk either */
            fail(c, PROTO_TOO_LARGE, "chunk is larger than the chunk size %llu",
                 (unsigned long long)c->limit);
        }
        break;
    }
    return !(c->mode == BODY_DISCARD && c->discarded > DISCARD_LIMIT && !c->duplicate);
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
    if (c->route == ROUTE_CHUNK && (c->mode == BODY_CHUNK || c->duplicate))
        chunk_finish(c);
    else if (!c->decided && c->route == ROUTE_UPLOADS)
        handle_create(c);
    else if (!c->decided && c->route == ROUTE_COMPLETE)
        handle_complete(c);
    else if (!c->decided)
        dispatch_without_body(c);
    *resp = c->resp;
    c->resp.body = NULL;
    c->resp.fd = -1;
}

void api_call_free(struct api_call *c)
{
    if (c == NULL || c->srv == NULL)
        return;
    if (c->claimed) /* not recorded: the connection dropped, or the chunk failed */
        session_chunk_end(c->session, c->index, false, 0, NULL, c->inline_hash, &c->fork);
    if (c->fd >= 0)
        close(c->fd);
    free(c->wbuf);
    sha256_free(&c->chunk_hash);
    sha256_free(&c->fork);
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
    if (c->srv == NULL) {
        info->client = "-";
        info->id_kind = "upload";
        info->id = "-";
        info->status = 500;
    }
}
