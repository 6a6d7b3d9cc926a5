/*
 * verify.c - `mfb archive test`: every entry's data, then the manifest
 * against the central directory, then (mfb's archives) the central
 * directory's own CRC.
 *
 * The order matters for the message: the per-entry checks compare each
 * central directory record with its local header, data descriptor and
 * data, and the manifest check compares it with what the writer saw, so a
 * damaged record is usually named by one of them; the CRC of the whole
 * directory comes last and catches whatever is left (a byte in a field
 * nothing else repeats).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/manifest.h"
#include "archive/reader_internal.h"
#include "archive/scan.h"
#include "archive/zipfmt.h"

#define MANIFEST_MAX (1024u * 1024u * 1024u)

static const char *type_name(enum archive_entry_type t)
{
    return t == ARCHIVE_ENTRY_DIR ? "dir" : t == ARCHIVE_ENTRY_SYMLINK ? "symlink" : "file";
}

/* Name without a directory's trailing '/', as the manifest lists it. */
static size_t plain_len(const struct archive_entry *e)
{
    size_t len = e->name_len;
    if (e->type == ARCHIVE_ENTRY_DIR && len > 0 && e->name[len - 1] == '/')
        len--;
    return len;
}

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen < blen ? -1 : alen > blen ? 1 : 0);
}

static int compare_entries(const void *a, const void *b, void *ctx)
{
    const struct archive_reader *r = ctx;
    const struct archive_entry *x = &r->entries[*(const size_t *)a];
    const struct archive_entry *y = &r->entries[*(const size_t *)b];
    return compare_bytes(x->name, plain_len(x), y->name, plain_len(y));
}

static int compare_files(const void *a, const void *b)
{
    const struct manifest_file *x = a, *y = b;
    return compare_bytes(x->path, x->path_len, y->path, y->path_len);
}

/* The metadata of one entry against its manifest record. */
static mfb_status compare_one(const struct archive_entry *e, const struct manifest_file *f,
                              struct mfb_error *err)
{
    if (strcmp(type_name(e->type), f->type) != 0)
        return entry_error(err, e, MFB_ERR_CORRUPT, "is a %s, the manifest says %s",
                           type_name(e->type), f->type);
    if (e->size != f->size)
        return entry_error(err, e, MFB_ERR_CORRUPT, "size %llu differs from the manifest's %llu",
                           (unsigned long long)e->size, (unsigned long long)f->size);
    if (e->crc != f->crc)
        return entry_error(err, e, MFB_ERR_CORRUPT, "crc %08x differs from the manifest's %08x",
                           e->crc, f->crc);
    if (e->has_mode && e->mode != f->mode)
        return entry_error(err, e, MFB_ERR_CORRUPT, "mode %04o differs from the manifest's %04o",
                           e->mode, f->mode);
    if (e->has_ut_mtime && e->mtime != f->mtime)
        return entry_error(err, e, MFB_ERR_CORRUPT, "mtime %lld differs from the manifest's %lld",
                           (long long)e->mtime, (long long)f->mtime);
    if (e->has_owner && f->has_owner && (e->uid != f->uid || e->gid != f->gid))
        return entry_error(err, e, MFB_ERR_CORRUPT, "owner %u:%u differs from the manifest's %u:%u",
                           e->uid, e->gid, f->uid, f->gid);
    return MFB_OK;
}

static mfb_status check_manifest(struct archive_reader *r, size_t mindex, struct mfb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    struct manifest m;
    memset(&m, 0, sizeof(m));
    size_t *order = NULL;
    mfb_status s = archive_reader_read_alloc(r, mindex, MANIFEST_MAX, &text, &len, err);
    if (s == MFB_OK)
        s = manifest_parse(text, len, &m, err);
    size_t n = mindex; /* entries before the manifest */
    if (s == MFB_OK && (order = malloc((n ? n : 1) * sizeof(size_t))) == NULL)
        s = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory checking the manifest");
    if (s != MFB_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(size_t), compare_entries, r);
    qsort(m.files, m.count, sizeof(*m.files), compare_files);
    size_t i = 0, j = 0;
    while (s == MFB_OK && (i < n || j < m.count)) {
        const struct archive_entry *e = i < n ? &r->entries[order[i]] : NULL;
        const struct manifest_file *f = j < m.count ? &m.files[j] : NULL;
        int c = e == NULL   ? 1
                : f == NULL ? -1
                            : compare_bytes(e->name, plain_len(e), f->path, f->path_len);
        if (c < 0) {
            s = entry_error(err, e, MFB_ERR_CORRUPT, "is not listed in the manifest");
        } else if (c > 0) {
            s = mfb_error_set(err, MFB_ERR_CORRUPT,
                              "entry '%s' of the manifest is missing from the archive", f->path);
            mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
        } else {
            if (i + 1 < n && compare_entries(&order[i], &order[i + 1], r) == 0)
                s = entry_error(err, e, MFB_ERR_CORRUPT, "is stored twice");
            else
                s = compare_one(e, f, err);
            i++;
            j++;
        }
    }
done:
    free(order);
    manifest_free(&m);
    free(text);
    return s;
}

/* For mfb's archives, the fields nothing else repeats must hold what mfb writes. */
static mfb_status check_mfb_record(const struct archive_entry *e, struct mfb_error *err)
{
    uint32_t want_dos = e->type == ARCHIVE_ENTRY_DIR ? ZIP_DOS_DIRECTORY : 0;
    if (e->version_made_by != ZIP_VERSION_MADE_BY || e->internal_attr != 0 || e->disk != 0 ||
        e->comment_len != 0 || (e->external_attr & 0xffffu) != want_dos)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "its central directory record holds values mfb never writes (at "
                           "offset %llu)",
                           (unsigned long long)e->record_offset);
    uint32_t fmt = (e->external_attr >> 16) & S_IFMT;
    uint32_t want = e->type == ARCHIVE_ENTRY_DIR       ? S_IFDIR
                    : e->type == ARCHIVE_ENTRY_SYMLINK ? S_IFLNK
                                                       : S_IFREG;
    if (fmt != want)
        return entry_error(err, e, MFB_ERR_CORRUPT,
                           "its file type in the central directory is inconsistent");
    return MFB_OK;
}

/* What holds the archive together, after its entries: the manifest
 * against the central directory, the central directory's own CRC. */
static mfb_status check_directory(struct archive_reader *r, struct archive_test_summary *sum,
                                  struct mfb_error *err)
{
    size_t mindex = archive_reader_manifest_index(r);
    if (mindex != SIZE_MAX) {
        mfb_status s = check_manifest(r, mindex, err);
        if (s != MFB_OK)
            return s;
        sum->manifest_checked = true;
    } else if (r->is_mfb) {
        mfb_error_set(err, MFB_ERR_CORRUPT, "the manifest '%s' is missing", SCAN_MANIFEST_NAME);
        mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
        return MFB_ERR_CORRUPT;
    }
    if (mindex != SIZE_MAX && !r->is_mfb) {
        /* only mfb writes the manifest, and always with the directory's CRC; the
         * manifest was checked first because it names the entry */
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "central directory is corrupt: the archive comment with its crc is "
                      "missing or damaged");
        mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
        return MFB_ERR_CORRUPT;
    }
    if (r->is_mfb && r->cd_crc_stored != r->cd_crc_computed) {
        mfb_error_set(err, MFB_ERR_CORRUPT,
                      "central directory is corrupt (crc stored %08x, computed %08x, at offset "
                      "%llu, %llu bytes)",
                      r->cd_crc_stored, r->cd_crc_computed, (unsigned long long)r->cd_offset,
                      (unsigned long long)r->cd_size);
        mfb_error_hint(err, "the archive is damaged; use another copy of the backup");
        return MFB_ERR_CORRUPT;
    }
    return MFB_OK;
}

/* Every entry's record (mfb's own archives), and with read_data its data
 * against its CRC; then the central directory. */
static mfb_status test_entries(struct archive_reader *r, bool read_data,
                               struct archive_test_summary *summary, struct mfb_error *err)
{
    struct archive_test_summary sum = {0};
    for (size_t i = 0; i < r->count; i++) {
        const struct archive_entry *e = &r->entries[i];
        mfb_status s = r->is_mfb ? check_mfb_record(e, err) : MFB_OK;
        if (s == MFB_OK && read_data)
            s = archive_reader_read(r, i, NULL, NULL, err);
        if (s != MFB_OK)
            return s;
        sum.entries++;
        sum.bytes += e->size;
    }
    mfb_status s = check_directory(r, &sum, err);
    if (s == MFB_OK && summary)
        *summary = sum;
    return s;
}

mfb_status archive_reader_test(struct archive_reader *r, struct archive_test_summary *summary,
                               struct mfb_error *err)
{
    return test_entries(r, true, summary, err);
}

mfb_status archive_reader_test_structure(struct archive_reader *r,
                                         struct archive_test_summary *summary,
                                         struct mfb_error *err)
{
    return test_entries(r, false, summary, err);
}
