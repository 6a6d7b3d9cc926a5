/*
 * tls.h - the receiver's TLS key and certificate: a self-signed one made at
 * init (EC P-256, SAN IP:127.0.0.1, DNS:localhost and the host name, valid
 * ten years), checks of a pair given by the operator, and the SHA-256
 * fingerprint clients pin, printed like `openssl x509 -noout -fingerprint
 * -sha256` prints it ("AB:CD:...").
 *
 * OpenSSL does the key and certificate work; libmicrohttpd (GnuTLS) only
 * reads the PEM files at serve time.
 */
#ifndef MFB_SERVER_TLS_H
#define MFB_SERVER_TLS_H

#include <stddef.h>

#include "common/status.h"

#define TLS_FINGERPRINT_LEN (32 * 3) /* "AB:" x 32, last ':' replaced by NUL */

/* Writes a new key (mode 0600) and certificate (0644); refuses to overwrite. */
mfb_status tls_generate_self_signed(const char *key_path, const char *cert_path,
                                    struct mfb_error *err);

/* Checks that both files parse and that the key belongs to the certificate. */
mfb_status tls_check_pair(const char *key_path, const char *cert_path, struct mfb_error *err);

/* SHA-256 of the certificate's DER form as "AB:CD:..." (95 characters). */
mfb_status tls_cert_fingerprint(const char *cert_path, char *out, size_t len,
                                struct mfb_error *err);

#endif
