/*
 * http.h - the daemon's control API on a UNIX socket (docs/daemon.md):
 * libmicrohttpd over a listening socket made here, driving daemon/api.h.
 *
 * The socket is made with mode 0600: whoever can connect to it controls
 * the daemon, so only the daemon's user may. A socket file left by a
 * daemon that died is replaced; one on which a daemon still answers is
 * refused (MFB_ERR_BUSY), so two daemons never share a configuration.
 */
#ifndef MFB_DAEMON_HTTP_H
#define MFB_DAEMON_HTTP_H

#include "common/status.h"
#include "daemon/daemon.h"

struct daemon_http;

/* Listens on path and serves the API of d. Allocates *out. */
mfb_status daemon_http_start(struct daemon *d, const char *path, struct daemon_http **out,
                             struct mfb_error *err);
/* Stops serving and removes the socket file. NULL is a no-op. */
void daemon_http_stop(struct daemon_http *h);

#endif
