/*
 * common_digest_test.c - SHA-256 wrappers and the Content-Digest header.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "common/digest.h"

static void test_sha256_known_vector(void **state)
{
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    sha256_buffer("abc", 3, d);
    digest_to_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    struct sha256 h;
    assert_int_equal(sha256_init(&h, NULL), MFB_OK);
    sha256_update(&h, "a", 1);
    sha256_update(&h, "bc", 2);
    uint8_t d2[SHA256_LEN];
    sha256_final(&h, d2);
    assert_memory_equal(d, d2, SHA256_LEN);
    sha256_update(&h, "abc", 3); /* reusable after final */
    sha256_final(&h, d2);
    assert_memory_equal(d, d2, SHA256_LEN);
    sha256_free(&h);

    uint8_t back[SHA256_LEN];
    assert_true(digest_from_hex(hex, back));
    assert_memory_equal(d, back, SHA256_LEN);
    assert_false(digest_from_hex("zz", back));
}

static void test_content_digest_round_trip(void **state)
{
    uint8_t d[SHA256_LEN], back[SHA256_LEN];
    sha256_buffer("hello", 5, d);
    char header[80];
    content_digest_format(d, header, sizeof(header));
    assert_string_equal(header, "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:");
    assert_true(content_digest_parse(header, back));
    assert_memory_equal(d, back, SHA256_LEN);
    char both[200];
    snprintf(both, sizeof(both), "sha-512=:AAAA:, %s", header);
    assert_true(content_digest_parse(both, back));
    assert_false(content_digest_parse("sha-256=:short:", back));
    assert_false(content_digest_parse("md5=:abc:", back));
    assert_false(
        content_digest_parse("xsha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:", back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_vector),
        cmocka_unit_test(test_content_digest_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
