/*
 * endpoints.c - loading an instance and a target for a job (see
 * endpoints.h).
 */
#include "job/endpoints.h"

#include <stdio.h>
#include <string.h>

#include "job/config_map.h"

mfb_status job_instance_load(struct config_db *db, const char *name, struct job_instance *out,
                             struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    config_instance_init(&out->record);
    out->loaded = true;
    mfb_status st = config_instance_get(db, name, &out->record, err);
    if (st != MFB_OK)
        return st;
    config_map_endpoint(&out->record, &out->endpoint);
    out->endpoint.stored_as = out->record.name; /* the hint of a refused password */
    st = config_map_method(&out->record, &out->method, err);
    if (st != MFB_OK)
        mfb_error_hint(err, "fix it with 'mfb instance set %s --control ...'", name);
    return st;
}

void job_instance_free(struct job_instance *inst)
{
    if (!inst->loaded)
        return;
    mysql_method_free(&inst->method);
    config_instance_free(&inst->record);
    memset(inst, 0, sizeof(*inst));
}

mfb_status job_target_choose(struct config_db *db, const char *name, char *buf, size_t len,
                             struct mfb_error *err)
{
    if (name != NULL) {
        snprintf(buf, len, "%s", name);
        return MFB_OK;
    }
    struct config_target *list = NULL;
    size_t count = 0;
    mfb_status st = config_target_list(db, &list, &count, err);
    if (st != MFB_OK)
        return st;
    if (count == 1) {
        snprintf(buf, len, "%s", list[0].name);
    } else if (count == 0) {
        st = mfb_error_set(err, MFB_ERR_NOT_FOUND, "no target configured");
        mfb_error_hint(err, "add the receiver with 'mfb target add NAME --url URL --token-file "
                            "FILE --fingerprint FP'");
    } else {
        char names[512] = "";
        for (size_t i = 0; i < count; i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", list[i].name);
        }
        st = mfb_error_set(err, MFB_ERR_USAGE, "%zu targets are configured (%s)", count, names);
        mfb_error_hint(err, "choose one with --target NAME");
    }
    config_target_list_free(list, count);
    return st;
}

mfb_status job_target_load(struct config_db *db, const char *name,
                           const struct transfer_settings *settings, struct job_target *out,
                           struct mfb_error *err)
{
    memset(out, 0, sizeof(*out));
    config_target_init(&out->record);
    out->loaded = true;
    char chosen[CONFIG_NAME_BUF];
    mfb_status st = job_target_choose(db, name, chosen, sizeof(chosen), err);
    if (st == MFB_OK)
        st = config_target_get(db, chosen, &out->record, err);
    if (st != MFB_OK)
        return st;
    struct transfer_target tt;
    config_map_target(&out->record, &tt);
    struct transfer_settings defaults = TRANSFER_SETTINGS_DEFAULT;
    st = transfer_peer_create(&tt, settings ? settings : &defaults, &out->client, err);
    if (st != MFB_OK)
        mfb_error_hint(err, "fix the target with 'mfb target set %s ...'", chosen);
    return st;
}

void job_target_free(struct job_target *t)
{
    if (!t->loaded)
        return;
    transfer_peer_free(t->client);
    config_target_free(&t->record);
    memset(t, 0, sizeof(*t));
}
