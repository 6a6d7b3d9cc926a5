/*
 * srv_serve.c - `mfb-server serve`: runs the receiver until SIGTERM or
 * SIGINT.
 *
 * The main thread only waits for signals and runs housekeeping on a timer
 * (retention, expiry of abandoned uploads); libmicrohttpd's threads serve
 * the requests. Options given here override the settings stored by init for
 * this run only. On a signal the receiver stops accepting, lets requests in
 * progress finish for a few seconds, then closes the rest: a chunk cut off
 * that way is simply not recorded, and the client sends it again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/srv_common.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/threadpool.h"
#include "server/expect.h"
#include "server/http.h"
#include "server/layout.h"
#include "server/metrics.h"
#include "server/retention.h"
#include "server/server.h"
#include "server/storage.h"

static const struct cli_option options[] = {
    {.name = "listen",
     .type = CLI_STRING,
     .metavar = "ADDR:PORT",
     .help = "address to serve on (port 0 picks a free one)",
     .def = SERVER_DEFAULT_LISTEN,
     .def_doc = "the stored setting"},
    {.name = "plaintext",
     .type = CLI_FLAG,
     .help = "serve plain HTTP, without TLS: for tests only"},
    {.name = "idle-timeout",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "close connections idle this long",
     .def = "60s"},
    {.name = "max-connections",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "most connections (and threads) at once",
     .def = "256",
     .min = "1",
     .max = "65536"},
    {.name = "header-limit",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "memory per connection, bounds headers (8K to 16M)",
     .def = "64K"},
    {.name = "layout",
     .type = CLI_STRING,
     .metavar = "PATTERN",
     .help = "directory pattern for this run",
     .def_doc = "init's"},
    {.name = "reserve",
     .type = CLI_STRING,
     .metavar = "SIZE|N%",
     .help = "free space always kept back",
     .def_doc = "init's"},
    {.name = "max-chunk",
     .type = CLI_SIZE,
     .metavar = "SIZE",
     .help = "largest chunk size accepted",
     .def_doc = "init's"},
    {.name = "upload-expiry",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "abandoned uploads go after",
     .def_doc = "init's"},
    {.name = "housekeeping",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "how often retention and upload expiry run",
     .def = "1h"},
    {.name = "sync-interval",
     .type = CLI_DURATION,
     .metavar = "DURATION",
     .help = "on S3: how often to list the bucket for backups other receivers published",
     .def = "60s"},
    {.name = "metrics-listen",
     .type = CLI_STRING,
     .metavar = "ADDR:PORT",
     .help = "also serve Prometheus metrics at /metrics there (docs/monitoring.md)"},
    {.name = "metrics-token-file",
     .type = CLI_PATH,
     .metavar = "FILE",
     .help = "bearer token the metrics require (mode 0600); needed off loopback"},
    {.name = "hash-threads",
     .type = CLI_UINT,
     .metavar = "N",
     .help = "threads hashing out-of-order chunks",
     .def = "2",
     .min = "0",
     .max = "64"},
    CLI_OPTIONS_END,
};

static void housekeeping(struct server *srv)
{
    struct retention_report report;
    struct mfb_error err = {0};
    if (retention_apply(srv->db, srv->store, 0, NULL, false, NULL, NULL, &report, &err) != MFB_OK)
        log_error("retention-failed", "error=%s", LOG_Q(err.message));
    else if (report.deleted > 0)
        log_info("retention", "deleted=%zu bytes=%llu", report.deleted,
                 (unsigned long long)report.bytes);
    size_t expired = 0;
    mfb_error_clear(&err);
    if (server_expire_uploads(srv, (int64_t)time(NULL), &expired, &err) != MFB_OK)
        log_error("upload-expiry-failed", "error=%s", LOG_Q(err.message));
}

/* Applies the run's overrides to the stored settings. */
static mfb_status apply_overrides(struct cli_args *args, struct server_config *cfg,
                                  struct mfb_error *err)
{
    const char *layout = cli_string(args, "layout");
    const char *reserve = cli_string(args, "reserve");
    mfb_status st = MFB_OK;
    if (layout) {
        st = layout_check(layout, err);
        snprintf(cfg->layout, sizeof(cfg->layout), "%s", layout);
    }
    if (st == MFB_OK && reserve)
        st = server_parse_reserve(reserve, &cfg->reserve_bytes, &cfg->reserve_percent, err);
    if (st == MFB_OK)
        st = cli_size(args, "max-chunk", &cfg->max_chunk, err);
    if (st == MFB_OK && !proto_chunk_size_valid(cfg->max_chunk, 1ULL << 30))
        st = mfb_error_set(err, MFB_ERR_USAGE, "--max-chunk must be a power of two from 1M to 1G");
    uint64_t ms;
    if (st == MFB_OK && cli_given(args, "upload-expiry")) {
        st = cli_duration_ms(args, "upload-expiry", &ms, err);
        cfg->upload_expiry_s = ms / 1000;
    }
    return st;
}

static mfb_status run(struct cli_args *args, struct mfb_error *err)
{
    struct server_db *db = NULL;
    struct server srv = {0};
    struct http_server *http = NULL;
    struct metrics_listener *metrics = NULL;
    struct server_expect *expect = NULL;
    char *cert = NULL, *key = NULL, *cert_path = NULL, *key_path = NULL, *listen_setting = NULL;
    bool opened = false;
    uint64_t idle_ms, max_conn, header_limit, housekeeping_ms, hash_threads, sync_ms;
    struct server_config cfg;
    mfb_status st = cli_duration_ms(args, "idle-timeout", &idle_ms, err);
    if (st == MFB_OK)
        st = cli_uint(args, "max-connections", &max_conn, err);
    if (st == MFB_OK)
        st = cli_size(args, "header-limit", &header_limit, err);
    if (st == MFB_OK && (header_limit < 8192 || header_limit > (16u << 20)))
        st = mfb_error_set(err, MFB_ERR_USAGE, "--header-limit must be from 8K to 16M");
    if (st == MFB_OK)
        st = cli_duration_ms(args, "housekeeping", &housekeeping_ms, err);
    if (st == MFB_OK)
        st = cli_duration_ms(args, "sync-interval", &sync_ms, err);
    if (st == MFB_OK)
        st = cli_uint(args, "hash-threads", &hash_threads, err);
    if (st == MFB_OK)
        st = srv_open_db(args, &db, err);
    if (st == MFB_OK)
        st = server_config_load(db, &cfg, err);
    if (st == MFB_OK)
        st = apply_overrides(args, &cfg, err);
    if (st == MFB_OK)
        st = server_db_setting_get(db, SETTING_LISTEN, &listen_setting, err);
    bool plaintext = cli_flag(args, "plaintext");
    if (st == MFB_OK && !plaintext) {
        st = server_db_setting_get(db, SETTING_CERT, &cert_path, err);
        if (st == MFB_OK)
            st = server_db_setting_get(db, SETTING_KEY, &key_path, err);
        if (st == MFB_OK && (cert_path == NULL || key_path == NULL)) {
            st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "the receiver has no TLS certificate");
            mfb_error_hint(err, "run 'mfb-server init' again with a new --db, or give --cert/--key "
                                "at init");
        }
        if (st == MFB_OK)
            st = fs_read_file(cert_path, 1 << 20, &cert, NULL, err);
        if (st == MFB_OK)
            st = fs_read_file(key_path, 1 << 20, &key, NULL, err);
        struct stat ks;
        if (st == MFB_OK && stat(key_path, &ks) == 0 && (ks.st_mode & 0004) != 0)
            log_warn("tls-key",
                     "path=\"%s\" mode=0%o note=readable_by_others hint=\"chmod 600 "
                     "'%s'\"",
                     key_path, (unsigned)(ks.st_mode & 07777), key_path);
    }
    if (st != MFB_OK)
        goto done;

    /* Signals are taken by sigtimedwait below; block them before any thread starts. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    st = storage_check(cfg.storage, err);
    if (st == MFB_OK)
        st = server_open(&srv, db, &cfg, (unsigned)hash_threads, err);
    if (st != MFB_OK)
        goto done;
    opened = true;
    srv.dash.secure = !plaintext; /* the dashboard's cookie */
    const char *listen =
        listen_setting && !cli_given(args, "listen") ? listen_setting : cli_string(args, "listen");
    struct http_options opts = {.listen = listen,
                                .plaintext = plaintext,
                                .cert_pem = cert,
                                .key_pem = key,
                                .idle_timeout_s = (unsigned)((idle_ms + 999) / 1000),
                                .max_connections = (unsigned)max_conn,
                                .memory_limit = (size_t)header_limit};
    st = http_start(&srv, &opts, &http, err);
    const char *metrics_listen = cli_string(args, "metrics-listen");
    char metrics_addr[160];
    if (metrics_listen != NULL && strchr(metrics_listen, ':') == NULL) {
        /* a bare port: loopback, the safe default (docs/monitoring.md) */
        snprintf(metrics_addr, sizeof(metrics_addr), "127.0.0.1:%s", metrics_listen);
        metrics_listen = metrics_addr;
    }
    if (st == MFB_OK && metrics_listen == NULL && cli_given(args, "metrics-token-file")) {
        st = mfb_error_set(err, MFB_ERR_USAGE, "--metrics-token-file needs --metrics-listen");
        mfb_error_hint(err, "give the address to serve the metrics on: --metrics-listen ADDR:PORT");
    }
    if (st == MFB_OK && metrics_listen != NULL) {
        struct metrics_listener_options mo = {.listen = metrics_listen,
                                              .token_file = cli_string(args, "metrics-token-file"),
                                              .cert_pem = cert,
                                              .key_pem = key};
        st = server_metrics_start(&srv, &mo, &metrics, err);
    }
    /* the silence alarms' checker (docs/monitoring.md) */
    if (st == MFB_OK)
        st = server_expect_start(&srv, &expect, err);
    if (st != MFB_OK)
        goto done;
    if (plaintext)
        log_warn("plaintext", "serving plain HTTP without TLS: tokens and data travel in clear; "
                              "use only for tests");
    log_info("serving",
             "listen=%s port=%u tls=%s storage=%s layout=%s max_connections=%llu "
             "idle_timeout_s=%u",
             listen, http_port(http), plaintext ? "off" : "on",
             LOG_Q(cfg.s3 ? cfg.s3cfg.url : cfg.storage), LOG_Q(cfg.layout),
             (unsigned long long)max_conn, opts.idle_timeout_s);
    server_catalog_refresh(&srv, 0);
    housekeeping(&srv);
    uint64_t last = clock_now_ms(), last_sync = last;
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&signals, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            log_info("stopping", "signal=%s", sig == SIGINT ? "INT" : "TERM");
            break;
        }
        uint64_t now = clock_now_ms();
        if (now - last >= housekeeping_ms) {
            server_catalog_refresh(&srv, 0); /* retention sees every receiver's backups */
            housekeeping(&srv);
            last = now;
        }
        if (now - last_sync >= sync_ms) {
            server_catalog_refresh(&srv, 0);
            last_sync = now;
        }
    }
    server_expect_stop(expect);
    expect = NULL;
    server_metrics_stop(metrics);
    metrics = NULL;
    http_stop(http, 5000);
    http = NULL;
    log_info("stopped", "storage=%s", LOG_Q(cfg.s3 ? cfg.s3cfg.url : cfg.storage));
done:
    server_expect_stop(expect);
    server_metrics_stop(metrics);
    http_stop(http, 0);
    if (opened)
        server_close(&srv);
    server_db_close(db);
    free(cert);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(cert_path);
    free(key_path);
    free(listen_setting);
    return st;
}

const struct cli_command srv_serve = {
    .name = "serve",
    .usage = "[--listen ADDR:PORT] [--plaintext] [--metrics-listen ADDR:PORT]",
    .summary = "serve uploads over HTTPS",
    .options = options,
    .max_args = 0,
    .run = run};
