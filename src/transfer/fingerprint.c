/*
 * fingerprint.c - parsing and printing of certificate fingerprints (see
 * fingerprint.h).
 */
#include "transfer/fingerprint.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

mfb_status fingerprint_parse(const char *text, uint8_t out[SHA256_LEN], struct mfb_error *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    static const char prefix[] = "sha256 fingerprint=";
    if (strncasecmp(p, prefix, sizeof(prefix) - 1) == 0)
        p += sizeof(prefix) - 1;
    size_t len = strlen(p);
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;

    /* Either 64 hex digits, or 32 pairs separated by single colons. */
    bool colons = len == SHA256_LEN * 3 - 1;
    size_t digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (colons && i % 3 == 2) {
            if (p[i] != ':')
                goto bad;
            continue;
        }
        int v = hex_digit((unsigned char)p[i]);
        if (v < 0 || digits >= SHA256_HEX_LEN)
            goto bad;
        if (digits % 2 == 0)
            out[digits / 2] = (uint8_t)(v << 4);
        else
            out[digits / 2] |= (uint8_t)v;
        digits++;
    }
    if (digits == SHA256_HEX_LEN)
        return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid certificate fingerprint '%.*s'", (int)len, p);
    mfb_error_hint(err, "give the SHA-256 fingerprint as 64 hex digits, with or without colons "
                        "(AA:BB:...), as 'mfb-server init' or 'openssl x509 -noout -fingerprint "
                        "-sha256' prints it");
    return MFB_ERR_USAGE;
}

void fingerprint_format(const uint8_t fp[SHA256_LEN], char out[FINGERPRINT_TEXT_LEN])
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < SHA256_LEN; i++) {
        out[3 * i] = hex[fp[i] >> 4];
        out[3 * i + 1] = hex[fp[i] & 15];
        out[3 * i + 2] = i + 1 < SHA256_LEN ? ':' : '\0';
    }
}
