/*
 * digest.h - SHA-256 (OpenSSL's, which uses SHA-NI where the CPU has it),
 * hex and base64 text forms, and the RFC 9530 Content-Digest header value
 * ("sha-256=:<base64>:") both sides of the wire protocol use.
 *
 * Digests are computed as bytes pass through memory; nothing here reads a
 * file back to hash it.
 */
#ifndef MFB_COMMON_DIGEST_H
#define MFB_COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
    void *ctx; /* EVP_MD_CTX */
};

/* Starts a hash. Allocates; release with sha256_free (also after _final). */
mfb_status sha256_init(struct sha256 *h, struct mfb_error *err);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes the digest and resets the context for reuse. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *h);
/* Makes dst (initialised) continue from src's state, so a running hash can
 * be forked and the fork dropped if the data it saw turns out bad. */
mfb_status sha256_copy(struct sha256 *dst, const struct sha256 *src, struct mfb_error *err);

/* One-shot digest of a buffer. */
void sha256_buffer(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Lowercase hex; out holds SHA256_HEX_LEN + 1 bytes. */
void digest_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
bool digest_from_hex(const char *hex, uint8_t digest[SHA256_LEN]);

/* "sha-256=:<base64>:" ; out must hold at least 64 bytes. */
void content_digest_format(const uint8_t digest[SHA256_LEN], char *out, size_t len);

/* Finds the sha-256 member of a Content-Digest / Repr-Digest header value
 * (which may list several algorithms). Returns false if absent or malformed. */
bool content_digest_parse(const char *header, uint8_t digest[SHA256_LEN]);

#endif
