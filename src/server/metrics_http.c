/*
 * metrics_http.c - the listener of `mfb-server serve --metrics-listen`
 * (see metrics.h): GET /metrics and nothing else, on its own address.
 *
 * One internal polling thread serves every connection: a scrape comes
 * every few seconds at most and its page is a few kilobytes, so nothing
 * here may hold up the upload API's threads, and nothing does. The token,
 * when there is one, is compared in constant time and never logged.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "metrics/bearer.h"
#include "metrics/metrics.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/server.h"

struct metrics_listener {
    struct MHD_Daemon *mhd;
    struct server *srv;
    char *token; /* secret, or NULL */
};

bool server_metrics_loopback(const char *listen)
{
    struct sockaddr_storage addr;
    unsigned len = 0;
    if (http_parse_listen(listen, &addr, &len, NULL) != MFB_OK)
        return false;
    if (addr.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
}

/* Whether the request may read the page: no token asked (loopback), or
 * the right bearer token. */
static bool authorized(const struct metrics_listener *l, struct MHD_Connection *conn)
{
    return l->token == NULL ||
           metrics_bearer_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
                             l->token);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, size_t len, const char *extra_name,
                             const char *extra_value)
{
    struct MHD_Response *m = body
                                 ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                 : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (m == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (extra_name)
        MHD_add_response_header(m, extra_name, extra_value);
    enum MHD_Result ret = MHD_queue_response(conn, status, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned status, const char *text,
                             const char *extra_name, const char *extra_value)
{
    char *body = strdup(text);
    return reply(conn, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0,
                 extra_name, extra_value);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct metrics_listener *l = cls;
    /* Answer at the headers: no route here takes a body. */
    if (*con_cls == NULL) {
        *con_cls = l;
        if (*upload_data_size == 0)
            return MHD_YES;
    }
    *upload_data_size = 0;
    if (strcmp(url, "/metrics") != 0)
        return plain(conn, 404, "no such path: the metrics are at /metrics\n", NULL, NULL);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return plain(conn, 405, "only GET\n", MHD_HTTP_HEADER_ALLOW, "GET");
    if (!authorized(l, conn))
        return plain(conn, 401, "a bearer token is required\n", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                     "Bearer");
    char *page = NULL;
    size_t len = 0;
    struct mfb_error err = {0};
    if (server_metrics_page(l->srv, &page, &len, &err) != MFB_OK) {
        log_error("metrics-failed", "error=%s", LOG_Q(err.message));
        return plain(conn, 500, "cannot read the metrics; the receiver's log says why\n", NULL,
                     NULL);
    }
    return reply(conn, 200, METRICS_CONTENT_TYPE, page, len, NULL, NULL);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("metrics-http", "message=%s", LOG_Q(msg));
}

mfb_status server_metrics_start(struct server *srv, const struct metrics_listener_options *o,
                                struct metrics_listener **out, struct mfb_error *err)
{
    *out = NULL;
    struct sockaddr_storage addr;
    unsigned addr_len = 0;
    mfb_status st = http_parse_listen(o->listen, &addr, &addr_len, err);
    if (st != MFB_OK)
        return st;
    bool loopback = server_metrics_loopback(o->listen);
    if (!loopback && o->token_file == NULL) {
        mfb_error_set(err, MFB_ERR_USAGE,
                      "--metrics-listen %s is not a loopback address and has no token", o->listen);
        mfb_error_hint(err, "give --metrics-token-file FILE (mode 0600) with the token Prometheus "
                            "sends as its bearer token, or listen on 127.0.0.1");
        return MFB_ERR_USAGE;
    }
    struct metrics_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    l->srv = srv;
    if (o->token_file != NULL) {
        st = fs_read_secret(o->token_file, &l->token, err);
        if (st == MFB_OK && l->token[0] == '\0') {
            st = mfb_error_set(err, MFB_ERR_INVALID, "the metrics token file '%s' is empty",
                               o->token_file);
            mfb_error_hint(err, "write a long random token into it, e.g. openssl rand -hex 32");
        }
        if (st != MFB_OK) {
            server_metrics_stop(l);
            return st;
        }
    }
    bool tls = !loopback && o->cert_pem != NULL && o->key_pem != NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
                     (tls ? MHD_USE_TLS : 0);
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->cert_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    l->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
                         on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)32, MHD_OPTION_ARRAY, tls ? tls_opts : no_opts, MHD_OPTION_END);
    if (l->mhd == NULL) {
        server_metrics_stop(l);
        mfb_error_set(err, MFB_ERR_NETWORK, "cannot serve the metrics on %s", o->listen);
        mfb_error_hint(err, "check that the address is local and the port is free");
        return MFB_ERR_NETWORK;
    }
    log_info("metrics-serving", "listen=%s port=%u tls=%s token=%s", o->listen,
             server_metrics_port(l), tls ? "on" : "off", l->token ? "required" : "none");
    *out = l;
    return MFB_OK;
}

uint16_t server_metrics_port(const struct metrics_listener *l)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void server_metrics_stop(struct metrics_listener *l)
{
    if (l == NULL)
        return;
    if (l->mhd)
        MHD_stop_daemon(l->mhd);
    fs_free_secret(l->token);
    free(l);
}
