/*
 * job_drill_remap_test.c - src/job/drill/remap.c: where a path of the
 * backed-up server lies in a drill's scratch copy (and the paths that
 * must never be followed), what the manifest says the datadir holds, and
 * a server's message on one line (see remap.h).
 */
#include "unit.h"

#include "job/drill/remap.h"

#define FILES "/scratch/files"

static json_t *roots(void)
{
    return json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "roots", "name", "datadir", "path",
                     "/var/lib/mysql", "name", "innodb_log", "path", "/logs/redo/", "name",
                     "tablespace-1", "path", "/var/lib/mysql/ext");
}

static void test_remap_paths(void **state)
{
    (void)state;
    json_t *meta = roots();
    char out[256];
    assert_true(drill_remap_path(meta, FILES, "/var/lib/mysql", out, sizeof(out)));
    assert_string_equal(out, FILES "/datadir");
    assert_true(drill_remap_path(meta, FILES, "/var/lib/mysql/db/t.ibd", out, sizeof(out)));
    assert_string_equal(out, FILES "/datadir/db/t.ibd");
    /* a root recorded with a trailing slash */
    assert_true(drill_remap_path(meta, FILES, "/logs/redo/ib_logfile0", out, sizeof(out)));
    assert_string_equal(out, FILES "/innodb_log/ib_logfile0");
    /* the deepest root wins, whatever the order */
    assert_true(drill_remap_path(meta, FILES, "/var/lib/mysql/ext/db/t.ibd", out, sizeof(out)));
    assert_string_equal(out, FILES "/tablespace-1/db/t.ibd");
    json_decref(meta);
}

static void test_remap_refusals(void **state)
{
    (void)state;
    json_t *meta = roots();
    char out[256];
    /* by whole components only */
    assert_false(drill_remap_path(meta, FILES, "/var/lib/mysqlx/t.ibd", out, sizeof(out)));
    /* outside every root, relative, climbing out */
    assert_false(drill_remap_path(meta, FILES, "/etc/passwd", out, sizeof(out)));
    assert_false(drill_remap_path(meta, FILES, "var/lib/mysql/t.ibd", out, sizeof(out)));
    assert_false(drill_remap_path(meta, FILES, "/var/lib/mysql/../../etc/x", out, sizeof(out)));
    assert_false(drill_remap_path(meta, FILES, "/var/lib/mysql/db/..", out, sizeof(out)));
    /* ".." inside a name is a name */
    assert_true(drill_remap_path(meta, FILES, "/var/lib/mysql/db/a..b", out, sizeof(out)));
    /* too small */
    assert_false(drill_remap_path(meta, FILES, "/var/lib/mysql/db/t.ibd", out, 10));
    /* hostile roots are skipped: "/" holds everything, names with "/" or ".." */
    json_t *bad = json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "roots", "name", "all",
                            "path", "/", "name", "..", "path", "/a", "name", "x/y", "path", "/b");
    assert_false(drill_remap_path(bad, FILES, "/etc/passwd", out, sizeof(out)));
    assert_false(drill_remap_path(bad, FILES, "/a/t", out, sizeof(out)));
    assert_false(drill_remap_path(bad, FILES, "/b/t", out, sizeof(out)));
    assert_false(drill_remap_path(NULL, FILES, "/var/lib/mysql", out, sizeof(out)));
    json_decref(bad);
    json_decref(meta);
}

static void test_manifest_counts(void **state)
{
    (void)state;
    struct manifest_file files[] = {
        {.path = "datadir/ibdata1", .type = "file"},
        {.path = "datadir/mysql/", .type = "dir"},
        {.path = "datadir/mysql/db.opt", .type = "file"},
        {.path = "datadir/mysql/user.frm", .type = "file"},
        {.path = "datadir/mysql/user.MAD", .type = "file"},
        {.path = "datadir/shop/db.opt", .type = "file"},
        {.path = "datadir/shop/items.frm", .type = "file"},
        {.path = "datadir/shop/items.ibd", .type = "file"},
        {.path = "datadir/shop/v.frm", .type = "file"},           /* a view */
        {.path = "datadir/shop/#sql-1a2b_3.frm", .type = "file"}, /* temporary */
        {.path = "datadir/parts/db.opt", .type = "file"},
        {.path = "datadir/parts/t.frm", .type = "file"},
        {.path = "datadir/parts/t#P#p0.ibd", .type = "file"},
        {.path = "datadir/parts/t#P#p1.ibd", .type = "file"},
        {.path = "datadir/performance_schema/db.opt", .type = "file"},
        {.path = "datadir/#innodb_temp/temp_1.ibt", .type = "file"},
        {.path = "datadir/lost+found/x", .type = "file"},
        {.path = "datadir/empty/", .type = "dir"},     /* a database without db.opt */
        {.path = "datadir/my-db/", .type = "dir"},     /* "#mysql50#my-db" to the server */
        {.path = "datadir/my@002ddb/", .type = "dir"}, /* "my-db", the server's encoding */
        {.path = "tablespace-1/shop/far.ibd", .type = "file"},
    };
    struct manifest m = {.files = files, .count = sizeof(files) / sizeof(files[0])};
    uint64_t dbs = 0, tables = 0;
    assert_int_equal(drill_manifest_counts(&m, &dbs, &tables, NULL), MFB_OK);
    assert_int_equal(dbs, 5);    /* mysql, shop, parts, empty, my@002ddb */
    assert_int_equal(tables, 4); /* user, items, v, t */
}

static void test_one_line(void **state)
{
    (void)state;
    char out[64];
    drill_one_line("Size of datafile is:    805000         Should be: 1610000\n", out, sizeof(out));
    assert_string_equal(out, "Size of datafile is: 805000 Should be: 1610000");
    drill_one_line("  two\nlines\r\n", out, sizeof(out));
    assert_string_equal(out, "two lines");
    drill_one_line(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    drill_one_line("abcdefgh", out, 4);
    assert_string_equal(out, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remap_paths),
        cmocka_unit_test(test_remap_refusals),
        cmocka_unit_test(test_manifest_counts),
        cmocka_unit_test(test_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
