/*
 * archive_deflate_test.c - tests of src/archive/deflate_block: blocks
 * compressed separately with dictionaries join into one deflate stream that
 * zlib inflates to the original, at ISA-L and zlib levels, and the CRC
 * helpers agree with zlib.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive/deflate_block.h"

static unsigned char *make_data(size_t len)
{
    unsigned char *d = malloc(len);
    uint32_t x = 7;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        d[i] =
            (i / 10000) % 2 ? (unsigned char)(x >> 16) : (unsigned char)("abcabd"[(x >> 29) % 6]);
    }
    return d;
}

/* Compresses data in blocks the way the writer does, returns the joined stream. */
static unsigned char *compress_blocks(int level, const unsigned char *data, size_t len,
                                      size_t block, size_t *out_len)
{
    struct deflate_block *c = NULL;
    assert_int_equal(deflate_block_create(level, &c, NULL), MFB_OK);
    size_t cap = deflate_block_bound(len) + 64 * (len / block + 1);
    unsigned char *all = malloc(cap);
    size_t used = 0;
    size_t bcap = 16; /* tiny on purpose: exercises growing the output buffer */
    uint8_t *buf = malloc(bcap);
    for (size_t off = 0; off < len || off == 0; off += block) {
        size_t n = len - off < block ? len - off : block;
        size_t dict = off < DEFLATE_DICT_SIZE ? off : DEFLATE_DICT_SIZE;
        size_t got = 0;
        assert_int_equal(deflate_block_run(c, data + off - dict, dict, data + off, n,
                                           off + n >= len, &buf, &bcap, &got, NULL),
                         MFB_OK);
        assert_true(used + got <= cap);
        memcpy(all + used, buf, got);
        used += got;
        if (len == 0)
            break;
    }
    free(buf);
    deflate_block_free(c);
    *out_len = used;
    return all;
}

static void check_level(int level, size_t len, size_t block)
{
    unsigned char *data = make_data(len ? len : 1);
    size_t clen;
    unsigned char *comp = compress_blocks(level, data, len, block, &clen);
    unsigned char *back = malloc(len + 1);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, -15), Z_OK);
    z.next_in = comp;
    z.avail_in = (uInt)clen;
    z.next_out = back;
    z.avail_out = (uInt)len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, len);
    assert_int_equal(z.avail_in, 0); /* the stream ends exactly at the end */
    inflateEnd(&z);
    assert_memory_equal(back, data, len);
    if (len > 100000)
        assert_true(clen < len); /* it compresses */
    free(back);
    free(comp);
    free(data);
}

static void test_blocks_join_isal(void **state)
{
    check_level(1, 300000, 65536);
    check_level(2, 300000, 65536);
    check_level(3, 1 << 20, 100000);
    check_level(2, 65536, 65536); /* exactly one block */
    check_level(2, 10, 65536);
    check_level(2, 0, 65536);
}

static void test_blocks_join_zlib(void **state)
{
    check_level(4, 300000, 65536);
    check_level(6, 300001, 40000);
    check_level(9, 50000, 65536);
    check_level(6, 0, 65536);
}

static void test_dictionary_helps(void **state)
{
    /* the second block repeats the first: with the dictionary it shrinks to almost nothing */
    unsigned char *data = make_data(65536);
    memcpy(data + 32768, data, 32768);
    struct deflate_block *c = NULL;
    assert_int_equal(deflate_block_create(2, &c, NULL), MFB_OK);
    size_t cap = 100000, with = 0, without = 0;
    uint8_t *buf = malloc(cap);
    assert_int_equal(
        deflate_block_run(c, data, 32768, data + 32768, 32768, true, &buf, &cap, &with, NULL),
        MFB_OK);
    assert_int_equal(
        deflate_block_run(c, NULL, 0, data + 32768, 32768, true, &buf, &cap, &without, NULL),
        MFB_OK);
    assert_true(with * 4 < without);
    free(buf);
    deflate_block_free(c);
    free(data);
}

static void test_crc(void **state)
{
    unsigned char *data = make_data(100000);
    uint32_t whole = (uint32_t)crc32(0, data, 100000);
    assert_int_equal(deflate_crc32(0, data, 100000), whole);
    uint32_t a = deflate_crc32(0, data, 30000);
    uint32_t b = deflate_crc32(0, data + 30000, 70000);
    assert_int_equal(deflate_crc32_combine(a, b, 70000), whole);
    assert_int_equal(deflate_crc32(a, data + 30000, 70000), whole);
    assert_int_equal(deflate_crc32(0, data, 0), 0);
    free(data);
}

static void test_bad_level(void **state)
{
    struct deflate_block *c = NULL;
    struct mfb_error err = {0};
    assert_int_equal(deflate_block_create(0, &c, &err), MFB_ERR_INTERNAL);
    assert_null(c);
    assert_int_equal(deflate_block_create(10, &c, NULL), MFB_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_join_isal), cmocka_unit_test(test_blocks_join_zlib),
        cmocka_unit_test(test_dictionary_helps), cmocka_unit_test(test_crc),
        cmocka_unit_test(test_bad_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
