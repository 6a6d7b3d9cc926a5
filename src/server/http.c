/*
 * http.c - libmicrohttpd adapter for api.c (see http.h).
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "server/api.h"
#include "server/conn_guard.h"
#include "ui/gate.h"

/* How long past --idle-timeout a connection may go without an
 * authenticated request (conn_guard.h): the idle time between two
 * requests of a kept-alive connection, plus this much to send one. */
#define GUARD_SLACK_MS 10000
/* Once this share (3/4) of --max-connections is open, a connection must
 * send an authenticated request within PRESSURE_DEADLINE_MS of opening or
 * of its last answer (conn_guard.h): a flood of idle connections then
 * frees its slots in seconds rather than at --idle-timeout + 10 s. Ample
 * for a TLS handshake and a request's headers from any client that means
 * to send one. */
#define PRESSURE_SHARE_NUM 3
#define PRESSURE_SHARE_DEN 4
#define PRESSURE_DEADLINE_MS 2000
/* How much of an answer that is read as it is sent (a stored backup) is
 * handed to libmicrohttpd at a time. */
#define PIECE_BYTES (256u * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    struct server *srv;
    atomic_uint active;       /* requests between begin and completion */
    struct conn_guard *guard; /* NULL without an idle timeout */
    bool tls;                 /* answers leave through TLS records */
};

/* One request: what api.c sees of it, plus timing for the log. */
struct http_request {
    struct http_server *http;
    struct MHD_Connection *conn;
    struct api_request req;
    struct api_call *call;
    uint64_t start_ms; /* clock_now_ms() when the request began */
    char method[16];
    char url[256];
};

static struct conn_guard_entry *guard_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* Connections enter the guard when accepted and leave it before their
 * socket is closed (libmicrohttpd notifies first). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *h = cls;
    if (h->guard == NULL)
        return;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info ? conn_guard_add(h->guard, info->connect_fd) : NULL;
    } else {
        conn_guard_remove(h->guard, *socket_context);
        *socket_context = NULL;
    }
}

static const char *lookup_header(void *ctx, const char *name)
{
    struct http_request *r = ctx;
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct header_counter {
    const char *name;
    unsigned count;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    (void)value;
    struct header_counter *hc = cls;
    if (key != NULL && strcasecmp(key, hc->name) == 0)
        hc->count++;
    return MHD_YES;
}

static unsigned count_headers(void *ctx, const char *name)
{
    struct http_request *r = ctx;
    struct header_counter hc = {name, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    return hc.count;
}

static const char *lookup_query(void *ctx, const char *name)
{
    struct http_request *r = ctx;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* libmicrohttpd's reader for an answer with a read function; cls is a copy
 * of the answer's reader, freed with it. */
struct piece_reader {
    long (*read)(void *ctx, uint64_t off, char *buf, size_t len);
    void (*close)(void *ctx);
    void *ctx;
    uint64_t offset;
};

static ssize_t read_piece(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct piece_reader *p = cls;
    long n = p->read(p->ctx, p->offset + pos, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

/* A local file read at each piece's offset, for answers sent under TLS. */
static long read_file_piece(void *ctx, uint64_t off, char *buf, size_t len)
{
    int fd = (int)(intptr_t)ctx;
    ssize_t n;
    do
        n = pread(fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return (long)n;
}

static void close_file_piece(void *ctx)
{
    close((int)(intptr_t)ctx);
}

static void free_piece_reader(void *cls)
{
    struct piece_reader *p = cls;
    if (p->close)
        p->close(p->ctx);
    free(p);
}

static enum MHD_Result send_answer(struct http_request *r)
{
    struct api_response resp;
    api_finish(r->call, &resp);
    /* Counted before the answer leaves, so a scrape that follows an answer
     * sees it (server/metrics.h). */
    struct api_call_info info;
    api_call_describe(r->call, &info);
    server_metrics_count(&r->http->srv->counters, resp.status, info.bytes_in);
    if (resp.fd >= 0 && r->http->tls) {
        /* Under TLS libmicrohttpd reads a file answer 4 KiB at a time and
         * sends each read as a TLS record of its own: a download of 1 GB
         * cost the client 256,000 writes and 512,000 receives. Read as
         * pieces instead, the records are full (16 KiB). */
        resp.read = read_file_piece;
        resp.read_close = close_file_piece;
        resp.read_ctx = (void *)(intptr_t)resp.fd;
        resp.fd = -1;
    }
    struct MHD_Response *m;
    if (resp.read != NULL) {
        /* A stored backup that is not a local file: read as it is sent. */
        struct piece_reader *p = malloc(sizeof(*p));
        m = NULL;
        if (p != NULL) {
            *p = (struct piece_reader){resp.read, resp.read_close, resp.read_ctx, resp.offset};
            m = MHD_create_response_from_callback(resp.length, PIECE_BYTES, read_piece, p,
                                                  free_piece_reader);
        }
        if (m == NULL) {
            if (p == NULL && resp.read_close)
                resp.read_close(resp.read_ctx);
            free(p); /* free_piece_reader was not registered */
        }
    } else if (resp.fd >= 0) {
        /* Plain HTTP: libmicrohttpd sends the file with sendfile(2) and
         * closes fd afterwards. */
        m = MHD_create_response_from_fd_at_offset64(resp.length, resp.fd, resp.offset);
        if (m == NULL)
            close(resp.fd);
    } else if (resp.body != NULL) {
        m = MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE);
        if (m == NULL)
            free(resp.body);
    } else {
        m = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (m == NULL)
        return MHD_NO;
    if (resp.content_type && resp.status != 204)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
    if (resp.content_range[0])
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_RANGE, resp.content_range);
    if (resp.repr_digest[0])
        MHD_add_response_header(m, "Repr-Digest", resp.repr_digest);
    if (resp.accept_ranges)
        MHD_add_response_header(m, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (resp.allow)
        MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, resp.allow);
    if (resp.retry_after) {
        char v[16];
        snprintf(v, sizeof(v), "%u", resp.retry_after);
        MHD_add_response_header(m, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (resp.page) {
        /* The dashboard's answers (api_dashboard.c): the client UI's
         * security headers, strict CSP among them (ui/gate.h). */
        for (const char *const *hdr = ui_security_headers; *hdr; hdr += 2)
            MHD_add_response_header(m, hdr[0], hdr[1]);
        MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL,
                                resp.cacheable ? "no-cache" : "no-store");
    }
    if (resp.location)
        MHD_add_response_header(m, MHD_HTTP_HEADER_LOCATION, resp.location);
    if (resp.set_cookie[0])
        MHD_add_response_header(m, MHD_HTTP_HEADER_SET_COOKIE, resp.set_cookie);
    enum MHD_Result ret = MHD_queue_response(r->conn, resp.status, m);
    MHD_destroy_response(m);
    return ret;
}

/* libmicrohttpd's access handler: called once with the headers, once per
 * piece of body, and once more at the end of the body. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *h = cls;
    struct http_request *r = *con_cls;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        atomic_fetch_add(&h->active, 1);
        r->http = h;
        r->conn = conn;
        r->start_ms = clock_now_ms();
        snprintf(r->method, sizeof(r->method), "%s", method);
        snprintf(r->url, sizeof(r->url), "%s", url);
        r->req = (struct api_request){.method = method,
                                      .url = url,
                                      .header = lookup_header,
                                      .query = lookup_query,
                                      .ctx = r,
                                      .header_count = count_headers};
        bool decided;
        r->call = api_begin(h->srv, &r->req, &decided);
        struct api_call_info info;
        api_call_describe(r->call, &info);
        if ((info.authed || info.operator_session) && h->guard)
            conn_guard_clock(h->guard, guard_entry(conn), false);
        return decided ? send_answer(r) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        bool keep = api_body(r->call, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    return send_answer(r);
}

/* libmicrohttpd's URL decoding, except that a path or query value holding
 * %00 is left as sent: decoded, its NUL would cut the string, and
 * "/v1/uploads/ID%00/chunks/3" would name the upload itself (a DELETE
 * would drop all of it). Left encoded, it names nothing. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    if (strstr(s, "%00") != NULL)
        return strlen(s);
    return MHD_http_unescape(s);
}

static const char *termination_name(enum MHD_RequestTerminationCode code)
{
    switch (code) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    }
    return "unknown";
}

/* The method as logged: one a route may allow, else "other" (a client may
 * send anything there, a token included). */
static const char *log_method(const char *method)
{
    static const char *const known[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                        "PATCH", "OPTIONS", "TRACE", "CONNECT"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "other";
}

/* The path as logged: bytes outside printable ASCII (libmicrohttpd has
 * decoded %0A and the like), quotes, backslashes and '%' as %XX, so one
 * request is one line; in a path that names no resource, runs of 16 or
 * more hex digits are cut, so a token sent in the URL is never logged.
 * (A resource's path holds only fixed words, an id and an index.) */
static void log_path(const char *url, bool routed, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)url; *p && o + 12 < size;) {
        size_t run = 0;
        while (!routed && isxdigit(p[run]))
            run++;
        if (run >= 16) {
            o += (size_t)snprintf(out + o, size - o, "<%zu-hex>", run);
            p += run;
        } else if (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%') {
            out[o++] = (char)*p++;
        } else {
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p++);
        }
    }
    out[o] = '\0';
}

/* Writes the request's log line (never a header value: the token is one)
 * and releases it. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct http_server *h = cls;
    struct http_request *r = *con_cls;
    if (r == NULL)
        return;
    long long ms = (long long)(clock_now_ms() - r->start_ms);
    struct api_call_info info;
    api_call_describe(r->call, &info);
    enum mfb_log_level level = code != MHD_REQUEST_TERMINATED_COMPLETED_OK || info.status >= 500
                                   ? MFB_LOG_WARN
                                   : MFB_LOG_INFO;
    char path[sizeof(r->url) * 3], index[24] = "-";
    log_path(r->url, info.routed, path, sizeof(path));
    if (info.has_index)
        snprintf(index, sizeof(index), "%llu", (unsigned long long)info.index);
    mfb_log(level, "request",
            "client=%s method=%s path=%s status=%u %s=%s index=%s bytes=%llu ms=%lld end=%s%s%s",
            info.client, log_method(r->method), path, info.status, info.id_kind, info.id, index,
            (unsigned long long)info.bytes_in, ms, termination_name(code),
            info.error ? " error=" : "", info.error ? info.error : "");
    api_call_free(r->call);
    free(r);
    *con_cls = NULL;
    if (h->guard)
        conn_guard_clock(h->guard, guard_entry(conn), true);
    atomic_fetch_sub(&h->active, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    for (size_t i = 0; i < len; i++) /* one message, one line */
        if ((unsigned char)msg[i] < 0x20 || msg[i] == '"' || msg[i] == 0x7f)
            msg[i] = '?';
    log_warn("http", "message=\"%s\"", msg);
}

mfb_status http_parse_listen(const char *listen, void *storage, unsigned *len,
                             struct mfb_error *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof(host))
        goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port > 65535)
        goto bad;
    memset(storage, 0, sizeof(struct sockaddr_storage));
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']')
            goto bad;
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = storage;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto bad;
        *len = sizeof(*a6);
        return MFB_OK;
    }
    struct sockaddr_in *a4 = storage;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        goto bad;
    *len = sizeof(*a4);
    return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid listen address '%s'", listen);
    mfb_error_hint(err, "write ADDR:PORT, e.g. 127.0.0.1:8443, 0.0.0.0:8443 or [::1]:8443");
    return MFB_ERR_USAGE;
}

mfb_status http_start(struct server *srv, const struct http_options *o, struct http_server **out,
                      struct mfb_error *err)
{
    *out = NULL;
    struct sockaddr_storage addr;
    unsigned addr_len;
    mfb_status st = http_parse_listen(o->listen, &addr, &addr_len, err);
    if (st != MFB_OK)
        return st;
    struct http_server *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    h->srv = srv;
    h->tls = !o->plaintext;
    atomic_init(&h->active, 0);
    if (o->idle_timeout_s > 0) {
        st = conn_guard_start(o->idle_timeout_s * 1000u + GUARD_SLACK_MS, &h->guard, err);
        if (st != MFB_OK) {
            free(h);
            return st;
        }
        unsigned at =
            (unsigned)((uint64_t)o->max_connections * PRESSURE_SHARE_NUM / PRESSURE_SHARE_DEN);
        conn_guard_set_pressure(h->guard, at > 0 ? at : 1, PRESSURE_DEADLINE_MS);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (!o->plaintext)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->cert_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        o->memory_limit, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20), MHD_OPTION_ARRAY,
        o->plaintext ? no_opts : tls_opts, MHD_OPTION_END);
    if (h->daemon == NULL) {
        conn_guard_stop(h->guard);
        free(h);
        mfb_error_set(err, MFB_ERR_NETWORK, "cannot serve on %s", o->listen);
        mfb_error_hint(err, "check that the address is local and the port is free (and the TLS "
                            "key and certificate are valid)");
        return MFB_ERR_NETWORK;
    }
    *out = h;
    return MFB_OK;
}

uint16_t http_port(const struct http_server *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void http_stop(struct http_server *h, unsigned grace_ms)
{
    if (h == NULL)
        return;
    MHD_socket listener = MHD_quiesce_daemon(h->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    for (unsigned waited = 0; waited < grace_ms && atomic_load(&h->active) > 0; waited += 50)
        usleep(50 * 1000);
    MHD_stop_daemon(h->daemon);
    conn_guard_stop(h->guard);
    free(h);
}
