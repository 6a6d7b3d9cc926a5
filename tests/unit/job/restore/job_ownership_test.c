/*
 * job_ownership_test.c - src/job/ownership: who gets the restored files (the
 * server's user unless root, else the moved-aside directory's owner unless
 * root, else the mysql user, else a root-owned moved-aside directory's
 * owner, else as archived),
 * and that giving a tree away changes symbolic links themselves, never
 * what they point to.
 */
#include "unit.h"

#include "archive_fixture.h"
#include "job/restore/ownership.h"

static void test_decide(void **state)
{
    struct fixture *f = *state;
    struct ownership o;
    ownership_decide("root", NULL, NULL, &o);
    assert_true(o.set);
    assert_int_equal(o.uid, 0);
    assert_string_equal(o.why, "the mysql user");

    fx_write(f, "aside/x", "1", 1);
    struct stat sb;
    assert_int_equal(stat(fx_path(f, "aside"), &sb), 0);
    ownership_decide("mfb-no-such-user", NULL, fx_path(f, "aside"), &o);
    assert_true(o.set);
    assert_int_equal(o.uid, sb.st_uid);
    assert_int_equal(o.gid, sb.st_gid);
    assert_string_equal(o.why, "the owner of the moved-aside directory");

    ownership_decide("mfb-no-such-user", NULL, NULL, &o);
    assert_false(o.set);
    ownership_decide(NULL, NULL, fx_path(f, "missing"), &o);
    assert_false(o.set);

    /* the server's own user wins, unless it is root */
    struct ownership server = {.set = true, .uid = 4321, .gid = 8765};
    ownership_decide("root", &server, fx_path(f, "aside"), &o);
    assert_true(o.set);
    assert_int_equal(o.uid, 4321);
    assert_int_equal(o.gid, 8765);
    assert_string_equal(o.why, "the user the server ran as");
    server.uid = 0;
    ownership_decide("root", &server, NULL, &o);
    assert_string_equal(o.why, "the mysql user");

    /* a non-root moved-aside directory wins over the mysql user */
    if (geteuid() == 0) {
        assert_int_equal(chown(fx_path(f, "aside"), 4321, 8765), 0);
        ownership_decide("root", NULL, fx_path(f, "aside"), &o);
        assert_int_equal(o.uid, 4321);
        assert_string_equal(o.why, "the owner of the moved-aside directory");
    }
}

static void test_of_process(void **state)
{
    (void)state;
    struct ownership o;
    ownership_of_process(getpid(), &o);
    assert_true(o.set);
    assert_int_equal(o.uid, getuid());
    assert_int_equal(o.gid, getgid());
    ownership_of_process(0, &o);
    assert_false(o.set);
}

static void test_apply(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "tree/db/t.ibd", "data", 4);
    fx_write(f, "outside", "keep", 4);
    assert_int_equal(symlink(fx_path(f, "outside"), fx_path(f, "tree/db/link")), 0);
    struct stat before;
    assert_int_equal(stat(fx_path(f, "outside"), &before), 0);
    struct ownership o = {.set = true, .uid = 65534, .gid = 65534, .why = "test"};
    assert_int_equal(ownership_apply(fx_path(f, "tree"), &o, 0750, NULL), MFB_OK);
    struct stat sb;
    assert_int_equal(stat(fx_path(f, "tree"), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0750);
    if (geteuid() != 0)
        return; /* only root may give files away */
    const char *paths[] = {"tree", "tree/db", "tree/db/t.ibd"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(lstat(fx_path(f, paths[i]), &sb), 0);
        assert_int_equal(sb.st_uid, 65534);
        assert_int_equal(sb.st_gid, 65534);
    }
    assert_int_equal(lstat(fx_path(f, "tree/db/link"), &sb), 0);
    assert_int_equal(sb.st_uid, 65534);
    assert_int_equal(stat(fx_path(f, "outside"), &sb), 0);
    assert_int_equal(sb.st_uid, before.st_uid); /* the link's target is not touched */

    /* not set: only the mode */
    struct ownership keep = {.set = false};
    assert_int_equal(ownership_apply(fx_path(f, "tree"), &keep, 0700, NULL), MFB_OK);
    assert_int_equal(stat(fx_path(f, "tree"), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(sb.st_uid, 65534);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decide, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_apply, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_of_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
