/*
 * zipfmt.c - DOS time, extra field parsing and UTF-8 checks for the ZIP
 * format (see zipfmt.h).
 */
#include "archive/zipfmt.h"

#include <time.h>
#include <zlib.h>

uint32_t zip_dos_datetime(int64_t unix_time)
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL || tm.tm_year < 80)
        return (uint32_t)((0 << 9 | 1 << 5 | 1) << 16); /* 1980-01-01 00:00 */
    if (tm.tm_year > 207)
        return (uint32_t)((127u << 9 | 12u << 5 | 31u) << 16 | (23u << 11 | 59u << 5 | 29u));
    uint32_t date = (uint32_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
    uint32_t time = (uint32_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    return date << 16 | time;
}

int64_t zip_dos_to_unix(uint16_t date, uint16_t time)
{
    struct tm tm = {
        .tm_year = (date >> 9) + 80,
        .tm_mon = ((date >> 5) & 15) - 1,
        .tm_mday = date & 31,
        .tm_hour = time >> 11,
        .tm_min = (time >> 5) & 63,
        .tm_sec = (time & 31) * 2,
        .tm_isdst = -1,
    };
    return (int64_t)mktime(&tm);
}

bool zip_parse_extra(const uint8_t *extra, size_t len, struct zip_extra_info *info)
{
    size_t pos = 0;
    while (pos + 4 <= len) {
        uint16_t id = zip_get16(extra + pos);
        uint16_t size = zip_get16(extra + pos + 2);
        const uint8_t *d = extra + pos + 4;
        if (pos + 4 + size > len)
            return false;
        switch (id) {
        case ZIP_EXTRA_ZIP64:
            info->has_zip64 = true;
            info->zip64 = d;
            info->zip64_len = size;
            break;
        case ZIP_EXTRA_TIMESTAMP:
            /* flags, then mtime when bit 0 is set (central copies hold only mtime) */
            if (size >= 5 && (d[0] & 1)) {
                info->has_mtime = true;
                info->mtime = (int64_t)(int32_t)zip_get32(d + 1);
            }
            break;
        case ZIP_EXTRA_UNIX: {
            /* version 1, then a sized uid and a sized gid (1 to 8 bytes each) */
            if (size < 3 || d[0] != 1)
                break;
            size_t uid_len = d[1];
            if (uid_len < 1 || uid_len > 8 || 2 + uid_len + 1 > size)
                break;
            size_t gid_len = d[2 + uid_len];
            if (gid_len < 1 || gid_len > 8 || 3 + uid_len + gid_len > size)
                break;
            uint64_t uid = 0, gid = 0;
            for (size_t i = 0; i < uid_len; i++)
                uid |= (uint64_t)d[2 + i] << (8 * i);
            for (size_t i = 0; i < gid_len; i++)
                gid |= (uint64_t)d[3 + uid_len + i] << (8 * i);
            info->has_owner = true;
            info->uid = (uint32_t)uid;
            info->gid = (uint32_t)gid;
            break;
        }
        case ZIP_EXTRA_UNIX_OLD:
            /* atime, mtime, then (local header only) 16-bit uid and gid */
            if (size >= 8 && !info->has_mtime) {
                info->has_mtime = true;
                info->mtime = (int64_t)(int32_t)zip_get32(d + 4);
            }
            if (size >= 12 && !info->has_owner) {
                info->has_owner = true;
                info->uid = zip_get16(d + 8);
                info->gid = zip_get16(d + 10);
            }
            break;
        default:
            break;
        }
        pos += 4 + (size_t)size;
    }
    return true;
}

bool zip_zip64_take(const struct zip_extra_info *info, size_t *pos, uint64_t *field,
                    uint64_t marker)
{
    if (*field != marker)
        return true;
    if (!info->has_zip64 || *pos + 8 > info->zip64_len)
        return false;
    *field = zip_get64(info->zip64 + *pos);
    *pos += 8;
    return true;
}

bool zip_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        /* overlong forms, surrogates and values past U+10FFFF */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

bool zip_name_needs_utf8_flag(const char *name, size_t len)
{
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)name[i] < 0x80;
    return !ascii && zip_utf8_valid(name, len);
}

uint32_t zip_extra_crc(const uint8_t *extra, size_t len)
{
    uLong crc = crc32(0, NULL, 0);
    size_t pos = 0;
    while (pos + 4 <= len) {
        size_t size = 4 + (size_t)zip_get16(extra + pos + 2);
        if (pos + size > len)
            size = len - pos;
        if (zip_get16(extra + pos) != ZIP_EXTRA_ZIP64)
            crc = crc32(crc, extra + pos, (uInt)size);
        pos += size;
    }
    if (pos < len)
        crc = crc32(crc, extra + pos, (uInt)(len - pos));
    return (uint32_t)crc;
}
