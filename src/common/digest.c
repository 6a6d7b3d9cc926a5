/*
 * digest.c - SHA-256 through OpenSSL's EVP interface and the text forms of
 * digests (see digest.h).
 */
#include "common/digest.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

mfb_status sha256_init(struct sha256 *h, struct mfb_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        h->ctx = NULL;
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot initialise SHA-256");
    }
    h->ctx = ctx;
    return MFB_OK;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;
    EVP_DigestFinal_ex(h->ctx, out, &len);
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

mfb_status sha256_copy(struct sha256 *dst, const struct sha256 *src, struct mfb_error *err)
{
    if (EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) != 1)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot copy a SHA-256 state");
    return MFB_OK;
}

void sha256_free(struct sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void sha256_buffer(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int out_len = SHA256_LEN;
    EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
}

void digest_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool digest_from_hex(const char *hex, uint8_t digest[SHA256_LEN])
{
    if (strlen(hex) != SHA256_HEX_LEN)
        return false;
    for (int i = 0; i < SHA256_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void content_digest_format(const uint8_t digest[SHA256_LEN], char *out, size_t len)
{
    unsigned char b64[64];
    EVP_EncodeBlock(b64, digest, SHA256_LEN);
    snprintf(out, len, "sha-256=:%s:", b64);
}

bool content_digest_parse(const char *header, uint8_t digest[SHA256_LEN])
{
    /* A dictionary of members: "sha-512=:...:, sha-256=:...:" */
    const char *p = header;
    while ((p = strstr(p, "sha-256")) != NULL) {
        bool at_member_start = p == header || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
        const char *q = p + strlen("sha-256");
        p = q;
        if (!at_member_start)
            continue;
        while (*q == ' ')
            q++;
        if (*q++ != '=')
            continue;
        while (*q == ' ')
            q++;
        if (*q++ != ':')
            continue;
        const char *end = strchr(q, ':');
        if (end == NULL || end - q != 44) /* 32 bytes in base64 with one '=' pad */
            return false;
        unsigned char b64[45], raw[33];
        memcpy(b64, q, 44);
        b64[44] = '\0';
        if (EVP_DecodeBlock(raw, b64, 44) != 33 || b64[43] != '=' || b64[42] == '=')
            return false;
        memcpy(digest, raw, SHA256_LEN);
        return true;
    }
    return false;
}
