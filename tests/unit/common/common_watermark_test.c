/*
 * common_watermark_test.c - tests of common/watermark: readers waiting for
 * a mark are woken when the writer reaches it (also when it gets there in
 * many small writes, and after it started over), and all of them get the
 * writer's status when it fails.
 */
#include "unit.h"

#include <pthread.h>
#include <string.h>

#include "common/watermark.h"

struct reader {
    struct watermark *w;
    uint64_t end;
    mfb_status st;
    struct mfb_error err;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    r->st = watermark_wait(r->w, r->end, &r->err);
    return NULL;
}

static void test_readers_follow_the_writer(void **state)
{
    (void)state;
    struct watermark w;
    watermark_init(&w);
    struct reader rd[3] = {{.w = &w, .end = 10}, {.w = &w, .end = 4000}, {.w = &w, .end = 4096}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
    watermark_set(&w, 0); /* started over: nobody is woken for nothing */
    for (uint64_t m = 1; m <= 4096; m += 7)
        watermark_set(&w, m);
    watermark_set(&w, 4096);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(rd[i].st, MFB_OK);
    }
    /* already there: no wait */
    assert_int_equal(watermark_wait(&w, 4096, NULL), MFB_OK);
    watermark_destroy(&w);
}

static void test_failure_wakes_every_reader(void **state)
{
    (void)state;
    struct watermark w;
    watermark_init(&w);
    watermark_set(&w, 100);
    struct reader rd[2] = {{.w = &w, .end = 1000}, {.w = &w, .end = 5000}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
    watermark_set(&w, 500);
    watermark_fail(&w, MFB_ERR_NETWORK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(rd[i].st, MFB_ERR_NETWORK);
        assert_non_null(strstr(rd[i].err.message, "the download stopped before byte"));
    }
    /* what was written before the failure stays readable */
    assert_int_equal(watermark_wait(&w, 500, NULL), MFB_OK);
    assert_int_equal(watermark_wait(&w, 501, NULL), MFB_ERR_NETWORK);
    watermark_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_follow_the_writer),
        cmocka_unit_test(test_failure_wakes_every_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
