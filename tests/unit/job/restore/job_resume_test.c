/*
 * job_resume_test.c - src/job/restore/resume: the staging record written
 * and read back (the head, kept entries, entries added and flushed), that
 * an entry is not in the record before a flush, entries added by two
 * threads while the writer's thread flushes (each recorded once), a torn last line (ignored)
 * and a damaged one before it (the record refused), the head of another
 * backup, directory or place (not matched, with the reason), and the stat
 * check of a staged file changed since.
 */
#include <pthread.h>

#include "unit.h"

#include "archive_fixture.h"
#include "job/restore/resume.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct head_buf {
    char staging[2][PATH_MAX];
    char place[2][PATH_MAX];
    struct resume_root roots[2];
    struct resume_head head;
};

static void make_head(struct fixture *f, struct head_buf *b, const char *backup)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->place[0], PATH_MAX, "%s", fx_path(f, "data"));
    snprintf(b->place[1], PATH_MAX, "%s", fx_path(f, "binlog"));
    snprintf(b->staging[0], PATH_MAX, "%s", fx_path(f, ".data.mfb-staging-7"));
    snprintf(b->staging[1], PATH_MAX, "%s", fx_path(f, ".binlog.mfb-staging-7"));
    b->roots[0] = (struct resume_root){"datadir", b->place[0], b->staging[0]};
    b->roots[1] = (struct resume_root){"binlog", b->place[1], b->staging[1]};
    b->head = (struct resume_head){.instance = "db",
                                   .backup_id = (char *)backup,
                                   .sha256 = HEX_A,
                                   .directory = HEX_B,
                                   .roots = b->roots,
                                   .root_count = 2};
}

/* A staged file and its archive entry. */
static void staged_file(struct fixture *f, const char *rel, const char *name,
                        struct archive_entry *e, struct stat *sb)
{
    fx_write(f, rel, "hello", 5);
    assert_int_equal(stat(fx_path(f, rel), sb), 0);
    memset(e, 0, sizeof(*e));
    e->name = (char *)name;
    e->name_len = strlen(name);
    e->size = 5;
    e->crc = 0x3610a686; /* crc32("hello") */
}

static void test_write_flush_read(void **state)
{
    struct fixture *f = *state;
    struct head_buf b;
    make_head(f, &b, "b_1");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", fx_path(f, "restore-b_1.zip.staged"));

    struct resume_entry keep = {.index = 3,
                                .name = "datadir/kept",
                                .size = 9,
                                .crc = 7,
                                .ino = 11,
                                .mtime_ns = 12,
                                .ctime_ns = 13};
    struct resume_writer w;
    assert_int_equal(resume_writer_open(&w, path, &b.head, &keep, 1, NULL), MFB_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    struct archive_entry e;
    struct stat fsb;
    staged_file(f, ".data.mfb-staging-7/db/t.frm", "datadir/db/t.frm", &e, &fsb);
    resume_writer_add(&w, 5, &e, &fsb);

    /* not flushed yet: the record does not claim it */
    struct resume_record rec;
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_OK);
    assert_int_equal(rec.count, 1);
    resume_record_free(&rec);

    resume_writer_flush(&w);
    resume_writer_close(&w);
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_OK);
    assert_string_equal(rec.head.instance, "db");
    assert_string_equal(rec.head.backup_id, "b_1");
    assert_string_equal(rec.head.sha256, HEX_A);
    assert_string_equal(rec.head.directory, HEX_B);
    assert_int_equal(rec.head.root_count, 2);
    assert_string_equal(rec.head.roots[1].name, "binlog");
    assert_string_equal(rec.head.roots[1].staging, b.staging[1]);
    char why[256] = "";
    assert_true(resume_head_matches(&rec.head, &b.head, why, sizeof(why)));
    assert_int_equal(rec.count, 2);
    assert_int_equal(rec.entries[0].index, 3);
    assert_string_equal(rec.entries[0].name, "datadir/kept");
    assert_int_equal(rec.entries[0].ctime_ns, 13);
    const struct resume_entry *got = &rec.entries[1];
    assert_int_equal(got->index, 5);
    assert_string_equal(got->name, "datadir/db/t.frm");
    assert_int_equal(got->size, 5);
    assert_int_equal(got->crc, 0x3610a686);
    assert_int_equal(got->ino, (uint64_t)fsb.st_ino);

    /* the staged file as recorded, then changed */
    const char *staged = fx_path(f, ".data.mfb-staging-7/db/t.frm");
    assert_true(resume_entry_unchanged(got, staged, why, sizeof(why)));
    assert_int_equal(truncate(staged, 2), 0);
    assert_false(resume_entry_unchanged(got, staged, why, sizeof(why)));
    assert_string_equal(why, "its size is 2, was 5");
    assert_int_equal(truncate(staged, 5), 0); /* the size back, but ctime moved */
    assert_false(resume_entry_unchanged(got, staged, why, sizeof(why)));
    assert_string_equal(why, "it was changed since (mtime or ctime)");
    assert_int_equal(unlink(staged), 0);
    assert_false(resume_entry_unchanged(got, staged, why, sizeof(why)));
    assert_non_null(strstr(why, "it is gone"));
    resume_record_free(&rec);

    assert_int_equal(resume_record_remove(path, NULL), MFB_OK);
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_ERR_NOT_FOUND);
    assert_int_equal(resume_record_remove(path, NULL), MFB_OK); /* none is fine */
}

/* Appends text to the record at path. */
static void append(const char *path, const char *text)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Two extraction threads add entries across several batches, so flushes
 * run on the writer's thread while they add: every entry ends in the
 * record exactly once, in no particular order. */
#define ADDERS 2
#define ADDS_EACH (RESUME_BATCH_ENTRIES * 2 + 7)

struct adder {
    struct resume_writer *w;
    struct archive_entry e;
    struct stat sb;
    size_t first;
};

static void *add_many(void *arg)
{
    struct adder *a = arg;
    for (size_t i = 0; i < ADDS_EACH; i++)
        resume_writer_add(a->w, a->first + i, &a->e, &a->sb);
    return NULL;
}

static void test_flushes_while_threads_add(void **state)
{
    struct fixture *f = *state;
    struct head_buf b;
    make_head(f, &b, "b_1");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", fx_path(f, "restore-b_1.zip.staged"));
    struct resume_writer w;
    assert_int_equal(resume_writer_open(&w, path, &b.head, NULL, 0, NULL), MFB_OK);
    struct adder adders[ADDERS];
    pthread_t threads[ADDERS];
    for (size_t t = 0; t < ADDERS; t++) {
        adders[t] = (struct adder){.w = &w, .first = t * ADDS_EACH};
        staged_file(f, ".data.mfb-staging-7/t.frm", "datadir/t.frm", &adders[t].e, &adders[t].sb);
        assert_int_equal(pthread_create(&threads[t], NULL, add_many, &adders[t]), 0);
    }
    for (size_t t = 0; t < ADDERS; t++)
        pthread_join(threads[t], NULL);
    resume_writer_close(&w);

    struct resume_record rec;
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_OK);
    assert_int_equal(rec.count, ADDERS * ADDS_EACH);
    bool *seen = calloc(ADDERS * ADDS_EACH, sizeof(bool));
    assert_non_null(seen);
    for (size_t i = 0; i < rec.count; i++) {
        assert_true(rec.entries[i].index < ADDERS * ADDS_EACH);
        assert_false(seen[rec.entries[i].index]);
        seen[rec.entries[i].index] = true;
    }
    free(seen);
    resume_record_free(&rec);
}

static void test_torn_and_damaged_lines(void **state)
{
    struct fixture *f = *state;
    struct head_buf b;
    make_head(f, &b, "b_1");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", fx_path(f, "r.staged"));
    struct resume_writer w;
    struct archive_entry e;
    struct stat sb;
    staged_file(f, ".data.mfb-staging-7/a", "datadir/a", &e, &sb);
    assert_int_equal(resume_writer_open(&w, path, &b.head, NULL, 0, NULL), MFB_OK);
    resume_writer_add(&w, 1, &e, &sb);
    resume_writer_close(&w); /* flushes */

    /* a power cut in the middle of an append: the last line is torn */
    append(path, "{\"i\":2,\"name\":\"datadir/b\",\"si");
    struct resume_record rec;
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_OK);
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.entries[0].name, "datadir/a");
    resume_record_free(&rec);

    /* a damaged line before the last: the record is refused */
    append(path, "\n{\"i\":3,\"name\":\"datadir/c\",\"size\":1,\"crc\":1,\"ino\":1,"
                 "\"mtime_ns\":1,\"ctime_ns\":1}\n");
    struct mfb_error err = {0};
    assert_int_equal(resume_record_read(path, &rec, &err), MFB_ERR_PROTOCOL);
    assert_non_null(strstr(err.message, "cannot be read"));

    /* a torn head */
    fx_write(f, "r.staged", "{\"record\":\"mfb-staging-record\",\"ver", 35);
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_ERR_PROTOCOL);
    /* something else */
    fx_write(f, "r.staged", "{\"job\":1}\n", 10);
    assert_int_equal(resume_record_read(path, &rec, NULL), MFB_ERR_PROTOCOL);
}

static void test_another_backup_or_place(void **state)
{
    struct fixture *f = *state;
    struct head_buf have, want;
    make_head(f, &have, "b_1");
    char why[2048];

    make_head(f, &want, "b_2");
    assert_false(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
    assert_string_equal(why, "it is of backup b_1");

    make_head(f, &want, "b_1");
    want.head.instance = "other";
    assert_false(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
    assert_string_equal(why, "it is of instance 'db'");

    make_head(f, &want, "b_1");
    memcpy(want.head.directory, HEX_A, sizeof(want.head.directory));
    assert_false(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
    assert_string_equal(why, "the backup's SHA-256 or directory differs from the recorded one");

    make_head(f, &want, "b_1");
    snprintf(want.place[1], PATH_MAX, "/srv/binlog"); /* --map binlog=/srv/binlog */
    assert_false(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
    assert_non_null(strstr(why, "this restore puts 'binlog' in '/srv/binlog'"));

    make_head(f, &want, "b_1");
    want.head.root_count = 1;
    assert_false(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
    assert_string_equal(why, "it staged 2 roots, this restore has 1");

    make_head(f, &want, "b_1");
    assert_true(resume_head_matches(&have.head, &want.head, why, sizeof(why)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_flush_read, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_flushes_while_threads_add, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_torn_and_damaged_lines, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_another_backup_or_place, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
