/*
 * archive_extract_test.c - tests of src/archive/extract: hostile archives
 * ('..', absolute names, paths through a symlink stored in the archive or
 * already in the target) are refused and write nothing outside the target;
 * existing files are never overwritten; modes, times and owners come back.
 */
#include "unit.h"

#include "archive_fixture.h"

/* Extracting zip into f/out must fail with status and a message starting
 * with prefix, and leave f/outside untouched and f/out without "ok.txt". */
static void expect_refused(struct fixture *f, const char *zip, mfb_status status,
                           const char *prefix)
{
    struct mfb_error err = {0};
    assert_int_equal(fx_extract(zip, fx_path(f, "out"), &err), status);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("unexpected message: %s", err.message);
    assert_int_equal(fx_sh("find '%s' -newer '%s' | grep -q .", fx_path(f, "outside"),
                           fx_path(f, "outside/marker")),
                     1);
    assert_int_equal(access(fx_path(f, "outside/evil.txt"), F_OK), -1);
    assert_int_equal(access(fx_path(f, "evil.txt"), F_OK), -1);
}

static void make_outside(struct fixture *f)
{
    fx_write(f, "outside/marker", "m", 1);
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    utimensat(AT_FDCWD, fx_path(f, "outside"), ts, 0);
    utimensat(AT_FDCWD, fx_path(f, "outside/marker"), ts, 0);
    /* find -newer compares with the marker: everything now is newer, so touch it last */
    utimensat(AT_FDCWD, fx_path(f, "outside/marker"), NULL, 0);
    utimensat(AT_FDCWD, fx_path(f, "outside"), ts, 0);
}

static void test_refuses_dotdot(void **state)
{
    struct fixture *f = *state;
    make_outside(f);
    struct rawzip_entry e[] = {
        {"ok.txt", "fine", S_IFREG | 0644},
        {"sub/../../evil.txt", "gotcha", S_IFREG | 0644},
    };
    rawzip_write(fx_path(f, "h.zip"), e, 2);
    expect_refused(f, fx_path(f, "h.zip"), MFB_ERR_INVALID,
                   "entry 'sub/../../evil.txt': unsafe path (absolute or with '..'); refusing "
                   "to extract");
    assert_int_equal(access(fx_path(f, "out/ok.txt"), F_OK), -1); /* nothing was written */
}

static void test_refuses_absolute(void **state)
{
    struct fixture *f = *state;
    make_outside(f);
    char abs[PATH_MAX];
    snprintf(abs, sizeof(abs), "%s", fx_path(f, "outside/evil.txt"));
    struct rawzip_entry e[] = {{"ok.txt", "fine", S_IFREG | 0644}, {abs, "x", S_IFREG | 0644}};
    rawzip_write(fx_path(f, "h.zip"), e, 2);
    expect_refused(f, fx_path(f, "h.zip"), MFB_ERR_INVALID, "entry '/");
}

static void test_refuses_through_stored_symlink(void **state)
{
    struct fixture *f = *state;
    make_outside(f);
    struct rawzip_entry e[] = {
        {"ok.txt", "fine", S_IFREG | 0644},
        {"link", fx_path(f, "outside"), S_IFLNK | 0777},
        {"link/evil.txt", "gotcha", S_IFREG | 0644},
    };
    rawzip_write(fx_path(f, "h.zip"), e, 3);
    expect_refused(f, fx_path(f, "h.zip"), MFB_ERR_INVALID,
                   "entry 'link/evil.txt': its path goes through the symlink 'link' stored in "
                   "the archive; refusing to extract");
    /* a relative symlink that climbs out, then a directory entry through it */
    struct rawzip_entry e2[] = {
        {"a/up", "../..", S_IFLNK | 0777},
        {"a/./up/outside/evil.txt", "gotcha", S_IFREG | 0644},
    };
    rawzip_write(fx_path(f, "h2.zip"), e2, 2);
    expect_refused(f, fx_path(f, "h2.zip"), MFB_ERR_INVALID, "entry 'a/./up/outside/evil.txt'");
}

static void test_refuses_through_existing_symlink(void **state)
{
    struct fixture *f = *state;
    make_outside(f);
    assert_int_equal(fs_mkdir_p(fx_path(f, "out"), 0755, NULL), MFB_OK);
    assert_int_equal(symlink(fx_path(f, "outside"), fx_path(f, "out/sub")), 0);
    struct rawzip_entry e[] = {{"sub/evil.txt", "gotcha", S_IFREG | 0644}};
    rawzip_write(fx_path(f, "h.zip"), e, 1);
    expect_refused(f, fx_path(f, "h.zip"), MFB_ERR_INVALID,
                   "entry 'sub/evil.txt': refusing to write through 'sub', which is a symlink "
                   "or not a directory");
    /* the final component: a file entry never follows an existing symlink either */
    assert_int_equal(symlink(fx_path(f, "outside/evil.txt"), fx_path(f, "out/f.txt")), 0);
    struct rawzip_entry e2[] = {{"f.txt", "gotcha", S_IFREG | 0644}};
    rawzip_write(fx_path(f, "h2.zip"), e2, 1);
    expect_refused(f, fx_path(f, "h2.zip"), MFB_ERR_EXISTS, "entry 'f.txt': '");
}

static void test_symlinks_restored_not_followed(void **state)
{
    struct fixture *f = *state;
    make_outside(f);
    struct rawzip_entry e[] = {
        {"abs-link", fx_path(f, "outside/marker"), S_IFLNK | 0777},
        {"rel-link", "../outside", S_IFLNK | 0777},
        {"dir/", "", S_IFDIR | 0750},
    };
    rawzip_write(fx_path(f, "s.zip"), e, 3);
    struct mfb_error err = {0};
    assert_int_equal(fx_extract(fx_path(f, "s.zip"), fx_path(f, "out"), &err), MFB_OK);
    char target[PATH_MAX] = {0};
    assert_true(readlink(fx_path(f, "out/rel-link"), target, sizeof(target)) > 0);
    assert_string_equal(target, "../outside");
    struct stat st;
    assert_int_equal(stat(fx_path(f, "out/dir"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
}

static void test_no_overwrite(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/a.txt", "archived", 8);
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    fx_write(f, "out/a.txt", "precious", 8);
    struct mfb_error err = {0};
    assert_int_equal(fx_extract(fx_path(f, "a.zip"), fx_path(f, "out"), &err), MFB_ERR_EXISTS);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "entry 'a.txt': '%s/a.txt' already exists", fx_path(f, "out"));
    assert_string_equal(err.message, want);
    size_t len;
    unsigned char *d = fx_read(fx_path(f, "out/a.txt"), &len);
    assert_memory_equal(d, "precious", 8);
    free(d);
}

static void test_metadata_restored(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/secret.key", "k", 1);
    fx_write(f, "src/bin/tool", "#!/bin/sh\n", 10);
    fx_write(f, "src/ro/inside.txt", "i", 1);
    assert_int_equal(symlink("secret.key", fx_path(f, "src/link")), 0);
    chmod(fx_path(f, "src/secret.key"), 0600);
    chmod(fx_path(f, "src/bin/tool"), 04755);
    struct timespec old[2] = {{1234567890, 0}, {1234567890, 0}};
    utimensat(AT_FDCWD, fx_path(f, "src/secret.key"), old, 0);
    utimensat(AT_FDCWD, fx_path(f, "src/link"), old, AT_SYMLINK_NOFOLLOW);
    utimensat(AT_FDCWD, fx_path(f, "src/ro/inside.txt"), old, 0);
    chmod(fx_path(f, "src/ro"), 0555); /* read-only directory: filled before its mode is set */
    utimensat(AT_FDCWD, fx_path(f, "src/ro"), old, 0);
    bool root = geteuid() == 0;
    if (root)
        assert_int_equal(lchown(fx_path(f, "src/secret.key"), 1234, 5678), 0);
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(fx_extract(fx_path(f, "a.zip"), fx_path(f, "out"), &err), MFB_OK);
    struct stat st;
    assert_int_equal(stat(fx_path(f, "out/secret.key"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    if (root) {
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 5678);
    }
    assert_int_equal(stat(fx_path(f, "out/bin/tool"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(lstat(fx_path(f, "out/link"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    assert_int_equal(stat(fx_path(f, "out/ro"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    assert_int_equal(st.st_mtim.tv_sec, 1234567890);
    assert_int_equal(access(fx_path(f, "out/mfb-manifest.json"), F_OK), -1);
    chmod(fx_path(f, "src/ro"), 0755);
    chmod(fx_path(f, "out/ro"), 0755);
}

static void test_name_safety(void **state)
{
    assert_true(archive_name_safe("a/b/c", 5));
    assert_true(archive_name_safe("a/..b/c", 7));
    assert_true(archive_name_safe("./a", 3));
    assert_false(archive_name_safe("..", 2));
    assert_false(archive_name_safe("a/../b", 6));
    assert_false(archive_name_safe("a/..", 4));
    assert_false(archive_name_safe("/etc/passwd", 11));
    assert_false(archive_name_safe("", 0));
    assert_false(archive_name_safe("a\0b", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refuses_dotdot, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_absolute, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_through_stored_symlink, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_through_existing_symlink, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_restored_not_followed, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_overwrite, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_metadata_restored, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_name_safety),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
