/*
 * job_snapshot_test.c - the snapshot copy (job/backup/snapshot.c) and the spool
 * helpers (job/spool.c): a tree with files, an empty file, a file larger
 * than one copy step, nested directories with their own modes, symbolic
 * links (copied as links, never followed) and a FIFO (skipped) is copied
 * with its bytes, modes and times, through the copy_file_range and the
 * read/write paths alike; a cancel stops it; an existing destination is
 * refused; spool sizes and removal work on read-only directories.
 */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/backup/snapshot.h"
#include "job/spool.h"
#include "scratch.h"

struct fixture {
    char root[PATH_MAX];
    char src[PATH_MAX + 8];
    char dst[PATH_MAX + 8];
};

static void path(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_MAX + 64, "%s/%s", a, b);
    assert_true(n > 0 && n < PATH_MAX + 64);
}

static void write_file(const char *dir, const char *name, size_t size, unsigned seed)
{
    char p[PATH_MAX + 64];
    path(p, dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)((i * 131 + seed) & 0xff), f);
    fclose(f);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_true(unit_scratch_dir("job-snapshot", fx->root, sizeof(fx->root)));
    snprintf(fx->src, sizeof(fx->src), "%s/src", fx->root);
    snprintf(fx->dst, sizeof(fx->dst), "%s/dst", fx->root);
    assert_int_equal(mkdir(fx->src, 0750), 0);
    write_file(fx->src, "ibdata1", 300000, 1);
    write_file(fx->src, "empty", 0, 0);
    char sub[PATH_MAX + 64], deep[PATH_MAX + 128], p[PATH_MAX + 64];
    path(sub, fx->src, "shop");
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(sub, "items.ibd", 70000, 7);
    path(deep, sub, "deep");
    assert_int_equal(mkdir(deep, 0755), 0);
    write_file(deep, "x", 10, 3);
    path(p, fx->src, "link");
    assert_int_equal(symlink("/nonexistent/target", p), 0);
    path(p, fx->src, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    path(p, fx->src, "ibdata1");
    chmod(p, 0640);
    struct timespec times[2] = {{.tv_sec = 1000000000, .tv_nsec = 5}, {.tv_sec = 1200000000}};
    utimensat(AT_FDCWD, p, times, 0);
    /* Read-only directory, set last: its contents must still be copied. */
    assert_int_equal(chmod(deep, 0555), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(spool_remove_tree(fx->root, NULL), MFB_OK);
    free(fx);
    return 0;
}

static void assert_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    assert_int_equal(lstat(a, &sa), 0);
    assert_int_equal(lstat(b, &sb), 0);
    assert_int_equal(sa.st_mode, sb.st_mode);
    assert_int_equal(sa.st_size, sb.st_size);
    assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
    assert_int_equal(sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec);
    assert_int_equal(sa.st_uid, sb.st_uid);
    if (S_ISREG(sa.st_mode)) {
        FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
        int ca, cb;
        do {
            ca = fgetc(fa);
            cb = fgetc(fb);
            assert_int_equal(ca, cb);
        } while (ca != EOF);
        fclose(fa);
        fclose(fb);
    }
}

static void check_copy(struct fixture *fx, const struct snapshot_stats *st)
{
    const char *names[] = {"ibdata1",        "empty",     "shop",
                           "shop/items.ibd", "shop/deep", "shop/deep/x"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char a[PATH_MAX + 64], b[PATH_MAX + 64];
        path(a, fx->src, names[i]);
        path(b, fx->dst, names[i]);
        assert_same_file(a, b);
    }
    char l[PATH_MAX + 64], target[256] = "";
    path(l, fx->dst, "link");
    assert_int_equal(readlink(l, target, sizeof(target) - 1), strlen("/nonexistent/target"));
    assert_string_equal(target, "/nonexistent/target");
    path(l, fx->dst, "fifo");
    struct stat sb;
    assert_int_not_equal(lstat(l, &sb), 0); /* skipped */
    assert_int_equal(st->files, 4);
    assert_int_equal(st->symlinks, 1);
    assert_int_equal(st->skipped, 1);
    assert_int_equal(st->dirs, 3);
    assert_int_equal(st->bytes, 300000 + 70000 + 10);
    uint64_t bytes = 0;
    assert_int_equal(spool_tree_bytes(fx->dst, &bytes, NULL), MFB_OK);
    assert_int_equal(bytes, 370010);
}

struct counter {
    uint64_t calls;
    uint64_t last;
};

static void count(void *ctx, uint64_t bytes)
{
    struct counter *c = ctx;
    assert_true(bytes >= c->last);
    c->calls++;
    c->last = bytes;
}

static void test_copy_kernel_path(void **state)
{
    struct fixture *fx = *state;
    struct counter c = {0};
    struct snapshot_options o = {.progress = count, .progress_ctx = &c};
    struct snapshot_stats st = {0};
    struct mfb_error err = {0};
    assert_int_equal(snapshot_copy_tree(fx->src, fx->dst, &o, &st, &err), MFB_OK);
    check_copy(fx, &st);
    assert_int_equal(c.last, 370010);
    assert_true(c.calls >= 3);
}

static void test_copy_without_clone(void **state)
{
    struct fixture *fx = *state;
    struct snapshot_options o = {.no_clone = true};
    struct snapshot_stats st = {0};
    assert_int_equal(snapshot_copy_tree(fx->src, fx->dst, &o, &st, NULL), MFB_OK);
    assert_int_equal(st.cloned, 0);
    check_copy(fx, &st);
}

static void test_existing_destination_is_refused(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(mkdir(fx->dst, 0700), 0);
    struct snapshot_stats st = {0};
    struct mfb_error err = {0};
    assert_int_equal(snapshot_copy_tree(fx->src, fx->dst, NULL, &st, &err), MFB_ERR_EXISTS);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof(want), "cannot create the snapshot directory '%s': File exists", fx->dst);
    assert_string_equal(err.message, want);
}

static void test_cancel(void **state)
{
    struct fixture *fx = *state;
    atomic_bool cancel;
    atomic_init(&cancel, true);
    struct snapshot_options o = {.cancel = &cancel};
    struct snapshot_stats st = {0};
    struct mfb_error err = {0};
    assert_int_equal(snapshot_copy_tree(fx->src, fx->dst, &o, &st, &err), MFB_ERR_CANCELLED);
    assert_string_equal(err.message, "snapshot cancelled");
}

static void test_missing_source(void **state)
{
    struct fixture *fx = *state;
    char src[PATH_MAX + 64];
    path(src, fx->root, "nope");
    struct snapshot_stats st = {0};
    struct mfb_error err = {0};
    assert_int_equal(snapshot_copy_tree(src, fx->dst, NULL, &st, &err), MFB_ERR_NOT_FOUND);
}

static void test_spool_paths_and_margin(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(spool_job_dir("/var/spool/mfb", 12, buf, sizeof(buf), NULL), MFB_OK);
    assert_string_equal(buf, "/var/spool/mfb/job-12");
    assert_int_equal(spool_data_zip("/s", 7, buf, sizeof(buf), NULL), MFB_OK);
    assert_string_equal(buf, "/s/job-7/Data.zip");
    assert_int_equal(spool_snapshot_dir("/s", 7, buf, sizeof(buf), NULL), MFB_OK);
    assert_string_equal(buf, "/s/job-7/snapshot");
    struct mfb_error err = {0};
    assert_int_equal(spool_data_zip("/a-very-long-spool-path-that-does-not-fit", 1, buf, 16, &err),
                     MFB_ERR_INVALID);
    /* 5 %, at least 64 MiB */
    assert_int_equal(spool_with_margin(0), 64ull << 20);
    assert_int_equal(spool_with_margin(100ull << 30), (100ull << 30) + (5ull << 30));
}

static void test_remove_tree(void **state)
{
    struct fixture *fx = *state;
    uint64_t bytes = 0;
    assert_int_equal(spool_tree_bytes(fx->src, &bytes, NULL), MFB_OK);
    assert_int_equal(bytes, 370010);
    assert_int_equal(spool_remove_tree(fx->src, NULL), MFB_OK); /* with a 0555 directory */
    struct stat sb;
    assert_int_not_equal(lstat(fx->src, &sb), 0);
    assert_int_equal(spool_remove_tree(fx->src, NULL), MFB_OK); /* missing is fine */
    struct mfb_error err = {0};
    assert_int_equal(spool_tree_bytes(fx->src, &bytes, &err), MFB_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_kernel_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_without_clone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_destination_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_source, setup, teardown),
        cmocka_unit_test(test_spool_paths_and_margin),
        cmocka_unit_test_setup_teardown(test_remove_tree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
