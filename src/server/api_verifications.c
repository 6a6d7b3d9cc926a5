/*
 * api_verifications.c - restore drills' outcomes on the receiver
 * (docs/drill.md, docs/protocol.md): POST /v1/backups/{id}/verifications
 * records that a client proved one of its backups restorable, or not, and
 * GET /v1/backups (and GET /v1/backups/{id}) show the newest record as the
 * backup's "verification".
 *
 * The receiver stores what the client says, nothing more: it cannot run a
 * database server on a backup itself. Who verified is the authenticated
 * client, never a name from the body, so a client cannot speak for
 * another one; a backup of another client is answered 404 as in
 * api_backups.c.
 */
#include "server/api_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

static json_t *verification_json(const struct srv_verification *v)
{
    char when[32];
    server_format_time(v->time, when, sizeof(when));
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "result", v->result, "verified_by",
                          v->verified_by, "time", when, "tables", (json_int_t)v->tables);
    if (o != NULL && v->host[0])
        json_object_set_new(o, "host", json_string(v->host));
    if (o != NULL && v->detail[0])
        json_object_set_new(o, "detail", json_string(v->detail));
    return o;
}

void api_verification_attach(struct api_call *c, json_t *backup, const char *backup_id)
{
    struct srv_verification v;
    bool found = false;
    struct mfb_error err = {0};
    if (server_db_verification_last(c->srv->db, backup_id, &v, &found, &err) != MFB_OK) {
        /* the list is still right without it; the log says why it is missing */
        log_warn("verification", "backup=%s error=%s", backup_id, LOG_Q(err.message));
        return;
    }
    if (found)
        json_object_set_new(backup, "verification", verification_json(&v));
}

/* A short free text member: absent is "", too long or not a string is 400. */
static bool text_member(struct api_call *c, json_t *root, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(root, key);
    out[0] = '\0';
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        json_string_length(v) >= cap) {
        api_fail(c, PROTO_BAD_REQUEST, "'%s' must be a string of at most %zu bytes", key, cap - 1);
        return false;
    }
    snprintf(out, cap, "%s", json_string_value(v));
    return true;
}

void api_verification_post(struct api_call *c)
{
    struct srv_backup b;
    struct mfb_error err = {0};
    mfb_status st = server_db_backup_get(c->srv->db, c->id, c->client.id, &b, &err);
    if (st == MFB_ERR_NOT_FOUND) {
        api_fail(c, PROTO_NOT_FOUND, "no backup '%s'", c->id);
        return;
    }
    if (st != MFB_OK) {
        api_fail_status(c, st, &err, "looking up the backup");
        return;
    }
    server_db_backup_free(&b);
    json_t *root = api_json_body(c);
    if (root == NULL)
        return;
    struct srv_verification v = {.client_id = c->client.id};
    snprintf(v.backup_id, sizeof(v.backup_id), "%s", c->id);
    snprintf(v.verified_by, sizeof(v.verified_by), "%s", c->client.name);
    v.time = clock_wall_ms() / 1000;
    json_t *result = json_object_get(root, "result");
    const char *r = json_is_string(result) ? json_string_value(result) : "";
    uint64_t tables = 0;
    bool ok = true;
    if (strcmp(r, "passed") != 0 && strcmp(r, "failed") != 0) {
        api_fail(c, PROTO_BAD_REQUEST, "'result' must be \"passed\" or \"failed\"");
        ok = false;
    }
    bool present = false;
    ok = ok && api_json_size(c, root, "tables", false, &present, &tables);
    ok = ok && text_member(c, root, "host", v.host, sizeof(v.host));
    ok = ok && text_member(c, root, "detail", v.detail, sizeof(v.detail));
    if (ok) {
        snprintf(v.result, sizeof(v.result), "%s", r);
        v.tables = (int64_t)tables;
        st = server_db_verification_add(c->srv->db, &v, &err);
        if (st != MFB_OK) {
            api_fail_status(c, st, &err, "recording the verification");
        } else {
            log_info("backup-verified", "client=%s backup=%s result=%s tables=%" PRId64,
                     v.verified_by, v.backup_id, v.result, v.tables);
            api_set_json(c, 201, verification_json(&v));
        }
    }
    json_decref(root);
}
