/*
 * s3_client.h - the few S3 requests the S3 storage driver makes, over
 * libcurl, signed here with AWS Signature Version 4 (s3_sign): no SDK.
 *
 * The payload's SHA-256 goes in an explicit x-amz-content-sha256 header
 * (for a chunk, the digest the receiver already checked), and the query
 * string must already be canonical (parameters sorted, values encoded,
 * "uploads=" rather than "uploads"): it is signed as given. Keys are
 * percent-encoded here, segment by segment, so that the path signed and
 * sent is the one S3 expects.
 *
 * Failures map onto mfb_status: no connection, a timeout or a 5xx answer is
 * MFB_ERR_NETWORK (the storage is unavailable: callers answer 503 and the
 * client retries), 404 MFB_ERR_NOT_FOUND, 403 MFB_ERR_AUTH, 412
 * MFB_ERR_EXISTS (If-None-Match: * found the key taken), anything else
 * MFB_ERR_PROTOCOL with S3's error code in the message.
 */
#ifndef MFB_SERVER_S3_CLIENT_H
#define MFB_SERVER_S3_CLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

struct s3_client {
    char endpoint[1024]; /* scheme://host[:port], no trailing '/' */
    char bucket[256];
    char prefix[768]; /* "" or "a/b/" (ends with '/') */
    char region[64];
    char key[256];
    char secret[256];
    char ca_file[PATH_MAX];
    bool path_style;
};

/* A request body: a buffer, or a range of a file. */
struct s3_body {
    const char *data;
    size_t len;
    int fd; /* >= 0: send [off, off + len) of this file instead of data */
    uint64_t off;
    const char *sha256_hex; /* the payload's SHA-256; NULL: computed here from data */
};

/* What came back. The body is collected into buf (caller's, buf_cap bytes)
 * when given, else into an allocated text of at most 4 MiB (text). */
struct s3_answer {
    long status;
    char *buf;
    size_t buf_cap;
    size_t len;
    char *text; /* allocated, NUL-terminated; free() it */
    char etag[160];
    uint64_t content_length;
};

/* Fills an s3_client from s3://BUCKET/PREFIX and the other settings; reads
 * the key and the secret from their files, which must be 0600 or stricter. */
mfb_status s3_client_init(struct s3_client *s3, const char *url, const char *endpoint,
                          const char *region, const char *key_file, const char *secret_file,
                          const char *ca_file, bool path_style, struct mfb_error *err);

/* One request. key is below the prefix (NULL: the bucket itself, for
 * listing); query is canonical or NULL; headers a NULL-terminated list of
 * "Name: value" or NULL; body NULL for none. */
mfb_status s3_request(const struct s3_client *s3, const char *method, const char *key,
                      const char *query, const char *const *headers, const struct s3_body *body,
                      struct s3_answer *ans, struct mfb_error *err);

/* The SigV4 "Authorization: ..." header line of a request, into auth:
 * host and path as sent (path encoded), query canonical or NULL, headers
 * the request's own "Name: value" lines (NULL-terminated, at most 16; all
 * are signed, with host, x-amz-content-sha256 = payload_hex and x-amz-date
 * = amz_date, YYYYMMDDTHHMMSSZ). False when it does not fit. */
bool s3_sign(const struct s3_client *s3, const char *method, const char *host, const char *path,
             const char *query, const char *const *headers, const char *payload_hex,
             const char *amz_date, char *auth, size_t auth_len);

/* Appends the S3 (RFC 3986 unreserved) percent-encoding of text to out;
 * slash says whether '/' stays as it is. False when out is too small. */
bool s3_encode(const char *text, bool slash, char *out, size_t out_len);

/* The text of the first <tag>...</tag> at or after *pos in xml, entities
 * decoded, into out; advances *pos past it. False when there is none. */
bool s3_xml_next(const char *xml, const char *tag, size_t *pos, char *out, size_t out_len);

#endif
