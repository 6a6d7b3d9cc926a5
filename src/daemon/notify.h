/*
 * notify.h - the daemon's readiness and liveness for systemd (sd_notify,
 * docs/daemon.md "Under systemd"): READY=1 once the configuration
 * database is open and the control API listens, STATUS= lines that say
 * what runs, WATCHDOG=1 pings, STOPPING=1 at shutdown.
 *
 * libsystemd is optional at build time (CMake defines MFB_HAVE_SYSTEMD
 * when pkg-config finds it); without it every call here does nothing, and
 * without NOTIFY_SOCKET in the environment (not started by systemd) so
 * does sd_notify itself.
 */
#ifndef MFB_DAEMON_NOTIFY_H
#define MFB_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon.h"

/* Whether this build can talk to systemd at all. */
bool daemon_notify_built_in(void);

/* Sends one notification ("READY=1", "STOPPING=1", ...). */
void daemon_notify(const char *state);

/* How often to send WATCHDOG=1: half of WATCHDOG_USEC when systemd asks
 * for pings (sd_watchdog_enabled), else 0. */
uint64_t daemon_notify_watchdog_ms(void);

/* What runs, in one line for STATUS=: "idle", or "running: backup prod
 * (archive 40%), backup test (stop)" (a percentage when the step's total
 * is known). Reads the slots under the daemon's lock. */
void daemon_notify_status_text(struct daemon *d, char *buf, size_t len);

#endif
