/*
 * archive_writer_test.c - tests of src/archive/writer (with scan, manifest
 * and file_sink): round trips through mfb's reader at every kind of level,
 * determinism across thread counts, forced Zip64 accepted by independent
 * readers, files changed while archived, excludes, cancellation, progress,
 * sink failures, metadata and extra roots.
 */
#include "unit.h"

#include <jansson.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "archive_fixture.h"

#define BLOCK (64u * 1024u)

/* A tree with every kind of entry: sizes around the block size, nested and
 * empty directories, symlinks, names with spaces and non-ASCII. */
static void make_tree(struct fixture *f)
{
    fx_write(f, "src/empty.txt", "", 0);
    fx_write(f, "src/small.txt", "hello\n", 6);
    fx_write_data(f, "src/one-block.bin", BLOCK, 1);
    fx_write_data(f, "src/block-plus-one.bin", BLOCK + 1, 2);
    fx_write_data(f, "src/db/multi.ibd", 5 * BLOCK + 77, 3);
    fx_write_data(f, "src/db/deeper/x.frm", 1000, 4);
    fx_write_data(f, "src/with space/h\xc3\xa9llo w\xc3\xb6rld.txt", 3000, 5);
    unsigned char *noise = malloc(200000);
    for (size_t i = 0; i < 200000; i++)
        noise[i] = (unsigned char)(rand() >> 7);
    fx_write(f, "src/noise.bin", noise, 200000);
    free(noise);
    assert_int_equal(fs_mkdir_p(fx_path(f, "src/empty-dir/nested-empty"), 0755, NULL), MFB_OK);
    assert_int_equal(symlink("small.txt", fx_path(f, "src/link-rel")), 0);
    assert_int_equal(symlink("/etc/hostname", fx_path(f, "src/link-abs")), 0);
    assert_int_equal(symlink("../db", fx_path(f, "src/with space/link-dir")), 0);
    chmod(fx_path(f, "src/small.txt"), 0600);
    chmod(fx_path(f, "src/db/deeper/x.frm"), 0640);
    chmod(fx_path(f, "src/empty-dir"), 0700);
    struct timespec ts[2] = {{1600000000, 0}, {1600000000, 0}};
    utimensat(AT_FDCWD, fx_path(f, "src/small.txt"), ts, 0);
}

/* Compares the extracted tree with the source: content, type, mode, mtime. */
static void compare_trees(const char *a, const char *b)
{
    assert_int_equal(fx_sh("diff -r --no-dereference '%s' '%s'", a, b), 0);
    const char *names[] = {"small.txt",    "db/deeper/x.frm",        "empty-dir",
                           "db/multi.ibd", "empty-dir/nested-empty", "link-rel"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char pa[PATH_MAX], pb[PATH_MAX];
        snprintf(pa, sizeof(pa), "%s/%s", a, names[i]);
        snprintf(pb, sizeof(pb), "%s/%s", b, names[i]);
        struct stat sa, sb;
        assert_int_equal(lstat(pa, &sa), 0);
        assert_int_equal(lstat(pb, &sb), 0);
        assert_int_equal(sa.st_mode, sb.st_mode);
        assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
        assert_int_equal(sa.st_size, sb.st_size);
    }
    char target[64] = {0};
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/link-abs", b);
    assert_int_equal(readlink(p, target, sizeof(target)), 13);
    assert_string_equal(target, "/etc/hostname");
}

static void roundtrip(struct fixture *f, int level, unsigned threads)
{
    make_tree(f);
    struct archive_writer_options o = fx_options();
    o.level = level;
    o.threads = threads;
    o.block_size = BLOCK;
    struct archive_summary sum = {0};
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, &sum, &err), MFB_OK);
    assert_int_equal(sum.entries, 17); /* 16 entries and the manifest */
    assert_int_equal(sum.input_bytes, 6 + 2 * BLOCK + 1 + 5 * BLOCK + 77 + 1000 + 3000 + 200000);
    struct stat st;
    assert_int_equal(stat(fx_path(f, "a.zip"), &st), 0);
    assert_int_equal((uint64_t)st.st_size, sum.output_bytes);
    assert_int_equal(fx_test(fx_path(f, "a.zip"), &err), MFB_OK);
    assert_int_equal(fx_extract(fx_path(f, "a.zip"), fx_path(f, "out"), &err), MFB_OK);
    compare_trees(fx_path(f, "src"), fx_path(f, "out"));
    if (level != 0)
        assert_true(sum.output_bytes < sum.input_bytes);
    assert_int_equal(fx_sh("unzip -tqq '%s' >/dev/null", fx_path(f, "a.zip")), 0);
}

static void test_roundtrip_store(void **state)
{
    roundtrip(*state, 0, 2);
}

static void test_roundtrip_isal(void **state)
{
    roundtrip(*state, 1, 3);
}

static void test_roundtrip_default(void **state)
{
    roundtrip(*state, -1, 1);
}

static void test_roundtrip_isal3(void **state)
{
    roundtrip(*state, 3, 4);
}

static void test_roundtrip_zlib(void **state)
{
    roundtrip(*state, 6, 2);
}

static void test_roundtrip_zlib9(void **state)
{
    roundtrip(*state, 9, 2);
}

/* Every entry in order, with its type, as the reader sees it. */
static void expect_entries(const char *zip, const char *const *names, size_t n)
{
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    assert_int_equal(archive_reader_count(r), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(archive_reader_entry(r, i)->name, names[i]);
    archive_reader_free(r);
}

static void test_order_and_types(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    const char *names[] = {"block-plus-one.bin",
                           "db/",
                           "db/deeper/",
                           "db/deeper/x.frm",
                           "db/multi.ibd",
                           "empty-dir/",
                           "empty-dir/nested-empty/",
                           "empty.txt",
                           "link-abs",
                           "link-rel",
                           "noise.bin",
                           "one-block.bin",
                           "small.txt",
                           "with space/",
                           "with space/h\xc3\xa9llo w\xc3\xb6rld.txt",
                           "with space/link-dir",
                           "mfb-manifest.json"};
    expect_entries(fx_path(f, "a.zip"), names, 17);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &r, NULL), MFB_OK);
    const struct archive_entry *e = archive_reader_entry(r, 9);
    assert_int_equal(e->type, ARCHIVE_ENTRY_SYMLINK);
    assert_int_equal(e->size, 9);
    assert_int_equal(archive_reader_entry(r, 6)->type, ARCHIVE_ENTRY_DIR);
    assert_int_equal(archive_reader_entry(r, 12)->mode, 0600);
    assert_int_equal(archive_reader_entry(r, 12)->mtime, 1600000000);
    assert_true(archive_reader_entry(r, 12)->has_owner);
    assert_int_equal(archive_reader_entry(r, 12)->uid, getuid());
    /* multi-block entries stream with a descriptor, single-block ones do not */
    assert_true(archive_reader_entry(r, 4)->flags & ZIP_FLAG_DESCRIPTOR);
    assert_false(archive_reader_entry(r, 11)->flags & ZIP_FLAG_DESCRIPTOR);
    assert_true(archive_reader_entry(r, 14)->flags & ZIP_FLAG_UTF8);
    /* incompressible single-block data is stored, not deflated */
    assert_int_equal(archive_reader_entry(r, 10)->method, ZIP_METHOD_DEFLATE);
    assert_int_equal(archive_reader_entry(r, 7)->method, ZIP_METHOD_STORE);
    archive_reader_free(r);
}

static void test_deterministic_across_threads(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    int levels[] = {0, 2, 6};
    for (size_t i = 0; i < 3; i++) {
        struct archive_writer_options o = fx_options();
        o.block_size = BLOCK;
        o.level = levels[i];
        o.threads = 1;
        char a[64], b[64];
        snprintf(a, sizeof(a), "a%zu.zip", i);
        snprintf(b, sizeof(b), "b%zu.zip", i);
        assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, a), &o, NULL, NULL), MFB_OK);
        o.threads = 4;
        assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, b), &o, NULL, NULL), MFB_OK);
        size_t la, lb;
        unsigned char *da = fx_read(fx_path(f, a), &la);
        unsigned char *db = fx_read(fx_path(f, b), &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
    }
}

static bool contains_sig(const unsigned char *d, size_t len, uint32_t sig)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (zip_get32(d + i) == sig)
            return true;
    return false;
}

static void test_forced_zip64(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.force_zip64 = true;
    const char *zip = fx_path(f, "z64.zip");
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), zip, &o, NULL, &err), MFB_OK);
    size_t len;
    unsigned char *d = fx_read(zip, &len);
    assert_true(contains_sig(d, len, ZIP_SIG_EOCD64));
    assert_true(contains_sig(d, len, ZIP_SIG_LOCATOR64));
    free(d);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    assert_int_equal(archive_reader_entry(r, 4)->version_needed, ZIP_VERSION_ZIP64);
    archive_reader_free(r);
    assert_int_equal(fx_test(zip, &err), MFB_OK);
    assert_int_equal(fx_extract(zip, fx_path(f, "out"), &err), MFB_OK);
    compare_trees(fx_path(f, "src"), fx_path(f, "out"));
    /* the independent readers accept it too */
    assert_int_equal(fx_sh("unzip -tqq '%s' >/dev/null", zip), 0);
    assert_int_equal(fx_sh("7z t '%s' >/dev/null 2>&1", zip), 0);
    assert_int_equal(fx_sh("bsdtar -xOf '%s' >/dev/null", zip), 0);
    assert_int_equal(fx_sh("python3 -c 'import sys, zipfile; "
                           "sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' '%s'",
                           zip),
                     0);
}

/* ---- files that change while they are archived ---- */

enum change { SHRINK, GROW, DISAPPEAR, TOUCH, REPLACE };

struct change_ctx {
    const char *suffix;
    enum change what;
    enum archive_hook_point point;
    int calls;
};

static void change_hook(void *ctx, const char *path, enum archive_hook_point point)
{
    struct change_ctx *c = ctx;
    size_t pl = strlen(path), sl = strlen(c->suffix);
    if (point != c->point || pl < sl || strcmp(path + pl - sl, c->suffix) != 0)
        return;
    c->calls++;
    switch (c->what) {
    case SHRINK:
        assert_int_equal(truncate(path, 1000), 0);
        break;
    case GROW: {
        FILE *fp = fopen(path, "a");
        fputs("more", fp);
        fclose(fp);
        break;
    }
    case DISAPPEAR:
        assert_int_equal(unlink(path), 0);
        break;
    case TOUCH: {
        struct timespec ts[2] = {{1500000000, 0}, {1500000000, 0}};
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
        break;
    }
    case REPLACE: {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        FILE *fp = fopen(tmp, "w");
        fputs("x", fp);
        fclose(fp);
        assert_int_equal(rename(tmp, path), 0);
        break;
    }
    }
}

static void expect_changed(struct fixture *f, size_t size, enum change what,
                           enum archive_hook_point point, const char *word)
{
    fx_write_data(f, "src/a.txt", 10, 1);
    fx_write_data(f, "src/db/t1.ibd", size, 2);
    struct change_ctx c = {.suffix = "/db/t1.ibd", .what = what, .point = point};
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.test_hook = change_hook;
    o.test_hook_ctx = &c;
    struct mfb_error err = {0};
    const char *zip = fx_path(f, "c.zip");
    assert_int_equal(fx_create(fx_path(f, "src"), zip, &o, NULL, &err), MFB_ERR_CHANGED);
    assert_int_equal(c.calls, 1);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want), "file '%s' %s while it was being archived",
             fx_path(f, "src/db/t1.ibd"), word);
    assert_string_equal(err.message, want);
    assert_non_null(strstr(err.hint, "database server really stopped"));
    /* nothing is published under the final name, and no temporary file is left */
    assert_int_equal(access(zip, F_OK), -1);
    assert_int_equal(fx_sh("ls '%s' | grep -q tmp", f->root), 1);
}

static void test_changed_shrank(void **state)
{
    expect_changed(*state, 4 * BLOCK, SHRINK, ARCHIVE_HOOK_AFTER_FIRST_BLOCK, "shrank");
}

static void test_changed_grew(void **state)
{
    expect_changed(*state, 3 * BLOCK + 5, GROW, ARCHIVE_HOOK_AFTER_FIRST_BLOCK, "grew");
}

static void test_changed_grew_small(void **state)
{
    /* a one-block file that grows after its only read: caught by the final stat */
    expect_changed(*state, 100, GROW, ARCHIVE_HOOK_AFTER_FIRST_BLOCK,
                   "changed size (100 bytes, then 104)");
}

static void test_changed_disappeared(void **state)
{
    expect_changed(*state, 5000, DISAPPEAR, ARCHIVE_HOOK_BEFORE_OPEN, "disappeared");
}

static void test_changed_mtime(void **state)
{
    expect_changed(*state, 2 * BLOCK, TOUCH, ARCHIVE_HOOK_AFTER_FIRST_BLOCK, "was modified");
}

static void test_changed_replaced(void **state)
{
    expect_changed(*state, 2 * BLOCK, REPLACE, ARCHIVE_HOOK_BEFORE_OPEN, "was replaced");
}

static void test_changed_before_open_shrink(void **state)
{
    expect_changed(*state, 3 * BLOCK, SHRINK, ARCHIVE_HOOK_BEFORE_OPEN,
                   "changed size (196608 bytes, then 1000)");
}

/* ---- excludes and skipped types ---- */

static void test_excludes(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/mysql.sock", "s", 1);
    fx_write(f, "src/mysql.sock.lock", "l", 1);
    fx_write(f, "src/host.pid", "1", 1);
    fx_write(f, "src/db/t1.ibd", "data", 4);
    fx_write(f, "src/db/debug.log", "log", 3);
    fx_write(f, "src/tmp/scratch", "x", 1);
    fx_write(f, "src/keep.txt", "k", 1);
    fx_write(f, "src/mfb-manifest.json", "{}", 2); /* reserved: skipped with a warning */
    assert_int_equal(mkfifo(fx_path(f, "src/fifo"), 0644), 0);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx_path(f, "src/real-socket"));
    if (strlen(fx_path(f, "src/real-socket")) < sizeof(addr.sun_path))
        assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
    const char *patterns[] = {"*.log", "tmp"};
    struct archive_writer_options o = fx_options();
    o.excludes = patterns;
    o.exclude_count = 2;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    const char *names[] = {"db/", "db/t1.ibd", "keep.txt", "mfb-manifest.json"};
    expect_entries(fx_path(f, "a.zip"), names, 4);
    assert_int_equal(fx_test(fx_path(f, "a.zip"), NULL), MFB_OK);

    o.no_default_excludes = true;
    o.exclude_count = 0;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "b.zip"), &o, NULL, NULL), MFB_OK);
    const char *all[] = {"db/",         "db/debug.log",     "db/t1.ibd",       "host.pid",
                         "keep.txt",    "mysql.sock",       "mysql.sock.lock", "tmp/",
                         "tmp/scratch", "mfb-manifest.json"};
    expect_entries(fx_path(f, "b.zip"), all, 10);
    close(sock);

    /* a path pattern excludes a whole directory by its relative path */
    const char *by_path[] = {"db/*"};
    o.excludes = by_path;
    o.exclude_count = 1;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "c.zip"), &o, NULL, NULL), MFB_OK);
    const char *rest[] = {"db/",         "host.pid",         "keep.txt",
                          "mysql.sock",  "mysql.sock.lock",  "tmp/",
                          "tmp/scratch", "mfb-manifest.json"};
    expect_entries(fx_path(f, "c.zip"), rest, 8);
}

/* ---- cancellation, progress, sink errors ---- */

struct progress_log {
    atomic_bool *cancel;
    uint64_t last_done;
    uint64_t total;
    int calls;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_log *p = ctx;
    assert_true(done >= p->last_done);
    p->last_done = done;
    p->total = total;
    p->calls++;
    if (p->cancel && p->calls == 2)
        atomic_store(p->cancel, true);
}

static void test_progress(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    struct progress_log p = {0};
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.progress = on_progress;
    o.progress_ctx = &p;
    struct archive_summary sum;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, &sum, NULL), MFB_OK);
    assert_int_equal(p.total, sum.input_bytes);
    assert_int_equal(p.last_done, sum.input_bytes);
    assert_true(p.calls >= 9);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    struct progress_log p = {.cancel = &cancel};
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.cancel = &cancel;
    o.progress = on_progress;
    o.progress_ctx = &p;
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, &err),
                     MFB_ERR_CANCELLED);
    assert_string_equal(err.message, "archive cancelled");
    assert_int_equal(p.calls, 2);
    assert_int_equal(access(fx_path(f, "a.zip"), F_OK), -1);
}

struct failing_sink {
    size_t budget;
    size_t written;
};

static mfb_status failing_write(void *ctx, const void *buf, size_t len, struct mfb_error *err)
{
    struct failing_sink *s = ctx;
    (void)buf;
    if (s->written + len > s->budget)
        return mfb_error_set(err, MFB_ERR_NO_SPACE, "sink is full");
    s->written += len;
    return MFB_OK;
}

static void test_sink_error(void **state)
{
    struct fixture *f = *state;
    make_tree(f);
    struct failing_sink fs = {.budget = 100000};
    struct archive_sink sink = {.write = failing_write, .ctx = &fs};
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    struct archive_writer *w = NULL;
    struct mfb_error err = {0};
    assert_int_equal(archive_writer_open(&o, &sink, &w, NULL), MFB_OK);
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "src"), "", NULL), MFB_OK);
    assert_int_equal(archive_writer_finish(w, NULL, &err), MFB_ERR_NO_SPACE);
    assert_string_equal(err.message, "sink is full");
    archive_writer_free(w);
}

/* ---- options, metadata, roots ---- */

static void test_bad_options(void **state)
{
    struct failing_sink fs = {.budget = 0};
    struct archive_sink sink = {.write = failing_write, .ctx = &fs};
    struct archive_writer *w = NULL;
    struct mfb_error err = {0};
    struct archive_writer_options o = fx_options();
    o.level = 10;
    assert_int_equal(archive_writer_open(&o, &sink, &w, &err), MFB_ERR_USAGE);
    o.level = 2;
    o.block_size = 1000;
    mfb_error_clear(&err);
    assert_int_equal(archive_writer_open(&o, &sink, &w, &err), MFB_ERR_USAGE);
    assert_string_equal(err.hint, "use a block size from 64 KiB to 64 MiB");
    assert_null(w);
}

static void test_metadata_and_roots(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "data/db/t.ibd", "table", 5);
    fx_write(f, "binlogs/mysql-bin.000001", "binlog", 6);
    fx_write(f, "undo/undo001", "undo", 4);
    struct file_sink fs;
    struct archive_sink sink;
    struct archive_writer *w = NULL;
    const char *zip = fx_path(f, "a.zip");
    struct mfb_error err = {0};
    assert_int_equal(file_sink_open(&fs, zip, &sink, NULL), MFB_OK);
    struct archive_writer_options o = fx_options();
    assert_int_equal(archive_writer_open(&o, &sink, &w, NULL), MFB_OK);
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "data"), "", NULL), MFB_OK);
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "binlogs"), "binlogs/", NULL), MFB_OK);
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "undo"), "extra/undo", NULL), MFB_OK);
    /* the same prefix twice would store names twice */
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "undo"), "binlogs", &err),
                     MFB_ERR_USAGE);
    assert_string_equal(err.message, "'binlogs/' would be stored twice");
    mfb_error_clear(&err);
    assert_int_equal(archive_writer_add_tree(w, fx_path(f, "undo"), "../up", &err), MFB_ERR_USAGE);
    assert_int_equal(archive_writer_planned_bytes(w), 15);
    json_t *meta =
        json_pack("{s:s, s:[s]}", "server_version", "10.11.6-MariaDB", "sources", "/var/lib/mysql");
    archive_writer_set_metadata(w, meta);
    json_decref(meta);
    assert_int_equal(archive_writer_finish(w, NULL, &err), MFB_OK);
    assert_int_equal(file_sink_publish(&fs, &err), MFB_OK);
    archive_writer_free(w);
    file_sink_close(&fs);

    const char *names[] = {
        "db/",         "db/t.ibd",           "binlogs/",         "binlogs/mysql-bin.000001",
        "extra/undo/", "extra/undo/undo001", "mfb-manifest.json"};
    expect_entries(zip, names, 7);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    assert_true(archive_reader_is_mfb(r));
    assert_int_equal(archive_reader_manifest_index(r), 6);
    char *text = NULL;
    size_t len;
    assert_int_equal(archive_reader_read_alloc(r, 6, 1 << 20, &text, &len, NULL), MFB_OK);
    json_t *m = json_loads(text, 0, NULL);
    assert_non_null(m);
    assert_int_equal(json_integer_value(json_object_get(m, "format")), 1);
    assert_string_equal(json_string_value(json_object_get(m, "created")), "2023-11-14T22:13:20Z");
    assert_string_equal(json_string_value(json_object_get(m, "tool")), "mfb " MFB_VERSION);
    json_t *files = json_object_get(m, "files");
    assert_int_equal(json_array_size(files), 6);
    json_t *t = json_array_get(files, 1);
    assert_string_equal(json_string_value(json_object_get(t, "path")), "db/t.ibd");
    assert_string_equal(json_string_value(json_object_get(t, "type")), "file");
    assert_int_equal(json_integer_value(json_object_get(t, "size")), 5);
    char crc[16];
    snprintf(crc, sizeof(crc), "%08lx", crc32(0, (const Bytef *)"table", 5));
    assert_string_equal(json_string_value(json_object_get(t, "crc32")), crc);
    assert_string_equal(json_string_value(json_object_get(t, "mode")), "0644");
    assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "type")),
                        "dir");
    json_t *md = json_object_get(m, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "server_version")),
                        "10.11.6-MariaDB");
    json_decref(m);
    free(text);
    archive_reader_free(r);
    assert_int_equal(fx_test(zip, NULL), MFB_OK);
}

static void test_refuses_existing_output(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/a", "a", 1);
    fx_write(f, "a.zip", "old", 3);
    struct archive_writer_options o = fx_options();
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, &err),
                     MFB_ERR_EXISTS);
    assert_non_null(strstr(err.message, "already exists"));
    size_t len;
    unsigned char *d = fx_read(fx_path(f, "a.zip"), &len);
    assert_int_equal(len, 3); /* untouched */
    free(d);
}

static void test_output_inside_tree(void **state)
{
    struct fixture *f = *state;
    fx_write_data(f, "src/a.bin", 300000, 9);
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "src/self.zip"), &o, NULL, NULL),
                     MFB_OK);
    const char *names[] = {"a.bin", "mfb-manifest.json"};
    expect_entries(fx_path(f, "src/self.zip"), names, 2);
}

static void test_many_entries_manifest_blocks(void **state)
{
    /* enough entries that the manifest spans several blocks and the dictionary path runs */
    struct fixture *f = *state;
    for (int i = 0; i < 1500; i++) {
        char name[64];
        snprintf(name, sizeof(name), "src/d%02d/file-with-a-longish-name-%04d.dat", i % 7, i);
        fx_write(f, name, name, strlen(name));
    }
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    struct archive_summary sum;
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, &sum, &err), MFB_OK);
    assert_int_equal(sum.entries, 1500 + 7 + 1);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &r, NULL), MFB_OK);
    const struct archive_entry *m = archive_reader_entry(r, archive_reader_manifest_index(r));
    assert_true(m->size > 2 * BLOCK);
    assert_true(m->flags & ZIP_FLAG_DESCRIPTOR);
    archive_reader_free(r);
    assert_int_equal(fx_test(fx_path(f, "a.zip"), &err), MFB_OK);
}

static void test_non_utf8_name(void **state)
{
    /* names are bytes: one that is not UTF-8 round-trips, and the manifest lists it as hex */
    struct fixture *f = *state;
    fx_write(f, "src/latin1-\xe9t\xe9.txt", "summer", 6);
    struct archive_writer_options o = fx_options();
    struct mfb_error err = {0};
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, &err), MFB_OK);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &r, NULL), MFB_OK);
    assert_false(archive_reader_entry(r, 0)->flags & ZIP_FLAG_UTF8);
    char *text = NULL;
    assert_int_equal(archive_reader_read_alloc(r, 1, 1 << 20, &text, NULL, NULL), MFB_OK);
    assert_non_null(strstr(text, "\"path_hex\":\"6c6174696e312de974e92e747874\""));
    free(text);
    archive_reader_free(r);
    assert_int_equal(fx_test(fx_path(f, "a.zip"), &err), MFB_OK);
    assert_int_equal(fx_extract(fx_path(f, "a.zip"), fx_path(f, "out"), &err), MFB_OK);
    assert_int_equal(access(fx_path(f, "out/latin1-\xe9t\xe9.txt"), F_OK), 0);
}

static void test_created_is_newest_mtime(void **state)
{
    /* no clock in the archive: "created" is the newest mtime of the input */
    struct fixture *f = *state;
    fx_write(f, "src/a", "a", 1);
    fx_write(f, "src/b", "b", 1);
    struct timespec t1[2] = {{1600000000, 0}, {1600000000, 0}};
    struct timespec t2[2] = {{1650000000, 0}, {1650000000, 0}};
    struct timespec t0[2] = {{1500000000, 0}, {1500000000, 0}};
    utimensat(AT_FDCWD, fx_path(f, "src/a"), t1, 0);
    utimensat(AT_FDCWD, fx_path(f, "src/b"), t2, 0);
    utimensat(AT_FDCWD, fx_path(f, "src"), t0, 0);
    struct archive_writer_options o = fx_options();
    o.created = 0;
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &r, NULL), MFB_OK);
    char *text = NULL;
    assert_int_equal(archive_reader_read_alloc(r, 2, 1 << 20, &text, NULL, NULL), MFB_OK);
    assert_non_null(strstr(text, "\"created\":\"2022-04-15T05:20:00Z\""));
    assert_int_equal(archive_reader_entry(r, 2)->mtime, 1650000000);
    free(text);
    archive_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_store, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_isal, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_default, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_isal3, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_zlib, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_zlib9, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_order_and_types, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_deterministic_across_threads, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_forced_zip64, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_shrank, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_grew, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_grew_small, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_disappeared, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_mtime, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_replaced, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changed_before_open_shrink, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_excludes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_progress, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sink_error, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test_setup_teardown(test_metadata_and_roots, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_existing_output, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_output_inside_tree, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_entries_manifest_blocks, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_non_utf8_name, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_created_is_newest_mtime, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
