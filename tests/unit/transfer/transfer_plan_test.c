/*
 * transfer_plan_test.c - chunk arithmetic, readiness of chunks of a growing
 * file, resume planning against the receiver's list, Content-Range parsing.
 */
#include "unit.h"

#include <string.h>

#include "transfer/plan.h"

#define MiB (1ull << 20)

static void test_chunk_arithmetic(void **state)
{
    assert_int_equal(proto_chunk_count(0, MiB), 0);
    assert_int_equal(proto_chunk_count(1, MiB), 1);
    assert_int_equal(proto_chunk_count(MiB, MiB), 1);
    assert_int_equal(proto_chunk_count(MiB + 1, MiB), 2);
    assert_int_equal(proto_chunk_count(100 * MiB, 16 * MiB), 7);
    assert_int_equal(proto_chunk_length(100 * MiB, 16 * MiB, 0), 16 * MiB);
    assert_int_equal(proto_chunk_length(100 * MiB, 16 * MiB, 6), 4 * MiB);
    assert_int_equal(proto_chunk_length(100 * MiB, 16 * MiB, 7), 0);
    assert_int_equal(proto_chunk_length(0, MiB, 0), 0);
}

static void test_chunk_size_check(void **state)
{
    assert_int_equal(plan_check_chunk_size(MiB, NULL), MFB_OK);
    assert_int_equal(plan_check_chunk_size(16 * MiB, NULL), MFB_OK);
    assert_int_equal(plan_check_chunk_size(1024 * MiB, NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(plan_check_chunk_size(3 * MiB, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "invalid chunk size 3145728 bytes");
    assert_int_equal(plan_check_chunk_size(MiB / 2, NULL), MFB_ERR_USAGE);
    assert_int_equal(plan_check_chunk_size(2048 * MiB, NULL), MFB_ERR_USAGE);
    assert_int_equal(plan_check_chunk_size(0, NULL), MFB_ERR_USAGE);
}

static void test_growing_file_readiness(void **state)
{
    uint64_t len;
    bool past;
    /* Nothing sealed yet */
    assert_false(plan_chunk_ready(0, MiB, 0, false, 0, &len, &past));
    assert_false(past);
    /* Sealed up to just short of the first chunk's end */
    assert_false(plan_chunk_ready(0, MiB, MiB - 1, false, 0, &len, &past));
    /* Exactly one chunk sealed: chunk 0 ready, chunk 1 not */
    assert_true(plan_chunk_ready(0, MiB, MiB, false, 0, &len, &past));
    assert_int_equal(len, MiB);
    assert_false(plan_chunk_ready(1, MiB, MiB + 5, false, 0, &len, &past));
    /* Finished at 1.5 MiB: chunk 1 is the short last one, chunk 2 past the end */
    assert_true(plan_chunk_ready(1, MiB, MiB + MiB / 2, true, MiB + MiB / 2, &len, &past));
    assert_int_equal(len, MiB / 2);
    assert_false(plan_chunk_ready(2, MiB, MiB + MiB / 2, true, MiB + MiB / 2, &len, &past));
    assert_true(past);
    /* An empty finished file has no chunk at all */
    assert_false(plan_chunk_ready(0, MiB, 0, true, 0, &len, &past));
    assert_true(past);
}

static struct remote_chunk chunk(uint64_t index, uint64_t size, uint8_t fill)
{
    struct remote_chunk c = {.index = index, .size = size};
    memset(c.sha256, fill, SHA256_LEN);
    return c;
}

static void test_resume_plan(void **state)
{
    /* 3.5 chunks locally; the receiver holds 2 and 0, out of order */
    struct remote_chunk remote[] = {chunk(2, MiB, 2), chunk(0, MiB, 0)};
    struct resume_plan plan;
    assert_int_equal(plan_resume(3 * MiB + 100, MiB, 3 * MiB + 100, remote, 2, &plan, NULL),
                     MFB_OK);
    assert_int_equal(plan.chunk_count, 4);
    assert_int_equal(plan.held_count, 2);
    assert_int_equal(plan.held_bytes, 2 * MiB);
    assert_ptr_equal(plan.held[0], &remote[1]);
    assert_null(plan.held[1]);
    assert_ptr_equal(plan.held[2], &remote[0]);
    assert_null(plan.held[3]);

    uint8_t same[SHA256_LEN], other[SHA256_LEN];
    memset(same, 2, SHA256_LEN);
    memset(other, 9, SHA256_LEN);
    assert_true(plan_chunk_matches(plan.held[2], MiB, same));
    assert_false(plan_chunk_matches(plan.held[2], MiB, other));    /* digest differs */
    assert_false(plan_chunk_matches(plan.held[2], MiB - 1, same)); /* size differs */
    assert_false(plan_chunk_matches(plan.held[1], MiB, same));     /* not held */
    resume_plan_free(&plan);

    /* Size not declared at creation: any local size is acceptable */
    assert_int_equal(plan_resume(3 * MiB, MiB, -1, remote, 2, &plan, NULL), MFB_OK);
    resume_plan_free(&plan);
    /* Nothing held */
    assert_int_equal(plan_resume(3 * MiB, MiB, 3 * MiB, NULL, 0, &plan, NULL), MFB_OK);
    assert_int_equal(plan.held_count, 0);
    resume_plan_free(&plan);
}

static void test_resume_plan_refusals(void **state)
{
    struct resume_plan plan;
    struct mfb_error err = {0};
    struct remote_chunk remote[] = {chunk(0, MiB, 0), chunk(5, MiB, 5)};
    /* The upload was opened for another size */
    assert_int_equal(plan_resume(2 * MiB, MiB, 3 * MiB, remote, 1, &plan, &err), MFB_ERR_CHANGED);
    assert_string_equal(err.message,
                        "the upload was opened for 3145728 bytes but the local file has 2097152");
    /* A chunk beyond the local file */
    mfb_error_clear(&err);
    assert_int_equal(plan_resume(2 * MiB, MiB, -1, remote, 2, &plan, &err), MFB_ERR_CHANGED);
    assert_string_equal(err.message, "the receiver holds chunk 5 but the local file of 2097152 "
                                     "bytes has only 2 chunks");
    /* The same index twice, or a chunk larger than the chunk size */
    struct remote_chunk dup[] = {chunk(1, MiB, 1), chunk(1, MiB, 1)};
    assert_int_equal(plan_resume(2 * MiB, MiB, -1, dup, 2, &plan, NULL), MFB_ERR_PROTOCOL);
    struct remote_chunk big[] = {chunk(0, 2 * MiB, 1)};
    assert_int_equal(plan_resume(2 * MiB, MiB, -1, big, 1, &plan, NULL), MFB_ERR_PROTOCOL);
    /* A chunk size the protocol does not allow */
    assert_int_equal(plan_resume(2 * MiB, 1000, -1, NULL, 0, &plan, NULL), MFB_ERR_PROTOCOL);
    assert_null(plan.held);
}

static void test_content_range(void **state)
{
    uint64_t first, last, total;
    assert_true(plan_parse_content_range("bytes 100-199/1000", &first, &last, &total));
    assert_int_equal(first, 100);
    assert_int_equal(last, 199);
    assert_int_equal(total, 1000);
    assert_true(plan_parse_content_range("Bytes 0-0/1", &first, &last, &total));
    assert_false(plan_parse_content_range("bytes */1000", &first, &last, &total));
    assert_false(plan_parse_content_range("bytes 200-100/1000", &first, &last, &total));
    assert_false(plan_parse_content_range("bytes 0-1000/1000", &first, &last, &total));
    assert_false(plan_parse_content_range("bytes 0-1/2x", &first, &last, &total));
    assert_false(plan_parse_content_range("items 0-1/2", &first, &last, &total));
    assert_false(plan_parse_content_range("", &first, &last, &total));
    assert_false(
        plan_parse_content_range("bytes 0-1/99999999999999999999999", &first, &last, &total));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_arithmetic),       cmocka_unit_test(test_chunk_size_check),
        cmocka_unit_test(test_growing_file_readiness), cmocka_unit_test(test_resume_plan),
        cmocka_unit_test(test_resume_plan_refusals),   cmocka_unit_test(test_content_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
