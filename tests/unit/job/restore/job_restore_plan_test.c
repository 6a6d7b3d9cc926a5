/*
 * job_restore_plan_test.c - src/job/restore_plan: the top-level names of an
 * archive, and every rule pairing roots with destinations, with the exact
 * refusals (see plan.h).
 */
#include "unit.h"

#include "archive_fixture.h"
#include "job/restore/plan.h"

#define DATADIR "/nonexistent-mfb/mysql"
#define BINLOGS "/nonexistent-mfb/binlog"

struct plan_fixture {
    struct fixture f;
    struct archive_reader *r;
    struct restore_tops tops;
    json_t *meta;
};

static int setup(void **state)
{
    if (fixture_setup(state) != 0)
        return -1;
    struct fixture *f = *state;
    struct plan_fixture *p = calloc(1, sizeof(*p));
    p->f = *f;
    free(f);
    struct rawzip_entry e[] = {
        {"datadir/", "", S_IFDIR | 0750},           {"datadir/ibdata1", "xxxx", S_IFREG | 0640},
        {"datadir/db/", "", S_IFDIR | 0700},        {"datadir/db/t.ibd", "yy", S_IFREG | 0640},
        {"binlog/log.000001", "z", S_IFREG | 0640},
    };
    rawzip_write(fx_path(&p->f, "b.zip"), e, 5);
    assert_int_equal(archive_reader_open(fx_path(&p->f, "b.zip"), &p->r, NULL), MFB_OK);
    assert_int_equal(restore_tops_read(p->r, &p->tops, NULL), MFB_OK);
    p->meta = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "roots", "name", "datadir", "path", DATADIR,
                        "name", "binlog", "path", BINLOGS);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct plan_fixture *p = *state;
    restore_tops_free(&p->tops);
    archive_reader_free(p->r);
    json_decref(p->meta);
    unit_rmtree(p->f.root);
    free(p);
    return 0;
}

static struct restore_plan_input input(struct plan_fixture *p, const struct restore_map *maps,
                                       size_t n)
{
    struct restore_plan_input in = {.metadata = p->meta,
                                    .tops = &p->tops,
                                    .instance = "db",
                                    .instance_datadir = DATADIR,
                                    .maps = maps,
                                    .map_count = n};
    return in;
}

static void expect_refused(const struct restore_plan_input *in, mfb_status status,
                           const char *message, const char *hint)
{
    struct restore_plan plan;
    struct mfb_error err = {0};
    assert_int_equal(restore_plan_build(in, &plan, &err), status);
    assert_string_equal(err.message, message);
    if (hint)
        assert_string_equal(err.hint, hint);
    assert_null(plan.roots);
}

static void test_tops(void **state)
{
    struct plan_fixture *p = *state;
    assert_int_equal(p->tops.count, 2);
    const struct restore_top *d = &p->tops.items[0], *b = &p->tops.items[1];
    assert_string_equal(d->name, "datadir");
    assert_true(d->is_dir);
    assert_int_equal(d->bytes, 6);
    assert_int_equal(d->entries, 3);
    assert_true(d->has_mode);
    assert_int_equal(d->mode, 0750);
    assert_string_equal(b->name, "binlog");
    assert_true(b->is_dir);
    assert_int_equal(b->bytes, 1);
    assert_int_equal(b->entries, 1);
    assert_false(b->has_mode);
}

static void test_recorded_and_mapped(void **state)
{
    struct plan_fixture *p = *state;
    struct restore_plan plan;
    struct restore_plan_input in = input(p, NULL, 0);
    assert_int_equal(restore_plan_build(&in, &plan, NULL), MFB_OK);
    assert_int_equal(plan.count, 2);
    assert_string_equal(plan.roots[0].name, "datadir");
    assert_string_equal(plan.roots[0].dest, DATADIR);
    assert_string_equal(plan.roots[0].recorded, DATADIR);
    assert_false(plan.roots[0].mapped);
    assert_int_equal(plan.roots[0].bytes, 6);
    assert_string_equal(plan.roots[1].dest, BINLOGS);
    restore_plan_free(&plan);

    struct restore_map maps[] = {{"binlog", "/nonexistent-mfb/new/binlog/"}};
    in = input(p, maps, 1);
    assert_int_equal(restore_plan_build(&in, &plan, NULL), MFB_OK);
    assert_string_equal(plan.roots[1].dest, "/nonexistent-mfb/new/binlog");
    assert_string_equal(plan.roots[1].recorded, BINLOGS);
    assert_true(plan.roots[1].mapped);
    restore_plan_free(&plan);

    /* the datadir anywhere, when the operator says so */
    struct restore_map dd[] = {{"datadir", "/nonexistent-mfb/other"}};
    in = input(p, dd, 1);
    assert_int_equal(restore_plan_build(&in, &plan, NULL), MFB_OK);
    assert_string_equal(plan.roots[0].dest, "/nonexistent-mfb/other");
    restore_plan_free(&plan);
}

static void test_without_metadata(void **state)
{
    struct plan_fixture *p = *state;
    struct restore_plan_input in = input(p, NULL, 0);
    in.metadata = NULL;
    expect_refused(&in, MFB_ERR_INVALID,
                   "the backup's manifest does not record where root 'binlog' came from",
                   "say where it goes with --map binlog=DIR");
    struct restore_map maps[] = {{"binlog", "/nonexistent-mfb/b"}};
    in.maps = maps;
    in.map_count = 1;
    struct restore_plan plan;
    assert_int_equal(restore_plan_build(&in, &plan, NULL), MFB_OK);
    assert_string_equal(plan.roots[0].dest, DATADIR); /* the instance's */
    assert_null(plan.roots[0].recorded);
    restore_plan_free(&plan);
}

static void test_refusals(void **state)
{
    struct plan_fixture *p = *state;
    struct restore_map unknown[] = {{"relay", "/x"}};
    struct restore_plan_input in = input(p, unknown, 1);
    expect_refused(&in, MFB_ERR_USAGE, "--map relay: the backup has no root named 'relay'",
                   "its roots are: datadir, binlog");

    struct restore_map twice[] = {{"binlog", "/x"}, {"binlog", "/y"}};
    in = input(p, twice, 2);
    expect_refused(&in, MFB_ERR_USAGE, "--map binlog is given twice", NULL);

    in = input(p, NULL, 0);
    in.instance_datadir = "/nonexistent-mfb/elsewhere";
    expect_refused(&in, MFB_ERR_INVALID,
                   "the backup's data directory was '" DATADIR
                   "', but instance 'db' uses '/nonexistent-mfb/elsewhere'",
                   "to restore into the instance's data directory add --map "
                   "datadir=/nonexistent-mfb/elsewhere; to look at the files elsewhere use --to "
                   "DIR");

    struct restore_map inside[] = {{"binlog", DATADIR "/binlog"}};
    in = input(p, inside, 1);
    expect_refused(&in, MFB_ERR_INVALID,
                   "roots 'datadir' and 'binlog' would be restored into overlapping directories "
                   "'" DATADIR "' and '" DATADIR "/binlog'",
                   "give each root a directory of its own with --map");

    struct restore_map root[] = {{"binlog", "/"}};
    in = input(p, root, 1);
    expect_refused(&in, MFB_ERR_INVALID, "root 'binlog' cannot be restored to '/'", NULL);

    json_t *one = json_pack("{s:[{s:s, s:s}]}", "roots", "name", "datadir", "path", DATADIR);
    in = input(p, NULL, 0);
    in.metadata = one;
    expect_refused(&in, MFB_ERR_INVALID,
                   "the backup holds a directory 'binlog' that its manifest does not list as a "
                   "root",
                   NULL);
    json_decref(one);
}

static void test_loose_file(void **state)
{
    struct plan_fixture *p = *state;
    struct rawzip_entry e[] = {{"datadir/a", "1", S_IFREG | 0640}, {"ibdata1", "2", S_IFREG}};
    rawzip_write(fx_path(&p->f, "flat.zip"), e, 2);
    struct archive_reader *r = NULL;
    struct restore_tops tops;
    assert_int_equal(archive_reader_open(fx_path(&p->f, "flat.zip"), &r, NULL), MFB_OK);
    assert_int_equal(restore_tops_read(r, &tops, NULL), MFB_OK);
    struct restore_plan_input in = input(p, NULL, 0);
    in.tops = &tops;
    in.metadata = NULL;
    expect_refused(&in, MFB_ERR_INVALID,
                   "the backup holds 'ibdata1' outside any root directory: it was not made by mfb "
                   "backup",
                   "extract it with --to DIR and put the files in place yourself");
    restore_tops_free(&tops);
    archive_reader_free(r);
}

static void test_map_parse(void **state)
{
    struct restore_map m;
    char ok[] = "datadir=/srv/mysql";
    assert_int_equal(restore_map_parse(ok, &m, NULL), MFB_OK);
    assert_string_equal(m.name, "datadir");
    assert_string_equal(m.dir, "/srv/mysql");
    struct mfb_error err = {0};
    char rel[] = "datadir=srv";
    assert_int_equal(restore_map_parse(rel, &m, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "--map datadir: 'srv' is not an absolute path");
    char *bad[] = {"datadir", "=x", "datadir="};
    for (size_t i = 0; i < 3; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        assert_int_equal(restore_map_parse(buf, &m, NULL), MFB_ERR_USAGE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorded_and_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loose_file, setup, teardown),
        cmocka_unit_test(test_map_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
