/*
 * archive_manifest_metadata_test.c - manifest_parse keeps the "metadata"
 * object in the parsed root, in mfb's line-per-record form and in any other
 * layout: a restore reads the server's flavour, version and roots there.
 */
#include "unit.h"

#include <string.h>

#include "archive/manifest.h"

static void check(const char *text)
{
    struct manifest m;
    assert_int_equal(manifest_parse(text, strlen(text), &m, NULL), MFB_OK);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.files[0].path, "datadir/ibdata1");
    json_t *meta = json_object_get(m.root, "metadata");
    assert_true(json_is_object(meta));
    assert_string_equal(json_string_value(json_object_get(meta, "flavour")), "mariadb");
    json_t *roots = json_object_get(meta, "roots");
    assert_int_equal(json_array_size(roots), 1);
    manifest_free(&m);
}

static void test_metadata_kept(void **state)
{
    /* as the writer streams it: one record per line */
    check("{\"format\":1,\"created\":\"2026-11-25T19:30:00Z\",\"tool\":\"mfb 0.1.0\",\"files\":[\n"
          "{\"path\":\"datadir/ibdata1\",\"type\":\"file\",\"size\":4,\"crc32\":\"00000000\","
          "\"mode\":\"0640\",\"mtime\":0,\"uid\":0,\"gid\":0}\n"
          "],\"metadata\":{\"flavour\":\"mariadb\",\"roots\":[{\"name\":\"datadir\","
          "\"path\":\"/var/lib/mysql\"}]}}\n");
    /* the same document laid out otherwise */
    check("{\"format\": 1, \"created\": \"2026-11-25T19:30:00Z\", \"tool\": \"x\", \"metadata\": "
          "{\"flavour\": \"mariadb\", \"roots\": [{\"name\": \"datadir\", \"path\": \"/v\"}]}, "
          "\"files\": [{\"path\": \"datadir/ibdata1\", \"type\": \"file\", \"size\": 4, "
          "\"crc32\": \"00000000\", \"mode\": \"0640\", \"mtime\": 0, \"uid\": 0, \"gid\": 0}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_metadata_kept)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
