/*
 * archive_extract_prefix_test.c - archive_extract with options.prefix: only
 * the entries under one top-level directory, written without it (how a
 * restore puts each root of a backup in its own place). A name that merely
 * starts with the prefix ("datadir-2/") is not under it.
 */
#include "unit.h"

#include "archive_fixture.h"

static void test_prefix(void **state)
{
    struct fixture *f = *state;
    struct rawzip_entry e[] = {
        {"datadir/", "", S_IFDIR | 0750},
        {"datadir/ibdata1", "ibdata", S_IFREG | 0640},
        {"datadir/db/", "", S_IFDIR | 0700},
        {"datadir/db/t.ibd", "table", S_IFREG | 0600},
        {"binlog/log.000001", "binlog", S_IFREG | 0640},
        {"datadir-2/other", "other", S_IFREG | 0640},
    };
    rawzip_write(fx_path(f, "b.zip"), e, 6);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "b.zip"), &r, NULL), MFB_OK);
    struct archive_extract_options o = {.prefix = "datadir"};
    struct archive_extract_summary sum = {0};
    assert_int_equal(archive_extract(r, fx_path(f, "restored"), &o, &sum, NULL), MFB_OK);
    assert_int_equal(sum.entries, 4); /* the root itself, ibdata1, db/, db/t.ibd */
    assert_int_equal(sum.bytes, 11);
    size_t len = 0;
    unsigned char *data = fx_read(fx_path(f, "restored/db/t.ibd"), &len);
    assert_memory_equal(data, "table", 5);
    free(data);
    struct stat sb;
    assert_int_equal(stat(fx_path(f, "restored/db"), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(stat(fx_path(f, "restored/ibdata1"), &sb), 0);
    assert_int_equal(access(fx_path(f, "restored/log.000001"), F_OK), -1);
    assert_int_equal(access(fx_path(f, "restored/binlog"), F_OK), -1);
    assert_int_equal(access(fx_path(f, "restored/other"), F_OK), -1);
    assert_int_equal(access(fx_path(f, "restored/datadir"), F_OK), -1);

    o.prefix = "binlog";
    assert_int_equal(archive_extract(r, fx_path(f, "binlogs"), &o, &sum, NULL), MFB_OK);
    assert_int_equal(sum.entries, 1);
    assert_int_equal(access(fx_path(f, "binlogs/log.000001"), F_OK), 0);

    /* an empty prefix is everything */
    o.prefix = "";
    assert_int_equal(archive_extract(r, fx_path(f, "all"), &o, &sum, NULL), MFB_OK);
    assert_int_equal(access(fx_path(f, "all/datadir-2/other"), F_OK), 0);
    archive_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prefix, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
