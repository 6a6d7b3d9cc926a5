/*
 * ui_session_test.c - the web UI's sessions, CSRF tokens, cookie parsing
 * and failed-login slowing (ui/session.h), with a given clock.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "ui/session.h"

static void test_create_check_end(void **state)
{
    struct ui_sessions s;
    ui_sessions_init(&s, 1000);
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF], got[UI_TOKEN_BUF];
    assert_int_equal(ui_session_create(&s, 10, id, csrf, NULL), MFB_OK);
    assert_int_equal(strlen(id), UI_TOKEN_HEX);
    assert_string_not_equal(id, csrf);
    assert_true(ui_session_check(&s, id, 20, got));
    assert_string_equal(got, csrf);
    /* a second session has other tokens */
    char id2[UI_TOKEN_BUF], csrf2[UI_TOKEN_BUF];
    assert_int_equal(ui_session_create(&s, 10, id2, csrf2, NULL), MFB_OK);
    assert_string_not_equal(id, id2);
    assert_string_not_equal(csrf, csrf2);
    ui_session_end(&s, id);
    assert_false(ui_session_check(&s, id, 30, NULL));
    assert_true(ui_session_check(&s, id2, 30, NULL));
    ui_sessions_destroy(&s);
}

static void test_idle_expiry_and_touch(void **state)
{
    struct ui_sessions s;
    ui_sessions_init(&s, 1000);
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF];
    assert_int_equal(ui_session_create(&s, 0, id, csrf, NULL), MFB_OK);
    assert_true(ui_session_check(&s, id, 900, NULL));   /* touched at 900 */
    assert_true(ui_session_check(&s, id, 1800, NULL));  /* 900 idle: alive */
    assert_false(ui_session_check(&s, id, 2801, NULL)); /* 1001 idle: gone */
    assert_false(ui_session_check(&s, id, 2802, NULL));
    ui_sessions_destroy(&s);
}

static void test_csrf(void **state)
{
    struct ui_sessions s;
    ui_sessions_init(&s, 1000);
    char id[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF], id2[UI_TOKEN_BUF], csrf2[UI_TOKEN_BUF];
    assert_int_equal(ui_session_create(&s, 0, id, csrf, NULL), MFB_OK);
    assert_int_equal(ui_session_create(&s, 0, id2, csrf2, NULL), MFB_OK);
    assert_true(ui_session_csrf_ok(&s, id, csrf, 1));
    assert_false(ui_session_csrf_ok(&s, id, NULL, 1));
    assert_false(ui_session_csrf_ok(&s, id, "", 1));
    assert_false(ui_session_csrf_ok(&s, id, csrf2, 1)); /* another session's token */
    assert_false(ui_session_csrf_ok(&s, id, id, 1));    /* the id is not the token */
    char upper[UI_TOKEN_BUF];
    memcpy(upper, csrf, sizeof(upper));
    upper[0] = upper[0] == 'a' ? 'b' : 'a';
    assert_false(ui_session_csrf_ok(&s, id, upper, 1));
    assert_false(ui_session_csrf_ok(&s, id, csrf, 5000)); /* expired session */
    ui_sessions_destroy(&s);
}

static void test_full_table_evicts_least_recent(void **state)
{
    struct ui_sessions s;
    ui_sessions_init(&s, 1000000);
    char first[UI_TOKEN_BUF], second[UI_TOKEN_BUF], csrf[UI_TOKEN_BUF], id[UI_TOKEN_BUF];
    assert_int_equal(ui_session_create(&s, 1, first, csrf, NULL), MFB_OK);
    assert_int_equal(ui_session_create(&s, 2, second, csrf, NULL), MFB_OK);
    for (int i = 2; i < UI_SESSIONS_MAX; i++)
        assert_int_equal(ui_session_create(&s, 10 + i, id, csrf, NULL), MFB_OK);
    assert_true(ui_session_check(&s, first, 500, NULL)); /* now the most recent */
    assert_int_equal(ui_session_create(&s, 600, id, csrf, NULL), MFB_OK);
    assert_true(ui_session_check(&s, first, 601, NULL));
    assert_false(ui_session_check(&s, second, 601, NULL));
    ui_sessions_destroy(&s);
}

static void test_login_slowing(void **state)
{
    struct ui_sessions s;
    ui_sessions_init(&s, 1000);
    for (int i = 0; i < UI_LOGIN_FREE_FAILURES - 1; i++) {
        ui_login_failed(&s, 100);
        assert_int_equal(ui_login_wait_ms(&s, 100), 0);
    }
    ui_login_failed(&s, 100);
    assert_int_equal(ui_login_wait_ms(&s, 100), 1000);
    assert_int_equal(ui_login_wait_ms(&s, 1100), 0);
    ui_login_failed(&s, 1100);
    assert_int_equal(ui_login_wait_ms(&s, 1100), 2000);
    for (int i = 0; i < 20; i++)
        ui_login_failed(&s, 5000);
    assert_int_equal(ui_login_wait_ms(&s, 5000), UI_LOGIN_MAX_WAIT_MS);
    ui_login_succeeded(&s);
    assert_int_equal(ui_login_wait_ms(&s, 5000), 0);
    ui_login_failed(&s, 6000);
    assert_int_equal(ui_login_wait_ms(&s, 6000), 0);
    ui_sessions_destroy(&s);
}

static void test_cookie_parsing(void **state)
{
    char id[UI_TOKEN_BUF];
    const char *tok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char header[256];
    snprintf(header, sizeof(header), "theme=dark; mfb_session=%s; x=1", tok);
    assert_true(ui_cookie_session(header, id));
    assert_string_equal(id, tok);
    snprintf(header, sizeof(header), "mfb_session=%s", tok);
    assert_true(ui_cookie_session(header, id));
    assert_false(ui_cookie_session(NULL, id));
    assert_false(ui_cookie_session("", id));
    assert_false(ui_cookie_session("mfb_session=short", id));
    assert_false(ui_cookie_session("xmfb_session=0123456789abcdef0123456789abcdef0123456789abcdef"
                                   "0123456789abcdef",
                                   id));
    assert_false(ui_cookie_session("mfb_session=0123456789ABCDEF0123456789abcdef0123456789abcdef"
                                   "0123456789abcdef",
                                   id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_check_end),
        cmocka_unit_test(test_idle_expiry_and_touch),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_full_table_evicts_least_recent),
        cmocka_unit_test(test_login_slowing),
        cmocka_unit_test(test_cookie_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
