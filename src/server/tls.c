/*
 * tls.c - key and certificate generation and checks with OpenSSL (see tls.h).
 */
#include "server/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mfb_status ssl_fail(struct mfb_error *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return mfb_error_set(err, MFB_ERR_TLS, "%s: %s", what, e ? buf : "unknown OpenSSL error");
}

static bool add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return false;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

/* Opens path for writing with mode, refusing an existing file. */
static FILE *create_file(const char *path, mode_t mode, struct mfb_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        mfb_error_errno(err, errno, MFB_ERR_IO, "cannot create '%s'", path);
        return NULL;
    }
    if (fchmod(fd, mode) != 0) {
        mfb_error_errno(err, errno, MFB_ERR_IO, "cannot set the mode of '%s'", path);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        mfb_error_errno(err, errno, MFB_ERR_IO, "cannot open '%s'", path);
        close(fd);
    }
    return f;
}

static mfb_status close_file(FILE *f, const char *path, struct mfb_error *err)
{
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write '%s'", path);
    }
    if (fclose(f) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot write '%s'", path);
    return MFB_OK;
}

mfb_status tls_generate_self_signed(const char *key_path, const char *cert_path,
                                    struct mfb_error *err)
{
    mfb_status st = MFB_OK;
    X509 *cert = NULL;
    FILE *f = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL)
        return ssl_fail(err, "cannot generate an EC P-256 key");
    cert = X509_new();
    if (cert == NULL) {
        st = ssl_fail(err, "cannot create a certificate");
        goto done;
    }
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ASN1_INTEGER *asn_serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    char san[512];
    snprintf(san, sizeof(san), "IP:127.0.0.1,IP:::1,DNS:localhost%s%s",
             strcmp(host, "localhost") ? ",DNS:" : "", strcmp(host, "localhost") ? host : "");
    bool ok = asn_serial != NULL && X509_set_version(cert, 2) == 1 &&
              X509_set_serialNumber(cert, asn_serial) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
              X509_gmtime_adj(X509_getm_notAfter(cert), 3650L * 86400) != NULL &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1,
                                         -1, 0) == 1 &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                         (const unsigned char *)"mfb-server", -1, -1, 0) == 1 &&
              X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
              add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") &&
              add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
              add_ext(cert, NID_ext_key_usage, "serverAuth") &&
              add_ext(cert, NID_subject_key_identifier, "hash") &&
              add_ext(cert, NID_subject_alt_name, san) && X509_sign(cert, key, EVP_sha256()) > 0;
    ASN1_INTEGER_free(asn_serial);
    if (!ok) {
        st = ssl_fail(err, "cannot build the self-signed certificate");
        goto done;
    }
    f = create_file(key_path, 0600, err);
    if (f == NULL) {
        st = err ? err->status : MFB_ERR_IO;
        goto done;
    }
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        fclose(f);
        st = ssl_fail(err, "cannot write the key");
        goto done;
    }
    st = close_file(f, key_path, err);
    if (st != MFB_OK)
        goto done;
    f = create_file(cert_path, 0644, err);
    if (f == NULL) {
        st = err ? err->status : MFB_ERR_IO;
        goto done;
    }
    if (PEM_write_X509(f, cert) != 1) {
        fclose(f);
        st = ssl_fail(err, "cannot write the certificate");
        goto done;
    }
    st = close_file(f, cert_path, err);
done:
    X509_free(cert);
    EVP_PKEY_free(key);
    return st;
}

static X509 *read_cert(const char *path, struct mfb_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read certificate '%s'", path);
        return NULL;
    }
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL) {
        ssl_fail(err, "cannot parse the certificate");
        mfb_error_hint(err, "give a PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return cert;
}

mfb_status tls_check_pair(const char *key_path, const char *cert_path, struct mfb_error *err)
{
    X509 *cert = read_cert(cert_path, err);
    if (cert == NULL)
        return err ? err->status : MFB_ERR_TLS;
    mfb_status st = MFB_OK;
    FILE *f = fopen(key_path, "r");
    EVP_PKEY *key = NULL;
    if (f == NULL) {
        st = mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read key '%s'", key_path);
        goto done;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL) {
        st = ssl_fail(err, "cannot parse the private key");
        mfb_error_hint(err, "give an unencrypted PEM private key");
        goto done;
    }
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        st = mfb_error_set(err, MFB_ERR_TLS, "key '%s' does not belong to certificate '%s'",
                           key_path, cert_path);
    }
done:
    EVP_PKEY_free(key);
    X509_free(cert);
    return st;
}

mfb_status tls_cert_fingerprint(const char *cert_path, char *out, size_t len, struct mfb_error *err)
{
    X509 *cert = read_cert(cert_path, err);
    if (cert == NULL)
        return err ? err->status : MFB_ERR_TLS;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    mfb_status st = MFB_OK;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1 || len < md_len * 3) {
        st = ssl_fail(err, "cannot compute the certificate fingerprint");
    } else {
        for (unsigned i = 0; i < md_len; i++)
            snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < md_len ? ":" : "");
    }
    X509_free(cert);
    return st;
}
