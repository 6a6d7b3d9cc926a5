/*
 * tzfile.c - the TZif reader and POSIX TZ rules behind sched/tzfile.h.
 *
 * A loaded zone is the file's 64-bit transition table plus its footer rule,
 * both immutable after tz_zone_load: lookups are a binary search in the
 * table, or, past its last transition, the footer rule evaluated for the
 * year. The rule evaluation follows the C library's (the year of the
 * instant in UTC, the start compared in standard time and the end in
 * daylight time), so the offsets agree with localtime_r under TZ=NAME,
 * which the unit tests check over 1970-2050.
 */
#include "sched/tzfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/civil.h"

#define TZ_FILE_MAX (1024 * 1024) /* real files are under 10 KiB */
#define TZ_HINT                                                                                    \
    "use an IANA zone name such as 'Europe/Berlin' (see /usr/share/zoneinfo, package tzdata), "    \
    "'UTC' or 'local'"

enum tz_rule_kind {
    TZ_RULE_JULIAN1, /* Jn: day 1-365, February 29 never counted */
    TZ_RULE_JULIAN0, /* n: day 0-365, February 29 counted in leap years */
    TZ_RULE_MONTH,   /* Mm.w.d: weekday d of week w (5 = last) of month m */
};

struct tz_rule {
    enum tz_rule_kind kind;
    int day, month, week, wday;
    int32_t time; /* seconds after local midnight, may be negative or past 24 h */
};

struct tz_posix {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct tz_rule start, end;
};

struct tz_zone {
    char name[TZ_NAME_MAX + 1];
    size_t trans_count;
    int64_t *trans;      /* ascending instants */
    uint8_t *trans_type; /* index into type_off, per transition */
    size_t type_count;
    int32_t *type_off;
    bool has_posix; /* the footer (or the whole zone) is a POSIX rule */
    struct tz_posix posix;
};

/* ---- POSIX TZ strings ---------------------------------------------------- */

static bool parse_name(const char **pp)
{
    const char *p = *pp;
    if (*p == '<') {
        const char *q = strchr(p, '>');
        if (q == NULL || q == p + 1)
            return false;
        *pp = q + 1;
        return true;
    }
    while (isalpha((unsigned char)*p))
        p++;
    if (p - *pp < 3)
        return false;
    *pp = p;
    return true;
}

/* [+-]hh[:mm[:ss]] with hours up to max_hours; the value in seconds. */
static bool parse_hms(const char **pp, int max_hours, int32_t *out)
{
    const char *p = *pp;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return false;
    int32_t parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (!isdigit((unsigned char)*p))
            return false;
        int v = 0;
        for (int n = 0; isdigit((unsigned char)*p); n++, p++) {
            if (n == 3)
                return false;
            v = v * 10 + (*p - '0');
        }
        parts[i] = v;
    }
    if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59)
        return false;
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    *pp = p;
    return true;
}

static bool parse_int(const char **pp, int lo, int hi, int *out)
{
    const char *p = *pp;
    int v = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    for (int n = 0; isdigit((unsigned char)*p); n++, p++) {
        if (n == 3)
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    *pp = p;
    return true;
}

static bool parse_rule(const char **pp, struct tz_rule *r)
{
    const char *p = *pp;
    memset(r, 0, sizeof(*r));
    if (*p == 'J') {
        p++;
        r->kind = TZ_RULE_JULIAN1;
        if (!parse_int(&p, 1, 365, &r->day))
            return false;
    } else if (*p == 'M') {
        p++;
        r->kind = TZ_RULE_MONTH;
        if (!parse_int(&p, 1, 12, &r->month) || *p++ != '.' || !parse_int(&p, 1, 5, &r->week) ||
            *p++ != '.' || !parse_int(&p, 0, 6, &r->wday))
            return false;
    } else {
        r->kind = TZ_RULE_JULIAN0;
        if (!parse_int(&p, 0, 365, &r->day))
            return false;
    }
    r->time = 2 * 3600;
    if (*p == '/') {
        p++;
        if (!parse_hms(&p, 167, &r->time))
            return false;
    }
    *pp = p;
    return true;
}

/* Parses std offset [dst [offset] [,start[/time],end[/time]]]. */
static bool posix_parse(const char *s, struct tz_posix *out)
{
    const char *p = s;
    int32_t west;
    memset(out, 0, sizeof(*out));
    if (!parse_name(&p) || !parse_hms(&p, 24, &west))
        return false;
    out->std_off = -west;
    if (*p == '\0')
        return true;
    if (!parse_name(&p))
        return false;
    out->has_dst = true;
    out->dst_off = out->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!parse_hms(&p, 24, &west))
            return false;
        out->dst_off = -west;
    }
    if (*p == '\0') {
        /* No rule: the C library's default, the United States' since 2007. */
        const char *def = "M3.2.0";
        const char *def_end = "M11.1.0";
        return parse_rule(&def, &out->start) && parse_rule(&def_end, &out->end);
    }
    if (*p++ != ',' || !parse_rule(&p, &out->start) || *p++ != ',' || !parse_rule(&p, &out->end))
        return false;
    return *p == '\0';
}

/* The day (days since 1970-01-01) a rule falls on in a year. */
static int64_t rule_day(int64_t year, const struct tz_rule *r)
{
    int64_t jan1 = civil_days_from_ymd(year, 1, 1);
    switch (r->kind) {
    case TZ_RULE_JULIAN1:
        return jan1 + r->day - 1 + (civil_is_leap(year) && r->day >= 60);
    case TZ_RULE_JULIAN0:
        return jan1 + r->day;
    case TZ_RULE_MONTH:
    default: {
        int64_t first = civil_days_from_ymd(year, r->month, 1);
        int d = (r->wday - civil_wday(first) + 7) % 7 + (r->week - 1) * 7;
        int mdays = civil_month_days(year, r->month);
        while (d >= mdays)
            d -= 7;
        return first + d;
    }
    }
}

static int32_t posix_offset(const struct tz_posix *p, int64_t t)
{
    if (!p->has_dst)
        return p->std_off;
    int64_t year = civil_from_seconds(t).year;
    int64_t start = rule_day(year, &p->start) * 86400 + p->start.time - p->std_off;
    int64_t end = rule_day(year, &p->end) * 86400 + p->end.time - p->dst_off;
    bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
    return dst ? p->dst_off : p->std_off;
}

/* ---- TZif files ---------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool tzif_header(const unsigned char *buf, size_t len, size_t at, struct tzif_counts *c)
{
    if (len < at + 44 || memcmp(buf + at, "TZif", 4) != 0)
        return false;
    const unsigned char *p = buf + at + 20;
    c->isut = be32(p);
    c->isstd = be32(p + 4);
    c->leap = be32(p + 8);
    c->time = be32(p + 12);
    c->type = be32(p + 16);
    c->chars = be32(p + 20);
    return c->time <= 100000 && c->type <= 256 && c->leap <= 100000 && c->chars <= 100000 &&
           c->isut <= 256 && c->isstd <= 256;
}

static size_t tzif_data_size(const struct tzif_counts *c, size_t tsize)
{
    return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Fills zone from a whole TZif file; false when it is damaged. */
static bool tzif_parse(const unsigned char *buf, size_t len, struct tz_zone *z)
{
    struct tzif_counts c;
    if (!tzif_header(buf, len, 0, &c))
        return false;
    size_t at = 44, tsize = 4;
    if (buf[4] >= '2') {
        at += tzif_data_size(&c, 4);
        if (!tzif_header(buf, len, at, &c))
            return false;
        at += 44;
        tsize = 8;
    }
    if (c.type == 0 || len - at < tzif_data_size(&c, tsize))
        return false;
    const unsigned char *p = buf + at;
    z->trans_count = c.time;
    z->type_count = c.type;
    z->trans = calloc(c.time ? c.time : 1, sizeof(*z->trans));
    z->trans_type = calloc(c.time ? c.time : 1, 1);
    z->type_off = calloc(c.type, sizeof(*z->type_off));
    if (z->trans == NULL || z->trans_type == NULL || z->type_off == NULL)
        return false;
    for (size_t i = 0; i < c.time; i++, p += tsize) {
        z->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            return false;
    }
    for (size_t i = 0; i < c.time; i++, p++) {
        if (*p >= c.type)
            return false;
        z->trans_type[i] = *p;
    }
    for (size_t i = 0; i < c.type; i++, p += 6) {
        int32_t off = (int32_t)be32(p);
        if (off < -25 * 3600 || off > 26 * 3600)
            return false;
        z->type_off[i] = off;
    }
    at += tzif_data_size(&c, tsize);
    /* The footer: "\n" POSIX-TZ-string "\n"; empty means no rule. */
    if (tsize == 8 && at < len && buf[at] == '\n') {
        const unsigned char *end = memchr(buf + at + 1, '\n', len - at - 1);
        if (end == NULL)
            return false;
        size_t n = (size_t)(end - (buf + at + 1));
        if (n > 0) {
            char rule[256];
            if (n >= sizeof(rule))
                return false;
            memcpy(rule, buf + at + 1, n);
            rule[n] = '\0';
            if (!posix_parse(rule, &z->posix))
                return false;
            z->has_posix = true;
        }
    }
    return true;
}

/* Reads path whole. Allocates *buf; errno-style result (0 on success). */
static int read_file(const char *path, unsigned char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    unsigned char *data = malloc(TZ_FILE_MAX);
    size_t got = 0;
    int rc = data == NULL ? ENOMEM : 0;
    while (rc == 0 && got < TZ_FILE_MAX) {
        ssize_t n = read(fd, data + got, TZ_FILE_MAX - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errno;
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    close(fd);
    if (rc != 0) {
        free(data);
        return rc;
    }
    *buf = data;
    *len = got;
    return 0;
}

/* A name that stays inside the zone directory. */
static bool name_is_safe(const char *name)
{
    if (name[0] == '\0' || name[0] == '/' || strlen(name) > TZ_NAME_MAX)
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        if ((p == name || p[-1] == '/') && p[0] == '.' && p[1] == '.' &&
            (p[2] == '/' || p[2] == '\0'))
            return false;
        if (!isgraph((unsigned char)*p))
            return false;
    }
    return true;
}

static struct tz_zone *zone_new(const char *name)
{
    struct tz_zone *z = calloc(1, sizeof(*z));
    if (z != NULL)
        snprintf(z->name, sizeof(z->name), "%s", name);
    return z;
}

static mfb_status zone_from_file(const char *name, const char *path, struct tz_zone **out,
                                 struct mfb_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc == ENOENT || rc == ENOTDIR || rc == EISDIR ||
        (rc == 0 && (len < 4 || memcmp(buf, "TZif", 4) != 0))) {
        free(buf);
        mfb_error_set(err, MFB_ERR_INVALID, "unknown time zone '%s'", name);
        mfb_error_hint(err, TZ_HINT);
        return MFB_ERR_INVALID;
    }
    if (rc != 0)
        return mfb_error_errno(err, rc, MFB_ERR_IO, "time zone '%s': cannot read %s", name, path);
    struct tz_zone *z = zone_new(name);
    mfb_status st = MFB_OK;
    if (z == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "time zone '%s': out of memory", name);
    } else if (!tzif_parse(buf, len, z)) {
        st = mfb_error_set(err, MFB_ERR_CORRUPT, "time zone '%s': %s is not a valid TZif file",
                           name, path);
        mfb_error_hint(err, "reinstall the tzdata package");
    }
    free(buf);
    if (st != MFB_OK) {
        tz_zone_free(z);
        return st;
    }
    *out = z;
    return MFB_OK;
}

static mfb_status zone_utc(const char *name, struct tz_zone **out, struct mfb_error *err)
{
    struct tz_zone *z = zone_new(name);
    if (z == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "time zone '%s': out of memory", name);
    z->has_posix = true; /* std_off 0, no daylight time */
    *out = z;
    return MFB_OK;
}

static const char *zone_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir != NULL && dir[0] == '/' ? dir : "/usr/share/zoneinfo";
}

static mfb_status zone_local(struct tz_zone **out, struct mfb_error *err)
{
    const char *tz = getenv("TZ");
    if (tz == NULL) {
        if (access("/etc/localtime", R_OK) != 0)
            return zone_utc("local", out, err);
        return zone_from_file("local", "/etc/localtime", out, err);
    }
    if (*tz == ':')
        tz++;
    if (*tz == '\0')
        return zone_utc("local", out, err);
    char path[4096];
    if (tz[0] == '/')
        snprintf(path, sizeof(path), "%s", tz);
    else if (name_is_safe(tz))
        snprintf(path, sizeof(path), "%s/%s", zone_dir(), tz);
    else
        path[0] = '\0';
    if (path[0] != '\0' && access(path, R_OK) == 0)
        return zone_from_file("local", path, out, err);
    mfb_status st = tz_zone_from_posix(tz, out, NULL);
    if (st == MFB_OK) {
        snprintf((*out)->name, sizeof((*out)->name), "local");
        return MFB_OK;
    }
    mfb_error_set(err, MFB_ERR_INVALID, "unknown time zone '%s' (the TZ of local)", tz);
    mfb_error_hint(err, "set TZ to an IANA zone name, or name the zone of the schedule");
    return MFB_ERR_INVALID;
}

mfb_status tz_zone_load(const char *name, struct tz_zone **out, struct mfb_error *err)
{
    *out = NULL;
    if (name == NULL)
        name = "";
    if (strcmp(name, "UTC") == 0)
        return zone_utc(name, out, err);
    if (strcmp(name, "local") == 0)
        return zone_local(out, err);
    if (!name_is_safe(name)) {
        mfb_error_set(err, MFB_ERR_INVALID, "unknown time zone '%.*s'", TZ_NAME_MAX, name);
        mfb_error_hint(err, TZ_HINT);
        return MFB_ERR_INVALID;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", zone_dir(), name);
    return zone_from_file(name, path, out, err);
}

mfb_status tz_zone_from_posix(const char *rule, struct tz_zone **out, struct mfb_error *err)
{
    *out = NULL;
    struct tz_posix posix;
    if (rule == NULL || strlen(rule) > TZ_NAME_MAX || !posix_parse(rule, &posix)) {
        mfb_error_set(err, MFB_ERR_INVALID, "'%.*s' is not a POSIX TZ rule", TZ_NAME_MAX,
                      rule != NULL ? rule : "");
        mfb_error_hint(err, "write it as in the TZ variable, e.g. 'CET-1CEST,M3.5.0,M10.5.0/3'");
        return MFB_ERR_INVALID;
    }
    struct tz_zone *z = zone_new(rule);
    if (z == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "time zone '%s': out of memory", rule);
    z->has_posix = true;
    z->posix = posix;
    *out = z;
    return MFB_OK;
}

void tz_zone_free(struct tz_zone *zone)
{
    if (zone == NULL)
        return;
    free(zone->trans);
    free(zone->trans_type);
    free(zone->type_off);
    free(zone);
}

const char *tz_zone_name(const struct tz_zone *zone)
{
    return zone->name;
}

int32_t tz_zone_offset(const struct tz_zone *z, int64_t t)
{
    size_t n = z->trans_count;
    if (n == 0)
        return z->has_posix ? posix_offset(&z->posix, t) : z->type_off[0];
    /* Before the first transition: time type 0 (RFC 8536, 3.2). */
    if (t < z->trans[0])
        return z->type_off[0];
    if (t >= z->trans[n - 1] && z->has_posix)
        return posix_offset(&z->posix, t);
    size_t lo = 0, hi = n; /* the last transition <= t is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->type_off[z->trans_type[lo]];
}

int tz_zone_resolve(const struct tz_zone *zone, int64_t wall, int64_t out[2])
{
    /* Every instant whose wall time is wall lies within a day of it (offsets
     * are under 26 hours), and a zone changes its offset at most once in two
     * days, so the offsets a day either side of wall are all candidates. */
    int32_t offs[3] = {tz_zone_offset(zone, wall - 86400), tz_zone_offset(zone, wall),
                       tz_zone_offset(zone, wall + 86400)};
    int64_t found[3];
    int n = 0;
    int32_t lo_off = offs[0], hi_off = offs[0];
    for (int i = 0; i < 3; i++) {
        lo_off = offs[i] < lo_off ? offs[i] : lo_off;
        hi_off = offs[i] > hi_off ? offs[i] : hi_off;
        int64_t u = wall - offs[i];
        bool dup = false;
        for (int j = 0; j < n; j++)
            dup = dup || found[j] == u;
        if (!dup && tz_zone_offset(zone, u) == offs[i])
            found[n++] = u;
    }
    if (n > 0) {
        if (n > 1 && found[1] < found[0]) {
            int64_t tmp = found[0];
            found[0] = found[1];
            found[1] = tmp;
        }
        out[0] = found[0];
        out[1] = n > 1 ? found[1] : found[0];
        return n > 1 ? 2 : 1;
    }
    /* In a gap: the clocks jumped over wall at an instant in
     * (wall - hi_off, wall - lo_off]; find it by bisection. */
    int64_t lo = wall - hi_off, hi = wall - lo_off;
    int32_t before = tz_zone_offset(zone, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tz_zone_offset(zone, mid) != before)
            hi = mid;
        else
            lo = mid;
    }
    out[0] = out[1] = hi;
    return 0;
}
