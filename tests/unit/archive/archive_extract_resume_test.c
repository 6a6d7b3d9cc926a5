/*
 * archive_extract_resume_test.c - archive_extract's options for a resumed
 * staging (job/restore/resume.h): on_file is called once per regular file
 * written and checked, with its stat; a file flagged in reuse is neither
 * read nor written again (same inode, same bytes, even changed ones: the
 * caller checked it) and counts in reused_*; with replace, what an
 * interrupted run left at the other files' names is replaced, without it
 * the extraction refuses to overwrite; has_owner gives every entry one
 * owner (as root).
 */
#include "unit.h"

#include <stdatomic.h>

#include "archive_fixture.h"

struct seen {
    atomic_int files;
    atomic_ullong bytes;
};

static void on_file(void *ctx, size_t index, const struct stat *sb)
{
    struct seen *s = ctx;
    (void)index;
    assert_true(S_ISREG(sb->st_mode));
    atomic_fetch_add(&s->files, 1);
    atomic_fetch_add(&s->bytes, (unsigned long long)sb->st_size);
}

static size_t index_of(struct archive_reader *r, const char *name)
{
    for (size_t i = 0; i < archive_reader_count(r); i++)
        if (strcmp(archive_reader_entry(r, i)->name, name) == 0)
            return i;
    fail_msg("no entry %s", name);
    return SIZE_MAX;
}

static void test_reuse_and_replace(void **state)
{
    struct fixture *f = *state;
    fx_write_data(f, "src/a", 70000, 1);
    fx_write_data(f, "src/b", 50000, 2);
    fx_write_data(f, "src/sub/c", 3000, 3);
    assert_int_equal(symlink("a", fx_path(f, "src/link")), 0);
    struct archive_writer_options wo = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "t.zip"), &wo, NULL, NULL), MFB_OK);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "t.zip"), &r, NULL), MFB_OK);

    /* a first run: every file reported once */
    struct seen seen = {0};
    struct archive_extract_options o = {.threads = 2, .on_file = on_file, .on_file_ctx = &seen};
    struct archive_extract_summary first = {0};
    assert_int_equal(archive_extract(r, fx_path(f, "out"), &o, &first, NULL), MFB_OK);
    assert_int_equal(atomic_load(&seen.files), 3);
    assert_int_equal(atomic_load(&seen.bytes), 70000 + 50000 + 3000);
    assert_int_equal(first.reused_entries, 0);

    /* as an interrupted run leaves it: a finished (and here changed, to see
     * it is not written again), b unfinished, sub/c and the link not begun */
    fx_write(f, "out/a", "kept", 4);
    struct stat before;
    assert_int_equal(stat(fx_path(f, "out/a"), &before), 0);
    fx_write(f, "out/b", "half", 4);
    assert_int_equal(unlink(fx_path(f, "out/sub/c")), 0);

    bool *reuse = calloc(archive_reader_count(r), sizeof(*reuse));
    assert_non_null(reuse);
    reuse[index_of(r, "a")] = true;
    struct archive_extract_options again = {.threads = 2, .reuse = reuse};
    struct mfb_error err = {0};
    assert_int_equal(archive_extract(r, fx_path(f, "out"), &again, NULL, &err), MFB_ERR_EXISTS);

    memset(&seen, 0, sizeof(seen));
    again.replace = true;
    again.on_file = on_file;
    again.on_file_ctx = &seen;
    struct archive_extract_summary sum = {0};
    assert_int_equal(archive_extract(r, fx_path(f, "out"), &again, &sum, NULL), MFB_OK);
    assert_int_equal(atomic_load(&seen.files), 2); /* b and sub/c */
    assert_int_equal(sum.entries, first.entries);
    assert_int_equal(sum.bytes, first.bytes);
    assert_int_equal(sum.reused_entries, 1);
    assert_int_equal(sum.reused_bytes, 70000);
    struct stat after;
    assert_int_equal(stat(fx_path(f, "out/a"), &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, 4);
    assert_int_equal(fx_sh("cmp -s '%s' '%s'", fx_path(f, "src/b"), fx_path(f, "out/b")), 0);
    assert_int_equal(fx_sh("cmp -s '%s' '%s'", fx_path(f, "src/sub/c"), fx_path(f, "out/sub/c")),
                     0);
    char target[16] = "";
    assert_int_equal(readlink(fx_path(f, "out/link"), target, sizeof(target) - 1), 1);
    assert_string_equal(target, "a");
    free(reuse);
    archive_reader_free(r);
}

static void test_one_owner(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* only root gives files away */
    fx_write_data(f, "src/a", 100, 1);
    assert_int_equal(symlink("a", fx_path(f, "src/link")), 0);
    struct archive_writer_options wo = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "t.zip"), &wo, NULL, NULL), MFB_OK);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "t.zip"), &r, NULL), MFB_OK);
    struct archive_extract_options o = {.has_owner = true, .uid = 4321, .gid = 4322};
    assert_int_equal(archive_extract(r, fx_path(f, "out"), &o, NULL, NULL), MFB_OK);
    struct stat sb;
    assert_int_equal(lstat(fx_path(f, "out/a"), &sb), 0);
    assert_int_equal(sb.st_uid, 4321);
    assert_int_equal(sb.st_gid, 4322);
    assert_int_equal(lstat(fx_path(f, "out/link"), &sb), 0);
    assert_int_equal(sb.st_uid, 4321);
    archive_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reuse_and_replace, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_owner, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
