/*
 * proto.c - name rules, error codes, ids and paths of the v1 protocol
 * (see proto.h and docs/protocol.md).
 */
#include "proto/proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *code;
    unsigned status;
} errors[PROTO_ERROR_COUNT] = {
    [PROTO_BAD_REQUEST] = {"bad_request", 400},
    [PROTO_INVALID_JSON] = {"invalid_json", 400},
    [PROTO_INVALID_NAME] = {"invalid_name", 400},
    [PROTO_BAD_DIGEST_HEADER] = {"bad_digest_header", 400},
    [PROTO_CHUNK_OUT_OF_RANGE] = {"chunk_out_of_range", 400},
    [PROTO_UNAUTHORIZED] = {"unauthorized", 401},
    [PROTO_NOT_FOUND] = {"not_found", 404},
    [PROTO_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [PROTO_TIMEOUT] = {"timeout", 408},
    [PROTO_CONFLICT] = {"conflict", 409},
    [PROTO_LENGTH_REQUIRED] = {"length_required", 411},
    [PROTO_TOO_LARGE] = {"too_large", 413},
    [PROTO_RANGE_NOT_SATISFIABLE] = {"range_not_satisfiable", 416},
    [PROTO_DIGEST_MISMATCH] = {"digest_mismatch", 422},
    [PROTO_CHECKSUM_MISMATCH] = {"checksum_mismatch", 422},
    [PROTO_HEADERS_TOO_LARGE] = {"headers_too_large", 431},
    [PROTO_INTERNAL] = {"internal", 500},
    [PROTO_UNAVAILABLE] = {"unavailable", 503},
    [PROTO_INSUFFICIENT_STORAGE] = {"insufficient_storage", 507},
};

const char *proto_error_code(enum proto_error e)
{
    return (unsigned)e < PROTO_ERROR_COUNT ? errors[e].code : "internal";
}

unsigned proto_error_status(enum proto_error e)
{
    return (unsigned)e < PROTO_ERROR_COUNT ? errors[e].status : 500;
}

bool proto_error_from_code(const char *code, enum proto_error *e)
{
    for (unsigned i = 0; i < PROTO_ERROR_COUNT; i++) {
        if (strcmp(errors[i].code, code) == 0) {
            *e = (enum proto_error)i;
            return true;
        }
    }
    return false;
}

static bool fail(char *why, size_t why_len, const char *reason)
{
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s", reason);
    return false;
}

/* Length of the UTF-8 sequence at s that is valid and not a control
 * character (C1 controls U+0080..U+009F included); 0 when it is not. */
static size_t utf8_printable(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range, or a surrogate */
    if (cp >= 0x80 && cp <= 0x9f)
        return 0;
    return n;
}

/* Checks one name of len bytes (not NUL-terminated at len). */
static bool name_check(const char *name, size_t len, char *why, size_t why_len)
{
    if (len == 0)
        return fail(why, why_len, "name must not be empty");
    if (len > PROTO_NAME_MAX)
        return fail(why, why_len, "name must be at most 128 bytes");
    if (name[0] == '.')
        return fail(why, why_len, "name must not start with '.' (no '.' or '..')");
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/')
            return fail(why, why_len, "name must not contain '/'");
        if (c == '\\')
            return fail(why, why_len, "name must not contain '\\'");
        size_t n = utf8_printable((const unsigned char *)name + i);
        if (n == 0 || i + n > len)
            return fail(why, why_len, "name must be printable UTF-8 without control characters");
        i += n;
    }
    return true;
}

bool proto_name_valid(const char *name, char *why, size_t why_len)
{
    if (name == NULL)
        return fail(why, why_len, "name is missing");
    size_t len = strnlen(name, PROTO_NAME_MAX + 1);
    return name_check(name, len, why, why_len);
}

bool proto_directory_valid(const char *dir, char *why, size_t why_len)
{
    if (dir == NULL || dir[0] == '\0')
        return fail(why, why_len, "directory must not be empty");
    size_t total = strnlen(dir, (PROTO_NAME_MAX + 1) * PROTO_DIR_MAX_COMPONENTS + 1);
    if (total > (PROTO_NAME_MAX + 1) * PROTO_DIR_MAX_COMPONENTS)
        return fail(why, why_len, "directory is too long");
    unsigned components = 0;
    const char *p = dir;
    for (;;) {
        const char *slash = memchr(p, '/', total - (size_t)(p - dir));
        size_t len = slash ? (size_t)(slash - p) : total - (size_t)(p - dir);
        if (len == 0)
            return fail(why, why_len, "directory must not have empty components or '//'");
        if (!name_check(p, len, why, why_len))
            return false;
        if (++components > PROTO_DIR_MAX_COMPONENTS)
            return fail(why, why_len, "directory must have at most 8 components");
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return true;
}

bool proto_id_valid(const char *id, char prefix)
{
    if (id == NULL || id[0] != prefix || id[1] != '_')
        return false;
    for (int i = 0; i < PROTO_ID_HEX; i++) {
        char c = id[2 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return id[PROTO_ID_LEN] == '\0';
}

bool proto_chunk_size_valid(uint64_t chunk_size, uint64_t max)
{
    return chunk_size >= PROTO_CHUNK_MIN && chunk_size <= max &&
           (chunk_size & (chunk_size - 1)) == 0;
}

uint64_t proto_chunk_count(uint64_t size, uint64_t chunk_size)
{
    return size / chunk_size + (size % chunk_size != 0);
}

uint64_t proto_chunk_length(uint64_t size, uint64_t chunk_size, uint64_t index)
{
    if (index >= proto_chunk_count(size, chunk_size))
        return 0;
    uint64_t start = index * chunk_size;
    return size - start < chunk_size ? size - start : chunk_size;
}

static bool fmt_ok(int n, size_t len)
{
    return n >= 0 && (size_t)n < len;
}

bool proto_path_upload(char *buf, size_t len, const char *upload_id)
{
    return fmt_ok(snprintf(buf, len, PROTO_API_PREFIX "/uploads/%s", upload_id), len);
}

bool proto_path_chunk(char *buf, size_t len, const char *upload_id, uint64_t index)
{
    return fmt_ok(
        snprintf(buf, len, PROTO_API_PREFIX "/uploads/%s/chunks/%" PRIu64, upload_id, index), len);
}

bool proto_path_complete(char *buf, size_t len, const char *upload_id)
{
    return fmt_ok(snprintf(buf, len, PROTO_API_PREFIX "/uploads/%s/complete", upload_id), len);
}

bool proto_path_backup(char *buf, size_t len, const char *backup_id)
{
    return fmt_ok(snprintf(buf, len, PROTO_API_PREFIX "/backups/%s", backup_id), len);
}

bool proto_path_backup_content(char *buf, size_t len, const char *backup_id)
{
    return fmt_ok(snprintf(buf, len, PROTO_API_PREFIX "/backups/%s/content", backup_id), len);
}
