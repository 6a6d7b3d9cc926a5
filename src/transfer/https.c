/*
 * https.c - libcurl requests with pinned or CA-verified TLS, and the retry
 * loop (see https.h).
 *
 * Each request reuses its easy handle, so curl keeps the connection alive
 * between chunks. Request bodies are fed through a read callback, from
 * memory or from the request's body_read source (the uploader preads a
 * chunk from the spool straight into curl's upload buffer, so no chunk is
 * ever held whole in memory); response bodies go to a bounded memory
 * buffer, or to a sink for backup content. The read callback also counts
 * bytes for progress.
 */
#include "transfer/https.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cancel.h"
#include "common/clock.h"
#include "common/curl_init.h"
#include "common/log.h"
#include "common/parse.h"
#include "transfer/fingerprint.h"

#define BODY_LIMIT (16u << 20)      /* largest JSON answer kept in memory */
#define UPLOAD_BUFFER (512u << 10)  /* curl's send buffer: fewer, larger TLS writes */
#define RECEIVE_BUFFER (512u << 10) /* curl's receive buffer */

enum tls_mode { TLS_PIN, TLS_CA, TLS_NONE };

struct transfer_peer {
    char *base_url; /* without a trailing slash */
    char *auth_header;
    enum tls_mode tls;
    uint8_t pin[SHA256_LEN];
    char *ca_file;
    struct transfer_settings settings;
};

struct transfer_conn {
    const struct transfer_peer *client;
    struct cancel_token *cancel;
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    transfer_retry_hook retry_hook;
    void *retry_ctx;
    /* per attempt */
    const struct http_request *req;
    struct http_response *resp;
    size_t body_pos;
    bool sink_started;
    bool sink_failed;
    struct mfb_error sink_err;
    bool source_failed; /* body_read failed: sink_err holds its error */
    bool body_too_large;
    /* set by the pin callback */
    bool pin_checked;
    bool pin_mismatch;
    uint8_t presented[SHA256_LEN];
};

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

mfb_status transfer_peer_create(const struct transfer_target *target,
                                const struct transfer_settings *settings,
                                struct transfer_peer **client, struct mfb_error *err)
{
    *client = NULL;
    mfb_status init = curl_init_once(err);
    if (init != MFB_OK)
        return init;
    const char *url = target->url;
    if (url == NULL || url[0] == '\0') {
        mfb_error_set(err, MFB_ERR_USAGE, "no receiver URL given");
        mfb_error_hint(err, "pass --url https://HOST:PORT");
        return MFB_ERR_USAGE;
    }
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = strncasecmp(url, "http://", 7) == 0;
    if (!https && !http) {
        mfb_error_set(err, MFB_ERR_USAGE, "receiver URL '%s' is not an https:// URL", url);
        mfb_error_hint(err, "pass --url https://HOST:PORT");
        return MFB_ERR_USAGE;
    }
    if (target->fingerprint && target->ca_file) {
        mfb_error_set(err, MFB_ERR_USAGE, "--fingerprint and --ca-file exclude each other");
        mfb_error_hint(err, "pin the certificate or name a CA file, not both");
        return MFB_ERR_USAGE;
    }
    if (http && !target->allow_plaintext) {
        mfb_error_set(err, MFB_ERR_USAGE, "refusing the plaintext URL '%s'", url);
        mfb_error_hint(err, "use https://; plain http exists only for tests, with "
                            "--insecure-plaintext");
        return MFB_ERR_USAGE;
    }
    if (http && (target->fingerprint || target->ca_file)) {
        mfb_error_set(err, MFB_ERR_USAGE, "a plaintext http:// URL has no certificate to verify");
        mfb_error_hint(err, "use an https:// URL with --fingerprint or --ca-file");
        return MFB_ERR_USAGE;
    }
    if (https && !target->fingerprint && !target->ca_file) {
        mfb_error_set(err, MFB_ERR_USAGE, "no way to verify the receiver's certificate");
        mfb_error_hint(err, "pass --fingerprint (printed by 'mfb-server init') or --ca-file");
        return MFB_ERR_USAGE;
    }
    const char *token = target->token;
    if (token == NULL || token[0] == '\0')
        return mfb_error_set(err, MFB_ERR_USAGE, "no token given");
    for (const char *p = token; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            mfb_error_set(err, MFB_ERR_INVALID,
                          "the token contains a character that is not "
                          "printable ASCII");
            mfb_error_hint(err, "the token file must hold the token exactly as "
                                "'mfb-server client add' printed it");
            return MFB_ERR_INVALID;
        }
    }

    struct transfer_peer *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    c->settings = *settings;
    c->tls = http ? TLS_NONE : target->fingerprint ? TLS_PIN : TLS_CA;
    mfb_status st = MFB_OK;
    size_t url_len = strlen(url);
    while (url_len > 0 && url[url_len - 1] == '/')
        url_len--;
    c->base_url = strndup(url, url_len);
    size_t auth_len = strlen(token) + 32;
    c->auth_header = malloc(auth_len);
    if (c->base_url == NULL || c->auth_header == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    snprintf(c->auth_header, auth_len, "Authorization: Bearer %s", token);
    if (c->tls == TLS_PIN) {
        st = fingerprint_parse(target->fingerprint, c->pin, err);
        if (st != MFB_OK)
            goto done;
        const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
        if (info->ssl_version == NULL || strncmp(info->ssl_version, "OpenSSL", 7) != 0) {
            st = mfb_error_set(err, MFB_ERR_UNSUPPORTED,
                               "certificate pinning needs libcurl built with OpenSSL, not %s",
                               info->ssl_version ? info->ssl_version : "no TLS");
            mfb_error_hint(err, "install libcurl4-openssl-dev / libcurl4 (OpenSSL flavour)");
            goto done;
        }
    } else if (c->tls == TLS_CA) {
        c->ca_file = strdup(target->ca_file);
        if (c->ca_file == NULL) {
            st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
    } else {
        log_warn("plaintext", "url=%s note=no_tls_tests_only", c->base_url);
    }
done:
    if (st != MFB_OK) {
        transfer_peer_free(c);
        return st;
    }
    *client = c;
    return MFB_OK;
}

void transfer_peer_free(struct transfer_peer *client)
{
    if (client == NULL)
        return;
    free(client->base_url);
    wipe_free(client->auth_header);
    free(client->ca_file);
    OPENSSL_cleanse(client, sizeof(*client));
    free(client);
}

const struct transfer_settings *transfer_peer_settings(const struct transfer_peer *client)
{
    return &client->settings;
}

/* ---- TLS pinning ------------------------------------------------------- */

/* Replaces OpenSSL's chain verification: the leaf certificate's SHA-256
 * must be the pinned one. */
static int pin_verify(X509_STORE_CTX *store, void *arg)
{
    struct transfer_conn *conn = arg;
    X509 *cert = X509_STORE_CTX_get0_cert(store);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != SHA256_LEN) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    conn->pin_checked = true;
    memcpy(conn->presented, md, SHA256_LEN);
    if (CRYPTO_memcmp(md, conn->client->pin, SHA256_LEN) != 0) {
        conn->pin_mismatch = true;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

static CURLcode ssl_ctx_setup(CURL *curl, void *ssl_ctx, void *arg)
{
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)ssl_ctx, pin_verify, arg);
    return CURLE_OK;
}

/* ---- curl callbacks ---------------------------------------------------- */

static size_t read_body(char *dst, size_t size, size_t nitems, void *arg)
{
    struct transfer_conn *conn = arg;
    const struct http_request *req = conn->req;
    size_t want = size * nitems;
    size_t left = req->body_len - conn->body_pos;
    size_t n = want < left ? want : left;
    if (req->body_read && n > 0) {
        size_t got = 0;
        if (req->body_read(req->body_ctx, conn->body_pos, dst, n, &got, &conn->sink_err) !=
                MFB_OK ||
            got == 0 || got > n) {
            if (conn->sink_err.status == MFB_OK)
                mfb_error_set(&conn->sink_err, MFB_ERR_INTERNAL, "%s: the body ended early",
                              req->what);
            conn->source_failed = true;
            return CURL_READFUNC_ABORT;
        }
        n = got;
    } else
        memcpy(dst, (const char *)req->body + conn->body_pos, n);
    conn->body_pos += n;
    if (req->on_sent)
        req->on_sent(req->sent_ctx, conn->body_pos);
    return n;
}

static int seek_body(void *arg, curl_off_t offset, int origin)
{
    struct transfer_conn *conn = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > conn->req->body_len)
        return CURL_SEEKFUNC_FAIL;
    conn->body_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static bool keep_in_memory(struct http_response *resp, const char *data, size_t len)
{
    if (resp->body_len + len + 1 > resp->body_cap) {
        if (resp->body_len + len + 1 > BODY_LIMIT)
            return false;
        size_t cap = resp->body_cap ? resp->body_cap : 4096;
        while (cap < resp->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(resp->body, cap);
        if (grown == NULL)
            return false;
        resp->body = grown;
        resp->body_cap = cap;
    }
    memcpy(resp->body + resp->body_len, data, len);
    resp->body_len += len;
    resp->body[resp->body_len] = '\0';
    return true;
}

static size_t write_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct transfer_conn *conn = arg;
    const struct http_request *req = conn->req;
    struct http_response *resp = conn->resp;
    size_t len = size * nmemb;
    long status = 0;
    curl_easy_getinfo(conn->curl, CURLINFO_RESPONSE_CODE, &status);
    if (req->sink && status >= 200 && status <= 299) {
        resp->status = status;
        if (!conn->sink_started) {
            conn->sink_started = true;
            if (req->sink_begin &&
                req->sink_begin(req->sink_ctx, resp, &conn->sink_err) != MFB_OK) {
                conn->sink_failed = true;
                return 0;
            }
        }
        if (req->sink(req->sink_ctx, data, len, &conn->sink_err) != MFB_OK) {
            conn->sink_failed = true;
            return 0;
        }
        return len;
    }
    if (!keep_in_memory(resp, data, len)) {
        conn->body_too_large = true;
        return 0;
    }
    return len;
}

static void copy_header_value(char *dst, size_t cap, const char *value, size_t len)
{
    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
        len--;
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    snprintf(dst, cap, "%.*s", (int)len, value);
}

static size_t read_header(char *line, size_t size, size_t nitems, void *arg)
{
    struct transfer_conn *conn = arg;
    struct http_response *resp = conn->resp;
    size_t len = size * nitems;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget older headers. */
        resp->retry_after_ms = 0;
        resp->repr_digest[0] = '\0';
        resp->content_range[0] = '\0';
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return len;
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    char tmp[160];
    if (name_len == 11 && strncasecmp(line, "retry-after", 11) == 0) {
        copy_header_value(tmp, sizeof(tmp), value, value_len);
        resp->retry_after_ms = backoff_parse_retry_after(tmp);
    } else if (name_len == 11 && strncasecmp(line, "repr-digest", 11) == 0) {
        copy_header_value(resp->repr_digest, sizeof(resp->repr_digest), value, value_len);
    } else if (name_len == 13 && strncasecmp(line, "content-range", 13) == 0) {
        copy_header_value(resp->content_range, sizeof(resp->content_range), value, value_len);
    }
    return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct transfer_conn *conn = arg;
    return cancel_token_requested(conn->cancel) ? 1 : 0;
}

/* ---- connections ------------------------------------------------------- */

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(curl, opt, val);                                                 \
    } while (0)

mfb_status transfer_conn_open(const struct transfer_peer *client, struct cancel_token *cancel,
                              struct transfer_conn **out, struct mfb_error *err)
{
    *out = NULL;
    struct transfer_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    conn->client = client;
    conn->cancel = cancel;
    CURL *curl = conn->curl = curl_easy_init();
    if (curl == NULL) {
        free(conn);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot create a libcurl handle");
    }
    const struct transfer_settings *s = &client->settings;
    long stall_s = (long)((s->stall_timeout_ms + 999) / 1000);
    CURLcode rc = CURLE_OK;
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, client->tls == TLS_NONE ? "http" : "https");
    SETOPT(CURLOPT_ERRORBUFFER, conn->errbuf);
    SETOPT(CURLOPT_USERAGENT, "mfb/" MFB_VERSION);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SETOPT(CURLOPT_LOW_SPEED_TIME, stall_s > 0 ? stall_s : 1L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, (long)UPLOAD_BUFFER);
    SETOPT(CURLOPT_BUFFERSIZE, (long)RECEIVE_BUFFER);
    SETOPT(CURLOPT_READFUNCTION, read_body);
    SETOPT(CURLOPT_READDATA, conn);
    SETOPT(CURLOPT_SEEKFUNCTION, seek_body);
    SETOPT(CURLOPT_SEEKDATA, conn);
    SETOPT(CURLOPT_WRITEFUNCTION, write_body);
    SETOPT(CURLOPT_WRITEDATA, conn);
    SETOPT(CURLOPT_HEADERFUNCTION, read_header);
    SETOPT(CURLOPT_HEADERDATA, conn);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(CURLOPT_XFERINFODATA, conn);
    if (client->tls != TLS_NONE)
        SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (client->tls == TLS_PIN) {
        /* curl asks OpenSSL to verify; our callback is the verification. */
        SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
        SETOPT(CURLOPT_CAINFO, NULL);
        SETOPT(CURLOPT_CAPATH, NULL);
        SETOPT(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup);
        SETOPT(CURLOPT_SSL_CTX_DATA, conn);
    } else if (client->tls == TLS_CA) {
        SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
        SETOPT(CURLOPT_CAINFO, client->ca_file);
        SETOPT(CURLOPT_CAPATH, NULL);
    }
    if (rc != CURLE_OK) {
        transfer_conn_close(conn);
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot configure libcurl: %s",
                             curl_easy_strerror(rc));
    }
    *out = conn;
    return MFB_OK;
}

void transfer_conn_close(struct transfer_conn *conn)
{
    if (conn == NULL)
        return;
    curl_easy_cleanup(conn->curl);
    free(conn);
}

void transfer_conn_set_retry_hook(struct transfer_conn *conn, transfer_retry_hook hook, void *ctx)
{
    conn->retry_hook = hook;
    conn->retry_ctx = ctx;
}

void http_response_free(struct http_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

static bool add_header(struct curl_slist **list, const char *fmt, const char *value)
{
    char line[512];
    snprintf(line, sizeof(line), fmt, value);
    struct curl_slist *grown = curl_slist_append(*list, line);
    OPENSSL_cleanse(line, sizeof(line));
    if (grown == NULL)
        return false;
    *list = grown;
    return true;
}

/* Whether a curl failure is worth another attempt. */
static bool curl_code_retryable(CURLcode rc, const char *errbuf)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    case CURLE_SSL_CONNECT_ERROR:
        /* A receiver at its connection limit resets the handshake: retry.
         * Talking TLS to a plain HTTP port will never work: do not. */
        return strstr(errbuf, "wrong version number") == NULL;
    default:
        return false;
    }
}

static mfb_status describe_curl_error(struct transfer_conn *conn, const struct http_request *req,
                                      CURLcode rc, struct mfb_error *err)
{
    const char *detail = conn->errbuf[0] ? conn->errbuf : curl_easy_strerror(rc);
    const char *url = conn->client->base_url;
    if (conn->source_failed)
        return mfb_error_copy(err, &conn->sink_err);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return mfb_error_set(err, MFB_ERR_CANCELLED, "%s: cancelled", req->what);
    if (conn->sink_failed) {
        return mfb_error_copy(err, &conn->sink_err);
    }
    if (conn->body_too_large)
        return mfb_error_set(err, MFB_ERR_PROTOCOL, "%s: the receiver's answer is too large",
                             req->what);
    if (conn->pin_mismatch) {
        char expected[FINGERPRINT_TEXT_LEN], presented[FINGERPRINT_TEXT_LEN];
        fingerprint_format(conn->client->pin, expected);
        fingerprint_format(conn->presented, presented);
        mfb_error_set(err, MFB_ERR_TLS,
                      "%s: the certificate of %s does not match the pinned fingerprint: "
                      "expected %s, presented %s",
                      req->what, url, expected, presented);
        mfb_error_hint(err, "if the receiver's certificate was replaced on purpose, pin the new "
                            "fingerprint ('openssl x509 -noout -fingerprint -sha256 -in "
                            "CERT' on the receiver); otherwise something is intercepting "
                            "the connection");
        return MFB_ERR_TLS;
    }
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
        mfb_error_set(err, MFB_ERR_TLS, "%s: cannot verify the certificate of %s: %s", req->what,
                      url, detail);
        mfb_error_hint(err, "check --ca-file, or pin the receiver's certificate with "
                            "--fingerprint (printed by 'mfb-server init')");
        return MFB_ERR_TLS;
    case CURLE_SSL_CONNECT_ERROR:
        mfb_error_set(err, MFB_ERR_TLS, "%s: TLS handshake with %s failed: %s", req->what, url,
                      detail);
        if (strstr(detail, "wrong version number"))
            mfb_error_hint(err, "the receiver does not speak TLS on that port; check --url");
        else
            mfb_error_hint(err, "check that mfb-server is running at that URL and that nothing "
                                "between (a proxy, a firewall) cuts or rewrites TLS");
        return MFB_ERR_TLS;
    case CURLE_OPERATION_TIMEDOUT:
        mfb_error_set(err, MFB_ERR_TIMEOUT, "%s: %s timed out: %s", req->what, url, detail);
        mfb_error_hint(err, "check the network path to the receiver and that it is not overloaded");
        return MFB_ERR_TIMEOUT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        mfb_error_set(err, MFB_ERR_USAGE, "%s: bad receiver URL '%s': %s", req->what, url, detail);
        mfb_error_hint(err, "pass --url https://HOST:PORT");
        return MFB_ERR_USAGE;
    default:
        mfb_error_set(err, MFB_ERR_NETWORK, "%s: %s: %s", req->what, url, detail);
        mfb_error_hint(err, "check that the receiver is running and reachable at that URL");
        return MFB_ERR_NETWORK;
    }
}

mfb_status transfer_conn_perform(struct transfer_conn *conn, const struct http_request *req,
                                 struct http_response *resp, bool *retryable, struct mfb_error *err)
{
    *retryable = false;
    CURL *curl = conn->curl;
    const struct transfer_peer *client = conn->client;
    conn->req = req;
    conn->resp = resp;
    conn->body_pos = 0;
    conn->sink_started = false;
    conn->sink_failed = false;
    conn->source_failed = false;
    mfb_error_clear(&conn->sink_err);
    conn->body_too_large = false;
    conn->pin_checked = false;
    conn->pin_mismatch = false;
    conn->errbuf[0] = '\0';
    resp->status = 0;
    resp->body_len = 0;
    if (resp->body)
        resp->body[0] = '\0';
    resp->retry_after_ms = 0;
    resp->repr_digest[0] = '\0';
    resp->content_range[0] = '\0';
    if (req->on_sent)
        req->on_sent(req->sent_ctx, 0);

    size_t url_len = strlen(client->base_url) + strlen(req->path) + 1;
    char *url = malloc(url_len);
    struct curl_slist *headers = NULL;
    mfb_status st = MFB_OK;
    if (url == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    snprintf(url, url_len, "%s%s", client->base_url, req->path);
    bool ok = add_header(&headers, "%s", client->auth_header) &&
              add_header(&headers, "%s", "Expect:") &&
              add_header(&headers, "%s", "Accept: application/json");
    if (ok && req->content_type)
        ok = add_header(&headers, "Content-Type: %s", req->content_type);
    if (ok && req->content_digest)
        ok = add_header(&headers, "Content-Digest: %s", req->content_digest);
    if (!ok) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    char range[32];
    snprintf(range, sizeof(range), "%" PRIu64 "-", req->range_start);
    bool get = strcmp(req->method, "GET") == 0;
    CURLcode rc = CURLE_OK;
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_RANGE, req->has_range ? range : NULL);
    if (req->body) {
        SETOPT(CURLOPT_UPLOAD, 1L);
        SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
        SETOPT(CURLOPT_CUSTOMREQUEST, get ? NULL : req->method);
    }
    if (rc == CURLE_OK)
        rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        st = describe_curl_error(conn, req, rc, err);
        *retryable = !conn->pin_mismatch && !conn->sink_failed && !conn->source_failed &&
                     !conn->body_too_large && curl_code_retryable(rc, conn->errbuf);
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
done:
    /* Detach the per-request pointers so nothing dangles between requests. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    conn->req = NULL;
    conn->resp = NULL;
    free_headers(headers);
    free(url);
    return st;
}

mfb_status transfer_http_error(const struct http_request *req, const struct http_response *resp,
                               struct mfb_error *err)
{
    char code[64] = "", message[512] = "";
    json_t *root = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    if (json_is_object(root)) {
        const char *e = json_string_value(json_object_get(root, "error"));
        const char *m = json_string_value(json_object_get(root, "message"));
        snprintf(code, sizeof(code), "%s", e ? e : "");
        snprintf(message, sizeof(message), "%s", m ? m : "");
    }
    json_decref(root);
    mfb_status st;
    long s = resp->status;
    switch (s) {
    case 400:
    case 409:
    case 411:
    case 413:
    case 431:
        st = MFB_ERR_INVALID;
        break;
    case 401:
    case 403:
        st = MFB_ERR_AUTH;
        break;
    case 404:
        st = MFB_ERR_NOT_FOUND;
        break;
    case 408:
        st = MFB_ERR_TIMEOUT;
        break;
    case 422:
        st = MFB_ERR_CORRUPT;
        break;
    case 429:
    case 503:
        st = MFB_ERR_BUSY;
        break;
    case 507:
        st = MFB_ERR_NO_SPACE;
        break;
    default:
        st = MFB_ERR_PROTOCOL;
    }
    if (code[0] && message[0])
        mfb_error_set(err, st, "%s: the receiver answered %ld %s: %s", req->what, s, code, message);
    else if (code[0])
        mfb_error_set(err, st, "%s: the receiver answered %ld %s", req->what, s, code);
    else
        mfb_error_set(err, st, "%s: the receiver answered HTTP %ld", req->what, s);
    switch (s) {
    case 401:
        mfb_error_hint(err, "check the token in --token-file; 'mfb-server client add NAME' on the "
                            "receiver issues one");
        break;
    case 413:
        mfb_error_hint(err, "use a smaller --chunk-size");
        break;
    case 507:
        mfb_error_hint(err, "free space on the receiver or raise this client's quota there");
        break;
    default:
        break;
    }
    return st;
}

static uint64_t elapsed_since(uint64_t start)
{
    return clock_now_ms() - start;
}

mfb_status transfer_conn_call(struct transfer_conn *conn, const struct http_request *req,
                              struct http_response *resp, struct mfb_error *err)
{
    struct backoff b;
    backoff_start(&b, &conn->client->settings.retry, clock_now_ms(), backoff_seed());
    struct mfb_error first = {0};
    for (;;) {
        struct mfb_error attempt = {0};
        bool retryable = false;
        mfb_status st = transfer_conn_perform(conn, req, resp, &retryable, &attempt);
        if (st == MFB_OK) {
            if (resp->status >= 200 && resp->status <= 299)
                return MFB_OK;
            st = transfer_http_error(req, resp, &attempt);
            retryable = backoff_http_retryable(resp->status, req->chunk_put);
        }
        if (!mfb_error_is_set(&first))
            first = attempt;
        uint64_t delay = 0;
        if (!retryable || !backoff_next(&b, clock_now_ms(), resp->retry_after_ms, &delay)) {
            if (retryable && b.attempts > 1) {
                char took[32];
                format_duration_ms(elapsed_since(b.started_ms), took, sizeof(took));
                mfb_error_set(err, first.status, "%s (gave up after %u attempts in %s)",
                              first.message, b.attempts, took);
                mfb_error_hint(err, "%s", first.hint[0] ? first.hint : attempt.hint);
                return first.status;
            }
            return mfb_error_copy(err, &attempt);
        }
        const char *reason = attempt.message;
        log_warn("retry", "what=\"%s\" attempt=%u delay_ms=%" PRIu64 " reason=\"%s\"", req->what,
                 b.attempts - 1, delay, reason);
        if (conn->retry_hook)
            conn->retry_hook(conn->retry_ctx, b.attempts - 1, delay, reason);
        if (!cancel_token_sleep(conn->cancel, delay))
            return mfb_error_set(err, MFB_ERR_CANCELLED, "%s: cancelled", req->what);
    }
}
