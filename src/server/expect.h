/*
 * expect.h - the receiver's silence alarms (docs/monitoring.md): a thread
 * of `mfb-server serve` that checks every expectation (`mfb-server expect
 * set CLIENT INSTANCE --every D`) against the catalog's newest complete
 * backup, and alerts through the receiver's channels (`mfb-server alert`)
 * naming the client, the instance and the age of its last complete backup;
 * it repeats at a bounded rate and sends a recovery notice when a backup
 * arrives (the decision is alert/silence.h, shared with the client). It
 * works when the client host is dead: nothing here waits for the client.
 */
#ifndef MFB_SERVER_EXPECT_H
#define MFB_SERVER_EXPECT_H

#include "common/status.h"

struct server;
struct server_expect;

/* Starts the checker over srv (borrowed until server_expect_stop). */
mfb_status server_expect_start(struct server *srv, struct server_expect **out,
                               struct mfb_error *err);
/* Stops and frees it. NULL is fine. */
void server_expect_stop(struct server_expect *x);

#endif
