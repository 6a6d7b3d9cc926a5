/*
 * job_stage_test.c - src/job/restore/stage: staging names, stale staging
 * directories, the symlinked place, the swap, and the recovery of a swap
 * a killed restore left at each point: after the exchange but before the
 * rename aside (finished), one root of two swapped (undone), between the
 * two renames of a file system without RENAME_EXCHANGE (undone), before
 * any rename (only the journal goes), and a partial swap with the server
 * running (refused).
 */
#include "unit.h"

#include "archive_fixture.h"
#include "job/restore/stage.h"
#include "job/restore/swap.h"

static char *path(struct fixture *f, const char *rel)
{
    char *p = strdup(fx_path(f, rel));
    assert_non_null(p);
    return p;
}

static bool has(struct fixture *f, const char *rel)
{
    return access(fx_path(f, rel), F_OK) == 0;
}

/* A root: place holds "old", staging holds "new". */
static void make_root(struct fixture *f, const char *name, struct stage_root *r)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/old", name);
    fx_write(f, rel, "o", 1);
    snprintf(rel, sizeof(rel), ".%s.mfb-staging-7/new", name);
    fx_write(f, rel, "n", 1);
    memset(r, 0, sizeof(*r));
    snprintf(rel, sizeof(rel), "%s", name);
    snprintf(r->place, sizeof(r->place), "%s", fx_path(f, rel));
    assert_int_equal(stage_dir_name(r->place, "7", r->staging, sizeof(r->staging), NULL), MFB_OK);
    assert_int_equal(
        swap_sibling(r->place, SWAP_BEFORE_SUFFIX, "s1", r->aside, sizeof(r->aside), NULL), MFB_OK);
    r->existed = true;
    struct stat sb;
    assert_int_equal(stat(r->staging, &sb), 0);
    r->staged_dev = (uint64_t)sb.st_dev;
    r->staged_ino = (uint64_t)sb.st_ino;
}

static void test_names_and_stale(void **state)
{
    struct fixture *f = *state;
    char out[PATH_MAX];
    assert_int_equal(stage_dir_name("/var/lib/mysql", "42", out, sizeof(out), NULL), MFB_OK);
    assert_string_equal(out, "/var/lib/.mysql.mfb-staging-42");
    assert_int_equal(stage_dir_name("/mysql", "1", out, sizeof(out), NULL), MFB_OK);
    assert_string_equal(out, "/.mysql.mfb-staging-1");

    fx_write(f, ".data.mfb-staging-3/a/b", "x", 1);
    fx_write(f, ".data.mfb-staging-9/c", "x", 1);
    fx_write(f, ".data2.mfb-staging-3/keep", "x", 1);
    fx_write(f, "data/keep", "x", 1);
    int removed = 0;
    char *place = path(f, "data");
    assert_int_equal(stage_remove_stale(place, NULL, &removed, NULL), MFB_OK);
    assert_int_equal(removed, 2);
    assert_false(has(f, ".data.mfb-staging-3"));
    assert_false(has(f, ".data.mfb-staging-9"));
    assert_true(has(f, ".data2.mfb-staging-3/keep"));
    assert_true(has(f, "data/keep"));

    /* a link: the place is the directory it points to */
    bool link = false;
    char *real = path(f, "data");
    char *ln = path(f, "link");
    assert_int_equal(symlink(real, ln), 0);
    assert_int_equal(stage_place(ln, out, sizeof(out), &link, NULL), MFB_OK);
    assert_true(link);
    assert_string_equal(out, real);
    assert_int_equal(stage_place(real, out, sizeof(out), &link, NULL), MFB_OK);
    assert_false(link);
    free(place);
    free(real);
    free(ln);
}

static void test_swap(void **state)
{
    struct fixture *f = *state;
    struct stage_root r;
    make_root(f, "data", &r);
    bool in_place, aside, old_at_staging;
    assert_int_equal(stage_swap(&r, &in_place, &aside, &old_at_staging, NULL), MFB_OK);
    assert_true(in_place && aside && !old_at_staging);
    assert_true(has(f, "data/new"));
    assert_true(has(f, "data.mfb-before-restore-s1/old"));
    assert_false(has(f, ".data.mfb-staging-7"));

    /* a root that did not exist: its parents are made */
    fx_write(f, ".fresh.mfb-staging-7/new", "n", 1);
    struct stage_root n = {.existed = false};
    snprintf(n.place, sizeof(n.place), "%s", fx_path(f, "sub/fresh"));
    snprintf(n.staging, sizeof(n.staging), "%s", fx_path(f, ".fresh.mfb-staging-7"));
    assert_int_equal(stage_swap(&n, &in_place, &aside, &old_at_staging, NULL), MFB_OK);
    assert_true(in_place && !aside);
    assert_true(has(f, "sub/fresh/new"));
}

static void write_journal(struct fixture *f, const struct stage_root *roots, size_t n, char *out)
{
    assert_int_equal(stage_journal_path(fx_path(f, "."), "db", out, PATH_MAX, NULL), MFB_OK);
    assert_int_equal(stage_journal_write(out, 5, roots, n, NULL), MFB_OK);
}

static void test_recover_finishes_an_exchange(void **state)
{
    struct fixture *f = *state;
    struct stage_root r;
    make_root(f, "data", &r);
    char journal[PATH_MAX];
    write_journal(f, &r, 1, journal);
    /* killed after the exchange, before the rename aside */
    assert_int_equal(renameat2(AT_FDCWD, r.staging, AT_FDCWD, r.place, RENAME_EXCHANGE), 0);
    enum stage_recovery what;
    char detail[512];
    assert_int_equal(stage_recover(journal, false, "s2", &what, detail, sizeof(detail), NULL),
                     MFB_OK);
    assert_int_equal(what, STAGE_RECOVERY_FINISHED);
    assert_string_equal(detail, r.place);
    assert_true(has(f, "data/new"));
    assert_true(has(f, "data.mfb-before-restore-s1/old"));
    assert_false(has(f, ".data.mfb-staging-7"));
    assert_false(has(f, ".mfb-db.restore-swap"));
    /* no journal: nothing to do */
    assert_int_equal(stage_recover(journal, false, "s2", &what, detail, sizeof(detail), NULL),
                     MFB_OK);
    assert_int_equal(what, STAGE_RECOVERY_NONE);
}

static void test_recover_undoes_a_partial_swap(void **state)
{
    struct fixture *f = *state;
    struct stage_root r[3];
    make_root(f, "data", &r[0]);
    make_root(f, "binlog", &r[1]);
    make_root(f, "logs", &r[2]);
    char journal[PATH_MAX];
    write_journal(f, r, 3, journal);
    bool in_place, aside, old_at_staging;
    assert_int_equal(stage_swap(&r[0], &in_place, &aside, &old_at_staging, NULL), MFB_OK);
    /* the third: two renames, killed between them */
    assert_int_equal(rename(r[2].place, r[2].aside), 0);

    enum stage_recovery what;
    char detail[2048];
    struct mfb_error err = {0};
    assert_int_equal(stage_recover(journal, false, "s2", &what, detail, sizeof(detail), &err),
                     MFB_ERR_INVALID);
    assert_non_null(strstr(err.message, "the server runs"));
    assert_true(has(f, ".mfb-db.restore-swap"));

    assert_int_equal(stage_recover(journal, true, "s2", &what, detail, sizeof(detail), NULL),
                     MFB_OK);
    assert_int_equal(what, STAGE_RECOVERY_UNDONE);
    assert_true(has(f, "data/old"));
    assert_true(has(f, "binlog/old"));
    assert_true(has(f, "logs/old"));
    assert_true(has(f, "data.mfb-failed-restore-s2/new"));
    assert_false(has(f, "data.mfb-before-restore-s1"));
    assert_false(has(f, "logs.mfb-before-restore-s1"));
    assert_true(has(f, ".binlog.mfb-staging-7/new")); /* left for the stale clean-up */
    assert_false(has(f, ".mfb-db.restore-swap"));
    assert_non_null(strstr(detail, "restored files in"));
}

static void test_recover_before_any_rename(void **state)
{
    struct fixture *f = *state;
    struct stage_root r;
    make_root(f, "data", &r);
    char journal[PATH_MAX];
    write_journal(f, &r, 1, journal);
    enum stage_recovery what;
    char detail[256];
    /* whatever the server does: nothing was swapped */
    assert_int_equal(stage_recover(journal, false, "s2", &what, detail, sizeof(detail), NULL),
                     MFB_OK);
    assert_int_equal(what, STAGE_RECOVERY_UNDONE);
    assert_string_equal(detail, "nothing had been swapped yet");
    assert_true(has(f, "data/old"));
    assert_false(has(f, ".mfb-db.restore-swap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_and_stale, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_swap, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_recover_finishes_an_exchange, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_recover_undoes_a_partial_swap, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_recover_before_any_rename, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
