/*
 * password.c - scrypt hashing of the web UI's password (see password.h).
 *
 * N = 2^15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per
 * check, which makes guessing from a stolen database slow while a login
 * stays quick; the session module slows repeated failures further.
 */
#include "ui/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/config_records.h"

#define SALT_LEN 16
#define HASH_LEN 32
#define DEFAULT_LOG2_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool from_hex(const char *in, size_t in_len, unsigned char *out, size_t n)
{
    if (in_len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = in[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

static bool derive(const char *password, const unsigned char *salt, uint64_t n, uint64_t r,
                   uint64_t p, unsigned char *out)
{
    /* maxmem: room for 128 * r * N bytes and OpenSSL's bookkeeping */
    uint64_t maxmem = 128 * r * n + (1u << 20) + 128 * r * p;
    return EVP_PBE_scrypt(password, strlen(password), salt, SALT_LEN, n, r, p, maxmem, out,
                          HASH_LEN) == 1;
}

mfb_status ui_password_hash_cost(const char *password, unsigned log2_n, char *out, size_t len,
                                 struct mfb_error *err)
{
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    char salt_hex[2 * SALT_LEN + 1], hash_hex[2 * HASH_LEN + 1];
    if (log2_n < 1 || log2_n > 20)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "scrypt cost out of range");
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot draw a random salt");
    if (!derive(password, salt, (uint64_t)1 << log2_n, SCRYPT_R, SCRYPT_P, hash))
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "cannot hash the password (scrypt)");
    to_hex(salt, SALT_LEN, salt_hex);
    to_hex(hash, HASH_LEN, hash_hex);
    OPENSSL_cleanse(hash, sizeof(hash));
    if ((size_t)snprintf(out, len, "scrypt$%u$%u$%u$%s$%s", log2_n, SCRYPT_R, SCRYPT_P, salt_hex,
                         hash_hex) >= len)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "password hash buffer too small");
    return MFB_OK;
}

mfb_status ui_password_hash(const char *password, char *out, size_t len, struct mfb_error *err)
{
    return ui_password_hash_cost(password, DEFAULT_LOG2_N, out, len, err);
}

bool ui_password_verify(const char *password, const char *stored)
{
    unsigned log2_n = 0, r = 0, p = 0;
    int used = 0;
    if (password == NULL || stored == NULL ||
        sscanf(stored, "scrypt$%2u$%2u$%2u$%n", &log2_n, &r, &p, &used) != 3 || used == 0)
        return false;
    if (log2_n < 1 || log2_n > 20 || r < 1 || r > 32 || p < 1 || p > 4)
        return false;
    const char *salt_hex = stored + used;
    const char *dollar = strchr(salt_hex, '$');
    unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
    if (dollar == NULL || !from_hex(salt_hex, (size_t)(dollar - salt_hex), salt, SALT_LEN) ||
        !from_hex(dollar + 1, strlen(dollar + 1), want, HASH_LEN))
        return false;
    if (!derive(password, salt, (uint64_t)1 << log2_n, r, p, got))
        return false;
    bool same = CRYPTO_memcmp(got, want, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return same;
}

mfb_status ui_password_check(const char *password, struct mfb_error *err)
{
    size_t n = strlen(password);
    if (n < UI_PASSWORD_MIN || n > UI_PASSWORD_MAX) {
        mfb_error_set(err, MFB_ERR_USAGE, "the password must have %d to %d characters",
                      UI_PASSWORD_MIN, UI_PASSWORD_MAX);
        mfb_error_hint(err, "choose a longer password (a passphrase of several words is best)");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

mfb_status ui_password_set(struct config_db *db, const char *password, struct mfb_error *err)
{
    mfb_status st = ui_password_check(password, err);
    if (st != MFB_OK)
        return st;
    char hash[UI_HASH_BUF];
    st = ui_password_hash(password, hash, sizeof(hash), err);
    if (st == MFB_OK)
        st = config_setting_set(db, UI_PASSWORD_KEY, hash, err);
    return st;
}

mfb_status ui_password_get(struct config_db *db, char **stored, struct mfb_error *err)
{
    return config_setting_get(db, UI_PASSWORD_KEY, stored, err);
}
