/*
 * http.h - the daemon's control API on a UNIX socket (docs/daemon.md):
 * libmicrohttpd over a listening socket made here, driving daemon/api.h.
 *
 * The socket is made with mode 0600: whoever can connect to it controls
 * the daemon, so only the daemon's user may. A socket file left by a
 * daemon that died is replaced; one on which a daemon still answers is
 * refused (MFB_ERR_BUSY), so two daemons never share a configuration.
 *
 * The web UI's listener (docs/ui.md) is a second instance on a TCP
 * address: plain HTTP only on loopback, TLS anywhere else. Its requests go
 * through the UI's gate (ui/gate.h: login, session, CSRF, assets) and the
 * API paths of a logged-in session reach the same handlers as the socket.
 */
#ifndef MFB_DAEMON_HTTP_H
#define MFB_DAEMON_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "daemon/daemon.h"

struct ui;

struct daemon_http;

/* Listens on path and serves the API of d. Allocates *out. */
mfb_status daemon_http_start(struct daemon *d, const char *path, struct daemon_http **out,
                             struct mfb_error *err);
/* Checks a --ui-listen address: it parses, and it is loopback unless tls.
 * *loopback says which it is. */
mfb_status daemon_http_ui_check(const char *listen, bool tls, bool *loopback,
                                struct mfb_error *err);
/* Serves the web UI (gate ui, borrowed) on listen ("ADDR:PORT", port 0
 * picks one, given in *port); TLS when key_pem is not NULL (PEM texts,
 * borrowed until daemon_http_stop). Allocates *out. */
mfb_status daemon_http_start_ui(struct daemon *d, struct ui *ui, const char *listen,
                                const char *key_pem, const char *cert_pem, struct daemon_http **out,
                                uint16_t *port, struct mfb_error *err);
/* Stops serving and removes the socket file. NULL is a no-op. */
void daemon_http_stop(struct daemon_http *h);

#endif
