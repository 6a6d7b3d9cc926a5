/*
 * digest.h - SHA-256 (OpenSSL's, which uses SHA-NI where the CPU has it),
 * hex and base64 text forms, and the RFC 9530 Content-Digest header value
 * ("sha-256=:<base64>:") both sides of the wire protocol use.
 *
 * Digests are computed as bytes pass through memory; nothing here reads a
 * file back to hash it. Where the same bytes feed two digests (a chunk's
 * and the whole file's), sha256_update2 hashes both in one pass.
 *
 * The state is OpenSSL's SHA256_CTX rather than an opaque EVP context: it
 * is plain memory (copying a running hash is an assignment, nothing to
 * allocate or free) and sha256_update2 needs its eight working words. The
 * price: OpenSSL 3 marks those functions deprecated (a build of OpenSSL
 * with no-deprecated lacks them), and they bypass providers, so this is
 * not the FIPS provider's SHA-256.
 */
#ifndef MFB_COMMON_DIGEST_H
#define MFB_COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "common/status.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
    SHA256_CTX ctx;
};

/* Starts a hash. A running hash is copied by assignment (to fork it, or
 * to keep its state); sha256_free wipes one that is done with. */
void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Feeds len bytes from data_a to a and len bytes from data_b to b, in one
 * pass on CPUs with the SHA extensions (see sha256_x2.h); the two may be
 * the same buffer. Same result as two sha256_update calls. */
void sha256_update2(struct sha256 *a, const void *data_a, struct sha256 *b, const void *data_b,
                    size_t len);
/* Writes the digest and resets the context for reuse. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *h);

/* One-shot digest of a buffer. */
void sha256_buffer(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Lowercase hex; out holds SHA256_HEX_LEN + 1 bytes. */
void digest_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
bool digest_from_hex(const char *hex, uint8_t digest[SHA256_LEN]);

/* "sha-256=:<base64>:" ; out must hold at least 64 bytes. */
void content_digest_format(const uint8_t digest[SHA256_LEN], char *out, size_t len);

/* Finds the sha-256 member of a Content-Digest / Repr-Digest header value
 * (which may list several algorithms). Returns false if absent, malformed
 * or given twice. */
bool content_digest_parse(const char *header, uint8_t digest[SHA256_LEN]);

#endif
