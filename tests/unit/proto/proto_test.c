/*
 * proto_test.c - the protocol's name rules, ids, chunk arithmetic, error
 * codes and paths (src/proto).
 */
#include "unit.h"

#include <string.h>

#include "proto/proto.h"

static void assert_name_rejected(const char *name, const char *reason)
{
    char why[128] = "";
    assert_false(proto_name_valid(name, why, sizeof(why)));
    assert_string_equal(why, reason);
}

static void test_names(void **state)
{
    assert_true(proto_name_valid("prod_20261125-193000.zip", NULL, 0));
    assert_true(proto_name_valid("db.zip", NULL, 0));
    assert_true(proto_name_valid("caf\xc3\xa9 \xe2\x82\xac", NULL, 0)); /* café € */
    char max[129];
    memset(max, 'a', 128);
    max[128] = '\0';
    assert_true(proto_name_valid(max, NULL, 0));
    char over[130];
    memset(over, 'a', 129);
    over[129] = '\0';
    assert_name_rejected(over, "name must be at most 128 bytes");
    assert_name_rejected("", "name must not be empty");
    assert_name_rejected("..", "name must not start with '.' (no '.' or '..')");
    assert_name_rejected(".", "name must not start with '.' (no '.' or '..')");
    assert_name_rejected(".hidden", "name must not start with '.' (no '.' or '..')");
    assert_name_rejected("../etc", "name must not start with '.' (no '.' or '..')");
    assert_name_rejected("a/b", "name must not contain '/'");
    assert_name_rejected("a\\b", "name must not contain '\\'");
    const char *bad_utf8 = "name must be printable UTF-8 without control characters";
    assert_name_rejected("a\nb", bad_utf8);
    assert_name_rejected("a\x7f", bad_utf8);
    assert_name_rejected("a\xc2\x85", bad_utf8);     /* C1 control NEL */
    assert_name_rejected("a\xc0\xaf", bad_utf8);     /* overlong '/' */
    assert_name_rejected("a\xed\xa0\x80", bad_utf8); /* surrogate */
    assert_name_rejected("a\xe2\x82", bad_utf8);     /* truncated sequence */
    assert_name_rejected("\xff", bad_utf8);
    assert_false(proto_name_valid(NULL, NULL, 0));
}

static void test_directories(void **state)
{
    char why[128];
    assert_true(proto_directory_valid("nightly", why, sizeof(why)));
    assert_true(proto_directory_valid("a/b/c/d/e/f/g/h", why, sizeof(why)));
    assert_false(proto_directory_valid("a/b/c/d/e/f/g/h/i", why, sizeof(why)));
    assert_string_equal(why, "directory must have at most 8 components");
    assert_false(proto_directory_valid("a//b", why, sizeof(why)));
    assert_false(proto_directory_valid("/a", why, sizeof(why)));
    assert_false(proto_directory_valid("a/", why, sizeof(why)));
    assert_false(proto_directory_valid("a/../b", why, sizeof(why)));
    assert_string_equal(why, "name must not start with '.' (no '.' or '..')");
    assert_false(proto_directory_valid("", why, sizeof(why)));
    assert_false(proto_directory_valid("a/b\\c", why, sizeof(why)));
}

static void test_ids(void **state)
{
    assert_true(proto_id_valid("u_0123456789abcdef0123456789abcdef", 'u'));
    assert_false(proto_id_valid("u_0123456789abcdef0123456789abcdef", 'b'));
    assert_false(proto_id_valid("u_0123456789ABCDEF0123456789abcdef", 'u'));
    assert_false(proto_id_valid("u_0123456789abcdef0123456789abcde", 'u'));
    assert_false(proto_id_valid("u_0123456789abcdef0123456789abcdef0", 'u'));
    assert_false(proto_id_valid("u_../456789abcdef0123456789abcdef", 'u'));
    assert_false(proto_id_valid(NULL, 'u'));
}

static void test_chunks(void **state)
{
    assert_true(proto_chunk_size_valid(1 << 20, PROTO_CHUNK_DEFAULT_MAX));
    assert_true(proto_chunk_size_valid(64ULL << 20, PROTO_CHUNK_DEFAULT_MAX));
    assert_false(proto_chunk_size_valid(128ULL << 20, PROTO_CHUNK_DEFAULT_MAX));
    assert_false(proto_chunk_size_valid(3 << 20, PROTO_CHUNK_DEFAULT_MAX));
    assert_false(proto_chunk_size_valid(1 << 19, PROTO_CHUNK_DEFAULT_MAX));
    assert_int_equal(proto_chunk_count(0, 1 << 20), 0);
    assert_int_equal(proto_chunk_count(1, 1 << 20), 1);
    assert_int_equal(proto_chunk_count(1 << 20, 1 << 20), 1);
    assert_int_equal(proto_chunk_count((1 << 20) + 1, 1 << 20), 2);
    assert_int_equal(proto_chunk_length((1 << 20) + 5, 1 << 20, 0), 1 << 20);
    assert_int_equal(proto_chunk_length((1 << 20) + 5, 1 << 20, 1), 5);
    assert_int_equal(proto_chunk_length((1 << 20) + 5, 1 << 20, 2), 0);
}

static void test_errors_and_paths(void **state)
{
    assert_string_equal(proto_error_code(PROTO_CHUNK_OUT_OF_RANGE), "chunk_out_of_range");
    assert_int_equal(proto_error_status(PROTO_CHUNK_OUT_OF_RANGE), 400);
    assert_int_equal(proto_error_status(PROTO_UNAUTHORIZED), 401);
    assert_int_equal(proto_error_status(PROTO_NOT_FOUND), 404);
    assert_int_equal(proto_error_status(PROTO_TOO_LARGE), 413);
    assert_int_equal(proto_error_status(PROTO_DIGEST_MISMATCH), 422);
    assert_int_equal(proto_error_status(PROTO_INSUFFICIENT_STORAGE), 507);
    enum proto_error e;
    assert_true(proto_error_from_code("insufficient_storage", &e));
    assert_int_equal(e, PROTO_INSUFFICIENT_STORAGE);
    assert_false(proto_error_from_code("nope", &e));
    for (unsigned i = 0; i < PROTO_ERROR_COUNT; i++) {
        assert_true(proto_error_from_code(proto_error_code((enum proto_error)i), &e));
        assert_int_equal(e, i);
    }
    char buf[128];
    const char *id = "u_0123456789abcdef0123456789abcdef";
    assert_true(proto_path_chunk(buf, sizeof(buf), id, 42));
    assert_string_equal(buf, "/v1/uploads/u_0123456789abcdef0123456789abcdef/chunks/42");
    assert_true(proto_path_complete(buf, sizeof(buf), id));
    assert_string_equal(buf, "/v1/uploads/u_0123456789abcdef0123456789abcdef/complete");
    assert_false(proto_path_upload(buf, 10, id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_directories),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_errors_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
