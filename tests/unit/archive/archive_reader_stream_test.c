/*
 * archive_reader_stream_test.c - tests of reading an archive while it
 * downloads (reader.h: archive_reader_open_tail, archive_reader_attach_source,
 * archive_reader_same_directory): a reader on the archive's tail has the
 * whole directory and the manifest, asks for a longer tail when the one it
 * has is too short, and reads every entry from a file that holds only a
 * prefix of the archive, waiting for each byte it needs. The bytes arrive
 * as late as possible (only when a read waits for them), after a first
 * piece that ends at every byte of every local header and data descriptor
 * and at points inside the data: a read that did not wait for its bytes
 * would find them missing. mfb's own archives, deflated and stored, with
 * data descriptors (multi-block files), and with Zip64 records everywhere.
 */
#include "unit.h"

#include <pthread.h>

#include "archive_fixture.h"

#define BLOCK (64u * 1024u)

struct feed {
    pthread_mutex_t lock;
    const unsigned char *zip; /* the whole archive */
    size_t size;
    int fd;       /* the growing file */
    size_t have;  /* bytes written into it */
    size_t waits; /* calls that had to deliver bytes */
    size_t max_end;
};

/* The download, as late as it can be: bytes arrive when a read waits for them. */
static mfb_status feed_wait(void *ctx, uint64_t end, struct mfb_error *err)
{
    struct feed *fd = ctx;
    (void)err;
    pthread_mutex_lock(&fd->lock);
    assert_true(end <= fd->size);
    if (end > fd->max_end)
        fd->max_end = (size_t)end;
    if (end > fd->have) {
        ssize_t n = pwrite(fd->fd, fd->zip + fd->have, (size_t)end - fd->have, (off_t)fd->have);
        assert_int_equal((size_t)n, (size_t)end - fd->have);
        fd->have = (size_t)end;
        fd->waits++;
    }
    pthread_mutex_unlock(&fd->lock);
    return MFB_OK;
}

/* A reader on the shortest tail that is enough, found the way the restore
 * finds it: start short, take the offset the reader says it needs. */
static struct archive_reader *tail_reader(const unsigned char *zip, size_t size)
{
    size_t want = 200;
    for (int round = 0; round < 4; round++) {
        size_t len = want < size ? want : size;
        struct archive_reader *r = NULL;
        uint64_t need = 0;
        struct mfb_error err = {0};
        assert_int_equal(
            archive_reader_open_tail("stream.zip", zip + size - len, len, size, &r, &need, &err),
            MFB_OK);
        if (r != NULL)
            return r;
        assert_true(need < size - len); /* it asks for more, never for less */
        want = size - (size_t)need;
    }
    fail_msg("the tail never sufficed");
    return NULL;
}

struct sum_ctx {
    uint32_t crc;
    uint64_t len;
};

static mfb_status sum_data(void *ctx, const uint8_t *buf, size_t len, struct mfb_error *err)
{
    struct sum_ctx *s = ctx;
    (void)err;
    s->crc = (uint32_t)crc32(s->crc, buf, (uInt)len);
    s->len += len;
    return MFB_OK;
}

/* Every entry read through a reader whose file first holds `first` bytes. */
static void read_all_split(const char *dir_path, const unsigned char *zip, size_t size,
                           size_t first, size_t *waits)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/part", dir_path);
    int wfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(wfd >= 0);
    assert_int_equal(pwrite(wfd, zip, first, 0), (ssize_t)first);
    struct feed fd = {.zip = zip, .size = size, .fd = wfd, .have = first};
    pthread_mutex_init(&fd.lock, NULL);
    struct archive_reader *r = tail_reader(zip, size);
    archive_reader_attach_source(r, open(path, O_RDONLY), feed_wait, &fd);
    for (size_t i = 0; i < archive_reader_count(r); i++) {
        const struct archive_entry *e = archive_reader_entry(r, i);
        struct sum_ctx s = {.crc = 0};
        if (i + 1 < archive_reader_count(r) && archive_reader_entry(r, i + 1)->local_offset < first)
            continue; /* wholly in the first piece: nothing to wait for */
        struct mfb_error err = {0};
        if (archive_reader_read(r, i, sum_data, &s, &err) != MFB_OK)
            fail_msg("split at %zu, entry '%s': %s", first, e->name, err.message);
        assert_int_equal(s.len, e->size);
        assert_int_equal(s.crc, e->crc);
    }
    archive_reader_free(r);
    pthread_mutex_destroy(&fd.lock);
    close(wfd);
    if (waits)
        *waits = fd.waits;
}

/* The split points: every byte of every local header (with its name and
 * extra fields) and of every data descriptor, a byte either side, and a
 * few points inside the data. */
static void every_boundary(struct fixture *f, const char *zip_path, bool expect_descriptor)
{
    size_t size = 0;
    unsigned char *zip = fx_read(zip_path, &size);
    struct archive_reader *plain = NULL;
    assert_int_equal(archive_reader_open(zip_path, &plain, NULL), MFB_OK);
    bool saw_descriptor = false;
    size_t cases = 0;
    for (size_t i = 0; i < archive_reader_count(plain); i++) {
        const struct archive_entry *e = archive_reader_entry(plain, i);
        const unsigned char *h = zip + e->local_offset;
        size_t head = ZIP_LOCAL_SIZE + zip_get16(h + 26) + zip_get16(h + 28);
        size_t data = (size_t)e->local_offset + head;
        size_t end = data + (size_t)e->csize;
        size_t tail_end = end;
        if (e->flags & ZIP_FLAG_DESCRIPTOR) {
            saw_descriptor = true;
            tail_end = end + ZIP_DESCRIPTOR64_SIZE;
        }
        for (size_t k = (size_t)e->local_offset; k <= data + 1 && k <= size; k++, cases++)
            read_all_split(f->root, zip, size, k, NULL);
        size_t inside[] = {data + (size_t)e->csize / 3, data + (size_t)e->csize / 2};
        for (size_t j = 0; j < 2; j++, cases++)
            if (inside[j] < end)
                read_all_split(f->root, zip, size, inside[j], NULL);
        for (size_t k = end > 1 ? end - 1 : 0; k <= tail_end + 1 && k <= size; k++, cases++)
            read_all_split(f->root, zip, size, k, NULL);
    }
    assert_true(saw_descriptor == expect_descriptor);
    assert_true(cases > 100);
    /* nothing at all yet: each byte comes when it is needed, in many waits */
    size_t waits = 0;
    read_all_split(f->root, zip, size, 0, &waits);
    assert_true(waits >= archive_reader_count(plain));
    archive_reader_free(plain);
    free(zip);
}

static const char *make_tree(struct fixture *f)
{
    fx_write(f, "src/a.txt", "first file\n", 11);
    fx_write(f, "src/empty", "", 0);
    fx_write_data(f, "src/db/t1.ibd", 2 * BLOCK + 123, 7); /* several blocks: a descriptor */
    fx_write_data(f, "src/db/t2.ibd", 5000, 9);
    fx_write(f, "src/z.txt", "last file\n", 10);
    assert_int_equal(symlink("a.txt", fx_path(f, "src/link")), 0);
    return fx_path(f, "src");
}

static void test_deflated_every_boundary(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    every_boundary(f, fx_path(f, "a.zip"), true);
}

static void test_stored_every_boundary(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.level = 0;
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "s.zip"), &o, NULL, NULL), MFB_OK);
    every_boundary(f, fx_path(f, "s.zip"), true);
}

static void test_zip64_every_boundary(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.force_zip64 = true;
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "z.zip"), &o, NULL, NULL), MFB_OK);
    every_boundary(f, fx_path(f, "z.zip"), true);
}

/* A tail that is too short says where it must start; the directory and the
 * manifest are then there without a byte of the entries' data. */
static void test_tail_too_short(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    size_t size = 0;
    unsigned char *zip = fx_read(fx_path(f, "a.zip"), &size);
    struct archive_reader *plain = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &plain, NULL), MFB_OK);
    size_t m = archive_reader_manifest_index(plain);
    assert_true(m != SIZE_MAX);
    uint64_t manifest_at = archive_reader_entry(plain, m)->local_offset;

    struct archive_reader *r = NULL;
    uint64_t need = 0;
    /* the end record only: it asks for more */
    assert_int_equal(
        archive_reader_open_tail("t.zip", zip + size - 100, 100, size, &r, &need, NULL), MFB_OK);
    assert_null(r);
    assert_true(need < size - 100);
    /* the directory without the manifest's local header: it asks for that */
    uint64_t cd = archive_reader_entry(plain, 0)->record_offset;
    size_t len = size - (size_t)(cd < need ? cd : need);
    assert_true(size - len > manifest_at);
    assert_int_equal(
        archive_reader_open_tail("t.zip", zip + size - len, len, size, &r, &need, NULL), MFB_OK);
    assert_null(r);
    assert_int_equal(need, manifest_at);
    /* from the manifest on: the structure test passes, no data is read */
    len = size - (size_t)manifest_at;
    assert_int_equal(
        archive_reader_open_tail("t.zip", zip + size - len, len, size, &r, &need, NULL), MFB_OK);
    assert_non_null(r);
    struct archive_test_summary sum = {0};
    assert_int_equal(archive_reader_test_structure(r, &sum, NULL), MFB_OK);
    assert_true(sum.manifest_checked);
    assert_int_equal(archive_reader_same_directory(r, plain, NULL), MFB_OK);
    /* without a source, an entry's data cannot be read yet */
    struct mfb_error err = {0};
    assert_int_equal(archive_reader_read(r, 0, NULL, NULL, &err), MFB_ERR_CORRUPT);
    archive_reader_free(r);
    archive_reader_free(plain);
    free(zip);
}

/* A damaged byte in the tail is damage, not a request for more. */
static void test_tail_damaged(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    size_t size = 0;
    unsigned char *zip = fx_read(fx_path(f, "a.zip"), &size);
    struct archive_reader *plain = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &plain, NULL), MFB_OK);
    uint64_t cd = archive_reader_entry(plain, 0)->record_offset;
    archive_reader_free(plain);
    zip[cd] ^= 0x20; /* the first record's signature */
    struct archive_reader *r = NULL;
    uint64_t need = 0;
    struct mfb_error err = {0};
    assert_int_equal(archive_reader_open_tail("t.zip", zip, size, size, &r, &need, &err),
                     MFB_ERR_CORRUPT);
    assert_null(r);
    assert_non_null(strstr(err.message, "central directory is corrupt"));
    free(zip);
}

/* Two archives of different trees: their directories differ, and say so. */
static void test_same_directory(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    const char *src = make_tree(f);
    assert_int_equal(fx_create(src, fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    assert_int_equal(fx_create(src, fx_path(f, "b.zip"), &o, NULL, NULL), MFB_OK);
    fx_write(f, "src/z.txt", "last file!\n", 11);
    assert_int_equal(fx_create(src, fx_path(f, "c.zip"), &o, NULL, NULL), MFB_OK);
    struct archive_reader *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "a.zip"), &a, NULL), MFB_OK);
    assert_int_equal(archive_reader_open(fx_path(f, "b.zip"), &b, NULL), MFB_OK);
    assert_int_equal(archive_reader_open(fx_path(f, "c.zip"), &c, NULL), MFB_OK);
    assert_int_equal(archive_reader_same_directory(a, b, NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(archive_reader_same_directory(a, c, &err), MFB_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "entry 'z.txt'"));
    archive_reader_free(a);
    archive_reader_free(b);
    archive_reader_free(c);
}

/* The extraction (two threads) behind a download that has not begun. */
static void test_extract_behind(void **state)
{
    struct fixture *f = *state;
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    assert_int_equal(fx_create(make_tree(f), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    size_t size = 0;
    unsigned char *zip = fx_read(fx_path(f, "a.zip"), &size);
    int wfd = open(fx_path(f, "part"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(wfd >= 0);
    struct feed fd = {.zip = zip, .size = size, .fd = wfd};
    pthread_mutex_init(&fd.lock, NULL);
    struct archive_reader *r = tail_reader(zip, size);
    archive_reader_attach_source(r, open(fx_path(f, "part"), O_RDONLY), feed_wait, &fd);
    struct archive_extract_options xo = {.threads = 2};
    struct mfb_error err = {0};
    if (archive_extract(r, fx_path(f, "out"), &xo, NULL, &err) != MFB_OK)
        fail_msg("%s", err.message);
    assert_int_equal(
        fx_sh("diff -r --no-dereference '%s' '%s'", fx_path(f, "src"), fx_path(f, "out")), 0);
    assert_true(fd.max_end < size); /* the directory came from the tail */
    archive_reader_free(r);
    pthread_mutex_destroy(&fd.lock);
    close(wfd);
    free(zip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deflated_every_boundary, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stored_every_boundary, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_zip64_every_boundary, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tail_too_short, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tail_damaged, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_same_directory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_extract_behind, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
