/*
 * server_layout_test.c - directory pattern expansion and the retention
 * selection rules (pure functions of src/server).
 */
#include "unit.h"

#include <string.h>

#include "server/layout.h"
#include "server/retention.h"
#include "server/storage.h"

static void test_layout_default(void **state)
{
    char out[256];
    struct layout_vars v = {"db1", "prod", NULL, 1795635000}; /* 2026-11-25 */
    assert_int_equal(layout_expand(LAYOUT_DEFAULT, &v, out, sizeof(out), NULL), MFB_OK);
    assert_string_equal(out, "db1/prod/2026/11");
    v.dir = "nightly/full";
    assert_int_equal(layout_expand("{client}/{dir}/{instance}", &v, out, sizeof(out), NULL),
                     MFB_OK);
    assert_string_equal(out, "db1/nightly/full/prod");
    v.dir = ""; /* an empty {dir} leaves no empty component */
    assert_int_equal(layout_expand("{client}/{dir}/{instance}/", &v, out, sizeof(out), NULL),
                     MFB_OK);
    assert_string_equal(out, "db1/prod");
    assert_int_equal(layout_expand("{client}-{time:%Y%m%d}", &v, out, sizeof(out), NULL), MFB_OK);
    assert_string_equal(out, "db1-20261125");
    assert_int_equal(layout_expand("", &v, out, sizeof(out), NULL), MFB_OK);
    assert_string_equal(out, "");
}

static void test_layout_rejects(void **state)
{
    struct mfb_error err = {0};
    assert_int_equal(layout_check("{client}/{nope}", &err), MFB_ERR_INVALID);
    assert_string_equal(err.message,
                        "layout '{client}/{nope}' has an unknown placeholder '{nope}'");
    assert_int_equal(layout_check("/abs/{client}", NULL), MFB_ERR_INVALID);
    assert_int_equal(layout_check("{client", NULL), MFB_ERR_INVALID);
    assert_int_equal(layout_check("a}b", NULL), MFB_ERR_INVALID);
    char out[256];
    struct layout_vars v = {"db1", "prod", NULL, 0};
    assert_int_equal(layout_expand("{client}/../x", &v, out, sizeof(out), NULL), MFB_ERR_INVALID);
    assert_int_equal(layout_expand("{client}/./x", &v, out, sizeof(out), NULL), MFB_ERR_INVALID);
    assert_int_equal(layout_check(LAYOUT_DEFAULT, NULL), MFB_OK);
}

static void test_candidate_names(void **state)
{
    char buf[64];
    storage_candidate_name("prod.zip", 0, buf, sizeof(buf));
    assert_string_equal(buf, "prod.zip");
    storage_candidate_name("prod.zip", 2, buf, sizeof(buf));
    assert_string_equal(buf, "prod-2.zip");
    storage_candidate_name("a.tar.gz", 1, buf, sizeof(buf));
    assert_string_equal(buf, "a.tar-1.gz");
    storage_candidate_name("noext", 1, buf, sizeof(buf));
    assert_string_equal(buf, "noext-1");
}

#define DAY 86400

static void test_retention_keep_last(void **state)
{
    struct retention_item items[5];
    for (int i = 0; i < 5; i++)
        items[i] = (struct retention_item){.created = 100 * DAY - i * DAY, .size = 10};
    struct retention_limits l = {.keep_last = 2, .max_age_s = -1, .max_bytes = -1};
    assert_int_equal(retention_select(items, 5, &l, 100 * DAY), 3);
    assert_null(items[0].reason);
    assert_null(items[1].reason);
    assert_string_equal(items[2].reason, "keep-last");
    assert_string_equal(items[4].reason, "keep-last");
}

static void test_retention_newest_never_deleted(void **state)
{
    /* Every limit says "delete everything": the newest still stays. */
    struct retention_item items[3] = {{.created = 0, .size = 1000},
                                      {.created = -DAY, .size = 1000},
                                      {.created = -2 * DAY, .size = 1000}};
    struct retention_limits l = {.keep_last = 1, .max_age_s = 0, .max_bytes = 0};
    assert_int_equal(retention_select(items, 3, &l, 365 * DAY), 2);
    assert_null(items[0].reason);
    struct retention_item one = {.created = 0, .size = 1 << 30};
    assert_int_equal(retention_select(&one, 1, &l, 365 * DAY), 0);
    assert_null(one.reason);
    assert_int_equal(retention_select(NULL, 0, &l, 0), 0);
}

static void test_retention_age_and_bytes(void **state)
{
    struct retention_item items[4] = {{.created = 10 * DAY, .size = 40},
                                      {.created = 9 * DAY, .size = 40},
                                      {.created = 5 * DAY, .size = 40},
                                      {.created = 1 * DAY, .size = 40}};
    struct retention_limits age = {.keep_last = -1, .max_age_s = 3 * DAY, .max_bytes = -1};
    assert_int_equal(retention_select(items, 4, &age, 10 * DAY), 2);
    assert_null(items[1].reason);
    assert_string_equal(items[2].reason, "max-age");
    assert_string_equal(items[3].reason, "max-age");
    struct retention_limits bytes = {.keep_last = -1, .max_age_s = -1, .max_bytes = 100};
    assert_int_equal(retention_select(items, 4, &bytes, 10 * DAY), 2);
    assert_null(items[0].reason);
    assert_null(items[1].reason); /* 80 <= 100 */
    assert_string_equal(items[2].reason, "max-bytes");
    assert_string_equal(items[3].reason, "max-bytes");
}

static void test_retention_merge(void **state)
{
    struct srv_policy dflt = {.keep_last = 7, .max_age_s = 30 * DAY, .max_bytes = -1};
    struct srv_policy own = {.keep_last = 3, .max_age_s = -1, .max_bytes = 1000};
    struct retention_limits l;
    retention_merge(&own, &dflt, &l);
    assert_int_equal(l.keep_last, 3);
    assert_int_equal(l.max_age_s, 30 * DAY);
    assert_int_equal(l.max_bytes, 1000);
    retention_merge(NULL, NULL, &l);
    assert_false(retention_limits_any(&l));
    retention_merge(NULL, &dflt, &l);
    assert_int_equal(l.keep_last, 7);
    assert_true(retention_limits_any(&l));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_default),
        cmocka_unit_test(test_layout_rejects),
        cmocka_unit_test(test_candidate_names),
        cmocka_unit_test(test_retention_keep_last),
        cmocka_unit_test(test_retention_newest_never_deleted),
        cmocka_unit_test(test_retention_age_and_bytes),
        cmocka_unit_test(test_retention_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
