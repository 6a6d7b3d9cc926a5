/*
 * archive_fixture.h - helpers shared by the archive unit tests: temporary
 * trees, writing an archive from a tree with given options, reading files
 * back, flipping bytes, and a tiny raw ZIP builder for hostile archives
 * that mfb's writer would never produce.
 *
 * Everything lives under a fresh scratch directory (scratch.h) that
 * fixture_teardown removes, also after a failed assertion
 * (cmocka runs teardown functions even then).
 */
#ifndef MFB_TESTS_ARCHIVE_FIXTURE_H
#define MFB_TESTS_ARCHIVE_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "archive/extract.h"
#include "archive/file_sink.h"
#include "archive/reader.h"
#include "archive/writer.h"
#include "archive/zipfmt.h"
#include "common/fsutil.h"
#include "scratch.h"

struct fixture {
    char root[512];
};

static inline int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    if (!unit_scratch_dir("mfb-archive", f->root, sizeof(f->root))) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    if (f) {
        unit_rmtree(f->root);
        free(f);
    }
    return 0;
}

/* f->root + "/" + rel, in a static rotating buffer (enough for one expression). */
static inline const char *fx_path(const struct fixture *f, const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, PATH_MAX, "%s/%s", f->root, rel);
    return b;
}

static inline void fx_write(const struct fixture *f, const char *rel, const void *data, size_t len)
{
    const char *p = fx_path(f, rel);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", p);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    assert_int_equal(fs_mkdir_p(dir, 0755, NULL), MFB_OK);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, data, len, p, NULL), MFB_OK);
    close(fd);
}

/* Deterministic mixed data: compressible text runs and noise. */
static inline unsigned char *fx_data(size_t len, unsigned seed)
{
    unsigned char *d = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        if ((i / 4096) % 3 == 2)
            d[i] = (unsigned char)(x >> 16);
        else
            d[i] = (unsigned char)("the quick brown fox jumps over the lazy dog "[(i + (x >> 28)) %
                                                                                  44]);
    }
    return d;
}

static inline void fx_write_data(const struct fixture *f, const char *rel, size_t len,
                                 unsigned seed)
{
    unsigned char *d = fx_data(len, seed);
    fx_write(f, rel, d, len);
    free(d);
}

/* Reads a whole file; the caller frees. */
static inline unsigned char *fx_read(const char *path, size_t *len)
{
    char *data = NULL;
    assert_int_equal(fs_read_file(path, 1u << 30, &data, len, NULL), MFB_OK);
    return (unsigned char *)data;
}

static inline struct archive_writer_options fx_options(void)
{
    struct archive_writer_options o = {.level = -1, .created = 1700000000};
    return o;
}

/* Archives dir into out with options o; returns the status and fills err. */
static inline mfb_status fx_create(const char *dir, const char *out,
                                   const struct archive_writer_options *o,
                                   struct archive_summary *sum, struct mfb_error *err)
{
    struct file_sink fs;
    struct archive_sink sink;
    struct archive_writer *w = NULL;
    mfb_status s = file_sink_open(&fs, out, &sink, err);
    if (s != MFB_OK)
        return s;
    struct archive_writer_options opt = *o;
    opt.skip_inode = true;
    opt.skip_dev = fs.dev;
    opt.skip_ino = fs.ino;
    s = archive_writer_open(&opt, &sink, &w, err);
    if (s == MFB_OK)
        s = archive_writer_add_tree(w, dir, "", err);
    if (s == MFB_OK)
        s = archive_writer_finish(w, sum, err);
    if (s == MFB_OK)
        s = file_sink_publish(&fs, err);
    archive_writer_free(w);
    file_sink_close(&fs);
    return s;
}

static inline mfb_status fx_test(const char *zip, struct mfb_error *err)
{
    struct archive_reader *r = NULL;
    mfb_status s = archive_reader_open(zip, &r, err);
    if (s == MFB_OK)
        s = archive_reader_test(r, NULL, err);
    archive_reader_free(r);
    return s;
}

static inline mfb_status fx_extract(const char *zip, const char *dir, struct mfb_error *err)
{
    struct archive_reader *r = NULL;
    mfb_status s = archive_reader_open(zip, &r, err);
    if (s == MFB_OK)
        s = archive_extract(r, dir, NULL, NULL, err);
    archive_reader_free(r);
    return s;
}

/* XORs one byte of a file at offset with mask. */
static inline void fx_flip(const char *path, uint64_t offset, unsigned char mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, (off_t)offset), 1);
    b ^= mask;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)offset), 1);
    close(fd);
}

/* Runs a shell command; returns its exit status. */
static inline int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int fx_sh(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* ---- a raw ZIP builder for hostile archives (stored entries only) ---- */

struct rawzip_entry {
    const char *name;
    const char *data;
    uint32_t mode; /* st_mode with type bits */
};

static inline void rawzip_write(const char *path, const struct rawzip_entry *entries, size_t n)
{
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    uint64_t *offsets = calloc(n, sizeof(uint64_t));
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[ZIP_LOCAL_SIZE];
        size_t nlen = strlen(entries[i].name), dlen = strlen(entries[i].data);
        uint32_t crc = (uint32_t)crc32(0, (const Bytef *)entries[i].data, (uInt)dlen);
        offsets[i] = off;
        zip_put32(h, ZIP_SIG_LOCAL);
        zip_put16(h + 4, 10);
        zip_put16(h + 6, 0);
        zip_put16(h + 8, 0);
        zip_put32(h + 10, 0x00210000);
        zip_put32(h + 14, crc);
        zip_put32(h + 18, (uint32_t)dlen);
        zip_put32(h + 22, (uint32_t)dlen);
        zip_put16(h + 26, (uint16_t)nlen);
        zip_put16(h + 28, 0);
        fwrite(h, 1, sizeof(h), out);
        fwrite(entries[i].name, 1, nlen, out);
        fwrite(entries[i].data, 1, dlen, out);
        off += sizeof(h) + nlen + dlen;
    }
    uint64_t cd = off;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[ZIP_CENTRAL_SIZE];
        size_t nlen = strlen(entries[i].name), dlen = strlen(entries[i].data);
        uint32_t crc = (uint32_t)crc32(0, (const Bytef *)entries[i].data, (uInt)dlen);
        memset(h, 0, sizeof(h));
        zip_put32(h, ZIP_SIG_CENTRAL);
        zip_put16(h + 4, ZIP_VERSION_MADE_BY);
        zip_put16(h + 6, 10);
        zip_put32(h + 12, 0x00210000);
        zip_put32(h + 16, crc);
        zip_put32(h + 20, (uint32_t)dlen);
        zip_put32(h + 24, (uint32_t)dlen);
        zip_put16(h + 28, (uint16_t)nlen);
        zip_put32(h + 38, entries[i].mode << 16);
        zip_put32(h + 42, (uint32_t)offsets[i]);
        fwrite(h, 1, sizeof(h), out);
        fwrite(entries[i].name, 1, nlen, out);
        off += sizeof(h) + nlen;
    }
    uint8_t e[ZIP_EOCD_SIZE];
    memset(e, 0, sizeof(e));
    zip_put32(e, ZIP_SIG_EOCD);
    zip_put16(e + 8, (uint16_t)n);
    zip_put16(e + 10, (uint16_t)n);
    zip_put32(e + 12, (uint32_t)(off - cd));
    zip_put32(e + 16, (uint32_t)cd);
    fwrite(e, 1, sizeof(e), out);
    fclose(out);
    free(offsets);
}

#endif
