/*
 * session.c - the web UI's session table, CSRF tokens and failed-login
 * slowing (see session.h).
 */
#include "ui/session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

static bool random_hex(char *out)
{
    unsigned char raw[UI_TOKEN_HEX / 2];
    static const char digits[] = "0123456789abcdef";
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return false;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[UI_TOKEN_HEX] = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return true;
}

static bool valid_token(const char *t)
{
    if (t == NULL || strlen(t) != UI_TOKEN_HEX)
        return false;
    for (size_t i = 0; i < UI_TOKEN_HEX; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

void ui_sessions_init(struct ui_sessions *s, int64_t idle_ms)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->idle_ms = idle_ms > 0 ? idle_ms : UI_SESSION_IDLE_MS;
}

void ui_sessions_destroy(struct ui_sessions *s)
{
    OPENSSL_cleanse(s->slot, sizeof(s->slot));
    pthread_mutex_destroy(&s->lock);
}

/* The live session with id, under the lock; expired ones are cleared. */
static struct ui_session *find(struct ui_sessions *s, const char *id, int64_t now_ms)
{
    if (!valid_token(id))
        return NULL;
    for (size_t i = 0; i < UI_SESSIONS_MAX; i++) {
        struct ui_session *x = &s->slot[i];
        if (!x->used)
            continue;
        if (now_ms - x->last_ms > s->idle_ms) {
            memset(x, 0, sizeof(*x));
            continue;
        }
        if (CRYPTO_memcmp(x->id, id, UI_TOKEN_HEX) == 0)
            return x;
    }
    return NULL;
}

mfb_status ui_session_create(struct ui_sessions *s, int64_t now_ms, char *id, char *csrf,
                             struct mfb_error *err)
{
    pthread_mutex_lock(&s->lock);
    struct ui_session *pick = NULL;
    for (size_t i = 0; i < UI_SESSIONS_MAX; i++) {
        struct ui_session *x = &s->slot[i];
        if (x->used && now_ms - x->last_ms > s->idle_ms)
            memset(x, 0, sizeof(*x));
        if (!x->used) {
            pick = x;
            break;
        }
        if (pick == NULL || x->last_ms < pick->last_ms)
            pick = x; /* the least recently used, if none is free */
    }
    memset(pick, 0, sizeof(*pick));
    bool ok = random_hex(pick->id) && random_hex(pick->csrf);
    if (ok) {
        pick->used = true;
        pick->last_ms = now_ms;
        memcpy(id, pick->id, UI_TOKEN_BUF);
        memcpy(csrf, pick->csrf, UI_TOKEN_BUF);
    } else {
        memset(pick, 0, sizeof(*pick));
    }
    pthread_mutex_unlock(&s->lock);
    return ok ? MFB_OK : mfb_error_set(err, MFB_ERR_INTERNAL, "cannot draw a random session id");
}

bool ui_session_check(struct ui_sessions *s, const char *id, int64_t now_ms, char *csrf)
{
    pthread_mutex_lock(&s->lock);
    struct ui_session *x = find(s, id, now_ms);
    if (x != NULL) {
        x->last_ms = now_ms;
        if (csrf != NULL)
            memcpy(csrf, x->csrf, UI_TOKEN_BUF);
    }
    pthread_mutex_unlock(&s->lock);
    return x != NULL;
}

bool ui_session_csrf_ok(struct ui_sessions *s, const char *id, const char *token, int64_t now_ms)
{
    if (!valid_token(token))
        return false;
    pthread_mutex_lock(&s->lock);
    struct ui_session *x = find(s, id, now_ms);
    bool ok = x != NULL && CRYPTO_memcmp(x->csrf, token, UI_TOKEN_HEX) == 0;
    if (ok)
        x->last_ms = now_ms;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void ui_session_end(struct ui_sessions *s, const char *id)
{
    if (!valid_token(id))
        return;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < UI_SESSIONS_MAX; i++)
        if (s->slot[i].used && CRYPTO_memcmp(s->slot[i].id, id, UI_TOKEN_HEX) == 0)
            OPENSSL_cleanse(&s->slot[i], sizeof(s->slot[i]));
    pthread_mutex_unlock(&s->lock);
}

int64_t ui_login_wait_ms(struct ui_sessions *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    int64_t wait = s->locked_until_ms > now_ms ? s->locked_until_ms - now_ms : 0;
    pthread_mutex_unlock(&s->lock);
    return wait;
}

void ui_login_failed(struct ui_sessions *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->lock);
    if (s->failures < 64)
        s->failures++;
    if (s->failures >= UI_LOGIN_FREE_FAILURES) {
        unsigned shift = s->failures - UI_LOGIN_FREE_FAILURES;
        int64_t wait = shift >= 6 ? UI_LOGIN_MAX_WAIT_MS : (int64_t)1000 << shift;
        if (wait > UI_LOGIN_MAX_WAIT_MS)
            wait = UI_LOGIN_MAX_WAIT_MS;
        s->locked_until_ms = now_ms + wait;
    }
    pthread_mutex_unlock(&s->lock);
}

void ui_login_succeeded(struct ui_sessions *s)
{
    pthread_mutex_lock(&s->lock);
    s->failures = 0;
    s->locked_until_ms = 0;
    pthread_mutex_unlock(&s->lock);
}

bool ui_cookie_value(const char *cookie_header, const char *name, char *id)
{
    const size_t name_len = strlen(name);
    for (const char *p = cookie_header; p != NULL && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == name_len + 1 + UI_TOKEN_HEX && strncmp(p, name, name_len) == 0 &&
            p[name_len] == '=') {
            memcpy(id, p + name_len + 1, UI_TOKEN_HEX);
            id[UI_TOKEN_HEX] = '\0';
            if (valid_token(id))
                return true;
        }
        p = end;
    }
    return false;
}

bool ui_cookie_session(const char *cookie_header, char *id)
{
    return ui_cookie_value(cookie_header, UI_COOKIE_NAME, id);
}
