/*
 * transfer_opts.c - receiver options and the signal watcher (see
 * transfer_opts.h).
 */
#include "cli/transfer_opts.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config_cli.h"
#include "common/cancel.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "job/config_map.h"
#include "job/endpoints.h"

void transfer_opts_stored_free(struct transfer_opts_stored *stored)
{
    if (stored == NULL)
        return;
    free(stored->directory);
    memset(stored, 0, sizeof(*stored));
}

/* Loads the stored target `name`, or with NULL the only one there is (as
 * backup, list and restore choose). */
static mfb_status load_target(const struct cli_args *args, const char *name,
                              struct config_target *t, struct mfb_error *err)
{
    struct config_db *db = NULL;
    char chosen[CONFIG_NAME_BUF];
    mfb_status st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = job_target_choose(db, name, chosen, sizeof(chosen), err);
    if (st == MFB_OK)
        st = config_target_get(db, chosen, t, err);
    config_db_close(db);
    return st;
}

/* Copies what push takes from a stored target. */
static mfb_status keep_stored(const struct config_target *t, struct transfer_opts_stored *stored,
                              struct mfb_error *err)
{
    stored->found = true;
    stored->chunk_size = t->chunk_size;
    stored->connections = t->connections;
    if (t->directory != NULL && (stored->directory = strdup(t->directory)) == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    return MFB_OK;
}

mfb_status transfer_opts_settings(const struct cli_args *args, struct transfer_settings *settings,
                                  struct mfb_error *err)
{
    *settings = TRANSFER_SETTINGS_DEFAULT;
    uint64_t retries = 0, max_time = 0, stall = 0;
    mfb_status st = cli_uint(args, "retries", &retries, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "retry-max-time", &max_time, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "stall-timeout", &stall, err);
    if (st != MFB_OK)
        return st;
    if (stall < 1000) {
        mfb_error_set(err, MFB_ERR_USAGE, "--stall-timeout must be at least 1s");
        mfb_error_hint(err, "a request that moves no data for this long is cut and retried");
        return MFB_ERR_USAGE;
    }
    settings->retry.max_attempts = (unsigned)retries;
    settings->retry.max_total_ms = max_time;
    settings->stall_timeout_ms = stall;
    return MFB_OK;
}

mfb_status transfer_opts_client(const struct cli_args *args, struct transfer_peer **client,
                                struct transfer_opts_stored *stored, struct mfb_error *err)
{
    *client = NULL;
    if (stored != NULL)
        memset(stored, 0, sizeof(*stored));
    struct transfer_settings settings;
    mfb_status st = transfer_opts_settings(args, &settings, err);
    if (st != MFB_OK)
        return st;

    const char *name = cli_string(args, "target");
    const char *token_file = cli_string(args, "token-file");
    /* Without --target and --url, the only stored target. */
    bool use_stored = name != NULL || !cli_given(args, "url");
    if (!use_stored && token_file == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE, "no token given");
        mfb_error_hint(err, "pass --token-file FILE (mode 0600) holding the token 'mfb-server "
                            "client add' printed, or --token-file - to read it from standard "
                            "input");
        return MFB_ERR_USAGE;
    }
    struct config_target stored_target;
    config_target_init(&stored_target);
    struct transfer_target target = {0};
    char *token = NULL;
    if (use_stored) {
        st = load_target(args, name, &stored_target, err);
        if (st == MFB_ERR_NOT_FOUND && name == NULL) { /* no target stored at all */
            mfb_error_clear(err);
            st = mfb_error_set(err, MFB_ERR_USAGE, "no receiver given");
            mfb_error_hint(err, "pass --target NAME (a receiver saved with 'mfb target add'), or "
                                "--url, --token-file and --fingerprint or --ca-file");
        }
        if (st == MFB_OK && stored != NULL)
            st = keep_stored(&stored_target, stored, err);
        config_map_target(&stored_target, &target);
    }
    /* Inline options override the stored ones; a certificate setting
     * replaces the other kind, as in 'mfb target set'. */
    const char *fingerprint = cli_string(args, "fingerprint");
    const char *ca_file = cli_string(args, "ca-file");
    if (cli_given(args, "url"))
        target.url = cli_string(args, "url");
    if (fingerprint != NULL || ca_file != NULL) {
        target.fingerprint = fingerprint;
        target.ca_file = ca_file;
    }
    target.allow_plaintext = cli_flag(args, "insecure-plaintext");
    if (st == MFB_OK && token_file != NULL) {
        st = fs_read_secret(token_file, &token, err);
        target.token = token;
    }
    if (st == MFB_OK)
        st = transfer_peer_create(&target, &settings, client, err);
    if (token != NULL) {
        fs_free_secret(token);
    }
    config_target_free(&stored_target);
    if (st != MFB_OK)
        transfer_opts_stored_free(stored);
    return st;
}

void transfer_opts_append_word(char *buf, size_t cap, const char *word)
{
    size_t used = strlen(buf);
    bool plain = word[0] != '\0';
    for (const char *p = word; *p; p++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:=@+%", *p))
            plain = false;
    }
    if (plain) {
        snprintf(buf + used, cap - used, " %s", word);
        return;
    }
    /* Single quotes, with each ' written as '\'' */
    if (used + 2 < cap) {
        buf[used++] = ' ';
        buf[used++] = '\'';
    }
    for (const char *p = word; *p && used + 5 < cap; p++) {
        if (*p == '\'') {
            memcpy(buf + used, "'\\''", 4);
            used += 4;
        } else {
            buf[used++] = *p;
        }
    }
    if (used + 1 < cap)
        buf[used++] = '\'';
    buf[used < cap ? used : cap - 1] = '\0';
}

static void append_option(const struct cli_args *args, char *buf, size_t cap, const char *name,
                          bool is_path)
{
    if (!cli_given(args, name))
        return;
    const char *value = cli_string(args, name);
    char flag[64];
    snprintf(flag, sizeof(flag), "--%s", name);
    transfer_opts_append_word(buf, cap, flag);
    char abs[PATH_MAX];
    if (is_path && strcmp(value, "-") != 0 && value[0] != '/' && realpath(value, abs) != NULL)
        value = abs;
    transfer_opts_append_word(buf, cap, value);
}

void transfer_opts_append(const struct cli_args *args, char *buf, size_t cap)
{
    if (cli_given(args, "target") && args->db_path != NULL) {
        char abs[PATH_MAX];
        transfer_opts_append_word(buf, cap, "--db");
        transfer_opts_append_word(
            buf, cap,
            args->db_path[0] != '/' && realpath(args->db_path, abs) != NULL ? abs : args->db_path);
    }
    append_option(args, buf, cap, "target", false);
    append_option(args, buf, cap, "url", false);
    append_option(args, buf, cap, "token-file", true);
    append_option(args, buf, cap, "fingerprint", false);
    append_option(args, buf, cap, "ca-file", true);
    if (cli_flag(args, "insecure-plaintext"))
        transfer_opts_append_word(buf, cap, "--insecure-plaintext");
    append_option(args, buf, cap, "retries", false);
    append_option(args, buf, cap, "retry-max-time", false);
    append_option(args, buf, cap, "stall-timeout", false);
}

void transfer_opts_print_json(json_t *object)
{
    char *text = object ? json_dumps(object, JSON_COMPACT) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(object);
}

/* Thread role: waits for SIGINT/SIGTERM and cancels the transfer. */
static void *watch_main(void *arg)
{
    struct interrupt_watch *w = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&w->set, &sig) != 0)
            continue;
        if (atomic_load(&w->done))
            return NULL;
        if (atomic_load(&w->signo) != 0 && w->patient) {
            log_warn("interrupt", "signal=%s note=%s", sig == SIGINT ? "INT" : "TERM",
                     w->patient_note ? w->patient_note : "already_stopping");
            continue;
        }
        if (atomic_load(&w->signo) != 0)
            _exit(128 + sig); /* a second signal: stop now */
        atomic_store(&w->signo, sig);
        log_warn("interrupt", "signal=%s note=stopping_transfer", sig == SIGINT ? "INT" : "TERM");
        cancel_token_request(w->cancel);
    }
}

mfb_status interrupt_watch_start(struct interrupt_watch *w, struct cancel_token *cancel,
                                 struct mfb_error *err)
{
    w->started = false;
    w->cancel = cancel;
    atomic_init(&w->signo, 0);
    atomic_init(&w->done, false);
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    /* Writes to a dropped connection must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &w->set, &w->old) != 0)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot block signals");
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_sigmask(SIG_SETMASK, &w->old, NULL);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the signal thread");
    }
    w->started = true;
    return MFB_OK;
}

void interrupt_watch_stop(struct interrupt_watch *w)
{
    if (!w->started)
        return;
    atomic_store(&w->done, true);
    pthread_kill(w->thread, SIGTERM);
    pthread_join(w->thread, NULL);
    w->started = false;
    pthread_sigmask(SIG_SETMASK, &w->old, NULL);
}
