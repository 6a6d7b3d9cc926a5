/*
 * cron.c - parsing cron expressions and finding their next runs
 * (sched/cron.h, docs/schedules.md).
 *
 * Parsing turns each field into a bit set; errors name the expression,
 * the field and its allowed range, the way a DBA reading a log line needs
 * them. Next-run search has two steps: next_wall walks wall-clock minutes
 * forwards (skipping whole months, days and hours that cannot match), and
 * cron_expr_next maps each candidate to the instants that show it through
 * tz_zone_resolve, choosing among 0, 1 or 2 of them by the daylight-saving
 * rule in cron.h. For a wall_time expression the chosen instant grows with
 * the wall time, so the first candidate after `after` is the answer; for a
 * wildcard expression an autumn hour is walked twice, so the search keeps
 * the earliest instant and stops once later wall times cannot beat it.
 */
#include "sched/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched/civil.h"

#define CRON_HINT "the fields are MIN HOUR DOM MON DOW, e.g. '30 2 * * 1-5'; see docs/schedules.md"
#define CRON_TEXT_MAX 200                     /* of the expression quoted in a message */
#define CRON_SEARCH_SECS (50 * 366 * 86400LL) /* how far next runs are searched */

struct field_spec {
    const char *name;
    int lo, hi;
    const char *const *names; /* three-letter names of lo, lo+1, ...; or NULL */
    const char *names_hint;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_spec fields[F_COUNT] = {
    {"minute", 0, 59, NULL, NULL},
    {"hour", 0, 23, NULL, NULL},
    {"day-of-month", 1, 31, NULL, NULL},
    {"month", 1, 12, month_names, "months are 1-12 or jan-dec"},
    {"day-of-week", 0, 7, wday_names, "days of the week are 0-7 (0 and 7 are Sunday) or sun-sat"},
};

static const struct {
    const char *name, *expansion;
} shortcuts[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

/* The parse of one expression: the text as quoted in messages, the error. */
struct parser {
    char quoted[CRON_TEXT_MAX + 1];
    struct mfb_error *err;
};

static mfb_status parse_fail(struct parser *ps, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mfb_status parse_fail(struct parser *ps, const char *hint, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    mfb_error_set(ps->err, MFB_ERR_INVALID, "cron expression '%s': %s", ps->quoted, what);
    mfb_error_hint(ps->err, "%s", hint != NULL ? hint : CRON_HINT);
    return MFB_ERR_INVALID;
}

/* One value of a field, a number or a name, from [p, end); *pp moves past it. */
static mfb_status parse_value(struct parser *ps, const struct field_spec *f, const char **pp,
                              const char *end, int *out)
{
    const char *p = *pp, *q = p;
    if (isdigit((unsigned char)*p)) {
        long v = 0;
        while (q < end && isdigit((unsigned char)*q)) {
            v = v < 100000 ? v * 10 + (*q - '0') : v;
            q++;
        }
        if (q < end && *q != '-' && *q != '/' && *q != ',')
            return parse_fail(ps, f->names_hint, "%s '%.*s' is not a number", f->name,
                              (int)(end - p), p);
        if (v < f->lo || v > f->hi)
            return parse_fail(ps, f->names_hint, "%s %.*s is out of range %d-%d", f->name,
                              (int)(q - p), p, f->lo, f->hi);
        *out = (int)v;
        *pp = q;
        return MFB_OK;
    }
    while (q < end && isalpha((unsigned char)*q))
        q++;
    if (f->names != NULL && q - p == 3 && (q == end || *q == '-' || *q == '/')) {
        for (int i = 0; f->names[i] != NULL; i++) {
            if (strncasecmp(p, f->names[i], 3) == 0) {
                *out = f->lo + i;
                *pp = q;
                return MFB_OK;
            }
        }
    }
    if (f->names != NULL)
        return parse_fail(ps, f->names_hint, "%s '%.*s' is not a number or a %s name", f->name,
                          (int)(end - p), p, f == &fields[F_MONTH] ? "month" : "day");
    return parse_fail(ps, NULL, "%s '%.*s' is not a number", f->name, (int)(end - p), p);
}

/* One list item, [p, end): '*' or a value or a range, then an optional step. */
static mfb_status parse_item(struct parser *ps, const struct field_spec *f, const char *p,
                             const char *end, uint64_t *bits)
{
    const char *start = p;
    int lo = f->lo, hi = f->hi, step = 1;
    bool ranged = true;
    mfb_status st;
    if (*p == '*') {
        p++;
    } else {
        if ((st = parse_value(ps, f, &p, end, &lo)) != MFB_OK)
            return st;
        hi = lo;
        ranged = false;
        if (p < end && *p == '-') {
            p++;
            if (p == end)
                return parse_fail(ps, NULL, "%s range '%.*s' has no end", f->name,
                                  (int)(end - start), start);
            if ((st = parse_value(ps, f, &p, end, &hi)) != MFB_OK)
                return st;
            if (lo > hi)
                return parse_fail(ps,
                                  "write the smaller value first; a range that wraps is two "
                                  "items, e.g. 22-23,0-2",
                                  "%s range %.*s is reversed", f->name, (int)(p - start), start);
            ranged = true;
        }
    }
    if (p < end && *p == '/') {
        const char *s = ++p;
        long v = 0;
        while (p < end && isdigit((unsigned char)*p)) {
            v = v < 100000 ? v * 10 + (*p - '0') : v;
            p++;
        }
        int max_step = (f == &fields[F_DOW] ? 6 : f->hi) - f->lo;
        if (p == s || p != end)
            return parse_fail(ps, NULL, "%s step '%.*s' is not a number", f->name, (int)(end - s),
                              s);
        if (v < 1 || v > max_step)
            return parse_fail(ps, NULL, "%s step %.*s is out of range 1-%d", f->name, (int)(p - s),
                              s, max_step);
        if (!ranged)
            return parse_fail(ps, NULL, "%s step '%.*s' needs a range or '*' before the '/'",
                              f->name, (int)(end - start), start);
        step = (int)v;
    }
    if (p != end)
        return parse_fail(ps, NULL, "%s item '%.*s' is not valid", f->name, (int)(end - start),
                          start);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return MFB_OK;
}

static mfb_status parse_field(struct parser *ps, const struct field_spec *f, const char *p,
                              const char *end, uint64_t *bits)
{
    const char *field = p;
    *bits = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma != NULL ? comma : end;
        if (item_end == p)
            return parse_fail(ps, "remove the extra comma", "%s list '%.*s' has an empty item",
                              f->name, (int)(end - field), field);
        mfb_status st = parse_item(ps, f, p, item_end, bits);
        if (st != MFB_OK)
            return st;
        if (comma == NULL)
            return MFB_OK;
        p = comma + 1;
    }
}

/* Whether a day-of-month in the set exists in a month of the set (February
 * counted with 29 days), so that the AND of the day fields can match. */
static bool some_day_exists(const struct cron_expr *e)
{
    for (int m = 1; m <= 12; m++) {
        if (!(e->months >> m & 1))
            continue;
        int mdays = civil_month_days(2000, m); /* a leap year */
        for (int d = 1; d <= mdays; d++)
            if (e->days >> d & 1)
                return true;
    }
    return false;
}

mfb_status cron_parse(const char *text, struct cron_expr *out, struct mfb_error *err)
{
    struct parser ps = {.err = err};
    if (text == NULL)
        text = "";
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    size_t qlen = len < CRON_TEXT_MAX ? len : CRON_TEXT_MAX;
    for (size_t i = 0; i < qlen; i++) /* one line in any log */
        ps.quoted[i] = isprint((unsigned char)text[i]) ? text[i] : ' ';
    ps.quoted[qlen] = '\0';

    const char *body = text, *body_end = text + len;
    if (len > 0 && text[0] == '@') {
        size_t n = 0;
        while (n < len && !isspace((unsigned char)text[n]))
            n++;
        body = NULL;
        for (size_t i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++) {
            if (strlen(shortcuts[i].name) == n && strncasecmp(text, shortcuts[i].name, n) == 0)
                body = shortcuts[i].expansion;
        }
        if (body == NULL)
            return parse_fail(&ps,
                              "use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
                              "@annually, or five fields",
                              "unknown shortcut '%.*s'", (int)n, text);
        const char *rest = text + n;
        while (isspace((unsigned char)*rest))
            rest++;
        if (rest < body_end)
            return parse_fail(&ps, "a shortcut stands alone", "unexpected '%.*s' after %.*s",
                              (int)(body_end - rest), rest, (int)n, text);
        body_end = body + strlen(body);
    }

    const char *start[F_COUNT + 1], *end[F_COUNT + 1];
    int count = 0;
    for (const char *p = body; p < body_end;) {
        while (p < body_end && isspace((unsigned char)*p))
            p++;
        if (p == body_end)
            break;
        const char *q = p;
        while (q < body_end && !isspace((unsigned char)*q))
            q++;
        if (count <= F_COUNT) {
            start[count] = p;
            end[count] = q;
        }
        count++;
        p = q;
    }
    if (count != F_COUNT)
        return parse_fail(
            &ps,
            "separate the five fields with spaces, e.g. '30 2 * * *' for 02:30 "
            "every day; see docs/schedules.md",
            "expected 5 fields (minute hour day-of-month month day-of-week), found %d", count);

    uint64_t bits[F_COUNT];
    for (int i = 0; i < F_COUNT; i++) {
        mfb_status st = parse_field(&ps, &fields[i], start[i], end[i], &bits[i]);
        if (st != MFB_OK)
            return st;
    }
    struct cron_expr e = {
        .minutes = bits[F_MINUTE],
        .hours = (uint32_t)bits[F_HOUR],
        .days = (uint32_t)bits[F_DOM],
        .months = (uint16_t)bits[F_MONTH],
        .wdays = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f), /* 7 is Sunday too */
        .days_any = *start[F_DOM] == '*',
        .wdays_any = *start[F_DOW] == '*',
        .wall_time = *start[F_MINUTE] != '*' && *start[F_HOUR] != '*',
    };
    /* Vixie cron's rule (cron.h): when either day field starts with '*'
     * both must match, and a day-of-month that no chosen month has would
     * never run. */
    if ((e.days_any || e.wdays_any) && !some_day_exists(&e))
        return parse_fail(&ps, "choose a day that the month has (February has 29 at most)",
                          "day-of-month '%.*s' never occurs in month '%.*s'",
                          (int)(end[F_DOM] - start[F_DOM]), start[F_DOM],
                          (int)(end[F_MONTH] - start[F_MONTH]), start[F_MONTH]);
    *out = e;
    return MFB_OK;
}

static bool day_matches(const struct cron_expr *e, const struct civil_time *c)
{
    bool dom = e->days >> c->day & 1;
    bool dow = e->wdays >> c->wday & 1;
    if (e->days_any || e->wdays_any)
        return dom && dow;
    return dom || dow;
}

bool cron_matches(const struct cron_expr *e, int64_t wall)
{
    struct civil_time c = civil_from_seconds(wall);
    return (e->months >> c.month & 1) && day_matches(e, &c) && (e->hours >> c.hour & 1) &&
           (e->minutes >> c.minute & 1);
}

/* The first matching wall-clock minute after wall, if there is one up to
 * limit. */
static bool next_wall(const struct cron_expr *e, int64_t wall, int64_t limit, int64_t *out)
{
    int64_t w = civil_floor_div(wall, 60) * 60 + 60;
    while (w <= limit) {
        struct civil_time c = civil_from_seconds(w);
        if (!(e->months >> c.month & 1)) {
            c.year += c.month == 12;
            c.month = c.month % 12 + 1;
            c.day = 1;
            c.hour = c.minute = c.second = 0;
            w = civil_to_seconds(&c);
        } else if (!day_matches(e, &c)) {
            w = (civil_floor_div(w, 86400) + 1) * 86400;
        } else if (!(e->hours >> c.hour & 1)) {
            w = (civil_floor_div(w, 3600) + 1) * 3600;
        } else if (!(e->minutes >> c.minute & 1)) {
            w += 60;
        } else {
            *out = w;
            return true;
        }
    }
    return false;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

mfb_status cron_expr_next(const struct cron_expr *e, const struct tz_zone *zone, int64_t after,
                          int64_t *next, struct mfb_error *err)
{
    /* Any instant u > after shows the wall time u + offset(u); with at most
     * one offset change in the next day, that is past after + lo_off. */
    int32_t off_now = tz_zone_offset(zone, after), off_day = tz_zone_offset(zone, after + 86400);
    int32_t lo_off = off_now < off_day ? off_now : off_day;
    int64_t wall = after + lo_off, limit = wall + CRON_SEARCH_SECS;
    int64_t best = 0;
    bool found = false;
    while (next_wall(e, wall, limit, &wall)) {
        /* A later wall time w shows at w - offset: once past best plus the
         * largest offset around, nothing later can come sooner. */
        if (found && wall > best + max32(max32(off_now, off_day), tz_zone_offset(zone, best)))
            break;
        int64_t at[2];
        int n = tz_zone_resolve(zone, wall, at);
        int64_t cand = at[0];
        bool have = true;
        if (n == 0)
            have = e->wall_time; /* the skipped time runs when the gap ends */
        else if (n == 2 && !e->wall_time && at[0] <= after)
            cand = at[1]; /* a wildcard runs in both passes of a repeated hour */
        if (have && cand > after && (!found || cand < best)) {
            best = cand;
            found = true;
            if (e->wall_time)
                break;
        }
    }
    if (!found)
        return mfb_error_set(err, MFB_ERR_INTERNAL,
                             "cron expression has no run within 50 years in time zone '%s'",
                             tz_zone_name(zone));
    *next = best;
    return MFB_OK;
}

mfb_status cron_next_n(const char *expr, const char *tz, int64_t after, size_t n, int64_t *out,
                       struct mfb_error *err)
{
    if (n < 1 || n > CRON_NEXT_MAX)
        return mfb_error_set(err, MFB_ERR_USAGE, "cannot list %zu run times: 1-%d are allowed", n,
                             CRON_NEXT_MAX);
    struct cron_expr e;
    struct tz_zone *zone = NULL;
    mfb_status st = cron_parse(expr, &e, err);
    if (st == MFB_OK)
        st = tz_zone_load(tz, &zone, err);
    for (size_t i = 0; st == MFB_OK && i < n; i++) {
        st = cron_expr_next(&e, zone, after, &out[i], err);
        after = out[i];
    }
    tz_zone_free(zone);
    return st;
}

mfb_status cron_next(const char *expr, const char *tz, int64_t after, int64_t *next,
                     struct mfb_error *err)
{
    return cron_next_n(expr, tz, after, 1, next, err);
}
