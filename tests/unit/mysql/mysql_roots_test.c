/*
 * mysql_roots_test.c - tests of src/mysql/roots.c: canonical paths,
 * containment, and the reduction of discovered locations to roots.
 *
 * Most paths are under a directory that does not exist, so they are
 * cleaned up lexically; one test builds a real symlink to check that
 * realpath() makes a link and its target one root.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "mysql_unit.h"

#include "mysql/roots.h"

#define NX "/nonexistent-mfb-roots-test"

static char *resolve(const char *base, const char *path)
{
    char *out = NULL;
    assert_int_equal(mysql_path_resolve(base, path, &out, NULL), MFB_OK);
    return out;
}

static void test_resolve_lexical(void **state)
{
    char *p = resolve(NX "/data/", "./");
    assert_string_equal(p, NX "/data");
    free(p);
    p = resolve(NX "/data", "");
    assert_string_equal(p, NX "/data");
    free(p);
    p = resolve(NX "/data", NULL);
    assert_string_equal(p, NX "/data");
    free(p);
    p = resolve(NX "/data", "../logs//redo/./");
    assert_string_equal(p, NX "/logs/redo");
    free(p);
    p = resolve(NX "/data", "/abs/../x");
    assert_string_equal(p, "/x");
    free(p);
    p = resolve(NULL, "/../..");
    assert_string_equal(p, "/");
    free(p);

    struct mfb_error err = {0};
    char *out = NULL;
    assert_int_equal(mysql_path_resolve(NULL, "relative", &out, &err), MFB_ERR_INVALID);
    assert_string_equal(err.message, "relative path 'relative' without an absolute base");
    assert_null(out);
}

struct tmpdir {
    char dir[PATH_MAX];
    char real[PATH_MAX + 16];
    char link[PATH_MAX + 16];
};

static int tmpdir_setup(void **state)
{
    struct tmpdir *t = calloc(1, sizeof(*t));
    if (!unit_scratch_dir("mysql_roots", t->dir, sizeof(t->dir)))
        return -1;
    snprintf(t->real, sizeof(t->real), "%s/real", t->dir);
    snprintf(t->link, sizeof(t->link), "%s/link", t->dir);
    *state = t;
    return 0;
}

static int tmpdir_teardown(void **state)
{
    struct tmpdir *t = *state;
    unit_rmtree(t->dir);
    free(t);
    return 0;
}

static void test_resolve_symlink(void **state)
{
    struct tmpdir *t = *state;
    assert_int_equal(mkdir(t->real, 0755), 0);
    assert_int_equal(symlink(t->real, t->link), 0);

    char *canon_real = resolve(NULL, t->real);
    char *via_link = resolve(t->dir, "link/");
    assert_string_equal(via_link, canon_real);
    free(canon_real);
    free(via_link);

    struct mysql_roots roots = {0};
    assert_int_equal(mysql_roots_add(&roots, "datadir", false, NULL, t->link, NULL, "link"),
                     MFB_OK);
    assert_int_equal(mysql_roots_add(&roots, "innodb_log", false, NULL, t->real, NULL, "real"),
                     MFB_OK);
    assert_int_equal(mysql_roots_finish(&roots, NULL), MFB_OK);
    assert_int_equal(roots.count, 1);
    assert_string_equal(roots.roots[0].name, "datadir");
    mysql_roots_free(&roots);
}

static void test_contains(void **state)
{
    assert_true(mysql_path_contains("/data", "/data"));
    assert_true(mysql_path_contains("/data", "/data/db/t.ibd"));
    assert_false(mysql_path_contains("/data", "/database"));
    assert_false(mysql_path_contains("/data/db", "/data"));
    assert_true(mysql_path_contains("/", "/anything"));
}

static void add(struct mysql_roots *r, const char *kind, bool numbered, const char *path)
{
    assert_int_equal(mysql_roots_add(r, kind, numbered, NX "/d", path, NULL, "%s", kind), MFB_OK);
}

static void test_reduce(void **state)
{
    struct mysql_roots r = {0};
    add(&r, "datadir", false, NX "/d");
    add(&r, "innodb_log", false, "./");          /* inside the datadir */
    add(&r, "binlog", false, NX "/binlogs");     /* outside */
    add(&r, "tablespace", true, NX "/ext/shop"); /* an InnoDB DATA DIRECTORY */
    add(&r, "tablespace", true, NX "/other/x");  /* a second one */
    add(&r, "tablespace", true, NX "/ext");      /* MyISAM symlinks: holds ext/shop */
    add(&r, "tablespace", true, NX "/d/shop");   /* inside the datadir */
    add(&r, "tablespace", true, NX "/ext/shop"); /* the same again: ignored */
    assert_int_equal(r.location_count, 7);
    assert_int_equal(mysql_roots_finish(&r, NULL), MFB_OK);

    assert_int_equal(r.count, 4);
    assert_string_equal(r.roots[0].name, "datadir");
    assert_string_equal(r.roots[0].path, NX "/d");
    assert_string_equal(r.roots[1].name, "binlog");
    assert_string_equal(r.roots[1].path, NX "/binlogs");
    /* /other/x was found before /ext, which took over /ext/shop. */
    assert_string_equal(r.roots[2].name, "tablespace-1");
    assert_string_equal(r.roots[2].path, NX "/other/x");
    assert_string_equal(r.roots[3].name, "tablespace-2");
    assert_string_equal(r.roots[3].path, NX "/ext");

    /* Every location knows its root. */
    const size_t expect[] = {0, 0, 1, 3, 2, 3, 0};
    for (size_t i = 0; i < r.location_count; i++)
        assert_int_equal(r.locations[i].root, expect[i]);
    assert_string_equal(mysql_roots_find(&r, NX "/ext/shop/t.ibd")->name, "tablespace-2");
    assert_null(mysql_roots_find(&r, NX "/elsewhere"));

    /* Finishing again gives the same answer. */
    assert_int_equal(mysql_roots_finish(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 4);
    assert_string_equal(r.roots[3].name, "tablespace-2");
    mysql_roots_free(&r);
}

static void test_names_and_ties(void **state)
{
    struct mysql_roots r = {0};
    /* Equal paths: the first one found names the root. */
    add(&r, "datadir", false, NX "/d");
    add(&r, "aria_log", false, NX "/d/");
    /* Two roots of a kind that is not numbered still get unique names. */
    add(&r, "innodb_data", false, NX "/disk1");
    add(&r, "innodb_data", false, NX "/disk2");
    assert_int_equal(mysql_roots_finish(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.roots[0].name, "datadir");
    assert_string_equal(r.roots[1].name, "innodb_data");
    assert_string_equal(r.roots[2].name, "innodb_data-2");
    assert_int_equal(r.locations[1].root, 0);
    mysql_roots_free(&r);

    /* A directory configured above the datadir holds it. */
    struct mysql_roots up = {0};
    add(&up, "datadir", false, NX "/srv/mysql/data");
    add(&up, "innodb_data", false, NX "/srv/mysql");
    assert_int_equal(mysql_roots_finish(&up, NULL), MFB_OK);
    assert_int_equal(up.count, 1);
    assert_string_equal(up.roots[0].name, "innodb_data");
    assert_int_equal(up.locations[0].root, 0);
    mysql_roots_free(&up);
}

static void test_add_file(void **state)
{
    struct mysql_roots r = {0};
    assert_int_equal(mysql_roots_add_file(&r, "binlog", false, NX "/d", "mysql-bin", NULL, "why"),
                     MFB_OK);
    assert_int_equal(mysql_roots_add_file(&r, "tablespace", true, NX "/d", "/t.ibd", NULL, "why"),
                     MFB_OK);
    assert_string_equal(r.locations[0].path, NX "/d");
    assert_string_equal(r.locations[1].path, "/");
    assert_int_equal(mysql_roots_finish(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 1); /* "/" holds everything */
    assert_string_equal(r.roots[0].name, "tablespace-1");
    mysql_roots_free(&r);

    struct mysql_roots empty = {0};
    assert_int_equal(mysql_roots_finish(&empty, NULL), MFB_OK);
    assert_int_equal(empty.count, 0);
    mysql_roots_free(&empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_lexical),
        cmocka_unit_test_setup_teardown(test_resolve_symlink, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_names_and_ties),
        cmocka_unit_test(test_add_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
