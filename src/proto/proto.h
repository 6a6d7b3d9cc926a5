/*
 * proto.h - what both ends of the v1 wire protocol share (docs/protocol.md):
 * the rules for names that clients send, the error codes and their HTTP
 * statuses, id formats, chunk size limits and the URL paths.
 *
 * Deliberately free of libmicrohttpd, libcurl and jansson, so the receiver,
 * the client library and the fuzzer all use the same checks. A rule changed
 * here changes on both sides at once; docs/protocol.md must follow.
 */
#ifndef MFB_PROTO_PROTO_H
#define MFB_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_API_PREFIX "/v1"
#define PROTO_NAME_MAX 128         /* bytes in one name or directory component */
#define PROTO_DIR_MAX_COMPONENTS 8 /* components of a client's sub-directory */
#define PROTO_CHUNK_MIN (1ULL << 20)
#define PROTO_CHUNK_DEFAULT_MAX (64ULL << 20)
#define PROTO_ID_HEX 32       /* hex digits after the "u_" / "b_" prefix */
#define PROTO_ID_LEN (2 + 32) /* "u_" + 32 hex */
#define PROTO_TOKEN_HEX 64    /* a token: 32 random bytes as lowercase hex */
#define PROTO_JSON_BODY_MAX (64 * 1024)

/* Every error a receiver answers, with its "error" code and HTTP status. */
enum proto_error {
    PROTO_BAD_REQUEST,
    PROTO_INVALID_JSON,
    PROTO_INVALID_NAME,
    PROTO_BAD_DIGEST_HEADER,
    PROTO_CHUNK_OUT_OF_RANGE,
    PROTO_UNAUTHORIZED,
    PROTO_NOT_FOUND,
    PROTO_METHOD_NOT_ALLOWED,
    PROTO_TIMEOUT,
    PROTO_CONFLICT,
    PROTO_LENGTH_REQUIRED,
    PROTO_TOO_LARGE,
    PROTO_RANGE_NOT_SATISFIABLE,
    PROTO_DIGEST_MISMATCH,
    PROTO_CHECKSUM_MISMATCH,
    PROTO_HEADERS_TOO_LARGE,
    PROTO_INTERNAL,
    PROTO_UNAVAILABLE,
    PROTO_INSUFFICIENT_STORAGE,
    PROTO_ERROR_COUNT
};

/* "invalid_name", ... ; "internal" for an out-of-range value. */
const char *proto_error_code(enum proto_error e);
/* 400, 401, ... */
unsigned proto_error_status(enum proto_error e);
/* The enum for a code string; false if unknown (clients map answers back). */
bool proto_error_from_code(const char *code, enum proto_error *e);

/* An instance name, backup name or one directory component: 1..128 bytes of
 * valid UTF-8 without '/', '\\', control characters (C0, DEL, C1), not "."
 * or "..", not starting with '.'. On failure writes the reason (lower case,
 * fit for an error message) into why, which may be NULL. */
bool proto_name_valid(const char *name, char *why, size_t why_len);

/* A client sub-directory: 1..8 valid names joined by single '/', no leading
 * or trailing '/'. */
bool proto_directory_valid(const char *dir, char *why, size_t why_len);

/* Ids look like "u_" or "b_" followed by 32 lowercase hex digits. */
bool proto_id_valid(const char *id, char prefix);

/* A chunk size the protocol allows: a power of two, at least 1 MiB, at most max. */
bool proto_chunk_size_valid(uint64_t chunk_size, uint64_t max);

/* Number of chunks of a file of `size` bytes (0 for an empty file). */
uint64_t proto_chunk_count(uint64_t size, uint64_t chunk_size);

/* Length of chunk `index` of a file of `size` bytes (0 past the end). */
uint64_t proto_chunk_length(uint64_t size, uint64_t chunk_size, uint64_t index);

/* URL paths (without scheme and host). Return false if buf is too small. */
bool proto_path_upload(char *buf, size_t len, const char *upload_id);
bool proto_path_chunk(char *buf, size_t len, const char *upload_id, uint64_t index);
bool proto_path_complete(char *buf, size_t len, const char *upload_id);
bool proto_path_backup(char *buf, size_t len, const char *backup_id);
bool proto_path_backup_content(char *buf, size_t len, const char *backup_id);

#endif
