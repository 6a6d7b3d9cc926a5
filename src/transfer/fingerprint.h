/*
 * fingerprint.h - the SHA-256 fingerprint a client pins a receiver's
 * certificate by.
 *
 * The receiver prints it the way `openssl x509 -noout -fingerprint -sha256`
 * does ("AA:BB:...:FF"), and operators paste it from there, from a mail or a
 * ticket. So the parser is liberal in form and strict in content: with or
 * without colons, any case, surrounding blanks and openssl's
 * "sha256 Fingerprint=" prefix are accepted; anything but exactly 32 bytes
 * of hex is refused with a message saying what was wrong. It is the SHA-256
 * of the whole DER certificate (not of its public key, which is what
 * CURLOPT_PINNEDPUBLICKEY would pin), so a re-issued certificate needs a new
 * pin even with the same key.
 */
#ifndef MFB_TRANSFER_FINGERPRINT_H
#define MFB_TRANSFER_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"

/* "AA:BB:...:FF" plus NUL. */
#define FINGERPRINT_TEXT_LEN (SHA256_LEN * 3)

mfb_status fingerprint_parse(const char *text, uint8_t out[SHA256_LEN], struct mfb_error *err);

/* The canonical, openssl-style form. */
void fingerprint_format(const uint8_t fp[SHA256_LEN], char out[FINGERPRINT_TEXT_LEN]);

#endif
