/*
 * common_test.c - tests of src/common: errors, parsing, the queue and the
 * thread pool, and the durable file helpers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "common/fsutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/queue.h"
#include "common/status.h"
#include "common/threadpool.h"
#include "scratch.h"

static void test_error_first_wins(void **state)
{
    struct mfb_error err = {0};
    assert_int_equal(mfb_error_set(&err, MFB_ERR_IO, "first %d", 1), MFB_ERR_IO);
    mfb_error_hint(&err, "do this");
    mfb_error_set(&err, MFB_ERR_INTERNAL, "second");
    mfb_error_hint(&err, "not this");
    assert_int_equal(err.status, MFB_ERR_IO);
    assert_string_equal(err.message, "first 1");
    assert_string_equal(err.hint, "do this");
    assert_int_equal(mfb_error_set(NULL, MFB_ERR_USAGE, "ignored"), MFB_ERR_USAGE);
}

/* Not static: the backtrace names exported functions (ENABLE_EXPORTS). */
void common_test_fail_deep(struct mfb_error *err, int depth) __attribute__((noinline));
void common_test_fail_deep(struct mfb_error *err, int depth)
{
    if (depth > 0)
        common_test_fail_deep(err, depth - 1);
    else
        mfb_error_set(err, MFB_ERR_IO, "deep failure");
    mfb_error_set(err, MFB_ERR_INTERNAL, "a later error keeps the first one's stack");
}

static void test_error_backtrace(void **state)
{
    struct mfb_error err = {0};
    assert_null(mfb_error_backtrace(&err)); /* nothing set, no frames */
    common_test_fail_deep(&err, 2);
    assert_true(err.frame_count > 3);
    char *text = mfb_error_backtrace(&err);
    assert_non_null(text);
    /* innermost first: mfb_error_set, then the function that called it */
    assert_non_null(strstr(text, "mfb_error_set"));
    assert_true(strstr(text, "mfb_error_set") < strstr(text, "common_test_fail_deep"));
    assert_null(strstr(text, "mfb_error_setv")); /* the capturing frame is dropped */
    assert_int_not_equal(text[strlen(text) - 1], '\n');
    free(text);
    /* the frames travel with a copy, and clear forgets them */
    struct mfb_error copy = err;
    text = mfb_error_backtrace(&copy);
    assert_non_null(strstr(text, "common_test_fail_deep"));
    free(text);
    /* passed on (from a worker thread, a retry loop) with its frames */
    struct mfb_error passed = {0};
    assert_int_equal(mfb_error_copy(&passed, &err), MFB_ERR_IO);
    assert_string_equal(passed.message, "deep failure");
    assert_int_equal(passed.frame_count, err.frame_count);
    struct mfb_error other = {0};
    mfb_error_set(&other, MFB_ERR_NETWORK, "later");
    assert_int_equal(mfb_error_copy(&passed, &other), MFB_ERR_NETWORK); /* first wins */
    assert_string_equal(passed.message, "deep failure");
    struct mfb_error unset = {0};
    assert_int_equal(mfb_error_copy(&passed, &unset), MFB_OK);
    assert_int_equal(mfb_error_copy(NULL, &other), MFB_ERR_NETWORK);
    mfb_error_clear(&err);
    assert_null(mfb_error_backtrace(&err));
    assert_null(mfb_error_backtrace(NULL));
}

static void test_error_errno(void **state)
{
    struct mfb_error err = {0};
    assert_int_equal(mfb_error_errno(&err, ENOSPC, MFB_ERR_IO, "cannot write '%s'", "x"),
                     MFB_ERR_NO_SPACE);
    assert_string_equal(err.message, "cannot write 'x': No space left on device");
    assert_true(strlen(err.hint) > 0);
    mfb_error_hint(&err, "specific advice");
    assert_string_equal(err.hint, "specific advice");
    assert_string_equal(mfb_status_str(MFB_ERR_NO_SPACE), "no_space");
    assert_int_equal(mfb_status_exit_code(MFB_OK), 0);
    assert_int_equal(mfb_status_exit_code(MFB_ERR_USAGE), 2);
    assert_int_equal(mfb_status_exit_code(MFB_ERR_IO), 1);
    /* A file larger than its file system allows is not a full disk: freeing
     * space cannot help, so it must not read (or be retried) as one. */
    struct mfb_error big = {0};
    assert_int_equal(mfb_error_errno(&big, EFBIG, MFB_ERR_IO, "cannot write '%s'", "x"),
                     MFB_ERR_UNSUPPORTED);
    assert_non_null(strstr(big.hint, "largest file"));
}

/* A value a client chose is one quoted field whatever it holds. */
static void test_log_quote(void **state)
{
    (void)state;
    char buf[LOG_QUOTE_BUF];
    assert_string_equal(log_quote("prod", buf, sizeof(buf)), "\"prod\"");
    assert_string_equal(log_quote("a.bin client=other upload=u_0", buf, sizeof(buf)),
                        "\"a.bin client=other upload=u_0\"");
    assert_string_equal(log_quote("say \"hi\" \\ bye", buf, sizeof(buf)),
                        "\"say \\\"hi\\\" \\\\ bye\"");
    assert_string_equal(log_quote("a\nb\rc\x7f\x01", buf, sizeof(buf)),
                        "\"a\\x0Ab\\x0Dc\\x7F\\x01\"");
    assert_string_equal(log_quote("caf\xc3\xa9", buf, sizeof(buf)), "\"caf\xc3\xa9\"");
    assert_string_equal(log_quote(NULL, buf, sizeof(buf)), "-");
    assert_string_equal(LOG_Q("x y"), "\"x y\"");
    /* Too long: cut inside the quotes, never in the middle of a character. */
    char small[16];
    assert_string_equal(log_quote("abcdefghijklmnopqrstuvwxyz", small, sizeof(small)),
                        "\"abcdef...\"");
    assert_string_equal(log_quote("abcde\xc3\xa9\xc3\xa9", small, sizeof(small)), "\"abcde...\"");
    assert_string_equal(log_quote("abcd\xc3\xa9\xc3\xa9", small, sizeof(small)),
                        "\"abcd\xc3\xa9...\"");
    char *big = malloc(4000);
    memset(big, '"', 3999);
    big[3999] = '\0';
    const char *q = log_quote(big, buf, sizeof(buf));
    assert_true(strlen(q) < sizeof(buf));
    assert_string_equal(q + strlen(q) - 4, "...\"");
    free(big);
}

static void test_parse_size(void **state)
{
    uint64_t v;
    assert_int_equal(parse_size("4096", &v, NULL), MFB_OK);
    assert_int_equal(v, 4096);
    assert_int_equal(parse_size("64M", &v, NULL), MFB_OK);
    assert_int_equal(v, 64ULL << 20);
    assert_int_equal(parse_size("1.5GiB", &v, NULL), MFB_OK);
    assert_int_equal(v, 3ULL << 29);
    assert_int_equal(parse_size("2kb", &v, NULL), MFB_OK);
    assert_int_equal(v, 2048);
    struct mfb_error err = {0};
    assert_int_equal(parse_size("12Q", &v, &err), MFB_ERR_USAGE);
    assert_string_equal(err.message, "invalid size '12Q'");
    assert_int_equal(parse_size("-1", &v, NULL), MFB_ERR_USAGE);
    assert_int_equal(parse_size("", &v, NULL), MFB_ERR_USAGE);
    assert_int_equal(parse_size("99999999T", &v, NULL), MFB_ERR_USAGE);
}

static void test_parse_duration(void **state)
{
    uint64_t ms;
    assert_int_equal(parse_duration_ms("30", &ms, NULL), MFB_OK);
    assert_int_equal(ms, 30000);
    assert_int_equal(parse_duration_ms("1h30m", &ms, NULL), MFB_OK);
    assert_int_equal(ms, 5400000);
    assert_int_equal(parse_duration_ms("7d", &ms, NULL), MFB_OK);
    assert_int_equal(ms, 7ULL * 86400 * 1000);
    assert_int_equal(parse_duration_ms("250ms", &ms, NULL), MFB_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(parse_duration_ms("5x", &ms, NULL), MFB_ERR_USAGE);
    assert_int_equal(parse_duration_ms("", &ms, NULL), MFB_ERR_USAGE);
    assert_int_equal(parse_duration_ms("10 s", &ms, NULL), MFB_ERR_USAGE);
}

static void test_parse_uint_and_format(void **state)
{
    uint64_t v;
    struct mfb_error err = {0};
    assert_int_equal(parse_uint("8", 1, 64, &v, NULL), MFB_OK);
    assert_int_equal(v, 8);
    assert_int_equal(parse_uint("0", 1, 64, &v, &err), MFB_ERR_USAGE);
    assert_string_equal(err.hint, "give a whole number from 1 to 64");
    assert_int_equal(parse_uint("3a", 1, 64, &v, NULL), MFB_ERR_USAGE);
    char buf[32];
    assert_string_equal(format_size(512, buf, sizeof(buf)), "512 B");
    assert_string_equal(format_size(3ULL << 29, buf, sizeof(buf)), "1.5 GiB");
    assert_string_equal(format_duration_ms(125000, buf, sizeof(buf)), "2m05s");
    assert_string_equal(format_duration_ms(1500, buf, sizeof(buf)), "1.5s");
}

static void test_queue_bounded(void **state)
{
    struct queue q;
    assert_int_equal(queue_init(&q, 2), 0);
    int a = 1, b = 2;
    assert_true(queue_push(&q, &a));
    assert_true(queue_push(&q, &b));
    void *out;
    assert_true(queue_pop(&q, &out));
    assert_ptr_equal(out, &a);
    queue_close(&q);
    assert_false(queue_push(&q, &a));
    assert_true(queue_pop(&q, &out)); /* drains after close */
    assert_ptr_equal(out, &b);
    assert_false(queue_pop(&q, &out));
    queue_destroy(&q);
}

struct counter {
    pthread_mutex_t lock;
    int total;
};

static void add_one(void *arg)
{
    struct counter *c = arg;
    pthread_mutex_lock(&c->lock);
    c->total++;
    pthread_mutex_unlock(&c->lock);
}

static void test_threadpool_runs_everything(void **state)
{
    struct counter c = {PTHREAD_MUTEX_INITIALIZER, 0};
    struct threadpool *pool;
    assert_int_equal(threadpool_create(4, 3, &pool, NULL), MFB_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(threadpool_submit(pool, add_one, &c), MFB_OK);
    threadpool_destroy(pool);
    assert_int_equal(c.total, 1000);
    assert_true(threadpool_default_threads() >= 1);
}

static void test_atomic_write_and_secret(void **state)
{
    char dir[PATH_MAX];
    assert_true(unit_scratch_dir("mfb-common", dir, sizeof(dir)));
    char path[256], nested[256];
    snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
    assert_int_equal(fs_mkdir_p(nested, 0700, NULL), MFB_OK);
    snprintf(path, sizeof(path), "%s/a/secret", dir);
    assert_int_equal(fs_write_file_atomic(path, "hunter2\n", 8, 0600, true, NULL), MFB_OK);
    struct mfb_error err = {0};
    assert_int_equal(fs_write_file_atomic(path, "x", 1, 0600, true, &err), MFB_ERR_EXISTS);
    /* Replacing: a regular file yes; a FIFO or a symbolic link (to a file
     * that must stay untouched) never. */
    assert_int_equal(fs_write_file_atomic(path, "hunter2\n", 8, 0600, false, NULL), MFB_OK);
    char fifo[256], link_path[256], victim[256];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    snprintf(link_path, sizeof(link_path), "%s/link", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(fs_write_file_atomic(victim, "keep", 4, 0600, true, NULL), MFB_OK);
    assert_int_equal(symlink(victim, link_path), 0);
    mfb_error_clear(&err);
    assert_int_equal(fs_write_file_atomic(fifo, "x", 1, 0600, false, &err), MFB_ERR_EXISTS);
    assert_non_null(strstr(err.message, "is not a regular file"));
    assert_int_equal(fs_write_file_atomic(link_path, "x", 1, 0600, false, NULL), MFB_ERR_EXISTS);
    struct stat sb;
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(lstat(link_path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    char *secret;
    assert_int_equal(fs_read_secret(victim, &secret, NULL), MFB_OK);
    assert_string_equal(secret, "keep");
    free(secret);
    assert_int_equal(fs_read_secret(path, &secret, NULL), MFB_OK);
    assert_string_equal(secret, "hunter2");
    free(secret);
    chmod(path, 0644);
    mfb_error_clear(&err);
    assert_int_equal(fs_read_secret(path, &secret, &err), MFB_ERR_PERMISSION);
    assert_non_null(strstr(err.hint, "chmod 600"));
    assert_int_equal(unit_rmtree(dir), 0);
}

static void test_dirname(void **state)
{
    (void)state;
    char buf[16];
    const char *cases[][2] = {{"a/b/c", "a/b"}, {"/a", "/"}, {"a", "."},    {"/", "/"},
                              {"./x", "."},     {"", "."},   {"/a/b", "/a"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(fs_dirname(cases[i][0], buf, sizeof(buf)));
        assert_string_equal(buf, cases[i][1]);
    }
    strcpy(buf, "kept");
    assert_false(fs_dirname("0123456789abcdef/x", buf, sizeof(buf)));
    assert_string_equal(buf, "kept");
    assert_true(fs_dirname("0123456789abcde/x", buf, sizeof(buf))); /* 15 + NUL fits */
    assert_string_equal(buf, "0123456789abcde");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_first_wins),
        cmocka_unit_test(test_error_backtrace),
        cmocka_unit_test(test_error_errno),
        cmocka_unit_test(test_log_quote),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_uint_and_format),
        cmocka_unit_test(test_queue_bounded),
        cmocka_unit_test(test_threadpool_runs_everything),
        cmocka_unit_test(test_atomic_write_and_secret),
        cmocka_unit_test(test_dirname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
