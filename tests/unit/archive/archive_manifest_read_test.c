/*
 * archive_manifest_read_test.c - manifest_read: the manifest entry of an
 * archive read and parsed, and its "metadata" object handed out (or NULL
 * when there is none), as a restore and a restore drill both read it
 * first; a manifest that does not parse is an error that leaves the
 * metadata pointer alone.
 */
#include "unit.h"

#include "archive/manifest.h"
#include "archive_fixture.h"

#define FILE_RECORD                                                                                \
    "{\"path\":\"datadir/ibdata1\",\"type\":\"file\",\"size\":1,\"crc32\":\"00000000\","           \
    "\"mode\":\"0640\",\"mtime\":0,\"uid\":0,\"gid\":0}"

/* An archive of datadir/ibdata1 and a manifest with the text given. */
static struct archive_reader *open_with_manifest(const struct fixture *f, const char *manifest)
{
    const char *zip = fx_path(f, "a.zip");
    struct rawzip_entry entries[] = {{"datadir/ibdata1", "1", S_IFREG | 0640},
                                     {"mfb-manifest.json", manifest, S_IFREG | 0600}};
    rawzip_write(zip, entries, 2);
    struct archive_reader *r = NULL;
    assert_int_equal(archive_reader_open(zip, &r, NULL), MFB_OK);
    assert_int_equal(archive_reader_manifest_index(r), 1);
    return r;
}

static void test_metadata(void **state)
{
    struct archive_reader *r = open_with_manifest(
        *state, "{\"format\":1,\"created\":\"2026-11-25T19:30:00Z\",\"tool\":\"mfb\",\"files\":"
                "[" FILE_RECORD "],\"metadata\":{\"flavour\":\"mariadb\"}}");
    struct manifest m;
    const json_t *meta = NULL;
    assert_int_equal(manifest_read(r, 1, &m, &meta, NULL), MFB_OK);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.files[0].path, "datadir/ibdata1");
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "flavour")), "mariadb");
    manifest_free(&m);
    archive_reader_free(r);
}

static void test_no_metadata(void **state)
{
    struct archive_reader *r = open_with_manifest(
        *state, "{\"format\":1,\"created\":\"2026-11-25T19:30:00Z\",\"tool\":\"mfb\",\"files\":"
                "[" FILE_RECORD "]}");
    struct manifest m;
    const json_t *meta = (const json_t *)&m; /* anything but NULL */
    assert_int_equal(manifest_read(r, 1, &m, &meta, NULL), MFB_OK);
    assert_null(meta);
    manifest_free(&m);
    archive_reader_free(r);
}

static void test_broken(void **state)
{
    struct archive_reader *r = open_with_manifest(*state, "{\"format\":1,\"files\":[");
    struct manifest m = {0};
    const json_t *meta = NULL;
    struct mfb_error err = {0};
    assert_int_not_equal(manifest_read(r, 1, &m, &meta, &err), MFB_OK);
    assert_true(mfb_error_is_set(&err));
    assert_null(meta);
    manifest_free(&m);
    archive_reader_free(r);
}

int main(void)
{
    /* one scratch directory: each test writes its own a.zip there */
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_metadata),
                                       cmocka_unit_test(test_no_metadata),
                                       cmocka_unit_test(test_broken)};
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
