/*
 * bearer.c - the metrics pages' bearer token check (see bearer.h).
 */
#include "metrics/bearer.h"

#include <openssl/crypto.h>
#include <string.h>

bool metrics_bearer_ok(const char *authorization, const char *token)
{
    if (authorization == NULL || token == NULL || token[0] == '\0' ||
        strncmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *given = authorization + 7;
    size_t n = strlen(token);
    /* The length is no secret worth a timing channel of its own: a token
     * is long and random (docs/monitoring.md); the bytes are. */
    return strlen(given) == n && CRYPTO_memcmp(given, token, n) == 0;
}
