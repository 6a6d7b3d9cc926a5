/*
 * naming.h - the names backups get on the receiver (requirements 10.1-10.3).
 *
 * A target's naming pattern is text with placeholders:
 *   {instance}    the instance's name in mfb
 *   {host}        this machine's host name
 *   {type}        the kind of backup ("full": mfb makes cold full backups)
 *   {time:FMT}    the job's start time through strftime(3) FMT; {time} alone
 *                 is {time:%Y%m%d-%H%M%S}
 *   {seq}         a sequence number given by the caller; {seq:N} pads it
 *                 with zeros to N digits (1-20)
 * and "{{" / "}}" for literal braces. The default pattern is
 * "{instance}_{time:%Y%m%d-%H%M%S}.zip".
 *
 * Expansion is a pure function of the pattern and the values, so it is
 * tested without a clock or a host. The result must be a name the receiver
 * accepts (proto_name_valid: no '/', no control characters, not starting
 * with '.', at most 128 bytes); anything else is refused here, at
 * configuration time, rather than by the receiver in the middle of a job.
 * Uniqueness is the receiver's job (it appends -1, -2, ... to a taken
 * name), so a pattern without {time} or {seq} is allowed.
 */
#ifndef MFB_JOB_BACKUP_NAMING_H
#define MFB_JOB_BACKUP_NAMING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/status.h"
#include "proto/proto.h"

#define NAMING_BUF (PROTO_NAME_MAX + 1)
#define NAMING_TIME_DEFAULT "%Y%m%d-%H%M%S"

struct naming_vars {
    const char *instance;
    const char *host;
    const char *type;
    const struct tm *time; /* broken-down time (the caller picks local or UTC) */
    uint64_t seq;
};

/* Expands pattern into out (NAMING_BUF bytes is always enough). Fails with
 * MFB_ERR_INVALID, naming the problem, for an unknown placeholder, an
 * unbalanced brace, or a result the receiver would refuse. */
mfb_status naming_expand(const char *pattern, const struct naming_vars *vars, char *out, size_t len,
                         struct mfb_error *err);

/* Checks a pattern before it is saved: expands it with the given instance
 * name (or a stand-in when NULL), this machine's host name and the current
 * time. On success fills example (may be NULL) with the result. */
mfb_status naming_check(const char *pattern, const char *instance, char *example, size_t len,
                        struct mfb_error *err);

#endif
