/*
 * archive_reader_test.c - tests of src/archive/reader, verify and list:
 * corruption of the data or of any byte of the central directory is caught
 * and named, archives made by Info-ZIP zip (deflated, stored, streamed with
 * data descriptors and Zip64, symlinks) read and extract correctly, and the
 * listing shows what is there.
 */
#include "unit.h"

#include <jansson.h>

#include "archive_fixture.h"

#define BLOCK (64u * 1024u)

/* An archive with a multi-block table file in the middle. */
static const char *make_archive(struct fixture *f, int level)
{
    fx_write(f, "src/a.txt", "first file\n", 11);
    fx_write_data(f, "src/db/t1.ibd", 4 * BLOCK + 123, 7);
    fx_write(f, "src/z.txt", "last file\n", 10);
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.level = level;
    const char *zip = fx_path(f, level == 0 ? "stored.zip" : "a.zip");
    assert_int_equal(fx_create(fx_path(f, "src"), zip, &o, NULL, NULL), MFB_OK);
    return zip;
}

/* Where an entry's data starts, from its local header. */
static uint64_t data_offset(const char *zip, const char *name, uint64_t *csize)
{
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    uint64_t off = 0;
    for (size_t i = 0; i < archive_reader_count(r); i++) {
        const struct archive_entry *e = archive_reader_entry(r, i);
        if (strcmp(e->name, name) != 0)
            continue;
        size_t len;
        unsigned char *d = fx_read(zip, &len);
        const unsigned char *h = d + e->local_offset;
        off = e->local_offset + ZIP_LOCAL_SIZE + zip_get16(h + 26) + zip_get16(h + 28);
        *csize = e->csize;
        free(d);
    }
    archive_reader_free(r);
    assert_true(off > 0);
    return off;
}

static void test_data_corruption_deflated(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, -1);
    uint64_t csize;
    uint64_t off = data_offset(zip, "db/t1.ibd", &csize);
    /* several positions: the start, the middle, the last bytes of the stream */
    uint64_t positions[] = {off + 3, off + csize / 2, off + csize - 2};
    for (size_t i = 0; i < 3; i++) {
        fx_flip(zip, positions[i], 0x20);
        struct mfb_error err = {0};
        assert_int_equal(fx_test(zip, &err), MFB_ERR_CORRUPT);
        assert_true(strncmp(err.message, "entry 'db/t1.ibd': ", 19) == 0);
        assert_non_null(strstr(err.hint, "damaged"));
        fx_flip(zip, positions[i], 0x20);
        assert_int_equal(fx_test(zip, NULL), MFB_OK);
    }
}

static void test_data_corruption_stored(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, 0);
    uint64_t csize;
    uint64_t off = data_offset(zip, "db/t1.ibd", &csize);
    fx_flip(zip, off + 1000, 0x01);
    struct mfb_error err = {0};
    assert_int_equal(fx_test(zip, &err), MFB_ERR_CORRUPT);
    assert_true(strncmp(err.message, "entry 'db/t1.ibd': crc mismatch (stored ", 40) == 0);
    assert_non_null(strstr(err.message, ", computed "));
    /* extract stops at the entry and leaves no damaged file behind */
    mfb_error_clear(&err);
    assert_int_equal(fx_extract(zip, fx_path(f, "out"), &err), MFB_ERR_CORRUPT);
    assert_true(strncmp(err.message, "entry 'db/t1.ibd': crc mismatch", 31) == 0);
    assert_int_equal(access(fx_path(f, "out/db/t1.ibd"), F_OK), -1);
    assert_int_equal(access(fx_path(f, "out/a.txt"), F_OK), 0);
}

/* Every single byte of the central directory and of the end records, changed
 * in turn, makes `test` fail. */
static void test_every_directory_byte(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, -1);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    uint64_t cd = archive_reader_entry(r, 0)->record_offset;
    archive_reader_free(r);
    size_t len;
    unsigned char *orig = fx_read(zip, &len);
    int named = 0;
    for (uint64_t pos = cd; pos < len; pos++) {
        fx_flip(zip, pos, 0x04);
        struct mfb_error err = {0};
        mfb_status s = fx_test(zip, &err);
        if (s == MFB_OK)
            fail_msg("changing byte %llu (directory at %llu) went unnoticed",
                     (unsigned long long)pos, (unsigned long long)cd);
        assert_true(s == MFB_ERR_CORRUPT || s == MFB_ERR_UNSUPPORTED);
        if (strncmp(err.message, "entry '", 7) == 0)
            named++;
        else
            assert_true(strstr(err.message, "central directory") != NULL ||
                        strstr(err.message, "not a zip archive") != NULL ||
                        strstr(err.message, "multi-part") != NULL ||
                        strstr(err.message, "manifest") != NULL);
        fx_flip(zip, pos, 0x04);
    }
    /* most changes inside records are blamed on the entry they belong to */
    assert_true(named > 100);
    size_t len2;
    unsigned char *back = fx_read(zip, &len2);
    assert_memory_equal(orig, back, len);
    free(orig);
    free(back);
}

/* In a stored archive every byte matters: headers, descriptors, data (through
 * the CRC), directory and end records. Each one changed in turn fails `test`. */
static void test_every_byte_stored(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/a.txt", "first file\n", 11);
    fx_write_data(f, "src/db/t1.ibd", BLOCK + 500, 7);
    assert_int_equal(symlink("a.txt", fx_path(f, "src/link")), 0);
    struct archive_writer_options o = fx_options();
    o.block_size = BLOCK;
    o.level = 0;
    const char *zip = fx_path(f, "s.zip");
    assert_int_equal(fx_create(fx_path(f, "src"), zip, &o, NULL, NULL), MFB_OK);
    uint64_t csize;
    uint64_t data = data_offset(zip, "db/t1.ibd", &csize);
    size_t len;
    unsigned char *orig = fx_read(zip, &len);
    for (uint64_t pos = 0; pos < len; pos++) {
        if (pos > data + 2 && pos + 2 < data + csize && pos % 997 != 0)
            continue; /* a sample of the large file's data is enough */
        fx_flip(zip, pos, 0x40);
        if (fx_test(zip, NULL) == MFB_OK)
            fail_msg("changing byte %llu of %zu went unnoticed", (unsigned long long)pos, len);
        fx_flip(zip, pos, 0x40);
    }
    free(orig);
}

/* Damage anywhere in a deflated archive is reported, never crashes the
 * reader (the sanitizer build runs this), and is missed only in the few
 * bits deflate ignores (padding before a byte-aligned block). */
static void test_scattered_damage_deflated(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, -1);
    size_t len;
    unsigned char *orig = fx_read(zip, &len);
    int missed = 0, tried = 0;
    for (uint64_t pos = 0; pos < len; pos += 211) {
        fx_flip(zip, pos, 0xff);
        struct mfb_error err = {0};
        mfb_status s = fx_test(zip, &err);
        assert_true(s == MFB_OK || s == MFB_ERR_CORRUPT || s == MFB_ERR_UNSUPPORTED);
        missed += s == MFB_OK;
        tried++;
        fx_flip(zip, pos, 0xff);
    }
    assert_true(missed * 50 < tried);
    free(orig);
}

static void test_directory_name_byte(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, -1);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    const struct archive_entry *e = archive_reader_entry(r, 2);
    assert_string_equal(e->name, "db/t1.ibd");
    uint64_t name_at = e->record_offset + ZIP_CENTRAL_SIZE + 8; /* the 'd' of ".ibd" */
    uint64_t crc_at = e->record_offset + 16;
    archive_reader_free(r);
    fx_flip(zip, name_at, 'd' ^ 'x');
    struct mfb_error err = {0};
    assert_int_equal(fx_test(zip, &err), MFB_ERR_CORRUPT);
    assert_string_equal(err.message,
                        "entry 'db/t1.ibx': its name differs from the local header's "
                        "('db/t1.ibd'); the central directory or the local header is corrupt");
    fx_flip(zip, name_at, 'd' ^ 'x');
    fx_flip(zip, crc_at, 0x10);
    mfb_error_clear(&err);
    assert_int_equal(fx_test(zip, &err), MFB_ERR_CORRUPT);
    assert_true(strncmp(err.message, "entry 'db/t1.ibd': ", 19) == 0);
}

static void test_not_a_zip(void **state)
{
    struct fixture *f = *state;
    fx_write_data(f, "junk.zip", 5000, 3);
    struct mfb_error err = {0};
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(fx_path(f, "junk.zip"), &r, &err), MFB_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "is not a zip archive"));
    assert_null(r);
    fx_write(f, "tiny.zip", "PK", 2);
    assert_int_equal(archive_reader_open(fx_path(f, "tiny.zip"), &r, NULL), MFB_ERR_CORRUPT);
    mfb_error_clear(&err);
    assert_int_equal(archive_reader_open(fx_path(f, "missing.zip"), &r, &err), MFB_ERR_NOT_FOUND);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    const char *zip = make_archive(f, -1);
    struct stat st;
    assert_int_equal(stat(zip, &st), 0);
    assert_int_equal(truncate(zip, st.st_size - 30), 0);
    struct mfb_error err = {0};
    assert_int_equal(fx_test(zip, &err), MFB_ERR_CORRUPT);
}

/* ---- archives made by Info-ZIP zip ---- */

static void make_source(struct fixture *f)
{
    fx_write(f, "src/a.txt", "alpha\n", 6);
    fx_write_data(f, "src/db/big.ibd", 700000, 11);
    fx_write(f, "src/sp ace/\xc3\xbc.txt", "u", 1);
    fx_write(f, "src/empty", "", 0);
    assert_int_equal(fs_mkdir_p(fx_path(f, "src/emptydir"), 0755, NULL), MFB_OK);
    chmod(fx_path(f, "src/a.txt"), 0640);
}

static void check_extracts_like_source(struct fixture *f, const char *zip)
{
    struct mfb_error err = {0};
    struct archive_reader *r = NULL;
    struct archive_test_summary sum = {0};
    assert_int_equal(archive_reader_open(zip, &r, &err), MFB_OK);
    assert_false(archive_reader_is_mfb(r));
    assert_int_equal(archive_reader_test(r, &sum, &err), MFB_OK);
    assert_false(sum.manifest_checked);
    archive_reader_free(r);
    unit_rmtree(fx_path(f, "out"));
    assert_int_equal(fx_extract(zip, fx_path(f, "out"), &err), MFB_OK);
    assert_int_equal(
        fx_sh("diff -r --no-dereference '%s' '%s'", fx_path(f, "src"), fx_path(f, "out")), 0);
    struct stat st;
    assert_int_equal(stat(fx_path(f, "out/a.txt"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
}

static void test_info_zip_deflated(void **state)
{
    struct fixture *f = *state;
    make_source(f);
    assert_int_equal(fx_sh("cd '%s' && zip -qry '%s' .", fx_path(f, "src"), fx_path(f, "iz.zip")),
                     0);
    check_extracts_like_source(f, fx_path(f, "iz.zip"));
}

static void test_info_zip_stored(void **state)
{
    struct fixture *f = *state;
    make_source(f);
    assert_int_equal(fx_sh("cd '%s' && zip -qry0 '%s' .", fx_path(f, "src"), fx_path(f, "iz0.zip")),
                     0);
    check_extracts_like_source(f, fx_path(f, "iz0.zip"));
}

static void test_info_zip_symlinks(void **state)
{
    struct fixture *f = *state;
    make_source(f);
    assert_int_equal(symlink("a.txt", fx_path(f, "src/link")), 0);
    assert_int_equal(fx_sh("cd '%s' && zip -qry '%s' .", fx_path(f, "src"), fx_path(f, "l.zip")),
                     0);
    check_extracts_like_source(f, fx_path(f, "l.zip"));
    char target[16] = {0};
    assert_int_equal(readlink(fx_path(f, "out/link"), target, sizeof(target)), 5);
    assert_string_equal(target, "a.txt");
}

static void test_info_zip_zip64(void **state)
{
    struct fixture *f = *state;
    make_source(f);
    assert_int_equal(
        fx_sh("cd '%s' && zip -qry -fz '%s' .", fx_path(f, "src"), fx_path(f, "z64.zip")), 0);
    check_extracts_like_source(f, fx_path(f, "z64.zip"));
}

static void test_info_zip_streamed(void **state)
{
    /* zip reading standard input writes data descriptors and Zip64 local fields */
    struct fixture *f = *state;
    fx_write_data(f, "in.bin", 900000, 5);
    assert_int_equal(
        fx_sh("zip -q - - < '%s' | cat > '%s'", fx_path(f, "in.bin"), fx_path(f, "s.zip")), 0);
    fx_write(f, "small.txt", "tiny\n", 5);
    assert_int_equal(
        fx_sh("cat '%s' | zip -q - - | cat > '%s'", fx_path(f, "small.txt"), fx_path(f, "s0.zip")),
        0);
    struct archive_reader *r = NULL;
    struct mfb_error err = {0};
    assert_int_equal(archive_reader_open(fx_path(f, "s.zip"), &r, &err), MFB_OK);
    const struct archive_entry *e = archive_reader_entry(r, 0);
    assert_string_equal(e->name, "-");
    assert_true(e->flags & ZIP_FLAG_DESCRIPTOR);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(archive_reader_read_alloc(r, 0, 1 << 20, &data, &len, &err), MFB_OK);
    size_t olen;
    unsigned char *orig = fx_read(fx_path(f, "in.bin"), &olen);
    assert_int_equal(len, olen);
    assert_memory_equal(data, orig, len);
    free(orig);
    free(data);
    archive_reader_free(r);
    assert_int_equal(archive_reader_open(fx_path(f, "s0.zip"), &r, &err), MFB_OK);
    assert_int_equal(archive_reader_test(r, NULL, &err), MFB_OK);
    assert_int_equal(archive_reader_read_alloc(r, 0, 100, &data, &len, &err), MFB_OK);
    assert_string_equal(data, "tiny\n");
    free(data);
    archive_reader_free(r);
}

/* ---- list ---- */

static char *list_to_string(const char *zip, bool json)
{
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(archive_reader_list(r, out, json, NULL), MFB_OK);
    fclose(out);
    archive_reader_free(r);
    return buf;
}

static void test_list(void **state)
{
    struct fixture *f = *state;
    fx_write(f, "src/a.txt", "hello", 5);
    chmod(fx_path(f, "src/a.txt"), 0640);
    struct timespec ts[2] = {{1700000000, 0}, {1700000000, 0}};
    utimensat(AT_FDCWD, fx_path(f, "src/a.txt"), ts, 0);
    assert_int_equal(symlink("a.txt", fx_path(f, "src/l")), 0);
    assert_int_equal(fs_mkdir_p(fx_path(f, "src/d"), 0755, NULL), MFB_OK);
    struct archive_writer_options o = fx_options();
    assert_int_equal(fx_create(fx_path(f, "src"), fx_path(f, "a.zip"), &o, NULL, NULL), MFB_OK);
    char *text = list_to_string(fx_path(f, "a.zip"), false);
    assert_non_null(
        strstr(text, "-rw-r-----            5            5 2023-11-14 22:13:20 a.txt\n"));
    assert_non_null(strstr(text, "drwxr-xr-x            0            0 "));
    assert_non_null(strstr(text, " d/\n"));
    assert_non_null(strstr(text, " l -> a.txt\n"));
    assert_non_null(strstr(text, " mfb-manifest.json\n"));
    free(text);
    text = list_to_string(fx_path(f, "a.zip"), true);
    json_t *a = json_loads(text, 0, NULL);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 4);
    json_t *e = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(e, "name")), "a.txt");
    assert_string_equal(json_string_value(json_object_get(e, "mode")), "0640");
    assert_string_equal(json_string_value(json_object_get(e, "mtime")), "2023-11-14T22:13:20Z");
    assert_int_equal(json_integer_value(json_object_get(e, "size")), 5);
    json_t *l = json_array_get(a, 2);
    assert_string_equal(json_string_value(json_object_get(l, "type")), "symlink");
    assert_string_equal(json_string_value(json_object_get(l, "target")), "a.txt");
    json_decref(a);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_data_corruption_deflated, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_data_corruption_stored, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_every_directory_byte, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_every_byte_stored, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_scattered_damage_deflated, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_directory_name_byte, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_zip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_truncated, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_zip_deflated, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_zip_stored, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_zip_symlinks, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_zip_zip64, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_info_zip_streamed, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_list, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
