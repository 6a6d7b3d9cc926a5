/*
 * list.c - `mfb archive list`: one line per entry, or a JSON array with one
 * entry per line. Only symlink targets are read from the data; everything
 * else comes from the central directory. Times are UTC.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/reader_internal.h"

static void format_mode(const struct archive_entry *e, char out[11])
{
    static const char rwx[] = "rwxrwxrwx";
    uint32_t mode = e->has_mode ? e->mode : (e->type == ARCHIVE_ENTRY_DIR ? 0755 : 0644);
    out[0] = e->type == ARCHIVE_ENTRY_DIR ? 'd' : e->type == ARCHIVE_ENTRY_SYMLINK ? 'l' : '-';
    for (int i = 0; i < 9; i++)
        out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
    if (mode & 04000)
        out[3] = (mode & 0100) ? 's' : 'S';
    if (mode & 02000)
        out[6] = (mode & 0010) ? 's' : 'S';
    if (mode & 01000)
        out[9] = (mode & 0001) ? 't' : 'T';
    out[10] = '\0';
}

static void format_utc(int64_t t, const char *fmt, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, fmt, &tm) == 0)
        snprintf(buf, len, "?");
}

static mfb_status print_json(const struct archive_entry *e, const char *target, bool first,
                             FILE *out, struct mfb_error *err)
{
    char mode[8], crc[16], mtime[32];
    snprintf(mode, sizeof(mode), "%04o", e->has_mode ? e->mode : 0);
    snprintf(crc, sizeof(crc), "%08x", e->crc);
    format_utc(e->mtime, "%Y-%m-%dT%H:%M:%SZ", mtime, sizeof(mtime));
    const char *type = e->type == ARCHIVE_ENTRY_DIR       ? "dir"
                       : e->type == ARCHIVE_ENTRY_SYMLINK ? "symlink"
                                                          : "file";
    json_t *o = json_object();
    json_object_set_new(o, "name", json_stringn_nocheck(e->name, e->name_len));
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "mode", json_string(mode));
    json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    json_object_set_new(o, "compressed_size", json_integer((json_int_t)e->csize));
    json_object_set_new(o, "crc32", json_string(crc));
    json_object_set_new(o, "mtime", json_string(mtime));
    if (e->has_owner) {
        json_object_set_new(o, "uid", json_integer(e->uid));
        json_object_set_new(o, "gid", json_integer(e->gid));
    }
    if (target)
        json_object_set_new(o, "target", json_string_nocheck(target));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    fprintf(out, "%s%s", first ? "[\n" : ",\n", text);
    free(text);
    return MFB_OK;
}

mfb_status archive_reader_list(struct archive_reader *r, FILE *out, bool json,
                               struct mfb_error *err)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct archive_entry *e = &r->entries[i];
        char *target = NULL;
        if (e->type == ARCHIVE_ENTRY_SYMLINK) {
            mfb_status s = archive_reader_read_alloc(r, i, PATH_MAX, &target, NULL, err);
            if (s != MFB_OK)
                return s;
        }
        mfb_status s = MFB_OK;
        if (json) {
            s = print_json(e, target, i == 0, out, err);
        } else {
            char mode[11], mtime[32];
            format_mode(e, mode);
            format_utc(e->mtime, "%Y-%m-%d %H:%M:%S", mtime, sizeof(mtime));
            fprintf(out, "%s %12" PRIu64 " %12" PRIu64 " %s %s%s%s\n", mode, e->size, e->csize,
                    mtime, e->name, target ? " -> " : "", target ? target : "");
        }
        free(target);
        if (s != MFB_OK)
            return s;
    }
    if (json)
        fprintf(out, "%s]\n", r->count ? "\n" : "[");
    if (fflush(out) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write the listing");
    return MFB_OK;
}
