/*
 * metrics_writer_test.c - the Prometheus text writer (metrics/metrics.h):
 * escaping of label values and help text, a family's header only with its
 * first sample, the spelling of values, and name checks.
 */
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

static char *page_of(struct metrics_writer *w)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(metrics_take(w, &out, &len, NULL), MFB_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

static void test_label_values_and_help_are_escaped(void **state)
{
    (void)state;
    struct metrics_writer w;
    metrics_init(&w);
    metrics_family(&w, "mfb_x", METRICS_GAUGE, "a \\ back\nslash");
    const char *labels[] = {"instance", "a\"b\\c\nd", "status", "ok", NULL};
    metrics_sample(&w, labels, 1);
    char *out = page_of(&w);
    assert_string_equal(out, "# HELP mfb_x a \\\\ back\\nslash\n"
                             "# TYPE mfb_x gauge\n"
                             "mfb_x{instance=\"a\\\"b\\\\c\\nd\",status=\"ok\"} 1\n");
    free(out);
}

static void test_family_without_samples_is_left_out(void **state)
{
    (void)state;
    struct metrics_writer w;
    metrics_init(&w);
    metrics_family(&w, "mfb_empty", METRICS_GAUGE, "nothing");
    metrics_family(&w, "mfb_things_total", METRICS_COUNTER, "things");
    metrics_sample(&w, NULL, 3);
    metrics_sample1(&w, "kind", "b", 4);
    char *out = page_of(&w);
    assert_string_equal(out, "# HELP mfb_things_total things\n"
                             "# TYPE mfb_things_total counter\n"
                             "mfb_things_total 3\n"
                             "mfb_things_total{kind=\"b\"} 4\n");
    free(out);
}

static void test_values(void **state)
{
    (void)state;
    struct metrics_writer w;
    metrics_init(&w);
    metrics_family(&w, "v", METRICS_GAUGE, "");
    metrics_sample1(&w, "n", "int", 1796000000);
    metrics_sample1(&w, "n", "frac", 1796000000.25);
    metrics_sample1(&w, "n", "neg", -2);
    metrics_sample1(&w, "n", "nan", NAN);
    metrics_sample1(&w, "n", "inf", INFINITY);
    metrics_sample1(&w, "n", "big", 1e300);
    char *out = page_of(&w);
    assert_non_null(strstr(out, "v{n=\"int\"} 1796000000\n"));
    assert_non_null(strstr(out, "v{n=\"frac\"} 1796000000.25\n"));
    assert_non_null(strstr(out, "v{n=\"neg\"} -2\n"));
    assert_non_null(strstr(out, "v{n=\"nan\"} NaN\n"));
    assert_non_null(strstr(out, "v{n=\"inf\"} +Inf\n"));
    assert_non_null(strstr(out, "v{n=\"big\"} 1.0000000000000001e+300\n"));
    free(out);
}

static void test_names(void **state)
{
    (void)state;
    assert_true(metrics_name_valid("mfb_backup_last_status"));
    assert_true(metrics_name_valid("a:b_c9"));
    assert_false(metrics_name_valid("9a"));
    assert_false(metrics_name_valid("a-b"));
    assert_false(metrics_name_valid(""));
    assert_true(metrics_label_name_valid("instance"));
    assert_false(metrics_label_name_valid("__name__"));
    assert_false(metrics_label_name_valid("a:b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_values_and_help_are_escaped),
        cmocka_unit_test(test_family_without_samples_is_left_out),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
