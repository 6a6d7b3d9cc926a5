/*
 * server_dashboard_test.c - the receiver's dashboard driven without
 * sockets (src/server/api_dashboard.c, dashboard.c over a real catalog and
 * storage directory): the password page, login, sessions and CSRF of the
 * client UI's code, the two worlds of token and cookie kept apart, the
 * slowing of failed logins, read-only, and the overview's data (overdue
 * marks, drills, retention's plan, uploads in progress, storage).
 */
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/digest.h"
#include "scratch.h"
#include "server/api.h"
#include "server/dashboard.h"
#include "server/retention.h"
#include "server/server.h"
#include "store/server_monitor.h"
#include "ui/password.h"

#define TOKEN1 "1111111111111111111111111111111111111111111111111111111111111111"
#define PASSWORD "correct horse battery"
#define MIB (1u << 20)

struct fixture {
    char dir[1024];
    struct server_db *db;
    struct server srv;
};

/* One request's headers: name, value pairs ending with NULL. */
struct fake {
    const char *headers[16];
};

static const char *fake_header(void *ctx, const char *name)
{
    struct fake *f = ctx;
    for (int i = 0; f->headers[i]; i += 2)
        if (strcasecmp(f->headers[i], name) == 0)
            return f->headers[i + 1];
    return NULL;
}

static const char *no_query(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

struct answer {
    unsigned status;
    char *body;
    json_t *json;
    char set_cookie[192];
    const char *location;
    bool page, cacheable;
    unsigned retry_after;
    const char *type;
};

static void answer_free(struct answer *a)
{
    json_decref(a->json);
    free(a->body);
    memset(a, 0, sizeof(*a));
}

/* Runs one request; any of token, cookie, csrf, type and body may be NULL. */
static struct answer call(struct fixture *fx, const char *method, const char *url,
                          const char *token, const char *cookie, const char *csrf, const char *type,
                          const char *body)
{
    char auth[128], cl[32];
    struct fake f = {0};
    int h = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Bearer %s", token);
        f.headers[h++] = "Authorization";
        f.headers[h++] = auth;
    }
    if (cookie) {
        f.headers[h++] = "Cookie";
        f.headers[h++] = cookie;
    }
    if (csrf) {
        f.headers[h++] = "X-CSRF-Token";
        f.headers[h++] = csrf;
    }
    if (type) {
        f.headers[h++] = "Content-Type";
        f.headers[h++] = type;
    }
    if (body) {
        snprintf(cl, sizeof(cl), "%zu", strlen(body));
        f.headers[h++] = "Content-Length";
        f.headers[h++] = cl;
    }
    struct api_request req = {method, url, fake_header, no_query, &f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, &req, &decided);
    if (!decided && body)
        api_body(c, body, strlen(body));
    struct api_response resp;
    api_finish(c, &resp);
    struct answer a = {.status = resp.status,
                       .body = resp.body,
                       .location = resp.location,
                       .page = resp.page,
                       .cacheable = resp.cacheable,
                       .retry_after = resp.retry_after,
                       .type = resp.content_type};
    memcpy(a.set_cookie, resp.set_cookie, sizeof(a.set_cookie));
    if (resp.body && resp.content_type && strcmp(resp.content_type, "application/json") == 0)
        a.json = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.fd >= 0)
        close(resp.fd);
    api_call_free(c);
    return a;
}

static struct answer get(struct fixture *fx, const char *url, const char *cookie)
{
    return call(fx, "GET", url, NULL, cookie, NULL, NULL, NULL);
}

static const char *jstr(const struct answer *a, const char *key)
{
    return json_string_value(json_object_get(a->json, key));
}

static void set_password(struct fixture *fx)
{
    /* A low scrypt cost keeps the test fast; the check reads the cost
     * from the stored text. */
    char hash[UI_HASH_BUF];
    assert_int_equal(ui_password_hash_cost(PASSWORD, 4, hash, sizeof(hash), NULL), MFB_OK);
    assert_int_equal(server_db_setting_set(fx->db, DASH_PASSWORD_KEY, hash, NULL), MFB_OK);
}

/* Logs in; cookie gets "mfb_receiver_session=ID", csrf the token. */
static void login(struct fixture *fx, char *cookie, size_t len, char *csrf)
{
    struct answer a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "application/json",
                           "{\"password\":\"" PASSWORD "\"}");
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.set_cookie, "HttpOnly"));
    assert_non_null(strstr(a.set_cookie, "SameSite=Strict"));
    assert_non_null(strstr(a.set_cookie, "; Secure"));
    const char *semi = strchr(a.set_cookie, ';');
    assert_non_null(semi);
    snprintf(cookie, len, "%.*s", (int)(semi - a.set_cookie), a.set_cookie);
    assert_int_equal(strncmp(cookie, DASH_COOKIE_NAME "=", strlen(DASH_COOKIE_NAME) + 1), 0);
    snprintf(csrf, UI_TOKEN_BUF, "%s", jstr(&a, "csrf"));
    answer_free(&a);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (!unit_scratch_dir("server-dash", fx->dir, sizeof(fx->dir)))
        return -1;
    char path[4200];
    snprintf(path, sizeof(path), "%s/catalog.db", fx->dir);
    if (server_db_open(path, true, &fx->db, NULL) != MFB_OK)
        return -1;
    uint8_t h[SHA256_LEN];
    sha256_buffer(TOKEN1, 64, h);
    server_db_client_add(fx->db, "db1", h, 0, NULL);
    struct server_config cfg = {.max_chunk = 4 * MIB, .upload_expiry_s = 3600};
    snprintf(cfg.storage, sizeof(cfg.storage), "%s/store", fx->dir);
    snprintf(cfg.layout, sizeof(cfg.layout), "{client}/{instance}/");
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

static void test_no_password_says_how(void **state)
{
    struct fixture *fx = *state;
    struct answer a = get(fx, "/", NULL);
    assert_int_equal(a.status, 503);
    assert_true(a.page);
    assert_non_null(strstr(a.body, "mfb-server admin passwd"));
    answer_free(&a);
    a = get(fx, "/ui/overview", NULL);
    assert_int_equal(a.status, 503);
    assert_string_equal(jstr(&a, "error"), "no_password");
    answer_free(&a);
    a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "application/json",
             "{\"password\":\"" PASSWORD "\"}");
    assert_int_equal(a.status, 503);
    assert_string_equal(a.set_cookie, "");
    answer_free(&a);
}

static void test_without_session(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    struct answer a = get(fx, "/", NULL);
    assert_int_equal(a.status, 303);
    assert_string_equal(a.location, "/login.html");
    assert_true(a.page);
    assert_false(a.cacheable);
    answer_free(&a);
    a = get(fx, "/index.html", "mfb_receiver_session=" TOKEN1);
    assert_int_equal(a.status, 303);
    answer_free(&a);
    /* the login page and all it loads (the stylesheet imports base.css) */
    const char *public[] = {"/login.html", "/login.js", "/style.css", "/base.css", "/favicon.svg"};
    for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
        a = get(fx, public[i], NULL);
        assert_int_equal(a.status, 200);
        assert_true(a.page);
        assert_true(a.cacheable);
        answer_free(&a);
    }
    a = get(fx, "/app.js", NULL);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    a = get(fx, "/ui/overview", NULL);
    assert_int_equal(a.status, 401);
    assert_string_equal(jstr(&a, "error"), "unauthorized");
    answer_free(&a);
    a = get(fx, "/ui/session", NULL);
    assert_int_equal(a.status, 401);
    answer_free(&a);
}

/* A client's bearer token opens no page, and a session cookie authorises
 * no API call. */
static void test_token_and_cookie_apart(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    struct answer a = call(fx, "GET", "/", TOKEN1, NULL, NULL, NULL, NULL);
    assert_int_equal(a.status, 303);
    answer_free(&a);
    a = call(fx, "GET", "/ui/overview", TOKEN1, NULL, NULL, NULL, NULL);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    /* the token as the cookie's value is no session either */
    a = get(fx, "/ui/overview", DASH_COOKIE_NAME "=" TOKEN1);
    assert_int_equal(a.status, 401);
    answer_free(&a);

    char cookie[192], csrf[UI_TOKEN_BUF];
    login(fx, cookie, sizeof(cookie), csrf);
    a = get(fx, "/v1/whoami", cookie);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    a = get(fx, "/v1/backups", cookie);
    assert_int_equal(a.status, 401);
    answer_free(&a);
    a = call(fx, "GET", "/v1/whoami", TOKEN1, cookie, NULL, NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_false(a.page);
    answer_free(&a);
}

static void test_login_logout(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    struct answer a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "text/plain",
                           "{\"password\":\"" PASSWORD "\"}");
    assert_int_equal(a.status, 415);
    answer_free(&a);
    a = call(fx, "GET", "/ui/login", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(a.status, 405);
    answer_free(&a);
    a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "application/json", "{\"pw\":1}");
    assert_int_equal(a.status, 400);
    answer_free(&a);

    char cookie[192], csrf[UI_TOKEN_BUF];
    login(fx, cookie, sizeof(cookie), csrf);
    a = get(fx, "/", cookie);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "<title>mfb-server: dashboard</title>"));
    answer_free(&a);
    a = get(fx, "/ui/session", cookie);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(&a, "csrf"), csrf);
    answer_free(&a);

    /* Read-only: nothing but the logout takes a change. */
    a = call(fx, "POST", "/ui/overview", NULL, cookie, csrf, "application/json", "{}");
    assert_int_equal(a.status, 405);
    answer_free(&a);
    a = call(fx, "DELETE", "/", NULL, cookie, csrf, NULL, NULL);
    assert_int_equal(a.status, 405);
    answer_free(&a);

    a = call(fx, "POST", "/ui/logout", NULL, cookie, NULL, NULL, NULL);
    assert_int_equal(a.status, 403);
    assert_string_equal(jstr(&a, "error"), "csrf");
    answer_free(&a);
    a = call(fx, "POST", "/ui/logout", NULL, cookie, TOKEN1, NULL, NULL);
    assert_int_equal(a.status, 403);
    answer_free(&a);
    a = call(fx, "POST", "/ui/logout", NULL, cookie, csrf, NULL, NULL);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.set_cookie, "Max-Age=0"));
    answer_free(&a);
    a = get(fx, "/ui/overview", cookie);
    assert_int_equal(a.status, 401);
    answer_free(&a);
}

static void test_failed_logins_slowed(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    struct answer a;
    for (int i = 0; i < UI_LOGIN_FREE_FAILURES; i++) {
        a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "application/json",
                 "{\"password\":\"wrong password\"}");
        assert_int_equal(a.status, 401);
        assert_string_equal(jstr(&a, "error"), "wrong_password");
        assert_string_equal(a.set_cookie, "");
        answer_free(&a);
    }
    /* Even the right password now waits before it is checked. */
    a = call(fx, "POST", "/ui/login", NULL, NULL, NULL, "application/json",
             "{\"password\":\"" PASSWORD "\"}");
    assert_int_equal(a.status, 429);
    assert_true(a.retry_after >= 1);
    assert_string_equal(a.set_cookie, "");
    answer_free(&a);
}

static void test_unknown_paths(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    char cookie[192], csrf[UI_TOKEN_BUF];
    login(fx, cookie, sizeof(cookie), csrf);
    struct answer a = get(fx, "/nothing.js", cookie);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = get(fx, "/ui/nothing", cookie);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    a = get(fx, "/../etc/passwd", cookie);
    assert_int_equal(a.status, 404);
    answer_free(&a);
    /* Only the fixed paths count as named, so the request log cuts a
     * token sent in any other. */
    const char *paths[] = {"/ui/" TOKEN1, "/" TOKEN1 ".html", "/ui/overview", "/app.js"};
    for (int i = 0; i < 4; i++) {
        struct fake f = {{"Cookie", cookie, NULL}};
        struct api_request req = {"GET", paths[i], fake_header, no_query, &f, NULL};
        bool decided;
        struct api_call *c = api_begin(&fx->srv, &req, &decided);
        struct api_call_info info;
        api_call_describe(c, &info);
        assert_int_equal(info.routed, i >= 2);
        assert_true(info.operator_session);
        struct api_response resp;
        api_finish(c, &resp);
        free(resp.body);
        api_call_free(c);
    }
    /* /v1 without its slash is neither the API nor a page */
    a = get(fx, "/v1", cookie);
    assert_int_equal(a.status, 404);
    answer_free(&a);
}

/* Publishes len bytes as a backup of db1's instance; returns its id. */
static void publish(struct fixture *fx, const char *instance, size_t len, char *id)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"instance\":\"%s\",\"name\":\"db.zip\",\"size\":%zu,\"chunk_size\":1048576}",
             instance, len);
    struct answer a = call(fx, "POST", "/v1/uploads", TOKEN1, NULL, NULL, "application/json", body);
    assert_int_equal(a.status, 201);
    char uid[64], url[128], digest[128];
    snprintf(uid, sizeof(uid), "%s", jstr(&a, "upload_id"));
    answer_free(&a);
    char *data = calloc(1, len);
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    sha256_buffer(data, len, d);
    content_digest_format(d, digest, sizeof(digest));
    digest_to_hex(d, hex);
    snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/0", uid);
    struct fake f = {{"Authorization", "Bearer " TOKEN1, "Content-Digest", digest, NULL}};
    char cl[32];
    snprintf(cl, sizeof(cl), "%zu", len);
    f.headers[4] = "Content-Length";
    f.headers[5] = cl;
    struct api_request req = {"PUT", url, fake_header, no_query, &f, NULL};
    bool decided;
    struct api_call *c = api_begin(&fx->srv, &req, &decided);
    api_body(c, data, len);
    struct api_response resp;
    api_finish(c, &resp);
    assert_int_equal(resp.status, 201);
    free(resp.body);
    api_call_free(c);
    free(data);
    snprintf(url, sizeof(url), "/v1/uploads/%s/complete", uid);
    snprintf(body, sizeof(body), "{\"size\":%zu,\"sha256\":\"%s\"}", len, hex);
    a = call(fx, "POST", url, TOKEN1, NULL, NULL, "application/json", body);
    assert_int_equal(a.status, 201);
    snprintf(id, SRV_ID_BUF, "%s", jstr(&a, "backup_id"));
    answer_free(&a);
}

static json_t *instance_of(json_t *overview, const char *instance)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(overview, "instances"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "instance")), instance) == 0)
            return row;
    }
    fail_msg("no instance %s in the overview", instance);
    return NULL;
}

static void test_overview(void **state)
{
    struct fixture *fx = *state;
    set_password(fx);
    char b1[SRV_ID_BUF], b2[SRV_ID_BUF], url[128];
    publish(fx, "prod", 1000, b1);
    publish(fx, "prod", 3000, b2);
    /* A failed drill of the newer one (the list is newest first; both
     * were published in the same second, so either may be "newest"). */
    snprintf(url, sizeof(url), "/v1/backups/%s/verifications", b2);
    struct answer a = call(fx, "POST", url, TOKEN1, NULL, NULL, "application/json",
                           "{\"result\":\"failed\",\"tables\":7,\"detail\":\"shop.t1 corrupt\"}");
    assert_int_equal(a.status, 201);
    answer_free(&a);
    assert_int_equal(server_db_expect_set(fx->db, "db1", "prod", 3600, NULL), MFB_OK);
    assert_int_equal(server_db_expect_set(fx->db, "db1", "silent", 60, NULL), MFB_OK);
    struct srv_policy p = {.instance = "prod", .keep_last = 2, .max_age_s = -1, .max_bytes = -1};
    struct srv_client cl;
    assert_int_equal(server_db_client_by_name(fx->db, "db1", &cl, NULL), MFB_OK);
    p.client_id = cl.id;
    assert_int_equal(server_db_policy_set(fx->db, &p, NULL), MFB_OK);
    /* an upload in progress: 1 MiB of 3 received */
    a = call(
        fx, "POST", "/v1/uploads", TOKEN1, NULL, NULL, "application/json",
        "{\"instance\":\"prod\",\"name\":\"big.zip\",\"size\":3145728,\"chunk_size\":1048576}");
    assert_int_equal(a.status, 201);
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", jstr(&a, "upload_id"));
    answer_free(&a);
    {
        char *data = calloc(1, MIB), digest[128];
        uint8_t d[SHA256_LEN];
        sha256_buffer(data, MIB, d);
        content_digest_format(d, digest, sizeof(digest));
        snprintf(url, sizeof(url), "/v1/uploads/%s/chunks/0", uid);
        struct fake f = {{"Authorization", "Bearer " TOKEN1, "Content-Digest", digest,
                          "Content-Length", "1048576", NULL}};
        struct api_request req = {"PUT", url, fake_header, no_query, &f, NULL};
        bool decided;
        struct api_call *c = api_begin(&fx->srv, &req, &decided);
        api_body(c, data, MIB);
        struct api_response resp;
        api_finish(c, &resp);
        assert_int_equal(resp.status, 201);
        free(resp.body);
        api_call_free(c);
        free(data);
    }

    /* Through the API, as the page reads it. */
    char cookie[192], csrf[UI_TOKEN_BUF];
    login(fx, cookie, sizeof(cookie), csrf);
    a = get(fx, "/ui/overview", cookie);
    assert_int_equal(a.status, 200);
    assert_true(a.page);
    json_t *prod = instance_of(a.json, "prod");
    assert_int_equal(json_integer_value(json_object_get(prod, "backups")), 2);
    assert_int_equal(json_integer_value(json_object_get(prod, "stored_bytes")), 4000);
    assert_false(json_is_true(json_object_get(json_object_get(prod, "expect"), "overdue")));
    json_t *drill = json_object_get(prod, "drill");
    assert_string_equal(json_string_value(json_object_get(drill, "result")), "failed");
    assert_int_equal(json_integer_value(json_object_get(drill, "tables")), 7);
    assert_string_equal(json_string_value(json_object_get(drill, "backup_id")), b2);
    json_t *ret = json_object_get(prod, "retention");
    assert_int_equal(json_integer_value(json_object_get(ret, "keep_last")), 2);
    assert_int_equal(json_array_size(json_object_get(ret, "due_now")), 0);
    /* keep-last 2 of 2: the older goes when the next backup arrives */
    json_t *next = json_object_get(ret, "at_next_backup");
    assert_int_equal(json_array_size(next), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(next, 0), "reason")),
                        "keep-last");
    json_t *up = json_array_get(json_object_get(a.json, "uploads"), 0);
    assert_non_null(up);
    assert_string_equal(json_string_value(json_object_get(up, "id")), uid);
    assert_int_equal(json_integer_value(json_object_get(up, "received")), MIB);
    assert_int_equal(json_integer_value(json_object_get(up, "size")), 3 * MIB);
    json_t *st = json_object_get(a.json, "storage");
    assert_string_equal(json_string_value(json_object_get(st, "kind")), "file");
    assert_int_equal(json_integer_value(json_object_get(st, "backup_bytes")), 4000);
    assert_true(json_integer_value(json_object_get(st, "free_bytes")) > 0);
    /* an instance expected and never seen is shown, with no backup */
    json_t *silent = instance_of(a.json, "silent");
    assert_true(json_is_null(json_object_get(silent, "last_backup")));
    answer_free(&a);

    /* Later: both expectations are past their time. */
    json_t *o = NULL;
    assert_int_equal(dashboard_overview(&fx->srv, (int64_t)time(NULL) + 7200, &o, NULL), MFB_OK);
    assert_true(json_is_true(
        json_object_get(json_object_get(instance_of(o, "prod"), "expect"), "overdue")));
    assert_true(json_is_true(
        json_object_get(json_object_get(instance_of(o, "silent"), "expect"), "overdue")));
    json_decref(o);
    /* A removed client's silence is expected: no mark, as no alarm. */
    assert_int_equal(server_db_client_remove(fx->db, "db1", NULL), MFB_OK);
    assert_int_equal(dashboard_overview(&fx->srv, (int64_t)time(NULL) + 7200, &o, NULL), MFB_OK);
    json_t *gone = json_object_get(instance_of(o, "silent"), "expect");
    assert_false(json_is_true(json_object_get(gone, "overdue")));
    assert_false(json_is_true(json_object_get(gone, "checked")));
    json_decref(o);

    /* keep-last 1: the older goes now, as retention apply would delete it. */
    p.keep_last = 1;
    assert_int_equal(server_db_policy_set(fx->db, &p, NULL), MFB_OK);
    struct retention_plan plan;
    assert_int_equal(
        retention_plan(fx->db, fx->srv.store, cl.id, "prod", (int64_t)time(NULL), &plan, NULL),
        MFB_OK);
    assert_int_equal(plan.due, 1);
    assert_null(plan.items[0].reason);
    assert_string_equal(plan.items[1].reason, "keep-last");
    struct retention_report rep;
    assert_int_equal(
        retention_apply(fx->db, fx->srv.store, cl.id, "prod", true, NULL, NULL, &rep, NULL),
        MFB_OK);
    assert_int_equal(rep.deleted, plan.due);
    assert_int_equal(dashboard_overview(&fx->srv, (int64_t)time(NULL), &o, NULL), MFB_OK);
    json_t *due = json_object_get(json_object_get(instance_of(o, "prod"), "retention"), "due_now");
    assert_int_equal(json_array_size(due), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(due, 0), "id")),
                        plan.list[1].id);
    json_decref(o);
    retention_plan_free(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_password_says_how, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_and_cookie_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_logins_slowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overview, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
