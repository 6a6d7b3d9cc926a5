/*
 * sha256_x2.h - SHA-256 compression of two message streams at once with
 * the x86 SHA extensions (SHA-NI).
 *
 * Why this exists: every byte mfb moves is hashed twice on each side of
 * the wire, once into its chunk's digest (the Content-Digest of the PUT)
 * and once into the whole file's digest. One SHA-256 stream cannot use a
 * SHA-NI core fully: each pair of rounds waits for the previous pair's
 * result (sha256rnds2 has a latency of several cycles and issues every
 * one or two). Two independent streams interleaved fill those gaps, so two
 * digests cost little more than one. OpenSSL, which does everything else
 * about SHA-256 for us, has no public interface for hashing two streams in
 * one pass; this file is only the block function, and digest.c keeps the
 * states in OpenSSL's own SHA256_CTX.
 *
 * When both streams read the same bytes (a chunk and the file it belongs
 * to), the message schedule is computed once for both.
 *
 * Checked against OpenSSL in tests/unit/common/common_digest_test.c.
 */
#ifndef MFB_COMMON_SHA256_X2_H
#define MFB_COMMON_SHA256_X2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when this CPU has the SHA extensions (and the SSE levels the code
 * uses). Cheap after the first call. */
bool sha256_x2_supported(void);

/* Compresses `blocks` 64-byte blocks from a into state_a and as many from
 * b into state_b. States are the eight working words A..H in host order
 * (SHA256_CTX.h). a and b may be the same pointer. Only call when
 * sha256_x2_supported() is true. */
void sha256_x2_blocks(uint32_t state_a[8], const uint8_t *a, uint32_t state_b[8], const uint8_t *b,
                      size_t blocks);

#endif
