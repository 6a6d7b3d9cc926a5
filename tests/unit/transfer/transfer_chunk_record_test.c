/*
 * transfer_chunk_record_test.c - the seal record: digests built from
 * writes of any size match each chunk's and the file's SHA-256, the JSON
 * form round-trips, and a damaged or inconsistent record is refused.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "transfer/chunk_record.h"

#define MiB (1ull << 20)

static void fill(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((i * 2654435761u) >> 13);
}

/* Writes of odd sizes, across chunk boundaries, give the digests of the
 * chunks and of the file. */
static void test_build(void **state)
{
    (void)state;
    const size_t size = 3 * MiB + 12345;
    uint8_t *data = malloc(size);
    fill(data, size);
    struct chunk_record r;
    chunk_record_begin(&r, MiB);
    size_t pieces[] = {1, 4095, 700001, MiB, 3, 999999};
    size_t off = 0;
    for (size_t k = 0; off < size; k++) {
        size_t n = pieces[k % 6];
        if (n > size - off)
            n = size - off;
        assert_int_equal(chunk_record_update(&r, data + off, n, NULL), MFB_OK);
        off += n;
        assert_int_equal(r.count, off / MiB);
    }
    assert_int_equal(chunk_record_end(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.size, size);
    uint8_t want[SHA256_LEN];
    for (uint64_t i = 0; i < 4; i++) {
        size_t len = i < 3 ? MiB : size - 3 * MiB;
        sha256_buffer(data + i * MiB, len, want);
        assert_memory_equal(r.chunks[i], want, SHA256_LEN);
    }
    sha256_buffer(data, size, want);
    assert_memory_equal(r.sha256, want, SHA256_LEN);

    /* The text form gives the same record back. */
    char *text = chunk_record_to_json(&r);
    assert_non_null(text);
    struct chunk_record back;
    assert_int_equal(chunk_record_parse(text, strlen(text), "rec", &back, NULL), MFB_OK);
    assert_int_equal(back.size, size);
    assert_int_equal(back.chunk_size, MiB);
    assert_int_equal(back.count, 4);
    assert_memory_equal(back.chunks, r.chunks, 4 * SHA256_LEN);
    assert_memory_equal(back.sha256, r.sha256, SHA256_LEN);
    chunk_record_free(&back);
    free(text);
    chunk_record_free(&r);
    free(data);
}

/* An empty file has no chunks and the empty string's digest. */
static void test_empty(void **state)
{
    (void)state;
    struct chunk_record r;
    chunk_record_begin(&r, MiB);
    assert_int_equal(chunk_record_end(&r, NULL), MFB_OK);
    assert_int_equal(r.count, 0);
    uint8_t want[SHA256_LEN];
    sha256_buffer("", 0, want);
    assert_memory_equal(r.sha256, want, SHA256_LEN);
    chunk_record_free(&r);
}

static void refused(const char *text, const char *why)
{
    struct chunk_record r;
    struct mfb_error err = {0};
    assert_int_equal(chunk_record_parse(text, strlen(text), "x.json", &r, &err), MFB_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "the chunk record 'x.json' is damaged: "));
    assert_non_null(strstr(err.message, why));
    assert_null(r.chunks);
}

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_parse_refusals(void **state)
{
    (void)state;
    refused("", "not a chunk record");
    refused("[]", "not a chunk record");
    refused("{\"format\":\"other\",\"size\":1,\"chunk_size\":1048576,\"sha256\":\"" HEX
            "\",\"chunks\":[\"" HEX "\"]}",
            "not a chunk record");
    /* two chunks for one chunk's worth of bytes */
    refused("{\"format\":\"mfb-chunk-record-1\",\"size\":1,\"chunk_size\":1048576,\"sha256\":\"" HEX
            "\",\"chunks\":[\"" HEX "\",\"" HEX "\"]}",
            "its chunks do not fit its size");
    refused("{\"format\":\"mfb-chunk-record-1\",\"size\":1,\"chunk_size\":1000,\"sha256\":\"" HEX
            "\",\"chunks\":[\"" HEX "\"]}",
            "its chunks do not fit its size");
    refused("{\"format\":\"mfb-chunk-record-1\",\"size\":1,\"chunk_size\":1048576,\"sha256\":\"" HEX
            "\",\"chunks\":[\"zz\"]}",
            "a chunk digest is not hex");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_parse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
