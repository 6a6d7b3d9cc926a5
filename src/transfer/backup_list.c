/*
 * backup_list.c - the client side of GET /v1/backups (see backup_list.h).
 */
#include "transfer/backup_list.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static bool copy_text(json_t *obj, const char *key, char *out, size_t cap, bool required)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        out[0] = '\0';
        return !required;
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) >= cap)
        return false;
    snprintf(out, cap, "%s", s);
    return true;
}

/* Fills e from one element of "backups"; the name of a bad field on failure. */
static const char *parse_entry(json_t *o, struct backup_entry *e)
{
    if (!json_is_object(o))
        return "backups[]";
    if (!copy_text(o, "backup_id", e->info.backup_id, sizeof(e->info.backup_id), true) ||
        !proto_id_valid(e->info.backup_id, 'b'))
        return "backup_id";
    json_t *size = json_object_get(o, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return "size";
    e->info.size = (uint64_t)json_integer_value(size);
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    if (sha == NULL || !digest_from_hex(sha, e->info.sha256))
        return "sha256";
    if (!copy_text(o, "name", e->info.name, sizeof(e->info.name), true))
        return "name";
    if (!copy_text(o, "path", e->info.path, sizeof(e->info.path), false))
        return "path";
    if (!copy_text(o, "instance", e->instance, sizeof(e->instance), false))
        return "instance";
    if (!copy_text(o, "created", e->created, sizeof(e->created), false))
        return "created";
    json_t *meta = json_object_get(o, "metadata");
    if (json_is_object(meta))
        e->metadata = json_incref(meta);
    json_t *ver = json_object_get(o, "verification");
    if (json_is_object(ver))
        e->verification = json_incref(ver);
    return NULL;
}

mfb_status receiver_backup_list(struct transfer_conn *conn, const char *instance,
                                struct backup_list *list, struct mfb_error *err)
{
    memset(list, 0, sizeof(*list));
    char path[1024];
    const char *what = "cannot list the receiver's backups";
    if (instance != NULL && instance[0] != '\0') {
        char *escaped = curl_easy_escape(NULL, instance, 0);
        if (escaped == NULL)
            return mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        int n = snprintf(path, sizeof(path), "/v1/backups?instance=%s", escaped);
        curl_free(escaped);
        if (n < 0 || (size_t)n >= sizeof(path))
            return mfb_error_set(err, MFB_ERR_USAGE, "instance name too long");
    } else {
        snprintf(path, sizeof(path), "/v1/backups");
    }
    struct http_request req = {.method = "GET", .path = path, .what = what};
    struct http_response resp = {0};
    json_t *root = NULL;
    mfb_status st = transfer_conn_call(conn, &req, &resp, err);
    if (st != MFB_OK)
        goto done;
    json_error_t jerr;
    root = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &jerr);
    json_t *arr = json_object_get(root, "backups");
    if (!json_is_array(arr)) {
        st = mfb_error_set(err, MFB_ERR_PROTOCOL, "%s: the receiver's answer has no 'backups' list",
                           what);
        goto done;
    }
    size_t n = json_array_size(arr);
    list->entries = calloc(n ? n : 1, sizeof(*list->entries));
    if (list->entries == NULL) {
        st = mfb_error_set(err, MFB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *bad = parse_entry(json_array_get(arr, i), &list->entries[i]);
        list->count = i + 1; /* so backup_list_free releases its metadata */
        if (bad != NULL) {
            st = mfb_error_set(err, MFB_ERR_PROTOCOL,
                               "%s: entry %zu of the receiver's answer has no valid '%s'", what, i,
                               bad);
            goto done;
        }
    }
done:
    json_decref(root);
    http_response_free(&resp);
    if (st != MFB_OK)
        backup_list_free(list);
    return st;
}

void backup_list_free(struct backup_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        json_decref(list->entries[i].metadata);
        json_decref(list->entries[i].verification);
    }
    free(list->entries);
    memset(list, 0, sizeof(*list));
}

const struct backup_entry *backup_list_find(const struct backup_list *list, const char *key)
{
    if (list->count == 0)
        return NULL;
    if (strcmp(key, "latest") == 0)
        return &list->entries[0];
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].info.backup_id, key) == 0)
            return &list->entries[i];
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->entries[i].info.name, key) == 0)
            return &list->entries[i];
    return NULL;
}
