/*
 * storage_internal.h - what a storage driver implements (storage.h says
 * what each operation means); private to storage*.c. The shape follows
 * pgBackRest's storage drivers: one table of operations per kind, and the
 * callers see only the storage_* functions that dispatch through it.
 */
#ifndef MFB_SERVER_STORAGE_INTERNAL_H
#define MFB_SERVER_STORAGE_INTERNAL_H

#include "server/storage.h"

struct storage_ops {
    const char *kind;
    void (*close)(struct storage *st);
    mfb_status (*probe)(struct storage *st, struct mfb_error *err);
    uint64_t min_chunk, max_chunks;
    mfb_status (*upload_open)(struct storage *st, const char *upload_id, struct mfb_error *err);
    mfb_status (*chunk_commit)(struct storage *st, const char *upload_id, uint64_t index,
                               uint64_t off, uint64_t len, const uint8_t *sha256,
                               struct mfb_error *err);
    void (*upload_abort)(struct storage *st, const char *upload_id);
    mfb_status (*publish)(struct storage *st, const char *upload_id, uint64_t size,
                          const char *reldir, const char *name, storage_publish_hook hook,
                          void *ctx, char *rel_path, size_t rel_len, char *final_name,
                          size_t final_len, struct mfb_error *err);
    mfb_status (*write_file)(struct storage *st, const char *rel_path, const char *data, size_t len,
                             bool replace, struct mfb_error *err);
    mfb_status (*read_file)(struct storage *st, const char *rel_path, char **text,
                            struct mfb_error *err);
    mfb_status (*delete_backup)(struct storage *st, const char *rel_path, struct mfb_error *err);
    mfb_status (*claim_delete)(struct storage *st, const char *backup_id, struct mfb_error *err);
    mfb_status (*delete_claimed)(struct storage *st, const char *backup_id, bool *claimed,
                                 struct mfb_error *err);
    mfb_status (*read_open)(struct storage *st, const char *rel_path, struct storage_read *r,
                            struct mfb_error *err);
    mfb_status (*list)(struct storage *st, storage_list_fn fn, void *ctx, struct mfb_error *err);
    mfb_status (*free_bytes)(struct storage *st, uint64_t *avail, uint64_t *total,
                             struct mfb_error *err);
    mfb_status (*max_file_bytes)(struct storage *st, uint64_t *max, struct mfb_error *err);
};

/* Every driver's state starts with this. */
struct storage {
    const struct storage_ops *ops;
    char root[PATH_MAX]; /* the storage directory, or the local staging directory */
};

extern const struct storage_ops storage_file_ops;
/* Opens the S3 driver (storage_s3.c). */
mfb_status storage_s3_open(const struct storage_config *cfg, struct storage **out,
                           struct mfb_error *err);

#endif
