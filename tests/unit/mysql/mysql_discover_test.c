/*
 * mysql_discover_test.c - the parts of discovery that need no server: the
 * datadir cross-check (src/mysql/scan.c) on a fake datadir with .isl files
 * and symbolic links, and which INFORMATION_SCHEMA query suits which
 * server version (src/mysql/discover.c). Discovery against a real MariaDB
 * is in mysql_server_test.c.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "mysql_unit.h"

#include "common/fsutil.h"
#include "mysql/command.h"
#include "mysql/discover.h"
#include "mysql/scan.h"
#include "mysql/sql.h"

struct fake {
    char top[PATH_MAX]; /* canonical */
};

static int fake_setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    if (!unit_scratch_dir("mysql_discover", f->top, sizeof(f->top)))
        return -1;
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    struct fake *f = *state;
    unit_rmtree(f->top);
    free(f);
    return 0;
}

static void at(const struct fake *f, const char *rel, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", f->top, rel);
    assert_true(n > 0 && (size_t)n < len);
}

static void make_dir(const struct fake *f, const char *rel)
{
    char p[PATH_MAX];
    at(f, rel, p, sizeof(p));
    assert_int_equal(fs_mkdir_p(p, 0755, NULL), MFB_OK);
}

static void make_file(const struct fake *f, const char *rel, const char *text)
{
    char p[PATH_MAX];
    at(f, rel, p, sizeof(p));
    assert_int_equal(fs_write_file_atomic(p, text, strlen(text), 0644, false, NULL), MFB_OK);
}

/* A symlink at rel pointing to target (relative to the fake top, or
 * absolute when it starts with '/'). */
static void make_link(const struct fake *f, const char *rel, const char *target)
{
    char p[PATH_MAX], t[PATH_MAX];
    at(f, rel, p, sizeof(p));
    if (target[0] == '/')
        snprintf(t, sizeof(t), "%s", target);
    else
        at(f, target, t, sizeof(t));
    assert_int_equal(symlink(t, p), 0);
}

/* The why of the location at path (relative to the fake top), or NULL. */
static const char *why_at(const struct fake *f, const struct mysql_roots *r, const char *rel)
{
    char p[PATH_MAX];
    at(f, rel, p, sizeof(p));
    for (size_t i = 0; i < r->location_count; i++)
        if (strcmp(r->locations[i].path, p) == 0)
            return r->locations[i].why;
    return NULL;
}

static void test_scan(void **state)
{
    struct fake *f = *state;
    char isl[PATH_MAX + 32], datadir[PATH_MAX];
    make_dir(f, "data/shop/sub");
    make_file(f, "data/ibdata1", "");
    /* InnoDB DATA DIRECTORY: an .isl file names the remote .ibd. */
    snprintf(isl, sizeof(isl), "%s/ext/shop/t.ibd\n", f->top);
    make_file(f, "data/shop/t.isl", isl);
    /* MyISAM DATA DIRECTORY: a symlink to the remote file. */
    make_dir(f, "myisam");
    make_file(f, "myisam/m.MYD", "");
    make_link(f, "data/shop/m.MYD", "myisam/m.MYD");
    /* Links that add nothing: inside the datadir, and dangling. */
    make_link(f, "data/shop/inside.MYD", "data/ibdata1");
    make_link(f, "data/shop/dangling.MYD", "nowhere/x.MYD");
    /* Too deep to be a table's: not read. */
    make_file(f, "data/shop/sub/deep.isl", "/deep/x.ibd\n");
    /* A database directory moved elsewhere, with its own .isl. */
    make_dir(f, "moveddb");
    snprintf(isl, sizeof(isl), "%s/ext2/moved/u.ibd\n", f->top);
    make_file(f, "moveddb/u.isl", isl);
    make_link(f, "data/moved", "moveddb");
    /* A system tablespace file linked to another disk. */
    make_dir(f, "sysdisk");
    make_file(f, "sysdisk/ibdata2", "");
    make_link(f, "data/ibdata2", "sysdisk/ibdata2");

    at(f, "data", datadir, sizeof(datadir));
    struct mysql_roots r = {0};
    assert_int_equal(mysql_scan_datadir(datadir, &r, NULL), MFB_OK);
    assert_int_equal(r.location_count, 5);
    char expect[PATH_MAX * 2];
    snprintf(expect, sizeof(expect), "shop/t.isl -> '%s/ext/shop/t.ibd'", f->top);
    assert_string_equal(why_at(f, &r, "ext/shop"), expect);
    snprintf(expect, sizeof(expect), "symbolic link shop/m.MYD -> '%s/myisam/m.MYD'", f->top);
    assert_string_equal(why_at(f, &r, "myisam"), expect);
    snprintf(expect, sizeof(expect), "symbolic link moved -> '%s/moveddb'", f->top);
    assert_string_equal(why_at(f, &r, "moveddb"), expect);
    snprintf(expect, sizeof(expect), "moved/u.isl -> '%s/ext2/moved/u.ibd'", f->top);
    assert_string_equal(why_at(f, &r, "ext2/moved"), expect);
    snprintf(expect, sizeof(expect), "symbolic link ibdata2 -> '%s/sysdisk/ibdata2'", f->top);
    assert_string_equal(why_at(f, &r, "sysdisk"), expect);
    for (size_t i = 0; i < r.location_count; i++) {
        assert_string_equal(r.locations[i].kind, "tablespace");
        assert_true(r.locations[i].numbered);
    }
    assert_int_equal(mysql_roots_finish(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 5);
    mysql_roots_free(&r);
}

static void test_scan_unreadable(void **state)
{
    struct mysql_roots r = {0};
    struct mfb_error err = {0};
    assert_int_equal(mysql_scan_datadir("/nonexistent-mfb-datadir", &r, &err), MFB_ERR_NOT_FOUND);
    assert_string_equal(err.message, "cannot read the data directory '/nonexistent-mfb-datadir': "
                                     "No such file or directory");
    assert_string_equal(err.hint, "run mfb as root or as the user the server runs as");
    mysql_roots_free(&r);
}

static void test_versions(void **state)
{
    unsigned a, b, c;
    mysql_version_parse("10.11.6-MariaDB-0+deb12u1-log", &a, &b, &c);
    assert_true(a == 10 && b == 11 && c == 6);
    mysql_version_parse("8.0.36", &a, &b, &c);
    assert_true(a == 8 && b == 0 && c == 36);
    mysql_version_parse("5.7", &a, &b, &c);
    assert_true(a == 5 && b == 7 && c == 0);
    mysql_version_parse("garbage", &a, &b, &c);
    assert_true(a == 0 && b == 0 && c == 0);
    mysql_version_parse(NULL, &a, &b, &c);
    assert_true(a == 0 && b == 0 && c == 0);

    const char *source;
    assert_string_equal(mysql_tablespace_query(MYSQL_FLAVOUR_MARIADB, 10, 11, &source),
                        MYSQL_SQL_TABLESPACES_MARIADB);
    assert_string_equal(source, "information_schema.INNODB_SYS_TABLESPACES");
    assert_string_equal(mysql_tablespace_query(MYSQL_FLAVOUR_MARIADB, 11, 4, &source),
                        MYSQL_SQL_TABLESPACES_MARIADB);
    assert_string_equal(mysql_tablespace_query(MYSQL_FLAVOUR_MARIADB, 10, 5, &source),
                        MYSQL_SQL_TABLESPACES_SYS_DATAFILES);
    assert_string_equal(source, "information_schema.INNODB_SYS_DATAFILES");
    assert_string_equal(mysql_tablespace_query(MYSQL_FLAVOUR_MYSQL, 8, 0, &source),
                        MYSQL_SQL_TABLESPACES_MYSQL8);
    assert_string_equal(source, "information_schema.FILES");
    assert_string_equal(mysql_tablespace_query(MYSQL_FLAVOUR_MYSQL, 5, 7, &source),
                        MYSQL_SQL_TABLESPACES_SYS_DATAFILES);
    assert_string_equal(mysql_flavour_str(MYSQL_FLAVOUR_MARIADB), "mariadb");
    assert_string_equal(mysql_flavour_str(MYSQL_FLAVOUR_MYSQL), "mysql");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scan, fake_setup, fake_teardown),
        cmocka_unit_test(test_scan_unreadable),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
