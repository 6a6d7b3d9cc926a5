/*
 * transfer_opts.h - what `mfb push` and `mfb fetch` share: the options that
 * name a receiver (a stored target, --target NAME, and/or the inline --url,
 * --token-file, --fingerprint, --ca-file, which override the stored
 * values), turning them into a transfer_peer, and the Ctrl-C / SIGTERM
 * watcher that cancels a transfer cleanly instead of killing it.
 *
 * The watcher blocks SIGINT and SIGTERM in the calling thread before any
 * transfer thread exists (they inherit the mask) and waits for them with
 * sigwait in a thread of its own, which cancels the token: no signal
 * handler, no global flag. A second signal ends the process at once,
 * unless the watch is patient (then it is only logged).
 */
#ifndef MFB_CLI_TRANSFER_OPTS_H
#define MFB_CLI_TRANSFER_OPTS_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/options.h"
#include "common/cancel.h"
#include "transfer/https.h"

/* How hard a command tries each receiver request: attempts, total time,
 * and how long a request may move no data. */
#define TRANSFER_RETRY_OPTIONS                                                                     \
    {.name = "retries",                                                                            \
     .type = CLI_UINT,                                                                             \
     .metavar = "N",                                                                               \
     .help = "attempts per receiver request before giving up",                                     \
     .def = "12",                                                                                  \
     .min = "1",                                                                                   \
     .max = "1000"},                                                                               \
        {.name = "retry-max-time",                                                                 \
         .type = CLI_DURATION,                                                                     \
         .metavar = "DURATION",                                                                    \
         .help = "stop retrying a receiver request after this long",                               \
         .def = "10m"},                                                                            \
    {                                                                                              \
        .name = "stall-timeout", .type = CLI_DURATION, .metavar = "DURATION",                      \
        .help = "fail a request that moves no data for this long", .def = "60s"                    \
    }

#define TRANSFER_TARGET_OPTIONS                                                                    \
    {.name = "target",                                                                             \
     .type = CLI_STRING,                                                                           \
     .metavar = "NAME",                                                                            \
     .help = "a receiver stored with 'mfb target add'; the options below override its values",     \
     .def_doc = "the only one, without --url"},                                                    \
        {.name = "url",                                                                            \
         .type = CLI_STRING,                                                                       \
         .metavar = "URL",                                                                         \
         .help = "receiver base URL, https://HOST:PORT"},                                          \
        {.name = "token-file",                                                                     \
         .type = CLI_PATH,                                                                         \
         .metavar = "FILE",                                                                        \
         .help = "file holding this client's token (mode 0600), or - for standard input"},         \
        {.name = "fingerprint",                                                                    \
         .type = CLI_STRING,                                                                       \
         .metavar = "SHA256",                                                                      \
         .help = "pin the receiver's certificate by its SHA-256 fingerprint (AA:BB:...)"},         \
        {.name = "ca-file",                                                                        \
         .type = CLI_PATH,                                                                         \
         .metavar = "FILE",                                                                        \
         .help = "verify the receiver's certificate against this CA file instead"},                \
        {.name = "insecure-plaintext",                                                             \
         .type = CLI_FLAG,                                                                         \
         .help = "allow a plain http:// URL: no TLS at all, for tests only"},                      \
        TRANSFER_RETRY_OPTIONS

/* The transfer settings TRANSFER_RETRY_OPTIONS ask for, over
 * TRANSFER_SETTINGS_DEFAULT. */
mfb_status transfer_opts_settings(const struct cli_args *args, struct transfer_settings *settings,
                                  struct mfb_error *err);

/* What a stored target says beyond how to reach the receiver: the upload
 * settings `mfb push` uses unless its own options say otherwise. */
struct transfer_opts_stored {
    bool found;          /* --target was given */
    uint64_t chunk_size; /* 0 when no target */
    unsigned connections;
    char *directory; /* allocated, or NULL */
};
void transfer_opts_stored_free(struct transfer_opts_stored *stored);

/* Reads the receiver options (the stored target from the configuration
 * database, then the inline options and the token file over it) into a
 * client. stored may be NULL; otherwise it is filled (release it with
 * transfer_opts_stored_free). Allocates. */
mfb_status transfer_opts_client(const struct cli_args *args, struct transfer_peer **client,
                                struct transfer_opts_stored *stored, struct mfb_error *err);

/* Appends the target options, as given, to a shell command line in buf
 * (for the resume command an interrupted push prints). */
void transfer_opts_append(const struct cli_args *args, char *buf, size_t cap);

/* Appends one shell-quoted word (with a leading space) to buf. */
void transfer_opts_append_word(char *buf, size_t cap, const char *word);

/* Prints a JSON object as one line on stdout and releases it (--json). */
void transfer_opts_print_json(json_t *object);

struct interrupt_watch {
    pthread_t thread;
    bool started;
    sigset_t set;
    sigset_t old;
    struct cancel_token *cancel;
    atomic_int signo; /* the signal that cancelled, or 0 */
    atomic_bool done;
    /* Set before start: a second signal is only logged instead of ending
     * the process (`mfb backup` must always start the server again). */
    bool patient;
    const char *patient_note; /* logged on a second signal */
};

mfb_status interrupt_watch_start(struct interrupt_watch *w, struct cancel_token *cancel,
                                 struct mfb_error *err);
void interrupt_watch_stop(struct interrupt_watch *w);

#endif
