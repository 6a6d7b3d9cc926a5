/*
 * job_naming_test.c - tests of src/job/backup/naming.c: every placeholder, the
 * escapes, and each way a pattern is refused, with the exact message.
 */
#include <string.h>
#include <time.h>

#include "unit.h"

#include "job/backup/naming.h"

/* 2026-11-25 19:30:05, a Wednesday. */
static struct tm fixed_time(void)
{
    struct tm tm = {0};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 25;
    tm.tm_hour = 19;
    tm.tm_min = 30;
    tm.tm_sec = 5;
    tm.tm_wday = 3;
    tm.tm_yday = 328;
    return tm;
}

static const char *expand(const char *pattern, uint64_t seq, char *out, struct mfb_error *err)
{
    struct tm tm = fixed_time();
    struct naming_vars v = {
        .instance = "prod", .host = "db1.example", .type = "full", .time = &tm, .seq = seq};
    mfb_error_clear(err);
    if (naming_expand(pattern, &v, out, NAMING_BUF, err) != MFB_OK)
        return NULL;
    return out;
}

static void test_default_pattern(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    assert_string_equal(expand("{instance}_{time:%Y%m%d-%H%M%S}.zip", 1, out, &err),
                        "prod_20261125-193005.zip");
    /* {time} alone uses the same format */
    assert_string_equal(expand("{instance}_{time}.zip", 1, out, &err), "prod_20261125-193005.zip");
}

static void test_every_placeholder(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    assert_string_equal(expand("{host}-{instance}-{type}-{seq}.zip", 42, out, &err),
                        "db1.example-prod-full-42.zip");
    assert_string_equal(expand("{instance}-{seq:4}", 7, out, &err), "prod-0007");
    assert_string_equal(expand("{seq:2}", 12345, out, &err), "12345"); /* width is a minimum */
    assert_null(expand("{time:%Y}/x", 1, out, &err)); /* literal text is checked too */
    assert_string_equal(expand("{time:%A %d %B %Y}", 1, out, &err), "Wednesday 25 November 2026");
    assert_string_equal(expand("{time:%H}h{time:%M}", 1, out, &err), "19h30");
    assert_string_equal(expand("plain.zip", 1, out, &err), "plain.zip");
}

static void test_braces(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    assert_string_equal(expand("{{{instance}}}.zip", 1, out, &err), "{prod}.zip");
    assert_string_equal(expand("a{{b}}c", 1, out, &err), "a{b}c");

    assert_null(expand("{instance.zip", 1, out, &err));
    assert_int_equal(err.status, MFB_ERR_INVALID);
    assert_string_equal(err.message, "naming pattern '{instance.zip': a '{' without its '}'");
    assert_string_equal(err.hint, "close the placeholder, or write {{ for a literal brace");

    assert_null(expand("{inst{ance}", 1, out, &err));
    assert_string_equal(err.message, "naming pattern '{inst{ance}': a '{' without its '}'");

    assert_null(expand("prod}.zip", 1, out, &err));
    assert_string_equal(err.message, "naming pattern 'prod}.zip': a '}' without its '{'");
    assert_string_equal(err.hint, "write }} for a literal brace");
}

static void test_unknown_and_bad_arguments(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    assert_null(expand("{database}.zip", 1, out, &err));
    assert_int_equal(err.status, MFB_ERR_INVALID);
    assert_string_equal(err.message, "naming pattern '{database}.zip': unknown placeholder "
                                     "'{database}'");
    assert_string_equal(err.hint, "use {instance}, {host}, {type}, {time:FMT} or {seq}; write {{ "
                                  "and }} for literal braces");

    assert_null(expand("{}", 1, out, &err));
    assert_string_equal(err.message, "naming pattern '{}': unknown placeholder '{}'");

    assert_null(expand("{instance:upper}", 1, out, &err));
    assert_string_equal(err.message, "naming pattern '{instance:upper}': only {time:FMT} and "
                                     "{seq:N} take an argument");

    assert_null(expand("{time:}", 1, out, &err));
    assert_string_equal(err.message, "naming pattern '{time:}': {time:} needs a strftime format");

    const char *bad_seq[] = {"{seq:0}", "{seq:21}", "{seq:x}", "{seq:}", "{seq:-3}"};
    for (size_t i = 0; i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++) {
        assert_null(expand(bad_seq[i], 1, out, &err));
        assert_non_null(strstr(err.message, "{seq:N} needs a width N from 1 to 20"));
    }
}

static void test_refused_results(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    /* %D is mm/dd/yy: a '/' the receiver refuses */
    assert_null(expand("{time:%D}.zip", 1, out, &err));
    assert_int_equal(err.status, MFB_ERR_INVALID);
    assert_string_equal(err.message, "naming pattern '{time:%D}.zip' gives the name "
                                     "'11/25/26.zip', which the receiver refuses: name must not "
                                     "contain '/'");
    assert_string_equal(err.hint, "names must be 1-128 bytes without '/', '\\' or control "
                                  "characters, and must not start with '.'");
    assert_null(expand(".{instance}", 1, out, &err));
    assert_non_null(strstr(err.message, "gives the name '.prod', which the receiver refuses"));
    assert_null(expand("a\tb", 1, out, &err));
    assert_non_null(strstr(err.message, "which the receiver refuses"));
    assert_null(expand("", 1, out, &err));
    assert_string_equal(err.message, "naming pattern '': the pattern is empty");

    /* 128 bytes is the limit */
    char pattern[2000];
    memset(pattern, 'x', 128);
    pattern[128] = '\0';
    assert_non_null(expand(pattern, 1, out, &err));
    assert_int_equal(strlen(out), 128);
    strcat(pattern, "{seq}");
    assert_null(expand(pattern, 1, out, &err));
    assert_string_equal(err.message,
                        "naming pattern 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' gives a name "
                        "of 129 bytes, which the receiver refuses: name must be at most 128 bytes");
    assert_string_equal(err.hint, "shorten the pattern or its time format");
    /* far over any limit: reported by length, never cut to fit */
    memset(pattern, 'y', sizeof(pattern) - 1);
    pattern[sizeof(pattern) - 1] = '\0';
    assert_null(expand(pattern, 1, out, &err));
    assert_non_null(strstr(err.message, "gives a name of over 1023 bytes"));
}

static void test_values_are_checked_too(void **state)
{
    char out[NAMING_BUF];
    struct mfb_error err = {0};
    struct tm tm = fixed_time();
    struct naming_vars v = {.instance = "a/b", .host = "h", .type = "full", .time = &tm};
    assert_int_equal(naming_expand("{instance}.zip", &v, out, sizeof(out), &err), MFB_ERR_INVALID);
    assert_non_null(strstr(err.message, "'a/b.zip', which the receiver refuses"));
    /* a missing value expands to nothing */
    v.instance = "prod";
    v.host = NULL;
    mfb_error_clear(&err);
    assert_int_equal(naming_expand("{instance}{host}.zip", &v, out, sizeof(out), &err), MFB_OK);
    assert_string_equal(out, "prod.zip");
    /* a too small output buffer is a bug, reported, never overrun */
    char tiny[4];
    assert_int_equal(naming_expand("{instance}.zip", &v, tiny, sizeof(tiny), &err),
                     MFB_ERR_INTERNAL);
}

static void test_check(void **state)
{
    char example[NAMING_BUF];
    struct mfb_error err = {0};
    assert_int_equal(
        naming_check("{instance}-{type}-{seq:3}.zip", "prod", example, sizeof(example), &err),
        MFB_OK);
    assert_string_equal(example, "prod-full-001.zip");
    assert_int_equal(naming_check("{instance}.zip", NULL, example, sizeof(example), &err), MFB_OK);
    assert_string_equal(example, "instance.zip");
    assert_int_equal(naming_check("{nope}", NULL, NULL, 0, &err), MFB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_pattern), cmocka_unit_test(test_every_placeholder),
        cmocka_unit_test(test_braces),          cmocka_unit_test(test_unknown_and_bad_arguments),
        cmocka_unit_test(test_refused_results), cmocka_unit_test(test_values_are_checked_too),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
