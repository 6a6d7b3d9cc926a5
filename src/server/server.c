/*
 * server.c - opening a receiver, its settings, expiry of abandoned uploads
 * (see server.h).
 */
#include "server/server.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "server/catalog.h"
#include "server/layout.h"
#include "server/storage.h"

mfb_status server_parse_reserve(const char *text, uint64_t *bytes, unsigned *percent,
                                struct mfb_error *err)
{
    *bytes = 0;
    *percent = 0;
    size_t len = strlen(text);
    if (len > 1 && text[len - 1] == '%') {
        char num[32];
        if (len - 1 >= sizeof(num))
            goto bad;
        memcpy(num, text, len - 1);
        num[len - 1] = '\0';
        uint64_t p;
        if (parse_uint(num, 0, 90, &p, NULL) != MFB_OK)
            goto bad;
        *percent = (unsigned)p;
        return MFB_OK;
    }
    if (parse_size(text, bytes, NULL) == MFB_OK)
        return MFB_OK;
bad:
    mfb_error_set(err, MFB_ERR_USAGE, "invalid reserve '%s'", text);
    mfb_error_hint(err, "give a size (1G, 500M, 0) or a percentage from 0%% to 90%% (5%%)");
    return MFB_ERR_USAGE;
}

/* The S3 settings; cfg->storage becomes the local staging directory. */
static mfb_status load_s3(struct server_db *db, struct server_config *cfg, struct mfb_error *err)
{
    struct storage_s3_config *s3 = &cfg->s3cfg;
    cfg->s3 = true;
    if (snprintf(s3->url, sizeof(s3->url), "%s", cfg->storage) >= (int)sizeof(s3->url))
        return mfb_error_set(err, MFB_ERR_INVALID, "the storage address is too long");
    const struct {
        const char *key;
        char *out;
        size_t len;
    } fields[] = {
        {SETTING_STAGING, cfg->storage, sizeof(cfg->storage)},
        {SETTING_S3_ENDPOINT, s3->endpoint, sizeof(s3->endpoint)},
        {SETTING_S3_REGION, s3->region, sizeof(s3->region)},
        {SETTING_S3_KEY_FILE, s3->key_file, sizeof(s3->key_file)},
        {SETTING_S3_SECRET_FILE, s3->secret_file, sizeof(s3->secret_file)},
        {SETTING_S3_CA_FILE, s3->ca_file, sizeof(s3->ca_file)},
    };
    cfg->storage[0] = '\0';
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char *v = NULL;
        mfb_status st = server_db_setting_get(db, fields[i].key, &v, err);
        if (st != MFB_OK)
            return st;
        if (snprintf(fields[i].out, fields[i].len, "%s", v ? v : "") >= (int)fields[i].len)
            st = mfb_error_set(err, MFB_ERR_INVALID, "the setting '%s' is too long", fields[i].key);
        free(v);
        if (st != MFB_OK)
            return st;
    }
    char *v = NULL;
    mfb_status st = server_db_setting_get(db, SETTING_S3_PATH_STYLE, &v, err);
    s3->path_style = v != NULL && strcmp(v, "1") == 0;
    free(v);
    if (st == MFB_OK && (cfg->storage[0] == '\0' || s3->endpoint[0] == '\0')) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "the receiver's S3 settings are incomplete");
        mfb_error_hint(err, "the catalog was not made by 'mfb-server init --storage s3://...'");
        st = MFB_ERR_NOT_FOUND;
    }
    return st;
}

mfb_status server_config_load(struct server_db *db, struct server_config *cfg,
                              struct mfb_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    char *v = NULL;
    mfb_status st = server_db_setting_get(db, SETTING_STORAGE, &v, err);
    if (st != MFB_OK)
        return st;
    if (v == NULL) {
        mfb_error_set(err, MFB_ERR_NOT_FOUND, "the receiver has no storage directory");
        mfb_error_hint(err, "run 'mfb-server init --storage DIR' first");
        return MFB_ERR_NOT_FOUND;
    }
    snprintf(cfg->storage, sizeof(cfg->storage), "%s", v);
    free(v);
    if (strncmp(cfg->storage, "s3://", 5) == 0) {
        st = load_s3(db, cfg, err);
        if (st != MFB_OK)
            return st;
    }
    st = server_db_setting_get(db, SETTING_LAYOUT, &v, err);
    if (st != MFB_OK)
        return st;
    snprintf(cfg->layout, sizeof(cfg->layout), "%s", v ? v : LAYOUT_DEFAULT);
    free(v);
    cfg->max_chunk = PROTO_CHUNK_DEFAULT_MAX;
    st = server_db_setting_get(db, SETTING_MAX_CHUNK, &v, err);
    if (st == MFB_OK && v)
        st = parse_size(v, &cfg->max_chunk, err);
    free(v);
    v = NULL;
    if (st == MFB_OK)
        st = server_db_setting_get(db, SETTING_RESERVE, &v, err);
    if (st == MFB_OK)
        st = server_parse_reserve(v ? v : SERVER_DEFAULT_RESERVE, &cfg->reserve_bytes,
                                  &cfg->reserve_percent, err);
    free(v);
    v = NULL;
    cfg->upload_expiry_s = SERVER_DEFAULT_EXPIRY_S;
    if (st == MFB_OK)
        st = server_db_setting_get(db, SETTING_UPLOAD_EXPIRY, &v, err);
    if (st == MFB_OK && v) {
        uint64_t ms;
        st = parse_duration_ms(v, &ms, err);
        cfg->upload_expiry_s = ms / 1000;
    }
    free(v);
    return st;
}

mfb_status server_open(struct server *srv, struct server_db *db, const struct server_config *cfg,
                       unsigned hash_threads, struct mfb_error *err)
{
    memset(srv, 0, sizeof(*srv));
    pthread_mutex_init(&srv->sync_lock, NULL);
    dashboard_init(&srv->dash);
    srv->db = db;
    srv->cfg = *cfg;
    mfb_status st = layout_check(cfg->layout, err);
    if (st == MFB_OK)
        st = storage_init(cfg->storage, err);
    struct storage_config scfg = {.root = cfg->storage, .s3 = cfg->s3 ? &srv->cfg.s3cfg : NULL};
    if (st == MFB_OK)
        st = storage_open(&scfg, &srv->store, err);
    if (st == MFB_OK && hash_threads > 0)
        st = threadpool_create(hash_threads, 4096, &srv->hashers, err);
    if (st == MFB_OK)
        st = session_registry_create(srv->hashers, &srv->sessions, err);
    if (st != MFB_OK)
        server_close(srv);
    return st;
}

void server_close(struct server *srv)
{
    threadpool_destroy(srv->hashers); /* lets queued catch-ups finish first */
    srv->hashers = NULL;
    session_registry_destroy(srv->sessions);
    srv->sessions = NULL;
    storage_close(srv->store);
    srv->store = NULL;
    pthread_mutex_destroy(&srv->sync_lock);
    dashboard_destroy(&srv->dash);
}

mfb_status server_expire_uploads(struct server *srv, int64_t now, size_t *expired,
                                 struct mfb_error *err)
{
    *expired = 0;
    char(*ids)[SRV_ID_BUF] = NULL;
    size_t count = 0;
    int64_t cutoff = now - (int64_t)srv->cfg.upload_expiry_s;
    mfb_status st = server_db_uploads_stale(srv->db, cutoff, &ids, &count, err);
    for (size_t i = 0; i < count && st == MFB_OK; i++) {
        struct srv_upload u;
        if (server_db_upload_get(srv->db, ids[i], 0, &u, NULL) != MFB_OK)
            continue;
        if (u.updated >= cutoff) { /* touched since the list was read */
            server_db_upload_free(&u);
            continue;
        }
        bool busy = false;
        struct session *s = NULL;
        if (!u.complete && srv->sessions) {
            char path[PATH_MAX];
            storage_partial_path(srv->cfg.storage, u.id, path, sizeof(path));
            if (session_get(srv->sessions, srv->db, &u, path, &s, NULL) == MFB_OK)
                busy = !session_close_begin(s);
        }
        if (!busy) {
            st = server_db_upload_delete(srv->db, u.id, err);
            if (st != MFB_OK && s != NULL)
                session_close_abort(s);
            if (st == MFB_OK) {
                /* Also for a completed upload: what a crash in the middle
                 * of its publish left behind (an S3 temporary object). */
                storage_upload_abort(srv->store, u.id);
                if (srv->sessions)
                    session_forget(srv->sessions, u.id);
                log_info("upload-expired", "upload=%s instance=%s name=%s complete=%d", u.id,
                         LOG_Q(u.instance), LOG_Q(u.name), u.complete);
                (*expired)++;
            }
        }
        session_put(s);
        server_db_upload_free(&u);
    }
    free(ids);
    return st;
}

void server_catalog_refresh(struct server *srv, int64_t min_interval_ms)
{
    if (srv->store == NULL || !storage_shared(srv->store))
        return;
    uint64_t asked = clock_now_ms();
    pthread_mutex_lock(&srv->sync_lock);
    /* A sync that started after this call was made has seen all it would. */
    if (srv->synced_at_ms == 0 || srv->synced_at_ms < asked - (uint64_t)min_interval_ms ||
        (min_interval_ms == 0 && srv->synced_at_ms < asked)) {
        struct catalog_report r;
        struct mfb_error err = {0};
        srv->synced_at_ms = clock_now_ms();
        int64_t now = (int64_t)time(NULL);
        if (catalog_sync(srv->db, srv->store, now, &r, &err) != MFB_OK)
            log_warn("catalog-sync-failed", "error=%s", LOG_Q(err.message));
        else if (r.added || r.removed)
            log_info("catalog-sync", "listed=%zu added=%zu removed=%zu skipped=%zu", r.listed,
                     r.added, r.removed, r.skipped);
    }
    pthread_mutex_unlock(&srv->sync_lock);
}

mfb_status server_new_id(char prefix, char *buf, struct mfb_error *err)
{
    unsigned char raw[PROTO_ID_HEX / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return mfb_error_set(err, MFB_ERR_INTERNAL, "the random number generator failed");
    buf[0] = prefix;
    buf[1] = '_';
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(buf + 2 + 2 * i, 3, "%02x", raw[i]);
    return MFB_OK;
}

void server_format_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
