/*
 * daemon_fixture.h - what the daemon's libFuzzer targets share
 * (fuzz_daemon_api.c, fuzz_ui.c): one daemon without workers
 * (daemon_init, never daemon_start) over a configuration database in a
 * temporary directory, with instances "prod" and "test", target "rx" and
 * schedule "nightly", living for the whole run; a request driven through
 * daemon_api_begin/body/finish exactly as daemon/http.c drives it, its
 * body in pieces whose sizes come from the first body byte; and the check
 * of every answer: JSON (CSV for the report's format=csv), an error being
 * {"error", "message"} with a non-empty message, a 405 naming what is
 * allowed; an event stream's first event a snapshot and each event one
 * SSE event of JSON. A broken rule aborts, which the fuzzer reports.
 */
#ifndef MFB_TESTS_FUZZ_DAEMON_FIXTURE_H
#define MFB_TESTS_FUZZ_DAEMON_FIXTURE_H

#include <stddef.h>

#include "daemon/daemon.h"
#include "store/config_db.h"

/* The daemon and its database; made at the first call. */
struct daemon *fuzz_daemon(struct config_db **db);

/* One request to the daemon's API (url with its query string), checked. */
void fuzz_daemon_request(struct daemon *d, const char *method, const char *url, const char *body,
                         size_t len);

#endif
