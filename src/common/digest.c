/*
 * digest.c - SHA-256 through OpenSSL's SHA256_* functions, two streams in
 * one pass (sha256_update2), and the text forms of digests (see digest.h).
 */
/* The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP,
 * which hides the state sha256_update2 works on; they are still part of
 * OpenSSL 3's API and run the same SHA-NI code as EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "common/digest.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/sha256_x2.h"

void sha256_init(struct sha256 *h)
{
    SHA256_Init(&h->ctx);
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    SHA256_Update(&h->ctx, data, len);
}

/* Bytes to feed h one by one before it is at a block boundary. */
static size_t to_block_boundary(const struct sha256 *h, size_t len)
{
    size_t missing = h->ctx.num == 0 ? 0 : SHA256_CBLOCK - h->ctx.num;
    return missing < len ? missing : len;
}

/* Counts `blocks` whole blocks that bypassed SHA256_Update. Nh:Nl is the
 * message length in bits. */
static void count_blocks(struct sha256 *h, size_t blocks)
{
    uint64_t bits = ((uint64_t)h->ctx.Nh << 32 | h->ctx.Nl) + (uint64_t)blocks * SHA256_CBLOCK * 8;
    h->ctx.Nh = (SHA_LONG)(bits >> 32);
    h->ctx.Nl = (SHA_LONG)bits;
}

void sha256_update2(struct sha256 *a, const void *data_a, struct sha256 *b, const void *data_b,
                    size_t len)
{
    if (!sha256_x2_supported()) {
        sha256_update(a, data_a, len);
        sha256_update(b, data_b, len);
        return;
    }
    const uint8_t *pa = data_a, *pb = data_b;
    size_t head_a = to_block_boundary(a, len), head_b = to_block_boundary(b, len);
    sha256_update(a, pa, head_a);
    sha256_update(b, pb, head_b);
    pa += head_a;
    pb += head_b;
    size_t left_a = len - head_a, left_b = len - head_b;
    size_t blocks = (left_a < left_b ? left_a : left_b) / SHA256_CBLOCK;
    if (blocks > 0) {
        sha256_x2_blocks(a->ctx.h, pa, b->ctx.h, pb, blocks);
        count_blocks(a, blocks);
        count_blocks(b, blocks);
        pa += blocks * SHA256_CBLOCK;
        pb += blocks * SHA256_CBLOCK;
        left_a -= blocks * SHA256_CBLOCK;
        left_b -= blocks * SHA256_CBLOCK;
    }
    sha256_update(a, pa, left_a);
    sha256_update(b, pb, left_b);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
    SHA256_Final(out, &h->ctx);
    SHA256_Init(&h->ctx);
}

void sha256_free(struct sha256 *h)
{
    OPENSSL_cleanse(&h->ctx, sizeof(h->ctx));
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
    /* A dictionary of members: "sha-512=:...:, sha-256=:...:". Two sha-256
     * members are refused: which one the sender meant is not known. */
    const char *p = header;
    bool found = false;
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
        if (found || end == NULL || end - q != 44) /* 32 bytes in base64 with one '=' pad */
            return false;
        unsigned char b64[45], raw[33];
        memcpy(b64, q, 44);
        b64[44] = '\0';
        if (EVP_DecodeBlock(raw, b64, 44) != 33 || b64[43] != '=' || b64[42] == '=')
            return false;
        memcpy(digest, raw, SHA256_LEN);
        found = true;
        p = end + 1;
    }
    return found;
}
