/*
 * bearer.h - the bearer token that guards a metrics page off loopback
 * (docs/monitoring.md): the receiver's --metrics-listen and the daemon's
 * web UI listener check "Authorization: Bearer TOKEN" the same way.
 */
#ifndef MFB_METRICS_BEARER_H
#define MFB_METRICS_BEARER_H

#include <stdbool.h>

/* Whether authorization (an Authorization header's value, or NULL) is
 * "Bearer TOKEN" with token. The bytes are compared in a time that says
 * nothing about where they differ. A NULL or empty token opens nothing. */
bool metrics_bearer_ok(const char *authorization, const char *token);

#endif
