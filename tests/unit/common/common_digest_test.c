/*
 * common_digest_test.c - SHA-256 wrappers, the two-stream update checked
 * against OpenSSL's one-shot digest, and the Content-Digest header.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/sha256_x2.h"

static void test_sha256_known_vector(void **state)
{
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN + 1];
    sha256_buffer("abc", 3, d);
    digest_to_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    struct sha256 h;
    sha256_init(&h);
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

/* Deterministic bytes that differ at every offset. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Feeds a and b through sha256_update2 in pieces of `piece` bytes, after
 * `skew_a` / `skew_b` bytes fed alone (so their block positions differ),
 * and checks both digests against one-shot digests of the same bytes. */
static void check_update2(const uint8_t *a, const uint8_t *b, size_t len, size_t piece,
                          size_t skew_a, size_t skew_b)
{
    struct sha256 ha, hb;
    sha256_init(&ha);
    sha256_init(&hb);
    sha256_update(&ha, a, skew_a);
    sha256_update(&hb, b, skew_b);
    size_t left_a = len - skew_a, left_b = len - skew_b;
    const uint8_t *pa = a + skew_a, *pb = b + skew_b;
    while (left_a > 0 && left_b > 0) {
        size_t n = piece;
        if (n > left_a)
            n = left_a;
        if (n > left_b)
            n = left_b;
        sha256_update2(&ha, pa, &hb, pb, n);
        pa += n;
        pb += n;
        left_a -= n;
        left_b -= n;
    }
    sha256_update(&ha, pa, left_a);
    sha256_update(&hb, pb, left_b);
    uint8_t got_a[SHA256_LEN], got_b[SHA256_LEN], want_a[SHA256_LEN], want_b[SHA256_LEN];
    sha256_final(&ha, got_a);
    sha256_final(&hb, got_b);
    sha256_buffer(a, len, want_a);
    sha256_buffer(b, len, want_b);
    assert_memory_equal(got_a, want_a, SHA256_LEN);
    assert_memory_equal(got_b, want_b, SHA256_LEN);
}

static void test_sha256_update2_matches_openssl(void **state)
{
    enum { MAX = 1 << 16 };
    uint8_t *a = malloc(MAX), *b = malloc(MAX);
    assert_non_null(a);
    assert_non_null(b);
    fill(a, MAX, 1);
    fill(b, MAX, 2);
    static const size_t lengths[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4096, MAX};
    static const size_t pieces[] = {1, 13, 64, 100, 4096, MAX};
    static const size_t skews[][2] = {{0, 0}, {0, 1}, {7, 7}, {64, 0}, {33, 63}};
    for (size_t l = 0; l < sizeof(lengths) / sizeof(*lengths); l++)
        for (size_t p = 0; p < sizeof(pieces) / sizeof(*pieces); p++)
            for (size_t k = 0; k < sizeof(skews) / sizeof(*skews); k++) {
                size_t len = lengths[l];
                if (skews[k][0] > len || skews[k][1] > len)
                    continue;
                check_update2(a, b, len, pieces[p], skews[k][0], skews[k][1]); /* two streams */
                check_update2(a, a, len, pieces[p], skews[k][0], skews[k][1]); /* shared bytes */
            }
    free(a);
    free(b);
}

/* A chunk's digest and the file's, fed the same bytes in one pass from
 * the middle of the file, as the uploader and the receiver do. */
static void test_sha256_update2_chunk_and_file(void **state)
{
    enum { CHUNK = 4096, CHUNKS = 5 };
    uint8_t *file = malloc(CHUNK * CHUNKS);
    assert_non_null(file);
    fill(file, CHUNK * CHUNKS, 3);
    struct sha256 whole, chunk;
    sha256_init(&whole);
    sha256_init(&chunk);
    for (int i = 0; i < CHUNKS; i++) {
        sha256_update2(&whole, file + i * CHUNK, &chunk, file + i * CHUNK, CHUNK);
        uint8_t got[SHA256_LEN], want[SHA256_LEN];
        sha256_final(&chunk, got);
        sha256_buffer(file + i * CHUNK, CHUNK, want);
        assert_memory_equal(got, want, SHA256_LEN);
    }
    uint8_t got[SHA256_LEN], want[SHA256_LEN];
    sha256_final(&whole, got);
    sha256_buffer(file, CHUNK * CHUNKS, want);
    assert_memory_equal(got, want, SHA256_LEN);
    free(file);
    if (!sha256_x2_supported())
        print_message("note: no SHA extensions on this CPU; the one-by-one path was tested\n");
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
    /* Two sha-256 members, even equal ones: refused, whichever comes first. */
    char twice[200];
    snprintf(twice, sizeof(twice), "%s, %s", header, header);
    assert_false(content_digest_parse(twice, back));
    snprintf(twice, sizeof(twice), "%s, sha-256=:bad:", header);
    assert_false(content_digest_parse(twice, back));
    snprintf(twice, sizeof(twice), "%s, sha-512=:AAAA:", header);
    assert_true(content_digest_parse(twice, back));
    assert_false(content_digest_parse("md5=:abc:", back));
    assert_false(
        content_digest_parse("xsha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:", back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_vector),
        cmocka_unit_test(test_sha256_update2_matches_openssl),
        cmocka_unit_test(test_sha256_update2_chunk_and_file),
        cmocka_unit_test(test_content_digest_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
