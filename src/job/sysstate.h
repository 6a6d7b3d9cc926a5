/*
 * sysstate.h - a one-line picture of the machine for a failed job's log
 * (requirement 7.2): free space of the spool and the data directory, the
 * load average, the memory available and this process's open descriptors.
 *
 * Best effort and never failing: what cannot be read is written as "?".
 */
#ifndef MFB_JOB_SYSSTATE_H
#define MFB_JOB_SYSSTATE_H

#include <stddef.h>

/* Writes "spool_free=12.0 GiB datadir_free=3.1 GiB load=0.52/0.40/0.31
 * mem_available=1.9 GiB open_fds=23" into buf; either path may be NULL. */
const char *sysstate_describe(const char *spool, const char *datadir, char *buf, size_t len);

#endif
