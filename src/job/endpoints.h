/*
 * endpoints.h - a stored instance and a stored target, loaded and turned
 * into what the modules that act on them need: a MySQL endpoint and a
 * stop/start method (src/mysql), a ready transfer_peer (src/transfer).
 *
 * Every job command (backup, resume, restore, list) starts here, so the
 * rule "--target may be left out when there is exactly one target" and its
 * error messages live in one place. The structs own their records; the
 * mysql_endpoint and the transfer_peer borrow from or copy them, and
 * the _free functions release everything (wiping the secrets).
 */
#ifndef MFB_JOB_ENDPOINTS_H
#define MFB_JOB_ENDPOINTS_H

#include <stdbool.h>

#include "common/status.h"
#include "mysql/connection.h"
#include "mysql/method.h"
#include "store/config_records.h"
#include "transfer/https.h"

/* An instance, ready to connect to, stop and start. */
struct job_instance {
    struct config_instance record;
    struct mysql_endpoint endpoint; /* points into record */
    struct mysql_method method;
    bool loaded;
};

/* A target, ready to talk to. */
struct job_target {
    struct config_target record;
    struct transfer_peer *client;
    bool loaded;
};

/* Loads the instance called name. MFB_ERR_NOT_FOUND (with a hint naming
 * 'mfb instance list') when there is none. Release with job_instance_free
 * (also after a failure). */
mfb_status job_instance_load(struct config_db *db, const char *name, struct job_instance *out,
                             struct mfb_error *err);
void job_instance_free(struct job_instance *inst);

/* Loads the target called name, or, when name is NULL, the only target:
 * none stored is MFB_ERR_NOT_FOUND ("no target configured", hint 'mfb
 * target add'), several are MFB_ERR_USAGE naming them (hint --target).
 * settings may be NULL for TRANSFER_SETTINGS_DEFAULT. Release with
 * job_target_free (also after a failure). */
mfb_status job_target_load(struct config_db *db, const char *name,
                           const struct transfer_settings *settings, struct job_target *out,
                           struct mfb_error *err);
void job_target_free(struct job_target *t);

/* Only chooses: the name of the target to use (name itself when not NULL,
 * else the only one), copied into buf. Same errors as job_target_load. */
mfb_status job_target_choose(struct config_db *db, const char *name, char *buf, size_t len,
                             struct mfb_error *err);

#endif
