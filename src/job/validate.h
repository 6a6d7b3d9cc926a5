/*
 * validate.h - the checks made before an instance or a target is saved
 * (requirement 2.4), and again by `mfb instance check` / `mfb target check`.
 *
 * Two levels:
 * - The record checks look at the record alone: required fields, names the
 *   receiver accepts, a stop/start method whose commands fit it, a naming
 *   pattern that expands to a valid name, a URL and pin libcurl can use.
 *   They always run; --no-check does not skip them, because a record that
 *   fails them could never work.
 * - The live checks ask the world: can mfb connect with these credentials,
 *   does the data directory exist, can mfb read it, is it the server's
 *   @@datadir, can the server be stopped and started that way, is the spool
 *   writable; does the receiver answer /v1/health, present the pinned
 *   certificate and accept the token. --no-check skips these (the server or
 *   receiver may not exist yet) and the command warns.
 *
 * The live checks do not stop at the first failure: an operator fixing a
 * configuration wants every problem at once, each with its own fix. Each
 * check is bounded by a timeout, so a dead host costs seconds, not minutes.
 * This file decides nothing about saving; the command does.
 */
#ifndef MFB_JOB_VALIDATE_H
#define MFB_JOB_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "store/config_records.h"

#define VALIDATE_MAX_CHECKS 8
#define VALIDATE_TIMEOUT_MS 10000       /* per connection attempt or command */
#define VALIDATE_CHUNK_MAX (1ULL << 30) /* the largest chunk size mfb accepts */
#define VALIDATE_CONNECTIONS_MAX 64

struct validate_check {
    const char *name; /* "connect", "datadir", ... */
    bool ok;
    char detail[256];       /* on success, what was found ("MariaDB 10.11.6") */
    struct mfb_error error; /* on failure, what is wrong and the fix */
};

struct validate_report {
    size_t count;
    size_t failed;
    struct validate_check checks[VALIDATE_MAX_CHECKS];
};

/* The record checks of an instance; the first problem goes to err. */
mfb_status validate_instance_record(const struct config_instance *inst, struct mfb_error *err);

/* The record checks of a target. Puts the fingerprint in its canonical
 * form (AA:BB:...) in place. */
mfb_status validate_target_record(struct config_target *t, struct mfb_error *err);

/* The live checks of an instance: data directory, spool, stop/start
 * method, connection and @@datadir. Fills report; returns MFB_OK when all
 * passed, else the status of the first failure (its error is in report). */
mfb_status validate_instance_live(const struct config_instance *inst,
                                  struct validate_report *report);

/* The live checks of a target: CA file, /v1/health with the certificate
 * check, and the token (GET /v1/whoami). */
mfb_status validate_target_live(const struct config_target *t, struct validate_report *report);

#endif
