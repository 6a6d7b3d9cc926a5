/*
 * parse.h - parsing of the quantities operators type: sizes ("64M",
 * "1.5GiB", "4096"), durations ("30s", "7d", "1h30m") and counts.
 *
 * Sizes use binary multiples (K = 1024) because chunk and block sizes are
 * binary everywhere in mfb; "KB"/"KiB" are accepted as the same thing.
 * Each parser rejects trailing garbage, negative numbers and overflow, and
 * fills the error with the text that was wrong.
 */
#ifndef MFB_COMMON_PARSE_H
#define MFB_COMMON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

mfb_status parse_size(const char *text, uint64_t *bytes, struct mfb_error *err);

/* Durations in milliseconds. A bare number means seconds. Units: ms, s, m,
 * h, d, w; several may be joined ("1h30m"). */
mfb_status parse_duration_ms(const char *text, uint64_t *ms, struct mfb_error *err);

/* A decimal integer within [min, max]. */
mfb_status parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *value,
                      struct mfb_error *err);

/* Formats a byte count for people ("1.5 GiB"); returns buf. */
const char *format_size(uint64_t bytes, char *buf, size_t len);

/* Formats a duration in milliseconds for people ("2m05s"); returns buf. */
const char *format_duration_ms(uint64_t ms, char *buf, size_t len);

#endif
