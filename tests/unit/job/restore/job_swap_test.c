/*
 * job_swap_test.c - src/job/swap: sibling names, the checks made before a
 * directory is moved aside (symlink, mount point, existing sibling, a file
 * in the way), the move itself (never over an existing name), and free
 * space of a path that does not exist yet.
 */
#include "unit.h"

#include "archive_fixture.h"
#include "job/restore/swap.h"

static void test_names(void **state)
{
    char buf[64];
    assert_int_equal(swap_sibling("/var/lib/mysql", SWAP_BEFORE_SUFFIX, "20261125-193000", buf,
                                  sizeof(buf), NULL),
                     MFB_OK);
    assert_string_equal(buf, "/var/lib/mysql.mfb-before-restore-20261125-193000");
    struct mfb_error err = {0};
    assert_int_equal(
        swap_sibling("/a/very/long/path/that/does/not/fit", SWAP_FAILED_SUFFIX, "x", buf, 40, &err),
        MFB_ERR_INVALID);
    swap_stamp(0, buf, sizeof(buf));
    assert_int_equal(strlen(buf), 15); /* YYYYmmdd-HHMMSS */
    assert_int_equal(buf[8], '-');
}

static void test_check(void **state)
{
    struct fixture *f = *state;
    struct swap_state st;
    struct mfb_error err = {0};
    char data[PATH_MAX], aside[PATH_MAX];
    snprintf(data, sizeof(data), "%s", fx_path(f, "data"));
    snprintf(aside, sizeof(aside), "%s", fx_path(f, "data.aside"));

    /* absent: fine, nothing to move */
    assert_int_equal(swap_check(data, aside, "root 'datadir'", &st, NULL), MFB_OK);
    assert_false(st.exists);

    fx_write(f, "data/ibdata1", "x", 1);
    assert_int_equal(swap_check(data, aside, "root 'datadir'", &st, NULL), MFB_OK);
    assert_true(st.exists);
    assert_false(st.empty);
    assert_false(swap_dir_is_empty(data));

    fx_write(f, "data.aside/x", "x", 1);
    assert_int_equal(swap_check(data, aside, "root 'datadir'", &st, &err), MFB_ERR_EXISTS);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "root 'datadir': '%s' already exists", aside);
    assert_string_equal(err.message, want);

    mfb_error_clear(&err);
    assert_int_equal(symlink(data, fx_path(f, "link")), 0);
    assert_int_equal(swap_check(fx_path(f, "link"), aside, "root 'x'", &st, &err),
                     MFB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "is a symbolic link"));

    fx_write(f, "file", "x", 1);
    assert_int_equal(swap_check(fx_path(f, "file"), aside, "root 'x'", &st, NULL), MFB_ERR_INVALID);

    /* "/" is always a mount point; so is /proc */
    assert_true(swap_is_mount_point("/"));
    assert_true(swap_is_mount_point("/proc"));
    assert_false(swap_is_mount_point(data));
    mfb_error_clear(&err);
    assert_int_equal(swap_check("/proc", "/proc.aside", "root 'x'", &st, &err),
                     MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message,
                        "root 'x': '/proc' is a mount point, so it cannot be moved aside");
}

static void test_move(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "a/file", "1", 1);
    fx_write(f, "b/file", "2", 1);
    char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
    snprintf(a, sizeof(a), "%s", fx_path(f, "a"));
    snprintf(b, sizeof(b), "%s", fx_path(f, "b"));
    snprintf(c, sizeof(c), "%s", fx_path(f, "c"));
    struct mfb_error err = {0};
    assert_int_equal(swap_move(a, b, &err), MFB_ERR_EXISTS);
    assert_int_equal(access(fx_path(f, "a/file"), F_OK), 0); /* nothing moved */
    assert_int_equal(swap_move(a, c, NULL), MFB_OK);
    assert_int_equal(access(fx_path(f, "c/file"), F_OK), 0);
    assert_int_equal(access(a, F_OK), -1);
    assert_int_equal(swap_move(a, c, NULL), MFB_ERR_NOT_FOUND);
}

static void test_free_space(void **state)
{
    struct fixture *f = *state;
    uint64_t dev = 0, avail = 0;
    struct stat sb;
    assert_int_equal(stat(f->root, &sb), 0);
    assert_int_equal(swap_free_space(fx_path(f, "new/deeper/data"), &dev, &avail, NULL), MFB_OK);
    assert_int_equal(dev, (uint64_t)sb.st_dev);
    assert_true(avail > 0);
    fx_write(f, "plain", "x", 1);
    struct mfb_error err = {0};
    assert_int_equal(swap_free_space(fx_path(f, "plain/data"), &dev, &avail, &err),
                     MFB_ERR_INVALID);
    assert_non_null(strstr(err.message, "is not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_check, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_move, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_free_space, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
