/*
 * server_db.h - the receiver's catalog in SQLite: settings, clients (with
 * the SHA-256 of their tokens, never the tokens), open uploads and their
 * durably stored chunks, published backups, and retention policies.
 *
 * All of the receiver's SQL lives in server_db.c. One connection is shared
 * by every request thread behind a mutex: chunk records arrive a few dozen
 * times per second at most, and each commit in WAL mode with
 * synchronous=FULL is what makes an acknowledged chunk survive a crash, so
 * serialising them costs little and keeps multi-statement changes simple.
 * Other processes (the CLI while `serve` runs) share the file through WAL
 * and a busy timeout.
 *
 * Times are Unix seconds (UTC). Records are plain structs filled by value;
 * the few variable-length fields are allocated and released by the
 * matching _free function.
 */
#ifndef MFB_STORE_SERVER_DB_H
#define MFB_STORE_SERVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"
#include "proto/proto.h"

#define SRV_NAME_BUF (PROTO_NAME_MAX + 1)
#define SRV_DIR_BUF ((PROTO_NAME_MAX + 1) * PROTO_DIR_MAX_COMPONENTS + 1)
#define SRV_ID_BUF (PROTO_ID_LEN + 1)

struct server_db;

struct srv_client {
    int64_t id;
    char name[SRV_NAME_BUF];
    uint64_t quota; /* bytes; 0 = no quota */
    bool active;    /* false once removed: its token no longer works */
    int64_t created;
    uint64_t stored_bytes; /* filled by server_db_client_list */
    uint64_t backups;      /* filled by server_db_client_list */
};

struct srv_upload {
    char id[SRV_ID_BUF];
    int64_t client_id;
    char instance[SRV_NAME_BUF];
    char name[SRV_NAME_BUF];
    char directory[SRV_DIR_BUF]; /* "" when none */
    bool size_known;
    uint64_t size;
    uint64_t chunk_size;
    char *metadata; /* JSON text or NULL; allocated */
    int64_t created;
    int64_t updated;
    bool complete;
    char backup_id[SRV_ID_BUF]; /* set once complete */
    char *publish_path;         /* storage-relative path chosen at publish, or NULL; allocated */
};

struct srv_chunk {
    uint64_t index;
    uint64_t size;
    uint8_t sha256[SHA256_LEN];
};

struct srv_backup {
    char id[SRV_ID_BUF];
    int64_t client_id;
    char client[SRV_NAME_BUF];
    char instance[SRV_NAME_BUF];
    char name[SRV_NAME_BUF]; /* the published file name (after any -N suffix) */
    char *path;              /* storage-relative path of the file; allocated */
    uint64_t size;
    char sha256[SHA256_HEX_LEN + 1];
    int64_t created; /* when it was published */
    char *metadata;  /* the client's metadata JSON, or NULL; allocated */
    char upload_id[SRV_ID_BUF];
};

/* A retention policy. A limit of -1 is unset (inherit, or no limit). */
struct srv_policy {
    int64_t client_id;
    char client[SRV_NAME_BUF];
    char instance[SRV_NAME_BUF]; /* "" = the client-wide default */
    int64_t keep_last;
    int64_t max_age_s;
    int64_t max_bytes;
};

/* Opens the catalog and migrates it. With create, makes the file (mode
 * 0600) if missing; without, a missing file is MFB_ERR_NOT_FOUND with a hint
 * to run init. Allocates *db; release with server_db_close. */
mfb_status server_db_open(const char *path, bool create, struct server_db **db,
                          struct mfb_error *err);
void server_db_close(struct server_db *db);

/* Settings (storage directory, layout, ...). *value is allocated, NULL when unset. */
mfb_status server_db_setting_get(struct server_db *db, const char *key, char **value,
                                 struct mfb_error *err);
mfb_status server_db_setting_set(struct server_db *db, const char *key, const char *value,
                                 struct mfb_error *err);

/* Clients. */
mfb_status server_db_client_add(struct server_db *db, const char *name,
                                const uint8_t token_hash[SHA256_LEN], uint64_t quota,
                                struct mfb_error *err);
mfb_status server_db_client_remove(struct server_db *db, const char *name, struct mfb_error *err);
mfb_status server_db_client_set_quota(struct server_db *db, const char *name, uint64_t quota,
                                      struct mfb_error *err);
mfb_status server_db_client_by_token(struct server_db *db, const uint8_t token_hash[SHA256_LEN],
                                     struct srv_client *out, struct mfb_error *err);
mfb_status server_db_client_by_name(struct server_db *db, const char *name, struct srv_client *out,
                                    struct mfb_error *err);
/* Every client, active or removed, by name. *list is allocated (free()). */
mfb_status server_db_client_list(struct server_db *db, struct srv_client **list, size_t *count,
                                 struct mfb_error *err);

/* Uploads and chunks. */
mfb_status server_db_upload_create(struct server_db *db, const struct srv_upload *u,
                                   struct mfb_error *err);
/* client_id 0 matches any client. */
mfb_status server_db_upload_get(struct server_db *db, const char *id, int64_t client_id,
                                struct srv_upload *out, struct mfb_error *err);
void server_db_upload_free(struct srv_upload *u);
/* Chunks by index. *chunks is allocated (free()). */
mfb_status server_db_upload_chunks(struct server_db *db, const char *id, struct srv_chunk **chunks,
                                   size_t *count, struct mfb_error *err);
mfb_status server_db_chunk_insert(struct server_db *db, const char *upload_id,
                                  const struct srv_chunk *chunk, struct mfb_error *err);
/* Forgets one chunk record (so it can be sent again) and marks the upload
 * active, in one transaction; MFB_ERR_NOT_FOUND when there is none. */
mfb_status server_db_chunk_delete(struct server_db *db, const char *upload_id, uint64_t index,
                                  struct mfb_error *err);
/* Marks an upload as active now (it does not expire while clients use it). */
mfb_status server_db_upload_touch(struct server_db *db, const char *id, struct mfb_error *err);
/* Remembers the path an upload is about to be published at; MFB_ERR_EXISTS
 * when a backup in the catalog has that path already (its file may have
 * been removed behind the receiver's back: the name stays taken). */
mfb_status server_db_upload_set_publish_path(struct server_db *db, const char *id, const char *path,
                                             struct mfb_error *err);
/* Records backup b, marks upload_id complete with b's id and deletes its
 * chunk records, in one transaction. */
mfb_status server_db_upload_finish(struct server_db *db, const char *upload_id,
                                   const struct srv_backup *b, struct mfb_error *err);
mfb_status server_db_upload_delete(struct server_db *db, const char *id, struct mfb_error *err);
/* Ids of uploads not touched since `before` (open ones, and the records of
 * completed ones kept for repeated completes). *ids is allocated (free()). */
mfb_status server_db_uploads_stale(struct server_db *db, int64_t before, char (**ids)[SRV_ID_BUF],
                                   size_t *count, struct mfb_error *err);
/* Bytes that open uploads with a declared size have yet to receive. */
mfb_status server_db_pending_bytes(struct server_db *db, uint64_t *bytes, struct mfb_error *err);
/* Bytes a client holds: its backups plus the declared size of its open uploads. */
mfb_status server_db_client_usage(struct server_db *db, int64_t client_id, uint64_t *bytes,
                                  struct mfb_error *err);

/* Backups. client_id 0 matches any client; instance NULL matches any. */
mfb_status server_db_backup_get(struct server_db *db, const char *id, int64_t client_id,
                                struct srv_backup *out, struct mfb_error *err);
/* Newest first. *list is allocated; release with server_db_backup_list_free. */
mfb_status server_db_backup_list(struct server_db *db, int64_t client_id, const char *instance,
                                 struct srv_backup **list, size_t *count, struct mfb_error *err);
mfb_status server_db_backup_delete(struct server_db *db, const char *id, struct mfb_error *err);

/* ---- several receivers on one storage (server/catalog.c) ---- */

/* Records a backup another receiver published (read from its .json):
 * *added is false when the catalog already has its id or its path. */
mfb_status server_db_backup_adopt(struct server_db *db, const struct srv_backup *b, bool *added,
                                  struct mfb_error *err);
/* The id of the client named name; a name this catalog does not know is
 * added inactive, without a token (a backup of it was found in the shared
 * storage; `client import` gives it the token). */
mfb_status server_db_client_ensure(struct server_db *db, const char *name, int64_t *id,
                                   struct mfb_error *err);
/* The client's token hash and quota, for `client export`. */
mfb_status server_db_client_secret(struct server_db *db, const char *name,
                                   uint8_t token_hash[SHA256_LEN], uint64_t *quota, bool *active,
                                   struct mfb_error *err);
/* Adds the client or replaces its token hash and quota (`client import`:
 * the same token then works on every receiver). */
mfb_status server_db_client_import(struct server_db *db, const char *name,
                                   const uint8_t token_hash[SHA256_LEN], uint64_t quota,
                                   struct mfb_error *err);
void server_db_backup_free(struct srv_backup *b);
void server_db_backup_list_free(struct srv_backup *list, size_t count);

/* A restore drill's outcome for a backup (docs/drill.md): the client that
 * reported it (verified_by), its host, when, "passed" or "failed", the
 * tables checked and one line of detail. */
struct srv_verification {
    char backup_id[SRV_ID_BUF];
    int64_t client_id;
    char verified_by[SRV_NAME_BUF];
    char host[256];
    int64_t time;
    char result[16];
    int64_t tables;
    char detail[1024];
};

mfb_status server_db_verification_add(struct server_db *db, const struct srv_verification *v,
                                      struct mfb_error *err);
/* The newest verification of a backup; *found false when it has none. */
mfb_status server_db_verification_last(struct server_db *db, const char *backup_id,
                                       struct srv_verification *out, bool *found,
                                       struct mfb_error *err);

/* Per client and instance of the stored backups, when a drill last proved
 * one of them restorable (the newest "passed" verification; a failed one
 * proves nothing): the receiver's mfb_receiver_verified_last_timestamp_seconds
 * (docs/monitoring.md). Sorted by client and instance. */
struct srv_verified {
    char client[SRV_NAME_BUF];
    char instance[SRV_NAME_BUF];
    int64_t last;
};

/* *list is allocated (free()); empty when nothing was ever verified. */
mfb_status server_db_verified_last(struct server_db *db, struct srv_verified **list, size_t *count,
                                   struct mfb_error *err);

/* Retention policies. set merges: fields of p that are -1 keep their stored
 * value, -2 clears it. */
mfb_status server_db_policy_set(struct server_db *db, const struct srv_policy *p,
                                struct mfb_error *err);
/* found=false and all limits -1 when there is none. */
mfb_status server_db_policy_get(struct server_db *db, int64_t client_id, const char *instance,
                                struct srv_policy *out, bool *found, struct mfb_error *err);
/* Every policy, by client name then instance. *list is allocated (free()). */
mfb_status server_db_policy_list(struct server_db *db, struct srv_policy **list, size_t *count,
                                 struct mfb_error *err);

#endif
