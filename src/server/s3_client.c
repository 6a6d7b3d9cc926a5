/*
 * s3_client.c - S3 requests over libcurl, signed with SigV4 (see
 * s3_client.h).
 *
 * One easy handle per request: the driver makes one request per chunk
 * (at least 5 MiB) or per publish, so a handshake per request costs little
 * next to the bytes, and no handle is shared between connection threads.
 *
 * The signature is computed here (s3_sign) rather than by libcurl's
 * CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian 12) orders the signed headers by
 * their whole "name:value" line instead of by name, so a header whose name
 * extends another's is signed out of order and S3 answers 403
 * SignatureDoesNotMatch; the multipart copy needs exactly such a pair
 * (x-amz-copy-source and x-amz-copy-source-range).
 */
#include "server/s3_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/digest.h"

#define S3_TEXT_MAX (4u << 20)

bool s3_encode(const char *text, bool slash, char *out, size_t out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
                    (slash && *p == '/');
        if (n + (keep ? 1 : 3) >= out_len)
            return false;
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return true;
}

/* Decodes the five XML entities and numeric references (ASCII and UTF-8). */
static void xml_unescape(const char *in, size_t len, char *out, size_t out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < out_len;) {
        if (in[i] != '&') {
            out[n++] = in[i++];
            continue;
        }
        static const struct {
            const char *name;
            char c;
        } ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (size_t e = 0; e < 5 && !done; e++) {
            size_t el = strlen(ents[e].name);
            if (i + el <= len && strncmp(in + i, ents[e].name, el) == 0) {
                out[n++] = ents[e].c;
                i += el;
                done = true;
            }
        }
        if (!done && i + 2 < len && in[i + 1] == '#') {
            char *end = NULL;
            unsigned long cp =
                in[i + 2] == 'x' ? strtoul(in + i + 3, &end, 16) : strtoul(in + i + 2, &end, 10);
            if (end && *end == ';' && cp > 0 && cp < 0x110000) {
                if (cp < 0x80) {
                    out[n++] = (char)cp;
                } else if (cp < 0x800) {
                    out[n++] = (char)(0xC0 | (cp >> 6));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    out[n++] = (char)(0xE0 | (cp >> 12));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    out[n++] = (char)(0xF0 | (cp >> 18));
                    out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    out[n++] = (char)(0x80 | (cp & 0x3F));
                }
                i = (size_t)(end - in) + 1;
                done = true;
            }
        }
        if (!done)
            out[n++] = in[i++];
    }
    out[n] = '\0';
}

bool s3_xml_next(const char *xml, const char *tag, size_t *pos, char *out, size_t out_len)
{
    char open[80], close[80];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(xml + *pos, open);
    if (a == NULL)
        return false;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (b == NULL)
        return false;
    xml_unescape(a, (size_t)(b - a), out, out_len);
    *pos = (size_t)(b - xml) + strlen(close);
    return true;
}

/* Reads a one-line secret from a file that only its owner may read. */
static mfb_status read_secret(const char *path, const char *what, char *out, size_t len,
                              struct mfb_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the %s file '%s'", what, path);
    if (sb.st_mode & 077) {
        mfb_error_set(err, MFB_ERR_PERMISSION, "the %s file '%s' may be read by others", what,
                      path);
        mfb_error_hint(err, "chmod 600 '%s'", path);
        return MFB_ERR_PERMISSION;
    }
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return mfb_error_errno(err, errno, MFB_ERR_IO, "cannot read the %s file '%s'", what, path);
    char *line = fgets(out, (int)len, f);
    fclose(f);
    if (line == NULL)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (out[0] == '\0')
        return mfb_error_set(err, MFB_ERR_INVALID, "the %s file '%s' is empty", what, path);
    return MFB_OK;
}

mfb_status s3_client_init(struct s3_client *s3, const char *url, const char *endpoint,
                          const char *region, const char *key_file, const char *secret_file,
                          const char *ca_file, bool path_style, struct mfb_error *err)
{
    memset(s3, 0, sizeof(*s3));
    if (strncmp(url, "s3://", 5) != 0 || url[5] == '\0' || url[5] == '/') {
        mfb_error_set(err, MFB_ERR_USAGE, "'%s' is not an s3://BUCKET/PREFIX address", url);
        return MFB_ERR_USAGE;
    }
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen >= sizeof(s3->bucket))
        return mfb_error_set(err, MFB_ERR_USAGE, "the bucket name in '%s' is too long", url);
    memcpy(s3->bucket, b, blen);
    const char *p = slash ? slash + 1 : "";
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen + 2 > sizeof(s3->prefix))
        return mfb_error_set(err, MFB_ERR_USAGE, "the prefix in '%s' is too long", url);
    if (plen > 0)
        snprintf(s3->prefix, sizeof(s3->prefix), "%.*s/", (int)plen, p);
    if (endpoint == NULL ||
        (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)) {
        mfb_error_set(err, MFB_ERR_USAGE, "--s3-endpoint must be an http:// or https:// URL");
        return MFB_ERR_USAGE;
    }
    snprintf(s3->endpoint, sizeof(s3->endpoint), "%s", endpoint);
    size_t elen = strlen(s3->endpoint);
    while (elen > 0 && s3->endpoint[elen - 1] == '/')
        s3->endpoint[--elen] = '\0';
    snprintf(s3->region, sizeof(s3->region), "%s", region && region[0] ? region : "us-east-1");
    snprintf(s3->ca_file, sizeof(s3->ca_file), "%s", ca_file ? ca_file : "");
    s3->path_style = path_style;
    mfb_status st = read_secret(key_file, "S3 access key", s3->key, sizeof(s3->key), err);
    if (st == MFB_OK)
        st = read_secret(secret_file, "S3 secret key", s3->secret, sizeof(s3->secret), err);
    return st;
}

struct transfer {
    const struct s3_body *body;
    size_t sent;
    struct s3_answer *ans;
    bool overflow;
    size_t text_cap;
};

static size_t on_read(char *buf, size_t size, size_t n, void *userp)
{
    struct transfer *t = userp;
    size_t want = size * n, left = t->body->len - t->sent;
    if (want > left)
        want = left;
    if (want == 0)
        return 0;
    if (t->body->fd >= 0) {
        ssize_t got = pread(t->body->fd, buf, want, (off_t)(t->body->off + t->sent));
        if (got <= 0)
            return CURL_READFUNC_ABORT;
        want = (size_t)got;
    } else {
        memcpy(buf, t->body->data + t->sent, want);
    }
    t->sent += want;
    return want;
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
    struct transfer *t = userp;
    struct s3_answer *a = t->ans;
    size_t len = size * n;
    if (a->buf != NULL) {
        if (a->len + len > a->buf_cap) {
            t->overflow = true;
            return 0;
        }
        memcpy(a->buf + a->len, data, len);
        a->len += len;
        return len;
    }
    if (a->len + len + 1 > t->text_cap) {
        size_t cap = t->text_cap ? t->text_cap : 8192;
        while (cap < a->len + len + 1)
            cap *= 2;
        if (cap > S3_TEXT_MAX) {
            t->overflow = true;
            return 0;
        }
        char *bigger = realloc(a->text, cap);
        if (bigger == NULL)
            return 0;
        a->text = bigger;
        t->text_cap = cap;
    }
    memcpy(a->text + a->len, data, len);
    a->len += len;
    a->text[a->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct transfer *t = userp;
    size_t len = size * n;
    if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        const char *v = data + 5;
        while (*v == ' ')
            v++;
        size_t vl = len - (size_t)(v - data);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof(t->ans->etag)) {
            memcpy(t->ans->etag, v, vl);
            t->ans->etag[vl] = '\0';
        }
    }
    return len;
}

static void hmac256(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

struct canon_header {
    char name[64];
    const char *value;
};

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const struct canon_header *)a)->name, ((const struct canon_header *)b)->name);
}

bool s3_sign(const struct s3_client *s3, const char *method, const char *host, const char *path,
             const char *query, const char *const *headers, const char *payload_hex,
             const char *amz_date, char *auth, size_t auth_len)
{
    enum { MAX_HEADERS = 16 };
    struct canon_header h[MAX_HEADERS + 3];
    size_t n = 0;
    snprintf(h[n].name, sizeof(h[n].name), "host");
    h[n++].value = host;
    snprintf(h[n].name, sizeof(h[n].name), "x-amz-content-sha256");
    h[n++].value = payload_hex;
    snprintf(h[n].name, sizeof(h[n].name), "x-amz-date");
    h[n++].value = amz_date;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        const char *colon = strchr(headers[i], ':');
        size_t nl = colon ? (size_t)(colon - headers[i]) : 0;
        if (n == MAX_HEADERS + 3 || nl == 0 || nl >= sizeof(h[n].name))
            return false;
        for (size_t k = 0; k < nl; k++)
            h[n].name[k] = (char)tolower((unsigned char)headers[i][k]);
        h[n].name[nl] = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        h[n++].value = v;
    }
    /* By name alone (what SigV4 asks): "x-amz-copy-source" before
     * "x-amz-copy-source-range". The values are ours: no runs of blanks to
     * fold, no trailing blanks. */
    qsort(h, n, sizeof(h[0]), cmp_header);
    /* every name is shorter than a canon_header's name field: all of them,
     * joined by ';', fit */
    char signed_names[(MAX_HEADERS + 3) * sizeof(h[0].name)];
    size_t names_len = 0;
    size_t canon_len = strlen(method) + strlen(path) + (query ? strlen(query) : 0) + 256;
    for (size_t i = 0; i < n; i++)
        canon_len += strlen(h[i].name) + strlen(h[i].value) + 3;
    char *canon = malloc(canon_len);
    if (canon == NULL)
        return false;
    int len = snprintf(canon, canon_len, "%s\n%s\n%s\n", method, path, query ? query : "");
    for (size_t i = 0; i < n; i++) {
        len += snprintf(canon + len, canon_len - (size_t)len, "%s:%s\n", h[i].name, h[i].value);
        size_t name_len = strlen(h[i].name);
        if (i > 0)
            signed_names[names_len++] = ';';
        memcpy(signed_names + names_len, h[i].name, name_len);
        names_len += name_len;
    }
    signed_names[names_len] = '\0';
    snprintf(canon + len, canon_len - (size_t)len, "\n%s\n%s", signed_names, payload_hex);
    uint8_t d[SHA256_LEN];
    char canon_hex[SHA256_HEX_LEN + 1], day[9], scope[160], to_sign[512], sig_hex[65];
    sha256_buffer(canon, strlen(canon), d);
    free(canon);
    digest_to_hex(d, canon_hex);
    snprintf(day, sizeof(day), "%.8s", amz_date);
    snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", day, s3->region);
    snprintf(to_sign, sizeof(to_sign), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, canon_hex);
    char first[8 + sizeof(s3->secret)];
    unsigned char k1[32], k2[32], sig[32];
    snprintf(first, sizeof(first), "AWS4%s", s3->secret);
    hmac256(first, strlen(first), day, k1);
    explicit_bzero(first, sizeof(first));
    hmac256(k1, 32, s3->region, k2);
    hmac256(k2, 32, "s3", k1);
    hmac256(k1, 32, "aws4_request", k2);
    hmac256(k2, 32, to_sign, sig);
    explicit_bzero(k1, sizeof(k1));
    explicit_bzero(k2, sizeof(k2));
    for (size_t i = 0; i < 32; i++)
        snprintf(sig_hex + 2 * i, 3, "%02x", sig[i]);
    return snprintf(auth, auth_len,
                    "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                    "Signature=%s",
                    s3->key, scope, signed_names, sig_hex) < (int)auth_len;
}

/* The request's URL: the endpoint, the bucket (in the path or the host
 * name), the encoded key and the query. */
static bool build_url(const struct s3_client *s3, const char *key, const char *query, char *url,
                      size_t len)
{
    const char *host = strstr(s3->endpoint, "://") + 3;
    int n;
    if (s3->path_style)
        n = snprintf(url, len, "%s/%s/", s3->endpoint, s3->bucket);
    else
        n = snprintf(url, len, "%.*s%s.%s/", (int)(host - s3->endpoint), s3->endpoint, s3->bucket,
                     host);
    if (n < 0 || (size_t)n >= len)
        return false;
    if (key != NULL) {
        char full[4096];
        if (snprintf(full, sizeof(full), "%s%s", s3->prefix, key) >= (int)sizeof(full) ||
            !s3_encode(full, true, url, len))
            return false;
    }
    if (query != NULL && query[0]) {
        size_t ul = strlen(url);
        if (snprintf(url + ul, len - ul, "?%s", query) >= (int)(len - ul))
            return false;
    }
    return true;
}

static mfb_status answer_status(const struct s3_answer *a, const char *method, const char *what,
                                struct mfb_error *err)
{
    if (a->status >= 200 && a->status < 300)
        return MFB_OK;
    char code[128] = "";
    size_t pos = 0;
    if (a->text != NULL)
        s3_xml_next(a->text, "Code", &pos, code, sizeof(code));
    mfb_status st = a->status == 404   ? MFB_ERR_NOT_FOUND
                    : a->status == 403 ? MFB_ERR_AUTH
                    : a->status == 412 ? MFB_ERR_EXISTS
                    : a->status >= 500 ? MFB_ERR_NETWORK
                                       : MFB_ERR_PROTOCOL;
    mfb_error_set(err, st, "S3 answered %s %s with %ld%s%s", method, what, a->status,
                  code[0] ? " " : "", code);
    if (st == MFB_ERR_AUTH)
        mfb_error_hint(err, "check the access key, the secret and the bucket's permissions");
    return st;
}

mfb_status s3_request(const struct s3_client *s3, const char *method, const char *key,
                      const char *query, const char *const *headers, const struct s3_body *body,
                      struct s3_answer *ans, struct mfb_error *err)
{
    char url[8192], what[4200], sha_hdr[128], host[1100], date_hdr[64], amz_date[20], auth[1400];
    if (!build_url(s3, key, query, url, sizeof(url)))
        return mfb_error_set(err, MFB_ERR_INVALID, "the S3 key '%s' is too long", key ? key : "");
    /* The URL's host and path, as sent (CURLOPT_PATH_AS_IS) and signed. */
    const char *hstart = strstr(url, "://") + 3, *pstart = strchr(hstart, '/');
    char *path = strndup(pstart, strcspn(pstart, "?"));
    if (path == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
    snprintf(host, sizeof(host), "Host: %.*s", (int)(pstart - hstart), hstart);
    snprintf(what, sizeof(what), "'%s%s'", s3->prefix, key ? key : "");
    ans->status = 0;
    ans->len = 0;
    ans->etag[0] = '\0';
    char hex[SHA256_HEX_LEN + 1];
    const char *payload = hex;
    if (body != NULL && body->sha256_hex != NULL) {
        payload = body->sha256_hex;
    } else {
        uint8_t d[SHA256_LEN];
        sha256_buffer(body ? body->data : "", body ? body->len : 0, d);
        digest_to_hex(d, hex);
    }
    snprintf(sha_hdr, sizeof(sha_hdr), "x-amz-content-sha256: %s", payload);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(date_hdr, sizeof(date_hdr), "x-amz-date: %s", amz_date);
    bool signed_ok =
        s3_sign(s3, method, host + 6, path, query, headers, payload, amz_date, auth, sizeof(auth));
    free(path);
    if (!signed_ok)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "cannot sign the S3 request %s %s", method,
                             what);
    CURL *h = curl_easy_init();
    if (h == NULL)
        return mfb_error_set(err, MFB_ERR_NO_MEMORY, "cannot start an S3 request");
    struct curl_slist *hl = curl_slist_append(NULL, sha_hdr);
    hl = curl_slist_append(hl, host);
    hl = curl_slist_append(hl, date_hdr);
    hl = curl_slist_append(hl, auth);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    explicit_bzero(auth, sizeof(auth));
    struct transfer t = {.body = body, .ans = ans};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    /* A stalled S3 fails the request (503 to the client) instead of
     * holding a connection thread for ever. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    if (s3->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, s3->ca_file);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &t);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(body ? body->len : 0));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body->data : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body->len : 0));
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    static const struct s3_body none = {.fd = -1};
    if (t.body == NULL)
        t.body = &none;
    CURLcode rc = curl_easy_perform(h);
    mfb_status st = MFB_OK;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.overflow)) {
        st = mfb_error_set(err, MFB_ERR_NETWORK, "S3 request %s %s failed: %s", method, what,
                           curl_easy_strerror(rc));
        mfb_error_hint(err, "check that the S3 endpoint %s is up and reachable", s3->endpoint);
    } else if (t.overflow) {
        st = mfb_error_set(err, MFB_ERR_PROTOCOL, "S3 answered %s %s with more than expected",
                           method, what);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ans->status);
        curl_off_t cl = -1;
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        ans->content_length = cl > 0 ? (uint64_t)cl : 0;
        st = answer_status(ans, method, what, err);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return st;
}
