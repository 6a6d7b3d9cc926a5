/*
 * archive_manifest_test.c - tests of src/archive/manifest: the generator's
 * text in small pieces is valid JSON, parsing reads the generator's
 * one-record-per-line layout and any other layout alike, and malformed or
 * future manifests are refused with a clear message.
 */
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/manifest.h"
#include "archive/scan.h"

static void add(struct scan_list *list, const char *name, enum scan_type type, uint64_t size,
                uint32_t crc)
{
    assert_int_equal(scan_add_special(list, name, type,
                                      (type == SCAN_DIR ? S_IFDIR : S_IFREG) | 0640, 1700000000,
                                      NULL),
                     MFB_OK);
    struct scan_entry *e = &list->entries[list->count - 1];
    e->size = size;
    e->crc = crc;
}

/* Generates the manifest through a tiny buffer, so records split across fills. */
static char *generate(struct scan_list *list, json_t *meta, size_t *len)
{
    struct manifest_gen *g = NULL;
    assert_int_equal(manifest_gen_create(list, list->count, meta, 1700000000, &g, NULL), MFB_OK);
    char *text = NULL;
    size_t used = 0;
    bool done = false;
    while (!done) {
        text = realloc(text, used + 8);
        size_t n = 0;
        assert_int_equal(manifest_gen_fill(g, (uint8_t *)text + used, 7, &n, &done, NULL), MFB_OK);
        used += n;
    }
    text[used] = '\0';
    manifest_gen_free(g);
    *len = used;
    return text;
}

static void test_generate_and_parse(void **state)
{
    struct scan_list list = {0};
    add(&list, "db/", SCAN_DIR, 0, 0);
    add(&list, "db/t1.ibd", SCAN_FILE, 98304, 0x1a2b3c4d);
    add(&list, "we\"ird\n name", SCAN_FILE, 1, 0xffffffff);
    json_t *meta = json_pack("{s:s}", "server_version", "10.11");
    size_t len;
    char *text = generate(&list, meta, &len);
    json_t *whole = json_loads(text, 0, NULL);
    assert_non_null(whole);
    assert_int_equal(json_array_size(json_object_get(whole, "files")), 3);
    assert_true(manifest_size_bound(&list, list.count, meta) > len);

    struct manifest m;
    assert_int_equal(manifest_parse(text, len, &m, NULL), MFB_OK);
    assert_int_equal(m.count, 3);
    assert_string_equal(m.files[0].path, "db");
    assert_string_equal(m.files[0].type, "dir");
    assert_string_equal(m.files[1].path, "db/t1.ibd");
    assert_int_equal(m.files[1].size, 98304);
    assert_int_equal(m.files[1].crc, 0x1a2b3c4d);
    assert_int_equal(m.files[1].mode, 0640);
    assert_int_equal(m.files[1].mtime, 1700000000);
    assert_true(m.files[1].has_owner);
    assert_string_equal(m.files[2].path, "we\"ird\n name");
    manifest_free(&m);

    /* the same document in another layout parses to the same records */
    char *pretty = json_dumps(whole, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_int_equal(manifest_parse(pretty, strlen(pretty), &m, NULL), MFB_OK);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.files[2].crc, 0xffffffff);
    manifest_free(&m);
    free(pretty);
    json_decref(whole);
    json_decref(meta);
    free(text);
    scan_list_free(&list);
}

static void test_empty_list(void **state)
{
    struct scan_list list = {0};
    size_t len;
    char *text = generate(&list, NULL, &len);
    struct manifest m;
    assert_int_equal(manifest_parse(text, len, &m, NULL), MFB_OK);
    assert_int_equal(m.count, 0);
    manifest_free(&m);
    free(text);
}

static void test_malformed(void **state)
{
    struct manifest m;
    struct mfb_error err = {0};
    const char *bad_crc = "{\"format\":1,\"files\":[\n"
                          "{\"path\":\"a\",\"type\":\"file\",\"size\":1,\"crc32\":\"zz\",\"mode\":"
                          "\"0644\",\"mtime\":1}\n],\"metadata\":{}}\n";
    assert_int_equal(manifest_parse(bad_crc, strlen(bad_crc), &m, &err), MFB_ERR_CORRUPT);
    assert_string_equal(err.message, "manifest entry 1 has a bad crc32");
    manifest_free(&m);
    mfb_error_clear(&err);
    const char *no_type = "{\"format\":1,\"files\":[{\"path\":\"a\",\"size\":1}],\"metadata\":{}}";
    assert_int_equal(manifest_parse(no_type, strlen(no_type), &m, &err), MFB_ERR_CORRUPT);
    assert_string_equal(err.message, "manifest entry 1 is malformed");
    manifest_free(&m);
    mfb_error_clear(&err);
    const char *future = "{\"format\":2,\"files\":[\n],\"metadata\":{}}\n";
    assert_int_equal(manifest_parse(future, strlen(future), &m, &err), MFB_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "manifest format 2 is not supported");
    manifest_free(&m);
    mfb_error_clear(&err);
    const char *broken = "{\"format\":1,\"files\":[\n{\"path\":";
    assert_int_equal(manifest_parse(broken, strlen(broken), &m, &err), MFB_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "manifest is not valid JSON"));
    manifest_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_parse),
        cmocka_unit_test(test_empty_list),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
