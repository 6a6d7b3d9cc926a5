/*
 * server_session_test.c - many chunks of one upload received at once on
 * different threads, with the hasher threads catching the running hash up
 * (src/server/session.c under concurrency; run under TSan by check-tsan),
 * and the running hash carried alongside out-of-order chunks.
 */
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/log.h"
#include "scratch.h"
#include "server/api.h"
#include "server/server.h"
#include "server/storage.h"

#define TOKEN "1111111111111111111111111111111111111111111111111111111111111111"
#define CHUNK (1u << 20)
#define CHUNKS 24
#define THREADS 8

static struct server srv;
static char *data;
static char upload_id[64];

struct hdrs {
    const char *kv[8];
};

static const char *lookup(void *ctx, const char *name)
{
    struct hdrs *h = ctx;
    for (int i = 0; h->kv[i]; i += 2) {
        if (strcasecmp(h->kv[i], name) == 0)
            return h->kv[i + 1];
    }
    return NULL;
}

/* A request under way: its headers must live as long as the call. */
struct call {
    char cl[32];
    struct hdrs h;
    struct api_request req;
    struct api_call *c;
    bool decided;
};

static void call_start(struct call *k, const char *method, const char *url, const char *digest,
                       size_t len)
{
    snprintf(k->cl, sizeof(k->cl), "%zu", len);
    k->h = (struct hdrs){{"Authorization", "Bearer " TOKEN, "Content-Length", k->cl,
                          digest ? "Content-Digest" : NULL, digest, NULL, NULL}};
    k->req = (struct api_request){method, url, lookup, NULL, &k->h, NULL};
    k->c = api_begin(&srv, &k->req, &k->decided);
}

/* Sends body[from, to) in 16 KiB pieces, as libmicrohttpd hands them over. */
static void call_body(struct call *k, const char *body, size_t from, size_t to)
{
    for (size_t off = from; !k->decided && off < to; off += 16384)
        api_body(k->c, body + off, to - off < 16384 ? to - off : 16384);
}

static unsigned call_end(struct call *k, char *out, size_t out_len)
{
    struct api_response resp;
    api_finish(k->c, &resp);
    if (out)
        snprintf(out, out_len, "%.*s", (int)resp.body_len, resp.body ? resp.body : "");
    unsigned status = resp.status;
    api_response_release(&resp);
    api_call_free(k->c);
    return status;
}

static unsigned run(const char *method, const char *url, const char *digest, const char *body,
                    size_t len, char *out, size_t out_len)
{
    struct call k;
    call_start(&k, method, url, digest, len);
    call_body(&k, body, 0, len);
    return call_end(&k, out, out_len);
}

/* The URL and Content-Digest of chunk i holding CHUNK bytes. */
static void chunk_request(int i, const char *bytes, char *url, size_t url_len, char *dh,
                          size_t dh_len)
{
    uint8_t d[SHA256_LEN];
    sha256_buffer(bytes, CHUNK, d);
    content_digest_format(d, dh, dh_len);
    snprintf(url, url_len, "/v1/uploads/%s/chunks/%d", upload_id, i);
}

/* Worker thread: sends chunks t, t+THREADS, ... */
static void *sender(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = CHUNKS - 1 - t; i >= 0; i -= THREADS) {
        char url[128], dh[80];
        chunk_request(i, data + (size_t)i * CHUNK, url, sizeof(url), dh, sizeof(dh));
        if (run("PUT", url, dh, data + (size_t)i * CHUNK, CHUNK, NULL, 0) != 201)
            return (void *)1;
    }
    return NULL;
}

struct env {
    char dir[1024];
    struct server_db *db;
};

/* hashers: receiver hasher threads (0: the prefix advances only inline,
 * alongside other chunks, and at complete). */
static void env_open_with(struct env *e, unsigned hashers)
{
    char path[1100];
    assert_true(unit_scratch_dir("server-session", e->dir, sizeof(e->dir)));
    snprintf(path, sizeof(path), "%s/catalog.db", e->dir);
    assert_int_equal(server_db_open(path, true, &e->db, NULL), MFB_OK);
    uint8_t h[SHA256_LEN];
    sha256_buffer(TOKEN, 64, h);
    assert_int_equal(server_db_client_add(e->db, "db1", h, 0, NULL), MFB_OK);
    struct server_config cfg = {.max_chunk = 64u << 20, .upload_expiry_s = 3600};
    snprintf(cfg.storage, sizeof(cfg.storage), "%s/store", e->dir);
    snprintf(cfg.layout, sizeof(cfg.layout), "{client}");
    assert_int_equal(server_open(&srv, e->db, &cfg, hashers, NULL), MFB_OK);
    size_t size = (size_t)CHUNKS * CHUNK;
    data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 2654435761u >> 13);
}

static void env_open(struct env *e)
{
    env_open_with(e, 2);
}

static void env_close(struct env *e)
{
    server_close(&srv);
    server_db_close(e->db);
    free(data);
    assert_int_equal(unit_rmtree(e->dir), 0);
}

static void open_upload(const char *name)
{
    char out[512], body[256];
    snprintf(body, sizeof(body),
             "{\"instance\":\"p\",\"name\":\"%s\",\"size\":%zu,\"chunk_size\":%u}", name,
             (size_t)CHUNKS * CHUNK, CHUNK);
    assert_int_equal(run("POST", "/v1/uploads", NULL, body, strlen(body), out, sizeof(out)), 201);
    char *id = strstr(out, "\"upload_id\":\"");
    assert_non_null(id);
    snprintf(upload_id, sizeof(upload_id), "%.34s", id + 13);
}

static void run_threads(void *(*fn)(void *))
{
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&threads[t], NULL, fn, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) {
        void *rc;
        pthread_join(threads[t], &rc);
        assert_null(rc);
    }
}

/* Completes the upload with data's digest: 201 means the running hash
 * agrees with every byte. */
static void complete_upload(void)
{
    size_t size = (size_t)CHUNKS * CHUNK;
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1], url[128], out[512], body[256];
    sha256_buffer(data, size, d);
    digest_to_hex(d, hex);
    snprintf(body, sizeof(body), "{\"size\":%zu,\"sha256\":\"%s\"}", size, hex);
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", upload_id);
    assert_int_equal(run("POST", url, NULL, body, strlen(body), out, sizeof(out)), 201);
    assert_non_null(strstr(out, hex));
    assert_int_equal(session_count(srv.sessions), 0);
}

static void test_parallel_chunks_one_upload(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    open_upload("par.zip");
    run_threads(sender);
    complete_upload();
    env_close(&e);
}

/* Thread: makes the chunks it shares with one other thread hold the right
 * bytes, the way a resuming client does: PUT, and on 409 DELETE then PUT
 * again. Both threads of a pair race on the same chunks. */
static void *replacer(void *arg)
{
    int t = (int)(intptr_t)arg % (THREADS / 2);
    for (int i = t; i < CHUNKS; i += THREADS / 2) {
        char url[128], dh[80];
        chunk_request(i, data + (size_t)i * CHUNK, url, sizeof(url), dh, sizeof(dh));
        for (int attempt = 0;; attempt++) {
            if (attempt > 20000)
                return (void *)1;
            unsigned st = run("PUT", url, dh, data + (size_t)i * CHUNK, CHUNK, NULL, 0);
            if (st == 200 || st == 201)
                break;
            if (st == 409) {
                st = run("DELETE", url, NULL, NULL, 0, NULL, 0);
                if (st != 204 && st != 404 && st != 503)
                    return (void *)2;
            } else if (st != 503) {
                return (void *)3;
            } else {
                usleep(1000); /* the other thread has it in flight */
            }
        }
    }
    return NULL;
}

static void test_replace_chunks_in_parallel(void **state)
{
    (void)state;
    struct env e;
    env_open(&e);
    session_registry_set_mark_interval(srv.sessions, 4 * CHUNK); /* before the session exists */
    open_upload("rep.zip");
    /* Store other bytes first, hashed inline and by the hasher threads. */
    for (size_t i = 0; i < (size_t)CHUNKS * CHUNK; i++)
        data[i] ^= 0x5a;
    run_threads(sender);
    for (size_t i = 0; i < (size_t)CHUNKS * CHUNK; i++)
        data[i] ^= 0x5a;
    run_threads(replacer);
    complete_upload();
    env_close(&e);
}

/* PUTs bytes as chunk i and expects status want. */
static void put_chunk_bytes(int i, const char *bytes, unsigned want)
{
    char url[128], dh[80];
    chunk_request(i, bytes, url, sizeof(url), dh, sizeof(dh));
    assert_int_equal(run("PUT", url, dh, bytes, CHUNK, NULL, 0), want);
}

static void put_chunk(int i)
{
    put_chunk_bytes(i, data + (size_t)i * CHUNK, 201);
}

/* Without hasher threads, chunks stored ahead of the prefix are hashed
 * while later chunks arrive: each later chunk carries one stored chunk of
 * the prefix as it is received, and complete hashes the rest. */
static void test_prefix_carried_alongside(void **state)
{
    (void)state;
    struct env e;
    env_open_with(&e, 0);
    char log_path[1200];
    snprintf(log_path, sizeof(log_path), "%s/log", e.dir);
    FILE *log = fopen(log_path, "w+");
    assert_non_null(log);
    mfb_log_init(MFB_LOG_INFO, log);
    open_upload("along.zip");
    for (int i = 1; i < CHUNKS / 2; i++) /* ahead of the prefix: nothing to carry yet */
        put_chunk(i);
    put_chunk(0); /* at the prefix: hashed inline */
    for (int i = CHUNKS / 2; i < CHUNKS; i++)
        put_chunk(i);
    complete_upload();
    fflush(log);
    mfb_log_init(MFB_LOG_WARN, stderr);
    char text[8192] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof(text) - 1, log);
    text[n] = '\0';
    fclose(log);
    /* 0 inline; chunk 12+k, arriving, carries 1+k (k = 0..11); 13..23 are
     * read back at complete */
    char want[200];
    snprintf(want, sizeof(want), "inline_bytes=%u alongside_bytes=%u read_back_bytes=%u", CHUNK,
             (CHUNKS / 2) * CHUNK, (CHUNKS / 2 - 1) * CHUNK);
    if (strstr(text, want) == NULL)
        fail_msg("expected \"%s\" in the log:\n%s", want, text);
    env_close(&e);
}

/* A chunk at the prefix that was partly carried, then forgotten (DELETE by
 * a resuming client) and sent again with other bytes: the running hash must
 * drop what it took of the old bytes, or complete finds a wrong digest. */
static void test_forget_partly_carried(void **state)
{
    (void)state;
    struct env e;
    env_open_with(&e, 0);
    open_upload("forget.zip");
    char *wrong = malloc(CHUNK);
    assert_non_null(wrong);
    for (size_t i = 0; i < CHUNK; i++)
        wrong[i] = (char)(data[CHUNK + i] ^ 0x5a);
    put_chunk_bytes(1, wrong, 201); /* bytes that will be replaced */
    put_chunk(0);                   /* inline: the prefix moves on to chunk 1, stored */
    /* The first 256 KiB of chunk 5 arrive and carry 256 KiB of chunk 1. */
    const char *five = data + 5 * (size_t)CHUNK;
    char url5[128], dh5[80], url1[128];
    chunk_request(5, five, url5, sizeof(url5), dh5, sizeof(dh5));
    struct call k;
    call_start(&k, "PUT", url5, dh5, CHUNK);
    assert_false(k.decided);
    call_body(&k, five, 0, 256u << 10);
    /* The client finds chunk 1 differs: DELETE, then PUT the right bytes. */
    snprintf(url1, sizeof(url1), "/v1/uploads/%s/chunks/1", upload_id);
    assert_int_equal(run("DELETE", url1, NULL, NULL, 0, NULL, 0), 204);
    put_chunk(1);
    call_body(&k, five, 256u << 10, CHUNK);
    assert_int_equal(call_end(&k, NULL, 0), 201);
    for (int i = 2; i < CHUNKS; i++)
        if (i != 5)
            put_chunk(i);
    free(wrong);
    complete_upload(); /* 201 only if the digest is of the right bytes */
    env_close(&e);
}

/* The partial file loses stored bytes behind the receiver's back (a disk
 * error, an operator): complete must answer a clear 4xx, not crash on a
 * mapping past the end of the file, not publish, and not answer 5xx forever. */
static void test_damaged_partial_file(void **state)
{
    (void)state;
    struct env e;
    env_open_with(&e, 0);
    open_upload("damaged.zip");
    for (int i = CHUNKS - 1; i >= 0; i--) /* out of order: read back at complete */
        put_chunk(i);
    char part[1200];
    storage_partial_path(srv.cfg.storage, upload_id, part, sizeof(part));
    assert_int_equal(truncate(part, (off_t)CHUNK * CHUNKS / 2 + 100), 0);
    size_t size = (size_t)CHUNKS * CHUNK;
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1], url[128], out[512], body[256];
    sha256_buffer(data, size, d);
    digest_to_hex(d, hex);
    snprintf(body, sizeof(body), "{\"size\":%zu,\"sha256\":\"%s\"}", size, hex);
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", upload_id);
    for (int attempt = 0; attempt < 2; attempt++) { /* the same answer when retried */
        assert_int_equal(run("POST", url, NULL, body, strlen(body), out, sizeof(out)), 409);
        assert_non_null(strstr(out, "cannot read back the chunks stored for this upload"));
        assert_non_null(strstr(out, "start a new upload"));
        assert_null(strstr(out, part)); /* no server path goes to the client */
    }
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_chunks_one_upload),
        cmocka_unit_test(test_replace_chunks_in_parallel),
        cmocka_unit_test(test_prefix_carried_alongside),
        cmocka_unit_test(test_forget_partly_carried),
        cmocka_unit_test(test_damaged_partial_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
