/*
 * cmd_daemon.c - `mfb daemon [--workers N] [--socket PATH]`: the daemon in
 * the foreground, and `mfb daemon status` (docs/daemon.md).
 *
 * The command wires things up and waits for a signal: it settles what a
 * dead process left (job/orphans.h: the guardian restarts a database a
 * killed job left down; queue entries a dead daemon was running end as
 * "interrupted"), starts the control API (daemon/http.h) and the workers
 * (daemon/daemon.h), then waits for SIGTERM, SIGINT or SIGHUP on this
 * thread, with all three blocked in every thread it starts. SIGHUP makes
 * the scheduler re-read the schedules at once. On SIGTERM or SIGINT it
 * cancels the running jobs (each restarts its database before it ends),
 * waits for them and exits 0.
 *
 * Under systemd (Type=notify, daemon/notify.h) the same thread tells it
 * READY=1 once the database is open and the socket listens, a STATUS=
 * line when what runs changes (looked at every DAEMON_STATUS_MS, so at
 * most that often), WATCHDOG=1 at half of WatchdogSec, and STOPPING=1 on
 * SIGTERM. So the wait for a signal is a sigtimedwait in a loop.
 *
 * The web UI (docs/ui.md) listens on --ui-listen unless --no-ui: plain
 * HTTP on loopback, TLS elsewhere (--ui-cert/--ui-key, or the pair `mfb ui
 * init` made); an address off loopback without a pair is refused. When the
 * default address is taken (another daemon of this machine has it), the
 * daemon runs without the UI and says so; an address given explicitly must
 * work.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "cli/daemon_client.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "daemon/notify.h"
#include "daemon/scheduler.h"
#include "job/orphans.h"
#include "ui/gate.h"
#include "ui/tls_files.h"

#define UI_LISTEN_DEFAULT "127.0.0.1:8470"

static const struct cli_option options[] = {
    {.name = "workers",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "jobs that may run at once (never two of one instance)",
     .def = "2",
     .min = "1",
     .max = CLI_STR(DAEMON_WORKERS_MAX)},
    {.name = "socket",
     .type = CLI_PATH,
     .metavar = "PATH",
     .help = "the control API's UNIX socket",
     .def_doc = "mfb.sock beside the database"},
    {.name = "no-alerts", .type = CLI_FLAG, .help = "do not send alerts for the daemon's jobs"},
    {.name = "max-drills",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "restore drills that may run at once (each runs a throwaway server)",
     .def = "1",
     .min = "1",
     .max = CLI_STR(DAEMON_WORKERS_MAX)},
    {.name = "ui-listen",
     .type = CLI_STRING,
     .metavar = "ADDR:PORT",
     .help = "the web UI's address (TLS unless loopback)",
     .def = UI_LISTEN_DEFAULT},
    {.name = "no-ui", .type = CLI_FLAG, .help = "do not serve the web UI"},
    {.name = "metrics-token-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "bearer token GET /metrics needs on a UI address other than loopback (mode 0600)"},
    {.name = "ui-cert",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "the web UI's TLS certificate (PEM)",
     .def_doc = "ui-cert.pem beside the database, off loopback"},
    {.name = "ui-key",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "the web UI's TLS key (PEM)",
     .def_doc = "ui-key.pem beside the database, off loopback"},
    CLI_OPTIONS_END,
};

static const struct cli_option status_options[] = {
    {.name = "socket",
     .type = CLI_PATH,
     .metavar = "PATH",
     .help = "the control API's UNIX socket",
     .def_doc = "mfb.sock beside the database"},
    {.name = "json", .type = CLI_FLAG, .help = "print the answer as JSON"},
    CLI_OPTIONS_END,
};

static mfb_status settle(struct config_db *db, struct mfb_error *err)
{
    size_t jobs = 0, entries = 0;
    mfb_status st = job_orphans_settle(db, &jobs, err);
    if (st == MFB_OK)
        st = job_queue_settle_running(db, &entries, err);
    if (st == MFB_OK && (jobs > 0 || entries > 0))
        mfb_log(MFB_LOG_WARN, "daemon-settle", "orphan_jobs=%zu interrupted_entries=%zu", jobs,
                entries);
    return st;
}

#define DAEMON_STATUS_MS 1000

/* Waits for SIGTERM or SIGINT (the one it returns), answering SIGHUP and
 * keeping systemd told of what runs meanwhile. */
static int wait_for_stop(struct daemon *d, const sigset_t *set)
{
    uint64_t watchdog_ms = daemon_notify_watchdog_ms();
    uint64_t period = DAEMON_STATUS_MS;
    if (watchdog_ms > 0 && watchdog_ms < period)
        period = watchdog_ms;
    uint64_t next_ping = 0;
    char last[512] = "", status[512];
    for (;;) {
        daemon_notify_status_text(d, status, sizeof(status));
        if (strcmp(status, last) != 0) {
            char line[sizeof(status) + 8];
            snprintf(line, sizeof(line), "STATUS=%s", status);
            daemon_notify(line);
            memcpy(last, status, sizeof(last));
        }
        uint64_t now = clock_now_ms();
        if (watchdog_ms > 0 && now >= next_ping) {
            daemon_notify("WATCHDOG=1");
            next_ping = now + watchdog_ms;
        }
        struct timespec ts = {.tv_sec = (time_t)(period / 1000),
                              .tv_nsec = (long)(period % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGHUP) {
            mfb_log(MFB_LOG_INFO, "daemon-reload", "signal=HUP what=schedules");
            scheduler_reload(d);
        } else if (sig == SIGTERM || sig == SIGINT) {
            return sig;
        } else if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            return SIGTERM; /* cannot wait for signals: stop as asked to */
        }
    }
}

/* What serving the UI holds, released by ui_serve_stop. */
struct ui_serve {
    struct ui ui;
    bool inited;
    struct daemon_http *http;
    char *key_pem, *cert_pem;
    char *metrics_token;
};

static void ui_serve_stop(struct ui_serve *u)
{
    daemon_http_stop(u->http);
    u->http = NULL;
    if (u->inited)
        ui_destroy(&u->ui);
    u->inited = false;
    free(u->key_pem);
    free(u->cert_pem);
    fs_free_secret(u->metrics_token);
}

static mfb_status ui_serve_start(struct cli_args *args, struct daemon *d, struct ui_serve *u,
                                 struct mfb_error *err)
{
    const char *listen = cli_string(args, "ui-listen");
    const char *cert = cli_string(args, "ui-cert"), *key = cli_string(args, "ui-key");
    if ((cert == NULL) != (key == NULL)) {
        mfb_error_set(err, MFB_ERR_USAGE, "--ui-cert and --ui-key go together");
        mfb_error_hint(err, "give both, or neither");
        return MFB_ERR_USAGE;
    }
    bool loopback = false;
    mfb_status st = daemon_http_ui_check(listen, true, &loopback, err);
    if (st != MFB_OK)
        return st;
    char kbuf[4096], cbuf[4096];
    if (cert == NULL && !loopback) {
        st = ui_tls_default_paths(args->db_path, kbuf, cbuf, sizeof(kbuf), err);
        if (st != MFB_OK)
            return st;
        if (access(kbuf, F_OK) != 0 || access(cbuf, F_OK) != 0) {
            mfb_error_set(err, MFB_ERR_USAGE,
                          "the web UI on %s needs TLS, and there is no key and certificate",
                          listen);
            mfb_error_hint(err, "run 'mfb ui init' to make a self-signed pair, pass --ui-cert "
                                "and --ui-key, or listen on 127.0.0.1");
            return MFB_ERR_USAGE;
        }
        key = kbuf, cert = cbuf;
    }
    if (cert != NULL && (st = ui_tls_load(key, cert, &u->key_pem, &u->cert_pem, err)) != MFB_OK)
        return st;
    const char *token_file = cli_string(args, "metrics-token-file");
    if (token_file != NULL && (st = fs_read_secret(token_file, &u->metrics_token, err)) != MFB_OK)
        return st;
    if (u->metrics_token != NULL && u->metrics_token[0] == '\0') {
        mfb_error_set(err, MFB_ERR_INVALID, "the metrics token file '%s' is empty", token_file);
        mfb_error_hint(err, "write a long random token into it, e.g. openssl rand -hex 32");
        return MFB_ERR_INVALID;
    }
    ui_init(&u->ui, d->db, cert != NULL);
    u->ui.loopback = loopback;
    u->ui.metrics_token = u->metrics_token;
    u->inited = true;
    uint16_t port = 0;
    st = daemon_http_start_ui(d, &u->ui, listen, u->key_pem, u->cert_pem, &u->http, &port, err);
    if (st != MFB_OK && !cli_given(args, "ui-listen")) {
        mfb_log(MFB_LOG_WARN, "daemon-ui", "listen=%s error=%s what=running-without-ui", listen,
                err->message);
        memset(err, 0, sizeof(*err));
        return MFB_OK;
    }
    if (st == MFB_OK) {
        int host_len = (int)(strrchr(listen, ':') - listen);
        mfb_log(MFB_LOG_INFO, "daemon-ui", "url=%s://%.*s:%u/ tls=%s", cert ? "https" : "http",
                host_len, listen, (unsigned)port, cert ? "yes" : "no");
    }
    return st;
}

static mfb_status run_daemon(struct cli_args *args, struct mfb_error *err)
{
    uint64_t workers = 2, max_drills = 1;
    char sock[4096];
    mfb_status st = cli_uint(args, "workers", &workers, err);
    if (st == MFB_OK)
        st = cli_uint(args, "max-drills", &max_drills, err);
    if (st == MFB_OK)
        st = daemon_client_socket(args, sock, sizeof(sock), err);
    if (st != MFB_OK)
        return st;
    /* Before any thread exists: every thread inherits the mask, so the
     * signals reach only the sigwait below; a client that hangs up must
     * not kill the daemon. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct config_db *db = NULL;
    struct daemon d = {0};
    struct daemon_http *http = NULL;
    struct ui_serve ui = {0};
    st = config_cli_open(args, false, &db, NULL, err);
    if (st == MFB_OK)
        st = settle(db, err);
    if (st == MFB_OK)
        st = daemon_init(&d, db, (unsigned)workers, err);
    if (st != MFB_OK)
        goto done;
    d.no_alerts = cli_flag(args, "no-alerts");
    d.max_drills = (unsigned)max_drills;
    d.socket_path = sock;
    st = daemon_http_start(&d, sock, &http, err);
    if (st == MFB_OK && !cli_flag(args, "no-ui"))
        st = ui_serve_start(args, &d, &ui, err);
    if (st == MFB_OK)
        st = daemon_start(&d, err);
    if (st != MFB_OK)
        goto done;
    char q[LOG_QUOTE_BUF];
    mfb_log(MFB_LOG_INFO, "daemon-start", "socket=%s workers=%u", log_quote(sock, q, sizeof(q)),
            (unsigned)workers);
    daemon_notify("READY=1");
    int sig = wait_for_stop(&d, &set);
    daemon_notify("STOPPING=1");
    mfb_log(MFB_LOG_INFO, "daemon-stop", "signal=%s running=%u", sig == SIGTERM ? "TERM" : "INT",
            daemon_busy(&d));
    daemon_stop(&d);
    mfb_log(MFB_LOG_INFO, "daemon-stopped", "jobs=ended");
done:
    ui_serve_stop(&ui);
    daemon_http_stop(http);
    daemon_destroy(&d);
    config_db_close(db);
    return st;
}

static mfb_status run_status(struct cli_args *args, struct mfb_error *err)
{
    char sock[4096];
    mfb_status st = daemon_client_socket(args, sock, sizeof(sock), err);
    long status = 0;
    json_t *reply = NULL;
    if (st == MFB_OK)
        st = daemon_client_call(sock, "GET", "/v1/health", NULL, &status, &reply, err);
    if (st == MFB_OK && status != 200)
        st = daemon_client_error(status, reply, err);
    if (st == MFB_OK) {
        if (cli_flag(args, "json")) {
            config_cli_print_json(json_incref(reply), NULL);
        } else {
            printf("daemon on %s: %s, version %s, %" JSON_INTEGER_FORMAT
                   " workers, %" JSON_INTEGER_FORMAT " jobs running\n",
                   sock, json_string_value(json_object_get(reply, "status")),
                   json_string_value(json_object_get(reply, "version")),
                   json_integer_value(json_object_get(reply, "workers")),
                   json_integer_value(json_object_get(reply, "running")));
        }
    }
    json_decref(reply);
    return st;
}

static const struct cli_command daemon_status = {
    .name = "status",
    .summary = "whether a daemon answers, and what it runs",
    .options = status_options,
    .run = run_status,
};

static const struct cli_command *const subcommands[] = {&daemon_status, NULL};

const struct cli_command cmd_daemon = {
    .name = "daemon",
    .usage = "[--workers N] [--max-drills N] [--socket PATH] [--ui-listen ADDR:PORT | --no-ui]",
    .summary = "run the queue and its control API in the foreground",
    .options = options,
    .subcommands = subcommands,
    .run = run_daemon,
};
