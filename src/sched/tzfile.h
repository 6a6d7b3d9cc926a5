/*
 * tzfile.h - time zones for the scheduler: a small reader of the tz
 * database's TZif files and of POSIX TZ rule strings.
 *
 * Why not the C library: localtime_r only knows the zone named by the
 * process's TZ variable, and changing TZ (setenv + tzset) in the daemon,
 * whose threads log timestamps and may evaluate other schedules at the same
 * moment, is a data race; forking a helper per evaluation is absurd for a
 * computation of microseconds. So this reads /usr/share/zoneinfo/NAME
 * (or $TZDIR/NAME) itself: the files are a few kilobytes, the format
 * (RFC 8536) is simple, and a loaded zone is an immutable value that any
 * number of threads may use at once. Nothing here touches the environment
 * except reading TZ and TZDIR, and nothing is cached globally: a caller
 * that evaluates often keeps its struct tz_zone.
 *
 * What is implemented: TZif versions 1 to 4 (the 64-bit data of v2+ when
 * present), and the footer's POSIX TZ string, which gives the offsets
 * after the last transition in the file (a "slim" file stops in the 1990s,
 * a "fat" one in 2037; either way 2040 is computed from the footer). The
 * rules `Mm.w.d`, `Jn` and `n` with an optional `/time` (RFC 8536 allows
 * -167..167 hours) are all supported, as are quoted names (`<+0330>`).
 * Leap-second records are ignored: schedules count POSIX seconds, as
 * every clock the daemon reads does.
 *
 * Offsets are seconds east of UTC (Berlin in summer is +7200), the sign of
 * tm_gmtoff; the POSIX string's own offsets have the opposite sign and are
 * converted when parsed.
 */
#ifndef MFB_SCHED_TZFILE_H
#define MFB_SCHED_TZFILE_H

#include <stdint.h>

#include "common/status.h"

struct tz_zone;

/* The longest zone name accepted; longer names cannot be in the database. */
#define TZ_NAME_MAX 255

/* Loads a zone by name: an IANA name ("Europe/Berlin"), "UTC", or "local"
 * (the zone of $TZ when it names one, else /etc/localtime, else UTC; a
 * POSIX rule in $TZ such as "EST5EDT,M3.2.0,M11.1.0" is understood too).
 * An unknown name is MFB_ERR_INVALID naming it; a damaged file is
 * MFB_ERR_CORRUPT. Allocates *out: tz_zone_free it. */
mfb_status tz_zone_load(const char *name, struct tz_zone **out, struct mfb_error *err);

/* Builds a zone from a POSIX TZ rule string alone ("CET-1CEST,M3.5.0,M10.5.0/3").
 * MFB_ERR_INVALID when the string is not one. Allocates *out. */
mfb_status tz_zone_from_posix(const char *rule, struct tz_zone **out, struct mfb_error *err);

void tz_zone_free(struct tz_zone *zone);

/* The name the zone was loaded by. */
const char *tz_zone_name(const struct tz_zone *zone);

/* The UTC offset, in seconds east, in effect at the instant t. */
int32_t tz_zone_offset(const struct tz_zone *zone, int64_t t);

/* The instants whose local wall-clock time (civil seconds, sched/civil.h)
 * is wall. Returns how many there are: 1 normally, 2 when the clocks were
 * set back and the time occurs twice (out[0] < out[1]), 0 when the clocks
 * were set forward over it; then out[0] is the end of that gap, the first
 * instant after it (03:00 local on Berlin's spring-forward day for any
 * time from 02:00 to 02:59). */
int tz_zone_resolve(const struct tz_zone *zone, int64_t wall, int64_t out[2]);

#endif
