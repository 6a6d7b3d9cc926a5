/*
 * fuzz_api.c - libFuzzer target for the receiver's request handling:
 * routing, authentication, header parsing (Content-Length, Content-Digest,
 * Range, Transfer-Encoding, Expect), JSON bodies and the chunk writer,
 * driven through api.h exactly as the HTTP layer drives it, without sockets.
 *
 * Input format (what the seed corpus uses):
 *   METHOD SP PATH ["?instance=" NAME] LF
 *   (NAME ": " VALUE LF)*
 *   LF
 *   BODY (delivered in pieces whose sizes come from the first body byte)
 * One receiver (catalog and storage in a temporary directory, a client with
 * token "1"x64) lives for the whole run; requests may create uploads and
 * backups that later inputs touch. The upload ids are random, so inputs
 * can only reach them through the "u_" / "b_" prefixes the fuzzer finds;
 * the seeds include a fixed upload made at start ("u_" followed by 32 '0').
 *
 * Paths outside /v1/ are the operator's dashboard (server/dashboard.h),
 * with a password set at start (PASSWORD) and one live session: a header
 * value holding "SESSION" or "CSRF" gets that session's id or CSRF token
 * in their place (the first occurrence), so inputs reach the pages behind
 * the login, the overview and the logout.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/digest.h"
#include "common/log.h"
#include "server/api.h"
#include "server/server.h"
#include "server/storage.h"
#include "ui/password.h"

#define TOKEN "1111111111111111111111111111111111111111111111111111111111111111"
#define MAX_HEADERS 32
#define PASSWORD "fuzzing password"
#define VALUE_MAX 512

static struct server srv;
static struct server_db *db;
static char tmpdir[] = "/tmp/mfb-fuzz-api-XXXXXX";
static char session_id[UI_TOKEN_BUF], session_csrf[UI_TOKEN_BUF];

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_api: cannot remove %s\n", tmpdir);
}

struct fuzz_req {
    const char *names[MAX_HEADERS];
    const char *values[MAX_HEADERS];
    char expanded[MAX_HEADERS][VALUE_MAX]; /* values with SESSION or CSRF replaced */
    int count;
    const char *instance;
};

/* The value with the first "SESSION" or "CSRF" replaced by the live
 * session's id or token (into out), or value itself. */
static const char *expand(const char *value, char *out)
{
    const char *words[] = {"SESSION", "CSRF"};
    const char *with[] = {session_id, session_csrf};
    for (int i = 0; i < 2; i++) {
        const char *at = strstr(value, words[i]);
        if (at == NULL)
            continue;
        int n = snprintf(out, VALUE_MAX, "%.*s%s%s", (int)(at - value), value, with[i],
                         at + strlen(words[i]));
        return n >= 0 && n < VALUE_MAX ? out : value;
    }
    return value;
}

static const char *lookup_header(void *ctx, const char *name)
{
    struct fuzz_req *r = ctx;
    for (int i = 0; i < r->count; i++) {
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    }
    return NULL;
}

static unsigned count_headers(void *ctx, const char *name)
{
    struct fuzz_req *r = ctx;
    unsigned n = 0;
    for (int i = 0; i < r->count; i++)
        n += strcasecmp(r->names[i], name) == 0;
    return n;
}

static const char *lookup_query(void *ctx, const char *name)
{
    struct fuzz_req *r = ctx;
    return strcmp(name, "instance") == 0 ? r->instance : NULL;
}

static void setup(void)
{
    const char *dir = mkdtemp(tmpdir);
    if (dir == NULL)
        abort();
    atexit(remove_tmpdir);
    mfb_log_init(MFB_LOG_ERROR, fopen("/dev/null", "w"));
    char path[256];
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    if (server_db_open(path, true, &db, NULL) != MFB_OK)
        abort();
    uint8_t h[SHA256_LEN];
    sha256_buffer(TOKEN, 64, h);
    server_db_client_add(db, "db1", h, 0, NULL);
    struct server_config cfg = {.max_chunk = 1u << 20, .upload_expiry_s = 3600};
    snprintf(cfg.storage, sizeof(cfg.storage), "%s/store", dir);
    snprintf(cfg.layout, sizeof(cfg.layout), "{client}/{instance}/{dir}");
    if (server_open(&srv, db, &cfg, 1, NULL) != MFB_OK)
        abort();
    /* A known open upload of 3 MiB in 1 MiB chunks for inputs to aim at. */
    struct srv_upload u = {.size_known = true, .size = 3u << 20, .chunk_size = 1u << 20};
    struct srv_client c;
    server_db_client_by_name(db, "db1", &c, NULL);
    u.client_id = c.id;
    snprintf(u.id, sizeof(u.id), "u_%032d", 0);
    snprintf(u.instance, sizeof(u.instance), "prod");
    snprintf(u.name, sizeof(u.name), "fixed.zip");
    storage_partial_create(cfg.storage, u.id, NULL);
    server_db_upload_create(db, &u, NULL);
    /* The dashboard's password (a low scrypt cost: a login per input must
     * stay fast) and one live session for inputs to use. */
    char hash[UI_HASH_BUF];
    if (ui_password_hash_cost(PASSWORD, 4, hash, sizeof(hash), NULL) != MFB_OK ||
        server_db_setting_set(db, DASH_PASSWORD_KEY, hash, NULL) != MFB_OK ||
        ui_session_create(&srv.dash.sessions, clock_wall_ms(), session_id, session_csrf, NULL) !=
            MFB_OK)
        abort();
}

/* An error answer is the documented JSON: an "error" code and a
 * non-empty "message" (a message made from an unfilled buffer once sent
 * stack bytes, or nothing when they were not valid UTF-8). */
static bool error_answer_valid(const struct api_response *resp)
{
    if (resp->body == NULL)
        return false;
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *code = json_string_value(json_object_get(root, "error"));
    const char *msg = json_string_value(json_object_get(root, "message"));
    bool ok = code != NULL && msg != NULL && msg[0] != '\0' && strstr(msg, ": ") != msg &&
              msg[strlen(msg) - 1] != ' ';
    json_decref(root);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    /* An input may have ended the session (a logout, or logins that
     * pushed it out of the table): later inputs get a new one. */
    if (!ui_session_check(&srv.dash.sessions, session_id, clock_wall_ms(), NULL) &&
        ui_session_create(&srv.dash.sessions, clock_wall_ms(), session_id, session_csrf, NULL) !=
            MFB_OK)
        abort();
    /* A NUL-terminated copy to cut into lines. */
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *end = buf + size;
    char *line_end = memchr(buf, '\n', size);
    if (line_end == NULL) {
        free(buf);
        return 0;
    }
    *line_end = '\0';
    char *space = strchr(buf, ' ');
    if (space == NULL) {
        free(buf);
        return 0;
    }
    *space = '\0';
    const char *method = buf;
    char *url = space + 1;
    struct fuzz_req fr = {.count = 0};
    char *q = strchr(url, '?');
    if (q != NULL) {
        *q = '\0';
        if (strncmp(q + 1, "instance=", 9) == 0)
            fr.instance = q + 10;
    }
    char *p = line_end + 1;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        *nl = '\0';
        if (p == nl) { /* blank line: the body follows */
            p = nl + 1;
            break;
        }
        char *colon = strstr(p, ": ");
        if (colon != NULL && fr.count < MAX_HEADERS) {
            *colon = '\0';
            fr.names[fr.count] = p;
            fr.values[fr.count] = expand(colon + 2, fr.expanded[fr.count]);
            fr.count++;
        }
        p = nl + 1;
    }
    const char *body = p < end ? p : end;
    size_t body_len = (size_t)(end - body);
    struct api_request req = {method, url, lookup_header, lookup_query, &fr, count_headers};
    bool decided;
    struct api_call *call = api_begin(&srv, &req, &decided);
    if (!decided && body_len > 0) {
        size_t piece = 1 + (unsigned char)body[0] % 64;
        bool keep = true;
        for (size_t off = 0; keep && off < body_len; off += piece) {
            size_t n = body_len - off < piece ? body_len - off : piece;
            keep = api_body(call, body + off, n);
        }
        if (!keep) {
            api_call_free(call);
            free(buf);
            return 0;
        }
    }
    /* Some inputs end as a dropped connection, some as a full answer. */
    if (body_len > 0 && (unsigned char)body[body_len - 1] == 0xff) {
        api_call_free(call);
        free(buf);
        return 0;
    }
    struct api_response resp;
    api_finish(call, &resp);
    if (resp.status < 200 || resp.status > 599)
        abort();
    if (resp.status >= 400 && !error_answer_valid(&resp))
        abort(); /* every error answer is JSON {error, message} */
    api_response_release(&resp);
    api_call_free(call);
    free(buf);
    return 0;
}
