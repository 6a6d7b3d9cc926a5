/*
 * daemon_client.h - the CLI's side of the daemon's control API
 * (docs/daemon.md): where the socket is, and one request over it with
 * libcurl (CURLOPT_UNIX_SOCKET_PATH).
 */
#ifndef MFB_CLI_DAEMON_CLIENT_H
#define MFB_CLI_DAEMON_CLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/options.h"
#include "common/status.h"

#define DAEMON_SOCKET_FILE "mfb.sock"

/* The socket of this command line: --socket when the command has it and
 * it was given, else mfb.sock in the configuration database's directory. */
mfb_status daemon_client_socket(const struct cli_args *args, char *buf, size_t len,
                                struct mfb_error *err);

/* Sends method path (body: JSON text or NULL) to the daemon on socket and
 * reads the JSON answer into *reply (allocated, may be NULL) and the HTTP
 * status into *status. No daemon answering is MFB_ERR_NETWORK "no daemon
 * answers on PATH" with the hint to run in the foreground or start one. */
mfb_status daemon_client_call(const char *socket, const char *method, const char *path,
                              const char *body, long *status, json_t **reply,
                              struct mfb_error *err);

/* One event of the daemon's stream: its name ("snapshot", "state",
 * "progress") and its data, parsed (borrowed). Returns false to stop. */
typedef bool (*daemon_event_fn)(void *ctx, const char *event, json_t *data);

/* Follows GET /v1/events on socket, calling fn for each event, until fn
 * returns false, the daemon ends the stream (it stops: MFB_ERR_NETWORK),
 * or *stop is raised (looked at about once a second; NULL: never). A
 * stream silent past two keepalives is a daemon gone: MFB_ERR_NETWORK. */
mfb_status daemon_client_follow(const char *socket, daemon_event_fn fn, void *ctx,
                                const atomic_bool *stop, struct mfb_error *err);

/* Turns a 4xx/5xx answer into err (its "message"). */
mfb_status daemon_client_error(long status, const json_t *reply, struct mfb_error *err);

#endif
