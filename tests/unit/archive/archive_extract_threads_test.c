/*
 * archive_extract_threads_test.c - archive_extract with options.threads:
 * several workers write the files of one archive at once (how a restore
 * uses the cores it has). The tree is the same as with one thread (data,
 * modes, symlinks, directories' modes), the summary counts the same, and
 * when entries fail, the one first in the archive is the error reported.
 */
#include "unit.h"

#include "archive_fixture.h"

#define DIRS 3
#define FILES 40

static void make_tree(struct fixture *f)
{
    char rel[64];
    for (int d = 0; d < DIRS; d++) {
        snprintf(rel, sizeof(rel), "src/d%d", d);
        assert_int_equal(mkdir(fx_path(f, rel), 0750), 0);
        for (int i = 0; i < FILES; i++) {
            snprintf(rel, sizeof(rel), "src/d%d/f%03d", d, i);
            fx_write_data(f, rel, (size_t)(i * 997 + d * 31) % 70000, (unsigned)(d * FILES + i));
            assert_int_equal(chmod(fx_path(f, rel), i % 2 ? 0600 : 0640), 0);
        }
    }
    assert_int_equal(symlink("d0/f001", fx_path(f, "src/link")), 0);
    assert_int_equal(chmod(fx_path(f, "src/d2"), 0700), 0);
}

static void extract(struct fixture *f, const char *dir, unsigned threads, mfb_status want,
                    struct archive_extract_summary *sum, struct mfb_error *err)
{
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "t.zip"), &r, NULL), MFB_OK);
    struct archive_extract_options o = {.threads = threads};
    assert_int_equal(archive_extract(r, fx_path(f, dir), &o, sum, err), want);
    archive_reader_free(r);
}

static void test_same_tree(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(fx_path(f, "src"), 0755), 0);
    make_tree(f);
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "t.zip"), &o, NULL, NULL), MFB_OK);
    struct archive_extract_summary one = {0}, four = {0};
    extract(f, "one", 1, MFB_OK, &one, NULL);
    extract(f, "four", 4, MFB_OK, &four, NULL);
    assert_int_equal(one.entries, four.entries);
    assert_int_equal(one.bytes, four.bytes);
    assert_true(four.entries >= DIRS * FILES + DIRS + 1);
    assert_int_equal(
        fx_sh("diff -r --no-dereference '%s' '%s'", fx_path(f, "src"), fx_path(f, "four")), 0);
    struct stat a, b;
    assert_int_equal(stat(fx_path(f, "four/d2"), &a), 0);
    assert_int_equal(a.st_mode & 07777, 0700);
    assert_int_equal(stat(fx_path(f, "four/d1/f003"), &a), 0);
    assert_int_equal(stat(fx_path(f, "one/d1/f003"), &b), 0);
    assert_int_equal(a.st_mode, b.st_mode);
    assert_int_equal(a.st_mtime, b.st_mtime);
    char target[64] = "";
    assert_true(readlink(fx_path(f, "four/link"), target, sizeof(target) - 1) > 0);
    assert_string_equal(target, "d0/f001");
}

static void test_first_failure_reported(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(fx_path(f, "src"), 0755), 0);
    make_tree(f);
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "t.zip"), &o, NULL, NULL), MFB_OK);
    /* two files already there: both entries fail, the earlier one is named */
    assert_int_equal(fx_sh("mkdir -p '%s/d0' '%s/d2' && touch '%s/d2/f030' '%s/d0/f005'",
                           fx_path(f, "out"), fx_path(f, "out"), fx_path(f, "out"),
                           fx_path(f, "out")),
                     0);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "t.zip"), &r, NULL), MFB_OK);
    size_t first = SIZE_MAX, second = SIZE_MAX;
    for (size_t i = 0; i < archive_reader_count(r); i++) {
        const char *name = archive_reader_entry(r, i)->name;
        if (strcmp(name, "d0/f005") == 0)
            first = i;
        if (strcmp(name, "d2/f030") == 0)
            second = i;
    }
    assert_true(first != SIZE_MAX && second != SIZE_MAX);
    const char *want = first < second ? "d0/f005" : "d2/f030";
    archive_reader_free(r);
    for (int round = 0; round < 5; round++) {
        struct mfb_error err = {0};
        extract(f, "out", 3, MFB_ERR_EXISTS, NULL, &err);
        char expect[128];
        snprintf(expect, sizeof(expect), "entry '%s': ", want);
        assert_non_null(strstr(err.message, expect));
        assert_int_equal(
            fx_sh("cd '%s' && find . -type f ! -name f005 ! -name f030 -delete", fx_path(f, "out")),
            0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_tree, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_first_failure_reported, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
