/*
 * reader.c - opening a ZIP archive, its central directory, and verified
 * streaming of entry data (see reader.h).
 *
 * Decompression uses ISA-L's inflate (several times faster than zlib's);
 * the CRC-32 is computed on the output as it streams. Every length read from
 * the file is checked against the file and the central directory before it
 * is used, since the archive may be damaged or hostile.
 */
#include "archive/reader_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/deflate_block.h"
#include "archive/scan.h"
#include "archive/zipfmt.h"

#define READ_CHUNK (1024u * 1024u)
#define MAX_CENTRAL_DIRECTORY (1024ull * 1024u * 1024u)
#define EOCD_SEARCH (ZIP_MAX16 + ZIP_EOCD_SIZE + ZIP_LOCATOR64_SIZE)
#define CD_COMMENT_PREFIX "mfb cd-crc32="

/* The part of [offset, offset + len) at or after the tail comes from the
 * tail's copy; returns how many bytes before it are still to read. */
static size_t read_from_tail(struct archive_reader *r, uint8_t *p, size_t len, uint64_t offset)
{
    if (r->tail == NULL || offset + len <= r->tail_base)
        return len;
    uint64_t from = offset > r->tail_base ? offset : r->tail_base;
    size_t head = (size_t)(from - offset);
    memcpy(p + head, r->tail + (from - r->tail_base), len - head);
    return head;
}

mfb_status reader_pread(struct archive_reader *r, void *buf, size_t len, uint64_t offset,
                        struct mfb_error *err)
{
    uint8_t *p = buf;
    if (r->tail != NULL && (offset > r->file_size || len > r->file_size - offset))
        return mfb_error_set(err, MFB_ERR_CORRUPT, "'%s' is truncated (read past its end at %llu)",
                             r->path, (unsigned long long)r->file_size);
    len = read_from_tail(r, p, len, offset);
    if (len == 0)
        return MFB_OK;
    if (r->tail != NULL && r->wait == NULL) { /* only the tail so far */
        if (offset < r->need_from)
            r->need_from = offset;
        return mfb_error_set(err, MFB_ERR_CORRUPT,
                             "'%s': byte %llu lies before the fetched end of the archive", r->path,
                             (unsigned long long)offset);
    }
    if (r->wait != NULL) {
        mfb_status s = r->wait(r->wait_ctx, offset + len, err);
        if (s != MFB_OK)
            return s;
    }
    while (len > 0) {
        ssize_t n = pread(r->fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read '%s'", r->path);
        }
        if (n == 0)
            return mfb_error_set(err, MFB_ERR_CORRUPT,
                                 "'%s' is truncated (read past its end at %llu)", r->path,
                                 (unsigned long long)offset);
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return MFB_OK;
}

static mfb_status cd_corrupt(struct archive_reader *r, struct mfb_error *err, uint64_t offset,
                             size_t index, const char *what)
{
    const char *prev = index > 0 ? r->entries[index - 1].name : NULL;
    if (prev)
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "central directory is corrupt at offset %llu (record %zu, after entry "
                      "'%s'): %s",
                      (unsigned long long)offset, index + 1, prev, what);
    else
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "central directory is corrupt at offset %llu (record %zu): %s",
                      (unsigned long long)offset, index + 1, what);
    mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
    return MFB_ERR_CORRUPT;
}

/* Finds and parses the end of central directory records. */
static mfb_status read_end_records(struct archive_reader *r, struct mfb_error *err)
{
    if (r->file_size < ZIP_EOCD_SIZE) {
        mfb_error_set(err, MFB_ERR_CORRUPT, "'%s' is not a zip archive (too short)", r->path);
        return MFB_ERR_CORRUPT;
    }
    size_t tail_len = r->file_size < EOCD_SEARCH ? (size_t)r->file_size : EOCD_SEARCH;
    uint64_t tail_off = r->file_size - tail_len;
    /* a reader on a shorter tail first looks in what it has: the record
     * is usually in its last bytes */
    uint64_t full_off = tail_off;
    bool partial = r->tail != NULL && r->wait == NULL && tail_off < r->tail_base;
    if (partial) {
        tail_off = r->tail_base;
        tail_len = (size_t)(r->file_size - tail_off);
    }
    uint8_t *tail = malloc(tail_len);
    if (tail == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status s = reader_pread(r, tail, tail_len, tail_off, err);
    if (s != MFB_OK) {
        free(tail);
        return s;
    }
    /* the last signature whose comment ends exactly at the end of the file;
     * failing that, the last one whose comment fits */
    ssize_t found = -1, loose = -1;
    for (ssize_t i = (ssize_t)tail_len - ZIP_EOCD_SIZE; i >= 0; i--) {
        if (zip_get32(tail + i) != ZIP_SIG_EOCD)
            continue;
        size_t clen = zip_get16(tail + i + 20);
        if ((size_t)i + ZIP_EOCD_SIZE + clen == tail_len) {
            found = i;
            break;
        }
        if (loose < 0 && (size_t)i + ZIP_EOCD_SIZE + clen <= tail_len)
            loose = i;
    }
    if (found < 0 && partial) {
        free(tail);
        if (full_off < r->need_from)
            r->need_from = full_off;
        return mfb_error_set(err, MFB_ERR_CORRUPT, "'%s': no end record in its fetched end",
                             r->path);
    }
    if (found < 0 && loose >= 0) {
        free(tail);
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "end of central directory record is corrupt (its comment length does not "
                      "reach the end of '%s')",
                      r->path);
        mfb_error_hint(err, "the archive is damaged or has data appended; use another copy");
        return MFB_ERR_CORRUPT;
    }
    if (found < 0) {
        free(tail);
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "'%s' is not a zip archive (no end of central directory record)", r->path);
        mfb_error_hint(err, "the file may be truncated; an archive ends with its directory");
        return MFB_ERR_CORRUPT;
    }
    const uint8_t *e = tail + found;
    uint64_t eocd_off = tail_off + (uint64_t)found;
    uint16_t disk = zip_get16(e + 4), cd_disk = zip_get16(e + 6);
    uint64_t n_disk = zip_get16(e + 8), n = zip_get16(e + 10);
    uint64_t cd_size = zip_get32(e + 12), cd_off = zip_get32(e + 16);
    size_t clen = zip_get16(e + 20);
    r->comment_len = clen;
    if (clen >= sizeof(CD_COMMENT_PREFIX) - 1 + 8 &&
        memcmp(e + ZIP_EOCD_SIZE, CD_COMMENT_PREFIX, sizeof(CD_COMMENT_PREFIX) - 1) == 0) {
        char hex[9];
        memcpy(hex, e + ZIP_EOCD_SIZE + sizeof(CD_COMMENT_PREFIX) - 1, 8);
        hex[8] = '\0';
        char *end;
        unsigned long v = strtoul(hex, &end, 16);
        if (*end == '\0') {
            r->is_mfb = true;
            r->cd_crc_stored = (uint32_t)v;
        }
    }
    uint64_t cd_end_limit = eocd_off;
    /* the Zip64 locator sits just before the record */
    if (eocd_off >= ZIP_LOCATOR64_SIZE) {
        const uint8_t *l = NULL;
        uint8_t lbuf[ZIP_LOCATOR64_SIZE];
        if ((uint64_t)found >= ZIP_LOCATOR64_SIZE) {
            l = e - ZIP_LOCATOR64_SIZE;
        } else if (reader_pread(r, lbuf, sizeof(lbuf), eocd_off - ZIP_LOCATOR64_SIZE, NULL) ==
                   MFB_OK) {
            l = lbuf;
        }
        if (l && zip_get32(l) == ZIP_SIG_LOCATOR64) {
            uint64_t z_off = zip_get64(l + 8);
            uint8_t z[ZIP_EOCD64_SIZE];
            if (z_off + ZIP_EOCD64_SIZE > eocd_off - ZIP_LOCATOR64_SIZE ||
                reader_pread(r, z, sizeof(z), z_off, NULL) != MFB_OK ||
                zip_get32(z) != ZIP_SIG_EOCD64) {
                free(tail);
                mfb_error_set(err, MFB_ERR_CORRUPT,
                              "zip64 end of central directory record is corrupt (expected at "
                              "offset %llu)",
                              (unsigned long long)z_off);
                mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
                return MFB_ERR_CORRUPT;
            }
            disk = (uint16_t)zip_get32(z + 16);
            cd_disk = (uint16_t)zip_get32(z + 20);
            n_disk = zip_get64(z + 24);
            n = zip_get64(z + 32);
            cd_size = zip_get64(z + 40);
            cd_off = zip_get64(z + 48);
            cd_end_limit = z_off;
            r->zip64_end = true;
        }
    }
    free(tail);
    if (disk != 0 || cd_disk != 0 || n_disk != n) {
        mfb_error_set(err, MFB_ERR_UNSUPPORTED, "'%s' is a multi-part (split) archive", r->path);
        return MFB_ERR_UNSUPPORTED;
    }
    if (cd_off > cd_end_limit || cd_size > cd_end_limit - cd_off ||
        cd_size > MAX_CENTRAL_DIRECTORY || n > cd_size / ZIP_CENTRAL_SIZE) {
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "end of central directory record is corrupt (directory at offset %llu, "
                      "%llu bytes, %llu entries, in a file of %llu bytes)",
                      (unsigned long long)cd_off, (unsigned long long)cd_size,
                      (unsigned long long)n, (unsigned long long)r->file_size);
        mfb_error_hint(err, "the archive is damaged or truncated; use another copy of the backup");
        return MFB_ERR_CORRUPT;
    }
    r->cd_offset = cd_off;
    r->cd_size = cd_size;
    r->cd_end = cd_end_limit;
    r->count = (size_t)n;
    return MFB_OK;
}

static enum archive_entry_type entry_type(const struct archive_entry *e)
{
    if (e->name_len > 0 && e->name[e->name_len - 1] == '/')
        return ARCHIVE_ENTRY_DIR;
    if ((e->version_made_by >> 8) == ZIP_HOST_UNIX) {
        uint32_t fmt = (e->external_attr >> 16) & S_IFMT;
        if (fmt == S_IFDIR)
            return ARCHIVE_ENTRY_DIR;
        if (fmt == S_IFLNK)
            return ARCHIVE_ENTRY_SYMLINK;
    }
    if (e->external_attr & ZIP_DOS_DIRECTORY)
        return ARCHIVE_ENTRY_DIR;
    return ARCHIVE_ENTRY_FILE;
}

static mfb_status parse_central_directory(struct archive_reader *r, const uint8_t *cd,
                                          struct mfb_error *err)
{
    size_t pos = 0;
    for (size_t i = 0; i < r->count; i++) {
        uint64_t at = r->cd_offset + pos;
        if (pos + ZIP_CENTRAL_SIZE > r->cd_size)
            return cd_corrupt(r, err, at, i, "the directory ends early");
        const uint8_t *h = cd + pos;
        if (zip_get32(h) != ZIP_SIG_CENTRAL)
            return cd_corrupt(r, err, at, i, "bad record signature");
        struct archive_entry *e = &r->entries[i];
        e->record_offset = at;
        e->version_made_by = zip_get16(h + 4);
        e->version_needed = zip_get16(h + 6);
        e->flags = zip_get16(h + 8);
        e->method = zip_get16(h + 10);
        e->dos_time = zip_get16(h + 12);
        e->dos_date = zip_get16(h + 14);
        e->crc = zip_get32(h + 16);
        e->csize = zip_get32(h + 20);
        e->size = zip_get32(h + 24);
        size_t nlen = zip_get16(h + 28), xlen = zip_get16(h + 30), clen = zip_get16(h + 32);
        e->comment_len = (uint16_t)clen;
        uint64_t disk = zip_get16(h + 34);
        e->internal_attr = zip_get16(h + 36);
        e->external_attr = zip_get32(h + 38);
        e->local_offset = zip_get32(h + 42);
        if (pos + ZIP_CENTRAL_SIZE + nlen + xlen + clen > r->cd_size)
            return cd_corrupt(r, err, at, i, "a record runs past the directory's end");
        if (nlen == 0)
            return cd_corrupt(r, err, at, i, "an entry has an empty name");
        const char *name = (const char *)h + ZIP_CENTRAL_SIZE;
        if (memchr(name, '\0', nlen) != NULL)
            return cd_corrupt(r, err, at, i, "an entry name holds a NUL byte");
        e->name = malloc(nlen + 1);
        if (e->name == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        memcpy(e->name, name, nlen);
        e->name[nlen] = '\0';
        e->name_len = nlen;
        struct zip_extra_info x = {0};
        e->extra_crc = zip_extra_crc(h + ZIP_CENTRAL_SIZE + nlen, xlen);
        if (!zip_parse_extra(h + ZIP_CENTRAL_SIZE + nlen, xlen, &x))
            return cd_corrupt(r, err, at, i, "malformed extra field");
        size_t zpos = 0;
        if (!zip_zip64_take(&x, &zpos, &e->size, ZIP_MAX32) ||
            !zip_zip64_take(&x, &zpos, &e->csize, ZIP_MAX32) ||
            !zip_zip64_take(&x, &zpos, &e->local_offset, ZIP_MAX32))
            return cd_corrupt(r, err, at, i, "zip64 extra field is missing or short");
        if (disk == ZIP_MAX16 && x.has_zip64 && zpos + 4 <= x.zip64_len)
            disk = zip_get32(x.zip64 + zpos);
        e->disk = (uint32_t)disk;
        if (x.has_mtime) {
            e->mtime = x.mtime;
            e->has_ut_mtime = true;
        } else {
            e->mtime = zip_dos_to_unix(e->dos_date, e->dos_time);
        }
        e->has_owner = x.has_owner;
        e->uid = x.uid;
        e->gid = x.gid;
        if ((e->version_made_by >> 8) == ZIP_HOST_UNIX && (e->external_attr >> 16) != 0) {
            e->has_mode = true;
            e->mode = (e->external_attr >> 16) & 07777;
        }
        e->type = entry_type(e);
        if (e->local_offset >= r->cd_offset)
            return cd_corrupt(r, err, at, i, "an entry's data would start inside the directory");
        pos += ZIP_CENTRAL_SIZE + nlen + xlen + clen;
    }
    if (pos != r->cd_size)
        return cd_corrupt(r, err, r->cd_offset + pos, r->count,
                          "the directory holds more bytes than its records");
    r->cd_crc_computed = deflate_crc32(0, cd, r->cd_size);
    return MFB_OK;
}

/* The end records and the central directory, once file_size is known. */
static mfb_status load_directory(struct archive_reader *r, struct mfb_error *err)
{
    mfb_status s = read_end_records(r, err);
    if (s != MFB_OK)
        return s;
    uint8_t *cd = malloc(r->cd_size ? r->cd_size : 1);
    r->entries = calloc(r->count ? r->count : 1, sizeof(*r->entries));
    if (cd == NULL || r->entries == NULL)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for the central directory");
    if (s == MFB_OK)
        s = reader_pread(r, cd, r->cd_size, r->cd_offset, err);
    if (s == MFB_OK)
        s = parse_central_directory(r, cd, err);
    free(cd);
    return s;
}

static struct archive_reader *reader_new(const char *path)
{
    struct archive_reader *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->path = strdup(path)) == NULL) {
        free(r);
        return NULL;
    }
    r->fd = -1;
    r->need_from = UINT64_MAX;
    return r;
}

mfb_status archive_reader_open(const char *path, struct archive_reader **out, struct mfb_error *err)
{
    *out = NULL;
    struct archive_reader *r = reader_new(path);
    if (r == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status s = MFB_OK;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->fd < 0) {
        s = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
        goto done;
    }
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        s = mfb_error_set(err, MFB_ERR_INVALID, "'%s' is not a regular file", path);
        goto done;
    }
    r->file_size = (uint64_t)st.st_size;
    s = load_directory(r, err);
done:
    if (s != MFB_OK) {
        archive_reader_free(r);
        return s;
    }
    *out = r;
    return MFB_OK;
}

mfb_status archive_reader_open_tail(const char *name, const uint8_t *tail, size_t tail_len,
                                    uint64_t file_size, struct archive_reader **out,
                                    uint64_t *need_from, struct mfb_error *err)
{
    *out = NULL;
    *need_from = 0;
    if (tail_len > file_size)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "a tail longer than its archive");
    struct archive_reader *r = reader_new(name);
    if (r == NULL || (r->tail = malloc(tail_len ? tail_len : 1)) == NULL) {
        archive_reader_free(r);
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    }
    memcpy(r->tail, tail, tail_len);
    r->file_size = file_size;
    r->tail_base = file_size - tail_len;
    struct mfb_error local = {0};
    mfb_status s = load_directory(r, &local);
    size_t m = s == MFB_OK ? archive_reader_manifest_index(r) : SIZE_MAX;
    if (m != SIZE_MAX && r->entries[m].local_offset < r->tail_base)
        r->need_from = r->entries[m].local_offset; /* its data is read with the directory */
    if (r->need_from < r->tail_base) {
        /* not damage (yet): the tail is too short to tell */
        *need_from = r->need_from;
        archive_reader_free(r);
        return MFB_OK;
    }
    if (s != MFB_OK) {
        if (err)
            *err = local;
        archive_reader_free(r);
        return s;
    }
    *out = r;
    return MFB_OK;
}

void archive_reader_attach_source(struct archive_reader *r, int fd, archive_wait_fn wait, void *ctx)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->wait = wait;
    r->wait_ctx = ctx;
}

mfb_status archive_reader_same_directory(const struct archive_reader *a,
                                         const struct archive_reader *b, struct mfb_error *err)
{
    const char *what = NULL, *entry = NULL;
    if (a->count != b->count)
        what = "its number of entries";
    for (size_t i = 0; what == NULL && i < a->count; i++) {
        const struct archive_entry *x = &a->entries[i], *y = &b->entries[i];
        entry = x->name;
        if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0)
            what = "an entry's name";
        else if (x->size != y->size || x->csize != y->csize)
            what = "an entry's size";
        else if (x->crc != y->crc)
            what = "an entry's CRC-32";
        else if (x->local_offset != y->local_offset || x->flags != y->flags ||
                 x->method != y->method)
            what = "an entry's place or method";
        else if (x->external_attr != y->external_attr || x->mtime != y->mtime || x->uid != y->uid ||
                 x->gid != y->gid || x->extra_crc != y->extra_crc)
            what = "an entry's metadata";
    }
    if (what == NULL && (a->cd_crc_computed != b->cd_crc_computed || a->cd_size != b->cd_size ||
                         a->cd_offset != b->cd_offset)) {
        what = "its bytes";
        entry = NULL;
    }
    if (what == NULL)
        return MFB_OK;
    if (entry != NULL && a->count == b->count)
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "the central directory of '%s' differs from the one its files were "
                      "extracted by (%s, entry '%s')",
                      b->path, what, entry);
    else
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "the central directory of '%s' differs from the one its files were "
                      "extracted by (%s)",
                      b->path, what);
    mfb_error_hint(err, "the receiver sent two different archives for one backup; restore it "
                        "again, or another backup");
    return MFB_ERR_CORRUPT;
}

void archive_reader_free(struct archive_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; r->entries && i < r->count; i++)
        free(r->entries[i].name);
    free(r->entries);
    free(r->inflate);
    free(r->inbuf);
    free(r->outbuf);
    free(r->tail);
    free(r->path);
    free(r);
}

size_t archive_reader_count(const struct archive_reader *r)
{
    return r->count;
}

const struct archive_entry *archive_reader_entry(const struct archive_reader *r, size_t index)
{
    return index < r->count ? &r->entries[index] : NULL;
}

bool archive_reader_is_mfb(const struct archive_reader *r)
{
    return r->is_mfb;
}

size_t archive_reader_manifest_index(const struct archive_reader *r)
{
    if (r->count == 0)
        return SIZE_MAX;
    const struct archive_entry *e = &r->entries[r->count - 1];
    return strcmp(e->name, SCAN_MANIFEST_NAME) == 0 ? r->count - 1 : SIZE_MAX;
}

mfb_status entry_error(struct mfb_error *err, const struct archive_entry *e, mfb_status status,
                       const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    mfb_error_set(err, status, "entry '%s': %s", e->name, what);
    if (status == MFB_ERR_CORRUPT)
        mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
    return status;
}

/* Reads and checks the local header; returns where the data starts and
 * whether the descriptor uses 8-byte sizes. */
static mfb_status check_local_header(struct archive_reader *r, const struct archive_entry *e,
                                     uint64_t *data_offset, bool *zip64_local,
                                     struct mfb_error *err)
{
    uint8_t h[ZIP_LOCAL_SIZE];
    struct mfb_error ignored = {0};
    if (e->local_offset + ZIP_LOCAL_SIZE > r->cd_offset ||
        reader_pread(r, h, sizeof(h), e->local_offset, &ignored) != MFB_OK ||
        zip_get32(h) != ZIP_SIG_LOCAL)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "no local header at offset %llu; the central directory is corrupt",
                           (unsigned long long)e->local_offset);
    size_t nlen = zip_get16(h + 26), xlen = zip_get16(h + 28);
    uint64_t after = e->local_offset + ZIP_LOCAL_SIZE + nlen + xlen;
    if (after > r->cd_offset)
        return entry_error(err, e, MFB_ERR_CORRUPT, "local header runs into the directory");
    uint8_t *buf = malloc(nlen + xlen + 1);
    if (buf == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status s = reader_pread(r, buf, nlen + xlen, e->local_offset + ZIP_LOCAL_SIZE, err);
    if (s != MFB_OK)
        goto done;
    if (nlen != e->name_len || memcmp(buf, e->name, nlen) != 0) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "its name differs from the local header's ('%.*s'); the central "
                        "directory or the local header is corrupt",
                        (int)(nlen > 200 ? 200 : nlen), (const char *)buf);
        goto done;
    }
    uint16_t flags = zip_get16(h + 6), method = zip_get16(h + 8);
    uint16_t mask = r->is_mfb ? 0xffff : (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_DESCRIPTOR);
    if ((flags & mask) != (e->flags & mask) || method != e->method) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "flags or method differ between the local header (%04x, %u) and the "
                        "central directory (%04x, %u)",
                        flags, method, e->flags, e->method);
        goto done;
    }
    if (r->is_mfb && (zip_get16(h + 4) != e->version_needed || zip_get16(h + 10) != e->dos_time ||
                      zip_get16(h + 12) != e->dos_date)) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "version or time differ between the local header and the central "
                        "directory");
        goto done;
    }
    struct zip_extra_info x = {0};
    if (!zip_parse_extra(buf + nlen, xlen, &x)) {
        s = entry_error(err, e, MFB_ERR_CORRUPT, "malformed extra field in the local header");
        goto done;
    }
    if (r->is_mfb && zip_extra_crc(buf + nlen, xlen) != e->extra_crc) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "extra fields differ between the local header and the central directory");
        goto done;
    }
    if (r->is_mfb &&
        ((x.has_mtime != e->has_ut_mtime || (x.has_mtime && x.mtime != e->mtime)) ||
         x.has_owner != e->has_owner || (x.has_owner && (x.uid != e->uid || x.gid != e->gid)))) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "time or owner differ between the local header and the central "
                        "directory");
        goto done;
    }
    *zip64_local = x.has_zip64;
    if (!(flags & ZIP_FLAG_DESCRIPTOR)) {
        uint64_t usize = zip_get32(h + 22), csize = zip_get32(h + 18);
        size_t zpos = 0;
        if (!zip_zip64_take(&x, &zpos, &usize, ZIP_MAX32) ||
            !zip_zip64_take(&x, &zpos, &csize, ZIP_MAX32)) {
            s = entry_error(err, e, MFB_ERR_CORRUPT, "local zip64 extra field is missing");
            goto done;
        }
        uint32_t crc = zip_get32(h + 14);
        if (crc != e->crc || usize != e->size || csize != e->csize) {
            s = entry_error(err, e, MFB_ERR_CORRUPT,
                            "crc or sizes differ between the local header (%08x, %llu, %llu) "
                            "and the central directory (%08x, %llu, %llu)",
                            crc, (unsigned long long)usize, (unsigned long long)csize, e->crc,
                            (unsigned long long)e->size, (unsigned long long)e->csize);
            goto done;
        }
    } else if (r->is_mfb) {
        /* mfb leaves these zero (0xffffffff sizes with a zeroed zip64 field) */
        uint32_t marker = x.has_zip64 ? ZIP_MAX32 : 0;
        bool zero64 = !x.has_zip64 ||
                      (x.zip64_len == 16 && zip_get64(x.zip64) == 0 && zip_get64(x.zip64 + 8) == 0);
        if (zip_get32(h + 14) != 0 || zip_get32(h + 18) != marker || zip_get32(h + 22) != marker ||
            !zero64) {
            s = entry_error(err, e, MFB_ERR_CORRUPT,
                            "its local header holds sizes although they follow the data");
            goto done;
        }
    }
    if (after + e->csize > r->cd_offset || after + e->csize < after) {
        s = entry_error(err, e, MFB_ERR_CORRUPT,
                        "its compressed size (%llu) runs past the start of the directory",
                        (unsigned long long)e->csize);
        goto done;
    }
    *data_offset = after;
done:
    free(buf);
    return s;
}

static mfb_status check_descriptor(struct archive_reader *r, const struct archive_entry *e,
                                   uint64_t offset, bool zip64, struct mfb_error *err)
{
    uint8_t d[ZIP_DESCRIPTOR64_SIZE];
    size_t len = zip64 ? ZIP_DESCRIPTOR64_SIZE : ZIP_DESCRIPTOR32_SIZE;
    uint64_t avail = r->cd_offset - offset;
    if (avail < len - 4)
        return entry_error(err, e, MFB_ERR_CORRUPT, "data descriptor is missing");
    if (avail < len)
        len = (size_t)avail;
    mfb_status s = reader_pread(r, d, len, offset, err);
    if (s != MFB_OK)
        return s;
    const uint8_t *p = d;
    if (zip_get32(p) == ZIP_SIG_DESCRIPTOR && len >= (zip64 ? 24u : 16u))
        p += 4; /* the signature is optional */
    uint32_t crc = zip_get32(p);
    uint64_t csize = zip64 ? zip_get64(p + 4) : zip_get32(p + 4);
    uint64_t usize = zip64 ? zip_get64(p + 12) : zip_get32(p + 8);
    if (crc != e->crc || csize != e->csize || usize != e->size)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "data descriptor (%08x, %llu, %llu) differs from the central "
                           "directory (%08x, %llu, %llu)",
                           crc, (unsigned long long)csize, (unsigned long long)usize, e->crc,
                           (unsigned long long)e->csize, (unsigned long long)e->size);
    return MFB_OK;
}

static mfb_status deliver(const struct archive_entry *e, archive_data_fn fn, void *ctx,
                          const uint8_t *buf, size_t len, uint64_t *total, uint32_t *crc,
                          struct mfb_error *err)
{
    if (len == 0)
        return MFB_OK;
    *total += len;
    if (*total > e->size)
        return entry_error(err, e, MFB_ERR_CORRUPT, "holds more data than its size (%llu)",
                           (unsigned long long)e->size);
    *crc = deflate_crc32(*crc, buf, len);
    return fn ? fn(ctx, buf, len, err) : MFB_OK;
}

static mfb_status ensure_buffers(struct archive_reader *r, struct mfb_error *err)
{
    if (r->inbuf == NULL)
        r->inbuf = malloc(READ_CHUNK);
    if (r->outbuf == NULL)
        r->outbuf = malloc(READ_CHUNK);
    if (r->inflate == NULL)
        r->inflate = malloc(sizeof(struct inflate_state));
    if (r->inbuf == NULL || r->outbuf == NULL || r->inflate == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory for reading");
    return MFB_OK;
}

static mfb_status read_stored(struct archive_reader *r, const struct archive_entry *e,
                              uint64_t offset, archive_data_fn fn, void *ctx, uint64_t *total,
                              uint32_t *crc, struct mfb_error *err)
{
    if (e->csize != e->size)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "stored entry has different sizes (%llu compressed, %llu)",
                           (unsigned long long)e->csize, (unsigned long long)e->size);
    uint64_t left = e->csize;
    while (left > 0) {
        size_t n = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        mfb_status s = reader_pread(r, r->inbuf, n, offset, err);
        if (s == MFB_OK)
            s = deliver(e, fn, ctx, r->inbuf, n, total, crc, err);
        if (s != MFB_OK)
            return s;
        offset += n;
        left -= n;
    }
    return MFB_OK;
}

static mfb_status read_deflated(struct archive_reader *r, const struct archive_entry *e,
                                uint64_t offset, archive_data_fn fn, void *ctx, uint64_t *total,
                                uint32_t *crc, struct mfb_error *err)
{
    struct inflate_state *st = r->inflate;
    isal_inflate_init(st);
    st->crc_flag = ISAL_DEFLATE;
    uint64_t left = e->csize;
    st->avail_in = 0;
    while (st->block_state != ISAL_BLOCK_FINISH) {
        if (st->avail_in == 0 && left > 0) {
            size_t n = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
            mfb_status s = reader_pread(r, r->inbuf, n, offset, err);
            if (s != MFB_OK)
                return s;
            offset += n;
            left -= n;
            st->next_in = r->inbuf;
            st->avail_in = (uint32_t)n;
        }
        st->next_out = r->outbuf;
        st->avail_out = READ_CHUNK;
        int rc = isal_inflate(st);
        if (rc < 0)
            return entry_error(err, e, MFB_ERR_CORRUPT, "invalid deflate data (%s)",
                               rc == ISAL_INVALID_BLOCK      ? "bad block"
                               : rc == ISAL_INVALID_SYMBOL   ? "bad symbol"
                               : rc == ISAL_INVALID_LOOKBACK ? "bad distance"
                                                             : "error");
        size_t produced = READ_CHUNK - st->avail_out;
        mfb_status s = deliver(e, fn, ctx, r->outbuf, produced, total, crc, err);
        if (s != MFB_OK)
            return s;
        if (st->block_state != ISAL_BLOCK_FINISH && st->avail_in == 0 && left == 0 && produced == 0)
            return entry_error(err, e, MFB_ERR_CORRUPT,
                               "deflate data ends early (truncated or corrupt)");
    }
    if (st->avail_in != 0 || left != 0)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "deflate data ends %llu bytes before its compressed size",
                           (unsigned long long)(st->avail_in + left));
    return MFB_OK;
}

mfb_status archive_reader_read(struct archive_reader *r, size_t index, archive_data_fn fn,
                               void *ctx, struct mfb_error *err)
{
    const struct archive_entry *e = archive_reader_entry(r, index);
    if (e == NULL)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "no entry %zu", index);
    if (e->flags & ZIP_FLAG_ENCRYPTED)
        return entry_error(err, e, MFB_ERR_UNSUPPORTED, "is encrypted");
    if (e->method != ZIP_METHOD_STORE && e->method != ZIP_METHOD_DEFLATE)
        return entry_error(err, e, MFB_ERR_UNSUPPORTED, "compression method %u is not supported",
                           e->method);
    uint64_t data_offset = 0;
    bool zip64_local = false;
    mfb_status s = check_local_header(r, e, &data_offset, &zip64_local, err);
    if (s == MFB_OK)
        s = ensure_buffers(r, err);
    if (s != MFB_OK)
        return s;
    uint64_t total = 0;
    uint32_t crc = 0;
    if (e->method == ZIP_METHOD_STORE)
        s = read_stored(r, e, data_offset, fn, ctx, &total, &crc, err);
    else
        s = read_deflated(r, e, data_offset, fn, ctx, &total, &crc, err);
    if (s != MFB_OK)
        return s;
    if (total != e->size)
        return entry_error(err, e, MFB_ERR_CORRUPT, "size mismatch (stored %llu, got %llu)",
                           (unsigned long long)e->size, (unsigned long long)total);
    if (crc != e->crc)
        return entry_error(err, e, MFB_ERR_CORRUPT, "crc mismatch (stored %08x, computed %08x)",
                           e->crc, crc);
    if (e->flags & ZIP_FLAG_DESCRIPTOR)
        return check_descriptor(r, e, data_offset + e->csize, zip64_local, err);
    return MFB_OK;
}

struct alloc_ctx {
    char *data;
    size_t len;
    size_t max;
};

static mfb_status append(void *ctx, const uint8_t *buf, size_t len, struct mfb_error *err)
{
    struct alloc_ctx *a = ctx;
    if (a->len + len > a->max)
        return mfb_error_set(err, MFB_ERR_UNSUPPORTED, "entry is larger than %zu bytes", a->max);
    memcpy(a->data + a->len, buf, len);
    a->len += len;
    return MFB_OK;
}

mfb_status archive_reader_read_alloc(struct archive_reader *r, size_t index, size_t max,
                                     char **data, size_t *len, struct mfb_error *err)
{
    *data = NULL;
    const struct archive_entry *e = archive_reader_entry(r, index);
    if (e == NULL)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "no entry %zu", index);
    if (e->size > max)
        return entry_error(err, e, MFB_ERR_UNSUPPORTED, "is larger than %zu bytes", max);
    struct alloc_ctx a = {.data = malloc((size_t)e->size + 1), .max = (size_t)e->size};
    if (a.data == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    mfb_status s = archive_reader_read(r, index, append, &a, err);
    if (s != MFB_OK) {
        free(a.data);
        return s;
    }
    a.data[a.len] = '\0';
    *data = a.data;
    if (len)
        *len = a.len;
    return MFB_OK;
}
