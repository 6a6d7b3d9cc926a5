/*
 * ui_gate_test.c - the web UI's gate (ui/gate.h) over a real configuration
 * database: the page without a password, the password's hash, login
 * (wrong, right, slowed), session and CSRF checks, logout, assets.
 */
#include "unit.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "scratch.h"
#include "store/config_records.h"
#include "ui/gate.h"
#include "ui/password.h"

struct fixture {
    char dir[PATH_MAX];
    struct config_db *db;
    struct ui ui;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char path[PATH_MAX + 16];
    if (f == NULL || !unit_scratch_dir("ui-gate", f->dir, sizeof(f->dir)))
        return -1;
    snprintf(path, sizeof(path), "%s/mfb.db", f->dir);
    if (config_db_open(path, true, &f->db, NULL, NULL) != MFB_OK)
        return -1;
    ui_init(&f->ui, f->db, false);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ui_destroy(&f->ui);
    config_db_close(f->db);
    unit_rmtree(f->dir);
    free(f);
    return 0;
}

static void set_password(struct fixture *f, const char *pw)
{
    char hash[UI_HASH_BUF];
    /* a low cost keeps the test fast; the format is the same */
    assert_int_equal(ui_password_hash_cost(pw, 4, hash, sizeof(hash), NULL), MFB_OK);
    assert_int_equal(config_setting_set(f->db, UI_PASSWORD_KEY, hash, NULL), MFB_OK);
}

static enum ui_verdict req(struct fixture *f, const char *method, const char *path,
                           const char *cookie, const char *csrf, struct ui_answer *a)
{
    struct ui_request r = {.method = method, .path = path, .cookie = cookie, .csrf = csrf};
    return ui_begin(&f->ui, &r, a);
}

/* Logs in with pw; the cookie header and the CSRF token on success. */
static unsigned login(struct fixture *f, const char *pw, char *cookie, char *csrf)
{
    struct ui_answer a;
    struct ui_request r = {
        .method = "POST", .path = "/ui/login", .content_type = "application/json"};
    assert_int_equal(ui_begin(&f->ui, &r, &a), UI_NEEDS_BODY);
    char body[256];
    snprintf(body, sizeof(body), "{\"password\": \"%s\"}", pw);
    ui_finish(&f->ui, &r, body, strlen(body), &a);
    unsigned status = a.status;
    if (status == 200) {
        assert_non_null(strstr(a.set_cookie, "HttpOnly"));
        assert_non_null(strstr(a.set_cookie, "SameSite=Strict"));
        assert_null(strstr(a.set_cookie, "Secure")); /* plain HTTP on loopback */
        snprintf(cookie, 128, "%.*s", (int)strcspn(a.set_cookie, ";"), a.set_cookie);
        json_t *o = json_loadb(a.data, a.len, 0, NULL);
        snprintf(csrf, UI_TOKEN_BUF, "%s", json_string_value(json_object_get(o, "csrf")));
        json_decref(o);
    }
    ui_answer_free(&a);
    return status;
}

static void test_no_password_page(void **state)
{
    struct fixture *f = *state;
    struct ui_answer a;
    assert_int_equal(req(f, "GET", "/", NULL, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 503);
    assert_non_null(strstr(a.data, "mfb ui passwd"));
    ui_answer_free(&a);
    assert_int_equal(req(f, "GET", "/v1/jobs", NULL, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 503);
    assert_non_null(strstr(a.data, "no_password"));
    ui_answer_free(&a);
}

static void test_password_hash(void **state)
{
    char hash[UI_HASH_BUF], again[UI_HASH_BUF];
    assert_int_equal(ui_password_hash_cost("s3cret pass", 4, hash, sizeof(hash), NULL), MFB_OK);
    assert_int_equal(ui_password_hash_cost("s3cret pass", 4, again, sizeof(again), NULL), MFB_OK);
    assert_string_not_equal(hash, again); /* salted */
    assert_null(strstr(hash, "s3cret"));
    assert_true(ui_password_verify("s3cret pass", hash));
    assert_true(ui_password_verify("s3cret pass", again));
    assert_false(ui_password_verify("s3cret pasS", hash));
    assert_false(ui_password_verify("", hash));
    assert_false(ui_password_verify("s3cret pass", "scrypt$4$8$1$zz$zz"));
    assert_false(ui_password_verify("s3cret pass", "plain"));
    assert_false(ui_password_verify("s3cret pass", NULL));
    struct fixture *f = *state;
    struct mfb_error err = {0};
    assert_int_equal(ui_password_set(f->db, "short", &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "the password must have 8 to 1024 characters");
}

static void test_login_session_csrf(void **state)
{
    struct fixture *f = *state;
    set_password(f, "right password");
    struct ui_answer a;
    /* no session: a page redirects, the API answers 401, the login page is public */
    assert_int_equal(req(f, "GET", "/index.html", NULL, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 303);
    assert_string_equal(a.location, "/login.html");
    ui_answer_free(&a);
    assert_int_equal(req(f, "GET", "/v1/jobs", NULL, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 401);
    ui_answer_free(&a);
    /* the login page and all it loads (the stylesheet imports base.css) */
    const char *public[] = {"/login.html", "/login.js", "/style.css", "/base.css", "/favicon.svg"};
    for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
        assert_int_equal(req(f, "GET", public[i], NULL, NULL, &a), UI_ANSWER);
        assert_int_equal(a.status, 200);
        ui_answer_free(&a);
    }

    char cookie[128], csrf[UI_TOKEN_BUF];
    assert_int_equal(login(f, "wrong password", cookie, csrf), 401);
    assert_int_equal(login(f, "right password", cookie, csrf), 200);
    /* a forged cookie is no session */
    assert_int_equal(req(f, "GET", "/v1/jobs",
                         "mfb_session="
                         "00000000000000000000000000000000"
                         "00000000000000000000000000000000",
                         NULL, &a),
                     UI_ANSWER);
    assert_int_equal(a.status, 401);
    ui_answer_free(&a);
    /* reads pass; a change needs the token */
    assert_int_equal(req(f, "GET", "/v1/jobs", cookie, NULL, &a), UI_PASS);
    assert_int_equal(req(f, "POST", "/v1/jobs", cookie, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 403);
    ui_answer_free(&a);
    assert_int_equal(req(f, "POST", "/v1/jobs", cookie, "f00", &a), UI_ANSWER);
    assert_int_equal(a.status, 403);
    ui_answer_free(&a);
    assert_int_equal(req(f, "POST", "/v1/jobs", cookie, csrf, &a), UI_PASS);
    assert_int_equal(req(f, "GET", "/ui/session", cookie, NULL, &a), UI_ANSWER);
    assert_non_null(strstr(a.data, csrf));
    ui_answer_free(&a);
    /* logout needs the token too, then the session is gone */
    assert_int_equal(req(f, "POST", "/ui/logout", cookie, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 403);
    ui_answer_free(&a);
    assert_int_equal(req(f, "POST", "/ui/logout", cookie, csrf, &a), UI_ANSWER);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.set_cookie, "Max-Age=0"));
    ui_answer_free(&a);
    assert_int_equal(req(f, "GET", "/v1/jobs", cookie, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 401);
    ui_answer_free(&a);
}

static void test_login_refusals_and_slowing(void **state)
{
    struct fixture *f = *state;
    set_password(f, "right password");
    struct ui_answer a;
    struct ui_request r = {.method = "POST", .path = "/ui/login", .content_type = "text/plain"};
    assert_int_equal(ui_begin(&f->ui, &r, &a), UI_NEEDS_BODY);
    ui_finish(&f->ui, &r, "{\"password\":\"right password\"}", 29, &a);
    assert_int_equal(a.status, 415); /* a cross-site form cannot send JSON */
    ui_answer_free(&a);
    r.content_type = "application/json";
    ui_finish(&f->ui, &r, NULL, 0, &a); /* too large */
    assert_int_equal(a.status, 400);
    ui_answer_free(&a);
    char cookie[128], csrf[UI_TOKEN_BUF];
    for (int i = 0; i < UI_LOGIN_FREE_FAILURES; i++)
        assert_int_equal(login(f, "guess", cookie, csrf), 401);
    /* now even the right password waits */
    ui_finish(&f->ui, &r, "{\"password\":\"right password\"}", 29, &a);
    assert_int_equal(a.status, 429);
    assert_true(a.retry_after_s >= 1);
    ui_answer_free(&a);
}

static void test_assets(void **state)
{
    struct fixture *f = *state;
    set_password(f, "right password");
    char cookie[128], csrf[UI_TOKEN_BUF];
    assert_int_equal(login(f, "right password", cookie, csrf), 200);
    struct ui_answer a;
    assert_int_equal(req(f, "GET", "/", cookie, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.content_type, "text/html; charset=utf-8");
    ui_answer_free(&a);
    assert_int_equal(req(f, "GET", "/dashboard.js", cookie, NULL, &a), UI_ANSWER);
    assert_string_equal(a.content_type, "text/javascript; charset=utf-8");
    ui_answer_free(&a);
    assert_int_equal(req(f, "GET", "/../mfb.db", cookie, NULL, &a), UI_ANSWER);
    assert_int_equal(a.status, 404);
    ui_answer_free(&a);
    assert_int_equal(req(f, "POST", "/index.html", cookie, csrf, &a), UI_ANSWER);
    assert_int_equal(a.status, 404);
    ui_answer_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_password_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_session_csrf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_refusals_and_slowing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
