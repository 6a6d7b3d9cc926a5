/*
 * zipfmt.h - the bytes of the ZIP format (PKWARE APPNOTE 6.3), shared by the
 * writer and the reader: signatures, little-endian field access, DOS time,
 * and the extra fields mfb writes and reads.
 *
 * Only the parts mfb needs are here: store and deflate, data descriptors,
 * Zip64 (extra field 0x0001, end of central directory record and locator),
 * the Info-ZIP extended timestamp (0x5455) and Unix owner (0x7875, and the
 * old 0x5855 on reading). Everything is encoded and decoded through the
 * put/get helpers, never by casting structs onto bytes, so alignment and
 * byte order never matter.
 */
#ifndef MFB_ARCHIVE_ZIPFMT_H
#define MFB_ARCHIVE_ZIPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZIP_SIG_LOCAL 0x04034b50u
#define ZIP_SIG_CENTRAL 0x02014b50u
#define ZIP_SIG_DESCRIPTOR 0x08074b50u
#define ZIP_SIG_EOCD 0x06054b50u
#define ZIP_SIG_EOCD64 0x06064b50u
#define ZIP_SIG_LOCATOR64 0x07064b50u

#define ZIP_LOCAL_SIZE 30
#define ZIP_CENTRAL_SIZE 46
#define ZIP_EOCD_SIZE 22
#define ZIP_EOCD64_SIZE 56
#define ZIP_LOCATOR64_SIZE 20
#define ZIP_DESCRIPTOR32_SIZE 16 /* with signature */
#define ZIP_DESCRIPTOR64_SIZE 24

#define ZIP_MAX16 0xffffu
#define ZIP_MAX32 0xffffffffu

#define ZIP_FLAG_ENCRYPTED 0x0001u
#define ZIP_FLAG_DESCRIPTOR 0x0008u
#define ZIP_FLAG_UTF8 0x0800u

#define ZIP_METHOD_STORE 0
#define ZIP_METHOD_DEFLATE 8

#define ZIP_VERSION_STORE 10
#define ZIP_VERSION_DEFLATE 20
#define ZIP_VERSION_ZIP64 45
#define ZIP_HOST_UNIX 3
/* "Made by" Unix, APPNOTE 6.3: readers then trust the mode in the high
 * 16 bits of the external attributes. */
#define ZIP_VERSION_MADE_BY ((ZIP_HOST_UNIX << 8) | 63)

#define ZIP_EXTRA_ZIP64 0x0001u
#define ZIP_EXTRA_TIMESTAMP 0x5455u /* "UT" */
#define ZIP_EXTRA_UNIX_OLD 0x5855u  /* "UX", Info-ZIP's old Unix field */
#define ZIP_EXTRA_UNIX 0x7875u      /* "ux", Info-ZIP's Unix uid/gid */

/* MS-DOS attribute bit for directories, set beside the Unix mode. */
#define ZIP_DOS_DIRECTORY 0x10u

/* Sizes of the extra fields the writer emits, header included. */
#define ZIP_EXTRA_TIMESTAMP_SIZE 9 /* id, len, flags, mtime */
#define ZIP_EXTRA_UNIX_SIZE 15     /* id, len, version, 4-byte uid, 4-byte gid */

static inline void zip_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void zip_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void zip_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t zip_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t zip_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t zip_get64(const uint8_t *p)
{
    return (uint64_t)zip_get32(p) | ((uint64_t)zip_get32(p + 4) << 32);
}

/* DOS date (high 16 bits) and time (low 16 bits) of a Unix time, in local
 * time as Info-ZIP writes it, clamped to 1980..2107. */
uint32_t zip_dos_datetime(int64_t unix_time);

/* The Unix time of a DOS date and time read as local time. */
int64_t zip_dos_to_unix(uint16_t date, uint16_t time);

/* What the reader takes from an extra field area. */
struct zip_extra_info {
    bool has_mtime;
    int64_t mtime;
    bool has_owner;
    uint32_t uid;
    uint32_t gid;
    bool has_zip64;
    const uint8_t *zip64; /* the zip64 field's data, for zip_zip64_take */
    size_t zip64_len;
};

/* Parses an extra field area. Returns false when the area is malformed (a
 * field running past its end). Unknown fields are skipped. */
bool zip_parse_extra(const uint8_t *extra, size_t len, struct zip_extra_info *info);

/* Takes the next 8-byte value of a zip64 extra field, in APPNOTE order,
 * when *field holds 0xffffffff (or 0xffff for the disk number). Returns
 * false when the field is too short. */
bool zip_zip64_take(const struct zip_extra_info *info, size_t *pos, uint64_t *field,
                    uint64_t marker);

/* CRC-32 of an extra field area without its zip64 field: mfb writes the
 * same other fields into both headers, so the reader can compare them. */
uint32_t zip_extra_crc(const uint8_t *extra, size_t len);

/* Whether name[0..len) is valid UTF-8 with at least one non-ASCII byte; such
 * names get general purpose flag 11. */
bool zip_name_needs_utf8_flag(const char *name, size_t len);

/* Whether buf[0..len) is valid UTF-8. */
bool zip_utf8_valid(const char *buf, size_t len);

#endif
