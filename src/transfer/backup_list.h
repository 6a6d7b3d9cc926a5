/*
 * backup_list.h - GET /v1/backups: the backups a receiver holds for this
 * client, newest first, as `mfb list` shows them and `mfb restore` picks
 * one by id, by name or as "latest".
 *
 * Kept apart from receiver_api.c (one file per endpoint family would be too
 * fine; this one adds a list type the others do not need). Every field of
 * every entry is checked, as receiver_api.c does for single answers: a
 * receiver can be wrong too, and restore trusts the id and SHA-256 it
 * picks here.
 */
#ifndef MFB_TRANSFER_BACKUP_LIST_H
#define MFB_TRANSFER_BACKUP_LIST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/status.h"
#include "transfer/https.h"
#include "transfer/receiver_api.h"

struct backup_entry {
    struct backup_info info; /* id, name, path, size, sha256 */
    char instance[RECEIVER_TEXT_MAX];
    char created[64]; /* "2026-11-25T19:31:02Z" as the receiver wrote it; "" if absent */
    json_t *metadata; /* the upload's metadata object, or NULL (a reference) */
    /* the newest restore drill's outcome ({"result", "time", "verified_by",
     * ...}, docs/drill.md), or NULL (a reference) */
    json_t *verification;
};

struct backup_list {
    struct backup_entry *entries; /* newest first, as the receiver answered */
    size_t count;
};

/* GET /v1/backups[?instance=NAME]. instance may be NULL for every
 * instance. Allocates list->entries; release with backup_list_free. */
mfb_status receiver_backup_list(struct transfer_conn *conn, const char *instance,
                                struct backup_list *list, struct mfb_error *err);

void backup_list_free(struct backup_list *list);

/* The entry whose backup id or name equals key, or the newest one when key
 * is "latest"; NULL when there is none. A name that several backups share
 * (of different directories) gives the newest of them. */
const struct backup_entry *backup_list_find(const struct backup_list *list, const char *key);

#endif
