/*
 * parse.c - sizes, durations and counts typed by operators (see parse.h).
 */
#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    uint64_t factor;
};

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kb", 1ULL << 10},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mb", 1ULL << 20},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gb", 1ULL << 30},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tb", 1ULL << 40},
    {"tib", 1ULL << 40},
};

static const struct unit duration_units[] = {
    {"ms", 1},          {"s", 1000},         {"m", 60 * 1000},
    {"h", 3600 * 1000}, {"d", 86400 * 1000}, {"w", 7 * 86400 * 1000ULL},
};

static const struct unit *find_unit(const struct unit *units, size_t count, const char *name,
                                    size_t len)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(units[i].name) == len && strncasecmp(units[i].name, name, len) == 0)
            return &units[i];
    }
    return NULL;
}

mfb_status parse_size(const char *text, uint64_t *bytes, struct mfb_error *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p) && *p != '.')
        goto bad;
    char *end;
    errno = 0;
    double number = strtod(p, &end);
    if (errno != 0 || end == p || number < 0)
        goto bad;
    const char *unit_start = end;
    while (isalpha((unsigned char)*end))
        end++;
    const struct unit *unit = find_unit(size_units, sizeof(size_units) / sizeof(size_units[0]),
                                        unit_start, (size_t)(end - unit_start));
    while (isspace((unsigned char)*end))
        end++;
    if (unit == NULL || *end != '\0')
        goto bad;
    double value = number * (double)unit->factor;
    if (value >= 18446744073709551616.0)
        goto bad;
    *bytes = (uint64_t)llround(value);
    return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid size '%s'", text);
    mfb_error_hint(err, "write a number with an optional unit: 4096, 512K, 64M, 2G, 1T");
    return MFB_ERR_USAGE;
}

mfb_status parse_duration_ms(const char *text, uint64_t *ms, struct mfb_error *err)
{
    const char *p = text;
    uint64_t total = 0;
    if (*p == '\0')
        goto bad;
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p))
            goto bad;
        char *end;
        errno = 0;
        unsigned long long number = strtoull(p, &end, 10);
        if (errno != 0)
            goto bad;
        const char *unit_start = end;
        while (isalpha((unsigned char)*end))
            end++;
        size_t unit_len = (size_t)(end - unit_start);
        uint64_t factor = 1000; /* a bare number is seconds */
        if (unit_len > 0) {
            const struct unit *unit =
                find_unit(duration_units, sizeof(duration_units) / sizeof(duration_units[0]),
                          unit_start, unit_len);
            if (unit == NULL)
                goto bad;
            factor = unit->factor;
        } else if (*end != '\0') {
            goto bad;
        }
        if (number > (UINT64_MAX - total) / factor)
            goto bad;
        total += number * factor;
        p = end;
    }
    *ms = total;
    return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid duration '%s'", text);
    mfb_error_hint(err, "write a number with a unit: 500ms, 30s, 5m, 2h, 7d, 1h30m");
    return MFB_ERR_USAGE;
}

mfb_status parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *value,
                      struct mfb_error *err)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)text[0]))
        goto bad;
    unsigned long long number = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || number < min || number > max)
        goto bad;
    *value = number;
    return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid number '%s'", text);
    mfb_error_hint(err, "give a whole number from %llu to %llu", (unsigned long long)min,
                   (unsigned long long)max);
    return MFB_ERR_USAGE;
}

const char *format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = (double)bytes;
    unsigned i = 0;
    while (value >= 1024 && i < sizeof(names) / sizeof(names[0]) - 1) {
        value /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.1f %s", value, names[i]);
    return buf;
}

const char *format_duration_ms(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    return buf;
}
