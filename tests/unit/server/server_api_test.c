/*
 * server_api_test.c - the receiver's request handling driven without
 * sockets (src/server/api.c, session.c, storage.c over a real catalog and
 * storage directory in a temporary directory).
 */
#include "unit.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "scratch.h"
#include "server/api.h"
#include "server/server.h"
#include "server/storage.h"
#include "store/server_db.h"

#define TOKEN1 "1111111111111111111111111111111111111111111111111111111111111111"
#define TOKEN2 "2222222222222222222222222222222222222222222222222222222222222222"
#define TOKEN3 "3333333333333333333333333333333333333333333333333333333333333333"
#define MIB (1u << 20)

struct fixture {
    char dir[1024];
    struct server_db *db;
    struct server srv;
};

struct fake {
    const char *headers[16]; /* name, value, name, value ..., NULL */
    const char *query_instance;
};

static const char *fake_header(void *ctx, const char *name)
{
    struct fake *f = ctx;
    for (int i = 0; f->headers[i]; i += 2) {
        if (strcasecmp(f->headers[i], name) == 0)
            return f->headers[i + 1];
    }
    return NULL;
}

static const char *fake_query(void *ctx, const char *name)
{
    struct fake *f = ctx;
    return strcmp(name, "instance") == 0 ? f->query_instance : NULL;
}

struct answer {
    unsigned status;
    json_t *json;
    int fd;
    uint64_t offset, length;
    char content_range[96];
};

static void answer_free(struct answer *a)
{
    json_decref(a->json);
    if (a->fd >= 0)
        close(a->fd);
}

/* Runs one request. body may be sent in pieces of `piece` bytes; with
 * abort_after > 0 the request is dropped after that many bytes. */
static struct answer request_ex(struct fixture *fx, const char *method, const char *url,
                                const char *token, const char *digest, const void *body, size_t len,
                                size_t piece, size_t abort_after)
{
    char auth[128], cl[32];
    struct fake f = {0};
    int h = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Bearer %s", token);
        f.headers[h++] = "Authorization";
        f.headers[h++] = auth;
    }
    if (digest) {
        f.headers[h++] = "Content-Digest";
        f.headers[h++] = digest;
    }
    snprintf(cl, sizeof(cl), "%zu", len);
    if (body) {
        f.headers[h++] = "Content-Length";
        f.headers[h++] = cl;
    }
    struct api_request req = {method, url, fake_header, fake_query, &f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, &req, &decided);
    struct answer a = {.fd = -1};
    if (!decided && body) {
        if (piece == 0)
            piece = len ? len : 1;
        for (size_t off = 0; off < len; off += piece) {
            if (abort_after && off >= abort_after) {
                api_call_free(c);
                return a;
            }
            size_t n = len - off < piece ? len - off : piece;
            api_body(c, (const char *)body + off, n);
        }
    }
    struct api_response resp;
    api_finish(c, &resp);
    a.status = resp.status;
    a.json = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    a.fd = resp.fd;
    a.offset = resp.offset;
    a.length = resp.length;
    memcpy(a.content_range, resp.content_range, sizeof(a.content_range));
    free(resp.body);
    api_call_free(c);
    return a;
}

static struct answer request(struct fixture *fx, const char *method, const char *url,
                             const char *token, const char *body)
{
    return request_ex(fx, method, url, token, NULL, body, body ? strlen(body) : 0, 0, 0);
}

static const char *jstr(const struct answer *a, const char *key)
{
    return json_string_value(json_object_get(a->json, key));
}

static void digest_header(const void *data, size_t len, char *out, size_t out_len)
{
    uint8_t d[SHA256_LEN];
    sha256_buffer(data, len, d);
    content_digest_format(d, out, out_len);
}

static struct answer put_chunk(struct fixture *fx, const char *token, const char *id,
                               unsigned index, const char *data, size_t len)
{
    char url[128], dh[80];
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/%u", id, index);
    digest_header(data, len, dh, sizeof(dh));
    return request_ex(fx, "PUT", url, token, dh, data, len, 16384, 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (!unit_scratch_dir("server-api", fx->dir, sizeof(fx->dir)))
        return -1;
    char path[4200];
    snprintf(path, sizeof(path), "%s/catalog.db", fx->dir);
    if (server_db_open(path, true, &fx->db, NULL) != MFB_OK)
        return -1;
    uint8_t h[SHA256_LEN];
    sha256_buffer(TOKEN1, 64, h);
    server_db_client_add(fx->db, "db1", h, 0, NULL);
    sha256_buffer(TOKEN2, 64, h);
    server_db_client_add(fx->db, "db2", h, 0, NULL);
    struct server_config cfg = {.max_chunk = 4 * MIB, .upload_expiry_s = 3600};
    snprintf(cfg.storage, sizeof(cfg.storage), "%s/store", fx->dir);
    snprintf(cfg.layout, sizeof(cfg.layout), "{client}/{instance}/{dir}");
    /* No hasher threads: out-of-order chunks are hashed at complete, so a
     * test can tell which bytes were read back. */
    if (server_open(&fx->srv, fx->db, &cfg, 0, NULL) != MFB_OK)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    server_close(&fx->srv);
    server_db_close(fx->db);
    int rc = unit_rmtree(fx->dir);
    free(fx);
    return rc;
}

/* Opens an upload and returns its id (static buffer). */
static const char *open_upload(struct fixture *fx, const char *token, const char *body)
{
    static char id[64];
    struct answer a = request(fx, "POST", "/v1/uploads", token, body);
    assert_int_equal(a.status, 201);
    snprintf(id, sizeof(id), "%s", jstr(&a, "upload_id"));
    answer_free(&a);
    return id;
}

static char *pattern(size_t len, unsigned seed)
{
    char *p = malloc(len);
    uint32_t x = 2463534242u + seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)x;
    }
    return p;
}

static void complete_body(const char *data, size_t len, char *out, size_t out_len)
{
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    sha256_buffer(data, len, d);
    digest_to_hex(d, hex);
    snprintf(out, out_len, "{\"size\":%zu,\"sha256\":\"%s\"}", len, hex);
}

static void test_routing_and_auth(void **state)
{
    struct fixture *fx = *state;
    struct answer a = request(fx, "GET", "/v1/health", NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "status"), "ok");
    answer_free(&a);
    a = request(fx, "GET", "/v1/whoami", NULL, NULL);
    assert_int_equal(a.status, 401);
    assert_string_equal(jstr(&a, "error"), "unauthorized");
    answer_free(&a);
    a = request(fx, "GET", "/v1/whoami",
                "3333333333333333333333333333333333333333333333333333333333333333", NULL);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    a = request(fx, "GET", "/v1/whoami", TOKEN2, NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "client"), "db2");
    answer_free(&a);
    a = request(fx, "GET", "/v1/nothing", TOKEN1, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "GET", "/v1/uploads/u_../../etc/passwd", TOKEN1, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "", "/v1/health", TOKEN1, NULL); /* found by fuzz_api: looped */
    assert_int_equal(a.status, 405);
    answer_free(&a);
    a = request(fx, "DELETE", "/v1/health", TOKEN1, NULL);
    assert_int_equal(a.status, 405);
    assert_string_equal(jstr(&a, "error"), "method_not_allowed");
    answer_free(&a);
    a = request(fx, "GET", "/v1/uploads/u_0123456789abcdef0123456789abcdef", TOKEN1, NULL);
    assert_int_equal(a.status, 404);
    assert_string_equal(jstr(&a, "error"), "not_found");
    answer_free(&a);
}

static void test_create_rejects(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *body;
        unsigned status;
        const char *error;
    } cases[] = {
        {"{\"instance\":\"prod\",", 400, "invalid_json"},
        {"[1,2]", 400, "invalid_json"},
        {"{\"instance\":\"../x\",\"name\":\"a\",\"chunk_size\":1048576}", 400, "invalid_name"},
        {"{\"instance\":\"p\",\"name\":\"a/b\",\"chunk_size\":1048576}", 400, "invalid_name"},
        {"{\"instance\":\"p\",\"name\":\"a\\u0000b\",\"chunk_size\":1048576}", 400,
         "invalid_json"}, /* jansson refuses NUL in strings */
        {"{\"instance\":\"p\",\"name\":\"a\",\"directory\":\"x/../y\",\"chunk_size\":1048576}", 400,
         "invalid_name"},
        {"{\"instance\":\"p\",\"name\":\"a\",\"chunk_size\":1000}", 400, "bad_request"},
        {"{\"instance\":\"p\",\"name\":\"a\",\"chunk_size\":8388608}", 413, "too_large"},
        {"{\"instance\":\"p\",\"name\":\"a\"}", 400, "bad_request"},
        {"{\"instance\":\"p\",\"name\":\"a\",\"chunk_size\":1048576,\"size\":-1}", 400,
         "bad_request"},
        {"{\"instance\":\"p\",\"name\":\"a\",\"chunk_size\":1048576,\"size\":1e30}", 400,
         "bad_request"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct answer a = request(fx, "POST", "/v1/uploads", TOKEN1, cases[i].body);
        if (a.status != cases[i].status)
            fail_msg("case %zu: status %u, expected %u", i, a.status, cases[i].status);
        assert_string_equal(jstr(&a, "error"), cases[i].error);
        assert_non_null(jstr(&a, "message"));
        answer_free(&a);
    }
}

static void test_upload_in_order(void **state)
{
    struct fixture *fx = *state;
    size_t size = 3 * MIB + 12345;
    char *data = pattern(size, 1);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"instance\":\"prod\",\"name\":\"a.zip\",\"directory\":\"nightly\",\"size\":%zu,"
             "\"chunk_size\":1048576,\"metadata\":{\"k\":1}}",
             size);
    const char *id = open_upload(fx, TOKEN1, body);
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", id);
    for (unsigned i = 0; i < 4; i++) {
        size_t len = i < 3 ? MIB : 12345;
        struct answer a = put_chunk(fx, TOKEN1, uid, i, data + (size_t)i * MIB, len);
        assert_int_equal(a.status, 201);
        assert_int_equal(json_integer_value(json_object_get(a.json, "size")), len);
        answer_free(&a);
    }
    /* In-order chunks were hashed as they arrived: garbling the partial file
     * now does not change what complete computes (it never reads it back). */
    char part[4400];
    storage_partial_path(fx->srv.cfg.storage, uid, part, sizeof(part));
    int fd = open(part, O_WRONLY);
    assert_true(fd >= 0);
    char zeros[4096] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), MIB), (ssize_t)sizeof(zeros));
    close(fd);
    char url[128], done[256];
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", uid);
    complete_body(data, size, done, sizeof(done));
    struct answer a = request(fx, "POST", url, TOKEN1, done);
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(&a, "path"), "db1/prod/nightly/a.zip");
    char bid[64];
    snprintf(bid, sizeof(bid), "%s", jstr(&a, "backup_id"));
    answer_free(&a);
    /* Published read-only, with the companions. */
    char path[4400];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/db1/prod/nightly/a.zip", fx->srv.cfg.storage);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0440);
    assert_int_equal(sb.st_size, size);
    snprintf(path, sizeof(path), "%s/db1/prod/nightly/a.zip.json", fx->srv.cfg.storage);
    json_t *meta = json_load_file(path, 0, NULL);
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "client")), "db1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(meta, "metadata"), "k")),
                     1);
    json_decref(meta);
    assert_int_not_equal(stat(part, &sb), 0); /* resume state removed */
    /* Repeated complete: the same answer. */
    a = request(fx, "POST", url, TOKEN1, done);
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(&a, "backup_id"), bid);
    answer_free(&a);
    /* The same name again gets a suffix. */
    id = open_upload(fx, TOKEN1, body);
    snprintf(uid, sizeof(uid), "%s", id);
    for (unsigned i = 0; i < 4; i++) {
        struct answer c =
            put_chunk(fx, TOKEN1, uid, i, data + (size_t)i * MIB, i < 3 ? MIB : 12345);
        assert_int_equal(c.status, 201);
        answer_free(&c);
    }
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", uid);
    a = request(fx, "POST", url, TOKEN1, done);
    assert_int_equal(a.status, 201);
    assert_string_equal(jstr(&a, "path"), "db1/prod/nightly/a-1.zip");
    answer_free(&a);
    /* Another client sees none of it. */
    snprintf(url, sizeof(url), "/v1/backups/%s", bid);
    a = request(fx, "GET", url, TOKEN2, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "DELETE", url, TOKEN2, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "GET", "/v1/backups", TOKEN2, NULL);
    assert_int_equal(json_array_size(json_object_get(a.json, "backups")), 0);
    answer_free(&a);
    free(data);
}

static void test_upload_out_of_order_and_rejects(void **state)
{
    struct fixture *fx = *state;
    size_t size = 3 * MIB;
    char *data = pattern(size, 2);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"instance\":\"prod\",\"name\":\"b.zip\",\"size\":%zu,\"chunk_size\":1048576}",
             size);
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", open_upload(fx, TOKEN1, body));
    char url[128], dh[80];
    /* Wrong digest: 422, nothing recorded. */
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/2", uid);
    digest_header("other", 5, dh, sizeof(dh));
    struct answer a = request_ex(fx, "PUT", url, TOKEN1, dh, data + 2 * MIB, MIB, 65536, 0);
    assert_int_equal(a.status, 422);
    assert_string_equal(jstr(&a, "error"), "digest_mismatch");
    answer_free(&a);
    /* Missing or malformed digest header. */
    a = request_ex(fx, "PUT", url, TOKEN1, NULL, data, MIB, 0, 0);
    assert_int_equal(a.status, 400);
    assert_string_equal(jstr(&a, "error"), "bad_digest_header");
    answer_free(&a);
    /* Index past the end, body past the size, body past the chunk size. */
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/3", uid);
    digest_header(data, 10, dh, sizeof(dh));
    a = request_ex(fx, "PUT", url, TOKEN1, dh, data, 10, 0, 0);
    assert_int_equal(a.status, 400);
    assert_string_equal(jstr(&a, "error"), "chunk_out_of_range");
    answer_free(&a);
    char *big = pattern(MIB + 1, 3);
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/1", uid);
    digest_header(big, MIB + 1, dh, sizeof(dh));
    a = request_ex(fx, "PUT", url, TOKEN1, dh, big, MIB + 1, 0, 0);
    assert_int_equal(a.status, 413);
    answer_free(&a);
    /* A chunk dropped half-way is not recorded, and can be sent again. */
    a = put_chunk(fx, TOKEN1, uid, 2, data + 2 * MIB, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    digest_header(data + MIB, MIB, dh, sizeof(dh));
    a = request_ex(fx, "PUT", url, TOKEN1, dh, data + MIB, MIB, 65536, MIB / 2);
    answer_free(&a);
    snprintf(url, sizeof(url), "/v1/uploads/%s", uid);
    a = request(fx, "GET", url, TOKEN1, NULL);
    assert_int_equal(a.status, 200);
    json_t *chunks = json_object_get(a.json, "chunks");
    assert_int_equal(json_array_size(chunks), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chunks, 0), "index")), 2);
    answer_free(&a);
    /* Another client's token: 404 for everything about this upload. */
    a = request(fx, "GET", url, TOKEN2, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = put_chunk(fx, TOKEN2, uid, 0, data, MIB);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    /* Out of order: 2, then 1 and 0; repeat is a no-op; a different digest conflicts. */
    a = put_chunk(fx, TOKEN1, uid, 1, data + MIB, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 1, data + MIB, MIB);
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 1, data, MIB);
    assert_int_equal(a.status, 409);
    assert_string_equal(jstr(&a, "error"), "conflict");
    answer_free(&a);
    char done[256], curl[128];
    snprintf(curl, sizeof(curl), "/v1/uploads/%s/complete", uid);
    complete_body(data, size, done, sizeof(done));
    a = request(fx, "POST", curl, TOKEN1, done); /* chunk 0 missing */
    assert_int_equal(a.status, 409);
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 0, data, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    /* Chunks 1 and 2 arrived ahead of the prefix: complete reads them back,
     * so garbling one now is caught. */
    char part[4400];
    storage_partial_path(fx->srv.cfg.storage, uid, part, sizeof(part));
    int fd = open(part, O_WRONLY);
    char zeros[16] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), 2 * MIB + 100), (ssize_t)sizeof(zeros));
    a = request(fx, "POST", curl, TOKEN1, done);
    assert_int_equal(a.status, 422);
    assert_string_equal(jstr(&a, "error"), "checksum_mismatch");
    answer_free(&a);
    /* Another client cannot complete or delete it. */
    a = request(fx, "POST", curl, TOKEN2, done);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "DELETE", url, TOKEN2, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 204);
    answer_free(&a);
    struct stat sb;
    assert_int_not_equal(stat(part, &sb), 0);
    close(fd);
    free(big);
    free(data);
}

static void test_download_range(void **state)
{
    struct fixture *fx = *state;
    size_t size = MIB + 7;
    char *data = pattern(size, 4);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"instance\":\"dl\",\"name\":\"c.zip\",\"chunk_size\":1048576}"); /* size unknown */
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", open_upload(fx, TOKEN1, body));
    struct answer a = put_chunk(fx, TOKEN1, uid, 1, data + MIB, 7);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 0, data, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    char url[128], done[256];
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", uid);
    complete_body(data, size, done, sizeof(done));
    a = request(fx, "POST", url, TOKEN1, done);
    assert_int_equal(a.status, 201);
    char bid[64];
    snprintf(bid, sizeof(bid), "%s", jstr(&a, "backup_id"));
    answer_free(&a);
    snprintf(url, sizeof(url), "/v1/backups/%s/content", bid);
    a = request(fx, "GET", url, TOKEN1, NULL);
    assert_int_equal(a.status, 200);
    assert_true(a.fd >= 0);
    assert_int_equal(a.length, size);
    answer_free(&a);
    struct fake f = {{"Authorization", "Bearer " TOKEN1, "Range", "bytes=1048570-", NULL}, NULL};
    struct api_request req = {"GET", url, fake_header, fake_query, &f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, &req, &decided);
    assert_false(decided); /* no body: answered at its end, keeping the connection */
    struct api_response resp;
    api_finish(c, &resp);
    assert_int_equal(resp.status, 206);
    assert_int_equal(resp.offset, 1048570);
    assert_int_equal(resp.length, 13);
    assert_string_equal(resp.content_range, "bytes 1048570-1048582/1048583");
    char got[13];
    assert_int_equal(pread(resp.fd, got, 13, (off_t)resp.offset), 13);
    assert_memory_equal(got, data + 1048570, 13);
    api_response_release(&resp);
    api_call_free(c);
    a = request(fx, "GET", "/v1/backups", TOKEN1, NULL);
    assert_true(json_array_size(json_object_get(a.json, "backups")) >= 1);
    answer_free(&a);
    free(data);
}

static void test_range_parser(void **state)
{
    uint64_t s = 0, l = 0;
    bool ok;
    assert_true(api_parse_range("bytes=0-9", 100, &s, &l, &ok));
    assert_true(ok);
    assert_int_equal(s, 0);
    assert_int_equal(l, 10);
    assert_true(api_parse_range("bytes=90-", 100, &s, &l, &ok));
    assert_int_equal(l, 10);
    assert_true(api_parse_range("bytes=-30", 100, &s, &l, &ok));
    assert_int_equal(s, 70);
    assert_int_equal(l, 30);
    assert_true(api_parse_range("bytes=50-1000", 100, &s, &l, &ok));
    assert_int_equal(l, 50);
    assert_true(api_parse_range("bytes=100-", 100, &s, &l, &ok));
    assert_false(ok);
    assert_false(api_parse_range("bytes=5-1", 100, &s, &l, &ok));
    assert_false(api_parse_range("bytes=0-1,5-6", 100, &s, &l, &ok));
    assert_false(api_parse_range("items=0-1", 100, &s, &l, &ok));
    assert_false(api_parse_range("bytes=-", 100, &s, &l, &ok));
    assert_false(api_parse_range("bytes=a-b", 100, &s, &l, &ok));
}

static void test_space_and_quota(void **state)
{
    struct fixture *fx = *state;
    struct answer a = request(fx, "POST", "/v1/uploads", TOKEN1,
                              "{\"instance\":\"p\",\"name\":\"huge\",\"size\":1125899906842000,"
                              "\"chunk_size\":1048576}");
    assert_int_equal(a.status, 507);
    assert_string_equal(jstr(&a, "error"), "insufficient_storage");
    answer_free(&a);
    assert_int_equal(server_db_client_set_quota(fx->db, "db2", 1000, NULL), MFB_OK);
    a = request(fx, "POST", "/v1/uploads", TOKEN2,
                "{\"instance\":\"p\",\"name\":\"q\",\"size\":1001,\"chunk_size\":1048576}");
    assert_int_equal(a.status, 507);
    assert_non_null(strstr(jstr(&a, "message"), "quota exceeded"));
    answer_free(&a);
    a = request(fx, "POST", "/v1/uploads", TOKEN2,
                "{\"instance\":\"p\",\"name\":\"q\",\"size\":1000,\"chunk_size\":1048576}");
    assert_int_equal(a.status, 201); /* exactly the quota fits */
    answer_free(&a);
    a = request(fx, "POST", "/v1/uploads", TOKEN2,
                "{\"instance\":\"p\",\"name\":\"r\",\"chunk_size\":1048576}");
    assert_int_equal(a.status, 507); /* quota used up by the open upload */
    answer_free(&a);
}

/* A directory too long for the catalog is refused with the documented JSON
 * and a message saying why (the length check used to come before the name
 * check that fills the reason, and the answer carried stack bytes). */
static void test_create_long_directory(void **state)
{
    struct fixture *fx = *state;
    static const size_t lengths[] = {1033, 1100, 2000, 60000};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        size_t n = lengths[i];
        char *body = malloc(n + 128);
        int o = snprintf(body, n + 128, "{\"instance\":\"p\",\"name\":\"a\",\"directory\":\"");
        memset(body + o, 'd', n);
        snprintf(body + o + n, 128, "\",\"chunk_size\":1048576}");
        struct answer a = request(fx, "POST", "/v1/uploads", TOKEN1, body);
        if (a.json == NULL)
            fail_msg("length %zu: the answer is not JSON", n);
        assert_int_equal(a.status, 400);
        assert_string_equal(jstr(&a, "error"), "invalid_name");
        assert_string_equal(jstr(&a, "message"), "directory: directory is too long");
        answer_free(&a);
        free(body);
    }
}

static off_t part_size(struct fixture *fx, const char *uid)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/store/.partial/%s.part", fx->dir, uid);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* An upload without a declared size: a chunk past what the storage's file
 * system can hold in one file is refused with a 4xx that clients do not
 * retry (not 507, which they retry for ever), and leaves no sparse file. */
static void test_chunk_past_storage(void **state)
{
    struct fixture *fx = *state;
    const char *uid =
        open_upload(fx, TOKEN1, "{\"instance\":\"p\",\"name\":\"s\",\"chunk_size\":1048576}");
    static const unsigned indexes[] = {16777215, 16777216 - 2, 1u << 30};
    for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
        struct answer a = put_chunk(fx, TOKEN1, uid, indexes[i], "x", 1);
        if (a.status != 400)
            fail_msg("index %u: status %u, expected 400", indexes[i], a.status);
        assert_string_equal(jstr(&a, "error"), "chunk_out_of_range");
        assert_non_null(strstr(jstr(&a, "message"), "largest file"));
        answer_free(&a);
    }
    assert_int_equal(part_size(fx, uid), 0);
    /* A write the file system refuses as too large (EFBIG; here from the
     * process's file size limit) is not a full disk either. */
    struct rlimit old, small = {.rlim_cur = 3 * MIB, .rlim_max = RLIM_INFINITY};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    struct answer a = put_chunk(fx, TOKEN1, uid, 5, "x", 1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(a.status, 400);
    assert_string_equal(jstr(&a, "error"), "chunk_out_of_range");
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 5, "x", 1); /* within bounds: stored */
    assert_int_equal(a.status, 201);
    answer_free(&a);
}

/* A client cannot pass its quota by not declaring a size: the quota is
 * checked as chunks arrive too, with a 4xx that is not retried. */
static void test_quota_on_chunks(void **state)
{
    struct fixture *fx = *state;
    uint8_t h[SHA256_LEN];
    sha256_buffer(TOKEN3, 64, h);
    assert_int_equal(server_db_client_add(fx->db, "db3", h, 2 * MIB + 10, NULL), MFB_OK);
    const char *uid =
        open_upload(fx, TOKEN3, "{\"instance\":\"p\",\"name\":\"q\",\"chunk_size\":1048576}");
    char *data = malloc(MIB);
    memset(data, 'q', MIB);
    struct answer a = put_chunk(fx, TOKEN3, uid, 0, data, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = put_chunk(fx, TOKEN3, uid, 5, data, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = put_chunk(fx, TOKEN3, uid, 0, data, MIB); /* a repeat costs nothing */
    assert_int_equal(a.status, 200);
    answer_free(&a);
    a = put_chunk(fx, TOKEN3, uid, 1, data, MIB);
    assert_int_equal(a.status, 413);
    assert_string_equal(jstr(&a, "error"), "too_large");
    assert_non_null(strstr(jstr(&a, "message"), "quota"));
    answer_free(&a);
    /* Sent without Content-Length, the body is stopped when it passes. */
    char url[128], dh[80], auth[128];
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/1", uid);
    digest_header(data, MIB, dh, sizeof(dh));
    snprintf(auth, sizeof(auth), "Bearer %s", TOKEN3);
    struct fake f = {.headers = {"Authorization", auth, "Content-Digest", dh, "Transfer-Encoding",
                                 "chunked", NULL}};
    struct api_request req = {"PUT", url, fake_header, fake_query, &f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, &req, &decided);
    assert_false(decided);
    for (size_t off = 0; off < MIB; off += 65536)
        assert_true(api_body(c, data + off, 65536));
    struct api_response resp;
    api_finish(c, &resp);
    assert_int_equal(resp.status, 413);
    assert_non_null(strstr(resp.body, "quota"));
    api_response_release(&resp);
    api_call_free(c);
    a = put_chunk(fx, TOKEN3, uid, 1, data, 10); /* what is left fits */
    assert_int_equal(a.status, 201);
    answer_free(&a);
    free(data);
}

/* Starts a chunk PUT and feeds it `fed` bytes, leaving it in flight. */
static struct api_call *chunk_in_flight(struct fixture *fx, const char *uid, unsigned index,
                                        const char *data, size_t len, size_t fed, char *dh,
                                        struct fake *f, struct api_request *req, char *url,
                                        char *auth, char *cl)
{
    snprintf(url, 128, "/v1/uploads/%s/chunks/%u", uid, index);
    digest_header(data, len, dh, 80);
    snprintf(auth, 128, "Bearer %s", TOKEN1);
    snprintf(cl, 32, "%zu", len);
    *f = (struct fake){
        .headers = {"Authorization", auth, "Content-Digest", dh, "Content-Length", cl, NULL}};
    *req = (struct api_request){"PUT", url, fake_header, fake_query, f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, req, &decided);
    assert_false(decided);
    assert_true(api_body(c, data, fed));
    return c;
}

static void chunk_url(char *url, size_t len, const char *uid, unsigned index)
{
    snprintf(url, len, "/v1/uploads/%s/chunks/%u", uid, index);
}

/* DELETE of a chunk: a resuming client replaces a chunk whose stored
 * digest differs from its file. The running whole-file hash, which had
 * already covered the chunk, is taken back and the new bytes count. */
static void test_chunk_delete(void **state)
{
    struct fixture *fx = *state;
    size_t size = 4 * MIB;
    char *old = pattern(size, 7), *data = pattern(size, 7);
    char *other = pattern(MIB, 8);
    memcpy(data + MIB, other, MIB); /* the file as the client now has it */
    char body[256], uid[64], url[128], done[256], curl[128];
    snprintf(body, sizeof(body),
             "{\"instance\":\"prod\",\"name\":\"d.zip\",\"size\":%zu,\"chunk_size\":1048576}",
             size);
    snprintf(uid, sizeof(uid), "%s", open_upload(fx, TOKEN1, body));
    for (unsigned i = 0; i < 4; i++) {
        struct answer a = put_chunk(fx, TOKEN1, uid, i, old + (size_t)i * MIB, MIB);
        assert_int_equal(a.status, 201);
        answer_free(&a);
    }
    /* The new chunk 1 conflicts until the old one is forgotten. */
    struct answer a = put_chunk(fx, TOKEN1, uid, 1, data + MIB, MIB);
    assert_int_equal(a.status, 409);
    assert_non_null(strstr(jstr(&a, "message"), "DELETE it to replace it"));
    answer_free(&a);
    chunk_url(url, sizeof(url), uid, 1);
    a = request(fx, "DELETE", url, TOKEN2, NULL); /* another client's upload */
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 204);
    assert_null(a.json);
    answer_free(&a);
    a = request(fx, "DELETE", url, TOKEN1, NULL); /* not stored any more */
    assert_int_equal(a.status, 404);
    assert_string_equal(jstr(&a, "error"), "not_found");
    answer_free(&a);
    chunk_url(url, sizeof(url), uid, 9);
    a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    snprintf(url, sizeof(url), "/v1/uploads/%s", uid);
    a = request(fx, "GET", url, TOKEN1, NULL);
    json_t *chunks = json_object_get(a.json, "chunks");
    assert_int_equal(json_array_size(chunks), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chunks, 1), "index")), 2);
    assert_int_equal(json_integer_value(json_object_get(a.json, "received_bytes")), 3 * MIB);
    answer_free(&a);
    /* Complete refuses the gap; then the new chunk goes in and the file
     * verifies with it (the old chunk's bytes were taken out of the hash). */
    snprintf(curl, sizeof(curl), "/v1/uploads/%s/complete", uid);
    complete_body(data, size, done, sizeof(done));
    a = request(fx, "POST", curl, TOKEN1, done);
    assert_int_equal(a.status, 409);
    assert_non_null(strstr(jstr(&a, "message"), "chunk 1 is missing"));
    answer_free(&a);
    a = put_chunk(fx, TOKEN1, uid, 1, data + MIB, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    a = request(fx, "POST", curl, TOKEN1, done);
    assert_int_equal(a.status, 201);
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", fx->srv.cfg.storage, jstr(&a, "path"));
    answer_free(&a);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *back = malloc(size);
    assert_int_equal(fread(back, 1, size, f), size);
    fclose(f);
    assert_memory_equal(back, data, size);
    /* Once complete, chunks cannot be forgotten. */
    chunk_url(url, sizeof(url), uid, 0);
    a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 409);
    answer_free(&a);
    free(back);
    free(other);
    free(old);
    free(data);
}

/* DELETE races: a chunk being received answers 503; a chunk forgotten
 * while another chunk holds the running hash takes the hash back as soon
 * as that chunk is done; with a copy of the hash kept every 2 chunks, only
 * the chunks from the last copy on are read back. */
static void test_chunk_delete_while_busy(void **state)
{
    struct fixture *fx = *state;
    session_registry_set_mark_interval(fx->srv.sessions, 2 * MIB);
    size_t size = 6 * MIB;
    char *old = pattern(size, 9), *data = pattern(size, 9), *other = pattern(MIB, 10);
    memcpy(data + 3 * MIB, other, MIB);
    char body[256], uid[64], url[128], done[256], curl[128];
    snprintf(body, sizeof(body),
             "{\"instance\":\"prod\",\"name\":\"e.zip\",\"size\":%zu,\"chunk_size\":1048576}",
             size);
    snprintf(uid, sizeof(uid), "%s", open_upload(fx, TOKEN1, body));
    for (unsigned i = 0; i < 5; i++) {
        struct answer a = put_chunk(fx, TOKEN1, uid, i, old + (size_t)i * MIB, MIB);
        assert_int_equal(a.status, 201);
        answer_free(&a);
    }
    /* Chunk 5 is being received (and holds the running hash): deleting it
     * answers 503, deleting chunk 3 is accepted and waits for the hash. */
    struct fake f;
    struct api_request req;
    char purl[128], dh[80], auth[128], cl[32];
    struct api_call *c =
        chunk_in_flight(fx, uid, 5, old + 5 * MIB, MIB, MIB / 2, dh, &f, &req, purl, auth, cl);
    chunk_url(url, sizeof(url), uid, 5);
    struct answer a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 503);
    assert_string_equal(jstr(&a, "error"), "unavailable");
    answer_free(&a);
    chunk_url(url, sizeof(url), uid, 3);
    a = request(fx, "DELETE", url, TOKEN1, NULL);
    assert_int_equal(a.status, 204);
    answer_free(&a);
    /* A PUT of chunk 3 while its DELETE runs cannot be tested here (one
     * thread); the session test covers the races. */
    assert_true(api_body(c, old + 5 * MIB + MIB / 2, MIB / 2));
    struct api_response resp;
    api_finish(c, &resp);
    assert_int_equal(resp.status, 201);
    api_response_release(&resp);
    api_call_free(c);
    a = put_chunk(fx, TOKEN1, uid, 3, other, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    /* Chunks 0 and 1 lie before the copy of the hash at chunk 2: they are
     * never read again, so garbling them now changes nothing; chunk 2 is
     * read back, so it must stay intact. */
    char part[4400];
    storage_partial_path(fx->srv.cfg.storage, uid, part, sizeof(part));
    int fd = open(part, O_WRONLY);
    assert_true(fd >= 0);
    char zeros[4096] = {0};
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), 0), (ssize_t)sizeof(zeros));
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), MIB), (ssize_t)sizeof(zeros));
    close(fd);
    snprintf(curl, sizeof(curl), "/v1/uploads/%s/complete", uid);
    complete_body(data, size, done, sizeof(done));
    a = request(fx, "POST", curl, TOKEN1, done);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    session_registry_set_mark_interval(fx->srv.sessions, 1ULL << 30);
    free(other);
    free(old);
    free(data);
}

/* A repeat of a stored chunk is read and dropped, then answered as
 * stored; it is held to the chunk's size like any chunk, even when its
 * length is not announced (chunked framing), and is never cut off while
 * it stays within that size. */
static void test_repeated_chunk_bounds(void **state)
{
    struct fixture *fx = *state;
    char uid[64];
    snprintf(
        uid, sizeof(uid), "%s",
        open_upload(fx, TOKEN1, "{\"instance\":\"r\",\"name\":\"r.zip\",\"chunk_size\":1048576}"));
    char *data = pattern(MIB + 1, 7);
    struct answer a = put_chunk(fx, TOKEN1, uid, 0, data, MIB);
    assert_int_equal(a.status, 201);
    answer_free(&a);
    char url[128], dh[80], auth[128];
    chunk_url(url, sizeof(url), uid, 0);
    digest_header(data, MIB, dh, sizeof(dh));
    snprintf(auth, sizeof(auth), "Bearer %s", TOKEN1);
    struct fake f = {.headers = {"Authorization", auth, "Content-Digest", dh, "Transfer-Encoding",
                                 "chunked", NULL}};
    struct api_request req = {"PUT", url, fake_header, fake_query, &f, NULL};
    for (int extra = 0; extra <= 1; extra++) {
        bool decided;
        struct api_call *c = api_begin(&fx->srv, &req, &decided);
        assert_false(decided);
        assert_true(api_body(c, data, MIB));
        if (extra)
            assert_true(api_body(c, data + MIB, 1)); /* dropped, the answer still sent */
        struct api_response resp;
        api_finish(c, &resp);
        assert_int_equal(resp.status, extra ? 413 : 200);
        if (extra)
            assert_non_null(strstr(resp.body, "larger than the chunk size 1048576"));
        api_response_release(&resp);
        api_call_free(c);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_and_auth),
        cmocka_unit_test(test_create_rejects),
        cmocka_unit_test(test_upload_in_order),
        cmocka_unit_test(test_upload_out_of_order_and_rejects),
        cmocka_unit_test(test_download_range),
        cmocka_unit_test(test_range_parser),
        cmocka_unit_test(test_space_and_quota),
        cmocka_unit_test(test_create_long_directory),
        cmocka_unit_test(test_chunk_past_storage),
        cmocka_unit_test(test_quota_on_chunks),
        cmocka_unit_test(test_chunk_delete),
        cmocka_unit_test(test_chunk_delete_while_busy),
        cmocka_unit_test(test_repeated_chunk_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
