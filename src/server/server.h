/*
 * server.h - one receiver: its catalog, its storage settings, the live
 * upload sessions and the hasher threads. The HTTP layer (http.c) and the
 * fuzzer both drive it through api.h; the CLI opens and closes it.
 */
#ifndef MFB_SERVER_SERVER_H
#define MFB_SERVER_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "common/threadpool.h"
#include "server/dashboard.h"
#include "server/metrics.h"
#include "server/session.h"
#include "server/storage.h"
#include "store/server_db.h"

/* Keys of the receiver's settings in the catalog. */
#define SETTING_STORAGE "storage"
#define SETTING_LAYOUT "layout"
#define SETTING_CERT "cert"
#define SETTING_KEY "key"
#define SETTING_LISTEN "listen"
#define SETTING_MAX_CHUNK "max_chunk"
#define SETTING_RESERVE "reserve"
#define SETTING_UPLOAD_EXPIRY "upload_expiry"
/* With storage "s3://BUCKET/PREFIX": the S3 driver's settings and the local
 * staging directory (the key and secret stay in their files). */
#define SETTING_STAGING "staging"
#define SETTING_S3_ENDPOINT "s3_endpoint"
#define SETTING_S3_REGION "s3_region"
#define SETTING_S3_KEY_FILE "s3_key_file"
#define SETTING_S3_SECRET_FILE "s3_secret_file"
#define SETTING_S3_CA_FILE "s3_ca_file"
#define SETTING_S3_PATH_STYLE "s3_path_style"

#define SERVER_DEFAULT_LISTEN "127.0.0.1:8443"
#define SERVER_DEFAULT_RESERVE "1G"
#define SERVER_DEFAULT_EXPIRY_S (7 * 86400)

struct server_config {
    char storage[PATH_MAX];
    char layout[1024];
    uint64_t max_chunk;       /* largest chunk_size accepted */
    uint64_t reserve_bytes;   /* free space kept back ... */
    unsigned reserve_percent; /* ... or this share of the file system, if set */
    uint64_t upload_expiry_s; /* abandoned uploads go after this long idle */
    bool s3;                  /* published backups go to a bucket; storage is the staging dir */
    struct storage_s3_config s3cfg;
};

struct server {
    struct server_db *db;
    struct server_config cfg;
    struct session_registry *sessions;
    struct threadpool *hashers;
    struct storage *store; /* where published backups live (storage.h) */
    /* On a shared storage: one catalog sync at a time, and when the last
     * one ran (catalog.h). */
    pthread_mutex_t sync_lock;
    uint64_t synced_at_ms;
    struct server_counters counters; /* for the metrics page (server/metrics.h) */
    struct dashboard dash;           /* the operator's sessions (server/dashboard.h) */
};

/* Parses a reserve: a size ("1G", "0") or a percentage ("5%"). */
mfb_status server_parse_reserve(const char *text, uint64_t *bytes, unsigned *percent,
                                struct mfb_error *err);

/* Fills cfg from the catalog's settings, with defaults for what is unset. */
mfb_status server_config_load(struct server_db *db, struct server_config *cfg,
                              struct mfb_error *err);

/* Prepares a receiver over an open catalog (srv->db is borrowed). With
 * hash_threads 0, out-of-order chunks are hashed only at complete. */
mfb_status server_open(struct server *srv, struct server_db *db, const struct server_config *cfg,
                       unsigned hash_threads, struct mfb_error *err);
void server_close(struct server *srv);

/* Deletes uploads idle for longer than the expiry (open ones with their
 * partial files, and the records kept for repeated completes). Uploads with
 * a request in progress are left alone. */
mfb_status server_expire_uploads(struct server *srv, int64_t now, size_t *expired,
                                 struct mfb_error *err);

/* On a shared storage (S3), brings the catalog in line with it (backups
 * other receivers published or deleted, catalog.h), unless a sync started
 * less than min_interval_ms ago (one running now is waited for). Returns without doing
 * anything on a storage of its own. */
void server_catalog_refresh(struct server *srv, int64_t min_interval_ms);

/* Random id "u_..." or "b_..." (prefix 'u' or 'b'); buf holds SRV_ID_BUF. */
mfb_status server_new_id(char prefix, char *buf, struct mfb_error *err);

/* "2026-11-25T19:30:00Z" */
void server_format_time(int64_t t, char *buf, size_t len);

#endif
