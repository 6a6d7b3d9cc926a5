/*
 * http.c - libmicrohttpd as a thin adapter for the daemon's control API
 * (see http.h and api.h), on a UNIX socket made here and handed to it
 * with MHD_OPTION_LISTEN_SOCKET, and for the web UI on a TCP address,
 * with TLS off loopback (docs/ui.md), where the UI's gate (ui/gate.h)
 * checks the session first and passes API paths to the same handlers.
 *
 * A thread per connection: the handlers only read and write a few rows
 * of the configuration database and copy a job's progress under a lock,
 * but the event stream (GET /v1/events) waits for events, and its content
 * reader may only block in this mode (libmicrohttpd forbids a reader that
 * has nothing yet in its internal polling mode: that would spin). The
 * event hub bounds the streams (EVENT_SUBSCRIBERS_MAX, 503 beyond), and
 * MHD_OPTION_CONNECTION_LIMIT the connections in all.
 *
 * A stream's reader sends one event per call, waiting for it up to the
 * keepalive interval; when none came it sends the SSE comment
 * ": keepalive", which also lets a dead client be noticed. At stop the
 * hub is closed first, so every waiting reader ends its stream and
 * libmicrohttpd can join the connections' threads.
 */
#include "daemon/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/api.h"
#include "daemon/events.h"
#include "server/http.h"
#include "ui/gate.h"

#define HTTP_CONNECTIONS_MAX 64

struct daemon_http {
    struct MHD_Daemon *mhd;
    struct daemon *d;
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct ui *ui; /* the UI listener's gate; NULL on the UNIX socket */
};

static void add_ui_headers(const struct daemon_http *h, struct MHD_Response *m, bool no_store)
{
    if (h->ui == NULL)
        return;
    for (const char *const *p = ui_security_headers; *p; p += 2)
        MHD_add_response_header(m, p[0], p[1]);
    MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, no_store ? "no-store" : "no-cache");
}

/* How often a quiet stream looks whether its client hung up. */
#define SSE_HANGUP_POLL_MS 1000

/* One event stream: its subscriber and the text being sent. */
struct sse_stream {
    struct daemon *d;
    struct event_sub *sub;
    int fd; /* the connection's socket, -1 unknown */
    char *text;
    size_t len, off;
};

/* Whether the client of a stream hung up. A client sends nothing after
 * its request, so only a write would tell, and a quiet stream writes
 * only every EVENT_KEEPALIVE_MS: without this look, a client that left
 * would hold its place in the event hub's bound that long. */
static bool sse_hung_up(const struct sse_stream *s)
{
    if (s->fd < 0)
        return false;
    struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct sse_stream *s = cls;
    while (s->off == s->len) {
        free(s->text);
        s->text = NULL;
        s->len = s->off = 0;
        struct event ev;
        enum event_take r = EVENT_NONE;
        for (uint64_t quiet = 0; quiet < EVENT_KEEPALIVE_MS && r == EVENT_NONE;
             quiet += SSE_HANGUP_POLL_MS) {
            r = event_sub_wait(s->sub, SSE_HANGUP_POLL_MS, &ev);
            if (r == EVENT_NONE && sse_hung_up(s))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (r == EVENT_CLOSED)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (r == EVENT_NONE) {
            s->text = strdup(": keepalive\n\n");
        } else {
            s->text = daemon_api_event_text(s->d, &ev);
            free(ev.data);
        }
        if (s->text == NULL)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        s->len = strlen(s->text);
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->text + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse_stream *s = cls;
    event_hub_unsubscribe(s->sub);
    free(s->text);
    free(s);
}

static enum MHD_Result send_stream(struct daemon_http *h, struct MHD_Connection *conn,
                                   struct event_sub *sub)
{
    struct sse_stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *m = NULL;
    if (s != NULL) {
        s->d = h->d;
        s->sub = sub;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s->fd = ci ? ci->connect_fd : -1;
        m = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    }
    if (m == NULL) {
        event_hub_unsubscribe(sub);
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    add_ui_headers(h, m, true);
    if (h->ui == NULL)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    /* a quiet stream is not an idle connection: keepalives pace it */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)0);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result send_answer(struct daemon_http *h, struct MHD_Connection *conn,
                                   struct daemon_api_call *call)
{
    struct daemon_api_response resp;
    daemon_api_finish(call, &resp);
    if (resp.events != NULL)
        return send_stream(h, conn, resp.events);
    struct MHD_Response *m =
        resp.body ? MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE)
                  : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (m == NULL) {
        free(resp.body);
        return MHD_NO;
    }
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp.content_type ? resp.content_type : "application/json");
    add_ui_headers(h, m, true);
    if (resp.allow)
        MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, resp.allow);
    enum MHD_Result ret = MHD_queue_response(conn, resp.status, m);
    MHD_destroy_response(m);
    return ret;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    /* Re-encoded so that the API parses one form, whatever the client sent. */
    static const char hex[] = "0123456789ABCDEF";
    char **q = cls;
    size_t n = strlen(*q), kn = strlen(key), vn = value ? strlen(value) : 0;
    char *r = realloc(*q, n + 2 + 3 * (kn + vn) + 1);
    if (r == NULL)
        return MHD_NO;
    char *o = r + n;
    *o++ = n > 0 ? '&' : '?';
    for (int part = 0; part < 2; part++) {
        const char *s = part ? value : key;
        if (part) {
            if (s == NULL)
                break;
            *o++ = '=';
        }
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~') {
                *o++ = (char)c;
            } else {
                *o++ = '%';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            }
        }
    }
    *o = '\0';
    *q = r;
    return MHD_YES;
}

/* url with its query string ("?a=1&b=2", re-encoded), allocated; NULL when
 * there is none. libmicrohttpd hands the path and the arguments apart. */
static char *with_query(struct MHD_Connection *conn, const char *url)
{
    char *q = calloc(1, 1);
    if (q == NULL)
        return NULL;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    char *full = NULL;
    if (q[0] != '\0' && (full = malloc(strlen(url) + strlen(q) + 1)) != NULL)
        strcat(strcpy(full, url), q);
    free(q);
    return full;
}

/* libmicrohttpd's access handler: once with the headers, once per piece
 * of body, once more at its end. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct daemon_http *h = cls;
    struct daemon_api_call *call = *con_cls;
    if (call == NULL) {
        bool decided = false;
        char *full = with_query(conn, url);
        call = daemon_api_begin(h->d, method, full ? full : url, &decided);
        free(full);
        *con_cls = call;
        return decided ? send_answer(h, conn, call) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        bool keep = daemon_api_body(call, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    return send_answer(h, conn, call);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    daemon_api_call_free(*con_cls);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    char q[LOG_QUOTE_BUF];
    mfb_log(MFB_LOG_WARN, "daemon-http", "message=%s", log_quote(msg, q, sizeof(q)));
}

/* Whether a daemon answers on the socket at path. */
static bool someone_listens(const struct sockaddr_un *addr)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool yes = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
    close(fd);
    return yes;
}

static mfb_status listen_on(const char *path, int *out, struct mfb_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        mfb_error_set(err, MFB_ERR_USAGE, "socket path '%s' is too long", path);
        mfb_error_hint(err, "a UNIX socket path has at most %zu bytes: pass a shorter --socket",
                       sizeof(addr.sun_path) - 1);
        return MFB_ERR_USAGE;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode)) {
            mfb_error_set(err, MFB_ERR_EXISTS, "'%s' exists and is not a socket", path);
            mfb_error_hint(err, "remove it, or pass another --socket");
            return MFB_ERR_EXISTS;
        }
        if (someone_listens(&addr)) {
            mfb_error_set(err, MFB_ERR_BUSY, "a daemon already answers on '%s'", path);
            mfb_error_hint(err, "'mfb daemon status' shows it; stop it before starting another");
            return MFB_ERR_BUSY;
        }
        unlink(path); /* left by a daemon that died */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot make a socket");
    /* The mode is the access control: no moment may the socket be open to
     * others, so the umask makes it 0600 at bind (the threads that could
     * create files are not started yet), and chmod says it again. */
    mode_t old = umask(0177);
    int rc = bind(fd, (const struct sockaddr *)&addr, sizeof(addr));
    int e = errno;
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 64) != 0) {
        if (rc == 0)
            e = errno;
        close(fd);
        if (rc == 0)
            unlink(path);
        return mfb_error_errno(err, e, MFB_ERR_IO, "cannot listen on '%s'", path);
    }
    *out = fd;
    return MFB_OK;
}

mfb_status daemon_http_start(struct daemon *d, const char *path, struct daemon_http **out,
                             struct mfb_error *err)
{
    *out = NULL;
    struct daemon_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    h->d = d;
    h->fd = -1;
    snprintf(h->path, sizeof(h->path), "%s", path);
    mfb_status st = listen_on(path, &h->fd, err);
    if (st != MFB_OK) {
        free(h);
        return st;
    }
    h->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | MHD_USE_ITC,
        0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_END);
    if (h->mhd == NULL) {
        close(h->fd);
        unlink(path);
        free(h);
        mfb_error_set(err, MFB_ERR_INTERNAL, "cannot start the control API on '%s'", path);
        return MFB_ERR_INTERNAL;
    }
    *out = h;
    return MFB_OK;
}

void daemon_http_stop(struct daemon_http *h)
{
    if (h == NULL)
        return;
    /* the streams' readers end, so their threads can be joined */
    if (h->d->events)
        event_hub_close(h->d->events);
    MHD_stop_daemon(h->mhd);
    if (h->fd >= 0) {
        close(h->fd);
        unlink(h->path);
    }
    free(h);
}

/* ---- the web UI's listener (docs/ui.md) ---- */

/* What a UI connection's request holds: the gate's request while it reads
 * a login body, else the API's own per-request state. */
struct ui_conn {
    bool gated; /* the gate answers this one (login) */
    struct ui_request req;
    char *method, *path, *content_type;
    char *body;
    size_t len;
    bool too_large;
    void *api_cls; /* on_request's *con_cls when passed to the API */
};

static enum MHD_Result send_ui_answer(struct daemon_http *h, struct MHD_Connection *conn,
                                      struct ui_answer *a)
{
    struct MHD_Response *m =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_MUST_COPY);
    if (m == NULL)
        return MHD_NO;
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    add_ui_headers(h, m, !a->cacheable);
    if (a->set_cookie[0])
        MHD_add_response_header(m, MHD_HTTP_HEADER_SET_COOKIE, a->set_cookie);
    if (a->location)
        MHD_add_response_header(m, MHD_HTTP_HEADER_LOCATION, a->location);
    if (a->retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%u", a->retry_after_s);
        MHD_add_response_header(m, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    enum MHD_Result ret = MHD_queue_response(conn, a->status, m);
    MHD_destroy_response(m);
    return ret;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static enum MHD_Result on_ui_request(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    struct daemon_http *h = cls;
    struct ui_conn *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof(*u));
        if (u == NULL)
            return MHD_NO;
        *con_cls = u;
        struct ui_request req = {
            .method = method,
            .path = url,
            .cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
            .csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token"),
            .content_type =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
            .authorization =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        };
        struct ui_answer a;
        enum ui_verdict v = ui_begin(h->ui, &req, &a);
        if (v == UI_ANSWER) {
            u->gated = true;
            enum MHD_Result ret = send_ui_answer(h, conn, &a);
            ui_answer_free(&a);
            return ret;
        }
        if (v == UI_NEEDS_BODY) {
            u->gated = true;
            u->method = dup_or_null(method);
            u->path = dup_or_null(url);
            u->content_type = dup_or_null(req.content_type);
            u->req = (struct ui_request){
                .method = u->method, .path = u->path, .content_type = u->content_type};
            return MHD_YES;
        }
    }
    if (!u->gated)
        return on_request(cls, conn, url, method, version, upload_data, upload_data_size,
                          &u->api_cls);
    if (u->method == NULL) {
        *upload_data_size = 0; /* answered at the headers; the body is not read */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!u->too_large && u->len + *upload_data_size <= UI_LOGIN_BODY_MAX) {
            char *n = realloc(u->body, u->len + *upload_data_size + 1);
            if (n == NULL)
                return MHD_NO;
            memcpy(n + u->len, upload_data, *upload_data_size);
            u->body = n;
            u->len += *upload_data_size;
            u->body[u->len] = '\0';
        } else {
            u->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct ui_answer a;
    ui_finish(h->ui, &u->req, u->too_large ? NULL : u->body, u->len, &a);
    enum MHD_Result ret = send_ui_answer(h, conn, &a);
    ui_answer_free(&a);
    free(u->method);
    u->method = NULL;
    return ret;
}

static void on_ui_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode code)
{
    struct ui_conn *u = *con_cls;
    if (u == NULL)
        return;
    if (!u->gated)
        on_completed(cls, conn, &u->api_cls, code);
    free(u->method);
    free(u->path);
    free(u->content_type);
    if (u->body)
        memset(u->body, 0, u->len); /* a password */
    free(u->body);
    free(u);
    *con_cls = NULL;
}

/* Whether a parsed address is a loopback one (127/8 or ::1). */
static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

mfb_status daemon_http_ui_check(const char *listen, bool tls, bool *loopback, struct mfb_error *err)
{
    struct sockaddr_storage ss;
    unsigned len = sizeof(ss);
    mfb_status st = http_parse_listen(listen, &ss, &len, err);
    if (st != MFB_OK)
        return st;
    *loopback = is_loopback(&ss);
    if (!*loopback && !tls) {
        mfb_error_set(err, MFB_ERR_USAGE, "the web UI may use plain HTTP only on loopback, not %s",
                      listen);
        mfb_error_hint(err, "pass --ui-cert and --ui-key (or make a pair with 'mfb ui init'), "
                            "or listen on 127.0.0.1");
        return MFB_ERR_USAGE;
    }
    return MFB_OK;
}

mfb_status daemon_http_start_ui(struct daemon *d, struct ui *ui, const char *listen,
                                const char *key_pem, const char *cert_pem, struct daemon_http **out,
                                uint16_t *port, struct mfb_error *err)
{
    *out = NULL;
    bool loopback = false;
    mfb_status st = daemon_http_ui_check(listen, key_pem != NULL, &loopback, err);
    if (st != MFB_OK)
        return st;
    struct sockaddr_storage ss;
    unsigned len = sizeof(ss);
    http_parse_listen(listen, &ss, &len, err);
    struct daemon_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    h->d = d;
    h->fd = -1;
    h->ui = ui;
    /* a thread per connection, as on the socket: the event stream blocks */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (key_pem != NULL)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_opts[] = {{MHD_OPTION_END, 0, NULL}};
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_ui_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                              on_mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_NOTIFY_COMPLETED, on_ui_completed, h,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
                              MHD_OPTION_ARRAY, key_pem ? tls_opts : no_opts, MHD_OPTION_END);
    if (h->mhd == NULL) {
        free(h);
        mfb_error_set(err, MFB_ERR_NETWORK, "cannot serve the web UI on %s", listen);
        mfb_error_hint(err, "check that the address is this machine's and the port is free "
                            "(--ui-listen), or pass --no-ui");
        return MFB_ERR_NETWORK;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    *out = h;
    return MFB_OK;
}
